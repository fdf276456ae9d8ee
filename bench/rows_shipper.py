"""Row 3: the shipper against a boto3 loop, `aws s3 cp` and `aws s3 sync`."""

from __future__ import annotations

import os
import subprocess
import time
from functools import partial
from pathlib import Path
from typing import Any

from bench_data import (
    FileSet,
    make_large_files,
    make_small_files,
)
from bench_harness import (
    MIB,
    CpuTrace,
    Daemon,
    Usage,
    run_tool,
    say,
    wait_until,
)
from bench_report import Row
from rows_base import (
    AWSCLI_VERSION,
    ISSUE_LARGE,
    ISSUE_SMALL,
    SHIPPER_CONCURRENCY,
    BenchBase,
    mibs,
    pick,
    run_once,
    spread,
    verdict,
)


class ShipperRows(BenchBase):
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
        wait_until("the warm-up file to ship", drained, 60, every=0.02, daemons=(d,))
        t0 = time.time()
        for name in files.names:
            os.rename(incoming / name, ready / name)
        timeout = 60 + len(files.names) / 5 + files.bytes / (2 * MIB)
        wait_until("ready/ to empty", drained, timeout, every=0.02, daemons=(d,))
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

                def files_per_s(run: dict[str, Any], n: int = len(files.names)) -> str:
                    return f"{n / run['elapsed']:,.1f} files/s"

                once = partial(self.ship_with_lakefeed, files, f"{label}-{i}")
                what = f"3. shipper {label}: lakefeed ship"
                lf.append(run_once(what, i, p.repeat, once, files_per_s))
                once = partial(self.ship_with_boto3, files, f"{label}-{i}")
                what = f"3. shipper {label}: boto3 upload_file loop"
                b3.append(run_once(what, i, p.repeat, once, files_per_s))
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
