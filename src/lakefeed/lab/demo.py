"""`lakefeed demo`: the whole pipeline on this machine, as local processes, on real servers.

A Kafka broker (KRaft, from the Maven Central jars) and MinIO on loopback, the three
daemons run as `lakefeed collect|archive|ship` processes on the bundled sample, until
every record is verified in the lake; then everything is stopped and removed.
"""

from __future__ import annotations

import gzip
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, TextIO

import yaml

from lakefeed.errors import LakefeedError
from lakefeed.lab.local import LocalKafka, LocalS3, fetched, free_port
from lakefeed.record import SpoolName

TOPIC = "x.posts"
BUCKET = "lakefeed-demo"
PREFIX = "raw"


class Demo:
    def __init__(self, root: Path, sample: Path, rate: float, out: TextIO) -> None:
        self.root = root
        self.sample = sample
        self.rate = rate
        self.out = out
        self.work = Path(tempfile.mkdtemp(prefix="lakefeed-demo-"))
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.started = time.monotonic()

    def say(self, text: str) -> None:
        self.out.write(f"[{time.monotonic() - self.started:5.1f}s] {text}\n")
        self.out.flush()

    def daemon(self, kind: str, command: str, config: dict[str, Any]) -> None:
        path = self.work / f"{kind}.yaml"
        port = free_port()
        path.write_text(
            yaml.safe_dump({"kind": kind, **config, "metrics": {"port": port}}), encoding="utf-8"
        )
        with (self.work / f"{kind}.log").open("ab") as log:
            self.procs[kind] = subprocess.Popen(
                [sys.executable, "-m", "lakefeed", command, "--config", str(path)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.say(f"{kind} started (metrics http://127.0.0.1:{port}/metrics, log {kind}.log)")

    def run(self) -> int:
        records = sum(1 for line in self.sample.read_bytes().splitlines() if line.strip())
        self.say(f"sample: {self.sample} ({records} records); work dir {self.work}")
        kafka = LocalKafka(fetched(self.root, "fetch-kafka"), self.work / "kafka")
        s3 = LocalS3(fetched(self.root, "fetch-minio"), self.work / "minio")
        try:
            kafka.start()
            self.say(f"Kafka {kafka.bootstrap} up (KRaft, single node)")
            kafka.create_topic(TOPIC, partitions=3)
            kafka.create_topic("lakefeed.dead-letter", partitions=1)
            s3.start()
            s3.client().create_bucket(Bucket=BUCKET)
            self.say(f"MinIO {s3.endpoint} up, bucket {BUCKET}")
            (self.work / "s3-access").write_text(s3.access_key)
            (self.work / "s3-secret").write_text(s3.secret_key)
            (self.work / "s3-access").chmod(0o600)
            (self.work / "s3-secret").chmod(0o600)
            kafka_cfg = {"bootstrap_servers": [kafka.bootstrap]}
            spool = self.work / "spool"
            self.daemon(
                "archiver",
                "archive",
                {
                    "kafka": kafka_cfg,
                    "topics": [TOPIC],
                    "spool_dir": str(spool),
                    "rotate": {"max_records": 500, "max_age_seconds": 3},
                    "min_free_bytes": 0,
                },
            )
            self.daemon(
                "shipper",
                "ship",
                {
                    "spool_dir": str(spool),
                    "s3": {
                        "bucket": BUCKET,
                        "prefix": PREFIX,
                        "endpoint_url": s3.endpoint,
                        "region": "us-east-1",
                        "addressing_style": "path",
                        "access_key": {"file": str(self.work / "s3-access")},
                        "secret_key": {"file": str(self.work / "s3-secret")},
                    },
                },
            )
            self.daemon(
                "collector",
                "collect",
                {
                    "name": "sample",
                    "kafka": kafka_cfg,
                    "topic": TOPIC,
                    "state_dir": str(self.work / "collector-state"),
                    "source": {
                        "type": "replay",
                        "path": str(self.sample),
                        "rate": self.rate,
                        "at_end": "exit",
                    },
                },
            )
            return self.wait_for_lake(s3, records)
        finally:
            for proc in self.procs.values():
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            for proc in self.procs.values():
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
            kafka.stop()
            s3.stop()
            shutil.rmtree(self.work, ignore_errors=True)
            self.say("stopped everything and removed the work dir")

    def wait_for_lake(self, s3: LocalS3, records: int, timeout: float = 600) -> int:
        client = s3.client()
        deadline = time.monotonic() + timeout
        landed = 0
        last = -1
        while time.monotonic() < deadline:
            for kind, proc in self.procs.items():
                code = proc.poll()
                if code not in (None, 0):
                    log = (self.work / f"{kind}.log").read_text(errors="replace")[-2000:]
                    raise LakefeedError(f"the {kind} exited with {code}:\n{log}")
            objects = self.objects(client)
            landed = sum(n for _, n, _ in objects)
            if landed != last:
                self.say(f"lake: {landed}/{records} records in {len(objects)} objects")
                last = landed
            if landed >= records:
                self.report(client, objects)
                return 0
            time.sleep(1)
        self.say(f"timed out: {landed} of {records} records landed")
        return 1

    def objects(self, client: Any) -> list[tuple[str, int, int]]:
        found = []
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=PREFIX)
        for page in pages:
            for obj in page.get("Contents", []):
                name = SpoolName.parse(obj["Key"].rsplit("/", 1)[-1])
                if name is not None:
                    found.append((obj["Key"], name.last - name.first + 1, obj["Size"]))
        return found

    def report(self, client: Any, objects: list[tuple[str, int, int]]) -> None:
        by_hour: Counter[str] = Counter()
        for key, count, _ in objects:
            by_hour[key.rsplit("/", 1)[0]] += count
        self.out.write(f"\nEvery record landed in s3://{BUCKET}/{PREFIX}/:\n")
        for prefix, count in sorted(by_hour.items()):
            self.out.write(f"  {prefix}/  {count} records\n")
        key, count, size = objects[0]
        self.out.write(f"\n{len(objects)} objects, e.g. {key} ({count} records, {size} bytes)\n")
        body = client.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        first = json.dumps(json.loads(gzip.decompress(body).splitlines()[0]), ensure_ascii=False)
        self.out.write("its first record:\n  " + first[:300] + ("…" if len(first) > 300 else ""))
        self.out.write("\n\n")
