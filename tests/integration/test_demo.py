"""`lakefeed demo` as a user runs it: the whole pipeline on loopback, then nothing left."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.support.pipeline import write_replay
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def demo(sample: Path, rate: float) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "lakefeed", "demo", "--sample", str(sample), "--rate", str(rate)],
        env={**os.environ, "LAKEFEED_PROJECT_DIR": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def demo_to_the_end(sample: Path) -> str:
    """Runs the demo unthrottled until it ends by itself; its output, once it exited 0."""
    proc = demo(sample, rate=0)
    try:
        out, _ = proc.communicate(timeout=300)
    finally:
        proc.kill()
    assert proc.returncode == 0, out[-3000:]
    return out


def listening(address: str) -> bool:
    host, port = address.rsplit("/", 1)[-1].rsplit(":", 1)
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex((host, int(port))) == 0


def test_lines_it_refuses_end_the_demo_too_and_are_counted(tmp_path: Path) -> None:
    """A sample with invalid lines finishes once every line is in the lake or the
    dead-letter topic, and says how many went where (it used to wait for all lines in
    the lake until its 10-minute timeout)."""
    sample = tmp_path / "sample.jsonl"
    ids = write_replay(sample, 40)
    with sample.open("a", encoding="utf-8") as f:
        f.write("{not json\n")
        f.write(json.dumps({"data": {"text": "no id"}}) + "\n")
        f.write('{"data": {"id": "7", "score": NaN}}\n')
    out = demo_to_the_end(sample)
    assert f"{len(ids)} records to x.posts, 3 lines to lakefeed.dead-letter" in out, out
    assert f"lake: {len(ids)}/{len(ids)} records" in out, out
    refused = out.split("3 lines refused, in topic lakefeed.dead-letter:", 1)[1]
    assert re.search(r"^  2  invalid JSON$", refused, re.M), out
    assert re.search(r"^  1  no id at 'data.id'$", refused, re.M), out
    work = re.search(r"work dir (\S+)", out)
    assert work is not None and not Path(work.group(1)).exists()


def test_a_sample_of_only_refused_lines_ends_with_an_empty_lake(tmp_path: Path) -> None:
    sample = tmp_path / "sample.jsonl"
    sample.write_text('{not json\n{"data": {}}\n', encoding="utf-8")
    out = demo_to_the_end(sample)
    assert "0 records to x.posts, 2 lines to lakefeed.dead-letter" in out, out
    assert "The lake is empty" in out, out


def test_sigterm_stops_the_servers_and_removes_the_work_dir(tmp_path: Path) -> None:
    sample = tmp_path / "sample.jsonl"
    write_replay(sample, 5000)
    proc = demo(sample, rate=20)  # minutes of work: still running when the signal comes
    assert proc.stdout is not None
    out: list[str] = []

    def read() -> None:  # a thread, so that a demo printing nothing cannot block the wait
        for line in proc.stdout:  # type: ignore[union-attr]
            out.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        wait_for("the demo's collector started", lambda: "collector started" in "".join(out), 180)
        text = "".join(out)
        work = Path(re.search(r"work dir (\S+)", text).group(1))  # type: ignore[union-attr]
        kafka = re.search(r"Kafka (\S+) up", text).group(1)  # type: ignore[union-attr]
        minio = re.search(r"MinIO (\S+) up", text).group(1)  # type: ignore[union-attr]
        assert work.is_dir() and listening(kafka) and listening(minio), text
        proc.send_signal(signal.SIGTERM)
        proc.wait(120)
    finally:
        proc.kill()
        reader.join(10)
        proc.stdout.close()
    rest = "".join(out)[len(text) :]
    assert proc.returncode == 143, text + rest
    assert "stopped everything and removed the work dir" in rest, rest
    assert not work.exists(), f"{work} left behind"
    assert not listening(kafka), f"Kafka still listening on {kafka}"
    assert not listening(minio), f"MinIO still listening on {minio}"
