"""What the lake holds, by the spool names in its keys: the runners' smoke checks, the demo.

Counts (topic, partition, offset) triples from the object names alone (docs/contracts.md:
`<topic>+<partition>+<first>-<last>.jsonl.gz`), so a duplicate object before dedup never
counts twice and no object is downloaded.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lakefeed.errors import LakefeedError
from lakefeed.record import SpoolName


@dataclass
class LakeCount:
    offsets: set[tuple[str, int, int]] = field(default_factory=set)
    objects: dict[str, int] = field(default_factory=dict)  # key -> records in it

    @property
    def records(self) -> int:
        return len(self.offsets)

    def by_prefix(self) -> dict[str, int]:
        """Records per partition directory (`.../hour=HH`)."""
        found: dict[str, int] = {}
        for key, count in self.objects.items():
            where = key.rsplit("/", 1)[0]
            found[where] = found.get(where, 0) + count
        return found


def listed(client: Any, bucket: str, prefix: str = "") -> Iterator[dict[str, Any]]:
    """Every object of `bucket` under `prefix`, as S3's listing gives it, page by page."""
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    for page in pages:
        yield from page.get("Contents", [])


def count(client: Any, bucket: str, prefix: str = "") -> LakeCount:
    """Every lake object of `bucket` under `prefix`, by its spool name."""
    found = LakeCount()
    for obj in listed(client, bucket, prefix):
        name = SpoolName.parse(obj["Key"].rsplit("/", 1)[-1])
        if name is None:
            continue
        found.objects[obj["Key"]] = name.last - name.first + 1
        found.offsets.update(
            (name.topic, name.partition, o) for o in range(name.first, name.last + 1)
        )
    return found


def sample_records(root: Path) -> int:
    """Records in the bundled sample (data/sample/x_stream.jsonl): one a non-empty line."""
    data = (root / "data" / "sample" / "x_stream.jsonl").read_bytes()
    return sum(1 for line in data.splitlines() if line.strip())


def wait_for(
    client: Any,
    bucket: str,
    prefix: str,
    expected: int,
    *,
    timeout: float,
    say: Callable[[str], None],
    hint: str,
) -> LakeCount:
    """Poll until `expected` records are in the lake, saying each change; LakefeedError
    naming `hint` (where to look) after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last = -1
    while True:
        found = count(client, bucket, prefix)
        if found.records != last:
            say(f"lake: {found.records} records in {len(found.objects)} objects (of {expected})")
            last = found.records
        if found.records >= expected:
            return found
        if time.monotonic() > deadline:
            raise LakefeedError(
                f"smoke check: only {found.records} of {expected} sample records reached "
                f"s3://{bucket}/{prefix} in {timeout:.0f}s; {hint}"
            )
        time.sleep(3)
