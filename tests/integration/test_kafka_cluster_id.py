"""The kafka role's pick of the cluster id a new node is formatted with, evaluated by
Ansible exactly as written in roles/kafka/tasks/configure.yml.

A node with an empty disk (a broker added, a disk replaced, a first deploy finished by a
second run) must get the cluster id the formatted nodes already have: with another one it
is refused by every peer (INCONSISTENT_CLUSTER_ID) and never joins.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from lakefeed.runner.ansible import ansible_env

ROOT = Path(__file__).resolve().parents[2]


def expression() -> str:
    tasks = yaml.safe_load((ROOT / "roles/kafka/tasks/configure.yml").read_text())
    task = next(t for t in tasks if t["name"].startswith("Pick the cluster id"))
    return str(task["ansible.builtin.set_fact"]["__kafka_cluster_ids_on_disk"])


def test_the_cluster_id_on_disk_is_found(tmp_path: Path) -> None:
    metas = {
        "kafka-1": {"node.id": "1", "directory.id": "d1", "cluster.id": "UryoZS_TqFvjtJQVoVcX_g"},
        "kafka-2": {},  # not formatted yet
        "kafka-3": {"node.id": "3", "directory.id": "d3", "cluster.id": "UryoZS_TqFvjtJQVoVcX_g"},
    }
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(
        yaml.safe_dump(
            {
                "all": {
                    "hosts": {
                        "localhost": {
                            "ansible_connection": "local",
                            "ansible_python_interpreter": sys.executable,
                        },
                        **{name: {"__kafka_meta": meta} for name, meta in metas.items()},
                    }
                }
            }
        )
    )
    playbook = tmp_path / "pick.yml"
    playbook.write_text(
        yaml.safe_dump(
            [
                {
                    "hosts": "localhost",
                    "gather_facts": False,
                    "vars": {"__kafka_members": list(metas), "picked": expression()},
                    "tasks": [{"ansible.builtin.debug": {"msg": "{{ picked | to_json }}"}}],
                }
            ]
        )
    )
    done = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), f"-i{inventory}", str(playbook)],
        env={**ansible_env(), "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    result = json.loads(done.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]["msg"]
    assert json.loads(result) == ["UryoZS_TqFvjtJQVoVcX_g"]
