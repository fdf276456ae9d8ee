"""A local stand-in for the X API v2 filtered stream: real HTTP on loopback, scriptable.

It speaks enough of the protocol for tweepy's `StreamingClient`:

- `GET /2/tweets/search/stream/rules`, `POST /2/tweets/search/stream/rules` (add / delete)
  with X-shaped bodies (`data`, `meta.summary`, `errors`);
- `GET /2/tweets/search/stream`: 200 with chunked transfer encoding, one JSON object per
  line ending in `\\r\\n`, keep-alives as blank lines.

Each stream connection takes the next step of `plan` (`Status`, `Stream`, `Disconnect`,
`Hangup`); once the plan is used up, connections get `default` (an idle stream held open until
`stop()`). Every request is recorded (`requests`, `stream_connects()`), so tests can
assert the rules sync and the intervals between reconnects.
"""

from __future__ import annotations

import contextlib
import json
import select
import socket
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

RULES_PATH = "/2/tweets/search/stream/rules"
STREAM_PATH = "/2/tweets/search/stream"


@dataclass(frozen=True)
class Status:
    """Answer with this status and a small X-shaped problem body."""

    code: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Stream:
    """200, then `lines` as records with `keepalives` blank lines before each, then end.

    split_every > 0 cuts each record into HTTP chunks of that many bytes (so records and
    multi-byte characters straddle chunk boundaries, as on the real stream). `tail` is
    sent after the records without a line terminator (a truncated last record), then the
    stream ends cleanly. `hold` keeps the connection open and idle instead of ending.
    """

    lines: list[bytes] = field(default_factory=list)
    keepalives: int = 0
    split_every: int = 0
    tail: bytes = b""
    hold: bool = False
    interval: float = 0.0


@dataclass(frozen=True)
class Disconnect:
    """200, the first `after_lines` of `lines`, then half of the next one, then a cut.

    mid_chunk=True announces the whole next line as one chunk but sends only half of it;
    mid_chunk=False sends half the line as a complete chunk. Either way the socket is
    then closed without the terminating zero-length chunk.
    """

    lines: list[bytes]
    after_lines: int | None = None
    mid_chunk: bool = True


@dataclass(frozen=True)
class Hangup:
    """Close the connection without answering at all (the client sees a network error)."""


Step = Status | Stream | Disconnect | Hangup


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    query: dict[str, list[str]]
    authorization: str | None
    body: Any
    at: float  # time.monotonic() when the request line was read


def tweet_line(
    tweet_id: str,
    text: str,
    *,
    author_id: str = "2244994945",
    username: str = "XDevelopers",
    rule_id: str = "1",
    tag: str | None = "news",
) -> bytes:
    """One realistic filtered-stream record, as compact UTF-8 JSON (no line terminator)."""
    doc = {
        "data": {
            "id": tweet_id,
            "text": text,
            "author_id": author_id,
            "created_at": "2026-05-09T07:35:25.000Z",
            "edit_history_tweet_ids": [tweet_id],
        },
        "includes": {"users": [{"id": author_id, "name": "Dev 🐦", "username": username}]},
        "matching_rules": [{"id": rule_id, "tag": tag} if tag else {"id": rule_id}],
    }
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + "000Z"


def _problem(code: int) -> dict[str, Any]:
    titles = {
        401: "Unauthorized",
        403: "Forbidden",
        429: "Too Many Requests",
        503: "Service Unavailable",
    }
    title = titles.get(code, "Error")
    return {"title": title, "detail": title, "type": "about:blank", "status": code}


class FakeX:
    """The server. Use as a context manager, or call `start()` and `stop()`."""

    def __init__(self, token: str) -> None:
        self.token = token
        self._lock = threading.Lock()
        self._plan: list[Step] = []
        self.default: Step = Stream(hold=True)
        self._rules: dict[str, dict[str, str]] = {}
        self._next_id = 1_500_000_000_000_000_000
        self._rules_failures: list[Status] = []
        self._received: list[Received] = []
        self._stopping = threading.Event()
        self._conns: set[socket.socket] = set()
        self.errors: list[BaseException] = []
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- scripting -------------------------------------------------------------------

    @property
    def plan(self) -> list[Step]:
        with self._lock:
            return list(self._plan)

    @plan.setter
    def plan(self, steps: Iterable[Step]) -> None:
        with self._lock:
            self._plan = list(steps)

    def fail_rules(self, *steps: Status) -> None:
        """The next rules requests (GET or POST) get these answers, in order."""
        with self._lock:
            self._rules_failures.extend(steps)

    def set_rules(self, rules: Iterable[tuple[str, str | None]]) -> list[str]:
        """Replace the active rules with (value, tag) pairs; returns their ids."""
        with self._lock:
            self._rules.clear()
            return [self._add_rule(value, tag) for value, tag in rules]

    def rules(self) -> list[tuple[str, str | None]]:
        with self._lock:
            return [(r["value"], r.get("tag")) for r in self._rules.values()]

    def rule_ids(self) -> dict[tuple[str, str | None], str]:
        with self._lock:
            return {(r["value"], r.get("tag")): i for i, r in self._rules.items()}

    # --- records ---------------------------------------------------------------------

    @property
    def requests(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    def stream_connects(self) -> list[float]:
        return [r.at for r in self.requests if r.path == STREAM_PATH and r.method == "GET"]

    def wait_for_connects(self, count: int, timeout: float) -> list[float]:
        deadline = time.monotonic() + timeout
        while len(connects := self.stream_connects()) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(connects)} stream connects, wanted {count}")
            time.sleep(0.02)
        return connects

    # --- lifecycle -------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        assert self._httpd is not None, "start() the server first"
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeX:
        self._httpd = _Server(("127.0.0.1", 0), _Handler, self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-x"
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._stopping.set()
        self._httpd.shutdown()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        self._httpd.server_close()  # joins the handler threads (block_on_close)
        assert self._thread is not None
        self._thread.join()
        self._httpd = None

    def __enter__(self) -> FakeX:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- internals -------------------------------------------------------------------

    def _add_rule(self, value: str, tag: str | None) -> str:
        self._next_id += 1
        rule_id = str(self._next_id)
        self._rules[rule_id] = {"id": rule_id, "value": value}
        if tag is not None:
            self._rules[rule_id]["tag"] = tag
        return rule_id

    def _record(self, received: Received) -> None:
        with self._lock:
            self._received.append(received)

    def _next_step(self) -> Step:
        with self._lock:
            return self._plan.pop(0) if self._plan else self.default

    def _next_rules_failure(self) -> Status | None:
        with self._lock:
            return self._rules_failures.pop(0) if self._rules_failures else None

    def _get_rules(self) -> dict[str, Any]:
        with self._lock:
            rules = [dict(r) for r in self._rules.values()]
        meta = {"sent": _now(), "result_count": len(rules)}
        return {"data": rules, "meta": meta} if rules else {"meta": meta}

    def _post_rules(self, body: Any) -> tuple[int, dict[str, Any]]:
        if not isinstance(body, dict) or ("add" in body) == ("delete" in body):
            return 400, {
                "title": "Invalid Request",
                "detail": "give one of add or delete",
                "type": "https://api.twitter.com/2/problems/invalid-request",
            }
        with self._lock:
            if "add" in body:
                created: list[dict[str, str]] = []
                errors: list[dict[str, Any]] = []
                values = {r["value"] for r in self._rules.values()}
                for rule in body["add"]:
                    if rule["value"] in values:
                        errors.append(
                            {
                                "value": rule["value"],
                                "title": "DuplicateRule",
                                "type": "https://api.twitter.com/2/problems/duplicate-rules",
                            }
                        )
                        continue
                    values.add(rule["value"])
                    rule_id = self._add_rule(rule["value"], rule.get("tag"))
                    created.append(dict(self._rules[rule_id]))
                summary = {
                    "created": len(created),
                    "not_created": len(errors),
                    "valid": len(created),
                    "invalid": len(errors),
                }
                doc: dict[str, Any] = {"meta": {"sent": _now(), "summary": summary}}
                if created:
                    doc["data"] = created
                if errors:
                    doc["errors"] = errors
                return 200, doc
            deleted = not_deleted = 0
            errors = []
            for rule_id in body["delete"].get("ids", []):
                if self._rules.pop(rule_id, None) is None:
                    not_deleted += 1
                    errors.append(
                        {"id": rule_id, "title": "Invalid Request", "detail": "rule does not exist"}
                    )
                else:
                    deleted += 1
            doc = {
                "meta": {
                    "sent": _now(),
                    "summary": {"deleted": deleted, "not_deleted": not_deleted},
                }
            }
            if errors:
                doc["errors"] = errors
            return 200, doc


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # so server_close() joins every handler: no thread outlives stop()
    block_on_close = True

    def __init__(self, address: tuple[str, int], handler: type[_Handler], fake: FakeX) -> None:
        self.fake = fake
        super().__init__(address, handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client hanging up mid-response is a scenario under test, not a server bug.
        exc = sys.exc_info()[1]
        if exc is not None and not isinstance(exc, ConnectionError | TimeoutError):
            self.fake.errors.append(exc)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean

    def setup(self) -> None:
        super().setup()
        with self.server.fake._lock:
            self.server.fake._conns.add(self.connection)

    def finish(self) -> None:
        with self.server.fake._lock:
            self.server.fake._conns.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    # --- plumbing --------------------------------------------------------------------

    def _json(self, code: int, doc: Any, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(doc, ensure_ascii=False).encode("utf-8")
        self.send_response(code)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _receive(self) -> tuple[str, Received]:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw
        received = Received(
            self.command,
            parts.path,
            parse_qs(parts.query),
            self.headers.get("Authorization"),
            body,
            time.monotonic(),
        )
        self.server.fake._record(received)
        return parts.path, received

    def _authorized(self) -> bool:
        if self.headers.get("Authorization") == f"Bearer {self.server.fake.token}":
            return True
        self._json(401, _problem(401))
        return False

    # --- routes ----------------------------------------------------------------------

    def do_GET(self) -> None:
        path, _ = self._receive()
        if path not in (RULES_PATH, STREAM_PATH):
            self._json(404, _problem(404))
            return
        if not self._authorized():
            return
        if path == RULES_PATH:
            failure = self.server.fake._next_rules_failure()
            if failure is not None:
                self._json(failure.code, failure.body or _problem(failure.code), failure.headers)
                return
            self._json(200, self.server.fake._get_rules())
            return
        self._stream(self.server.fake._next_step())

    def do_POST(self) -> None:
        path, received = self._receive()
        if path != RULES_PATH:
            self._json(404, _problem(404))
            return
        if not self._authorized():
            return
        failure = self.server.fake._next_rules_failure()
        if failure is not None:
            self._json(failure.code, failure.body or _problem(failure.code), failure.headers)
            return
        code, doc = self.server.fake._post_rules(received.body)
        self._json(code, doc)

    # --- the stream ------------------------------------------------------------------

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _stream_headers(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()

    def _cut(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _stream(self, step: Step) -> None:
        if isinstance(step, Status):
            self._json(step.code, step.body or _problem(step.code), step.headers)
            return
        if isinstance(step, Hangup):
            self._cut()
            return
        self._stream_headers()
        if isinstance(step, Disconnect):
            after = len(step.lines) - 1 if step.after_lines is None else step.after_lines
            for line in step.lines[:after]:
                self._chunk(line + b"\r\n")
            rest = step.lines[after] + b"\r\n" if after < len(step.lines) else b"{}\r\n"
            half = rest[: len(rest) // 2]
            if step.mid_chunk:
                self.wfile.write(b"%x\r\n%s" % (len(rest), half))
                self.wfile.flush()
            else:
                self._chunk(half)
            self._cut()
            return
        for line in step.lines:
            for _ in range(step.keepalives):
                self._chunk(b"\r\n")
            for piece in _pieces(line + b"\r\n", step.split_every):
                self._chunk(piece)
            if step.interval:
                time.sleep(step.interval)
        if step.tail:
            self._chunk(step.tail)
        if step.hold:
            self._hold()
            self._cut()
            return
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
        self.close_connection = True

    def _hold(self) -> None:
        """Stay idle until the server stops or the client hangs up."""
        fake = self.server.fake
        while not fake._stopping.is_set():
            readable, _, _ = select.select([self.connection], [], [], 0.05)
            if readable:
                try:
                    if not self.connection.recv(1, socket.MSG_PEEK):
                        return
                except OSError:
                    return


def _pieces(data: bytes, size: int) -> Iterator[bytes]:
    if size <= 0:
        yield data
        return
    for start in range(0, len(data), size):
        yield data[start : start + size]
