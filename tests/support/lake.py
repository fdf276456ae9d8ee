"""Read the lake back the way a user's query engine would, and check the contracts."""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from lakefeed.archiver.writer import PartitionFile
from lakefeed.compact import COMPACTED_PREFIX
from lakefeed.record import LAKE_COORDINATES, SpoolName, lake_key, make_record
from lakefeed.spool import Spool

KEY_RE = re.compile(
    r"^(?:(?P<prefix>.+)/)?(?P<topic>[^/]+)/year=(?P<y>\d{4})/month=(?P<m>\d{2})"
    r"/day=(?P<d>\d{2})/hour=(?P<h>\d{2})/(?P<name>[^/]+)$"
)


@dataclass
class Lake:
    objects: int = 0
    lines: int = 0
    by_offset: dict[tuple[str, int, int], dict[str, Any]] = field(default_factory=dict)
    copies: Counter[tuple[str, int, int]] = field(default_factory=Counter)

    @property
    def duplicates_before_dedup(self) -> int:
        return sum(n - 1 for n in self.copies.values() if n > 1)

    def ids(self) -> list[str]:
        return [r["id"] for r in self.by_offset.values()]


def read_lake(client: Any, bucket: str, prefix: str = "") -> Lake:
    lake = Lake()
    paginator = client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            key = obj["Key"]
            if key.startswith(prefix + COMPACTED_PREFIX):
                continue  # `lakefeed compact`'s Parquet, beside the topics
            m = KEY_RE.match(key)
            assert m, f"key does not follow the lake-key contract: {key}"
            name = SpoolName.parse(m["name"])
            assert name is not None, f"object name is not a spool name: {key}"
            assert name.topic == m["topic"], key
            body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
            lines = gzip.decompress(body).decode("utf-8").splitlines()
            assert len(lines) == name.last - name.first + 1, f"offset range != lines: {key}"
            first = json.loads(lines[0])
            when = first["collected_at"]
            assert (m["y"], m["m"], m["d"], m["h"]) == (
                when[0:4],
                when[5:7],
                when[8:10],
                when[11:13],
            ), key
            lake.objects += 1
            for i, line in enumerate(lines):
                rec = json.loads(line)
                coord = (name.topic, name.partition, name.first + i)
                # The line's own coordinates (what Athena dedups on) are its position's.
                assert tuple(rec.pop(k) for k in LAKE_COORDINATES) == coord, (key, i)
                assert set(rec) == {"id", "source", "collected_at", "payload"}, rec
                lake.copies[coord] += 1
                lake.by_offset[coord] = rec
                lake.lines += 1
    return lake


def put_raw(client: Any, bucket: str, spool: Spool, first: int, n: int, at: str) -> str:
    """One raw lake object under raw/, as the archiver and shipper make it: offsets
    first..first+n-1 of x.posts partition 0, every record collected `at`. Its key."""
    pf = PartitionFile(spool, "x.posts", 0, first, level=1)
    for o in range(first, first + n):
        pf.write(o, make_record(f"r{o}", "replay:t", {"o": o}, at))
    done = pf.finish()
    key = lake_key("raw", SpoolName.parse(done.name), at)  # type: ignore[arg-type]
    client.upload_file(str(done), bucket, key)
    return key
