"""The AWS path, rehearsed: `lakefeed up|rollout|down --env aws-rehearsal` as a user runs them.

One deploy for every case, in order (the module's tests share it and run top to bottom):
Terraform applies terraform/envs/dev against the rehearsal's AWS API, one Debian systemd
host per instance comes up at that instance's private IP, reachable only by SSH, names
unresolvable, its user data run; site.yml configures them over SSH from the generated
inventory; the sample lands in the lake bucket Terraform made. Then: nothing changes on a
second `up`; cron's `rollout` (no agent, no terminal) does nothing; a disk that belongs to
another node id is refused; a host is replaced and rejoins with its old volume; `down`
keeps a lake with data and every protection on it, and removes everything once emptied.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from lakefeed import lake
from lakefeed.lab import hosts
from lakefeed.runner.aws import kafka_ca_dir
from lakefeed.runner.rehearsal import LABEL_STATE, PREFIX, api_client
from tests.support.playbook import ansible_playbook
from tests.support.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.rehearsal


@dataclass
class Rehearsal:
    state: Path
    outputs: dict[str, Any] = field(default_factory=dict)
    logs: dict[str, str] = field(default_factory=dict)
    first_up: subprocess.CompletedProcess[str] | None = None

    def lakefeed(
        self, *args: str, env: dict[str, str] | None = None, timeout: float = 2400
    ) -> subprocess.CompletedProcess[str]:
        command = args[0]
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "lakefeed.cli",
                command,
                "--env",
                "aws-rehearsal",
                "--state-dir",
                str(self.state),
                *args[1:],
            ],
            env=env if env is not None else {**os.environ, "LAKEFEED_PROJECT_DIR": str(ROOT)},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        self.logs[" ".join(args)] = done.stderr
        return done

    def client(self, service: str) -> Any:
        return api_client(service, self.state / "aws-api-tls" / "ca.pem")

    def inventory(self) -> dict[str, Any]:
        return dict(yaml.safe_load((self.state / "inventory" / "hosts.yml").read_text()))

    def ssh(
        self, name: str, command: str, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """As Ansible reaches the host: SSH to the inventory's address, with its key."""
        inv = self.inventory()["all"]
        address = inv["children"]["kafka"]["hosts"][name]["ansible_host"]
        return subprocess.run(
            [
                "ssh",
                "-i",
                inv["vars"]["ansible_ssh_private_key_file"],
                "-o",
                "BatchMode=yes",
                "-o",
                "StrictHostKeyChecking=accept-new",
                "-o",
                f"UserKnownHostsFile={self.state}/known_hosts",
                f"{inv['vars']['ansible_user']}@{address}",
                command,
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def kafka_tool(self, name: str, main: str, *args: str) -> str:
        """One of Kafka's tools, run on a host as the role runs them (AWS's inventory has
        sasl_ssl: with the role's client properties, TLS and the cluster's login):
        MetadataQuorumCommand to the controllers, the others to the brokers."""
        kafka = self.inventory()["all"]["children"]["kafka"]["hosts"]
        controllers = "MetadataQuorum" in main
        port = 9093 if controllers else 9092
        servers = ",".join(f"{hv['kafka_advertised_host']}:{port}" for hv in kafka.values())
        flag = "--bootstrap-controller" if controllers else "--bootstrap-server"
        props = "client-controller" if controllers else "client-admin"
        done = self.ssh(
            name,
            "sudo java -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC "
            "-XX:SharedArchiveFile=/opt/kafka/tools.jsa -Xlog:disable -Xlog:all=error:stderr "
            "-Dlog4j2.configurationFile=/etc/kafka/tools-log4j2.properties "
            f"-cp '/opt/kafka/libs/*' {main} {flag} {servers} "
            f"--command-config /etc/kafka/{props}.properties {' '.join(args)}",
        )
        assert done.returncode == 0, done
        return done.stdout


def _summary(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines, f"no JSON result line; stderr:\n{done.stderr[-6000:]}"
    return dict(json.loads(lines[-1]))


# What a test run killed mid-way leaves: a container of a rehearsal whose state directory
# (a temporary one) is gone. The first `up` must clear it, not stumble on it.
ORPHAN = f"{PREFIX}-orphan"


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rehearsal]:
    r = Rehearsal(tmp_path_factory.mktemp("rehearsal") / "state")
    gone = tmp_path_factory.mktemp("killed-run") / "state"
    subprocess.run([str(ROOT / "scripts" / "rehearsal-hosts-setup")], check=True)
    hosts.podman(
        "run", "--detach", "--pull=never", "--name", ORPHAN,
        "--label", f"{hosts.LABEL}={PREFIX}", "--label", f"{LABEL_STATE}={gone}",
        "localhost/lakefeed-moto", "sleep", "infinity",
    )  # fmt: skip
    try:
        yield r
    finally:
        # Whatever a failed case left: the API's account goes with its container, the
        # cluster's CA and passwords (kept by a `down` that kept the lake) with the test.
        # The containers go even if that `down` fails or hangs: left running, they hold
        # the machine's one rehearsal, and the next test run is refused.
        tfvars = r.state / "rehearsal.tfvars.json"
        bucket = json.loads(tfvars.read_text())["lake_bucket"] if tfvars.is_file() else None
        try:
            if (r.state / "terraform-args.json").exists():
                r.lakefeed("down", "--yes", timeout=900)
        finally:
            hosts.Lab(PREFIX, {}).down()
            hosts.LabNetwork(f"{PREFIX}-vpc").remove()
            if bucket:
                shutil.rmtree(kafka_ca_dir(bucket).parent, ignore_errors=True)


# kafka-2's data volume, full for every user but root (ext4 keeps its reserved blocks for
# root): the role's own files still go there, Kafka's format (as the kafka user) fails.
FILL = """
set -e
until mountpoint -q /var/lib/kafka; do sleep 1; done
sudo install -d -o nobody -m 0755 /var/lib/kafka/.rehearsal-fill
for i in 1 2 3 4 5 6; do
  avail=$(df --output=avail -B4096 /var/lib/kafka | tail -1)
  [ "$avail" -gt 0 ] || break
  sudo -u nobody fallocate -l $((avail * 4096)) /var/lib/kafka/.rehearsal-fill/$i \
    || sudo -u nobody fallocate -l $((avail * 2048)) /var/lib/kafka/.rehearsal-fill/$i || true
done
! sudo -u nobody sh -c 'head -c 65536 /dev/zero > /var/lib/kafka/.rehearsal-fill/probe' 2>/dev/null
"""


def test_a_first_deploy_whose_format_fails_on_one_node_is_finished_by_the_next(
    rehearsal: Rehearsal,
) -> None:
    """Two nodes formatted, one failed: the next run must format it as the third voter it
    was meant to be (the same initial controllers, its directory id), not as an observer."""
    done = rehearsal.lakefeed("up", "--until", "inventory")
    assert done.returncode == 0, done.stderr[-8000:]
    for _ in range(60):  # the host's sshd starts with its boot
        if rehearsal.ssh("kafka-2", "true").returncode == 0:
            break
        time.sleep(2)
    full = rehearsal.ssh("kafka-2", FILL, timeout=300)
    assert full.returncode == 0, full
    failed = rehearsal.lakefeed("up")
    assert failed.returncode != 0, failed.stderr[-8000:]
    assert "kafka-2" in failed.stderr and "kafka-storage format failed" in failed.stderr, (
        failed.stderr[-8000:]
    )
    formatted = {
        name: rehearsal.ssh(name, "sudo test -f /var/lib/kafka/data/meta.properties").returncode
        for name in ("kafka-1", "kafka-2", "kafka-3")
    }
    assert formatted == {"kafka-1": 0, "kafka-2": 1, "kafka-3": 0}
    freed = rehearsal.ssh("kafka-2", "sudo rm -rf /var/lib/kafka/.rehearsal-fill")
    assert freed.returncode == 0, freed
    # The deploy itself: the assertions of the next case are on its result.
    rehearsal.first_up = rehearsal.lakefeed("up")
    # One cluster: kafka-2, formatted by the second run, with the id the others have.
    cluster_ids = {
        name: rehearsal.ssh(
            name, "sudo grep ^cluster.id= /var/lib/kafka/data/meta.properties"
        ).stdout.strip()
        for name in ("kafka-1", "kafka-2", "kafka-3")
    }
    assert len(set(cluster_ids.values())) == 1, cluster_ids
    quorum = rehearsal.kafka_tool(
        "kafka-1", "org.apache.kafka.tools.MetadataQuorumCommand", "describe", "--status"
    )
    voters = re.search(r"CurrentVoters:\s*(\[.*\])", quorum)
    assert voters, quorum
    assert sorted(v["id"] for v in json.loads(voters[1])) == [1, 2, 3], quorum


def test_leftovers_of_a_run_whose_state_is_gone_are_removed(rehearsal: Rehearsal) -> None:
    first = rehearsal.logs["up --until inventory"]
    assert "removing a rehearsal whose state is gone" in first and ORPHAN in first, first
    assert hosts.LabHost(ORPHAN, f"{PREFIX}-vpc").state() is None


def test_a_second_rehearsal_is_refused_while_one_runs(rehearsal: Rehearsal, tmp_path: Path) -> None:
    """One machine holds one rehearsal (its VPC subnet and API address are fixed): another
    state directory is told whose the running one is and how to end it, and the running
    one is left as it was."""
    other = Rehearsal(tmp_path / "state")
    done = other.lakefeed("up", "--until", "inventory", timeout=300)
    owner = rehearsal.state.resolve()
    assert done.returncode != 0
    assert f"to the rehearsal whose state is {owner}" in done.stderr, done.stderr
    assert f"lakefeed down --env aws-rehearsal --state-dir {owner}" in done.stderr
    assert hosts.LabHost(f"{PREFIX}-aws-api", f"{PREFIX}-vpc").state() == "running"
    assert rehearsal.client("sts").get_caller_identity()["Account"]


def test_up_builds_configures_and_lands_the_sample(rehearsal: Rehearsal) -> None:
    done = rehearsal.first_up
    assert done is not None and done.returncode == 0, done and done.stderr[-8000:]
    summary = _summary(done)
    assert summary["stage"] == "smoke" and summary["hosts"] == 3, summary
    assert "the sample landed in s3://" in done.stderr
    found = lake.count(rehearsal.client("s3"), summary["bucket"], "raw/")
    assert found.records == lake.sample_records(ROOT)


def test_hosts_are_the_instances_terraform_made(rehearsal: Rehearsal) -> None:
    ec2 = rehearsal.client("ec2")
    inv = rehearsal.inventory()["all"]
    kafka = inv["children"]["kafka"]["hosts"]
    described = {
        t["Value"]: i
        for r in ec2.describe_instances()["Reservations"]
        for i in r["Instances"]
        if i["State"]["Name"] == "running"
        for t in i.get("Tags", [])
        if t["Key"] == "lakefeed:host"
    }
    assert set(described) == set(kafka) == {"kafka-1", "kafka-2", "kafka-3"}
    for name, hv in kafka.items():
        private = described[name]["PrivateIpAddress"]
        # Reached at the private address only: never the public one moto invented.
        assert hv["ansible_host"] == private and ipaddress.ip_address(private).is_private
        assert hv["kafka_advertised_host"] == private
        assert hv["kafka_node_id"] == int(name.rsplit("-", 1)[1])
        container = hosts.LabHost(f"{PREFIX}-{name}", f"{PREFIX}-vpc")
        assert container.ip() == private
        # The user data mounted the data volume from its (stand-in) EBS device.
        mounted = rehearsal.ssh(name, "findmnt -n -o SOURCE,TARGET /var/lib/kafka")
        assert mounted.returncode == 0 and "/var/lib/kafka" in mounted.stdout, mounted
        # No name resolution: a peer is unknown by name.
        peer = rehearsal.ssh(name, "getent hosts kafka-1 kafka-2 kafka-3")
        assert peer.returncode != 0 and not peer.stdout.strip(), peer
    assert inv["vars"]["ansible_ssh_private_key_file"].endswith("id_ed25519")
    # Every broker describes its log directory (kafka-log-dirs, and kafka-reassign-partitions
    # --execute, need it): the unit's sandbox must leave Java /proc/mounts, here as on EC2.
    log_dirs = "org.apache.kafka.tools.LogDirsCommand"
    described = rehearsal.kafka_tool("kafka-1", log_dirs, "--describe")
    brokers = json.loads(described.splitlines()[-1])["brokers"]
    assert sorted(b["broker"] for b in brokers) == [1, 2, 3], described
    assert all(d["error"] is None for b in brokers for d in b["logDirs"]), described


def test_prometheus_scrapes_every_node_and_daemon_at_its_private_address(
    rehearsal: Rehearsal,
) -> None:
    """No name resolves here, as in a VPC: Prometheus (on the pipeline's host) reaches each
    Kafka node's JMX exporter and each daemon at its private address, through the ports
    the security group opens to members."""
    children = rehearsal.inventory()["all"]["children"]
    (monitor,) = children["monitoring"]["hosts"]
    assert monitor in children["archiver"]["hosts"]
    private = {
        name: hv["monitoring_target_address"] for name, hv in children["kafka"]["hosts"].items()
    }
    targets: list[dict[str, Any]] = []

    def all_up() -> bool:
        done = rehearsal.ssh(
            monitor,
            "python3 -c 'import urllib.request as u; "
            'print(u.urlopen("http://127.0.0.1:9090/api/v1/targets").read().decode())\'',
        )
        assert done.returncode == 0, done
        targets[:] = json.loads(done.stdout)["data"]["activeTargets"]
        return bool(targets) and all(t["health"] == "up" for t in targets)

    wait_for("every target scraped and up", all_up, 120, every=5)
    by_job: dict[str, list[str]] = {}
    for t in targets:
        by_job.setdefault(t["labels"]["job"], []).append(t["scrapeUrl"])
    assert sorted(by_job["kafka"]) == sorted(
        f"http://{'127.0.0.1' if name == monitor else ip}:7071/metrics"
        for name, ip in private.items()
    ), targets
    # The sample collector on kafka-1, the archiver and the shipper on the monitoring host.
    collector = next(iter(children["collector"]["hosts"]))
    assert sorted(by_job["lakefeed"]) == sorted(
        [
            f"http://{'127.0.0.1' if collector == monitor else private[collector]}:9101/metrics",
            "http://127.0.0.1:9102/metrics",
            "http://127.0.0.1:9103/metrics",
        ]
    ), targets


def test_a_second_up_changes_nothing(rehearsal: Rehearsal) -> None:
    done = rehearsal.lakefeed("up")
    assert done.returncode == 0, done.stderr[-8000:]
    assert _summary(done)["changed"] == 0, done.stderr[-8000:]


def test_rollout_from_cron_needs_no_agent_and_no_terminal(rehearsal: Rehearsal) -> None:
    cron_env = {
        "PATH": "/usr/bin:/bin",
        "HOME": os.environ.get("HOME", "/root"),
        "LANG": "C.UTF-8",
        "LAKEFEED_PROJECT_DIR": str(ROOT),
    }
    done = rehearsal.lakefeed("rollout", env=cron_env)
    assert done.returncode == 0, done.stderr[-8000:]
    # One JSON line per run in the rollout log, as cron's runs leave them.
    last = json.loads((rehearsal.state / "rollout.jsonl").read_text().splitlines()[-1])
    assert (last["result"], last["hosts"]) == ("unchanged", ["kafka-1", "kafka-2", "kafka-3"])


def test_a_disk_of_another_node_is_refused(rehearsal: Rehearsal, tmp_path: Path) -> None:
    """kafka-3's disk says node 3; an inventory that calls it node 30 must not start it."""
    inv = rehearsal.inventory()
    inv["all"]["children"]["kafka"]["hosts"]["kafka-3"]["kafka_node_id"] = 30
    wrong = tmp_path / "inventory"
    (wrong / "group_vars").mkdir(parents=True)
    (wrong / "hosts.yml").write_text(yaml.safe_dump(inv))
    overrides = rehearsal.state / "inventory" / "group_vars" / "all"
    (wrong / "group_vars" / "all").symlink_to(overrides)
    done = ansible_playbook(
        ROOT / "playbooks" / "kafka.yml",
        [ROOT / "inventories" / "aws", wrong],
        limit="kafka-3",
        timeout=900,
    )
    assert done.returncode != 0
    assert "meta.properties says this disk belongs to node 3" in done.stdout, done.stdout[-4000:]
    running = rehearsal.ssh(
        "kafka-3", "systemctl is-active kafka; sudo grep ^node.id /etc/kafka/server.properties"
    )
    assert running.stdout.split() == ["active", "node.id=3"], running


def test_a_fourth_broker_joins_and_gets_its_share(rehearsal: Rehearsal, tmp_path: Path) -> None:
    """Scale 3 -> 4 as a user does: one more Kafka host in the tfvars, `up`. Ids stay, the
    new node joins as a broker and as a controller observer (the quorum keeps its three
    voters), in the next zone round-robin (kafka-1's), no other node restarts, and
    replicas move onto it, rack-aware: it shares kafka-1's."""
    before = rehearsal.inventory()["all"]["children"]["kafka"]["hosts"]

    def kafka_pids() -> dict[str, str]:
        show = "systemctl show kafka -p MainPID --value"
        return {name: rehearsal.ssh(name, show).stdout.strip() for name in before}

    pids = kafka_pids()
    assert all(pid not in ("", "0") for pid in pids.values()), pids
    scale = tmp_path / "four.tfvars.json"
    scale.write_text(
        json.dumps(
            {"hosts": {"kafka": {"count": 4, "instance_type": "t3.large", "data_volume_gb": 100}}}
        )
    )
    done = rehearsal.lakefeed("up", "--var-file", str(scale))
    assert done.returncode == 0, done.stderr[-8000:]
    assert _summary(done)["hosts"] == 4
    kafka = rehearsal.inventory()["all"]["children"]["kafka"]["hosts"]
    assert {n: hv["kafka_node_id"] for n, hv in kafka.items()} == {
        **{n: hv["kafka_node_id"] for n, hv in before.items()},
        "kafka-4": 4,
    }
    for name in kafka:
        meta = rehearsal.ssh(name, "sudo grep ^node.id= /var/lib/kafka/data/meta.properties")
        assert meta.stdout.strip() == f"node.id={kafka[name]['kafka_node_id']}", meta
    quorum = rehearsal.kafka_tool(
        "kafka-4", "org.apache.kafka.tools.MetadataQuorumCommand", "describe", "--status"
    )
    voters = re.search(r"CurrentVoters:\s*(\[.*\])", quorum)
    observers = re.search(r"CurrentObservers:\s*(\[.*\])", quorum)
    assert voters and observers, quorum
    assert sorted(v["id"] for v in json.loads(voters[1])) == [1, 2, 3]
    assert 4 in {o["id"] for o in json.loads(observers[1])}
    assert kafka["kafka-4"]["kafka_broker_rack"] == kafka["kafka-1"]["kafka_broker_rack"]
    # Adding a node restarts none of the others (their settings did not change).
    assert kafka_pids() == pids
    # Registered and serving: the health gate counts every broker of the inventory.
    health = rehearsal.ssh("kafka-4", "sudo /usr/local/bin/kafka-health")
    assert health.stdout.strip() == "healthy", health
    described = rehearsal.kafka_tool("kafka-4", "org.apache.kafka.tools.TopicCommand", "--describe")
    replicas = [
        [int(b) for b in m[1].split(",")] for m in re.finditer(r"Replicas:\s*([\d,]+)", described)
    ]
    rack = {hv["kafka_node_id"]: hv["kafka_broker_rack"] for hv in kafka.values()}
    assert sum(4 in r for r in replicas) > 0, described
    assert all(len({rack[b] for b in r}) == len(r) for r in replicas if len(r) == 3), described
    # The cluster is whole afterwards, and the next `up` changes nothing.
    assert rehearsal.lakefeed("status").returncode == 0
    again = rehearsal.lakefeed("up")
    assert again.returncode == 0 and _summary(again)["changed"] == 0, again.stderr[-8000:]


def test_a_replaced_host_rejoins_with_its_volume(rehearsal: Rehearsal) -> None:
    before = rehearsal.client("ec2").describe_instances(
        Filters=[{"Name": "tag:lakefeed:host", "Values": ["kafka-3"]}]
    )
    old = {i["InstanceId"] for r in before["Reservations"] for i in r["Instances"]}
    done = rehearsal.lakefeed("up", "--replace", "kafka-3")
    assert done.returncode == 0, done.stderr[-8000:]
    assert "kafka-3: instance replaced" in done.stderr
    container = hosts.LabHost(f"{PREFIX}-kafka-3", f"{PREFIX}-vpc")
    assert container.state() == "running"
    after = rehearsal.client("ec2").describe_instances(
        Filters=[
            {"Name": "tag:lakefeed:host", "Values": ["kafka-3"]},
            {"Name": "instance-state-name", "Values": ["running"]},
        ]
    )
    new = {i["InstanceId"] for r in after["Reservations"] for i in r["Instances"]}
    assert new and not new & old
    # Its Kafka data came back with the volume: the same node, the same cluster.
    meta = rehearsal.ssh("kafka-3", "sudo cat /var/lib/kafka/data/meta.properties")
    assert "node.id=3" in meta.stdout, meta
    assert rehearsal.lakefeed("status").returncode == 0


def test_down_keeps_a_lake_with_data_and_its_protections(rehearsal: Rehearsal) -> None:
    s3 = rehearsal.client("s3")
    bucket = _bucket(rehearsal)
    done = rehearsal.lakefeed("down", "--yes", timeout=900)
    assert done.returncode == 1, done.stderr[-6000:]
    assert "holds data: it is kept" in done.stderr
    assert not (rehearsal.state / "inventory" / "hosts.yml").exists()
    assert s3.get_bucket_policy(Bucket=bucket)["Policy"]
    assert all(s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"].values())
    assert s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    running = [
        i
        for r in rehearsal.client("ec2").describe_instances()["Reservations"]
        for i in r["Instances"]
        if i["State"]["Name"] == "running"
    ]
    assert running == []
    assert hosts.LabHost(f"{PREFIX}-kafka-1", f"{PREFIX}-vpc").state() is None


def test_down_removes_everything_once_the_lake_is_empty(rehearsal: Rehearsal) -> None:
    s3 = rehearsal.client("s3")
    bucket = _bucket(rehearsal)
    versions = s3.list_object_versions(Bucket=bucket)
    doomed = [
        {"Key": v["Key"], "VersionId": v["VersionId"]}
        for v in versions.get("Versions", []) + versions.get("DeleteMarkers", [])
    ]
    for i in range(0, len(doomed), 1000):
        s3.delete_objects(Bucket=bucket, Delete={"Objects": doomed[i : i + 1000]})
    cluster = kafka_ca_dir(bucket).parent
    assert (cluster / "kafka-ca" / "logins").is_dir(), "the deploys made no CA or logins"
    done = rehearsal.lakefeed("down", "--yes", timeout=900)
    assert done.returncode == 0, done.stderr[-6000:]
    assert hosts.LabNetwork(f"{PREFIX}-vpc").exists() is False
    assert not (rehearsal.state / "terraform-args.json").exists()
    # The rehearsal's cluster is gone for good: its secrets too, said once, nothing "kept".
    assert not cluster.exists(), sorted(str(p) for p in cluster.rglob("*"))
    assert f"removed {cluster}" in done.stderr, done.stderr[-3000:]
    assert f"kept {cluster}" not in done.stderr, done.stderr[-3000:]


def _bucket(rehearsal: Rehearsal) -> str:
    tfvars = json.loads((rehearsal.state / "rehearsal.tfvars.json").read_text())
    return str(tfvars["lake_bucket"])
