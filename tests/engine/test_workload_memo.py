"""The Deployment and ReplicaSet controllers' memo across states.

A sync that wrote nothing and asked for no wake-up notes a digest of its inputs in the object's notes
(podutil.SETTLED); a fresh state whose inputs have the same digest skips the sync. Each test stores a
settled Deployment, changes one thing in the stored form (as a write through the API server would) and
steps a fresh state with the memo and one without it: both must write the same, and see the change.
"""
from __future__ import annotations

import json
import random

import pytest

from clusters.apiserver.pipeline import engine_preparer
from clusters.engine.controllers import deployment, podutil, replicaset
from clusters.engine.loop import step
from clusters.engine.state import ClusterState, object_text, timestamp

from .conftest import T0, apply, new_state
from .test_replicaset import WITH_KUBELET, bare_pod, make_ready, run

CONTROLLERS = [deployment.reconcile, replicaset.reconcile]
LABELS = {"app": "web"}


class Stored:
    """A cluster as the store keeps it: every object's JSON and the notes, by uid."""

    def __init__(self, state: ClusterState) -> None:
        self.now = state.now
        self.texts = [object_text(o) for o in state.all_objects()]
        self.sims = {uid: json.dumps(notes) for uid, notes in state._sims.items()}

    def load(self, now: float | None = None, *, memo: bool = True) -> ClusterState:
        sims = {uid: json.loads(text) for uid, text in self.sims.items()}
        if not memo:
            for notes in sims.values():
                notes.pop(podutil.SETTLED, None)
        now = self.now if now is None else now
        rng = random.Random(f"engine:{now}")
        state = ClusterState([json.loads(t) for t in self.texts], now=now, seed=rng.getrandbits(64),
                             sims=sims, texts=self.texts)
        state.use_preparer(engine_preparer(now_source=lambda: state.now, rng=rng, objects=state))
        return state

    def find(self, kind: str, name: str) -> dict:
        return next(o for o in map(json.loads, self.texts)
                    if o["kind"] == kind and o["metadata"]["name"].startswith(name)
                    and o["metadata"]["namespace"] == "default")

    def edit(self, kind: str, name: str | None, change) -> None:
        """Change the first stored object of kind whose name starts with name (None: add change(self))."""
        if name is None:
            self.texts.append(object_text(change(self)))
            return
        for i, text in enumerate(self.texts):
            obj = json.loads(text)
            if obj["kind"] == kind and obj["metadata"]["name"].startswith(name):
                if change(obj) == "delete":
                    del self.texts[i]
                else:
                    self.texts[i] = object_text(obj)
                return
        raise KeyError((kind, name))


def deployment_obj(**spec) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"},
            "spec": {"replicas": 2, "selector": {"matchLabels": dict(LABELS)},
                     "template": {"metadata": {"labels": dict(LABELS)},
                                  "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}, **spec}}


def settled(**spec) -> Stored:
    state = new_state()
    apply(state, deployment_obj(**spec))
    run(state, T0 + 30, WITH_KUBELET)
    fresh = Stored(state).load()
    step(fresh, fresh.now, controllers=CONTROLLERS)   # a fresh state notes what it found settled
    fresh.commit()
    return Stored(fresh)


def syncs(monkeypatch) -> list[str]:
    calls: list[str] = []
    original_rs, original_d = replicaset.sync_replica_set, deployment._run

    def rs_sync(state, rs, orphans):
        calls.append(rs["kind"])
        return original_rs(state, rs, orphans)

    def d_sync(state, d, replica_sets):
        calls.append(d["kind"])
        return original_d(state, d, replica_sets)

    monkeypatch.setattr(replicaset, "sync_replica_set", rs_sync)
    monkeypatch.setattr(deployment, "_run", d_sync)
    return calls


def summary(result) -> list:
    return [(e, o["kind"], o["metadata"].get("name")) for e, o in result.changes]


def texts(state: ClusterState) -> list[str]:
    return sorted(object_text(o) for o in state.all_objects() if o["kind"] in ("Deployment", "ReplicaSet", "Pod"))


def test_a_settled_deployment_and_replicaset_are_skipped_by_a_fresh_state(monkeypatch):
    stored = settled()
    calls = syncs(monkeypatch)
    result = step(stored.load(T0 + 40), T0 + 40, controllers=CONTROLLERS)
    assert result.changes == [] and result.sim_changes == {} and result.next_wake is None
    assert calls == []
    step(stored.load(T0 + 40, memo=False), T0 + 40, controllers=CONTROLLERS)
    assert "Deployment" in calls and "ReplicaSet" in calls   # without the memo every one is synced again


def _unready(pod: dict) -> None:
    for cond in pod["status"]["conditions"]:
        if cond["type"] in ("Ready", "ContainersReady"):
            cond["status"] = "False"


def _relabel(pod: dict) -> None:
    pod["metadata"]["labels"] = {"app": "debug"}


def _scale(obj: dict) -> None:
    obj["spec"]["replicas"] = 3
    obj["metadata"]["generation"] += 1


def _rs_status(rs: dict) -> None:
    rs["status"]["availableReplicas"] = 1


def _orphan_replica_set(stored: Stored) -> dict:
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": "handmade", "namespace": "default", "uid": "uid-handmade",
                         "labels": dict(LABELS), "creationTimestamp": timestamp(T0)},
            "spec": {"replicas": 0, "selector": {"matchLabels": dict(LABELS)},
                     "template": {"metadata": {"labels": dict(LABELS)},
                                  "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}}}


def _orphan_pod(stored: Stored) -> dict:
    """A pod made by hand with the labels of the Deployment's pods, the ReplicaSet's hash included."""
    rs = stored.find("ReplicaSet", "web-")
    pod = bare_pod("handmade", dict(rs["spec"]["selector"]["matchLabels"]))
    pod["metadata"].update(uid="uid-handmade-pod", creationTimestamp=timestamp(T0))
    return make_ready(pod, T0)


CHANGES = {
    "a pod turning unready": ("Pod", "web-", _unready),
    "a pod deleted": ("Pod", "web-", lambda pod: "delete"),
    "a pod relabelled": ("Pod", "web-", _relabel),
    "a pod of the ReplicaSet with a new owner reference": (
        "Pod", "web-", lambda pod: pod["metadata"]["ownerReferences"][0].update(controller=False)),
    "the ReplicaSet scaled by hand": ("ReplicaSet", "web-", _scale),
    "the ReplicaSet's status": ("ReplicaSet", "web-", _rs_status),
    "the ReplicaSet deleted": ("ReplicaSet", "web-", lambda rs: "delete"),
    "the Deployment scaled": ("Deployment", "web", _scale),
    "the Deployment's template": (
        "Deployment", "web", lambda d: d["spec"]["template"]["spec"]["containers"][0].update(image="nginx:2")),
    "an orphan ReplicaSet to adopt": ("ReplicaSet", None, _orphan_replica_set),
    "an orphan pod to adopt": ("Pod", None, _orphan_pod),
}


@pytest.mark.parametrize("what", list(CHANGES))
def test_a_fresh_state_sees_a_change_a_sync_depends_on(what):
    stored = settled()
    kind, name, change = CHANGES[what]
    stored.edit(kind, name, change)
    with_memo, without = stored.load(T0 + 40), stored.load(T0 + 40, memo=False)
    result = step(with_memo, T0 + 40, controllers=CONTROLLERS)
    expected = step(without, T0 + 40, controllers=CONTROLLERS)
    assert result.changes, "the change was not seen"
    assert summary(result) == summary(expected)
    assert texts(with_memo) == texts(without)
    assert result.next_wake == expected.next_wake


def test_a_pod_waiting_for_min_ready_seconds_is_seen_when_it_becomes_available():
    stored = settled(minReadySeconds=60)
    calls: list = []
    rs = stored.find("ReplicaSet", "web-")
    assert rs["status"].get("availableReplicas") is None   # ready at T0+2, available after T0+62
    assert podutil.SETTLED not in json.loads(stored.sims[rs["metadata"]["uid"]])   # it asked for a wake-up
    for now in (T0 + 61, T0 + 63):
        state = stored.load(now)
        result = step(state, now, controllers=CONTROLLERS)
        calls.append([(o["kind"], (o.get("status") or {}).get("availableReplicas")) for _, o in result.changes])
        if now == T0 + 61:
            assert result.next_wake is not None and T0 + 62 <= result.next_wake < T0 + 63
    assert calls[0] == [] and ("ReplicaSet", 2) in calls[1]


def test_a_stalled_rollout_still_times_out_in_a_fresh_state():
    stored = settled(progressDeadlineSeconds=30)
    stored.edit("Deployment", "web", lambda d: d["spec"]["template"]["spec"]["containers"][0].update(image="broken"))
    state = stored.load(T0 + 40)
    run(state, T0 + 40, WITH_KUBELET)          # the new ReplicaSet's pod never starts
    later = Stored(state)
    for now in (T0 + 60, T0 + 80):
        state = later.load(now)
        result = step(state, now, controllers=CONTROLLERS)
        state.commit()
        later = Stored(state)
    d = later.find("Deployment", "web")
    progressing = deployment.get_condition(d["status"], "Progressing")
    assert progressing["reason"] == "ProgressDeadlineExceeded", progressing
    assert result is not None
