"""Kafka with TLS, SCRAM logins and ACLs, as `kafka_security: sasl_ssl` runs it, on the
real broker.

A client that cannot prove who it is (no TLS, TLS without a login, a wrong password, an
unknown user) gets nothing; each service's login may do exactly what the kafka role grants
it (lakefeed_kafka_acls, the role's module) and is refused the rest; the collector and
the archiver, each with its own login and its password as a secret ref, carry records end
to end under those grants; refused at start (a wrong password, a CA that did not sign the
broker's certificate) they exit saying which key to check; and no password shows up in any
log, the daemons' (at DEBUG) or the broker's.

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
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import (
    ACLFilter,
    ACLOperation,
    ACLPermissionType,
    ACLResourcePatternType,
    NewTopic,
    ResourcePatternFilter,
    ResourceType,
)
from kafka.errors import KafkaError, NoError
from kafka.structs import TopicPartition

from lakefeed.fetch import fetched
from lakefeed.local.servers import LocalKafka
from tests.support.modules import run_module
from tests.support.pipeline import write_replay
from tests.support.procs import Daemon
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
ACLS_MODULE = ROOT / "roles/kafka/library/lakefeed_kafka_acls.py"
# One login per service, as the kafka role makes them: a collector instance's, the archiver's.
COLLECTOR = "collector-secure"
ARCHIVER = "archiver"
DEAD_LETTER = "lakefeed.dead-letter"
# How long a refused client keeps retrying before kafka-python gives up (its default is 30 s).
REFUSED_AFTER_MS = 4000


@pytest.fixture(scope="module")
def secure_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKafka]:
    broker = LocalKafka(
        fetched(ROOT, "fetch-kafka"),
        tmp_path_factory.mktemp("kafka-sasl-ssl"),
        heap="512m",
        security="sasl_ssl",
        users={COLLECTOR: secrets.token_urlsafe(24), ARCHIVER: secrets.token_urlsafe(24)},
    )
    broker.start()
    yield broker
    broker.stop()


def tool_params(kafka: LocalKafka) -> dict[str, str]:
    """What the kafka role's modules take to run Kafka's tools as the broker's own login."""
    return {
        "bootstrap_servers": kafka.bootstrap,
        "command_config": str(kafka.command_config()),
        "classpath": str(kafka.home / "libs" / "*"),
        "log4j_config": str(kafka.home / "log4j2.properties"),
    }


def acls(kafka: LocalKafka, tmp_path: Path, declared: list[dict[str, Any]], **more: Any) -> Any:
    """lakefeed_kafka_acls as the kafka role runs it, as the broker's own (super) login;
    then, unless in check mode, wait until the broker enforces the result."""
    params = {"acls": declared, **tool_params(kafka), **more}
    result = run_module(ACLS_MODULE, params, tmp_path)
    if result.get("failed") is not True and not more.get("_ansible_check_mode"):
        want = sum(len(a["operations"]) for a in declared)
        wait_for(f"the broker to enforce {want} ACL entries", lambda: enforced(kafka) == want, 30)
    return result


def enforced(kafka: LocalKafka) -> int:
    """How many ACL entries the broker's authorizer holds. The controller commits an ACL
    change before the broker applies it from the metadata log: a client right after the
    change could still be judged by the old ones."""
    everything = ACLFilter(
        principal=None,
        host=None,
        operation=ACLOperation.ANY,
        permission_type=ACLPermissionType.ANY,
        resource_pattern=ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY),
    )
    admin = KafkaAdminClient(**kafka.client_kwargs())
    try:
        found, error = admin.describe_acls(everything)
    finally:
        admin.close()
    assert error is NoError, error
    return len(found)


def service_grants(topic: str) -> list[dict[str, Any]]:
    """What the kafka role grants for one collector instance writing `topic` and an
    archiver reading it in group arch-<topic> (roles/kafka/vars/main.yml)."""
    return [
        {"principal": f"User:{COLLECTOR}", "resource_type": "topic", "name": name,
         "operations": ["Write", "Describe"]}
        for name in (topic, DEAD_LETTER)
    ] + [
        {"principal": f"User:{ARCHIVER}", "resource_type": "topic", "name": topic,
         "operations": ["Read", "Describe"]},
        {"principal": f"User:{ARCHIVER}", "resource_type": "group", "name": f"arch-{topic}",
         "operations": ["Read"]},
    ]  # fmt: skip


@pytest.fixture
def secure_topic(secure_kafka: LocalKafka, tmp_path: Path) -> str:
    """A new topic, and the services' grants on it (and only on it)."""
    name = f"s-{uuid.uuid4().hex[:10]}"
    secure_kafka.create_topic(name, partitions=3)
    granted = acls(secure_kafka, tmp_path, service_grants(name))
    assert granted.get("failed") is not True, granted
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
    good = kafka.client_kwargs(COLLECTOR)
    return {
        "no TLS, no login": {"bootstrap_servers": kafka.bootstrap},
        "TLS without a login": {
            "bootstrap_servers": kafka.bootstrap,
            "security_protocol": "SSL",
            "ssl_cafile": str(kafka.ca_file),
        },
        "wrong password": kafka.client_kwargs(COLLECTOR, password=secrets.token_urlsafe(24)),
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
    producer = KafkaProducer(**secure_kafka.client_kwargs(COLLECTOR), acks="all")
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
    """The topic's values, read as the broker's own login: wait for `expect`, then a moment
    for more."""
    consumer = KafkaConsumer(topic, **kafka.client_kwargs(), auto_offset_reset="earliest")
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
    password_file = tmp_path / "kafka-password"
    password_file.touch(mode=0o600)
    password_file.write_text(secure_kafka.users[COLLECTOR] + "\n")
    base = {
        "bootstrap_servers": [secure_kafka.bootstrap],
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "ssl_cafile": str(secure_kafka.ca_file),
    }
    replay = tmp_path / "replay.jsonl"
    ids = write_replay(replay, 600)
    spool = tmp_path / "spool"
    archiver = Daemon(
        "archiver",
        {
            # The two kinds of secret ref: a file here, an environment variable below.
            "kafka": {
                **base,
                "sasl_username": ARCHIVER,
                "sasl_password": {"env": "LF_KAFKA_PASSWORD"},
            },
            "topics": [secure_topic],
            "group_id": f"arch-{secure_topic}",
            "spool_dir": str(spool),
            "rotate": {"max_records": 200, "max_age_seconds": 1.0},
            "min_free_bytes": 0,
            "log_level": "DEBUG",
        },
        tmp_path / "archiver",
        env={"LF_KAFKA_PASSWORD": secure_kafka.users[ARCHIVER]},
    ).start()
    collector = Daemon(
        "collector",
        {
            "name": "secure",
            "kafka": {
                **base,
                "sasl_username": COLLECTOR,
                "sasl_password": {"file": str(password_file)},
            },
            "topic": secure_topic,
            "state_dir": str(tmp_path / "collector-state"),
            "source": {"type": "replay", "path": str(replay), "rate": 0, "at_end": "exit"},
            "log_level": "DEBUG",
        },
        tmp_path / "collector",
    ).start(wait_healthy=False)
    assert collector.wait(120) == 0, collector.tail()

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
                "sasl_username": COLLECTOR,
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
                "sasl_username": ARCHIVER,
                "sasl_password": {"env": "LF_KAFKA_PASSWORD"},
                "ssl_cafile": str(other_ca(tmp_path)),
            },
            "topics": [secure_topic],
            "group_id": f"arch-{secure_topic}",
            "spool_dir": str(tmp_path / "spool"),
            "log_level": "DEBUG",
        },
        tmp_path / "archiver",
        env={"LF_KAFKA_PASSWORD": secure_kafka.users[ARCHIVER]},
    ).start(wait_healthy=False)

    assert collector.wait(60) == 1, collector.tail()
    assert archiver.wait(60) == 1, archiver.tail()
    collector_log = collector.log.read_text(encoding="utf-8")
    archiver_log = archiver.log.read_text(encoding="utf-8")
    assert f"refused the login of user '{COLLECTOR}' (SCRAM-SHA-512)" in collector_log
    assert f"kafka.sasl_password (file {wrong_file})" in collector_log
    assert "TLS: a broker certificate was not accepted" in archiver_log
    assert "kafka.ssl_cafile" in archiver_log
    for text in (collector_log, archiver_log):
        assert_no_password_in(text, secure_kafka, wrong)


def refused(what: str, attempt: Any) -> None:
    """`attempt()` fails with one of Kafka's authorization errors (and not some other
    failure); kafka-python wraps some in a plain KafkaError that names them."""
    with pytest.raises(KafkaError) as caught:
        attempt()
    assert "AuthorizationFailed" in repr(caught.value), (what, repr(caught.value))


def test_each_service_is_refused_outside_its_grant(
    secure_kafka: LocalKafka, secure_topic: str
) -> None:
    other = f"o-{uuid.uuid4().hex[:10]}"
    secure_kafka.create_topic(other, partitions=1)
    owner = KafkaProducer(**secure_kafka.client_kwargs(), acks="all")
    try:
        owner.send(other, b"not yours").get(timeout=30)
    finally:
        owner.close()
    # Inside its grant the collector writes its topic, with idempotence on.
    producer = KafkaProducer(
        **secure_kafka.client_kwargs(COLLECTOR),
        acks="all",
        enable_idempotence=True,
        max_block_ms=REFUSED_AFTER_MS,
    )
    try:
        producer.send(secure_topic, b"granted").get(timeout=30)
        refused("collector writes another topic", lambda: producer.send(other, b"x").get(30))
    finally:
        producer.close(timeout=5)

    # Inside its grant the archiver reads that topic in its group.
    def consume(user: str, topic: str, group: str | None, seconds: float = 30) -> list[bytes]:
        """Read `topic` from its start, subscribed in `group` or assigned without one, until
        a record comes or `seconds` pass."""
        consumer = KafkaConsumer(
            **secure_kafka.client_kwargs(user), group_id=group,
            auto_offset_reset="earliest", enable_auto_commit=False,
        )  # fmt: skip
        try:
            if group:
                consumer.subscribe([topic])
            else:
                consumer.assign([TopicPartition(topic, 0)])
            got: list[bytes] = []
            deadline = time.monotonic() + seconds
            while not got and time.monotonic() < deadline:
                got += [m.value for batch in consumer.poll(1000).values() for m in batch]
            return got
        finally:
            consumer.close()

    assert consume(ARCHIVER, secure_topic, f"arch-{secure_topic}") == [b"granted"]
    refused("archiver joins another group", lambda: consume(ARCHIVER, secure_topic, "other"))
    # A topic a login may not even describe: kafka-python logs it and returns nothing (the
    # topic holds a record, which a granted read gets within a second or two).
    assert consume(ARCHIVER, other, None, seconds=10) == [], "archiver reads another topic"
    # Its own topic, which it may describe but not read: the fetch is refused.
    refused("collector reads its topic", lambda: consume(COLLECTOR, secure_topic, None))

    archiver_producer = KafkaProducer(
        **secure_kafka.client_kwargs(ARCHIVER), acks="all", max_block_ms=REFUSED_AFTER_MS
    )
    try:
        refused("archiver writes", lambda: archiver_producer.send(secure_topic, b"x").get(30))
    finally:
        archiver_producer.close(timeout=5)

    for user in (COLLECTOR, ARCHIVER):
        admin = KafkaAdminClient(**secure_kafka.client_kwargs(user))
        try:
            new = [NewTopic("n", 1, 1)]
            refused(f"{user} creates a topic", lambda a=admin, n=new: a.create_topics(n))
            refused(f"{user} deletes a topic", lambda a=admin: a.delete_topics([secure_topic]))
        finally:
            admin.close()
    # Nothing refused got in: the one granted record is all there is.
    assert read_all(secure_kafka, secure_topic, expect=1) == [b"granted"]
    assert read_all(secure_kafka, other, expect=1) == [b"not yours"]


def test_acls_become_exactly_the_declared_ones(secure_kafka: LocalKafka, tmp_path: Path) -> None:
    topic = f"a-{uuid.uuid4().hex[:10]}"
    declared = service_grants(topic)
    first = acls(secure_kafka, tmp_path, declared)
    assert first["changed"] is True, first
    assert f"allow User:{ARCHIVER} READ on group arch-{topic}" in first["added"]
    again = acls(secure_kafka, tmp_path, declared)
    assert (again["changed"], again["added"], again["removed"]) == (False, [], []), again

    # A grant made by hand (here: the collector reading everything under a prefix, from
    # one host) is not declared: check mode reports it, a run removes it, adds first.
    by_hand = {"principal": f"User:{COLLECTOR}", "resource_type": "topic", "name": "a-",
               "pattern_type": "prefixed", "operations": ["Read"], "host": "10.0.0.9"}  # fmt: skip
    assert acls(secure_kafka, tmp_path, [*declared, by_hand])["changed"] is True
    dry = acls(secure_kafka, tmp_path, declared, _ansible_check_mode=True)
    removed = f"allow User:{COLLECTOR} READ on topic a- (prefixed) from 10.0.0.9"
    assert (dry["changed"], dry["removed"]) == (True, [removed]), dry
    assert acls(secure_kafka, tmp_path, declared)["removed"] == [removed]
    assert acls(secure_kafka, tmp_path, declared)["changed"] is False

    # An instance removed from the inventory takes its grants with it.
    without_collector = [a for a in declared if a["principal"] != f"User:{COLLECTOR}"]
    gone = acls(secure_kafka, tmp_path, without_collector)
    assert sorted(gone["removed"]) == sorted(
        f"allow User:{COLLECTOR} {op} on topic {name}"
        for name in (topic, DEAD_LETTER)
        for op in ("DESCRIBE", "WRITE")
    ), gone
    # Operations in Kafka's spelling on the command line (DescribeConfigs), its enum's in
    # the listing (DESCRIBE_CONFIGS): both sides compare equal, so no change on a re-run.
    configs = {"principal": "User:ops", "resource_type": "cluster",
               "operations": ["DescribeConfigs", "IdempotentWrite"]}  # fmt: skip
    assert acls(secure_kafka, tmp_path, [configs])["changed"] is True
    assert acls(secure_kafka, tmp_path, [configs])["changed"] is False


def test_a_login_the_role_no_longer_declares_is_deleted(
    secure_kafka: LocalKafka, tmp_path: Path
) -> None:
    module = ROOT / "roles/kafka/library/lakefeed_kafka_scram_users.py"
    gone_password = secrets.token_urlsafe(24)

    def users(declared: list[dict[str, str]], **more: Any) -> Any:
        params = {
            "users": declared,
            **tool_params(secure_kafka),
            "state_path": str(tmp_path / "scram-users.json"),
            **more,
        }
        result = run_module(module, params, tmp_path)
        assert result.get("failed") is not True, result
        return result

    def logs_in(user: str, password: str) -> bool:
        kwargs = {**secure_kafka.client_kwargs(COLLECTOR), "sasl_plain_username": user}
        try:
            KafkaAdminClient(**{**kwargs, "sasl_plain_password": password}).close()
        except KafkaError:
            return False
        return True

    # A collector instance's login, set by the role, then the instance removed.
    assert users([{"name": "collector-gone", "password": gone_password}])["changed"] is True
    assert logs_in("collector-gone", gone_password)
    # Without remove_undeclared (as the role creates its new admin alone) nothing goes.
    assert users([])["changed"] is False
    # Nor a login a node still runs with (kept by name: a rotated cluster login).
    assert users([], remove_undeclared=True, keep=["collector-gone"])["changed"] is False
    dry = users([], remove_undeclared=True, _ansible_check_mode=True)
    assert dry["users"] == {"collector-gone": "deleted"}, dry
    assert logs_in("collector-gone", gone_password)
    assert users([], remove_undeclared=True)["users"] == {"collector-gone": "deleted"}
    assert not logs_in("collector-gone", gone_password)
    # Logins the module never set (this broker's own, the services' here) are left alone.
    assert logs_in(COLLECTOR, secure_kafka.users[COLLECTOR])
    assert users([], remove_undeclared=True)["changed"] is False
