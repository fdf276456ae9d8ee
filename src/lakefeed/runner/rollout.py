"""`lakefeed rollout`: what cron runs.

1. Take the environment's lock without waiting; if another rollout holds it, say who and
   exit 75 (EX_TEMPFAIL: "try again later"), touching nothing.
2. Rebuild the wheelhouse (reproducible: unchanged sources, unchanged wheel) and compute
   the checkout's fingerprint (build, Kafka version, Ansible, inventory).
3. Ask every host what it last completed (playbooks/ops/status.yml). An unreachable host
   fails the run before anything changes.
4. If every host has this fingerprint and every process on it runs what was deployed
   (no drift): do nothing (result "unchanged").
5. Else run site.yml: its plays roll host by host behind the health gates and stop at the
   first unhealthy host; its last play records the fingerprint on every host.
Every run, even a refused one, appends one JSON line to the rollout log.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from lakefeed.errors import LakefeedError
from lakefeed.fetch import KAFKA_ARCHIVE_NAME, kafka_archive
from lakefeed.runner import fingerprint, status, wheelhouse
from lakefeed.runner.ansible import deploy
from lakefeed.runner.targets import Target

EXIT_LOCKED = 75


class RolloutLocked(LakefeedError):
    """Another rollout of the same environment is running."""

    exit_code = EXIT_LOCKED


def utc_now() -> str:
    """Now, UTC, to the second: the time in every run's JSON line."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


@contextlib.contextmanager
def lock(path: Path, what: str = "rollout") -> Iterator[None]:
    """An exclusive flock, released by the kernel even if this process is killed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 512, 0).decode(errors="replace").strip() or "unknown"
            raise RolloutLocked(
                f"another {what} holds {path} ({holder}); this run did nothing. It exits "
                f"{EXIT_LOCKED} so cron can tell; the next scheduled run will pick up any change"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} since {utc_now()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)


class Rollout:
    def __init__(
        self,
        target: Target,
        *,
        restart_all: bool = False,
        extravars: dict[str, Any] | None = None,
        log_path: Path | None = None,
        out: TextIO = sys.stderr,
    ) -> None:
        self.target = target
        self.restart_all = restart_all
        self.extravars = extravars or {}
        self.log_path = log_path or target.rollout_log
        self.out = out
        self.started = time.monotonic()
        self.record: dict[str, Any] = {}

    def say(self, text: str) -> None:
        self.out.write(f"[{time.monotonic() - self.started:6.0f}s] {text}\n")
        self.out.flush()

    def _append(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(self.record, sort_keys=False) + "\n")

    def run(self) -> int:
        self.record = {
            "start": utc_now(),
            "end": None,
            "env": self.target.name,
            "pid": os.getpid(),
            "hosts": [],
            "changed": 0,
            "result": "failed",
        }
        try:
            with lock(self.target.lock_file):
                self.say(f"lock {self.target.lock_file} held")
                return self._run()
        except RolloutLocked as exc:
            self.record["result"] = "locked"
            self.record["error"] = str(exc)
            raise
        except LakefeedError as exc:
            self.record.setdefault("error", str(exc))
            raise
        finally:
            self.record["end"] = utc_now()
            self.record["seconds"] = round(time.monotonic() - self.started, 1)
            self._append()

    def _run(self) -> int:
        t = self.target
        t.require_hosts()
        wheel = wheelhouse.build(t.root, t.wheelhouse, wheelhouse.platform_of(t.name))
        want = fingerprint.desired(t.root, t.inventories, wheel, t.vault_password_file)
        self.record["fingerprint"] = want["fingerprint"]
        self.say(
            f"checkout: {want['fingerprint']} (build {want['build']}, "
            f"Kafka {want['kafka_version']})"
        )

        # Fingerprints only: site.yml's own gates check health where it restarts anything.
        reports = status.collect(t, kafka_health=False)
        self.record["hosts"] = list(reports)
        down = [f"{r.host}: {r.error}" for r in reports.values() if not r.reachable]
        if down:
            raise LakefeedError("unreachable, nothing was changed: " + "; ".join(down))
        stale = stale_hosts(want, reports)
        self.record["stale"] = stale
        if not stale and not self.restart_all:
            self.record["result"] = "unchanged"
            self.say(f"all {len(reports)} hosts run {want['fingerprint']}: nothing to do")
            return 0
        for host, parts in stale.items():
            self.say(f"{host}: changed {', '.join(parts)}")
        self._kafka_archive(want["kafka_version"])
        only = None
        if self.restart_all:
            self.say("--restart-all: every Kafka node and daemon restarts, one host at a time")
        else:
            only = plan(want, reports)
            self.record["plays"] = only
            for play, hosts in only.items():
                where = (
                    {"kafka": "every Kafka node", "topics": "the cluster, from one broker"}.get(
                        play, ", ".join(hosts)
                    )
                    if hosts
                    else "skipped, its inputs are unchanged everywhere"
                )
                self.say(f"play {play}: {where}")

        result = deploy(
            t,
            want,
            restart_all=self.restart_all,
            only=only,
            extravars=self.extravars,
            out=self.out,
        )
        self.record["changed"] = result.changed
        self.record["changed_by_host"] = {
            h: n for h, n in result.stats.get("changed", {}).items() if n
        }
        if not result.ok:
            self.record["failures"] = result.failures
            failed = result.failures[0].split(":", 1)[0] if result.failures else "?"
            self.record["failed_host"] = failed
            raise LakefeedError(
                "rollout stopped; hosts after the failing one were not touched:\n  "
                + "\n  ".join(result.failures or [result.status])
            )
        self.record["result"] = "ok"
        self.say(f"rollout done in {result.seconds:.0f}s: changed={result.changed}")
        return 0

    def _kafka_archive(self, version: str) -> None:
        """`up` names the archive of whichever release kafka_version names (a version
        change needs no other edit): build it before site.yml copies it. Cached: instant
        when it exists, a few minutes of Maven the first time."""
        t = self.target
        named = (t.generated_vars, t.hosts_file)
        if any(f.is_file() and KAFKA_ARCHIVE_NAME in f.read_text() for f in named):
            self.say(f"Kafka {version}: the release archive (Maven Central's jars, cached)")
            kafka_archive(t.root, version)


def stale_hosts(
    want: dict[str, Any], reports: dict[str, status.HostReport]
) -> dict[str, list[str]]:
    """Host -> why it needs a deploy: its record differs from the checkout (the parts that
    differ), or a process on it does not run what was deployed (drift: a restart that did
    not happen, a daemon stopped). Hosts that need nothing are left out."""
    stale = {}
    for host, rep in reports.items():
        parts = []
        if (rep.deployed or {}).get("fingerprint") != want["fingerprint"]:
            parts = fingerprint.changed_parts(want, rep.deployed) or ["fingerprint"]
        parts += [f"drift ({line})" for line in rep.stale]
        if parts:
            stale[host] = parts
    return stale


def plan(want: dict[str, Any], reports: dict[str, status.HostReport]) -> dict[str, list[str]]:
    """Play -> the hosts that need it (fingerprint.plays_to_run): what `deploy_only` tells
    site.yml. Kafka's plays run on every node or on none (its nodes configure together);
    the topics play, on one broker for the whole cluster."""
    only: dict[str, list[str]] = {play: [] for play in fingerprint.PLAYS}
    for host, rep in reports.items():
        need = fingerprint.plays_to_run(want, rep.deployed, rep.stale, rep.groups or None)
        for play in sorted(need):
            only[play].append(host)
    return only


def parse_extravars(pairs: list[str]) -> dict[str, Any]:
    """`-e key=value` pairs; values are YAML (so `true`, `3` and `[a, b]` keep their type)."""
    import yaml  # noqa: PLC0415

    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.isidentifier():
            raise LakefeedError(f"-e {pair!r}: write it as name=value (a variable name, then =)")
        out[key] = yaml.safe_load(io.StringIO(value)) if value else ""
    return out
