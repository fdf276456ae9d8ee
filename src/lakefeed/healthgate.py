"""`lakefeed wait-healthy`: the gate a deploy waits at after it (re)starts a daemon.

Run on the daemon's host by the lakefeed role. Healthy: the unit runs and its /healthz
answers 200, from a process that runs the deployed build and config when the gate is told
them (`--build`, `--config`: it reports both on /healthz). A unit that has exited since it
was started (systemd shows it failed, or waiting to restart it) will not become healthy by
waiting: the gate stops at once and prints why, the unit's state and its last log lines,
instead of a minute of "connection refused". Exit 0 healthy, 1 not.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import TextIO

JOURNAL_LINES = 20


def unit_state(unit: str) -> dict[str, str]:
    props = ("ActiveState", "SubState", "Result", "ExecMainStatus", "NRestarts")
    done = subprocess.run(
        ["systemctl", "show", *(f"--property={p}" for p in props), unit],
        capture_output=True,
        text=True,
        check=False,
    )
    return dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)


def journal(unit: str, lines: int = JOURNAL_LINES) -> str:
    done = subprocess.run(
        ["journalctl", "--no-pager", "--output=cat", f"--lines={lines}", f"--unit={unit}"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.rstrip() or done.stderr.rstrip() or "(no log lines)"


def healthz(port: int) -> tuple[int | None, str]:
    """(HTTP status or None, body or the connection error)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=3) as resp:
            return resp.status, resp.read(4096).decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(4096).decode(errors="replace")
    except (OSError, urllib.error.URLError) as exc:
        return None, str(getattr(exc, "reason", exc))


def last_error(lines: str) -> str:
    """The newest error a daemon logged (its JSON log lines, or the CLI's `lakefeed: ...`)."""
    for line in reversed(lines.splitlines()):
        try:
            entry = json.loads(line)
        except ValueError:
            if line.startswith("lakefeed: "):
                return line.removeprefix("lakefeed: ")
            continue
        if isinstance(entry, dict) and entry.get("level") in ("ERROR", "CRITICAL"):
            return str(entry.get("msg", ""))
    return ""


def describe(state: dict[str, str]) -> str:
    return (
        f"{state.get('ActiveState', '?')} ({state.get('SubState', '?')}), result "
        f"{state.get('Result', '?')}, exit status {state.get('ExecMainStatus', '?')}, "
        f"automatic restarts {state.get('NRestarts', '?')}"
    )


def mismatch(body: str, expect: dict[str, str]) -> str:
    """'' when the process reports what is expected, else what it reports instead."""
    try:
        running = json.loads(body).get("running") or {}
    except (ValueError, AttributeError):
        running = {}
    return "; ".join(
        f"runs {part} {running.get(part)}, deployed {want}"
        for part, want in expect.items()
        if running.get(part) != want
    )


def wait(
    unit: str,
    port: int,
    timeout: float,
    *,
    expect: dict[str, str] | None = None,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
    poll: float = 0.5,
) -> int:
    """The unit's last log lines go to `out`, the verdict (with the newest error) to `err`."""
    deadline = time.monotonic() + timeout
    while True:
        state = unit_state(unit)
        if state.get("ActiveState") == "failed" or state.get("SubState") == "auto-restart":
            lines = journal(unit)
            out.write(f"{lines}\n")
            err.write(
                f"{unit} exited since it was started ({describe(state)}); waiting will "
                f"not make it healthy. Its last error: {last_error(lines) or '(none logged)'}"
                f" (more: journalctl -u {unit})\n"
            )
            return 1
        status, body = healthz(port)
        wrong = mismatch(body, expect or {}) if status == 200 else ""
        if status == 200 and state.get("ActiveState") == "active" and not wrong:
            try:
                summary = json.dumps(json.loads(body), separators=(",", ":"))[:300]
            except ValueError:
                summary = body[:300]
            out.write(f"{unit} healthy: {summary}\n")
            return 0
        if time.monotonic() >= deadline:
            answer = f"HTTP {status}: {body[:500]}" if status else f"no answer ({body})"
            if wrong:
                answer = f"HTTP 200 from a process that {wrong}"
            lines = journal(unit)
            out.write(f"{lines}\n")
            err.write(
                f"{unit} not healthy after {timeout:.0f}s: /healthz on port {port} gave "
                f"{answer}; the unit is {describe(state)}. Its last error: "
                f"{last_error(lines) or '(none logged)'} (more: journalctl -u {unit})\n"
            )
            return 1
        time.sleep(poll)
