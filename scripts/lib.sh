# Shared by the scripts: where downloads are cached, and a log helper.
# The cache survives between runs on one machine; nothing assumes it exists.
LAKEFEED_CACHE=${LAKEFEED_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lakefeed}
# The pom's version unless a script is asked for another (scripts/fetch-kafka 4.2.2).
KAFKA_VERSION=${LAKEFEED_KAFKA_VERSION:-$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$(dirname "${BASH_SOURCE[0]}")/kafka/pom.xml")}
# MinIO has no semver tags; this is the module proxy's pseudo-version of a 2026-02 commit.
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
# The Terraform tests' local AWS API and the Terraform security scanner, each pinned exactly.
MOTO_VERSION=5.2.5
CHECKOV_VERSION=3.3.30
export LAKEFEED_CACHE KAFKA_VERSION MINIO_VERSION MOTO_VERSION CHECKOV_VERSION
say() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# Command-line tools whose dependencies would clash with the project's pins each get their
# own virtualenv under $LAKEFEED_CACHE/tools/<name>, made once per set of pinned
# requirements. The stamp is written last, so an interrupted install is redone.
# tool_venv NAME REQUIREMENT... -> prints the venv's directory.
tool_venv() {
  local name=$1; shift
  local dir="$LAKEFEED_CACHE/tools/$name" want
  want=$(printf '%s\n' "$@" | sha256sum | cut -c1-16)
  if [ ! -x "$dir/bin/python" ] || [ "$(cat "$dir/.lakefeed-reqs" 2>/dev/null)" != "$want" ]; then
    say "installing $* into $dir (once)"
    rm -rf "$dir"
    python3 -m venv "$dir" >&2
    "$dir/bin/pip" install -q --disable-pip-version-check "$@" >&2
    echo "$want" > "$dir/.lakefeed-reqs"
  fi
  echo "$dir"
}
