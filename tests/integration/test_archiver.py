"""The archiver when the spool disk fills up (it stops consuming, never tears a file) and
when it starts with files already in the spool."""

from __future__ import annotations

import base64
import gzip
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaProducer

from lakefeed.local.servers import LocalKafka, LocalS3
from lakefeed.record import SpoolName, make_record
from tests.support.pipeline import Pipeline
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 3 MiB tmpfs: a real filesystem that really runs out of space."""
    mount = tmp_path / "small"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def test_full_spool_pauses_consumption_then_resumes_without_loss(
    kafka: LocalKafka, s3: LocalS3, bucket: str, topic: str, tmp_path: Path, small_disk: Path
) -> None:
    p = Pipeline(kafka, s3, bucket, topic, tmp_path)
    p.spool = small_disk / "spool"
    p.archiver.config["spool_dir"] = str(p.spool)
    p.archiver.config["rotate"] = {"max_records": 150, "max_age_seconds": 2.0}
    p.archiver.config["min_free_bytes"] = 0  # only ENOSPC itself stops it
    p.archiver.rewrite_config()
    p.shipper.config["spool_dir"] = str(p.spool)
    p.shipper.rewrite_config()

    # ~3 KB of incompressible text per record: 2,000 records need ~6 MB of spool.
    producer = KafkaProducer(bootstrap_servers=kafka.bootstrap, acks="all")
    ids = [f"r{i:05d}" for i in range(2000)]
    for rid in ids:
        blob = base64.b64encode(os.urandom(2200)).decode()
        producer.send(topic, key=rid.encode(), value=make_record(rid, "t:t", {"b": blob}))
    producer.flush()
    producer.close()

    p.archiver.start()
    wait_for("the archiver to report the full disk", lambda: p.archiver.health()[0] == 503, 60)
    assert "spool" in p.archiver.health()[1]["problems"]
    assert p.archiver.running(), "a full disk must pause the archiver, not kill it"
    assert "lakefeed_archiver_paused_disk 1.0" in p.archiver.metrics()
    # Nothing torn: everything in ready/ is a complete gzip file.
    for f in (p.spool / "ready").iterdir():
        subprocess.run(["gzip", "-t", str(f)], check=True)

    p.shipper.start()
    lake = p.wait_landed(len(ids), timeout=180)
    assert sorted(lake.ids()) == ids
    wait_for("the archiver to recover", lambda: p.archiver.health()[0] == 200, 60)
    assert "lakefeed_archiver_paused_disk 0.0" in p.archiver.metrics()
    assert p.archiver.terminate() == 0
    assert p.shipper.terminate() == 0


def test_an_idle_archiver_pauses_when_the_spool_runs_low_and_resumes(
    kafka: LocalKafka, s3: LocalS3, bucket: str, topic: str, tmp_path: Path, small_disk: Path
) -> None:
    """The free-space check must not wait for the next record: a disk that fills while
    no records arrive (another process, a log) is reported at once, and consumption is
    paused before the first record would be written to it."""
    p = Pipeline(kafka, s3, bucket, topic, tmp_path)
    p.spool = small_disk / "spool"
    p.archiver.config["spool_dir"] = str(p.spool)
    p.archiver.config["min_free_bytes"] = 2 * 1024 * 1024
    p.archiver.rewrite_config()
    p.archiver.start()
    wait_for("the archiver ready", lambda: p.archiver.health()[0] == 200, 60)

    filler = small_disk / "filler"
    with open(filler, "wb") as f:
        os.posix_fallocate(f.fileno(), 0, 2 * 1024 * 1024)
    wait_for("the idle archiver to see the low disk", lambda: p.archiver.health()[0] == 503, 20)
    assert "spool" in p.archiver.health()[1]["problems"]
    assert "min_free_bytes" in p.archiver.tail()
    assert "lakefeed_archiver_paused_disk 1.0" in p.archiver.metrics()

    producer = KafkaProducer(bootstrap_servers=kafka.bootstrap, acks="all")
    for i in range(20):
        rid = f"r{i:03d}"
        producer.send(topic, key=rid.encode(), value=make_record(rid, "t:t", {"i": i}))
    producer.flush()
    producer.close()
    # Measured every 5 s, each try cut off at 2 s: under CI's load it once stayed unset
    # for 30 s. What the archiver said is kept with a failure.
    wait_for(
        "lag_records 20",
        lambda: p.archiver.health()[1].get("lag_records") == 20,
        30,
        said=lambda: f"health {p.archiver.health()}\n{p.archiver.tail()}",
    )
    assert not list((p.spool / "writing").glob("*")), "it wrote to a spool below its floor"

    filler.unlink()
    wait_for("the archiver to resume", lambda: p.archiver.health()[0] == 200, 30)
    wait_for("the records written once there is room", lambda: p.spool_files("ready"), 30)
    assert p.archiver.terminate() == 0


def test_restart_with_files_in_the_spool_skips_what_they_hold(
    kafka: LocalKafka, s3: LocalS3, bucket: str, topic: str, tmp_path: Path
) -> None:
    """A crash after a file reached ready/ but before its offsets were committed: on the
    next start the spool holds records Kafka says are not consumed yet. The archiver
    must skip them (no second file of the same records), keep running, and go on."""
    p = Pipeline(kafka, s3, bucket, topic, tmp_path)
    producer = KafkaProducer(bootstrap_servers=kafka.bootstrap, acks="all")
    for i in range(30):
        rid = f"r{i:03d}"
        producer.send(topic, key=rid.encode(), value=make_record(rid, "t:t", {"i": i}), partition=0)
    producer.flush()

    # What the crashed run left: a finished file of offsets 0-9 of partition 0, never
    # committed (this group has no offsets at all).
    ready = p.spool / "ready"
    ready.mkdir(parents=True)
    left = ready / str(SpoolName(topic, 0, 0, 9))
    with gzip.open(left, "wb") as f:
        for i in range(10):
            f.write(make_record(f"r{i:03d}", "t:t", {"i": i}) + b"\n")

    p.archiver.start()
    expected = ready / str(SpoolName(topic, 0, 10, 29))
    wait_for(f"{expected.name} in ready/ ({p.archiver.tail()})", expected.exists, 60)
    assert p.archiver.running(), p.archiver.tail()
    names = sorted(x.name for x in ready.iterdir())
    assert names == [left.name, expected.name], names
    assert p.archiver.health()[0] == 200

    # And a plain restart with both files still there (the shipper is not running).
    assert p.archiver.terminate() == 0
    for i in range(30, 35):
        rid = f"r{i:03d}"
        producer.send(topic, key=rid.encode(), value=make_record(rid, "t:t", {"i": i}), partition=0)
    producer.flush()
    producer.close()
    p.archiver.start()
    after = ready / str(SpoolName(topic, 0, 30, 34))
    wait_for(f"{after.name} in ready/ ({p.archiver.tail()})", after.exists, 60)
    assert len(list(ready.iterdir())) == 3
    assert p.archiver.terminate() == 0
