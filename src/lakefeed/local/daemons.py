"""The lakefeed daemons as local processes: `python -m lakefeed collect|archive|ship -c FILE`,
each with its config file, its metrics port on loopback and its log in a folder of its own.
What `lakefeed demo`, the tests and the benchmarks start (each adds what it alone needs:
the tests a list of every process to kill, the bench CPU and memory use)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from lakefeed.local.servers import free_port

# The daemon's kind (the `kind` of its config) -> its lakefeed subcommand.
COMMANDS = {"collector": "collect", "archiver": "archive", "shipper": "ship"}


class DaemonError(RuntimeError):
    """A daemon exited, or did not become healthy, while it was waited for."""


class Daemon:
    """One daemon: its config (`config` plus its kind and a free metrics port on loopback)
    written to `<workdir>/<kind>.yaml`, its output appended to `<workdir>/<kind>.log`."""

    def __init__(
        self,
        kind: str,
        config: dict[str, Any],
        workdir: Path,
        *,
        env: dict[str, str] | None = None,
        name: str | None = None,
    ) -> None:
        self.kind = kind
        self.name = name or kind
        self.port = free_port()
        self.config = {"kind": kind, **config, "metrics": {"host": "127.0.0.1", "port": self.port}}
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.config_path = workdir / f"{kind}.yaml"
        self.log = workdir / f"{kind}.log"
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.rewrite_config()

    def rewrite_config(self) -> None:
        """Write `config` as it is now (the next start reads it)."""
        self.config_path.write_text(yaml.safe_dump(self.config), encoding="utf-8")

    def arguments(self) -> list[str]:
        """Its lakefeed subcommand and config file, as `python -m lakefeed` takes them."""
        return [COMMANDS[self.kind], "-c", str(self.config_path)]

    def command(self) -> list[str]:
        return [sys.executable, "-m", "lakefeed", *self.arguments()]

    def start(self, wait_healthy: bool = True) -> Daemon:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                self.command(), stdout=log, stderr=subprocess.STDOUT, env=self.env
            )
        self.starts += 1
        if wait_healthy:
            self.wait_healthy()
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None, f"{self.name} was never started"
        return self.proc.pid

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def health(self) -> tuple[int, dict[str, Any]]:
        """/healthz's status and body; status 0 when nothing answers."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1) as r:
                return int(r.status), json.loads(r.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")
        except OSError:
            return 0, {}

    def metrics(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=2) as r:
            return str(r.read().decode())

    def wait_healthy(self, timeout: float = 60.0) -> None:
        """Until /healthz answers 200; DaemonError, with the log's end, if the process
        exits first or `timeout` seconds pass."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise DaemonError(
                    f"{self.name} exited {self.proc.returncode} while starting:\n{self.tail()}"
                )
            if self.health()[0] == 200:
                return
            time.sleep(0.1)
        raise DaemonError(f"{self.name} not healthy after {timeout:.0f}s:\n{self.tail()}")

    def tail(self, chars: int = 4000) -> str:
        """The end of its log."""
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def events(self) -> list[dict[str, Any]]:
        """Its JSON log lines, in order (a traceback's lines are not JSON and left out)."""
        out = []
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        for line in text.splitlines():
            if line.startswith("{"):
                with contextlib.suppress(ValueError):
                    out.append(json.loads(line))
        return out

    def kill(self) -> None:
        """SIGKILL, as a crash or an OOM kill would end it."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def ask_to_stop(self) -> None:
        """SIGTERM, as systemd stops it, if it runs; not waited for."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)

    def terminate(self, timeout: float = 60.0) -> int:
        """SIGTERM, as systemd stops it; its exit code. One that has not exited after
        `timeout` seconds is killed (its code then says so: -9)."""
        assert self.proc is not None, f"{self.name} was never started"
        self.ask_to_stop()
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def wait(self, timeout: float) -> int:
        assert self.proc is not None, f"{self.name} was never started"
        return self.proc.wait(timeout)
