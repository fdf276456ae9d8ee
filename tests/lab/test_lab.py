"""`lakefeed up --env lab` end to end: real systemd hosts, Kafka, the daemons, MinIO.

One test, because the lab takes minutes to build: it brings the lab up (the sample must
land in the bucket: the runner's own smoke check), runs it again (nothing may change or
restart), checks what the roles left on the hosts, and tears everything down.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from lakefeed.errors import LakefeedError
from lakefeed.runner import status
from lakefeed.runner.lab import LabRunner
from lakefeed.runner.rollout import Rollout
from lakefeed.runner.targets import target

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(os.geteuid() != 0, reason="the lab needs root (rootful Podman)"),
]


def test_up_twice_then_down(tmp_path: Path) -> None:
    prefix = f"lf-t{uuid.uuid4().hex[:6]}"
    out = io.StringIO()
    runner = LabRunner(out=out, prefix=prefix, state=tmp_path / "lab")
    try:
        assert runner.up() == 0, out.getvalue()[-4000:]
        assert "the sample landed in s3://lakefeed-lab/" in out.getvalue()
        kafka1, kafka2 = runner.lab.groups["kafka"][:2]
        pids = {
            unit: kafka2.exec("systemctl", "show", "-p", "MainPID", "--value", unit).stdout
            for unit in ("kafka", "lakefeed-archiver", "lakefeed-shipper")
        }

        again = LabRunner(out=io.StringIO(), prefix=prefix, state=tmp_path / "lab")
        assert again.up() == 0
        assert again.summary["changed"] == 0, "a second run must change nothing"
        for unit, pid in pids.items():
            now = kafka2.exec("systemctl", "show", "-p", "MainPID", "--value", unit).stdout
            assert now == pid, f"{unit} was restarted by a run that changed nothing"

        # What the roles promise on the hosts.
        assert kafka1.exec("/usr/local/bin/kafka-health").stdout.strip() == "healthy"
        mode = kafka2.exec("stat", "-c", "%a %U %G", "/etc/lakefeed/secrets/s3-secret-key")
        assert mode.stdout.split() == ["640", "root", "lakefeed"]
        user = kafka2.exec("ps", "-o", "user=", "-C", "lakefeed").stdout.split()
        assert user and set(user) == {"lakefeed"}, user
        health = json.loads(kafka2.exec("curl", "-s", "127.0.0.1:9102/healthz").stdout)
        assert health["status"] == "ok"
        # The S3 secret is in no log line of any service.
        secret = runner.s3_credentials()["secret"]
        journal = kafka2.exec("journalctl", "--no-pager", "-o", "cat").stdout
        assert secret not in journal
        vault = runner.paths.vault_file.read_text()
        assert vault.startswith("$ANSIBLE_VAULT") and secret not in vault

        check_status_and_rollout(runner, tmp_path / "lab")
    finally:
        LabRunner(out=io.StringIO(), prefix=prefix, state=tmp_path / "lab").down()
    assert not runner.lab.network.exists()


def _rollout_cli(state: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "lakefeed.cli", "rollout", "--state-dir", str(state), *args],
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
    first = _rollout_cli(state)
    assert first.stderr is not None
    deadline = time.monotonic() + 120
    for line in first.stderr:
        if "held" in line or time.monotonic() > deadline:
            break
    second = subprocess.run(
        [sys.executable, "-m", "lakefeed.cli", "rollout", "--state-dir", str(state)],
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
    deadline = time.monotonic() + 180
    while kafka1.exec("/usr/local/bin/kafka-health", check=False).returncode != 0:
        assert time.monotonic() < deadline, "the cluster did not heal after SIGCONT"
        time.sleep(5)
