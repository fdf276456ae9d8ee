#!/usr/bin/env python3
"""What each gzip level of the archiver costs and saves, on lakefeed's own records.

    .venv/bin/python bench/gzip_levels.py                 # 200,000 records, 3 repeats
    .venv/bin/python bench/gzip_levels.py --records 20000 --repeat 1   # a quick look

The archiver compresses every byte it writes (`compression_level` in its config, default
6) with zlib-ng, in 1 MiB chunks on its writer threads. This measures exactly that: the
sample's records as the collector makes them (`bench_data.sample_records`, repeated to
`--records`; a copy is at least the sample's size apart, beyond deflate's 32 KiB window,
so repeats do not compress better than new records would), joined into 1 MiB chunks and
written through `zlib_ng.gzip_ng.GzipFile` at levels 1, 3, 6 and 9, one thread, CPU time
of this process only. The named peer is the standard library's `gzip` at level 6 (what
the archiver used before zlib-ng, and Python's and `gzip`'s default). Each level's CPU is
the median of `--repeat` runs; the output size is the same every run (mtime=0).

It prints a Markdown table, then the lake's cost per 100 GiB of records at each level:
S3 Standard storage per month and one Athena scan of all of it, at the list prices given
by --s3-usd-per-gb-month and --athena-usd-per-tb (us-east-1's, 2026: 0.023 and 5.00).
Athena bills the bytes it reads, which for gzip JSON lines is the compressed size.
"""

from __future__ import annotations

import argparse
import gzip
import io
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from zlib_ng import gzip_ng

from bench_data import sample_records
from lakefeed.archiver.writer import _FLUSH_AT

CHUNK = _FLUSH_AT  # the size of the chunks the archiver hands to gzip
LEVELS = (1, 3, 6, 9)
GIB = 1024**3


def chunks(records: int) -> tuple[list[bytes], int]:
    """The records as the archiver's writer hands them to gzip: lines joined into ~1 MiB."""
    sample = [r if r.endswith(b"\n") else r + b"\n" for r in sample_records()]
    out, buf, size, n = [], [], 0, 0
    while n < records:
        for line in sample:
            if n == records:
                break
            buf.append(line)
            size += len(line)
            n += 1
            if size >= CHUNK:
                out.append(b"".join(buf))
                buf, size = [], 0
    if buf:
        out.append(b"".join(buf))
    return out, n


def compress(opener: Callable[[io.BytesIO], object], data: list[bytes]) -> tuple[float, int]:
    """(CPU seconds, output bytes) of writing `data` through the gzip file `opener` makes."""
    sink = io.BytesIO()
    started = time.process_time()
    gz = opener(sink)
    for chunk in data:
        gz.write(chunk)  # type: ignore[attr-defined]
    gz.close()  # type: ignore[attr-defined]
    return time.process_time() - started, sink.getbuffer().nbytes


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--s3-usd-per-gb-month", type=float, default=0.023)
    ap.add_argument("--athena-usd-per-tb", type=float, default=5.00)
    args = ap.parse_args(argv)

    data, records = chunks(args.records)
    raw = sum(len(c) for c in data)
    print(
        f"{records:,} records, {raw / 2**20:.1f} MiB of JSON lines "
        f"({raw / records:.0f} bytes per record), {len(data)} chunks of ~1 MiB; "
        f"median of {args.repeat}",
        file=sys.stderr,
    )

    def measure(opener: Callable[[io.BytesIO], object]) -> tuple[float, int]:
        runs = [compress(opener, data) for _ in range(args.repeat)]
        return statistics.median(cpu for cpu, _ in runs), runs[0][1]

    peer_cpu, peer_out = measure(
        lambda sink: gzip.GzipFile(filename="", mode="wb", compresslevel=6, fileobj=sink, mtime=0)
    )
    rows = []
    for level in LEVELS:
        cpu, out = measure(
            lambda sink, level=level: gzip_ng.GzipFile(
                filename="", mode="wb", compresslevel=level, fileobj=sink, mtime=0
            )
        )
        rows.append((f"zlib-ng {level}", cpu, out))
    rows.append(("peer: stdlib gzip 6", peer_cpu, peer_out))

    print(
        "| level | CPU s per GiB of records | MiB/s on one core | bytes per record "
        "| of the raw size | CPU vs the peer | size vs the peer |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, cpu, out in rows:
        print(
            f"| {name} | {cpu * GIB / raw:.2f} | {raw / 2**20 / cpu:.0f} | {out / records:.0f} "
            f"| {out / raw:.1%} | {cpu / peer_cpu:.2f}x | {out / peer_out:.2f}x |"
        )
    print()
    print("| level | stored per 100 GiB of records | S3 Standard per month | one Athena scan |")
    print("|---|---|---|---|")
    for name, _cpu, out in rows:
        stored_gib = 100 * out / raw
        # AWS bills storage and scans in binary units (a GB is 2**30 bytes).
        s3 = stored_gib * args.s3_usd_per_gb_month
        athena = stored_gib / 1024 * args.athena_usd_per_tb
        print(f"| {name} | {stored_gib:.1f} GiB | ${s3:.2f} | ${athena:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
