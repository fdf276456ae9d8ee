"""The checkout's fetch and build scripts, run from Python: the Kafka release archive a
deploy installs (scripts/build-kafka-archive), MinIO, the JMX exporter, the Terraform
provider. Each script caches what it makes and prints its path; `Fetch` runs one in the
background, so a long first build (MinIO's Go compiling) overlaps the caller's other work.
Used by the runner (`up`, `rollout` in every environment), the tests and the benchmarks.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path

from lakefeed.errors import LakefeedError


class Fetch:
    """One of the checkout's fetch/build scripts (cached, idempotent), started now in the
    background; `path()` waits for it and returns the path it prints. `up` starts MinIO's
    first build (minutes of Go compiling) this way, beside the rest of its preparation.
    `args` go to the script (a version: scripts/build-kafka-archive 4.2.0)."""

    def __init__(self, root: Path, script: str, *args: str) -> None:
        self.script = script
        self.started = time.monotonic()
        self._result: Path | LakefeedError | None = None
        # Its progress (a build's log) can be long: a file, so no pipe can fill and stall it.
        self._log = tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace")  # noqa: SIM115
        self._proc = subprocess.Popen(
            [str(root / "scripts" / script), *args],
            stdout=subprocess.PIPE,
            stderr=self._log,
            stdin=subprocess.DEVNULL,
            text=True,
        )

    @property
    def running(self) -> bool:
        return self._proc.poll() is None

    def path(self) -> Path:
        """Waits for the script once; later calls return the same path (or raise again)."""
        if self._result is None:
            self._result = self._wait()
        if isinstance(self._result, LakefeedError):
            raise self._result
        return self._result

    def _wait(self) -> Path | LakefeedError:
        out, _ = self._proc.communicate()
        self._log.seek(0)
        log = self._log.read().strip()
        self._log.close()
        lines = out.strip().splitlines()
        if self._proc.returncode != 0 or not lines:
            return LakefeedError(
                f"scripts/{self.script} failed (exit {self._proc.returncode}): {log[-2000:]}"
            )
        return Path(lines[-1])


def fetched(root: Path, script: str, *args: str) -> Path:
    """Run one of the checkout's fetch/build scripts (cached, idempotent): the path it prints."""
    return Fetch(root, script, *args).path()


# What `lakefeed up` (lab, rehearsal, aws) writes as kafka_local_archive: the archive of
# whichever release kafka_version names, in the cache where scripts/build-kafka-archive
# makes it. Changing kafka_version in an inventory then needs no other edit: `up` and
# `rollout` build that release's archive before site.yml runs.
KAFKA_ARCHIVE_NAME = "kafka_2.13-{{ kafka_version }}-lakefeed.tgz"


def kafka_archive(root: Path, version: str) -> tuple[Path, str]:
    """scripts/build-kafka-archive's archive of `version` (built once, then cached), and the
    kafka_local_archive value that names the archive of any kafka_version beside it."""
    archive = fetched(root, "build-kafka-archive", version)
    return archive, str(archive.parent / KAFKA_ARCHIVE_NAME)
