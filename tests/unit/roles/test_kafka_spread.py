"""The replica-spreading plan of roles/kafka/library/lakefeed_kafka_spread.py."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.support.modules import import_module_file

PATH = Path(__file__).resolve().parents[3] / "roles/kafka/library/lakefeed_kafka_spread.py"
spread: Any = import_module_file(PATH)


def three_brokers(partitions: int, topic: str = "t") -> dict[tuple[str, int], list[int]]:
    """What Kafka's rack-aware placement gives a topic on brokers 1-3 in racks a-c."""
    return {(topic, p): [1 + (p + i) % 3 for i in range(3)] for p in range(partitions)}


def loads(assignment: dict[tuple[str, int], list[int]]) -> Counter[int]:
    return Counter(b for replicas in assignment.values() for b in replicas)


def applied(assignment, moves):  # type: ignore[no-untyped-def]
    return {**assignment, **moves}


def test_a_balanced_cluster_moves_nothing() -> None:
    assert spread.plan(three_brokers(6), {1: "a", 2: "b", 3: "c"}) == {}


def test_a_new_broker_without_racks_gets_its_share() -> None:
    before = three_brokers(8)
    moves = spread.plan(before, {1: None, 2: None, 3: None, 4: None})
    after = applied(before, moves)
    assert sorted(loads(after).values()) == [6, 6, 6, 6]
    # Only as many replicas move as the new broker takes; each partition keeps 3 distinct.
    assert sum(4 in r for r in after.values()) == len(moves) == 6
    assert all(len(set(r)) == 3 for r in after.values())
    # Idempotent: the plan of the balanced result is empty.
    assert spread.plan(after, {1: None, 2: None, 3: None, 4: None}) == {}


def test_a_new_broker_in_an_occupied_rack_takes_only_from_its_rack() -> None:
    """Broker 4 in rack a, beside broker 1: moving a replica of broker 2 to it would put
    two replicas of a partition in rack a. It shares broker 1's replicas instead."""
    before = three_brokers(6)
    racks = {1: "a", 2: "b", 3: "c", 4: "a"}
    after = applied(before, spread.plan(before, racks))
    assert loads(after) == Counter({2: 6, 3: 6, 1: 3, 4: 3})
    assert all(len({racks[b] for b in r}) == 3 for r in after.values())


def test_the_new_broker_takes_the_leader_place_of_the_replica_it_replaces() -> None:
    before = {("t", 0): [1, 2, 3], ("t", 1): [1, 3, 2], ("t", 2): [2, 1, 3]}
    racks = {1: "a", 2: "b", 3: "c", 4: "a"}
    moves = spread.plan(before, racks)
    for key, replicas in moves.items():
        i = before[key].index(1)
        assert replicas[i] == 4 and replicas[:i] + replicas[i + 1 :] == [
            b for b in before[key] if b != 1
        ]


def test_replicas_on_unlisted_brokers_stay_where_they_are() -> None:
    before = {("t", p): [1, 2, 9] for p in range(4)}
    after = applied(before, spread.plan(before, {1: None, 2: None, 3: None}))
    assert all(9 in r for r in after.values())
    assert sorted(loads(after)[b] for b in (1, 2, 3)) == [2, 3, 3]


def test_a_registered_broker_outside_the_inventory_still_holds_its_rack() -> None:
    """Broker 5 (rack a) is registered but not in the inventory: its replicas stay, and a
    move to broker 4, also in rack a, would put two replicas of a partition in rack a."""
    before = {("t", p): [5, 2, 3] for p in range(6)}
    racks = {2: "b", 3: "c", 4: "a", 5: "a"}
    assert spread.plan(before, racks, [2, 3, 4]) == {}


def test_many_partitions_are_planned_in_one_scan_a_move() -> None:
    """3,000 partitions on three brokers, a fourth added: a quarter of the replicas move."""
    before = three_brokers(3000)
    moves = spread.plan(before, {1: None, 2: None, 3: None, 4: None})
    assert sorted(loads(applied(before, moves)).values()) == [2250, 2250, 2250, 2250]


@pytest.mark.parametrize("partitions", [1, 5, 50])
def test_the_plan_is_deterministic(partitions: int) -> None:
    before = {**three_brokers(partitions), **three_brokers(3, "u")}
    racks = {1: None, 2: None, 3: None, 4: None, 5: None}
    assert spread.plan(before, racks) == spread.plan(dict(reversed(before.items())), racks)


def test_the_tools_output_is_parsed() -> None:
    described = (
        "Topic: x.posts\tTopicId: abc\tPartitionCount: 2\tReplicationFactor: 3\tConfigs: \n"
        "\tTopic: x.posts\tPartition: 0\tLeader: 1\tReplicas: 1,2,3\tIsr: 1,2,3\tElr: \n"
        "\tTopic: x.posts\tPartition: 1\tLeader: none\tReplicas: 2,3,1\tIsr: 2\tElr: \n"
    )
    found = {
        (m["topic"], int(m["partition"])): m["replicas"]
        for m in spread.PARTITION.finditer(described)
    }
    assert found == {("x.posts", 0): "1,2,3", ("x.posts", 1): "2,3,1"}
    versions = (
        "10.42.1.5:9092 (id: 1 rack: us-east-1a isFenced: false) -> (\n\tProduce(0): 3 to 12\n)\n"
        "10.42.2.5:9092 (id: 2 rack: null isFenced: false) -> (\n)\n"
    )
    nodes = {int(m["id"]): m["rack"] for m in spread.NODE.finditer(versions)}
    assert nodes == {1: "us-east-1a", 2: "null"}
