"""The Terraform CLI, run with `-json` so the runner can show progress and name errors.

Progress is one line per resource as Terraform reports it (planned, creating, created in
N s, destroyed); errors are Terraform's own diagnostics (summary, resource, detail). The
provider comes from the filesystem mirror `scripts/fetch-terraform-provider` prepares
(TF_CLI_CONFIG_FILE), so nothing is fetched from a registry at run time.
"""

from __future__ import annotations

import json
import os
import re
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


# Comments (they may hold a documented, commented-out backend block), then the block.
_COMMENT = re.compile(r"/\*.*?\*/|#[^\n]*|//[^\n]*", re.S)
_BACKEND = re.compile(r'\bbackend\s+"([A-Za-z0-9_-]+)"\s*\{|^\s*cloud\s*\{', re.M)


def backend_type(workdir: Path) -> str | None:
    """The backend the root module in `workdir` declares: the type of its `backend
    "<type>" {}` block ("local", "s3", ...; "cloud" for a `cloud` block), or None without
    one. Commented-out blocks do not count; override files (override.tf, *_override.tf)
    win, as Terraform merges them. JSON configuration (*.tf.json) is not read."""
    files = sorted(workdir.glob("*.tf"))
    overrides = [f for f in files if f.name == "override.tf" or f.name.endswith("_override.tf")]
    found = None
    for f in [f for f in files if f not in overrides] + overrides:
        for match in _BACKEND.finditer(_COMMENT.sub("", f.read_text(encoding="utf-8"))):
            found = match.group(1) or "cloud"
    return found


def init_args(workdir: Path, backend_path: Path | None) -> list[str]:
    """Arguments of `terraform init` in `workdir`. `backend_path` (the state file) goes
    to the backend only where it is an argument: the local backend's `path`. Any other
    backend (the S3 one envs/dev documents) fails init on an argument it does not have,
    and without a backend block Terraform only warns that it ignores -backend-config."""
    # readonly: the committed .terraform.lock.hcl pins the provider's checksums; an init
    # that wants to change it is an error to look at, not something to write.
    args = ["init", "-input=false", "-no-color", "-json", "-reconfigure", "-lockfile=readonly"]
    if backend_path is not None and backend_type(workdir) == "local":
        args.append(f"-backend-config=path={backend_path}")
    return args


# How often a resource that takes long says so, in seconds of its own elapsed time.
PROGRESS_EVERY = 30
STILL = {
    "create": "creating",
    "delete": "destroying",
    "update": "updating",
    "read": "reading",
    "replace": "replacing",
}


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
        inherited = dict(os.environ)
        if env and env.get("AWS_CONFIG_FILE") == os.devnull:
            # A stand-in account: nothing of the caller's AWS setup (profile, keys, SSO)
            # may reach the provider.
            inherited = {k: v for k, v in inherited.items() if not k.startswith("AWS_")}
        self.env = {
            **inherited,
            **(env or {}),
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "TF_DATA_DIR": str(data_dir),
        }
        if cli_config is not None:
            self.env["TF_CLI_CONFIG_FILE"] = str(cli_config)
        self.started = time.monotonic()
        # Per resource: the elapsed seconds of the last "still ..." line printed.
        self._progress_said: dict[str, int] = {}

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
            # A resource's next operation (a replace's create after its delete, a later
            # apply of this runner) counts its own time from zero.
            self._progress_said.pop(resource, None)
            self.say(f"{hook.get('action', 'apply')} {resource} ...")
        elif kind == "apply_progress":
            # Terraform reports every 10 s while a resource is being worked on; a line
            # every PROGRESS_EVERY s says the run is alive without burying the rest.
            elapsed = int(hook.get("elapsed_seconds", 0))
            if elapsed - self._progress_said.get(resource, 0) >= PROGRESS_EVERY:
                self._progress_said[resource] = elapsed
                action = hook.get("action", "")
                verb = STILL.get(action, f"working on ({action})")
                self.say(f"still {verb} {resource} ({elapsed // 60}m{elapsed % 60:02d}s)")
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
        """`backend_path`: where the state is kept while the configuration declares
        `backend "local" {}` (as envs/dev does); with another backend the state lives
        there and `backend_path` is not used."""
        self.say(f"terraform init ({self.workdir.name})")
        kind = backend_type(self.workdir)
        if backend_path is not None and kind is None:
            self.say(f"no backend block in {self.workdir}: state is in terraform.tfstate there")
        elif backend_path is not None and kind != "local":
            self.say(f"state lives in the configured {kind} backend, not in {backend_path}")
        rc, _, errors, _ = self._run(init_args(self.workdir, backend_path), stream=True)
        if rc != 0:
            raise TerraformError("terraform init failed:\n  " + "\n  ".join(errors))

    def plan(
        self,
        plan_file: Path | None = None,
        *,
        destroy: bool = False,
        targets: list[str] | None = None,
        replace: list[str] | None = None,
    ) -> Outcome:
        """`targets`: only these addresses (and what depends on them); `replace`: these
        resources are destroyed and created anew."""
        args = ["plan", "-input=false", "-json", "-lock-timeout=60s", *self._var_args()]
        if destroy:
            args.append("-destroy")
        args += [f"-target={t}" for t in targets or []]
        args += [f"-replace={r}" for r in replace or []]
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

    def show_json(self, plan_file: Path) -> dict[str, Any]:
        """`terraform show -json` of a saved plan: its prior state, changes, variables."""
        rc, _, errors, stdout = self._run(["show", "-json", str(plan_file)], stream=False)
        if rc != 0:
            raise TerraformError("terraform show failed:\n  " + "\n  ".join(errors))
        return dict(json.loads(stdout or "{}"))

    def outputs(self) -> dict[str, Any]:
        rc, _, errors, stdout = self._run(["output", "-json"], stream=False)
        if rc != 0:
            raise TerraformError("terraform output failed:\n  " + "\n  ".join(errors))
        raw = json.loads(stdout or "{}")
        return {k: v.get("value") for k, v in raw.items()}
