"""`lakefeed up|plan|down --env aws`: Terraform, then the same playbooks as the lab.

Provision (terraform/envs/dev: network, hosts, lake bucket, instance profile) -> inventory
(the `inventory` output written as a static hosts file) -> wait for SSH -> configure
(site.yml) -> smoke check (`lakefeed status` green on every host).

Why a static hosts file rather than the amazon.aws.aws_ec2 inventory plugin: cron's
`lakefeed rollout` then needs no AWS credentials and no API call to know its hosts, the
file can be read and diffed, and node ids / racks are fixed at provision time instead of
being recomputed from tags on every run (a reordered API answer must never renumber a
Kafka node).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, TextIO

import yaml

from lakefeed.errors import ConfigError, LakefeedError
from lakefeed.fetch import fetched
from lakefeed.fetch import kafka_archive as local_kafka_archive
from lakefeed.runner import fingerprint, status, wheelhouse
from lakefeed.runner.ansible import deploy, run_playbook
from lakefeed.runner.targets import Target
from lakefeed.runner.terraform import Outcome, Terraform

STAGES = ("inventory", "configure", "smoke")


def archived_topics(inventory: Path) -> list[str]:
    """`archiver_topics` as inventories/aws's group_vars set it: the catalog's tables
    (terraform/modules/catalog) follow what the archiver archives, from one setting.

    Reads the plain YAML files of group_vars as kafka_version is read (a vaulted file is
    skipped: topics are no secret). ConfigError when no file sets it, when two set it
    differently, or when the value is not a plain list of topic names (a template
    Terraform cannot evaluate).
    """
    found = {
        str(path.relative_to(inventory)): value
        for path, value in fingerprint.inventory_settings(inventory, [inventory], "archiver_topics")
    }
    where = inventory / "group_vars" / "all" / "main.yml"
    if not found:
        raise ConfigError(
            f"archiver_topics is not set in {inventory}/group_vars: the archiver would "
            f"archive nothing and the catalog would have no table; set it in {where}, "
            "e.g. archiver_topics: [x.posts]"
        )
    values = {json.dumps(v) for v in found.values()}
    if len(values) > 1:
        raise ConfigError(
            "archiver_topics is set differently in "
            + " and ".join(f"{f} ({v})" for f, v in sorted(found.items()))
            + ": keep one, so the archiver and the catalog's tables agree"
        )
    (source, value), *_ = found.items()
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(t, str) and re.fullmatch(r"[A-Za-z0-9._-]{1,249}", t) for t in value)
    ):
        raise ConfigError(
            f"archiver_topics in {inventory / source} is {value!r}: it must be a non-empty "
            "list of Kafka topic names written out (no Jinja template), e.g. [x.posts], "
            "because Terraform makes the catalog's tables from it"
        )
    return list(value)


class AwsRunner:
    # terraform/envs/dev/terraform.tfvars, the user's AWS settings, when no --var-file is
    # given (not for the rehearsal, which must never read a real account's settings).
    default_tfvars = True

    def __init__(
        self,
        target: Target,
        *,
        endpoint_url: str | None = None,
        var_files: list[Path] | None = None,
        variables: dict[str, Any] | None = None,
        replace: list[str] | None = None,
        out: TextIO = sys.stderr,
    ) -> None:
        self.target = target
        # Hosts to terminate and create anew (their data volumes are kept and reattached).
        self.replace = list(replace or [])
        self.root = target.root
        self.out = out
        self.started = time.monotonic()
        self.workdir = self.root / "terraform" / "envs" / "dev"
        # `plan` and `down` reuse what `up` was given, so `down` destroys what `up` made.
        self.args_file = target.state / "terraform-args.json"
        saved = json.loads(self.args_file.read_text()) if self.args_file.is_file() else {}
        files = list(var_files or []) or [Path(f) for f in saved.get("var_files", [])]
        default_vars = self.workdir / "terraform.tfvars"
        if not files and self.default_tfvars and default_vars.is_file():
            files = [default_vars]
        for f in files:
            if not f.is_file():
                raise ConfigError(
                    f"--var-file {f}: no such file (copy terraform/envs/dev/"
                    "terraform.tfvars.example and fill it in)"
                )
        self.var_files = [f.resolve() for f in files]
        self.variables = dict(variables or {})
        endpoint_url = endpoint_url or saved.get("endpoint_url")
        if endpoint_url:
            self.variables["endpoint_url"] = endpoint_url
        self.summary: dict[str, Any] = {}

    def say(self, text: str) -> None:
        self.out.write(f"[{time.monotonic() - self.started:6.0f}s] {text}\n")
        self.out.flush()

    def terraform(self) -> Terraform:
        cli_config: Path | None
        try:
            cli_config = fetched(self.root, "fetch-terraform-provider")
            self.say(f"Terraform provider from the local mirror ({cli_config})")
        except LakefeedError as exc:
            # No mirror (and no Go build) here: a machine with internet access gets the
            # pinned provider from the registry, checked against the committed lock file.
            cli_config = None
            self.say(
                "no local provider mirror ("
                + str(exc).splitlines()[-1][:200]
                + "); terraform init will download hashicorp/aws from the registry"
            )
        state = self.target.state
        state.mkdir(parents=True, exist_ok=True)
        tf = Terraform(
            self.workdir,
            data_dir=state / "terraform-data",
            cli_config=cli_config,
            variables=self.variables,
            var_files=self.var_files,
            env=self.terraform_env(),
            out=self.out,
        )
        tf.init(backend_path=state / "terraform.tfstate")
        return tf

    def terraform_env(self) -> dict[str, str]:
        """Environment for Terraform beyond this process's (AWS credentials, profile)."""
        return {}

    # --- plan ------------------------------------------------------------------------

    def catalog_topics(self) -> None:
        """The catalog's tables follow archiver_topics (for plan and up; `down` destroys
        whatever the state holds, and must work whatever the inventory says)."""
        self.variables.setdefault("lake_topics", archived_topics(self.target.inventories[0]))

    def plan(self) -> int:
        self.catalog_topics()
        tf = self.terraform()
        self.say("terraform plan (nothing is changed)")
        outcome = tf.plan()
        self.say(f"plan: {outcome.summary}")
        self.summary = {
            "env": "aws",
            "add": outcome.add,
            "change": outcome.change,
            "remove": outcome.remove,
        }
        sys.stdout.write(json.dumps(self.summary) + "\n")  # the machine-readable result
        return 0

    # --- up --------------------------------------------------------------------------

    def provision(self, tf: Terraform) -> dict[str, Any]:
        plan_file = self.target.state / "up.tfplan"
        replacing = f" (replacing {', '.join(self.replace)})" if self.replace else ""
        self.say(f"terraform plan{replacing}")
        outcome = tf.plan(
            plan_file, replace=[f'module.cluster.aws_instance.host["{h}"]' for h in self.replace]
        )
        self.say(f"plan: {outcome.summary}")
        if outcome.add or outcome.change or outcome.remove:
            self.say("terraform apply (progress per resource below)")
            applied: Outcome = tf.apply(plan_file)
            self.say(
                f"applied: {applied.add} added, {applied.change} changed, "
                f"{applied.remove} destroyed"
            )
        plan_file.unlink(missing_ok=True)
        return tf.outputs()

    def write_inventory(
        self,
        outputs: dict[str, Any],
        wheels: Path,
        kafka_archive: str | None = None,
        jmx_agent: Path | None = None,
    ) -> Path:
        try:
            inv = outputs["inventory"]
            hosts: dict[str, dict[str, Any]] = inv["hosts"]
            user = inv["ssh_user"]
        except (KeyError, TypeError) as exc:
            raise LakefeedError(
                f"terraform/envs/dev has no usable `inventory` output ({exc}): run "
                "`terraform -chdir=terraform/envs/dev output inventory` to see what it gives"
            ) from exc
        groups: dict[str, dict[str, Any]] = {}
        if not any("kafka" in v["groups"] for v in hosts.values()):
            raise LakefeedError("the Terraform outputs name no host in the `kafka` group")
        for name in sorted(hosts, key=_natural):
            host = hosts[name]
            for group in host["groups"]:
                entry = groups.setdefault(group, {"hosts": {}})
                # Prometheus scrapes every host at its private address (the security
                # group opens the metrics ports to members only).
                hv: dict[str, Any] = {
                    "ansible_host": host["address"],
                    "monitoring_target_address": host["private_ip"],
                }
                if group in ("kafka", "kafka_controller"):
                    node_id = host.get("node_id")
                    if not isinstance(node_id, int):
                        raise LakefeedError(
                            f"the Terraform outputs give Kafka host {name} no node_id: "
                            "terraform/envs/dev is older than this runner; run `lakefeed up "
                            "--env aws` from one checkout (ids come from the host names, "
                            "kafka-N is node N, and are never renumbered)"
                        )
                    hv.update(
                        {
                            # Decided by Terraform from the host's name, never renumbered
                            # (kafka-10 stays 10 whatever other hosts come and go).
                            "kafka_node_id": node_id,
                            # Names do not resolve inside a VPC: nodes and clients meet
                            # at private addresses.
                            "kafka_advertised_host": host["private_ip"],
                        }
                    )
                    if group == "kafka":
                        hv["kafka_broker_rack"] = host["availability_zone"]
                entry["hosts"][name] = hv
        if "monitoring" not in groups:
            # Prometheus on the pipeline's host (the archiver's, unless a `pipeline` group
            # names one), inside the cluster's security group.
            for group in ("pipeline", "archiver", "kafka"):
                if groups.get(group, {}).get("hosts"):
                    first = next(iter(groups[group]["hosts"]))
                    groups["monitoring"] = {"hosts": {first: dict(groups[group]["hosts"][first])}}
                    break
        known_hosts = self.target.state.resolve() / "known_hosts"
        self.forget_replaced(hosts, known_hosts)
        common: dict[str, Any] = {
            "ansible_user": user,
            # Cron has no agent and no terminal: host keys are learnt on first contact
            # into the runner's own file, and a changed key on a known address is refused.
            "ansible_ssh_common_args": (
                f"-o StrictHostKeyChecking=accept-new -o UserKnownHostsFile={known_hosts}"
            ),
        }
        if inv.get("ssh_private_key_file"):
            common["ansible_ssh_private_key_file"] = inv["ssh_private_key_file"]
        common.update(
            {
                "lakefeed_wheelhouse": str(wheels),
                "shipper_s3_bucket": outputs["lake_bucket"],
                "shipper_s3_prefix": outputs["lake_prefix"],
                "shipper_s3_region": outputs["region"],
                # kafka_security sasl_ssl: the cluster's CA and generated logins, on this
                # machine, one directory per cluster (docs/security.md).
                "kafka_tls_ca_dir": str(kafka_ca_dir(outputs["lake_bucket"])),
            }
        )
        if kafka_archive is not None:
            # The release built from Maven Central's jars, as in the lab; a site that
            # prefers Apache's archive sets kafka_local_archive: "" and
            # kafka_archive_sha512 in inventories/aws/group_vars (they outrank this file).
            common["kafka_local_archive"] = kafka_archive
        if jmx_agent is not None:
            # The JMX exporter's jar from Maven Central on this machine, copied to the
            # nodes: they need no way out to the internet for it.
            common["kafka_jmx_exporter_local_jar"] = str(jmx_agent)
        doc = {"all": {"vars": common, "children": groups}}
        path = self.target.hosts_file
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(
            "# Written by `lakefeed up --env aws` from terraform/envs/dev's outputs; do not "
            "edit.\n" + yaml.safe_dump(doc, sort_keys=False)
        )
        tmp.replace(path)
        self.say(
            f"inventory: {path} ({len(hosts)} hosts: "
            + ", ".join(f"{g}={len(v['hosts'])}" for g, v in sorted(groups.items()))
            + ")"
        )
        return path

    def forget_replaced(self, hosts: dict[str, dict[str, Any]], known_hosts: Path) -> None:
        """A host whose instance Terraform replaced has new host keys, possibly at the old
        address: forget what was learnt for it, or SSH refuses the new keys. The
        instance ids of the last inventory are kept beside it."""
        record = self.target.state / "instances.json"
        before = json.loads(record.read_text()) if record.is_file() else {}
        for name, host in hosts.items():
            old = before.get(name)
            if old and old["instance_id"] != host["instance_id"] and known_hosts.is_file():
                for address in {old["address"], host["address"]}:
                    subprocess.run(
                        ["ssh-keygen", "-R", address, "-f", str(known_hosts)],
                        capture_output=True,
                        check=False,
                    )
                self.say(f"{name}: new instance {host['instance_id']}: its old host keys forgotten")
        record.parent.mkdir(parents=True, exist_ok=True)
        now = {
            n: {"instance_id": h["instance_id"], "address": h["address"]} for n, h in hosts.items()
        }
        record.write_text(json.dumps(now, indent=2) + "\n")

    def configure(self, wheel: Path) -> int:
        t = self.target
        self.say("waiting for SSH on every host")
        wait = run_playbook(
            self.root / "playbooks" / "ops" / "wait.yml",
            list(t.inventories),
            t.state / "runner",
            vault_password_file=t.vault_password_file,
            out=self.out,
        )
        if not wait.ok:
            raise LakefeedError("hosts not reachable over SSH:\n  " + "\n  ".join(wait.failures))
        self.say("configuring with site.yml")
        want = fingerprint.desired(self.root, t.inventories, wheel, t.vault_password_file)
        result = deploy(t, want, out=self.out)
        if not result.ok:
            raise LakefeedError("site.yml failed:\n  " + "\n  ".join(result.failures))
        self.say(f"site.yml done in {result.seconds:.0f}s: changed={result.changed}")
        self.summary["site_seconds"] = round(result.seconds, 1)
        return result.changed

    def remember_args(self) -> None:
        self.target.state.mkdir(parents=True, exist_ok=True)
        self.args_file.write_text(
            json.dumps(
                {
                    "var_files": [str(f) for f in self.var_files],
                    "endpoint_url": self.variables.get("endpoint_url"),
                },
                indent=2,
            )
            + "\n"
        )

    def up(self, until: str = "smoke") -> int:
        if until not in STAGES:
            raise ConfigError(f"--until {until!r}: use one of {', '.join(STAGES)}")
        self.catalog_topics()  # before minutes of building: a bad value stops here
        self.remember_args()
        wheels = self.target.wheelhouse
        wheel = wheelhouse.build(self.root, wheels, wheelhouse.platform_of(self.target.name))
        self.say(f"wheelhouse {wheels} ({wheel.name})")
        self.say(
            "Kafka release from Maven Central's jars (a few minutes the first time, then "
            "cached in ~/.cache/lakefeed)"
        )
        version = fingerprint.kafka_version(self.root, self.target.inventories)
        _, kafka_archive = local_kafka_archive(self.root, version)
        jmx_agent = fetched(self.root, "fetch-jmx-exporter")
        tf = self.terraform()
        outputs = self.provision(tf)
        self.write_inventory(outputs, wheels, kafka_archive, jmx_agent)
        self.summary = {
            "env": self.target.name,
            "hosts": len(outputs["inventory"]["hosts"]),
            "bucket": outputs["lake_bucket"],
            "stage": "inventory",
        }
        catalog = outputs.get("catalog")
        if catalog:
            views = ", ".join(f"{t['view']} ({topic})" for topic, t in catalog["tables"].items())
            self.say(
                f"the lake's catalog: Athena workgroup {catalog['workgroup']}, database "
                f"{catalog['database']}, views {views} (docs/query.md)"
            )
            self.summary["workgroup"] = catalog["workgroup"]
        if until != "inventory":
            self.summary["changed"] = self.configure(wheel)
            self.summary["stage"] = "configure"
        if until == "smoke":
            self.smoke(outputs)
            self.summary["stage"] = "smoke"
        self.summary["seconds"] = round(time.monotonic() - self.started, 1)
        sys.stdout.write(json.dumps(self.summary) + "\n")  # the machine-readable result
        return 0

    def smoke(self, outputs: dict[str, Any]) -> None:
        self.say("smoke check: every service on every host up and healthy")
        if status.status(self.target, self.out) != 0:
            raise LakefeedError("smoke check failed: see the table above")

    # --- down ------------------------------------------------------------------------

    def s3_client(self, region: str) -> Any:
        import boto3  # noqa: PLC0415

        return boto3.client(
            "s3", region_name=region, endpoint_url=self.variables.get("endpoint_url")
        )

    def lake_objects(self, bucket: str, region: str) -> int | None:
        """How many objects (any version) the lake bucket holds, up to one page; None when
        the bucket cannot be read from here (no credentials, no permission)."""
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

        try:
            page = self.s3_client(region).list_object_versions(Bucket=bucket, MaxKeys=100)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchBucket", "404"):
                return 0
            self.say(f"cannot list s3://{bucket}: {exc}")
            return None
        except BotoCoreError as exc:
            self.say(f"cannot list s3://{bucket}: {exc}")
            return None
        return len(page.get("Versions", [])) + len(page.get("DeleteMarkers", []))

    def down(self, yes: bool = False, stdin: TextIO = sys.stdin) -> int:
        tf = self.terraform()
        self.say("terraform plan -destroy")
        plan_file = self.target.state / "down.tfplan"
        outcome = tf.plan(plan_file, destroy=True)
        if not outcome.remove:
            self.say("nothing to destroy")
            self.target.hosts_file.unlink(missing_ok=True)
            return 0
        # The lake: Terraform would strip the bucket's policy, public-access block,
        # encryption and lifecycle first and then fail on a non-empty bucket, leaving it
        # unprotected. A lake with data (and no lake_force_destroy) is left out whole.
        keep_lake = False
        shown = tf.show_json(plan_file)
        bucket_state = _resource_values(shown.get("prior_state") or {}, _LAKE_BUCKET)
        if bucket_state is not None and not bucket_state.get("force_destroy"):
            bucket = str(bucket_state.get("bucket") or bucket_state.get("id"))
            region = str(
                bucket_state.get("region")
                or shown.get("variables", {}).get("region", {}).get("value")
                or "us-east-1"
            )
            held = self.lake_objects(bucket, region)
            if held != 0:
                keep_lake = True
                what = "cannot be listed from here" if held is None else "holds data"
                self.say(
                    f"the lake s3://{bucket} {what}: it is kept, with its policy, "
                    "public-access block, encryption and lifecycle; everything else goes"
                )
                others = sorted(
                    {
                        ".".join(addr.split(".")[:2])
                        for _action, addr in outcome.planned
                        if addr.startswith("module.") and not addr.startswith("module.lake.")
                    }
                )
                outcome = tf.plan(plan_file, destroy=True, targets=others)
        if not yes:
            if not stdin.isatty():
                raise ConfigError(
                    f"down would destroy {outcome.remove} resources; not a terminal, so "
                    "nothing was asked and nothing destroyed: pass --yes to confirm"
                )
            self.out.write(
                f"This destroys {outcome.remove} AWS resources (hosts, volumes, network"
                + (
                    ", but not the lake bucket, which holds data"
                    if keep_lake
                    else ", and the lake bucket, which is empty"
                )
                + "). Type 'destroy' to go on: "
            )
            self.out.flush()
            if stdin.readline().strip() != "destroy":
                self.say("not confirmed; nothing destroyed")
                return 1
        # The hosts are going away: cron's rollout must not target them, even if the
        # destroy fails half-way (the old file is kept beside the state to read).
        if self.target.hosts_file.is_file():
            self.target.hosts_file.replace(self.target.state / "hosts.yml.before-down")
        self.say("terraform apply (destroy)")
        done = tf.apply(plan_file)
        plan_file.unlink(missing_ok=True)
        (self.target.state / "hosts.yml.before-down").unlink(missing_ok=True)
        self.say(f"destroyed {done.remove} resources; the generated inventory is removed")
        if keep_lake:
            self.say(
                "kept the lake bucket and its protections. To delete it too: empty it "
                "(`aws s3 rm --recursive`, every version) and run `lakefeed down` again, or "
                "set lake_force_destroy = true, run `lakefeed up --env aws --until "
                "inventory`, then `lakefeed down`"
            )
            return 1
        self.args_file.unlink(missing_ok=True)
        if bucket_state is not None:
            self.destroyed_cluster_secrets(
                kafka_ca_dir(str(bucket_state.get("bucket") or bucket_state.get("id")))
            )
        return 0

    def destroyed_cluster_secrets(self, ca: Path) -> None:
        """A destroyed cluster's Kafka CA and generated passwords: kept on AWS (a cluster
        rebuilt on the same lake, or a client of its backups, may still need them), and
        said so."""
        if ca.is_dir():
            self.say(
                f"kept {ca}: the destroyed cluster's Kafka CA and generated passwords; "
                "delete it once nothing needs them"
            )


# An S3 bucket name (3-63 of a-z 0-9 . -, starting and ending with a letter or digit):
# also a plain directory name, never '', '.', '..' or a path.
BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


def kafka_ca_dir(bucket: str) -> Path:
    """Where this machine keeps a cluster's Kafka CA and generated logins: one directory
    per cluster, named by its lake bucket, outside any checkout."""
    if not BUCKET_NAME.fullmatch(bucket) or ".." in bucket:
        # Its parent is removed with the rehearsal: it must be this cluster's alone.
        raise LakefeedError(
            f"lake_bucket {bucket!r} is not an S3 bucket name (3-63 of a-z 0-9 . -, "
            "starting and ending with a letter or digit): fix it in the tfvars"
        )
    return Path.home() / ".lakefeed" / "clusters" / bucket / "kafka-ca"


_LAKE_BUCKET = "module.lake.aws_s3_bucket.this"


def _natural(name: str) -> tuple[str, int]:
    """kafka-2 before kafka-10."""
    stem, _, number = name.rpartition("-")
    return (stem, int(number)) if number.isdigit() else (name, 0)


def _resource_values(state: dict[str, Any], address: str) -> dict[str, Any] | None:
    """The attribute values of one resource in `terraform show -json`'s state."""
    modules = [state.get("values", {}).get("root_module", {})]
    while modules:
        module = modules.pop()
        for res in module.get("resources", []):
            if res.get("address") == address:
                return dict(res.get("values") or {})
        modules += module.get("child_modules", [])
    return None
