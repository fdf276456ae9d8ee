"""/usr/local/bin/kafka-health, rendered by Ansible from the kafka role's template and run
against a real broker (node 1): it is the gate of every rolling restart and of topic
creation, so what it calls healthy matters."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from lakefeed.local.servers import LocalKafka
from lakefeed.runner.ansible import ansible_env

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "roles/kafka/templates"


def render(
    kafka: LocalKafka,
    tmp_path: Path,
    node_ids: list[int],
    quorum: str | None = None,
    home: Path | None = None,
) -> Path:
    """The script for an inventory whose kafka group has brokers with these node ids (and
    `quorum` as the controllers' address, the broker's own unless given), running the
    tools of Kafka's install at `home` (the broker's own unless given)."""
    config = tmp_path / "etc"
    config.mkdir(exist_ok=True)
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(
        yaml.safe_dump(
            {
                "all": {
                    "hosts": {
                        "localhost": {
                            "ansible_connection": "local",
                            "ansible_python_interpreter": sys.executable,
                        }
                    },
                    "children": {
                        "kafka": {"hosts": {f"kafka-{i}": {"kafka_node_id": i} for i in node_ids}}
                    },
                }
            }
        )
    )
    script = tmp_path / "kafka-health"
    playbook = tmp_path / "render.yml"
    playbook.write_text(
        yaml.safe_dump(
            [
                {
                    "hosts": "localhost",
                    "gather_facts": False,
                    "vars": {
                        "__kafka_brokers": "{{ groups['kafka'] }}",
                        "__kafka_classpath": str((home or kafka.home) / "libs" / "*"),
                        "__kafka_bootstrap": kafka.bootstrap,
                        "__kafka_quorum_bootstrap": quorum or f"127.0.0.1:{kafka.controller_port}",
                        "__kafka_secure": False,
                        "kafka_config_dir": str(config),
                    },
                    "tasks": [
                        {
                            "ansible.builtin.template": {
                                "src": str(TEMPLATES / "usr/local/bin/kafka-health.j2"),
                                "dest": str(script),
                                "mode": "0755",
                            }
                        },
                        {
                            "ansible.builtin.template": {
                                "src": str(TEMPLATES / "etc/kafka/tools-log4j2.properties.j2"),
                                "dest": str(config / "tools-log4j2.properties"),
                                "mode": "0644",
                            }
                        },
                    ],
                }
            ]
        )
    )
    done = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), f"-i{inventory}", str(playbook)],
        env=ansible_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    return script


@pytest.mark.parametrize(
    ("node_ids", "wait", "rc", "says"),
    [
        ([1], [], 0, "healthy"),
        ([1], ["--wait", "30"], 0, "healthy"),
        # Broker 2 of the inventory never registered: not healthy, whatever the topics say
        # (with no topic yet, nothing is under-replicated).
        ([1, 2], [], 1, "brokers not registered (down, starting or fenced): 2"),
    ],
)
def test_every_broker_of_the_inventory_must_be_registered(
    kafka: LocalKafka, tmp_path: Path, node_ids: list[int], wait: list[str], rc: int, says: str
) -> None:
    script = render(kafka, tmp_path, node_ids)
    done = subprocess.run(
        [str(script), *wait], capture_output=True, text=True, timeout=180, check=False
    )
    assert (done.returncode, says in done.stdout) == (rc, True), done.stdout + done.stderr
    # One report, whole: the healthy verdict alone, or every problem and no verdict.
    assert done.stdout.count("healthy") == (1 if rc == 0 else 0), done.stdout


def test_a_partition_under_its_min_isr_is_named_and_nothing_else(
    kafka: LocalKafka, tmp_path: Path
) -> None:
    """The partitions come from one describe read by the script: a topic of one replica
    that asks for two in sync (min.insync.replicas=2) has every replica in sync, so it is
    under its min ISR and neither under-replicated nor unavailable, as TopicCommand's own
    --under-min-isr-partitions says. Deleted, the cluster is healthy again."""
    from kafka.admin import KafkaAdminClient  # noqa: PLC0415 - the one Kafka client

    script = render(kafka, tmp_path, [1])
    kafka.create_topic("health.min-isr", partitions=2, min_insync_replicas="2")
    try:
        done = subprocess.run(
            [str(script)], capture_output=True, text=True, timeout=180, check=False
        )
        assert done.returncode == 1, done.stdout + done.stderr
        named = [line for line in done.stdout.splitlines() if "health.min-isr" in line]
        assert done.stdout.splitlines()[0] == "under-min-isr-partitions:", done.stdout
        assert [line.split("\t")[2] for line in named] == ["Partition: 0", "Partition: 1"]
        assert "under-replicated" not in done.stdout and "unavailable" not in done.stdout
        assert "healthy" not in done.stdout, done.stdout
    finally:
        admin = KafkaAdminClient(**kafka.client_kwargs())
        try:
            admin.delete_topics(["health.min-isr"])
        finally:
            admin.close()
    again = subprocess.run(
        [str(script), "--wait", "60"], capture_output=True, text=True, timeout=300, check=False
    )
    assert (again.returncode, again.stdout) == (0, "healthy\n"), again.stdout + again.stderr


def java_noting(tmp_path: Path, pattern: str) -> dict[str, str]:
    """The environment of a run whose `java` is the real one behind a wrapper that notes,
    one line a call, the arguments matching the shell `pattern` (in tmp_path/calls)."""
    calls = tmp_path / "calls"
    wrapper = tmp_path / "bin" / "java"
    wrapper.parent.mkdir()
    wrapper.write_text(
        "#!/bin/sh\n"
        f'for a in "$@"; do case $a in {pattern}) echo "$a" >> {calls};; esac; done\n'
        f'exec {shutil.which("java")} "$@"\n'
    )
    wrapper.chmod(0o755)
    return {**os.environ, "PATH": f"{wrapper.parent}:{os.environ['PATH']}"}


def write_class_data(kafka: LocalKafka, archive: Path, classpath: str) -> None:
    """A class-data archive of a real tool call, as roles/kafka/tasks/class_data.yml
    writes it (for `classpath`: another one makes an archive the JVM cannot use)."""
    subprocess.run(
        [
            *("java", f"-XX:ArchiveClassesAtExit={archive}", "-cp", classpath),
            "org.apache.kafka.tools.BrokerApiVersionsCommand",
            *("--bootstrap-server", kafka.bootstrap),
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )


def test_calls_map_the_class_data_archive_and_never_write_it(
    kafka: LocalKafka, tmp_path: Path
) -> None:
    """Without tools.jsa beside libs/, no call writes one (writing takes seconds, which a
    call cut off at 30 s must not spend: under load that failed the gate in CI). With it,
    every call maps it. One this Java cannot use (written for another classpath) changes
    nothing of the report: the JVM's warning about it stays off the output the script
    reads."""
    home = tmp_path / "kafka"
    home.mkdir()
    (home / "libs").symlink_to(kafka.home / "libs")
    script = render(kafka, tmp_path, [1], home=home)
    env = java_noting(tmp_path, "-XX:SharedArchiveFile=*|-XX:ArchiveClassesAtExit=*")
    calls = tmp_path / "calls"
    archive = home / "tools.jsa"

    def healthy() -> list[str]:
        calls.unlink(missing_ok=True)
        done = subprocess.run(
            [str(script)], capture_output=True, text=True, timeout=180, check=False, env=env
        )
        assert (done.returncode, done.stdout) == (0, "healthy\n"), done.stdout + done.stderr
        return calls.read_text().split() if calls.exists() else []

    assert healthy() == []
    assert sorted(p.name for p in home.iterdir()) == ["libs"], "a call wrote class data"

    write_class_data(kafka, archive, f"{home}/libs/*")
    assert healthy() == [f"-XX:SharedArchiveFile={archive}"] * 3

    # An archive of another classpath: the JVM would warn on stdout that it cannot use it.
    archive.unlink()
    tools_jar = next((kafka.home / "libs").glob("kafka-tools-[0-9]*.jar"))
    write_class_data(kafka, archive, f"{tools_jar}:{home}/libs/*")
    assert healthy() == [f"-XX:SharedArchiveFile={archive}"] * 3


def test_waiting_ends_with_every_problem_named(kafka: LocalKafka, tmp_path: Path) -> None:
    """While waiting, a check stops at its first problem (the missing broker); the report
    when the time is up comes from a full check, so the unreachable quorum is named too."""
    script = render(kafka, tmp_path, [1, 2], quorum="127.0.0.1:1")
    # The real java, behind a wrapper that notes which tool each call runs.
    env = java_noting(tmp_path, "org.apache.kafka.*")
    calls = tmp_path / "calls"
    done = subprocess.run(
        [str(script), "--wait", "6"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=env,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "brokers not registered (down, starting or fenced): 2" in done.stdout, done.stdout
    assert "cannot describe the quorum" in done.stdout, done.stdout
    tools = [line.rsplit(".", 1)[-1] for line in calls.read_text().split()]
    waiting, last = tools[:-3], tools[-3:]
    assert waiting and set(waiting) == {"BrokerApiVersionsCommand"}, tools
    assert last == ["BrokerApiVersionsCommand", "TopicCommand", "MetadataQuorumCommand"], tools
