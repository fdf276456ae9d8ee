"""What the fault suite (tests/faults) needs on the lab: a feed of known records, the lake
read back incrementally, the cluster's health, and a record of each scenario's numbers.

The feed is a real collector: one more instance (`faults`) of the role's own
`lakefeed-collector@.service` on the collector host, replaying a generated file at a
steady rate into the archived topic. Its replay checkpoint is the collector's promise:
it is written only after Kafka acknowledged every line before it, so every line before
the checkpoint is an acknowledged record and must reach the lake.
"""

from __future__ import annotations

import bisect
import gzip
import hashlib
import json
import math
import os
import random
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lakefeed.compact import COMPACTED_PREFIX
from lakefeed.lab.hosts import LabHost, podman
from lakefeed.record import LAKE_COORDINATES, SpoolName
from lakefeed.runner.lab import BUCKET, SPOOL_DIR, LabRunner

INSTANCE = "faults"
TOPIC = "x.posts"
FEED_DIR = "/var/lib/lakefeed/faults"
CONFIG_DIR = "/etc/lakefeed"
STATE_DIR = f"/var/lib/lakefeed/collector-{INSTANCE}"
# Kafka's tools as the kafka role runs them, its class-data archive (tools.jsa) read only.
KAFKA_TOOL = (
    "java -Xmx192m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC "
    "-XX:SharedArchiveFile=/opt/kafka/tools.jsa -Xlog:disable -Xlog:all=error:stderr "
    "-Dlog4j2.configurationFile=/etc/kafka/tools-log4j2.properties -cp '/opt/kafka/libs/*'"
)


# --- the feed ------------------------------------------------------------------------


@dataclass
class Feed:
    """A replay file of `count` records with ids `f-<run>-<n>`, and three bad lines
    (invalid JSON, no id, oversize) that must end in the dead-letter topic."""

    lab: LabRunner
    rate: float
    count: int
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    ends: list[int] = field(default_factory=list)  # byte offset after each good line
    ids: list[str] = field(default_factory=list)
    bad: int = 0

    @property
    def host(self) -> LabHost:
        return self.lab.lab.groups["kafka"][0]

    @property
    def unit(self) -> str:
        return f"lakefeed-collector@{INSTANCE}"

    def write(self, path: Path) -> None:
        rng = random.Random(self.run)
        position = 0
        with path.open("wb") as f:
            for n in range(self.count):
                if n == 50:
                    for line in (
                        f'{{"data": {{"id": "f-{self.run}-bad", "text": "cut here',
                        json.dumps({"data": {"text": f"f-{self.run} has no id"}}),
                        json.dumps({"data": {"id": f"f-{self.run}-big", "text": "x" * 950_000}}),
                    ):
                        raw = line.encode() + b"\n"
                        f.write(raw)
                        position += len(raw)
                        self.bad += 1
                rid = f"f-{self.run}-{n}"
                text = "".join(rng.choice("abcdefghij klmnop") for _ in range(rng.randint(80, 240)))
                raw = json.dumps({"data": {"id": rid, "text": text, "n": n}}).encode() + b"\n"
                f.write(raw)
                position += len(raw)
                self.ends.append(position)
                self.ids.append(rid)

    def start(self) -> None:
        sample = yaml.safe_load(self.host.exec("cat", f"{CONFIG_DIR}/collector-sample.yaml").stdout)
        sample["source"] = {
            "type": "replay",
            "path": f"{FEED_DIR}/feed.jsonl",
            "rate": self.rate,
            "at_end": "idle",
            "resume": True,
        }
        sample["name"] = INSTANCE
        sample["state_dir"] = STATE_DIR
        sample["metrics"]["port"] = 9111
        with tempfile.TemporaryDirectory() as tmp:
            local = Path(tmp) / "feed.jsonl"
            self.write(local)
            self.host.exec("install", "-d", "-o", "root", "-g", "lakefeed", "-m", "0750", FEED_DIR)
            podman("cp", str(local), f"{self.host.name}:{FEED_DIR}/feed.jsonl")
        self.host.exec("chmod", "0640", f"{FEED_DIR}/feed.jsonl")
        self.host.exec("chgrp", "lakefeed", f"{FEED_DIR}/feed.jsonl")
        self.host.exec(
            "install", "-d", "-o", "lakefeed-collector", "-g", "lakefeed", "-m", "0750", STATE_DIR
        )
        self.host.exec(
            "sh",
            "-c",
            f"umask 027 && cat > {CONFIG_DIR}/collector-{INSTANCE}.yaml "
            f"&& chgrp lakefeed {CONFIG_DIR}/collector-{INSTANCE}.yaml",
            input=yaml.safe_dump(sample),
        )
        self.host.exec("systemctl", "start", self.unit)

    def stop(self) -> None:
        self.host.exec("systemctl", "stop", self.unit, check=False)

    def remove(self) -> None:
        self.stop()
        self.host.exec("systemctl", "reset-failed", self.unit, check=False)
        self.host.exec(
            "rm", "-rf", FEED_DIR, STATE_DIR, f"{CONFIG_DIR}/collector-{INSTANCE}.yaml", check=False
        )

    def acknowledged(self) -> int:
        """How many good lines the collector has checkpointed (all acknowledged by Kafka)."""
        result = self.host.exec("cat", f"{STATE_DIR}/replay-{INSTANCE}.json", check=False)
        if result.returncode != 0:
            return 0
        position = json.loads(result.stdout)["position"]
        return bisect.bisect_right(self.ends, position)

    def dead_letters(self) -> list[dict[str, Any]]:
        """This run's entries of the dead-letter topic."""
        out = self.host.exec(
            "sh",
            "-c",
            f"{KAFKA_TOOL} org.apache.kafka.tools.consumer.ConsoleConsumer "
            f"--bootstrap-server {self.host.hostname}:9092 --topic lakefeed.dead-letter "
            "--from-beginning --timeout-ms 15000 2>/dev/null",
            check=False,
            timeout=120,
        ).stdout
        return [json.loads(x) for x in out.splitlines() if self.run in x]


# --- the lake ------------------------------------------------------------------------


@dataclass
class LakeReader:
    """The lake bucket read back; each object is fetched once (a key's content is fixed:
    it is named after the offsets it holds)."""

    client: Any
    seen: dict[str, str] = field(default_factory=dict)  # key -> ETag
    copies: Counter[tuple[str, int, int]] = field(default_factory=Counter)
    content: dict[tuple[str, int, int], str] = field(default_factory=dict)
    coord_id: dict[tuple[str, int, int], str] = field(default_factory=dict)
    conflicts: list[str] = field(default_factory=list)
    ids: Counter[str] = field(default_factory=Counter)  # distinct coordinates per id
    objects: int = 0

    def refresh(self) -> None:
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
            for obj in page.get("Contents", []):
                key, etag = obj["Key"], obj["ETag"]
                # `lakefeed compact`'s Parquet, beside the topics: checked against this.
                if self.seen.get(key) == etag or key.startswith(COMPACTED_PREFIX):
                    continue
                name = SpoolName.parse(key.rsplit("/", 1)[-1])
                assert name is not None, f"not a spool name: {key}"
                body = self.client.get_object(Bucket=BUCKET, Key=key)["Body"].read()
                lines = gzip.decompress(body).decode("utf-8").splitlines()
                assert len(lines) == name.last - name.first + 1, f"offsets != lines: {key}"
                rewrite = key in self.seen
                self.seen[key] = etag
                self.objects += not rewrite
                for i, line in enumerate(lines):
                    coord = (name.topic, name.partition, name.first + i)
                    record = json.loads(line)
                    # Each line says where it was in Kafka (ADR 14): what Athena dedups on.
                    said = tuple(record.get(k) for k in LAKE_COORDINATES)
                    if said != coord:
                        self.conflicts.append(f"line {i} of {key} says {said}, not {coord}")
                    digest = hashlib.sha1(line.encode(), usedforsecurity=False).hexdigest()
                    known = self.content.get(coord)
                    if known is not None and known != digest:
                        self.conflicts.append(f"{coord} differs in {key}")
                    if not rewrite:
                        self.copies[coord] += 1
                    if known is None:
                        self.content[coord] = digest
                        rid = record["id"]
                        self.coord_id[coord] = rid
                        self.ids[rid] += 1

    def missing(self, ids: list[str]) -> list[str]:
        return [i for i in ids if i not in self.ids]


# --- the cluster ---------------------------------------------------------------------


def wait_kafka_healthy(host: LabHost, seconds: int) -> None:
    """kafka-health's own wait: it polls every 5 s, each check stopping at its first
    problem (one JVM while a broker is still down, not five), and names every problem
    if the time runs out."""
    # Past the deadline: one full check, five tool calls of at most 35 s each.
    done = host.exec(
        "/usr/local/bin/kafka-health", "--wait", str(seconds), check=False, timeout=seconds + 240
    )
    assert done.returncode == 0, f"cluster not healthy in {seconds}s:\n{done.stdout[-3000:]}"


def unit_active(host: LabHost, unit: str) -> bool:
    return host.exec("systemctl", "is-active", unit, check=False).stdout.strip() == "active"


def main_pid(host: LabHost, unit: str) -> str:
    return host.exec("systemctl", "show", "-p", "MainPID", "--value", unit).stdout.strip()


def restarts(host: LabHost, unit: str) -> int:
    return int(host.exec("systemctl", "show", "-p", "NRestarts", "--value", unit).stdout)


def quorum_leader(host: LabHost, controllers: list[LabHost]) -> tuple[int, int]:
    """(node id, epoch) of the active controller (the KRaft quorum's leader), asked from
    `host`; (-1, -1) when no answer names one."""
    # Short timeouts: the admin client sends DescribeQuorum to the leader it knows, and
    # against a killed one the defaults wait 60 s before it looks again.
    out = host.exec(
        "sh",
        "-c",
        "printf 'request.timeout.ms=2000\\ndefault.api.timeout.ms=4000\\n' >/tmp/quorum.properties"
        f" && {KAFKA_TOOL} org.apache.kafka.tools.MetadataQuorumCommand --bootstrap-controller "
        + ",".join(f"{h.hostname}:9093" for h in controllers)
        + " --command-config /tmp/quorum.properties describe --status 2>/dev/null",
        timeout=120,
        check=False,
    ).stdout
    status = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    try:
        return int(status["LeaderId"]), int(status["LeaderEpoch"])
    except (KeyError, ValueError):
        return -1, -1


def spool_files(host: LabHost) -> dict[str, int]:
    """Files in the archiver host's spool that are not yet shipped, by directory."""
    out = host.exec(
        "sh", "-c", f"cd {SPOOL_DIR} && find writing ready -type f 2>/dev/null || true"
    ).stdout
    counts: Counter[str] = Counter(line.split("/", 1)[0] for line in out.splitlines() if line)
    return {"writing": counts["writing"], "ready": counts["ready"]}


def journal_since(host: LabHost, unit: str, since: float) -> str:
    return host.exec(
        "journalctl", "--no-pager", "-o", "cat", "-u", unit, "--since", since_argument(since)
    ).stdout


def since_argument(since: float) -> str:
    """journalctl's --since for "at or after `since`": whole seconds, rounded down. Rounded
    to the nearest, a line logged in the half second after `since` was left out (a fault
    test once waited 90 s for a line the archiver had logged 0.3 s after the fault)."""
    return f"@{math.floor(since)}"


# --- results -------------------------------------------------------------------------


@dataclass
class Scenario:
    name: str
    first: int = 0  # feed lines acknowledged when the fault began ...
    last: int = 0  # ... and when it was healed
    started: float = field(default_factory=time.time)
    recovery_seconds: float = 0.0
    notes: dict[str, Any] = field(default_factory=dict)


@dataclass
class Results:
    rate: float
    scenarios: list[Scenario] = field(default_factory=list)
    totals: dict[str, Any] = field(default_factory=dict)

    def table(self, feed: Feed, lake: LakeReader) -> list[dict[str, Any]]:
        """Per scenario: the feed's records acknowledged while it ran, how many are in the
        lake, the extra copies of their (topic, partition, offset) before dedup, and the
        extra offsets of an id (the collector sent it again after a failure it could not
        tell from a loss)."""
        extra_copies: Counter[str] = Counter()
        for coord, n in lake.copies.items():
            if n > 1:
                extra_copies[lake.coord_id[coord]] += n - 1
        rows = []
        for s in self.scenarios:
            ids = feed.ids[s.first : s.last]
            rows.append(
                {
                    "scenario": s.name,
                    "sent": len(ids),
                    "landed": sum(1 for i in ids if i in lake.ids),
                    "duplicate_copies": sum(extra_copies[i] for i in ids),
                    "resent_ids": sum(1 for i in ids if lake.ids[i] > 1),
                    "recovery_seconds": round(s.recovery_seconds, 1),
                    **s.notes,
                }
            )
        return rows


# The fault suite's feed rate (records/s) and its results, which tests/faults/conftest.py
# prints at the end of the run.
RATE = float(os.environ.get("LAKEFEED_FAULTS_RATE", "40"))
RESULTS = Results(rate=RATE)
# Seconds between two looks at a lab host while waiting: each is a `podman exec`, some a
# JVM, on a machine that is running the whole cluster.
POLL = 2.0
