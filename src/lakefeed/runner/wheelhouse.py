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
import re
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


# Every dependency of lakefeed the hosts install, transitive ones too, pinned exactly
# (pyproject.toml pins only the direct ones). Inside the package, so it is part of
# lakefeed's wheel: a new lock is a new build, and hosts reinstall onto it.
LOCK = Path("src/lakefeed/host-deps.txt")
RELOCK = "scripts/lock-host-deps"


def normalize(name: str) -> str:
    """A project name as pip compares them (PEP 503): kafka_python == Kafka-Python."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_lock(path: Path) -> dict[str, str]:
    """{normalized name: version} of a lock file of `name==version` lines."""
    pins = {}
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        name, sep, version = line.partition("==")
        if not sep or not name.strip() or not version.strip():
            raise LakefeedError(
                f"{path}:{number}: {raw!r} is not `name==version`; run {RELOCK} to write "
                "the lock again"
            )
        pins[normalize(name.strip())] = version.strip()
    return pins


def _wheels(directory: Path) -> dict[str, Path]:
    """{normalized name: wheel} of the dependency wheels in a directory (not lakefeed)."""
    found = {normalize(w.name.split("-", 1)[0]): w for w in directory.glob("*.whl")}
    found.pop("lakefeed", None)
    return found


def _versions(wheels: dict[str, Path]) -> dict[str, str]:
    """{normalized name: version} of _wheels()' answer."""
    return {name: w.name.split("-")[1] for name, w in wheels.items()}


def build(
    root: Path,
    dest: Path,
    target: Platform = DEBIAN_12_AMD64,
    *,
    lock: Path | None = None,
    index: bool = True,
) -> Path:
    """Build lakefeed's wheel from `root` into `dest` (replacing an older one), plus the
    dependency wheels for `target`, exactly those of the lock (root/LOCK), and nothing
    else: a wheel no longer locked is removed. Returns the lakefeed wheel's path.

    When `dest` already holds every locked wheel, pip resolves offline; else it asks the
    index (PyPI or PIP_INDEX_URL), unless `index` is false."""
    lock = lock or root / LOCK
    pins = read_lock(lock)
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
    wheel = _lakefeed_wheel(root, dest)
    have = _versions(_wheels(dest))
    online = index and any(have.get(name) != version for name, version in pins.items())
    # Resolved into an empty directory (pip copies what dest already holds): what lands
    # there is exactly what the hosts need.
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=f".{dest.name}-") as tmp:
        argv = [
            *PIP,
            "download",
            *target.pip_args(),
            "--constraint",
            str(lock),
            "--dest",
            tmp,
            "--find-links",
            str(dest),
            str(wheel),
        ]
        what = f"dependencies for CPython {target.python} on {target.machine}"
        if not online:
            try:
                _pip([*argv, "--no-index"], what)
            except LakefeedError:
                if not index:
                    raise
                online = True  # a locked wheel is missing or unusable here: ask the index
        if online:
            _pip(argv, what)
        got = _wheels(Path(tmp))
        resolved = _versions(got)
        unlocked = sorted(f"{n}=={v}" for n, v in resolved.items() if n not in pins)
        unused = sorted(f"{n}=={v}" for n, v in pins.items() if n not in resolved)
        mismatch = []
        if unlocked:
            mismatch.append(f"needed but not locked: {', '.join(unlocked)}")
        if unused:
            mismatch.append(f"locked but not needed: {', '.join(unused)}")
        if mismatch:
            raise LakefeedError(
                f"{lock} does not match lakefeed's dependencies for CPython "
                f"{target.python} on {target.machine}: {'; '.join(mismatch)}. Run {RELOCK} "
                "(it pins what pyproject.toml's dependencies pull in today), review the diff "
                "and commit it; nothing was deployed"
            )
        for name, old in _wheels(dest).items():
            if name not in got or old.name != got[name].name:
                old.unlink()
        for dep in got.values():
            if not (dest / dep.name).exists():
                dep.replace(dest / dep.name)
    marker.write_text(json.dumps(asdict(target), sort_keys=True) + "\n")
    return wheel


def write_lock(root: Path, target: Platform = DEBIAN_12_AMD64) -> Path:
    """Resolve lakefeed's dependencies afresh from the index (what pyproject.toml's
    dependencies pull in today) and write them, pinned, to root/LOCK."""
    with tempfile.TemporaryDirectory() as tmp:
        wheel = _lakefeed_wheel(root, Path(tmp))
        deps = Path(tmp) / "deps"
        _pip(
            [*PIP, "download", *target.pip_args(), "--dest", str(deps), str(wheel)],
            f"dependencies for CPython {target.python} on {target.machine}",
        )
        found = _versions(_wheels(deps))
        lines = [f"{name}=={found[name]}" for name in sorted(found)]
    path = root / LOCK
    path.write_text(
        f"# Written by {RELOCK} for CPython {target.python} on {target.machine}: every package\n"
        "# the hosts install with lakefeed, pinned. Part of lakefeed's wheel, so a change\n"
        "# here is a new build. Do not edit by hand; change pyproject.toml and run it again.\n"
        + "\n".join(lines)
        + "\n"
    )
    return path


PIP = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]


def _lakefeed_wheel(root: Path, dest: Path) -> Path:
    """Our own wheel, always rebuilt (pure Python): its hash is the build id hosts
    compare."""
    # setuptools builds in root/build: two builds of one checkout at once (a rollout and
    # a test run, two test lanes) would delete each other's files, so they take turns.
    with _checkout_lock(root):
        # setuptools reuses build/lib: a module deleted from src/ would ride along.
        shutil.rmtree(root / "build", ignore_errors=True)
        _pip([*PIP, "wheel", "--no-deps", "--wheel-dir", str(dest), str(root)], "lakefeed")
    wheels = sorted(dest.glob("lakefeed-*.whl"))
    if len(wheels) != 1:
        raise LakefeedError(f"expected one lakefeed wheel in {dest}, found {len(wheels)}")
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


def _pip(argv: list[str], what: str) -> None:
    # Fixed zip timestamps: the same sources give the same wheel bytes, so an unchanged
    # tree is an unchanged build and a rerun restarts nothing.
    env = {**os.environ, "SOURCE_DATE_EPOCH": "315532800"}
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, env=env)
    if proc.returncode != 0:
        raise LakefeedError(
            f"building the wheelhouse failed ({what}): {proc.stderr.strip()[-2000:]}; pip "
            "needs PyPI (or your index, PIP_INDEX_URL) from this machine"
        )
