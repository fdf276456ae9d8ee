"""`lakefeed query`'s engine: the catalog's tables and view, in DuckDB, over local files."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from lakefeed.archiver.writer import PartitionFile
from lakefeed.errors import LakefeedError
from lakefeed.query import LocalCatalog, database_name, render, table_name, view_sql
from lakefeed.record import SpoolName, lake_key, make_record
from lakefeed.spool import Spool

ROOT = Path(__file__).resolve().parents[2]


def _archive(
    lake: Path, spool: Spool, topic: str, partition: int, first: int, n: int, at: str
) -> str:
    """One archived file of `n` records from `first`, landed under its lake key."""
    pf = PartitionFile(spool, topic, partition, first, level=1)
    for o in range(first, first + n):
        payload = {"data": {"id": f"{partition}-{o}", "nested": {"a": [1, 2]}}}
        pf.write(o, make_record(f"{partition}-{o}", "replay:t", payload, at))
    done = pf.finish()
    key = lake_key("raw", SpoolName.parse(done.name), at)  # type: ignore[arg-type]
    (lake / key).parent.mkdir(parents=True, exist_ok=True)
    done.rename(lake / key)
    return key


@pytest.fixture
def lake(tmp_path: Path) -> Path:
    lake, spool = tmp_path / "lake", Spool(tmp_path / "spool")
    spool.ensure()
    # Partition 0: 0-99, then re-cut after a crash as 0-49 and 50-149, the second in the
    # next hour: 150 records, 100 of them twice, copies in two hours.
    _archive(lake, spool, "x.posts", 0, 0, 100, "2026-11-23T05:59:58.000Z")
    _archive(lake, spool, "x.posts", 0, 0, 50, "2026-11-23T05:59:58.000Z")
    _archive(lake, spool, "x.posts", 0, 50, 100, "2026-11-23T06:00:01.000Z")
    _archive(lake, spool, "x.posts", 1, 0, 10, "2026-11-23T06:10:00.000Z")
    _archive(lake, spool, "flights", 0, 0, 3, "2026-11-24T00:00:00.000Z")
    # A file archived before lines carried coordinates (ADR 14): plain records.
    old = lake / "raw/x.posts/year=2026/month=10/day=01/hour=00"
    old.mkdir(parents=True)
    lines = [
        make_record(f"old-{i}", "replay:t", {"i": i}, "2026-10-01T00:00:00.000Z") for i in range(4)
    ]
    (old / "x.posts+5+00000000000000000000-00000000000000000003.jsonl.gz").write_bytes(
        gzip.compress(b"\n".join(lines) + b"\n")
    )
    return lake


def _catalog(lake: Path) -> LocalCatalog:
    return LocalCatalog(ROOT, lake, "lf-bucket", "lakefeed_lab_lake")


def test_the_view_counts_each_record_once_as_athena_would(lake: Path) -> None:
    catalog = _catalog(lake)
    assert catalog.topics == ["flights", "x.posts"]
    _, [(lines,)] = catalog.sql("SELECT count(*) FROM x_posts_lines")
    assert lines == 100 + 50 + 100 + 10 + 4
    _, rows = catalog.sql(
        "SELECT kafka_partition, count(*), count(DISTINCT kafka_offset), min(kafka_offset), "
        "max(kafka_offset) FROM x_posts GROUP BY 1 ORDER BY 1 NULLS LAST"
    )
    # Each (partition, offset) once; the old file's lines have no coordinates and pass.
    assert rows == [(0, 150, 150, 0, 149), (1, 10, 10, 0, 9), (None, 4, 0, None, None)]
    # The copy kept is the one of the first object by key: offsets 50-99 count in hour 05.
    _, by_hour = catalog.sql(
        "SELECT hour, count(*) FROM x_posts WHERE kafka_partition = 0 GROUP BY 1 ORDER BY 1"
    )
    assert by_hour == [(5, 100), (6, 50)]


def test_the_views_columns_are_the_records(lake: Path) -> None:
    catalog = _catalog(lake)
    columns, rows = catalog.sql(
        "SELECT * FROM lakefeed_lab_lake.x_posts WHERE kafka_partition = 1 AND kafka_offset = 7"
    )
    assert columns == [
        "id", "source", "collected_at", "payload", "kafka_topic", "kafka_partition",
        "kafka_offset", "year", "month", "day", "hour", "object",
    ]  # fmt: skip
    [row] = rows
    record = dict(zip(columns, row, strict=True))
    assert json.loads(record.pop("payload")) == {"data": {"id": "1-7", "nested": {"a": [1, 2]}}}
    assert record == {
        "id": "1-7",
        "source": "replay:t",
        "collected_at": "2026-11-23T06:10:00.000Z",
        "kafka_topic": "x.posts",
        "kafka_partition": 1,
        "kafka_offset": 7,
        "year": 2026,
        "month": 11,
        "day": 23,
        "hour": 6,
        "object": "s3://lf-bucket/raw/x.posts/year=2026/month=11/day=23/hour=06/"
        "x.posts+1+00000000000000000000-00000000000000000009.jsonl.gz",
    }
    # Trino's meaning: json_extract_scalar of an object is NULL, of a string its value.
    _, [(obj, text)] = catalog.sql(
        "SELECT json_extract_scalar(payload, '$.data.nested'), "
        "json_extract_scalar(payload, '$.data.id') FROM x_posts WHERE id = '1-7'"
    )
    assert (obj, text) == (None, "1-7")


def test_the_view_is_terraforms_template_and_names_follow_its_rules() -> None:
    sql = view_sql(ROOT, "lakefeed_dev_lake", "x_posts")
    assert 'FROM "lakefeed_dev_lake"."x_posts_lines"' in sql
    assert "${" not in sql
    assert "PARTITION BY kafka_partition, kafka_offset ORDER BY object" in sql
    assert table_name("X.posts-2") == "x_posts_2"
    assert database_name("lakefeed-dev") == "lakefeed_dev_lake"


def test_a_bad_query_names_the_cause(lake: Path) -> None:
    with pytest.raises(LakefeedError, match=r"query failed: .*no_such_table"):
        _catalog(lake).sql("SELECT * FROM no_such_table")


def test_render_is_a_plain_table() -> None:
    assert render(["hour", "records"], [(5, 100), (6, None)]) == (
        "hour  records\n----  -------\n5     100\n6\n(2 rows)\n"
    )


def test_one_topic_under_two_prefixes_is_refused_by_name(lake: Path) -> None:
    (lake / "other/x.posts/year=2026").mkdir(parents=True)
    with pytest.raises(LakefeedError, match=r"would both be table x_posts: query one lake prefix"):
        _catalog(lake)
