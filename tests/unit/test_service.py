"""What a daemon says about itself: its build and config digest on /healthz and in
lakefeed_build_info, and that `lakefeed status` (the lakefeed_status module on the host)
computes the same digest of the deployed file, so drift is seen and only drift."""

from __future__ import annotations

import json
import os
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from prometheus_client import CollectorRegistry

from lakefeed import __version__, service
from lakefeed.local.servers import free_port
from tests.support.modules import import_module_file

ROOT = Path(__file__).resolve().parents[2]


def status_module() -> ModuleType:
    return import_module_file(ROOT / "playbooks" / "ops" / "library" / "lakefeed_status.py")


@pytest.fixture
def running(monkeypatch: pytest.MonkeyPatch) -> Iterator[service.Running]:
    fresh = service.Running()
    monkeypatch.setattr(service, "RUNNING", fresh)
    yield fresh


def test_a_daemon_reports_its_build_and_config_digest(
    running: service.Running, tmp_path: Path
) -> None:
    config = tmp_path / "shipper.yaml"
    config.write_text("kind: shipper\n")
    running.read_config(config)
    registry = CollectorRegistry()
    service.base_metrics(registry, "shipper")
    health = service.Health()
    health.ready = True
    server = service.StatusServer("127.0.0.1", 0, registry, health)
    server.start()
    try:
        base = f"http://127.0.0.1:{server.port}"
        with urllib.request.urlopen(f"{base}/healthz", timeout=5) as resp:  # noqa: S310 - http to loopback
            body = json.loads(resp.read())
        with urllib.request.urlopen(f"{base}/metrics", timeout=5) as resp:  # noqa: S310 - http to loopback
            metrics = resp.read().decode()
    finally:
        server.stop()
    build = os.path.basename(os.path.realpath(sys.prefix))
    assert body["running"] == {"version": __version__, "build": build, "config": running.config}
    assert running.config and len(running.config) == 16
    info = next(x for x in metrics.splitlines() if x.startswith("lakefeed_build_info{"))
    assert f'build="{build}"' in info and f'config="{running.config}"' in info, info


def test_status_sees_drift_exactly_when_the_file_or_build_differs(
    running: service.Running, tmp_path: Path
) -> None:
    mod = status_module()
    config = tmp_path / "collector-sample.yaml"
    config.write_text("kind: collector\ntopic: x.posts\n")
    running.read_config(config)
    reported = running.as_dict()
    deployed = {"build": running.build, "config": mod.file_digest(str(config))}
    assert mod.daemon_drift(deployed, reported) == []

    config.write_text("kind: collector\ntopic: y.posts\n")  # deployed, not yet read
    deployed["config"] = mod.file_digest(str(config))
    assert [d.split()[0] for d in mod.daemon_drift(deployed, reported)] == ["config"]
    deployed["build"] = "lakefeed-9.9.9-0123456789ab"
    drift = mod.daemon_drift(deployed, reported)
    assert [d.split()[0] for d in drift] == ["build", "config"]
    assert f"running {running.build} deployed lakefeed-9.9.9-0123456789ab" in drift[0]
    # A process that says nothing of what it runs (older build, no answer): unknown.
    assert mod.daemon_drift(deployed, None) is None
    assert mod.daemon_drift(deployed, {"version": "1.0"}) is None


def test_stale_lines_name_every_service_not_running_what_is_deployed() -> None:
    mod = status_module()
    services = [
        {"service": "kafka", "active": "active", "drift": []},
        {"service": "lakefeed-archiver", "active": "active", "drift": []},
        {
            "service": "lakefeed-shipper",
            "active": "active",
            "drift": ["build running a deployed b"],
        },
        {"service": "lakefeed-collector@a", "active": "failed"},
        {"service": "lakefeed-collector@b", "active": "active", "drift": None},
    ]
    assert mod.stale(services) == [
        "lakefeed-shipper: build running a deployed b",
        "lakefeed-collector@a is failed",
        "lakefeed-collector@b did not report what it runs (no /healthz answer)",
    ]
    assert mod.stale(services[:2]) == []


def test_status_reports_only_the_alerts_firing_oldest_first() -> None:
    """Prometheus's /api/v1/alerts lists pending alerts too (their `for:` not yet over):
    they are not shown."""
    body = {
        "status": "success",
        "data": {
            "alerts": [
                {
                    "labels": {"alertname": "ShipperUploadsFailing", "instance": "k2:9103"},
                    "annotations": {"summary": "uploads failing"},
                    "state": "firing",
                    "activeAt": "2026-12-07T00:12:00Z",
                },
                {
                    "labels": {"alertname": "KafkaNodeDown", "instance": "k1:7071"},
                    "state": "pending",
                    "activeAt": "2026-12-07T00:13:00Z",
                },
                {
                    "labels": {
                        "alertname": "KafkaNodeDown",
                        "instance": "k2:7071",
                        "severity": "critical",
                    },
                    "annotations": {"summary": "k2 down"},
                    "state": "firing",
                    "activeAt": "2026-12-07T00:11:00Z",
                },
            ]
        },
    }
    got = status_module().firing(body)
    assert [(a["alert"], a["instance"]) for a in got] == [
        ("KafkaNodeDown", "k2:7071"),
        ("ShipperUploadsFailing", "k2:9103"),
    ]
    assert got[0] == {
        "alert": "KafkaNodeDown",
        "severity": "critical",
        "instance": "k2:7071",
        "since": "2026-12-07T00:11:00Z",
        "summary": "k2 down",
    }
    assert status_module().firing(None) == []


def test_status_reads_a_daemons_healthz_whatever_it_answers(running: service.Running) -> None:
    """The module's /healthz reader against a daemon's own status server: the body when
    healthy, the body of the 503 (it says why) when not, the error when nothing answers."""
    health = service.Health()
    port = free_port()
    server = service.StatusServer("127.0.0.1", port, CollectorRegistry(), health)
    server.start()
    try:
        module = status_module()
        health.ready = True
        code, body = module.healthz(port, 3.0)
        assert (code, body["status"]) == (200, "ok"), body
        health.problem("kafka", "no broker answers")
        code, body = module.healthz(port, 3.0)
        assert code == 503 and body["problems"] == {"kafka": "no broker answers"}, body
    finally:
        server.stop()
    code, body = module.healthz(free_port(), 1.0)
    assert code == 0 and body["error"], body
