"""The collector's encode-and-send loop on confluent-kafka's Producer, for row 1b of bench/run.

    python bench/producer_trial.py --bootstrap H:P --topic T --replay FILE --source NAME \
        --linger-ms MS --batch-size BYTES

ADR 3 leaves one question open: the collector misses its goal on kafka-python, whose
`send()` runs per record in Python; would a client in C reach it? This measures that,
and is not what lakefeed ships. Per line of the replay file it does what
`Collector.encode` does for a valid line: `json.loads`, the id at `data.id`, the record
envelope around the line's bytes (`lakefeed.record.make_record_raw`, or `make_record`
when the bytes cannot go in verbatim), keyed by the id; then `produce()` with the
collector's producer settings (acks=all, idempotence, no compression; linger and batch
size as given: bench/run passes the collector's defaults) and the Java client's
partitioner (murmur2, as kafka-python's). Every record's delivery report is checked.
Left out: the collector's source thread, dead letters, metrics, health, the per-batch
settling and the replay position.

It prints JSON lines on stdout: `{"event": "started", "t": ...}` once the producer has
fetched the cluster's metadata (the point `collector started` marks, after the
collector's client connected), then `{"event": "done", "t": ..., "delivered": N,
"failed": F}` once every record is acknowledged or failed, and exits (1 if any failed).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from confluent_kafka import KafkaError, Message, Producer

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from lakefeed.record import dig, make_record, make_record_raw

ID_PATH = "data.id"  # the replay sample's, as bench/run configures the collector
POLL_EVERY = 1000  # serve delivery reports this often (a batch of the collector's)


def emit(event: str, **fields: object) -> None:
    print(json.dumps({"event": event, "t": time.time(), **fields}), flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--replay", type=Path, required=True)
    parser.add_argument("--source", required=True, help="the records' `source` field")
    parser.add_argument("--linger-ms", type=int, required=True)
    parser.add_argument("--batch-size", type=int, required=True)
    args = parser.parse_args()

    producer = Producer(
        {
            "bootstrap.servers": args.bootstrap,
            "acks": "all",
            "enable.idempotence": True,
            "linger.ms": args.linger_ms,
            "batch.size": args.batch_size,
            "compression.type": "none",
            "partitioner": "murmur2_random",
        }
    )
    producer.list_topics(args.topic, timeout=30)
    outcome = {"delivered": 0, "failed": 0}
    first_error: list[str] = []

    def report(err: KafkaError | None, _msg: Message) -> None:
        if err is None:
            outcome["delivered"] += 1
            return
        outcome["failed"] += 1
        if not first_error:
            first_error.append(str(err))

    emit("started")
    with args.replay.open("rb") as f:
        for n, line in enumerate(f, 1):
            payload = json.loads(line)
            rid = str(dig(payload, ID_PATH))
            value = make_record_raw(rid, args.source, line) or make_record(
                rid, args.source, payload
            )
            while True:
                try:
                    producer.produce(args.topic, value, rid.encode("utf-8"), on_delivery=report)
                    break
                except BufferError:  # the local queue is full: wait for acknowledgements
                    producer.poll(0.1)
            if n % POLL_EVERY == 0:
                producer.poll(0)
    left = producer.flush(120)
    emit("done", **outcome, undelivered=left)
    if first_error:
        print(f"first delivery error: {first_error[0]}", file=sys.stderr)
    return 0 if outcome["failed"] == 0 and left == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
