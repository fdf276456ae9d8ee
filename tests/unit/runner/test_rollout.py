"""`lakefeed rollout`: its lock, its exit codes, its log line, what it calls stale."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lakefeed.errors import LakefeedError
from lakefeed.runner.rollout import (
    EXIT_LOCKED,
    Rollout,
    RolloutLocked,
    lock,
    parse_extravars,
    plan,
    stale_hosts,
)
from lakefeed.runner.status import HostReport
from lakefeed.runner.targets import target

ROOT = Path(__file__).resolve().parents[3]


def _hold_lock(path: Path) -> subprocess.Popen[str]:
    code = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from lakefeed.runner.rollout import lock\n"
        "with lock(Path(sys.argv[1])):\n"
        "    print('held', flush=True)\n"
        "    time.sleep(60)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "held"
    return proc


def _release(holder: subprocess.Popen[str]) -> None:
    holder.kill()
    holder.wait()
    if holder.stdout is not None:
        holder.stdout.close()


def test_a_second_rollout_is_refused_while_one_holds_the_lock(tmp_path: Path) -> None:
    t = target("lab", ROOT, tmp_path / "state")
    holder = _hold_lock(t.lock_file)
    try:
        out = io.StringIO()
        with pytest.raises(RolloutLocked) as err:
            Rollout(t, out=out).run()
        assert err.value.exit_code == EXIT_LOCKED == 75
        assert f"pid {holder.pid}" in str(err.value)
        line = json.loads(t.rollout_log.read_text().splitlines()[-1])
        assert line["result"] == "locked"
        assert line["env"] == "lab"
        assert line["start"] <= line["end"]
    finally:
        _release(holder)
    # The kernel dropped the dead holder's lock: the next run gets it at once.
    with lock(t.lock_file):
        assert f"pid {__import__('os').getpid()}" in t.lock_file.read_text()


def test_cli_exit_code_for_a_locked_rollout(tmp_path: Path) -> None:
    state = tmp_path / "state"
    holder = _hold_lock(state / "rollout.lock")
    try:
        started = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", "lakefeed.cli", "rollout", "--state-dir", str(state)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 75, proc.stderr
        assert "another rollout holds" in proc.stderr
        assert time.monotonic() - started < 30  # it does not wait for the lock
    finally:
        _release(holder)


def test_a_rollout_without_hosts_fails_and_logs_one_line(tmp_path: Path) -> None:
    t = target("lab", ROOT, tmp_path / "state")
    with pytest.raises(LakefeedError, match="run `lakefeed up` first"):
        Rollout(t, out=io.StringIO()).run()
    lines = t.rollout_log.read_text().splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["result"] == "failed"
    assert "lakefeed up" in record["error"]


def test_extra_vars_keep_their_yaml_type() -> None:
    assert parse_extravars(["a=3", "b=true", "c=[x, y]", "d=text", "e="]) == {
        "a": 3,
        "b": True,
        "c": ["x", "y"],
        "d": "text",
        "e": "",
    }
    with pytest.raises(LakefeedError, match="name=value"):
        parse_extravars(["not a pair"])


def test_a_host_whose_process_drifted_is_stale_even_with_a_current_record() -> None:
    want = {"fingerprint": "f2", "build": "b2", "kafka_version": "k", "ansible": "a"}
    want.update(inventory="i", files="f")
    record = {**want}
    reports = {
        "kafka1": HostReport("kafka1", deployed=record),
        "kafka2": HostReport("kafka2", deployed=record, stale=["lakefeed-shipper: build ..."]),
        "kafka3": HostReport("kafka3", deployed={**record, "fingerprint": "f1", "build": "b1"}),
        "kafka4": HostReport("kafka4", deployed=None),
    }
    assert stale_hosts(want, reports) == {
        "kafka2": ["drift (lakefeed-shipper: build ...)"],
        "kafka3": ["build"],
        "kafka4": ["new host"],
    }


def test_the_plan_names_each_play_and_the_hosts_that_need_it() -> None:
    want = {"plays": {"kafka": "k", "topics": "t", "archive": "a2", "collect": "c", "monitor": "m"}}
    current = {
        "plays": {"kafka": "k", "topics": "t", "archive": "a1", "collect": "c", "monitor": "m"}
    }
    reports = {
        "kafka1": HostReport("kafka1", deployed=current),
        "kafka2": HostReport("kafka2", deployed={"plays": want["plays"]}),
        "kafka3": HostReport(
            "kafka3", deployed={"plays": want["plays"]}, stale=["lakefeed-collector@a is failed"]
        ),
        "kafka4": HostReport("kafka4", deployed=None),
    }
    assert plan(want, reports) == {
        "kafka": ["kafka4"],
        "topics": ["kafka4"],
        "archive": ["kafka1", "kafka4"],
        "collect": ["kafka3", "kafka4"],
        "monitor": ["kafka4"],
    }
    # With the hosts' groups (what lakefeed_status reports): only the plays that reach them.
    reports["kafka1"].groups = ["kafka", "collector"]
    reports["kafka4"].groups = ["kafka", "archiver"]
    assert plan(want, reports) == {
        "kafka": ["kafka4"],
        "topics": ["kafka4"],
        "archive": ["kafka4"],
        "collect": ["kafka3"],
        "monitor": [],
    }
