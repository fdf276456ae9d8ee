"""Row 1: the collector against kafka-producer-perf-test, and the producer trial (1b)."""

from __future__ import annotations

import json
import subprocess
import time
from functools import partial
from pathlib import Path
from typing import Any

from bench_data import (
    COLLECTOR_NAME,
    write_replay,
)
from bench_harness import (
    BENCH,
    MIB,
    CpuTrace,
    Daemon,
    reap,
    run_tool,
    say,
    terminate,
)
from bench_report import Row
from rows_base import (
    CONFLUENT_KAFKA_VERSION,
    PERF_PRODUCE,
    PRODUCER,
    BenchBase,
    mibs,
    pick,
    rate,
    rate_in,
    run_once,
    spread,
    trial_result,
    verdict,
)


class CollectorRows(BenchBase):
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
        found = PERF_PRODUCE.findall(out)
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
            once = partial(self.collector_once, i)
            lf.append(run_once("1. collector: lakefeed collect", i, p.repeat, once, rate_in))
            once = partial(self.producer_perf_once, i)
            what = "1. collector: kafka-producer-perf-test"
            peer.append(run_once(what, i, p.repeat, once, lambda r: rate(r["rate"])))
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
                f"{t['rate'] / self.collector_rate:.2f}x. Why the collector stays on "
                f"kafka-python all the same: docs/adr/0003-kafka-client-library.md.",
            ],
        )
