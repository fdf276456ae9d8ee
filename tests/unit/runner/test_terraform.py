"""The Terraform runner: its init arguments (the state path goes only to a local backend)
and what it prints of Terraform's progress."""

from __future__ import annotations

import io
import re
from pathlib import Path

from lakefeed.runner.terraform import Outcome, Terraform, backend_type, init_args

ROOT = Path(__file__).resolve().parents[3]
DEV_VERSIONS = ROOT / "terraform" / "envs" / "dev" / "versions.tf"
STATE = Path("/srv/lakefeed/.aws-state/terraform.tfstate")
PATH_ARG = f"-backend-config=path={STATE}"


def workdir(tmp_path: Path, **files: str) -> Path:
    """A root module made of `files` (name without .tf -> text)."""
    for name, text in files.items():
        (tmp_path / f"{name}.tf").write_text(text)
    return tmp_path


def switched_to_s3(versions: str) -> str:
    """versions.tf after the documented switch: the commented `backend "s3"` block
    uncommented, `backend "local" {}` removed."""
    block = re.search(r'^( *)# backend "s3" \{\n(?:\1#.*\n)*?\1# \}\n', versions, re.M)
    assert block is not None, 'envs/dev/versions.tf no longer documents a backend "s3" block'
    indent = block.group(1)
    uncommented = re.sub(rf"^{indent}# ?", indent, block.group(0), flags=re.M)
    text = versions.replace(block.group(0), uncommented)
    text, removed = re.subn(r'^ *backend "local" \{\}\n', "", text, flags=re.M)
    assert removed == 1, 'envs/dev/versions.tf no longer declares backend "local" {}'
    return text


def test_local_backend_gets_the_state_path(tmp_path: Path) -> None:
    wd = workdir(tmp_path, versions='terraform {\n  backend "local" {}\n}\n')
    assert backend_type(wd) == "local"
    assert init_args(wd, STATE)[-1] == PATH_ARG


def test_dev_env_as_committed_is_local(tmp_path: Path) -> None:
    # Its commented-out backend "s3" block must not count.
    wd = workdir(tmp_path, versions=DEV_VERSIONS.read_text())
    assert backend_type(wd) == "local"
    assert PATH_ARG in init_args(wd, STATE)


def test_dev_env_switched_to_s3_gets_no_path(tmp_path: Path) -> None:
    wd = workdir(tmp_path, versions=switched_to_s3(DEV_VERSIONS.read_text()))
    assert backend_type(wd) == "s3"
    args = init_args(wd, STATE)
    assert not [a for a in args if a.startswith("-backend-config")], args
    assert args == [
        "init",
        "-input=false",
        "-no-color",
        "-json",
        "-reconfigure",
        "-lockfile=readonly",
    ]


def test_s3_backend_with_a_commented_local_one(tmp_path: Path) -> None:
    wd = workdir(
        tmp_path,
        versions="""
terraform {
  # backend "local" {}
  // backend "local" {}
  /* the old one:
  backend "local" {
    path = "x.tfstate"
  }
  */
  backend "s3" {
    bucket = "acme-terraform-state" # where the team's states are
    key    = "lakefeed/dev/terraform.tfstate"
  }
}
""",
    )
    assert backend_type(wd) == "s3"
    assert PATH_ARG not in init_args(wd, STATE)


def test_comment_markers_inside_strings_are_text(tmp_path: Path) -> None:
    # "/*" or "#" in a string starts no comment, and a template's own quotes and braces
    # do not end the string early: the backend after them is still found.
    wd = workdir(
        tmp_path,
        main="""
locals {
  url    = "http://example.com/*"
  anchor = "page#top"
  name   = "${replace(var.name, "}", "{")}-x"
  brace  = "$${not a template"
}
""",
        versions='terraform {\n  backend "s3" {\n    endpoint = "http://127.0.0.1:5000"\n  }\n}\n',
    )
    assert backend_type(wd) == "s3"


def test_override_file_replaces_the_backend(tmp_path: Path) -> None:
    wd = workdir(
        tmp_path,
        versions='terraform {\n  backend "local" {}\n}\n',
        backend_override='terraform {\n  backend "s3" {}\n}\n',
    )
    assert backend_type(wd) == "s3"
    assert PATH_ARG not in init_args(wd, STATE)


def test_a_cloud_block_is_not_local(tmp_path: Path) -> None:
    wd = workdir(tmp_path, versions='terraform {\n  cloud {\n    organization = "acme"\n  }\n}\n')
    assert backend_type(wd) == "cloud"
    assert PATH_ARG not in init_args(wd, STATE)


def test_no_backend_path_no_argument(tmp_path: Path) -> None:
    wd = workdir(tmp_path, versions='terraform {\n  backend "local" {}\n}\n')
    assert not [a for a in init_args(wd, None) if a.startswith("-backend-config")]


def progress(action: str, addr: str, elapsed: int) -> dict[str, object]:
    """One apply_progress line of `terraform apply -json`, as Terraform sends every 10 s."""
    return {
        "type": "apply_progress",
        "hook": {"resource": {"addr": addr}, "action": action, "elapsed_seconds": elapsed},
    }


def _said(out: io.StringIO) -> list[str]:
    """The runner's lines without their elapsed-time stamp."""
    return [line.split("]", 1)[1].strip() for line in out.getvalue().splitlines()]


def test_a_resource_that_takes_long_says_so_every_half_minute(tmp_path: Path) -> None:
    """A destroy blocked for minutes (a VPC that still holds something Terraform did not
    make) must not look like a hang: one line per 30 s of it, not one per 10 s."""
    out = io.StringIO()
    tf = Terraform(tmp_path, data_dir=tmp_path / "data", cli_config=None, out=out)
    vpc, subnet = "module.network.aws_vpc.this", 'module.network.aws_subnet.public["a"]'
    for elapsed in range(10, 130, 10):
        tf._event(progress("delete", vpc, elapsed), Outcome(), [])
    tf._event(progress("create", subnet, 10), Outcome(), [])
    tf._event(progress("create", subnet, 30), Outcome(), [])
    said = _said(out)
    assert said == [
        f"still destroying {vpc} (0m30s)",
        f"still destroying {vpc} (1m00s)",
        f"still destroying {vpc} (1m30s)",
        f"still destroying {vpc} (2m00s)",
        f"still creating {subnet} (0m30s)",
    ]


def test_each_operation_of_a_resource_counts_its_own_time(tmp_path: Path) -> None:
    """A replaced host is destroyed, then created: the create's first half minute is
    reported like the destroy's, not only once it outlasts the destroy."""
    out = io.StringIO()
    tf = Terraform(tmp_path, data_dir=tmp_path / "data", cli_config=None, out=out)
    host = 'module.cluster.aws_instance.host["kafka-3"]'
    start = {"type": "apply_start", "hook": {"resource": {"addr": host}}}
    tf._event({**start, "hook": {**start["hook"], "action": "delete"}}, Outcome(), [])
    for elapsed in range(10, 70, 10):
        tf._event(progress("delete", host, elapsed), Outcome(), [])
    tf._event({**start, "hook": {**start["hook"], "action": "create"}}, Outcome(), [])
    for elapsed in range(10, 40, 10):
        tf._event(progress("create", host, elapsed), Outcome(), [])
    said = _said(out)
    assert said == [
        f"delete {host} ...",
        f"still destroying {host} (0m30s)",
        f"still destroying {host} (1m00s)",
        f"create {host} ...",
        f"still creating {host} (0m30s)",
    ]
