"""`lakefeed ship`: ready/ files -> S3, verified, then deleted (or kept in shipped/).

A file leaves ready/ only after the object under its lake key is verified: same size and
the same SHA-256 as the local file (kept in the object's `sha256` metadata). Puts are
conditional (`If-None-Match: *`): an object already there is verified, never overwritten.
While S3 fails, files wait in ready/ and are retried with backoff and jitter.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import hashlib
import heapq
import json
import logging
import os
import random
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import crc32c
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from inotify_simple import INotify
from inotify_simple import flags as iflags
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from lakefeed.config import ShipperConfig, check_secrets
from lakefeed.record import SpoolName, lake_key
from lakefeed.service import Backoff, Health, StatusServer, base_metrics
from lakefeed.spool import Spool, fsync_dir

logger = logging.getLogger(__name__)

RESCAN_EVERY_S = 60.0
RETENTION_EVERY_S = 300.0
S3_UNHEALTHY_AFTER = 3
_HASH_CHUNK = 1024 * 1024


class Conflict(Exception):
    """The lake already has a different object under this key: keep the file, alert."""


class BadFile(Exception):
    """The spool file cannot be read as a contract file; it is set aside, not deleted."""


@dataclass(frozen=True)
class Outcome:
    name: str
    result: str  # uploaded | already_present | conflict | bad_file | error
    key: str = ""
    size: int = 0
    error: str = ""


def file_digest(path: Path, part_size: int | None = None) -> tuple[int, bytes, list[bytes]]:
    """Size, SHA-256 of the whole file and, with `part_size`, the CRC32C of each part:
    one read pass. S3 checks each part's CRC32C as it arrives; the whole file's SHA-256
    goes into the object's metadata and is compared with a HEAD. A second SHA-256 per
    part made large uploads CPU-bound (docs/benchmarks.md, row 3d); CRC32C is computed
    by the CPU's own instruction and catches the corruption in transit a part checksum is
    there for."""
    whole = hashlib.sha256()
    parts: list[bytes] = []
    part = crc32c.CRC32CHash()
    in_part = 0
    size = 0
    with path.open("rb") as f:
        # Never read across a part boundary, whatever the part size.
        while chunk := f.read(min(_HASH_CHUNK, part_size - in_part) if part_size else _HASH_CHUNK):
            whole.update(chunk)
            size += len(chunk)
            if part_size:
                part.update(chunk)
                in_part += len(chunk)
                if in_part == part_size:
                    parts.append(part.digest())
                    part, in_part = crc32c.CRC32CHash(), 0
    if part_size and in_part:
        parts.append(part.digest())
    return size, whole.digest(), parts


def first_collected_at(path: Path) -> str:
    try:
        with gzip.open(path, "rb") as f:
            line = f.readline()
        return json.loads(line)["collected_at"]
    except (OSError, EOFError, ValueError, KeyError, TypeError) as exc:
        raise BadFile(f"cannot read the first record's collected_at: {exc}") from exc


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


class Uploader:
    """Puts one file under its key, conditionally, and verifies what S3 then holds."""

    def __init__(self, cfg: ShipperConfig) -> None:
        s3cfg = cfg.s3
        kwargs: dict[str, Any] = {}
        if s3cfg.access_key and s3cfg.secret_key:
            kwargs["aws_access_key_id"] = s3cfg.access_key.read("s3.access_key")
            kwargs["aws_secret_access_key"] = s3cfg.secret_key.read("s3.secret_key")
        self.client = boto3.session.Session().client(
            "s3",
            endpoint_url=s3cfg.endpoint_url,
            region_name=s3cfg.region,
            verify=s3cfg.ca_bundle,
            config=Config(
                retries={"max_attempts": 3, "mode": "standard"},
                max_pool_connections=max(10, cfg.concurrency * 4),
                connect_timeout=5,
                read_timeout=60,
                s3={"addressing_style": s3cfg.addressing_style},
            ),
            **kwargs,
        )
        self.bucket = s3cfg.bucket
        self.prefix = s3cfg.prefix
        self.threshold = s3cfg.multipart_threshold_bytes
        self.chunk = s3cfg.multipart_chunk_bytes
        self.part_workers = max(1, min(8, cfg.concurrency))

    def key_for(self, path: Path, name: SpoolName) -> str:
        return lake_key(self.prefix, name, first_collected_at(path))

    def ship(self, path: Path, name: SpoolName) -> tuple[str, str, int]:
        """Returns (result, key, size); result is 'uploaded' or 'already_present'."""
        key = self.key_for(path, name)
        multipart = path.stat().st_size >= self.threshold
        size, digest, part_digests = file_digest(path, self.chunk if multipart else None)
        meta = {"sha256": digest.hex()}
        try:
            if multipart:
                self._multipart(path, key, size, meta, part_digests)
            else:
                body = path.read_bytes()
                self.client.put_object(
                    Bucket=self.bucket,
                    Key=key,
                    Body=body,
                    IfNoneMatch="*",
                    Metadata=meta,
                    ChecksumSHA256=_b64(digest),
                    ContentType="application/x-ndjson",
                    ContentEncoding="gzip",
                )
            result = "uploaded"
        except ClientError as exc:
            # 412: the key exists. 409: a concurrent conditional write won the race.
            if _status(exc) not in (409, 412) and _code(exc) not in (
                "PreconditionFailed",
                "ConditionalRequestConflict",
            ):
                raise
            result = "already_present"
        self.verify(key, size, digest, existing=result == "already_present")
        return result, key, size

    def verify(self, key: str, size: int, digest: bytes, existing: bool) -> None:
        head = self.client.head_object(Bucket=self.bucket, Key=key)
        remote_sha = head.get("Metadata", {}).get("sha256", "")
        if head["ContentLength"] == size and remote_sha == digest.hex():
            return
        what = (
            f"size {head['ContentLength']} vs {size}, sha256 "
            f"{remote_sha or '(none)'} vs {digest.hex()}"
        )
        if existing:
            raise Conflict(f"s3://{self.bucket}/{key} already holds different bytes ({what})")
        raise RuntimeError(f"uploaded object does not match the file ({what})")

    def _multipart(
        self, path: Path, key: str, size: int, meta: dict[str, str], digests: list[bytes]
    ) -> None:
        up = self.client.create_multipart_upload(
            Bucket=self.bucket,
            Key=key,
            Metadata=meta,
            ChecksumAlgorithm="CRC32C",
            ContentType="application/x-ndjson",
            ContentEncoding="gzip",
        )
        upload_id = up["UploadId"]
        fd = os.open(path, os.O_RDONLY)

        def part(number: int) -> dict[str, Any]:
            offset = (number - 1) * self.chunk
            data = os.pread(fd, min(self.chunk, size - offset), offset)
            resp = self.client.upload_part(
                Bucket=self.bucket,
                Key=key,
                UploadId=upload_id,
                PartNumber=number,
                Body=data,
                # Computed in the same read pass as the whole file's SHA-256; S3 checks it.
                ChecksumCRC32C=_b64(digests[number - 1]),
            )
            return {
                "PartNumber": number,
                "ETag": resp["ETag"],
                "ChecksumCRC32C": resp["ChecksumCRC32C"],
            }

        try:
            count = (size + self.chunk - 1) // self.chunk
            with ThreadPoolExecutor(self.part_workers, thread_name_prefix="part") as pool:
                parts = list(pool.map(part, range(1, count + 1)))
            self.client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
                IfNoneMatch="*",
            )
        except BaseException:
            try:
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
            except (ClientError, BotoCoreError) as exc:
                logger.warning("could not abort multipart upload of %s: %s", key, exc)
            raise
        finally:
            os.close(fd)


class Shipper:
    def __init__(self, cfg: ShipperConfig, stop: threading.Event) -> None:
        self.cfg = cfg
        self.stop = stop
        self.spool = Spool(cfg.spool_dir)
        self.aside = cfg.spool_dir / "failed"
        self.inflight: dict[str, Future[Outcome]] = {}
        self.retry_at: list[tuple[float, str]] = []
        self.waiting: set[str] = set()
        self.backoff = Backoff(cfg.retry.initial_seconds, cfg.retry.max_seconds, rand=random.random)
        self.failures_in_row = 0
        self.uploader: Uploader | None = None
        self.registry = CollectorRegistry()
        base_metrics(self.registry, "shipper")
        r = self.registry
        self.m_files = Counter(
            "lakefeed_shipper_files", "Spool files handled, by outcome", ["outcome"], registry=r
        )
        self.m_bytes = Counter("lakefeed_shipper_bytes", "Bytes verified in S3", registry=r)
        self.m_seconds = Histogram(
            "lakefeed_shipper_upload_seconds",
            "Time to upload and verify one file",
            registry=r,
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
        )
        self.m_backlog = Gauge(
            "lakefeed_shipper_backlog_files", "Files waiting in ready/", registry=r
        )
        self.m_oldest = Gauge(
            "lakefeed_shipper_oldest_ready_age_seconds",
            "Age of the oldest file waiting in ready/",
            registry=r,
        )
        self.m_last = Gauge(
            "lakefeed_shipper_last_success_timestamp_seconds",
            "Unix time of the newest verified object",
            registry=r,
        )
        self.health = Health()

    # --- work --------------------------------------------------------------------

    def _ship(self, path: Path, name: SpoolName) -> Outcome:
        assert self.uploader is not None
        started = time.monotonic()
        try:
            result, key, size = self.uploader.ship(path, name)
        except FileNotFoundError:
            return Outcome(path.name, "gone")
        except (Conflict, BadFile) as exc:
            return self._set_aside(
                path, "conflict" if isinstance(exc, Conflict) else "bad_file", str(exc)
            )
        except (ClientError, BotoCoreError, OSError, RuntimeError) as exc:
            return Outcome(path.name, "error", error=f"{type(exc).__name__}: {exc}")
        self._done(path)
        self.m_seconds.observe(time.monotonic() - started)
        return Outcome(path.name, result, key, size)

    def _set_aside(self, path: Path, result: str, why: str) -> Outcome:
        self.aside.mkdir(exist_ok=True)
        os.replace(path, self.aside / path.name)
        fsync_dir(self.aside)
        logger.error("set aside %s in %s: %s", path.name, self.aside, why)
        return Outcome(path.name, result, error=why)

    def _done(self, path: Path) -> None:
        # No fsync of ready/ after the file leaves it: should a crash undo the unlink or
        # rename, the file is shipped again, the conditional put finds the object and it
        # is verified, not written twice. One fsync per file saved.
        if self.cfg.after_upload == "keep":
            os.replace(path, self.spool.shipped / path.name)
            fsync_dir(self.spool.shipped)
        else:
            path.unlink()

    def submit(self, pool: ThreadPoolExecutor, filename: str) -> None:
        if filename in self.inflight or filename in self.waiting:
            return
        name = SpoolName.parse(filename)
        if name is None:
            return
        path = self.spool.ready / filename
        self.inflight[filename] = pool.submit(self._ship, path, name)

    def scan(self, pool: ThreadPoolExecutor) -> None:
        for filename in sorted(os.listdir(self.spool.ready)):
            self.submit(pool, filename)

    def reap(self) -> None:
        for filename, fut in list(self.inflight.items()):
            if not fut.done():
                continue
            del self.inflight[filename]
            out = fut.result()
            self.m_files.labels(outcome=out.result).inc()
            if out.result == "error":
                self.failures_in_row += 1
                delay = self.backoff.next_delay()
                heapq.heappush(self.retry_at, (time.monotonic() + delay, filename))
                self.waiting.add(filename)
                logger.warning(
                    "upload of %s failed (%s); retry in %.1fs", filename, out.error, delay
                )
                if self.failures_in_row >= S3_UNHEALTHY_AFTER:
                    self.health.problem("s3", out.error)
            elif out.result in ("uploaded", "already_present"):
                self.failures_in_row = 0
                self.backoff.reset()
                self.health.problem("s3", None)
                self.m_bytes.inc(out.size)
                self.m_last.set(time.time())
                self.health.detail("last_shipped", out.key)
                logger.info(
                    "shipped",
                    extra={
                        "file": filename,
                        "key": out.key,
                        "bytes": out.size,
                        "result": out.result,
                    },
                )

    def due_retries(self, pool: ThreadPoolExecutor) -> None:
        now = time.monotonic()
        while self.retry_at and self.retry_at[0][0] <= now:
            _, filename = heapq.heappop(self.retry_at)
            self.waiting.discard(filename)
            if (self.spool.ready / filename).exists():
                self.submit(pool, filename)

    def measure_backlog(self) -> None:
        oldest = None
        count = 0
        for entry in os.scandir(self.spool.ready):
            try:
                mtime = entry.stat().st_mtime
            except FileNotFoundError:
                continue  # an upload thread just shipped and deleted it
            count += 1
            oldest = mtime if oldest is None else min(oldest, mtime)
        self.m_backlog.set(count)
        self.m_oldest.set(time.time() - oldest if oldest else 0)
        self.health.detail("backlog_files", count)

    def expire_shipped(self) -> None:
        if self.cfg.after_upload != "keep":
            return
        horizon = time.time() - self.cfg.shipped_retention_hours * 3600
        for entry in os.scandir(self.spool.shipped):
            with contextlib.suppress(FileNotFoundError):  # removed by hand meanwhile
                if entry.stat().st_mtime < horizon:
                    os.unlink(entry.path)

    def run(self) -> int:
        cfg = self.cfg
        check_secrets(cfg)
        self.spool.ensure()
        self.uploader = Uploader(cfg)
        status = StatusServer(cfg.metrics.host, cfg.metrics.port, self.registry, self.health)
        status.start()
        inotify = INotify()
        pool = ThreadPoolExecutor(cfg.concurrency, thread_name_prefix="ship")
        try:
            # Watch first, then scan: a file renamed in between is seen by both, and
            # `submit` ignores the second sighting.
            inotify.add_watch(self.spool.ready, iflags.MOVED_TO)
            self.scan(pool)
            self.health.ready = True
            logger.info("shipper started", extra={"bucket": cfg.s3.bucket, "prefix": cfg.s3.prefix})
            next_scan = time.monotonic() + RESCAN_EVERY_S
            next_retention = 0.0
            while not self.stop.is_set():
                for event in inotify.read(timeout=200):
                    if event.mask & iflags.Q_OVERFLOW:
                        logger.warning("inotify queue overflowed; rescanning ready/")
                        self.scan(pool)
                    elif event.name:
                        self.submit(pool, event.name)
                self.reap()
                self.due_retries(pool)
                now = time.monotonic()
                if now >= next_scan:
                    self.scan(pool)
                    self.measure_backlog()
                    next_scan = now + RESCAN_EVERY_S
                if now >= next_retention:
                    self.expire_shipped()
                    self.measure_backlog()
                    next_retention = now + RETENTION_EVERY_S
            logger.info("finishing %d uploads in flight", len(self.inflight))
            pool.shutdown(wait=True)
            self.reap()
            return 0
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            inotify.close()
            status.stop()
            logger.info("shipper stopped")


def run(cfg: ShipperConfig, stop: threading.Event) -> int:
    return Shipper(cfg, stop).run()
