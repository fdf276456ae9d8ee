"""What a deploy of this checkout would put on the hosts, as one comparable value.

Three parts, so a rollout can say what changed: the lakefeed build (the wheel's sha256;
wheels are reproducible, so unchanged sources give the same value), the Ansible side
(site.yml, playbooks, roles, plugins, ansible.cfg) and the inventory (committed and generated
settings, vaulted secrets as their ciphertext). The Kafka version is reported on its
own: it is read from the inventory, falling back to the role default.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import yaml

# Nothing below these changes what a deploy does.
_SKIP_DIRS = {"molecule", "__pycache__", ".pytest_cache", "ops"}


def _files(root: Path, paths: Iterable[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_file():
            yield path
        elif path.is_dir():
            for child in sorted(path.rglob("*")):
                rel = child.relative_to(path)
                if child.is_file() and not _SKIP_DIRS.intersection(rel.parts[:-1]):
                    yield child


def digest(root: Path, paths: Iterable[Path]) -> str:
    h = hashlib.sha256()
    for f in _files(root, paths):
        name = str(f.relative_to(root)) if f.is_relative_to(root) else str(f)
        h.update(name.encode() + b"\0")
        h.update(hashlib.sha256(f.read_bytes()).digest())
    return h.hexdigest()[:16]


def kafka_version(root: Path, inventories: Iterable[Path]) -> str:
    """The kafka_version a deploy would use: the inventory's, else the role default."""
    found: str | None = None
    for inv in inventories:
        for f in _files(root, [inv / "group_vars", inv / "hosts.yml"]):
            if f.suffix not in (".yml", ".yaml"):
                continue
            text = f.read_text(encoding="utf-8", errors="replace")
            if text.startswith("$ANSIBLE_VAULT") or "kafka_version" not in text:
                continue
            data = yaml.safe_load(text)
            if isinstance(data, dict) and "kafka_version" in data:
                found = str(data["kafka_version"])
    if found is None:
        defaults = yaml.safe_load((root / "roles/kafka/defaults/main.yml").read_text())
        found = str(defaults["kafka_version"])
    return found


def desired(root: Path, inventories: Iterable[Path], wheel: Path) -> dict[str, Any]:
    inventories = list(inventories)
    parts = {
        "build": wheel.name.split("-py3")[0]
        + "-"
        + hashlib.sha256(wheel.read_bytes()).hexdigest()[:12],
        "kafka_version": kafka_version(root, inventories),
        "ansible": digest(
            root,
            [
                root / "site.yml",
                root / "ansible.cfg",
                root / "playbooks",
                root / "roles",
                # The lakefeed_login lookup decides the Kafka passwords the hosts get.
                root / "plugins",
            ],
        ),
        "inventory": digest(root, inventories),
    }
    blob = json.dumps(parts, sort_keys=True).encode()
    return {"fingerprint": hashlib.sha256(blob).hexdigest()[:20], **parts}


def changed_parts(want: dict[str, Any], have: dict[str, Any] | None) -> list[str]:
    """Which parts differ ("new host" when the host never completed a deploy)."""
    if not have or "fingerprint" not in have:
        return ["new host"]
    return [k for k in ("build", "kafka_version", "ansible", "inventory") if want[k] != have.get(k)]
