"""terraform/ with the real Terraform CLI and hashicorp/aws provider.

`scripts/terraform-check` (fmt, validate, the modules' plan tests, checkov) must pass, and
`lakefeed up --env aws --endpoint-url ... --until inventory` must apply terraform/envs/dev
against a local AWS API (moto's server on loopback), build what the design asks for and
write the inventory; a second plan changes nothing; `lakefeed down --env aws` refuses
without --yes off a terminal and, with it, destroys down to nothing.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import logging
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from lakefeed.compact import COLUMNS, COMPACTED_PREFIX, compacted_key
from lakefeed.fetch import fetched
from lakefeed.query import view_sql
from lakefeed.record import SpoolName, lake_key
from tests.support.aws import MotoServer, Terraform

ROOT = Path(__file__).resolve().parents[2]
DEV = ROOT / "terraform" / "envs" / "dev"
NAME = "lf-moto"
ADMIN_CIDRS = ["192.0.2.10/32", "198.51.100.0/28"]
KAFKA_HOSTS = {"kafka-1", "kafka-2", "kafka-3"}
EXPECTED_GROUPS = {
    "kafka-1": ["kafka", "collector"],
    "kafka-2": ["kafka", "archiver", "shipper"],
    "kafka-3": ["kafka"],
}
LAKE_ACTIONS = {"s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload", "s3:ListBucket"}
# moto reports the security groups of an instance launched with a network interface
# specification on the interface only, not on the instance, so the provider sees
# vpc_security_group_ids as empty and plans to add the group again. Real EC2 reports both.
MOTO_INSTANCE_SG_GAP = {"vpc_security_group_ids"}

logger = logging.getLogger(__name__)
pytestmark = pytest.mark.integration


def test_terraform_check_passes() -> None:
    proc = subprocess.run(
        [str(ROOT / "scripts" / "terraform-check")],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert proc.returncode == 0, (
        f"scripts/terraform-check exited {proc.returncode}:\n{proc.stderr[-8000:]}"
    )
    assert "terraform/ is clean" in proc.stderr


def _tree(path: Path) -> set[str]:
    return {str(p.relative_to(path)) for p in path.rglob("*")}


def _ssh_public_key() -> str:
    key = Ed25519PrivateKey.generate().public_key()
    raw = key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return raw.decode() + " test@lakefeed"


def _inventory_of_aws(moto: MotoServer) -> dict[str, set[str]]:
    """Ids of every resource kind the environment creates, to compare before and after."""
    ec2, s3, iam = moto.client("ec2"), moto.client("s3"), moto.client("iam")
    glue = moto.client("glue")
    instances = {
        i["InstanceId"]
        for r in ec2.describe_instances()["Reservations"]
        for i in r["Instances"]
        if i["State"]["Name"] not in ("terminated", "shutting-down")
    }
    return {
        "vpcs": {v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]},
        "subnets": {s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]},
        "security_groups": {g["GroupId"] for g in ec2.describe_security_groups()["SecurityGroups"]},
        "route_tables": {t["RouteTableId"] for t in ec2.describe_route_tables()["RouteTables"]},
        "internet_gateways": {
            g["InternetGatewayId"] for g in ec2.describe_internet_gateways()["InternetGateways"]
        },
        "nat_gateways": {
            g["NatGatewayId"]
            for g in ec2.describe_nat_gateways()["NatGateways"]
            if g["State"] not in ("deleted", "deleting")
        },
        "vpc_endpoints": {
            e["VpcEndpointId"]
            for e in ec2.describe_vpc_endpoints()["VpcEndpoints"]
            if e["State"].lower() not in ("deleted", "deleting")
        },
        "addresses": {a["AllocationId"] for a in ec2.describe_addresses()["Addresses"]},
        "instances": instances,
        "volumes": {v["VolumeId"] for v in ec2.describe_volumes()["Volumes"]},
        "key_pairs": {k["KeyName"] for k in ec2.describe_key_pairs()["KeyPairs"]},
        "buckets": {b["Name"] for b in s3.list_buckets()["Buckets"]},
        "iam_roles": {r["RoleName"] for r in iam.list_roles()["Roles"]},
        "instance_profiles": {
            p["InstanceProfileName"] for p in iam.list_instance_profiles()["InstanceProfiles"]
        },
        "iam_policies": {p["PolicyName"] for p in iam.list_policies(Scope="Local")["Policies"]},
        "glue_databases": {d["Name"] for d in glue.get_databases()["DatabaseList"]},
        "athena_workgroups": {w["Name"] for w in moto.athena("ListWorkGroups")["WorkGroups"]},
    }


@dataclass
class Deployed:
    moto: MotoServer
    terraform: Terraform
    var_file: Path
    outputs: dict[str, Any]
    bucket: str
    baseline: dict[str, set[str]]
    state: Path
    destroyed: bool = False
    up_output: str = ""
    up_summary: dict[str, Any] = field(default_factory=dict)

    def instances(self) -> dict[str, dict[str, Any]]:
        """EC2's view of the hosts, by inventory name."""
        ids = {h["instance_id"]: n for n, h in self.outputs["inventory"]["hosts"].items()}
        found = self.moto.client("ec2").describe_instances(InstanceIds=list(ids))
        return {ids[i["InstanceId"]]: i for r in found["Reservations"] for i in r["Instances"]}


def lakefeed(
    command: str, state: Path, env: dict[str, str], *args: str
) -> subprocess.CompletedProcess[str]:
    """The runner's CLI on the aws env, its state (Terraform's too) under `state`."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "lakefeed.cli",
            command,
            "--env",
            "aws",
            "--state-dir",
            str(state),
            *args,
        ],
        env={**env, "LAKEFEED_PROJECT_DIR": str(ROOT)},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    server = MotoServer(fetched(ROOT, "fetch-moto"), tmp_path_factory.mktemp("moto"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def deployed(moto: MotoServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    work = tmp_path_factory.mktemp("tf-dev")
    checkout_before = _tree(DEV)
    terraform = Terraform(DEV, work, fetched(ROOT, "fetch-terraform-provider"))
    # moto has no Debian AMIs (Debian's account does not exist there): any x86_64 EBS image
    # it ships stands in, through the ami_id override.
    images = moto.client("ec2").describe_images(
        Filters=[
            {"Name": "architecture", "Values": ["x86_64"]},
            {"Name": "root-device-type", "Values": ["ebs"]},
            {"Name": "virtualization-type", "Values": ["hvm"]},
        ]
    )["Images"]
    assert images, "moto lists no x86_64 EBS HVM image"
    bucket = f"lf-moto-{uuid.uuid4().hex[:12]}"
    var_file = work / "moto.tfvars.json"
    var_file.write_text(
        json.dumps(
            {
                "endpoint_url": moto.url,
                "name": NAME,
                "ami_id": min(i["ImageId"] for i in images),
                "admin_cidrs": ADMIN_CIDRS,
                "ssh_public_key": _ssh_public_key(),
                "lake_bucket": bucket,
            }
        )
    )
    baseline = _inventory_of_aws(moto)
    env = Deployed(moto, terraform, var_file, {}, bucket, baseline, work)
    try:
        up = lakefeed(
            "up",
            work,
            terraform.env,
            "--endpoint-url",
            moto.url,
            "--var-file",
            str(var_file),
            "--until",
            "inventory",
        )
        assert up.returncode == 0, up.stderr[-6000:]
        env.up_output = up.stderr
        env.up_summary = json.loads(up.stdout.strip().splitlines()[-1])
        env.outputs = terraform.outputs()
        yield env
    finally:
        if not env.destroyed:
            terraform.run("destroy", "-auto-approve", f"-var-file={var_file}", check=False)
        logger.info("terraform time by command: %s", dict(terraform.timings))
        assert _tree(DEV) == checkout_before, "the run left files in terraform/envs/dev"


def test_inventory_output_has_the_runners_shape(deployed: Deployed) -> None:
    out = deployed.outputs
    assert set(out) == {"inventory", "lake_bucket", "lake_prefix", "region", "catalog"}
    assert (out["lake_bucket"], out["lake_prefix"], out["region"]) == (
        deployed.bucket,
        "raw",
        "us-east-1",
    )
    inventory = out["inventory"]
    assert set(inventory) == {"ssh_user", "ssh_private_key_file", "hosts"}
    assert inventory["ssh_user"] == "admin"
    assert inventory["ssh_private_key_file"] is None
    hosts = inventory["hosts"]
    assert set(hosts) == KAFKA_HOSTS
    for name, host in hosts.items():
        assert set(host) == {
            "address",
            "private_ip",
            "availability_zone",
            "instance_id",
            "groups",
            "node_id",
        }
        assert host["groups"] == EXPECTED_GROUPS[name]
        # From the name, never from a sort: kafka-N is node N.
        assert host["node_id"] == int(name.rsplit("-", 1)[1])
        assert ipaddress.ip_address(host["private_ip"]) in ipaddress.ip_network("10.42.0.0/16")
        # Public hosts are reached over their public address.
        assert not ipaddress.ip_address(host["address"]).is_private, host
    zones = [h["availability_zone"] for h in hosts.values()]
    assert sorted(zones) == ["us-east-1a", "us-east-1b", "us-east-1c"], "one Kafka host per zone"

    for name, instance in deployed.instances().items():
        host = hosts[name]
        assert instance["Placement"]["AvailabilityZone"] == host["availability_zone"]
        assert instance["PrivateIpAddress"] == host["private_ip"]
        assert instance["PublicIpAddress"] == host["address"]
        tags = {t["Key"]: t["Value"] for t in instance["Tags"]}
        assert tags["Name"] == f"{NAME}-{name}"
        assert tags["lakefeed:cluster"] == NAME
        assert tags["lakefeed:group"] == "kafka"
        assert tags["lakefeed:ansible-groups"] == ",".join(EXPECTED_GROUPS[name])


def test_lake_bucket_is_private_encrypted_versioned_with_lifecycle(deployed: Deployed) -> None:
    s3, bucket = deployed.moto.client("s3"), deployed.bucket
    s3.head_bucket(Bucket=bucket)
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert block == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    ownership = s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]
    assert ownership["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]

    lifecycle = {r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]}
    assert set(lifecycle) == {
        "lake-storage-classes",
        "expire-athena-results",
        "abort-incomplete-multipart-uploads",
    }
    results = lifecycle["expire-athena-results"]
    assert (results["Filter"], results["Expiration"]) == (
        {"Prefix": "athena-results/"},
        {"Days": 30},
    )
    lake = lifecycle["lake-storage-classes"]
    assert lake["Status"] == "Enabled"
    assert lake["Filter"] == {"Prefix": "raw/"}
    assert {t["StorageClass"]: t["Days"] for t in lake["Transitions"]} == {
        "STANDARD_IA": 30,
        "GLACIER_IR": 90,
    }
    assert lake["Expiration"] == {"Days": 365}
    assert lake["NoncurrentVersionExpiration"]["NoncurrentDays"] == 30
    abort = lifecycle["abort-incomplete-multipart-uploads"]
    assert abort["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 7}
    assert not abort["Filter"].get("Prefix"), "abandoned uploads are aborted bucket-wide"

    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    insecure = [
        s
        for s in policy["Statement"]
        if s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
    ]
    assert len(insecure) == 1
    assert insecure[0]["Effect"] == "Deny" and insecure[0]["Action"] == "s3:*"
    assert set(insecure[0]["Resource"]) == {
        f"arn:aws:s3:::{bucket}",
        f"arn:aws:s3:::{bucket}/*",
    }
    assert all(s["Effect"] == "Deny" for s in policy["Statement"]), "the policy grants nothing"


def test_instance_profile_reaches_only_the_lake_prefix(deployed: Deployed) -> None:
    iam, bucket = deployed.moto.client("iam"), deployed.bucket
    profile = iam.get_instance_profile(InstanceProfileName=f"{NAME}-lake-writer")
    roles = profile["InstanceProfile"]["Roles"]
    assert len(roles) == 1
    role = roles[0]["RoleName"]
    trust = roles[0]["AssumeRolePolicyDocument"]
    if isinstance(trust, str):
        trust = json.loads(trust)
    assert [s["Principal"] for s in trust["Statement"]] == [{"Service": "ec2.amazonaws.com"}]
    assert iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"] == []
    assert iam.list_role_policies(RoleName=role)["PolicyNames"] == ["lake-prefix"]

    doc = iam.get_role_policy(RoleName=role, PolicyName="lake-prefix")["PolicyDocument"]
    if isinstance(doc, str):
        doc = json.loads(doc)
    statements = doc["Statement"]
    actions: set[str] = set()
    for s in statements:
        assert s["Effect"] == "Allow"
        assert "NotAction" not in s and "NotResource" not in s
        acts = {s["Action"]} if isinstance(s["Action"], str) else set(s["Action"])
        actions |= acts
        resources = [s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"]
        for resource in resources:
            if resource == f"arn:aws:s3:::{bucket}":
                # The bucket itself only for listing, and only within the prefix.
                assert acts == {"s3:ListBucket"}
                assert s["Condition"] == {"StringLike": {"s3:prefix": ["raw/", "raw/*"]}}
            else:
                assert resource == f"arn:aws:s3:::{bucket}/raw/*", resource
    assert actions == LAKE_ACTIONS

    # Only the shipper's host holds the lake's credentials.
    with_profile = {
        name
        for name, i in deployed.instances().items()
        if i.get("IamInstanceProfile", {}).get("Arn", "").endswith(f"/{NAME}-lake-writer")
    }
    assert with_profile == {"kafka-2"}


def test_the_catalog_has_a_projected_table_and_a_deduplicated_view_per_topic(
    deployed: Deployed,
) -> None:
    catalog = deployed.outputs["catalog"]
    database = "lf_moto_lake"
    assert catalog["database"] == database
    # The topics are inventories/aws's archiver_topics: `up` passed them to Terraform.
    committed = yaml.safe_load((ROOT / "inventories/aws/group_vars/all/main.yml").read_text())
    assert list(catalog["tables"]) == committed["archiver_topics"] == ["x.posts"]
    assert catalog["tables"]["x.posts"] == {
        "view": "x_posts",
        "lines": "x_posts_lines",
        "compacted": "x_posts_compacted",
    }

    glue = deployed.moto.client("glue")
    lines = glue.get_table(DatabaseName=database, Name="x_posts_lines")["Table"]
    lake = f"s3://{deployed.bucket}/raw/x.posts"
    assert lines["StorageDescriptor"]["Location"] == lake + "/"
    assert [c["Name"] for c in lines["StorageDescriptor"]["Columns"]] == ["line"]
    assert [k["Name"] for k in lines["PartitionKeys"]] == ["year", "month", "day", "hour"]
    params = lines["Parameters"]
    assert params["projection.enabled"] == "true"
    assert (params["projection.month.range"], params["projection.month.digits"]) == ("1,12", "2")
    assert params["storage.location.template"] == (
        lake + "/year=${year}/month=${month}/day=${day}/hour=${hour}/"
    )
    # The template is the lake-key contract, as the shipper writes it.
    key = lake_key("raw", SpoolName("x.posts", 2, 0, 9), "2026-03-04T05:06:07.000Z")
    filled = params["storage.location.template"].replace("${year}", "2026")
    for part, value in (("month", "03"), ("day", "04"), ("hour", "05")):
        filled = filled.replace("${" + part + "}", value)
    assert f"s3://{deployed.bucket}/{key}".startswith(filled)

    view = glue.get_table(DatabaseName=database, Name="x_posts")["Table"]
    assert view["TableType"] == "VIRTUAL_VIEW"
    text = view["ViewOriginalText"]
    assert text.startswith("/* Presto View: ") and text.endswith(" */")
    definition = json.loads(base64.b64decode(text[len("/* Presto View: ") : -len(" */")]))
    assert definition["schema"] == database
    # The SQL `lakefeed query` runs on the lab (one template for both).
    assert definition["originalSql"] == view_sql(ROOT, database, "x_posts")
    assert [c["name"] for c in definition["columns"]] == [
        c["Name"] for c in view["StorageDescriptor"]["Columns"]
    ]

    group = deployed.moto.athena("GetWorkGroup", WorkGroup=catalog["workgroup"])
    config = group["WorkGroup"]["Configuration"]
    assert config["EnforceWorkGroupConfiguration"] is True
    assert config["BytesScannedCutoffPerQuery"] == 10 * 1024**3
    results = config["ResultConfiguration"]
    assert results["OutputLocation"] == f"s3://{deployed.bucket}/athena-results/"
    assert results["EncryptionConfiguration"]["EncryptionOption"] == "SSE_S3"

    iam = deployed.moto.client("iam")
    arn = catalog["analyst_policy_arn"]
    version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    doc = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
    if isinstance(doc, str):
        doc = json.loads(doc)
    writes = [
        s
        for s in doc["Statement"]
        if any(a in ("s3:PutObject", "s3:DeleteObject") for a in _list(s["Action"]))
    ]
    assert [_list(s["Resource"]) for s in writes] == [
        [f"arn:aws:s3:::{deployed.bucket}/athena-results/*"]
    ], "analysts write query results, never the lake"


def test_the_catalog_has_a_parquet_table_of_what_compaction_writes(deployed: Deployed) -> None:
    """lakefeed compact's Parquet: its keys (compact.compacted_key) fill the table's
    template, and its columns are the view's, those compaction writes, in their order."""
    database = "lf_moto_lake"
    glue = deployed.moto.client("glue")
    parquet = glue.get_table(DatabaseName=database, Name="x_posts_compacted")["Table"]
    where = f"s3://{deployed.bucket}/{COMPACTED_PREFIX}x.posts"
    assert parquet["StorageDescriptor"]["Location"] == where + "/"
    serde = parquet["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"]
    assert serde == "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
    filled = parquet["Parameters"]["storage.location.template"].replace("${year}", "2026")
    for part, value in (("month", "03"), ("day", "04"), ("hour", "05")):
        filled = filled.replace("${" + part + "}", value)
    key = compacted_key(COMPACTED_PREFIX, "x.posts", datetime(2026, 3, 4, 5, tzinfo=UTC))
    assert f"s3://{deployed.bucket}/{key}".startswith(filled)

    view = glue.get_table(DatabaseName=database, Name="x_posts")["Table"]
    hours = ["year", "month", "day", "hour"]
    names = [c["Name"] for c in parquet["StorageDescriptor"]["Columns"]]
    viewed = [c["Name"] for c in view["StorageDescriptor"]["Columns"]]
    assert names == [n for n in viewed if n not in hours]
    assert names == [c.strip() for c in COLUMNS.split(",")]
    assert [k["Name"] for k in parquet["PartitionKeys"]] == hours


def _list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def test_hosts_require_imdsv2_and_encrypt_every_volume(deployed: Deployed) -> None:
    ec2 = deployed.moto.client("ec2")
    instances = deployed.instances()
    sg = ec2.describe_security_groups(
        Filters=[{"Name": "tag:Name", "Values": [f"{NAME}-cluster"]}]
    )["SecurityGroups"]
    assert len(sg) == 1
    sg_id = sg[0]["GroupId"]
    for name, instance in instances.items():
        meta = instance["MetadataOptions"]
        assert meta["HttpTokens"] == "required", name
        assert meta["HttpEndpoint"] == "enabled", name
        assert meta["HttpPutResponseHopLimit"] == 1, name
        assert instance["EbsOptimized"] is True
        assert instance["KeyName"] == NAME
        # See MOTO_INSTANCE_SG_GAP: the interface carries the groups.
        groups = {g["GroupId"] for eni in instance["NetworkInterfaces"] for g in eni["Groups"]}
        groups |= {g["GroupId"] for g in instance["SecurityGroups"]}
        assert groups == {sg_id}, name

        volumes = ec2.describe_volumes(
            Filters=[{"Name": "attachment.instance-id", "Values": [instance["InstanceId"]]}]
        )["Volumes"]
        by_device = {v["Attachments"][0]["Device"]: v for v in volumes}
        assert len(by_device) == 2, f"{name}: root and data volume, got {sorted(by_device)}"
        assert all(v["Encrypted"] and v["VolumeType"] == "gp3" for v in volumes), name
        data = by_device["/dev/sdf"]
        assert data["Size"] == 100
        assert data["AvailabilityZone"] == instance["Placement"]["AvailabilityZone"]
        root = by_device[instance["RootDeviceName"]]
        assert root["Size"] == 20

    rules = {(p["FromPort"], p["ToPort"]): p for p in sg[0]["IpPermissions"]}
    members_only = {(9092, 9092), (9093, 9093), (7071, 7071), (9100, 9100), (9101, 9120)}
    assert set(rules) == members_only | {(22, 22)}
    for ports in members_only:
        rule = rules[ports]
        assert rule["IpRanges"] == [] and rule.get("Ipv6Ranges", []) == []
        assert [p["GroupId"] for p in rule["UserIdGroupPairs"]] == [sg_id]
    assert sorted(r["CidrIp"] for r in rules[(22, 22)]["IpRanges"]) == sorted(ADMIN_CIDRS)
    assert rules[(22, 22)]["UserIdGroupPairs"] == []


def test_second_plan_changes_nothing(deployed: Deployed) -> None:
    changes = deployed.terraform.plan_changes(deployed.var_file)
    unexpected = []
    for rc in changes:
        before, after = rc["change"]["before"] or {}, rc["change"]["after"] or {}
        unknown = rc["change"].get("after_unknown") or {}
        differing = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
        differing |= {k for k, v in unknown.items() if v}
        if rc["type"] == "aws_instance" and rc["change"]["actions"] == ["update"]:
            differing -= MOTO_INSTANCE_SG_GAP
        if differing:
            unexpected.append((rc["address"], rc["change"]["actions"], sorted(differing)))
    assert unexpected == [], f"a second plan wants changes: {unexpected}"


def test_up_wrote_the_inventory_and_showed_progress(deployed: Deployed) -> None:
    hosts_file = deployed.state / "inventory" / "hosts.yml"
    inv = yaml.safe_load(hosts_file.read_text())["all"]
    assert inv["vars"]["ansible_user"] == "admin"
    assert inv["vars"]["shipper_s3_bucket"] == deployed.bucket
    assert inv["vars"]["shipper_s3_region"] == "us-east-1"
    kafka = inv["children"]["kafka"]["hosts"]
    outputs = deployed.outputs["inventory"]["hosts"]
    assert sorted(kafka) == sorted(KAFKA_HOSTS)
    assert sorted(h["kafka_node_id"] for h in kafka.values()) == [1, 2, 3]
    for name, host in kafka.items():
        assert host["ansible_host"] == outputs[name]["address"]
        assert host["kafka_advertised_host"] == outputs[name]["private_ip"]
        assert host["kafka_broker_rack"] == outputs[name]["availability_zone"]
    for group, members in (
        ("collector", ["kafka-1"]),
        ("archiver", ["kafka-2"]),
        ("shipper", ["kafka-2"]),
    ):
        assert sorted(inv["children"][group]["hosts"]) == members, group
    # Progress per resource, and the plan's summary, came from Terraform's -json stream.
    out = deployed.up_output
    assert "plan: create module.cluster" in out or "plan: create module." in out, out[-3000:]
    assert "done in" in out and "applied:" in out, out[-3000:]
    assert deployed.up_summary["stage"] == "inventory"
    assert deployed.up_summary["workgroup"] == "lf-moto-lake"
    assert "catalog: Athena workgroup lf-moto-lake, database lf_moto_lake, views x_posts" in out
    assert deployed.up_summary["hosts"] == 3


def test_lakefeed_plan_reuses_ups_arguments_and_adds_nothing(deployed: Deployed) -> None:
    # No --var-file or --endpoint-url: plan (like down) reuses what up was given.
    plan = lakefeed("plan", deployed.state, deployed.terraform.env)
    assert plan.returncode == 0, plan.stderr[-4000:]
    summary = json.loads(plan.stdout.strip().splitlines()[-1])
    # Only moto's security-group gap may show up as an in-place change.
    assert (summary["add"], summary["remove"]) == (0, 0), plan.stderr[-4000:]


def test_destroy_leaves_nothing(deployed: Deployed) -> None:
    # Off a terminal and without --yes, down asks nobody and destroys nothing.
    refused = lakefeed("down", deployed.state, deployed.terraform.env)
    assert refused.returncode == 2, refused.stderr[-3000:]
    assert "pass --yes" in refused.stderr
    assert deployed.terraform.state_addresses() != []

    down = lakefeed("down", deployed.state, deployed.terraform.env, "--yes")
    assert down.returncode == 0, down.stderr[-6000:]
    deployed.destroyed = True
    assert deployed.terraform.state_addresses() == []
    assert _inventory_of_aws(deployed.moto) == deployed.baseline
    assert not (deployed.state / "inventory" / "hosts.yml").exists()
