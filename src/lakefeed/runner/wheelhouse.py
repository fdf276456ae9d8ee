"""The wheelhouse the `lakefeed` role installs from: lakefeed's wheel and every dependency.

Hosts install offline from it (`pip --no-index`), so a deploy never depends on PyPI being
reachable from the hosts, and every host gets byte-identical packages.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

from lakefeed.errors import LakefeedError

logger = logging.getLogger(__name__)


def build(root: Path, dest: Path) -> Path:
    """Build lakefeed's wheel from `root` into `dest` (replacing an older one), plus
    dependency wheels; returns the lakefeed wheel's path."""
    dest.mkdir(parents=True, exist_ok=True)
    # setuptools reuses build/lib: a module deleted from src/ would ride along.
    shutil.rmtree(root / "build", ignore_errors=True)
    for old in dest.glob("lakefeed-*.whl"):
        old.unlink()
    # The lakefeed role packs each build into <dest>-<build>.tar beside it; a new build
    # makes the old archives garbage.
    for old in dest.parent.glob(f"{dest.name}-lakefeed-*.tar"):
        old.unlink()
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    steps = [
        # Our own wheel, always rebuilt: its hash is the build id the hosts compare.
        [*pip, "wheel", "--no-deps", "--wheel-dir", str(dest), str(root)],
        # Dependencies: pip reuses wheels already in dest.
        [*pip, "wheel", "--wheel-dir", str(dest), "--find-links", str(dest), str(root)],
    ]
    # Fixed zip timestamps: the same sources give the same wheel bytes, so an unchanged
    # tree is an unchanged build and a rerun restarts nothing.
    env = {**os.environ, "SOURCE_DATE_EPOCH": "315532800"}
    for argv in steps:
        proc = subprocess.run(argv, capture_output=True, text=True, check=False, env=env)
        if proc.returncode != 0:
            raise LakefeedError(
                f"building the wheelhouse failed ({' '.join(argv[3:5])}): "
                f"{proc.stderr.strip()[-2000:]}"
            )
    wheels = sorted(dest.glob("lakefeed-*.whl"))
    if len(wheels) != 1:
        raise LakefeedError(f"expected one lakefeed wheel in {dest}, found {len(wheels)}")
    return wheels[0]
