"""One lab for the whole test session: `lakefeed up --env lab` once, `down` at the end.

Building the lab takes minutes, so tests/lab (what `up` promises) and tests/faults (what
the pipeline survives) share it. tests/conftest.py runs every test that uses it last,
tests/lab before tests/faults: the idempotence checks see the lab as `up` left it, and
the fault scenarios (each of which heals what it broke) come after.
"""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from lakefeed.lab import checkout
from lakefeed.runner.lab import LabRunner

ROOT = Path(__file__).resolve().parents[2]
# The session's lab starts on the previous minor release, pinned in its checkout's
# group_vars as a user pins one; tests/lab's change matrix upgrades it to the default
# (and finalizes the new release's metadata.version) under load. Maven Central serves
# Kafka's jars of 4.2.0 in full (4.2.1 and 4.2.2 lack connect-file).
OLD_KAFKA = "4.2.0"

# What the session's `up` printed, kept for tests/lab (the runner's `out` goes on growing).
UP_OUTPUT = pytest.StashKey[str]()


@pytest.fixture(scope="session")
def lab(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[LabRunner]:
    if os.geteuid() != 0:
        pytest.skip("the lab needs root (rootful Podman, a loop-mounted spool disk)")
    reuse = os.environ.get("LAKEFEED_TEST_LAB_STATE")
    if reuse:
        # A developer's lab from `lakefeed up` (prefix lf-lab, state .lab/): brought up to
        # date by `up` (idempotent) and left running afterwards.
        out = io.StringIO()
        runner = LabRunner(out=out, state=Path(reuse))
        assert runner.up() == 0, out.getvalue()[-4000:]
        request.config.stash[UP_OUTPUT] = out.getvalue()
        yield runner
        return
    prefix = f"lf-t{uuid.uuid4().hex[:6]}"
    state = tmp_path_factory.mktemp("lab") / "lab"
    tree = checkout.copy(ROOT, tmp_path_factory.mktemp("lab-checkout"))
    checkout.edit_vars(tree, lambda v: v.update(kafka_version=OLD_KAFKA))
    out = io.StringIO()
    runner = LabRunner(out=out, prefix=prefix, state=state, root=tree)
    try:
        assert runner.up() == 0, out.getvalue()[-4000:]
        request.config.stash[UP_OUTPUT] = out.getvalue()
        yield runner
    finally:
        LabRunner(out=io.StringIO(), prefix=prefix, state=state, root=tree).down()
    assert not runner.lab.network.exists(), "`down` left the lab network behind"
    assert not runner.spool_disk.mounted(), "`down` left the spool disk mounted"


@pytest.fixture(scope="session")
def lab_up_output(lab: LabRunner, request: pytest.FixtureRequest) -> str:
    """What `up` printed when the session's lab was built."""
    return request.config.stash[UP_OUTPUT]


def lab_checkout(lab: LabRunner, dest: Path) -> Path:
    """A copy of the checkout the session's lab was deployed from (this one, with the
    lab's group_vars as that checkout has them), to change as a user does."""
    copy = checkout.copy(ROOT, dest)
    vars_file = checkout.GROUP_VARS
    (copy / vars_file).write_text((lab.root / vars_file).read_text())
    return copy
