"""The daemons as real processes (lakefeed.local.daemons), so tests can SIGKILL them; each
one started is noted, and conftest kills what a test left running, pass or fail."""

from __future__ import annotations

from lakefeed.local import daemons

# Every daemon a test started; conftest kills what is left when the test ends.
STARTED: list[Daemon] = []


class Daemon(daemons.Daemon):
    def start(self, wait_healthy: bool = True) -> Daemon:
        STARTED.append(self)
        super().start(wait_healthy)
        return self
