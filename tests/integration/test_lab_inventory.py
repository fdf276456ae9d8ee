"""The lab's committed settings are not overridden by what `lakefeed up` generates.

`up` writes this machine's paths and hosts into .lab/inventory, an inventory source
loaded after inventories/lab: anything it sets wins. It used to set collector_files (for
the sample), so files added in inventories/lab/group_vars, as docs/operations.md tells
users to, never reached the hosts and their replay instances started without them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from lakefeed.runner.lab import LabRunner
from tests.support.playbook import ansible_playbook

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration

PROBE = """
- name: Resolve the collector's files
  hosts: collector
  gather_facts: false
  tasks:
    - name: Report
      ansible.builtin.debug:
        msg: "{{ collector_files | to_json }}"
"""


def test_generated_inventory_leaves_collector_files_to_group_vars(tmp_path: Path) -> None:
    runner = LabRunner(state=tmp_path / "state")
    runner.write_inventory(
        "http://lf-lab-s31:9000", tmp_path / "wheels", str(tmp_path / "k.tgz"), tmp_path / "j.jar"
    )
    generated = yaml.safe_load(runner.target.generated_vars.read_text())
    assert "collector_files" not in generated
    probe = tmp_path / "playbooks" / "probe.yml"
    probe.parent.mkdir()
    probe.write_text(PROBE)
    done = ansible_playbook(probe, runner.target.inventories)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    task = json.loads(done.stdout)["plays"][0]["tasks"][0]
    (result,) = task["hosts"].values()
    files: list[dict[str, Any]] = json.loads(result["msg"])
    committed = yaml.safe_load((ROOT / "inventories/lab/group_vars/all/main.yml").read_text())
    assert [f["dest"] for f in files] == [f["dest"] for f in committed["collector_files"]]
    # The committed path is relative to playbooks/ and names the bundled sample.
    src = Path(files[0]["src"].replace(str(probe.parent), str(ROOT / "playbooks")))
    assert src.resolve() == (ROOT / "data" / "sample" / "x_stream.jsonl").resolve()


def test_the_lab_vault_is_made_and_read_with_the_checkouts_ansible_cfg(tmp_path: Path) -> None:
    """ansible.cfg names a vault password file (scripts/vault-password) so that plain
    `ansible-playbook site.yml` works; `up` encrypting the lab's S3 credentials with its own
    password as well gave ansible-vault two passwords to choose from, and it refused."""
    runner = LabRunner(state=tmp_path / "state")
    made = runner.s3_credentials()
    assert runner.target.vault_file.read_text().startswith("$ANSIBLE_VAULT")
    assert LabRunner(state=tmp_path / "state").s3_credentials() == made
