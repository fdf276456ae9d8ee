"""replay -> collector -> Kafka -> archiver -> spool -> shipper -> S3, on the real servers."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lakefeed.lab.local import LocalKafka, LocalS3
from tests.support.lake import Lake, read_lake
from tests.support.procs import Daemon

pytestmark = pytest.mark.integration


def write_replay(path: Path, n: int) -> list[str]:
    ids = [f"{1790000000000000000 + i}" for i in range(n)]
    with path.open("w", encoding="utf-8") as f:
        for i, rid in enumerate(ids):
            f.write(
                json.dumps(
                    {
                        "data": {"id": rid, "text": f"record {i} ✓ 🚀 «ünïcode»"},
                        "matching_rules": [{"id": "1", "tag": "test"}],
                    },
                    ensure_ascii=False,
                )
                + "\n"
            )
    return ids


def wait_for(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class Pipeline:
    def __init__(
        self, kafka: LocalKafka, s3: LocalS3, bucket: str, topic: str, tmp: Path, rate: float = 0
    ) -> None:
        self.s3, self.bucket, self.topic, self.tmp = s3, bucket, topic, tmp
        self.spool = tmp / "spool"
        self.replay = tmp / "replay.jsonl"
        kafka_cfg = {"bootstrap_servers": [kafka.bootstrap]}
        (tmp / "s3-access").write_text(s3.access_key)
        (tmp / "s3-secret").write_text(s3.secret_key)
        self.archiver = Daemon(
            "archiver",
            {
                "kafka": kafka_cfg,
                "topics": [topic],
                "group_id": f"arch-{topic}",
                "spool_dir": str(self.spool),
                "rotate": {"max_records": 250, "max_age_seconds": 1.0},
                "min_free_bytes": 0,
            },
            tmp / "archiver",
        )
        self.shipper = Daemon(
            "shipper",
            {
                "spool_dir": str(self.spool),
                "s3": {
                    "bucket": bucket,
                    "prefix": "raw/x",
                    "endpoint_url": s3.endpoint,
                    "region": "us-east-1",
                    "addressing_style": "path",
                    "access_key": {"file": str(tmp / "s3-access")},
                    "secret_key": {"file": str(tmp / "s3-secret")},
                },
                "retry": {"initial_seconds": 0.2, "max_seconds": 2},
            },
            tmp / "shipper",
        )
        self.collector = Daemon(
            "collector",
            {
                "name": "test",
                "kafka": kafka_cfg,
                "topic": topic,
                "state_dir": str(tmp / "collector-state"),
                "source": {
                    "type": "replay",
                    "path": str(self.replay),
                    "rate": rate,
                    "at_end": "exit",
                },
            },
            tmp / "collector",
        )

    def lake(self) -> Lake:
        return read_lake(self.s3.client(), self.bucket, "raw/x/")

    def wait_landed(self, n: int, timeout: float = 120) -> Lake:
        def landed() -> Lake | None:
            lake = self.lake()
            return lake if len(lake.by_offset) >= n else None

        return wait_for(landed, timeout, f"{n} records in the lake")

    def spool_files(self, sub: str) -> list[str]:
        d = self.spool / sub
        return sorted(p.name for p in d.iterdir()) if d.exists() else []


def test_every_replayed_record_lands_once(
    kafka: LocalKafka, s3: LocalS3, bucket: str, topic: str, tmp_path: Path
) -> None:
    p = Pipeline(kafka, s3, bucket, topic, tmp_path)
    ids = write_replay(p.replay, 3000)
    p.archiver.start()
    p.shipper.start()
    p.collector.start(wait_healthy=False)
    assert p.collector.wait(120) == 0, p.collector.log_tail()

    lake = p.wait_landed(len(ids))
    assert sorted(lake.ids()) == sorted(ids)
    assert lake.duplicates_before_dedup == 0
    # Every file is shipped and deleted; nothing is left half-done.
    wait_for(
        lambda: p.spool_files("ready") == [] and p.spool_files("writing") == [],
        30,
        "an empty spool",
    )
    assert "source finished" in p.collector.log_tail()
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
    assert p.collector.wait(10) == 0, p.collector.log_tail()
    assert kills >= 4

    lake = p.wait_landed(len(ids), timeout=180)
    assert sorted(set(lake.ids())) == sorted(ids), "a record is missing or unexpected"
    assert len(lake.ids()) == len(ids), "a record appears twice at different offsets"
    wait_for(lambda: p.spool_files("ready") == [], 60, "the spool to drain")
    print(
        f"kills={kills} objects={lake.objects} "
        f"duplicates_before_dedup={lake.duplicates_before_dedup}"
    )
    assert p.archiver.terminate() == 0
    assert p.shipper.terminate() == 0
