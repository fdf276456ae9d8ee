"""The AWS runner's own rules that need no AWS API."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from lakefeed.errors import ConfigError, LakefeedError
from lakefeed.runner.aws import AwsRunner, archived_topics, kafka_ca_dir
from lakefeed.runner.targets import target


def test_a_clusters_secrets_live_under_its_bucket_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert kafka_ca_dir("acme-lake.eu-1") == tmp_path / ".lakefeed/clusters/acme-lake.eu-1/kafka-ca"


@pytest.mark.parametrize("bucket", ["", ".", "..", "a..b", "../x", "x/y", "Upper", "ab", "-ab"])
def test_a_bucket_name_that_is_not_one_directory_of_its_own_is_refused(bucket: str) -> None:
    """The rehearsal's down removes the directory above the CA: an empty or path-like
    name would make it ~/.lakefeed/clusters itself, or somewhere else."""
    with pytest.raises(LakefeedError, match="is not an S3 bucket name"):
        kafka_ca_dir(bucket)


ROOT = Path(__file__).resolve().parents[3]


def _inventory(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / "group_vars" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_the_catalog_gets_the_topics_the_archiver_archives(tmp_path: Path) -> None:
    state = tmp_path / "state"
    runner = AwsRunner(target("aws", ROOT, state))
    runner.catalog_topics()
    committed = yaml.safe_load((ROOT / "inventories/aws/group_vars/all/main.yml").read_text())
    assert runner.variables["lake_topics"] == committed["archiver_topics"] == ["x.posts"]
    inventory = _inventory(
        tmp_path / "inv",
        {
            "all/main.yml": "archiver_topics: [a.b, c]\n",
            "all/vault.yml": "$ANSIBLE_VAULT;1.1;AES256\n3133\n",
            "kafka.yml": "kafka_heap_size: 1g\n",
        },
    )
    assert archived_topics(inventory) == ["a.b", "c"]


@pytest.mark.parametrize(
    ("files", "error"),
    [
        ({"all/main.yml": "kafka_heap_size: 1g\n"}, "archiver_topics is not set in .*all/main.yml"),
        (
            {"all/main.yml": "archiver_topics: [a]\n", "archiver.yml": "archiver_topics: [b]\n"},
            r"set differently in group_vars/all/main.yml \(\['a'\]\) and group_vars/archiver.yml",
        ),
        ({"all.yml": 'archiver_topics: "{{ my_topics }}"\n'}, "no Jinja template"),
        ({"all.yml": "archiver_topics: []\n"}, "must be a non-empty list"),
        ({"all.yml": "archiver_topics: [a/b]\n"}, "list of Kafka topic names"),
        ({"all.yml": "archiver_topics: [a\n"}, "all.yml: not YAML"),
    ],
)
def test_archiver_topics_the_catalog_cannot_use_are_refused_by_name(
    tmp_path: Path, files: dict[str, str], error: str
) -> None:
    with pytest.raises(ConfigError, match=error):
        archived_topics(_inventory(tmp_path, files))
