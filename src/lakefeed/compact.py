"""`lakefeed compact`: each hour of the lake, every record once, as one Parquet object.

The raw lake is gzip JSON lines, a record possibly in two objects (docs/guarantees.md).
Compaction writes, per topic and hour, the rows of the catalog's deduplicated view
(`<topic>`, terraform/modules/catalog/view.sql.tftpl) whose copy is in that hour, to

    <into>/<topic>/year=YYYY/month=MM/day=DD/hour=HH/<topic>-YYYYMMDDHH.parquet

sorted by (kafka_partition, kafka_offset). The raw objects are never touched.

Why a re-run, or a run killed at any point, never duplicates or loses a record:
- One object per hour, with a name that depends on nothing but the hour: a re-run
  replaces it, never adds beside it, and an S3 PUT is all or nothing, so a reader sees
  the old object or the new one, never a part.
- Every run computes every hour again from the whole lake (the view's dedup is over the
  whole topic: two copies of a record may be in objects of two different hours) and
  replaces an hour's object only when its bytes differ (their SHA-256 is kept in the
  object's metadata). A raw object landing late for an hour already compacted, or a
  copy that moves a record into another hour, changes exactly the hours it concerns; the
  next run writes them.
- Only closed hours are compacted (ended `settle_minutes` ago), so an hour is seldom
  written twice; `open_hours` compacts the current one too (a later run redoes it).

The engine is DuckDB over the local mirror `lakefeed query` keeps (ADR 16): bounded by
one machine, measured in docs/benchmarks.md. ADR 17 has the choice of plain Hive-style
Parquet over an Iceberg table.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from lakefeed.errors import LakefeedError
from lakefeed.query import LocalCatalog, table_name
from lakefeed.runner.rollout import utc_now
from lakefeed.shipper.daemon import file_digest

# Where the compacted objects go, beside the raw lake's topics (`refuse_clashing_topics`).
COMPACTED_PREFIX = "compacted/"
PARQUET_SUFFIX = ".parquet"
SHA256_KEY = "sha256"  # user metadata: the object's own SHA-256, hex
COLUMNS = "id, source, collected_at, payload, kafka_topic, kafka_partition, kafka_offset, object"
# The rows of an hour in one order whatever the copies: the coordinates first; lines of
# an older archiver carry none and sort after, by what they hold.
ORDER = "kafka_partition, kafka_offset, object, id, collected_at, payload"


def compacted_key(into: str, topic: str, hour: datetime) -> str:
    """The one object of `topic`'s `hour` under the prefix `into`."""
    return (
        f"{into}{topic}/year={hour:%Y}/month={hour:%m}/day={hour:%d}/hour={hour:%H}/"
        f"{topic}-{hour:%Y%m%d%H}{PARQUET_SUFFIX}"
    )


@dataclass
class Compacted:
    """What one run did."""

    hours: int = 0  # hours with records, closed (or all with open_hours)
    written: list[str] = field(default_factory=list)  # keys written this run
    unchanged: int = 0  # hours whose object already held these rows
    records: int = 0  # rows in all of them
    open_hours_skipped: int = 0  # hours not closed yet, left for a later run
    bytes_written: int = 0


class Compaction:
    """One compaction of a mirrored lake into `bucket`/`into`."""

    def __init__(
        self,
        catalog: LocalCatalog,
        client: Any,
        bucket: str,
        staging: Path,
        *,
        into: str = COMPACTED_PREFIX,
        settle_minutes: int = 30,
        open_hours: bool = False,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        say: Callable[[str], None] = lambda _text: None,
    ) -> None:
        self.catalog = catalog
        self.client = client
        self.bucket = bucket
        self.staging = staging
        self.into = into
        self.settle = timedelta(minutes=settle_minutes)
        self.open_hours = open_hours
        self.now = now
        self.say = say

    def run(self) -> Compacted:
        done = Compacted()
        # Closed: the hour ended `settle` ago.
        horizon = self.now() - self.settle - timedelta(hours=1)
        shutil.rmtree(self.staging, ignore_errors=True)
        self.staging.mkdir(parents=True)
        try:
            for topic in self.catalog.topics:
                self._topic(topic, horizon, done)
        finally:
            shutil.rmtree(self.staging, ignore_errors=True)
        return done

    def _topic(self, topic: str, horizon: datetime, done: Compacted) -> None:
        table = table_name(topic)
        con = self.catalog.con
        # The view's dedup is over the whole topic: computed once per run, not per hour.
        con.execute(f'CREATE OR REPLACE TEMP TABLE compact_rows AS SELECT * FROM "{table}"')  # noqa: S608
        hours = con.execute(
            "SELECT year, month, day, hour, count(*) FROM compact_rows GROUP BY ALL ORDER BY ALL"
        ).fetchall()
        many = "hour" if len(hours) == 1 else "hours"
        self.say(f"{topic}: {sum(h[4] for h in hours)} records in {len(hours)} {many}")
        for year, month, day, hour, records in hours:
            when = datetime(year, month, day, hour, tzinfo=UTC)
            if when > horizon and not self.open_hours:
                done.open_hours_skipped += 1
                continue
            done.hours += 1
            done.records += records
            key = compacted_key(self.into, topic, when)
            local = self.staging / key
            local.parent.mkdir(parents=True, exist_ok=True)
            path = str(local).replace("'", "''")
            con.execute(
                f"COPY (SELECT {COLUMNS} FROM compact_rows "  # noqa: S608
                f"WHERE year = {year} AND month = {month} AND day = {day} AND hour = {hour} "
                f"ORDER BY {ORDER}) TO '{path}' (FORMAT parquet, COMPRESSION zstd)"
            )
            size, digest, _ = file_digest(local)
            sha = digest.hex()  # as the shipper keeps it: the `sha256` metadata, hex
            if self._stored_sha256(key) == sha:
                done.unchanged += 1
            else:
                self._upload(local, key, {SHA256_KEY: sha, "records": str(records)})
                done.written.append(key)
                done.bytes_written += size
                self.say(f"wrote s3://{self.bucket}/{key} ({records} records)")
            local.unlink()
        con.execute("DROP TABLE compact_rows")

    def _upload(self, local: Path, key: str, metadata: dict[str, str]) -> None:
        """One PUT (or multipart upload, completed as one): all of the object or none."""
        from boto3.exceptions import S3UploadFailedError  # noqa: PLC0415
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

        try:
            self.client.upload_file(str(local), self.bucket, key, ExtraArgs={"Metadata": metadata})
        except (S3UploadFailedError, BotoCoreError, ClientError) as exc:
            raise LakefeedError(
                f"cannot write s3://{self.bucket}/{key}: {exc}. The hours written before it "
                "are complete; the next run writes this one and the rest"
            ) from exc

    def _stored_sha256(self, key: str) -> str | None:
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

        try:
            head = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise LakefeedError(f"cannot read s3://{self.bucket}/{key}: {exc}") from exc
        except BotoCoreError as exc:
            raise LakefeedError(f"cannot read s3://{self.bucket}/{key}: {exc}") from exc
        return head.get("Metadata", {}).get(SHA256_KEY)


def refuse_clashing_topics(topics: list[str], into: str) -> None:
    """No topic may be named like the compacted prefix's first directory."""
    top = into.strip("/").split("/", 1)[0]
    if top in topics:
        raise LakefeedError(
            f"a topic is named {top!r}, the compacted data's prefix {into!r}: choose another "
            "prefix for the compacted objects"
        )


def record_line(started: float, start: str, result: str, **more: Any) -> dict[str, Any]:
    return {
        "start": start,
        "end": utc_now(),
        "pid": os.getpid(),
        "result": result,
        **more,
        "seconds": round(time.monotonic() - started, 1),
    }


def append_line(log: Path, record: dict[str, Any], out: TextIO = sys.stdout) -> None:
    """The run's JSON line: on `out` and appended to `log`."""
    line = json.dumps(record) + "\n"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a", encoding="utf-8") as f:
        f.write(line)
    out.write(line)
    out.flush()
