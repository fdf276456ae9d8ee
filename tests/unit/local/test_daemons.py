"""lakefeed.local.daemons: the config a daemon gets, and how it is waited for and stopped.
The processes here are small Python programs standing in for a daemon's behaviour at
start and stop (the daemons themselves run in tests/integration)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

from lakefeed.local.daemons import Daemon, DaemonError
from tests.support.waiting import wait_for


class Scripted(Daemon):
    """A process that runs `code` instead of the daemon."""

    def __init__(self, code: str, workdir: Path) -> None:
        super().__init__("archiver", {"topics": ["t"]}, workdir)
        self.code = code

    def command(self) -> list[str]:
        return [sys.executable, "-c", self.code]


def test_the_config_carries_its_kind_and_a_loopback_metrics_port(tmp_path: Path) -> None:
    d = Daemon("shipper", {"spool_dir": "/s"}, tmp_path / "w", name="shipper-1")
    written = yaml.safe_load(d.config_path.read_text())
    assert written == {
        "kind": "shipper",
        "spool_dir": "/s",
        "metrics": {"host": "127.0.0.1", "port": d.port},
    }
    assert d.config_path == tmp_path / "w" / "shipper.yaml"
    assert d.command()[-3:] == ["ship", "-c", str(d.config_path)]
    d.config["spool_dir"] = "/t"
    d.rewrite_config()
    assert yaml.safe_load(d.config_path.read_text())["spool_dir"] == "/t"


def test_one_that_exits_while_starting_is_named_with_its_log(tmp_path: Path) -> None:
    d = Scripted("import sys; print('cannot open the spool'); sys.exit(2)", tmp_path)
    with pytest.raises(DaemonError, match=r"(?s)archiver exited 2 while starting:.*spool"):
        d.start()
    assert d.starts == 1


def test_one_that_ignores_sigterm_is_killed_and_says_so(tmp_path: Path) -> None:
    d = Scripted(
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN);"
        "print('up', flush=True); time.sleep(60)",
        tmp_path,
    )
    d.start(wait_healthy=False)
    wait_for("its SIGTERM handler set", lambda: "up" in d.tail(), 10)
    assert d.terminate(timeout=0.5) == -9
    assert not d.running()


def test_a_clean_stop_returns_its_exit_code(tmp_path: Path) -> None:
    d = Scripted("import time; print('up', flush=True); time.sleep(60)", tmp_path)
    d.start(wait_healthy=False)
    wait_for("it to run", lambda: "up" in d.tail(), 10)
    assert d.terminate(timeout=10) == -15  # no handler: the signal ends it
