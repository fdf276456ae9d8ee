"""lakefeed_kafka_topic against a real broker, as Ansible runs it: created once, then
unchanged; a config whose value holds commas (`cleanup.policy: compact,delete`) is set,
read back and left alone on the next run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lakefeed.local.servers import LocalKafka
from tests.support.modules import run_module

ROOT = Path(__file__).resolve().parents[2]
MODULE = ROOT / "roles/kafka/library/lakefeed_kafka_topic.py"


def topic(kafka: LocalKafka, tmp_path: Path, **args: Any) -> dict[str, Any]:
    params = {
        "bootstrap_servers": kafka.bootstrap,
        "classpath": str(kafka.home / "libs" / "*"),
        "log4j_config": str(kafka.home / "log4j2.properties"),
        "replication_factor": 1,
        "partitions": 1,
        **args,
    }
    result = run_module(MODULE, params, tmp_path)
    assert result.get("failed") is not True, result
    return result


def test_a_config_value_with_commas_is_set_once(kafka: LocalKafka, tmp_path: Path) -> None:
    both = {"cleanup.policy": "compact,delete", "retention.ms": 3_600_000}
    assert topic(kafka, tmp_path, name="topic.commas", configs=both)["changed"] is True
    assert topic(kafka, tmp_path, name="topic.commas", configs=both)["changed"] is False

    one = topic(kafka, tmp_path, name="topic.commas", configs={"cleanup.policy": "delete"})
    assert one["changes"] == {"configs": {"cleanup.policy": "delete"}}
    back = topic(kafka, tmp_path, name="topic.commas", configs=both)
    assert back["changes"] == {"configs": {"cleanup.policy": "compact,delete"}}, back
    assert topic(kafka, tmp_path, name="topic.commas", configs=both)["changed"] is False
