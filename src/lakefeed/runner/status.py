"""`lakefeed status`: per host and service, what runs, its version and its health.

One read-only playbook (playbooks/ops/status.yml) asks every cluster host through the
`lakefeed_status` module; `rollout` uses the same report to compare each host's deployed
fingerprint with the checkout's.
"""

from __future__ import annotations

import io
import json
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

from lakefeed.errors import LakefeedError
from lakefeed.runner.ansible import run_playbook
from lakefeed.runner.targets import Target

_TASK = "Read the services, their health and the deployed fingerprint"


@dataclass
class HostReport:
    host: str
    reachable: bool = True
    error: str = ""
    services: list[dict[str, Any]] = field(default_factory=list)
    deployed: dict[str, Any] | None = None
    # One line per service that does not run what is deployed (drift, or not running).
    stale: list[str] = field(default_factory=list)
    # Its inventory groups (which of site.yml's plays reach it).
    groups: list[str] = field(default_factory=list)


def collect(target: Target, *, kafka_health: bool = True) -> dict[str, HostReport]:
    """Every cluster host's report; unreachable hosts are reported, not raised. Without
    `kafka_health`, Kafka's health is not asked (kafka-health is a JVM run per host)."""
    target.require_hosts()
    reports: dict[str, HostReport] = {}

    def on_event(event: dict[str, Any]) -> None:
        data = event.get("event_data", {})
        host = data.get("host")
        if not host or data.get("task") != _TASK:
            return
        res = data.get("res") or {}
        kind = event.get("event")
        if kind == "runner_on_ok":
            reports[host] = HostReport(
                host,
                services=res.get("services", []),
                deployed=res.get("deployed"),
                stale=res.get("stale", []),
                groups=res.get("groups", []),
            )
        elif kind in ("runner_on_unreachable", "runner_on_failed"):
            reports[host] = HostReport(
                host, reachable=False, error=str(res.get("msg", "failed"))[:300]
            )

    result = run_playbook(
        target.root / "playbooks" / "ops" / "status.yml",
        list(target.inventories),
        target.state / "runner-status",
        vault_password_file=target.vault_password_file,
        extravars={"status_kafka_health": kafka_health},
        out=io.StringIO(),
        on_event=on_event,
    )
    if not reports and not result.ok:
        raise LakefeedError("status: " + "; ".join(result.failures or [result.status]))
    return dict(sorted(reports.items()))


def _drift(svc: dict[str, Any]) -> str:
    drift = svc.get("drift")
    return f"DRIFT {'; '.join(drift)}" if drift else ""


def _version(svc: dict[str, Any]) -> str:
    """What the process runs, as it says itself; else what `current` points at."""
    running = svc.get("running")
    if isinstance(running, dict) and running.get("build"):
        return str(running["build"])
    return str(svc.get("version", ""))


def _detail(svc: dict[str, Any]) -> str:
    health = svc.get("health")
    if svc["service"] in ("kafka", "prometheus"):
        return " ".join(filter(None, (_drift(svc), str(health or ""))))
    if not isinstance(health, dict):
        return _drift(svc)
    parts = [_drift(svc)] if svc.get("drift") else []
    for key, label in (
        ("lag_records", "lag"),
        ("backlog_files", "backlog"),
        ("last_shipped", "last"),
        ("source", "source"),
        ("reason", "reason"),
        ("error", "error"),
    ):
        value = health.get(key)
        if value in (None, ""):
            continue
        if key == "last_shipped":
            value = str(value).rsplit("/", 1)[-1]  # the file; --json has the whole key
        parts.append(f"{label}={value}")
    return " ".join(parts)


def render(reports: dict[str, HostReport], out: TextIO) -> None:
    rows = [("HOST", "SERVICE", "STATE", "HEALTH", "VERSION", "DETAIL")]
    for rep in reports.values():
        if not rep.reachable:
            rows.append((rep.host, "-", "unreachable", "-", "-", rep.error))
            continue
        for svc in rep.services:
            rows.append(
                (
                    rep.host,
                    svc["service"],
                    f"{svc['active']}/{svc['sub']}" if svc.get("sub") else svc["active"],
                    "ok" if svc.get("healthy") else "FAIL",
                    _version(svc),
                    _detail(svc),
                )
            )
        if not rep.services:
            rows.append((rep.host, "-", "no services", "-", "-", ""))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for r in rows:
        out.write("  ".join(c.ljust(w) for c, w in zip(r[:5], widths, strict=True)))
        out.write(f"  {r[5]}\n".rstrip() + "\n")


def alerts(reports: dict[str, HostReport]) -> list[dict[str, Any]]:
    """The alerts firing, as each monitoring host's Prometheus reports them."""
    return [
        {"prometheus": rep.host, **alert}
        for rep in reports.values()
        for svc in rep.services
        if svc["service"] == "prometheus"
        for alert in svc.get("alerts", [])
    ]


def render_alerts(firing: list[dict[str, Any]], out: TextIO) -> None:
    """Under the table: each alert firing, oldest first, with the line of
    docs/operations.md ("Alerts") that says what to do."""
    if not firing:
        return
    out.write(f"\nalerts firing ({len(firing)}; what to do: docs/operations.md#alerts):\n")
    rows = [
        (a["alert"], a["instance"], f"since {a['since'][:19].replace('T', ' ')}", a["summary"])
        for a in firing
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for r in rows:
        out.write("  " + "  ".join(c.ljust(w) for c, w in zip(r[:3], widths, strict=True)))
        out.write(f"  {r[3]}".rstrip() + "\n")


def status(target: Target, out: TextIO, as_json: bool = False) -> int:
    """Exit 0 when every service on every host is up, healthy and runs what is deployed
    (no drift), 1 otherwise. Alerts firing are shown and do not change the exit code: they
    name the services that fail, or warn of what has not failed yet."""
    reports = collect(target)
    firing = alerts(reports)
    healthy = all(
        rep.reachable and rep.services and all(s.get("healthy") for s in rep.services)
        for rep in reports.values()
    )
    drift = [f"{rep.host}: {line}" for rep in reports.values() for line in rep.stale]
    if as_json:
        doc = {
            "env": target.name,
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "healthy": healthy,
            "drift": drift,
            "alerts": firing,
            "hosts": {
                h: {
                    "reachable": r.reachable,
                    "error": r.error or None,
                    "services": r.services,
                    "deployed": r.deployed,
                }
                for h, r in reports.items()
            },
        }
        out.write(json.dumps(doc, indent=2) + "\n")
    else:
        render(reports, out)
        render_alerts(firing, out)
        if drift:
            out.write(
                "\nnot running what is deployed (`lakefeed rollout` restarts them):\n  "
                + "\n  ".join(drift)
                + "\n"
            )
    return 0 if healthy and not drift else 1
