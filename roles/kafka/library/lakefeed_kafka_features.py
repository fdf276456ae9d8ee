#!/usr/bin/python
"""Finalize a Kafka cluster's feature levels (metadata.version first) at a release's."""

from __future__ import annotations

DOCUMENTATION = r"""
module: lakefeed_kafka_features
short_description: Finalize a cluster's metadata.version (and the other features) at a release
description:
  - After a rolling upgrade every node runs the new release, but the cluster keeps the
    metadata.version it had, so a node could still go back to the old release. Upgrading
    the finalized levels to the new release's (kafka-features upgrade --release-version)
    turns on what the release changed and rules out going back below it.
  - Changes nothing when metadata.version is already at or above the release. Kafka itself
    refuses the upgrade while a registered node does not support the new levels, and the
    module fails with Kafka's message.
  - Runs FeatureCommand from the Kafka install on the target host.
options:
  release_version:
    description: The release whose levels to finalize, major.minor (C(4.3)).
    type: str
    required: true
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

FEATURE = re.compile(r"Feature:\s*(?P<name>\S+).*?FinalizedVersionLevel:\s*(?P<level>\S+)")
RELEASE = re.compile(r"^(\d+)\.(\d+)")
TOOL = "org.apache.kafka.tools.FeatureCommand"


def parse_levels(text):
    """FeatureCommand describe's output -> feature name -> its finalized level (text)."""
    return {m["name"]: m["level"] for m in map(FEATURE.search, text.splitlines()) if m}


def release_of(level):
    """(major, minor) of a metadata.version level such as 4.2-IV1, or of a release 4.3."""
    m = RELEASE.match(level)
    return (int(m[1]), int(m[2])) if m else None


def reason(out, err):
    """What the tool said about a refused upgrade: the line naming metadata.version (every
    feature repeats it) or its last lines, without log lines."""
    lines = [x for x in (out + "\n" + err).splitlines() if x.strip() and not x.startswith("[")]
    named = [x for x in lines if "metadata.version" in x]
    return named[0].strip() if named else " ".join(lines[-3:])


def describe(module):
    rc, out, err = run_tool(module, TOOL, "describe", timeout=120)
    if rc != 0:
        module.fail_json(msg=f"cannot describe the cluster's features: {err or out}", rc=rc)
    levels = parse_levels(out)
    if release_of(levels.get("metadata.version", "")) is None:
        module.fail_json(msg=f"no metadata.version in the cluster's features: {out}")
    return levels


def main():
    module = AnsibleModule(
        argument_spec={
            "release_version": {"type": "str", "required": True},
            **TOOL_ARGS,
        },
        supports_check_mode=True,
    )
    release = module.params["release_version"]
    target = release_of(release)
    if target is None or not re.fullmatch(r"\d+\.\d+", release):
        module.fail_json(msg=f"release_version {release!r} is not major.minor, e.g. 4.3")
    before = describe(module)
    if release_of(before["metadata.version"]) >= target:
        module.exit_json(changed=False, levels=before)
    if module.check_mode:
        module.exit_json(changed=True, levels=before, finalized={})
    rc, out, err = run_tool(module, TOOL, "upgrade", "--release-version", release, timeout=120)
    said = reason(out, err)
    if rc != 0 and "Unknown metadata.version" in said:
        module.fail_json(msg=f"release_version {release} is not a release this Kafka knows: {said}")
    if rc != 0:
        module.fail_json(
            msg=(
                f"Kafka refused to finalize release {release} (metadata.version "
                f"{before['metadata.version']}): {said.rstrip('.')}. A node that "
                "still runs the old release holds this back: restart it onto the new one "
                "(lakefeed rollout), then run the play again."
            ),
            rc=rc,
        )
    after = describe(module)
    if release_of(after["metadata.version"]) < target:
        module.fail_json(
            msg=(
                f"kafka-features upgrade --release-version {release} exited 0, but "
                f"metadata.version is still {after['metadata.version']}"
            )
        )
    finalized = {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}
    module.exit_json(changed=True, levels=after, finalized=finalized)


if __name__ == "__main__":
    main()
