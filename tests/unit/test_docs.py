"""docs/ stays true: the config and role references are generated, every example is valid."""

from __future__ import annotations

import json
import re
from pathlib import Path
from threading import Event

import pytest

from lakefeed import config, configdoc, rolesdoc
from lakefeed.collector.daemon import Collector
from lakefeed.collector.sources import Item
from lakefeed.record import SpoolName, coordinates_tail, lake_key, lake_line, make_record

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


def _contract_example(name: str) -> str:
    text = (ROOT / "docs" / "contracts.md").read_text(encoding="utf-8")
    block = text.split(f"<!-- contract: {name} -->", 1)[1].split("```", 2)[1]
    return block.split("\n", 1)[1].strip()


def test_contract_examples_are_what_the_code_writes() -> None:
    record = json.loads(_contract_example("record"))
    written = json.loads(make_record(record["id"], record["source"], record["payload"]))
    assert list(record) == list(written)
    assert len(record["collected_at"]) == len(written["collected_at"]) == 24
    name = _contract_example("spool-name")
    parsed = SpoolName.parse(name)
    assert parsed is not None and str(parsed) == name
    key = _contract_example("lake-key")
    assert key == lake_key("raw", parsed, record["collected_at"])
    line = _contract_example("lake-line")
    value = make_record(record["id"], record["source"], record["payload"], record["collected_at"])
    coords = json.loads(line)
    tail = coordinates_tail(coords["kafka_topic"], coords["kafka_partition"])
    assert line.encode() + b"\n" == lake_line(value, tail, coords["kafka_offset"])
    dead = json.loads(_contract_example("dead-letter"))
    collector = Collector(
        config.load(ROOT / "docs" / "examples" / "collector-replay.yaml"), Event()
    )
    _topic, dl_key, value = collector.dead_letter(Item(raw=dead["raw"].encode()), dead["reason"])
    written = json.loads(value)
    assert dl_key.decode() == written["source"] == dead["source"]
    assert list(dead) == list(written)
    assert {k: v for k, v in dead.items() if k != "collected_at"} == {
        k: v for k, v in written.items() if k != "collected_at"
    }


def test_architecture_lists_every_module_and_only_those() -> None:
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    src = ROOT / "src"
    modules = {
        p.relative_to(src).as_posix()
        for p in (src / "lakefeed").rglob("*.py")
        if p.name not in ("__init__.py", "__main__.py")
    }
    listed = set(re.findall(r"^\| `(lakefeed/[\w/]+\.py)` \|", page, re.M))
    assert not modules - listed, f"not in docs/architecture.md: {sorted(modules - listed)}"
    assert not listed - modules, f"gone, still in docs/architecture.md: {sorted(listed - modules)}"
    assert "```mermaid" in page
