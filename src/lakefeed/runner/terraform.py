"""The Terraform CLI, run with `-json` so the runner can show progress and name errors.

Progress is one line per resource as Terraform reports it (planned, creating, created in
N s, destroyed); errors are Terraform's own diagnostics (summary, resource, detail). The
provider comes from the filesystem mirror `scripts/fetch-terraform-provider` prepares
(TF_CLI_CONFIG_FILE), so nothing is fetched from a registry at run time.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from lakefeed.errors import LakefeedError


class TerraformError(LakefeedError):
    """terraform exited non-zero; the message carries its error diagnostics."""


@dataclass
class Outcome:
    add: int = 0
    change: int = 0
    remove: int = 0
    planned: list[tuple[str, str]] = field(default_factory=list)

    @property
    def summary(self) -> str:
        return f"{self.add} to add, {self.change} to change, {self.remove} to destroy"


class Terraform:
    def __init__(
        self,
        workdir: Path,
        *,
        data_dir: Path,
        cli_config: Path | None,
        variables: dict[str, Any] | None = None,
        var_files: list[Path] | None = None,
        env: dict[str, str] | None = None,
        out: TextIO = sys.stderr,
    ) -> None:
        binary = shutil.which("terraform")
        if binary is None:
            raise LakefeedError(
                "terraform is not on PATH: install Terraform >= 1.7 (scripts/bootstrap does "
                "on Debian) and run again"
            )
        self.binary = binary
        self.workdir = workdir
        self.data_dir = data_dir
        self.variables = {k: v for k, v in (variables or {}).items() if v is not None}
        self.var_files = var_files or []
        self.out = out
        self.env = {
            **os.environ,
            **(env or {}),
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "TF_DATA_DIR": str(data_dir),
        }
        if cli_config is not None:
            self.env["TF_CLI_CONFIG_FILE"] = str(cli_config)
        self.started = time.monotonic()

    def say(self, text: str) -> None:
        self.out.write(f"[{time.monotonic() - self.started:6.0f}s]   {text}\n")
        self.out.flush()

    def _var_args(self) -> list[str]:
        args = [f"-var-file={f}" for f in self.var_files]
        for key, value in sorted(self.variables.items()):
            text = value if isinstance(value, str) else json.dumps(value)
            args.append(f"-var={key}={text}")
        return args

    def _run(self, args: list[str], *, stream: bool) -> tuple[int, Outcome, list[str], str]:
        """Run terraform; with `stream`, parse its -json lines as they come. Returns the
        exit code, what the stream said, the errors, and stdout that was not parsed."""
        argv = [self.binary, f"-chdir={self.workdir}", *args]
        outcome = Outcome()
        errors: list[str] = []
        with subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env,
        ) as proc:
            assert proc.stdout is not None
            assert proc.stderr is not None
            plain: list[str] = []
            for line in proc.stdout:
                if not stream:
                    plain.append(line)
                    continue
                try:
                    msg = json.loads(line)
                except ValueError:
                    plain.append(line)
                    continue
                self._event(msg, outcome, errors)
            stderr = proc.stderr.read()
            rc = proc.wait()
        if rc != 0 and not errors:
            text = (stderr.strip() or "".join(plain).strip())[-3000:]
            errors.append(text or f"terraform {args[0]} exited {rc}")
        return rc, outcome, errors, "".join(plain)

    def _event(self, msg: dict[str, Any], outcome: Outcome, errors: list[str]) -> None:
        kind = msg.get("type")
        hook = msg.get("hook") or {}
        resource = (hook.get("resource") or {}).get("addr") or (
            (msg.get("change") or {}).get("resource") or {}
        ).get("addr", "")
        if kind == "planned_change":
            action = msg["change"]["action"]
            outcome.planned.append((action, resource))
            self.say(f"plan: {action} {resource}")
        elif kind == "apply_start":
            self.say(f"{hook.get('action', 'apply')} {resource} ...")
        elif kind == "apply_complete":
            what = hook.get("id_value") or ""
            self.say(
                f"{hook.get('action', 'done')} {resource} {what} done in "
                f"{hook.get('elapsed_seconds', 0)}s".replace("  ", " ")
            )
        elif kind == "apply_errored":
            self.say(f"FAILED {resource}")
        elif kind == "change_summary":
            c = msg.get("changes") or {}
            outcome.add, outcome.change, outcome.remove = (
                int(c.get("add", 0)),
                int(c.get("change", 0)),
                int(c.get("remove", 0)),
            )
        elif kind == "diagnostic":
            diag = msg.get("diagnostic") or {}
            text = diag.get("summary", "")
            addr = diag.get("address") or ""
            rng = diag.get("range") or {}
            where = f"{rng.get('filename')}:{(rng.get('start') or {}).get('line')}" if rng else ""
            detail = " ".join((diag.get("detail") or "").split())
            full = ": ".join(x for x in (where or addr, text, detail) if x)
            if diag.get("severity") == "error":
                errors.append(full)
                self.say(f"ERROR {full}")
            else:
                self.say(f"warning: {full}")

    def init(self, backend_path: Path | None = None) -> None:
        """`backend_path`: where the local backend keeps the state (the env declares
        `backend "local" {}`; a remote backend configured there ignores it)."""
        self.say(f"terraform init ({self.workdir.name})")
        # readonly: the committed .terraform.lock.hcl pins the provider's checksums; an init
        # that wants to change it is an error to look at, not something to write.
        args = ["init", "-input=false", "-no-color", "-json", "-reconfigure", "-lockfile=readonly"]
        if backend_path is not None:
            args.append(f"-backend-config=path={backend_path}")
        rc, _, errors, _ = self._run(args, stream=True)
        if rc != 0:
            raise TerraformError("terraform init failed:\n  " + "\n  ".join(errors))

    def plan(self, plan_file: Path | None = None, *, destroy: bool = False) -> Outcome:
        args = ["plan", "-input=false", "-json", "-lock-timeout=60s", *self._var_args()]
        if destroy:
            args.append("-destroy")
        if plan_file is not None:
            args.append(f"-out={plan_file}")
        rc, outcome, errors, _ = self._run(args, stream=True)
        if rc != 0:
            raise TerraformError("terraform plan failed:\n  " + "\n  ".join(errors))
        return outcome

    def apply(self, plan_file: Path) -> Outcome:
        rc, outcome, errors, _ = self._run(
            ["apply", "-input=false", "-json", "-lock-timeout=60s", str(plan_file)], stream=True
        )
        if rc != 0:
            raise TerraformError("terraform apply failed:\n  " + "\n  ".join(errors))
        return outcome

    def outputs(self) -> dict[str, Any]:
        rc, _, errors, stdout = self._run(["output", "-json"], stream=False)
        if rc != 0:
            raise TerraformError("terraform output failed:\n  " + "\n  ".join(errors))
        raw = json.loads(stdout or "{}")
        return {k: v.get("value") for k, v in raw.items()}
