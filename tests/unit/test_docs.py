"""docs/ stays true: the config and role references are generated, every example is valid."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakefeed import config, configdoc, rolesdoc

ROOT = Path(__file__).resolve().parents[2]


def test_config_reference_is_current() -> None:
    expected = configdoc.render(ROOT / "docs" / "examples")
    actual = (ROOT / "docs" / "config.md").read_text(encoding="utf-8")
    assert actual == expected, (
        "docs/config.md is stale: run `.venv/bin/lakefeed config-reference > docs/config.md`"
    )


def test_roles_reference_is_current() -> None:
    actual = (ROOT / "docs" / "roles.md").read_text(encoding="utf-8")
    assert actual == rolesdoc.render(ROOT), (
        "docs/roles.md is stale: run `.venv/bin/lakefeed roles-reference > docs/roles.md`"
    )


def test_roles_reference_has_every_role_and_variable() -> None:
    text = (ROOT / "docs" / "roles.md").read_text(encoding="utf-8")
    roles = sorted(p.parent.parent.name for p in ROOT.glob("roles/*/meta/argument_specs.yml"))
    assert sorted(rolesdoc.ROLES) == roles
    for name in ("kafka_node_id", "shipper_s3_bucket", "collector_instances[].source"):
        assert f"| `{name}` |" in text


@pytest.mark.parametrize("name", configdoc.EXAMPLES)
def test_examples_are_valid_configs(name: str) -> None:
    cfg = config.load(ROOT / "docs" / "examples" / f"{name}.yaml")
    assert name.startswith(cfg.kind)  # type: ignore[attr-defined]


def test_every_key_has_a_meaning() -> None:
    text = (ROOT / "docs" / "config.md").read_text(encoding="utf-8")
    for line in text.splitlines():
        if line.startswith("| `") and not line.startswith(("| `kind`", "| `type`")):
            assert not line.rstrip().endswith("|  |"), f"undocumented key: {line}"
