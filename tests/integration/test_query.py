"""`lakefeed query` against a real S3 server (MinIO): the mirror, then the catalog's SQL."""

from __future__ import annotations

from pathlib import Path

from lakefeed.local.servers import LocalS3
from lakefeed.query import LocalCatalog, mirror
from lakefeed.spool import Spool
from tests.support.lake import put_raw

ROOT = Path(__file__).resolve().parents[2]


def test_the_mirror_fetches_each_object_once_and_the_view_dedups(
    s3: LocalS3, bucket: str, tmp_path: Path
) -> None:
    client = s3.client()
    spool = Spool(tmp_path / "spool")
    spool.ensure()
    put_raw(client, bucket, spool, 0, 40, "2026-11-23T05:00:00.000Z")
    put_raw(client, bucket, spool, 0, 25, "2026-11-23T05:00:00.000Z")  # a re-cut copy
    client.put_object(Bucket=bucket, Key="raw/notes.txt", Body=b"not a lake object")
    said: list[str] = []
    into = tmp_path / "mirror"

    first = mirror(client, bucket, "", into, said.append)
    assert (first.fetched, first.objects) == (2, 2)
    catalog = LocalCatalog(ROOT, into, bucket, "lakefeed_lab_lake")
    _, [(records, lines)] = catalog.sql(
        "SELECT (SELECT count(*) FROM x_posts), (SELECT count(*) FROM x_posts_lines)"
    )
    assert (records, lines) == (40, 65)

    # A new object is fetched, the old ones are not fetched again.
    put_raw(client, bucket, spool, 40, 10, "2026-11-23T06:00:00.000Z")
    again = mirror(client, bucket, "", into, said.append)
    assert (again.fetched, again.objects) == (1, 3)
    assert said[-1] == f"lake mirror {into}: 1 new objects, 3 in all"
    assert not list(into.rglob("*.part"))
    _, [(records,)] = LocalCatalog(ROOT, into, bucket, "lakefeed_lab_lake").sql(
        "SELECT count(*) FROM lakefeed_lab_lake.x_posts"
    )
    assert records == 50
