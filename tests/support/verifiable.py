"""Kafka's VerifiableProducer and VerifiableConsumer on a lab host, as in Kafka's own
rolling-bounce system tests: records flow through a change or a fault, and afterwards
every acknowledged record must be consumable (none lost)."""

from __future__ import annotations

import json
import subprocess
import threading

from lakefeed.lab.hosts import LabHost
from tests.support.faults import KAFKA_TOOL, POLL
from tests.support.waiting import wait_for


class Output:
    """A process's stdout lines, read on a thread as they come."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    def close(self) -> None:
        self.proc.wait(timeout=60)
        self.thread.join(timeout=10)
        assert self.proc.stdout is not None
        self.proc.stdout.close()

    def events(self, name: str) -> list[dict[str, object]]:
        out = []
        for line in list(self.lines):
            if line.startswith("{") and f'"{name}"' in line:
                out.append(json.loads(line))
        return out


def java_tool(host: LabHost, main: str, *args: str) -> Output:
    cmd = f"exec {KAFKA_TOOL} {main} {' '.join(args)} 2>/dev/null"
    proc = subprocess.Popen(
        ["podman", "exec", host.name, "sh", "-c", cmd],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    return Output(proc)


class VerifiableLoad:
    """start() creates the topic (3 replicas, min ISR 2) and starts both tools on `host`;
    finish() stops the producer, waits until the consumer has every acknowledged record
    (or fails naming how many are missing) and returns the counts."""

    def __init__(self, host: LabHost, brokers: list[LabHost], topic: str, rate: int = 50):
        self.host = host
        self.bootstrap = ",".join(f"{h.hostname}:9092" for h in brokers)
        self.topic = topic
        self.rate = rate
        self.producer: Output | None = None
        self.consumer: Output | None = None

    def start(self) -> None:
        self.host.exec(
            "sh",
            "-c",
            f"{KAFKA_TOOL} org.apache.kafka.tools.TopicCommand --bootstrap-server "
            f"{self.bootstrap} --create --if-not-exists --topic {self.topic} --partitions 3 "
            "--replication-factor 3 --config min.insync.replicas=2",
            timeout=120,
        )
        self.consumer = java_tool(
            self.host,
            "org.apache.kafka.tools.VerifiableConsumer",
            f"--bootstrap-server {self.bootstrap} --topic {self.topic}",
            f"--group-id {self.topic}-verifiable --reset-policy earliest --verbose",
        )
        self.producer = java_tool(
            self.host,
            "org.apache.kafka.tools.VerifiableProducer",
            f"--bootstrap-server {self.bootstrap} --topic {self.topic} --acks -1",
            f"--throughput {self.rate} --max-messages 10000000",
        )

    def acked(self) -> set[tuple[object, object]]:
        assert self.producer is not None
        return {
            (e["partition"], e["offset"]) for e in self.producer.events("producer_send_success")
        }

    def stop(self) -> None:
        """Both tools gone, whatever happened (safe to call twice)."""
        for tool, output in (
            ("VerifiableProducer", self.producer),
            ("VerifiableConsumer", self.consumer),
        ):
            self.host.exec("pkill", "-f", tool, check=False)
            if output is not None and output.proc.returncode is None:
                output.close()

    def finish(self, timeout: float = 120) -> dict[str, int]:
        assert self.producer is not None and self.consumer is not None
        self.host.exec("pkill", "-f", "VerifiableProducer", check=False)
        self.producer.close()
        acked = self.acked()
        errors = len(self.producer.events("producer_send_error"))
        consumer = self.consumer

        def consumed() -> set[tuple[object, object]]:
            return {(e["partition"], e["offset"]) for e in consumer.events("record_data")}

        try:
            wait_for(
                f"VerifiableConsumer has every acknowledged record of {self.topic}",
                lambda: acked <= consumed(),
                timeout,
                every=POLL,
            )
        finally:
            lost = len(acked - consumed())
            self.stop()
        return {"acked": len(acked), "send_errors": errors, "lost": lost}
