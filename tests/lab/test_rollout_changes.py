"""Rollouts change by change on the shared lab: which processes restart, and that each one
then runs what was deployed.

A change is made the way a user makes it, in a checkout: here a copy of this one (its
tracked and untracked files) with the change applied, rolled out to the lab with
`lakefeed rollout` from that copy. Each case rolls back to this checkout when it is done,
so the lab is left as `up` made it for the cases after it.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from lakefeed.runner.ansible import run_playbook
from lakefeed.runner.lab import LabRunner

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]


def checkout_copy(dest: Path) -> Path:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


def rollout(lab: LabRunner, checkout: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "lakefeed.cli", "rollout", "--state-dir", str(lab.target.state)],
        env={**os.environ, "LAKEFEED_PROJECT_DIR": str(checkout)},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-6000:]
    return dict(json.loads(lab.target.rollout_log.read_text().splitlines()[-1]))


def processes(lab: LabRunner) -> dict[tuple[str, str], str]:
    """(host, unit) -> MainPID of Kafka and of every lakefeed daemon running in the lab."""
    found = {}
    for host in lab.lab.groups["kafka"]:
        units = host.exec(
            "systemctl",
            "list-units",
            "--type=service",
            "--state=running",
            "--plain",
            "--no-legend",
            "kafka.service",
            "lakefeed-*",
        ).stdout.split()
        for unit in (u for u in units if u.endswith(".service")):
            pid = host.exec("systemctl", "show", "-p", "MainPID", "--value", unit).stdout.strip()
            found[(host.name, unit.removesuffix(".service"))] = pid
    return found


@pytest.fixture
def changed_checkout(lab: LabRunner, tmp_path: Path) -> Iterator[Path]:
    copy = checkout_copy(tmp_path / "checkout")
    try:
        yield copy
    finally:
        back = rollout(lab, ROOT)
        assert back["result"] in ("ok", "unchanged"), back


def test_a_build_only_change_restarts_every_daemon_and_no_broker(
    lab: LabRunner, changed_checkout: Path
) -> None:
    """The archiver and the shipper share a host and the lakefeed role: the first import
    moves `current` to the new build, and the second must still restart its daemon."""
    init = changed_checkout / "src" / "lakefeed" / "__init__.py"
    init.write_text(init.read_text() + "\n# a build-only change (tests/lab)\n")
    before = processes(lab)
    assert {unit for _, unit in before} >= {
        "kafka",
        "lakefeed-archiver",
        "lakefeed-shipper",
        "lakefeed-collector@sample",
    }, before
    record = rollout(lab, changed_checkout)
    assert record["result"] == "ok", record
    assert record["stale"] and all(parts == ["build"] for parts in record["stale"].values()), (
        record["stale"]
    )
    after = processes(lab)
    assert set(after) == set(before)
    restarted = {key for key in before if after[key] != before[key]}
    daemons = {key for key in before if key[1] != "kafka"}
    assert restarted == daemons, f"restarted {sorted(restarted)}, expected {sorted(daemons)}"
    for host in lab.lab.groups["kafka"]:
        # Nothing is left marked as running an older build.
        pending = host.exec("ls", "-A", "/opt/lakefeed/restart-pending").stdout.split()
        assert pending == [], (host.name, pending)
    again = rollout(lab, changed_checkout)
    assert again["result"] == "unchanged", again


def test_a_daemon_that_exits_at_once_fails_the_deploy_with_its_reason(
    lab: LabRunner, tmp_path: Path
) -> None:
    """A collector instance whose replay file is missing exits at start: the deploy must
    stop at its health gate at once and say why, not retry /healthz for a minute."""
    committed = yaml.safe_load((ROOT / "inventories/lab/group_vars/all/main.yml").read_text())
    broken = {
        "name": "broken",
        "topic": "x.posts",
        "source": {"type": "replay", "path": "/var/lib/lakefeed/no-such-file.jsonl"},
    }
    kafka1 = lab.lab.groups["kafka"][0]
    try:
        result = run_playbook(
            ROOT / "playbooks" / "collect.yml",
            list(lab.target.inventories),
            tmp_path / "runner",
            extravars={"collector_instances": [*committed["collector_instances"], broken]},
            vault_password_file=lab.target.vault_password_file,
            out=io.StringIO(),
        )
        assert not result.ok
        said = "\n".join(result.failures)
        assert "lakefeed-collector@broken exited since it was started" in said, said
        assert "cannot open replay file /var/lib/lakefeed/no-such-file.jsonl" in said, said
    finally:
        unit = "lakefeed-collector@broken"
        kafka1.exec("systemctl", "disable", "--now", unit, check=False)
        kafka1.exec("systemctl", "reset-failed", unit, check=False)
        for path in (f"services.d/{unit}.json", "collector-broken.yaml"):
            kafka1.exec("rm", "-f", f"/etc/lakefeed/{path}")
    sample = kafka1.exec("systemctl", "is-active", "lakefeed-collector@sample")
    assert sample.stdout.strip() == "active"


def test_ansible_playbook_site_yml_with_no_flags_deploys_to_the_lab(
    lab: LabRunner, tmp_path: Path
) -> None:
    """The entry point the project is used by: after `lakefeed up`, plain `ansible-playbook
    site.yml` in the checkout reaches the lab (its hosts and vault are in .lab/). Here the
    checkout is a copy whose .lab is this session's lab."""
    copy = checkout_copy(tmp_path / "checkout")
    (copy / ".lab").symlink_to(lab.target.state)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "LAKEFEED_"))}
    done = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "site.yml"],
        cwd=copy,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    recap = done.stdout[done.stdout.rindex("PLAY RECAP") :]
    for host in lab.lab.groups["kafka"]:
        line = next(x for x in recap.splitlines() if x.startswith(host.hostname + " "))
        assert "failed=0" in line and "changed=0" in line, line
