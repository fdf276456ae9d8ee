"""The shipper against a real MinIO: conditional puts, verification, outages, multipart."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
import secrets
import time
from pathlib import Path

import crc32c
import pytest

from lakefeed.archiver.writer import PartitionFile
from lakefeed.local.servers import LocalS3
from lakefeed.record import SpoolName, lake_key, make_record
from lakefeed.spool import Spool
from tests.support.procs import Daemon
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration
COLLECTED = "2026-11-23T05:06:07.089Z"


def spool_file(spool: Spool, partition: int, first: int, n: int, pad: int = 0) -> Path:
    """A ready/ file made by the archiver's own writer; `pad` adds incompressible bytes."""
    spool.ensure()
    pf = PartitionFile(spool, "tweets", partition, first, level=1)
    for i in range(n):
        payload = {"n": i, "blob": secrets.token_urlsafe(pad) if pad else ""}
        pf.write(first + i, make_record(str(first + i), "replay:t", payload, COLLECTED))
    return pf.finish()


def shipper(
    s3: LocalS3, bucket: str, tmp: Path, s3_extra: dict | None = None, **extra: object
) -> Daemon:
    cfg = {
        "spool_dir": str(tmp / "spool"),
        "s3": {**s3.shipper_s3(bucket, "lake", tmp), **(s3_extra or {})},
        "retry": {"initial_seconds": 0.2, "max_seconds": 1.0},
        **extra,
    }
    return Daemon("shipper", cfg, tmp / "shipper-run")


def key_of(path_name: str) -> str:
    name = SpoolName.parse(path_name)
    assert name is not None
    return lake_key("lake", name, COLLECTED)


def test_files_present_at_start_and_arriving_later_are_shipped(
    s3: LocalS3, bucket: str, tmp_path: Path
) -> None:
    spool = Spool(tmp_path / "spool")
    before = spool_file(spool, 0, 0, 10)
    d = shipper(s3, bucket, tmp_path).start()
    after = spool_file(spool, 1, 0, 5)
    client = s3.client()
    for f, lines in ((before, 10), (after, 5)):
        wait_for(f"{f.name} shipped", lambda f=f: not f.exists(), 30)
        body = client.get_object(Bucket=bucket, Key=key_of(f.name))["Body"].read()
        assert len(gzip.decompress(body).splitlines()) == lines, f.name
    head = client.head_object(Bucket=bucket, Key=key_of(before.name))
    assert head["ContentEncoding"] == "gzip"
    assert len(head["Metadata"]["sha256"]) == 64
    wait_for("the count", lambda: 'files_total{outcome="uploaded"} 2.0' in d.metrics(), 10)
    assert d.terminate() == 0


def test_identical_object_already_there_is_verified_not_overwritten(
    s3: LocalS3, bucket: str, tmp_path: Path
) -> None:
    spool = Spool(tmp_path / "spool")
    f = spool_file(spool, 0, 0, 20)
    data = f.read_bytes()
    client = s3.client()
    client.put_object(
        Bucket=bucket,
        Key=key_of(f.name),
        Body=data,
        Metadata={"sha256": hashlib.sha256(data).hexdigest()},
    )
    d = shipper(s3, bucket, tmp_path).start()
    wait_for("the file to be verified and deleted", lambda: not f.exists(), 30)
    wait_for("the count", lambda: 'outcome="already_present"} 1.0' in d.metrics(), 10)
    assert d.terminate() == 0


def test_different_object_under_the_key_is_never_overwritten_nor_the_file_deleted(
    s3: LocalS3, bucket: str, tmp_path: Path
) -> None:
    spool = Spool(tmp_path / "spool")
    f = spool_file(spool, 0, 0, 20)
    client = s3.client()
    client.put_object(Bucket=bucket, Key=key_of(f.name), Body=b"someone else's bytes")
    d = shipper(s3, bucket, tmp_path).start()
    aside = tmp_path / "spool" / "failed" / f.name
    wait_for("the file to be set aside", aside.exists, 30)
    assert client.get_object(Bucket=bucket, Key=key_of(f.name))["Body"].read() == (
        b"someone else's bytes"
    )
    # The shipper moves the file, then logs why: poll for the line, as for the move.
    wait_for("the conflict in the log", lambda: "already holds different bytes" in d.tail(), 10)
    assert d.terminate() == 0


def test_multipart_upload_above_the_threshold(s3: LocalS3, bucket: str, tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    big = spool_file(spool, 0, 0, 560, pad=20_000)  # ~11.5 MB of incompressible text
    size = big.stat().st_size
    assert size > 10 * 1024 * 1024
    digest = hashlib.sha256(big.read_bytes()).hexdigest()
    d = shipper(
        s3,
        bucket,
        tmp_path,
        s3_extra={
            "multipart_threshold_bytes": 5 * 1024 * 1024,
            "multipart_chunk_bytes": 5 * 1024 * 1024,
        },
    ).start()
    wait_for("the large file to ship", lambda: not big.exists(), 60)
    obj = s3.client().get_object(Bucket=bucket, Key=key_of(big.name))
    body = obj["Body"].read()
    assert len(body) == size
    assert hashlib.sha256(body).hexdigest() == digest
    assert obj["ETag"].strip('"').endswith("-3")  # three parts: it really was multipart
    # Each part was sent with its CRC32C, which the server checked and kept: its checksum
    # of the object is the CRC32C of the parts' CRC32Cs, over 3 parts.
    parts = [body[i : i + 5 * 1024 * 1024] for i in range(0, size, 5 * 1024 * 1024)]
    combined = crc32c.crc32c(b"".join(crc32c.crc32c(p).to_bytes(4, "big") for p in parts))
    head = s3.client().head_object(Bucket=bucket, Key=key_of(big.name), ChecksumMode="ENABLED")
    expected = base64.b64encode(combined.to_bytes(4, "big")).decode()
    assert head["ChecksumCRC32C"] == f"{expected}-3"
    assert d.terminate() == 0


def test_s3_outage_is_absorbed_by_the_spool_then_drained(
    s3: LocalS3, bucket: str, tmp_path: Path
) -> None:
    spool = Spool(tmp_path / "spool")
    d = shipper(s3, bucket, tmp_path).start()
    s3.stop()
    try:
        files = [spool_file(spool, p, 0, 50) for p in range(3)]
        # Three failures in a row make /healthz say so, and nothing is deleted.
        wait_for("/healthz to report S3 down", lambda: d.health()[0] == 503, 60)
        assert "s3" in d.health()[1]["problems"]
        assert all(f.exists() for f in files)
    finally:
        s3.start()
    wait_for("the backlog to drain", lambda: not any(f.exists() for f in files), 60)
    wait_for("/healthz to recover", lambda: d.health()[0] == 200, 30)
    assert d.terminate() == 0


def test_keep_mode_moves_to_shipped(s3: LocalS3, bucket: str, tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    f = spool_file(spool, 0, 0, 3)
    d = shipper(s3, bucket, tmp_path, after_upload="keep").start()
    wait_for("the file in shipped/", (spool.shipped / f.name).exists, 30)
    assert not f.exists()
    assert d.terminate() == 0


def test_unreadable_file_is_set_aside(s3: LocalS3, bucket: str, tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    spool.ensure()
    bad = spool.ready / str(SpoolName("tweets", 0, 0, 0))
    bad.write_bytes(b"not gzip")
    d = shipper(s3, bucket, tmp_path).start()
    wait_for("the bad file set aside", (tmp_path / "spool" / "failed" / bad.name).exists, 30)
    assert d.terminate() == 0


def test_sigterm_finishes_the_upload_in_flight(s3: LocalS3, bucket: str, tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    d = shipper(s3, bucket, tmp_path).start()
    f = spool_file(spool, 0, 0, 300, pad=10_000)
    time.sleep(0.3)
    assert d.terminate() == 0
    # Either shipped completely or still in ready/ untouched: never half-done.
    if f.exists():
        with gzip.open(f) as g:
            assert json.loads(g.readline())["id"] == "0"
    else:
        s3.client().head_object(Bucket=bucket, Key=key_of(f.name))
    assert os.listdir(spool.writing) == []
