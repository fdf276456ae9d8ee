"""`lakefeed status`: the table, drift."""

from __future__ import annotations

import io

from lakefeed.runner.status import HostReport, render


def test_status_table_shows_every_service_and_unreachable_hosts() -> None:
    reports = {
        "kafka1": HostReport(
            "kafka1",
            services=[
                {
                    "service": "kafka",
                    "active": "active",
                    "sub": "running",
                    "healthy": True,
                    "version": "kafka_2.13-4.3.1",
                    "health": "healthy",
                },
                {
                    "service": "lakefeed-shipper",
                    "active": "active",
                    "sub": "running",
                    "healthy": False,
                    "version": "lakefeed-1.0.0-abc",
                    "health": {"status": "degraded", "backlog_files": 4, "last_shipped": "k"},
                },
            ],
        ),
        "kafka3": HostReport("kafka3", reachable=False, error="ssh: timed out"),
    }
    out = io.StringIO()
    render(reports, out)
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["HOST", "SERVICE", "STATE", "HEALTH", "VERSION", "DETAIL"]
    assert lines[1].split()[:4] == ["kafka1", "kafka", "active/running", "ok"]
    assert "FAIL" in lines[2] and "backlog=4" in lines[2] and "last=k" in lines[2]
    assert lines[3].split()[:3] == ["kafka3", "-", "unreachable"]


def test_status_shows_what_runs_and_flags_drift() -> None:
    shipper = {
        "service": "lakefeed-shipper",
        "active": "active",
        "sub": "running",
        "healthy": True,
        "version": "lakefeed-1.1.0-new",
        "running": {"version": "1.0.0", "build": "lakefeed-1.0.0-old", "config": "c"},
        "drift": ["build running lakefeed-1.0.0-old deployed lakefeed-1.1.0-new"],
        "health": {"status": "ok"},
    }
    out = io.StringIO()
    render({"kafka2": HostReport("kafka2", services=[shipper])}, out)
    row = out.getvalue().splitlines()[1]
    assert row.split()[4] == "lakefeed-1.0.0-old", row  # what the process runs
    assert "DRIFT build running lakefeed-1.0.0-old deployed lakefeed-1.1.0-new" in row
