"""Running the playbooks: what the progress and a failure say, and what they hide."""

from __future__ import annotations

import io

from lakefeed.runner.ansible import Progress


def test_a_failed_command_reports_what_it_printed_and_no_log_stays_hidden() -> None:
    out = io.StringIO()
    progress = Progress(out, None)
    progress(
        {
            "event": "runner_on_failed",
            "event_data": {
                "host": "kafka1",
                "task": "Wait until healthy",
                "res": {"msg": "non-zero return code", "stdout": "under-replicated: x.posts-2\n"},
            },
        }
    )
    progress(
        {
            "event": "runner_on_failed",
            "event_data": {
                "host": "kafka2",
                "task": "Write the secret",
                "res": {"censored": "the output has been hidden", "stdout": "s3cr3t"},
            },
        }
    )
    assert progress.failures == [
        "kafka1: Wait until healthy: non-zero return code: under-replicated: x.posts-2",
        "kafka2: Write the secret: output hidden (no_log)",
    ]
    assert "s3cr3t" not in out.getvalue()


def test_progress_says_what_changed_where_and_hides_no_log_items() -> None:
    """A rerun that should change nothing said only changed=2: which task and host was
    left to guess from the task names."""
    out = io.StringIO()
    progress = Progress(out, None)
    events = [
        ("runner_on_ok", {"changed": True}, "kafka-2"),
        ("runner_on_ok", {"changed": False}, "kafka-3"),
        ("runner_item_on_ok", {"changed": True, "_ansible_item_label": "x.posts"}, "kafka-1"),
        ("runner_item_on_ok", {"changed": True, "item": "pw", "_ansible_no_log": True}, "kafka-1"),
    ]
    for kind, res, host in events:
        progress({"event": kind, "event_data": {"host": host, "task": "t", "res": res}})
    changed = [line.split("changed: ")[1] for line in out.getvalue().splitlines()]
    assert changed == ["kafka-2", "kafka-1 (x.posts)", "kafka-1"]
    assert "pw" not in out.getvalue()
