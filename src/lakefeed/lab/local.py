"""Real servers as local processes: an Apache Kafka broker (KRaft) and a MinIO S3 endpoint.

Used by the test suite, the benchmarks and the lab's S3 endpoint. Both are the real
programs (Kafka's jars from Maven Central run with `java`, MinIO built from source by
scripts/fetch-minio), bound to loopback or to an address the caller names.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

from lakefeed.errors import LakefeedError

logger = logging.getLogger(__name__)


def fetched(root: Path, script: str) -> Path:
    """Run one of the checkout's fetch/build scripts (cached, idempotent): the path it prints."""
    proc = subprocess.run(
        [str(root / "scripts" / script)], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise LakefeedError(f"scripts/{script} failed: {proc.stderr.strip()[-2000:]}")
    return Path(proc.stdout.strip().splitlines()[-1])


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _wait(
    predicate: Any, timeout: float, what: str, proc: subprocess.Popen[bytes], log: Path
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{what} exited with {proc.returncode} while starting:\n{tail}")
        if predicate():
            return
        time.sleep(0.2)
    raise TimeoutError(f"{what} not ready after {timeout:.0f}s; see {log}")


def _stop(proc: subprocess.Popen[bytes] | None, timeout: float = 30.0) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class LocalKafka:
    """One combined broker+controller node in KRaft mode, with a dynamic quorum of one."""

    def __init__(self, kafka_home: Path, workdir: Path, heap: str = "768m") -> None:
        self.home = kafka_home
        self.workdir = workdir
        self.heap = heap
        self.port = free_port()
        self.controller_port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = workdir / "broker.log"
        self._log_from = 0
        self.props = workdir / "server.properties"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def java(self, main: str, *args: str, heap: str = "256m") -> list[str]:
        return [
            "java",
            f"-Xmx{heap}",
            f"-Dlog4j2.configurationFile={self.home / 'log4j2.properties'}",
            "-cp",
            f"{self.home / 'libs'}/*",
            main,
            *args,
        ]

    def _write_config(self) -> None:
        data = self.workdir / "data"
        self.props.write_text(
            "\n".join(
                [
                    "process.roles=broker,controller",
                    "node.id=1",
                    f"controller.quorum.bootstrap.servers=127.0.0.1:{self.controller_port}",
                    f"listeners=PLAINTEXT://127.0.0.1:{self.port},"
                    f"CONTROLLER://127.0.0.1:{self.controller_port}",
                    f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.port}",
                    "controller.listener.names=CONTROLLER",
                    "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
                    f"log.dirs={data}",
                    "num.partitions=3",
                    "offsets.topic.replication.factor=1",
                    "offsets.topic.num.partitions=3",
                    "transaction.state.log.replication.factor=1",
                    "transaction.state.log.min.isr=1",
                    "share.coordinator.state.topic.replication.factor=1",
                    "share.coordinator.state.topic.min.isr=1",
                    "group.initial.rebalance.delay.ms=0",
                    "auto.create.topics.enable=false",
                    "",
                ]
            )
        )

    def format(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._write_config()
        cluster_id = (
            subprocess.run(
                self.java("kafka.tools.StorageTool", "random-uuid"),
                check=True,
                capture_output=True,
                text=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        subprocess.run(
            self.java(
                "kafka.tools.StorageTool",
                "format",
                "-t",
                cluster_id,
                "-c",
                str(self.props),
                "--standalone",
                "--ignore-formatted",
            ),
            check=True,
            capture_output=True,
        )

    def start(self, timeout: float = 90.0) -> LocalKafka:
        if not self.props.exists():
            self.format()
        log = self.log.open("ab")
        self._log_from = log.tell()
        self.proc = subprocess.Popen(
            self.java("kafka.Kafka", str(self.props), heap=self.heap),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        _wait(self._ready, timeout, "Kafka broker", self.proc, self.log)
        return self

    def _ready(self) -> bool:
        # Only what this start wrote counts: the log keeps earlier runs above it.
        with self.log.open("rb") as f:
            f.seek(self._log_from)
            return b"Kafka Server started" in f.read()

    def kill(self) -> None:
        """SIGKILL: the broker gets no chance to flush or shut down cleanly."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def restart(self) -> None:
        self.stop()
        self.start()

    def stop(self) -> None:
        _stop(self.proc)

    def create_topic(self, name: str, partitions: int = 3, **configs: str) -> None:
        from kafka.admin import KafkaAdminClient, NewTopic  # noqa: PLC0415 - tests only

        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap)
        try:
            admin.create_topics(
                [
                    NewTopic(
                        name,
                        partitions,
                        1,
                        topic_configs={k.replace("_", "."): v for k, v in configs.items()},
                    )
                ]
            )
        finally:
            admin.close()


class LocalS3:
    """A MinIO server with generated credentials; `stop()` and `start()` keep the data."""

    def __init__(self, binary: Path, workdir: Path, host: str = "127.0.0.1") -> None:
        self.binary = binary
        self.workdir = workdir
        self.host = host
        self.port = free_port(host)
        self.console_port = free_port(host)
        self.access_key = "lf" + secrets.token_hex(8)
        self.secret_key = secrets.token_urlsafe(24)
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = workdir / "minio.log"

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.endpoint}/minio/health/ready", timeout=1) as r:  # noqa: S310
                return r.status == 200
        except OSError:
            return False

    def start(self, timeout: float = 60.0) -> LocalS3:
        (self.workdir / "data").mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "MINIO_ROOT_USER": self.access_key,
            "MINIO_ROOT_PASSWORD": self.secret_key,
            "MINIO_BROWSER": "off",
            "MINIO_UPDATE": "off",
        }
        log = self.log.open("ab")
        self.proc = subprocess.Popen(
            [
                str(self.binary),
                "server",
                str(self.workdir / "data"),
                "--quiet",
                "--address",
                f"{self.host}:{self.port}",
                "--console-address",
                f"{self.host}:{self.console_port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        log.close()
        _wait(self._ready, timeout, "MinIO", self.proc, self.log)
        return self

    def stop(self) -> None:
        _stop(self.proc)

    def client(self) -> Any:
        import boto3  # noqa: PLC0415 - only callers that talk to S3 pay for the import

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
        )
