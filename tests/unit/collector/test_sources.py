"""Sources without Kafka: replay pacing and resume, HTTP poll against a local server."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from lakefeed import config
from lakefeed.collector.daemon import Collector
from lakefeed.collector.sources import HttpPollSource, Invalid, Item, ReplaySource
from lakefeed.errors import FatalSourceError

ROOT = Path(__file__).resolve().parents[3]


def replay(tmp_path: Path, **cfg: Any) -> tuple[ReplaySource, queue.Queue[Item]]:
    q: queue.Queue[Item] = queue.Queue()
    src_cfg = config.ReplaySourceConfig.model_validate(
        {"type": "replay", "path": str(tmp_path / "in.jsonl"), "at_end": "exit", **cfg}
    )
    return ReplaySource(src_cfg, tmp_path, "t", q, threading.Event()), q


def drain(q: queue.Queue[Item]) -> list[Item]:
    out = []
    while not q.empty():
        out.append(q.get_nowait())
    return out


def test_replay_skips_blank_lines_and_resumes_after_the_checkpoint(tmp_path: Path) -> None:
    (tmp_path / "in.jsonl").write_bytes(b'{"id":1}\n\n{"id":2}\r\n{"id":3}\n')
    src, q = replay(tmp_path, rate=0)
    src.run()
    items = drain(q)
    assert [i.raw for i in items] == [b'{"id":1}', b'{"id":2}', b'{"id":3}']
    src.checkpoint(items[1].position)
    again, q2 = replay(tmp_path, rate=0)
    again.run()
    assert [i.raw for i in drain(q2)] == [b'{"id":3}']


def test_replay_without_resume_starts_at_the_top(tmp_path: Path) -> None:
    (tmp_path / "in.jsonl").write_bytes(b'{"id":1}\n{"id":2}\n')
    src, q = replay(tmp_path, rate=0, resume=False)
    src.run()
    src.checkpoint(drain(q)[-1].position)
    again, q2 = replay(tmp_path, rate=0, resume=False)
    again.run()
    assert len(drain(q2)) == 2


def test_replay_state_of_another_file_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "in.jsonl").write_bytes(b'{"id":1}\n')
    (tmp_path / "replay-t.json").write_text(json.dumps({"path": "/elsewhere", "position": 5}))
    src, q = replay(tmp_path, rate=0)
    src.run()
    assert len(drain(q)) == 1


def test_missing_replay_file_is_fatal_and_names_the_key(tmp_path: Path) -> None:
    src, _ = replay(tmp_path)
    with pytest.raises(FatalSourceError, match=r"^source\.path: cannot open replay file"):
        src.run()


class API(BaseHTTPRequestHandler):
    script: ClassVar[list[tuple[int, dict[str, str], bytes]]] = []
    seen: ClassVar[list[dict[str, str]]] = []

    def do_GET(self) -> None:
        API.seen.append({"path": self.path, "key": self.headers.get("X-Key", "")})
        code, headers, body = API.script.pop(0) if API.script else (200, {}, b"[]")
        self.send_response(code)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def api() -> Iterator[str]:
    API.script, API.seen = [], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), API)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/v1/items"
    server.shutdown()
    server.server_close()
    thread.join()


def poller(url: str, monkeypatch: pytest.MonkeyPatch, **cfg: Any) -> HttpPollSource:
    monkeypatch.setenv("LF_TEST_KEY", "s3cr3t")
    src_cfg = config.HttpPollSourceConfig.model_validate(
        {
            "type": "http_poll",
            "url": url,
            "interval_seconds": 7,
            "auth": {"name": "X-Key", "secret": {"env": "LF_TEST_KEY"}},
            **cfg,
        }
    )
    return HttpPollSource(src_cfg, queue.Queue(), threading.Event())


def test_poll_emits_each_record_and_sends_the_key(
    api: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    API.script = [(200, {}, json.dumps({"res": {"items": [{"id": 1}, {"id": 2}]}}).encode())]
    src = poller(api, monkeypatch, records_path="res.items", params={"q": "x"})
    try:
        assert src.poll_once() == 7
        assert [json.loads(i.raw) for i in drain(src.out)] == [{"id": 1}, {"id": 2}]
        assert API.seen[0] == {"path": "/v1/items?q=x", "key": "s3cr3t"}
    finally:
        src.close()


def test_poll_honours_retry_after_on_429(api: str, monkeypatch: pytest.MonkeyPatch) -> None:
    API.script = [(429, {"Retry-After": "42"}, b"slow down")]
    src = poller(api, monkeypatch)
    try:
        assert src.poll_once() >= 42
        assert drain(src.out) == []
    finally:
        src.close()


def test_poll_backs_off_on_5xx(api: str, monkeypatch: pytest.MonkeyPatch) -> None:
    API.script = [(503, {}, b"")]
    src = poller(api, monkeypatch)
    try:
        delay = src.poll_once()
        assert 3.5 <= delay <= 7  # interval * (0.5..1.0) on the first failure
    finally:
        src.close()


def test_poll_refused_key_is_fatal(api: str, monkeypatch: pytest.MonkeyPatch) -> None:
    API.script = [(401, {}, b"")]
    src = poller(api, monkeypatch)
    try:
        with pytest.raises(FatalSourceError, match="401") as info:
            src.poll_once()
        assert "s3cr3t" not in str(info.value)
    finally:
        src.close()


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<html>", "response is not JSON"),
        (b'{"items": 3}', "is a int, not a list"),
        (b'{"other": []}', "no list at records_path"),
    ],
)
def test_bad_answers_become_dead_letters(
    api: str, monkeypatch: pytest.MonkeyPatch, body: bytes, reason: str
) -> None:
    API.script = [(200, {}, body)]
    src = poller(api, monkeypatch, records_path="items")
    try:
        src.poll_once()
        (item,) = drain(src.out)
        assert isinstance(item.payload, Invalid)
        assert reason in item.payload.reason
        assert item.raw == body
    finally:
        src.close()


def test_skip_seen_ids(api: str, monkeypatch: pytest.MonkeyPatch) -> None:
    page = json.dumps([{"id": 1}, {"id": 2}]).encode()
    API.script = [(200, {}, page), (200, {}, json.dumps([{"id": 2}, {"id": 3}]).encode())]
    src = poller(api, monkeypatch, skip_seen_ids=True)
    try:
        src.poll_once()
        src.poll_once()
        assert [json.loads(i.raw)["id"] for i in drain(src.out)] == [1, 2, 3]
    finally:
        src.close()


def test_a_polled_record_with_nan_alone_is_a_dead_letter(
    api: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Python's json reads NaN and Infinity; the lake's readers do not. One such record
    of a response is dead-lettered with the reason, its neighbours land."""
    API.script = [(200, {}, b'[{"id": 1, "v": NaN}, {"id": 2}, {"id": 3, "v": -Infinity}]')]
    src = poller(api, monkeypatch)
    try:
        src.poll_once()
        items = drain(src.out)
        assert [isinstance(i.payload, Invalid) for i in items] == [True, False, True]
        assert all("NaN, Infinity" in i.payload.reason for i in items[::2])
        assert items[0].raw == b'{"id":1,"v":NaN}'
        assert json.loads(items[1].raw) == {"id": 2}
    finally:
        src.close()


@pytest.mark.parametrize(
    "line",
    [b'{"id": "1", "v": NaN}', b'{"id": "2", "v": Infinity}', b'{"id": "3", "v": [-Infinity]}'],
)
def test_a_line_with_nan_or_infinity_is_a_dead_letter(line: bytes) -> None:
    """A replayed or streamed line holding NaN or Infinity was written to the lake as is:
    a line Athena, Spark and jq refuse."""
    collector = Collector(
        config.load(ROOT / "docs" / "examples" / "collector-replay.yaml"), threading.Event()
    )
    collector.id_path = "id"
    topic, _key, value = collector.encode(Item(raw=line))
    assert topic == collector.cfg.dead_letter_topic
    reason = json.loads(value)["reason"]
    assert reason.startswith("invalid JSON: ") and "is not JSON" in reason, reason


def test_a_huge_number_is_valid_json_and_lands_as_written() -> None:
    """1e400 is valid JSON (beyond a double, not NaN): it lands verbatim, and where the
    payload must be re-serialised (a line break inside), it is dead-lettered rather than
    written as the invalid token Infinity."""
    collector = Collector(
        config.load(ROOT / "docs" / "examples" / "collector-replay.yaml"), threading.Event()
    )
    collector.id_path = "id"
    topic, _key, value = collector.encode(Item(raw=b'{"id": "4", "v": 1e400}'))
    assert topic == collector.cfg.topic
    assert value.endswith(b'"payload":{"id": "4", "v": 1e400}}')
    topic, _key, value = collector.encode(Item(raw=b'{"id": "5",\n"v": 1e400}'))
    assert topic == collector.cfg.dead_letter_topic
    assert "NaN, Infinity" in json.loads(value)["reason"]


def test_a_source_at_its_end_is_exhausted_only_once_all_it_sent_is_settled(
    tmp_path: Path,
) -> None:
    """A replay that has read its last line while records still wait for Kafka is not
    done: the stall alert must still see a collector whose records are not acknowledged."""
    collector = Collector(
        config.load(ROOT / "docs" / "examples" / "collector-replay.yaml"), threading.Event()
    )
    path = tmp_path / "one.jsonl"
    path.write_bytes(b'{"data": {"id": "1"}}\n')
    cfg = collector.cfg.source.model_copy(update={"path": path, "rate": 0, "resume": False})
    source = ReplaySource(cfg, tmp_path, "t", collector.queue, collector.source_stop)
    collector.source = source
    thread = source.start()
    try:
        deadline = time.monotonic() + 10
        while not source.exhausted.is_set() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert source.exhausted.is_set()
        assert collector.exhausted() == 0.0, "the line read is still queued, not acknowledged"
        collector.queue.get_nowait()
        assert collector.exhausted() == 1.0
    finally:
        collector.source_stop.set()
        thread.join(timeout=5)
