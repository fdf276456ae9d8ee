"""Row 2: the archiver against kafka-consumer-perf-test and Kafka Connect's
FileStreamSink, and the client trials (2b, 2c)."""

from __future__ import annotations

import json
import re
import subprocess
import time
import uuid
from functools import partial
from typing import Any

from bench_harness import (
    MIB,
    Appended,
    CpuTrace,
    Daemon,
    kafka_version,
    run_tool,
    say,
    terminate,
    wait_until,
)
from bench_report import Row
from lakefeed.local.servers import free_port
from rows_base import (
    ARCHIVER_ROTATE,
    CONFLUENT_KAFKA_VERSION,
    CONNECT_LOG4J,
    CONNECT_MAIN,
    CONNECT_SINK,
    CONNECT_STARTED,
    CONNECT_STRING,
    CONNECT_TS,
    POLL_RECORDS,
    BenchBase,
    mibs,
    pick,
    rate,
    rate_in,
    ready_files,
    run_once,
    spread,
    trial_result,
    verdict,
    write_props,
)


class ArchiverRows(BenchBase):
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
            "the archiver's commits to reach the end offsets", done, 120 + n / 200, daemons=(d,)
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
        write_props(
            work / "worker.properties",
            {
                "bootstrap.servers": lab.kafka.bootstrap,
                "key.converter": CONNECT_STRING,
                "value.converter": CONNECT_STRING,
                "offset.storage.file.filename": str(work / "connect.offsets"),
                "listeners": f"http://127.0.0.1:{free_port()}",  # not :8083, maybe taken
            },
        )
        write_props(
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
                wait_until("Kafka Connect's file to hold every record", done, 120 + n / 200)
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
            if CONNECT_STARTED in line and (m := CONNECT_TS.match(line))
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
            wait_until(f"the {client} trial to reach the end offsets", done, 120 + n / 200)
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
            once = partial(self.consumer_perf_once, i)
            what = "2. archiver: kafka-consumer-perf-test"
            peer.append(run_once(what, i, p.repeat, once, lambda r: rate(r["rate"])))
            once = partial(self.connect_once, i)
            what = "2. archiver: Kafka Connect FileStreamSink"
            conn.append(run_once(what, i, p.repeat, once, rate_in))
            once = partial(self.archiver_once, i)
            lf.append(run_once("2. archiver: lakefeed archive", i, p.repeat, once, rate_in))
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
