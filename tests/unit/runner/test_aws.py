"""The AWS runner's own rules that need no AWS API."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakefeed.errors import LakefeedError
from lakefeed.runner.aws import kafka_ca_dir


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
