"""`lakefeed up|down --env lab`: the whole cluster on this machine, on systemd containers.

Provision (three Debian systemd hosts and an S3 host running MinIO, on a private Podman
network) -> inventory (hosts, generated paths, the S3 credentials in ansible-vault) ->
configure (site.yml through ansible-runner) -> smoke check (the replayed sample appears
in the lake bucket). Running it again changes nothing and restarts nothing.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, TextIO

import yaml
from botocore.exceptions import BotoCoreError, ClientError

from lakefeed import compact, lake, query
from lakefeed.errors import LakefeedError
from lakefeed.fetch import Fetch, fetched, kafka_archive
from lakefeed.lab import hosts
from lakefeed.query import LocalCatalog
from lakefeed.runner import fingerprint, wheelhouse
from lakefeed.runner.ansible import PlayResult, ansible_env, deploy, project_root
from lakefeed.runner.rollout import RolloutLocked, lock, utc_now
from lakefeed.runner.targets import target

logger = logging.getLogger(__name__)

PREFIX = "lf-lab"
GROUPS = {"kafka": 3, "s3": 1}
BUCKET = "lakefeed-lab"
# Its name for the catalog: the database is lakefeed_lab_lake, as lakefeed-dev's on AWS
# is lakefeed_dev_lake.
LAB_CLUSTER = "lakefeed-lab"
S3_PORT = 9000
# The archiver's and shipper's spool (lakefeed_spool_dir in roles/lakefeed/defaults).
SPOOL_DIR = "/var/spool/lakefeed"
SPOOL_DISK_MIB = 256


class LabRunner:
    def __init__(
        self,
        out: TextIO = sys.stderr,
        prefix: str = PREFIX,
        state: Path | None = None,
        root: Path | None = None,
    ) -> None:
        # The checkout deployed: this one, unless another is given (the tests' lab starts
        # from a copy pinned to an older Kafka, which the change matrix upgrades).
        self.root = root or project_root()
        self.target = target("lab", self.root, state)
        self.out = out
        self.prefix = prefix
        self.lab = hosts.Lab(prefix, GROUPS)
        # The archiver's spool on a disk of its own, as on AWS (the data volume): small
        # enough that a full disk is a thing the fault suite can make happen.
        self.spool_disk = hosts.LoopDisk(self.target.state / "disks" / "spool.img", SPOOL_DISK_MIB)
        self.started = time.monotonic()
        self.summary: dict[str, Any] = {}
        # MinIO's binary, when `up` started fetching it (start_s3 waits for it).
        self.minio: Fetch | None = None

    def say(self, text: str) -> None:
        self.out.write(f"[{time.monotonic() - self.started:6.0f}s] {text}\n")
        self.out.flush()

    # --- secrets ---------------------------------------------------------------------

    def _vault(self, *args: str, data: str | None = None) -> str:
        proc = subprocess.run(
            [str(Path(sys.executable).parent / "ansible-vault"), *args],
            input=data,
            capture_output=True,
            text=True,
            check=False,
            env=ansible_env(self.target.own_vault_password),
        )
        if proc.returncode != 0:
            raise LakefeedError(f"ansible-vault {args[0]} failed: {proc.stderr.strip()}")
        return proc.stdout

    def s3_credentials(self) -> dict[str, str]:
        """Generated once, kept in ansible-vault (the password file is 0600 in .lab/)."""
        self.target.state.mkdir(mode=0o700, parents=True, exist_ok=True)
        password = self.target.own_vault_password
        if not password.exists():
            fd = os.open(password, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(32) + "\n")
        if self.target.vault_file.exists():
            data = yaml.safe_load(self._vault("view", str(self.target.vault_file)))
            return {
                "access": data["shipper_s3_access_key"],
                "secret": data["shipper_s3_secret_key"],
            }
        creds = {"access": "lakefeed" + secrets.token_hex(6), "secret": secrets.token_urlsafe(30)}
        plain = yaml.safe_dump(
            {"shipper_s3_access_key": creds["access"], "shipper_s3_secret_key": creds["secret"]}
        )
        self.target.vault_file.parent.mkdir(parents=True, exist_ok=True)
        self._vault("encrypt", "--output", str(self.target.vault_file), "-", data=plain)
        return creds

    # --- provision ---------------------------------------------------------------------

    def provision(self) -> None:
        self.say("preparing Podman and the Debian systemd host image (cached after once)")
        hosts.ensure_prereqs(self.root / "scripts" / "lab-hosts-setup")
        spool = self.spool_disk.ensure()
        self.archiver_host.extra_args += ["--volume", f"{spool}:{SPOOL_DIR}"]
        self.say(f"starting hosts {', '.join(h.name for h in self.lab.hosts)}")
        self.lab.up(timeout=180)

    @property
    def archiver_host(self) -> hosts.LabHost:
        """The host of the archiver and the shipper (the collector runs on the first)."""
        return self.lab.groups["kafka"][1]

    def start_s3(self, creds: dict[str, str]) -> str:
        """MinIO as a systemd service on the S3 host; returns its endpoint URL."""
        host = self.lab.groups["s3"][0]
        if self.minio is None:
            binary = fetched(self.root, "fetch-minio")
        else:
            if self.minio.running:
                took = time.monotonic() - self.minio.started
                self.say(
                    f"waiting for MinIO's build, started {took:.0f}s ago "
                    "(about 6 minutes on a first run; cached after)"
                )
            binary = self.minio.path()
        if host.exec("test", "-x", "/usr/local/bin/minio", check=False).returncode != 0:
            hosts.podman("cp", str(binary), f"{host.name}:/usr/local/bin/minio")
        host.exec("mkdir", "-p", "/var/lib/minio")
        env = (
            f"MINIO_ROOT_USER={creds['access']}\nMINIO_ROOT_PASSWORD={creds['secret']}\n"
            "MINIO_BROWSER=off\nMINIO_UPDATE=off\n"
        )
        host.exec("sh", "-c", "umask 077 && cat > /etc/default/minio", input=env)
        unit = (
            "[Unit]\nDescription=MinIO, the lab's S3 endpoint\nAfter=network-online.target\n\n"
            "[Service]\nEnvironmentFile=/etc/default/minio\n"
            f"ExecStart=/usr/local/bin/minio server /var/lib/minio --quiet "
            f"--address :{S3_PORT} --console-address 127.0.0.1:9001\n"
            "Restart=on-failure\n\n[Install]\nWantedBy=multi-user.target\n"
        )
        host.exec("sh", "-c", "cat > /etc/systemd/system/minio.service", input=unit)
        host.exec("systemctl", "daemon-reload")
        host.exec("systemctl", "enable", "--now", "minio")
        endpoint = f"http://{host.hostname}:{S3_PORT}"
        client = self.s3_client(creds)
        deadline = time.monotonic() + 60
        while True:
            try:
                client.head_bucket(Bucket=BUCKET)
                break
            except (ClientError, BotoCoreError) as exc:
                code = getattr(exc, "response", {}).get("Error", {}).get("Code")
                if code in ("404", "NoSuchBucket"):
                    client.create_bucket(Bucket=BUCKET)
                    break
                if time.monotonic() > deadline:
                    raise LakefeedError(f"the lab's MinIO did not answer: {exc}") from exc
                time.sleep(1)
        self.say(f"S3 endpoint {endpoint} up, bucket {BUCKET}")
        return endpoint

    def s3_client(self, creds: dict[str, str]) -> Any:
        import boto3  # noqa: PLC0415

        host = self.lab.groups["s3"][0]
        return boto3.client(
            "s3",
            endpoint_url=f"http://{host.ip()}:{S3_PORT}",
            region_name="us-east-1",
            aws_access_key_id=creds["access"],
            aws_secret_access_key=creds["secret"],
        )

    # --- inventory -------------------------------------------------------------------

    def write_inventory(
        self, endpoint: str, wheels: Path, kafka_archive: str, jmx_agent: Path
    ) -> None:
        inv = self.lab.inventory()
        children = inv["all"]["children"]
        kafka_hosts = list(children["kafka"]["hosts"])
        for i, name in enumerate(kafka_hosts, start=1):
            # Three "availability zones", so replicas spread as they would on AWS.
            children["kafka"]["hosts"][name].update(
                {"kafka_node_id": i, "kafka_broker_rack": f"lab-{chr(96 + i)}"}
            )
        children["collector"] = {"hosts": {kafka_hosts[0]: {}}}
        children["archiver"] = {"hosts": {self.archiver_host.hostname: {}}}
        children["shipper"] = {"hosts": {self.archiver_host.hostname: {}}}
        # Prometheus beside MinIO, on a host of no other group: it watches the cluster
        # from outside, as a monitoring host should.
        children["monitoring"] = {"hosts": {self.lab.groups["s3"][0].hostname: {}}}
        self.target.generated_vars.parent.mkdir(parents=True, exist_ok=True)
        self.target.hosts_file.write_text(
            "# Written by `lakefeed up --env lab`; removed by `lakefeed down`.\n"
            + yaml.safe_dump(inv, sort_keys=False)
        )
        generated = {
            "kafka_local_archive": kafka_archive,
            "kafka_jmx_exporter_local_jar": str(jmx_agent),
            "lakefeed_wheelhouse": str(wheels),
            "shipper_s3_endpoint_url": endpoint,
        }
        self.target.generated_vars.write_text(
            "# Written by `lakefeed up --env lab` (paths on this machine).\n"
            + yaml.safe_dump(generated, sort_keys=False)
        )

    # --- the whole thing ---------------------------------------------------------------

    def configure(self, wheel: Path) -> PlayResult:
        self.say("configuring with site.yml (progress below; events in .lab/events.jsonl)")
        # Recorded on the hosts at the end, so a later `lakefeed rollout` of an unchanged
        # checkout knows there is nothing to do.
        t = self.target
        record = fingerprint.desired(self.root, t.inventories, wheel, t.vault_password_file)
        result = deploy(t, record, out=self.out)
        if not result.ok:
            raise LakefeedError(
                "site.yml failed:\n  " + "\n  ".join(result.failures or [result.status])
            )
        self.say(f"site.yml done in {result.seconds:.0f}s: changed={result.changed}")
        return result

    def smoke(self, creds: dict[str, str], timeout: float = 300) -> None:
        """Wait until every line of the sample is in the lake (after dedup by offset)."""
        found = lake.wait_for(
            self.s3_client(creds),
            BUCKET,
            "",
            lake.sample_records(self.root),
            timeout=timeout,
            say=self.say,
            hint="see `lakefeed status` and journalctl -u lakefeed-* on the lab hosts",
        )
        self.say(
            f"the sample landed in s3://{BUCKET}/ ({self.lab.groups['s3'][0].ip()}:{S3_PORT}):"
        )
        for prefix, records in sorted(found.by_prefix().items()):
            self.out.write(f"         {prefix}/  {records} records\n")

    def up(self) -> int:
        # The longest first-run step (compiling MinIO, ~6 min) goes beside the rest: the
        # Kafka jars, the wheelhouse, the host image and the hosts (~5 min on a first run).
        self.minio = Fetch(self.root, "fetch-minio")
        self.say("MinIO, the lab's S3: fetched in the background (built from source once)")
        version = fingerprint.kafka_version(self.root, self.target.inventories)
        self.say(f"Kafka {version} from Maven Central's jars (a few minutes the first time)")
        archive, archive_value = kafka_archive(self.root, version)
        self.say(f"Kafka archive {archive.name}")
        jmx_agent = fetched(self.root, "fetch-jmx-exporter")
        wheels = self.target.wheelhouse
        wheel = wheelhouse.build(self.root, wheels, wheelhouse.this_machine())
        self.say(f"wheelhouse {wheels} ({wheel.name})")
        self.provision()
        creds = self.s3_credentials()
        endpoint = self.start_s3(creds)
        self.write_inventory(endpoint, wheels, archive_value, jmx_agent)
        result = self.configure(wheel)
        self.smoke(creds)
        self.answer()
        monitor = self.lab.groups["s3"][0]
        self.say(
            f"Prometheus: http://{monitor.ip()}:9090/alerts (alerts), /targets (what it scrapes)"
        )
        self.summary = summary = {
            "env": "lab",
            "hosts": len(self.lab.hosts),
            "changed": result.changed,
            "site_seconds": round(result.seconds, 1),
            "seconds": round(time.monotonic() - self.started, 1),
        }
        self.out.write(json.dumps(summary) + "\n")
        return 0

    def answer(self) -> None:
        """The lake answers in SQL, as Athena's catalog would (`lakefeed query`)."""
        catalog = self.catalog()
        for topic in catalog.topics:
            table = query.table_name(topic)
            for sql in (
                f"SELECT year, month, day, hour, count(*) AS records FROM {table} "  # noqa: S608
                "GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4",
                f"SELECT source, count(*) AS records FROM {table} "  # noqa: S608
                "GROUP BY source ORDER BY records DESC, source LIMIT 5",
            ):
                self.say(f'lakefeed query "{sql}"')
                self.out.write(query.render(*catalog.sql(sql)))

    def catalog(self, client: Any = None) -> LocalCatalog:
        """The lab's lake, mirrored here, with the AWS catalog's tables and views
        (database lakefeed_lab_lake; docs/query.md)."""
        if not self.target.vault_file.exists():
            raise LakefeedError("no lab here (no S3 keys in .lab/): run `lakefeed up` first")
        client = client or self.s3_client(self.s3_credentials())
        into = self.target.state / "lake-mirror"
        query.mirror(client, BUCKET, "", into, self.say)
        compacted = self.target.state / "compacted-mirror"
        where = compact.COMPACTED_PREFIX
        query.mirror(client, BUCKET, where, compacted, self.say, suffix=compact.PARQUET_SUFFIX)
        return LocalCatalog(
            self.root,
            into,
            BUCKET,
            query.database_name(LAB_CLUSTER),
            compacted=(compacted, f"s3://{BUCKET}/{where}"),
        )

    def compact(self, *, open_hours: bool = False, settle_minutes: int = 30) -> int:
        """`lakefeed compact` on the lab: each closed hour of its lake as Parquet under
        s3://lakefeed-lab/compacted/ (lakefeed.compact). One run at a time (a lock, exit
        75 when held); each run's JSON line goes to stdout and to .lab/compact.jsonl."""
        state = self.target.state
        started, start = time.monotonic(), utc_now()
        log = state / "compact.jsonl"
        try:
            with lock(state / "compact.lock", "compaction"):
                # One client: its keys are read from the vault, a subprocess of seconds.
                client = self.s3_client(self.s3_credentials())
                catalog = self.catalog(client)
                compact.refuse_clashing_topics(catalog.topics, compact.COMPACTED_PREFIX)
                run = compact.Compaction(
                    catalog,
                    client,
                    BUCKET,
                    state / "compact-staging",
                    settle_minutes=settle_minutes,
                    open_hours=open_hours,
                    say=self.say,
                ).run()
        except RolloutLocked as exc:
            compact.append_line(log, compact.record_line(started, start, "locked", error=str(exc)))
            raise
        except LakefeedError as exc:
            compact.append_line(log, compact.record_line(started, start, "failed", error=str(exc)))
            raise
        self.say(
            f"compacted {run.hours} hours ({run.records} records): {len(run.written)} written, "
            f"{run.unchanged} unchanged, {run.open_hours_skipped} not closed yet"
        )
        compact.append_line(
            log,
            compact.record_line(
                started,
                start,
                "ok",
                topics=catalog.topics,
                hours=run.hours,
                records=run.records,
                written=len(run.written),
                unchanged=run.unchanged,
                open_hours_skipped=run.open_hours_skipped,
                bytes_written=run.bytes_written,
            ),
        )
        return 0

    def down(self) -> int:
        self.say(f"removing the lab hosts and network ({self.prefix}-*)")
        self.lab.down()
        self.spool_disk.remove()
        shutil.rmtree(self.target.generated_inventory, ignore_errors=True)
        for mirror in ("lake-mirror", "compacted-mirror"):
            shutil.rmtree(self.target.state / mirror, ignore_errors=True)
        self.target.own_vault_password.unlink(missing_ok=True)
        self.say("lab removed (caches in ~/.cache/lakefeed are kept)")
        return 0
