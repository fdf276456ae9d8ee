"""Environments: a clear error for an unknown one or a missing vault password."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakefeed.errors import LakefeedError
from lakefeed.runner.targets import target

ROOT = Path(__file__).resolve().parents[3]


def test_unknown_env_and_missing_vault_file_are_clear(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(LakefeedError, match="unknown environment 'gcp'"):
        target("gcp", ROOT)
    monkeypatch.setenv("LAKEFEED_VAULT_PASSWORD_FILE", str(tmp_path / "nope"))
    with pytest.raises(LakefeedError, match="LAKEFEED_VAULT_PASSWORD_FILE"):
        target("aws", ROOT)
