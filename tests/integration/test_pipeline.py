"""replay -> collector -> Kafka -> archiver -> spool -> shipper -> S3, on the real servers."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest

from lakefeed.local.servers import LocalKafka, LocalS3
from tests.support.pipeline import Pipeline, write_replay
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration


def test_every_replayed_record_lands_once(
    kafka: LocalKafka, s3: LocalS3, bucket: str, topic: str, tmp_path: Path
) -> None:
    p = Pipeline(kafka, s3, bucket, topic, tmp_path)
    ids = write_replay(p.replay, 3000)
    p.archiver.start()
    p.shipper.start()
    p.collector.start(wait_healthy=False)
    assert p.collector.wait(120) == 0, p.collector.tail()

    lake = p.wait_landed(len(ids))
    assert sorted(lake.ids()) == sorted(ids)
    assert lake.duplicates_before_dedup == 0
    # Every file is shipped and deleted; nothing is left half-done.
    wait_for(
        "an empty spool",
        lambda: p.spool_files("ready") == [] and p.spool_files("writing") == [],
        30,
    )
    assert "source finished" in p.collector.tail()
    first = next(iter(lake.by_offset.values()))
    assert first["source"] == "replay:test"
    assert first["payload"]["data"]["text"].endswith("✓ 🚀 «ünïcode»")
    assert p.archiver.terminate() == 0
    assert p.shipper.terminate() == 0


def test_sigkill_archiver_and_shipper_mid_stream(
    kafka: LocalKafka, s3: LocalS3, bucket: str, topic: str, tmp_path: Path
) -> None:
    rng = random.Random(7)
    p = Pipeline(kafka, s3, bucket, topic, tmp_path, rate=1500)
    ids = write_replay(p.replay, 9000)
    p.archiver.start()
    p.shipper.start()
    p.collector.start(wait_healthy=False)
    kills = 0
    while p.collector.running():
        time.sleep(rng.uniform(0.3, 1.2))
        victim = rng.choice([p.archiver, p.shipper])
        victim.kill()
        kills += 1
        victim.start()
    assert p.collector.wait(10) == 0, p.collector.tail()
    assert kills >= 4

    lake = p.wait_landed(len(ids), timeout=180)
    assert sorted(set(lake.ids())) == sorted(ids), "a record is missing or unexpected"
    assert len(lake.ids()) == len(ids), "a record appears twice at different offsets"
    wait_for("the spool to drain", lambda: p.spool_files("ready") == [], 60)
    print(
        f"kills={kills} objects={lake.objects} "
        f"duplicates_before_dedup={lake.duplicates_before_dedup}"
    )
    assert p.archiver.terminate() == 0
    assert p.shipper.terminate() == 0
