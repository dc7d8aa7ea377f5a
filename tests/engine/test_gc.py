"""Garbage collector: dangling owners, foreground and orphan deletion, finalizers, pod GC.

These tests run only the cluster-housekeeping controllers (node, namespace, gc, volumes, endpoints, in
the loop's order), so what they check does not depend on the workload controllers or the kubelet;
pods are made by hand with the status a kubelet would have given them.
"""
from __future__ import annotations

from clusters.engine.controllers import endpoints, gc, namespace, node, volumes
from clusters.engine.loop import step
from clusters.engine.state import ClusterState, parse_timestamp

from .conftest import T0, apply, new_state

HOUSEKEEPING = [node.reconcile, namespace.reconcile, gc.reconcile, volumes.reconcile, endpoints.reconcile]


def run_housekeeping(state: ClusterState, until: float | None = None, *, max_steps: int = 1000) -> list:
    """conftest.run with only these controllers: step at every wake-up up to `until`."""
    until = state.now if until is None else until
    results = [step(state, state.now, controllers=HOUSEKEEPING)]
    state.commit()
    for _ in range(max_steps):
        wake = results[-1].next_wake
        if wake is None or wake > until:
            break
        results.append(step(state, max(wake, state.now), controllers=HOUSEKEEPING))
        state.commit()
    if until > state.now:
        state.now = until
        results.append(step(state, until, controllers=HOUSEKEEPING))
        state.commit()
    return results


def make_pod(state: ClusterState, name: str, *, labels: dict | None = None, node_name: str | None = "worker-1",
             ip: str | None = "10.244.1.5", ready: bool = True, namespace: str = "default",
             owner: dict | None = None, ports: list | None = None, **spec) -> dict:
    """A pod as the scheduler and kubelet would have left it: bound, Running, with an IP and Ready."""
    meta: dict = {"name": name, "namespace": namespace, "labels": dict(labels or {})}
    if owner is not None:
        meta["ownerReferences"] = [owner_ref(owner)]
    container = {"name": "app", "image": "nginx:1.27"}
    if ports:
        container["ports"] = ports
    pod = apply(state, {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
                        "spec": {"containers": [container], **spec}})
    if node_name:
        pod["spec"]["nodeName"] = node_name
        stamp = pod["metadata"]["creationTimestamp"]
        status = "True" if ready else "False"
        pod["status"] = {
            "phase": "Running", "qosClass": "BestEffort", "hostIP": "172.18.0.3", "startTime": stamp,
            "conditions": [
                {"type": "PodReadyToStartContainers", "status": "True", "lastProbeTime": None,
                 "lastTransitionTime": stamp},
                {"type": "Initialized", "status": "True", "lastProbeTime": None, "lastTransitionTime": stamp},
                {"type": "Ready", "status": status, "lastProbeTime": None, "lastTransitionTime": stamp},
                {"type": "ContainersReady", "status": status, "lastProbeTime": None, "lastTransitionTime": stamp},
                {"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": stamp},
            ],
        }
        if ip:
            pod["status"]["podIP"] = ip
            pod["status"]["podIPs"] = [{"ip": ip}]
        state.update(pod)
    return pod


def owner_ref(owner: dict, *, controller: bool = True, block: bool = True) -> dict:
    return {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"], "controller": controller, "blockOwnerDeletion": block}


def replica_set(state: ClusterState, name: str = "web-7d4b9c", owner: dict | None = None) -> dict:
    meta: dict = {"name": name, "namespace": "default", "labels": {"app": "web"}}
    if owner is not None:
        meta["ownerReferences"] = [owner_ref(owner)]
    return apply(state, {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": meta, "spec": {
        "replicas": 2, "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}},
                     "spec": {"containers": [{"name": "app", "image": "nginx"}]}}}})


def deployment(state: ClusterState, name: str = "web") -> dict:
    return apply(state, {"apiVersion": "apps/v1", "kind": "Deployment",
                         "metadata": {"name": name, "namespace": "default"}, "spec": {
                             "replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                             "template": {"metadata": {"labels": {"app": "web"}},
                                          "spec": {"containers": [{"name": "app", "image": "nginx"}]}}}})


def mark_deleting(state: ClusterState, obj: dict, *finalizers: str) -> None:
    """What the API server does on DELETE with propagationPolicy Foreground/Orphan."""
    meta = obj["metadata"]
    meta["finalizers"] = list(meta.get("finalizers") or []) + list(finalizers)
    meta["deletionTimestamp"] = "2027-01-15T08:00:00Z"
    meta["deletionGracePeriodSeconds"] = 0
    state.update(obj)


def exists(state: ClusterState, obj: dict) -> bool:
    meta = obj["metadata"]
    return state.get(obj["kind"], meta.get("namespace", ""), meta["name"]) is not None


# ------------------------------------------------------------------ background: owner gone

def test_pods_of_a_deleted_replicaset_are_collected():
    state = new_state()
    rs = replica_set(state)
    bound = make_pod(state, "web-7d4b9c-abcde", labels={"app": "web"}, owner=rs)
    pending = make_pod(state, "web-7d4b9c-fghij", labels={"app": "web"}, owner=rs, node_name=None)
    state.commit()
    run_housekeeping(state)
    assert exists(state, bound) and exists(state, pending)  # the owner is there: nothing to collect

    state.delete(rs)  # the API server removed the ReplicaSet (background propagation)
    state.commit()
    run_housekeeping(state)
    # Never scheduled: removed at once. Running on a node: graceful deletion, its kubelet finishes it.
    assert not exists(state, pending)
    pod = state.get("Pod", "default", "web-7d4b9c-abcde")
    assert pod["metadata"]["deletionGracePeriodSeconds"] == 30
    assert parse_timestamp(pod["metadata"]["deletionTimestamp"]) == T0 + 30
    results = run_housekeeping(state, T0 + 120)
    assert exists(state, bound)  # not the collector's to remove: the kubelet's
    assert all(not r.changes for r in results)


def test_only_dangling_references_are_removed_when_another_owner_stands():
    state = new_state()
    rs = replica_set(state)
    other = apply(state, {"apiVersion": "v1", "kind": "ConfigMap",
                          "metadata": {"name": "keeper", "namespace": "default"}})
    pod = make_pod(state, "shared", owner=rs)
    pod["metadata"]["ownerReferences"].append(owner_ref(other, controller=False))
    state.update(pod)
    state.commit()
    state.delete(rs)
    state.commit()
    run_housekeeping(state)
    pod = state.get("Pod", "default", "shared")
    assert not pod["metadata"].get("deletionTimestamp")
    assert [r["name"] for r in pod["metadata"]["ownerReferences"]] == ["keeper"]


def test_a_reference_to_a_uid_that_never_existed_gets_the_object_deleted():
    state = new_state()
    cm = apply(state, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
        "name": "orphan", "namespace": "default", "ownerReferences": [{
            "apiVersion": "apps/v1", "kind": "Deployment", "name": "gone",
            "uid": "00000000-0000-4000-8000-000000000000"}]}})
    state.commit()
    run_housekeeping(state)
    assert not exists(state, cm)


# ------------------------------------------------------------------ foreground

def test_foreground_deletion_removes_dependents_first_then_the_owner():
    state = new_state()
    deploy = deployment(state)
    rs = replica_set(state, owner=deploy)
    pods = [make_pod(state, f"web-7d4b9c-{s}", labels={"app": "web"}, owner=rs, node_name=None) for s in "ab"]
    state.commit()
    mark_deleting(state, deploy, gc.FOREGROUND)
    state.commit()
    run_housekeeping(state)
    assert not any(exists(state, p) for p in pods)
    assert not exists(state, rs) and not exists(state, deploy)


def test_foreground_owner_waits_for_a_terminating_pod():
    state = new_state()
    rs = replica_set(state)
    pod = make_pod(state, "web-7d4b9c-abcde", labels={"app": "web"}, owner=rs)
    state.commit()
    mark_deleting(state, rs, gc.FOREGROUND)
    state.commit()
    run_housekeeping(state)
    # The pod is terminating gracefully; its owner keeps the finalizer (kubectl delete --cascade=foreground waits).
    assert state.get("Pod", "default", pod["metadata"]["name"])["metadata"]["deletionTimestamp"]
    assert state.get("ReplicaSet", "default", rs["metadata"]["name"])["metadata"]["finalizers"] == [gc.FOREGROUND]
    state.now = T0 + 30
    state.delete(state.get("Pod", "default", pod["metadata"]["name"]))  # the kubelet finished
    state.commit()
    run_housekeeping(state)
    assert not exists(state, rs)


def test_non_blocking_dependents_do_not_hold_the_owner():
    state = new_state()
    rs = replica_set(state)
    cm = apply(state, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
        "name": "loose", "namespace": "default", "finalizers": ["example.com/hold"],
        "ownerReferences": [owner_ref(rs, block=False)]}})
    state.commit()
    mark_deleting(state, rs, gc.FOREGROUND)
    state.commit()
    run_housekeeping(state)
    assert not exists(state, rs)
    held = state.get("ConfigMap", "default", "loose")
    assert held["metadata"]["deletionTimestamp"]  # deleted, but its own finalizer keeps it
    assert exists(state, cm)


# ------------------------------------------------------------------ orphan

def test_orphan_deletion_keeps_the_dependents_without_their_owner():
    state = new_state()
    rs = replica_set(state)
    pods = [make_pod(state, f"web-7d4b9c-{s}", labels={"app": "web"}, owner=rs) for s in "ab"]
    state.commit()
    mark_deleting(state, rs, gc.ORPHAN)
    state.commit()
    run_housekeeping(state)
    assert not exists(state, rs)
    for pod in pods:
        kept = state.get("Pod", "default", pod["metadata"]["name"])
        assert "ownerReferences" not in kept["metadata"] and not kept["metadata"].get("deletionTimestamp")


# ------------------------------------------------------------------ finalizers and deletion

def test_an_object_goes_when_its_last_finalizer_is_removed():
    state = new_state()
    cm = apply(state, {"apiVersion": "v1", "kind": "ConfigMap",
                       "metadata": {"name": "held", "namespace": "default", "finalizers": ["example.com/hold"]}})
    state.commit()
    mark_deleting(state, cm)
    state.commit()
    run_housekeeping(state)
    assert exists(state, cm)
    cm["metadata"]["finalizers"] = []
    state.update(cm)
    state.commit()
    run_housekeeping(state)
    assert not exists(state, cm)


def test_deleting_pods_not_bound_go_at_once_bound_ones_wait_for_their_kubelet():
    state = new_state()
    unbound = make_pod(state, "unbound", node_name=None)
    bound = make_pod(state, "bound")
    state.commit()
    for pod in (unbound, bound):
        pod["metadata"]["deletionTimestamp"] = "2027-01-15T08:00:30Z"
        pod["metadata"]["deletionGracePeriodSeconds"] = 30
        state.update(pod)
    state.commit()
    run_housekeeping(state, T0 + 100)
    assert not exists(state, unbound)
    assert exists(state, bound)


def test_delete_object_is_the_api_servers_delete():
    state = new_state()
    running = make_pod(state, "running", terminationGracePeriodSeconds=5)
    done = make_pod(state, "done")
    done["status"]["phase"] = "Succeeded"
    state.commit()
    gc.delete_object(state, running)
    gc.delete_object(state, done)
    assert running["metadata"]["deletionGracePeriodSeconds"] == 5
    assert parse_timestamp(running["metadata"]["deletionTimestamp"]) == T0 + 5
    assert not exists(state, done)
    assert not gc.delete_object(state, running)  # deleting again changes nothing
    cm = apply(state, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "default"}})
    gc.delete_object(state, cm, "Foreground")
    assert cm["metadata"]["finalizers"] == [gc.FOREGROUND] and cm["metadata"]["deletionGracePeriodSeconds"] == 0


# ------------------------------------------------------------------ pod GC

def test_pods_of_a_vanished_node_are_deleted_after_the_quarantine():
    state = new_state()
    pod = make_pod(state, "stranded", node_name="worker-2")
    state.commit()
    state.delete(state.get("Node", "", "worker-2"))
    state.commit()
    run_housekeeping(state, T0 + 39)
    assert exists(state, pod)
    run_housekeeping(state, T0 + 40)
    assert not exists(state, pod)


def test_terminating_pods_on_an_out_of_service_node_are_force_deleted():
    state = new_state()
    pod = make_pod(state, "stuck")
    worker = state.get("Node", "", "worker-1")
    worker["spec"]["taints"] = [{"key": gc.OUT_OF_SERVICE_TAINT, "value": "nodeshutdown", "effect": "NoExecute"}]
    next(c for c in worker["status"]["conditions"] if c["type"] == "Ready")["status"] = "Unknown"
    state.update(worker)
    gc.delete_object(state, pod)
    state.commit()
    run_housekeeping(state)
    assert not exists(state, pod)


def test_an_idle_cluster_costs_nothing():
    state = new_state()
    make_pod(state, "web", labels={"app": "web"})
    state.commit()
    run_housekeeping(state)
    results = run_housekeeping(state, T0 + 3600)
    assert all(not r.changes and r.next_wake is None for r in results)
