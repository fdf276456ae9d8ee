"""Row 7: the lake answering, docs/query.md. The raw lake of query_engines.build (the
sample's records in 6 partitions of 10,000-record files, one file in ten cut again: copies
before dedup), on local disk as `lakefeed query`'s mirror holds it, and the run's MinIO
as the bucket.

- 7a, `lakefeed compact` (lakefeed.compact.Compaction: DuckDB runs the catalog's view,
  one Parquet object per hour, each compared with the bucket's and uploaded) against the
  named peer, DuckDB's own conversion: `read_json` of every object straight into Parquet
  partitioned by hour (no dedup: it keeps the copies), uploaded by the same boto3 client.
- 7b, "records per hour and source, each once" over the compacted Parquet against the same question
  over the raw lake through the deduplicating view (what `lakefeed query` does before any
  compaction).

Each is measured `plan.repeat` times, alternating, the medians shown; the bucket's
compacted prefix is emptied before each compaction, so each run writes every hour. Both
ways of each row must give every archived record (7a's peer: every line).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench_harness import MIB, Lab, say
from bench_report import Row
from lakefeed.compact import COMPACTED_PREFIX, Compaction
from lakefeed.query import LocalCatalog, mirror
from query_engines import PARTITIONS, build
from rows_base import Plan

ROOT = Path(__file__).resolve().parents[1]
DATABASE = "lakefeed_bench_lake"
BUCKET = "bench-lake"
PEER_PREFIX = "peer-parquet/"
NAMES = (
    "Compaction to Parquet (`lakefeed compact`)",
    "Query over the compacted Parquet",
)


def _empty(client: Any, prefix: str) -> None:
    listed = client.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
    for i in range(0, len(listed), 1000):
        doomed = [{"Key": o["Key"]} for o in listed[i : i + 1000]]
        client.delete_objects(Bucket=BUCKET, Delete={"Objects": doomed})


def _timed(fn: Any) -> tuple[float, float, Any]:
    wall, cpu = time.perf_counter(), time.process_time()
    answer = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, answer


def rows_lake(lab: Lab, plan: Plan) -> list[Row]:
    client = lab.s3.client()
    client.create_bucket(Bucket=BUCKET)
    with tempfile.TemporaryDirectory(prefix="lakefeed-bench-lake-", dir=lab.work) as tmp:
        work = Path(tmp)
        lake = work / "lake"
        lines = build(lake, plan.records)
        archived = plan.records // PARTITIONS * PARTITIONS
        gzip_bytes = sum(p.stat().st_size for p in lake.rglob("*.jsonl.gz"))
        say(f"row 7: a lake of {archived:,} records, {lines:,} lines, {gzip_bytes / MIB:.1f} MiB")

        def ours() -> int:
            _empty(client, COMPACTED_PREFIX)
            catalog = LocalCatalog(ROOT, lake, BUCKET, DATABASE)
            done = Compaction(catalog, client, BUCKET, work / "staging", open_hours=True).run()
            return done.records

        def peer() -> int:
            _empty(client, PEER_PREFIX)
            out = work / "peer"
            import duckdb  # noqa: PLC0415

            con = duckdb.connect()
            con.execute(
                f"COPY (SELECT * FROM read_json('{lake}/**/*.jsonl.gz', "  # noqa: S608
                "format='newline_delimited', hive_partitioning=true)) "
                f"TO '{out}' (FORMAT parquet, PARTITION_BY (year, month, day, hour), "
                "COMPRESSION zstd, OVERWRITE_OR_IGNORE)"
            )
            files = f"'{out}/**/*.parquet'"
            rows = con.execute(f"SELECT count(*) FROM read_parquet({files})").fetchone()  # noqa: S608
            for path in sorted(out.rglob("*.parquet")):
                client.upload_file(str(path), BUCKET, PEER_PREFIX + str(path.relative_to(out)))
            return int(rows[0]) if rows else 0

        compaction: dict[str, list[tuple[float, float]]] = {"ours": [], "peer": []}
        for n in range(plan.repeat):
            say(f"row 7a: compaction and DuckDB's own conversion, run {n + 1} of {plan.repeat}")
            for name, fn, want in (("ours", ours, archived), ("peer", peer, lines)):
                wall, cpu, got = _timed(fn)
                if got != want:
                    raise RuntimeError(f"row 7a {name}: {got:,} rows, expected {want:,}")
                compaction[name].append((wall, cpu))

        compacted = work / "compacted-mirror"
        mirror(client, BUCKET, COMPACTED_PREFIX, compacted, say, suffix=".parquet")
        catalog = LocalCatalog(
            ROOT, lake, BUCKET, DATABASE, compacted=(compacted, f"s3://{BUCKET}/{COMPACTED_PREFIX}")
        )
        question = "SELECT hour, source, count(*) FROM {} GROUP BY 1, 2"
        querying: dict[str, list[tuple[float, float]]] = {"parquet": [], "raw": []}
        answers = set()
        for n in range(plan.repeat):
            say(f"row 7b: records per hour and source, Parquet and raw, run {n + 1}")
            for name, table in (("parquet", "x_posts_compacted"), ("raw", "x_posts")):
                wall, cpu, (_, rows) = _timed(lambda t=table: catalog.sql(question.format(t)))
                got = Counter({(h, src): n for h, src, n in rows})
                if sum(got.values()) != archived:
                    raise RuntimeError(f"row 7b {name}: {sum(got.values()):,} records")
                answers.add(tuple(sorted(got.items())))
                querying[name].append((wall, cpu))
        if len(answers) != 1:
            raise RuntimeError("row 7b: Parquet and raw gave different answers")
        parquet_bytes = sum(p.stat().st_size for p in compacted.rglob("*.parquet"))

    def med(runs: list[tuple[float, float]]) -> tuple[float, float]:
        return statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs)

    (ow, oc), (pw, pc) = med(compaction["ours"]), med(compaction["peer"])
    (qw, qc), (rw, rc) = med(querying["parquet"]), med(querying["raw"])
    a = Row(
        "7a",
        NAMES[0],
        f"{archived / ow:,.0f} rec/s, {gzip_bytes / MIB / ow:.1f} MiB/s of gzip in ({ow:.2f} s)",
        "DuckDB `read_json` -> Parquet by hour, no dedup",
        f"{lines / pw:,.0f} lines/s ({pw:.2f} s)",
        pw / ow,
        None,
        note=[
            f"{archived:,} records in {lines:,} lines ({lines - archived:,} copies before "
            f"dedup), {gzip_bytes / MIB:.1f} MiB of gzip JSON lines, to "
            f"{parquet_bytes / MIB:.1f} MiB of zstd Parquet. lakefeed: the catalog's view "
            "over the whole topic, then one object per hour sorted by partition and "
            "offset, its SHA-256 compared with the "
            "bucket's, uploaded. The peer converts every line as it is (copies kept) and "
            "uploads the files. The ratio is the peer's time over lakefeed's (above 1: "
            f"lakefeed is faster). CPU (this process, DuckDB's threads included; MinIO's "
            f"not): lakefeed {oc:.2f} s, peer {pc:.2f} s. Medians of {plan.repeat}.",
        ],
    )
    b = Row(
        "7b",
        NAMES[1],
        f"{qw:.3f} s",
        "the same question over the raw lake (the view)",
        f"{rw:.3f} s",
        rw / qw,
        None,
        note=[
            "`SELECT hour, source, count(*) FROM x_posts_compacted GROUP BY 1, 2` against "  # noqa: S608
            "`... FROM x_posts` (the view, deduplicating the raw lines), in one "
            "`LocalCatalog` over local copies of both (as `lakefeed query` holds them), "
            f"same answer, {archived:,} records. CPU: Parquet {qc:.3f} s, raw {rc:.2f} s. "
            f"Medians of {plan.repeat}.",
        ],
    )
    return [a, b]
