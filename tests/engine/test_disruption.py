"""The disruption controller (clusters/engine/controllers/disruption.py): PodDisruptionBudget status as
pkg/controller/disruption computes it, on the whole engine (the kubelets make the pods Ready)."""
from __future__ import annotations

from clusters.engine.controllers import disruption
from clusters.engine.state import timestamp

from .conftest import T0, apply, new_state, run


def deployment(name: str = "web", replicas: int = 3) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "default"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}


def pdb(name: str = "web-pdb", app: str = "web", **spec) -> dict:
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"selector": {"matchLabels": {"app": app}}, **spec}}


def status(state, name: str = "web-pdb") -> dict:
    return state.get("PodDisruptionBudget", "default", name)["status"]


def counts(state, name: str = "web-pdb") -> tuple[int, int, int, int]:
    found = status(state, name)
    return (found["expectedPods"], found["desiredHealthy"], found["currentHealthy"], found["disruptionsAllowed"])


def started(*objects: dict):
    state = new_state(objects=list(objects))
    run(state, T0 + 120)
    return state


def test_integer_min_available_counts_the_matching_pods():
    state = started(deployment(replicas=3), pdb(minAvailable=2))
    assert counts(state) == (3, 2, 3, 1)
    found = status(state)
    assert found["observedGeneration"] == 1
    assert [(c["type"], c["status"], c["reason"], c["message"]) for c in found["conditions"]] == [
        ("DisruptionAllowed", "True", "SufficientPods", "")]


def test_min_available_equal_to_the_replicas_allows_nothing():
    state = started(deployment(replicas=2), pdb(minAvailable=2))
    assert counts(state) == (2, 2, 2, 0)
    assert status(state)["conditions"][0]["reason"] == "InsufficientPods"


def test_percentages_and_max_unavailable_use_the_deployments_scale_rounded_up():
    state = started(deployment(replicas=5), pdb("half", minAvailable="50%"), pdb("one", maxUnavailable=1),
                    pdb("third", maxUnavailable="30%"))
    assert counts(state, "half") == (5, 3, 5, 2)
    assert counts(state, "one") == (5, 4, 5, 1)
    assert counts(state, "third") == (5, 3, 5, 2)     # ceil(30% of 5) = 2 unavailable


def test_a_budget_without_pods_allows_nothing_and_says_so():
    state = started(pdb(app="nothing", minAvailable=1))
    assert counts(state) == (0, 1, 0, 0)
    events = [e for e in state.list("Event", "default") if e["involvedObject"]["name"] == "web-pdb"]
    assert [(e["reason"], e["message"], e["source"]["component"]) for e in events] == [
        ("NoPods", "No matching pods found", "controllermanager")]


def test_a_daemonset_has_no_scale_so_a_percentage_budget_fails_safe():
    state = new_state()
    apply(state, {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                  "metadata": {"name": "proxy", "namespace": "kube-system"},
                  "spec": {"selector": {"matchLabels": {"k8s-app": "kube-proxy"}}, "maxUnavailable": 1}})
    run(state, T0 + 60)
    found = state.get("PodDisruptionBudget", "kube-system", "proxy")["status"]
    assert found["disruptionsAllowed"] == 0 and "observedGeneration" not in found
    assert [(c["status"], c["reason"], c["message"]) for c in found["conditions"]] == [
        ("False", "SyncFailed", "daemonsets.apps does not implement the scale subresource")]


def test_an_evicted_pod_is_not_counted_until_the_deletion_timeout():
    state = started(deployment(replicas=3), pdb(minAvailable=2))
    budget = state.get("PodDisruptionBudget", "default", "web-pdb")
    pods = state.list("Pod", "default")
    budget["status"]["disruptedPods"] = {pods[0]["metadata"]["name"]: timestamp(state.now)}
    budget["status"]["disruptionsAllowed"] = 0
    state.update(budget)
    state.commit()
    run(state, state.now + 1)
    assert counts(state)[2:] == (2, 0)
    run(state, state.now + disruption.DELETION_TIMEOUT + 5)   # the pod was never deleted: counted again
    assert counts(state)[2:] == (3, 1) and "disruptedPods" not in status(state)
    assert any(e["reason"] == "NotDeleted" for e in state.list("Event", "default"))


def test_a_settled_budget_writes_nothing():
    state = started(deployment(replicas=3), pdb(minAvailable=2))
    before = state.writes
    disruption.reconcile(state)
    assert state.writes == before
