"""Real servers as local processes: an Apache Kafka broker (KRaft) and a MinIO S3 endpoint.

Used by the test suite, the benchmarks and `lakefeed demo` (the lab's S3 is MinIO as a
systemd service on its S3 host, runner/lab.py). Both are the real
programs (Kafka's jars from Maven Central run with `java`, MinIO built from source by
scripts/fetch-minio), bound to loopback or to an address the caller names.

The broker can also run the way the kafka role runs it with `kafka_security: sasl_ssl`:
TLS with a throwaway CA made by `openssl`, SCRAM-SHA-512 logins on the client listener,
mutual TLS on the controller listener, users added when the storage is formatted.
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
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from lakefeed.errors import LakefeedError

logger = logging.getLogger(__name__)


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


SCRAM = "SCRAM-SHA-512"
AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
# What the kafka role's certificates carry, for a broker on loopback.
_CERT_EXTENSIONS = """\
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
"""


def _openssl(*args: str) -> None:
    proc = subprocess.run(["openssl", *args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise LakefeedError(f"openssl {args[0]} failed: {proc.stderr.strip()[-1000:]}")


class LocalKafka:
    """One combined broker+controller node in KRaft mode, with a dynamic quorum of one.

    `security="sasl_ssl"`: the client listener is SASL_SSL with SCRAM-SHA-512 (users:
    `admin`, for the broker itself and `create_topic`, plus `users`, name -> password),
    the controller listener SSL with client certificates required, and the
    StandardAuthorizer: `users` get nothing until ACLs grant it. `jvm_options` go to the
    broker's JVM (a java agent, for example).
    """

    def __init__(
        self,
        kafka_home: Path,
        workdir: Path,
        heap: str = "768m",
        security: Literal["plaintext", "sasl_ssl"] = "plaintext",
        users: dict[str, str] | None = None,
        *,
        jvm_options: Sequence[str] = (),
    ) -> None:
        self.home = kafka_home
        self.jvm_options = list(jvm_options)
        self.workdir = workdir
        self.heap = heap
        self.security = security
        self.users = dict(users or {})
        self.admin_password = secrets.token_urlsafe(24)
        self.port = free_port()
        self.controller_port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = workdir / "broker.log"
        self._log_from = 0
        self.props = workdir / "server.properties"
        self.tls = workdir / "tls"
        self.jaas = workdir / "kafka_server_jaas.conf"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def ca_file(self) -> Path:
        """The CA that signed the broker's certificate (PEM), for clients' `ssl_cafile`."""
        return self.tls / "ca.pem"

    def client_kwargs(self, user: str = "admin", password: str | None = None) -> dict[str, Any]:
        """kafka-python arguments for `user` (its own password unless `password` is given)."""
        kwargs: dict[str, Any] = {"bootstrap_servers": self.bootstrap}
        if self.security == "sasl_ssl":
            if password is None:
                password = self.admin_password if user == "admin" else self.users[user]
            kwargs.update(
                security_protocol="SASL_SSL",
                ssl_cafile=str(self.ca_file),
                sasl_mechanism=SCRAM,
                sasl_plain_username=user,
                sasl_plain_password=password,
            )
        return kwargs

    def command_config(self) -> Path:
        """Client properties of the `admin` login (a super user) for Kafka's tools, as the
        kafka role's client-admin.properties (mode 0600)."""
        path = self.workdir / "client-admin.properties"
        if not path.exists():
            path.touch(mode=0o600)
            path.write_text(
                "security.protocol=SASL_SSL\n"
                f"sasl.mechanism={SCRAM}\n"
                "ssl.truststore.type=PEM\n"
                f"ssl.truststore.location={self.ca_file}\n"
                "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule "
                f'required username="admin" password="{self.admin_password}";\n'
            )
        return path

    def _make_tls(self) -> None:
        """A throwaway CA and the broker's key and certificate, as the kafka role lays them
        out: an unencrypted PKCS#8 key and its certificate in one PEM keystore."""
        t = self.tls
        t.mkdir(mode=0o700, parents=True, exist_ok=True)
        _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                 "-out", str(t / "ca.key"))  # fmt: skip
        _openssl("req", "-x509", "-new", "-key", str(t / "ca.key"), "-sha256", "-days", "2",
                 "-subj", "/CN=lakefeed test Kafka CA",
                 "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                 "-out", str(self.ca_file))  # fmt: skip
        _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                 "-out", str(t / "node.key"))  # fmt: skip
        _openssl("req", "-new", "-key", str(t / "node.key"), "-subj", "/CN=localhost",
                 "-out", str(t / "node.csr"))  # fmt: skip
        (t / "node.ext").write_text(_CERT_EXTENSIONS)
        _openssl("x509", "-req", "-in", str(t / "node.csr"), "-CA", str(self.ca_file),
                 "-CAkey", str(t / "ca.key"), "-CAcreateserial", "-days", "2", "-sha256",
                 "-extfile", str(t / "node.ext"), "-out", str(t / "node.crt"))  # fmt: skip
        keystore = t / "keystore.pem"
        keystore.write_bytes((t / "node.key").read_bytes() + (t / "node.crt").read_bytes())
        keystore.chmod(0o600)
        # The broker's own SCRAM login (inter-broker traffic), kept out of server.properties.
        self.jaas.write_text(
            "sasl_ssl.KafkaServer {\n"
            f"  org.apache.kafka.common.security.scram.ScramLoginModule required\n"
            f'  username="admin" password="{self.admin_password}";\n'
            "};\n"
        )
        self.jaas.chmod(0o600)

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

    def _listener_lines(self) -> list[str]:
        ports = f"://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}"
        if self.security == "plaintext":
            return [
                f"listeners=PLAINTEXT{ports}",
                f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.port}",
                "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            ]
        return [
            f"listeners=SASL_SSL{ports}",
            f"advertised.listeners=SASL_SSL://127.0.0.1:{self.port}",
            "listener.security.protocol.map=CONTROLLER:SSL,SASL_SSL:SASL_SSL",
            "inter.broker.listener.name=SASL_SSL",
            f"sasl.enabled.mechanisms={SCRAM}",
            f"sasl.mechanism.inter.broker.protocol={SCRAM}",
            "ssl.keystore.type=PEM",
            f"ssl.keystore.location={self.tls / 'keystore.pem'}",
            "ssl.truststore.type=PEM",
            f"ssl.truststore.location={self.ca_file}",
            "listener.name.controller.ssl.client.auth=required",
            # Authorization as the kafka role sets it: nothing without an ACL, except the
            # broker's own login and any holder of a node certificate (the controller
            # listener admits only those, and names them all kafka-node).
            f"authorizer.class.name={AUTHORIZER}",
            "allow.everyone.if.no.acl.found=false",
            "super.users=User:admin;User:kafka-node",
            "listener.name.controller.ssl.principal.mapping.rules=RULE:^.*$/kafka-node/,DEFAULT",
        ]

    def _write_config(self) -> None:
        data = self.workdir / "data"
        self.props.write_text(
            "\n".join(
                [
                    "process.roles=broker,controller",
                    "node.id=1",
                    f"controller.quorum.bootstrap.servers=127.0.0.1:{self.controller_port}",
                    *self._listener_lines(),
                    "controller.listener.names=CONTROLLER",
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
        if self.security == "sasl_ssl":
            self._make_tls()
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
        args = ["format", "-t", cluster_id, "-c", str(self.props), "--standalone"]
        if self.security == "sasl_ssl":
            for name, pw in {"admin": self.admin_password, **self.users}.items():
                args += ["--add-scram", f"{SCRAM}=[name={name},iterations=8192,password={pw}]"]
        argfile = self.workdir / "format.args"
        # As the kafka role does: the passwords go in a java launcher @argfile (main class
        # and arguments), so they are not on a command line other users can read.
        argfile.touch(mode=0o600)
        argfile.write_text(
            "\n".join(f'"{a}"' for a in ["kafka.tools.StorageTool", *args, "--ignore-formatted"])
        )
        cmd = self.java("kafka.tools.StorageTool")
        cmd[-1] = f"@{argfile}"
        try:
            subprocess.run(cmd, check=True, capture_output=True)
        finally:
            argfile.unlink(missing_ok=True)

    def start(self, timeout: float = 90.0) -> LocalKafka:
        if not self.props.exists():
            self.format()
        log = self.log.open("ab")
        self._log_from = log.tell()
        cmd = self.java("kafka.Kafka", str(self.props), heap=self.heap)
        cmd[1:1] = self.jvm_options
        if self.security == "sasl_ssl":
            cmd.insert(1, f"-Djava.security.auth.login.config={self.jaas}")
        self.proc = subprocess.Popen(
            cmd,
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

    def stop(self) -> None:
        _stop(self.proc)

    def create_topic(self, name: str, partitions: int = 3, **configs: str) -> None:
        from kafka.admin import KafkaAdminClient, NewTopic  # noqa: PLC0415 - tests only

        admin = KafkaAdminClient(**self.client_kwargs())
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

    def shipper_s3(self, bucket: str, prefix: str, secrets_dir: Path) -> dict[str, Any]:
        """The shipper's `s3` config for this server: path-style addressing, the keys in
        files `s3-access` and `s3-secret` (mode 0600) written under `secrets_dir`."""
        secrets_dir.mkdir(parents=True, exist_ok=True)
        files = {}
        for name, value in (("s3-access", self.access_key), ("s3-secret", self.secret_key)):
            path = secrets_dir / name
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.fchmod(fd, 0o600)  # also when the file was there with a wider mode
                os.write(fd, value.encode())
            finally:
                os.close(fd)
            files[name] = str(path)
        return {
            "bucket": bucket,
            "prefix": prefix,
            "endpoint_url": self.endpoint,
            "region": "us-east-1",
            "addressing_style": "path",
            "access_key": {"file": files["s3-access"]},
            "secret_key": {"file": files["s3-secret"]},
        }

    def client(self) -> Any:
        import boto3  # noqa: PLC0415 - only callers that talk to S3 pay for the import

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
        )
