"""Node lifecycle (upstream pkg/controller/nodelifecycle) and taint-based eviction
(pkg/controller/tainteviction), plus the one thing a simulated kubelet posts about its node: that it
is alive again.

The simulation marks a machine failed with `state.sim(node)["failed"] = True` (the runner's "fail a
node"). From then on its kubelet posts nothing:

* after node-monitor-grace-period (50 s since 1.32, kubernetes#126287) the node controller sets every
  kubelet condition to Unknown, reason NodeStatusUnknown, "Kubelet stopped posting node status."
  (heartbeat times stay those of the last post), taints the node node.kubernetes.io/unreachable
  NoSchedule and NoExecute, records NodeNotReady "Node <n> status is now: NodeNotReady" on the node,
  and marks its pods' Ready condition False with a Warning NodeNotReady "Node is not ready" each
  (MarkPodsNotReady);
* the taint-eviction controller deletes pods on a node with NoExecute taints they do not tolerate, at
  once, or after the smallest tolerationSeconds of the tolerations used (the default 300 s for
  unreachable): DisruptionTarget condition (DeletionByTaintManager), event TaintManagerEviction
  "Marking for deletion Pod <ns>/<name>", graceful delete. A dead kubelet never finishes that
  deletion, so such pods stay Terminating, as on a real cluster.

When the machine comes back (`failed` False) its kubelet posts again: conditions healthy, the
kubelet's NodeHasSufficientMemory/…/NodeReady events, the Lease renewed; the node controller removes
the unreachable taints (scheduled evictions are cancelled: "Cancelling deletion of Pod …").

Idle clusters cost nothing: heartbeats and Lease renewals are only written when something about the
node changes, never periodically. Every node gets the node controller's RegisteredNode event once.
"""
from __future__ import annotations

from ..placement import tolerates
from ..state import ClusterState, micro_timestamp, parse_timestamp, timestamp
from .gc import delete_object

NODE_MONITOR_GRACE_PERIOD = 50.0   # kube-controller-manager --node-monitor-grace-period (1.32+)
UNREACHABLE_TAINT = "node.kubernetes.io/unreachable"
NOT_READY_TAINT = "node.kubernetes.io/not-ready"
NODE_CONTROLLER = "node-controller"
TAINT_EVICTION_CONTROLLER = "taint-eviction-controller"
LEASE_NAMESPACE = "kube-node-lease"

# The kubelet's healthy conditions (pkg/kubelet/nodestatus/setters.go) and the events it records when
# a condition's status changes back to them.
HEALTHY = {
    "MemoryPressure": ("False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
    "DiskPressure": ("False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    "PIDPressure": ("False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
    "Ready": ("True", "KubeletReady", "kubelet is posting ready status"),
}
KUBELET_EVENTS = {"MemoryPressure": "NodeHasSufficientMemory", "DiskPressure": "NodeHasNoDiskPressure",
                  "PIDPressure": "NodeHasSufficientPID", "Ready": "NodeReady"}


def _condition(node: dict, ctype: str) -> dict | None:
    for cond in (node.get("status") or {}).get("conditions") or ():
        if cond.get("type") == ctype:
            return cond
    return None


def _pods_on(state: ClusterState, node_name: str) -> list[dict]:
    return [p for p in state.list("Pod") if (p.get("spec") or {}).get("nodeName") == node_name]


def _renew_lease(state: ClusterState, node_name: str) -> None:
    lease = state.get("Lease", LEASE_NAMESPACE, node_name)
    if lease is not None:
        lease.setdefault("spec", {})["renewTime"] = micro_timestamp(state.now)
        state.update(lease)


# ----------------------------------------------------------------- tolerations (v1helper)

def _eviction_delay(pod: dict, taints: list[dict]) -> float | None:
    """processPodOnNode: 0 if some NoExecute taint is not tolerated, None if all are tolerated
    forever, else the smallest tolerationSeconds of the tolerations used."""
    tolerations = (pod.get("spec") or {}).get("tolerations") or ()
    smallest: float | None = None
    for taint in taints:
        used = [t for t in tolerations if tolerates(t, taint)]
        if not used:
            return 0.0
        for toleration in used:
            seconds = toleration.get("tolerationSeconds")
            if seconds is None:
                continue
            seconds = max(0.0, float(seconds))
            smallest = seconds if smallest is None else min(smallest, seconds)
    return smallest


def _mark_pod_ready_false(state: ClusterState, pod: dict) -> None:
    """MarkPodsNotReady for one pod: Ready False, and the Warning NodeNotReady event."""
    for cond in (pod.get("status") or {}).get("conditions") or ():
        if cond.get("type") == "Ready":
            if cond.get("status") == "False":
                return
            cond["status"] = "False"
            cond["lastTransitionTime"] = timestamp(state.now)
            state.update(pod)
            state.sim(pod)["marked_not_ready"] = True
            state.event(pod, "Warning", "NodeNotReady", "Node is not ready", component=NODE_CONTROLLER)
            return


def _evict(state: ClusterState, pod: dict) -> None:
    """addConditionAndDeletePod: DisruptionTarget, then a graceful DELETE."""
    meta = pod["metadata"]
    state.event(pod, "Normal", "TaintManagerEviction",
                f"Marking for deletion Pod {meta.get('namespace', '')}/{meta['name']}",
                component=TAINT_EVICTION_CONTROLLER)
    status = pod.setdefault("status", {})
    conditions = status.setdefault("conditions", [])
    wanted = {"type": "DisruptionTarget", "status": "True", "lastProbeTime": None,
              "lastTransitionTime": timestamp(state.now), "reason": "DeletionByTaintManager",
              "message": "Taint manager: deleting due to NoExecute taint"}
    existing = next((c for c in conditions if c.get("type") == "DisruptionTarget"), None)
    if existing is None:
        conditions.append(wanted)
    elif existing.get("status") != "True" or existing.get("reason") != wanted["reason"]:
        existing.update(wanted)
    state.update(pod)
    delete_object(state, pod, "Background")


def _taint_eviction(state: ClusterState, node: dict, pods: list[dict] | None) -> None:
    taints = [t for t in (node.get("spec") or {}).get("taints") or () if t.get("effect") == "NoExecute"]
    if not taints:
        return
    notes = state.sim(node)
    seen = notes.get("noexecute_seen") or {}
    started = 0.0
    for taint in taints:
        added = parse_timestamp(taint.get("timeAdded"))
        if added is None:  # a taint without timeAdded: counted from when it was first seen
            tkey = f"{taint.get('key')}={taint.get('value', '')}"
            if tkey not in seen:
                seen[tkey] = state.now
                notes["noexecute_seen"] = seen
            added = seen[tkey]
        started = max(started, added)
    for pod in pods if pods is not None else _pods_on(state, node["metadata"]["name"]):
        if pod["metadata"].get("deletionTimestamp"):
            continue
        delay = _eviction_delay(pod, taints)
        if delay is None:
            continue
        created = parse_timestamp(pod["metadata"].get("creationTimestamp")) or 0.0
        due = max(started, created) + delay if delay else state.now
        if state.now >= due:
            _evict(state, pod)
        else:
            state.wake_at(due)


# ----------------------------------------------------------------- node health

def _mark_unknown(state: ClusterState, node: dict) -> None:
    """tryUpdateNodeHealth + processTaintBaseEviction + doNodeProcessingPassWorker for a silent kubelet."""
    name = node["metadata"]["name"]
    now = timestamp(state.now)
    for cond in (node.get("status") or {}).get("conditions") or ():
        if cond.get("type") in HEALTHY and cond.get("status") != "Unknown":
            cond.update(status="Unknown", reason="NodeStatusUnknown", message="Kubelet stopped posting node status.",
                        lastTransitionTime=now)
    spec = node.setdefault("spec", {})
    taints = [t for t in spec.get("taints") or () if t.get("key") not in (UNREACHABLE_TAINT, NOT_READY_TAINT)]
    taints.append({"key": UNREACHABLE_TAINT, "effect": "NoSchedule", "timeAdded": now})
    taints.append({"key": UNREACHABLE_TAINT, "effect": "NoExecute", "timeAdded": now})
    spec["taints"] = taints
    state.update(node)
    state.event(node, "Normal", "NodeNotReady", f"Node {name} status is now: NodeNotReady", component=NODE_CONTROLLER)
    for pod in _pods_on(state, name):
        _mark_pod_ready_false(state, pod)


def _recover(state: ClusterState, node: dict) -> None:
    """The kubelet posts again; the node controller lifts the unreachable taints."""
    name = node["metadata"]["name"]
    now = timestamp(state.now)
    changed_to_healthy = []
    for cond in (node.get("status") or {}).get("conditions") or ():
        healthy = HEALTHY.get(cond.get("type"))
        if healthy is None:
            continue
        status, reason, message = healthy
        if cond.get("status") != status:
            cond["lastTransitionTime"] = now
            changed_to_healthy.append(cond["type"])
        cond.update(status=status, reason=reason, message=message, lastHeartbeatTime=now)
    spec = node.setdefault("spec", {})
    old_taints = spec.get("taints") or []
    taints = [t for t in old_taints if t.get("key") != UNREACHABLE_TAINT]
    lifted = [t for t in old_taints if t.get("key") == UNREACHABLE_TAINT and t.get("effect") == "NoExecute"]
    if taints:
        spec["taints"] = taints
    else:
        spec.pop("taints", None)
    state.update(node)
    _renew_lease(state, name)
    for ctype in ("MemoryPressure", "DiskPressure", "PIDPressure", "Ready"):
        if ctype in changed_to_healthy:
            reason = KUBELET_EVENTS[ctype]
            state.event(node, "Normal", reason, f"Node {name} status is now: {reason}", component="kubelet", host=name)
    pods = _pods_on(state, name)
    remaining_noexecute = [t for t in taints if t.get("effect") == "NoExecute"]
    for pod in pods:
        meta = pod["metadata"]
        delay = _eviction_delay(pod, lifted) if lifted and not remaining_noexecute else None
        if delay and not meta.get("deletionTimestamp"):  # an eviction was scheduled: it is cancelled
            state.event(pod, "Normal", "TaintManagerEviction",
                        f"Cancelling deletion of Pod {meta.get('namespace', '')}/{meta['name']}",
                        component=TAINT_EVICTION_CONTROLLER)
        notes = state.sim(pod)
        if notes.pop("marked_not_ready", None):
            # The kubelet's status manager posts the pod's real readiness again.
            ready = next((c for c in (pod.get("status") or {}).get("conditions") or ()
                          if c.get("type") == "Ready"), None)
            containers_ready = next((c for c in (pod.get("status") or {}).get("conditions") or ()
                                     if c.get("type") == "ContainersReady"), None)
            if ready is not None and containers_ready is not None and containers_ready.get("status") == "True" \
                    and ready.get("status") != "True":
                ready["status"] = "True"
                ready["lastTransitionTime"] = now
                state.update(pod)


def _sync_node(state: ClusterState, node: dict) -> None:
    notes = state.sim(node)
    name = node["metadata"]["name"]
    if not notes.get("registered"):
        notes["registered"] = True
        state.event(node, "Normal", "RegisteredNode", f"Node {name} event: Registered Node {name} in Controller",
                    component=NODE_CONTROLLER)
    ready = _condition(node, "Ready")
    if notes.get("failed"):
        failed_at = notes.get("failed_at")
        if failed_at is None:
            # The kubelet's last post happened just now: its heartbeat and Lease renewal are the last ones.
            notes["failed_at"] = failed_at = state.now
            stamp = timestamp(state.now)
            for cond in (node.get("status") or {}).get("conditions") or ():
                if cond.get("type") in HEALTHY:
                    cond["lastHeartbeatTime"] = stamp
            state.update(node)
            _renew_lease(state, name)
        deadline = failed_at + NODE_MONITOR_GRACE_PERIOD
        if state.now < deadline:
            state.wake_at(deadline)
        elif ready is None or ready.get("status") != "Unknown":
            _mark_unknown(state, node)
    elif "failed_at" in notes:
        notes.pop("failed_at")
        unhealthy = any(c.get("type") in HEALTHY and c.get("status") != HEALTHY[c["type"]][0]
                        for c in (node.get("status") or {}).get("conditions") or ())
        tainted = any(t.get("key") == UNREACHABLE_TAINT for t in (node.get("spec") or {}).get("taints") or ())
        if unhealthy or tainted:
            _recover(state, node)


def reconcile(state: ClusterState) -> None:
    for node in state.list("Node"):
        _sync_node(state, node)
        if state.get("Node", "", node["metadata"]["name"]) is node:
            _taint_eviction(state, node, None)
