"""The kafka role's jmx-exporter.yml on a real broker, with the real JMX exporter agent: the node
serves every metric roles/monitoring/files/rules/kafka.yml reads, with the values of a healthy node,
and only the MBeans the file names (not the thousands a broker has)."""

from __future__ import annotations

import re
import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from lakefeed.fetch import fetched
from lakefeed.local.servers import LocalKafka, free_port
from tests.support.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "roles" / "kafka" / "files" / "jmx-exporter.yml"
RULES = ROOT / "roles" / "monitoring" / "files" / "rules" / "kafka.yml"


class Node:
    """A broker with the agent; the agent reads a copy of the role's file (the tests may
    change it)."""

    def __init__(self, port: int, config: Path) -> None:
        self.port = port
        self.config = config

    def scrape(self) -> dict[str, float]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=10) as r:
            text = r.read().decode()
        return {
            series: float(value)
            for series, value in re.findall(r"^([a-z_][^ ]*) (\S+)$", text, flags=re.M)
        }


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    tmp = tmp_path_factory.mktemp("kafka-jmx")
    config = tmp / "jmx-exporter.yml"
    shutil.copyfile(CONFIG, config)
    port = free_port()
    agent = fetched(ROOT, "fetch-jmx-exporter")
    broker = LocalKafka(
        fetched(ROOT, "fetch-kafka"),
        tmp / "kafka",
        heap="384m",
        jvm_options=[f"-javaagent:{agent}=127.0.0.1:{port}:{config}"],
    )
    broker.start()
    try:
        broker.create_topic("jmx.events", partitions=3)
        found = Node(port, config)
        # The topic's partitions show in the count once the node leads them.
        wait_for(
            "the node leads the new topic's partitions",
            lambda: found.scrape().get("kafka_server_replicamanager_partitioncount", 0) >= 3,
            60,
        )
        yield found
    finally:
        broker.stop()


@pytest.fixture(scope="module")
def metrics(node: Node) -> dict[str, float]:
    """The node's metrics once it leads a replicated topic, before any test changes the
    file: {series: value}."""
    return node.scrape()


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


def test_a_changed_file_is_read_on_the_next_scrape_without_a_restart(node: Node) -> None:
    """Why the role restarts no node for a new metrics file: the agent reads the file
    again when it has changed."""
    config = yaml.safe_load(node.config.read_text(encoding="utf-8"))
    assert "kafka_server_replicamanager_partitioncount" in node.scrape()
    config["includeObjectNames"].append("kafka.server:type=KafkaServer,name=BrokerState")
    config["rules"].insert(
        0,
        {
            "pattern": "kafka.server<type=KafkaServer, name=BrokerState><>Value",
            "name": "kafka_server_brokerstate",
            "type": "GAUGE",
        },
    )
    node.config.write_text(yaml.safe_dump(config), encoding="utf-8")
    # The scrape that reloads the file serves the reload counter before it counts.
    node.scrape()
    after = node.scrape()
    assert after.get("jmx_config_reload_success_total") == 1, after.get(
        "jmx_config_reload_failure_total"
    )
    # RUNNING is state 3.
    assert after["kafka_server_brokerstate"] == 3
