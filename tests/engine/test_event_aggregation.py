"""Similar Events are combined as client-go's EventCorrelator does (clusters/engine/state.py event)."""
from __future__ import annotations

from clusters.engine.state import AGGREGATE_SECONDS, COMBINED

from .conftest import T0, new_state


def failed_creates(state, rs):
    return [e for e in state.list("Event") if e["reason"] == "FailedCreate"
            and e["involvedObject"]["uid"] == rs["metadata"]["uid"]]


def refuse(state, rs, n: int) -> None:
    state.event(rs, "Warning", "FailedCreate", f'pods "web-{n:05d}" is forbidden: exceeded quota: team',
                component="replicaset-controller")


def test_ten_similar_events_become_one_whose_count_grows():
    state = new_state()
    rs = state.create({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                       "metadata": {"name": "web", "namespace": "default"}, "spec": {}})
    for n in range(25):
        refuse(state, rs, n)
        state.now += 1
    events = failed_creates(state, rs)
    plain = [e for e in events if not e["message"].startswith(COMBINED)]
    (combined,) = [e for e in events if e["message"].startswith(COMBINED)]
    assert len(plain) == 9 and all(e["count"] == 1 for e in plain)
    assert combined["count"] == 16
    assert combined["message"] == COMBINED + 'pods "web-00024" is forbidden: exceeded quota: team'
    assert sum(e["count"] for e in events) == 25


def test_the_same_message_again_counts_on_its_own_event():
    state = new_state()
    node = state.get("Node", "", "worker-1")
    for _ in range(12):
        state.event(node, "Normal", "Starting", "Starting kubelet.", component="kubelet")
    (event,) = [e for e in state.list("Event")
                if e["reason"] == "Starting" and e["involvedObject"]["name"] == "worker-1" and e["count"] > 1]
    assert event["count"] == 12 and event["message"] == "Starting kubelet."


def test_similar_events_far_apart_are_not_combined():
    state = new_state()
    rs = state.create({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                       "metadata": {"name": "web", "namespace": "default"}, "spec": {}})
    for n in range(12):
        refuse(state, rs, n)
        state.now += AGGREGATE_SECONDS / 5
    assert not any(e["message"].startswith(COMBINED) for e in failed_creates(state, rs))
    assert len(failed_creates(state, rs)) == 12
    assert T0 < state.now
