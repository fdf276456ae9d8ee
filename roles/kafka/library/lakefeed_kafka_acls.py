#!/usr/bin/python
"""Make a Kafka cluster's ACLs exactly the declared ones, with Kafka's own AclCommand."""

from __future__ import annotations

DOCUMENTATION = r"""
module: lakefeed_kafka_acls
short_description: Make the cluster's ACLs exactly the declared ones
description:
  - Lists every ACL of the cluster (AclCommand --list), adds the declared ones that are
    missing, then removes every ACL that is not declared: the declaration is the whole
    truth, so a grant added by hand is removed on the next run (declare it instead).
  - Adds come before removals, so a grant that moves from one pattern to another is never
    missing in between.
  - Needs an authorizer on the brokers (kafka_security sasl_ssl) and a login that may
    alter ACLs (a super user). Supports check mode.
options:
  acls:
    description: >-
      The grants, each C(principal) (User:name), C(resource_type) (topic, group, cluster,
      transactional_id), C(name) (not for cluster), C(pattern_type) (literal or prefixed),
      C(operations) (Kafka's names: Read, Write, Describe, DescribeConfigs, ...),
      C(permission) (allow or deny) and C(host).
    type: list
    elements: dict
    required: true
  bootstrap_servers: {description: host:port list., type: str, required: true}
  command_config:
    {description: Client properties of a super user's login., type: path, required: true}
  classpath: {description: Kafka's libs/* classpath., type: str, required: true}
  log4j_config: {description: log4j2 config for the tools., type: str, required: true}
"""

import re
from collections import defaultdict

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.lakefeed_kafka_tool import TOOL_ARGS, run_tool

ACL_COMMAND = "org.apache.kafka.tools.AclCommand"
CLUSTER = "kafka-cluster"
RESOURCE = re.compile(
    r"resourceType=(?P<type>\w+), name=(?P<name>.*), patternType=(?P<pattern>\w+)\)`:"
)
ENTRY = re.compile(
    r"\(principal=(?P<principal>.+), host=(?P<host>.+), "
    r"operation=(?P<operation>\w+), permissionType=(?P<permission>\w+)\)"
)
RESOURCE_ARG = {
    "TOPIC": "--topic",
    "GROUP": "--group",
    "TRANSACTIONAL_ID": "--transactional-id",
    # Never declared by the role, but an undeclared one made by hand must be removable.
    "USER": "--user-principal",
    "DELEGATION_TOKEN": "--delegation-token",
}


def tool(module, *args):
    rc, out, err = run_tool(module, ACL_COMMAND, *args)
    if rc != 0:
        why = (err or out).strip()[-2000:]
        if "SecurityDisabledException" in why:
            why = (
                "the brokers run no authorizer: kafka_security sasl_ssl turns it on when they "
                "restart, which a run with kafka_skip_restarts leaves pending"
            )
        module.fail_json(msg=f"AclCommand {args[0]} failed: {why}", rc=rc)
    return out


def snake(operation):
    """Kafka's spelling in declarations and on the command line (DescribeConfigs) to the
    one AclCommand lists (DESCRIBE_CONFIGS)."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", "_", operation).upper()


def camel(operation):
    return "".join(word.capitalize() for word in operation.split("_"))


def declared(acls):
    """The declarations as a set of (type, name, pattern, principal, host, operation,
    permission), every field as AclCommand lists it."""
    out = set()
    for acl in acls:
        rtype = acl["resource_type"].upper()
        name = CLUSTER if rtype == "CLUSTER" else acl["name"]
        for operation in acl["operations"]:
            out.add(
                (
                    rtype,
                    name,
                    acl["pattern_type"].upper(),
                    acl["principal"],
                    acl["host"],
                    snake(operation),
                    acl["permission"].upper(),
                )
            )
    return out


def listed(text):
    """AclCommand --list: a resource line, then its entries, for each resource."""
    out = set()
    resource = None
    for line in text.splitlines():
        head = RESOURCE.search(line)
        if head:
            resource = (head["type"], head["name"], head["pattern"])
            continue
        entry = ENTRY.search(line)
        if entry and resource:
            out.add(
                (
                    *resource,
                    entry["principal"],
                    entry["host"],
                    entry["operation"],
                    entry["permission"],
                )
            )
    return out


def command_groups(acls):
    """One AclCommand call per resource, principal, host and permission, with every
    operation of that group."""
    groups = defaultdict(list)
    for rtype, name, pattern, principal, host, operation, permission in sorted(acls):
        groups[(rtype, name, pattern, principal, host, permission)].append(operation)
    for (rtype, name, pattern, principal, host, permission), operations in groups.items():
        args = ["--cluster"] if rtype == "CLUSTER" else [RESOURCE_ARG[rtype], name]
        args += ["--resource-pattern-type", pattern.lower()]
        who = "allow" if permission == "ALLOW" else "deny"
        args += [f"--{who}-principal", principal, f"--{who}-host", host]
        for operation in operations:
            args += ["--operation", camel(operation)]
        yield args


def describe(acl):
    rtype, name, pattern, principal, host, operation, permission = acl
    where = "" if host == "*" else f" from {host}"
    kind = "" if pattern == "LITERAL" else f" ({pattern.lower()})"
    return f"{permission.lower()} {principal} {operation} on {rtype.lower()} {name}{kind}{where}"


def main():
    module = AnsibleModule(
        argument_spec={
            "acls": {
                "type": "list",
                "elements": "dict",
                "required": True,
                "options": {
                    "principal": {"type": "str", "required": True},
                    "resource_type": {
                        "type": "str",
                        "required": True,
                        "choices": ["topic", "group", "cluster", "transactional_id"],
                    },
                    "name": {"type": "str"},
                    "pattern_type": {
                        "type": "str",
                        "default": "literal",
                        "choices": ["literal", "prefixed"],
                    },
                    "operations": {"type": "list", "elements": "str", "required": True},
                    "permission": {
                        "type": "str",
                        "default": "allow",
                        "choices": ["allow", "deny"],
                    },
                    "host": {"type": "str", "default": "*"},
                },
            },
            **TOOL_ARGS,
            # A secured cluster only: its admin login and TLS.
            "command_config": {"type": "path", "required": True},
        },
        supports_check_mode=True,
    )
    for acl in module.params["acls"]:
        if acl["resource_type"] != "cluster" and not acl.get("name"):
            module.fail_json(msg=f"an ACL on a {acl['resource_type']} needs a name: {acl}")
        if not acl["principal"].startswith("User:"):
            module.fail_json(msg=f"an ACL's principal is User:<name>, not {acl['principal']!r}")
    want = declared(module.params["acls"])
    have = listed(tool(module, "--list"))
    add, remove = want - have, have - want
    if not module.check_mode:
        for args in command_groups(add):
            tool(module, "--add", *args)
        for args in command_groups(remove):
            tool(module, "--remove", "--force", *args)
    module.exit_json(
        changed=bool(add or remove),
        added=[describe(a) for a in sorted(add)],
        removed=[describe(a) for a in sorted(remove)],
    )


if __name__ == "__main__":
    main()
