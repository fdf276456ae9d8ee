"""Runs the playbooks through ansible-runner's Python API, with progress and an event log.

Progress goes to stderr one line per task (and one per failure, with Ansible's own
message); every event is appended as one JSON object per line to the event log, so a
cron run leaves a full record behind. Nothing that a task marked no_log is printed.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from lakefeed.errors import LakefeedError

if TYPE_CHECKING:
    from lakefeed.runner.targets import Target

logger = logging.getLogger(__name__)


def project_root() -> Path:
    """The checkout holding site.yml and roles/: $LAKEFEED_PROJECT_DIR, this source tree,
    or the current directory."""
    for candidate in (
        os.environ.get("LAKEFEED_PROJECT_DIR"),
        Path(__file__).resolve().parents[3],
        Path.cwd(),
    ):
        if candidate and (Path(candidate) / "site.yml").is_file():
            return Path(candidate).resolve()
    raise LakefeedError(
        "cannot find the lakefeed checkout (site.yml, roles/): run from it or set "
        "LAKEFEED_PROJECT_DIR"
    )


@dataclass
class PlayResult:
    rc: int
    status: str
    stats: dict[str, dict[str, int]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def changed(self) -> int:
        return sum(self.stats.get("changed", {}).values())

    @property
    def ok(self) -> bool:
        return self.rc == 0 and not self.failures


class Progress:
    """Turns runner events into short progress lines and a JSON event log."""

    def __init__(
        self,
        out: TextIO,
        log_path: Path | None,
        on_event: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.out = out
        self.on_event = on_event
        self.log = log_path.open("a", encoding="utf-8") if log_path else None
        self.failures: list[str] = []
        self.task = ""
        self.started = time.monotonic()

    def __call__(self, event: dict[str, Any]) -> bool:
        kind = event.get("event", "")
        data = event.get("event_data", {})
        if self.on_event is not None:
            self.on_event(event)
        if self.log is not None:
            record = {
                "ts": event.get("created"),
                "event": kind,
                "host": data.get("host"),
                "play": data.get("play"),
                "task": data.get("task"),
                "changed": (data.get("res") or {}).get("changed")
                if isinstance(data.get("res"), dict)
                else None,
            }
            self.log.write(json.dumps(record) + "\n")
        elapsed = time.monotonic() - self.started
        if kind == "playbook_on_play_start":
            self.out.write(f"[{elapsed:6.0f}s] PLAY {data.get('play', '')}\n")
        elif kind == "playbook_on_task_start":
            self.task = data.get("task", "")
            self.out.write(f"[{elapsed:6.0f}s]   {self.task}\n")
        elif kind in ("runner_on_ok", "runner_item_on_ok") and _changed(data):
            # What a run changed, where: a rerun that should change nothing shows why not.
            item = "" if kind == "runner_on_ok" else _item_label(data)
            self.out.write(f"[{elapsed:6.0f}s]     changed: {data.get('host')}{item}\n")
        elif kind in (
            "runner_on_failed",
            "runner_on_unreachable",
            "runner_item_on_failed",
        ) and not data.get("ignore_errors"):
            res = data.get("res") or {}
            msg = "output hidden (no_log)" if res.get("censored") else res.get("msg", "")
            if not res.get("censored"):
                # A failed command says only "non-zero return code": what it printed is
                # the useful part (kafka-health names the unhealthy partitions).
                said = " ".join(str(res.get("stderr") or res.get("stdout") or "").split())
                if said and (not msg or msg == "non-zero return code"):
                    msg = f"{msg}: {said[-500:]}" if msg else said[-500:]
            line = f"{data.get('host')}: {data.get('task')}: {msg}".strip()
            self.failures.append(line)
            self.out.write(f"[{elapsed:6.0f}s]   FAILED {line}\n")
        self.out.flush()
        return True

    def close(self) -> None:
        if self.log is not None:
            self.log.close()


def _changed(data: dict[str, Any]) -> bool:
    res = data.get("res")
    return isinstance(res, dict) and bool(res.get("changed"))


def _item_label(data: dict[str, Any]) -> str:
    """The loop item of an item event, as the task's loop_control labels it; nothing for
    a no_log task (its item may be a secret)."""
    res = data.get("res") or {}
    if res.get("censored") or res.get("_ansible_no_log"):
        return ""
    label = res.get("_ansible_item_label", res.get("item"))
    if label is None:
        return ""
    text = label if isinstance(label, str) else json.dumps(label, sort_keys=True)
    return f" ({text[:80]})"


def site_extravars(
    record: dict[str, Any],
    *,
    restart_all: bool = False,
    only: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    """The extra vars every runner gives site.yml (lab up, aws up, rollout), in one place:
    playbooks/check.yml refuses a variable with a role's prefix that the role does not
    declare, extra vars included, and tests/integration/test_role_checks.py runs the checks with
    exactly these. `only` (a rollout's plan: play -> hosts) limits the deploying plays."""
    extravars: dict[str, Any] = {
        # Recorded on the hosts by the last play: a later rollout of an unchanged
        # checkout finds every host at this fingerprint and does nothing.
        "deploy_record": record,
        "kafka_force_restart": restart_all,
        "lakefeed_force_restart": restart_all,
    }
    if only is not None:
        extravars["deploy_only"] = only
    return extravars


def run_playbook(
    playbook: Path,
    inventories: list[Path],
    private_dir: Path,
    *,
    extravars: dict[str, Any] | None = None,
    vault_password_file: Path | None = None,
    check: bool = False,
    limit: str | None = None,
    event_log: Path | None = None,
    out: TextIO = sys.stderr,
    on_event: Callable[[dict[str, Any]], None] | None = None,
) -> PlayResult:
    """Run one playbook; returns its result (raises only if it could not start)."""
    import ansible_runner  # noqa: PLC0415 - only the runner commands need Ansible

    private_dir.mkdir(parents=True, exist_ok=True)
    cmdline = []
    if check:
        cmdline += ["--check", "--diff"]
    root = project_root()
    # ansible-runner looks for ansible-playbook on PATH: use this venv's own Ansible.
    bindir = str(Path(sys.executable).parent)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")
    progress = Progress(out, event_log, on_event)
    started = time.monotonic()
    try:
        result = ansible_runner.run(
            private_data_dir=str(private_dir),
            project_dir=str(root),
            playbook=str(playbook),
            inventory=[str(i) for i in inventories],
            extravars=extravars or {},
            cmdline=" ".join(cmdline) or None,
            limit=limit,
            envvars={
                **ansible_env(vault_password_file, inherit=False),
                "ANSIBLE_FORCE_COLOR": "0",
            },
            event_handler=progress,
            quiet=True,
            suppress_env_files=True,
        )
    finally:
        progress.close()
    stats = result.stats or {}
    failures = progress.failures
    if result.rc != 0 and not failures:
        # It failed before any task ran (bad inventory, syntax, missing binary).
        tail = (result.stdout.read() if result.stdout else "").strip().splitlines()[-15:]
        failures = ["ansible-playbook: " + "\n".join(tail)] if tail else [result.status]
    return PlayResult(
        rc=result.rc,
        status=result.status,
        stats={k: v for k, v in stats.items() if isinstance(v, dict)},
        failures=failures,
        seconds=time.monotonic() - started,
    )


def deploy(
    target: Target,
    record: dict[str, Any],
    *,
    restart_all: bool = False,
    only: dict[str, list[str]] | None = None,
    extravars: dict[str, Any] | None = None,
    out: TextIO = sys.stderr,
) -> PlayResult:
    """site.yml over an environment's inventories, with the deploy record the hosts keep:
    the one way every runner changes hosts (`up` in each environment, `rollout`). With
    `only` (play -> hosts, see fingerprint.plays_to_run) the other plays are skipped.
    Returns its result; the caller says what a failure means."""
    return run_playbook(
        target.root / "site.yml",
        list(target.inventories),
        target.state / "runner",
        extravars={
            **(extravars or {}),
            **site_extravars(record, restart_all=restart_all, only=only),
        },
        vault_password_file=target.vault_password_file,
        event_log=target.events_log,
        out=out,
    )


def ansible_env(vault_password_file: Path | None = None, *, inherit: bool = True) -> dict[str, str]:
    """Environment for running ansible CLI tools the same way the runner does. A vault
    password file given here replaces ansible.cfg's (scripts/vault-password, for plain
    `ansible-playbook` in the checkout): one password, not two that `ansible-vault
    encrypt` could not choose between."""
    root = project_root()
    env = {
        "ANSIBLE_CONFIG": str(root / "ansible.cfg"),
        "ANSIBLE_ROLES_PATH": str(root / "roles"),
    }
    if vault_password_file is not None:
        env["ANSIBLE_VAULT_PASSWORD_FILE"] = str(vault_password_file)
    return {**os.environ, **env} if inherit else env
