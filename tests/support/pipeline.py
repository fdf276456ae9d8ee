"""The local pipeline of the integration tests: the three daemons as processes on this
machine, over a loopback Kafka and MinIO (lakefeed.local.servers), and a replay file to feed."""

from __future__ import annotations

import json
from pathlib import Path

from lakefeed.local.servers import LocalKafka, LocalS3
from tests.support.lake import Lake, read_lake
from tests.support.procs import Daemon
from tests.support.waiting import wait_for


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


class Pipeline:
    def __init__(
        self, kafka: LocalKafka, s3: LocalS3, bucket: str, topic: str, tmp: Path, rate: float = 0
    ) -> None:
        self.s3, self.bucket, self.topic, self.tmp = s3, bucket, topic, tmp
        self.spool = tmp / "spool"
        self.replay = tmp / "replay.jsonl"
        kafka_cfg = {"bootstrap_servers": [kafka.bootstrap]}
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
                "s3": s3.shipper_s3(bucket, "raw/x", tmp),
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

        return wait_for(f"{n} records in the lake", landed, timeout)

    def spool_files(self, sub: str) -> list[str]:
        d = self.spool / sub
        return sorted(p.name for p in d.iterdir()) if d.exists() else []
