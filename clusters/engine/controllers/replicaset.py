"""The ReplicaSet and ReplicationController controller.

Follows upstream pkg/controller/replicaset/replica_set.go (syncReplicaSet, claimPods,
manageReplicas, getPodsToDelete, getIndirectlyRelatedPods) and replica_set_utils.go
(calculateStatus, updateReplicaSetStatus). The ReplicationController manager is the same
code run over ReplicationControllers (pkg/controller/replication), whose selector is a plain
label map, whose events come from "replication-controller", and whose status has no
terminatingReplicas (that field is ReplicaSet's, beta and on by default in 1.37:
DeploymentReplicaSetTerminatingReplicas).

Per object and pass: claim the matching active pods (adopt orphans, release pods whose
labels no longer match), create missing pods in slow-start batches (1, 2, 4, …) or delete
the surplus in upstream's order, then write the status if it changed. Terminating pods
(deletionTimestamp set) are not counted as replicas, only as terminatingReplicas.

A ReplicaSet whose last sync did nothing is not synced again while its inputs are unchanged (its
pods' and its own checksums, kept as a digest in its notes: podutil.run_and_note) and no orphan
waits to be adopted; each reconcile runs on a new ClusterState, so the digest is what carries over.
"""
from __future__ import annotations

from ..resources import DOUBLE_EQUALS, EQUALS, IN, Selector
from ..state import ClusterState, timestamp
from .podutil import (
    available_at,
    claim,
    controller_ref,
    create_refused,
    create_succeeded,
    delete_pod,
    inputs_digest,
    is_active,
    is_controlled_by,
    is_pod_available,
    is_pod_ready,
    is_settled,
    is_terminating,
    label_selector,
    may_create,
    pod_from_template,
    pods_prefix,
    rank_pods_for_deletion,
    run_and_note,
)

BURST_REPLICAS = 500             # the controller manager's default --concurrent… burstReplicas
SLOW_START_INITIAL_BATCH_SIZE = 1

# kind → (event source component, selector is a plain map, status has terminatingReplicas)
KINDS = {
    "ReplicaSet": ("replicaset-controller", False, True),
    "ReplicationController": ("replication-controller", True, False),
}


def reconcile(state: ClusterState) -> None:
    controllers = {kind: state.list(kind) for kind in KINDS}
    if not any(controllers.values()):
        return
    wanted = _to_look_at(state)
    orphans = _orphan_pods(state)
    for objects in controllers.values():
        for obj in objects:
            if wanted is None or obj["metadata"].get("uid") in wanted:
                _sync_unless_settled(state, obj, orphans)


def _to_look_at(state: ClusterState) -> set[str] | None:
    """The uids of the controllers to sync when the loop narrowed this run to what changed (the informers'
    handlers: a ReplicaSet written, the controller of a pod written or deleted), or None for every one: an
    orphan pod written (some ReplicaSet may adopt it), or a write of another kind (a quota or LimitRange a
    refused create waits on)."""
    narrowed = state.narrowed_changes()
    if narrowed is None:
        return None
    keys, gone = narrowed
    wanted: set[str] = set()
    for kind, namespace, name in keys:
        if kind not in KINDS and kind != "Pod":
            return None   # before any read of it: the kinds this controller reads decide when it runs
        obj = state.get(kind, namespace, name)
        if kind in KINDS:
            if obj is not None:
                wanted.add(obj["metadata"].get("uid", ""))
        elif obj is not None:
            ref = controller_ref(obj)
            if ref is not None:
                wanted.add(ref.get("uid", ""))
            elif is_active(obj):
                return None
    for previous in gone:
        ref = controller_ref(previous) if previous["kind"] == "Pod" else None
        if ref is not None:
            wanted.add(ref.get("uid", ""))
    return wanted


def _sync_unless_settled(state: ClusterState, rs: dict, orphans: _Orphans) -> None:
    """sync_replica_set, unless its last sync did nothing with the same inputs: the ReplicaSet and every
    pod naming it as owner, unchanged since (their checksums), and no orphan it would adopt now. Such a
    sync asked for no wake-up either (podutil.run_and_note), so no pod was waiting for minReadySeconds."""
    digest = inputs_digest(state, [rs, *state.owned_by(rs, "Pod")])
    if is_settled(state, rs, digest) and not _adoptable(rs, orphans):
        return
    run_and_note(state, rs, digest, lambda: sync_replica_set(state, rs, orphans))


def _adoptable(rs: dict, orphans: _Orphans) -> bool:
    """Whether the claim would adopt an orphan pod now."""
    _, plain_map, _ = KINDS[rs["kind"]]
    spec = rs.get("spec") or {}
    if rs["metadata"].get("deletionTimestamp") or (plain_map and not spec.get("selector")):
        return False
    try:
        selector = label_selector(spec.get("selector"), plain_map=plain_map)
    except ValueError:
        return False
    return any(controller_ref(p) is None and is_active(p) and selector.matches(p["metadata"].get("labels"))
               for p in orphans.selectable(rs["metadata"].get("namespace", ""), selector))


class _Orphans:
    """Active pods without a controller, by namespace and by label: the only pods a ReplicaSet may adopt,
    listed once per pass. A selector's candidates are the bucket of one of its equality requirements (a
    pod it selects has that label), so a ReplicaSet looks at the orphans it could select, not at all."""

    def __init__(self, state: ClusterState) -> None:
        self.by_ns: dict[str, list[dict]] = {}
        self.by_label: dict[tuple[str, str, str], list[dict]] = {}
        for pod in state.list("Pod"):
            if is_active(pod) and controller_ref(pod) is None:
                namespace = pod["metadata"].get("namespace", "")
                self.by_ns.setdefault(namespace, []).append(pod)
                for key, value in (pod["metadata"].get("labels") or {}).items():
                    self.by_label.setdefault((namespace, key, value), []).append(pod)

    def get(self, namespace: str, default=()) -> list[dict]:
        return self.by_ns.get(namespace, default)

    def selectable(self, namespace: str, selector: Selector) -> list[dict] | tuple:
        """The orphans of namespace that selector may select (a superset, in name order)."""
        if selector.nothing:
            return ()
        found = self.by_ns.get(namespace, ())
        for requirement in selector.requirements:
            if requirement.operator in (EQUALS, DOUBLE_EQUALS, IN) and len(requirement.values) == 1:
                bucket = self.by_label.get((namespace, requirement.key, requirement.values[0]), ())
                if len(bucket) < len(found):
                    found = bucket
        return found


def _orphan_pods(state: ClusterState) -> _Orphans:
    """Active pods without a controller, by namespace (`.get(namespace)`) and by label."""
    return _Orphans(state)


def sync_replica_set(state: ClusterState, rs: dict, orphans: _Orphans) -> None:
    component, plain_map, has_terminating = KINDS[rs["kind"]]
    meta = rs["metadata"]
    spec = rs.get("spec") or {}
    try:
        selector = label_selector(spec.get("selector"), plain_map=plain_map)
    except ValueError:
        return  # an invalid selector matches nothing; upstream logs the error and gives up
    if plain_map and not spec.get("selector"):
        return  # a ReplicationController without selector (validation forbids it) would select everything

    def matches(pod: dict) -> bool:
        return selector.matches(pod["metadata"].get("labels"))

    owned = [p for p in state.owned_by(rs, "Pod") if is_controlled_by(p, rs)]
    candidates = [p for p in owned if is_active(p)]
    candidates += [p for p in orphans.selectable(meta.get("namespace", ""), selector)
                   if controller_ref(p) is None and is_active(p)]
    active = claim(state, rs, candidates, matches)
    terminating = [p for p in owned if is_terminating(p) and matches(p)]

    failure: tuple[str, str] | None = None
    if not meta.get("deletionTimestamp"):
        failure = _manage_replicas(state, rs, active, terminating, component)

    status = calculate_status(rs, active, terminating, failure, has_terminating, state.now)
    if status != rs.get("status"):
        rs["status"] = status
        state.update(rs)
    _wake_for_availability(state, rs, active)


# ------------------------------------------------------------------ manageReplicas

def _manage_replicas(state: ClusterState, rs: dict, active: list[dict], terminating: list[dict],
                     component: str) -> tuple[str, str] | None:
    """Create or delete pods so that len(active) == spec.replicas; returns (reason, message) of a
    failure for the ReplicaFailure condition. `active`/`terminating` are updated in place."""
    spec = rs.get("spec") or {}
    wanted = int(spec.get("replicas", 1))
    diff = len(active) - wanted
    if diff < 0:
        return _create_pods(state, rs, min(-diff, BURST_REPLICAS), active, component)
    if diff > 0:
        to_delete = get_pods_to_delete(active, _related_pods(state, rs), min(diff, BURST_REPLICAS), state.now)
        for pod in to_delete:
            name = pod["metadata"]["name"]
            delete_pod(state, pod)
            active.remove(pod)
            if state.get("Pod", pod["metadata"].get("namespace", ""), name) is pod:
                terminating.append(pod)
            state.event(rs, "Normal", "SuccessfulDelete", f"Deleted pod: {name}", component=component)
    return None


def _create_pods(state: ClusterState, rs: dict, count: int, active: list[dict],
                 component: str) -> tuple[str, str] | None:
    """slowStartBatch: batches of 1, 2, 4, … pods; a batch with a failure ends the creations. A refused
    create (a quota, a LimitRange: the API's Forbidden) is a FailedCreate event, and the ReplicaSet is
    requeued with the controller's rate limit (podutil.may_create) — sooner when one of its pods changes."""
    if not may_create(state, rs, len(active)):
        return _last_failure(rs)
    template = (rs.get("spec") or {}).get("template") or {}
    prefix = pods_prefix(rs["metadata"]["name"])
    remaining, batch = count, min(count, SLOW_START_INITIAL_BATCH_SIZE)
    failure: tuple[str, str] | None = None
    while batch > 0:
        for _ in range(batch):
            try:
                pod = state.create(pod_from_template(template, rs, prefix))
            except (KeyError, ValueError) as exc:  # what a refused create amounts to inside the engine
                state.event(rs, "Warning", "FailedCreate", f"Error creating: {exc}", component=component)
                failure = ("FailedCreate", str(exc))
                continue
            active.append(pod)
            state.event(rs, "Normal", "SuccessfulCreate", f"Created pod: {pod['metadata']['name']}",
                        component=component)
        if failure:
            break
        remaining -= batch
        batch = min(2 * batch, remaining)
    if failure:
        create_refused(state, rs, len(active))
    else:
        create_succeeded(state, rs)
    return failure


def _last_failure(rs: dict) -> tuple[str, str] | None:
    """While a refused create waits for its retry, the ReplicaFailure condition stays as it was."""
    for cond in (rs.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "ReplicaFailure" and cond.get("status") == "True":
            return cond.get("reason", "FailedCreate"), cond.get("message", "")
    return None


def _related_pods(state: ClusterState, rs: dict) -> list[dict]:
    """getIndirectlyRelatedPods: the pods selected by every ReplicaSet that has the same
    controller as rs (a Deployment's old and new ReplicaSets); none for a standalone one."""
    ref = controller_ref(rs)
    if ref is None:
        return []
    namespace = rs["metadata"].get("namespace", "")
    plain_map = KINDS[rs["kind"]][1]
    siblings = [r for r in state.list(rs["kind"], namespace)
                if (r_ref := controller_ref(r)) is not None and r_ref.get("uid") == ref.get("uid")]
    pods = state.list("Pod", namespace)
    seen: set[str] = set()
    related: list[dict] = []
    for sibling in siblings:
        try:
            selector = label_selector((sibling.get("spec") or {}).get("selector"), plain_map=plain_map)
        except ValueError:
            continue
        for pod in pods:
            uid = pod["metadata"].get("uid", "")
            if uid not in seen and selector.matches(pod["metadata"].get("labels")):
                seen.add(uid)
                related.append(pod)
    return related


def get_pods_to_delete(active: list[dict], related: list[dict], diff: int, now: float) -> list[dict]:
    """getPodsToDelete: all of them when all go, else the first `diff` in ActivePodsWithRanks order,
    ranked by how many active related pods share each pod's node."""
    if diff >= len(active):
        return list(active[:diff])
    on_node: dict[str, int] = {}
    for pod in related:
        if is_active(pod):
            node = (pod.get("spec") or {}).get("nodeName", "")
            on_node[node] = on_node.get(node, 0) + 1
    ranks = [on_node.get((p.get("spec") or {}).get("nodeName", ""), 0) for p in active]
    return rank_pods_for_deletion(active, ranks, now)[:diff]


# ------------------------------------------------------------------ status

def calculate_status(rs: dict, active: list[dict], terminating: list[dict], failure: tuple[str, str] | None,
                     has_terminating: bool, now: float) -> dict:
    """replica_set_utils.calculateStatus, with the fields in their Go order (zeros omitted as
    omitempty does; replicas always there; terminatingReplicas a pointer, so 0 is shown)."""
    spec = rs.get("spec") or {}
    old = rs.get("status") or {}
    template_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    min_ready = int(spec.get("minReadySeconds") or 0)
    fully = ready = available = 0
    for pod in active:
        labels = pod["metadata"].get("labels") or {}
        if all(labels.get(k) == v for k, v in template_labels.items()):
            fully += 1
        if is_pod_ready(pod):
            ready += 1
            if is_pod_available(pod, min_ready, now):
                available += 1
    status: dict = {"replicas": len(active)}
    if fully:
        status["fullyLabeledReplicas"] = fully
    if ready:
        status["readyReplicas"] = ready
    if available:
        status["availableReplicas"] = available
    if has_terminating:
        status["terminatingReplicas"] = len(terminating)
    generation = int(rs["metadata"].get("generation") or 0)
    if generation:
        status["observedGeneration"] = generation
    conditions = [c for c in old.get("conditions") or () if c.get("type") != "ReplicaFailure"]
    existing = next((c for c in old.get("conditions") or () if c.get("type") == "ReplicaFailure"), None)
    if failure is not None:
        if existing is not None:
            conditions.append(existing)  # SetCondition keeps a failure already reported
        else:
            conditions.append({"type": "ReplicaFailure", "status": "True", "lastTransitionTime": timestamp(now),
                               "reason": failure[0], "message": failure[1]})
    if conditions:
        status["conditions"] = conditions
    return status


def _wake_for_availability(state: ClusterState, rs: dict, active: list[dict]) -> None:
    """Pods that are ready but not yet available for minReadySeconds need another look then."""
    min_ready = int((rs.get("spec") or {}).get("minReadySeconds") or 0)
    if not min_ready:
        return
    for pod in active:
        at = available_at(pod, min_ready)
        if at is not None and at >= state.now - 1e-9 and not is_pod_available(pod, min_ready, state.now):
            state.wake_at(at + 0.001)
