"""Bad role variables stop site.yml before it touches any host, naming the variable.

Every playbook starts with playbooks/check.yml: each role's `check` entry point (its
argument spec, then tasks/check.yml) on the controller only. The inventory here points at
containers that do not exist, through the lab's connection: a run that got past the
checks fails UNREACHABLE at its first task on a host, so `unreachable=0` in a failed run
proves that nothing was even connected to, let alone changed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from lakefeed.runner.ansible import site_extravars
from tests.support.playbook import DEFAULT_KAFKA, ansible_playbook, release_archive, report

ROOT = Path(__file__).resolve().parents[2]


def inventory(tmp_path: Path, drop: str = "", extra: dict[str, Any] | None = None) -> Path:
    """Three Kafka nodes, the collector on n1, archiver, shipper and Prometheus on n2 (as
    on AWS): valid vars, less `drop`, plus `extra`."""
    wheelhouse = tmp_path / "wheelhouse"
    wheelhouse.mkdir(exist_ok=True)
    (wheelhouse / "lakefeed-1.0.0-py3-none-any.whl").write_bytes(b"only hashed")
    archive = release_archive(tmp_path / f"kafka-{DEFAULT_KAFKA}.tgz", DEFAULT_KAFKA)
    common: dict[str, Any] = {
        "ansible_connection": "podman_nsenter",
        "ansible_python_interpreter": "/usr/bin/python3",
        "lakefeed_wheelhouse": str(wheelhouse),
        "kafka_local_archive": str(archive),
        "archiver_topics": ["x.posts"],
        "shipper_s3_bucket": "lake",
        "collector_instances": [
            {"name": "sample", "topic": "x.posts", "source": {"type": "replay", "path": "/x"}}
        ],
        **(extra or {}),
    }
    common.pop(drop, None)
    nodes = {
        f"n{i}": {
            "ansible_host": f"lf-no-such-host-{i}",
            **({} if drop == "kafka_node_id" else {"kafka_node_id": i}),
        }
        for i in (1, 2, 3)
    }
    doc = {
        "all": {
            "vars": common,
            "children": {
                "kafka": {"hosts": nodes},
                "collector": {"hosts": {"n1": None}},
                "archiver": {"hosts": {"n2": None}},
                "shipper": {"hosts": {"n2": None}},
                "monitoring": {"hosts": {"n2": None}},
            },
        }
    }
    path = tmp_path / "hosts.yml"
    path.write_text(yaml.safe_dump(doc))
    return path


def site(
    inventory_path: Path, extravars: dict[str, Any] | None = None
) -> tuple[int, dict[str, Any]]:
    done = ansible_playbook(ROOT / "site.yml", [inventory_path], extravars=extravars or {})
    return done.returncode, report(done)


def failures(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(play, task, message) of every failed task result."""
    found = []
    for play in report["plays"]:
        for task in play["tasks"]:
            for host, result in task["hosts"].items():
                if result.get("failed") or result.get("unreachable"):
                    msg = result.get("msg", "")
                    for item in result.get("results", []):  # the loop of includes
                        if item.get("failed"):
                            msg += " " + str(item.get("msg", ""))
                    found.append((play["play"]["name"], task["task"]["name"], f"{host}: {msg}"))
    return found


def assert_stopped_in_the_checks(report: dict[str, Any], key: str) -> None:
    failed = failures(report)
    assert failed, "the run failed without a failed task"
    for play, _task, msg in failed:
        assert play == "Role variables are checked before anything changes", failed
        assert key in msg, f"{key} not named in: {msg}"
    stats = report["stats"]
    assert all(s["unreachable"] == 0 and s["changed"] == 0 for s in stats.values()), stats


def test_good_variables_pass_the_checks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The control: with nothing wrong the run gets past the checks to its first host task,
    # which fails only because the hosts do not exist.
    # With the extra vars the runners pass (rollout.py, lab.py, aws.py): the checks see
    # them too, so none may carry a role's prefix unless the role knows it.
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    rc, report = site(inventory(tmp_path), site_extravars({"fingerprint": "f"}, restart_all=True))
    assert rc != 0
    failed = failures(report)
    assert failed and all("lf-no-such-host" in msg for _play, _task, msg in failed), failed
    assert all(play != "Role variables are checked before anything changes" for play, *_ in failed)
    # Plaintext: no password is generated (checking the archiver's arguments made one).
    assert not (tmp_path / "home" / ".lakefeed").exists()


@pytest.mark.parametrize(
    "key",
    [
        "common_time_snyc",
        "kafka_heap_sise",
        "lakefeed_keep_build",
        "collector_instance",
        "archiver_topic",
        "shipper_s3_buckets",
        "monitoring_retention",
    ],
)
def test_a_misspelt_variable_is_refused_by_name(tmp_path: Path, key: str) -> None:
    rc, report = site(inventory(tmp_path, extra={key: "x"}))
    assert rc != 0
    assert_stopped_in_the_checks(report, f"unknown variable {key}")


@pytest.mark.parametrize("key", ["archiver_spool_dir", "shipper_spool_dir"])
def test_a_spool_variable_of_an_older_release_names_the_new_one(tmp_path: Path, key: str) -> None:
    rc, report = site(inventory(tmp_path, extra={key: "/srv/spool"}))
    assert rc != 0
    assert_stopped_in_the_checks(report, f"{key} is now lakefeed_spool_dir")


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("common_time_sync", "maybe"),
        ("kafka_client_port", "ninety-two"),
        ("kafka_security", "tls-please"),
        ("lakefeed_keep_builds", "three"),
        ("collector_instances", {"name": "not a list"}),
        ("archiver_min_free_bytes", "lots"),
        ("shipper_concurrency", "four"),
        ("monitoring_port", "ninety"),
    ],
)
def test_a_wrong_type_is_refused_by_name(tmp_path: Path, key: str, value: object) -> None:
    rc, report = site(inventory(tmp_path, extra={key: value}))
    assert rc != 0
    assert_stopped_in_the_checks(report, key)


@pytest.mark.parametrize(
    "key",
    [
        "kafka_node_id",
        "lakefeed_wheelhouse",
        "collector_instances",
        "archiver_topics",
        "shipper_s3_bucket",
    ],
)
def test_a_missing_value_is_refused_by_name(tmp_path: Path, key: str) -> None:
    rc, report = site(inventory(tmp_path, drop=key))
    assert rc != 0
    assert_stopped_in_the_checks(report, key)


@pytest.mark.parametrize(
    "source",
    [
        {"kind": "replay", "path": "/x"},  # `kind` for `type`: the checks once let it pass
        {"type": "rss", "url": "https://example.org/feed"},
    ],
)
def test_a_source_without_a_known_type_is_refused(tmp_path: Path, source: object) -> None:
    instance = {"name": "sample", "topic": "x.posts", "source": source}
    rc, report = site(inventory(tmp_path, extra={"collector_instances": [instance]}))
    assert rc != 0
    assert_stopped_in_the_checks(report, "source.type")


@pytest.mark.parametrize(
    "option",
    ["-Xlog:gc -XX:+UseZGC", "TieredStopAtLevel=1", '-Dname="a b"', ""],
)
def test_a_jvm_option_that_is_not_one_word_is_refused(tmp_path: Path, option: str) -> None:
    """The unit's command line is split on spaces: two options in one item, or a word
    the JVM would take for its main class, must stop the run, not the broker."""
    options = ["-XX:TieredStopAtLevel=1", option]
    rc, report = site(inventory(tmp_path, extra={"kafka_jvm_options": options}))
    assert rc != 0
    assert_stopped_in_the_checks(report, f"kafka_jvm_options has [{option!r}]")


# The services' own logins (a collector instance's, the archiver's), with usable passwords.
SERVICE_LOGINS = [
    {"name": "collector-sample", "password": "check-test-collector-0002"},
    {"name": "archiver", "password": "check-test-archiver-00003"},
]


def secured(tmp_path: Path, **more: Any) -> dict[str, Any]:
    """kafka_security sasl_ssl with usable passwords and a CA on the controller, plus more."""
    ca = tmp_path / "kafka-ca"
    ca.mkdir(mode=0o700)
    for name in ("ca.crt", "ca.key"):
        (ca / name).write_text("only checked to exist\n")
    return {
        "kafka_security": "sasl_ssl",
        "kafka_tls_ca_dir": str(ca),
        "kafka_scram_admin_password": "check-test-admin-0001",
        "kafka_scram_users": SERVICE_LOGINS,
        **more,
    }


def test_a_service_login_without_a_password_is_refused_by_name(tmp_path: Path) -> None:
    users = [
        {"name": "collector-sample", "password": ""},
        *(u for u in SERVICE_LOGINS if u["name"] == "archiver"),
    ]
    rc, report = site(inventory(tmp_path, extra=secured(tmp_path, kafka_scram_users=users)))
    assert rc != 0
    assert_stopped_in_the_checks(report, "no usable password for collector-sample")


def test_a_new_clusters_first_run_passes_the_checks_before_its_ca_exists(tmp_path: Path) -> None:
    """The kafka play makes the CA; the collector's and archiver's checks, which run
    before it, used to refuse the first run of every new sasl_ssl cluster."""
    extra = secured(tmp_path)
    for made in Path(extra["kafka_tls_ca_dir"]).iterdir():
        made.unlink()
    rc, report = site(inventory(tmp_path, extra=extra))
    assert rc != 0
    failed = failures(report)  # past every check, stopped at the first host
    assert failed and all("lf-no-such-host" in msg for _play, _task, msg in failed), failed


def test_logins_the_inventory_gives_no_password_get_one_generated_once(tmp_path: Path) -> None:
    """No password anywhere: the cluster's own login and each service's are generated on
    the controller beside the CA, one 0600 file each, and the next run keeps them."""
    extra = secured(tmp_path, kafka_scram_admin_password="", kafka_scram_users=[])
    logins = Path(extra["kafka_tls_ca_dir"]) / "logins"
    seen = []
    for _ in range(2):
        rc, report = site(inventory(tmp_path, extra=extra))
        assert rc != 0
        failed = failures(report)  # past every check, stopped at the first host
        assert failed and all("lf-no-such-host" in msg for _play, _task, msg in failed), failed
        files = {p.name: p for p in logins.iterdir()}
        assert sorted(files) == ["archiver", "collector-sample", "kafka-admin"]
        assert all(p.stat().st_mode & 0o777 == 0o600 for p in files.values())
        seen.append({name: p.read_text() for name, p in files.items()})
    assert seen[0] == seen[1]
    passwords = [text.strip() for text in seen[0].values()]
    assert len(set(passwords)) == 3
    assert all(len(p) == 32 and p.isalnum() for p in passwords)


@pytest.mark.parametrize("login", ["../../escaped", ".hidden", "x length=1"])
def test_a_login_that_would_name_another_file_is_refused(tmp_path: Path, login: str) -> None:
    """A collector's kafka_user is the name of its generated password's file: one that
    climbs out of the logins directory, hides in it or reads as the password lookup's own
    parameters is refused by name before any file is made (the checks used to validate
    only the names kafka_scram_users lists)."""
    instance = {
        "name": "sample",
        "topic": "x.posts",
        "kafka_user": login,
        "source": {"type": "replay", "path": "/x"},
    }
    extra = secured(tmp_path, kafka_scram_users=[], collector_instances=[instance])
    rc, report = site(inventory(tmp_path, extra=extra))
    assert rc != 0
    assert_stopped_in_the_checks(report, f"not: {login}")
    made = sorted(p.name for p in tmp_path.rglob("*") if p.parent.name != "wheelhouse")
    assert "escaped" not in made and ".hidden" not in made and "x" not in made, made


@pytest.mark.parametrize(
    "grant",
    [
        {"principal": "analyst", "resource_type": "topic", "name": "x", "operations": ["Read"]},
        {
            "principal": "User:analyst",
            "resource_type": "topics",
            "name": "x",
            "operations": ["Read"],
        },
        {"principal": "User:analyst", "resource_type": "topic", "operations": ["Read"]},
        {"principal": "User:analyst", "resource_type": "group", "name": "g", "operations": []},
    ],
)
def test_an_incomplete_grant_is_refused(tmp_path: Path, grant: dict[str, Any]) -> None:
    rc, report = site(inventory(tmp_path, extra=secured(tmp_path, kafka_acls_extra=[grant])))
    assert rc != 0
    assert_stopped_in_the_checks(report, "kafka_acls_extra entries")


def test_secured_variables_pass_the_checks(tmp_path: Path) -> None:
    grant = {"principal": "User:a", "resource_type": "cluster", "operations": ["Describe"]}
    rc, report = site(inventory(tmp_path, extra=secured(tmp_path, kafka_acls_extra=[grant])))
    assert rc != 0
    # Past every check: the first task on a host finds no such host.
    failed = failures(report)
    assert failed and all("lf-no-such-host" in msg for _play, _task, msg in failed), failed


@pytest.mark.parametrize(
    "more",
    [
        {"kafka_super_users": ["User:kafka-admin-2"]},
        {
            "kafka_scram_users": [
                *SERVICE_LOGINS,
                {"name": "kafka-node", "password": "check-test-node-000000001"},
            ]
        },
        {"archiver_kafka_sasl_username": "kafka-admin"},
    ],
    ids=["prefixed super user", "login named kafka-node", "service as the cluster login"],
)
def test_a_login_that_would_bypass_the_acls_is_refused(
    tmp_path: Path, more: dict[str, Any]
) -> None:
    rc, report = site(inventory(tmp_path, extra=secured(tmp_path, **more)))
    assert rc != 0
    assert_stopped_in_the_checks(report, "bypasses every ACL")


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        # Prometheus refuses two jobs of one name; the role's own are taken.
        (
            {"monitoring_extra_scrape_configs": [{"job_name": "node", "static_configs": []}]},
            "monitoring_extra_scrape_configs",
        ),
        # Alertmanager would start with a route to nowhere.
        (
            {
                "monitoring_alertmanager": True,
                "monitoring_alertmanager_config": {"route": {"receiver": "pager"}, "receivers": []},
            },
            "monitoring_alertmanager_config",
        ),
        # The monitoring host (n2) is a Kafka node: 9093 is its controller port.
        (
            {"monitoring_alertmanager": True, "monitoring_alertmanager_port": 9093},
            "monitoring_alertmanager_port",
        ),
    ],
)
def test_a_monitoring_setting_that_cannot_work_is_refused(
    tmp_path: Path, extra: dict[str, Any], named: str
) -> None:
    rc, report = site(inventory(tmp_path, extra=extra))
    assert rc != 0
    assert_stopped_in_the_checks(report, named)


@pytest.mark.parametrize("content", ["4.2.0", "not an archive"])
def test_a_local_archive_of_another_release_is_refused(tmp_path: Path, content: str) -> None:
    """An archive unpacked as kafka_version would run another release's jars under its
    name: refused, whether it holds another release or is no archive at all."""
    if content == "not an archive":
        archive = tmp_path / "kafka.tgz"
        archive.write_bytes(b"not gzip")
    else:
        archive = release_archive(tmp_path / "kafka.tgz", content)
    rc, report = site(inventory(tmp_path, extra={"kafka_local_archive": str(archive)}))
    assert rc != 0
    assert_stopped_in_the_checks(report, f"not kafka_2.13-{DEFAULT_KAFKA} as kafka_version says")
    if content != "not an archive":
        assert_stopped_in_the_checks(report, "holds kafka_2.13-4.2.0")
