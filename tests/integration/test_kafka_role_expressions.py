"""Expressions of the kafka role that decide how a node's storage is formatted,
evaluated by Ansible exactly as written in the role.

- The cluster id: a node with an empty disk (a broker added, a disk replaced, a first
  deploy finished by a second run) must get the id the formatted nodes already have; with
  another one every peer refuses it (INCONSISTENT_CLUSTER_ID) and it never joins.
- A new cluster's voters: an odd number of the controllers.
- With kafka_security sasl_ssl, what each service may do: its grants come from the
  inventory (collector instances, archivers), each service under its own login.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.modules import import_module_file
from tests.support.playbook import ansible_playbook, report

ROOT = Path(__file__).resolve().parents[2]


def expression() -> str:
    tasks = yaml.safe_load((ROOT / "roles/kafka/tasks/configure.yml").read_text())
    task = next(t for t in tasks if t["name"].startswith("Pick the cluster id"))
    return str(task["ansible.builtin.set_fact"]["__kafka_cluster_ids_on_disk"])


def evaluate(
    tmp_path: Path,
    expr: str,
    variables: dict[str, Any],
    hosts: dict[str, Any],
    groups: dict[str, list[str]] | None = None,
) -> Any:
    """The value of one role expression, with these play vars, inventory hosts and groups."""
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
                        **hosts,
                    },
                    "children": {
                        group: {"hosts": {host: {} for host in members}}
                        for group, members in (groups or {}).items()
                    },
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
                    "vars": {**variables, "picked": expr},
                    "tasks": [{"ansible.builtin.debug": {"msg": "{{ picked | to_json }}"}}],
                }
            ]
        )
    )
    done = ansible_playbook(playbook, [inventory])
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    return json.loads(report(done)["plays"][0]["tasks"][0]["hosts"]["localhost"]["msg"])


def test_the_cluster_id_on_disk_is_found(tmp_path: Path) -> None:
    metas = {
        "kafka-1": {"node.id": "1", "directory.id": "d1", "cluster.id": "UryoZS_TqFvjtJQVoVcX_g"},
        "kafka-2": {},  # not formatted yet
        "kafka-3": {"node.id": "3", "directory.id": "d3", "cluster.id": "UryoZS_TqFvjtJQVoVcX_g"},
    }
    picked = evaluate(
        tmp_path,
        expression(),
        {"__kafka_members": list(metas)},
        {name: {"__kafka_meta": meta} for name, meta in metas.items()},
    )
    assert picked == ["UryoZS_TqFvjtJQVoVcX_g"]


@pytest.mark.parametrize(("controllers", "voters"), [(1, 1), (3, 3), (4, 3), (5, 5), (6, 5)])
def test_a_new_cluster_has_an_odd_number_of_voters(
    tmp_path: Path, controllers: int, voters: int
) -> None:
    role_vars = yaml.safe_load((ROOT / "roles/kafka/vars/main.yml").read_text())
    names = [f"kafka-{i}" for i in range(1, controllers + 1)]
    picked = evaluate(
        tmp_path, role_vars["__kafka_initial_voters"], {"__kafka_controllers": names}, {}
    )
    assert picked == names[:voters]


def test_adding_a_node_leaves_the_others_quorum_bootstrap_alone(tmp_path: Path) -> None:
    """controller.quorum.bootstrap.servers named every controller: a fourth combined node
    changed the three others' server.properties and the deploy restarted all of them."""
    role_vars = yaml.safe_load((ROOT / "roles/kafka/vars/main.yml").read_text())

    def bootstrap(count: int) -> str:
        names = [f"kafka-{i}" for i in range(1, count + 1)]
        hosts = {n: {"kafka_advertised_host": f"10.0.1.{i}"} for i, n in enumerate(names, 1)}
        return str(
            evaluate(
                tmp_path,
                role_vars["__kafka_quorum_bootstrap"],
                {"__kafka_controllers": names, "kafka_controller_port": 9093},
                hosts,
            )
        ).strip()

    three = bootstrap(3)
    assert three == "10.0.1.1:9093,10.0.1.2:9093,10.0.1.3:9093"
    assert bootstrap(4) == three
    assert bootstrap(6) == three
    assert bootstrap(1) == "10.0.1.1:9093"


@pytest.mark.parametrize("data_dir", ["/var/lib/kafka/data", "/data/kafka/", "/srv/k/logs"])
def test_status_looks_for_a_pending_restart_where_the_role_keeps_it(
    tmp_path: Path, data_dir: str
) -> None:
    """`lakefeed status` looked at /var/lib/kafka/.lakefeed-restart-pending whatever
    kafka_data_dir the inventory set: a node on a moved data directory never showed its
    pending restart. The module and the role now derive it from the same setting, and
    both playbooks that call the module pass it."""
    role_vars = yaml.safe_load((ROOT / "roles/kafka/vars/main.yml").read_text())
    role = evaluate(tmp_path, role_vars["__kafka_pending_marker"], {"kafka_data_dir": data_dir}, {})
    module = import_module_file(ROOT / "playbooks" / "ops" / "library" / "lakefeed_status.py")
    assert module.kafka_pending_marker(data_dir) == role
    for playbook in ("playbooks/ops/status.yml", "playbooks/record.yml"):
        plays = yaml.safe_load((ROOT / playbook).read_text())
        calls = [t for p in plays for t in p["tasks"] if "lakefeed_status" in t]
        assert calls and all("kafka_data_dir" in t["lakefeed_status"] for t in calls), playbook


def role_var(name: str) -> str:
    return str(yaml.safe_load((ROOT / "roles/kafka/vars/main.yml").read_text())[name])


def test_each_service_is_granted_its_own_topics_under_its_own_login(tmp_path: Path) -> None:
    hosts = {
        "c1": {
            "collector_instances": [
                {"name": "nba", "topic": "x.nba"},
                {"name": "f1", "topic": "x.f1", "kafka_user": "f1-writer"},
            ]
        },
        "c2": {
            "collector_dead_letter_topic": "dl",
            "collector_instances": [{"name": "flights", "topic": "x.flights"}],
        },
        "a1": {"archiver_topics": ["x.nba", "x.f1"]},
        "a2": {
            "archiver_topics": ["x.flights"],
            "archiver_kafka_sasl_username": "arch2",
            "archiver_group_id": "g2",
        },
    }
    groups = {"collector": ["c1", "c2"], "archiver": ["a1", "a2"]}
    acls = evaluate(tmp_path, role_var("__kafka_service_acls"), {}, hosts, groups)
    grants = sorted(
        (a["principal"], a["resource_type"], a["name"], ",".join(a["operations"])) for a in acls
    )
    assert grants == sorted(
        [
            ("User:collector-nba", "topic", "x.nba", "Write,Describe"),
            ("User:collector-nba", "topic", "lakefeed.dead-letter", "Write,Describe"),
            ("User:f1-writer", "topic", "x.f1", "Write,Describe"),
            ("User:f1-writer", "topic", "lakefeed.dead-letter", "Write,Describe"),
            ("User:collector-flights", "topic", "x.flights", "Write,Describe"),
            ("User:collector-flights", "topic", "dl", "Write,Describe"),
            ("User:archiver", "topic", "x.nba", "Read,Describe"),
            ("User:archiver", "topic", "x.f1", "Read,Describe"),
            ("User:archiver", "group", "lakefeed-archiver", "Read"),
            ("User:arch2", "topic", "x.flights", "Read,Describe"),
            ("User:arch2", "group", "g2", "Read"),
        ]
    )
    # No collector and no archiver: nothing is granted.
    assert evaluate(tmp_path, role_var("__kafka_service_acls"), {}, {}) == []


def test_the_super_users_keep_the_login_being_rotated_away(tmp_path: Path) -> None:
    expr = role_var("__kafka_super_users")
    common = {"__kafka_node_principal": "kafka-node", "kafka_scram_admin_user": "kafka-admin-2"}
    assert evaluate(tmp_path, expr, {**common, "kafka_super_users": []}, {}) == [
        "kafka-node",
        "kafka-admin-2",
    ]
    rotating = {
        **common,
        "kafka_super_users": ["ops"],
        "__kafka_admin_user_deployed": "kafka-admin",
    }
    assert evaluate(tmp_path, expr, rotating, {}) == [
        "kafka-node",
        "kafka-admin-2",
        "kafka-admin",
        "ops",
    ]


def test_a_generated_password_is_kept_under_a_ca_dir_with_a_space(tmp_path: Path) -> None:
    """Ansible's password lookup reads its term as `path key=value ...`; lakefeed_login
    hands it a path under kafka_tls_ca_dir, which may hold a space (a home directory on a
    Mac often does). The password must go to that path and be read back from it."""
    ca_dir = tmp_path / "Kafka CA"
    expr = f"{{{{ lookup('lakefeed_login', 'collector-nba', ca_dir={str(ca_dir)!r}) }}}}"
    first = evaluate(tmp_path, expr, {}, {})
    kept = ca_dir / "logins" / "collector-nba"
    assert kept.read_text().split()[0] == first
    assert len(first) == 32
    assert evaluate(tmp_path, expr, {}, {}) == first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Kafka CA", "hosts.yml", "pick.yml"]
