"""Prints the fault suite's measured table at the end of the run (docs/guarantees.md)."""

from __future__ import annotations

import json

import pytest

from tests.support.faults import RESULTS


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not RESULTS.totals:
        return
    terminalreporter.section("fault suite: measured")
    totals = {k: v for k, v in RESULTS.totals.items() if k != "scenarios"}
    terminalreporter.write_line(json.dumps(totals))
    for row in RESULTS.totals["scenarios"]:
        terminalreporter.write_line(json.dumps(row))
