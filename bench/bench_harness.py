"""The machinery of bench/run: servers, daemon processes, clocks, and what /proc says.

Everything a benchmark starts is registered with the `Lab`, which stops it in `close()`,
whatever happened before: daemons first (SIGTERM, then SIGKILL), then Kafka and MinIO,
then the temp dir goes.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from lakefeed.fetch import fetched
from lakefeed.local import daemons
from lakefeed.local.servers import LocalKafka, LocalS3

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
CLK_TCK = os.sysconf("SC_CLK_TCK")
MIB = 1024 * 1024
PARTITIONS = 3
RESTART_SEC = 5.0  # RestartSec= of roles/lakefeed's systemd unit for the daemons


def say(text: str) -> None:
    """Progress goes to stderr; the result rows go to stdout."""
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def parse_ts(ts: str) -> float:
    """A daemon log line's `ts` (`2026-11-23T05:00:00.123Z`) as Unix time."""
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()


def wait_until(
    what: str,
    check: Callable[[], Any],
    timeout: float,
    every: float = 0.05,
    daemons: tuple[Daemon, ...] = (),
) -> Any:
    """Poll `check` until it is truthy; on timeout, the error shows the daemons' log tails.
    The arguments come in the order of the tests' wait_for (tests/support/waiting.py)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    tails = "".join(f"\n--- {d.name} log, last lines:\n{d.tail(2000)}" for d in daemons)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}{tails}")


def percentile(ordered: list[float], p: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not ordered:
        return float("nan")
    rank = max(1, int(-(-p * len(ordered) // 100)))  # ceil(p/100 * n)
    return ordered[min(rank, len(ordered)) - 1]


# --- /proc --------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float | None:
    """user + system CPU time of a live process (its threads included)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state) of proc(5); utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def vmhwm_bytes(pid: int) -> int | None:
    """Peak resident set size (VmHWM) of a live process."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def machine() -> dict[str, str]:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    mem = re.search(r"^MemTotal:\s*(\d+) kB", Path("/proc/meminfo").read_text(), re.MULTILINE)
    java = subprocess.run(["java", "-version"], capture_output=True, text=True, check=False)
    return {
        "nproc": str(os.cpu_count()),
        "cpu": model.group(1).strip() if model else "unknown",
        "memory": f"{int(mem.group(1)) / MIB:.1f} GiB" if mem else "unknown",
        "kernel": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "java": (java.stderr.splitlines() or ["unknown"])[0],
    }


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def git_commit() -> str:
    """The checkout's commit, and whether tracked files differ from it: read when a run
    starts, since the report is written minutes later, when HEAD may have moved on."""

    def git(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=False
        )

    head = git("rev-parse", "--short", "HEAD")
    if head.returncode != 0:
        return "unknown (not a git checkout)"
    dirty = git("status", "--porcelain", "--untracked-files=no").stdout.strip()
    return f"`{head.stdout.strip()}`" + (" with uncommitted changes" if dirty else "")


def kafka_version(kafka_home: Path) -> str:
    for jar in sorted((kafka_home / "libs").glob("kafka-clients-*.jar")):
        return jar.name.removeprefix("kafka-clients-").removesuffix(".jar")
    return kafka_home.name


# --- processes ----------------------------------------------------------------------


@dataclass
class Usage:
    """What a finished process used, from wait4(2)."""

    cpu: float
    max_rss: int


def reap(
    proc: subprocess.Popen[bytes], timeout: float, tick: Callable[[], Any] | None = None
) -> Usage:
    """Wait for `proc` with wait4(2), so its CPU time and peak RSS are known after exit.

    `tick` is called every 20 ms while waiting (a CpuTrace samples there).
    """
    deadline = time.monotonic() + timeout
    while True:
        if tick is not None:
            tick()
        pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return Usage(ru.ru_utime + ru.ru_stime, ru.ru_maxrss * 1024)
        if time.monotonic() > deadline:
            raise subprocess.TimeoutExpired(proc.args, timeout)
        time.sleep(0.02)


class Daemon(daemons.Daemon):
    """One lakefeed daemon as a real process, under `lab.work/<name>`; with the lab's
    `profile_dir`, run under bench/profwrap.py. What it used (CPU, peak RSS) is read from
    wait4(2) when it exits, or from /proc while it runs."""

    def __init__(self, lab: Lab, kind: str, config: dict[str, Any], name: str) -> None:
        super().__init__(kind, config, lab.work / name, env=lab.env, name=name)
        self.lab = lab
        self.usage: Usage | None = None
        self.crashes: list[str] = []  # why each earlier process of this daemon died

    def command(self) -> list[str]:
        if self.lab.profile_dir is not None:
            out = self.lab.profile_dir / f"{self.name}.txt"
            return [sys.executable, str(BENCH / "profwrap.py"), str(out), *self.arguments()]
        return super().command()

    def start(self, wait_healthy: bool = True) -> Daemon:
        self.lab.daemons.append(self)
        super().start(wait_healthy)
        return self

    def running(self) -> bool:
        return self.usage is None and super().running()

    def restart_after_crash(self) -> str:
        """Start it again as systemd's `Restart=on-failure` would; returns why it died.

        A clean exit (0) or one that systemd does not restart (2: config, 3: credentials)
        raises instead.
        """
        assert self.proc is not None
        code = self.proc.poll()
        if code in (None, 0, 2, 3):
            raise RuntimeError(f"{self.name} exited {code}, not a crash:\n{self.tail()}")
        if code < 0:
            why = f"killed by signal {-code}"
        else:  # the exception's last line, if it wrote a traceback after its JSON lines
            lines = [ln for ln in self.tail(4000).splitlines() if ln.strip()]
            why = f"exit {code}: {lines[-1].strip()[:200] if lines else '?'}"
        self.crashes.append(why)
        time.sleep(RESTART_SEC)
        self.usage = None
        self.start(wait_healthy=False)
        return why

    def times(self, msg: str) -> list[float]:
        """Unix times of the log lines whose message starts with `msg`."""
        return [parse_ts(e["ts"]) for e in self.events() if str(e.get("msg", "")).startswith(msg)]

    def errors(self) -> list[str]:
        return [
            str(e.get("msg"))
            for e in self.events()
            if e.get("level") in ("ERROR", "CRITICAL")
            or (e.get("level") == "WARNING" and e.get("logger", "").startswith("lakefeed"))
        ]

    def cpu(self) -> float | None:
        if self.usage is not None:
            return self.usage.cpu
        return cpu_seconds(self.pid) if self.proc is not None else None

    def peak_rss(self) -> int | None:
        if self.usage is not None:
            return self.usage.max_rss
        return vmhwm_bytes(self.pid) if self.proc is not None else None

    def wait_exit(self, timeout: float, tick: Callable[[], Any] | None = None) -> int:
        assert self.proc is not None
        if self.usage is None:
            self.usage = reap(self.proc, timeout, tick)
        assert self.proc.returncode is not None
        return self.proc.returncode

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM, then SIGKILL if it does not exit in time; returns the exit code."""
        if self.proc is None:
            return None
        if self.usage is None:
            self.usage = terminate(self.proc, timeout)
        return self.proc.returncode


def terminate(proc: subprocess.Popen[bytes], timeout: float = 30.0) -> Usage:
    """SIGTERM, then SIGKILL if it does not exit in time; what it used, from wait4(2)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        return reap(proc, timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return reap(proc, 10)
    except ChildProcessError:  # already reaped by Popen.poll()
        return Usage(0.0, 0)


class Appended:
    """A file another process appends to, read from where the previous read stopped,
    so polling it costs what was added since, not the whole file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.pos = 0

    def read(self) -> bytes:
        try:
            with self.path.open("rb") as f:
                f.seek(self.pos)
                data = f.read()
        except FileNotFoundError:
            return b""
        self.pos += len(data)
        return data


def run_tool(
    cmd: list[str],
    timeout: float,
    log: Path,
    tick: Callable[[], Any] | None = None,
    env: dict[str, str] | None = None,
) -> tuple[str, Usage, float]:
    """Run a tool to completion; returns (stdout, usage, wall seconds). Raises on failure."""
    out = log.with_suffix(".out")
    started = time.monotonic()
    with out.open("wb") as stdout, log.open("wb") as stderr:
        proc = subprocess.Popen(cmd, stdout=stdout, stderr=stderr, env=env)
        try:
            usage = reap(proc, timeout, tick)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
    wall = time.monotonic() - started
    text = out.read_text(errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(
            f"{Path(cmd[0]).name} exited {proc.returncode}:\n"
            f"{(text + log.read_text(errors='replace'))[-1500:]}"
        )
    return text, usage, wall


class CpuTrace:
    """CPU seconds of named processes, sampled from /proc while the benchmark waits.

    The broker and MinIO are always traced; `used(name, t0, t1)` interpolates between
    samples, so the CPU a process spent inside a measured window (Unix times) is known
    without counting its start-up.
    """

    def __init__(self, lab: Lab) -> None:
        self.pids: dict[str, int] = {}
        for name, proc in (("broker", lab.kafka.proc), ("minio", lab.s3.proc)):
            if proc is not None:
                self.pids[name] = proc.pid
        self.samples: dict[str, list[tuple[float, float]]] = {}
        self.base: dict[str, float] = {}
        self.sample()

    def add(self, name: str, pid: int) -> CpuTrace:
        """Trace `pid` as `name`; a new pid for a known name (a restart) continues its series."""
        if name in self.samples:
            self.base[name] = self.samples[name][-1][1]
        self.pids[name] = pid
        self.sample()
        return self

    def sample(self) -> None:
        now = time.time()
        for name, pid in self.pids.items():
            cpu = cpu_seconds(pid)
            if cpu is not None:
                self.samples.setdefault(name, []).append((now, self.base.get(name, 0.0) + cpu))

    def _at(self, name: str, t: float) -> float:
        points = self.samples[name]
        if t <= points[0][0]:
            return points[0][1]
        for (t0, c0), (t1, c1) in itertools.pairwise(points):
            if t0 <= t <= t1:
                return c0 + (c1 - c0) * ((t - t0) / (t1 - t0) if t1 > t0 else 1.0)
        return points[-1][1]

    def used(self, name: str, t0: float | None = None, t1: float | None = None) -> float:
        """CPU seconds `name` used between t0 and t1 (default: the whole trace)."""
        points = self.samples.get(name)
        if not points:
            return 0.0
        start = points[0][0] if t0 is None else t0
        end = points[-1][0] if t1 is None else t1
        return self._at(name, end) - self._at(name, start)


# --- the lab: servers and clients -------------------------------------------------


class Lab:
    """A temp dir with a Kafka broker and a MinIO server, and everything started in it."""

    def __init__(self, profile_dir: Path | None = None) -> None:
        self.work = Path(tempfile.mkdtemp(prefix="lakefeed-bench-"))
        self.profile_dir = profile_dir
        self.kafka_home = fetched(ROOT, "fetch-kafka")
        self.minio_bin = fetched(ROOT, "fetch-minio")
        self.kafka = LocalKafka(self.kafka_home, self.work / "kafka")
        self.s3 = LocalS3(self.minio_bin, self.work / "minio")
        self.daemons: list[Daemon] = []
        self.env = {
            **os.environ,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": str(self.work / "aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(self.work / "aws-credentials-none"),
        }
        self._consumer: Any = None
        self._admin: Any = None
        self._s3client: Any = None

    def start(self) -> Lab:
        say(f"work dir {self.work}")
        self.kafka.start()
        say(f"Kafka {kafka_version(self.kafka_home)} up at {self.kafka.bootstrap}")
        self.kafka.create_topic("lakefeed.dead-letter", partitions=1)
        self.s3.start()
        say(f"MinIO up at {self.s3.endpoint}")
        (self.work / "aws-config").write_text(
            "[default]\nregion = us-east-1\ns3 =\n    addressing_style = path\n"
        )
        return self

    def close(self) -> None:
        for d in reversed(self.daemons):
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                d.stop(timeout=15)
        for client in (self._consumer, self._admin):
            if client is not None:
                with contextlib.suppress(Exception):
                    client.close()
        self.kafka.stop()
        self.s3.stop()
        shutil.rmtree(self.work, ignore_errors=True)

    # Kafka -------------------------------------------------------------------------

    def new_topic(self, stem: str) -> str:
        name = f"bench.{stem}.{uuid.uuid4().hex[:6]}"
        self.kafka.create_topic(name, partitions=PARTITIONS)
        return name

    def kafka_cfg(self) -> dict[str, Any]:
        return {"bootstrap_servers": [self.kafka.bootstrap]}

    def end_offsets(self, topic: str) -> dict[int, int]:
        from kafka import KafkaConsumer, TopicPartition  # noqa: PLC0415

        if self._consumer is None:
            self._consumer = KafkaConsumer(bootstrap_servers=self.kafka.bootstrap)
        tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        return {tp.partition: off for tp, off in self._consumer.end_offsets(tps).items()}

    def committed(self, group: str, topic: str) -> dict[int, int]:
        from kafka.admin import KafkaAdminClient  # noqa: PLC0415
        from kafka.errors import KafkaError  # noqa: PLC0415

        if self._admin is None:
            self._admin = KafkaAdminClient(bootstrap_servers=self.kafka.bootstrap)
        try:
            offsets = self._admin.list_group_offsets({group: None}).get(group, {})
        except KafkaError as exc:
            if not exc.retriable:  # e.g. the coordinator is still being set up: not yet
                raise
            return {}
        return {tp.partition: om.offset for tp, om in offsets.items() if tp.topic == topic}

    def java(self, main: str, *args: str) -> list[str]:
        return self.kafka.java(main, *args, heap="512m")

    # S3 ----------------------------------------------------------------------------

    @property
    def s3client(self) -> Any:
        if self._s3client is None:
            self._s3client = self.s3.client()
        return self._s3client

    def new_bucket(self, stem: str) -> str:
        name = f"bench-{stem}-{uuid.uuid4().hex[:8]}"
        self.s3client.create_bucket(Bucket=name)
        return name

    def s3_cfg(self, bucket: str, prefix: str = "raw") -> dict[str, Any]:
        return self.s3.shipper_s3(bucket, prefix, self.work)

    def list_objects(self, bucket: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for page in self.s3client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            out.extend(page.get("Contents", []))
        return out
