"""The fingerprint of a deploy: stable, and naming what changed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lakefeed.runner import fingerprint

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of what a deploy depends on, to change without touching the checkout."""
    root = tmp_path / "repo"
    for name in ("site.yml", "ansible.cfg"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, root / name)
    for name in ("playbooks", "roles", "plugins", "inventories"):
        shutil.copytree(ROOT / name, root / name)
    return root


@pytest.fixture
def wheel(tmp_path: Path) -> Path:
    path = tmp_path / "lakefeed-1.0.0-py3-none-any.whl"
    path.write_bytes(b"not really a zip, only hashed")
    return path


def test_fingerprint_is_stable_and_names_what_changed(tree: Path, wheel: Path) -> None:
    inv = [tree / "inventories" / "lab"]
    first = fingerprint.desired(tree, inv, wheel)
    assert fingerprint.desired(tree, inv, wheel) == first
    assert first["kafka_version"] == "4.3.1"  # the role default; the lab does not set it

    # Scenario files and ops playbooks do not change what a deploy does.
    (tree / "roles/kafka/molecule/default/extra.yml").write_text("---\n")
    (tree / "playbooks/ops/another.yml").write_text("---\n")
    assert fingerprint.desired(tree, inv, wheel) == first

    defaults = tree / "roles/shipper/defaults/main.yml"
    defaults.write_text(defaults.read_text() + "# a comment is a change too\n")
    second = fingerprint.desired(tree, inv, wheel)
    assert second["fingerprint"] != first["fingerprint"]
    assert fingerprint.changed_parts(second, first) == ["ansible"]

    group_vars = tree / "inventories/lab/group_vars/all/main.yml"
    group_vars.write_text(group_vars.read_text() + 'kafka_version: "4.4.0"\n')
    third = fingerprint.desired(tree, inv, wheel)
    assert third["kafka_version"] == "4.4.0"
    assert fingerprint.changed_parts(third, second) == ["kafka_version", "inventory"]

    # The plugins site.yml uses (the lakefeed_login lookup) are part of the Ansible side.
    lookup = tree / "plugins/lookup/lakefeed_login.py"
    lookup.write_text(lookup.read_text() + "# a change\n")
    plugin_changed = fingerprint.desired(tree, inv, wheel)
    assert fingerprint.changed_parts(plugin_changed, third) == ["ansible"]
    lookup.write_text(lookup.read_text().removesuffix("# a change\n"))
    assert fingerprint.desired(tree, inv, wheel) == third

    wheel.write_bytes(b"another build")
    fourth = fingerprint.desired(tree, inv, wheel)
    assert fingerprint.changed_parts(fourth, third) == ["build"]
    assert fingerprint.changed_parts(fourth, None) == ["new host"]


def test_a_vaulted_inventory_file_is_hashed_not_parsed(tree: Path, wheel: Path) -> None:
    vault = tree / "inventories/lab/group_vars/all/vault.yml"
    vault.write_text("$ANSIBLE_VAULT;1.1;AES256\n6162636465\n")
    inv = [tree / "inventories" / "lab"]
    before = fingerprint.desired(tree, inv, wheel)
    vault.write_text("$ANSIBLE_VAULT;1.1;AES256\n6162636466\n")
    assert fingerprint.changed_parts(fingerprint.desired(tree, inv, wheel), before) == ["inventory"]
