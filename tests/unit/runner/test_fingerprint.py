"""The fingerprint of a deploy: stable, and naming what changed."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import jinja2
import pytest
import yaml
from ansible.parsing.vault import VaultLib, VaultSecret

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


def _plays_changed(before: dict, after: dict) -> set[str]:
    return {p for p in before["plays"] if before["plays"][p] != after["plays"][p]}


def test_each_play_changes_only_with_its_own_inputs(tree: Path, wheel: Path) -> None:
    inv = [tree / "inventories" / "lab"]
    group_vars = tree / "inventories/lab/group_vars/all/main.yml"
    base = fingerprint.desired(tree, inv, wheel)
    assert set(base["plays"]) == {"kafka", "topics", "archive", "collect", "monitor"}

    def edit(change: object) -> set[str]:
        nonlocal base
        data = yaml.safe_load(group_vars.read_text())
        change(data)  # type: ignore[operator]
        group_vars.write_text(yaml.safe_dump(data, sort_keys=False))
        now = fingerprint.desired(tree, inv, wheel)
        changed, base = _plays_changed(base, now), now
        return changed

    # A daemon's own setting: its play only.
    assert edit(lambda v: v["archiver_rotate"].update(max_age_seconds=12)) == {"archive"}
    # Collector instances also decide the logins and ACLs of the topics play, and what
    # Prometheus scrapes; no Kafka node reads them.
    assert edit(lambda v: v["collector_instances"].append({"name": "x"})) == {
        "topics",
        "collect",
        "monitor",
    }
    # A topic's declaration: the topics play alone, no node is visited.
    assert edit(lambda v: v.update(kafka_topics=[{"name": "t", "partitions": 3}])) == {"topics"}
    assert edit(lambda v: v["kafka_topics"][0].update(configs={"retention.ms": "1"})) == {"topics"}
    # A node setting: the nodes' play, and the topics play too, as the role's templates
    # count whole for each play that runs the role (the topics play is one host's run).
    assert edit(lambda v: v.update(kafka_num_partitions=6)) == {"kafka", "topics"}
    # A role variable counts where the play's tasks name it: kafka_topics is named by the
    # role's checks too, which run on every deploy and change no host.
    assert edit(lambda v: v.update(kafka_acls_extra=[])) == {"topics"}
    # Prometheus's own setting: the monitoring play only.
    assert edit(lambda v: v.update(monitoring_retention_time="30d")) == {"monitor"}
    # A variable only a template reads counts where the template's variable counts.
    assert edit(lambda v: v.update(my_age=30)) == set()
    edit(lambda v: v["archiver_rotate"].update(max_age_seconds="{{ my_age }}"))
    assert edit(lambda v: v.update(my_age=31)) == {"archive"}
    # Ansible's own variables reach every play.
    assert edit(lambda v: v.update(ansible_user="admin")) == set(fingerprint.PLAYS)

    # Role files count for the plays including the role; shared playbooks for all.
    kafka_defaults = tree / "roles/kafka/defaults/main.yml"
    kafka_defaults.write_text(kafka_defaults.read_text() + "# a change\n")
    now = fingerprint.desired(tree, inv, wheel)
    assert _plays_changed(base, now) == {"kafka", "topics"}
    lakefeed_role = tree / "roles/lakefeed/tasks/main.yml"
    lakefeed_role.write_text(lakefeed_role.read_text() + "# a change\n")
    then = fingerprint.desired(tree, inv, wheel)
    assert _plays_changed(now, then) == {"archive", "collect"}
    record = tree / "playbooks/record.yml"
    record.write_text(record.read_text() + "# a change\n")
    after_record = fingerprint.desired(tree, inv, wheel)
    assert _plays_changed(then, after_record) == set(fingerprint.PLAYS)

    # The build reaches the plays that install it (the lakefeed role), not Kafka's.
    wheel.write_bytes(b"another build")
    rebuilt = fingerprint.desired(tree, inv, wheel)
    assert _plays_changed(after_record, rebuilt) == {"archive", "collect"}

    # A vaulted file cannot be read: it counts for every play.
    vault = tree / "inventories/lab/group_vars/all/vault.yml"
    vault.write_text("$ANSIBLE_VAULT;1.1;AES256\n6162636465\n")
    assert _plays_changed(rebuilt, fingerprint.desired(tree, inv, wheel)) == set(fingerprint.PLAYS)


def _vault(path: Path, password: str, data: dict) -> None:
    lib = VaultLib([("default", VaultSecret(password.encode()))])
    path.write_bytes(lib.encrypt(yaml.safe_dump(data)))


def test_a_vaulted_file_opened_with_its_password_counts_by_variable(
    tree: Path, wheel: Path, tmp_path: Path
) -> None:
    inv = [tree / "inventories" / "lab"]
    password = tmp_path / "vault-password"
    password.write_text("correct horse\n")
    vault = tree / "inventories/lab/group_vars/all/vault.yml"
    secret = "s3-secret-" + "x" * 30
    values = {"shipper_s3_secret_key": secret, "my_label": "l1"}
    _vault(vault, "correct horse", values)
    base = fingerprint.desired(tree, inv, wheel, password)

    def rotate(**change: str) -> set[str]:
        nonlocal base
        values.update(change)
        _vault(vault, "correct horse", values)
        now = fingerprint.desired(tree, inv, wheel, password)
        assert fingerprint.changed_parts(now, base) == ["inventory"]
        changed, base = _plays_changed(base, now), now
        return changed

    # The S3 secret: the shipper's play only, as for a plain variable.
    assert rotate(shipper_s3_secret_key="s3-secret-" + "y" * 30) == {"archive"}
    # Encrypted again with the same values (a new salt): no play.
    assert rotate() == set()
    # A vaulted variable no play names, until a template reads it.
    assert rotate(my_label="l2") == set()
    group_vars = tree / "inventories/lab/group_vars/all/main.yml"
    data = yaml.safe_load(group_vars.read_text())
    data["archiver_rotate"]["max_age_seconds"] = "{{ my_age }}"
    group_vars.write_text(yaml.safe_dump(data, sort_keys=False))
    base = fingerprint.desired(tree, inv, wheel, password)
    assert rotate(my_age="{{ my_label | length }}") == {"archive"}  # a vaulted template
    assert rotate(my_label="l33") == {"archive"}

    # Neither the secret nor a plain digest of it is in what a host records.
    text = json.dumps(base)
    assert secret not in text
    assert hashlib.sha256(secret.encode()).hexdigest()[:16] not in text

    # The wrong password, or none: the file counts for every play, as before.
    wrong = tmp_path / "wrong"
    wrong.write_text("battery staple\n")
    for other in (wrong, None):
        opened = fingerprint.desired(tree, inv, wheel, password)
        closed = fingerprint.desired(tree, inv, wheel, other)
        assert closed["fingerprint"] == opened["fingerprint"]
        values["shipper_s3_secret_key"] = secret + "-rotated"
        _vault(vault, "correct horse", values)
        assert _plays_changed(closed, fingerprint.desired(tree, inv, wheel, other)) == set(
            fingerprint.PLAYS
        )


def test_a_plain_variable_shaped_like_a_sealed_one_is_a_plain_variable(
    tree: Path, wheel: Path
) -> None:
    # The fingerprint once told a vaulted value from a plain one by its JSON text.
    group_vars = tree / "inventories/lab/group_vars/all/main.yml"
    base = fingerprint.desired(tree, [tree / "inventories" / "lab"], wheel)
    group_vars.write_text(group_vars.read_text() + "my_note: {vaulted: 1}\n")
    noted = fingerprint.desired(tree, [tree / "inventories" / "lab"], wheel)
    assert _plays_changed(base, noted) == set()


def test_a_vault_password_script_is_run_as_ansible_runs_it(
    tree: Path, wheel: Path, tmp_path: Path
) -> None:
    inv = [tree / "inventories" / "lab"]
    script = tmp_path / "vault-password.sh"
    script.write_text("#!/bin/sh\necho 'from a script'\n")
    script.chmod(0o700)
    vault = tree / "inventories/lab/group_vars/all/vault.yml"
    _vault(vault, "from a script", {"shipper_s3_secret_key": "a"})
    before = fingerprint.desired(tree, inv, wheel, script)
    _vault(vault, "from a script", {"shipper_s3_secret_key": "b"})
    assert _plays_changed(before, fingerprint.desired(tree, inv, wheel, script)) == {"archive"}


def test_an_inline_vault_value_counts_by_its_name(tree: Path, wheel: Path) -> None:
    inv = [tree / "inventories" / "lab"]
    secret = tree / "inventories/lab/group_vars/all/secret.yml"
    secret.write_text("shipper_s3_bucket: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  6162\n")
    before = fingerprint.desired(tree, inv, wheel)
    secret.write_text("shipper_s3_bucket: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  6163\n")
    assert _plays_changed(before, fingerprint.desired(tree, inv, wheel)) == {"archive"}


def test_a_role_named_by_a_template_means_every_role(tree: Path) -> None:
    playbook = tree / "playbooks/collect.yml"
    assert fingerprint.play_roles(tree, playbook) == {"common", "collector", "lakefeed"}
    playbook.write_text(
        "- hosts: collector\n  tasks:\n    - ansible.builtin.include_role:\n"
        '        name: "{{ which }}"\n'
    )
    every = {p.name for p in (tree / "roles").iterdir() if p.is_dir()}
    assert fingerprint.play_roles(tree, playbook) == every


def test_plays_a_host_needs() -> None:
    want = {"plays": {"kafka": "k2", "archive": "a1", "collect": "c1", "monitor": "m1"}}
    current = {"plays": {"kafka": "k2", "archive": "a1", "collect": "c1", "monitor": "m1"}}
    assert fingerprint.plays_to_run(want, current) == set()
    assert fingerprint.plays_to_run(want, {"plays": {**current["plays"], "kafka": "k1"}}) == {
        "kafka"
    }
    # No record, or one written before plays had fingerprints: everything.
    assert fingerprint.plays_to_run(want, None) == set(fingerprint.PLAYS)
    assert fingerprint.plays_to_run(want, {"fingerprint": "f"}) == set(fingerprint.PLAYS)
    # Drift: the play deploying the service; a service it does not know: everything.
    drift = ["lakefeed-shipper: build b1, deployed b2", "lakefeed-collector@x is failed"]
    assert fingerprint.plays_to_run(want, current, drift) == {"archive", "collect"}
    assert fingerprint.plays_to_run(want, current, ["kafka: config changed"]) == {"kafka"}
    assert fingerprint.plays_to_run(want, current, ["prometheus is failed"]) == {"monitor"}
    assert fingerprint.plays_to_run(want, current, ["something-new is failed"]) == set(
        fingerprint.PLAYS
    )
    assert fingerprint.plays_to_run(want, None, groups=["monitoring"]) == {"monitor"}
    # A host's groups leave out the plays that do not run on it.
    assert fingerprint.plays_to_run(want, None, groups=["kafka", "shipper"]) == {
        "kafka",
        "topics",
        "archive",
    }
    assert fingerprint.plays_to_run(want, None, groups=["kafka_controller"]) == {"kafka"}


def _copies_a_file(tree: Path) -> Path:
    """The lab's collector_files copying one file of the checkout; returns the file."""
    replay = tree / "data" / "extra.jsonl"
    replay.parent.mkdir(parents=True)
    replay.write_text('{"id": 1}\n')
    group_vars = tree / "inventories/lab/group_vars/all/main.yml"
    data = yaml.safe_load(group_vars.read_text())
    data["collector_files"] = [
        {"src": "{{ playbook_dir }}/../data/extra.jsonl", "dest": "/var/lib/lakefeed/x.jsonl"}
    ]
    group_vars.write_text(yaml.safe_dump(data, sort_keys=False))
    return replay


def test_a_file_the_inventory_copies_is_an_input(tree: Path, wheel: Path) -> None:
    """collector_files copies a controller file: editing it must make a rollout act (it
    said "nothing to do" before, and the hosts kept the old file)."""
    inv = [tree / "inventories" / "lab"]
    replay = _copies_a_file(tree)
    before = fingerprint.desired(tree, inv, wheel)
    replay.write_text('{"id": 2}\n')
    after = fingerprint.desired(tree, inv, wheel)
    assert after["fingerprint"] != before["fingerprint"]
    assert fingerprint.changed_parts(after, before) == ["files"]
    assert _plays_changed(before, after) == {"collect"}


def test_the_same_checkout_elsewhere_has_the_same_fingerprint(tree: Path, wheel: Path) -> None:
    """A copy of the checkout (the change matrix's, a second clone) names its files by the
    same text and holds the same bytes: nothing changed, whatever the directory."""
    _copies_a_file(tree)
    here = fingerprint.desired(tree, [tree / "inventories" / "lab"], wheel)
    moved = shutil.copytree(tree, tree.parent / "elsewhere")
    there = fingerprint.desired(moved, [moved / "inventories" / "lab"], wheel)
    assert there == here


def _groups_of(pattern: str) -> set[str]:
    """The inventory groups a host pattern such as 'kafka_controller:kafka' or 'kafka[0]'
    names."""
    return {part.split("[")[0] for part in pattern.replace(",", ":").split(":") if part}


def test_the_play_groups_are_the_groups_the_playbooks_run_on() -> None:
    """The rollout lists for each play only hosts of PLAY_GROUPS[play]; a playbook whose
    hosts pattern names another group would have hosts that no plan ever includes."""
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)  # noqa: S701
    every: set[str] = set()
    for play, path in fingerprint.PLAYS.items():
        named: set[str] = set()
        for entry in yaml.safe_load((ROOT / path).read_text()):
            if "hosts" in entry:
                # A plain run (no deploy_only): every host the play can ever reach.
                named |= _groups_of(env.from_string(entry["hosts"]).render())
        assert named == set(fingerprint.PLAY_GROUPS[play]), path
        every |= named
    record = yaml.safe_load((ROOT / "playbooks/record.yml").read_text())
    assert _groups_of(record[0]["hosts"]) == every


def test_a_play_reaches_the_task_files_of_its_entry_points(tree: Path) -> None:
    """The topics play reaches topics.yml and what it imports, not the nodes' tasks; the
    nodes' play reaches them, not topics.yml; no play's words come from a role's checks."""

    def tasks(play: str) -> set[str]:
        files = fingerprint.reached_files(tree, tree / fingerprint.PLAYS[play])
        assert files is not None
        return {f.name for f in files if f.parent.name == "tasks"}

    assert tasks("topics") == {"topics.yml", "health.yml", "users.yml"}
    assert {"configure.yml", "restart.yml", "features.yml"} <= tasks("kafka")
    assert not {"topics.yml", "users.yml", "check.yml"} & tasks("kafka")
    # An include whose file is a template is decided at run time: every file counts.
    topics = tree / "roles/kafka/tasks/topics.yml"
    topics.write_text(topics.read_text() + '\n- ansible.builtin.include_tasks: "{{ x }}.yml"\n')
    assert fingerprint.reached_files(tree, tree / fingerprint.PLAYS["topics"]) is None
