"""The one way tests wait for a condition: poll it, never sleep a guessed time."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(
    what: str,
    check: Callable[[], T],
    timeout: float,
    every: float = 0.5,
    said: Callable[[], str] | None = None,
) -> T:
    """Poll `check()` every `every` seconds until it returns something truthy, and return
    that; after `timeout` seconds fail, naming `what` (and adding `said()`, e.g. a
    daemon's log, so a failure in CI can be read without running it again). The check
    always runs at least once and once more after the deadline, so a slow check is not
    cut short."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            more = f"\n{said()}" if said is not None else ""
            raise AssertionError(f"{what}: not after {timeout:.0f}s{more}")
        time.sleep(every)
