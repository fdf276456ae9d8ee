"""What the hosts of `lakefeed up --env aws` get from the generated inventory.

The runner turns Terraform's outputs into hosts.yml; inventories/aws/group_vars adds the
committed settings. Ansible itself resolves the variables here (no host is contacted):
the values the roles would use on EC2, where host names do not resolve, the lake's prefix
is Terraform's, node ids never come from a string sort, and cron has no ssh-agent.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from lakefeed.fetch import KAFKA_ARCHIVE_NAME
from lakefeed.runner.ansible import site_extravars
from lakefeed.runner.aws import AwsRunner
from lakefeed.runner.targets import target
from tests.support.playbook import DEFAULT_KAFKA, ansible_playbook, release_archive

ROOT = Path(__file__).resolve().parents[2]


def _host(n: int, ip: str, groups: list[str]) -> dict[str, Any]:
    return {
        "address": ip,
        "private_ip": ip,
        "availability_zone": f"eu-west-1{'abc'[n % 3]}",
        "instance_id": f"i-{n:017x}",
        "groups": groups,
        "node_id": n,
    }


# Ten brokers: a string sort would put kafka-10 second and renumber kafka-2..kafka-9.
OUTPUTS: dict[str, Any] = {
    "inventory": {
        "ssh_user": "admin",
        "ssh_private_key_file": "/home/ops/.ssh/lakefeed",
        "hosts": {
            f"kafka-{n}": _host(
                n,
                f"10.42.{n}.10",
                ["kafka"]
                + (["collector"] if n == 1 else [])
                + (["archiver", "shipper"] if n == 2 else []),
            )
            for n in range(1, 11)
        },
    },
    "lake_bucket": "acme-lake",
    "lake_prefix": "lake/v2",
    "region": "eu-west-1",
}

PROBE = """
- name: Resolve what the roles would use
  hosts: all
  gather_facts: false
  tasks:
    - name: Report the inventory's values
      ansible.builtin.debug:
        msg:
          shipper_s3_bucket: "{{ shipper_s3_bucket }}"
          shipper_s3_prefix: "{{ shipper_s3_prefix }}"
          shipper_s3_region: "{{ shipper_s3_region }}"
          kafka_node_id: "{{ kafka_node_id | default(none) }}"
          kafka_advertised_host: "{{ kafka_advertised_host | default(none) }}"
          collector_instances: "{{ collector_instances | map(attribute='name') | list }}"
          ansible_ssh_private_key_file: "{{ ansible_ssh_private_key_file | default(none) }}"
          ansible_ssh_common_args: "{{ ansible_ssh_common_args | default('') }}"
    # include_vars outranks the inventory: only after the report above.
    - name: Load the client roles' defaults
      ansible.builtin.include_vars:
        file: "{{ item }}"
      loop:
        - ROOT/roles/collector/defaults/main.yml
        - ROOT/roles/archiver/defaults/main.yml
    - name: Report the defaults the client roles would compute
      ansible.builtin.debug:
        msg:
          collector_bootstrap_servers: "{{ collector_bootstrap_servers }}"
          archiver_bootstrap_servers: "{{ archiver_bootstrap_servers }}"
"""


def _playbook(playbook: Path, inventories: tuple[Path, ...], extravars: dict[str, Any]) -> Any:
    return ansible_playbook(playbook, inventories, extravars=extravars)


@pytest.fixture(scope="module", autouse=True)
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The runner puts the cluster's CA and generated passwords under ~/.lakefeed, and the
    checks generate them: a home of the test's own, never the real one."""
    path = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOME", str(path))
        yield path


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory, home: Path) -> tuple[AwsRunner, Path]:
    tmp = tmp_path_factory.mktemp("aws-inventory")
    wheels = tmp / "wheelhouse"
    wheels.mkdir()
    (wheels / "lakefeed-1.0.0-py3-none-any.whl").write_bytes(b"only hashed")
    release_archive(
        tmp / KAFKA_ARCHIVE_NAME.replace("{{ kafka_version }}", DEFAULT_KAFKA), DEFAULT_KAFKA
    )
    archive = str(tmp / KAFKA_ARCHIVE_NAME)  # as `up` writes it: the release kafka_version names
    agent = tmp / "jmx_prometheus_javaagent.jar"
    agent.write_bytes(b"only checked to exist")
    runner = AwsRunner(target("aws", ROOT, tmp / "state"))
    runner.write_inventory(OUTPUTS, wheels, archive, agent)
    return runner, wheels


@pytest.fixture(scope="module")
def resolved(
    generated: tuple[AwsRunner, Path], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, dict[str, Any]]:
    runner, _ = generated
    probe = tmp_path_factory.mktemp("probe") / "probe.yml"
    probe.write_text(PROBE.replace("ROOT", str(ROOT)))
    done = _playbook(probe, runner.target.inventories, {})
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    tasks = json.loads(done.stdout)["plays"][0]["tasks"]
    found: dict[str, dict[str, Any]] = {}
    for task in (tasks[0], tasks[-1]):
        for host, res in task["hosts"].items():
            found.setdefault(host, {}).update(res["msg"])
    return found


def test_site_checks_pass_on_the_generated_aws_inventory(
    generated: tuple[AwsRunner, Path],
) -> None:
    """The first check of site.yml used to stop here: no Kafka archive and no collector
    instance on the AWS path."""
    runner, _ = generated
    done = _playbook(
        ROOT / "playbooks" / "check.yml",
        runner.target.inventories,
        site_extravars({"fingerprint": "x"}),
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    # sasl_ssl's logins got their passwords, in this cluster's directory and nowhere else.
    home = Path.home()
    made = sorted(str(p.relative_to(home)) for p in (home / ".lakefeed").rglob("*") if p.is_file())
    logins = ".lakefeed/clusters/acme-lake/kafka-ca/logins"
    assert made == [f"{logins}/{n}" for n in ("archiver", "collector-sample", "kafka-admin")]


def test_each_cluster_keeps_its_ca_and_passwords_in_its_own_directory(
    generated: tuple[AwsRunner, Path], home: Path
) -> None:
    """sasl_ssl by default on AWS, with the cluster's CA and generated passwords in a
    directory of its own under ~/.lakefeed (named by its lake bucket), outside the
    checkout."""
    runner, _ = generated
    hosts = yaml.safe_load(runner.target.hosts_file.read_text())["all"]["vars"]
    assert hosts["kafka_tls_ca_dir"] == str(home / ".lakefeed/clusters/acme-lake/kafka-ca")
    committed = yaml.safe_load((ROOT / "inventories/aws/group_vars/all/main.yml").read_text())
    assert committed["kafka_security"] == "sasl_ssl"


def test_clients_bootstrap_to_private_addresses_not_names(
    resolved: dict[str, dict[str, Any]],
) -> None:
    brokers = [f"10.42.{n}.10:9092" for n in range(1, 11)]  # kafka-2 before kafka-10
    assert resolved["kafka-1"]["collector_bootstrap_servers"] == brokers
    assert resolved["kafka-2"]["archiver_bootstrap_servers"] == brokers
    assert resolved["kafka-3"]["kafka_advertised_host"] == "10.42.3.10"


def test_the_nodes_get_the_jmx_exporter_from_this_machine(
    generated: tuple[AwsRunner, Path],
) -> None:
    """EC2 hosts in private subnets may have no way out to Maven Central."""
    runner, _ = generated
    hosts = yaml.safe_load(runner.target.hosts_file.read_text())["all"]["vars"]
    assert Path(hosts["kafka_jmx_exporter_local_jar"]).read_bytes() == b"only checked to exist"


def test_prometheus_runs_on_the_pipeline_host_and_scrapes_private_addresses(
    generated: tuple[AwsRunner, Path],
) -> None:
    runner, _ = generated
    children = yaml.safe_load(runner.target.hosts_file.read_text())["all"]["children"]
    assert list(children["monitoring"]["hosts"]) == ["kafka-2"]
    for group in children.values():
        for name, hv in group["hosts"].items():
            assert hv["monitoring_target_address"] == f"10.42.{name.split('-')[1]}.10", name


def test_node_ids_follow_the_terraform_outputs(resolved: dict[str, dict[str, Any]]) -> None:
    assert {h: int(v["kafka_node_id"]) for h, v in resolved.items()} == {
        f"kafka-{n}": n for n in range(1, 11)
    }


def test_the_lake_is_where_terraform_says(resolved: dict[str, dict[str, Any]]) -> None:
    """group_vars/all outranks hosts.yml's vars: a prefix there overrode Terraform's."""
    shipper = resolved["kafka-2"]
    assert (shipper["shipper_s3_bucket"], shipper["shipper_s3_prefix"]) == ("acme-lake", "lake/v2")
    assert shipper["shipper_s3_region"] == "eu-west-1"


def test_a_first_collector_is_there(resolved: dict[str, dict[str, Any]]) -> None:
    assert resolved["kafka-1"]["collector_instances"] == ["sample"]
    sample = ROOT / "playbooks" / ".." / "data" / "sample" / "x_stream.jsonl"
    assert sample.is_file()


def test_cron_needs_no_agent_and_no_prompt(
    resolved: dict[str, dict[str, Any]], generated: tuple[AwsRunner, Path]
) -> None:
    runner, _ = generated
    host = resolved["kafka-5"]
    assert host["ansible_ssh_private_key_file"] == "/home/ops/.ssh/lakefeed"
    args = host["ansible_ssh_common_args"]
    assert "StrictHostKeyChecking=accept-new" in args
    assert f"UserKnownHostsFile={runner.target.state.resolve()}/known_hosts" in args
