"""lakefeed.lab.checkout: the copy a change is made in (the change matrix, bench row 5)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from lakefeed.lab import checkout


def _repo(path: Path) -> Path:
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    vars_file = path / checkout.GROUP_VARS
    vars_file.parent.mkdir(parents=True)
    vars_file.write_text(
        yaml.safe_dump(
            {
                "archiver_rotate": {"max_age_seconds": 60},
                "kafka_topics": [],
                "collector_instances": [],
                "collector_files": [],
            }
        )
    )
    (path / ".gitignore").write_text("ignored.txt\n")
    (path / "ignored.txt").write_text("left out\n")
    (path / "untracked.txt").write_text("kept\n")
    subprocess.run(["git", "-C", str(path), "add", str(vars_file), ".gitignore"], check=True)
    return path


def test_the_copy_has_tracked_and_untracked_files_not_ignored_ones(tmp_path: Path) -> None:
    root = _repo(tmp_path / "repo")
    copy = checkout.copy(root, tmp_path / "copy")
    assert (copy / checkout.GROUP_VARS).is_file()
    assert (copy / "untracked.txt").read_text() == "kept\n"
    assert not (copy / "ignored.txt").exists()


def test_a_replay_collector_gets_its_topic_instance_and_file(tmp_path: Path) -> None:
    copy = checkout.copy(_repo(tmp_path / "repo"), tmp_path / "copy")
    checkout.edit_vars(copy, lambda v: v["archiver_rotate"].update(max_age_seconds=12))
    topic = checkout.add_replay_collector(copy, "extra", ['{"id": 1}', '{"id": 2}'])
    assert topic == "extra.extra"
    data = yaml.safe_load((copy / checkout.GROUP_VARS).read_text())
    assert data["archiver_rotate"] == {"max_age_seconds": 12}
    assert data["kafka_topics"] == [{"name": topic, "partitions": 1, "replication_factor": 3}]
    dest = "/var/lib/lakefeed/extra/extra.jsonl"
    assert data["collector_instances"] == [
        {"name": "extra", "topic": topic, "source": {"type": "replay", "path": dest}}
    ]
    assert data["collector_files"] == [
        {"src": "{{ playbook_dir }}/../data/extra/extra.jsonl", "dest": dest}
    ]
    assert (copy / "data/extra/extra.jsonl").read_text() == '{"id": 1}\n{"id": 2}\n'
