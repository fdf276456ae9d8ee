#!/usr/bin/python
"""Ansible module: what runs on this host, as `lakefeed status` and `rollout` need it."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: lakefeed_status
short_description: Report the lakefeed services of one host
description:
  - Reads, never changes. For Kafka and every lakefeed daemon the host runs it reports the
    systemd state, the version, the daemon's /healthz details (consumer lag, last object
    shipped, spool backlog) and the fingerprint of the last complete deploy.
  - Drift, per running service, is what it runs that differs from what is deployed on
    disk: for a daemon, the build (the virtualenv `current` points at) and the digest of
    its config file, compared with what the process reports on /healthz; for Kafka, a
    restart the kafka role recorded and has not done yet.
options:
  services_dir:
    description: Where the daemon roles register each daemon (one JSON file per daemon).
    type: path
    default: /etc/lakefeed/services.d
  deployed_file:
    description: The fingerprint site.yml writes when a deploy completed on this host.
    type: path
    default: /var/lib/lakefeed-deploy/deployed.json
  kafka_home:
    description: The symlink to the Kafka release in use.
    type: path
    default: /opt/kafka
  lakefeed_current:
    description: The symlink to the lakefeed build in use.
    type: path
    default: /opt/lakefeed/current
  timeout:
    description: Seconds to wait for one /healthz answer.
    type: float
    default: 3.0
  kafka_data_dir:
    description:
      - The kafka role's kafka_data_dir; the role keeps a marker beside it while the node's
        restart is pending (see kafka_pending_marker()).
    type: path
    default: /var/lib/kafka/data
  kafka_health:
    description:
      - Run kafka-health (a JVM tool, seconds per host) for Kafka's health. `rollout`
        reads only the fingerprints and leaves it out; the site.yml health gates ask it.
    type: bool
    default: true
  prometheus_port:
    description:
      - The monitoring role's monitoring_port. Where Prometheus runs (the `monitoring`
        group), it is reported as a service, with the alerts firing (its /api/v1/alerts).
    type: int
    default: 9090
  groups:
    description:
      - The host's inventory groups (`group_names`), returned as given, so `rollout` knows
        which of site.yml's plays reach the host.
    type: list
    elements: str
    default: []
"""

import glob
import hashlib
import json
import os
import subprocess
import urllib.error
import urllib.request

from ansible.module_utils.basic import AnsibleModule


def unit_state(unit):
    proc = subprocess.run(
        [
            "systemctl",
            "show",
            unit,
            "-p",
            "LoadState,ActiveState,SubState,MainPID,ActiveEnterTimestamp,UnitFileState",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    props = dict(line.split("=", 1) for line in proc.stdout.splitlines() if "=" in line)
    return {
        "loaded": props.get("LoadState") == "loaded",
        "active": props.get("ActiveState", "unknown"),
        "sub": props.get("SubState", ""),
        "pid": int(props.get("MainPID") or 0),
        "since": props.get("ActiveEnterTimestamp", ""),
        "enabled": props.get("UnitFileState") == "enabled",
    }


def local_get(port, path, timeout):
    """GET http://127.0.0.1:<port><path>: (status, body text, error); status 0 and the
    error when nothing answered. An error status keeps its body (/healthz's 503 says why)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{int(port)}{path}", timeout=timeout) as resp:
            return resp.status, resp.read().decode(errors="replace"), ""
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace"), ""
    except OSError as exc:
        return 0, "", str(exc)


def healthz(port, timeout):
    status, text, error = local_get(port, "/healthz", timeout)
    if status == 0:
        return 0, {"error": error}
    try:
        return status, json.loads(text or "{}")
    except ValueError as exc:
        return (0, {"error": str(exc)}) if status == 200 else (status, {})


def package_version(name):
    proc = subprocess.run(
        ["dpkg-query", "--show", "--showformat=${Version}", name],
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.stdout.strip() if proc.returncode == 0 else ""


def firing(body):
    """The firing alerts of a /api/v1/alerts answer, oldest first."""
    alerts = []
    for alert in ((body or {}).get("data") or {}).get("alerts", []):
        if alert.get("state") != "firing":
            continue
        labels = alert.get("labels", {})
        alerts.append(
            {
                "alert": labels.get("alertname", ""),
                "severity": labels.get("severity", ""),
                "instance": labels.get("instance", ""),
                "since": alert.get("activeAt", ""),
                "summary": alert.get("annotations", {}).get("summary", ""),
            }
        )
    return sorted(alerts, key=lambda a: (a["since"], a["alert"], a["instance"]))


def prometheus_report(port, timeout):
    """What Prometheus on this host says of itself: ready (/-/ready answers plain text),
    and the alerts firing (/api/v1/alerts)."""
    ready, _, _ = local_get(port, "/-/ready", timeout)
    code, text, _ = local_get(port, "/api/v1/alerts", timeout)
    try:
        body = json.loads(text) if code == 200 else None
    except ValueError:
        body = None
    healthy = ready == 200 and isinstance(body, dict)
    alerts = firing(body) if healthy else []
    if healthy:
        health = f"{len(alerts)} alert(s) firing"
    elif ready != 200:
        health = f"not ready (HTTP {ready or 'no answer'})"
    else:
        health = f"no alerts from its API (HTTP {code or 'no answer'})"
    return {"healthy": healthy, "health": health, "alerts": alerts}


def prometheus_entry(port, timeout):
    """Prometheus as a service line, with the alerts firing; None where it is not set up."""
    state = unit_state("prometheus.service")
    if not (state["loaded"] and state["enabled"]):
        return None
    entry = {"service": "prometheus", "version": package_version("prometheus"), **state}
    if state["active"] != "active":
        entry.update(healthy=False, health="not running", alerts=[])
        return entry
    entry.update(prometheus_report(port, timeout))
    # The role reloads it whenever it writes its config: nothing to restart, no drift.
    entry["drift"] = []
    return entry


def link_name(path):
    return os.path.basename(os.path.realpath(path)) if os.path.islink(path) else ""


def file_digest(path):
    """As the daemon computes it (lakefeed.service.config_digest)."""
    try:
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()[:16]
    except OSError:
        return None


def daemon_drift(deployed, running):
    """What the process runs that differs from what is deployed; None when the process
    did not say (not answering, or a build from before it reported)."""
    if not isinstance(running, dict) or "build" not in running:
        return None
    return [
        f"{part} running {running.get(part)} deployed {deployed[part]}"
        for part in ("build", "config")
        if running.get(part) != deployed[part]
    ]


def kafka_pending_marker(data_dir):
    """Where the kafka role keeps a node's pending restart: roles/kafka/vars/main.yml's
    __kafka_pending_marker, for the same kafka_data_dir."""
    return os.path.join(os.path.dirname(data_dir), ".lakefeed-restart-pending")


def daemon_entries(module, p):
    """A service line per daemon the daemon roles registered on this host."""
    entries = []
    build = link_name(p["lakefeed_current"])
    for path in sorted(glob.glob(os.path.join(p["services_dir"], "*.json"))):
        try:
            with open(path, encoding="utf-8") as f:
                reg = json.load(f)
        except (OSError, ValueError) as exc:
            module.fail_json(msg=f"cannot read {path}: {exc}")
        entry = {"service": reg["service"], "version": build, **unit_state(reg["unit"])}
        entry["deployed"] = {"build": build, "config": file_digest(reg.get("config", ""))}
        if entry["active"] == "active":
            code, body = healthz(reg["port"], p["timeout"])
            entry["healthy"] = code == 200
            entry["health"] = body
            entry["running"] = body.get("running")
            entry["drift"] = daemon_drift(entry["deployed"], entry["running"])
        else:
            entry["healthy"] = False
            entry["health"] = {"status": "not running"}
        entries.append(entry)
    return entries


def main():
    module = AnsibleModule(
        argument_spec={
            "services_dir": {"type": "path", "default": "/etc/lakefeed/services.d"},
            "deployed_file": {"type": "path", "default": "/var/lib/lakefeed-deploy/deployed.json"},
            "kafka_home": {"type": "path", "default": "/opt/kafka"},
            "lakefeed_current": {"type": "path", "default": "/opt/lakefeed/current"},
            "timeout": {"type": "float", "default": 3.0},
            "kafka_data_dir": {"type": "path", "default": "/var/lib/kafka/data"},
            "kafka_health": {"type": "bool", "default": True},
            "groups": {"type": "list", "elements": "str", "default": []},
            "prometheus_port": {"type": "int", "default": 9090},
        },
        supports_check_mode=True,
    )
    p = module.params
    services = []

    kafka = unit_state("kafka.service")
    if kafka["loaded"]:
        entry = {"service": "kafka", "version": link_name(p["kafka_home"]), **kafka}
        if kafka["active"] == "active":
            pending = os.path.exists(kafka_pending_marker(p["kafka_data_dir"]))
            entry["drift"] = ["restart pending (config or version changed)"] if pending else []
        if kafka["active"] == "active" and not p["kafka_health"]:
            entry["healthy"] = None
            entry["health"] = "not asked"
        elif os.access("/usr/local/bin/kafka-health", os.X_OK) and kafka["active"] == "active":
            proc = subprocess.run(
                ["/usr/local/bin/kafka-health"], capture_output=True, text=True, check=False
            )
            entry["healthy"] = proc.returncode == 0
            entry["health"] = (proc.stdout.strip() or proc.stderr.strip())[-300:]
        else:
            entry["healthy"] = False
            entry["health"] = "not running"
        services.append(entry)

    services.extend(daemon_entries(module, p))

    prometheus = prometheus_entry(p["prometheus_port"], p["timeout"])
    if prometheus is not None:
        services.append(prometheus)

    deployed = None
    try:
        with open(p["deployed_file"], encoding="utf-8") as f:
            deployed = json.load(f)
    except FileNotFoundError:
        pass
    except (OSError, ValueError) as exc:
        deployed = {"error": str(exc)}
    module.exit_json(
        changed=False,
        services=services,
        deployed=deployed,
        stale=stale(services),
        groups=p["groups"],
    )


def stale(services):
    """Each service not running what is deployed, said in a line; empty when all are."""
    lines = []
    for svc in services:
        if svc["active"] != "active":
            lines.append(f"{svc['service']} is {svc['active']}")
        elif svc.get("drift") is None:
            lines.append(f"{svc['service']} did not report what it runs (no /healthz answer)")
        else:
            lines.extend(f"{svc['service']}: {d}" for d in svc["drift"])
    return lines


if __name__ == "__main__":
    main()
