#!/usr/bin/env python3
"""What `lakefeed query` costs against reading the lake by hand, on lakefeed's own records.

    .venv/bin/python bench/query_engines.py                  # 200,000 records, 3 repeats
    .venv/bin/python bench/query_engines.py --records 20000 --repeat 1   # a quick look

Builds a lake on local disk as the archiver and shipper lay it out: the sample's records
(`bench_data.sample_records`, repeated to `--records`) archived by `PartitionFile` into 6
partitions of files of 10,000 records, under their lake keys, and 10% of the files cut
again at another boundary after "a crash" (duplicates before dedup, as in
docs/guarantees.md). Then, each `--repeat` times, the question "records per hour, each
once" is answered two ways:

- `lakefeed query`'s engine (`LocalCatalog`, DuckDB running the catalog's view): open
  the catalog and run `SELECT hour, count(*) FROM x_posts GROUP BY 1`.
- The named peer: the same answer in plain Python, as a user without a query engine and
  our reference reader do it: gunzip each object, `json.loads` each line, keep the first
  copy of each (partition, offset).

Both answers must be equal, and equal to the records archived (each once). It prints the
median wall time and CPU time of each, and the ratio peer / lakefeed (above 1: lakefeed
is faster).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_data import sample_records
from lakefeed.archiver.writer import PartitionFile
from lakefeed.query import LocalCatalog
from lakefeed.record import SpoolName, lake_key
from lakefeed.spool import Spool

ROOT = Path(__file__).resolve().parents[1]
PARTITIONS = 6
PER_FILE = 10_000


def build(lake: Path, records: int) -> int:
    """The lake of `records` records; returns the lines written (copies included)."""
    spool = Spool(lake.parent / "spool")
    spool.ensure()
    sample = sample_records()
    lines = 0

    def archive(partition: int, first: int, values: list[bytes]) -> None:
        nonlocal lines
        pf = PartitionFile(spool, "x.posts", partition, first, level=6)
        for i, value in enumerate(values):
            pf.write(first + i, value)
        done = pf.finish()
        at = json.loads(values[0])["collected_at"]
        key = lake / lake_key("raw", SpoolName.parse(done.name), at)  # type: ignore[arg-type]
        key.parent.mkdir(parents=True, exist_ok=True)
        done.rename(key)
        lines += len(values)

    per_partition = records // PARTITIONS
    for p in range(PARTITIONS):
        values = [sample[(p * per_partition + i) % len(sample)] for i in range(per_partition)]
        for n, first in enumerate(range(0, per_partition, PER_FILE)):
            chunk = values[first : first + PER_FILE]
            archive(p, first, chunk)
            if n % 10 == 0:  # cut again at another boundary: a duplicate file
                archive(p, first, chunk[: len(chunk) // 2])
    return lines


def by_engine(lake: Path) -> Counter[int]:
    catalog = LocalCatalog(ROOT, lake, "bench", "lakefeed_bench_lake")
    _, rows = catalog.sql("SELECT hour, count(*) FROM x_posts GROUP BY 1")
    return Counter(dict(rows))


def by_hand(lake: Path) -> Counter[int]:
    seen: set[tuple[int, int]] = set()
    hours: Counter[int] = Counter()
    for path in sorted(lake.rglob("*.jsonl.gz")):
        for line in gzip.decompress(path.read_bytes()).splitlines():
            record = json.loads(line)
            where = (record["kafka_partition"], record["kafka_offset"])
            if where not in seen:
                seen.add(where)
                hours[int(path.parent.name.removeprefix("hour="))] += 1
    return hours


def timed(fn: object, lake: Path) -> tuple[float, float, Counter[int]]:
    wall, cpu = time.perf_counter(), time.process_time()
    answer = fn(lake)  # type: ignore[operator]
    return time.perf_counter() - wall, time.process_time() - cpu, answer


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lakefeed-query-bench-") as tmp:
        lake = Path(tmp) / "lake"
        lines = build(lake, args.records)
        archived = args.records // PARTITIONS * PARTITIONS
        size = sum(p.stat().st_size for p in lake.rglob("*.jsonl.gz"))
        print(
            f"lake: {archived:,} records in {lines:,} lines ({lines - archived:,} copies), "
            f"{size / 2**20:.1f} MiB of gzip, {os.cpu_count()} CPUs",
            file=sys.stderr,
        )
        results: dict[str, list[tuple[float, float]]] = {"engine": [], "hand": []}
        answers = set()
        for _ in range(args.repeat):
            for name, fn in (("engine", by_engine), ("hand", by_hand)):
                wall, cpu, answer = timed(fn, lake)
                results[name].append((wall, cpu))
                answers.add(tuple(sorted(answer.items())))
                assert sum(answer.values()) == archived, (name, sum(answer.values()))
        assert len(answers) == 1, "the two ways gave different answers"
    med = {
        k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v))
        for k, v in results.items()
    }
    rows = (
        ("`lakefeed query` (DuckDB, the catalog's view)", med["engine"]),
        ("plain Python: gunzip, json.loads, dedup (peer)", med["hand"]),
    )
    print("| way | wall (median) | CPU (median) |\n|---|---:|---:|")
    for name, (wall, cpu) in rows:
        print(f"| {name} | {wall:.2f} s | {cpu:.2f} s |")
    wall_ratio = med["hand"][0] / med["engine"][0]
    cpu_ratio = med["hand"][1] / med["engine"][1]
    print(
        f"\nratio peer / lakefeed: {wall_ratio:.1f}x wall, {cpu_ratio:.1f}x CPU "
        f"({archived:,} records, {args.repeat} repeats)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
