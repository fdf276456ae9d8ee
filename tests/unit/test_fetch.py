"""lakefeed.fetch.Fetch: a cached fetch/build script run beside the caller (`up`
starts MinIO's first build this way, while it prepares everything else)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakefeed.errors import LakefeedError
from lakefeed.fetch import Fetch, fetched
from tests.support.waiting import wait_for


def script(root: Path, name: str, body: str) -> None:
    path = root / "scripts" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)


def test_a_fetch_runs_beside_the_caller_until_its_path_is_asked(tmp_path: Path) -> None:
    # The script finishes only once the caller, going on meanwhile, has made the marker:
    # a fetch that ran to its end before returning would time out (exit 9).
    marker = tmp_path / "caller-went-on"
    script(
        tmp_path,
        "fetch-slow",
        f"i=0; while [ ! -e {marker} ]; do i=$((i+1)); [ $i -gt 600 ] && exit 9; sleep 0.05; done\n"
        f"echo 'building' >&2; echo {tmp_path}/built\n",
    )
    fetch = Fetch(tmp_path, "fetch-slow")
    assert fetch.running
    marker.touch()
    assert fetch.path() == tmp_path / "built"
    assert not fetch.running
    # Asked again (the S3 rotation starts the lab's S3 a second time): the same answer.
    assert fetch.path() == tmp_path / "built"


def test_a_long_build_log_does_not_stall_a_fetch_nobody_reads_yet(tmp_path: Path) -> None:
    # 1 MiB of progress on stderr, more than a pipe holds, before the script is done.
    done = tmp_path / "done"
    script(
        tmp_path,
        "fetch-chatty",
        f"head -c 1048576 /dev/zero | tr '\\0' x >&2; touch {done}; echo {tmp_path}/bin\n",
    )
    fetch = Fetch(tmp_path, "fetch-chatty")
    wait_for("the script to finish on its own", done.exists, 30, every=0.05)
    assert fetch.path() == tmp_path / "bin"


def test_a_failed_fetch_names_its_script_exit_and_output(tmp_path: Path) -> None:
    script(tmp_path, "fetch-broken", "echo 'go: proxy.golang.org: no route to host' >&2; exit 3\n")
    broken = Fetch(tmp_path, "fetch-broken")
    for _ in range(2):
        with pytest.raises(LakefeedError, match=r"fetch-broken failed \(exit 3\): go: proxy"):
            broken.path()
    # Exit 0 without printing a path is a failure too, not an IndexError.
    script(tmp_path, "fetch-silent", "exit 0\n")
    with pytest.raises(LakefeedError, match=r"scripts/fetch-silent failed \(exit 0\)"):
        fetched(tmp_path, "fetch-silent")
