"""What `lakefeed status` reads from Prometheus (the lakefeed_status module's
prometheus_report), against the real server of Debian's package (scripts/fetch-promtool
unpacks it): ready, and the alerts firing, not the pending ones."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lakefeed.fetch import fetched
from lakefeed.local.servers import free_port
from tests.support.modules import import_module_file
from tests.support.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]

RULES = """
groups:
  - name: test
    interval: 1s
    rules:
      - alert: AlwaysFiring
        expr: vector(1)
        labels: {severity: warning, instance: "kafka-1:7071"}
        annotations: {summary: "always"}
      - alert: PendingForAnHour
        expr: vector(1)
        for: 1h
"""


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A real Prometheus on a free port of 127.0.0.1, with the rules above."""
    tmp = tmp_path_factory.mktemp("prometheus")
    (tmp / "rules.yml").write_text(RULES)
    (tmp / "prometheus.yml").write_text(
        f"global: {{evaluation_interval: 1s}}\nrule_files: [{tmp / 'rules.yml'}]\n"
    )
    port = free_port()
    server = Path(fetched(ROOT, "fetch-promtool")).parent / "prometheus"
    log = (tmp / "prometheus.log").open("w")
    proc = subprocess.Popen(
        [
            str(server),
            f"--config.file={tmp / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def test_a_ready_prometheus_reports_its_firing_alerts_only(prometheus: int) -> None:
    module = import_module_file(ROOT / "playbooks" / "ops" / "library" / "lakefeed_status.py")
    report: dict[str, Any] = {}

    def fired() -> bool:
        report.update(module.prometheus_report(prometheus, 3.0))
        return bool(report["alerts"])

    wait_for("AlwaysFiring in the report", fired, 60, every=0.5)
    # /-/ready answers plain text, not JSON: reading it as JSON once made every Prometheus
    # "not ready" (the lab's status test caught it).
    assert report["healthy"] is True, report
    assert report["health"] == "1 alert(s) firing"
    (alert,) = report["alerts"]
    assert alert["alert"] == "AlwaysFiring"
    assert alert["instance"] == "kafka-1:7071"
    assert alert["severity"] == "warning"
    assert alert["summary"] == "always"
    assert alert["since"].startswith("20")


def test_nothing_answering_is_not_ready() -> None:
    module = import_module_file(ROOT / "playbooks" / "ops" / "library" / "lakefeed_status.py")
    report = module.prometheus_report(free_port(), 1.0)
    assert report == {"healthy": False, "health": "not ready (HTTP no answer)", "alerts": []}
