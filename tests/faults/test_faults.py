"""The delivery contract under faults, on the lab (docs/guarantees.md has the results).

A real collector (tests/support/faults.py: Feed) replays records with known ids into the
archived topic for the whole module; each scenario injects one fault while they flow,
heals it, and then waits until every record the collector had acknowledged by then is in
the lake (the time that takes is the scenario's recovery time). The last test stops the
feed and checks the whole run: every acknowledged record in the lake, exactly once after
dedup on (topic, partition, offset), no file left in the spool, the bad input in the
dead-letter topic, the collector never restarted.

Part of `scripts/test` (CI), which shortens the outages; on its own, with the lab:

    scripts/test tests/lab tests/faults

Durations (the defaults are the issue's; a bare `scripts/test` sets 30/60/40 s):
LAKEFEED_FAULTS_RATE (records/s, 40), LAKEFEED_FAULTS_HOST_STOP_SECONDS (60),
LAKEFEED_FAULTS_S3_DOWN_SECONDS (120), LAKEFEED_FAULTS_STORM_SECONDS (60);
LAKEFEED_FAULTS_REPORT=FILE writes the measured table as JSON.
"""

from __future__ import annotations

import io
import json
import os
import random
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import BotoCoreError, ClientError

from lakefeed.lab.hosts import LabHost, podman
from lakefeed.query import table_name
from lakefeed.runner import status
from lakefeed.runner.lab import LabRunner
from lakefeed.runner.rollout import Rollout
from lakefeed.runner.targets import target
from tests.support.faults import (
    POLL,
    RATE,
    RESULTS,
    Feed,
    LakeReader,
    Scenario,
    journal_since,
    main_pid,
    quorum_leader,
    restarts,
    spool_files,
    unit_active,
    wait_kafka_healthy,
)
from tests.support.labsession import ROOT
from tests.support.verifiable import VerifiableLoad
from tests.support.waiting import wait_for

pytestmark = pytest.mark.lab

HOST_STOP = float(os.environ.get("LAKEFEED_FAULTS_HOST_STOP_SECONDS", "60"))
S3_DOWN = float(os.environ.get("LAKEFEED_FAULTS_S3_DOWN_SECONDS", "120"))
STORM = float(os.environ.get("LAKEFEED_FAULTS_STORM_SECONDS", "60"))
S3_FAULTS = Path(__file__).resolve().parents[1] / "support" / "s3_faults.py"
# What every recovery gets before the scenario fails: generous, a 2-core machine is
# running three brokers and the daemons.
CATCH_UP = 300


@dataclass
class Suite:
    lab: LabRunner
    feed: Feed
    lake: LakeReader

    @property
    def kafka(self) -> list[LabHost]:
        return self.lab.lab.groups["kafka"]

    @property
    def archiver_host(self) -> LabHost:
        return self.lab.archiver_host

    @property
    def s3(self) -> LabHost:
        return self.lab.lab.groups["s3"][0]

    def landed(self, upto: int) -> bool:
        try:
            self.lake.refresh()
        except (BotoCoreError, ClientError):
            return False  # S3 coming back: ask again
        return not self.lake.missing(self.feed.ids[:upto])

    @contextmanager
    def scenario(self, name: str) -> Iterator[Scenario]:
        """The fault happens inside the block, which ends once it is healed; then every
        record acknowledged by then must reach the lake."""
        sc = Scenario(name, first=self.feed.acknowledged())
        yield sc
        healed = time.monotonic()
        sc.last = self.feed.acknowledged()
        wait_for(
            f"{name}: the {sc.last} records acknowledged by the end of the fault in the lake",
            lambda: self.landed(sc.last),
            CATCH_UP,
            every=POLL,
        )
        sc.recovery_seconds = time.monotonic() - healed
        RESULTS.scenarios.append(sc)
        print(
            f"{name}: {sc.last - sc.first} records, recovered in {sc.recovery_seconds:.0f}s, "
            f"{sc.notes}",
            file=sys.stderr,
        )


@pytest.fixture(scope="module")
def suite(lab: LabRunner) -> Iterator[Suite]:
    feed = Feed(lab, rate=RATE, count=int(RATE * 3600))
    feed.start()
    try:
        s = Suite(lab, feed, LakeReader(lab.s3_client(lab.s3_credentials())))
        wait_for(
            "the feed's first records acknowledged",
            lambda: feed.acknowledged() > 0,
            120,
            every=POLL,
        )
        yield s
    finally:
        feed.remove()
        report = os.environ.get("LAKEFEED_FAULTS_REPORT")
        if report and RESULTS.totals:
            Path(report).write_text(json.dumps(RESULTS.totals, indent=2) + "\n")


def test_a_full_rollout_while_records_flow(suite: Suite) -> None:
    """`lakefeed rollout --restart-all`: every broker, one at a time behind the health
    gate, and every daemon restarted; Kafka's VerifiableProducer/Consumer run through it
    as in Kafka's own rolling-bounce system tests. It runs first: after tests/lab's change
    matrix it also brings the lab back to this checkout (build, settings, topics); without
    the matrix, it upgrades the session's lab from its pinned older Kafka to this one's."""
    units = {
        (h.name, u): main_pid(h, u)
        for h in suite.kafka
        for u in ["kafka"]
        + (["lakefeed-archiver", "lakefeed-shipper"] if h is suite.archiver_host else [])
    }
    load = VerifiableLoad(suite.kafka[2], suite.kafka, "faults.verifiable")
    load.start()
    try:
        with suite.scenario("full rollout (every broker and daemon restarted)") as sc:
            started = time.monotonic()
            out = io.StringIO()
            rollout = Rollout(
                target("lab", ROOT, suite.lab.target.state), restart_all=True, out=out
            )
            assert rollout.run() == 0, out.getvalue()[-3000:]
            sc.notes["rollout_seconds"] = round(time.monotonic() - started)
        for (host, unit), pid in units.items():
            assert main_pid(suite.lab.lab.host(host), unit) != pid, f"{unit} on {host} kept running"
        assert len(load.acked()) > 100, f"VerifiableProducer got only {len(load.acked())} acks"
        sc.notes["verifiable"] = load.finish()
    finally:
        load.stop()


def _leader(asked: LabHost, controllers: list[LabHost]) -> tuple[int, int]:
    """(node id, epoch) of the quorum's leader. Polled: one ask has 4 s to answer (short,
    for asks during an election), which a JVM started on a loaded machine can miss
    (seen in CI: "no quorum epoch" right after a healthy check)."""

    def named() -> tuple[int, int] | None:
        leader, epoch = quorum_leader(asked, controllers)
        return (leader, epoch) if leader > 0 and epoch >= 0 else None

    return wait_for("the quorum names its leader and epoch", named, 60, every=2)


def _victim(suite: Suite, avoid_leader: bool) -> tuple[LabHost, int]:
    leader, _epoch = _leader(suite.kafka[0], suite.kafka)
    if not avoid_leader:
        return suite.kafka[leader - 1], leader
    for i in (3, 1, 2):
        if i != leader:
            return suite.kafka[i - 1], leader
    raise AssertionError("no broker other than the leader")


def _sigkill_kafka(host: LabHost, sc: Scenario) -> None:
    pid = main_pid(host, "kafka")
    killed = time.monotonic()
    host.exec("systemctl", "kill", "--signal=SIGKILL", "kafka")
    # systemd starts it again (Restart=on-failure, 5 s later).
    wait_for(
        "kafka restarted by systemd",
        lambda: unit_active(host, "kafka") and main_pid(host, "kafka") not in (pid, "0"),
        120,
        every=POLL,
    )
    sc.notes["restarted_after_seconds"] = round(time.monotonic() - killed, 1)
    wait_kafka_healthy(host, 240)
    sc.notes["healthy_after_seconds"] = round(time.monotonic() - killed, 1)


def test_a_broker_killed_with_sigkill(suite: Suite) -> None:
    host, _ = _victim(suite, avoid_leader=True)
    with suite.scenario("one broker SIGKILLed, restarted by systemd") as sc:
        _sigkill_kafka(host, sc)


def test_the_active_controller_killed(suite: Suite) -> None:
    host, leader = _victim(suite, avoid_leader=False)
    others = [h for h in suite.kafka if h is not host]
    other = others[0]
    _, epoch = _leader(other, others)
    with suite.scenario("the active controller SIGKILLed") as sc:
        killed = time.monotonic()
        host.exec("systemctl", "kill", "--signal=SIGKILL", "kafka")
        # A leader elected at a later epoch (the killed node may win it again once systemd
        # has restarted it: the epoch, not the id, says an election happened).
        elected: list[tuple[int, int]] = []

        def new_leader() -> bool:
            elected[:] = [quorum_leader(other, others)]
            return elected[0][0] >= 0 and elected[0][1] > epoch

        wait_for("a leader elected at a later epoch", new_leader, 120, 1)
        sc.notes["new_leader_after_seconds"] = round(time.monotonic() - killed, 1)
        sc.notes["new_leader_is_the_killed_node"] = elected[0][0] == leader
        wait_for("kafka restarted by systemd", lambda: unit_active(host, "kafka"), 120, every=POLL)
        wait_kafka_healthy(other, 240)
        sc.notes["healthy_after_seconds"] = round(time.monotonic() - killed, 1)


# The monitoring role's defaults: scrape and evaluate every 15 s.
SCRAPE = 15


def _kafka_node_down(suite: Suite, instance: str) -> set[str]:
    """The states of KafkaNodeDown for one node in Prometheus on the lab's monitoring
    host (its HTTP API, as an operator's browser or `lakefeed status` reads it)."""
    url = f"http://{suite.s3.ip()}:9090/api/v1/alerts"
    with urllib.request.urlopen(url, timeout=10) as resp:
        alerts = json.load(resp)["data"]["alerts"]
    return {
        a["state"]
        for a in alerts
        if a["labels"].get("alertname") == "KafkaNodeDown"
        and a["labels"].get("instance") == instance
    }


def test_a_stopped_broker_fires_kafka_node_down_until_it_is_back(suite: Suite) -> None:
    """Prometheus sees a broker stopped as an operator would: KafkaNodeDown fires once its
    `for:` (1 minute) has passed, plus a scrape to see the node gone and an evaluation;
    `lakefeed status` lists it under its table while it fires; it resolves once the node
    is back."""
    host, _ = _victim(suite, avoid_leader=True)
    instance = f"{host.hostname}:7071"
    assert _kafka_node_down(suite, instance) == set()
    with suite.scenario("one broker stopped: KafkaNodeDown fires, then resolves") as sc:
        stopped = time.monotonic()
        host.exec("systemctl", "stop", "kafka")
        try:
            wait_for(
                f"KafkaNodeDown firing for {instance}",
                lambda: _kafka_node_down(suite, instance) == {"firing"},
                60 + SCRAPE + SCRAPE + 30,  # the slack: a 2-core machine under load
                every=POLL,
            )
            sc.notes["fired_after_seconds"] = round(time.monotonic() - stopped, 1)
            out = io.StringIO()
            assert status.status(suite.lab.target, out) == 1, out.getvalue()
            shown = out.getvalue().split("alerts firing", 1)
            assert len(shown) == 2, out.getvalue()
            assert any(
                line.split()[:2] == ["KafkaNodeDown", instance] for line in shown[1].splitlines()
            ), out.getvalue()
        finally:
            host.exec("systemctl", "start", "kafka")
        started = time.monotonic()
        wait_for(
            f"KafkaNodeDown resolved for {instance}",
            lambda: _kafka_node_down(suite, instance) == set(),
            120,
            every=POLL,
        )
        sc.notes["resolved_after_seconds"] = round(time.monotonic() - started, 1)
        wait_kafka_healthy(host, 240)


def test_the_archiver_host_stopped_for_a_minute(suite: Suite) -> None:
    """The host of a broker, the archiver and the shipper goes away (systemd shuts it
    down, as a stopped EC2 instance) and comes back with its spool disk."""
    host = suite.archiver_host
    with suite.scenario(f"broker + archiver + shipper host stopped for {HOST_STOP:.0f}s") as sc:
        podman("stop", "--time", "60", host.name, timeout=180)
        time.sleep(HOST_STOP)
        started = time.monotonic()
        podman("start", host.name)
        host.wait_running(180)
        for unit in ("kafka", "lakefeed-archiver", "lakefeed-shipper"):
            wait_for(
                f"{unit} started at boot", lambda u=unit: unit_active(host, u), 180, every=POLL
            )
        wait_kafka_healthy(host, 300)
        sc.notes["healthy_after_boot_seconds"] = round(time.monotonic() - started, 1)


def test_archiver_and_shipper_sigkilled_ten_times(suite: Suite) -> None:
    host = suite.archiver_host
    rng = random.Random()
    before = {u: restarts(host, u) for u in ("lakefeed-archiver", "lakefeed-shipper")}
    with suite.scenario("archiver and shipper SIGKILLed 10 times at random points"):
        for _ in range(10):
            for unit in before:
                wait_for(f"{unit} running again", lambda u=unit: unit_active(host, u), 60, 0.5)
            time.sleep(rng.uniform(0.5, 5))
            host.exec("systemctl", "kill", "--signal=SIGKILL", "lakefeed-archiver")
            time.sleep(rng.uniform(0, 3))
            host.exec("systemctl", "kill", "--signal=SIGKILL", "lakefeed-shipper")
        for unit in before:
            wait_for(f"{unit} running again", lambda u=unit: unit_active(host, u), 60, 0.5)
    for unit, n in before.items():
        assert restarts(host, unit) == n + 10, f"{unit} was not restarted after each SIGKILL"


def test_s3_down_then_back(suite: Suite) -> None:
    host = suite.archiver_host
    with suite.scenario(f"S3 endpoint down for {S3_DOWN:.0f}s") as sc:
        suite.s3.exec("systemctl", "stop", "minio")
        peak = 0
        until = time.monotonic() + S3_DOWN
        while time.monotonic() < until:
            peak = max(peak, spool_files(host)["ready"])
            time.sleep(5)
        suite.s3.exec("systemctl", "start", "minio")
        sc.notes["spool_peak_ready_files"] = peak
    assert peak > 0, "the spool did not absorb anything while S3 was down"
    wait_for("the spool drained", lambda: spool_files(host)["ready"] == 0, 120, every=POLL)


def test_s3_answering_errors_at_random(suite: Suite) -> None:
    """500 InternalError, 503 SlowDown/ServiceUnavailable on 30% of requests, and 10% of
    successful writes answered with a 500 after they happened."""
    s3 = suite.s3
    podman("cp", str(S3_FAULTS), f"{s3.name}:/usr/local/lib/s3_faults.py")
    with suite.scenario(f"S3 answering 500/503/SlowDown at random for {STORM:.0f}s") as sc:
        s3.exec("systemctl", "stop", "minio")
        try:
            s3.exec(
                "systemd-run",
                "--unit=faults-minio",
                "--property=EnvironmentFile=/etc/default/minio",
                "/usr/local/bin/minio",
                "server",
                "/var/lib/minio",
                "--quiet",
                "--address",
                "127.0.0.1:9002",
                "--console-address",
                "127.0.0.1:9003",
            )
            s3.exec(
                "systemd-run",
                "--unit=faults-s3-proxy",
                "/usr/bin/python3",
                "/usr/local/lib/s3_faults.py",
                "--listen",
                "9000",
                "--upstream",
                "127.0.0.1:9002",
                "--stats",
                "/run/s3-faults.json",
            )
            time.sleep(STORM)
            stats = json.loads(s3.exec("cat", "/run/s3-faults.json", check=False).stdout or "{}")
        finally:
            s3.exec("systemctl", "stop", "faults-s3-proxy", "faults-minio", check=False)
            s3.exec("systemctl", "start", "minio")
        sc.notes["s3_requests"] = stats
    injected = sum(n for k, n in stats.items() if not k.startswith("forwarded"))
    assert injected > 0, f"the storm injected nothing: {stats}"


def _archiver_health(host: LabHost) -> dict[str, Any]:
    out = host.exec("curl", "-s", "127.0.0.1:9102/healthz", check=False).stdout
    return json.loads(out) if out.startswith("{") else {"problems": {"unreachable": out}}


def test_spool_disk_filling_up(suite: Suite) -> None:
    """Below archiver_min_free_bytes the archiver stops consuming (Kafka keeps the
    records); it must not crash, corrupt or drop, and it resumes once there is room."""
    host = suite.archiver_host
    disk = suite.lab.spool_disk
    filler = disk.mountpoint / "fault-filler"
    crashes = restarts(host, "lakefeed-archiver")
    with suite.scenario("spool disk full (below archiver_min_free_bytes)") as sc:
        since = time.time()
        st = os.statvfs(disk.mountpoint)
        free = st.f_bavail * st.f_frsize
        leave = 32 * 1024 * 1024  # half the lab's archiver_min_free_bytes
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            os.posix_fallocate(fd, 0, free - leave)
            filled = time.monotonic()
            try:
                wait_for(
                    "the archiver reports the full spool and pauses",
                    lambda: "min_free_bytes" in journal_since(host, "lakefeed-archiver", since),
                    90,
                    every=0.5,
                )
            except AssertionError as exc:
                log = journal_since(host, "lakefeed-archiver", since)[-2000:]
                raise AssertionError(f"{exc}\nhealthz: {_archiver_health(host)}\n{log}") from None
            sc.notes["paused_after_seconds"] = round(time.monotonic() - filled, 1)
            health = _archiver_health(host)
            assert "spool" in health["problems"], health
            time.sleep(20)
            # Kafka holds what the archiver does not take: acknowledged, not in the lake.
            suite.lake.refresh()
            missing = len(suite.lake.missing(suite.feed.ids[: suite.feed.acknowledged()]))
            sc.notes["records_waiting_in_kafka"] = missing
        finally:
            os.close(fd)
            filler.unlink()
    assert missing > 0, "the archiver kept writing to a full spool"
    wait_for(
        "the archiver healthy again", lambda: not _archiver_health(host)["problems"], 60, every=POLL
    )
    assert restarts(host, "lakefeed-archiver") == crashes, "the archiver crashed on a full spool"


def test_every_acknowledged_record_landed_exactly_once(suite: Suite) -> None:
    feed, lake = suite.feed, suite.lake
    feed.stop()  # SIGTERM: the last batch acknowledged, then the checkpoint written
    sent = feed.acknowledged()
    wait_for(
        "every acknowledged record in the lake", lambda: suite.landed(sent), CATCH_UP, every=POLL
    )
    wait_for(
        "no file left unshipped in the spool",
        lambda: spool_files(suite.archiver_host) == {"writing": 0, "ready": 0},
        120,
        every=POLL,
    )
    lake.refresh()
    assert not lake.conflicts, lake.conflicts[:5]
    assert not lake.missing(feed.ids[:sent])
    resent = [i for i in feed.ids[:sent] if lake.ids[i] > 1]
    assert not resent, f"{len(resent)} records at two offsets (after dedup), e.g. {resent[:3]}"
    assert restarts(feed.host, feed.unit) == 0, "the collector crashed during the faults"

    reasons = sorted(d["reason"].split(":")[0] for d in feed.dead_letters())
    assert reasons == ["invalid JSON", "no id at 'data.id'", "oversize"], reasons

    # `lakefeed query` over the same lake, with the view Athena runs: per topic, each
    # record once, and every line of every copy in the topic's lines table.
    catalog = suite.lab.catalog()
    assert catalog.topics == sorted({t for t, _, _ in lake.copies}), catalog.topics
    for topic in catalog.topics:
        table = table_name(topic)
        _, [(records, lines)] = catalog.sql(
            f"SELECT (SELECT count(*) FROM {table}), (SELECT count(*) FROM {table}_lines)"  # noqa: S608
        )
        copies = [n for (t, _, _), n in lake.copies.items() if t == topic]
        assert (records, lines) == (len(copies), sum(copies)), topic

    # `lakefeed compact` over the same lake, duplicates and all: each record the reader
    # found, once, in the Parquet objects; the same count as the view; a second run
    # finds every hour's object holding its rows already and writes nothing.
    runs = suite.lab.target.state / "compact.jsonl"
    for written in (None, 0):
        assert suite.lab.compact(open_hours=True) == 0
        run = json.loads(runs.read_text().splitlines()[-1])
        assert run["result"] == "ok" and run["records"] == len(lake.copies), run
        assert written is None or run["written"] == written, run
    catalog = suite.lab.catalog()
    assert catalog.compacted == catalog.topics, catalog.compacted
    for topic in catalog.topics:
        table = table_name(topic)
        _, got = catalog.sql(f"SELECT kafka_partition, kafka_offset FROM {table}_compacted")  # noqa: S608
        want = sorted((p, o) for t, p, o in lake.copies if t == topic)
        assert sorted(got) == want, topic
        _, [(view, compacted)] = catalog.sql(
            f"SELECT (SELECT count(*) FROM {table}), (SELECT count(*) FROM {table}_compacted)"  # noqa: S608
        )
        assert view == compacted == len(want), topic

    rows = RESULTS.table(feed, lake)
    RESULTS.totals = {
        "rate_records_per_second": RATE,
        "sent": sent,
        "landed": sum(1 for i in feed.ids[:sent] if i in lake.ids),
        "duplicate_copies_before_dedup": sum(n - 1 for n in lake.copies.values() if n > 1),
        "objects": lake.objects,
        "dead_letters": reasons,
        "scenarios": rows,
    }
    for row in rows:
        assert row["landed"] == row["sent"], row
