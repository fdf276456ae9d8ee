"""What a lake bucket holds, as one JSON document on stdout, for the Molecule verify steps.

Runs on a scenario host with the lakefeed virtualenv's Python (boto3 is there):

    lake.py ENDPOINT BUCKET PREFIX    (credentials: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)

Every object is downloaded and read: its key is checked against the lake-key contract
(`<prefix>/<topic>/year=/month=/day=/hour=/<spool name>`, the hour of the first record's
`collected_at`), its records against the spool name's offset range. The names are parsed
here, not with lakefeed's own code, so a drift from docs' contract shows.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import sys
from datetime import UTC, datetime
from typing import Any

import boto3

SPOOL_NAME = re.compile(
    r"^(?P<topic>[^+/]+)\+(?P<partition>\d+)\+(?P<first>\d{20})-(?P<last>\d{20})\.jsonl\.gz$"
)


def describe(key: str, body: bytes, prefix: str) -> dict[str, Any]:
    name = key.rsplit("/", 1)[-1]
    lines = gzip.decompress(body).splitlines()
    records = [json.loads(line) for line in lines]
    info: dict[str, Any] = {
        "key": key,
        "size": len(body),
        "sha256": hashlib.sha256(body).hexdigest(),
        "records": len(records),
        "ids": [r["id"] for r in records],
        "name_ok": False,
        "key_ok": False,
    }
    m = SPOOL_NAME.match(name)
    if m and records:
        first, last = int(m["first"]), int(m["last"])
        when = datetime.fromisoformat(records[0]["collected_at"].replace("Z", "+00:00"))
        when = when.astimezone(UTC)
        expected = "/".join(
            p
            for p in (
                prefix.strip("/"),
                m["topic"],
                f"year={when:%Y}/month={when:%m}/day={when:%d}/hour={when:%H}",
                name,
            )
            if p
        )
        info.update(
            topic=m["topic"],
            partition=int(m["partition"]),
            first=first,
            last=last,
            # Contiguous files: one record per offset of the name's range.
            name_ok=last - first + 1 == len(records),
            key_ok=key == expected,
        )
    return info


def main(argv: list[str] | None = None) -> int:
    endpoint, bucket, prefix = (sys.argv[1:] if argv is None else argv)[:3]
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    objects: list[dict[str, Any]] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
            objects.append(describe(obj["Key"], body, prefix))
    # After dedup on (topic, partition, offset), as the delivery contract counts.
    offsets = {
        (o["topic"], o["partition"], off)
        for o in objects
        if "first" in o
        for off in range(o["first"], o["last"] + 1)
    }
    json.dump(
        {
            "objects": objects,
            "keys": sorted(o["key"] for o in objects),
            "records_deduplicated": len(offsets),
            "ids": sorted({i for o in objects for i in o["ids"]}),
            "all_names_ok": all(o["name_ok"] for o in objects),
            "all_keys_ok": all(o["key_ok"] for o in objects),
        },
        sys.stdout,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
