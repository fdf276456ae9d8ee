"""Terraform against a local AWS API: moto's server on loopback, the real CLI and provider.

`MotoServer` runs moto (installed by scripts/fetch-moto) on a free loopback port, through
scripts/moto-serve, which lets one request at a time into moto;
`Terraform` runs the terraform CLI with the provider mirror of
scripts/fetch-terraform-provider, its working data and state in a temporary directory,
and credentials that can only reach the local endpoint.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import time
import urllib.request
from collections import defaultdict
from pathlib import Path
from typing import Any

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from lakefeed.local.servers import free_port

logger = logging.getLogger(__name__)

SERVE = Path(__file__).resolve().parents[2] / "scripts" / "moto-serve"

REGION = "us-east-1"
# moto accepts any key; these keep the provider and boto3 away from real credentials.
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


class MotoServer:
    """One moto server process: every AWS service on http://127.0.0.1:<port>."""

    def __init__(self, moto_server: Path, workdir: Path, region: str = REGION) -> None:
        self.bin = moto_server
        self.workdir = workdir
        self.region = region
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / "moto.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> MotoServer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            # moto_server's own interpreter, the one with moto installed.
            python = self.bin.parent / "python"
            self.proc = subprocess.Popen(
                [str(python), str(SERVE), "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
            )
        deadline = time.monotonic() + timeout
        while not self._ready():
            if self.proc.poll() is not None:
                tail = self.log.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"moto_server exited {self.proc.returncode}:\n{tail}")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"moto_server silent after {timeout:.0f}s; see {self.log}")
            time.sleep(0.2)
        return self

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{self.port}/moto-api/data.json", timeout=1
            ) as r:
                return bool(r.status == 200)
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=self.region,
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )

    def athena(self, operation: str, **params: Any) -> dict[str, Any]:
        """One Athena call in its JSON protocol (`AmazonAthena.<operation>`), signed as
        boto3 signs it. botocore 1.44 speaks REST-JSON to Athena, which moto 5.2 does not
        route (404); the Terraform provider speaks JSON, as this does."""
        request = AWSRequest(
            method="POST",
            url=self.url + "/",
            data=json.dumps(params).encode(),
            headers={
                "Content-Type": "application/x-amz-json-1.1",
                "X-Amz-Target": f"AmazonAthena.{operation}",
            },
        )
        SigV4Auth(
            Credentials(
                FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"], FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"]
            ),
            "athena",
            self.region,
        ).add_auth(request)
        prepared = request.prepare()
        # The URL is this server's own http://127.0.0.1:<port>/.
        call = urllib.request.Request(  # noqa: S310
            prepared.url, data=prepared.body, headers=dict(prepared.headers), method="POST"
        )
        with urllib.request.urlopen(call, timeout=30) as answer:  # noqa: S310
            result: dict[str, Any] = json.loads(answer.read())
        return result


class TerraformError(AssertionError):
    pass


class Terraform:
    """The terraform CLI on one configuration directory, with everything it writes elsewhere.

    `.terraform/` goes to TF_DATA_DIR under `workdir` and the state to
    `workdir/terraform.tfstate` (the configuration's local backend, pointed there at init),
    as `lakefeed ... --state-dir WORKDIR` does; `init` refuses to touch the committed lock
    file: the checkout stays as it was.
    """

    def __init__(
        self,
        config_dir: Path,
        workdir: Path,
        cli_config: Path,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        binary = shutil.which("terraform")
        if binary is None:
            raise TerraformError("terraform is not on PATH: install Terraform >= 1.9")
        self.binary = binary
        self.config_dir = config_dir
        self.workdir = workdir
        self.state = workdir / "terraform.tfstate"
        self.timings: dict[str, float] = defaultdict(float)
        workdir.mkdir(parents=True, exist_ok=True)
        # Nothing of the caller's AWS or Terraform setup leaks in: no profile, no real keys.
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TF_"))}
        self.env.update(
            TF_CLI_CONFIG_FILE=str(cli_config),
            # Where `lakefeed up --env aws --state-dir WORKDIR` keeps it too.
            TF_DATA_DIR=str(workdir / "terraform-data"),
            TF_IN_AUTOMATION="1",
            TF_INPUT="0",
            CHECKPOINT_DISABLE="1",
            AWS_CONFIG_FILE=os.devnull,
            AWS_SHARED_CREDENTIALS_FILE=os.devnull,
            AWS_EC2_METADATA_DISABLED="true",
            AWS_REGION=REGION,
            **FAKE_CREDENTIALS,
        )
        self.env.update(extra_env or {})

    def run(
        self, command: str, *args: str, timeout: float = 900.0, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        cmd = [self.binary, f"-chdir={self.config_dir}", command, "-no-color", *args]
        started = time.monotonic()
        proc = subprocess.run(
            cmd, env=self.env, capture_output=True, text=True, timeout=timeout, check=False
        )
        took = time.monotonic() - started
        self.timings[command] += took
        logger.info("terraform %s: exit %s in %.1fs", command, proc.returncode, took)
        with (self.workdir / f"{command}.log").open("a") as log:
            log.write(proc.stdout + proc.stderr)
        if check and proc.returncode != 0:
            raise TerraformError(
                f"terraform {command} {' '.join(args)} exited {proc.returncode}:\n"
                f"{proc.stderr[-6000:]}\n--- stdout ---\n{proc.stdout[-3000:]}"
            )
        return proc

    def init(self) -> None:
        self.run("init", "-lockfile=readonly", f"-backend-config=path={self.state}")

    def apply(self, var_file: Path) -> None:
        self.run("apply", "-auto-approve", f"-var-file={var_file}")

    def destroy(self, var_file: Path) -> None:
        self.run("destroy", "-auto-approve", f"-var-file={var_file}")

    def outputs(self) -> dict[str, Any]:
        raw = json.loads(self.run("output", "-json").stdout)
        return {name: out["value"] for name, out in raw.items()}

    def plan_changes(self, var_file: Path) -> list[dict[str, Any]]:
        """The resource changes a plan would make now: [] when the state matches the config."""
        plan = self.workdir / "check.tfplan"
        self.run("plan", f"-var-file={var_file}", f"-out={plan}")
        shown = json.loads(self.run("show", "-json", str(plan)).stdout)
        return [
            rc
            for rc in shown.get("resource_changes", [])
            if rc["change"]["actions"] not in (["no-op"], ["read"])
        ]

    def state_addresses(self) -> list[str]:
        """Addresses of every resource in the state."""
        state = json.loads(self.run("show", "-json").stdout)
        found: list[str] = []
        modules = [state.get("values", {}).get("root_module", {})]
        while modules:
            module = modules.pop()
            found += [r["address"] for r in module.get("resources", [])]
            modules += module.get("child_modules", [])
        return sorted(found)
