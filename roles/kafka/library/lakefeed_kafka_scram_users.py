#!/usr/bin/python
"""Ensure Kafka SCRAM-SHA-512 users exist with the given passwords, with Kafka's own tool."""

from __future__ import annotations

DOCUMENTATION = r"""
module: lakefeed_kafka_scram_users
short_description: Ensure SCRAM-SHA-512 users exist on a running cluster with their passwords
description:
  - Lists the cluster's SCRAM users with ConfigCommand, and sets (kafka-configs --alter)
    the credential of each user that is missing or whose password differs from the one
    this module last set.
  - Kafka cannot tell a password back, so the module keeps, per user, a salted PBKDF2
    digest of the password it set in I(state_path) (mode 0600). A user found on the
    cluster but not in that file is set again once.
  - Passwords are handed to the tool in a java argument file (mode 0600, removed
    afterwards), never on a command line; they are never returned.
  - With I(remove_undeclared), a user this module once set (it is in I(state_path)) and
    no longer listed is deleted, unless it is in I(keep); users it never set are left
    alone. On failure C(msg) says why; it is set only then.
options:
  users:
    description: The users, each C(name) and C(password).
    type: list
    elements: dict
    required: true
  bootstrap_servers: {description: host:port list., type: str, required: true}
  command_config: {description: Client properties of an admin login., type: path, required: true}
  classpath: {description: Kafka's libs/* classpath., type: str, required: true}
  log4j_config: {description: log4j2 config for the tools., type: str, required: true}
  state_path: {description: Where the password digests are kept., type: path, required: true}
  iterations: {description: SCRAM iterations (4096-16384)., type: int, default: 8192}
  remove_undeclared:
    {description: Delete the users it set that are not listed., type: bool, default: false}
  keep:
    {description: Users never deleted (the logins nodes still run with)., type: list, default: []}
"""

import base64
import hashlib
import hmac
import json
import os
import re
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.lakefeed_kafka_tool import TOOL_ARGS, run_tool

MECHANISM = "SCRAM-SHA-512"
CONFIG_COMMAND = "kafka.admin.ConfigCommand"
DESCRIBED = re.compile(
    r"SCRAM credential configs for user-principal '(?P<name>[^']+)' are (?P<m>.*)"
)
DIGEST_ROUNDS = 200_000


def scram_users(module):
    """Names of the cluster's users that have a SCRAM-SHA-512 credential."""
    rc, out, err = run_tool(module, CONFIG_COMMAND, "--describe", "--entity-type", "users")
    if rc != 0:
        module.fail_json(msg=f"cannot list the SCRAM users: {(err or out).strip()[-2000:]}", rc=rc)
    return {m["name"] for m in map(DESCRIBED.search, out.splitlines()) if m and MECHANISM in m["m"]}


def delete_user(module, name, state):
    args = ["--alter", "--delete-config", MECHANISM]
    args += ["--entity-type", "users", "--entity-name", name]
    rc, out, err = run_tool(module, CONFIG_COMMAND, *args)
    if rc != 0:
        save_state(module.params["state_path"], state)
        why = (err or out).strip()[-2000:]
        module.fail_json(msg=f"cannot delete the SCRAM user {name}: {why}", rc=rc)


def digest(password, salt):
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt, DIGEST_ROUNDS)


def matches(entry, password):
    try:
        salt, want = (base64.b64decode(part) for part in entry.split("$", 1))
    except (AttributeError, ValueError):
        return False
    return hmac.compare_digest(digest(password, salt), want)


def load_state(path):
    try:
        with open(path, encoding="utf-8") as f:
            state = json.load(f)
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def save_state(path, state):
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".scram-users.")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(state, f, indent=1, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def main():
    module = AnsibleModule(
        argument_spec={
            "users": {
                "type": "list",
                "elements": "dict",
                "required": True,
                "options": {
                    "name": {"type": "str", "required": True},
                    "password": {"type": "str", "required": True, "no_log": True},
                },
            },
            **TOOL_ARGS,
            # A secured cluster only: its admin login and TLS.
            "command_config": {"type": "path", "required": True},
            "state_path": {"type": "path", "required": True},
            "iterations": {"type": "int", "default": 8192},
            "remove_undeclared": {"type": "bool", "default": False},
            "keep": {"type": "list", "elements": "str", "default": []},
        },
        supports_check_mode=True,
    )
    p = module.params
    if not 4096 <= p["iterations"] <= 16384:
        module.fail_json(
            msg=f"iterations must be 4096-16384 for {MECHANISM}, not {p['iterations']}"
        )
    on_cluster = scram_users(module)
    state = load_state(p["state_path"])
    changes = {}
    for user in p["users"]:
        name = user["name"]
        if name not in on_cluster:
            changes[name] = "created"
        elif not matches(state.get(name), user["password"]):
            changes[name] = "password set"
    if p["remove_undeclared"]:
        listed = {u["name"] for u in p["users"]} | set(p["keep"])
        for name in sorted(set(state) - listed):
            changes[name] = "deleted" if name in on_cluster else "forgotten"
    if changes and not module.check_mode:
        passwords = {u["name"]: u["password"] for u in p["users"]}
        workdir = tempfile.mkdtemp(prefix="lakefeed-scram-", dir=module.tmpdir)
        for name, change in changes.items():
            if change == "deleted":
                delete_user(module, name, state)
            if change in ("deleted", "forgotten"):
                del state[name]
                continue
            credential = f"{MECHANISM}=[iterations={p['iterations']},password={passwords[name]}]"
            args = ["--alter", "--add-config", credential]
            args += ["--entity-type", "users", "--entity-name", name]
            argfile = os.path.join(workdir, "args")
            rc, out, err = run_tool(module, CONFIG_COMMAND, *args, argfile=argfile)
            if rc != 0:
                save_state(p["state_path"], state)
                why = (err or out).strip()[-2000:]
                module.fail_json(msg=f"cannot set the SCRAM credential of {name}: {why}", rc=rc)
            salt = os.urandom(16)
            state[name] = "$".join(
                base64.b64encode(part).decode() for part in (salt, digest(passwords[name], salt))
            )
        save_state(p["state_path"], state)
    module.exit_json(changed=bool(changes), users=changes)


if __name__ == "__main__":
    main()
