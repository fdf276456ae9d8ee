"""`lakefeed compact` against a real S3 server (MinIO): each hour once, deduplicated, and
nothing doubled or lost by a re-run, a late copy or a run killed half-way."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest

from lakefeed.compact import COMPACTED_PREFIX, Compacted, Compaction
from lakefeed.errors import LakefeedError
from lakefeed.local.servers import LocalS3
from lakefeed.query import LocalCatalog, mirror
from lakefeed.spool import Spool
from tests.support.lake import put_raw

ROOT = Path(__file__).resolve().parents[2]
DATABASE = "lakefeed_lab_lake"
Put = Callable[[int, int, int], None]


@pytest.fixture
def raw(s3: LocalS3, bucket: str, tmp_path: Path) -> Put:
    """put(first, n, hour): one raw object of x.posts/0 in `bucket`, collected in `hour`."""
    client = s3.client()
    spool = Spool(tmp_path / "spool")
    spool.ensure()

    def put(first: int, n: int, h: int) -> None:
        put_raw(client, bucket, spool, first, n, hour(h))

    return put


def hour(h: int) -> str:
    return f"2026-11-23T{h:02d}:10:00.000Z"


def compact(client: Any, bucket: str, tmp_path: Path) -> Compacted:
    into = tmp_path / "mirror"
    mirror(client, bucket, "", into, lambda _: None)
    catalog = LocalCatalog(ROOT, into, bucket, DATABASE)
    return Compaction(catalog, client, bucket, tmp_path / "staging").run()


def compacted(client: Any, bucket: str, tmp_path: Path) -> dict[str, list[tuple[int, int]]]:
    """Each compacted object's key -> its rows' (kafka_partition, kafka_offset), in order."""
    found = {}
    listed = client.list_objects_v2(Bucket=bucket, Prefix=COMPACTED_PREFIX).get("Contents", [])
    for obj in listed:
        local = tmp_path / "read.parquet"
        client.download_file(bucket, obj["Key"], str(local))
        found[obj["Key"]] = duckdb.sql(
            f"SELECT kafka_partition, kafka_offset FROM read_parquet('{local}')"  # noqa: S608
        ).fetchall()
    return found


def etags(client: Any, bucket: str) -> dict[str, str]:
    listed = client.list_objects_v2(Bucket=bucket, Prefix=COMPACTED_PREFIX).get("Contents", [])
    return {o["Key"]: o["ETag"] for o in listed}


def key(h: int) -> str:
    return (
        f"{COMPACTED_PREFIX}x.posts/year=2026/month=11/day=23/hour={h:02d}/"
        f"x.posts-20261123{h:02d}.parquet"
    )


def offsets(a: int, b: int) -> list[tuple[int, int]]:
    return [(0, o) for o in range(a, b)]


def test_each_record_once_in_its_hour_and_a_rerun_writes_nothing(
    s3: LocalS3, bucket: str, tmp_path: Path, raw: Put
) -> None:
    client = s3.client()
    raw(0, 40, 5)
    raw(0, 25, 5)  # a re-cut copy, same hour
    raw(40, 10, 6)
    raw(45, 15, 7)  # 45..49 again, an hour later
    first = compact(client, bucket, tmp_path)
    assert (first.hours, first.records, first.unchanged) == (3, 60, 0)
    assert compacted(client, bucket, tmp_path) == {
        key(5): offsets(0, 40),
        key(6): offsets(40, 50),  # the first copy by key
        key(7): offsets(50, 60),
    }
    written = etags(client, bucket)

    again = compact(client, bucket, tmp_path)
    assert (again.written, again.unchanged, again.records) == ([], 3, 60)
    assert etags(client, bucket) == written

    # The compacted table answers as the view does.
    into = tmp_path / "mirror"
    cmirror = tmp_path / "compacted-mirror"
    mirror(client, bucket, COMPACTED_PREFIX, cmirror, lambda _: None, suffix=".parquet")
    catalog = LocalCatalog(
        ROOT, into, bucket, DATABASE, compacted=(cmirror, f"s3://{bucket}/{COMPACTED_PREFIX}")
    )
    _, rows = catalog.sql(
        'SELECT hour, count(*), count(DISTINCT kafka_offset), min("$path") '
        "FROM x_posts_compacted GROUP BY hour ORDER BY hour"
    )
    assert rows == [
        (5, 40, 40, f"s3://{bucket}/{key(5)}"),
        (6, 10, 10, f"s3://{bucket}/{key(6)}"),
        (7, 10, 10, f"s3://{bucket}/{key(7)}"),
    ]
    _, [(view, table)] = catalog.sql(
        "SELECT (SELECT count(*) FROM x_posts), (SELECT count(*) FROM x_posts_compacted)"
    )
    assert view == table == 60


def test_a_late_copy_rewrites_exactly_the_hours_it_moves_records_between(
    s3: LocalS3, bucket: str, tmp_path: Path, raw: Put
) -> None:
    """A copy landing later in an earlier hour becomes the first copy by key: its records
    leave their hours for that one. Those hours are written again, the others are not."""
    client = s3.client()
    raw(0, 40, 5)
    raw(40, 10, 6)
    raw(50, 10, 7)
    compact(client, bucket, tmp_path)
    before = etags(client, bucket)

    raw(35, 10, 4)  # 35..44, late, in an earlier hour
    late = compact(client, bucket, tmp_path)
    assert sorted(late.written) == [key(4), key(5), key(6)]
    assert late.unchanged == 1
    assert etags(client, bucket)[key(7)] == before[key(7)]
    assert compacted(client, bucket, tmp_path) == {
        key(4): offsets(35, 45),
        key(5): offsets(0, 35),
        key(6): offsets(45, 50),
        key(7): offsets(50, 60),
    }


# Run in a child process: the compaction of this test's lake, SIGKILLed by its own hand
# right after its first object is written (the worst moment: one hour new, the rest old).
KILLED_RUN = """
import os, signal, sys
from pathlib import Path
import boto3
from lakefeed.compact import Compaction
from lakefeed.query import LocalCatalog, mirror

endpoint, access, secret, bucket, work, root = sys.argv[1:]
client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                      aws_access_key_id=access, aws_secret_access_key=secret)
upload = client.upload_file

def upload_then_die(*args, **kwargs):
    upload(*args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)

client.upload_file = upload_then_die
work = Path(work)
mirror(client, bucket, "", work / "mirror", print)
catalog = LocalCatalog(Path(root), work / "mirror", bucket, "lakefeed_lab_lake")
Compaction(catalog, client, bucket, work / "staging").run()
"""


def test_a_run_killed_after_its_first_object_is_finished_by_the_next(
    s3: LocalS3, bucket: str, tmp_path: Path, raw: Put
) -> None:
    client = s3.client()
    for h in (5, 6, 7):
        raw((h - 5) * 20, 20, h)
        raw((h - 5) * 20, 7, h)  # and a duplicate
    # A lake compacted once, then a late copy in hour 4 of records of hours 5 and 6.
    compact(client, bucket, tmp_path)
    raw(15, 10, 4)

    killed = subprocess.run(
        [
            sys.executable,
            "-c",
            KILLED_RUN,
            *(s3.endpoint, s3.access_key, s3.secret_key, bucket, str(tmp_path / "k"), str(ROOT)),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    # Half-way: hour 4 written, hours 5 and 6 still hold the records that moved to it.
    half = compacted(client, bucket, tmp_path)
    assert half[key(4)] == offsets(15, 25)
    assert half[key(5)] == offsets(0, 20)

    finished = compact(client, bucket, tmp_path)
    assert sorted(finished.written) == [key(5), key(6)], finished
    assert compacted(client, bucket, tmp_path) == {
        key(4): offsets(15, 25),
        key(5): offsets(0, 15),
        key(6): offsets(25, 40),
        key(7): offsets(40, 60),
    }


def test_a_bucket_it_cannot_write_stops_the_run_with_the_object_named(
    s3: LocalS3, bucket: str, tmp_path: Path, raw: Put
) -> None:
    client = s3.client()
    raw(0, 10, 5)
    into = tmp_path / "mirror"
    mirror(client, bucket, "", into, lambda _: None)
    catalog = LocalCatalog(ROOT, into, bucket, DATABASE)
    run = Compaction(catalog, client, "no-such-bucket", tmp_path / "staging")
    with pytest.raises(
        LakefeedError, match=r"cannot write s3://no-such-bucket/compacted/x\.posts/"
    ):
        run.run()
    assert not (tmp_path / "staging").exists(), "the staging files must not be left behind"
