"""The wheelhouse holds wheels for the hosts' platform, not the controller's.

Hosts install with `pip --no-index`: a wheelhouse built with the controller's own Python
and machine (a Mac, an arm64 laptop, Python 3.12) left them nothing to install. Built for
another machine than this one, every binary wheel must carry that machine's tag.
"""

from __future__ import annotations

import json
import platform
import zipfile
from pathlib import Path

import pytest

from lakefeed.errors import LakefeedError
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


def _pins(wheels: Path) -> dict[str, str]:
    """{normalized project name: version} of the dependency wheels in a wheelhouse."""
    out = {}
    for w in wheels.glob("*.whl"):
        name, version = w.name.split("-")[:2]
        out[wheelhouse.normalize(name)] = version
    out.pop("lakefeed", None)
    return out


def test_the_hosts_get_exactly_the_locked_dependencies(tmp_path: Path) -> None:
    """The project pins its direct dependencies; their own (idna, urllib3, botocore...)
    floated: a wheelhouse built an hour later held idna 3.20 and 3.21, so a host added
    then got other packages than its peers under the same build id, and the rebuilt
    archive was copied again to every host (a rerun that changed things)."""
    pins = wheelhouse.read_lock(ROOT / wheelhouse.LOCK)
    assert {"idna", "urllib3", "botocore", "kafka-python"} <= set(pins)
    dest = tmp_path / "wheelhouse"
    dest.mkdir()
    # A wheel a build of last month left behind (any older idna).
    (dest / "idna-3.0-py3-none-any.whl").write_bytes(b"not used")
    wheel = wheelhouse.build(ROOT, dest, wheelhouse.this_machine())
    assert _pins(dest) == pins
    # The lock is in lakefeed's own wheel: a new lock is a new build, hosts reinstall.
    with zipfile.ZipFile(wheel) as whl:
        assert whl.read(f"lakefeed/{wheelhouse.LOCK.name}") == (ROOT / wheelhouse.LOCK).read_bytes()

    # A second build needs no index: the locked wheels are all there.
    def deps() -> dict[str, int]:
        return {
            w.name: w.stat().st_mtime_ns for w in dest.glob("*.whl") if "lakefeed" not in w.name
        }

    before = deps()
    wheelhouse.build(ROOT, dest, wheelhouse.this_machine(), index=False)
    assert deps() == before


def test_a_dependency_missing_from_the_lock_is_refused(tmp_path: Path) -> None:
    lock = tmp_path / "host-deps.txt"
    kept = [
        line
        for line in (ROOT / wheelhouse.LOCK).read_text().splitlines()
        if not line.startswith("six==")
    ]
    lock.write_text("\n".join(kept) + "\n")
    with pytest.raises(LakefeedError) as err:
        wheelhouse.build(ROOT, tmp_path / "wheelhouse", wheelhouse.this_machine(), lock=lock)
    said = str(err.value)
    assert "six==" in said and "scripts/lock-host-deps" in said, said
    assert not list((tmp_path / "wheelhouse").glob("six-*.whl"))
