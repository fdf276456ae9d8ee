#!/usr/bin/python
"""Spread every topic's replicas over the cluster's brokers with Kafka's own tools."""

from __future__ import annotations

DOCUMENTATION = r"""
module: lakefeed_kafka_spread
short_description: Move partition replicas so that every broker carries its share
description:
  - Kafka places a topic's replicas when the topic is created and never moves them: a
    broker added later carries nothing until replicas are reassigned to it.
  - C(state=spread) compares the replicas each listed broker carries; while one carries two
    or more than another, it moves one replica from the fuller to the emptier broker, never
    one that would put two replicas of a partition in one rack where they were in two. The
    moves start with ReassignPartitionsCommand, throttled; the plan is kept in C(plan_file).
    A balanced cluster, or a reassignment already under way, changes nothing.
  - C(state=finished) reports whether the moves of C(plan_file) are done (for an C(until)
    loop); once they are, it clears their throttles (C(--verify)) and removes the file. A
    reassignment this module did not start is not waited for.
  - Every listed broker must be registered in the cluster; replicas on brokers that are not
    listed are left where they are (their racks still count for rack diversity).
options:
  state: {description: spread or finished., type: str, default: spread,
          choices: [spread, finished]}
  brokers: {description: Node ids of the brokers that share the replicas., type: list,
            elements: int, required: true}
  throttle: {description: Replication throttle of the moves in bytes/s., type: int,
             default: 50000000}
  plan_file: {description: Where the started plan is kept until it is finished.,
              type: path, required: true}
  bootstrap_servers: {description: host:port list., type: str, required: true}
  classpath: {description: Kafka's libs/* classpath., type: str, required: true}
  log4j_config: {description: log4j2 config for the tools., type: str, required: true}
  command_config:
    description: Client properties for a secured cluster (TLS, SCRAM login); unset = plaintext.
    type: path
"""

import json
import os
import re
from collections import Counter

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.lakefeed_kafka_tool import TOOL_ARGS, run_tool

PARTITION = re.compile(
    r"Topic:\s*(?P<topic>\S+)\s+Partition:\s*(?P<partition>\d+)\s+Leader:\s*\S+\s+"
    r"Replicas:\s*(?P<replicas>[\d,]+)"
)
# BrokerApiVersionsCommand: "10.42.1.5:9092 (id: 1 rack: us-east-1a isFenced: false) -> ("
NODE = re.compile(r"\(id:\s*(?P<id>\d+)\s+rack:\s*(?P<rack>[^\s)]+)")


def plan(assignment: dict, racks: dict, movable=None) -> dict:
    """The moves that balance the replica counts of the brokers in `movable`.

    assignment: {(topic, partition): [broker, ...]}; racks: {broker: rack or None} of every
    registered broker; movable: the brokers that share the replicas (default: all of
    `racks`). Returns {(topic, partition): new replicas} for the partitions that change.
    A replica moves from the broker with the most to the one with the fewest while they
    differ by two or more; the new broker takes the old one's place in the list (its
    preferred-leader position too). A move that would leave a partition in fewer racks is
    never made, so a rack-aware placement stays rack-aware. Deterministic: the same input,
    the same plan. Each move scans the partitions once.
    """
    movable = sorted(racks if movable is None else movable)
    current = {key: list(replicas) for key, replicas in assignment.items()}
    keys = sorted(current)
    load = Counter({broker: 0 for broker in movable})
    for replicas in current.values():
        load.update(b for b in replicas if b in load)

    def find_move():
        for src in sorted(movable, key=lambda b: (-load[b], b)):
            for dst in sorted(movable, key=lambda b: (load[b], b)):
                if load[src] - load[dst] < 2:
                    break
                for key in keys:
                    replicas = current[key]
                    if src not in replicas or dst in replicas:
                        continue
                    i = replicas.index(src)
                    after = [*replicas[:i], dst, *replicas[i + 1 :]]
                    if len({racks.get(b) for b in after}) < len({racks.get(b) for b in replicas}):
                        continue
                    return key, i, src, dst
        return None

    changed = set()
    while (move := find_move()) is not None:
        key, i, src, dst = move
        current[key][i] = dst
        load[src] -= 1
        load[dst] += 1
        changed.add(key)
    return {key: current[key] for key in sorted(changed) if current[key] != list(assignment[key])}


def tool(module, main, *args, check=True):
    # A frozen broker answers TCP but never a request: no call may hang the deploy.
    rc, out, err = run_tool(module, main, *args, timeout=120)
    if rc != 0 and check:
        name = main.rsplit(".", 1)[-1]
        why = "no answer in 120 s" if rc == 124 else (err or out)
        module.fail_json(msg=f"{name} {' '.join(args)} failed: {why}", rc=rc)
    return out if rc == 0 else None


def clear_finished_plan(module):
    """--verify of a finished plan clears the throttles it set; then the plan file goes.
    A plan Kafka cannot verify (a topic deleted since) is dropped with a warning."""
    p = module.params
    out = tool(
        module,
        "org.apache.kafka.tools.reassign.ReassignPartitionsCommand",
        "--verify",
        "--reassignment-json-file",
        p["plan_file"],
        check=False,
    )
    if out is not None and "still in progress" in out:
        return False
    if out is None:
        module.warn(
            f"could not verify the replica moves of {p['plan_file']}; removed it. If their "
            "topics keep a *.replication.throttled.replicas config, remove it by hand."
        )
    os.remove(p["plan_file"])
    return True


def registered(module):
    out = tool(module, "org.apache.kafka.tools.BrokerApiVersionsCommand")
    return {int(m["id"]): (None if m["rack"] == "null" else m["rack"]) for m in NODE.finditer(out)}


def current_assignment(module):
    out = tool(module, "org.apache.kafka.tools.TopicCommand", "--describe")
    return {
        (m["topic"], int(m["partition"])): [int(b) for b in m["replicas"].split(",")]
        for m in PARTITION.finditer(out)
    }


def ongoing(module):
    out = tool(module, "org.apache.kafka.tools.reassign.ReassignPartitionsCommand", "--list")
    return [line.split(":", 1)[0] for line in out.splitlines() if ": replicas:" in line]


def as_json(moves):
    return {
        "version": 1,
        "partitions": [{"topic": t, "partition": p, "replicas": r} for (t, p), r in moves.items()],
    }


def spread(module):
    p = module.params
    racks = registered(module)
    missing = sorted(set(p["brokers"]) - set(racks))
    if missing:
        module.fail_json(
            msg=(
                f"broker(s) {missing} are not registered in the cluster (registered: "
                f"{sorted(racks)}): replicas cannot move to a broker that is down or fenced. "
                "See `systemctl status kafka` and `journalctl -u kafka` on it; nothing moved."
            )
        )
    moving = ongoing(module)
    if moving:
        module.exit_json(changed=False, moves=0, msg=f"a reassignment is under way: {moving}")
    # Moves of an earlier run that finished without their --verify: clear their throttle.
    leftover = os.path.exists(p["plan_file"])
    if leftover and not module.check_mode:
        clear_finished_plan(module)
    moves = plan(current_assignment(module), racks, p["brokers"])
    if not moves:
        module.exit_json(changed=leftover, moves=0)
    shown = {f"{t}-{n}": r for (t, n), r in moves.items()}
    if module.check_mode:
        module.exit_json(changed=True, moves=len(moves), plan=shown)
    body = json.dumps(as_json(moves))
    with open(p["plan_file"], "w", encoding="utf-8") as f:
        f.write(body + "\n")
    tool(
        module,
        "org.apache.kafka.tools.reassign.ReassignPartitionsCommand",
        "--execute",
        "--reassignment-json-file",
        p["plan_file"],
        "--throttle",
        str(p["throttle"]),
    )
    module.exit_json(changed=True, moves=len(moves), plan=shown)


def finished(module):
    """Only this module's own moves are waited for: a reassignment someone else started
    (by hand, by a balancer) leaves no plan file here and does not hold the deploy."""
    p = module.params
    if not os.path.exists(p["plan_file"]):
        module.exit_json(changed=False, finished=True)
    if ongoing(module):
        module.exit_json(changed=False, finished=False)
    if module.check_mode:
        module.exit_json(changed=True, finished=True)
    done = clear_finished_plan(module)
    module.exit_json(changed=done, finished=done)


def main():
    module = AnsibleModule(
        argument_spec={
            "state": {"type": "str", "default": "spread", "choices": ["spread", "finished"]},
            "brokers": {"type": "list", "elements": "int", "required": True},
            "throttle": {"type": "int", "default": 50000000},
            "plan_file": {"type": "path", "required": True},
            **TOOL_ARGS,
        },
        supports_check_mode=True,
    )
    if module.params["state"] == "spread":
        spread(module)
    finished(module)


if __name__ == "__main__":
    main()
