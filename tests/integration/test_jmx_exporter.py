"""monitoring/jmx/kafka.yml on a real broker, with the real JMX exporter agent: the node
serves every metric monitoring/rules/kafka.yml reads, with the values of a healthy node,
and only the MBeans the file names (not the thousands a broker has)."""

from __future__ import annotations

import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from lakefeed.lab.local import LocalKafka, fetched, free_port
from tests.support.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "monitoring" / "jmx" / "kafka.yml"
RULES = ROOT / "monitoring" / "rules" / "kafka.yml"


@pytest.fixture(scope="module")
def metrics(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, float]]:
    """The node's metrics once it leads a replicated topic: {series: value}."""
    port = free_port()
    agent = fetched(ROOT, "fetch-jmx-exporter")
    broker = LocalKafka(
        fetched(ROOT, "fetch-kafka"),
        tmp_path_factory.mktemp("kafka-jmx"),
        heap="384m",
        jvm_options=[f"-javaagent:{agent}=127.0.0.1:{port}:{CONFIG}"],
    )
    broker.start()
    try:
        broker.create_topic("jmx.events", partitions=3)

        def scrape() -> dict[str, float]:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
                text = r.read().decode()
            return {
                series: float(value)
                for series, value in re.findall(r"^([a-z_][^ ]*) (\S+)$", text, flags=re.M)
            }

        # The topic's partitions show in the count once the node leads them.
        wait_for(
            "the node leads the new topic's partitions",
            lambda: scrape().get("kafka_server_replicamanager_partitioncount", 0) >= 3,
            60,
        )
        yield scrape()
    finally:
        broker.stop()


def names(series: dict[str, float]) -> set[str]:
    return {s.split("{", 1)[0] for s in series}


def test_serves_every_metric_the_kafka_alerts_read(metrics: dict[str, float]) -> None:
    groups = yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"]
    read = {
        name
        for group in groups
        for rule in group["rules"]
        for name in re.findall(r"\bkafka_\w+", rule["expr"])
    }
    assert read, "no kafka_ metric in the rules"
    assert read <= names(metrics), f"not served: {sorted(read - names(metrics))}"


def test_a_healthy_node_reads_healthy(metrics: dict[str, float]) -> None:
    assert metrics["kafka_server_replicamanager_underreplicatedpartitions"] == 0
    assert metrics["kafka_server_replicamanager_underminisrpartitioncount"] == 0
    assert metrics["kafka_controller_offlinepartitionscount"] == 0
    # One node: the active controller and the quorum's leader are itself (node id 1).
    assert metrics["kafka_controller_activecontrollercount"] == 1
    assert metrics["kafka_raft_current_leader"] == 1


def test_serves_only_the_mbeans_it_names(metrics: dict[str, float]) -> None:
    kafka = {s for s in metrics if s.startswith("kafka_")}
    # With every MBean, a lone broker with one topic serves over 8,000 kafka_ series.
    assert 50 < len(kafka) < 300, len(kafka)
    assert not any("topic=" in s for s in kafka), "per-topic series are not asked for"
