"""`lakefeed up|rollout|status|down --env aws-rehearsal`: the AWS path, minus AWS.

The same code as `--env aws` (terraform/envs/dev, its outputs turned into hosts.yml,
site.yml over SSH, the smoke check), with AWS replaced by the only stand-ins this needs:

- the AWS API: moto's server in a container on the "VPC" (scripts/rehearsal-hosts-setup
  builds its image), over TLS with a certificate from a CA the rehearsal makes (the
  lake's bucket policy denies plain HTTP, and moto enforces that as S3 does); Terraform
  applies envs/dev against it through `endpoint_url`;
- the EC2 instances: for every instance Terraform created, a Debian 12 systemd container
  with that instance's private IP, on a Podman network whose subnet is the VPC's and
  whose name resolution is off: hosts know each other only as the roles tell them. The
  controller reaches them only by SSH, with the key pair Terraform registered, as the
  AMI's login user. At boot, /usr/local/sbin/ec2-rehearsal-boot (in the image) does what
  EC2 and cloud-init would: the EBS device links, the login user and key, the instance's
  user data (read back from the API) run once;
- the EBS data volumes: one sparse image file per volume id on a loop device, so a host
  that Terraform replaces gets its old volume back, as EC2 reattaches it;
- the instance profile and the S3 endpoint: the one Ansible override file the runner
  writes, `<state>/inventory/group_vars/all/rehearsal-overrides.yml`.

Never a public address: the inventory reaches hosts by their private IPs (`ssh_address =
"private"`, the option users behind a VPN or bastion use too); the public IPs moto invents
are never contacted.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import yaml

from lakefeed import lake
from lakefeed.errors import LakefeedError
from lakefeed.lab import hosts
from lakefeed.runner.aws import AwsRunner, kafka_ca_dir
from lakefeed.runner.targets import Target

PREFIX = "lf-rh"
VPC_CIDR = "10.42.0.0/16"
# moto's address: inside the VPC's range, outside every subnet envs/dev makes (the
# public /20s start at 10.42.0.0, the private ones at 10.42.128.0, three zones each).
AWS_API_IP = "10.42.255.250"
AWS_API_PORT = 5000
REGION = "us-east-1"
# Moto accepts any key; these are the only credentials the rehearsal ever uses.
CREDENTIALS = {"aws_access_key_id": "rehearsal", "aws_secret_access_key": "rehearsal"}
# A stand-in volume is a sparse file: its size caps what the host can write, not disk use.
VOLUME_CAP_GIB = 4
OVERRIDES = "rehearsal-overrides.yml"
LABEL_INSTANCE = "lakefeed.instance"
# The state directory a rehearsal's containers belong to: one rehearsal per machine (its
# VPC subnet and its API's address are fixed), so a second one must know whose they are.
LABEL_STATE = "lakefeed.rehearsal-state"


@dataclass
class Instance:
    name: str
    instance_id: str
    private_ip: str
    user_data: str
    volumes: list[tuple[str, int]]  # (volume id, size GiB) of the data volumes
    key_name: str  # the EC2 key pair it was launched with


class RehearsalRunner(AwsRunner):
    default_tfvars = False

    def __init__(
        self,
        target: Target,
        *,
        var_files: list[Path] | None = None,
        replace: list[str] | None = None,
        out: TextIO = sys.stderr,
        prefix: str = PREFIX,
    ) -> None:
        super().__init__(
            target,
            endpoint_url=f"https://{AWS_API_IP}:{AWS_API_PORT}",
            var_files=[f for f in var_files or [] if f.resolve() != self.generated_tfvars(target)]
            or None,
            replace=replace,
            out=out,
        )
        self.prefix = prefix
        self.labels = {hosts.LABEL: prefix, LABEL_STATE: str(target.state.resolve())}
        self.network = hosts.LabNetwork(f"{prefix}-vpc", VPC_CIDR, {hosts.LABEL: prefix}, dns=False)
        self.api = hosts.LabHost(
            f"{prefix}-aws-api", self.network, image="localhost/lakefeed-moto", labels=self.labels
        )

    @staticmethod
    def generated_tfvars(target: Target) -> Path:
        return (target.state / "rehearsal.tfvars.json").resolve()

    # --- the stand-in for AWS ---------------------------------------------------------

    @property
    def tls_dir(self) -> Path:
        return (self.target.state / "aws-api-tls").resolve()

    @property
    def ca_file(self) -> Path:
        return self.tls_dir / "ca.pem"

    def client(self, service: str) -> Any:
        return api_client(service, self.ca_file)

    def s3_client(self, region: str) -> Any:
        return self.client("s3")

    def terraform_env(self) -> dict[str, str]:
        return {
            "AWS_ACCESS_KEY_ID": CREDENTIALS["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": CREDENTIALS["aws_secret_access_key"],
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_REGION": REGION,
            "AWS_CA_BUNDLE": str(self.ca_file),
        }

    def start_api(self) -> None:
        """The network and moto's server on it: the rehearsal's AWS account."""
        self.say("rehearsal images (built once from the lab's, a minute or two the first time)")
        images = subprocess.run(
            [str(self.root / "scripts" / "rehearsal-hosts-setup")],
            capture_output=True,
            text=True,
            check=False,
        )
        if images.returncode != 0:
            raise LakefeedError(
                f"scripts/rehearsal-hosts-setup failed:\n{images.stderr.strip()[-3000:]}"
            )
        self.claim()
        self.network.create()
        if self.api.state() != "running":
            # moto keeps its state in memory: a stopped API is an account that is gone.
            self.api.remove()
            make_tls(self.tls_dir, AWS_API_IP)
            podman_args = ["--detach", "--pull=never", "--name", self.api.name]
            podman_args += ["--network", self.network.name, "--ip", AWS_API_IP]
            podman_args += ["--volume", f"{self.tls_dir}:/etc/moto-tls:ro"]
            podman_args += [arg for k, v in self.labels.items() for arg in ("--label", f"{k}={v}")]
            podman_args.append(self.api.image)
            # All of the container's addresses: its one address on the VPC network.
            podman_args += ["/opt/moto/bin/python", "/opt/moto/serve.py", "-H", "0.0.0.0"]  # noqa: S104
            podman_args += ["-p", str(AWS_API_PORT)]
            podman_args += ["-c", "/etc/moto-tls/server.pem", "-k", "/etc/moto-tls/server.key"]
            hosts.podman("run", *podman_args)
        deadline = time.monotonic() + 60
        while True:
            try:
                self.client("sts").get_caller_identity()
                break
            except Exception as exc:  # any failure means "not yet"
                if self.api.state() != "running":
                    logs = hosts.podman("logs", "--tail", "30", self.api.name, check=False)
                    raise LakefeedError(
                        f"the rehearsal's AWS API ({self.api.name}) stopped while starting:\n"
                        f"{(logs.stdout + logs.stderr).strip()}"
                    ) from exc
                if time.monotonic() > deadline:
                    raise LakefeedError(
                        f"the rehearsal's AWS API ({self.variables['endpoint_url']}) did not "
                        f"answer in 60 s: {exc}; see `podman logs {self.api.name}`"
                    ) from exc
                time.sleep(0.5)
        self.say(f"AWS API (moto) at {self.variables['endpoint_url']}")

    def claim(self) -> None:
        """This state's rehearsal is the machine's only one. Containers of another whose
        state directory still exists are refused (never removed: that is someone's
        account); those of one whose state is gone (a killed test run, a deleted
        checkout) are removed, with the loop devices of its volumes."""
        listed = hosts.podman(
            "ps",
            "-a",
            "--filter",
            f"label={hosts.LABEL}={self.prefix}",
            "--format",
            '{{.Names}} {{index .Labels "' + LABEL_STATE + '"}}',
            check=False,
        ).stdout.splitlines()
        ours = self.labels[LABEL_STATE]
        owners: dict[str, list[str]] = {}
        for line in listed:
            name, _, owner = line.partition(" ")
            owner = owner.strip()
            if owner != ours:
                owners.setdefault(owner, []).append(name)
        for owner, names in sorted(owners.items()):
            labelled = owner not in ("", "<no value>")
            if not labelled or Path(owner).exists():
                whose = f"the rehearsal whose state is {owner}" if labelled else "an older one"
                state = owner if labelled else "DIR"
                raise LakefeedError(
                    f"{', '.join(sorted(names))} {'belongs' if len(names) == 1 else 'belong'} "
                    f"to {whose}, and one machine holds one "
                    f"rehearsal (its VPC subnet {VPC_CIDR} and API address are fixed): run "
                    f"`lakefeed down --env aws-rehearsal --state-dir {state}` first, or "
                    f"`podman rm -f {' '.join(sorted(names))}` if it is yours to drop"
                )
            self.say(f"removing a rehearsal whose state is gone ({owner}): {', '.join(names)}")
            for name in names:
                hosts.LabHost(name, self.network).remove()
            self._detach_volumes(Path(owner) / "volumes")

    def ssh_key(self) -> Path:
        key = (self.target.state / "ssh" / "id_ed25519").resolve()
        if not key.is_file():
            key.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            subprocess.run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "rehearsal", "-f", str(key)],
                check=True,
            )
        return key

    def write_tfvars(self) -> Path:
        """The rehearsal's settings of envs/dev: what a user writes in terraform.tfvars,
        made here once (the bucket name stays). User --var-files come first: these win."""
        path = self.generated_tfvars(self.target)
        saved = json.loads(path.read_text()) if path.is_file() else {}
        images = self.client("ec2").describe_images(
            Filters=[
                {"Name": "architecture", "Values": ["x86_64"]},
                {"Name": "root-device-type", "Values": ["ebs"]},
            ]
        )["Images"]
        if not images:
            raise LakefeedError("the rehearsal's AWS API lists no x86_64 EBS image")
        key = self.ssh_key()
        gateway = str(next(ipaddress.ip_network(VPC_CIDR).hosts()))
        values = {
            "name": "lf-rehearsal",
            "region": REGION,
            # moto has no Debian AMI: any image id stands in (the hosts are Debian 12).
            "ami_id": min(i["ImageId"] for i in images),
            "vpc_cidr": VPC_CIDR,
            "az_count": 3,
            # The controller, as the hosts see it: the network's gateway.
            "admin_cidrs": [f"{gateway}/32"],
            "ssh_public_key": key.with_suffix(".pub").read_text().strip(),
            "ssh_private_key_file": str(key),
            "ssh_address": "private",
            "lake_bucket": saved.get("lake_bucket") or f"lf-rehearsal-{secrets.token_hex(6)}",
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values, indent=2) + "\n")
        return path

    # --- hosts ------------------------------------------------------------------------

    def instances(self, outputs: dict[str, Any]) -> list[Instance]:
        """What EC2 says of every host of the inventory output: its user data and the
        data volumes attached to it."""
        ec2 = self.client("ec2")
        found = []
        for name, host in sorted(outputs["inventory"]["hosts"].items()):
            iid = host["instance_id"]
            raw = ec2.describe_instance_attribute(InstanceId=iid, Attribute="userData")
            encoded = (raw.get("UserData") or {}).get("Value") or ""
            described = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]
            root_device = described["Instances"][0].get("RootDeviceName")
            key_name = described["Instances"][0].get("KeyName")
            if not key_name:
                raise LakefeedError(
                    f"instance {iid} ({name}) has no key pair: Terraform launches every "
                    "host with the one it registers (terraform/modules/cluster)"
                )
            volumes = []
            for vol in ec2.describe_volumes(
                Filters=[{"Name": "attachment.instance-id", "Values": [iid]}]
            )["Volumes"]:
                devices = {a["Device"] for a in vol.get("Attachments", [])}
                if root_device in devices:
                    continue
                volumes.append((vol["VolumeId"], int(vol["Size"])))
            found.append(
                Instance(
                    name=name,
                    instance_id=iid,
                    private_ip=host["private_ip"],
                    user_data=base64.b64decode(encoded).decode() if encoded else "",
                    volumes=sorted(volumes),
                    key_name=key_name,
                )
            )
        return found

    def volume_device(self, volume_id: str, size_gib: int) -> str:
        """The loop device of a volume's image file (made once, kept across hosts)."""
        image = (self.target.state / "volumes" / f"{volume_id}.img").resolve()
        image.parent.mkdir(parents=True, exist_ok=True)
        if not image.exists():
            with image.open("wb") as f:
                f.truncate(min(size_gib, VOLUME_CAP_GIB) * 1024**3)
        attached = subprocess.run(
            ["losetup", "--associated", str(image), "--noheadings", "--output", "NAME"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.split()
        if attached:
            return attached[0]
        made = subprocess.run(
            ["losetup", "--find", "--show", str(image)], capture_output=True, text=True, check=False
        )
        if made.returncode != 0:
            raise LakefeedError(
                f"no loop device for {image}: {made.stderr.strip()} (the rehearsal needs root "
                "and free loop devices: `losetup -f`)"
            )
        return made.stdout.strip()

    def host(self, name: str) -> hosts.LabHost:
        return hosts.LabHost(f"{self.prefix}-{name}", self.network, labels=self.labels)

    def seed(self, inst: Instance, user: str, devices: list[tuple[str, str]]) -> Path:
        """What the instance metadata would tell the host at boot."""
        seed = (self.target.state / "hosts" / inst.name / "seed").resolve()
        seed.mkdir(parents=True, exist_ok=True)
        # The key pair the instance was launched with, as EC2's metadata gives it.
        keys = self.client("ec2").describe_key_pairs(
            KeyNames=[inst.key_name], IncludePublicKey=True
        )
        public = keys["KeyPairs"][0].get("PublicKey") or ""
        files = {
            "instance-id": inst.instance_id,
            "user": user,
            "authorized_keys": public.strip() + "\n",
            "user-data": inst.user_data,
            "volumes": "".join(f"{vid.replace('-', '')} {dev}\n" for vid, dev in devices),
        }
        for fname, text in files.items():
            (seed / fname).write_text(text)
        return seed

    def make_hosts(self, outputs: dict[str, Any]) -> None:
        """One container per instance, recreated when the instance id changed (a replaced
        host), removed when its instance is gone."""
        user = outputs["inventory"]["ssh_user"]
        wanted = self.instances(outputs)
        names = {self.host(i.name).name for i in wanted}
        for stale in self._containers():
            if stale not in names:
                self.say(f"instance of {stale} is gone: removing the host")
                hosts.LabHost(stale, self.network).remove()
        started = []
        for inst in wanted:
            if ipaddress.ip_address(inst.private_ip) not in ipaddress.ip_network(VPC_CIDR):
                raise LakefeedError(f"{inst.name}: private IP {inst.private_ip} outside {VPC_CIDR}")
            host = self.host(inst.name)
            if host.state() is not None and self._instance_of(host.name) != inst.instance_id:
                self.say(f"{inst.name}: instance replaced ({inst.instance_id}): a new host")
                host.remove()
            devices = [(vid, self.volume_device(vid, size)) for vid, size in inst.volumes]
            seed = self.seed(inst, user, devices)
            host.hostname = "ip-" + inst.private_ip.replace(".", "-")
            host.extra_args = [
                "--ip",
                inst.private_ip,
                "--label",
                f"{LABEL_INSTANCE}={inst.instance_id}",
                "--volume",
                f"{seed}:/var/lib/ec2-rehearsal/seed:ro",
                # Mounting the data volume, as the user data does, needs the device and
                # the capability to mount.
                "--cap-add",
                "SYS_ADMIN",
                *[arg for _, dev in devices for arg in ("--device", dev)],
            ]
            host.image = "localhost/lakefeed-ec2-rehearsal"
            if host.state() != "running":
                self.say(f"{inst.name}: booting {inst.instance_id} at {inst.private_ip}")
                host.start(keep_stopped=True)
                started.append(host)
        for host in started:
            host.wait_running(180)

    def _containers(self) -> list[str]:
        listed = hosts.podman(
            "ps",
            "-a",
            "--filter",
            f"label={LABEL_INSTANCE}",
            "--filter",
            f"label={hosts.LABEL}={self.prefix}",
            "--format",
            "{{.Names}}",
            check=False,
        )
        return listed.stdout.split()

    @staticmethod
    def _instance_of(container: str) -> str:
        got = hosts.podman(
            "container",
            "inspect",
            "--format",
            '{{index .Config.Labels "' + LABEL_INSTANCE + '"}}',
            container,
            check=False,
        )
        return got.stdout.strip()

    # --- the runner's stages ----------------------------------------------------------

    def up(self, until: str = "smoke") -> int:
        self.start_api()
        tfvars = self.write_tfvars()
        self.var_files = [f for f in self.var_files if f != tfvars] + [tfvars]
        return super().up(until)

    def provision(self, tf: Any) -> dict[str, Any]:
        outputs = super().provision(tf)
        self.make_hosts(outputs)
        return outputs

    def write_inventory(
        self,
        outputs: dict[str, Any],
        wheels: Path,
        kafka_archive: str | None = None,
        jmx_agent: Path | None = None,
    ) -> Path:
        path = super().write_inventory(outputs, wheels, kafka_archive, jmx_agent)
        overrides = path.parent / "group_vars" / "all" / OVERRIDES
        overrides.parent.mkdir(parents=True, exist_ok=True)
        overrides.write_text(
            "# Written by `lakefeed up --env aws-rehearsal`: the only settings in which the\n"
            "# rehearsal differs from AWS. The lake is the rehearsal's AWS API (moto, over TLS\n"
            "# with the rehearsal's own CA), not S3; its hosts have no instance profile, so\n"
            "# the shipper gets keys (any key passes there); and they are containers, which\n"
            "# share this machine's clock and may not set it (chrony would never start). Its\n"
            "# brokers share two cores with the other test lanes, so they keep to the JIT's\n"
            "# first tier, as the lab's do (an EC2 broker has its cores to itself). On AWS\n"
            "# none of this is set.\n"
            + yaml.safe_dump(
                {
                    "shipper_s3_endpoint_url": self.variables["endpoint_url"],
                    "shipper_s3_ca_bundle": str(self.ca_file),
                    "shipper_s3_addressing_style": "path",
                    "shipper_s3_access_key": CREDENTIALS["aws_access_key_id"],
                    "shipper_s3_secret_key": CREDENTIALS["aws_secret_access_key"],
                    "common_time_sync": False,
                    "kafka_jvm_options": ["-XX:TieredStopAtLevel=1"],
                },
                sort_keys=False,
            )
        )
        return path

    def smoke(self, outputs: dict[str, Any]) -> None:
        super().smoke(outputs)
        found = lake.wait_for(
            self.client("s3"),
            outputs["lake_bucket"],
            outputs["lake_prefix"] + "/",
            lake.sample_records(self.root),
            # The archiver closes a file after archiver_rotate.max_age_seconds (300 on
            # AWS) at the latest, then the shipper uploads it.
            timeout=600,
            say=self.say,
            hint="see `lakefeed status --env aws-rehearsal` and the shipper's journal",
        )
        self.say(f"the sample landed in s3://{outputs['lake_bucket']}/:")
        for where, records in sorted(found.by_prefix().items()):
            self.out.write(f"         {where}/  {records} records\n")

    def down(self, yes: bool = False, stdin: TextIO = sys.stdin) -> int:
        if self.api.state() != "running":
            self.say("the rehearsal's AWS API is not running: removing the hosts only")
            rc = 0
        else:
            rc = super().down(yes=yes, stdin=stdin)
        for name in self._containers():
            hosts.LabHost(name, self.network).remove()
        self._detach_volumes()
        if rc != 0:
            self.say(f"the rehearsal's AWS API keeps running ({self.api.name}) with what was kept")
            return rc
        self.api.remove()
        self.network.remove()
        tfvars = self.generated_tfvars(self.target)
        if tfvars.is_file():
            # Also when the API was not running and AWS's down did not run.
            self.destroyed_cluster_secrets(
                kafka_ca_dir(json.loads(tfvars.read_text())["lake_bucket"])
            )
        for sub in ("volumes", "hosts", "ssh", "terraform-data", "inventory", "aws-api-tls"):
            shutil.rmtree(self.target.state / sub, ignore_errors=True)
        for name in ("terraform.tfstate", "terraform.tfstate.backup", "rehearsal.tfvars.json"):
            (self.target.state / name).unlink(missing_ok=True)
        self.say("rehearsal removed")
        return 0

    def destroyed_cluster_secrets(self, ca: Path) -> None:
        """The rehearsal's cluster is gone for good: so is its directory under
        ~/.lakefeed/clusters (its CA and logins)."""
        if ca.parent.is_dir():
            shutil.rmtree(ca.parent)
            self.say(f"removed {ca.parent}: the rehearsal cluster's Kafka CA and passwords")

    def _detach_volumes(self, directory: Path | None = None) -> None:
        """Detach the loop devices of the volume images in `directory` (this state's by
        default), also of images already deleted."""
        directory = (directory or self.target.state / "volumes").resolve()
        listed = subprocess.run(
            ["losetup", "--list", "--noheadings", "--output", "NAME,BACK-FILE"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.splitlines()
        for line in listed:
            device, _, backing = line.strip().partition(" ")
            backing = backing.strip().removesuffix("(deleted)").strip()
            if Path(backing).parent == directory:
                subprocess.run(["losetup", "--detach", device], check=False)


def api_client(service: str, ca_file: Path) -> Any:
    """A boto3 client of the rehearsal's AWS API."""
    import boto3  # noqa: PLC0415

    return boto3.client(
        service,
        endpoint_url=f"https://{AWS_API_IP}:{AWS_API_PORT}",
        region_name=REGION,
        verify=str(ca_file),
        **CREDENTIALS,
    )


def make_tls(directory: Path, ip: str) -> None:
    """A CA and a server certificate for `ip`, made once: ca.pem, server.pem, server.key."""
    if (directory / "server.key").is_file():
        return
    import datetime  # noqa: PLC0415

    from cryptography import x509  # noqa: PLC0415
    from cryptography.hazmat.primitives import hashes, serialization  # noqa: PLC0415
    from cryptography.hazmat.primitives.asymmetric import ec  # noqa: PLC0415
    from cryptography.x509.oid import NameOID  # noqa: PLC0415

    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "lakefeed rehearsal CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ip)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    (directory / "ca.pem").write_bytes(ca.public_bytes(pem))
    (directory / "server.pem").write_bytes(cert.public_bytes(pem))
    secret = directory / "server.key"
    secret.write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    # moto runs as root in its container; nobody else needs to read the key.
    secret.chmod(0o600)
