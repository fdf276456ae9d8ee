"""The wheelhouse holds wheels for the hosts' platform, not the controller's.

Hosts install with `pip --no-index`: a wheelhouse built with the controller's own Python
and machine (a Mac, an arm64 laptop, Python 3.12) left them nothing to install. Built for
another machine than this one, every binary wheel must carry that machine's tag.
"""

from __future__ import annotations

import json
import platform
from pathlib import Path

import pytest

from lakefeed.runner import wheelhouse

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


def test_binary_wheels_are_the_hosts_not_the_controllers(tmp_path: Path) -> None:
    other = "aarch64" if platform.machine() == "x86_64" else "x86_64"
    target = wheelhouse.Platform(python="3.11", machine=other)
    dest = tmp_path / "wheelhouse"
    wheel = wheelhouse.build(ROOT, dest, target)
    assert wheel.name.startswith("lakefeed-") and wheel.name.endswith("-py3-none-any.whl")
    binary = [w.name for w in dest.glob("*.whl") if not w.name.endswith("-none-any.whl")]
    # pydantic-core, PyYAML, crc32c and zlib-ng at least have compiled parts.
    assert len(binary) >= 4, binary
    for name in binary:
        assert "-cp311-" in name and other in name, name
    assert json.loads((dest / "platform.json").read_text()) == {
        "glibc": "2.36",
        "machine": other,
        "python": "3.11",
    }
    # Built again for this machine: no wheel of the other one is left behind.
    wheelhouse.build(ROOT, dest, wheelhouse.this_machine())
    assert not [w for w in dest.glob("*.whl") if other in w.name]
