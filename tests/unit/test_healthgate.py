"""The deploy's health gate picks the daemon's newest error out of its journal."""

from __future__ import annotations

import json

from lakefeed.healthgate import last_error


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
