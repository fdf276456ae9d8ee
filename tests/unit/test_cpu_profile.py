"""scripts/cpu-profile: CPU by kind of process, from accounting records."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "cpu-profile"
RECORD = struct.Struct("<ccHIIIIIIf8H16s")


def record(comm: str, elapsed: float, utime: int, stime: int = 0) -> bytes:
    """One acct_v3 record; times in 1/100 s, small enough for comp_t's plain mantissa
    unless given already encoded."""
    return RECORD.pack(
        b"\0", b"\x03", 0, 0, 0, 0, 1, 1, 0, elapsed * 100, utime, stime, 0, 0, 0, 0, 0, 0,
        comm.encode(),
    )  # fmt: skip


def run(tmp_path: Path, data: bytes) -> subprocess.CompletedProcess[str]:
    pacct = tmp_path / "pacct"
    pacct.write_bytes(data)
    return subprocess.run(
        [sys.executable, str(SCRIPT), str(pacct)], capture_output=True, text=True, check=False
    )


def test_cpu_is_summed_by_kind_and_jvms_split_by_lifetime(tmp_path: Path) -> None:
    # comp_t 0x2001: mantissa 1, exponent 1 -> 8 ticks.
    data = b"".join(
        [
            record("ansible-playboo", 3, 150),
            record("ansible-playboo", 2, 50, 50),
            record("Reference Handl", 4, 200),  # a tool call's JVM
            record("C1 CompilerThre", 900, 0x2001),  # a broker, 8 ticks
            record("python3", 1, 30),
            record("podman", 1, 20),
        ]
    )
    done = run(tmp_path, data + b"\x00" * 10)  # a torn last record is ignored
    assert done.returncode == 0, done.stderr
    lines = {line.split("  ")[-1].strip(): line for line in done.stdout.splitlines()}
    assert lines["ansible (controller)"].split()[0] == "2", done.stdout  # 2.5 s rounds to 2
    assert "2 processes" in " ".join(lines["ansible (controller)"].split()), done.stdout
    assert lines["jvm: tool calls"].split()[0] == "2", done.stdout
    assert lines["jvm: long-running"].split()[0] == "0", done.stdout  # 0.08 s
    assert "other, by command: podman 0s" in done.stdout


def test_a_file_without_records_says_accounting_was_off(tmp_path: Path) -> None:
    done = run(tmp_path, b"")
    assert done.returncode == 1
    assert "was accton on?" in done.stderr
