"""Real servers for the tests: an Apache Kafka broker and a MinIO S3 endpoint on loopback.

Both are fetched (or built) once per machine by the project's scripts and cached; each
test session starts its own processes and stops them at the end.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from lakefeed.fetch import fetched
from lakefeed.local.servers import LocalKafka, LocalS3
from tests.support import procs
from tests.support.modules import register_module_utils

pytest_plugins = ["tests.support.labsession"]

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKafka]:
    broker = LocalKafka(fetched(ROOT, "fetch-kafka"), tmp_path_factory.mktemp("kafka"))
    broker.start()
    write_tools_archive(broker)
    yield broker
    broker.stop()


def write_tools_archive(broker: LocalKafka) -> None:
    """The class-data archive the kafka role writes on a node (tasks/class_data.yml, ADR 11),
    written here once per machine beside the cached jars, so the tests' tool calls (the
    role's modules and kafka-health, run against this broker) map it as they do on a host:
    measured, 0.64 CPU-s a call instead of 1.1, over some 145 calls in tests/integration.
    It is written with the JVM flags the role's modules run tools with. A call that finds
    no archive, or one this Java cannot use, runs as without it."""
    archive = broker.home / "tools.jsa"
    if archive.exists():
        return
    register_module_utils(ROOT / "roles" / "kafka" / "library" / "lakefeed_kafka_topic.py")
    from ansible.module_utils.lakefeed_kafka_tool import JVM_FLAGS  # noqa: PLC0415

    writing = archive.with_name(f"tools.jsa.{os.getpid()}.tmp")
    argv = broker.java("org.apache.kafka.tools.BrokerApiVersionsCommand")
    argv[1:1] = [*JVM_FLAGS, f"-XX:ArchiveClassesAtExit={writing}"]
    argv += ["--bootstrap-server", broker.bootstrap]
    done = subprocess.run(argv, capture_output=True, timeout=300, check=False)
    if done.returncode == 0 and writing.exists():
        writing.replace(archive)
    else:
        writing.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalS3]:
    server = LocalS3(fetched(ROOT, "fetch-minio"), tmp_path_factory.mktemp("minio"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def bucket(s3: LocalS3) -> str:
    name = f"lake-{uuid.uuid4().hex[:12]}"
    s3.client().create_bucket(Bucket=name)
    return name


@pytest.fixture
def topic(kafka: LocalKafka) -> str:
    name = f"t-{uuid.uuid4().hex[:10]}"
    kafka.create_topic(name, partitions=3)
    return name


@pytest.fixture(autouse=True)
def _no_daemon_outlives_its_test() -> Iterator[None]:
    yield
    while procs.STARTED:
        procs.STARTED.pop().kill()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The lab is built once and shared (tests/support/labsession.py): its tests run last,
    together, so no other test waits beside an idle cluster."""

    def order(item: pytest.Item) -> int:
        if "lab" not in getattr(item, "fixturenames", ()):
            return 0
        return 1 if item.nodeid.startswith("tests/lab/") else 2

    items.sort(key=order)
