"""The monitoring role's rules (files/rules/): valid for Prometheus, every alert tested by
promtool, with a runbook entry in docs/operations.md; lakefeed.yml reads only metrics the
daemons really serve (kafka.yml's metrics are checked against a real broker:
tests/integration/test_jmx_exporter.py)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from lakefeed.fetch import fetched

ROOT = Path(__file__).resolve().parents[3]
MONITORING = ROOT / "roles" / "monitoring" / "files"
# Each rule file has its promtool cases under the same name in rules-tests/.
RULE_FILES = ["lakefeed.yml", "kafka.yml", "node.yml"]


@pytest.fixture(scope="module")
def promtool() -> Path:
    return fetched(ROOT, "fetch-promtool")


def alerts(name: str) -> list[dict]:
    groups = yaml.safe_load((MONITORING / "rules" / name).read_text(encoding="utf-8"))["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def test_every_rule_file_has_its_cases() -> None:
    assert sorted(p.name for p in (MONITORING / "rules").glob("*.yml")) == sorted(RULE_FILES)
    assert sorted(p.name for p in (MONITORING / "rules-tests").glob("*.yml")) == sorted(RULE_FILES)


@pytest.mark.parametrize("name", RULE_FILES)
def test_rules_load_in_prometheus(promtool: Path, name: str) -> None:
    done = subprocess.run(
        [str(promtool), "check", "rules", str(MONITORING / "rules" / name)],
        check=False,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(alerts(name))} rules found" in done.stdout


@pytest.mark.parametrize("name", RULE_FILES)
def test_every_alert_passes_its_promtool_cases(promtool: Path, name: str) -> None:
    done = subprocess.run(
        [str(promtool), "test", "rules", name],
        cwd=MONITORING / "rules-tests",
        check=False,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("name", RULE_FILES)
def test_every_alert_has_a_case_where_it_fires_and_one_where_it_does_not(name: str) -> None:
    tests = yaml.safe_load((MONITORING / "rules-tests" / name).read_text(encoding="utf-8"))["tests"]
    cases = [check for test in tests for check in test["alert_rule_test"]]
    for rule in alerts(name):
        mine = [c for c in cases if c["alertname"] == rule["alert"]]
        assert any(c["exp_alerts"] for c in mine), f"{rule['alert']}: no case where it fires"
        assert any(not c["exp_alerts"] for c in mine), f"{rule['alert']}: no quiet case"


def served_metrics() -> dict[str, str]:
    """Each metric the daemons register (prometheus_client), by name: Counter, Gauge, ..."""
    found: dict[str, str] = {}
    for path in (ROOT / "src" / "lakefeed").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for kind, name in re.findall(r"\b(Counter|Gauge|Histogram)\(\s*\"(lakefeed_\w+)\"", text):
            found[name] = kind
    return found


def test_rules_read_only_metrics_the_daemons_serve() -> None:
    served = served_metrics()
    assert "lakefeed_shipper_files" in served, "the scan of src/ for metrics found nothing"
    for rule in alerts("lakefeed.yml"):
        for name in set(re.findall(r"\blakefeed_\w+", rule["expr"])):
            # prometheus_client serves a Counter `x` as `x_total`.
            base = name.removesuffix("_total")
            assert base in served, f"{rule['alert']}: no daemon serves {name}"
            want = "Counter" if name.endswith("_total") else "Gauge"
            assert served[base] == want, f"{rule['alert']}: {name} is a {served[base]}"


@pytest.mark.parametrize("name", RULE_FILES)
def test_every_alert_has_its_runbook_entry(name: str) -> None:
    text = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    headings = {
        re.sub(r"[^a-z0-9 -]", "", h.strip().lower()).replace(" ", "-")
        for h in re.findall(r"^#+ (.+)$", text, flags=re.M)
    }
    for rule in alerts(name):
        page, _, anchor = rule["annotations"]["runbook"].partition("#")
        assert page == "docs/operations.md"
        assert anchor == rule["alert"].lower(), f"{rule['alert']}: runbook anchor {anchor}"
        assert anchor in headings, f"{rule['alert']}: docs/operations.md has no heading for it"
