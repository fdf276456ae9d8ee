"""Row 4: end to end, from the collector's first record to the last object in the lake."""

from __future__ import annotations

import gzip
import json
import os
import time
import uuid

from bench_harness import (
    MIB,
    RESTART_SEC,
    CpuTrace,
    Daemon,
    percentile,
    say,
    wait_until,
)
from bench_report import Row
from lakefeed.record import SpoolName, parse_collected_at
from rows_base import (
    ARCHIVER_ROTATE,
    BenchBase,
    rate,
)


class EndToEndRow(BenchBase):
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
            "every record to land in the lake",
            landed,
            180 + n / 100,
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
