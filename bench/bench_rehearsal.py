"""Row 6: the AWS path, rehearsed (docs/aws.md): `lakefeed up|rollout --env aws-rehearsal`
as a user runs them. Terraform applies terraform/envs/dev against the local AWS API; one
Debian systemd host per instance, at its private IP, reachable only by SSH; site.yml over
SSH from Terraform's inventory; the sample in the lake bucket.

Every row is against the first `up`'s site.yml, measured in the same run: 6a, a second
`lakefeed up` (nothing to change, nothing restarted); 6b, a `lakefeed rollout` of the
unchanged checkout (what cron runs). The first `up`'s other steps (Terraform, the hosts,
the smoke check) are in the notes. Afterwards the lake is emptied and `down` removes
everything, as tests/rehearsal does.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_harness import ROOT, say
from bench_report import Row
from lakefeed.lab import hosts
from lakefeed.runner.aws import kafka_ca_dir
from lakefeed.runner.rehearsal import PREFIX, api_client

PEER = "site.yml of the first `up`"
NAMES = (
    "Deploy on the AWS rehearsal: no-change `lakefeed up` again",
    "Deploy on the AWS rehearsal: no-change `lakefeed rollout` (cron's run)",
)


def _lakefeed(state: Path, *args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    """One `lakefeed COMMAND --env aws-rehearsal` run: its wall seconds and its output."""
    argv = [sys.executable, "-m", "lakefeed.cli", args[0], "--env", "aws-rehearsal"]
    argv += ["--state-dir", str(state), *args[1:]]
    t0 = time.monotonic()
    done = subprocess.run(
        argv,
        env={**os.environ, "LAKEFEED_PROJECT_DIR": str(ROOT)},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    seconds = time.monotonic() - t0
    if done.returncode != 0 and args[0] != "down":
        said = done.stderr[-4000:]
        raise RuntimeError(f"lakefeed {' '.join(args)} exited {done.returncode}:\n{said}")
    return seconds, done


def _summary(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"no JSON result line; stderr:\n{done.stderr[-4000:]}")
    return dict(json.loads(lines[-1]))


def _empty_and_down(state: Path) -> None:
    """The lake emptied (every version), then `down`: nothing of the run is left."""
    tfvars = state / "rehearsal.tfvars.json"
    bucket = json.loads(tfvars.read_text())["lake_bucket"] if tfvars.is_file() else None
    try:
        if bucket and (state / "aws-api-tls" / "ca.pem").is_file():
            s3 = api_client("s3", state / "aws-api-tls" / "ca.pem")
            versions = s3.list_object_versions(Bucket=bucket)
            doomed = [
                {"Key": v["Key"], "VersionId": v["VersionId"]}
                for v in versions.get("Versions", []) + versions.get("DeleteMarkers", [])
            ]
            for i in range(0, len(doomed), 1000):
                s3.delete_objects(Bucket=bucket, Delete={"Objects": doomed[i : i + 1000]})
        if (state / "terraform-args.json").exists():
            _lakefeed(state, "down", "--yes")
    finally:
        hosts.Lab(PREFIX, {}).down()
        hosts.LabNetwork(f"{PREFIX}-vpc").remove()
        if bucket:
            shutil.rmtree(kafka_ca_dir(bucket).parent, ignore_errors=True)


def rows_rehearsal() -> list[Row]:
    if os.geteuid() != 0:
        why = "needs root (rootful Podman for the rehearsal's hosts); run bench/run as root"
        return [
            Row(k, n, "n/a", PEER, "n/a", None, None, why_no_ratio=why)
            for k, n in zip(("6a", "6b"), NAMES, strict=True)
        ]
    subprocess.run([str(ROOT / "scripts" / "rehearsal-hosts-setup")], check=True)
    with tempfile.TemporaryDirectory(prefix="lakefeed-bench-rehearsal-") as tmp:
        state = Path(tmp) / "state"
        try:
            say("row 6: lakefeed up --env aws-rehearsal on new hosts (about 10 minutes)")
            first_wall, done = _lakefeed(state, "up")
            first = _summary(done)
            fresh = float(first["site_seconds"])
            say(f"row 6: first up {first_wall:.0f} s (site.yml {fresh:.0f} s); now up again")
            again_wall, done = _lakefeed(state, "up")
            again = _summary(done)
            rerun = float(again["site_seconds"])
            say(f"row 6: second up {again_wall:.0f} s (site.yml {rerun:.0f} s); now a rollout")
            nothing, _ = _lakefeed(state, "rollout")
            record = json.loads((state / "rollout.jsonl").read_text().splitlines()[-1])
            say(f"row 6: no-change rollout {nothing:.0f} s ({record['result']}); now down")
        finally:
            _empty_and_down(state)
    where = (
        f"{first['hosts']} EC2-shaped hosts (Debian 12 systemd containers at their "
        f"instances' private IPs, reached over SSH only)"
    )
    a = Row(
        "6a",
        NAMES[0],
        f"{rerun:.0f} s of site.yml ({again_wall:.0f} s in all)",
        PEER,
        f"{fresh:.0f} s",
        fresh / rerun,
        None,
        note=[
            f"{where}. The first `lakefeed up` took {first_wall:.0f} s in all: Terraform "
            f"against the local AWS API, the hosts started with their user data, site.yml "
            f"over SSH ({fresh:.0f} s: Java, Kafka, the wheelhouse, KRaft formatted, every "
            f"service started behind its gate), then the smoke check. The second `up` "
            f"changed {again.get('changed')} tasks and restarted nothing; its site.yml "
            f"time is Ansible checking every task over SSH. The ratio is how many times "
            f"shorter it is.",
        ],
    )
    b = Row(
        "6b",
        NAMES[1],
        f"{nothing:.0f} s",
        PEER,
        f"{fresh:.0f} s",
        fresh / nothing,
        None,
        note=[
            f"`lakefeed rollout --env aws-rehearsal` of the unchanged checkout, as cron "
            f"runs it: the lock, the wheelhouse rebuilt (reproducible), every host's "
            f"deployed fingerprint read over SSH; result `{record['result']}`. Issue 17 "
            f"asks cron's run to stay at 15 s or less.",
        ],
    )
    return [a, b]
