"""`lakefeed up --env lab` end to end: real systemd hosts, Kafka, the daemons, MinIO.

The lab is built once for the session (the `lab` fixture, tests/support/labsession.py):
`up` must land the sample in the bucket (the runner's own smoke check); here it runs
again (nothing may change or restart), the hosts are checked for what the roles promise,
and `status` and `rollout` are put through what cron relies on.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from lakefeed.errors import LakefeedError
from lakefeed.runner import status
from lakefeed.runner.lab import SPOOL_DIR, LabRunner
from lakefeed.runner.rollout import Rollout
from lakefeed.runner.targets import target
from tests.support.faults import wait_kafka_healthy

pytestmark = pytest.mark.lab


def test_up_lands_the_sample_then_a_second_up_changes_nothing(
    lab: LabRunner, lab_up_output: str
) -> None:
    assert "the sample landed in s3://lakefeed-lab/" in lab_up_output
    kafka2 = lab.lab.groups["kafka"][1]
    pids = {
        unit: kafka2.exec("systemctl", "show", "-p", "MainPID", "--value", unit).stdout
        for unit in ("kafka", "lakefeed-archiver", "lakefeed-shipper")
    }
    again = LabRunner(out=io.StringIO(), prefix=lab.prefix, state=lab.target.state, root=lab.root)
    mark = lab.target.events_log.stat().st_size
    assert again.up() == 0
    assert again.summary["changed"] == 0, "a second run must change nothing"
    # One run applies the base system and installs the build once per host, however many
    # plays and daemon roles reach it (each play and each daemon role did it again).
    once = (
        "List which base packages are installed already",
        "Ensure this build's virtualenv exists",
    )
    events = lab.target.events_log.read_bytes()[mark:].decode().splitlines()
    done = Counter(
        (e["host"], e["task"])
        for e in map(json.loads, events)
        if e["event"] == "runner_on_ok" and e["task"] in once
    )
    assert {task for _, task in done} == set(once), done
    assert set(done.values()) == {1}, done
    for unit, pid in pids.items():
        now = kafka2.exec("systemctl", "show", "-p", "MainPID", "--value", unit).stdout
        assert now == pid, f"{unit} was restarted by a run that changed nothing"


def test_hosts_have_what_the_roles_promise(lab: LabRunner) -> None:
    kafka1, kafka2 = lab.lab.groups["kafka"][:2]
    assert kafka1.exec("/usr/local/bin/kafka-health").stdout.strip() == "healthy"
    mode = kafka2.exec("stat", "-c", "%a %U %G", "/etc/lakefeed/secrets/s3-secret-key")
    assert mode.stdout.split() == ["640", "root", "lakefeed"]
    user = kafka2.exec("ps", "-o", "user=", "-C", "lakefeed").stdout.split()
    assert user and set(user) == {"lakefeed"}, user
    health = json.loads(kafka2.exec("curl", "-s", "127.0.0.1:9102/healthz").stdout)
    assert health["status"] == "ok"
    # The spool is the archiver host's own small disk (the lab's stand-in for a volume).
    fs = kafka2.exec("df", "--output=size", "-B1M", SPOOL_DIR).stdout.split()[-1]
    assert int(fs) < 1024, f"{SPOOL_DIR} is not on the lab's spool disk: {fs} MiB"
    # The S3 secret is in no log line of any service.
    secret = lab.s3_credentials()["secret"]
    journal = kafka2.exec("journalctl", "--no-pager", "-o", "cat").stdout
    assert secret not in journal
    vault = lab.target.vault_file.read_text()
    assert vault.startswith("$ANSIBLE_VAULT") and secret not in vault


def test_services_are_hardened(lab: LabRunner) -> None:
    """`systemd-analyze security` rates every unit the roles install OK or better (the
    scores are in docs/security.md: 1.5 for Kafka and for lakefeed's daemons)."""
    kafka1, kafka2 = lab.lab.groups["kafka"][:2]
    units = [
        (kafka2, "kafka"),
        (kafka2, "lakefeed-archiver"),
        (kafka2, "lakefeed-shipper"),
        (kafka1, "lakefeed-collector@sample"),
    ]
    for host, unit in units:
        out = host.exec("systemd-analyze", "security", "--no-pager", unit).stdout
        line = out.strip().splitlines()[-1]
        score, rating = line.split(": ", 1)[1].split()[:2]
        assert rating in ("SAFE", "OK") and float(score) <= 2.0, f"{unit}: {line}"


def test_status_and_rollout(lab: LabRunner) -> None:
    check_status_and_rollout(lab, lab.target.state)


def _rollout_cli(root: Path, state: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "lakefeed.cli", "rollout", "--state-dir", str(state), *args],
        env={**os.environ, "LAKEFEED_PROJECT_DIR": str(root)},
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )


def check_status_and_rollout(runner: LabRunner, state: Path) -> None:
    """`status`, then the three things cron relies on: a rollout of an unchanged checkout
    does nothing, two rollouts never both act, and an unhealthy cluster stops a rollout
    before it restarts anything."""
    t = target("lab", runner.root, state)
    kafka1, _, kafka3 = runner.lab.groups["kafka"]

    out = io.StringIO()
    assert status.status(t, out) == 0, out.getvalue()
    table = out.getvalue()
    for host in runner.lab.groups["kafka"]:
        assert f"{host.name}  kafka " in table.replace("   ", "  "), table
    for service in ("lakefeed-archiver", "lakefeed-shipper", "lakefeed-collector"):
        assert service in table, table
    doc = io.StringIO()
    status.status(t, doc, as_json=True)
    report = json.loads(doc.getvalue())
    assert report["healthy"] is True
    shipper = next(
        s
        for h in report["hosts"].values()
        for s in h["services"]
        if s["service"] == "lakefeed-shipper"
    )
    assert shipper["health"]["last_shipped"].endswith(".jsonl.gz"), shipper

    def kafka_pid(host: object) -> str:
        return host.exec("systemctl", "show", "-p", "MainPID", "--value", "kafka").stdout  # type: ignore[attr-defined]

    pids = {h.name: kafka_pid(h) for h in runner.lab.groups["kafka"]}

    # Two at once: the second is refused with exit 75 while the first holds the lock,
    # and the first, finding every host at this checkout's fingerprint, does nothing.
    first = _rollout_cli(runner.root, state)
    assert first.stderr is not None
    deadline = time.monotonic() + 120
    for line in first.stderr:
        if "held" in line or time.monotonic() > deadline:
            break
    second = subprocess.run(
        [sys.executable, "-m", "lakefeed.cli", "rollout", "--state-dir", str(state)],
        env={**os.environ, "LAKEFEED_PROJECT_DIR": str(runner.root)},
        capture_output=True,
        text=True,
        check=False,
    )
    rest = first.stderr.read()
    first.stderr.close()
    assert first.wait(timeout=600) == 0, rest
    assert second.returncode == 75, second.stderr
    assert "another rollout holds" in second.stderr
    assert "nothing to do" in rest, rest
    lines = [json.loads(x) for x in t.rollout_log.read_text().splitlines()]
    assert sorted(x["result"] for x in lines[-2:]) == ["locked", "unchanged"], lines
    assert {h.name for h in runner.lab.groups["kafka"]} <= set(
        next(x for x in lines[-2:] if x["result"] == "unchanged")["hosts"]
    )

    # A frozen broker: its replicas fall out of sync, so the health gate before the first
    # restart fails; the rollout must stop there, restart nothing, and exit non-zero.
    kafka3.exec("systemctl", "kill", "--signal=SIGSTOP", "kafka")
    try:
        out = io.StringIO()
        with pytest.raises(LakefeedError, match="rollout stopped"):
            Rollout(
                t,
                restart_all=True,
                extravars={"kafka_health_timeout_seconds": 30},
                out=out,
            ).run()
        record = json.loads(t.rollout_log.read_text().splitlines()[-1])
        assert record["result"] == "failed", record
        assert record["failed_host"] == kafka1.name, record
        assert any(
            "under-replicated" in f or "kafka-health" in f or "Wait until" in f
            for f in record["failures"]
        ), record
        assert {h.name: kafka_pid(h) for h in runner.lab.groups["kafka"]} == pids, (
            "a rollout stopped by its health gate restarted a broker"
        )
    finally:
        kafka3.exec("systemctl", "kill", "--signal=SIGCONT", "kafka")
    wait_kafka_healthy(kafka1, 180)  # healed after SIGCONT
