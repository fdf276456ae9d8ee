"""The archiver's loop timing, without a broker."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from kafka import TopicPartition

from lakefeed.archiver.daemon import POLL_MS, Archiver
from lakefeed.archiver.writer import PartitionFile
from lakefeed.config import ArchiverConfig


def test_poll_wakes_up_when_the_oldest_open_file_reaches_its_max_age(tmp_path: Path) -> None:
    cfg = ArchiverConfig.model_validate(
        {
            "kind": "archiver",
            "kafka": {"bootstrap_servers": ["127.0.0.1:9092"]},
            "topics": ["t"],
            "spool_dir": str(tmp_path),
            "rotate": {"max_age_seconds": 0.2},
        }
    )
    archiver = Archiver(cfg, threading.Event())
    archiver.spool.ensure()
    assert archiver.poll_timeout_ms() == POLL_MS  # no open file: nothing to rotate
    young = PartitionFile(archiver.spool, "t", 0, 0, level=1)
    old = PartitionFile(archiver.spool, "t", 1, 0, level=1)
    old.opened = time.monotonic() - 0.15
    archiver.files = {TopicPartition("t", 0): young, TopicPartition("t", 1): old}
    assert 0 < archiver.poll_timeout_ms() <= 50
    old.opened -= 1.0  # already due: rotate_aged runs right after a non-blocking poll
    assert archiver.poll_timeout_ms() == 0
    for pf in (young, old):
        pf.discard()
