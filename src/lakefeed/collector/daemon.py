"""`lakefeed collect`: one source in, records out to Kafka with acks=all.

Items are taken from the source's queue in batches and sent; while Kafka acknowledges
them, the next batches are encoded and sent (at most WINDOW items taken and not yet
settled). Batches are settled oldest first: every future is checked, and records Kafka
did not acknowledge are sent again (with backoff) until it does or the stop deadline
passes. Only then is the source's position of that batch checkpointed, so a resumable
source (replay) never skips a record that was not acknowledged.
"""

from __future__ import annotations

import hashlib
import json
import logging
import queue
import random
import threading
import time
from collections import deque
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, Literal

from kafka import KafkaProducer
from prometheus_client import CollectorRegistry, Counter, Gauge

from lakefeed.collector.sources import HttpPollSource, Invalid, Item, ReplaySource, Source
from lakefeed.config import CollectorConfig, check_secrets
from lakefeed.errors import LakefeedError
from lakefeed.kafka_connect import connect
from lakefeed.record import (
    NOT_FINITE,
    dig,
    loads_strict,
    make_record,
    make_record_raw,
    utc_now_iso,
)
from lakefeed.service import Backoff, Health, StatusServer, base_metrics

logger = logging.getLogger(__name__)

QUEUE_MAX = 20_000
BATCH_MAX = 1_000
# Items taken from the source and not yet settled (acknowledged, position stored): a
# SIGKILLed replay sends at most this many again (docs/guarantees.md says 5,000).
WINDOW = 5_000
BATCH_WAIT_S = 0.1
DLQ_RAW_MAX = 64 * 1024
# After SIGTERM, how long we keep trying to get already-taken items acknowledged.
# systemd's TimeoutStopSec in the collector unit is larger than this.
STOP_DEADLINE_S = 30.0


Encoded = tuple[str, bytes, bytes]  # (topic, key, value)


@dataclass
class Sent:
    """A batch handed to the producer: its records, their futures, its source position."""

    records: list[Encoded]
    futures: list[Any]
    position: Any

    def done(self) -> bool:
        return all(f.is_done for f in self.futures)


class Collector:
    def __init__(self, cfg: CollectorConfig, stop: threading.Event) -> None:
        self.cfg = cfg
        self.stop = stop
        self.source_stop = threading.Event()
        self.queue: queue.Queue[Item] = queue.Queue(maxsize=QUEUE_MAX)
        self.label = f"{cfg.source.type}:{cfg.name}"
        self.id_path = "data.id" if cfg.source.type == "x_stream" else cfg.source.id_path
        self.registry = CollectorRegistry()
        base_metrics(self.registry, "collector")
        self.m_records = Counter(
            "lakefeed_collector_records",
            "Records acknowledged by Kafka, by outcome",
            ["outcome"],
            registry=self.registry,
        )
        self.m_retries = Counter(
            "lakefeed_collector_send_retries",
            "Records sent again after Kafka did not ack",
            registry=self.registry,
        )
        self.m_queue = Gauge(
            "lakefeed_collector_queue_depth", "Items waiting to be produced", registry=self.registry
        )
        self.m_last_ack = Gauge(
            "lakefeed_collector_last_ack_timestamp_seconds",
            "Unix time of the newest acknowledged batch",
            registry=self.registry,
        )
        self.m_exhausted = Gauge(
            "lakefeed_collector_source_exhausted",
            "1 once a finite source (a replay at its end, at_end: idle) has nothing more to send",
            registry=self.registry,
        )
        self.m_exhausted.set_function(self.exhausted)
        self.health = Health()
        self.health.detail("source", self.label)
        self.producer: KafkaProducer | None = None
        self.source: Source | None = None
        self.sent: deque[Sent] = deque()  # sent, not yet settled; oldest first

    def exhausted(self) -> float:
        """1 once the source has nothing more to send and Kafka has acknowledged all it
        sent: records still queued or in flight keep a stall visible (Kafka not acking)."""
        done = self.source is not None and self.source.exhausted.is_set()
        return 1.0 if done and self.queue.empty() and not self.sent else 0.0

    # --- building ------------------------------------------------------------------

    def _build_source(self) -> Source:
        src = self.cfg.source
        if src.type == "replay":
            return ReplaySource(
                src, self.cfg.state_dir, self.cfg.name, self.queue, self.source_stop
            )
        if src.type == "http_poll":
            return HttpPollSource(src, self.queue, self.source_stop)
        from lakefeed.collector.x_stream import XStreamSource  # noqa: PLC0415 - tweepy is slow to import

        return XStreamSource(src, self.queue, self.source_stop)

    def _build_producer(self) -> KafkaProducer:
        tuning = self.cfg.producer
        return KafkaProducer(
            **self.cfg.kafka.client_kwargs(),
            acks="all",
            enable_idempotence=True,
            linger_ms=tuning.linger_ms,
            batch_size=tuning.batch_size,
            compression_type=None if tuning.compression_type == "none" else tuning.compression_type,
            max_in_flight_requests_per_connection=tuning.max_in_flight,
            max_request_size=self.cfg.max_record_bytes + 64 * 1024,
        )

    # --- encoding ------------------------------------------------------------------

    def encode(self, item: Item) -> tuple[str, bytes, bytes]:
        """(topic, key, value) for one item: the record, or its dead-letter entry."""
        if isinstance(item.payload, Invalid):
            return self.dead_letter(item, item.payload.reason)
        if len(item.raw) > self.cfg.max_record_bytes:
            return self.dead_letter(
                item,
                f"oversize: {len(item.raw)} bytes > max_record_bytes {self.cfg.max_record_bytes}",
            )
        payload = item.payload
        if not item.parsed:
            try:
                payload = loads_strict(item.raw)
            except ValueError as exc:
                return self.dead_letter(item, f"invalid JSON: {exc}")
        try:
            rid = dig(payload, self.id_path)
        except KeyError:
            return self.dead_letter(item, f"no id at '{self.id_path}'")
        if isinstance(rid, bool) or not isinstance(rid, str | int) or rid == "":
            return self.dead_letter(
                item, f"id at '{self.id_path}' is not a non-empty string or integer"
            )
        value = make_record_raw(str(rid), self.label, item.raw)
        if value is None:
            try:
                value = make_record(str(rid), self.label, payload)
            except ValueError:
                return self.dead_letter(item, f"invalid JSON: {NOT_FINITE}")
        if len(value) > self.cfg.max_record_bytes:
            return self.dead_letter(
                item,
                f"oversize: record is {len(value)} bytes > max_record_bytes "
                f"{self.cfg.max_record_bytes}",
            )
        return self.cfg.topic, str(rid).encode("utf-8"), value

    def dead_letter(self, item: Item, reason: str) -> tuple[str, bytes, bytes]:
        raw = item.raw[:DLQ_RAW_MAX].decode("utf-8", errors="replace")
        value = json.dumps(
            {
                "source": self.label,
                "reason": reason,
                "collected_at": utc_now_iso(),
                "raw_bytes": len(item.raw),
                "raw_sha256": hashlib.sha256(item.raw).hexdigest(),
                "raw_truncated": len(item.raw) > DLQ_RAW_MAX,
                "raw": raw,
            },
            ensure_ascii=False,
        ).encode("utf-8")
        logger.warning(
            "dead-lettered a record", extra={"reason": reason, "raw_bytes": len(item.raw)}
        )
        return self.cfg.dead_letter_topic, self.label.encode("utf-8"), value

    # --- producing -----------------------------------------------------------------

    def send(self, batch: list[Item]) -> Sent:
        """Encode and send a batch; Kafka's acknowledgements arrive while we go on."""
        assert self.producer is not None
        records = [self.encode(item) for item in batch]
        futures = [self.producer.send(t, key=k, value=v) for t, k, v in records]
        return Sent(records, futures, batch[-1].position)

    def _await(self, futures: list[Any]) -> None:
        """Wait until every future is done or the ack timeout (as long as a flush's) passes."""
        until = time.monotonic() + self.cfg.kafka.request_timeout_ms / 1000 * 4
        for fut in futures:
            if not fut.is_done:
                # get() raises the record's error, or a timeout: settle() reads each
                # future's outcome itself, as it did after flush(), which raised none.
                with suppress(Exception):
                    fut.get(timeout=max(0.0, until - time.monotonic()))

    def settle(self, sent: Sent, deadline: float | None) -> bool:
        """Wait until every record of a sent batch is acknowledged, sending again what Kafka
        did not acknowledge; False if the deadline hit first."""
        assert self.producer is not None
        pending, futures = sent.records, sent.futures
        backoff = Backoff(0.5, 30.0, rand=random.random)
        while True:
            self._await(futures)
            failed = []
            for rec, fut in zip(pending, futures, strict=True):
                if fut.succeeded():
                    outcome = "produced" if rec[0] == self.cfg.topic else "dead_letter"
                    self.m_records.labels(outcome=outcome).inc()
                else:
                    failed.append((rec, fut))
            if not failed:
                self.health.problem("kafka", None)
                self.m_last_ack.set(time.time())
                return True
            err = failed[0][1].exception if failed[0][1].is_done else "not acknowledged in time"
            self.health.problem("kafka", f"{len(failed)} records not acknowledged: {err}")
            self.m_retries.inc(len(failed))
            pending = [rec for rec, _ in failed]
            delay = backoff.next_delay()
            logger.warning(
                "Kafka did not acknowledge %d records (%s); sending again in %.1fs",
                len(failed),
                err,
                delay,
            )
            if deadline is not None and time.monotonic() + delay > deadline:
                logger.error("stop deadline reached with %d records unacknowledged", len(pending))
                return False
            time.sleep(delay)
            futures = [self.producer.send(t, key=k, value=v) for t, k, v in pending]

    def take_batch(self, limit: int = BATCH_MAX, wait: bool = True) -> list[Item]:
        try:
            first = self.queue.get(timeout=BATCH_WAIT_S) if wait else self.queue.get_nowait()
        except queue.Empty:
            return []
        batch = [first]
        until = time.monotonic() + BATCH_WAIT_S
        while len(batch) < limit:
            try:
                batch.append(self.queue.get(timeout=max(0.0, until - time.monotonic())))
            except queue.Empty:
                break
        return batch

    def pump(self, deadline: float | None) -> Literal["busy", "idle", "failed"]:
        """Send a batch if the window has room, then settle what is due, oldest first (so a
        position is stored only once everything before it is acknowledged too): the
        oldest batch when the window is full, every batch when the source has nothing new
        (then "idle": all it gave us is settled), else those Kafka has answered already."""
        assert self.source is not None
        batch: list[Item] = []
        idle = False
        taken = sum(len(s.records) for s in self.sent)
        if taken >= WINDOW:
            due = 1
        else:
            # With batches in flight, don't sit in the queue: go and settle them.
            batch = self.take_batch(min(BATCH_MAX, WINDOW - taken), wait=not self.sent)
            if batch:
                self.sent.append(self.send(batch))
            idle = not batch
            due = len(self.sent) if idle else 0
            if idle and self.sent:
                # All of it is due: have the last partial batches sent now rather than after
                # linger_ms. Waiting for the acks is settle()'s job: flush() waits no longer
                # than the linger it saves, and its timeout error is of no interest.
                assert self.producer is not None
                with suppress(Exception):
                    self.producer.flush(timeout=self.cfg.producer.linger_ms / 1000)
        self.m_queue.set(self.queue.qsize())
        while self.sent and (due > 0 or self.sent[0].done()):
            due -= 1
            done = self.sent.popleft()
            if not self.settle(done, deadline):
                return "failed"
            if done.position is not None:
                self.source.checkpoint(done.position)
        return "idle" if idle else "busy"

    def run(self) -> int:
        cfg = self.cfg
        check_secrets(cfg)
        cfg.state_dir.mkdir(parents=True, exist_ok=True)
        status = StatusServer(cfg.metrics.host, cfg.metrics.port, self.registry, self.health)
        status.start()
        deadline: float | None = None
        thread = None
        try:
            self.producer = connect(cfg.kafka, self._build_producer)
            self.source = self._build_source()
            thread = self.source.start()
            self.health.ready = True
            logger.info("collector started", extra={"source": self.label, "topic": cfg.topic})
            while True:
                if self.stop.is_set() and not self.source_stop.is_set():
                    self.source_stop.set()
                    self.source.close()
                    deadline = time.monotonic() + STOP_DEADLINE_S
                state = self.pump(deadline)
                if state == "failed":
                    return 1
                if state == "busy":
                    continue
                if self.queue.empty() and (
                    self.source.finished.is_set()
                    or (deadline is not None and time.monotonic() > deadline - STOP_DEADLINE_S + 2)
                ):
                    # After stop, a source emits nothing more (emit() refuses), so an empty
                    # queue a moment later means all it gave us is acknowledged. Don't wait
                    # on a source stuck in its own backoff sleep (tweepy's lasts up to 320 s).
                    break
            if self.source.fatal is not None:
                fatal = self.source.fatal
                if isinstance(fatal, LakefeedError):
                    raise fatal
                raise LakefeedError(f"source failed: {fatal!r}")
            if not self.stop.is_set():
                logger.info("source finished; collector exiting")
            return 0
        finally:
            self.source_stop.set()
            if self.source is not None:
                self.source.close()
            if thread is not None:
                thread.join(timeout=5)
            if self.producer is not None:
                self.producer.close(timeout=10)
            status.stop()
            logger.info("collector stopped")


def run(cfg: CollectorConfig, stop: threading.Event) -> int:
    return Collector(cfg, stop).run()
