"""The Eviction API (clusters/apiserver/eviction.py) over an in-memory store, against upstream's
pkg/registry/core/pod/storage/eviction.go: the body's checks, PodDisruptionBudgets, dry run, and the
graceful deletion it ends in."""
from __future__ import annotations

import pytest

from clusters.apiserver.bootstrap import cluster_objects
from clusters.apiserver.errors import ApiError
from clusters.apiserver.eviction import evict
from clusters.apiserver.pipeline import ApiServer
from clusters.apiserver.registry import by_path
from clusters.apiserver.store import MemoryStore

NOW = 1_800_000_000.0
PODS = by_path("", "v1", "pods")
PDBS = by_path("policy", "v1", "poddisruptionbudgets")
SUCCESS = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}


@pytest.fixture
def api() -> ApiServer:
    return ApiServer(MemoryStore(cluster_objects(workers=2, now=NOW, seed=3)), now=NOW, seed=3,
                     graceful_pod_deletion=True)


def running_pod(api: ApiServer, name: str, *, ready: bool = True, labels: dict | None = None) -> dict:
    """A pod the kubelet runs on worker-1 (its status as the kubelet writes it)."""
    api.create(PODS, "default", {"metadata": {"name": name, "labels": labels or {"app": "web"}},
                                 "spec": {"nodeName": "worker-1", "containers": [{"name": "c", "image": "nginx"}]}})
    pod = api.store.get("Pod", "default", name)
    pod["status"] = {"phase": "Running", "conditions": [
        {"type": "Ready", "status": "True" if ready else "False", "lastProbeTime": None,
         "lastTransitionTime": "2027-01-15T08:00:00Z"}]}
    api.store.write("MODIFIED", pod)
    return pod


def budget(api: ApiServer, name: str = "web-pdb", *, allowed: int, current: int = 3, desired: int = 3,
           observed: int = 1, **spec) -> dict:
    """A PodDisruptionBudget whose status the disruption controller has written."""
    api.create(PDBS, "default", {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                                 "metadata": {"name": name},
                                 "spec": {"selector": {"matchLabels": {"app": "web"}},
                                          **(spec or {"minAvailable": 2})}})
    pdb = api.store.get("PodDisruptionBudget", "default", name)
    pdb["status"] = {"observedGeneration": observed, "disruptionsAllowed": allowed, "currentHealthy": current,
                     "desiredHealthy": desired, "expectedPods": 3}
    api.store.write("MODIFIED", pdb)
    return pdb


def eviction(name: str, **extra) -> dict:
    return {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name, "namespace": "default"},
            **extra}


def test_eviction_without_budget_deletes_the_pod_gracefully_with_a_disruption_target(api):
    running_pod(api, "quux")
    result = evict(api, "default", "quux", eviction("quux"))
    assert (result.code, result.body) == (201, SUCCESS)
    pod = api.store.get("Pod", "default", "quux")
    assert pod["metadata"]["deletionGracePeriodSeconds"] == 30 and pod["metadata"]["deletionTimestamp"]
    target = [c for c in pod["status"]["conditions"] if c["type"] == "DisruptionTarget"]
    assert target == [{"type": "DisruptionTarget", "status": "True", "lastProbeTime": None,
                       "lastTransitionTime": "2027-01-15T08:00:00Z", "reason": "EvictionByEvictionAPI",
                       "message": "Eviction API: evicting"}]


def test_eviction_delete_options_are_the_deletion_options(api):
    running_pod(api, "quux")
    evict(api, "default", "quux", eviction("quux", deleteOptions={"gracePeriodSeconds": 5}))
    assert api.store.get("Pod", "default", "quux")["metadata"]["deletionGracePeriodSeconds"] == 5


def test_policy_v1beta1_is_accepted_too(api):
    running_pod(api, "quux")
    body = {**eviction("quux"), "apiVersion": "policy/v1beta1"}
    assert evict(api, "default", "quux", body).code == 201


@pytest.mark.parametrize("body, message", [
    (eviction("other"), "name in URL does not match name in Eviction object"),
    ({**eviction("quux"), "apiVersion": "apps/v1"},
     "the API version in the data (apps/v1) does not match the expected API version (policy/v1)"),
    ({**eviction("quux"), "metadata": {"name": "quux", "namespace": "kube-system"}},
     "the namespace of the provided object does not match the namespace sent on the request"),
])
def test_bad_bodies_are_400_with_the_real_messages(api, body, message):
    running_pod(api, "quux")
    with pytest.raises(ApiError) as failed:
        evict(api, "default", "quux", body)
    assert (failed.value.code, failed.value.message) == (400, message)


def test_a_missing_pod_is_404(api):
    with pytest.raises(ApiError) as failed:
        evict(api, "default", "nope", eviction("nope"))
    assert failed.value.status() == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": 'pods "nope" not found',
        "reason": "NotFound", "details": {"name": "nope", "kind": "pods"}, "code": 404}


def test_budget_with_no_disruption_left_is_429_with_its_cause(api):
    running_pod(api, "web-1")
    budget(api, allowed=0, current=2, desired=2)
    with pytest.raises(ApiError) as failed:
        evict(api, "default", "web-1", eviction("web-1"))
    assert failed.value.status() == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": "Cannot evict pod as it would violate the pod's disruption budget.", "reason": "TooManyRequests",
        "details": {"causes": [{"reason": "DisruptionBudget",
                                "message": "The disruption budget web-pdb needs 2 healthy pods and has 2 currently"}]},
        "code": 429}
    assert not api.store.get("Pod", "default", "web-1")["metadata"].get("deletionTimestamp")


def test_a_budget_not_yet_processed_asks_to_come_back(api):
    running_pod(api, "web-1")
    budget(api, allowed=1, observed=0)
    with pytest.raises(ApiError) as failed:
        evict(api, "default", "web-1", eviction("web-1"))
    assert failed.value.code == 429 and failed.value.retry_after == 10
    assert failed.value.causes == [{"reason": "DisruptionBudget",
                                    "message": "The disruption budget web-pdb is still being processed by the server."}]


def test_an_allowed_disruption_is_used_up_and_the_pod_noted(api):
    running_pod(api, "web-1")
    budget(api, allowed=1)
    assert evict(api, "default", "web-1", eviction("web-1")).code == 201
    status = api.store.get("PodDisruptionBudget", "default", "web-pdb")["status"]
    assert status["disruptionsAllowed"] == 0
    assert status["disruptedPods"] == {"web-1": "2027-01-15T08:00:00Z"}
    assert status["conditions"] == [{"type": "DisruptionAllowed", "status": "False", "observedGeneration": 1,
                                     "lastTransitionTime": "2027-01-15T08:00:00Z", "reason": "InsufficientPods",
                                     "message": ""}]
    assert api.store.get("Pod", "default", "web-1")["metadata"]["deletionTimestamp"]
    running_pod(api, "web-2")
    with pytest.raises(ApiError) as second:
        evict(api, "default", "web-2", eviction("web-2"))
    assert second.value.code == 429


def test_two_budgets_are_a_500_status(api):
    running_pod(api, "web-1")
    budget(api, "one", allowed=1)
    budget(api, "two", allowed=1)
    result = evict(api, "default", "web-1", eviction("web-1"))
    assert (result.code, result.body) == (500, {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
        "code": 500})


def test_budgets_of_other_pods_do_not_apply(api):
    running_pod(api, "db-1", labels={"app": "db"})
    budget(api, allowed=0)
    assert evict(api, "default", "db-1", eviction("db-1")).code == 201


def test_terminating_pending_and_finished_pods_skip_the_budget(api):
    budget(api, allowed=0)
    running_pod(api, "terminating")
    api.delete(PODS, "default", "terminating", {})
    assert evict(api, "default", "terminating", eviction("terminating")).code == 201
    api.create(PODS, "default", {"metadata": {"name": "pending", "labels": {"app": "web"}},
                                 "spec": {"containers": [{"name": "c", "image": "nginx"}]}})
    assert evict(api, "default", "pending", eviction("pending")).code == 201
    assert api.store.get("Pod", "default", "pending") is None   # never scheduled: deleted at once


def test_an_unready_pod_goes_without_using_the_budget_when_it_is_met(api):
    running_pod(api, "sick", ready=False)
    budget(api, allowed=0, current=3, desired=3)
    assert evict(api, "default", "sick", eviction("sick")).code == 201
    assert api.store.get("PodDisruptionBudget", "default", "web-pdb")["status"]["disruptionsAllowed"] == 0


def test_an_unready_pod_is_held_by_an_unmet_budget_unless_always_allow(api):
    running_pod(api, "sick", ready=False)
    budget(api, allowed=0, current=1, desired=3)
    with pytest.raises(ApiError):
        evict(api, "default", "sick", eviction("sick"))
    pdb = api.store.get("PodDisruptionBudget", "default", "web-pdb")
    pdb["spec"]["unhealthyPodEvictionPolicy"] = "AlwaysAllow"
    api.store.write("MODIFIED", pdb)
    assert evict(api, "default", "sick", eviction("sick")).code == 201


@pytest.mark.parametrize("where", ["query", "body"])
def test_dry_run_changes_nothing(api, where):
    running_pod(api, "web-1")
    budget(api, allowed=1)
    before = api.store.resource_version
    if where == "query":
        result = evict(api, "default", "web-1", eviction("web-1"), dry_run=["All"])
    else:
        result = evict(api, "default", "web-1", eviction("web-1", deleteOptions={"dryRun": ["All"]}))
    assert result.code == 201 and api.store.resource_version == before


def test_dry_run_of_query_and_body_must_agree(api):
    running_pod(api, "web-1")
    with pytest.raises(ApiError) as failed:
        evict(api, "default", "web-1", eviction("web-1", deleteOptions={"dryRun": ["All"]}), dry_run=["Nope"])
    assert failed.value.code == 500 and "Non-matching dry-run options in request and content" in failed.value.message


def test_a_stale_resource_version_precondition_is_a_conflict(api):
    running_pod(api, "web-1")
    with pytest.raises(ApiError) as failed:
        evict(api, "default", "web-1", eviction("web-1", deleteOptions={"preconditions": {"resourceVersion": "1"}}))
    assert failed.value.code == 409


def test_delete_options_dry_run_in_a_delete_body_is_honoured(api):
    running_pod(api, "web-1")
    before = api.store.resource_version
    api.delete(PODS, "default", "web-1", {"kind": "DeleteOptions", "apiVersion": "v1", "dryRun": ["All"]})
    assert api.store.resource_version == before
    with pytest.raises(ApiError) as failed:
        api.delete(PODS, "default", "web-1", {"dryRun": ["Sometimes"]})
    assert failed.value.code == 422
    assert 'dryRun: Unsupported value: []string{"Sometimes"}: supported values: "All"' in failed.value.message
