"""The wheelhouse the `lakefeed` role installs from: lakefeed's wheel and every dependency.

Hosts install offline from it (`pip --no-index`), so a deploy never depends on PyPI being
reachable from the hosts, and every host gets byte-identical packages. The dependency
wheels are those of the hosts' platform (Debian 12: CPython 3.11, glibc 2.36), not of the
controller's: a macOS, arm64 or Python 3.12 controller deploys to Debian 12 amd64 hosts.
`platform.json` in the wheelhouse names that platform; the `lakefeed` role compares it
with each host before installing.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import platform as _platform
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from lakefeed.errors import LakefeedError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Platform:
    """The hosts' Python and machine: what pip must pick binary wheels for."""

    python: str = "3.11"  # Debian 12's python3
    machine: str = "x86_64"  # uname -m: x86_64 or aarch64
    glibc: str = "2.36"  # Debian 12's

    def pip_args(self) -> list[str]:
        major, minor = self.python.split(".")[:2]
        glibc = self.glibc.replace(".", "_")
        tags = [f"manylinux_{glibc}_{self.machine}", f"linux_{self.machine}"]
        if self.machine in ("x86_64", "i686"):
            tags += [f"manylinux2014_{self.machine}", f"manylinux1_{self.machine}"]
        else:
            tags.append(f"manylinux2014_{self.machine}")
        args = ["--only-binary=:all:", "--python-version", f"{major}.{minor}"]
        args += ["--implementation", "cp"]
        for abi in (f"cp{major}{minor}", "abi3", "none"):
            args += ["--abi", abi]
        for tag in tags:
            args += ["--platform", tag]
        return args


# The hosts `lakefeed up --env aws` makes: Debian 12 amd64 (terraform/envs/dev's AMI).
DEBIAN_12_AMD64 = Platform()


def this_machine() -> Platform:
    """The lab's hosts: Debian 12 containers on this machine's architecture."""
    return Platform(machine=_platform.machine())


def platform_of(env: str) -> Platform:
    """The hosts' platform of an environment: the lab's and the rehearsal's containers
    run this machine's."""
    return DEBIAN_12_AMD64 if env == "aws" else this_machine()


def build(root: Path, dest: Path, target: Platform = DEBIAN_12_AMD64) -> Path:
    """Build lakefeed's wheel from `root` into `dest` (replacing an older one), plus the
    dependency wheels for `target`; returns the lakefeed wheel's path."""
    dest.mkdir(parents=True, exist_ok=True)
    for old in dest.glob("lakefeed-*.whl"):
        old.unlink()
    # The lakefeed role packs each build into <dest>-<build>.tar beside it; a new build
    # makes the old archives garbage.
    for old in dest.parent.glob(f"{dest.name}-lakefeed-*.tar"):
        old.unlink()
    marker = dest / "platform.json"
    if marker.is_file() and json.loads(marker.read_text()) != asdict(target):
        # Wheels of another platform would only be dead weight in every host's copy.
        for old in dest.glob("*.whl"):
            old.unlink()
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    # Fixed zip timestamps: the same sources give the same wheel bytes, so an unchanged
    # tree is an unchanged build and a rerun restarts nothing.
    env = {**os.environ, "SOURCE_DATE_EPOCH": "315532800"}
    # Our own wheel, always rebuilt (pure Python): its hash is the build id hosts compare.
    # setuptools builds in root/build: two builds of one checkout at once (a rollout and
    # a test run, two test lanes) would delete each other's files, so they take turns.
    with _checkout_lock(root):
        # setuptools reuses build/lib: a module deleted from src/ would ride along.
        shutil.rmtree(root / "build", ignore_errors=True)
        _pip(env, [*pip, "wheel", "--no-deps", "--wheel-dir", str(dest), str(root)], "lakefeed")
    wheels = sorted(dest.glob("lakefeed-*.whl"))
    if len(wheels) != 1:
        raise LakefeedError(f"expected one lakefeed wheel in {dest}, found {len(wheels)}")
    # Dependencies for the hosts' platform; pip reuses wheels already in dest.
    _pip(
        env,
        [
            *pip,
            "download",
            *target.pip_args(),
            "--dest",
            str(dest),
            "--find-links",
            str(dest),
            str(wheels[0]),
        ],
        f"dependencies for CPython {target.python} on {target.machine}",
    )
    marker.write_text(json.dumps(asdict(target), sort_keys=True) + "\n")
    return wheels[0]


@contextlib.contextmanager
def _checkout_lock(root: Path) -> Iterator[None]:
    """An exclusive lock per checkout, outside it (in the system's temp directory)."""
    digest = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:16]
    path = Path(tempfile.gettempdir()) / f"lakefeed-wheel-{digest}.lock"
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _pip(env: dict[str, str], argv: list[str], what: str) -> None:
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, env=env)
    if proc.returncode != 0:
        raise LakefeedError(
            f"building the wheelhouse failed ({what}): {proc.stderr.strip()[-2000:]}; pip "
            "needs PyPI (or your index, PIP_INDEX_URL) from this machine"
        )
