"""Events expire an hour after their last write (kube-apiserver --event-ttl): controllers/event_ttl.py."""
from __future__ import annotations

from clusters.engine.controllers.event_ttl import EVENT_TTL
from clusters.engine.loop import step
from clusters.engine.state import timestamp

from .conftest import T0, new_state, run


def test_an_event_goes_an_hour_after_its_last_write():
    state = new_state()
    run(state, T0 + 60)
    state.list("Event")   # the bootstrap's own Events, written at T0
    node = state.get("Node", "", "worker-1")
    state.now = T0 + 1800
    old = state.event(node, "Normal", "Rebooted", "Node worker-1 has been rebooted", component="kubelet")
    state.commit()
    renewed = state.event(node, "Normal", "Starting", "Starting kubelet.", component="kubelet")
    state.commit()
    state.now = T0 + 2400                        # the correlator's count++ is a write: a new lease
    state.event(node, "Normal", "Starting", "Starting kubelet.", component="kubelet")
    state.commit()
    assert renewed["count"] == 2 and renewed["lastTimestamp"] == timestamp(T0 + 2400)

    result = step(state, T0 + 1800 + EVENT_TTL - 1)
    state.commit()
    assert ("DELETED", "Event") not in {(e, o["kind"]) for e, o in result.changes if o is old}
    run(state, T0 + 1800 + EVENT_TTL)
    names = {e["metadata"]["name"] for e in state.list("Event")}
    assert old["metadata"]["name"] not in names and renewed["metadata"]["name"] in names
    assert all(e["lastTimestamp"] > timestamp(T0) for e in state.list("Event"))   # the bootstrap's are gone
    run(state, T0 + 2400 + EVENT_TTL)
    assert state.list("Event") == []
    assert step(state, state.now).next_wake is None


def test_the_deletion_is_a_change_watchers_see():
    state = new_state()
    run(state, T0 + 60)
    count = len(state.list("Event"))
    assert count > 0
    result = step(state, T0 + EVENT_TTL + 60)
    deleted = [o for event, o in result.changes if event == "DELETED" and o["kind"] == "Event"]
    assert len(deleted) == count
