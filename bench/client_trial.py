"""The archiver's consume-and-write loop on either Kafka client, for row 2c of bench/run.

    python bench/client_trial.py --client confluent-kafka --bootstrap H:P --topic T \
        --group G --batch N --records N [--spool DIR]

The issue behind the benchmarks asks, if kafka-python cannot reach the archiver's goals,
to measure confluent-kafka side by side before switching anything. This is that
measurement, not what lakefeed ships: one loop, two clients behind the same three calls
(poll a batch, commit an offset, close), with `lakefeed.kafka_fixes.apply()` as the
daemons have it, run in the same venv (bench/.venv-trial, with
the pins of pyproject.toml plus confluent-kafka).

Without --spool it only consumes: every value is touched (its length summed) and
nothing is written, to separate the client's cost from the write path. With --spool it
does what `lakefeed archive` does with each record, through lakefeed's own spool code:
`PartitionFile` (gzip on the `Compressor` thread), a file per partition rotated at
--max-records or --max-age seconds, each finished file fsynced, renamed into ready/, the
directory fsynced, then its partition's offset committed, synchronously. Left out: the
archiver's disk-space checks, metrics, lag and health, and its rebalance handling (one
consumer, a fresh group).

It prints JSON lines on stdout: `{"event": "started", "t": ...}` once subscribed (the
point `archiver started` marks; the group join happens in the first poll, after it),
then with --records reached `{"event": "consumed", "t": ..., "records": ...}`; with
--spool it then keeps going (aged files still rotate) until SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer
from confluent_kafka import TopicPartition as CkPartition
from kafka import KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from lakefeed import kafka_fixes
from lakefeed.archiver.writer import Compressor, PartitionFile
from lakefeed.spool import Spool

POLL_S = 0.5


class KafkaPython:
    name = "kafka-python"

    def __init__(self, bootstrap: str, topic: str, group: str, batch: int) -> None:
        self.topic = topic
        self.c = KafkaConsumer(
            bootstrap_servers=bootstrap,
            group_id=group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=batch,
        )
        self.c.subscribe([topic])

    def poll(self, timeout: float) -> Iterator[tuple[int, int, bytes]]:
        for tp, msgs in self.c.poll(timeout_ms=int(timeout * 1000)).items():
            p = tp.partition
            for m in msgs:
                yield p, m.offset, m.value

    def commit(self, partition: int, next_offset: int) -> None:
        tp = TopicPartition(self.topic, partition)
        self.c.commit({tp: OffsetAndMetadata(next_offset, "", -1)})

    def close(self) -> None:
        self.c.close(autocommit=False)


class ConfluentKafka:
    name = "confluent-kafka"

    def __init__(self, bootstrap: str, topic: str, group: str, batch: int) -> None:
        self.topic = topic
        self.batch = batch
        self.c = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": group,
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                # librdkafka skips CRC checks by default; the archiver (kafka-python's
                # default) checks them, so this does too.
                "check.crcs": True,
            }
        )
        self.c.subscribe([topic])

    def poll(self, timeout: float) -> Iterator[tuple[int, int, bytes]]:
        for m in self.c.consume(self.batch, timeout):
            if m.error() is not None:
                raise RuntimeError(f"consume failed: {m.error()}")
            yield m.partition(), m.offset(), m.value()

    def commit(self, partition: int, next_offset: int) -> None:
        offsets = [CkPartition(self.topic, partition, next_offset)]
        self.c.commit(offsets=offsets, asynchronous=False)

    def close(self) -> None:
        self.c.close()


def emit(event: str, **fields: Any) -> None:
    print(json.dumps({"event": event, "t": time.time(), **fields}), flush=True)


class Loop:
    """The archiver's handling of each record, minus its disk checks and metrics."""

    def __init__(self, client: KafkaPython | ConfluentKafka, args: argparse.Namespace) -> None:
        self.client = client
        self.args = args
        self.spool: Spool | None = None
        self.compressor: Compressor | None = None
        if args.spool is not None:
            self.spool = Spool(args.spool)
            self.spool.ensure()
            self.compressor = Compressor()
        self.files: dict[int, PartitionFile] = {}

    def rotate(self, p: int) -> None:
        pf = self.files.pop(p)
        pf.finish()
        self.client.commit(p, pf.last + 1)

    def write(self, p: int, offset: int, value: bytes) -> None:
        assert self.spool is not None
        pf = self.files.get(p)
        if pf is not None and offset != pf.last + 1:
            self.rotate(p)
            pf = None
        if pf is None:
            pf = self.files[p] = PartitionFile(
                self.spool, self.args.topic, p, offset, self.args.level, compressor=self.compressor
            )
        pf.write(offset, value)
        if pf.count >= self.args.max_records:
            self.rotate(p)

    def rotate_aged(self) -> None:
        now = time.monotonic()
        for p in [p for p, pf in self.files.items() if now - pf.opened >= self.args.max_age]:
            self.rotate(p)

    def run(self, stop: threading.Event) -> None:
        emit("started", client=self.client.name)
        seen = size = 0
        try:
            while not stop.is_set():
                for p, offset, value in self.client.poll(POLL_S):
                    seen += 1
                    if self.spool is None:
                        size += len(value)
                    else:
                        self.write(p, offset, value)
                self.rotate_aged()
                if seen >= self.args.records and self.spool is None:
                    emit("consumed", records=seen, value_bytes=size)
                    return
        finally:
            for pf in self.files.values():
                pf.discard()
            if self.compressor is not None:
                self.compressor.close()
            self.client.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--client", choices=["kafka-python", "confluent-kafka"], required=True)
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--group", required=True)
    ap.add_argument("--batch", type=int, required=True, help="the archiver's max_poll_records")
    ap.add_argument("--records", type=int, required=True, help="how many the topic holds")
    ap.add_argument("--spool", type=Path, help="write as the archiver does (else consume only)")
    ap.add_argument("--max-records", type=int, default=10_000)
    ap.add_argument("--max-age", type=float, default=1.0)
    ap.add_argument("--level", type=int, default=6)
    args = ap.parse_args()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    # As the daemons: kafka-python's socket reads fixed, the 0.5 ms switch interval (which
    # the confluent-kafka loop gets too: same interpreter, same gzip threads).
    kafka_fixes.apply()
    kind = KafkaPython if args.client == "kafka-python" else ConfluentKafka
    Loop(kind(args.bootstrap, args.topic, args.group, args.batch), args).run(stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
