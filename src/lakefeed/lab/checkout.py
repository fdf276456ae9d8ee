"""A copy of the checkout to change the way a user does: edit the lab's group_vars, add a
file, then `lakefeed rollout` from the copy (LAKEFEED_PROJECT_DIR). Used by the change
matrix (tests/lab) and by bench row 5, so both make the same changes."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

GROUP_VARS = Path("inventories/lab/group_vars/all/main.yml")


def copy(root: Path, dest: Path) -> Path:
    """The checkout's tracked and untracked (not ignored) files, copied to `dest`."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=root,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        if (root / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(root / name, dest / name)
    return dest


def edit_vars(checkout: Path, change: Callable[[dict[str, Any]], None]) -> None:
    """Change the lab's committed group_vars in place (`change` edits the mapping)."""
    path = checkout / GROUP_VARS
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def add_replay_collector(checkout: Path, name: str, lines: list[str]) -> str:
    """A collector instance `name` replaying `lines` from a file of its own, into a new
    topic `<name>.extra` (one partition, three replicas). Returns the topic."""
    topic = f"{name}.extra"
    own = checkout / "data" / name / "extra.jsonl"
    own.parent.mkdir(parents=True, exist_ok=True)
    own.write_text("\n".join(lines) + "\n")
    dest = f"/var/lib/lakefeed/{name}/extra.jsonl"

    def add(v: dict[str, Any]) -> None:
        v["kafka_topics"].append({"name": topic, "partitions": 1, "replication_factor": 3})
        v["collector_instances"].append(
            {"name": name, "topic": topic, "source": {"type": "replay", "path": dest}}
        )
        v["collector_files"].append(
            {"src": f"{{{{ playbook_dir }}}}/../data/{name}/extra.jsonl", "dest": dest}
        )

    edit_vars(checkout, add)
    return topic
