"""`lakefeed demo`: the whole pipeline on this machine, as local processes, on real servers.

A Kafka broker (KRaft, from the Maven Central jars) and MinIO on loopback, the three
daemons run as `lakefeed collect|archive|ship` processes on the bundled sample, until
every line is in the lake or in the dead-letter topic; then everything is stopped and
removed, also when the demo itself is interrupted (Ctrl-C, SIGTERM).
"""

from __future__ import annotations

import gzip
import json
import shutil
import signal
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, TextIO

from lakefeed import lake
from lakefeed.errors import LakefeedError
from lakefeed.fetch import fetched
from lakefeed.local.daemons import Daemon
from lakefeed.local.servers import LocalKafka, LocalS3

TOPIC = "x.posts"
PARTITIONS = 3
DEAD_LETTER = "lakefeed.dead-letter"
BUCKET = "lakefeed-demo"
PREFIX = "raw"


class _Terminated(BaseException):  # like KeyboardInterrupt: no `except Exception` takes it
    """SIGTERM: raised in the main thread so the cleanup of `run` runs."""


def _raise_terminated(_signum: int, _frame: object) -> None:
    raise _Terminated


class Demo:
    def __init__(self, root: Path, sample: Path, rate: float, out: TextIO) -> None:
        self.root = root
        self.sample = sample
        self.rate = rate
        self.out = out
        self.work = Path(tempfile.mkdtemp(prefix="lakefeed-demo-"))
        self.daemons: dict[str, Daemon] = {}
        self.started = time.monotonic()

    def say(self, text: str) -> None:
        self.out.write(f"[{time.monotonic() - self.started:5.1f}s] {text}\n")
        self.out.flush()

    def daemon(self, kind: str, config: dict[str, Any]) -> None:
        self.daemons[kind] = Daemon(kind, config, self.work).start(wait_healthy=False)
        port = self.daemons[kind].port
        self.say(f"{kind} started (metrics http://127.0.0.1:{port}/metrics, log {kind}.log)")

    def run(self) -> int:
        records = sum(1 for line in self.sample.read_bytes().splitlines() if line.strip())
        self.say(f"sample: {self.sample} ({records} records); work dir {self.work}")
        kafka = LocalKafka(fetched(self.root, "fetch-kafka"), self.work / "kafka")
        s3 = LocalS3(fetched(self.root, "fetch-minio"), self.work / "minio")
        # Without this, SIGTERM ends the process at once and leaves the broker, MinIO and
        # the work dir behind; Ctrl-C (KeyboardInterrupt) already unwinds.
        previous = signal.signal(signal.SIGTERM, _raise_terminated)
        try:
            kafka.start()
            self.say(f"Kafka {kafka.bootstrap} up (KRaft, single node)")
            kafka.create_topic(TOPIC, partitions=PARTITIONS)
            kafka.create_topic(DEAD_LETTER, partitions=1)
            s3.start()
            s3.client().create_bucket(Bucket=BUCKET)
            self.say(f"MinIO {s3.endpoint} up, bucket {BUCKET}")
            kafka_cfg = {"bootstrap_servers": [kafka.bootstrap]}
            spool = self.work / "spool"
            self.daemon(
                "archiver",
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
                {
                    "spool_dir": str(spool),
                    "s3": s3.shipper_s3(BUCKET, PREFIX, self.work),
                },
            )
            self.daemon(
                "collector",
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
            return self.wait_for_lake(kafka, s3, records)
        except _Terminated:
            self.say("terminated (SIGTERM); stopping")
            return 143
        finally:
            # A second SIGTERM must not cut the cleanup short.
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            try:
                self.stop_all(kafka, s3)
            finally:
                signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)
            self.say("stopped everything and removed the work dir")

    def stop_all(self, kafka: LocalKafka, s3: LocalS3) -> None:
        # All asked at once, then each waited for: they stop side by side.
        for daemon in self.daemons.values():
            daemon.ask_to_stop()
        for daemon in self.daemons.values():
            try:
                daemon.wait(30)
            except subprocess.TimeoutExpired:
                daemon.kill()
        kafka.stop()
        s3.stop()
        shutil.rmtree(self.work, ignore_errors=True)

    def wait_for_lake(
        self, kafka: LocalKafka, s3: LocalS3, lines: int, timeout: float = 600
    ) -> int:
        """Until every line of the sample is in the lake or in the dead-letter topic. Once
        the collector has exited (it read the whole sample), the topic's end offsets say
        how many records the lake must hold, and the dead-letter topic's how many lines
        were refused."""
        client = s3.client()
        deadline = time.monotonic() + timeout
        landed, last = 0, -1
        expected: int | None = None
        dead: Counter[str] = Counter()
        while time.monotonic() < deadline:
            for kind, daemon in self.daemons.items():
                code = daemon.proc.poll() if daemon.proc is not None else None
                if code not in (None, 0):
                    raise LakefeedError(f"the {kind} exited with {code}:\n{daemon.tail(2000)}")
            collector = self.daemons["collector"].proc
            if expected is None and collector is not None and collector.poll() == 0:
                expected, dead = _produced(kafka)
                self.say(
                    f"the collector read the whole sample: {expected} records to {TOPIC}, "
                    f"{sum(dead.values())} lines to {DEAD_LETTER}"
                )
            found = lake.count(client, BUCKET, PREFIX)
            landed = found.records
            if landed != last:
                objects = len(found.objects)
                self.say(f"lake: {landed}/{expected or lines} records in {objects} objects")
                last = landed
            if landed >= (lines if expected is None else expected):
                self.report(client, found, dead)
                return 0
            time.sleep(1)
        self.say(f"timed out: {landed} of {expected or lines} records landed")
        return 1

    def report(self, client: Any, found: lake.LakeCount, dead: Counter[str]) -> None:
        self.out.write(f"\nEvery record landed in s3://{BUCKET}/{PREFIX}/:\n")
        for prefix, count in sorted(found.by_prefix().items()):
            self.out.write(f"  {prefix}/  {count} records\n")
        if dead:
            self.out.write(f"\n{sum(dead.values())} lines refused, in topic {DEAD_LETTER}:\n")
            for reason, count in dead.most_common():
                self.out.write(f"  {count}  {reason}\n")
        if not found.objects:
            self.out.write("\nThe lake is empty: no line of the sample was a valid record.\n\n")
            return
        key, count = next(iter(found.objects.items()))
        body = client.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        self.out.write(
            f"\n{len(found.objects)} objects, e.g. {key} ({count} records, {len(body)} bytes)\n"
        )
        first = json.dumps(json.loads(gzip.decompress(body).splitlines()[0]), ensure_ascii=False)
        self.out.write("its first record:\n  " + first[:300] + ("…" if len(first) > 300 else ""))
        self.out.write("\n\n")


def _produced(kafka: LocalKafka) -> tuple[int, Counter[str]]:
    """Records in the sample's topic, and the dead-letter entries by reason (the part
    before the first colon: 'invalid JSON', 'oversize', ...)."""
    from kafka import KafkaConsumer, TopicPartition  # noqa: PLC0415 - loads on demand

    consumer = KafkaConsumer(
        **kafka.client_kwargs(), enable_auto_commit=False, consumer_timeout_ms=5000
    )
    try:
        parts = [TopicPartition(TOPIC, p) for p in range(PARTITIONS)]
        records = sum(consumer.end_offsets(parts).values())
        dead_tp = TopicPartition(DEAD_LETTER, 0)
        end = consumer.end_offsets([dead_tp])[dead_tp]
        reasons: Counter[str] = Counter()
        if end == 0:
            return records, reasons
        consumer.assign([dead_tp])
        consumer.seek_to_beginning(dead_tp)
        for msg in consumer:
            reasons[str(json.loads(msg.value).get("reason", "?")).split(":")[0]] += 1
            if msg.offset + 1 >= end:
                break
        return records, reasons
    finally:
        consumer.close()
