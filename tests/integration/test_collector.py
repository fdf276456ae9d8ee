"""The collector's sources on a real broker: dead letters, X stream, HTTP poll, resume."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaConsumer

from lakefeed.local.servers import LocalKafka
from tests.support.fake_x import Disconnect, FakeX, Stream, tweet_line
from tests.support.procs import Daemon

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"


def consume(bootstrap: str, topic: str, count: int, timeout: float = 60) -> list[Any]:
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=2000,
        fetch_max_bytes=8 * 1024 * 1024,
    )
    got: list[Any] = []
    deadline = time.monotonic() + timeout
    try:
        while len(got) < count and time.monotonic() < deadline:
            got.extend(m for batch in consumer.poll(1000).values() for m in batch)
    finally:
        consumer.close()
    return got


def collector(
    kafka: LocalKafka,
    topic: str,
    tmp: Path,
    source: dict[str, Any],
    env: dict[str, str] | None = None,
    **extra: Any,
) -> Daemon:
    cfg = {
        "name": "t",
        "kafka": {"bootstrap_servers": [kafka.bootstrap]},
        "topic": topic,
        "dead_letter_topic": f"{topic}.dlq",
        "state_dir": str(tmp / "state"),
        "source": source,
        **extra,
    }
    return Daemon("collector", cfg, tmp / "collector", env=env)


def test_bad_input_goes_to_the_dead_letter_topic_with_its_reason(
    kafka: LocalKafka, topic: str, tmp_path: Path
) -> None:
    kafka.create_topic(f"{topic}.dlq", partitions=1)
    d = collector(
        kafka,
        topic,
        tmp_path,
        {"type": "replay", "path": str(SAMPLE / "malformed.jsonl"), "rate": 0, "at_end": "exit"},
    )
    d.start(wait_healthy=False)
    assert d.wait(60) == 0, d.tail()

    good = consume(kafka.bootstrap, topic, 3)
    assert sorted(m.key.decode() for m in good) == [
        "9124744757557301255",
        "9124744769875038215",
        "9124744772497149954",
    ]
    dead = [json.loads(m.value) for m in consume(kafka.bootstrap, f"{topic}.dlq", 12)]
    reasons = [d["reason"].split(":")[0] for d in dead]
    assert len(dead) == 12
    assert reasons.count("invalid JSON") == 4
    assert reasons.count("no id at 'data.id'") == 4
    assert reasons.count("id at 'data.id' is not a non-empty string or integer") == 3
    oversize = next(d for d in dead if d["reason"].startswith("oversize"))
    assert oversize["raw_bytes"] == 1_200_000
    assert oversize["raw_truncated"] is True
    assert all(d["source"] == "replay:t" and len(d["raw_sha256"]) == 64 for d in dead)


def test_replay_resumes_after_sigterm_without_gaps(
    kafka: LocalKafka, topic: str, tmp_path: Path
) -> None:
    src = {"type": "replay", "path": str(SAMPLE / "x_stream.jsonl"), "rate": 400, "at_end": "exit"}
    d = collector(kafka, topic, tmp_path, src).start()
    time.sleep(1.5)
    assert d.terminate() == 0
    assert "collector stopped" in d.tail()
    d.start(wait_healthy=False)
    # The second run picks up where the acknowledged batches ended.
    assert d.wait(120) == 0, d.tail()
    ids = [
        json.loads(line)["data"]["id"]
        for line in (SAMPLE / "x_stream.jsonl").read_bytes().splitlines()
    ]
    got = [m.key.decode() for m in consume(kafka.bootstrap, topic, len(ids))]
    assert set(got) == set(ids)
    assert len(got) == len(ids), "a clean stop must not produce duplicates"


def exhausted(d: Daemon) -> str:
    """The collector's lakefeed_collector_source_exhausted sample, as Prometheus reads it."""
    lines = d.metrics().splitlines()
    return next(x.split()[-1] for x in lines if x.startswith("lakefeed_collector_source_exhausted"))


def test_a_replay_at_its_end_says_it_is_exhausted_and_stays_up(
    kafka: LocalKafka, topic: str, tmp_path: Path
) -> None:
    """at_end: idle keeps the collector up and healthy after the last line; its gauge tells
    the monitoring's stall alert that the source is done, not stalled."""
    lines = (SAMPLE / "x_stream.jsonl").read_bytes().splitlines()[:200]
    path = tmp_path / "part.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    src = {"type": "replay", "path": str(path), "rate": 25, "at_end": "idle"}  # 8 s of lines
    d = collector(kafka, topic, tmp_path, src).start()
    try:
        assert exhausted(d) == "0.0", "exhausted while it still sends"
        assert len(consume(kafka.bootstrap, topic, len(lines))) == len(lines)
        deadline = time.monotonic() + 30
        while exhausted(d) != "1.0" and time.monotonic() < deadline:
            time.sleep(0.2)
        assert exhausted(d) == "1.0", d.tail()
        assert d.running() and d.health()[0] == 200
    finally:
        d.terminate()


def test_replay_at_full_rate_resumes_after_sigterm_without_gaps_or_duplicates(
    kafka: LocalKafka, topic: str, tmp_path: Path
) -> None:
    """At rate 0 several batches are in flight when SIGTERM comes: each must be settled,
    and the stored position must cover exactly what Kafka acknowledged."""
    sample = [json.loads(x) for x in (SAMPLE / "x_stream.jsonl").read_bytes().splitlines()]
    ids = []
    path = tmp_path / "replay.jsonl"
    with path.open("w", encoding="utf-8") as f:
        for k in range(20):
            for obj in sample:
                rid = f"{obj['data']['id']}-{k}"
                ids.append(rid)
                f.write(json.dumps({**obj, "data": {**obj["data"], "id": rid}}) + "\n")
    src = {"type": "replay", "path": str(path), "rate": 0, "at_end": "exit"}
    d = collector(kafka, topic, tmp_path, src).start()
    time.sleep(0.5)
    assert d.terminate() == 0
    d.start(wait_healthy=False)
    assert d.wait(180) == 0, d.tail()
    assert "replay resuming" in d.log.read_text(), "SIGTERM came after the end of the file"
    got = [m.key.decode() for m in consume(kafka.bootstrap, topic, len(ids), timeout=120)]
    assert set(got) == set(ids)
    assert len(got) == len(ids), "a clean stop must not produce duplicates"


@pytest.fixture
def fake_x() -> Iterator[FakeX]:
    with FakeX("test-token-xyz") as server:
        yield server


def test_x_stream_through_the_collector_survives_a_cut_connection(
    kafka: LocalKafka, topic: str, tmp_path: Path, fake_x: FakeX
) -> None:
    lines = [tweet_line(str(1800000000000000000 + i), f"tweet {i} 🏀") for i in range(60)]
    fake_x.plan = [
        Disconnect(lines[:20], after_lines=20),
        Stream(lines[20:], keepalives=1, split_every=37, hold=True),
    ]
    src = {
        "type": "x_stream",
        "bearer_token": {"env": "LF_X_TOKEN"},
        "rules": [{"value": "nba has:media", "tag": "nba"}],
        "api_base": fake_x.base_url,
    }
    d = collector(
        kafka, topic, tmp_path, src, env={"LF_X_TOKEN": "test-token-xyz"}, log_level="DEBUG"
    ).start()
    got = consume(kafka.bootstrap, topic, 60)
    assert sorted(m.key.decode() for m in got) == sorted(json.loads(x)["data"]["id"] for x in lines)
    record = json.loads(got[0].value)
    assert record["source"] == "x_stream:t"
    assert record["payload"]["matching_rules"][0]["tag"] == "news"
    assert fake_x.rules() == [("nba has:media", "nba")]
    assert d.terminate() == 0
    # Even at DEBUG, where tweepy logs request headers, the token never reaches the log.
    assert "test-token-xyz" not in d.log.read_text()


def test_x_stream_refused_token_exits_3_with_the_key_named(
    kafka: LocalKafka, topic: str, tmp_path: Path, fake_x: FakeX
) -> None:
    src = {
        "type": "x_stream",
        "bearer_token": {"env": "LF_X_TOKEN"},
        "rules": [{"value": "f1"}],
        "api_base": fake_x.base_url,
    }
    d = collector(kafka, topic, tmp_path, src, env={"LF_X_TOKEN": "wrong-token"})
    d.start(wait_healthy=False)
    assert d.wait(60) == 3
    log = d.log.read_text()
    assert "source.bearer_token" in log
    assert "wrong-token" not in log


class FlightsAPI(BaseHTTPRequestHandler):
    """A polled JSON API: the key must come in the header; each poll returns new prices."""

    polls = 0
    lock = threading.Lock()

    def do_GET(self) -> None:
        if self.headers.get("X-Api-Key") != "k-123":
            self.send_response(401)
            self.end_headers()
            return
        with self.lock:
            FlightsAPI.polls += 1
            n = FlightsAPI.polls
        offers = [{"offer": {"id": f"LH{n}-{i}", "price": 100 + i}} for i in range(5)]
        body = json.dumps({"meta": {"poll": n}, "results": {"offers": offers}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_http_poll_produces_each_record_of_each_poll(
    kafka: LocalKafka, topic: str, tmp_path: Path
) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FlightsAPI)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        src = {
            "type": "http_poll",
            "url": f"http://127.0.0.1:{server.server_port}/v1/offers",
            "params": {"from": "FRA", "to": "JFK"},
            "interval_seconds": 0.5,
            "records_path": "results.offers",
            "id_path": "offer.id",
            "auth": {"name": "X-Api-Key", "secret": {"env": "LF_FLIGHTS_KEY"}},
        }
        d = collector(kafka, topic, tmp_path, src, env={"LF_FLIGHTS_KEY": "k-123"}).start()
        got = consume(kafka.bootstrap, topic, 10)
        assert d.terminate() == 0
    finally:
        server.shutdown()
        server.server_close()
    keys = {m.key.decode() for m in got}
    assert {"LH1-0", "LH1-4", "LH2-0"} <= keys
    assert json.loads(got[0].value)["payload"]["offer"]["price"] >= 100
