# Shared by the scripts: where downloads are cached, and a log helper.
# The cache survives between runs on one machine; nothing assumes it exists.
LAKEFEED_CACHE=${LAKEFEED_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lakefeed}
KAFKA_VERSION=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$(dirname "${BASH_SOURCE[0]}")/kafka/pom.xml")
# MinIO has no semver tags; this is the module proxy's pseudo-version of a 2026-02 commit.
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
export LAKEFEED_CACHE KAFKA_VERSION MINIO_VERSION
say() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
