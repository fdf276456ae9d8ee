"""The spool on disk, the contract between the archiver (writes) and the shipper (ships).

`writing/` holds open files (`<name>.part`), `ready/` complete immutable ones, `shipped/`
those uploaded but kept until their offsets no longer matter. A file becomes visible in
`ready/` only by rename, after its bytes and then the directory are fsynced, so a crash
can leave a partial file only in `writing/`, which is discarded at start: its records
were never committed, so Kafka hands them to us again. File names: record.SpoolName.
"""

from __future__ import annotations

import os
from pathlib import Path

from lakefeed.record import SpoolName

PART_SUFFIX = ".part"


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Spool:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.writing = root / "writing"
        self.ready = root / "ready"
        self.shipped = root / "shipped"

    def ensure(self) -> None:
        for d in (self.writing, self.ready, self.shipped):
            d.mkdir(parents=True, exist_ok=True)

    def discard_partials(self) -> list[str]:
        """Remove what a crash left in writing/; returns the names removed."""
        removed = []
        for p in self.writing.glob(f"*{PART_SUFFIX}"):
            p.unlink()
            removed.append(p.name)
        if removed:
            fsync_dir(self.writing)
        return removed

    def last_offsets(self) -> dict[tuple[str, int], int]:
        """Highest last offset per (topic, partition) among files still in the spool."""
        best: dict[tuple[str, int], int] = {}
        for d in (self.ready, self.shipped):
            for p in d.iterdir():
                name = SpoolName.parse(p.name)
                if name is not None:
                    key = (name.topic, name.partition)
                    best[key] = max(best.get(key, -1), name.last)
        return best
