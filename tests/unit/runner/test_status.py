"""`lakefeed status`: the table, drift."""

from __future__ import annotations

import io

from lakefeed.runner.status import HostReport, alerts, render, render_alerts


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


def test_alerts_firing_show_under_the_table_oldest_first() -> None:
    prometheus = {
        "service": "prometheus",
        "active": "active",
        "sub": "running",
        "healthy": True,
        "version": "2.42.0+ds-5+deb12u1",
        "health": "2 alert(s) firing",
        "drift": [],
        "alerts": [
            {
                "alert": "KafkaNodeDown",
                "severity": "critical",
                "instance": "kafka-2:7071",
                "since": "2026-12-07T00:10:03.5Z",
                "summary": "kafka-2:7071 does not answer",
            },
            {
                "alert": "LakefeedDaemonDown",
                "severity": "critical",
                "instance": "kafka-2:9102",
                "since": "2026-12-07T00:11:00Z",
                "summary": "",
            },
        ],
    }
    reports = {"s3": HostReport("s3", services=[prometheus])}
    out = io.StringIO()
    render(reports, out)
    render_alerts(alerts(reports), out)
    lines = out.getvalue().splitlines()
    assert lines[1].split()[:4] == ["s3", "prometheus", "active/running", "ok"]
    assert lines[1].endswith("2 alert(s) firing")
    assert lines[3] == "alerts firing (2; what to do: docs/operations.md#alerts):"
    assert lines[4].split() == [
        "KafkaNodeDown", "kafka-2:7071", "since", "2026-12-07", "00:10:03", "kafka-2:7071",
        "does", "not", "answer",
    ]  # fmt: skip
    assert lines[5].split() == [
        "LakefeedDaemonDown",
        "kafka-2:9102",
        "since",
        "2026-12-07",
        "00:11:00",
    ]
    assert alerts(reports)[0]["prometheus"] == "s3"


def test_no_alert_section_when_nothing_fires() -> None:
    out = io.StringIO()
    render_alerts([], out)
    assert out.getvalue() == ""
