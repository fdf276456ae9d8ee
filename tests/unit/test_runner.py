"""The runner's pieces that need no hosts: fingerprint, lock, JSON log, status table."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lakefeed.errors import LakefeedError
from lakefeed.runner import fingerprint
from lakefeed.runner.ansible import Progress
from lakefeed.runner.rollout import (
    EXIT_LOCKED,
    Rollout,
    RolloutLocked,
    lock,
    parse_extravars,
    stale_hosts,
)
from lakefeed.runner.status import HostReport, render
from lakefeed.runner.targets import target

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of what a deploy depends on, to change without touching the checkout."""
    root = tmp_path / "repo"
    for name in ("site.yml", "ansible.cfg"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, root / name)
    for name in ("playbooks", "roles", "inventories"):
        shutil.copytree(ROOT / name, root / name)
    return root


@pytest.fixture
def wheel(tmp_path: Path) -> Path:
    path = tmp_path / "lakefeed-1.0.0-py3-none-any.whl"
    path.write_bytes(b"not really a zip, only hashed")
    return path


def test_fingerprint_is_stable_and_names_what_changed(tree: Path, wheel: Path) -> None:
    inv = [tree / "inventories" / "lab"]
    first = fingerprint.desired(tree, inv, wheel)
    assert fingerprint.desired(tree, inv, wheel) == first
    assert first["kafka_version"] == "4.3.1"  # the role default; the lab does not set it

    # Scenario files and ops playbooks do not change what a deploy does.
    (tree / "roles/kafka/molecule/default/extra.yml").write_text("---\n")
    (tree / "playbooks/ops/another.yml").write_text("---\n")
    assert fingerprint.desired(tree, inv, wheel) == first

    defaults = tree / "roles/shipper/defaults/main.yml"
    defaults.write_text(defaults.read_text() + "# a comment is a change too\n")
    second = fingerprint.desired(tree, inv, wheel)
    assert second["fingerprint"] != first["fingerprint"]
    assert fingerprint.changed_parts(second, first) == ["ansible"]

    group_vars = tree / "inventories/lab/group_vars/all/main.yml"
    group_vars.write_text(group_vars.read_text() + 'kafka_version: "4.4.0"\n')
    third = fingerprint.desired(tree, inv, wheel)
    assert third["kafka_version"] == "4.4.0"
    assert fingerprint.changed_parts(third, second) == ["kafka_version", "inventory"]

    wheel.write_bytes(b"another build")
    fourth = fingerprint.desired(tree, inv, wheel)
    assert fingerprint.changed_parts(fourth, third) == ["build"]
    assert fingerprint.changed_parts(fourth, None) == ["new host"]


def test_a_vaulted_inventory_file_is_hashed_not_parsed(tree: Path, wheel: Path) -> None:
    vault = tree / "inventories/lab/group_vars/all/vault.yml"
    vault.write_text("$ANSIBLE_VAULT;1.1;AES256\n6162636465\n")
    inv = [tree / "inventories" / "lab"]
    before = fingerprint.desired(tree, inv, wheel)
    vault.write_text("$ANSIBLE_VAULT;1.1;AES256\n6162636466\n")
    assert fingerprint.changed_parts(fingerprint.desired(tree, inv, wheel), before) == ["inventory"]


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


def test_status_table_shows_every_service_and_unreachable_hosts() -> None:
    reports = {
        "kafka1": HostReport(
            "kafka1",
            services=[
                {
                    "service": "kafka",
                    "active": "active",
                    "sub": "running",
                    "healthy": True,
                    "version": "kafka_2.13-4.3.1",
                    "health": "healthy",
                },
                {
                    "service": "lakefeed-shipper",
                    "active": "active",
                    "sub": "running",
                    "healthy": False,
                    "version": "lakefeed-1.0.0-abc",
                    "health": {"status": "degraded", "backlog_files": 4, "last_shipped": "k"},
                },
            ],
        ),
        "kafka3": HostReport("kafka3", reachable=False, error="ssh: timed out"),
    }
    out = io.StringIO()
    render(reports, out)
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["HOST", "SERVICE", "STATE", "HEALTH", "VERSION", "DETAIL"]
    assert lines[1].split()[:4] == ["kafka1", "kafka", "active/running", "ok"]
    assert "FAIL" in lines[2] and "backlog=4" in lines[2] and "last=k" in lines[2]
    assert lines[3].split()[:3] == ["kafka3", "-", "unreachable"]


def test_unknown_env_and_missing_vault_file_are_clear(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(LakefeedError, match="unknown environment 'gcp'"):
        target("gcp", ROOT)
    monkeypatch.setenv("LAKEFEED_VAULT_PASSWORD_FILE", str(tmp_path / "nope"))
    with pytest.raises(LakefeedError, match="LAKEFEED_VAULT_PASSWORD_FILE"):
        target("aws", ROOT)


def test_a_failed_command_reports_what_it_printed_and_no_log_stays_hidden() -> None:
    out = io.StringIO()
    progress = Progress(out, None)
    progress(
        {
            "event": "runner_on_failed",
            "event_data": {
                "host": "kafka1",
                "task": "Wait until healthy",
                "res": {"msg": "non-zero return code", "stdout": "under-replicated: x.posts-2\n"},
            },
        }
    )
    progress(
        {
            "event": "runner_on_failed",
            "event_data": {
                "host": "kafka2",
                "task": "Write the secret",
                "res": {"censored": "the output has been hidden", "stdout": "s3cr3t"},
            },
        }
    )
    assert progress.failures == [
        "kafka1: Wait until healthy: non-zero return code: under-replicated: x.posts-2",
        "kafka2: Write the secret: output hidden (no_log)",
    ]
    assert "s3cr3t" not in out.getvalue()


def test_status_shows_what_runs_and_flags_drift() -> None:
    shipper = {
        "service": "lakefeed-shipper",
        "active": "active",
        "sub": "running",
        "healthy": True,
        "version": "lakefeed-1.1.0-new",
        "running": {"version": "1.0.0", "build": "lakefeed-1.0.0-old", "config": "c"},
        "drift": ["build running lakefeed-1.0.0-old deployed lakefeed-1.1.0-new"],
        "health": {"status": "ok"},
    }
    out = io.StringIO()
    render({"kafka2": HostReport("kafka2", services=[shipper])}, out)
    row = out.getvalue().splitlines()[1]
    assert row.split()[4] == "lakefeed-1.0.0-old", row  # what the process runs
    assert "DRIFT build running lakefeed-1.0.0-old deployed lakefeed-1.1.0-new" in row


def test_a_host_whose_process_drifted_is_stale_even_with_a_current_record() -> None:
    want = {"fingerprint": "f2", "build": "b2", "kafka_version": "k", "ansible": "a"}
    want["inventory"] = "i"
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


def test_progress_says_what_changed_where_and_hides_no_log_items() -> None:
    """A rerun that should change nothing said only changed=2: which task and host was
    left to guess from the task names."""
    out = io.StringIO()
    progress = Progress(out, None)
    events = [
        ("runner_on_ok", {"changed": True}, "kafka-2"),
        ("runner_on_ok", {"changed": False}, "kafka-3"),
        ("runner_item_on_ok", {"changed": True, "_ansible_item_label": "x.posts"}, "kafka-1"),
        ("runner_item_on_ok", {"changed": True, "item": "pw", "_ansible_no_log": True}, "kafka-1"),
    ]
    for kind, res, host in events:
        progress({"event": kind, "event_data": {"host": host, "task": "t", "res": res}})
    changed = [line.split("changed: ")[1] for line in out.getvalue().splitlines()]
    assert changed == ["kafka-2", "kafka-1 (x.posts)", "kafka-1"]
    assert "pw" not in out.getvalue()
