"""XStreamSource with real tweepy against a real local HTTP server speaking the X protocol.

Nothing of tweepy is mocked: the waits asserted here are tweepy's own reconnect backoff
(`BaseStream._connect`), observed as the gaps between the stream connections the fake
server received.
"""

from __future__ import annotations

import json
import logging
import queue
import secrets
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import tweepy.streaming

from lakefeed.collector.sources import Item
from lakefeed.collector.x_stream import XStreamSource
from lakefeed.config import XStreamSourceConfig
from lakefeed.errors import FatalSourceError
from tests.support.fake_x import (
    RULES_PATH,
    STREAM_PATH,
    Disconnect,
    FakeX,
    Hangup,
    Status,
    Stream,
    tweet_line,
)

ENV_VAR = "LAKEFEED_TEST_X_TOKEN"
TEXTS = ["Grüße aus Köln 🍻", "東京の夜景 🌃", "emoji only 🐦🔥💯", 'a "quoted" \\ text', "ok"]


@pytest.fixture
def token(monkeypatch: pytest.MonkeyPatch) -> str:
    value = "AAAA" + secrets.token_hex(16)
    monkeypatch.setenv(ENV_VAR, value)
    return value


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits tweepy's reconnect loop asks for, in order. Each is slept for at most
    0.3 s: the tests assert the backoff policy tweepy follows, not how busy the machine
    is, and a 60 s rate-limit wait costs the suite no minute."""
    asked: list[float] = []
    real_sleep = time.sleep

    def sleep(seconds: float) -> None:
        asked.append(seconds)
        real_sleep(min(seconds, 0.3))

    monkeypatch.setattr(tweepy.streaming, "sleep", sleep)
    return asked


@pytest.fixture
def fake(token: str) -> Iterator[FakeX]:
    with FakeX(token) as server:
        yield server
    assert server.errors == []


def lines(n: int, start: int = 1) -> list[bytes]:
    return [
        tweet_line(str(1790000000000000000 + i), TEXTS[i % len(TEXTS)], rule_id="7")
        for i in range(start, start + n)
    ]


def config(fake: FakeX, **extra: Any) -> XStreamSourceConfig:
    doc: dict[str, Any] = {
        "type": "x_stream",
        "bearer_token": {"env": ENV_VAR},
        "rules": [{"value": "lakefeed has:links", "tag": "news"}],
        "expansions": ["author_id"],
        "api_base": fake.base_url,
        **extra,
    }
    return XStreamSourceConfig.model_validate(doc)


class Running:
    """A started source; leaving the block stops it the way the collector does."""

    def __init__(self, cfg: XStreamSourceConfig, tune: Any = None) -> None:
        self.out: queue.Queue[Item] = queue.Queue()
        self.stop = threading.Event()
        self.source = XStreamSource(cfg, self.out, self.stop)
        if tune is not None:
            tune(self.source)

    def __enter__(self) -> Running:
        self.thread = self.source.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.source.close()
        self.thread.join(timeout=10)
        assert not self.thread.is_alive(), "source thread did not end"

    def take(self, n: int, timeout: float) -> list[bytes]:
        deadline = time.monotonic() + timeout
        got = []
        while len(got) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"got {len(got)} records, wanted {n}: {got!r}")
            try:
                got.append(self.out.get(timeout=min(left, 0.2)).raw)
            except queue.Empty:
                continue
        return got

    def wait_finished(self, timeout: float) -> None:
        assert self.source.finished.wait(timeout), "run() did not return"


def test_rules_sync_adds_missing_deletes_extra_and_keeps_unchanged(
    fake: FakeX, token: str, caplog: pytest.LogCaptureFixture
) -> None:
    kept_id, stale_id, retagged_id = fake.set_rules(
        [("cats has:images", "pets"), ("old rule", "gone"), ("dogs", "old tag")]
    )
    cfg = config(
        fake,
        rules=[
            {"value": "cats has:images", "tag": "pets"},
            {"value": "dogs"},
            {"value": "🐦 lang:de", "tag": "vögel"},
            {"value": "cats has:images", "tag": "pets"},  # a duplicate in the config
        ],
    )
    caplog.set_level(logging.INFO, logger="lakefeed")
    with Running(cfg):
        fake.wait_for_connects(1, timeout=10)

    rules_calls = [r for r in fake.requests if r.path == RULES_PATH]
    assert [r.method for r in rules_calls] == ["GET", "POST", "POST"]
    delete, add = rules_calls[1].body, rules_calls[2].body
    assert sorted(delete["delete"]["ids"]) == sorted([stale_id, retagged_id])
    assert add == {"add": [{"value": "dogs"}, {"value": "🐦 lang:de", "tag": "vögel"}]}
    assert fake.rule_ids()[("cats has:images", "pets")] == kept_id
    assert sorted(fake.rules(), key=str) == sorted(
        [("cats has:images", "pets"), ("dogs", None), ("🐦 lang:de", "vögel")], key=str
    )
    assert "X stream rules synced: 2 added, 2 removed, 1 kept" in caplog.messages
    assert {r.authorization for r in fake.requests} == {f"Bearer {token}"}
    stream = next(r for r in fake.requests if r.path == STREAM_PATH)
    assert stream.query == {
        "expansions": ["author_id"],
        "tweet.fields": ["created_at,lang,author_id"],
    }

    # In sync already: one GET and nothing else. This also goes through the api_base
    # adapter after tweepy's Session.close() at the end of the stream above.
    before = len(fake.requests)
    source = XStreamSource(cfg, queue.Queue(), threading.Event())
    try:
        assert source.sync_rules()
        source.client.session.close()
        assert source.sync_rules()
    finally:
        source.client.session.close()
    assert [(r.method, r.path) for r in fake.requests[before:]] == [("GET", RULES_PATH)] * 2


def test_rule_rejected_by_x_is_fatal(fake: FakeX) -> None:
    # X refuses two rules with the same value; the fake does too.
    cfg = config(fake, rules=[{"value": "cats", "tag": "a"}, {"value": "cats", "tag": "b"}])
    with Running(cfg) as run:
        run.wait_finished(10)
    assert isinstance(run.source.fatal, FatalSourceError)
    assert "source.rules" in str(run.source.fatal)
    assert "DuplicateRule" in str(run.source.fatal)
    assert fake.stream_connects() == []


def test_records_arrive_byte_for_byte_in_order_and_keepalives_are_not_records(
    fake: FakeX,
) -> None:
    expected = lines(12)
    # Records cut into 7-byte chunks straddle chunk boundaries mid-character.
    fake.plan = [
        Stream(lines=expected[:6], keepalives=2, split_every=7),
        Stream(lines=expected[6:], keepalives=3),
    ]
    with Running(config(fake)) as run:
        got = run.take(12, timeout=10)
        fake.wait_for_connects(3, timeout=10)  # both streams ended: nothing more can come
        time.sleep(0.2)
        assert run.out.empty(), "a keep-alive was emitted as a record"
    assert got == expected
    assert json.loads(got[2])["data"]["text"] == TEXTS[3]


def test_http_503_reconnects_after_tweepy_5s_backoff(fake: FakeX, waits: list[float]) -> None:
    expected = lines(3)
    fake.plan = [Status(503), Stream(lines=expected)]
    with Running(config(fake)) as run:
        assert run.take(3, timeout=15) == expected
    assert len(fake.stream_connects()) >= 2
    # tweepy waits 5 s after the first HTTP error (then 10, 20 ... 320).
    assert waits == [5]


def test_http_429_reconnects_after_tweepy_60s_backoff(fake: FakeX, waits: list[float]) -> None:
    expected = lines(1)
    fake.plan = [
        Status(429, headers={"x-rate-limit-reset": str(int(time.time()) + 60)}),
        Stream(lines=expected),
    ]
    with Running(config(fake)) as run:
        assert run.take(1, timeout=15) == expected
    assert len(fake.stream_connects()) >= 2
    assert waits == [60]


def test_filter_giving_up_is_connected_again(fake: FakeX, waits: list[float]) -> None:
    # With max_retries=0 tweepy's filter() returns after one HTTP error and its 5 s wait,
    # closing its session; run() connects again, through the same api_base adapter.
    expected = lines(2)
    fake.plan = [Status(500), Stream(lines=expected)]

    def no_retries(source: XStreamSource) -> None:
        source.client.max_retries = 0

    with Running(config(fake), tune=no_retries) as run:
        assert run.take(2, timeout=15) == expected
    assert len(fake.stream_connects()) >= 2
    assert waits == [5]  # tweepy's wait before it gave up; run() adds none


def test_cut_connection_reconnects_at_once_and_emits_no_partial_record(
    fake: FakeX, waits: list[float]
) -> None:
    first, second, third = lines(3), lines(3, start=10), lines(2, start=20)
    # mid_chunk: the chunk header promises the whole line, half arrives, then the cut.
    # not mid_chunk: half the line arrives as a complete chunk, then the cut. In both
    # cases urllib3 raises ProtocolError (IncompleteRead / "Response ended prematurely")
    # before requests' iter_lines yields its pending fragment, so tweepy drops the half
    # line: it is never handed to on_data.
    fake.plan = [
        Disconnect(lines=first, after_lines=2, mid_chunk=True),
        Disconnect(lines=second, after_lines=2, mid_chunk=False),
        Hangup(),
        Hangup(),
        # Held open. Ended, it is reconnected at once; under load that reconnect can reuse
        # the connection the fake server has just closed (RemoteDisconnected), and tweepy
        # records one more wait of 0 (a CI run: [0, 0, 0.25, 0.5, 0]).
        Stream(lines=third, hold=True),
    ]
    with Running(config(fake)) as run:
        got = run.take(6, timeout=10)
        fake.wait_for_connects(5, timeout=10)
        time.sleep(0.2)
        assert run.out.empty()
    assert got == first[:2] + second[:2] + third
    # Network errors: tweepy waits 0 s, then 0.25 s, 0.5 s ... up to 16 s, but every 200
    # resets the wait: a stream that connects and is then cut is reconnected at once,
    # each time. Only failures with no 200 in between (the hang-ups) make it grow.
    assert waits == [0, 0, 0.25, 0.5]


def test_truncated_last_line_of_a_cleanly_ended_stream_is_emitted(fake: FakeX) -> None:
    # Finding: when the body ends cleanly (terminating chunk) after a line with no line
    # terminator, requests' iter_lines yields the fragment and tweepy passes it to on_data,
    # so it reaches the collector as a record. The collector dead-letters it (invalid
    # JSON); the real X stream always ends records with \r\n.
    expected = lines(1)
    fragment = expected[0][:25]
    fake.plan = [Stream(lines=expected, tail=fragment)]
    with Running(config(fake)) as run:
        assert run.take(2, timeout=10) == [expected[0], fragment]


@pytest.mark.parametrize("status", [401, 403])
def test_auth_refused_on_stream_is_fatal(
    fake: FakeX, token: str, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # tweepy.client logs request headers at DEBUG
    fake.plan = [Status(status)]
    with Running(config(fake)) as run:
        run.wait_finished(5)
        fatal = run.source.fatal
        assert run.stop.is_set()
    assert isinstance(fatal, FatalSourceError)
    assert "source.bearer_token" in str(fatal)
    assert "check the token" in str(fatal)
    assert token not in str(fatal)
    assert token not in caplog.text
    assert len(fake.stream_connects()) == 1  # no retry


@pytest.mark.parametrize("status", [401, 403])
def test_auth_refused_on_rules_is_fatal(
    fake: FakeX,
    token: str,
    status: int,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    if status == 401:
        monkeypatch.setenv(ENV_VAR, token + "-revoked")  # the fake answers 401 to it
    else:
        fake.fail_rules(Status(403))
    with Running(config(fake)) as run:
        run.wait_finished(5)
        fatal = run.source.fatal
    assert isinstance(fatal, FatalSourceError)
    assert f"{status} " in str(fatal)
    assert "source.bearer_token" in str(fatal)
    assert "check the token" in str(fatal)
    assert token not in str(fatal)
    assert token not in caplog.text
    assert fake.stream_connects() == []


def test_stop_and_close_end_an_idle_stream_promptly(fake: FakeX) -> None:
    expected = lines(1)
    fake.plan = [Stream(lines=expected, hold=True)]  # then silence: no data, no keep-alive
    with Running(config(fake)) as run:
        assert run.take(1, timeout=10) == expected
        time.sleep(0.3)
        run.stop.set()
        run.source.close()
        # The stream sends nothing, ever: without close() shutting the socket down the
        # read would block until the test's end, so a generous wait still tells them apart.
        run.wait_finished(15)
    assert run.source.fatal is None
    assert len(fake.stream_connects()) == 1
