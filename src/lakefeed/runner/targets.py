"""Where an environment's inventory, secrets and runner state live.

`lab`: the committed settings in inventories/lab plus what `lakefeed up` generated in
.lab/ (hosts, paths, the vaulted S3 keys and the vault password). `aws`: inventories/aws,
whose hosts.yml `lakefeed up --env aws` writes from the Terraform outputs, and .aws-state/
for the runner's files; the vault password comes from $LAKEFEED_VAULT_PASSWORD_FILE or
.aws-state/vault-password. `aws-rehearsal`: the AWS path against a local AWS API and
local hosts (docs/aws.md), inventories/aws plus what it generates in .rehearsal/.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from lakefeed.errors import LakefeedError

ENVS = ("lab", "aws", "aws-rehearsal")


@dataclass(frozen=True)
class Target:
    name: str
    root: Path
    state: Path
    inventories: tuple[Path, ...]
    hosts_file: Path
    vault_password_file: Path | None

    @property
    def wheelhouse(self) -> Path:
        return self.state / "wheelhouse"

    @property
    def generated_inventory(self) -> Path:
        """Where `up` writes this machine's inventory: hosts.yml and, for the lab, the
        generated paths and vaulted secrets in group_vars/all."""
        return self.hosts_file.parent

    @property
    def generated_vars(self) -> Path:
        return self.generated_inventory / "group_vars" / "all" / "generated.yml"

    @property
    def vault_file(self) -> Path:
        return self.generated_inventory / "group_vars" / "all" / "vault.yml"

    @property
    def own_vault_password(self) -> Path:
        """The vault password `up` makes when none is given (the lab's, always)."""
        return self.state / "vault-password"

    @property
    def events_log(self) -> Path:
        return self.state / "events.jsonl"

    @property
    def rollout_log(self) -> Path:
        return self.state / "rollout.jsonl"

    @property
    def lock_file(self) -> Path:
        return self.state / "rollout.lock"

    def require_hosts(self) -> None:
        if not self.hosts_file.is_file():
            how = "lakefeed up" if self.name == "lab" else f"lakefeed up --env {self.name}"
            raise LakefeedError(
                f"no {self.name} hosts yet ({self.hosts_file} is missing): run `{how}` first"
            )


def target(name: str, root: Path, state: Path | None = None) -> Target:
    if name == "lab":
        state = state or root / ".lab"
        return Target(
            name="lab",
            root=root,
            state=state,
            inventories=(root / "inventories" / "lab", state / "inventory"),
            hosts_file=state / "inventory" / "hosts.yml",
            vault_password_file=state / "vault-password",
        )
    if name in ("aws", "aws-rehearsal"):
        # The default hosts file sits with the committed AWS settings; a separate state
        # dir (tests, a second cluster, the rehearsal) gets its own generated inventory
        # beside them.
        committed = root / "inventories" / "aws"
        if name == "aws-rehearsal":
            state = state or root / ".rehearsal"
        inventories = (committed,) if state is None else (committed, state / "inventory")
        state = state or root / ".aws-state"
        env_password = os.environ.get("LAKEFEED_VAULT_PASSWORD_FILE")
        password = Path(env_password) if env_password else state / "vault-password"
        if env_password and not password.is_file():
            raise LakefeedError(
                f"LAKEFEED_VAULT_PASSWORD_FILE={env_password} is not a file: point it at the "
                "file holding the ansible-vault password of inventories/aws"
            )
        return Target(
            name=name,
            root=root,
            state=state,
            inventories=inventories,
            hosts_file=inventories[-1] / "hosts.yml",
            vault_password_file=password if password.is_file() else None,
        )
    raise LakefeedError(f"unknown environment {name!r}: use one of {', '.join(ENVS)}")
