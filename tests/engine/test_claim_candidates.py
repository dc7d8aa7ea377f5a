"""What a claim looks at: a Deployment its own ReplicaSets plus the namespace's ReplicaSets without a
controller, a ReplicaSet its own pods plus the orphans its selector could select (by label). Each test
checks the outcome and that it is the one a claim over the whole namespace gives."""
from __future__ import annotations

import pytest

from clusters.engine.controllers import deployment, podutil, replicaset
from clusters.engine.state import ClusterState, object_text
from tests.engine.conftest import apply, new_state
from tests.engine.test_replicaset import bare_pod, replica_set, settle


def deployment_obj(name: str, labels: dict, replicas: int = 1, namespace: str = "default") -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": namespace},
            "spec": {"replicas": replicas, "selector": {"matchLabels": dict(labels)},
                     "template": {"metadata": {"labels": dict(labels)},
                                  "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}}}


def whole_namespace(monkeypatch) -> None:
    """The claims as they were: every ReplicaSet, every orphan pod of the namespace a candidate."""
    monkeypatch.setattr(deployment._ReplicaSets, "orphans",
                        lambda self, namespace: self.state.list("ReplicaSet", namespace))
    monkeypatch.setattr(deployment._ReplicaSets, "released", lambda self, rs: None)
    monkeypatch.setattr(replicaset._Orphans, "selectable", lambda self, namespace, selector: self.get(namespace))


def outcome(state: ClusterState) -> list[str]:
    return sorted(object_text(o) for o in state.all_objects() if o["kind"] in ("Pod", "ReplicaSet", "Deployment"))


def same_as_whole_namespace(build, act, monkeypatch) -> ClusterState:
    """act() on a cluster from build(), and on another from build() with claims over the whole namespace:
    the same objects come out. Returns the first cluster."""
    state, expected = build(), build()
    act(state)
    with monkeypatch.context() as patch:
        whole_namespace(patch)
        act(expected)
    assert outcome(state) == outcome(expected)
    return state


def test_a_replicaset_released_by_one_deployment_is_adopted_by_the_next_in_the_same_pass(monkeypatch):
    def build() -> ClusterState:
        state = new_state()
        apply(state, deployment_obj("a", {"app": "a"}))
        settle(state)
        apply(state, deployment_obj("b", {"app": "b"}))
        [rs] = state.list("ReplicaSet", "default")
        rs["metadata"]["labels"] = {**rs["metadata"]["labels"], "app": "b"}   # relabelled by hand
        state.update(rs)
        state.commit()
        return state

    state = same_as_whole_namespace(build, deployment.reconcile, monkeypatch)   # one pass
    [rs] = [rs for rs in state.list("ReplicaSet", "default") if rs["metadata"]["name"].startswith("a-")]
    assert podutil.controller_ref(rs)["uid"] == state.get("Deployment", "default", "b")["metadata"]["uid"]


def test_a_deployment_adopts_an_orphan_replicaset_and_leaves_others_alone(monkeypatch):
    def build() -> ClusterState:
        state = new_state()
        apply(state, deployment_obj("other", {"app": "web"}))
        settle(state)
        labels = {"app": "shop", "tier": "x"}
        apply(state, replica_set("handmade", 1, labels) | {
            "metadata": {"name": "handmade", "namespace": "default", "labels": labels}})
        apply(state, replica_set("elsewhere", 1, labels) | {
            "metadata": {"name": "elsewhere", "namespace": "kube-system", "labels": labels}})
        apply(state, deployment_obj("web", {"app": "shop"}))
        state.commit()
        return state

    state = same_as_whole_namespace(build, deployment.reconcile, monkeypatch)
    web, other = (state.get("Deployment", "default", n)["metadata"]["uid"] for n in ("web", "other"))
    assert podutil.controller_ref(state.get("ReplicaSet", "default", "handmade"))["uid"] == web
    assert podutil.controller_ref(state.get("ReplicaSet", "kube-system", "elsewhere")) is None
    assert [podutil.controller_ref(rs)["uid"] for rs in state.list("ReplicaSet", "default")
            if rs["metadata"]["name"].startswith("other-")] == [other]


SELECTORS = {
    "matchLabels": {"matchLabels": {"tier": "frontend"}},
    "In, one value": {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["frontend"]}]},
    "In, two values": {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["frontend", "web"]}]},
    "Exists": {"matchExpressions": [{"key": "tier", "operator": "Exists"}]},
    "NotIn": {"matchLabels": {"env": "prod"},
              "matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["backend"]}]},
}


@pytest.mark.parametrize("what", list(SELECTORS))
def test_a_replicaset_adopts_the_orphans_its_selector_selects(monkeypatch, what):
    def build() -> ClusterState:
        state = new_state()
        labels = [{"tier": "frontend", "env": "prod"}, {"tier": "web", "env": "prod"},
                  {"tier": "backend", "env": "prod"}, {"env": "prod"}, {"tier": "frontend"}]
        for i, pod_labels in enumerate(labels):
            apply(state, bare_pod(f"orphan-{i}", pod_labels))
        labels = {"tier": "frontend", "env": "prod"}
        apply(state, bare_pod("other-ns", labels) | {
            "metadata": {"name": "other-ns", "namespace": "kube-system", "labels": labels}})
        rs = replica_set("frontend", 6, {"tier": "frontend", "env": "prod"})
        rs["spec"]["selector"] = SELECTORS[what]
        apply(state, rs)
        state.commit()
        return state

    state = same_as_whole_namespace(build, replicaset.reconcile, monkeypatch)
    rs = state.get("ReplicaSet", "default", "frontend")
    selector = podutil.label_selector(SELECTORS[what])
    for pod in state.list("Pod"):
        owned = podutil.is_controlled_by(pod, rs)
        if pod["metadata"]["name"].startswith("orphan-"):
            assert owned == selector.matches(pod["metadata"]["labels"]), pod["metadata"]["name"]
    assert podutil.controller_ref(state.get("Pod", "kube-system", "other-ns")) is None
