"""Kafka with TLS and SCRAM logins, as `kafka_security: sasl_ssl` runs it, on the real broker.

A client that cannot prove who it is (no TLS, TLS without a login, a wrong password, an
unknown user) gets nothing; the collector and the archiver, given a user and its password
as secret refs, carry records end to end; refused at start (a wrong password, a CA that
did not sign the broker's certificate) they exit saying which key to check; and no
password shows up in any log, the daemons' (at DEBUG) or the broker's.

A client that does not trust the broker's certificate is tried through the archiver, in
its own process: kafka-python 3.0.12 leaks the socket of a failed TLS handshake.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import secrets
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaConsumer, KafkaProducer
from kafka.errors import KafkaError

from lakefeed.lab.local import LocalKafka, fetched
from tests.support.pipeline import write_replay
from tests.support.procs import Daemon
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
USER = "lakefeed"
# How long a refused client keeps retrying before kafka-python gives up (its default is 30 s).
REFUSED_AFTER_MS = 4000


@pytest.fixture(scope="module")
def secure_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKafka]:
    broker = LocalKafka(
        fetched(ROOT, "fetch-kafka"),
        tmp_path_factory.mktemp("kafka-sasl-ssl"),
        heap="512m",
        security="sasl_ssl",
        users={USER: secrets.token_urlsafe(24)},
    )
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def secure_topic(secure_kafka: LocalKafka) -> str:
    name = f"s-{uuid.uuid4().hex[:10]}"
    secure_kafka.create_topic(name, partitions=3)
    return name


def other_ca(tmp: Path) -> Path:
    """A CA that did not sign the broker's certificate."""
    cert = tmp / "other-ca.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-keyout", str(tmp / "other-ca.key"), "-subj", "/CN=not the Kafka CA",
         "-days", "1", "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert


def broker_log_since(kafka: LocalKafka, offset: int) -> str:
    with kafka.log.open("rb") as f:
        f.seek(offset)
        return f.read().decode("utf-8", errors="replace")


def refused_cases(kafka: LocalKafka) -> dict[str, dict[str, Any]]:
    good = kafka.client_kwargs(USER)
    return {
        "no TLS, no login": {"bootstrap_servers": kafka.bootstrap},
        "TLS without a login": {
            "bootstrap_servers": kafka.bootstrap,
            "security_protocol": "SSL",
            "ssl_cafile": str(kafka.ca_file),
        },
        "wrong password": kafka.client_kwargs(USER, password=secrets.token_urlsafe(24)),
        "unknown user": {**good, "sasl_plain_username": "nobody"},
    }


@pytest.mark.parametrize(
    "case",
    [
        "no TLS, no login",
        "TLS without a login",
        "wrong password",
        "unknown user",
    ],
)
def test_a_client_that_cannot_log_in_gets_nothing(
    secure_kafka: LocalKafka, secure_topic: str, case: str
) -> None:
    # The same send with the user's own credentials works: the refusal below is the login.
    producer = KafkaProducer(**secure_kafka.client_kwargs(USER), acks="all")
    try:
        producer.send(secure_topic, b"allowed").get(timeout=30)
    finally:
        producer.close()

    log_from = secure_kafka.log.stat().st_size
    kwargs = {**refused_cases(secure_kafka)[case], "api_version": (4, 0)}
    # With api_version given, the clients are built without connecting (a client whose
    # constructor fails leaks its sockets); the refusal comes with the first real request.
    producer = KafkaProducer(**kwargs, acks="all", max_block_ms=REFUSED_AFTER_MS)
    try:
        with pytest.raises(KafkaError):
            producer.send(secure_topic, b"refused").get(timeout=REFUSED_AFTER_MS / 1000 + 10)
    finally:
        producer.close(timeout=5)
    consumer = KafkaConsumer(secure_topic, **kwargs, auto_offset_reset="earliest")
    try:
        polled: dict[Any, Any] = {}
        with contextlib.suppress(KafkaError):
            for _ in range(4):
                polled.update(consumer.poll(timeout_ms=1000))
        assert polled == {}
    finally:
        consumer.close()
    if case in {"wrong password", "unknown user"}:
        assert "invalid credentials with SASL mechanism SCRAM-SHA-512" in broker_log_since(
            secure_kafka, log_from
        )
    # Nothing was written by the refused producer: only the allowed record is there.
    assert read_all(secure_kafka, secure_topic, expect=1) == [b"allowed"]


def read_all(kafka: LocalKafka, topic: str, expect: int) -> list[bytes]:
    """The topic's values as `USER` reads them: wait for `expect`, then a moment for more."""
    consumer = KafkaConsumer(topic, **kafka.client_kwargs(USER), auto_offset_reset="earliest")
    got: list[bytes] = []
    try:
        deadline = time.monotonic() + 60
        while len(got) < expect and time.monotonic() < deadline:
            got += [m.value for batch in consumer.poll(1000).values() for m in batch]
        got += [m.value for batch in consumer.poll(2000).values() for m in batch]
    finally:
        consumer.close()
    return got


def passwords(kafka: LocalKafka) -> list[str]:
    return [kafka.admin_password, *kafka.users.values()]


def assert_no_password_in(text: str, kafka: LocalKafka, *more: str) -> None:
    for pw in [*passwords(kafka), *more]:
        assert pw not in text, "a password appears in log output"


def spool_ids(spool: Path) -> list[str]:
    ready = spool / "ready"
    if not ready.exists():
        return []
    return [
        json.loads(line)["id"]
        for f in sorted(ready.glob("*.jsonl.gz"))
        for line in gzip.decompress(f.read_bytes()).decode("utf-8").splitlines()
    ]


def test_collector_and_archiver_carry_records_with_credentials(
    secure_kafka: LocalKafka, secure_topic: str, tmp_path: Path
) -> None:
    password = secure_kafka.users[USER]
    password_file = tmp_path / "kafka-password"
    password_file.touch(mode=0o600)
    password_file.write_text(password + "\n")
    base = {
        "bootstrap_servers": [secure_kafka.bootstrap],
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_username": USER,
        "ssl_cafile": str(secure_kafka.ca_file),
    }
    replay = tmp_path / "replay.jsonl"
    ids = write_replay(replay, 600)
    spool = tmp_path / "spool"
    archiver = Daemon(
        "archiver",
        {
            # The two kinds of secret ref: a file here, an environment variable below.
            "kafka": {**base, "sasl_password": {"env": "LF_KAFKA_PASSWORD"}},
            "topics": [secure_topic],
            "group_id": f"arch-{secure_topic}",
            "spool_dir": str(spool),
            "rotate": {"max_records": 200, "max_age_seconds": 1.0},
            "min_free_bytes": 0,
            "log_level": "DEBUG",
        },
        tmp_path / "archiver",
        env={"LF_KAFKA_PASSWORD": password},
    ).start()
    collector = Daemon(
        "collector",
        {
            "name": "secure",
            "kafka": {**base, "sasl_password": {"file": str(password_file)}},
            "topic": secure_topic,
            "state_dir": str(tmp_path / "collector-state"),
            "source": {"type": "replay", "path": str(replay), "rate": 0, "at_end": "exit"},
            "log_level": "DEBUG",
        },
        tmp_path / "collector",
    ).start(wait_healthy=False)
    assert collector.wait(120) == 0, collector.log_tail()

    got = wait_for(
        f"{len(ids)} records in the archiver's spool",
        lambda: (found := spool_ids(spool)) and len(found) >= len(ids) and found,
        90,
    )
    assert sorted(got) == sorted(ids)
    assert archiver.terminate() == 0

    collector_log = collector.log.read_text(encoding="utf-8")
    archiver_log = archiver.log.read_text(encoding="utf-8")
    # The logs are really there, at DEBUG, so the check below has something to look through.
    assert "source finished" in collector_log
    assert '"msg": "file ready"' in archiver_log
    for text in (collector_log, archiver_log, broker_log_since(secure_kafka, 0)):
        assert_no_password_in(text, secure_kafka)


def test_daemons_refused_at_start_say_why_and_print_no_password(
    secure_kafka: LocalKafka, secure_topic: str, tmp_path: Path
) -> None:
    wrong = secrets.token_urlsafe(24)
    wrong_file = tmp_path / "wrong-password"
    wrong_file.write_text(wrong + "\n")
    base = {
        "bootstrap_servers": [secure_kafka.bootstrap],
        "security_protocol": "SASL_SSL",
        "sasl_username": USER,
        "request_timeout_ms": REFUSED_AFTER_MS,
    }
    replay = tmp_path / "replay.jsonl"
    write_replay(replay, 10)
    collector = Daemon(
        "collector",
        {
            "name": "refused",
            "kafka": {
                **base,
                "sasl_password": {"file": str(wrong_file)},
                "ssl_cafile": str(secure_kafka.ca_file),
            },
            "topic": secure_topic,
            "state_dir": str(tmp_path / "collector-state"),
            "source": {"type": "replay", "path": str(replay), "rate": 0, "at_end": "exit"},
            "log_level": "DEBUG",
        },
        tmp_path / "collector",
    ).start(wait_healthy=False)
    archiver = Daemon(
        "archiver",
        {
            "kafka": {
                **base,
                "sasl_password": {"env": "LF_KAFKA_PASSWORD"},
                "ssl_cafile": str(other_ca(tmp_path)),
            },
            "topics": [secure_topic],
            "group_id": f"arch-{secure_topic}",
            "spool_dir": str(tmp_path / "spool"),
            "log_level": "DEBUG",
        },
        tmp_path / "archiver",
        env={"LF_KAFKA_PASSWORD": secure_kafka.users[USER]},
    ).start(wait_healthy=False)

    assert collector.wait(60) == 1, collector.log_tail()
    assert archiver.wait(60) == 1, archiver.log_tail()
    collector_log = collector.log.read_text(encoding="utf-8")
    archiver_log = archiver.log.read_text(encoding="utf-8")
    assert "refused the login of user 'lakefeed' (SCRAM-SHA-512)" in collector_log
    assert f"kafka.sasl_password (file {wrong_file})" in collector_log
    assert "TLS: a broker certificate was not accepted" in archiver_log
    assert "kafka.ssl_cafile" in archiver_log
    for text in (collector_log, archiver_log):
        assert_no_password_in(text, secure_kafka, wrong)
