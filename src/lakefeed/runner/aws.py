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
import sys
import time
from pathlib import Path
from typing import Any, TextIO

import yaml

from lakefeed.errors import ConfigError, LakefeedError
from lakefeed.lab.local import fetched
from lakefeed.runner import fingerprint, status, wheelhouse
from lakefeed.runner.ansible import run_playbook, site_extravars
from lakefeed.runner.targets import Target
from lakefeed.runner.terraform import Outcome, Terraform

STAGES = ("inventory", "configure", "smoke")


class AwsRunner:
    def __init__(
        self,
        target: Target,
        *,
        endpoint_url: str | None = None,
        var_files: list[Path] | None = None,
        variables: dict[str, Any] | None = None,
        out: TextIO = sys.stderr,
    ) -> None:
        self.target = target
        self.root = target.root
        self.out = out
        self.started = time.monotonic()
        self.workdir = self.root / "terraform" / "envs" / "dev"
        # `plan` and `down` reuse what `up` was given, so `down` destroys what `up` made.
        self.args_file = target.state / "terraform-args.json"
        saved = json.loads(self.args_file.read_text()) if self.args_file.is_file() else {}
        files = list(var_files or []) or [Path(f) for f in saved.get("var_files", [])]
        default_vars = self.workdir / "terraform.tfvars"
        if not files and default_vars.is_file():
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
            out=self.out,
        )
        tf.init(backend_path=state / "terraform.tfstate")
        return tf

    # --- plan ------------------------------------------------------------------------

    def plan(self) -> int:
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
        self.say("terraform plan")
        outcome = tf.plan(plan_file)
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

    def write_inventory(self, outputs: dict[str, Any], wheels: Path) -> Path:
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
        kafka = sorted(h for h, v in hosts.items() if "kafka" in v["groups"])
        if not kafka:
            raise LakefeedError("the Terraform outputs name no host in the `kafka` group")
        for name in sorted(hosts):
            host = hosts[name]
            for group in host["groups"]:
                entry = groups.setdefault(group, {"hosts": {}})
                hv: dict[str, Any] = {"ansible_host": host["address"]}
                if group == "kafka":
                    hv.update(
                        {
                            # Fixed by sorted name at first provision; never reused.
                            "kafka_node_id": kafka.index(name) + 1,
                            "kafka_broker_rack": host["availability_zone"],
                            "kafka_advertised_host": host["private_ip"],
                        }
                    )
                entry["hosts"][name] = hv
        doc = {
            "all": {
                "vars": {
                    "ansible_user": user,
                    "lakefeed_wheelhouse": str(wheels),
                    "shipper_s3_bucket": outputs["lake_bucket"],
                    "shipper_s3_prefix": outputs["lake_prefix"],
                    "shipper_s3_region": outputs["region"],
                },
                "children": groups,
            }
        }
        path = self.target.hosts_file
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            "# Written by `lakefeed up --env aws` from terraform/envs/dev's outputs; do not "
            "edit.\n" + yaml.safe_dump(doc, sort_keys=False)
        )
        self.say(
            f"inventory: {path} ({len(hosts)} hosts: "
            + ", ".join(f"{g}={len(v['hosts'])}" for g, v in sorted(groups.items()))
            + ")"
        )
        return path

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
        result = run_playbook(
            self.root / "site.yml",
            list(t.inventories),
            t.state / "runner",
            extravars=site_extravars(fingerprint.desired(self.root, t.inventories, wheel)),
            vault_password_file=t.vault_password_file,
            event_log=t.state / "events.jsonl",
            out=self.out,
        )
        if not result.ok:
            raise LakefeedError("site.yml failed:\n  " + "\n  ".join(result.failures))
        self.say(f"site.yml done in {result.seconds:.0f}s: changed={result.changed}")
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
        self.remember_args()
        wheels = self.target.wheelhouse
        wheel = wheelhouse.build(self.root, wheels)
        self.say(f"wheelhouse {wheels} ({wheel.name})")
        tf = self.terraform()
        outputs = self.provision(tf)
        self.write_inventory(outputs, wheels)
        self.summary = {
            "env": "aws",
            "hosts": len(outputs["inventory"]["hosts"]),
            "bucket": outputs["lake_bucket"],
            "stage": "inventory",
        }
        if until != "inventory":
            self.summary["changed"] = self.configure(wheel)
            self.summary["stage"] = "configure"
        if until == "smoke":
            self.say("smoke check: every service on every host up and healthy")
            if status.status(self.target, self.out) != 0:
                raise LakefeedError("smoke check failed: see the table above")
            self.summary["stage"] = "smoke"
        self.summary["seconds"] = round(time.monotonic() - self.started, 1)
        sys.stdout.write(json.dumps(self.summary) + "\n")  # the machine-readable result
        return 0

    # --- down ------------------------------------------------------------------------

    def down(self, yes: bool = False, stdin: TextIO = sys.stdin) -> int:
        tf = self.terraform()
        self.say("terraform plan -destroy")
        outcome = tf.plan(self.target.state / "down.tfplan", destroy=True)
        if not outcome.remove:
            self.say("nothing to destroy")
            self.target.hosts_file.unlink(missing_ok=True)
            return 0
        if not yes:
            if not stdin.isatty():
                raise ConfigError(
                    f"down would destroy {outcome.remove} resources; not a terminal, so "
                    "nothing was asked and nothing destroyed: pass --yes to confirm"
                )
            self.out.write(
                f"This destroys {outcome.remove} AWS resources (hosts, volumes, network, "
                "and the lake bucket if it is empty). Type 'destroy' to go on: "
            )
            self.out.flush()
            if stdin.readline().strip() != "destroy":
                self.say("not confirmed; nothing destroyed")
                return 1
        self.say("terraform apply (destroy)")
        done = tf.apply(self.target.state / "down.tfplan")
        (self.target.state / "down.tfplan").unlink(missing_ok=True)
        self.target.hosts_file.unlink(missing_ok=True)
        self.args_file.unlink(missing_ok=True)
        self.say(f"destroyed {done.remove} resources; the generated inventory is removed")
        return 0
