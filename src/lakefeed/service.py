"""What every daemon shares: the stop signal, and the /metrics + /healthz endpoint."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CollectorRegistry, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from lakefeed import __version__

logger = logging.getLogger(__name__)


def install_stop_handlers(stop: threading.Event) -> None:
    """SIGTERM/SIGINT ask the loop to finish its current unit of work and return."""

    def handler(signum: int, _frame: Any) -> None:
        logger.info("stop requested", extra={"signal": signal.Signals(signum).name})
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


class Running:
    """What this process runs: the build (its virtualenv's name: package version and wheel
    digest, as the lakefeed role names it) and the digest of the config file it read at
    start. `lakefeed status` compares both with what is deployed on disk."""

    def __init__(self) -> None:
        self.build = os.path.basename(os.path.realpath(sys.prefix))
        self.config: str | None = None

    def read_config(self, path: str | os.PathLike[str]) -> None:
        """Digest the file before it is parsed: should it change in between, this process
        reports the older digest, and the drift is seen (never hidden)."""
        try:
            with open(path, "rb") as f:
                self.config = config_digest(f.read())
        except OSError:
            self.config = None  # config.load says why

    def as_dict(self) -> dict[str, Any]:
        return {"version": __version__, "build": self.build, "config": self.config}


def config_digest(data: bytes) -> str:
    """The first 16 hex digits of the config file's SHA-256 (lakefeed_status on the host
    computes the same of the deployed file)."""
    return hashlib.sha256(data).hexdigest()[:16]


RUNNING = Running()


class Health:
    """A daemon's own view of whether it is making progress, for /healthz and the rollout."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._problems: dict[str, str] = {}
        self._details: dict[str, Any] = {}
        self.ready = False

    def problem(self, key: str, message: str | None) -> None:
        with self._lock:
            if message is None:
                self._problems.pop(key, None)
            else:
                self._problems[key] = message

    def detail(self, key: str, value: Any) -> None:
        with self._lock:
            self._details[key] = value

    def snapshot(self) -> tuple[bool, dict[str, Any]]:
        with self._lock:
            ok = self.ready and not self._problems
            body = {
                "status": "ok" if ok else ("starting" if not self.ready else "unhealthy"),
                "version": __version__,
                "running": RUNNING.as_dict(),
                "problems": dict(self._problems),
                **self._details,
            }
        return ok, body


class StatusServer:
    """Serves /metrics (Prometheus text) and /healthz (JSON, 200 or 503) on a local port."""

    def __init__(self, host: str, port: int, registry: CollectorRegistry, health: Health) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/metrics":
                    body = generate_latest(registry)
                    self._send(200, body, CONTENT_TYPE_LATEST)
                elif self.path == "/healthz":
                    ok, status = health.snapshot()
                    body = json.dumps(status).encode()
                    self._send(200 if ok else 503, body, "application/json")
                else:
                    self._send(404, b"not found\n", "text/plain")

            def _send(self, code: int, body: bytes, ctype: str) -> None:
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # scrapes every few seconds would drown the daemon's own lines

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="status-http", daemon=True
        )
        self.host = host

    def start(self) -> None:
        self._thread.start()
        logger.info("status endpoint listening", extra={"host": self.host, "port": self.port})

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def base_metrics(registry: CollectorRegistry, daemon: str) -> None:
    info = Gauge(
        "lakefeed_build_info",
        "What the daemon runs: version, build (wheel digest) and config file digest",
        ["daemon", "version", "build", "config"],
        registry=registry,
    )
    info.labels(
        daemon=daemon, version=__version__, build=RUNNING.build, config=RUNNING.config or ""
    ).set(1)
    started = Gauge(
        "lakefeed_start_time_seconds", "Unix time the daemon started", registry=registry
    )
    started.set(time.time())


class Backoff:
    """Exponential backoff with full jitter; `reset()` after a success."""

    def __init__(self, initial: float, maximum: float, rand: Callable[[], float]) -> None:
        self.initial = initial
        self.maximum = maximum
        self._rand = rand
        self._attempt = 0

    def next_delay(self) -> float:
        cap = min(self.maximum, self.initial * (2**self._attempt))
        self._attempt = min(self._attempt + 1, 32)
        return cap * self._rand()

    def reset(self) -> None:
        self._attempt = 0
