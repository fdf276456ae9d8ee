"""lakefeed_kafka_spread drives Kafka's own tools: run as Ansible runs it, on a real broker.

One broker cannot show a move (tests/rehearsal scales to four brokers for that); this
proves each tool call and its parsing against the real release: the registered brokers,
the topics' replicas, the reassignments under way, and --verify clearing a plan's
throttles.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lakefeed.local.servers import LocalKafka
from tests.support.modules import run_module

ROOT = Path(__file__).resolve().parents[2]
MODULE = ROOT / "roles/kafka/library/lakefeed_kafka_spread.py"


def run(kafka: LocalKafka, tmp_path: Path, **args: Any) -> dict[str, Any]:
    params = {
        "plan_file": str(tmp_path / "plan.json"),
        "bootstrap_servers": kafka.bootstrap,
        "classpath": str(kafka.home / "libs" / "*"),
        "log4j_config": str(kafka.home / "log4j2.properties"),
        **args,
    }
    return run_module(MODULE, params, tmp_path)


def test_a_balanced_cluster_changes_nothing(kafka: LocalKafka, tmp_path: Path) -> None:
    kafka.create_topic("spread.one", partitions=2)
    result = run(kafka, tmp_path, brokers=[1])
    assert result.get("failed") is not True, result
    assert (result["changed"], result["moves"]) == (False, 0)
    assert not (tmp_path / "plan.json").exists()


def test_a_broker_that_is_not_registered_stops_it(kafka: LocalKafka, tmp_path: Path) -> None:
    result = run(kafka, tmp_path, brokers=[1, 7])
    assert result["failed"] is True
    assert "broker(s) [7] are not registered in the cluster (registered: [1])" in result["msg"]


def test_a_finished_plan_is_verified_and_removed(kafka: LocalKafka, tmp_path: Path) -> None:
    kafka.create_topic("spread.two", partitions=1)
    plan = {"version": 1, "partitions": [{"topic": "spread.two", "partition": 0, "replicas": [1]}]}
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    result = run(kafka, tmp_path, state="finished", brokers=[])
    assert result.get("failed") is None, result
    assert (result["finished"], result["changed"]) == (True, True)
    assert not (tmp_path / "plan.json").exists()
    again = run(kafka, tmp_path, state="finished", brokers=[])
    assert (again["finished"], again["changed"]) == (True, False)
