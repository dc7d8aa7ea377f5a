"""The kubelet's eviction manager (pkg/kubelet/eviction): node memory pressure, and the pods evicted for it.

Every kubelet watches its node's `memory.available` — the machine's memory less what its pods and its own
system use (the resource model, clusters/engine/metrics.py: the pods' working sets as `kubectl top` shows
them, plus NODE_SYSTEM_MEMORY_BYTES) — against kind's hard threshold `memory.available<100Mi`. When it is
met (eviction_manager.go synchronize):

* the node's condition MemoryPressure turns True, reason KubeletHasInsufficientMemory, "kubelet has
  insufficient memory available", with the kubelet's event NodeHasInsufficientMemory on the node, and the
  node lifecycle controller taints it node.kubernetes.io/memory-pressure:NoSchedule (taintNodeByCondition);
  the kubelet records Warning EvictionThresholdMet "Attempting to reclaim memory";
* it ranks the node's active pods as rankMemoryPressure does — pods using more memory than they request
  first, then by priority (lowest first), then by how far their usage exceeds their request — and evicts
  the first it may (never a static or mirror pod, nor one at system-critical priority): Warning Evicted
  with evictionMessage's text ("The node was low on resource: memory. Threshold quantity: 100Mi, available:
  51200Ki. Container x was using 180000Ki, request is 0, has larger consumption of memory. "), its
  containers killed at once (a hard threshold: no grace period, exit 137), the pod Failed with reason
  Evicted and that message, and a DisruptionTarget condition (TerminationByKubelet). Its controller
  replaces it; the evicted pod stays until it is deleted, as on a real cluster;
* one pod per monitoring interval (10 s): the next is evicted only if the threshold is still met then.

The condition turns False again (KubeletHasSufficientMemory, NodeHasSufficientMemory, the taint lifted)
once the threshold has not been met for the pressure transition period (5 min).

Cheap when nothing is near: a bound on each node's memory (every running container at its largest, over
its memory limit) is computed once per state as it stands (memoised like the network index); only a node
whose bound comes within the threshold is measured, and a node without pressure is never written.
"""
from __future__ import annotations

from fractions import Fraction

from .. import metrics
from ..network.index import per_state
from ..resources import BINARY_SI, format_quantity, parse_quantity_format
from ..state import ClusterState, timestamp
from .lifecycle import memory_ceilings

COMPONENT = "kubelet"
HARD_THRESHOLD_BYTES = 100 * 1024 * 1024        # --eviction-hard memory.available<100Mi (kind's default)
THRESHOLD_TEXT = "100Mi"
MONITORING_INTERVAL = 10.0                     # the eviction manager's housekeeping interval
PRESSURE_TRANSITION_PERIOD = 300.0             # --eviction-pressure-transition-period
MEMORY_PRESSURE_TAINT = "node.kubernetes.io/memory-pressure"
SYSTEM_CRITICAL_PRIORITY = 2_000_000_000       # scheduling.SystemCriticalPriority
REASON = "Evicted"
PRESSURE = ("True", "KubeletHasInsufficientMemory", "kubelet has insufficient memory available")
NO_PRESSURE = ("False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available")
_MARGIN = 1.0 + metrics.JITTER                 # the bound covers the figures' jitter
_GROWING = 4 * 1024 * 1024                     # a node whose pods could still grow by more than this


def _bounds(state: ClusterState) -> dict[str, float]:
    """Per node, the most its running pods and system could use as they stand (no jitter, every growing
    allocation at its end, each container at most its limit)."""
    out: dict[str, float] = {}
    for pod in state.list("Pod"):
        if (pod.get("status") or {}).get("phase") != "Running":
            continue
        spec = pod.get("spec") or {}
        ceilings = memory_ceilings(state, pod)
        total = 0.0
        for container in spec.get("containers") or ():
            most = ceilings.get(container.get("name", ""))
            if most is None:
                most = metrics.demand(state, pod, container, state.now)[1]
            limits = (container.get("resources") or {}).get("limits")
            if limits and "memory" in limits:
                limit = metrics._limit(container, "memory")
                most = min(most, limit) if limit is not None else most
            total += most
        node = spec.get("nodeName") or ""
        out[node] = out.get(node, 0.0) + total
    return out


_node_bounds = per_state(_bounds)


def _memory_usage(state: ClusterState) -> dict[str, metrics.PodUsage]:
    """The pods' working sets now, as metrics-server would see them (CPU does not matter here)."""
    return metrics.pod_usage(state, state.now, rates={})


_usage_now = per_state(_memory_usage)


def _condition(node: dict, ctype: str) -> dict | None:
    for condition in (node.get("status") or {}).get("conditions") or ():
        if condition.get("type") == ctype:
            return condition
    return None


def _quantity_text(value: int) -> str:
    """resource.NewQuantity(value, BinarySI).String(): 184320000 → 180000Ki, 104857600 → 100Mi."""
    return format_quantity(Fraction(int(value)), BINARY_SI)


def _request_text(container: dict) -> tuple[float, str]:
    value = ((container.get("resources") or {}).get("requests") or {}).get("memory")
    if value is None:
        return 0.0, "0"
    try:
        amount, fmt = parse_quantity_format(str(value))
    except ValueError:
        return 0.0, str(value)
    return float(amount), format_quantity(amount, fmt)


def _pod_request(pod: dict) -> float:
    return sum(_request_text(c)[0] for c in (pod.get("spec") or {}).get("containers") or ())


def _critical(pod: dict) -> bool:
    """kubelettypes.IsCriticalPod: a static or mirror pod, or one at system-critical priority."""
    annotations = pod["metadata"].get("annotations") or {}
    if "kubernetes.io/config.mirror" in annotations or "kubernetes.io/config.source" in annotations:
        return True
    priority = (pod.get("spec") or {}).get("priority")
    return isinstance(priority, int) and priority >= SYSTEM_CRITICAL_PRIORITY


def rank_memory_pressure(pods: list[dict], usage: dict[str, metrics.PodUsage]) -> list[dict]:
    """rankMemoryPressure: orderedBy(exceedMemoryRequests, priority, memory). A pod without stats first."""
    def key(pod: dict) -> tuple:
        found = usage.get(pod["metadata"].get("uid", ""))
        if found is None:
            return (0, 0, 0.0)
        request = _pod_request(pod)
        used = found.memory_bytes
        priority = (pod.get("spec") or {}).get("priority") or 0
        return (1 if used > request else 2, priority, -(used - request))
    return sorted(pods, key=key)


def eviction_message(pod: dict, usage: metrics.PodUsage | None, available: int) -> str:
    """evictionMessage for memory: the node's lack, then each container using more than it requests."""
    message = f"The node was low on resource: memory. Threshold quantity: {THRESHOLD_TEXT}, " \
              f"available: {_quantity_text(available)}. "
    if usage is None:
        return message
    used = {c.name: c.memory_bytes for c in usage.containers}
    spec = pod.get("spec") or {}
    for container in list(spec.get("containers") or ()) + list(spec.get("initContainers") or ()):
        name = container.get("name", "")
        if name not in used:
            continue
        request, request_text = _request_text(container)
        if used[name] > request:
            message += f"Container {name} was using {_quantity_text(used[name])}, request is {request_text}, " \
                       f"has larger consumption of memory. "
    return message


def _set_condition(state: ClusterState, node: dict, wanted: tuple[str, str, str]) -> None:
    status, reason, message = wanted
    condition = _condition(node, "MemoryPressure")
    stamp = timestamp(state.now)
    if condition is None:
        condition = {"type": "MemoryPressure"}
        node.setdefault("status", {}).setdefault("conditions", []).insert(0, condition)
    if condition.get("status") != status:
        condition["lastTransitionTime"] = stamp
    condition.update(status=status, reason=reason, message=message, lastHeartbeatTime=stamp)
    spec = node.setdefault("spec", {})
    taints = [t for t in spec.get("taints") or () if t.get("key") != MEMORY_PRESSURE_TAINT]
    if status == "True":
        taints.append({"key": MEMORY_PRESSURE_TAINT, "effect": "NoSchedule"})
    if taints:
        spec["taints"] = taints
    else:
        spec.pop("taints", None)
    state.update(node)
    name = node["metadata"]["name"]
    event = "NodeHasInsufficientMemory" if status == "True" else "NodeHasSufficientMemory"
    state.event(node, "Normal", event, f"Node {name} status is now: {event}", component=COMPONENT, host=name)


def _evict(state: ClusterState, pod: dict, message: str, host: str) -> None:
    """killPodNow with a status function: the containers killed at once, Failed / Evicted."""
    state.event(pod, "Warning", REASON, message, component=COMPONENT, host=host)
    notes = state.sim(pod)
    stamp = timestamp(state.now)
    status = pod.setdefault("status", {})
    records = notes.setdefault("c", {})
    statuses = []
    for container_status in status.get("containerStatuses") or ():
        name = container_status.get("name", "")
        running = (container_status.get("state") or {}).get("running")
        if running is not None:
            state.event(pod, "Normal", "Killing", f"Stopping container {name}", component=COMPONENT, host=host,
                        field_path=f"spec.containers{{{name}}}")
            container_status = dict(container_status, ready=False, started=False, state={"terminated": {
                "exitCode": 137, "reason": "Error", "startedAt": running.get("startedAt"), "finishedAt": stamp,
                "containerID": container_status.get("containerID", "")}})
            record = records.get(name)
            if record is not None:
                record.update(st="exit", exit=[137, state.now, "Error"], ready=False)
        statuses.append(container_status)
    status["containerStatuses"] = statuses
    status.update(phase="Failed", reason=REASON, message=message)
    conditions = [c for c in status.get("conditions") or () if c.get("type") != "DisruptionTarget"]
    for condition in conditions:
        if condition.get("type") in ("Ready", "ContainersReady") and condition.get("status") != "False":
            condition.update(status="False", reason="PodFailed", lastTransitionTime=stamp)
            condition.pop("message", None)
    conditions.insert(0, {"type": "DisruptionTarget", "status": "True", "lastProbeTime": None,
                          "lastTransitionTime": stamp, "reason": "TerminationByKubelet", "message": message})
    status["conditions"] = conditions
    notes["final"] = True
    notes.pop("quiet", None)
    state.update(pod)


def _synchronize(state: ClusterState, node: dict, bound: float) -> None:
    """One node's eviction manager at state.now."""
    name = node["metadata"]["name"]
    notes = state.sim(node)
    condition = _condition(node, "MemoryPressure")
    under_pressure = condition is not None and condition.get("status") == "True"
    _cpu, capacity = metrics._node_capacity(state, name)
    system = metrics.NODE_SYSTEM_MEMORY_BYTES * _MARGIN
    if not under_pressure and "pressure_seen" not in notes and \
            capacity - (bound * _MARGIN + system) >= HARD_THRESHOLD_BYTES:
        return                                  # no pressure, none possible as the pods stand
    usage = _usage_now(state)
    pods = [p for p in state.list("Pod") if (p.get("spec") or {}).get("nodeName") == name
            and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
            and not p["metadata"].get("deletionTimestamp")]
    used = sum(usage[p["metadata"]["uid"]].memory_bytes for p in pods if p["metadata"].get("uid") in usage)
    available = int(capacity - used - metrics.NODE_SYSTEM_MEMORY_BYTES) // 1024 * 1024
    if available < HARD_THRESHOLD_BYTES:
        notes["pressure_seen"] = state.now
        if not under_pressure:
            _set_condition(state, node, PRESSURE)
        last = notes.get("evicted_at")
        if last is not None and state.now < last + MONITORING_INTERVAL:
            state.wake_at(last + MONITORING_INTERVAL)
            return
        state.event(node, "Warning", "EvictionThresholdMet", "Attempting to reclaim memory",
                    component=COMPONENT, host=name)
        for pod in rank_memory_pressure(pods, usage):
            if _critical(pod):
                continue
            _evict(state, pod, eviction_message(pod, usage.get(pod["metadata"].get("uid", "")), available), name)
            notes["evicted_at"] = state.now
            state.wake_at(state.now + MONITORING_INTERVAL)
            break
        return
    # Below the threshold: an allocation still growing towards it is watched at the monitoring interval.
    if bound * _MARGIN + system > capacity - HARD_THRESHOLD_BYTES and bound > used + _GROWING:
        state.wake_at(state.now + MONITORING_INTERVAL)
    seen = notes.get("pressure_seen")
    if seen is None:
        return
    if state.now < seen + PRESSURE_TRANSITION_PERIOD:
        state.wake_at(seen + PRESSURE_TRANSITION_PERIOD)
        return
    notes.pop("pressure_seen", None)
    notes.pop("evicted_at", None)
    if under_pressure:
        _set_condition(state, node, NO_PRESSURE)


def reconcile(state: ClusterState) -> None:
    nodes = state.list("Node")
    if not nodes:
        return
    bounds = _node_bounds(state)
    for node in nodes:
        if state.sim(node).get("failed"):
            continue                            # a dead kubelet evicts nothing
        _synchronize(state, node, bounds.get(node["metadata"]["name"], 0.0))
