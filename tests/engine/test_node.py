"""Node lifecycle: a failed node goes Unknown after the grace period, is tainted unreachable, its pods
are marked not ready and evicted after their 300 s toleration; recovery lifts it all."""
from __future__ import annotations

from clusters.engine.controllers import node

from .conftest import T0, new_state
from .test_gc import exists, make_pod, run_housekeeping

GRACE = node.NODE_MONITOR_GRACE_PERIOD


def events(state, reason: str) -> list[dict]:
    return [e for e in state.list("Event") if e["reason"] == reason]


def condition(obj: dict, ctype: str) -> dict:
    return next(c for c in obj["status"]["conditions"] if c["type"] == ctype)


def failed_cluster():
    state = new_state()
    web = make_pod(state, "web-1", labels={"app": "web"})  # the API server gave it the 300 s tolerations
    other = make_pod(state, "db-1", node_name="worker-2", ip="10.244.2.7")
    state.commit()
    run_housekeeping(state)
    state.sim(state.get("Node", "", "worker-1"))["failed"] = True  # the runner's "fail a node"
    state.commit()
    return state, web, other


def test_every_node_is_registered_once():
    state = new_state()
    run_housekeeping(state, T0 + 600)
    registered = events(state, "RegisteredNode")
    assert sorted(e["message"] for e in registered) == [
        "Node control-plane event: Registered Node control-plane in Controller",
        "Node worker-1 event: Registered Node worker-1 in Controller",
        "Node worker-2 event: Registered Node worker-2 in Controller"]
    assert all(e["source"]["component"] == "node-controller" for e in registered)


def test_a_healthy_cluster_writes_nothing_over_time():
    state = new_state()
    make_pod(state, "web-1")
    state.commit()
    run_housekeeping(state)
    lease = dict(state.get("Lease", "kube-node-lease", "worker-1")["spec"])
    results = run_housekeeping(state, T0 + 3600)
    assert all(not r.changes and r.next_wake is None for r in results)
    assert state.get("Lease", "kube-node-lease", "worker-1")["spec"] == lease  # no periodic renewals


def test_failed_node_goes_unknown_after_the_grace_period():
    state, web, other = failed_cluster()
    run_housekeeping(state, T0 + GRACE - 1)
    worker = state.get("Node", "", "worker-1")
    assert condition(worker, "Ready")["status"] == "True"
    assert "taints" not in worker["spec"]
    # The kubelet's last heartbeat and Lease renewal are those of the moment it failed.
    assert condition(worker, "Ready")["lastHeartbeatTime"] == "2027-01-15T08:00:00Z"
    assert state.get("Lease", "kube-node-lease", "worker-1")["spec"]["renewTime"] == "2027-01-15T08:00:00.000000Z"

    run_housekeeping(state, T0 + GRACE)
    worker = state.get("Node", "", "worker-1")
    ready = condition(worker, "Ready")
    assert (ready["status"], ready["reason"], ready["message"]) == (
        "Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status.")
    assert ready["lastTransitionTime"] == "2027-01-15T08:00:50Z"
    assert ready["lastHeartbeatTime"] == "2027-01-15T08:00:00Z"
    assert {c["type"]: c["status"] for c in worker["status"]["conditions"]} == {
        "MemoryPressure": "Unknown", "DiskPressure": "Unknown", "PIDPressure": "Unknown", "Ready": "Unknown"}
    assert [(t["key"], t["effect"]) for t in worker["spec"]["taints"]] == [
        ("node.kubernetes.io/unreachable", "NoSchedule"), ("node.kubernetes.io/unreachable", "NoExecute")]
    assert all(t["timeAdded"] == "2027-01-15T08:00:50Z" for t in worker["spec"]["taints"])
    assert [e["message"] for e in events(state, "NodeNotReady") if e["involvedObject"]["kind"] == "Node"] == [
        "Node worker-1 status is now: NodeNotReady"]

    pod = state.get("Pod", "default", "web-1")
    assert condition(pod, "Ready")["status"] == "False"
    pod_events = [e for e in events(state, "NodeNotReady") if e["involvedObject"]["kind"] == "Pod"]
    assert [(e["type"], e["message"], e["involvedObject"]["name"]) for e in pod_events] == [
        ("Warning", "Node is not ready", "web-1")]
    assert condition(state.get("Pod", "default", "db-1"), "Ready")["status"] == "True"  # other node


def test_pods_are_evicted_after_their_toleration_and_stay_terminating():
    state, web, other = failed_cluster()
    run_housekeeping(state, T0 + GRACE + 299)
    assert not state.get("Pod", "default", "web-1")["metadata"].get("deletionTimestamp")
    run_housekeeping(state, T0 + GRACE + 300)
    pod = state.get("Pod", "default", "web-1")
    assert pod["metadata"]["deletionTimestamp"] == "2027-01-15T08:06:20Z"  # now + 30 s grace
    disruption = condition(pod, "DisruptionTarget")
    assert (disruption["status"], disruption["reason"], disruption["message"]) == (
        "True", "DeletionByTaintManager", "Taint manager: deleting due to NoExecute taint")
    [eviction] = events(state, "TaintManagerEviction")
    assert eviction["message"] == "Marking for deletion Pod default/web-1"
    assert eviction["source"]["component"] == "taint-eviction-controller" and eviction["type"] == "Normal"
    # Nobody on the dead node finishes the deletion: Terminating until the node comes back or goes.
    run_housekeeping(state, T0 + 3600)
    assert exists(state, web)
    assert not state.get("Pod", "default", "db-1")["metadata"].get("deletionTimestamp")


def test_pods_that_do_not_tolerate_go_at_once_and_forever_tolerations_stay():
    state = new_state()
    fragile = make_pod(state, "fragile")
    fragile["spec"]["tolerations"] = []
    state.update(fragile)
    sturdy = make_pod(state, "sturdy", ip="10.244.1.9",
                      tolerations=[{"key": "node.kubernetes.io/unreachable", "operator": "Exists",
                                    "effect": "NoExecute"}])
    state.commit()
    state.sim(state.get("Node", "", "worker-1"))["failed"] = True
    state.commit()
    run_housekeeping(state, T0 + GRACE)
    assert state.get("Pod", "default", "fragile")["metadata"].get("deletionTimestamp")
    run_housekeeping(state, T0 + 7200)
    assert not state.get("Pod", "default", "sturdy")["metadata"].get("deletionTimestamp")
    assert exists(state, sturdy)


def test_a_learners_noexecute_taint_evicts_what_does_not_tolerate_it():
    state = new_state()
    make_pod(state, "web-1")
    state.commit()
    worker = state.get("Node", "", "worker-1")
    worker["spec"]["taints"] = [{"key": "maintenance", "value": "now", "effect": "NoExecute"}]
    state.update(worker)
    state.commit()
    run_housekeeping(state)
    assert state.get("Pod", "default", "web-1")["metadata"]["deletionTimestamp"]


def test_recovery_lifts_taints_and_restores_readiness():
    state, web, other = failed_cluster()
    run_housekeeping(state, T0 + GRACE + 100)
    state.sim(state.get("Node", "", "worker-1"))["failed"] = False
    state.commit()
    run_housekeeping(state)
    worker = state.get("Node", "", "worker-1")
    ready = condition(worker, "Ready")
    assert (ready["status"], ready["reason"], ready["message"]) == (
        "True", "KubeletReady", "kubelet is posting ready status")
    assert ready["lastHeartbeatTime"] == ready["lastTransitionTime"] == "2027-01-15T08:02:30Z"
    assert condition(worker, "MemoryPressure")["reason"] == "KubeletHasSufficientMemory"
    assert "taints" not in worker["spec"]
    assert state.get("Lease", "kube-node-lease", "worker-1")["spec"]["renewTime"] == "2027-01-15T08:02:30.000000Z"
    kubelet = [e for e in state.list("Event") if e["source"]["component"] == "kubelet"]
    assert sorted(e["message"] for e in kubelet) == [
        "Node worker-1 status is now: NodeHasNoDiskPressure", "Node worker-1 status is now: NodeHasSufficientMemory",
        "Node worker-1 status is now: NodeHasSufficientPID", "Node worker-1 status is now: NodeReady"]
    assert all(e["source"].get("host") == "worker-1" for e in kubelet)
    assert [e["message"] for e in events(state, "TaintManagerEviction")] == ["Cancelling deletion of Pod default/web-1"]
    pod = state.get("Pod", "default", "web-1")
    assert condition(pod, "Ready")["status"] == "True" and not pod["metadata"].get("deletionTimestamp")
    results = run_housekeeping(state, T0 + 3600)  # and it stays put: no eviction later
    assert all(not r.changes for r in results)
