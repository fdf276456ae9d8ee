"""lakefeed_kafka_features against a real node upgraded as the kafka role upgrades one:
formatted and run on the previous minor release, restarted on the default one; the
cluster keeps the old metadata.version until the module finalizes the new release's, and
then changes nothing. Check mode reports the change and makes none."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lakefeed.fetch import fetched
from lakefeed.local.servers import LocalKafka
from tests.support.labsession import OLD_KAFKA
from tests.support.modules import run_module

ROOT = Path(__file__).resolve().parents[2]
MODULE = ROOT / "roles/kafka/library/lakefeed_kafka_features.py"
OLD = OLD_KAFKA  # the release the lab's tests start on, before the matrix upgrades it


def features(node: LocalKafka, tools: Path, tmp_path: Path, **args: Any) -> dict[str, Any]:
    """The module run with the Kafka install at `tools` against `node`."""
    params = {
        "bootstrap_servers": node.bootstrap,
        "classpath": str(tools / "libs" / "*"),
        "log4j_config": str(tools / "log4j2.properties"),
        **args,
    }
    return run_module(MODULE, params, tmp_path)


def test_the_new_release_is_finalized_once_every_node_runs_it(
    kafka: LocalKafka, tmp_path: Path
) -> None:
    new = kafka.home  # the default release, as the session's broker runs it
    release = ".".join(new.name.removeprefix("kafka-").split(".")[:2])
    node = LocalKafka(fetched(ROOT, "fetch-kafka", OLD), tmp_path / "node", heap="384m")
    node.start()
    try:
        # The role's tools are the new release's as soon as a node is; this node is not.
        held = features(node, new, tmp_path, release_version=release)
        assert held.get("failed") is True, held
        assert f"refused to finalize release {release}" in held["msg"], held
        assert "still runs the old release" in held["msg"], held

        node.stop()
        node.home = new
        node.start()
        same = features(node, new, tmp_path, release_version="4.2")
        assert same["changed"] is False, same
        assert same["levels"]["metadata.version"].startswith("4.2-"), same

        dry = features(node, new, tmp_path, release_version=release, _ansible_check_mode=True)
        assert dry["changed"] is True, dry
        kept = features(node, new, tmp_path, release_version="4.2")["levels"]
        assert kept["metadata.version"].startswith("4.2-"), "check mode finalized"

        done = features(node, new, tmp_path, release_version=release)
        assert done["changed"] is True, done
        assert done["levels"]["metadata.version"].startswith(f"{release}-"), done
        assert done["finalized"]["metadata.version"][0].startswith("4.2-"), done
        assert features(node, new, tmp_path, release_version=release)["changed"] is False
    finally:
        node.stop()


def test_a_release_kafka_does_not_know_is_refused(kafka: LocalKafka, tmp_path: Path) -> None:
    got = features(kafka, kafka.home, tmp_path, release_version="9.9")
    assert got.get("failed") is True, got
    assert "not a release this Kafka knows" in got["msg"], got
    bad = features(kafka, kafka.home, tmp_path, release_version="4")
    assert bad.get("failed") is True and "not major.minor" in bad["msg"], bad
