"""Run ansible-playbook as a test does: this venv's, with the project's Ansible settings
(ansible_env) and the JSON stdout callback, so the test reads each task's result."""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from lakefeed.runner.ansible import ansible_env


def ansible_playbook(
    playbook: Path,
    inventories: Iterable[Path],
    *,
    extravars: dict[str, Any] | None = None,
    limit: str | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    argv = [str(Path(sys.executable).parent / "ansible-playbook")]
    for inventory in inventories:
        argv += ["-i", str(inventory)]
    if extravars:
        argv += ["-e", json.dumps(extravars)]
    if limit:
        argv += ["--limit", limit]
    return subprocess.run(
        [*argv, str(playbook)],
        env={**ansible_env(), "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json"},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def report(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The JSON callback's report, or an error that shows what was printed instead."""
    try:
        return dict(json.loads(done.stdout))
    except ValueError:
        raise AssertionError(
            f"ansible-playbook printed no JSON (exit {done.returncode}):\n"
            f"{done.stdout[-3000:]}{done.stderr[-2000:]}"
        ) from None


ROOT = Path(__file__).resolve().parents[2]
# The Kafka release the kafka role installs unless the inventory names another.
DEFAULT_KAFKA = str(
    yaml.safe_load((ROOT / "roles/kafka/defaults/main.yml").read_text())["kafka_version"]
)


def release_archive(path: Path, version: str) -> Path:
    """A stand-in for a Kafka release archive at `path`: of its content, the kafka role's
    checks read only the release directory (the first entry)."""
    with tarfile.open(path, "w:gz") as tar:
        top = tarfile.TarInfo(f"kafka_2.13-{version}")
        top.type = tarfile.DIRTYPE
        tar.addfile(top)
    return path
