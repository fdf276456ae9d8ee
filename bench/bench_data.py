"""Inputs for the benchmarks: a replay file from the sample, and spool files for the shipper."""

from __future__ import annotations

import base64
import gzip
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from lakefeed.archiver.writer import PartitionFile
from lakefeed.record import SpoolName, make_record, utc_now_iso
from lakefeed.spool import Spool

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample" / "x_stream.jsonl"
COLLECTOR_NAME = "bench"
SOURCE_LABEL = f"replay:{COLLECTOR_NAME}"  # what the collector puts in each record's `source`
SHIP_TOPIC = "bench.ship"


def _dump(obj: object) -> str:
    # The sample is written this way, so copy 0 is byte-identical to the sample.
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class Replay:
    path: Path
    records: int
    bytes: int  # of the replay file
    mean_record_bytes: float  # mean size of the Kafka value the collector makes of a line


def write_replay(path: Path, records: int) -> Replay:
    """The sample, repeated until `records` lines; copy k > 0 gets `-k` on each `data.id`.

    The record the collector produces for each line (envelope with a 24-character
    `collected_at`) is made here too, to know its exact mean size.
    """
    lines = [ln for ln in SAMPLE.read_text(encoding="utf-8").splitlines() if ln.strip()]
    parsed = [json.loads(ln) for ln in lines]
    stamp = utc_now_iso()
    total_value = 0
    written = 0
    with path.open("w", encoding="utf-8") as f:
        copy = 0
        while written < records:
            for original in parsed:
                if written >= records:
                    break
                obj = original
                if copy:
                    data = {**obj["data"], "id": f"{obj['data']['id']}-{copy}"}
                    obj = {**obj, "data": data}
                f.write(_dump(obj) + "\n")
                total_value += len(make_record(obj["data"]["id"], SOURCE_LABEL, obj, stamp))
                written += 1
            copy += 1
    return Replay(path, written, path.stat().st_size, total_value / written)


def sample_records() -> list[bytes]:
    """The sample's lines as the Kafka values the collector makes of them."""
    stamp = utc_now_iso()
    out = []
    for line in SAMPLE.read_text(encoding="utf-8").splitlines():
        if line.strip():
            obj = json.loads(line)
            out.append(make_record(obj["data"]["id"], SOURCE_LABEL, obj, stamp))
    return out


@dataclass(frozen=True)
class FileSet:
    """Finished spool files in `dir`, as the archiver leaves them in ready/."""

    dir: Path
    names: list[str]
    bytes: int

    @property
    def paths(self) -> list[Path]:
        return [self.dir / n for n in self.names]


def make_small_files(
    root: Path, count: int, target_bytes: int, level: int = 6, partition: int = 0
) -> FileSet:
    """`count` gzip JSONL files of about `target_bytes` each, made of sample records.

    The records per file are calibrated once (gzip of the first 400 records at `level`),
    so the files vary around the target like the archiver's do.
    """
    records = sample_records()
    probe = records[:400]
    per_record = len(gzip.compress(b"\n".join(probe) + b"\n", level)) / len(probe)
    per_file = max(1, round(target_bytes / per_record))
    spool = Spool(root)
    spool.ensure()
    offset = 0
    for i in range(count):
        pf = PartitionFile(spool, SHIP_TOPIC, partition, offset, level)
        for j in range(per_file):
            pf.write(offset + j, records[(i * per_file + j) % len(records)])
        pf.finish()
        offset += per_file
    return _fileset(spool.ready)


def make_large_files(root: Path, count: int, min_bytes: int) -> FileSet:
    """`count` gzip JSONL files of at least `min_bytes`, compressed (gzip level 1).

    Records carry 48 KiB of random bytes in base64, which gzip cannot shrink much, so a
    file of this size is quick to make; the shipper reads only the first record and
    otherwise moves bytes. The first file is written with PartitionFile, the others are
    copies of it under their own offset range (same record count, so names stay true).
    """
    spool = Spool(root)
    spool.ensure()
    stamp = utc_now_iso()
    pf = PartitionFile(spool, SHIP_TOPIC, 1, 0, 1)
    n = 0
    while pf.path.stat().st_size < min_bytes:
        blob = base64.b64encode(os.urandom(48 * 1024)).decode("ascii")
        pf.write(n, make_record(f"blob-{n}", SOURCE_LABEL, {"blob": blob}, stamp))
        n += 1
    first = pf.finish()
    for i in range(1, count):
        name = SpoolName(SHIP_TOPIC, 1, i * n, i * n + n - 1)
        shutil.copyfile(first, spool.ready / str(name))
    return _fileset(spool.ready)


def _fileset(ready: Path) -> FileSet:
    names = sorted(p.name for p in ready.iterdir())
    return FileSet(ready, names, sum((ready / n).stat().st_size for n in names))
