"""A state kept between reconcile passes (clusters/sim/reconcile.py) steps exactly as a freshly loaded one.

The runner keeps a cluster's ClusterState after a pass (commit_written: only what was written is serialised
again) and brings it up to date with the change log of writes made by others (take_stored) instead of
loading every object again. Whatever happened in between, the next step must give the same changes, notes
and wake-up as a state built from the stored objects: here the "store" is a dict of stored texts and notes.
"""
from __future__ import annotations

import json
import random

import pytest

from clusters.apiserver.pipeline import engine_state
from clusters.engine.controllers.endpoints import MEMO as ENDPOINTS_MEMO
from clusters.engine.controllers.podutil import SETTLED
from clusters.engine.loop import step
from clusters.engine.state import ClusterState, key_of, object_text

from .conftest import T0, new_state


class Store:
    """The database as the runner sees it: stored JSON by key, notes by uid, a resourceVersion."""

    def __init__(self, state: ClusterState) -> None:
        self.rv = 1
        self.texts = {key_of(o): object_text(o) for o in state.all_objects()}
        self.notes: dict[str, str] = {}

    def persist(self, state: ClusterState, result) -> None:
        """What reconcile._persist does: stamp each change with the next resourceVersion and store it."""
        for event, obj in result.changes:
            self.rv += 1
            obj["metadata"]["resourceVersion"] = str(self.rv)
            if event == "DELETED":
                self.texts.pop(key_of(obj), None)
            else:
                self.texts[key_of(obj)] = object_text(obj)
        for uid, notes in result.sim_changes.items():
            if notes is None:
                self.notes.pop(uid, None)
            else:
                self.notes[uid] = json.dumps(notes)
        live = {json.loads(t)["metadata"]["uid"] for t in self.texts.values()}
        self.notes = {uid: n for uid, n in self.notes.items() if uid in live}

    def api_write(self, event: str, obj: dict) -> tuple[str, dict, str]:
        """A write through the API: the next resourceVersion, stored; returned as its change-log entry."""
        self.rv += 1
        obj = json.loads(json.dumps(obj))
        obj["metadata"]["resourceVersion"] = str(self.rv)
        text = object_text(obj)
        if event == "DELETED":
            gone = json.loads(self.texts.pop(key_of(obj)))
            self.notes.pop(gone["metadata"]["uid"], None)
        else:
            self.texts[key_of(obj)] = text
        return event, json.loads(text), text

    def load(self, now: float, seed: str) -> tuple[ClusterState, random.Random]:
        texts = list(self.texts.values())
        objects = [json.loads(t) for t in texts]
        rng = random.Random(seed)
        state = engine_state(objects, now=now, seed=rng.getrandbits(64), rng=rng,
                             sims={uid: json.loads(n) for uid, n in self.notes.items()}, texts=texts)
        state.config["start_delays"] = False
        return state, rng


def seeded(state: ClusterState, rng: random.Random, seed: str) -> ClusterState:
    rng.seed(seed)
    state.rng.seed(rng.getrandbits(64))
    return state


# Notes that only memoise "nothing to do for these inputs" (podutil.SETTLED, endpoints.MEMO, the kubelet's
# "quiet"): a state loaded afresh runs every controller and notes them all, a kept one runs only those with
# something to do (loop.py). Everything else in the notes must be the same.
MEMOS = (SETTLED, ENDPOINTS_MEMO, "quiet")


def outcome(result) -> tuple:
    notes = {uid: None if n is None else {k: v for k, v in n.items() if k not in MEMOS}
             for uid, n in result.sim_changes.items()}
    return ([(event, object_text(obj)) for event, obj in result.changes],
            json.dumps({uid: n for uid, n in notes.items() if n != {}}, sort_keys=True), result.next_wake)


def deployment(name: str, replicas: int) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}", "labels": {"app": name}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "web", "image": "nginx:1.27",
                                                           "ports": [{"containerPort": 80}]}]}}}}


def service(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": "default", "uid": f"uid-svc-{name}"},
            "spec": {"selector": {"app": name}, "ports": [{"port": 80, "targetPort": 80}],
                     "clusterIP": "10.96.0.50", "clusterIPs": ["10.96.0.50"]}}


def as_stored(state: ClusterState) -> dict:
    """The state's objects as stored texts; a state that was frozen is frozen again (its step must thaw)."""
    frozen = state.frozen
    texts = {key_of(o): object_text(o) for o in state.all_objects()}
    if frozen:
        state.freeze()
    return texts


@pytest.mark.parametrize("frozen", [False, True], ids=["hot", "frozen between passes"])
def test_a_kept_state_steps_as_a_fresh_load_after_the_apis_writes(frozen):
    """Frozen: the runner froze the kept state while its cluster was idle (ClusterState.freeze); the API's
    writes and the next step thaw what they touch."""
    state = new_state(workers=2, objects=[deployment("web", 3), service("web")])
    state.config["start_delays"] = False
    store = Store(state)
    kept, kept_rng = store.load(T0, "engine:1")   # the runner's first pass loads
    kept.share_strings()                           # and shares the strings of the state it keeps
    now = T0
    for round_ in range(6):
        seed = f"engine:{round_}:{store.rv}"
        result = step(seeded(kept, kept_rng, seed), now)
        store.persist(kept, result)
        kept.commit_written(list(result.sim_changes))
        if frozen:
            kept.freeze()
            assert kept.frozen == len(store.texts)

        # The API writes between passes, at the same simulated instant (a paused clock): per-state memos
        # keyed on (writes, now) must not serve what they computed before these writes.
        log = []
        pods = [json.loads(t) for k, t in store.texts.items() if k[0] == "Pod" and k[1] == "default"]
        if round_ == 1 and pods:
            log.append(store.api_write("DELETED", pods[0]))
        if round_ == 2:
            scaled = json.loads(store.texts[("Deployment", "default", "web")])
            scaled["spec"]["replicas"] = 5
            log.append(store.api_write("MODIFIED", scaled))
        if round_ == 3:
            log.append(store.api_write("ADDED", deployment("api", 2)))
            log.append(store.api_write("ADDED", service("api")))
        if round_ == 4 and pods:   # another object under a deleted one's name: its notes do not carry over
            replaced = json.loads(store.texts[key_of(pods[-1])])
            log.append(store.api_write("DELETED", replaced))
            replaced["metadata"]["uid"] = "uid-replacement"
            replaced["status"] = {}
            replaced["spec"].pop("nodeName", None)
            log.append(store.api_write("ADDED", replaced))
        kept.take_stored(log)
        if not frozen:   # (a thawed object does not share its strings: it is frozen again once idle)
            namespaces = [o["metadata"]["namespace"] for o in kept.all_objects() if o["metadata"].get("namespace")]
            assert len({id(n) for n in namespaces}) == len(set(namespaces)), \
                f"round {round_}: objects read back since the load do not share their strings"

        now += 0 if round_ % 2 else 5
        seed = f"engine:{round_ + 1}:{store.rv}"
        fresh, fresh_rng = store.load(now, "unused")
        expected = step(seeded(fresh, fresh_rng, seed), now)
        stored_notes = {uid: notes for uid, n in store.notes.items() if (notes := json.loads(n))}
        assert as_stored(kept) == store.texts, \
            f"round {round_}: the kept objects differ from the stored ones"
        assert {uid: n for uid, n in kept._sims.items() if n} == stored_notes, f"round {round_}: notes differ"
        again = step(seeded(kept, kept_rng, seed), now)
        assert outcome(again) == outcome(expected), f"round {round_}: the kept state stepped otherwise"
        store.persist(kept, again)
        kept.commit_written(list(again.sim_changes))


def test_take_stored_refuses_a_state_with_unpersisted_changes():
    state = new_state()
    state.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "default"}})
    try:
        state.take_stored([])
    except RuntimeError:
        pass
    else:
        raise AssertionError("take_stored() must refuse a state with unpersisted changes")


def test_commit_written_serialises_only_what_was_written():
    state = new_state()
    cm = state.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "default"}})
    state.commit_written([])
    assert state.changes() == [] and state.fingerprint(cm) is not None
    cm["data"] = {"k": "v"}
    state.update(cm)
    state.delete(state.get("Node", "", "worker-1") or state.list("Node")[-1])
    assert [event for event, _ in state.changes()] == ["MODIFIED", "DELETED"]
    state.commit_written([])
    assert state.changes() == []
    assert state.fingerprint(cm) is not None


def test_passes_at_one_paused_instant_never_reuse_an_events_name():
    """Two passes at the same simulated instant (a paused clock), each recording an event about the same
    object: the second skips the name the first took (it used to fail with "already exists")."""
    state = new_state(objects=[deployment("web", 2)])
    state.config["start_delays"] = False
    store = Store(state)
    for replicas in (4, 1):
        loaded, _ = store.load(T0, "engine")
        store.persist(loaded, step(loaded, T0))
        scaled = json.loads(store.texts[("Deployment", "default", "web")])
        scaled["spec"]["replicas"] = replicas
        store.api_write("MODIFIED", scaled)
    loaded, _ = store.load(T0, "engine")
    result = step(loaded, T0)
    events = [o for event, o in result.changes if o["kind"] == "Event" and event == "ADDED"]
    assert any(e["reason"] == "ScalingReplicaSet" for e in events)
