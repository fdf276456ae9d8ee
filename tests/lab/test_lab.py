"""`lakefeed up --env lab` end to end: real systemd hosts, Kafka, the daemons, MinIO.

One test, because the lab takes minutes to build: it brings the lab up (the sample must
land in the bucket: the runner's own smoke check), runs it again (nothing may change or
restart), checks what the roles left on the hosts, and tears everything down.
"""

from __future__ import annotations

import io
import json
import os
import uuid
from pathlib import Path

import pytest

from lakefeed.runner.lab import LabRunner

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
    finally:
        LabRunner(out=io.StringIO(), prefix=prefix, state=tmp_path / "lab").down()
    assert not runner.lab.network.exists()
