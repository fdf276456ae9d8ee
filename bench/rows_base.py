"""What rows 1-4 of bench/run share: the plan, the daemons' settings the rows run with,
the formatting helpers, and `BenchBase` (the lab, the plan, the configs). Each row group
is a module of its own (rows_collector, rows_archiver, rows_shipper, rows_e2e), a mixin
of BenchBase that bench_rows.Bench combines."""

from __future__ import annotations

import importlib.util
import os
import re
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench_data import (
    COLLECTOR_NAME,
    FileSet,
    Replay,
    sample_records,
)
from bench_harness import (
    MIB,
    CpuTrace,
    Lab,
    Usage,
    say,
)
from bench_report import Row
from lakefeed.config import ArchiverConfig, ProducerTuning
from lakefeed.record import SpoolName

# The daemons' defaults the rows run with, and which the trials are given.
POLL_RECORDS: int = ArchiverConfig.model_fields["max_poll_records"].default
PRODUCER = ProducerTuning()

# The archiver's rotation in rows 2 and 4. The defaults (100,000 records, 64 MiB, 300 s)
# would hold every record of a 50,000-record run in open files for 5 minutes.
ARCHIVER_ROTATE = {"max_records": 10_000, "max_age_seconds": 1.0}
CONFLUENT_KAFKA_VERSION = "2.16.1"  # bench/run installs it into bench/.venv-trial
SHIPPER_CONCURRENCY = 4  # the shipper's default, written out so the notes can say it
ISSUE_SMALL = (10_000, "10,000 files of ~10 KB")  # the sizes the issue asks for
ISSUE_LARGE = (20, "20 x 64 MB")
AWSCLI_VERSION = "1.46.2"
CONNECT_MAIN = "org.apache.kafka.connect.cli.ConnectStandalone"
CONNECT_SINK = "org.apache.kafka.connect.file.FileStreamSinkConnector"
CONNECT_STRING = "org.apache.kafka.connect.storage.StringConverter"
# WorkerSinkTask logs this once its consumer is subscribed and the task started, before
# its first poll: the point the archiver's `archiver started` marks.
CONNECT_STARTED = "Sink task finished initialization and start"
# Connect's log as the broker's, but stamped in Unix milliseconds, to be read like the
# daemons' JSON `ts` (the broker's `[%d]` is local time).
CONNECT_LOG4J = """\
status = warn
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d{UNIX_MILLIS}] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = STDOUT
"""
CONNECT_TS = re.compile(r"^\[(\d+)\] ")


@dataclass(frozen=True)
class Plan:
    mode: str
    records: int  # rows 1, 2 and 4
    small_files: int
    small_file_bytes: int
    cli_small_files: int  # `aws s3 cp` per file costs ~1 s of start-up: a sample of them
    large_files: int
    large_file_bytes: int
    repeat: int


QUICK = Plan("quick", 10_000, 200, 10_000, 10, 2, 16 * MIB, 1)
# The shipper's file counts are the issue's; the per-file `aws s3 cp` peer is timed on a
# sample of them (each call costs ~0.4 s of start-up whatever the file: 10,000 would take
# over an hour).
DEFAULT = Plan("default", 200_000, 10_000, 10_000, 40, 20, 64 * MIB, 3)


def rate(x: float, unit: str = "rec/s") -> str:
    return f"{x:,.0f} {unit}" if x >= 100 else f"{x:,.1f} {unit}"


def mibs(x: float) -> str:
    return f"{x:,.1f} MiB/s" if x >= 1 else f"{x:,.2f} MiB/s"


def run_once(
    what: str,
    i: int,
    repeat: int,
    once: Callable[[], dict[str, Any]],
    result: Callable[[dict[str, Any]], str],
) -> dict[str, Any]:
    """Run `i` of a measurement repeated `repeat` times: says which, runs it, says its
    result (as `result` words it)."""
    say(f"{what}, run {i + 1}/{repeat}")
    out = once()
    say(f"   {result(out)}")
    return out


def rate_in(run: dict[str, Any]) -> str:
    """A run's rate and elapsed time, as the rows print them."""
    return f"{rate(run['rate'])} in {run['elapsed']:.2f} s"


def spread(values: list[float], unit: str) -> str:
    if len(values) == 1:
        return ""
    listed = ", ".join(rate(v, unit) for v in values)
    return f" This is the median run of {len(values)} ({listed}); its details are given."


def pick(runs: list[dict[str, Any]], key: str) -> dict[str, Any]:
    """The run whose `key` is the median (there is an odd number of runs); its details
    (CPU, RSS, elapsed) are the ones the notes give."""
    return sorted(runs, key=lambda r: r[key])[len(runs) // 2]


def verdict(row: Row) -> str:
    if row.met is None:
        return ""
    if row.met:
        return "Goal met."
    gap = (row.goal or 0) / (row.ratio or 1)
    return (
        f"**Goal not met**: {row.ratio_text} against {row.goal:g}x; lakefeed would "
        f"need to be {gap:.1f}x faster."
    )


def ready_files(spool: Path, n: int, who: str) -> list[Path]:
    """The files in `spool`/ready, checked (from their names) to hold exactly `n` records."""
    ready = list((spool / "ready").iterdir())
    names = [SpoolName.parse(p.name) for p in ready]
    in_files = sum(x.last - x.first + 1 for x in names if x is not None)
    if in_files != n:
        raise RuntimeError(f"{who} files hold {in_files} records, expected {n}")
    return ready


def crc_probe() -> tuple[bool, float]:
    """Is kafka-python's CRC32C native here, and how fast is the one it uses (MiB/s)?"""
    from kafka.record.util import calc_crc32c  # noqa: PLC0415

    native = importlib.util.find_spec("crc32c") is not None
    data = os.urandom(256 * 1024)
    best = float("inf")
    for _ in range(5):  # the best of 5: the machine may be busy with other work
        started = time.perf_counter()
        calc_crc32c(data)
        best = min(best, time.perf_counter() - started)
    return native, len(data) / best / MIB


def gzip_probe(values: list[bytes]) -> tuple[float, float]:
    """How fast gzip level 6 compresses these values here (MiB/s of input, one thread):
    zlib-ng's (what the archiver uses) and the standard library's zlib (its former one)."""
    from zlib_ng import zlib_ng  # noqa: PLC0415

    data = b"".join(v if v.endswith(b"\n") else v + b"\n" for v in values)
    while len(data) < 8 * MIB:
        data += data
    speeds = []
    for compressobj in (zlib_ng.compressobj, zlib.compressobj):
        best = float("inf")
        for _ in range(3):  # the best of 3: the machine may be busy with other work
            started = time.process_time()
            z = compressobj(6, zlib.DEFLATED, 31)  # 31: the gzip container, as the spool
            z.compress(data)
            z.flush()
            best = min(best, time.process_time() - started)
        speeds.append(len(data) / best / MIB)
    return speeds[0], speeds[1]


def trial_result(n: int, t0: float, t1: float, trace: CpuTrace, usage: Usage) -> dict[str, Any]:
    """A trial's rate over [t0, t1], its CPU and the broker's there, its whole usage."""
    return {
        "rate": n / (t1 - t0),
        "elapsed": t1 - t0,
        "cpu": trace.used("trial", t0, t1),
        "broker_cpu": trace.used("broker", t0, t1),
        "cpu_total": usage.cpu,
        "rss": usage.max_rss,
    }


PERF_PRODUCE = re.compile(
    r"(\d+) records sent, ([\d.]+) records/sec \(([\d.]+) MB/sec\), ([\d.]+) ms avg latency"
)


def write_props(path: Path, props: dict[str, str]) -> None:
    path.write_text("".join(f"{k}={v}\n" for k, v in props.items()))


class BenchBase:
    """What every row uses: the lab, the plan, the probes and the daemons' configs."""

    def __init__(
        self,
        lab: Lab,
        plan: Plan,
        aws: Path | None,
        aws_why: str,
        *,
        trial: Path | None = None,
        trial_why: str = "",
    ) -> None:
        self.lab = lab
        self.plan = plan
        self.aws = aws
        self.aws_why = aws_why
        self.trial = trial  # bench/.venv-trial's python (rows 1b and 2c), or None and why
        self.trial_why = trial_why
        self.replay: Replay | None = None
        self.filled_topic = ""
        self.collector_rate = 0.0
        self.producer_perf_rate = 0.0
        self.crc_native, self.crc_mibs = crc_probe()
        self.gzip_ng_mibs, self.gzip_std_mibs = gzip_probe(sample_records())
        self.warmup = FileSet(Path(), [], 0)  # one small file shipped before the timing

    def crc_seconds(self, records: int, mean: float) -> float:
        """Time pure-Python CRC32C takes over `records` values (+ ~40 bytes of framing)."""
        return records * (mean + 40) / MIB / self.crc_mibs

    def crc_text(self, records: int, mean: float, window: float) -> str:
        if self.crc_native:
            return "kafka-python uses the native `crc32c` package here"
        return (
            f"kafka-python computes the CRC32C of every record batch in pure Python because "
            f"the optional `crc32c` package is not installed: {self.crc_mibs:.1f} MiB/s "
            f"measured in this run, so roughly {self.crc_seconds(records, mean):.1f} s of "
            f"CPU for these {records * mean / MIB:.0f} MiB, against a {window:.1f} s window"
        )

    def collector_config(
        self, topic: str, state: str, at_end: str, resume: bool = False
    ) -> dict[str, Any]:
        assert self.replay is not None
        return {
            "name": COLLECTOR_NAME,
            "kafka": self.lab.kafka_cfg(),
            "topic": topic,
            "state_dir": str(self.lab.work / state),
            "source": {
                "type": "replay",
                "path": str(self.replay.path),
                "rate": 0,
                "resume": resume,
                "at_end": at_end,
            },
        }

    def archiver_config(self, topic: str, group: str, spool: Path) -> dict[str, Any]:
        return {
            "kafka": self.lab.kafka_cfg(),
            "topics": [topic],
            "group_id": group,
            "group_instance_id": f"{group}-1",
            "spool_dir": str(spool),
            "rotate": ARCHIVER_ROTATE,
        }
