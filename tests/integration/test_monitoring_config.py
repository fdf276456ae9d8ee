"""The monitoring role's prometheus.yml, rendered by Ansible from the role's own template
and variables for the inventories a user has (the lab's names, AWS's private addresses, a
cluster without daemons) and checked by promtool: every Kafka node and every daemon is a
target at an address the monitoring host reaches, named by its inventory name."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from lakefeed.fetch import fetched
from tests.support.playbook import ansible_playbook

ROOT = Path(__file__).resolve().parents[2]
ROLE = ROOT / "roles" / "monitoring"

PLAYBOOK = f"""
- name: Render prometheus.yml as the role does
  hosts: monitoring
  gather_facts: false
  vars:
    role_path: {ROLE}
  tasks:
    - name: Read the role's defaults and variables
      ansible.builtin.include_vars: {{file: "{{{{ item }}}}"}}
      loop: [{ROLE}/defaults/main.yml, {ROLE}/vars/main.yml]
    - name: Render
      ansible.builtin.template:
        src: {ROLE}/templates/etc/prometheus/prometheus.yml.j2
        dest: "{{{{ out }}}}"
        mode: "0644"
"""


def render(tmp_path: Path, groups: dict[str, dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """prometheus.yml for this inventory (groups -> {host: vars}), checked by promtool."""
    local = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    monitor = next(iter(groups["monitoring"]))
    children = {
        g: {"hosts": {h: ({**v, **local} if h == monitor else v) for h, v in hosts.items()}}
        for g, hosts in groups.items()
    }
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(yaml.safe_dump({"all": {"children": children}}))
    playbook = tmp_path / "render.yml"
    playbook.write_text(PLAYBOOK)
    out = tmp_path / "prometheus.yml"
    done = ansible_playbook(playbook, [inventory], extravars={"out": str(out), **extra})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    checked = subprocess.run(
        [str(fetched(ROOT, "fetch-promtool")), "check", "config", "--syntax-only", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr + out.read_text()
    return yaml.safe_load(out.read_text())


def targets(config: dict[str, Any], job: str) -> dict[str, tuple[str, dict[str, str]]]:
    """instance label -> (address scraped, labels) of one job."""
    (scrape,) = [s for s in config["scrape_configs"] if s["job_name"] == job]
    found = {}
    for static in scrape["static_configs"] or []:
        (address,) = static["targets"]
        found[static["labels"]["instance"]] = (address, static["labels"])
    return found


@pytest.mark.integration
def test_aws_hosts_are_scraped_at_their_private_addresses(tmp_path: Path) -> None:
    """Names do not resolve in a VPC: the runner gives every host monitoring_target_address;
    the monitoring host (the pipeline's) scrapes its own daemons on 127.0.0.1."""
    groups = {
        "kafka": {f"kafka-{n}": {"monitoring_target_address": f"10.0.{n}.10"} for n in (1, 2, 3)},
        "collector": {
            "kafka-1": {
                "collector_instances": [{"name": "x"}, {"name": "api", "metrics_port": 9150}]
            }
        },
        "archiver": {"kafka-2": {}},
        "shipper": {"kafka-2": {}},
        "monitoring": {"kafka-2": {}},
    }
    config = render(tmp_path, groups)
    assert targets(config, "kafka") == {
        "kafka-1:7071": ("10.0.1.10:7071", {"instance": "kafka-1:7071", "host": "kafka-1"}),
        "kafka-2:7071": ("127.0.0.1:7071", {"instance": "kafka-2:7071", "host": "kafka-2"}),
        "kafka-3:7071": ("10.0.3.10:7071", {"instance": "kafka-3:7071", "host": "kafka-3"}),
    }
    daemons = targets(config, "lakefeed")
    assert {
        i: (a, labels.get("service"), labels.get("collector")) for i, (a, labels) in daemons.items()
    } == {
        "kafka-1:9101": ("10.0.1.10:9101", "collector", "x"),
        "kafka-1:9150": ("10.0.1.10:9150", "collector", "api"),
        "kafka-2:9102": ("127.0.0.1:9102", "archiver", None),
        "kafka-2:9103": ("127.0.0.1:9103", "shipper", None),
    }
    assert {i: a for i, (a, _) in targets(config, "node").items()} == {
        "kafka-1:9100": "10.0.1.10:9100",
        "kafka-2:9100": "127.0.0.1:9100",
        "kafka-3:9100": "10.0.3.10:9100",
    }
    assert config["rule_files"] == ["/etc/prometheus/lakefeed-rules/*.yml"]
    assert "alerting" not in config


@pytest.mark.integration
def test_lab_names_ports_alertmanager_and_extra_jobs(tmp_path: Path) -> None:
    """The lab's hosts meet by name (kafka_advertised_host defaults to it); a host's own
    ports and the user's jobs are kept."""
    groups = {
        "kafka": {"lf-lab-kafka1": {"archiver_metrics_port": 9192}, "lf-lab-kafka2": {}},
        "archiver": {"lf-lab-kafka1": {"archiver_metrics_port": 9192}},
        "monitoring": {"lf-lab-s31": {}},
    }
    mine = {"job_name": "my-api", "static_configs": [{"targets": ["10.0.1.5:8080"]}]}
    config = render(
        tmp_path,
        groups,
        monitoring_alertmanager=True,
        monitoring_extra_scrape_configs=[mine],
        monitoring_kafka_metrics_port=17071,
    )
    assert {a for a, _ in targets(config, "kafka").values()} == {
        "lf-lab-kafka1:17071",
        "lf-lab-kafka2:17071",
    }
    assert [a for a, _ in targets(config, "lakefeed").values()] == ["lf-lab-kafka1:9192"]
    assert config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == [
        "127.0.0.1:9094"
    ]
    assert config["scrape_configs"][-1] == mine


@pytest.mark.integration
def test_a_cluster_without_daemons_still_loads(tmp_path: Path) -> None:
    config = render(tmp_path, {"kafka": {"k1": {}}, "monitoring": {"m1": {}}})
    assert targets(config, "lakefeed") == {}
    assert list(targets(config, "kafka")) == ["k1:7071"]
    assert sorted(targets(config, "node")) == ["k1:9100", "m1:9100"]
