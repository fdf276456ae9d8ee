"""Rows 1-4 of bench/run: collector, archiver, shipper and end to end (row 5, deploying,
is bench_deploy.py). Each measures lakefeed and its peer in this run, on this machine."""

from __future__ import annotations

import gzip
import importlib.util
import json
import os
import re
import subprocess
import time
import uuid
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench_data import (
    COLLECTOR_NAME,
    FileSet,
    Replay,
    make_large_files,
    make_small_files,
    sample_records,
    write_replay,
)
from bench_harness import (
    BENCH,
    MIB,
    RESTART_SEC,
    Appended,
    CpuTrace,
    Daemon,
    Lab,
    Usage,
    kafka_version,
    percentile,
    reap,
    run_tool,
    say,
    terminate,
    wait_until,
)
from bench_report import Row
from lakefeed.config import ArchiverConfig, ProducerTuning
from lakefeed.lab.local import free_port
from lakefeed.record import SpoolName, parse_collected_at

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
_CONNECT_TS = re.compile(r"^\[(\d+)\] ")


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


_PERF_PRODUCE = re.compile(
    r"(\d+) records sent, ([\d.]+) records/sec \(([\d.]+) MB/sec\), ([\d.]+) ms avg latency"
)


def _write_props(path: Path, props: dict[str, str]) -> None:
    path.write_text("".join(f"{k}={v}\n" for k, v in props.items()))


class Bench:
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

    # --- 1. collector ----------------------------------------------------------------

    def collector_once(self, i: int) -> dict[str, Any]:
        assert self.replay is not None
        lab, n = self.lab, self.replay.records
        topic = lab.new_topic("collect")
        d = Daemon(
            lab,
            "collector",
            self.collector_config(topic, f"collector-state-{i}", "exit"),
            f"collector-{i}",
        )
        trace = CpuTrace(lab)
        t_spawn = time.time()
        d.start(wait_healthy=False)
        trace.add("collector", d.pid)
        rc = d.wait_exit(timeout=120 + n / 200, tick=trace.sample)
        t_exit = time.time()
        if rc != 0:
            raise RuntimeError(f"collector exited {rc}:\n{d.tail()}")
        started, finished = d.times("collector started"), d.times("source finished")
        if not started or not finished:
            raise RuntimeError(f"collector log lacks its start or finish line:\n{d.tail()}")
        produced = sum(lab.end_offsets(topic).values())
        if produced != n:
            raise RuntimeError(f"topic {topic} holds {produced} records, expected {n}")
        t0, t1 = started[0], finished[0]
        assert d.usage is not None
        return {
            "topic": topic,
            "rate": n / (t1 - t0),
            "elapsed": t1 - t0,
            "process_wall": t_exit - t_spawn,
            "cpu_total": d.usage.cpu,
            "cpu": trace.used("collector", t0, t1),
            "broker_cpu": trace.used("broker", t0, t1),
            "rss": d.usage.max_rss,
        }

    def producer_perf_once(self, i: int) -> dict[str, Any]:
        assert self.replay is not None
        lab, n = self.lab, self.replay.records
        topic = lab.new_topic("perf-produce")
        cmd = lab.java(
            "org.apache.kafka.tools.ProducerPerformance",
            "--topic",
            topic,
            "--num-records",
            str(n),
            "--record-size",
            str(round(self.replay.mean_record_bytes)),
            "--throughput",
            "-1",
            "--command-property",
            "acks=all",
            f"bootstrap.servers={lab.kafka.bootstrap}",
        )
        trace = CpuTrace(lab)
        out, usage, wall = run_tool(
            cmd, 120 + n / 500, lab.work / f"producer-perf-{i}.log", trace.sample
        )
        found = _PERF_PRODUCE.findall(out)
        if not found:
            raise RuntimeError(
                f"no summary line in kafka-producer-perf-test output:\n{out[-1500:]}"
            )
        sent, recs, mbs, latency = found[-1]
        if int(sent) != n:
            raise RuntimeError(f"kafka-producer-perf-test sent {sent} records, expected {n}")
        return {
            "rate": float(recs),
            "mbs": float(mbs),
            "latency_ms": float(latency),
            "cpu_total": usage.cpu,
            "wall": wall,
            "broker_cpu": trace.used("broker"),
        }

    def row_collector(self, replay_path: Path) -> Row:
        p = self.plan
        say(f"1. collector: writing {p.records:,} replay records")
        self.replay = write_replay(replay_path, p.records)
        mean = self.replay.mean_record_bytes
        lf: list[dict[str, Any]] = []
        peer: list[dict[str, Any]] = []
        for i in range(p.repeat):
            say(f"1. collector: lakefeed collect, run {i + 1}/{p.repeat}")
            lf.append(self.collector_once(i))
            say(f"   {rate(lf[-1]['rate'])} in {lf[-1]['elapsed']:.2f} s")
            say(f"1. collector: kafka-producer-perf-test, run {i + 1}/{p.repeat}")
            peer.append(self.producer_perf_once(i))
            say(f"   {rate(peer[-1]['rate'])}")
        self.filled_topic = lf[0]["topic"]
        a, c = pick(lf, "rate"), pick(peer, "rate")
        lf_rate, peer_rate = a["rate"], c["rate"]
        self.collector_rate = lf_rate
        self.producer_perf_rate = peer_rate
        n = self.replay.records
        notes = [
            f"**lakefeed**: `lakefeed collect` as its own process, `replay` source with "
            f"`rate: 0`, `at_end: exit`, `resume: false`, over {n:,} lines: the 2,000-line "
            f"sample repeated {-(-n // 2000)}x (ids of the copies after the first get a "
            f"`-k` suffix), producer settings at their defaults (acks=all and idempotence "
            f"are fixed; `linger_ms` {PRODUCER.linger_ms}, `batch_size` "
            f"{PRODUCER.batch_size}, `compression_type` {PRODUCER.compression_type}), "
            f"to a fresh "
            f"3-partition topic. Time measured: from the collector's `collector started` "
            f"log line (producer connected, source thread started; the first line is read "
            f"right after) to its `source finished; collector exiting` line, logged once "
            f"the last batch is acknowledged; both are timestamps of its JSON log (ms). "
            f"Interpreter start-up and imports fall outside that window: the process lived "
            f"{a['process_wall']:.1f} s for {a['elapsed']:.2f} s measured. The topic's end "
            f"offsets were then checked to add up to exactly {n:,}. Mean record (Kafka "
            f"value) size: {mean:,.0f} bytes, so {mibs(lf_rate * mean / MIB)} of values; "
            f"the key is the 19-22-byte id." + spread([r["rate"] for r in lf], "rec/s"),
            f"**peer**: Apache Kafka's `kafka-producer-perf-test` "
            f"(`org.apache.kafka.tools.ProducerPerformance`, JVM heap 512m) with "
            f"`--num-records {n} --record-size {round(mean)} --throughput -1 "
            f"--command-property acks=all bootstrap.servers=...` (`--command-property` is "
            f"Kafka 4.3's name for the deprecated `--producer-props`), so otherwise the Java "
            f"client's defaults: batch.size 16384, linger.ms 5, idempotence on, no key; to "
            f"its own fresh 3-partition topic. The value is the tool's own final "
            f"records/sec, timed from just before its first send (JVM start-up excluded); "
            f"its average latency was {c['latency_ms']:,.0f} ms."
            + spread([r["rate"] for r in peer], "rec/s"),
            f"**CPU** (2 cores in all): inside the measured window the collector used "
            f"{a['cpu']:.1f} s of CPU ({a['cpu'] / a['elapsed']:.2f} cores) and the broker "
            f"{a['broker_cpu']:.1f} s ({a['broker_cpu'] / a['elapsed']:.2f} cores); the "
            f"collector's whole process, start-up included, {a['cpu_total']:.1f} s; peak "
            f"RSS {a['rss'] / MIB:.0f} MiB. The perf tool used {c['cpu_total']:.1f} s in "
            f"all (JVM start-up and JIT included) and the broker {c['broker_cpu']:.1f} s "
            f"while it ran.",
        ]
        row = Row(
            "1",
            "Collector produce rate (acks=all)",
            rate(lf_rate),
            "kafka-producer-perf-test",
            rate(peer_rate),
            lf_rate / peer_rate,
            0.5,
            notes,
        )
        row.note.append(
            f"{verdict(row)} Where the collector's time goes (profiles of this workload, "
            f"see Profiling below): {self.crc_text(n, mean, a['elapsed'])}. Most of the "
            f"main thread is kafka-python's `send()`, per record: the partitioner (murmur2 "
            f"in Python), the accumulator append, and waking the sender thread whenever a "
            f"batch fills, after which it waits for the GIL while the sender builds the "
            f"produce request and runs one callback per acknowledged record. Then "
            f"`Collector.encode`: a `json.loads` of each line, for its id and to check it "
            f"is JSON (9.3 us a sample line on this machine, 2026-12-02; orjson took 3.4 us "
            f"but turns integers "
            f"beyond 64 bits into floats, which would change ids and payloads, so it is "
            f"not used); the envelope wraps the line's bytes (`make_record_raw`) instead "
            f"of serialising the payload again. Encoding and sending overlap with the "
            f"acknowledgements: batches of up to 1,000 items, at most 5,000 items in "
            f"flight, settled oldest first; kafka-python's network thread gets the GIL "
            f"back within 0.5 ms (`lakefeed.kafka_fixes`). The perf tool's producer is "
            f"Java after JIT warm-up: over {n:,} records its start-up weighs little."
        )
        return row

    def start_trial(
        self, script: str, args: list[str], out: Path
    ) -> tuple[subprocess.Popen[bytes], CpuTrace]:
        """bench/`script` in the trial venv against the broker, stdout to `out` (its JSON
        lines), stderr beside it (.log), its CPU traced as "trial"."""
        assert self.trial is not None
        cmd = [str(self.trial), str(BENCH / script), f"--bootstrap={self.lab.kafka.bootstrap}"]
        trace = CpuTrace(self.lab)
        with out.open("wb") as stdout, out.with_suffix(".log").open("wb") as stderr:
            proc = subprocess.Popen([*cmd, *args], stdout=stdout, stderr=stderr)
        trace.add("trial", proc.pid)
        return proc, trace

    def producer_trial_once(self, i: int) -> dict[str, Any]:
        """bench/producer_trial.py: the collector's encode-and-send loop on confluent-kafka,
        over the same replay file, to a fresh topic; timed from its `started` line (the
        producer has the cluster's metadata) to its `done` line (every record acked)."""
        assert self.trial is not None and self.replay is not None
        lab, n = self.lab, self.replay.records
        topic = lab.new_topic("trial-produce")
        out = lab.work / f"producer-trial-{i}.out"
        args = [f"--topic={topic}", f"--replay={self.replay.path}"]
        args += [f"--source=replay:{COLLECTOR_NAME}", f"--linger-ms={PRODUCER.linger_ms}"]
        proc, trace = self.start_trial(
            "producer_trial.py", [*args, f"--batch-size={PRODUCER.batch_size}"], out
        )
        try:
            usage = reap(proc, 120 + n / 200, tick=trace.sample)
        except subprocess.TimeoutExpired:
            terminate(proc)
            raise
        events = {}
        for line in out.read_text().splitlines():
            ev = json.loads(line)
            events[ev["event"]] = ev
        if proc.returncode != 0 or "done" not in events:
            err = out.with_suffix(".log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"producer_trial.py exited {proc.returncode}:\n{err}")
        produced = sum(lab.end_offsets(topic).values())
        if events["done"]["delivered"] != n or produced != n:
            raise RuntimeError(
                f"producer trial: {events['done']['delivered']} acknowledged, topic holds "
                f"{produced}, expected {n}"
            )
        return trial_result(n, events["started"]["t"], events["done"]["t"], trace, usage)

    def row_producer_trial(self) -> Row:
        """1b: the collector's loop on confluent-kafka (ADR 3's open question); no goal."""
        title = "Collector loop on confluent-kafka (trial, not shipped)"
        peer = "kafka-producer-perf-test (row 1)"
        if self.trial is None:
            return Row(
                "1b", title, "—", peer, rate(self.producer_perf_rate), None, None,
                [f"Not measured: {self.trial_why}"],
            )  # fmt: skip
        runs = []
        for i in range(self.plan.repeat):
            say(f"1b. trial: the collector's loop on confluent-kafka, run {i + 1}")
            runs.append(self.producer_trial_once(i))
            say(f"   {rate(runs[-1]['rate'])} in {runs[-1]['elapsed']:.2f} s")
        t = pick(runs, "rate")
        return Row(
            "1b",
            title,
            rate(t["rate"]),
            peer,
            rate(self.producer_perf_rate),
            t["rate"] / self.producer_perf_rate,
            None,
            [
                f"**What**: `bench/producer_trial.py` in bench/.venv-trial (confluent-kafka "
                f"{CONFLUENT_KAFKA_VERSION}): per line of row 1's replay file what "
                f"`Collector.encode` does with a valid line (`json.loads`, the id at "
                f"`data.id`, lakefeed's record envelope around the line's bytes, keyed by "
                f"the id), then `produce()` with the collector's settings (acks=all, "
                f"idempotence, linger {PRODUCER.linger_ms} ms, batches up to "
                f"{PRODUCER.batch_size:,} bytes, no compression) and the "
                f"Java client's murmur2 partitioner; every delivery report is checked and "
                f"the topic's end offsets add up to exactly {self.replay.records:,} "
                f"(asserted). Left out: the collector's source thread, dead letters, "
                f"metrics, per-batch settling and replay position. Timed from its `started` "
                f"line (metadata fetched, as `collector started` follows the connection) to "
                f"`done` (every record acknowledged): {t['elapsed']:.2f} s, after row 1's "
                f"runs." + spread([r["rate"] for r in runs], "rec/s"),
                f"**CPU**: {t['cpu']:.1f} s inside the window "
                f"({t['cpu'] / t['elapsed']:.2f} cores; librdkafka sends on its own "
                f"threads), the broker {t['broker_cpu']:.1f} s; peak RSS "
                f"{t['rss'] / MIB:.0f} MiB. Against `lakefeed collect` (row 1, "
                f"{rate(self.collector_rate)}): "
                f"{t['rate'] / self.collector_rate:.2f}x. What it would cost to switch the "
                f"collector: docs/adr/0003-kafka-client-library.md.",
            ],
        )

    # --- 2. archiver -----------------------------------------------------------------

    def archiver_once(self, i: int) -> dict[str, Any]:
        lab, topic = self.lab, self.filled_topic
        end = lab.end_offsets(topic)
        n = sum(end.values())
        group = f"bench-archive-{uuid.uuid4().hex[:8]}"
        spool = lab.work / f"spool-archive-{i}"
        d = Daemon(lab, "archiver", self.archiver_config(topic, group, spool), f"archiver-{i}")
        trace = CpuTrace(lab)
        t_spawn = time.time()
        d.start(wait_healthy=False)
        trace.add("archiver", d.pid)

        def done() -> bool:
            if not d.running():
                raise RuntimeError(f"archiver exited:\n{d.tail()}")
            trace.sample()
            return lab.committed(group, topic) == end

        wait_until(
            done, 120 + n / 200, "the archiver's commits to reach the end offsets", daemons=(d,)
        )
        t1 = time.time()
        rss = d.peak_rss() or 0
        started = d.times("archiver started")
        rc = d.stop()
        if rc != 0 or not started:
            raise RuntimeError(f"archiver exited {rc} or logged no start:\n{d.tail()}")
        t0 = started[0]
        ready = ready_files(spool, n, "archiver")
        assert d.usage is not None
        return {
            "rate": n / (t1 - t0),
            "elapsed": t1 - t0,
            "files": len(ready),
            "gz_bytes": sum(p.stat().st_size for p in ready),
            "cpu": trace.used("archiver", t0, t1),
            "broker_cpu": trace.used("broker", t0, t1),
            "cpu_total": d.usage.cpu,
            "rss": rss,
            "process_wall": t1 - t_spawn,
        }

    def consumer_perf_once(self, i: int) -> dict[str, Any]:
        lab, topic = self.lab, self.filled_topic
        n = sum(lab.end_offsets(topic).values())
        cmd = lab.java(
            "org.apache.kafka.tools.ConsumerPerformance",
            "--bootstrap-server",
            lab.kafka.bootstrap,
            "--topic",
            topic,
            "--num-records",
            str(n),
            "--group",
            f"bench-perf-consume-{uuid.uuid4().hex[:8]}",
            "--timeout",
            "60000",
        )
        trace = CpuTrace(lab)
        out, usage, _ = run_tool(
            cmd, 120 + n / 500, lab.work / f"consumer-perf-{i}.log", trace.sample
        )
        rows = [ln for ln in out.splitlines() if re.match(r"^\d{4}-\d\d-\d\d ", ln)]
        if not rows:
            raise RuntimeError(f"no result line in kafka-consumer-perf-test output:\n{out[-1500:]}")
        f = [x.strip() for x in rows[-1].split(",")]
        if int(f[4]) != n:
            raise RuntimeError(f"kafka-consumer-perf-test read {f[4]} records, expected {n}")
        return {
            "rate": float(f[5]),
            "mbs": float(f[3]),
            "rebalance_ms": float(f[6]),
            "fetch_ms": float(f[7]),
            "fetch_rate": float(f[9]),
            "cpu_total": usage.cpu,
            "broker_cpu": trace.used("broker"),
        }

    def connect_once(self, i: int) -> dict[str, Any]:
        """Kafka Connect standalone with the FileStreamSink connector, as a user runs it from
        the jars: `java -cp 'libs/*' ConnectStandalone worker.properties sink.properties`."""
        lab, topic = self.lab, self.filled_topic
        n = sum(lab.end_offsets(topic).values())
        work = lab.work / f"connect-{i}"
        work.mkdir()
        out, log = work / "sink.txt", work / "connect.log"
        (work / "log4j2.properties").write_text(CONNECT_LOG4J)
        _write_props(
            work / "worker.properties",
            {
                "bootstrap.servers": lab.kafka.bootstrap,
                "key.converter": CONNECT_STRING,
                "value.converter": CONNECT_STRING,
                "offset.storage.file.filename": str(work / "connect.offsets"),
                "listeners": f"http://127.0.0.1:{free_port()}",  # not :8083, maybe taken
            },
        )
        _write_props(
            work / "sink.properties",
            {
                "name": f"bench-file-sink-{uuid.uuid4().hex[:8]}",
                "connector.class": CONNECT_SINK,
                "tasks.max": "1",
                "topics": topic,
                "file": str(out),
            },
        )
        cmd = [
            "java",
            "-Xmx512m",
            f"-Dlog4j2.configurationFile={work / 'log4j2.properties'}",
            "-cp",
            f"{lab.kafka_home / 'libs'}/*",
            CONNECT_MAIN,
            str(work / "worker.properties"),
            str(work / "sink.properties"),
        ]

        def tail() -> str:
            return log.read_text(errors="replace")[-3000:]

        trace = CpuTrace(lab)
        t_spawn = time.time()
        with log.open("wb") as stdout:
            proc = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.STDOUT)
        lines, logged, count = Appended(out), Appended(log), 0
        try:
            trace.add("connect", proc.pid)

            def done() -> bool:
                nonlocal count
                if proc.poll() is not None:
                    raise RuntimeError(f"Kafka Connect exited {proc.returncode}:\n{tail()}")
                trace.sample()
                if b"] ERROR " in logged.read():
                    raise RuntimeError(f"Kafka Connect logged an error:\n{tail()}")
                count += lines.read().count(b"\n")
                return count >= n

            try:
                wait_until(done, 120 + n / 200, "Kafka Connect's file to hold every record")
            except TimeoutError as exc:
                raise TimeoutError(f"{exc}; {count} of {n} lines\n{tail()}") from None
            t1 = time.time()
        finally:
            usage = terminate(proc)
        count += lines.read().count(b"\n")
        if count != n:
            raise RuntimeError(f"Kafka Connect's file holds {count} lines, expected {n}")
        started = [
            int(m.group(1)) / 1000
            for line in log.read_text(errors="replace").splitlines()
            if CONNECT_STARTED in line and (m := _CONNECT_TS.match(line))
        ]
        if not started:
            raise RuntimeError(f"Kafka Connect logged no `{CONNECT_STARTED}`:\n{tail()}")
        t0 = started[0]
        return {
            "rate": n / (t1 - t0),
            "elapsed": t1 - t0,
            "startup": t0 - t_spawn,
            "bytes": out.stat().st_size,
            "cpu": trace.used("connect", t0, t1),
            "broker_cpu": trace.used("broker", t0, t1),
            "cpu_total": usage.cpu,
            "rss": usage.max_rss,
        }

    def trial_once(self, i: int, client: str, write: bool) -> dict[str, Any]:
        """bench/client_trial.py with `client`: the archiver's loop (`write`) or a bare
        consume of the topic, timed like the archiver (row 2a)."""
        assert self.trial is not None
        lab, topic = self.lab, self.filled_topic
        end = lab.end_offsets(topic)
        n = sum(end.values())
        group = f"bench-trial-{uuid.uuid4().hex[:8]}"
        spool = lab.work / f"spool-trial-{client}-{i}"
        mode = "write" if write else "consume"
        out = lab.work / f"trial-{client}-{mode}-{i}.out"
        args = [
            f"--client={client}",
            f"--topic={topic}",
            f"--group={group}",
            f"--batch={POLL_RECORDS}",
            f"--records={n}",
            f"--max-records={ARCHIVER_ROTATE['max_records']}",
            f"--max-age={ARCHIVER_ROTATE['max_age_seconds']}",
        ] + ([f"--spool={spool}"] if write else [])
        proc, trace = self.start_trial("client_trial.py", args, out)
        seen = Appended(out)
        events: dict[str, float] = {}

        def done() -> bool:
            for line in seen.read().decode().splitlines():
                ev = json.loads(line)
                events[ev["event"]] = ev["t"]
            if proc.poll() is not None and "consumed" not in events:
                err = out.with_suffix(".log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"client_trial.py exited {proc.returncode}:\n{err}")
            trace.sample()
            if write:
                return "started" in events and lab.committed(group, topic) == end
            return "consumed" in events

        try:
            wait_until(done, 120 + n / 200, f"the {client} trial to reach the end offsets")
        finally:
            t1 = events.get("consumed", time.time())
            usage = terminate(proc)
        result = trial_result(n, events["started"], t1, trace, usage)
        if write:
            result["files"] = len(ready_files(spool, n, "trial"))
        return result

    def rows_archiver(self) -> list[Row]:
        assert self.replay is not None
        p, n, mean = self.plan, self.replay.records, self.replay.mean_record_bytes
        lf: list[dict[str, Any]] = []
        peer: list[dict[str, Any]] = []
        conn: list[dict[str, Any]] = []
        trial: dict[str, list[dict[str, Any]]] = {"ck-write": [], "ck-read": [], "kp-read": []}
        for i in range(p.repeat):
            say(f"2. archiver: kafka-consumer-perf-test, run {i + 1}/{p.repeat}")
            peer.append(self.consumer_perf_once(i))
            say(f"   {rate(peer[-1]['rate'])}")
            say(f"2. archiver: Kafka Connect FileStreamSink, run {i + 1}/{p.repeat}")
            conn.append(self.connect_once(i))
            say(f"   {rate(conn[-1]['rate'])} in {conn[-1]['elapsed']:.2f} s")
            say(f"2. archiver: lakefeed archive, run {i + 1}/{p.repeat}")
            lf.append(self.archiver_once(i))
            say(f"   {rate(lf[-1]['rate'])} in {lf[-1]['elapsed']:.2f} s")
            if self.trial is None:
                continue
            for key, client, write in (
                ("ck-write", "confluent-kafka", True),
                ("ck-read", "confluent-kafka", False),
                ("kp-read", "kafka-python", False),
            ):
                say(f"2c. trial: {client}, {'write' if write else 'consume only'}, run {i + 1}")
                trial[key].append(self.trial_once(i, client, write))
                say(f"   {rate(trial[key][-1]['rate'])} in {trial[key][-1]['elapsed']:.2f} s")
        a, c, k = pick(lf, "rate"), pick(peer, "rate"), pick(conn, "rate")
        lf_rate, peer_rate = a["rate"], c["rate"]
        rot = ARCHIVER_ROTATE
        tail = rot["max_age_seconds"]
        notes = [
            f"**Input**: the topic row 1's collector filled ({n:,} records, "
            f"{n * mean / MIB:.0f} MiB of values, 3 partitions), read from the start by a "
            f"fresh consumer group for each reader; in each run the consumer perf tool read "
            f"it first, then Kafka Connect (row 2b), then the archiver.",
            f"**lakefeed**: `lakefeed archive` as its own process, defaults except "
            f"`rotate: {{max_records: {rot['max_records']:,}, max_age_seconds: "
            f"{rot['max_age_seconds']:g}}}` (zlib-ng's gzip level 6 on 2 threads, "
            f"`max_poll_records` "
            f"{POLL_RECORDS:,}; every "
            f"file is fsynced, renamed into ready/, the directory fsynced, then its offsets "
            f"committed). Time measured: from its `archiver started` log line (consumer "
            f"created and subscribed; the group join happens in its first poll, inside the "
            f"window) until the group's committed offsets, polled every 50 ms with "
            f"`KafkaAdminClient.list_group_offsets`, equal the topic's end offsets: "
            f"{a['elapsed']:.2f} s. That includes the wait for the last file of each "
            f"partition to reach `max_age_seconds`: it is finished when it is that old, at "
            f"most {tail:g} s after its partition is drained. It wrote "
            f"{a['files']} files, {a['gz_bytes'] / MIB:.1f} MiB gzipped, holding exactly "
            f"{n:,} records (checked from their names); {mibs(a['rate'] * mean / MIB)} of "
            f"values." + spread([r["rate"] for r in lf], "rec/s"),
            f"**peer**: `kafka-consumer-perf-test` "
            f"(`org.apache.kafka.tools.ConsumerPerformance`, JVM heap 512m) `--num-records "
            f"{n} --group <fresh> --timeout 60000`, defaults otherwise (it does not check "
            f"CRCs: `check.crcs=false`; it writes nothing). The value is its `nMsg.sec`, "
            f"which, like the archiver's number, includes joining the group: "
            f"{c['rebalance_ms']:,.0f} ms of join, then {c['fetch_ms']:,.0f} ms of "
            f"fetching ({rate(c['fetch_rate'])} while fetching)."
            + spread([r["rate"] for r in peer], "rec/s"),
            f"**CPU** (2 cores in all): inside the measured window the archiver used "
            f"{a['cpu']:.1f} s of CPU ({a['cpu'] / a['elapsed']:.2f} cores) and the broker "
            f"{a['broker_cpu']:.1f} s; the archiver's whole process {a['cpu_total']:.1f} s; "
            f"peak RSS {a['rss'] / MIB:.0f} MiB. The perf tool used {c['cpu_total']:.1f} s "
            f"in all (JVM start-up included), the broker {c['broker_cpu']:.1f} s while it "
            f"ran.",
        ]
        row = Row(
            "2a",
            "Archiver consume + write rate",
            rate(lf_rate),
            "kafka-consumer-perf-test",
            rate(peer_rate),
            lf_rate / peer_rate,
            0.5,
            notes,
        )
        crc = (
            "CRC32C checks use the native `crc32c` package"
            if self.crc_native
            else f"kafka-python's consumer checks every batch's CRC32C (`check_crcs` "
            f"defaults to true) in pure Python: about {self.crc_seconds(n, mean):.1f} s of "
            f"CPU at the {self.crc_mibs:.1f} MiB/s measured here"
        )
        row.note.append(
            f"{verdict(row)} The archiver's main thread decodes the records (kafka-python, "
            f"one Python object per record; {crc}) and writes them into the open files; "
            f"kafka-python's I/O thread fetches, reading 256 KiB at a time and getting "
            f"the GIL back within 0.5 ms (`lakefeed.kafka_fixes`; with kafka-python's "
            f"4 KiB reads and the default 5 ms it sat waiting behind the main thread and "
            f"fetches crawled). A poll takes all of a fetch (`max_poll_records`), so the "
            f"next fetch is in flight while the records are written. gzip level 6 of every "
            f"byte, with zlib-ng "
            f"({mibs(self.gzip_ng_mibs)} of input on one core here, so about "
            f"{n * mean / MIB / self.gzip_ng_mibs:.1f} s of CPU for these "
            f"{n * mean / MIB:.0f} MiB; the standard library's zlib, which the archiver "
            f"used before, does {mibs(self.gzip_std_mibs)}), runs on two writer threads, a "
            f"file on one (zlib-ng releases the GIL), on the same 2 cores as the consumer "
            f"threads and the broker. Up to {tail:g} s of the window "
            f"is the "
            f"rotation tail described above. The perf tool only counts bytes: compressing, "
            f"fsyncing and committing are work the archiver must do and it does not. "
            + self.client_limit(a, trial)
        )
        rows = [row, self.connect_row(a, k, [r["rate"] for r in conn])]
        rows.append(self.trial_row(a, c, k, trial))
        return rows

    def client_limit(self, a: dict[str, Any], trial: dict[str, list[dict[str, Any]]]) -> str:
        """Which is the archiver's limit, the client or the write path: row 2c's answer."""
        if self.trial is None or not trial["ck-write"]:
            return f"Row 2c could not measure confluent-kafka: {self.trial_why}"
        w, ckr, kpr = (pick(trial[key], "rate") for key in ("ck-write", "ck-read", "kp-read"))
        return (
            f"Which of these is the limit, row 2c measures: confluent-kafka alone read this "
            f"topic at {rate(ckr['rate'])}, {ckr['rate'] / kpr['rate']:.1f}x kafka-python "
            f"alone ({rate(kpr['rate'])}), yet the same loop on it wrote and committed at "
            f"{rate(w['rate'])}, {w['rate'] / a['rate']:.2f}x `lakefeed archive`: "
            + (
                "at this rate the write path (the gzip threads, the fsyncs and commits, "
                "the rotation tail) is the limit, not the client"
                if w["rate"] / a["rate"] < 1.2
                else "the client is a large part of the limit: switching would pay"
            )
            + " (docs/adr/0003-kafka-client-library.md)."
        )

    def trial_row(
        self,
        a: dict[str, Any],
        c: dict[str, Any],
        k: dict[str, Any],
        trial: dict[str, list[dict[str, Any]]],
    ) -> Row:
        """2c: the archiver's loop on confluent-kafka, the measurement the issue asks for
        before any switch of client library; no goal of its own."""
        title = "Archiver loop on confluent-kafka (trial, not shipped)"
        if self.trial is None:
            return Row(
                "2c",
                title,
                "—",
                "kafka-consumer-perf-test",
                rate(c["rate"]),
                None,
                None,
                [f"Not measured: {self.trial_why}"],
            )
        w, ckr, kpr = (pick(trial[key], "rate") for key in ("ck-write", "ck-read", "kp-read"))
        rot = ARCHIVER_ROTATE
        return Row(
            "2c",
            title,
            rate(w["rate"]),
            "kafka-consumer-perf-test",
            rate(c["rate"]),
            w["rate"] / c["rate"],
            None,
            [
                f"**What**: `bench/client_trial.py`, the archiver's consume-and-write loop "
                f"with either client behind the same three calls (poll a batch of up to "
                f"{POLL_RECORDS:,}, commit one partition's offset, close), in its own venv "
                f"(bench/.venv-trial: confluent-kafka {CONFLUENT_KAFKA_VERSION}, which "
                f"bundles librdkafka, beside pyproject.toml's kafka-python, crc32c "
                f"and zlib-ng pins). With a spool it writes through lakefeed's own "
                f"`PartitionFile` and `Compressor` exactly as `lakefeed archive` does "
                f"(zlib-ng's gzip level 6, rotation at {rot['max_records']:,} records or "
                f"{rot['max_age_seconds']:g} s, fsync, "
                f"rename into ready/, fsync of ready/, then a synchronous commit of the "
                f"partition's offset), timed the same way as row 2a: from its `started` "
                f"line (subscribed) until the group's committed offsets equal the end "
                f"offsets: {w['elapsed']:.2f} s, {w['files']} files holding exactly "
                f"{self.replay.records if self.replay else 0:,} records. Left out: the "
                f"archiver's disk-space checks, metrics and rebalance handling. "
                f"confluent-kafka's consumer is configured with `check.crcs=true` "
                f"(librdkafka's default is false; the archiver checks them)."
                + spread([r["rate"] for r in trial["ck-write"]], "rec/s"),
                f"**The clients alone** (same script, no spool: every value's length "
                f"summed, nothing written; from `started` to the last record): "
                f"confluent-kafka {rate(ckr['rate'])} ({ckr['elapsed']:.2f} s, "
                f"{ckr['cpu']:.1f} s of CPU), kafka-python {rate(kpr['rate'])} "
                f"({kpr['elapsed']:.2f} s, {kpr['cpu']:.1f} s of CPU); the perf tool "
                f"{rate(c['rate'])}, Connect's sink {rate(k['rate'])}. Against lakefeed "
                f"archive (row 2a, {rate(a['rate'])}), the trial with confluent-kafka is "
                f"{w['rate'] / a['rate']:.2f}x; against Connect's sink, "
                f"{w['rate'] / k['rate']:.2f}x.",
                f"**CPU** (2 cores in all): inside the window the trial used "
                f"{w['cpu']:.1f} s ({w['cpu'] / w['elapsed']:.2f} cores; librdkafka "
                f"fetches on its own threads, gzip runs on the `Compressor` thread) and "
                f"the broker {w['broker_cpu']:.1f} s; its whole process "
                f"{w['cpu_total']:.1f} s, peak RSS {w['rss'] / MIB:.0f} MiB (librdkafka "
                f"prefetches up to `queued.max.messages.kbytes`, 64 MiB by default).",
                "No goal: this row is the side-by-side measurement behind the choice of "
                "client library; the trade-off is written in "
                "[docs/adr/0003-kafka-client-library.md](adr/0003-kafka-client-library.md).",
            ],
        )

    def connect_row(self, a: dict[str, Any], k: dict[str, Any], rates: list[float]) -> Row:
        assert self.replay is not None
        n, tail = self.replay.records, ARCHIVER_ROTATE["max_age_seconds"]
        lf_rate, connect_rate = a["rate"], k["rate"]
        row = Row(
            "2b",
            "Archiver consume + write rate",
            rate(lf_rate),
            "Kafka Connect standalone, FileStreamSink",
            rate(connect_rate),
            lf_rate / connect_rate,
            1.0,
            [
                "Input and lakefeed's measurement: as in 2a.",
                f"**peer**: Apache Kafka Connect {kafka_version(self.lab.kafka_home)} "
                f"standalone with the FileStreamSink connector (connect-file, from Maven "
                f"Central like the broker), started as a user would: `java -Xmx512m -cp "
                f"'libs/*' {CONNECT_MAIN} worker.properties sink.properties` (heap 512m as "
                f"the perf tools; `connect-standalone.sh` would give it 2G). The worker: "
                f"`bootstrap.servers`, key and value converters `StringConverter` (each "
                f"value is decoded as UTF-8 and written back by `println`: a raw copy; "
                f"`ByteArrayConverter` would make the sink write `[B@...`), "
                f"`offset.storage.file.filename`, a loopback REST listener on a free port; "
                f"no `plugin.path`, the jar is on the classpath. The connector: "
                f"`connector.class=FileStreamSinkConnector`, `tasks.max=1` (one consumer, "
                f"as the archiver; more tasks would share one file), `topics=<the topic>`, "
                f"`file=<a fresh file>`, under a fresh name, so a fresh consumer group "
                f"`connect-<name>`; its consumer keeps Connect's sink defaults "
                f"(`auto.offset.reset=earliest`, `max.poll.records` 500, CRC checks on).",
                f"**Time measured**: from the sink task's `{CONNECT_STARTED}` log line "
                f"(its consumer created and subscribed, the task started; the group join "
                f"happens in its first poll, inside the window: the same point as the "
                f"archiver's `archiver started`), read off Connect's log stamped in Unix "
                f"milliseconds, until the output file holds {n:,} lines, polled every 50 "
                f"ms by reading what was appended: {k['elapsed']:.2f} s. JVM start-up, the "
                f"worker's start (plugin scan, REST server) and the connector's creation "
                f"fall outside it, as the archiver's interpreter start-up does: the JVM had "
                f"run {k['startup']:.1f} s before the window opened. The file was checked "
                f"to hold exactly {n:,} lines once Connect was stopped "
                f"({k['bytes'] / MIB:.1f} MiB). The window ends earlier in a record's life "
                f"than the archiver's: the sink writes each record to the file through an "
                f"unbuffered stream, neither compresses nor fsyncs, and commits its offsets "
                f"every `offset.flush.interval.ms` (60 s by default), after the window; "
                f"the archiver's ends when its offsets are committed after its gzip files "
                f"are fsynced, up to {tail:g} s of rotation tail included."
                + spread(rates, "rec/s"),
                f"**CPU** (2 cores in all): inside the window Connect used {k['cpu']:.1f} s "
                f"({k['cpu'] / k['elapsed']:.2f} cores) and the broker "
                f"{k['broker_cpu']:.1f} s; Connect's whole process {k['cpu_total']:.1f} s "
                f"(JVM start-up and JIT included), peak RSS {k['rss'] / MIB:.0f} MiB. The "
                f"archiver: see 2a.",
            ],
        )
        row.note.append(
            f"{verdict(row)} Connect's sink does less per record than the archiver (no "
            f"gzip, no fsync, no commit inside the window) but in Java: the record "
            f"decoding, CRC checks (hardware CRC32C) and fetching of the Java consumer, "
            f"then per record a conversion to a Connect `SinkRecord` (String converter, "
            f"headers) and a `println`, a `write(2)` each. See row 2c for the archiver's "
            f"loop on confluent-kafka."
            if row.met is False
            else f"{verdict(row)} The archiver pays for gzip, fsync and commit inside its "
            f"window and Connect for none of them; Connect spends its time per record: "
            f"the Java consumer's decoding, a conversion to a `SinkRecord`, and one "
            f"`println` (a `write(2)`) each."
        )
        return row

    # --- 3. shipper ------------------------------------------------------------------

    def ship_with_lakefeed(self, files: FileSet, label: str) -> dict[str, Any]:
        lab = self.lab
        bucket = lab.new_bucket(f"ship-{label}")
        root = lab.work / f"spool-ship-{label}"
        d = Daemon(
            lab,
            "shipper",
            {
                "spool_dir": str(root),
                "s3": lab.s3_cfg(bucket),
                "concurrency": SHIPPER_CONCURRENCY,
            },
            f"shipper-{label}",
        ).start()
        # Hard links keep the originals for the peers; the rename into ready/ is what the
        # archiver does and what the shipper's inotify watch (IN_MOVED_TO) sees.
        incoming = root / "incoming"
        incoming.mkdir()
        for path in [*files.paths, *self.warmup.paths]:
            os.link(path, incoming / path.name)
        ready = root / "ready"
        trace = CpuTrace(lab).add("shipper", d.pid)

        def drained() -> bool:
            if not d.running():
                raise RuntimeError(f"the shipper exited:\n{d.tail()}")
            trace.sample()
            return not os.listdir(ready)

        # The shipper's first loop pass runs `measure_backlog`, which crashes the daemon if
        # an upload deletes a file while it scans ready/ (FileNotFoundError from
        # `entry.stat()`): let that pass happen on the empty spool (inotify waits 0.2 s).
        time.sleep(0.6)
        # One file first, untimed, so that the first request's one-time costs (botocore's
        # lazy set-up, the connection) are not counted; the boto3 loop gets the same.
        for name in self.warmup.names:
            os.rename(incoming / name, ready / name)
        wait_until(drained, 60, "the warm-up file to ship", every=0.02, daemons=(d,))
        t0 = time.time()
        for name in files.names:
            os.rename(incoming / name, ready / name)
        timeout = 60 + len(files.names) / 5 + files.bytes / (2 * MIB)
        wait_until(drained, timeout, "ready/ to empty", every=0.02, daemons=(d,))
        t1 = time.time()
        rss = d.peak_rss() or 0
        d.stop()
        objects = lab.list_objects(bucket)
        if len(objects) != len(files.names) + len(self.warmup.names) or d.errors():
            raise RuntimeError(
                f"shipper: {len(objects)} objects for {len(files.names)} files (+ warm-up); "
                f"errors: {d.errors()[:3]}"
            )
        return {
            "elapsed": t1 - t0,
            "cpu": trace.used("shipper", t0, t1),
            "minio_cpu": trace.used("minio", t0, t1),
            "rss": rss,
        }

    def ship_with_boto3(self, files: FileSet, label: str) -> dict[str, Any]:
        client = self.lab.s3.client()  # its own connection pool, like a fresh script
        bucket = self.lab.new_bucket(f"boto3-{label}")
        for path in self.warmup.paths:
            client.upload_file(str(path), bucket, f"warmup/{path.name}")
        trace = CpuTrace(self.lab).add("bench", os.getpid())
        t0 = time.time()
        for path in files.paths:
            client.upload_file(str(path), bucket, f"raw/{path.name}")
        t1 = time.time()
        trace.sample()
        return {
            "elapsed": t1 - t0,
            "cpu": trace.used("bench"),
            "minio_cpu": trace.used("minio"),
        }

    def aws_env(self) -> dict[str, str]:
        lab = self.lab
        return {
            **lab.env,
            "AWS_ACCESS_KEY_ID": lab.s3.access_key,
            "AWS_SECRET_ACCESS_KEY": lab.s3.secret_key,
            "AWS_DEFAULT_REGION": "us-east-1",
        }

    def ship_with_cli(self, paths: list[Path], label: str) -> dict[str, Any]:
        assert self.aws is not None
        lab = self.lab
        bucket = lab.new_bucket(f"cli-{label}")
        env = self.aws_env()
        trace = CpuTrace(lab)
        t0 = time.time()
        for path in paths:
            subprocess.run(
                [
                    str(self.aws),
                    "s3",
                    "cp",
                    str(path),
                    f"s3://{bucket}/raw/{path.name}",
                    "--endpoint-url",
                    lab.s3.endpoint,
                    "--only-show-errors",
                ],
                env=env,
                check=True,
                capture_output=True,
                timeout=600,
            )
        t1 = time.time()
        trace.sample()
        if len(lab.list_objects(bucket)) != len(paths):
            raise RuntimeError("aws s3 cp: not every file is in the bucket")
        return {"elapsed": t1 - t0, "minio_cpu": trace.used("minio"), "files": len(paths)}

    def ship_with_sync(self, files: FileSet, label: str) -> dict[str, Any]:
        """One `aws s3 sync` of the set's directory into an empty prefix, timed end to end."""
        assert self.aws is not None
        lab = self.lab
        bucket = lab.new_bucket(f"sync-{label}")
        empty = lab.work / f"sync-empty-{label}"
        empty.mkdir()

        def sync(src: Path, log: str, tick: Any = None) -> tuple[Usage, float]:
            cmd = [
                str(self.aws),
                "s3",
                "sync",
                str(src),
                f"s3://{bucket}/raw/",
                "--endpoint-url",
                lab.s3.endpoint,
                "--only-show-errors",
            ]
            _, usage, wall = run_tool(
                cmd, 600 + files.bytes / MIB, lab.work / log, tick, env=self.aws_env()
            )
            return usage, wall

        # Untimed, an empty directory first: the CLI's files are then in the page cache, as
        # they are for all but the first call of the per-file `aws s3 cp` loop, and this
        # says what the timed run's one start-up and listing cost.
        _, idle = sync(empty, f"sync-empty-{label}.log")
        trace = CpuTrace(lab)
        usage, wall = sync(files.dir, f"sync-{label}.log", trace.sample)
        if len(lab.list_objects(bucket)) != len(files.names):
            raise RuntimeError("aws s3 sync: not every file is in the bucket")
        return {
            "elapsed": wall,
            "idle": idle,
            "cpu": usage.cpu,
            "minio_cpu": trace.used("minio"),
        }

    def rows_shipper(self, stage: Path) -> list[Row]:
        p = self.plan
        say(f"3. shipper: making {p.small_files:,} small spool files")
        small = make_small_files(stage / "small", p.small_files, p.small_file_bytes)
        say(f"3. shipper: making {p.large_files} large spool files")
        large = make_large_files(stage / "large", p.large_files, p.large_file_bytes)
        self.warmup = make_small_files(stage / "warmup", 1, p.small_file_bytes, partition=9)
        rows = []
        for label, files in (("small", small), ("large", large)):
            lf: list[dict[str, Any]] = []
            b3: list[dict[str, Any]] = []
            cli: dict[str, Any] | None = None
            sync: dict[str, Any] | None = None
            sync_why = self.aws_why
            for i in range(p.repeat):
                say(f"3. shipper {label}: lakefeed ship, run {i + 1}/{p.repeat}")
                lf.append(self.ship_with_lakefeed(files, f"{label}-{i}"))
                say(f"   {len(files.names) / lf[-1]['elapsed']:,.1f} files/s")
                say(f"3. shipper {label}: boto3 upload_file loop, run {i + 1}/{p.repeat}")
                b3.append(self.ship_with_boto3(files, f"{label}-{i}"))
                say(f"   {len(files.names) / b3[-1]['elapsed']:,.1f} files/s")
            if self.aws is not None:
                subset = files.paths[: p.cli_small_files] if label == "small" else files.paths
                say(f"3. shipper {label}: aws s3 cp once per file, on {len(subset)} files")
                try:
                    cli = self.ship_with_cli(subset, label)
                    say(f"   {len(subset) / cli['elapsed']:,.2f} files/s")
                except (subprocess.SubprocessError, OSError, RuntimeError) as exc:
                    self.aws_why = f"`aws s3 cp` failed: {exc}"[:300]
                count = len(files.names)
                say(f"3. shipper {label}: one aws s3 sync over all {count:,} files")
                try:
                    sync = self.ship_with_sync(files, label)
                    say(f"   {count / sync['elapsed']:,.1f} files/s")
                except (subprocess.SubprocessError, OSError, RuntimeError) as exc:
                    sync_why = f"`aws s3 sync` failed: {exc}"[:300]
            rows += self.shipper_rows(label, files, lf, b3, cli, sync=sync, sync_why=sync_why)
        return rows

    def shipper_input(self, label: str, files: FileSet) -> str:
        p, count = self.plan, len(files.names)
        mib = files.bytes / MIB
        wanted, asked = ISSUE_SMALL if label == "small" else ISSUE_LARGE
        size_note = (
            "the size the issue asks for"
            if count == wanted
            else f"the issue asks for {asked}: this {p.mode} run uses {count:,}"
        )
        if label == "small":
            return (
                f"**Input**: {count:,} gzip JSONL spool files of "
                f"{files.bytes / count / 1000:,.1f} KB on average ({mib:,.1f} MiB in all; "
                f"{size_note}), made of sample records with "
                f"`lakefeed.archiver.writer.PartitionFile` at gzip level 6."
            )
        size = files.bytes / count
        path = (
            "They are above the shipper's `multipart_threshold_bytes` (64 MiB), so it "
            "uploads each in 16 MiB parts, up to 4 parts at a time."
            if size >= 64 * MIB
            else "They are under the shipper's `multipart_threshold_bytes` (64 MiB), so it "
            "sends each in one PUT."
        )
        return (
            f"**Input**: {count} spool files of {size / MIB:,.1f} MiB ({mib:,.0f} MiB in "
            f"all; {size_note}), made with `PartitionFile` (gzip level 1) of records carrying "
            f"48 KiB of random base64 each, so they barely compress and are quick to make; "
            f"the first is written, the others are copies under their own offset ranges. "
            f"{path}"
        )

    def shipper_rows(
        self,
        label: str,
        files: FileSet,
        lf: list[dict[str, Any]],
        b3: list[dict[str, Any]],
        cli: dict[str, Any] | None,
        *,
        sync: dict[str, Any] | None,
        sync_why: str,
    ) -> list[Row]:
        count = len(files.names)
        mib = files.bytes / MIB

        def fmt(elapsed: float) -> str:
            return f"{count / elapsed:,.1f} files/s, {mibs(mib / elapsed)}"

        a, b = pick(lf, "elapsed"), pick(b3, "elapsed")
        lf_el, b3_el = a["elapsed"], b["elapsed"]
        first, second, third = ("3a", "3b", "3c") if label == "small" else ("3d", "3e", "3f")
        lakefeed_note = (
            f"**lakefeed**: `lakefeed ship` as its own process, `concurrency: "
            f"{SHIPPER_CONCURRENCY}` (the default), `after_upload: delete`, against MinIO "
            f"on loopback. It was started and healthy on an empty spool; the files were "
            f"then renamed into ready/ (as the archiver does; its inotify watch sees each "
            f"rename). One small file was shipped first, untimed, to leave out one-time "
            f"costs of the first request (the boto3 loop got the same warm-up). Time "
            f"measured: from the first rename until ready/ is empty, which "
            f"happens file by file only after each object is put (`If-None-Match: *`, "
            f"SHA-256 checksum), verified with a HEAD (size and `sha256` metadata) and the "
            f"file deleted: {a['elapsed']:.2f} s. The bucket was "
            f"then checked to hold {count:,} objects. In that window the shipper used "
            f"{a['cpu']:.1f} s of CPU ({a['cpu'] / a['elapsed']:.2f} cores) and MinIO "
            f"{a['minio_cpu']:.1f} s ({a['minio_cpu'] / a['elapsed']:.2f} cores); peak "
            f"RSS of the shipper {a['rss'] / MIB:.0f} MiB."
            + spread([count / r["elapsed"] for r in lf], "files/s")
        )
        boto3_note = (
            f"**boto3 peer**: a plain loop in the benchmark process, one "
            f"`boto3.client('s3').upload_file(path, bucket, key)` per file, one file after "
            f"the other, boto3 1.44.5 defaults (TransferConfig: multipart from 8 MiB in "
            f"8 MiB parts, 10 threads per file; CRC32 checksums); no verification, no "
            f"delete: {b['elapsed']:.2f} s, {b['cpu']:.1f} s of CPU in the benchmark "
            f"process, MinIO {b['minio_cpu']:.1f} s."
            + spread([count / r["elapsed"] for r in b3], "files/s")
        )
        if cli is not None:
            n_cli = cli["files"]
            cli_el = cli["elapsed"] * count / n_cli  # the time for the whole set
            cli_value = f"{n_cli / cli['elapsed']:,.2f} files/s, {mibs(mib / cli_el)}"
            cli_ratio: float | None = cli_el / lf_el
            measured_on = (
                f"the first {n_cli} of the {count:,} files ({cli['elapsed']:.1f} s; every "
                f"call pays the CLI's start-up, so files/s does not depend on how many "
                f"files there are), MiB/s scaled to the whole set"
                if n_cli < count
                else f"all {count} files ({cli['elapsed']:.1f} s)"
            )
            cli_note = (
                f"**CLI peer**: the hand-made pattern, `aws s3 cp FILE s3://bucket/key "
                f"--endpoint-url ... --only-show-errors` run once per file, one after the "
                f"other (awscli {AWSCLI_VERSION} in its own venv, bench/.venv-awscli). "
                f"Measured on {measured_on}."
            )
        else:
            cli_value, cli_ratio = f"not measured: {self.aws_why}", None
            cli_note = f"**CLI peer**: not measured: {self.aws_why}"
        if sync is not None:
            sync_value: str = fmt(sync["elapsed"])
            sync_ratio: float | None = sync["elapsed"] / lf_el
            sync_note = (
                f"**sync peer**: one `aws s3 sync DIR s3://bucket/raw/ --endpoint-url ... "
                f"--only-show-errors` over the directory holding the {count:,} files, into "
                f"an empty prefix (awscli {AWSCLI_VERSION}, bench/.venv-awscli; its default "
                f"transfer settings: 10 requests at a time across files, multipart from 8 "
                f"MiB in 8 MiB parts). Timed end to end like the per-file `aws s3 cp`, from "
                f"the process's start to its exit: {sync['elapsed']:.2f} s, its one "
                f"start-up and its listing of the directory and the prefix included. An "
                f"`aws s3 sync` of an empty directory, run just before and untimed (so the "
                f"CLI's files were in the page cache), took {sync['idle']:.2f} s. The "
                f"bucket was then checked to hold {count:,} objects. The CLI used "
                f"{sync['cpu']:.1f} s of CPU, MinIO {sync['minio_cpu']:.1f} s; no "
                f"verification, no delete."
            )
        else:
            sync_value, sync_ratio = f"not measured: {sync_why}", None
            sync_note = f"**sync peer**: not measured: {sync_why}"
        name = (
            f"Shipper, {count:,} small files (~10 KB)"
            if label == "small"
            else f"Shipper, {count} large files ({files.bytes / count / MIB:,.0f} MiB)"
        )
        same = f"Input and lakefeed's measurement: as in {first}."
        cli_row = Row("", name, fmt(lf_el), "`aws s3 cp` once per file", cli_value, cli_ratio, None)
        b3_row = Row(
            "", name, fmt(lf_el), "boto3 `upload_file` loop", fmt(b3_el), b3_el / lf_el, None
        )
        sync_row = Row(
            third,
            name,
            fmt(lf_el),
            "one `aws s3 sync` of the directory",
            sync_value,
            sync_ratio,
            None,
            [same, sync_note],
        )
        sync_row.note.append(self.ship_cause(sync_row, f"sync-{label}"))
        if label == "small":
            cli_row.key, b3_row.key, cli_row.goal = first, second, 10.0
            cli_row.note = [self.shipper_input(label, files), lakefeed_note, cli_note]
            b3_row.note = [same, boto3_note]
        else:
            b3_row.key, cli_row.key, b3_row.goal = first, second, 0.9
            b3_row.note = [self.shipper_input(label, files), lakefeed_note, boto3_note]
            cli_row.note = [same, cli_note]
        cli_row.note.append(self.ship_cause(cli_row, "cli"))
        b3_row.note.append(self.ship_cause(b3_row, f"boto3-{label}"))
        if label == "large":
            gib = mib / 1024
            lf_cpu = (a["cpu"] + a["minio_cpu"]) / gib
            b3_cpu = (b["cpu"] + b["minio_cpu"]) / gib
            b3_row.note.append(
                f"CPU-seconds per GiB moved, client + MinIO: shipper {lf_cpu:.1f}, boto3 "
                f"loop {b3_cpu:.1f}. Cores busy in the window: "
                f"{(a['cpu'] + a['minio_cpu']) / a['elapsed']:.2f} (shipper + MinIO) and "
                f"{(b['cpu'] + b['minio_cpu']) / b['elapsed']:.2f} (boto3 + MinIO), of 2."
            )
        return [cli_row, b3_row, sync_row] if label == "small" else [b3_row, cli_row, sync_row]

    def ship_cause(self, row: Row, kind: str) -> str:
        if row.ratio is None:
            return "No ratio: the peer could not be measured (see above)."
        if kind == "cli" and row.goal is not None:
            return (
                f"{verdict(row)} Each `aws s3 cp` starts a Python interpreter and imports "
                f"botocore and the CLI (about a second of CPU) to send one small PUT; the "
                f"shipper pays its start-up once and keeps {SHIPPER_CONCURRENCY} uploads "
                f"and their connections going."
            )
        if kind == "cli":
            return (
                "No goal for this pair. Each `aws s3 cp` pays about a second of start-up, "
                "then uploads in 8 MiB parts with 10 threads, one file at a time; the "
                f"shipper has {SHIPPER_CONCURRENCY} files in flight but hashes more (see "
                "the previous row)."
            )
        if kind == "sync-small":
            return (
                f"No goal for this pair. `aws s3 sync` pays its start-up once, like the "
                f"shipper, and keeps 10 PUTs in flight to the shipper's "
                f"{SHIPPER_CONCURRENCY}; per file it only reads and sends it. The shipper "
                f"also gunzips the first line for the lake key, hashes the file (SHA-256), "
                f"sends a conditional PUT, verifies with a HEAD (a second round trip) and "
                f"deletes the file, which is what makes it safe to run unattended: `sync` "
                f"decides by listing and comparing sizes and times, and leaves the files."
            )
        if kind == "sync-large":
            return (
                "No goal for this pair. `aws s3 sync` uploads the files in 8 MiB parts, 10 "
                "parts in flight across files, with CRC32 checksums; the shipper's parts "
                "are described in 3d's input, and it hashes more (see 3d)."
            )
        if kind == "boto3-small":
            return (
                "No goal for this pair: boto3's loop is the limit, not a target. Per file the "
                "shipper does more than `upload_file`: a gunzip of the first line for the "
                "lake key, a SHA-256 of the file, a conditional PUT, then a HEAD to verify "
                "(a second round trip to S3) and an unlink; it runs 4 "
                "files at once to make up for it. MinIO works on the same 2 cores."
            )
        return (
            f"{verdict(row)} Both move the same bytes to the same server, with cheap "
            f"part checksums (the shipper's CRC32C, computed by a CPU instruction, which "
            f"MinIO checks; boto3's CRC32) and botocore's SigV4 payload SHA-256, which it "
            f"computes on plain-HTTP endpoints like this one (both clients pay that one; "
            f"on HTTPS, S3's own case, it is skipped). The shipper also reads and hashes "
            f"each file once with SHA-256 before the upload, for its `sha256` metadata, "
            f"and verifies with a HEAD. On 2 cores shared with MinIO, that CPU is "
            f"throughput. (When it also sent a SHA-256 per part, it measured 0.80x here, "
            f"2026-12-02.)"
        )

    # --- 4. end to end ---------------------------------------------------------------

    def row_e2e(self) -> Row:
        assert self.replay is not None
        lab, n = self.lab, self.replay.records
        say(f"4. end to end: {n:,} records, replay -> collector -> Kafka -> archiver -> shipper")
        topic = lab.new_topic("e2e")
        bucket = lab.new_bucket("e2e")
        spool = lab.work / "spool-e2e"
        group = f"bench-e2e-{uuid.uuid4().hex[:8]}"
        archiver = Daemon(
            lab, "archiver", self.archiver_config(topic, group, spool), "e2e-archiver"
        ).start()
        shipper = Daemon(
            lab, "shipper", {"spool_dir": str(spool), "s3": lab.s3_cfg(bucket)}, "e2e-shipper"
        ).start()
        time.sleep(0.6)  # the shipper's first `measure_backlog` pass: see ship_with_lakefeed
        # at_end: idle keeps the collector alive, so its VmHWM can be read at the end.
        collector = Daemon(
            lab,
            "collector",
            self.collector_config(topic, "collector-state-e2e", "idle", resume=True),
            "e2e-collector",
        )
        daemons = {"collector": collector, "archiver": archiver, "shipper": shipper}
        trace = CpuTrace(lab)
        collector.start(wait_healthy=False)
        for name, d in daemons.items():
            trace.add(name, d.pid)

        def landed() -> bool:
            for name, d in daemons.items():
                if not d.running():
                    why = d.restart_after_crash()
                    trace.add(name, d.pid)
                    say(f"   the {name} crashed ({why}); restarted it after 5 s, as systemd would")
            trace.sample()
            end = lab.end_offsets(topic)
            if sum(end.values()) < n or lab.committed(group, topic) != end:
                return False
            return not os.listdir(spool / "ready") and not os.listdir(spool / "writing")

        wait_until(
            landed,
            180 + n / 100,
            "every record to land in the lake",
            every=0.1,
            daemons=tuple(daemons.values()),
        )
        rss = {k: d.peak_rss() or 0 for k, d in daemons.items()}
        t0 = collector.times("collector started")[0]
        t1 = max(shipper.times("shipped"))
        cpu = {k: trace.used(k, t0, t1) for k in (*daemons, "broker", "minio")}
        for d in daemons.values():
            d.stop()
        lat, objects, copies = self.read_lake(bucket, n)
        crashes = [(k, why) for k, d in daemons.items() for why in d.crashes]
        elapsed = t1 - t0
        e2e_rate = n / elapsed
        p50, p99 = percentile(lat, 50), percentile(lat, 99)
        rot = ARCHIVER_ROTATE
        notes = [
            f"**lakefeed**: the three daemons as processes on loopback, as `lakefeed demo` "
            f"runs them: `replay` (rate 0, row 1's file of {n:,} records, `at_end: idle` so "
            f"its peak RSS can still be read at the end) -> collector -> a fresh "
            f"3-partition topic -> archiver (`rotate: max_records {rot['max_records']:,}, "
            f"max_age_seconds {rot['max_age_seconds']:g}`) -> spool -> shipper (defaults) "
            f"-> MinIO. Archiver and shipper were started and healthy first. Time measured: "
            f"from the collector's `collector started` log line to the shipper's last "
            f"`shipped` log line (logged once the object is verified, up to 0.2 s later as "
            f"its loop collects finished uploads between inotify waits): {elapsed:.2f} s. "
            f"The {objects} objects were then read back: all {n:,} records, each "
            f"(partition, offset) once"
            + (
                f", and {copies} records twice at different offsets (at-least-once "
                f"after a collector restart)."
                if copies
                else ", no record twice."
            ),
            f"**Latency**: for each record, its object's `LastModified` (MinIO, ms) minus "
            f"the record's `collected_at` (set by the collector as it encodes the record): "
            f"p50 {p50:.2f} s, p99 {p99:.2f} s, max {lat[-1]:.2f} s. At rate 0 this is "
            f"mostly queueing: a record waits behind everything produced before it, then "
            f"for its file to rotate (at most {rot['max_age_seconds']:g} s after the file's "
            f"first record here; 300 s with the default config), then for its upload.",
            "**Peak RSS** (VmHWM at the end) and **CPU** inside the measured window: "
            + ", ".join(
                f"{k} {rss[k] / MIB:.0f} MiB, {cpu[k]:.1f} s"
                for k in ("collector", "archiver", "shipper")
            )
            + f"; broker {cpu['broker']:.1f} s and MinIO {cpu['minio']:.1f} s of CPU; "
            f"{sum(cpu.values()):.1f} CPU-seconds in all, in {elapsed:.1f} s on 2 cores.",
            f"**peer**: row 1's collector alone (the producer-only rate, "
            f"{rate(self.collector_rate)}): the ratio says how much of the collector's own "
            f"rate the whole pipeline keeps when all its parts share the machine. No goal "
            f"is set for it. Here the three daemons, the broker and MinIO compete for 2 "
            f"cores; deployed on separate hosts, the pipeline is bounded by its slowest "
            f"stage instead (rows 1-3).",
        ]
        if crashes:
            notes.append(
                f"**Crashes**: {len(crashes)} during this row, each restarted after "
                f"{RESTART_SEC:g} s as the systemd unit's `Restart=on-failure` / "
                f"`RestartSec=5` would, inside the measured time: "
                + "; ".join(f"{k}: `{why}`" for k, why in crashes)
                + ". The peak RSS above is that of the process running at the end."
            )
        return Row(
            "4",
            "End to end (replay -> S3, loopback)"
            + (f" ({len(crashes)} crash-restarts)" if crashes else ""),
            f"{rate(e2e_rate)}; latency p50 {p50:.1f} s, p99 {p99:.1f} s",
            "collector alone (row 1)",
            rate(self.collector_rate),
            e2e_rate / self.collector_rate,
            None,
            notes,
        )

    def read_lake(self, bucket: str, n: int) -> tuple[list[float], int, int]:
        """Latency (s) of every distinct record, sorted; the object count; the duplicates.

        Each (partition, offset) must be in the lake once, and every id of the replay file
        must be there: a collector restart may produce a record twice (at-least-once, at
        two offsets), which is counted, not failed.
        """
        lab = self.lab
        latencies: list[float] = []
        seen: set[tuple[int, int]] = set()
        ids: set[str] = set()
        lines_total = 0
        objects = lab.list_objects(bucket)
        for obj in objects:
            name = SpoolName.parse(obj["Key"].rsplit("/", 1)[-1])
            if name is None:
                raise RuntimeError(f"unexpected object {obj['Key']}")
            modified = obj["LastModified"].timestamp()
            body = lab.s3client.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
            lines = gzip.decompress(body).splitlines()
            if len(lines) != name.last - name.first + 1:
                raise RuntimeError(f"{obj['Key']}: {len(lines)} lines for its offset range")
            for i, line in enumerate(lines):
                lines_total += 1
                coord = (name.partition, name.first + i)
                if coord in seen:
                    raise RuntimeError(f"offset {coord} is in the lake twice")
                seen.add(coord)
                rec = json.loads(line)
                if rec["id"] in ids:
                    continue
                ids.add(rec["id"])
                when = parse_collected_at(rec["collected_at"]).timestamp()
                latencies.append(modified - when)
        if len(ids) != n:
            raise RuntimeError(
                f"lake holds {len(ids)} distinct ids in {lines_total} lines; want {n}"
            )
        return sorted(latencies), len(objects), lines_total - n
