"""kube-scheduler: binds pending pods to nodes through the filter/score plugins of filters.py and
scores.py, and explains itself exactly as the real one does when it cannot.

One pass (`reconcile`) snapshots the nodes and what is bound to them once, then takes each pod
that waits for the default scheduler, highest priority first then oldest (PrioritySort), and
either binds it (spec.nodeName, condition PodScheduled=True, event `Scheduled`) or records why
not (PodScheduled=False/Unschedulable and a `FailedScheduling` event with upstream's FitError
text, including the PostFilter part: the DynamicResources note and the preemption verdict).

Retries follow the real scheduling queue: a pod that failed is tried again when something it
could depend on changed (a fingerprint of nodes, bound pods and volumes kept in its private
notes) once its back-off (1 s doubling to 10 s) has passed, and otherwise every 5 minutes
(podMaxInUnschedulablePodsDuration), so the FailedScheduling event's count grows as on a real
cluster instead of once per pass.

Preemption (DefaultPreemption) is implemented: a pod that does not fit may evict lower-priority
pods from one node (DisruptionTarget condition, graceful deletion, `Preempted` event) and is
nominated to it.

WaitForFirstConsumer claims: the scheduler picks the node, then (VolumeBinding PreBind) either
reserves a matching PV for the claim (spec.claimRef, as the scheduler's binder does) or marks the
claim with `volume.kubernetes.io/selected-node` for the provisioner, and binds the pod to that
node only once the volume controller reports every claim Bound.
"""
from __future__ import annotations

import hashlib
import json

from ..state import ClusterState, timestamp
from .filters import (
    SELECTED_NODE_ANNOTATION,
    NodeInfo,
    PodContext,
    PodInfo,
    Snapshot,
    is_terminal,
    pending_claim_volumes,
    pod_priority,
    run_filters,
)
from .scores import total_scores

COMPONENT = "default-scheduler"
SCHEDULER_NAME = "default-scheduler"
INITIAL_BACKOFF = 1.0       # podInitialBackoffDuration
MAX_BACKOFF = 10.0          # podMaxBackoffDuration
UNSCHEDULABLE_FLUSH = 300.0  # podMaxInUnschedulablePodsDuration: leftover unschedulable pods retried
NOTES = "scheduler"          # key in state.sim(pod)

# framework/types.go NoNodeAvailableMsg; schedule_one.go ErrNoNodesAvailable
NO_NODE_AVAILABLE = "0/{} nodes are available"
NO_NODES = "no nodes available to schedule pods"
# dynamicresources.go PostFilter for a pod without ResourceClaims (DRA is GA and on since 1.34)
DRA_POSTFILTER = "no new claims to deallocate"
# preemption/preemption.go and defaultpreemption/default_preemption.go
PREEMPTION_NOT_HELPFUL = "Preemption is not helpful for scheduling"
NO_VICTIMS = "No preemption victims found for incoming pod"
NOT_ELIGIBLE_NEVER = "not eligible due to preemptionPolicy=Never."
NOT_ELIGIBLE_TERMINATING = "not eligible due to a terminating pod on the nominated node."


def wants_scheduling(pod: dict) -> bool:
    spec = pod.get("spec") or {}
    return (not spec.get("nodeName")
            and (spec.get("schedulerName") or SCHEDULER_NAME) == SCHEDULER_NAME
            and not pod["metadata"].get("deletionTimestamp")
            and not is_terminal(pod)
            and not spec.get("schedulingGates"))


def _queue_key(pod: dict) -> tuple:
    meta = pod["metadata"]
    return (-pod_priority(pod), meta.get("creationTimestamp") or "", meta.get("namespace", ""), meta["name"])


def _scheduled_condition(pod: dict) -> dict | None:
    for c in (pod.get("status") or {}).get("conditions") or []:
        if c.get("type") == "PodScheduled":
            return c
    return None


def set_scheduled_condition(pod: dict, now: float, status: str, reason: str = "", message: str = "") -> bool:
    """podutil.UpdatePodCondition for PodScheduled; True when something changed."""
    conditions = pod.setdefault("status", {}).setdefault("conditions", [])
    old = _scheduled_condition(pod)
    new = {"type": "PodScheduled", "status": status, "lastProbeTime": None,
           "lastTransitionTime": old["lastTransitionTime"] if old and old.get("status") == status
           and old.get("lastTransitionTime") else timestamp(now)}
    if reason:
        new["reason"] = reason
    if message:
        new["message"] = message
    if old == new:
        return False
    if old is None:
        conditions.append(new)
    else:
        conditions[conditions.index(old)] = new
    return True


def backoff(attempts: int) -> float:
    return min(INITIAL_BACKOFF * 2 ** max(attempts - 1, 0), MAX_BACKOFF)


def histogram(reasons: dict[str, int]) -> str:
    """FitError.Error's sortReasonsHistogram: "<count> <reason>" sorted as strings, comma-joined."""
    return ", ".join(sorted(f"{count} {reason}" for reason, count in reasons.items()))


def fit_error(num_nodes: int, statuses: dict[str, tuple], absent: tuple | None = None,
              prefilter: str | None = None) -> str:
    """framework.FitError.Error() without its PostFilter part."""
    text = NO_NODE_AVAILABLE.format(num_nodes) + ":"
    if prefilter:
        return text + f" {prefilter}."
    counts: dict[str, int] = {}
    for _unresolvable, reasons in statuses.values():
        for r in reasons:
            counts[r] = counts.get(r, 0) + 1
    if absent is not None and len(statuses) < num_nodes:
        for r in absent[1]:
            counts[r] = counts.get(r, 0) + num_nodes - len(statuses)
    if counts:
        text += f" {histogram(counts)}."
    return text


class Scheduler:
    def __init__(self, state: ClusterState, pods: list[dict]) -> None:
        self.state = state
        self.pods = pods
        self._snap: Snapshot | None = None
        self._fingerprint: str | None = None

    # -------------------------------------------------------------- cluster view
    @property
    def snap(self) -> Snapshot:
        if self._snap is None:
            self._snap = Snapshot(self.state, self.pods)
        return self._snap

    def fingerprint(self) -> str:
        """What a failed attempt depended on: nodes (labels, taints, allocatable), bound pods, volumes."""
        if self._fingerprint is None:
            parts: list = []
            for n in self.state.list("Node"):
                spec, status = n.get("spec") or {}, n.get("status") or {}
                parts.append((n["metadata"]["name"], n["metadata"].get("labels"), spec.get("taints"),
                              spec.get("unschedulable"), status.get("allocatable"),
                              bool(n["metadata"].get("deletionTimestamp"))))
            for p in self.state.list("Pod"):
                node = (p.get("spec") or {}).get("nodeName")
                if node and not is_terminal(p):
                    parts.append((p["metadata"].get("uid"), node, p["metadata"].get("labels"),
                                  bool(p["metadata"].get("deletionTimestamp"))))
            for c in self.state.list("PersistentVolumeClaim"):
                parts.append((c["metadata"].get("uid"), (c.get("status") or {}).get("phase"),
                              (c.get("spec") or {}).get("volumeName")))
            for v in self.state.list("PersistentVolume"):
                parts.append((v["metadata"]["name"], (v.get("status") or {}).get("phase"),
                              ((v.get("spec") or {}).get("claimRef") or {}).get("uid")))
            parts.append(sorted(c["metadata"]["name"] for c in self.state.list("StorageClass")))
            text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
            self._fingerprint = hashlib.blake2b(text.encode(), digest_size=8).hexdigest()
        return self._fingerprint

    def _changed(self) -> None:
        self._fingerprint = None

    @staticmethod
    def _pod_fingerprint(pod: dict) -> str:
        spec = pod.get("spec") or {}
        text = json.dumps([spec.get("tolerations"), spec.get("nodeSelector"), spec.get("affinity"),
                           spec.get("topologySpreadConstraints"), pod["metadata"].get("labels"),
                           spec.get("volumes"), spec.get("priority")], sort_keys=True, default=str)
        return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()

    # -------------------------------------------------------------- the queue
    def due(self, pod: dict) -> bool:
        """Whether the scheduling queue would hand this pod out now (else ask to be woken)."""
        cond = _scheduled_condition(pod)
        if cond is None or cond.get("status") != "False" or cond.get("reason") != "Unschedulable":
            return True
        notes = self.state.sim(pod).get(NOTES)
        if not notes:
            return True
        now = self.state.now
        last = float(notes.get("at", 0))
        flush = last + UNSCHEDULABLE_FLUSH
        if now >= flush:
            return True
        retry = last + backoff(int(notes.get("attempts", 1)))
        changed = notes.get("fp") != self.fingerprint() or notes.get("pod") != self._pod_fingerprint(pod)
        if changed and now >= retry:
            return True
        self.state.wake_at(retry if changed else flush)
        return False

    # -------------------------------------------------------------- one pod
    def schedule_one(self, pod: dict) -> None:
        snap = self.snap
        ctx = PodContext(pod, snap)
        if ctx.claims_pending or ctx.claims_bound:
            if self._waiting_for_volumes(pod, ctx):
                return
        num = len(snap.nodes)
        if num == 0:
            self._fail(pod, NO_NODES)
            return
        if ctx.prefilter_message:
            message = fit_error(num, {}, prefilter=ctx.prefilter_message)
            # Every node carries the PreFilter's UnschedulableAndUnresolvable status.
            self._fail(pod, f"{message} preemption: {fit_error(num, {}, (True, (PREEMPTION_NOT_HELPFUL,)))}")
            return
        statuses: dict[str, tuple] = {}
        feasible: list[NodeInfo] = []
        absent = None
        for node in snap.nodes:
            if ctx.allowed_nodes is not None and node.name not in ctx.allowed_nodes:
                continue
            status = run_filters(ctx, node)
            if status is None:
                feasible.append(node)
            else:
                statuses[node.name] = status
        if ctx.allowed_nodes is not None:
            absent = (True, (f"node(s) didn't satisfy plugin(s) [{' '.join(sorted(ctx.prefilter_plugins))}]",))
        if not feasible:
            message = fit_error(num, statuses, absent)
            post, clear = self._post_filter(pod, ctx, statuses)
            self._fail(pod, f"{message} {post}" if post else message, clear_nomination=clear)
            return
        node = feasible[0] if len(feasible) == 1 else self._select_host(ctx, feasible)
        if ctx.claims_pending:
            self._bind_volumes(pod, ctx, node)
            return
        self._bind(pod, ctx, node)

    def _select_host(self, ctx: PodContext, feasible: list[NodeInfo]) -> NodeInfo:
        """selectHost: the highest total score, ties broken at random (reservoir sampling)."""
        scores = total_scores(ctx, feasible)
        best, best_score, ties = feasible[0], scores[0], 1
        rng = self.state.rng
        for node, score in zip(feasible[1:], scores[1:]):
            if score > best_score:
                best, best_score, ties = node, score, 1
            elif score == best_score:
                ties += 1
                if rng.randrange(ties) == 0:
                    best = node
        return best

    def _bind(self, pod: dict, ctx: PodContext, node: NodeInfo) -> None:
        state = self.state
        meta = pod["metadata"]
        had_notes = bool(ctx.claims_bound or ctx.claims_pending or self._had_notes(pod))
        pod["spec"]["nodeName"] = node.name
        set_scheduled_condition(pod, state.now, "True")
        (pod.get("status") or {}).pop("nominatedNodeName", None)
        state.update(pod)
        if had_notes:
            state.sim(pod).pop(NOTES, None)
        self.snap.bind(ctx.info, node)
        self._changed()
        state.event(pod, "Normal", "Scheduled",
                    f"Successfully assigned {meta.get('namespace', '')}/{meta['name']} to {node.name}",
                    component=COMPONENT)

    def _had_notes(self, pod: dict) -> bool:
        cond = _scheduled_condition(pod)
        return bool(cond and cond.get("reason") == "Unschedulable") or \
            bool((pod.get("status") or {}).get("nominatedNodeName"))

    def _fail(self, pod: dict, message: str, clear_nomination: bool = False) -> None:
        state = self.state
        changed = set_scheduled_condition(pod, state.now, "False", "Unschedulable", message)
        status = pod.setdefault("status", {})
        if clear_nomination and status.pop("nominatedNodeName", None) is not None:
            changed = True
        notes = state.sim(pod).setdefault(NOTES, {})
        notes["attempts"] = int(notes.get("attempts", 0)) + 1
        notes["at"] = state.now
        notes["fp"] = self.fingerprint()
        notes["pod"] = self._pod_fingerprint(pod)
        if changed:
            state.update(pod)
        state.event(pod, "Warning", "FailedScheduling", message, component=COMPONENT)
        state.wake_at(state.now + UNSCHEDULABLE_FLUSH)

    # -------------------------------------------------------------- PostFilter: preemption
    def _post_filter(self, pod: dict, ctx: PodContext, statuses: dict[str, tuple]) -> tuple[str, bool]:
        """DynamicResources then DefaultPreemption: (the PostFilter message, whether the pod's nominated
        node is cleared). The message is '' when preemption succeeded (a Success status has none)."""
        spec = pod.get("spec") or {}
        if spec.get("preemptionPolicy") == "Never":
            return f"{DRA_POSTFILTER}, preemption: {NOT_ELIGIBLE_NEVER}", False
        snap = self.snap
        nominated = (pod.get("status") or {}).get("nominatedNodeName")
        if nominated and nominated in snap.by_name and not (statuses.get(nominated) or (False,))[0]:
            for other in snap.by_name[nominated].pods:
                if other.priority < ctx.info.priority and other.terminating and _preempted(other.pod):
                    return f"{DRA_POSTFILTER}, preemption: {NOT_ELIGIBLE_TERMINATING}", False
        num = len(snap.nodes)
        dry: dict[str, tuple] = {}
        candidates: list[tuple[NodeInfo, list[PodInfo]]] = []
        for node in snap.nodes:
            status = statuses.get(node.name)
            if status is None or status[0]:
                continue  # UnschedulableAndUnresolvable (or not a candidate at all): not helpful
            victims = [p for p in node.pods if p.priority < ctx.info.priority]
            if not victims:
                dry[node.name] = (True, (NO_VICTIMS,))
                continue
            trial = node.without({v.uid for v in victims})
            after = run_filters(ctx, trial)
            if after is not None:
                dry[node.name] = after
                continue
            # Reprieve the most important victims that can stay (MoreImportantPod: priority first).
            victims.sort(key=lambda p: (-p.priority, p.pod["metadata"].get("creationTimestamp") or ""))
            evict = {v.uid for v in victims}
            for v in victims:
                evict.discard(v.uid)
                if run_filters(ctx, node.without(evict)) is not None:
                    evict.add(v.uid)
            candidates.append((node, [v for v in victims if v.uid in evict]))
        if not candidates:
            message = fit_error(num, dry, (True, (PREEMPTION_NOT_HELPFUL,)))
            return f"{DRA_POSTFILTER}, preemption: {message}", True
        # pickOneNodeForPreemption: lowest highest-victim priority, lowest priority sum, fewest victims.
        candidates.sort(key=lambda c: (max(v.priority for v in c[1]), sum(v.priority for v in c[1]),
                                       len(c[1]), c[0].name))
        node, victims = candidates[0]
        self._preempt(pod, node, victims)
        return "", False

    def _preempt(self, pod: dict, node: NodeInfo, victims: list[PodInfo]) -> None:
        state = self.state
        uid = pod["metadata"].get("uid", "")
        for v in victims:
            victim = v.pod
            conditions = victim.setdefault("status", {}).setdefault("conditions", [])
            conditions[:] = [c for c in conditions if c.get("type") != "DisruptionTarget"]
            conditions.append({"type": "DisruptionTarget", "status": "True", "lastProbeTime": None,
                               "lastTransitionTime": timestamp(state.now), "reason": "PreemptionByScheduler",
                               "message": f"{SCHEDULER_NAME}: preempting to accommodate a higher priority pod"})
            grace = (victim.get("spec") or {}).get("terminationGracePeriodSeconds")
            grace = 30 if grace is None else int(grace)
            victim["metadata"]["deletionTimestamp"] = timestamp(state.now + grace)
            victim["metadata"]["deletionGracePeriodSeconds"] = grace
            v.terminating = True
            state.update(victim)
            state.event(victim, "Normal", "Preempted", f"Preempted by pod {uid} on node {node.name}",
                        component=COMPONENT)
        status = pod.setdefault("status", {})
        status["nominatedNodeName"] = node.name
        self._changed()

    # -------------------------------------------------------------- VolumeBinding PreBind
    def _waiting_for_volumes(self, pod: dict, ctx: PodContext) -> bool:
        """A pod whose node was picked for WaitForFirstConsumer claims: bind it there once they are
        Bound (the real scheduler is blocked in PreBind meanwhile, without events)."""
        notes = self.state.sim(pod).get(NOTES) or {}
        chosen = notes.get("volumeNode")
        if not chosen:
            return False
        node = self.snap.by_name.get(chosen)
        if ctx.claims_pending and not ctx.prefilter_message and node is not None:
            self.snap.bind(ctx.info, node)  # still reserved while the volume controller works
            return True
        notes.pop("volumeNode", None)
        if node is None or ctx.prefilter_message or run_filters(ctx, node) is not None:
            return False
        self._bind(pod, ctx, node)
        return True

    def _bind_volumes(self, pod: dict, ctx: PodContext, node: NodeInfo) -> None:
        state = self.state
        for claim, _sc, pv in pending_claim_volumes(ctx, node):
            if pv is not None:
                cmeta = claim["metadata"]
                ref = {"kind": "PersistentVolumeClaim", "namespace": cmeta.get("namespace", ""),
                       "name": cmeta["name"], "uid": cmeta.get("uid", ""), "apiVersion": "v1"}
                if cmeta.get("resourceVersion"):
                    ref["resourceVersion"] = cmeta["resourceVersion"]
                if pv["spec"].get("claimRef") != ref:
                    pv["spec"]["claimRef"] = ref
                    pv["metadata"].setdefault("annotations", {})["pv.kubernetes.io/bound-by-controller"] = "yes"
                    state.update(pv)
                continue
            annotations = claim["metadata"].setdefault("annotations", {})
            if annotations.get(SELECTED_NODE_ANNOTATION) != node.name:
                annotations[SELECTED_NODE_ANNOTATION] = node.name
                state.update(claim)
        state.sim(pod).setdefault(NOTES, {})["volumeNode"] = node.name
        # The node is reserved for this pod while its volumes are prepared (Reserve/assume).
        self.snap.bind(ctx.info, node)
        self._changed()


def _preempted(pod: dict) -> bool:
    for c in (pod.get("status") or {}).get("conditions") or []:
        if c.get("type") == "DisruptionTarget":
            return c.get("status") == "True" and c.get("reason") == "PreemptionByScheduler"
    return False


def reconcile(state: ClusterState) -> None:
    pods = state.list("Pod")
    pending = [p for p in pods if wants_scheduling(p)]
    if not pending:
        return
    pending.sort(key=_queue_key)
    scheduler = Scheduler(state, pods)
    for pod in pending:
        if scheduler.due(pod):
            scheduler.schedule_one(pod)
