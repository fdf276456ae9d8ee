"""The archiver's spool files: one gzip JSONL file per partition, written through
`PartitionFile` and finished into `ready/` (the contract: lakefeed/spool.py).

The gzip work of open files can run on `Compressor` threads: zlib-ng releases the GIL, so
it overlaps with the consumer thread fetching and decoding the next records, and the
files of different partitions compress at the same time. The deflate is zlib-ng's (the
`zlib-ng` package): the same gzip format and level in about half the CPU time of the
standard library's zlib (docs/benchmarks.md, row 2). `finish()` waits for all of a
file's chunks before it fsyncs, so a finished file is complete.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from zlib_ng import gzip_ng

from lakefeed.record import SpoolName, coordinates_tail, lake_line
from lakefeed.spool import PART_SUFFIX, Spool, fsync_dir

# Writing the gzip stream in large chunks costs far less than one call per record.
_FLUSH_AT = 1024 * 1024


class Compressor:
    """Threads that compress and write the chunks of the open files, each file's in order.

    Each file is pinned to one thread (its lane, given round-robin as files open), so its
    chunks are written in order while other files' chunks use the other threads. At most
    `max_chunks` chunks wait in all (of about 1 MiB each): beyond that `submit` waits for
    the oldest, so a slow disk slows consumption instead of growing memory. The rebalance
    listener finishes files on kafka-python's IO thread: hence the lock.
    """

    def __init__(self, max_chunks: int = 8, threads: int = 2) -> None:
        self.max_chunks = max_chunks
        self._lanes = [
            ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"spool-gzip-{i}")
            for i in range(threads)
        ]
        self._next_lane = 0
        self._queued: deque[Future[None]] = deque()
        self._lock = threading.Lock()

    def lane(self) -> int:
        """The thread a newly opened file's chunks go to."""
        with self._lock:
            lane = self._next_lane
            self._next_lane = (lane + 1) % len(self._lanes)
            return lane

    def submit(self, gz: gzip_ng.GzipFile, data: bytes, lane: int = 0) -> Future[None]:
        with self._lock:
            while self._queued and self._queued[0].done():
                self._queued.popleft()
            while len(self._queued) >= self.max_chunks:
                # Only waits: an error belongs to the chunk's file, which raises it itself.
                self._queued.popleft().exception()
            fut = self._lanes[lane].submit(gz.write, data)
            self._queued.append(fut)
            return fut

    def close(self) -> None:
        for pool in self._lanes:
            pool.shutdown(wait=True, cancel_futures=True)


class PartitionFile:
    """One open gzip JSONL file for one partition, named by its first offset until done."""

    def __init__(
        self,
        spool: Spool,
        topic: str,
        partition: int,
        first: int,
        level: int,
        *,
        compressor: Compressor | None = None,
    ) -> None:
        self.spool = spool
        self.topic = topic
        self.partition = partition
        self.first = first
        self.last = first - 1
        self.count = 0
        self.bytes = 0
        self.opened = time.monotonic()
        self.path = spool.writing / f"{topic}+{partition}+{first:020d}{PART_SUFFIX}"
        self._raw = self.path.open("wb")
        # mtime=0 and no file name in the header: the same records give the same bytes,
        # so a file re-made after a crash is identical to the first one.
        self._gz = gzip_ng.GzipFile(
            filename="", mode="wb", compresslevel=level, fileobj=self._raw, mtime=0
        )
        self.compressed_bytes = 0
        self._buf: list[bytes] = []
        self._buffered = 0
        self._compressor = compressor
        self._lane = compressor.lane() if compressor is not None else 0
        self._chunks: deque[Future[None]] = deque()  # handed to the compressor, in order
        self._tail = coordinates_tail(topic, partition)

    def write(self, offset: int, value: bytes) -> None:
        line = lake_line(value, self._tail, offset)
        self._buf.append(line)
        self._buffered += len(line)
        self.bytes += len(line)
        self.count += 1
        self.last = offset
        if self._buffered >= _FLUSH_AT:
            self._drain()

    def _drain(self) -> None:
        if self._buf:
            data = b"".join(self._buf)
            self._buf.clear()
            self._buffered = 0
            if self._compressor is None:
                self._gz.write(data)
                return
            self._settle(wait=False)
            self._chunks.append(self._compressor.submit(self._gz, data, self._lane))

    def _settle(self, wait: bool) -> None:
        """Forget chunks the compressor has written (all of them if `wait`); raise the
        first one's error (OSError: disk full...)."""
        while self._chunks and (wait or self._chunks[0].done()):
            self._chunks.popleft().result()

    def finish(self) -> Path:
        """Flush, fsync, rename into ready/ and fsync ready/: the file is then durable."""
        self._drain()
        self._settle(wait=True)
        self._gz.close()
        self._raw.flush()
        os.fsync(self._raw.fileno())
        # Taken before the rename: from then on the shipper may delete the file any time.
        self.compressed_bytes = self._raw.tell()
        self._raw.close()
        final = self.spool.ready / str(SpoolName(self.topic, self.partition, self.first, self.last))
        os.replace(self.path, final)
        fsync_dir(self.spool.ready)
        return final

    def discard(self) -> None:
        # Let no chunk of ours run after the close; their errors don't matter any more.
        for fut in self._chunks:
            fut.cancel()
        for fut in self._chunks:
            if not fut.cancelled():
                fut.exception()
        self._chunks.clear()
        # The disk may be full: closing can fail, and the file goes anyway.
        with contextlib.suppress(OSError):
            self._gz.close()
        with contextlib.suppress(OSError):
            self._raw.close()
        self.path.unlink(missing_ok=True)
