#!/usr/bin/python
"""Create or reconcile one Kafka topic with Apache Kafka's own command-line tools."""

from __future__ import annotations

DOCUMENTATION = r"""
module: lakefeed_kafka_topic
short_description: Ensure a Kafka topic exists with its partitions and configs
description:
  - Creates the topic if missing; grows its partition count; sets the given configs.
  - Never shrinks partitions or changes the replication factor (both need a manual,
    planned reassignment); asking for that fails with a message and changes nothing.
  - Runs TopicCommand and ConfigCommand from the Kafka install on the target host.
options:
  name: {description: Topic name., type: str, required: true}
  partitions: {description: Partition count., type: int, required: true}
  replication_factor: {description: Replicas per partition., type: int, default: 3}
  configs: {description: Topic configs to set., type: dict, default: {}}
  bootstrap_servers: {description: host:port list., type: str, required: true}
  classpath: {description: Kafka's libs/* classpath., type: str, required: true}
  log4j_config: {description: log4j2 config for the tools., type: str, required: true}
  command_config:
    description: Client properties for a secured cluster (TLS, SCRAM login); unset = plaintext.
    type: path
"""

import re

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.lakefeed_kafka_tool import TOOL_ARGS, run_tool

HEADER = re.compile(
    r"Topic:\s*(?P<name>\S+).*?PartitionCount:\s*(?P<partitions>\d+)"
    r".*?ReplicationFactor:\s*(?P<rf>\d+).*?Configs:\s*(?P<configs>\S*)"
)


def parse_configs(text):
    """TopicCommand's `Configs:` field, `k=v,k=v`, where a value may hold commas
    (`cleanup.policy=compact,delete`): a piece without `=` continues the value before it."""
    configs = {}
    key = None
    for piece in text.split(","):
        if "=" in piece:
            key, value = piece.split("=", 1)
            configs[key] = value
        elif key is not None:
            configs[key] += "," + piece
    return configs


def add_config_arg(configs):
    """ConfigCommand's --add-config splits on commas; a list value goes in brackets."""
    return ",".join(f"{k}=[{v}]" if "," in v else f"{k}={v}" for k, v in configs.items())


def describe(module):
    rc, out, err = run_tool(
        module,
        "org.apache.kafka.tools.TopicCommand",
        "--describe",
        "--topic",
        module.params["name"],
    )
    if rc != 0:
        if "does not exist" in out + err:
            return None
        module.fail_json(msg=f"cannot describe topic: {err or out}", rc=rc)
    for line in out.splitlines():
        m = HEADER.search(line)
        if m:
            configs = parse_configs(m["configs"])
            return {"partitions": int(m["partitions"]), "rf": int(m["rf"]), "configs": configs}
    module.fail_json(msg=f"cannot parse the topic description: {out}")
    return None


def main():
    module = AnsibleModule(
        argument_spec={
            "name": {"type": "str", "required": True},
            "partitions": {"type": "int", "required": True},
            "replication_factor": {"type": "int", "default": 3},
            "configs": {"type": "dict", "default": {}},
            **TOOL_ARGS,
        },
        supports_check_mode=True,
    )
    p = module.params
    wanted = {k: str(v) for k, v in p["configs"].items()}
    current = describe(module)
    if current is None:
        if not module.check_mode:
            args = [
                "--create",
                "--topic",
                p["name"],
                "--partitions",
                str(p["partitions"]),
                "--replication-factor",
                str(p["replication_factor"]),
            ]
            for k, v in sorted(wanted.items()):
                args += ["--config", f"{k}={v}"]
            rc, out, err = run_tool(module, "org.apache.kafka.tools.TopicCommand", *args)
            if rc != 0:
                module.fail_json(msg=f"cannot create topic: {err or out}", rc=rc)
        module.exit_json(changed=True, created=True)

    if current["rf"] != p["replication_factor"]:
        module.fail_json(
            msg=(
                f"topic {p['name']} has replication factor {current['rf']}, not "
                f"{p['replication_factor']}: changing it needs a partition reassignment "
                "(kafka-reassign-partitions); do that by hand or fix the variable"
            )
        )
    if p["partitions"] < current["partitions"]:
        module.fail_json(
            msg=(
                f"topic {p['name']} has {current['partitions']} partitions; Kafka cannot "
                f"shrink it to {p['partitions']}. Raise the variable to at least that."
            )
        )
    changes = {}
    if p["partitions"] > current["partitions"]:
        changes["partitions"] = [current["partitions"], p["partitions"]]
        if not module.check_mode:
            rc, out, err = run_tool(
                module,
                "org.apache.kafka.tools.TopicCommand",
                "--alter",
                "--topic",
                p["name"],
                "--partitions",
                str(p["partitions"]),
            )
            if rc != 0:
                module.fail_json(msg=f"cannot add partitions: {err or out}", rc=rc)
    differ = {k: v for k, v in wanted.items() if current["configs"].get(k) != v}
    if differ:
        changes["configs"] = differ
        if not module.check_mode:
            rc, out, err = run_tool(
                module,
                "kafka.admin.ConfigCommand",
                "--alter",
                "--entity-type",
                "topics",
                "--entity-name",
                p["name"],
                "--add-config",
                add_config_arg(differ),
            )
            if rc != 0:
                module.fail_json(msg=f"cannot set topic configs: {err or out}", rc=rc)
    module.exit_json(changed=bool(changes), changes=changes)


if __name__ == "__main__":
    main()
