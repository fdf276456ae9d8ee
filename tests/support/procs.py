"""Run the daemons as real processes (`python -m lakefeed ...`) so tests can SIGKILL them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from lakefeed.local.servers import free_port

COMMANDS = {"collector": "collect", "archiver": "archive", "shipper": "ship"}
# Every daemon a test started; conftest kills what is left when the test ends, pass or fail.
STARTED: list[Daemon] = []


class Daemon:
    def __init__(
        self, kind: str, config: dict[str, Any], workdir: Path, env: dict[str, str] | None = None
    ) -> None:
        self.kind = kind
        self.port = free_port()
        self.config = {"kind": kind, **config, "metrics": {"host": "127.0.0.1", "port": self.port}}
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.config_path = workdir / f"{kind}.yaml"
        self.rewrite_config()
        self.log = workdir / f"{kind}.log"
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def rewrite_config(self) -> None:
        self.config_path.write_text(yaml.safe_dump(self.config))

    def start(self, wait_healthy: bool = True) -> Daemon:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "lakefeed",
                    COMMANDS[self.kind],
                    "-c",
                    str(self.config_path),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
            )
        self.starts += 1
        STARTED.append(self)
        if wait_healthy:
            self.wait_healthy()
        return self

    def health(self) -> tuple[int, dict[str, Any]]:
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{self.port}/healthz",
                timeout=1,
            ) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")
        except OSError:
            return 0, {}

    def metrics(self) -> str:
        with urllib.request.urlopen(
            f"http://127.0.0.1:{self.port}/metrics",
            timeout=2,
        ) as r:
            return r.read().decode()

    def wait_healthy(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(
                    f"{self.kind} exited {self.proc.returncode}:\n" + self.log_tail()
                )
            if self.health()[0] == 200:
                return
            time.sleep(0.1)
        raise AssertionError(f"{self.kind} not healthy after {timeout}s:\n" + self.log_tail())

    def log_tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def terminate(self, timeout: float = 60.0) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def wait(self, timeout: float) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None
