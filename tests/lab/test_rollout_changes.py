"""The change matrix: rollouts change by change on the shared lab, under load. Each case
asserts exactly which processes restarted (and that none other did), that every process then
runs what was deployed (the rollout's record gate and a second rollout, which treats drift
as a change, finding nothing to do), and the change's own effect.

A change is made the way a user makes it, in a checkout: here one copy of this checkout
(its tracked and untracked files) that the cases change one after the other, each rolled
out with `lakefeed rollout` from the copy. Kafka's VerifiableProducer writes through all of
them; none of its acknowledged records may be lost. The lab is left as the last case made
it: the fault suite, which runs next on the same lab, starts with a `rollout
--restart-all` of this checkout while its records flow, which brings every host back
(rolling back here first would cost CI another four minutes of the same rollout).
LAKEFEED_MATRIX_REPORT=FILE writes what each case restarted and how long it took.

Every case of issue 18 runs in CI: a build-only change, one daemon's setting (first with
its restart skipped), a broker setting, a topic config holding a comma, a collector
instance added and removed, the S3 secret rotated, and a Kafka upgrade from the release
the session's lab started on (tests/support/labsession.py pins it) to the default one;
each case also asserts which plays the rollout ran (only those whose inputs changed,
ADR 10).
"""

from __future__ import annotations

import io
import json
import os
import re
import secrets
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from lakefeed.lab import checkout
from lakefeed.runner import status
from lakefeed.runner.ansible import ansible_env, run_playbook
from lakefeed.runner.lab import SPOOL_DIR, LabRunner
from tests.support.faults import KAFKA_TOOL
from tests.support.labsession import lab_checkout
from tests.support.playbook import DEFAULT_KAFKA
from tests.support.verifiable import VerifiableLoad
from tests.support.waiting import wait_for

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]


def rollout(lab: LabRunner, tree: Path, *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [
            *(sys.executable, "-m", "lakefeed.cli", "rollout"),
            *("--state-dir", str(lab.target.state), *args),
        ],
        env={**os.environ, "LAKEFEED_PROJECT_DIR": str(tree)},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-6000:]
    return dict(json.loads(lab.target.rollout_log.read_text().splitlines()[-1]))


def plays(**hosts: list[str]) -> dict[str, list[str]]:
    """A rollout's plan as its record says it: each play, the hosts given, else none."""
    return {
        play: hosts.get(play, []) for play in ("kafka", "topics", "archive", "collect", "monitor")
    }


def processes(lab: LabRunner) -> dict[tuple[str, str], str]:
    """(host, unit) -> MainPID of Kafka and of every lakefeed daemon running in the lab."""
    found = {}
    for host in lab.lab.groups["kafka"]:
        units = host.exec(
            "systemctl",
            "list-units",
            "--type=service",
            "--state=running",
            "--plain",
            "--no-legend",
            "kafka.service",
            "lakefeed-*",
        ).stdout.split()
        for unit in (u for u in units if u.endswith(".service")):
            pid = host.exec("systemctl", "show", "-p", "MainPID", "--value", unit).stdout.strip()
            found[(host.name, unit.removesuffix(".service"))] = pid
    return found


# The two cases that need the lab as `up` left it come before the matrix changes it.


def test_a_daemon_that_exits_at_once_fails_the_deploy_with_its_reason(
    lab: LabRunner, tmp_path: Path
) -> None:
    """A collector instance whose replay file is missing exits at start: the deploy must
    stop at its health gate at once and say why, not retry /healthz for a minute."""
    committed = yaml.safe_load((ROOT / "inventories/lab/group_vars/all/main.yml").read_text())
    broken = {
        "name": "broken",
        "topic": "x.posts",
        "source": {"type": "replay", "path": "/var/lib/lakefeed/no-such-file.jsonl"},
    }
    kafka1 = lab.lab.groups["kafka"][0]
    try:
        result = run_playbook(
            ROOT / "playbooks" / "collect.yml",
            list(lab.target.inventories),
            tmp_path / "runner",
            extravars={"collector_instances": [*committed["collector_instances"], broken]},
            vault_password_file=lab.target.vault_password_file,
            out=io.StringIO(),
        )
        assert not result.ok
        said = "\n".join(result.failures)
        assert "lakefeed-collector@broken exited since it was started" in said, said
        assert "cannot open replay file /var/lib/lakefeed/no-such-file.jsonl" in said, said
    finally:
        unit = "lakefeed-collector@broken"
        kafka1.exec("systemctl", "disable", "--now", unit, check=False)
        kafka1.exec("systemctl", "reset-failed", unit, check=False)
        for path in (f"services.d/{unit}.json", "collector-broken.yaml"):
            kafka1.exec("rm", "-f", f"/etc/lakefeed/{path}")
    sample = kafka1.exec("systemctl", "is-active", "lakefeed-collector@sample")
    assert sample.stdout.strip() == "active"


def test_ansible_playbook_site_yml_with_no_flags_deploys_to_the_lab(
    lab: LabRunner, tmp_path: Path
) -> None:
    """The entry point the project is used by: after `lakefeed up`, plain `ansible-playbook
    site.yml` in the checkout reaches the lab (its hosts and vault are in .lab/). Here the
    checkout is a copy whose .lab is this session's lab."""
    copy = lab_checkout(lab, tmp_path / "checkout")
    (copy / ".lab").symlink_to(lab.target.state)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "LAKEFEED_"))}
    done = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "site.yml"],
        cwd=copy,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    recap = done.stdout[done.stdout.rindex("PLAY RECAP") :]
    for host in lab.lab.groups["kafka"]:
        line = next(x for x in recap.splitlines() if x.startswith(host.hostname + " "))
        assert "failed=0" in line and "changed=0" in line, line


# --- the change matrix ---------------------------------------------------------------

ARCHIVER, SHIPPER, SAMPLE = "lakefeed-archiver", "lakefeed-shipper", "lakefeed-collector@sample"
EXTRA = "lakefeed-collector@matrix"


class Matrix:
    """The copy the cases change one after the other, the load, and what each case saw."""

    def __init__(self, lab: LabRunner, copy: Path, load: VerifiableLoad) -> None:
        self.lab = lab
        self.copy = copy
        self.load = load
        self.kafka = lab.lab.groups["kafka"]
        self.seen: list[dict[str, Any]] = []

    def unit(self, host_index: int, unit: str) -> tuple[str, str]:
        return (self.kafka[host_index].name, unit)

    def edit_vars(self, change: Any) -> None:
        checkout.edit_vars(self.copy, change)

    def roll(
        self,
        case: str,
        restarted: set[tuple[str, str]],
        *,
        started: frozenset[tuple[str, str]] = frozenset(),
        stopped: frozenset[tuple[str, str]] = frozenset(),
    ) -> dict[str, Any]:
        """Roll the copy out; exactly `restarted` restart, `started` appear, `stopped` go;
        then a second rollout finds every host current and every process on it."""
        before = processes(self.lab)
        record = rollout(self.lab, self.copy)
        assert record["result"] == "ok", record
        after = processes(self.lab)
        assert set(after) == (set(before) | started) - stopped, (sorted(before), sorted(after))
        got = {key for key in before if key in after and after[key] != before[key]}
        assert got == restarted, f"{case}: restarted {sorted(got)}, expected {sorted(restarted)}"
        again = rollout(self.lab, self.copy)
        assert again["result"] == "unchanged", again
        self.seen.append(
            {
                "case": case,
                "restarted": sorted(u for _, u in got),
                "started": sorted(u for _, u in started),
                "stopped": sorted(u for _, u in stopped),
                "rollout_seconds": record["seconds"],
            }
        )
        for host in self.kafka:
            pending = host.exec("ls", "-A", "/opt/lakefeed/restart-pending", check=False)
            assert pending.stdout.split() == [], (case, host.name, pending.stdout)
        return record


@pytest.fixture(scope="module")
def matrix(lab: LabRunner, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Matrix]:
    copy = lab_checkout(lab, tmp_path_factory.mktemp("matrix") / "checkout")
    kafka = lab.lab.groups["kafka"]
    load = VerifiableLoad(kafka[2], kafka, "matrix.verifiable")
    load.start()
    m = Matrix(lab, copy, load)
    try:
        yield m
    finally:
        load.stop()
        report = os.environ.get("LAKEFEED_MATRIX_REPORT")
        if report:
            Path(report).write_text(json.dumps(m.seen, indent=1) + "\n")


def test_a_build_only_change_restarts_every_daemon_and_no_broker(matrix: Matrix) -> None:
    """The archiver and the shipper share a host and the lakefeed role: the first import
    moves `current` to the new build, and the second must still restart its daemon."""
    init = matrix.copy / "src" / "lakefeed" / "__init__.py"
    init.write_text(init.read_text() + "\n# a build-only change (tests/lab)\n")
    daemons = {matrix.unit(0, SAMPLE), matrix.unit(1, ARCHIVER), matrix.unit(1, SHIPPER)}
    record = matrix.roll("build only", daemons)
    assert record["stale"] and all(parts == ["build"] for parts in record["stale"].values()), (
        record["stale"]
    )
    # The Kafka nodes do not run the build: their play is skipped, the daemons' run.
    k1, k2 = matrix.kafka[0].name, matrix.kafka[1].name
    assert record["plays"] == plays(archive=[k2], collect=[k1]), record["plays"]
    # Every process says it runs the new build.
    build = record_build(matrix)
    for index, unit, port in ((0, SAMPLE, 9101), (1, ARCHIVER, 9102), (1, SHIPPER, 9103)):
        health = json.loads(
            matrix.kafka[index].exec("curl", "-s", f"127.0.0.1:{port}/healthz").stdout
        )
        assert health["running"]["build"] == build, (unit, health["running"], build)


def record_build(matrix: Matrix) -> str:
    """The build `current` points at: what was deployed."""
    link = matrix.kafka[1].exec("readlink", "-f", "/opt/lakefeed/current").stdout.strip()
    return link.rsplit("/", 1)[-1]


def test_one_daemon_setting_restarts_that_daemon_only(matrix: Matrix) -> None:
    """First as during an incident (`-e archiver_skip_restarts=true`): the config is
    written, nothing restarts, and `status` shows the archiver's drift; then the next
    rollout sees that drift as a change and restarts the archiver alone."""
    matrix.edit_vars(lambda v: v["archiver_rotate"].update(max_age_seconds=12))
    before = processes(matrix.lab)
    skipped = rollout(matrix.lab, matrix.copy, "-e", "archiver_skip_restarts=true")
    assert skipped["result"] == "ok", skipped
    assert processes(matrix.lab) == before, "a rollout with archiver_skip_restarts restarted"
    kafka2 = matrix.kafka[1].name
    drift = status.collect(matrix.lab.target, kafka_health=False)[kafka2].stale
    assert [line.split()[:2] for line in drift] == [["lakefeed-archiver:", "config"]], drift

    assert skipped["plays"] == plays(archive=[kafka2]), skipped

    record = matrix.roll("one daemon's setting (archiver_rotate)", {matrix.unit(1, ARCHIVER)})
    assert list(record["stale"]) == [kafka2], record["stale"]
    assert record["plays"] == plays(archive=[kafka2]), record
    assert record["stale"][kafka2][0].startswith("drift (lakefeed-archiver: config"), record
    config = matrix.kafka[1].exec("cat", "/etc/lakefeed/archiver.yaml").stdout
    assert "max_age_seconds: 12" in config


def test_a_broker_setting_restarts_every_broker_and_no_daemon(matrix: Matrix) -> None:
    matrix.edit_vars(
        lambda v: v.setdefault("kafka_server_properties", {}).update(
            {"num.recovery.threads.per.data.dir": 2}
        )
    )
    brokers = {matrix.unit(i, "kafka") for i in range(3)}
    record = matrix.roll("a broker setting (kafka_server_properties)", brokers)
    assert record["plays"]["archive"] == [] and record["plays"]["collect"] == [], record["plays"]
    for host in matrix.kafka:
        props = host.exec("cat", "/etc/kafka/server.properties").stdout
        assert "num.recovery.threads.per.data.dir=2" in props, host.name


def kafka_tool(matrix: Matrix, main: str, command: str) -> str:
    """One of Kafka's tools (`main`, its class) run on the first node against the lab's
    brokers: its stdout. The brokers come first: FeatureCommand takes them only before
    its subcommand."""
    bootstrap = f"--bootstrap-server {matrix.load.bootstrap}"
    return matrix.kafka[0].exec("sh", "-c", f"{KAFKA_TOOL} {main} {bootstrap} {command}").stdout


def test_a_topic_config_with_a_comma_restarts_nothing(matrix: Matrix) -> None:
    topic = {
        "name": "matrix.compacted",
        "partitions": 1,
        "replication_factor": 3,
        "configs": {"cleanup.policy": "compact,delete", "retention.ms": "3600000"},
    }
    matrix.edit_vars(lambda v: v["kafka_topics"].append(topic))
    record = matrix.roll("a topic config holding a comma (cleanup.policy)", set())
    # The topics play alone (from one broker): no node, daemon or Prometheus is visited.
    kafka = sorted(h.name for h in matrix.kafka)
    assert {play: sorted(hosts) for play, hosts in record["plays"].items()} == plays(
        topics=kafka
    ), record["plays"]
    described = kafka_tool(
        matrix, "org.apache.kafka.tools.TopicCommand", "--describe --topic matrix.compacted"
    )
    assert "cleanup.policy=compact,delete" in described, described


def test_a_new_collector_instance_starts_alone_with_its_own_file(matrix: Matrix) -> None:
    sample = (ROOT / "data" / "sample" / "x_stream.jsonl").read_text().splitlines()[:40]
    assert checkout.add_replay_collector(matrix.copy, "matrix", sample) == "matrix.extra"
    record = matrix.roll(
        "add a collector instance with its own file",
        set(),
        started=frozenset({matrix.unit(0, EXTRA)}),
    )
    # Its login and grants are the topics play's: no Kafka node is visited; the
    # archiver's inputs did not change.
    assert record["plays"]["kafka"] == record["plays"]["archive"] == [], record["plays"]
    assert record["plays"]["topics"], record["plays"]
    # Prometheus scrapes it from now on (a reload: the monitoring play, no restart).
    monitor = matrix.lab.lab.groups["s3"][0]
    assert record["plays"]["monitor"] == [monitor.hostname], record["plays"]
    url = f"http://{monitor.ip()}:9090/api/v1/targets"
    with urllib.request.urlopen(url, timeout=10) as resp:
        targets = json.load(resp)["data"]["activeTargets"]
    assert [
        t["labels"]["instance"] for t in targets if t["labels"].get("collector") == "matrix"
    ] == [f"{matrix.kafka[0].hostname}:9102"], targets
    copied = matrix.kafka[0].exec("wc", "-l", "/var/lib/lakefeed/matrix/extra.jsonl").stdout
    assert copied.split()[0] == "40", copied


def test_a_removed_collector_instance_is_stopped_and_its_files_gone(matrix: Matrix) -> None:
    def remove(v: dict[str, Any]) -> None:
        v["collector_instances"] = [i for i in v["collector_instances"] if i["name"] != "matrix"]

    matrix.edit_vars(remove)
    record = matrix.roll(
        "remove a collector instance", set(), stopped=frozenset({matrix.unit(0, EXTRA)})
    )
    assert record["plays"]["kafka"] == [] and record["plays"]["topics"], record["plays"]
    kafka1 = matrix.kafka[0]
    enabled = kafka1.exec("systemctl", "is-enabled", EXTRA, check=False).stdout.strip()
    assert enabled == "disabled", enabled
    for gone in (
        "/etc/lakefeed/collector-matrix.yaml",
        f"/etc/lakefeed/services.d/{EXTRA}.json",
        "/var/lib/lakefeed/collector-matrix",
    ):
        assert kafka1.exec("test", "-e", gone, check=False).returncode == 1, gone


def test_a_rotated_s3_secret_restarts_the_shipper_only(matrix: Matrix) -> None:
    """Rotated where S3 keeps it first (the lab's MinIO), then in the vault; the shipper
    waits out the gap with its files in ready/ and ships them with the new secret."""
    lab = matrix.lab
    new = {**lab.s3_credentials(), "secret": secrets.token_urlsafe(30)}
    vault = str(Path(sys.executable).parent / "ansible-vault")
    env = ansible_env(lab.target.own_vault_password)
    path = str(lab.target.vault_file)
    plain = subprocess.run(
        [vault, "view", path], env=env, capture_output=True, text=True, check=True
    ).stdout
    data = yaml.safe_load(plain)
    data["shipper_s3_secret_key"] = new["secret"]
    subprocess.run(
        [vault, "encrypt", "--output", path, "-"],
        input=yaml.safe_dump(data),
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    # MinIO's root secret is the lab's S3 secret: changed where MinIO reads it, restarted,
    # then start_s3 (which writes the same file again) waits until it answers to it.
    s3 = lab.lab.groups["s3"][0]
    s3.exec(
        "sed",
        "-i",
        f"s|^MINIO_ROOT_PASSWORD=.*|MINIO_ROOT_PASSWORD={new['secret']}|",
        "/etc/default/minio",
    )
    s3.exec("systemctl", "restart", "minio")
    lab.start_s3(new)
    record = matrix.roll("rotate the S3 secret", {matrix.unit(1, SHIPPER)})
    # The runner opens the vault with its password: only the play reading the secret runs.
    kafka2 = matrix.kafka[1].name
    assert record["plays"] == plays(archive=[kafka2]), record
    secret = matrix.kafka[1].exec("cat", "/etc/lakefeed/secrets/s3-secret-key").stdout.strip()
    assert secret == new["secret"]
    wait_for(
        "the shipper ships with the new secret (nothing left in ready/)",
        lambda: not matrix.kafka[1].exec("ls", "-A", f"{SPOOL_DIR}/ready").stdout.split(),
        120,
    )


def metadata_version(matrix: Matrix) -> str:
    described = kafka_tool(matrix, "org.apache.kafka.tools.FeatureCommand", "describe")
    found = re.search(r"Feature: metadata\.version\s.*FinalizedVersionLevel:\s*(\S+)", described)
    assert found, described
    return found[1]


def test_a_kafka_upgrade_restarts_every_node_then_finalizes_its_release(matrix: Matrix) -> None:
    """From the release the session's lab started on to the default one: each node
    restarts onto it, one at a time behind the health gates, no daemon restarts; after the
    last node the cluster's metadata.version is the new release's (ADR 13)."""
    pinned = yaml.safe_load((matrix.copy / checkout.GROUP_VARS).read_text()).get("kafka_version")
    if pinned is None:
        pytest.skip("this lab runs the default release already (LAKEFEED_TEST_LAB_STATE)")
    old_release = ".".join(str(pinned).split(".")[:2])
    assert metadata_version(matrix).startswith(f"{old_release}-"), "not the old release's"
    matrix.edit_vars(lambda v: v.pop("kafka_version"))
    brokers = {matrix.unit(i, "kafka") for i in range(3)}
    record = matrix.roll(f"Kafka upgrade ({pinned} to {DEFAULT_KAFKA})", brokers)
    assert record["plays"]["archive"] == [] and record["plays"]["collect"] == [], record["plays"]
    for host in matrix.kafka:
        home = host.exec("readlink", "-f", "/opt/kafka").stdout.strip()
        assert home.endswith(f"kafka_2.13-{DEFAULT_KAFKA}"), (host.name, home)
    release = ".".join(DEFAULT_KAFKA.split(".")[:2])
    assert metadata_version(matrix).startswith(f"{release}-")


def test_no_acknowledged_record_was_lost_through_the_changes(matrix: Matrix) -> None:
    assert len(matrix.load.acked()) > 100, "the VerifiableProducer got too few acks"
    counts = matrix.load.finish()
    matrix.seen.append({"case": "VerifiableProducer through all of the above", **counts})
    assert counts["lost"] == 0, counts
