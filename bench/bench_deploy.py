"""Row 5: deploying with site.yml on the lab (three Debian systemd hosts and MinIO).

5a: a second `lakefeed up` on hosts that already run this checkout (nothing to change,
nothing restarted) against the first `up` on fresh hosts. 5b: `lakefeed rollout
--restart-all` (every broker and daemon restarted, one host at a time, behind the health
gates) against the same fresh deploy. Times are those of site.yml itself, as ansible-runner
reports them, without building the hosts or the smoke check.
"""

from __future__ import annotations

import io
import os
import tempfile
import time
import uuid
from pathlib import Path

from bench_harness import say
from bench_report import Row
from lakefeed.runner.lab import LabRunner
from lakefeed.runner.rollout import Rollout
from lakefeed.runner.targets import target


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min ({seconds:.0f} s)"


def rows_deploy() -> list[Row]:
    names = (
        "Deploy: no-change rerun of site.yml (`lakefeed up` again)",
        "Deploy: full rolling restart (`lakefeed rollout --restart-all`)",
    )
    if os.geteuid() != 0:
        why = "needs root (rootful Podman for the lab hosts); run bench/run as root"
        return [
            Row(k, n, "n/a", "site.yml on fresh lab hosts", "n/a", None, None, why_no_ratio=why)
            for k, n in zip(("5a", "5b"), names, strict=True)
        ]
    prefix = f"lf-b{uuid.uuid4().hex[:5]}"
    with tempfile.TemporaryDirectory(prefix="lakefeed-bench-deploy-") as tmp:
        state = Path(tmp) / "lab"
        log = io.StringIO()
        try:
            say("row 5: lakefeed up on fresh lab hosts (several minutes)")
            first = LabRunner(out=log, prefix=prefix, state=state)
            first.up()
            fresh = first.summary["site_seconds"]
            say(f"row 5: fresh deploy {fresh:.0f} s; now the no-change rerun")
            again = LabRunner(out=log, prefix=prefix, state=state)
            again.up()
            rerun = again.summary["site_seconds"]
            rerun_changed = again.summary["changed"]
            say(f"row 5: rerun {rerun:.0f} s (changed={rerun_changed}); now a full rollout")
            roll = Rollout(target("lab", first.root, state), restart_all=True, out=log)
            t0 = time.monotonic()
            roll.run()
            rollout = time.monotonic() - t0
            say(f"row 5: rollout --restart-all {rollout:.0f} s")
        finally:
            LabRunner(out=io.StringIO(), prefix=prefix, state=state).down()
    a = Row(
        "5a",
        names[0],
        _minutes(rerun),
        "site.yml on fresh lab hosts",
        _minutes(fresh),
        fresh / rerun,
        None,
        note=[
            f"Three Debian 12 systemd containers and a MinIO host on one Podman network, "
            f"the lab of `lakefeed up`. The fresh deploy installs Java, Kafka (the "
            f"release-layout archive from Maven Central's jars), the lakefeed wheelhouse "
            f"into a venv on two hosts, formats KRaft storage and starts everything. The "
            f"rerun changed {rerun_changed} tasks and restarted nothing; its time is "
            f"Ansible checking every task through nsenter (the lab's connection, no SSH). "
            f"The ratio is how many times shorter the rerun is.",
        ],
    )
    b = Row(
        "5b",
        names[1],
        _minutes(rollout),
        "site.yml on fresh lab hosts",
        _minutes(fresh),
        fresh / rollout,
        None,
        note=[
            "Everything restarted one host at a time: each Kafka node behind the health "
            "gate before and after (no under-replicated, under-min-ISR or offline "
            "partition, every voter caught up), then the archiver and shipper, then the "
            "collector, each waiting for /healthz. Includes the rollout's own steps: "
            "rebuilding the (reproducible) wheelhouse and reading every host's deployed "
            "fingerprint.",
        ],
    )
    return [a, b]
