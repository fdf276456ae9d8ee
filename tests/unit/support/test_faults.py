"""tests/support/faults.py's pieces that need no lab."""

from __future__ import annotations

from tests.support.faults import since_argument


def test_journal_since_never_leaves_out_the_second_it_starts_in() -> None:
    # A line logged at 100.9 must be in the journal read "since 100.6".
    assert since_argument(100.6) == "@100"
    assert since_argument(100.0) == "@100"
    assert since_argument(100.4) == "@100"
