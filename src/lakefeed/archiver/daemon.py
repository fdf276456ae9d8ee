"""`lakefeed archive`: Kafka consumer group -> per-partition gzip JSONL files in the spool.

Order of operations for every file: write -> fsync -> rename into ready/ -> fsync ready/
-> commit offset (last + 1). A crash before the commit re-delivers the file's records;
the spool is checked at each assignment so that a file already in ready/ moves the
committed offset forward instead of being written a second time (docs/guarantees.md).
"""

from __future__ import annotations

import errno
import logging
import math
import shutil
import socket
import threading
import time
from typing import Any

from kafka import AsyncConsumerRebalanceListener, KafkaConsumer, TopicPartition
from kafka.errors import CommitFailedError, KafkaError
from kafka.structs import OffsetAndMetadata
from prometheus_client import CollectorRegistry, Counter, Gauge

from lakefeed.archiver.writer import Compressor, PartitionFile
from lakefeed.config import ArchiverConfig, check_secrets
from lakefeed.kafka_connect import connect
from lakefeed.service import Health, StatusServer, base_metrics
from lakefeed.spool import Spool

logger = logging.getLogger(__name__)

POLL_MS = 500
LAG_EVERY_S = 5.0
LAG_TIMEOUT_MS = 2000
DISK_RETRY_S = 5.0
DISK_CHECK_S = 1.0  # how often a running archiver looks at the spool's free space


class _Rebalance(AsyncConsumerRebalanceListener):
    """kafka-python calls these on its IO thread, where a blocking consumer call (commit(),
    committed()) is refused: revocation awaits an async commit, and the spool check of
    newly assigned partitions is left to the main loop (the partitions wait paused)."""

    def __init__(self, archiver: Archiver) -> None:
        self.archiver = archiver

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        # Finish what we hold for these partitions, so the next owner starts exactly
        # where our last file ends. The commit goes out before the rejoin request on the
        # same coordinator connection, so it carries the generation that owned them.
        offsets = {}
        for tp in list(revoked):
            last = self.archiver.finish(tp)
            if last is not None:
                offsets[tp] = OffsetAndMetadata(last + 1, "", -1)
        if offsets and self.archiver.consumer is not None:
            try:
                await self.archiver.consumer.commit_async(offsets)
            except KafkaError as exc:
                self.archiver.commit_failed(offsets, exc)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self.archiver.assigned(assigned)


class Archiver:
    def __init__(self, cfg: ArchiverConfig, stop: threading.Event) -> None:
        self.cfg = cfg
        self.stop = stop
        self.spool = Spool(cfg.spool_dir)
        self.files: dict[TopicPartition, PartitionFile] = {}
        self.compressor: Compressor | None = None
        self.consumer: KafkaConsumer | None = None
        self.paused_for_disk = False
        self.to_align: set[TopicPartition] = set()
        self.registry = CollectorRegistry()
        base_metrics(self.registry, "archiver")
        r = self.registry
        self.m_records = Counter(
            "lakefeed_archiver_records", "Records written to ready files", ["topic"], registry=r
        )
        self.m_files = Counter(
            "lakefeed_archiver_files", "Files moved into ready/", ["topic"], registry=r
        )
        self.m_bytes = Counter(
            "lakefeed_archiver_bytes", "Compressed bytes moved into ready/", ["topic"], registry=r
        )
        self.m_lag = Gauge(
            "lakefeed_archiver_lag_records",
            "High watermark minus position",
            ["topic", "partition"],
            registry=r,
        )
        self.m_open = Gauge("lakefeed_archiver_open_files", "Files open in writing/", registry=r)
        self.m_disk_pause = Gauge(
            "lakefeed_archiver_paused_disk",
            "1 while consumption is paused for lack of spool space",
            registry=r,
        )
        self.m_commit_fail = Counter(
            "lakefeed_archiver_commit_failures",
            "Offset commits that failed after a file was ready",
            registry=r,
        )
        self.health = Health()

    # --- offsets and files -----------------------------------------------------------

    def _commit(self, tp: TopicPartition, next_offset: int) -> None:
        assert self.consumer is not None
        offsets = {tp: OffsetAndMetadata(next_offset, "", -1)}
        try:
            self.consumer.commit(offsets)
        except (CommitFailedError, KafkaError) as exc:
            self.commit_failed(offsets, exc)

    def commit_failed(self, offsets: dict[TopicPartition, Any], exc: Exception) -> None:
        # The files are durable in ready/; the next owner re-reads these records and, if
        # it is this host, finds the files and skips them (align_with_spool).
        self.m_commit_fail.inc()
        for tp, meta in offsets.items():
            logger.warning(
                "offset commit failed for %s-%d at %d: %s",
                tp.topic,
                tp.partition,
                meta.offset,
                exc,
            )

    def rotate(self, tp: TopicPartition) -> None:
        """Finish the open file of `tp`, if any, and commit past its last record."""
        last = self.finish(tp)
        if last is not None:
            self._commit(tp, last + 1)

    def finish(self, tp: TopicPartition) -> int | None:
        """Finish the open file of `tp` into ready/ (no commit); its last offset, if any."""
        pf = self.files.pop(tp, None)
        if pf is None:
            return None
        self.m_open.set(len(self.files))
        if pf.count == 0:
            pf.discard()
            return None
        try:
            path = pf.finish()
        except OSError as exc:
            self._disk_trouble(tp, pf, exc)
            return None
        self.m_records.labels(topic=tp.topic).inc(pf.count)
        self.m_files.labels(topic=tp.topic).inc()
        self.m_bytes.labels(topic=tp.topic).inc(pf.compressed_bytes)
        logger.info(
            "file ready", extra={"file": path.name, "records": pf.count, "bytes_raw": pf.bytes}
        )
        return pf.last

    def _disk_trouble(self, tp: TopicPartition, pf: PartitionFile, exc: OSError) -> None:
        """Drop the torn file and go back to its first offset; nothing was committed."""
        pf.discard()
        self.files.pop(tp, None)
        self.m_open.set(len(self.files))
        assert self.consumer is not None
        self.consumer.seek(tp, pf.first)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            self._pause_for_disk(f"spool disk full while writing {tp.topic}-{tp.partition}")
        else:
            logger.error("cannot write spool file for %s-%d: %s", tp.topic, tp.partition, exc)
            self._pause_for_disk(f"spool write error: {exc.strerror}")

    def _pause_for_disk(self, why: str) -> None:
        assert self.consumer is not None
        if not self.paused_for_disk:
            logger.error("pausing consumption: %s", why)
        self.paused_for_disk = True
        self.m_disk_pause.set(1)
        self.health.problem("spool", why)
        self.consumer.pause(*self.consumer.assignment())

    def _disk_ok(self) -> bool:
        free = shutil.disk_usage(self.spool.root).free
        return free >= self.cfg.min_free_bytes

    def _check_disk(self) -> bool:
        """False (and consumption paused) when the spool is below `min_free_bytes`."""
        if self._disk_ok():
            return True
        self._pause_for_disk(
            f"less than min_free_bytes={self.cfg.min_free_bytes} free in {self.spool.root}"
        )
        return False

    def _maybe_resume(self) -> None:
        assert self.consumer is not None
        if self.paused_for_disk and self._disk_ok():
            logger.info("spool has room again; resuming consumption")
            self.paused_for_disk = False
            self.m_disk_pause.set(0)
            self.health.problem("spool", None)
            self.consumer.resume(*(self.consumer.assignment() - self.to_align))

    def assigned(self, assigned: set[TopicPartition]) -> None:
        """On the IO thread: hold back partitions the spool has files of, until the main
        loop has compared those files with the committed offsets (align_with_spool)."""
        assert self.consumer is not None
        in_spool = self.spool.last_offsets()
        held = {tp for tp in assigned if (tp.topic, tp.partition) in in_spool}
        if held:
            self.consumer.pause(*held)
            self.to_align |= held
        if self.paused_for_disk:
            self.consumer.pause(*assigned)

    def align_with_spool(self, assigned: set[TopicPartition]) -> None:
        """Skip records that a file still in the spool already holds (crash before commit)."""
        assert self.consumer is not None
        assigned = assigned & self.consumer.assignment()
        if not assigned:
            return
        in_spool = self.spool.last_offsets()
        for tp in assigned:
            last = in_spool.get((tp.topic, tp.partition))
            if last is None:
                continue
            committed = self.consumer.committed(tp)
            if committed is None or committed <= last:
                logger.info(
                    "spool holds %s-%d up to %d past the committed offset %s; seeking past it",
                    tp.topic,
                    tp.partition,
                    last,
                    committed,
                )
                self.consumer.seek(tp, last + 1)
                self._commit(tp, last + 1)
        if not self.paused_for_disk:
            self.consumer.resume(*assigned)

    # --- the loop --------------------------------------------------------------------

    def handle(self, records: dict[TopicPartition, list]) -> None:
        rot = self.cfg.rotate
        assert self.consumer is not None
        for tp, msgs in records.items():
            if self.paused_for_disk:
                # Nothing of this batch was written for tp: hand it back untouched.
                self.consumer.seek(tp, msgs[0].offset)
                continue
            for msg in msgs:
                pf = self.files.get(tp)
                if pf is not None and msg.offset != pf.last + 1:
                    # A gap (transaction marker, compaction): close the file so every
                    # file is a contiguous run and line i has offset first + i.
                    self.rotate(tp)
                    pf = None
                if pf is None:
                    if not self._check_disk():
                        self.consumer.seek(tp, msg.offset)
                        break
                    try:
                        pf = PartitionFile(
                            self.spool,
                            tp.topic,
                            tp.partition,
                            msg.offset,
                            self.cfg.compression_level,
                            compressor=self.compressor,
                        )
                    except OSError as exc:
                        self.consumer.seek(tp, msg.offset)
                        self._pause_for_disk(f"cannot open spool file: {exc.strerror}")
                        break
                    self.files[tp] = pf
                    self.m_open.set(len(self.files))
                try:
                    pf.write(msg.offset, msg.value)
                except OSError as exc:
                    self._disk_trouble(tp, pf, exc)
                    break
                if pf.count >= rot.max_records or pf.bytes >= rot.max_bytes:
                    self.rotate(tp)
        self.rotate_aged()

    def rotate_aged(self) -> None:
        now = time.monotonic()
        for tp, pf in list(self.files.items()):
            if now - pf.opened >= self.cfg.rotate.max_age_seconds:
                self.rotate(tp)

    def poll_timeout_ms(self) -> int:
        """Up to POLL_MS, but no later than the oldest open file's `max_age_seconds`, so an
        idle partition's file rotates on time rather than up to a poll late."""
        if not self.files:
            return POLL_MS
        oldest = min(pf.opened for pf in self.files.values())
        due = oldest + self.cfg.rotate.max_age_seconds - time.monotonic()
        return max(0, min(POLL_MS, math.ceil(due * 1000)))

    def update_lag(self) -> None:
        assert self.consumer is not None
        assignment = self.consumer.assignment()
        try:
            # Asked of the brokers, not the last fetch's highwater: a partition paused
            # for a full spool is not fetched, and its lag is exactly what must show.
            ends = self.consumer.end_offsets(list(assignment), timeout_ms=LAG_TIMEOUT_MS)
            positions = {tp: self.consumer.position(tp, LAG_TIMEOUT_MS) for tp in assignment}
        except (KafkaError, KeyError, ValueError) as exc:
            # A timeout, a partition revoked meanwhile, or kafka-python refusing a broker's
            # answer (KeyError for an offset it dropped): the lag waits for the next round.
            logger.warning("cannot measure the lag now: %s", exc)
            return
        total = 0
        for tp in assignment:
            end, pos = ends.get(tp), positions[tp]
            if end is None or pos is None:
                continue
            lag = max(0, end - pos)
            total += lag
            self.m_lag.labels(topic=tp.topic, partition=str(tp.partition)).set(lag)
        self.health.detail("lag_records", total)
        self.health.detail(
            "assigned", sorted(f"{tp.topic}-{tp.partition}" for tp in self.consumer.assignment())
        )

    def run(self) -> int:
        cfg = self.cfg
        check_secrets(cfg)
        self.spool.ensure()
        removed = self.spool.discard_partials()
        if removed:
            logger.info("discarded partial files from an earlier run", extra={"files": removed})
        status = StatusServer(cfg.metrics.host, cfg.metrics.port, self.registry, self.health)
        status.start()
        self.compressor = Compressor()
        try:
            self.consumer = connect(
                cfg.kafka,
                lambda: KafkaConsumer(
                    **cfg.kafka.client_kwargs(),
                    group_id=cfg.group_id,
                    group_instance_id=cfg.group_instance_id or socket.gethostname(),
                    session_timeout_ms=cfg.session_timeout_ms,
                    enable_auto_commit=False,
                    auto_offset_reset="earliest",
                    max_poll_records=cfg.max_poll_records,
                ),
            )
            self.consumer.subscribe(cfg.topics, listener=_Rebalance(self))
            self.health.ready = True
            logger.info("archiver started", extra={"topics": cfg.topics, "group_id": cfg.group_id})
            next_lag = next_disk = 0.0
            while not self.stop.is_set():
                if self.paused_for_disk:
                    self._maybe_resume()
                elif time.monotonic() >= next_disk:
                    # Also between records: a disk filled by something else is reported
                    # (healthz, metric) while idle, and nothing is fetched onto it.
                    self._check_disk()
                    next_disk = time.monotonic() + DISK_CHECK_S
                records = self.consumer.poll(timeout_ms=self.poll_timeout_ms())
                if self.to_align:
                    # Records of these partitions were held back (paused): none are in
                    # `records`, and they resume from the aligned position.
                    pending, self.to_align = self.to_align, set()
                    self.align_with_spool(pending)
                if records:
                    self.handle(records)
                else:
                    self.rotate_aged()
                if self.paused_for_disk:
                    self.stop.wait(DISK_RETRY_S)
                if time.monotonic() >= next_lag:
                    self.update_lag()
                    next_lag = time.monotonic() + LAG_EVERY_S
            for tp in list(self.files):
                self.rotate(tp)
            return 0
        finally:
            for pf in self.files.values():
                pf.discard()
            self.compressor.close()
            if self.consumer is not None:
                self.consumer.close(autocommit=False)
            status.stop()
            logger.info("archiver stopped")


def run(cfg: ArchiverConfig, stop: threading.Event) -> int:
    return Archiver(cfg, stop).run()
