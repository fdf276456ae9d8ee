"""scripts/cpu-profile: CPU by kind of process, from accounting records."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "scripts" / "cpu-profile"
RECORD = struct.Struct("<ccHIIIIIIf8H16s")


def record(
    comm: str,
    elapsed: float,
    utime: int,
    stime: int = 0,
    *,
    pid: int = 1,
    ppid: int = 1,
    start: int = 0,
) -> bytes:
    """One acct_v3 record; times in 1/100 s, small enough for comp_t's plain mantissa
    unless given already encoded."""
    return RECORD.pack(
        b"\0", b"\x03", 0, 0, 0, 0, pid, ppid, start, elapsed * 100, utime, stime,
        0, 0, 0, 0, 0, 0, comm.encode(),
    )  # fmt: skip


def run(tmp_path: Path, data: bytes, *args: str) -> subprocess.CompletedProcess[str]:
    pacct = tmp_path / "pacct"
    pacct.write_bytes(data)
    return subprocess.run(
        [sys.executable, str(SCRIPT), str(pacct), *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_cpu_is_summed_by_kind_and_jvms_split_by_lifetime(tmp_path: Path) -> None:
    # comp_t 0x2001: mantissa 1, exponent 1 -> 8 ticks.
    data = b"".join(
        [
            record("ansible-playboo", 3, 150),
            record("ansible-playboo", 2, 50, 50),
            record("Reference Handl", 4, 200),  # a tool call's JVM
            record("C1 CompilerThre", 900, 0x2001),  # a broker, 8 ticks
            record("prometheus-http", 900, 0x2001),  # a broker with the JMX exporter
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
    assert lines["jvm: long-running"].split()[0] == "0", done.stdout  # 0.16 s
    assert "2 processes" in " ".join(lines["jvm: long-running"].split()), done.stdout
    assert "other, by command: podman 0s" in done.stdout


def test_a_file_without_records_says_accounting_was_off(tmp_path: Path) -> None:
    done = run(tmp_path, b"")
    assert done.returncode == 1
    assert "was accton on?" in done.stderr


def test_runs_take_the_cpu_of_everything_under_them(tmp_path: Path) -> None:
    """A playbook run counts its forks, the modules they start and the tools those start;
    a container its own processes; Molecule the playbooks it runs; a PID used again later
    belongs to the process alive when its child started."""
    t0 = 1_800_000_000  # 2027-01-15 08:00:00 UTC
    data = b"".join(
        [
            # pytest (10) -> ansible-playbook (11) -> its fork (12) -> a module (13)
            #   -> a tool call's JVM (14); records are written as processes exit.
            record("Reference Handl", 2, 120, pid=14, ppid=13, start=t0 + 5),
            record("python3", 3, 30, pid=13, ppid=12, start=t0 + 4),
            record("ansible-playboo", 4, 10, pid=12, ppid=11, start=t0 + 4),
            record("ansible-playboo", 60, 200, pid=11, ppid=10, start=t0),
            # A container: conmon (20, its parent gone) -> systemd (21) -> a broker (22).
            record("C1 CompilerThre", 500, 400, pid=22, ppid=21, start=t0 + 10),
            record("systemd", 600, 5, pid=21, ppid=20, start=t0 + 9),
            record("conmon", 600, 1, pid=20, ppid=1, start=t0 + 9),
            # Molecule (30) -> ansible-playbook (31); then PID 13 again, under Molecule's
            # playbook, long after the first 13 ended.
            record("python3", 1, 40, pid=13, ppid=31, start=t0 + 100),
            record("ansible-playboo", 20, 50, pid=31, ppid=30, start=t0 + 90),
            record("molecule", 30, 20, pid=30, ppid=10, start=t0 + 85),
            record("python", 200, 70, pid=10, ppid=9, start=t0 - 1),  # pytest: no run
        ]
    )
    done = run(tmp_path, data, "--runs", "2")
    assert done.returncode == 0, done.stderr
    runs = done.stdout.split("costliest runs of ", 1)[1].splitlines()
    assert runs[0].startswith("3 (9 CPU-s in all):"), done.stdout
    assert runs[1].split()[:5] == ["4", "CPU-s", "3", "processes", "container"], done.stdout
    assert "started 08:00:09 UTC, 600 s: C1 CompilerThre 4, systemd 0" in runs[1], runs[1]
    assert runs[2].split()[:5] == ["4", "CPU-s", "4", "processes", "playbook"], done.stdout
    assert "60 s: ansible-playboo 2, Reference Handl 1, python3 0" in runs[2], runs[2]
    assert len(runs) == 3, done.stdout  # Molecule's (1.1 CPU-s) is the third
    third = run(tmp_path, data, "--runs", "3").stdout.splitlines()[-1]
    assert third.split()[:5] == ["1", "CPU-s", "3", "processes", "Molecule"], third
