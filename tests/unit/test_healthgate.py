"""The deploy's health gate: the daemon's newest error out of its journal, and a healthy
answer counts only from a process that runs what was deployed."""

from __future__ import annotations

import json

from lakefeed.healthgate import last_error, mismatch


def test_the_newest_error_of_the_json_log_is_found() -> None:
    lines = "\n".join(
        [
            json.dumps({"level": "INFO", "msg": "collector started"}),
            json.dumps({"level": "ERROR", "msg": "older error"}),
            json.dumps({"level": "ERROR", "msg": "source.path: cannot open replay file /x"}),
            json.dumps({"level": "INFO", "msg": "collector stopped"}),
            "Started lakefeed-collector@x.service.",
        ]
    )
    assert last_error(lines) == "source.path: cannot open replay file /x"


def test_the_cli_error_line_counts_and_plain_lines_do_not() -> None:
    lines = "lakefeed: config error: kafka.bootstrap_servers: missing\nStopped unit.\n"
    assert last_error(lines) == "config error: kafka.bootstrap_servers: missing"
    assert last_error("Started unit.\nStopped unit.") == ""


def test_a_healthy_answer_from_another_build_or_config_is_named() -> None:
    body = json.dumps({"status": "ok", "running": {"build": "lakefeed-1-a", "config": "c1"}})
    assert mismatch(body, {"build": "lakefeed-1-a", "config": "c1"}) == ""
    assert mismatch(body, {}) == ""
    assert mismatch(body, {"build": "lakefeed-2-b", "config": "c1"}) == (
        "runs build lakefeed-1-a, deployed lakefeed-2-b"
    )
    # A process from before builds reported themselves says nothing: not what is deployed.
    assert mismatch('{"status": "ok"}', {"build": "b"}) == "runs build None, deployed b"
