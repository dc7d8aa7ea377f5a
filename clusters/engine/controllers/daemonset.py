"""The DaemonSet controller (upstream pkg/controller/daemon: daemon_controller.go, update.go,
util/daemonset_util.go).

Per DaemonSet, one sync:
* history: the ControllerRevision whose data equals the current template is the current one (made
  if missing: name `<ds>-<hash>`, label `controller-revision-hash: <hash>`); its hash labels new pods;
* manage: every node where the daemon pod should run (NodeShouldRunDaemonPod: spec.nodeName,
  nodeSelector + required node affinity, NoSchedule/NoExecute taints against the template's
  tolerations plus the ones the controller always adds) gets one pod, pinned with a required node
  affinity `matchFields metadata.name In [node]` for the scheduler to bind; pods on nodes that should
  not run one are deleted (a pod tolerating the node's NoExecute taints may stay); failed pods are
  deleted with a back-off (1 s doubling to 15 min), succeeded ones at once; extra pods on a node
  are pruned (the oldest stays);
* rolling update: without surge, old pods are deleted while at most maxUnavailable are
  unavailable and manage recreates them; with maxSurge, a new pod starts beside the old one and
  the old one goes when the new one is available; OnDelete does nothing;
* status: desiredNumberScheduled, currentNumberScheduled, numberMisscheduled, numberReady,
  updatedNumberScheduled, numberAvailable, numberUnavailable, observedGeneration.

Events are RealPodControl's: `SuccessfulCreate` "Created pod: fluentd-elasticsearch-x9k2p",
`SuccessfulDelete` "Deleted pod: …", and the controller's `FailedDaemonPod` "Found failed daemon pod
ns/name on node n, will try to kill it", `SucceededDaemonPod` "Found succeeded daemon pod ns/name on
node n, will try to delete it", `SelectingAll`.
"""
from __future__ import annotations

import json
import weakref

from ..placement import required_node_affinity_matches, untolerated_taint
from ..state import ClusterState, parse_timestamp
from . import revisions as history
from .podutil import (
    available_at,
    claim,
    clone,
    compute_hash,
    controller_ref,
    create_refused,
    create_succeeded,
    delete_pod,
    is_pod_available,
    is_pod_ready,
    label_selector,
    may_create,
    new_controller_ref,
    pods_prefix,
)
from .revisions import CONTROLLER_REVISION_HASH_LABEL

COMPONENT = "daemonset-controller"
TEMPLATE_GENERATION_ANNOTATION = "deprecated.daemonset.template.generation"  # apps.DeprecatedTemplateGeneration
TEMPLATE_GENERATION_LABEL = "pod-template-generation"                      # DaemonSetTemplateGenerationKey
BURST_REPLICAS = 250
BACKOFF_INITIAL, BACKOFF_MAX = 1.0, 15 * 60.0  # failedPodsBackoff = flowcontrol.NewBackOff(1s, 15min)

# util.AddOrUpdateDaemonPodTolerations, in its order.
DAEMON_TOLERATIONS = (
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
)
NETWORK_UNAVAILABLE_TOLERATION = {"key": "node.kubernetes.io/network-unavailable", "operator": "Exists",
                                  "effect": "NoSchedule"}


def phase(pod: dict) -> str:
    return (pod.get("status") or {}).get("phase") or ""


def _same_toleration(a: dict, b: dict) -> bool:
    """v1.Toleration.MatchToleration: same key, operator, value and effect."""
    return (a.get("key") or "") == (b.get("key") or "") and (a.get("effect") or "") == (b.get("effect") or "") \
        and (a.get("operator") or "") == (b.get("operator") or "") and (a.get("value") or "") == (b.get("value") or "")


def add_daemon_tolerations(spec: dict) -> None:
    """AddOrUpdateDaemonPodTolerations (AddOrUpdateTolerationInPodSpec for each)."""
    wanted = list(DAEMON_TOLERATIONS)
    if spec.get("hostNetwork"):
        wanted.append(NETWORK_UNAVAILABLE_TOLERATION)
    tolerations = list(spec.get("tolerations") or [])
    for toleration in wanted:
        replaced = False
        for i, existing in enumerate(tolerations):
            if _same_toleration(toleration, existing):
                tolerations[i] = dict(toleration)
                replaced = True
        if not replaced:
            tolerations.append(dict(toleration))
    spec["tolerations"] = tolerations


def node_name_affinity(affinity: dict | None, node: str) -> dict:
    """ReplaceDaemonSetPodNodeNameNodeAffinity."""
    term = {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}
    affinity = dict(affinity or {})
    node_affinity = dict(affinity.get("nodeAffinity") or {})
    required = dict(node_affinity.get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    required["nodeSelectorTerms"] = [term]
    node_affinity["requiredDuringSchedulingIgnoredDuringExecution"] = required
    affinity["nodeAffinity"] = node_affinity
    return affinity


def target_node(pod: dict) -> str | None:
    """util.GetTargetNodeName: spec.nodeName, or the node its required affinity pins it to."""
    spec = pod.get("spec") or {}
    if spec.get("nodeName"):
        return spec["nodeName"]
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    for term in required.get("nodeSelectorTerms") or []:
        for req in term.get("matchFields") or []:
            if req.get("key") == "metadata.name" and req.get("operator") == "In":
                values = req.get("values") or []
                return values[0] if len(values) == 1 else None
    return None


def _creation_order(pod: dict) -> tuple:
    """podByCreationTimestampAndPhase: scheduled first, then oldest, then by name."""
    meta = pod["metadata"]
    return (0 if (pod.get("spec") or {}).get("nodeName") else 1,
            parse_timestamp(meta.get("creationTimestamp")) or 0.0, meta["name"])


class _DaemonSet:
    def __init__(self, state: ClusterState, ds: dict) -> None:
        self.state = state
        self.obj = ds
        self.meta = ds["metadata"]
        self.name = self.meta["name"]
        self.namespace = self.meta.get("namespace", "default")
        self.uid = self.meta["uid"]
        self.spec = ds.get("spec") or {}
        self.template = self.spec.get("template") or {}
        self.min_ready = int(self.spec.get("minReadySeconds") or 0)
        strategy = self.spec.get("updateStrategy") or {}
        self.strategy = strategy.get("type") or "RollingUpdate"
        self.rolling = strategy.get("rollingUpdate") if isinstance(strategy.get("rollingUpdate"), dict) else None
        # the pod NodeShouldRunDaemonPod checks: the template with the daemon tolerations
        self.check_spec = dict(self.template.get("spec") or {})
        add_daemon_tolerations(self.check_spec)
        generation = (self.meta.get("annotations") or {}).get(TEMPLATE_GENERATION_ANNOTATION)
        try:
            self.generation: int | None = int(generation) if generation is not None else None
        except ValueError:
            self.generation = None

    def event(self, event_type: str, reason: str, message: str) -> None:
        self.state.event(self.obj, event_type, reason, message, component=COMPONENT)

    def should_run(self, node: dict) -> tuple[bool, bool]:
        """NodeShouldRunDaemonPod: (shouldRun, shouldContinueRunning)."""
        wanted = self.check_spec.get("nodeName")
        if wanted and wanted != node["metadata"]["name"]:
            return False, False
        if not required_node_affinity_matches(self.check_spec, node):
            return False, False
        taints = (node.get("spec") or {}).get("taints") or []
        tolerations = self.check_spec.get("tolerations") or []
        if untolerated_taint(taints, tolerations, ("NoSchedule", "NoExecute")) is not None:
            return False, untolerated_taint(taints, tolerations, ("NoExecute",)) is None
        return True, True

    def available(self, pod: dict) -> bool:
        ok = is_pod_available(pod, self.min_ready, self.state.now)
        if not ok and self.min_ready:
            at = available_at(pod, self.min_ready)
            if at is not None:  # upstream re-syncs minReadySeconds + 1 s after the pod turned ready
                self.state.wake_at(at + 1)
        return ok

    def is_updated(self, pod: dict, hash_: str) -> bool:
        """util.IsPodUpdated."""
        labels = pod["metadata"].get("labels") or {}
        if self.generation is not None and labels.get(TEMPLATE_GENERATION_LABEL) == str(self.generation):
            return True
        return bool(hash_) and labels.get(CONTROLLER_REVISION_HASH_LABEL) == hash_

    def surge_count(self, number: int) -> int:
        if self.strategy != "RollingUpdate" or self.rolling is None or self.rolling.get("maxSurge") is None:
            return 0
        return history.scaled_value(self.rolling.get("maxSurge"), number, True)

    def unavailable_count(self, number: int) -> int:
        if self.strategy != "RollingUpdate" or self.rolling is None:
            return 0
        return history.scaled_value(self.rolling.get("maxUnavailable"), number, True)


# --------------------------------------------------------------------------- history

def _construct_history(state: ClusterState, d: _DaemonSet) -> tuple[dict, list[dict]]:
    """constructHistory: (current revision, old revisions)."""
    data = history.template_patch(d.obj)
    current: list[dict] = []
    old: list[dict] = []
    for revision in history.list_revisions(state, d.obj):
        labels = revision["metadata"].setdefault("labels", {})
        if CONTROLLER_REVISION_HASH_LABEL not in labels:
            labels[CONTROLLER_REVISION_HASH_LABEL] = revision["metadata"]["name"]
            state.update(revision)
        (current if history.revision_data_text(revision) == data else old).append(revision)
    number = max((int(r.get("revision") or 0) for r in old), default=0) + 1
    if not current:
        return _snapshot(state, d, data, number), old
    keep = current[0]
    for revision in current:
        if int(revision.get("revision") or 0) >= int(keep.get("revision") or 0):
            keep = revision
    if len(current) > 1:  # dedupCurHistories: relabel pods to the kept hash, drop the duplicates
        keep_hash = keep["metadata"]["labels"].get(CONTROLLER_REVISION_HASH_LABEL)
        for pod in _owned_pods(state, d):
            labels = pod["metadata"].setdefault("labels", {})
            if labels.get(CONTROLLER_REVISION_HASH_LABEL) != keep_hash:
                labels[CONTROLLER_REVISION_HASH_LABEL] = keep_hash
                state.update(pod)
        for revision in current:
            if revision is not keep:
                state.delete(revision)
    if int(keep.get("revision") or 0) < number:
        history.set_revision_number(state, keep, number)
    return keep, old


def _snapshot(state: ClusterState, d: _DaemonSet, data: str, number: int) -> dict:
    """snapshot: a new ControllerRevision `<ds>-<hash>`; a name taken by other data bumps collisionCount."""
    while True:
        status = d.obj.get("status") or {}
        collision = status.get("collisionCount")
        hash_ = compute_hash(d.template, collision)
        name = f"{d.name}-{hash_}"
        existing = state.get("ControllerRevision", d.namespace, name)
        if existing is None:
            labels = (d.template.get("metadata") or {}).get("labels")
            revision = history.new_revision(d.obj, labels, data, number, collision, name=name,
                                            hash_label=(CONTROLLER_REVISION_HASH_LABEL, hash_))
            return state.create(revision)
        if history.revision_data_text(existing) == data:
            return existing
        d.obj.setdefault("status", {})["collisionCount"] = int(collision or 0) + 1
        state.update(d.obj)


def _cleanup_history(state: ClusterState, d: _DaemonSet, old: list[dict], pods: list[dict]) -> None:
    limit = d.spec.get("revisionHistoryLimit")
    to_kill = len(old) - (10 if limit is None else int(limit))
    if to_kill <= 0:
        return
    live = {(p["metadata"].get("labels") or {}).get(CONTROLLER_REVISION_HASH_LABEL) for p in pods}
    for revision in sorted(old, key=lambda r: int(r.get("revision") or 0)):
        if to_kill <= 0:
            break
        if revision["metadata"]["labels"].get(CONTROLLER_REVISION_HASH_LABEL) in live:
            continue
        state.delete(revision)
        to_kill -= 1


# --------------------------------------------------------------------------- pods

def _owned_pods(state: ClusterState, d: _DaemonSet) -> list[dict]:
    return [p for p in state.owned_by(d.obj, "Pod") if (controller_ref(p) or {}).get("uid") == d.uid]


def _claim_pods(state: ClusterState, d: _DaemonSet, orphans: list[dict]) -> list[dict]:
    """getDaemonPods: adopt matching orphans, release pods whose labels no longer match."""
    selector = label_selector(d.spec.get("selector"))
    candidates = state.owned_by(d.obj, "Pod")
    owned = {id(p) for p in candidates}
    candidates += [p for p in orphans if p["metadata"].get("namespace") == d.namespace and id(p) not in owned
                   and controller_ref(p) is None]
    return claim(state, d.obj, candidates, lambda p: selector.matches(p["metadata"].get("labels") or {}))


def _nodes_to_pods(pods: list[dict], include_deleted_terminal: bool = False) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for pod in pods:
        if not include_deleted_terminal and phase(pod) in ("Succeeded", "Failed") and \
                pod["metadata"].get("deletionTimestamp"):
            continue
        node = target_node(pod)
        if node is None:
            continue
        found.setdefault(node, []).append(pod)
    return found


def _in_backoff(d: _DaemonSet, key: str) -> float | None:
    """IsInBackOffSinceUpdate: when the back-off for key ends, if it is running."""
    entry = d.state.sim(d.obj).get("failedPodsBackoff", {}).get(key)
    if entry and d.state.now - entry[1] < entry[0]:
        return entry[1] + entry[0]
    return None


def _next_backoff(d: _DaemonSet, key: str) -> None:
    table = d.state.sim(d.obj).setdefault("failedPodsBackoff", {})
    entry = table.get(key)
    if entry is None or d.state.now - entry[1] > 2 * BACKOFF_MAX:
        table[key] = [BACKOFF_INITIAL, d.state.now]
    else:
        table[key] = [min(entry[0] * 2, BACKOFF_MAX), d.state.now]


def _pods_should_be_on_node(d: _DaemonSet, node: dict, node_pods: dict[str, list[dict]], hash_: str,
                            creates: list[str], deletes: list[dict]) -> None:
    """podsShouldBeOnNode."""
    name = node["metadata"]["name"]
    should_run, should_continue = d.should_run(node)
    pods = node_pods.get(name)
    if should_run and pods is None:
        creates.append(name)
        return
    if should_continue:
        running = []
        for pod in pods or []:
            if pod["metadata"].get("deletionTimestamp"):
                continue
            if phase(pod) == "Failed":
                key = f"{d.uid}/{(d.obj.get('status') or {}).get('observedGeneration', 0)}/{name}"
                until = _in_backoff(d, key)
                if until is not None:
                    d.state.wake_at(until)
                    continue
                _next_backoff(d, key)
                d.event("Warning", "FailedDaemonPod", f"Found failed daemon pod {d.namespace}/"
                        f"{pod['metadata']['name']} on node {name}, will try to kill it")
                deletes.append(pod)
            elif phase(pod) == "Succeeded":
                d.event("Normal", "SucceededDaemonPod", f"Found succeeded daemon pod {d.namespace}/"
                        f"{pod['metadata']['name']} on node {name}, will try to delete it")
                deletes.append(pod)
            else:
                running.append(pod)
        running.sort(key=_creation_order)
        if d.surge_count(1) <= 0:  # no surge: keep the oldest
            deletes.extend(running[1:])
            return
        if len(running) <= 1:
            if not running and should_run:
                creates.append(name)
            return
        oldest_new = oldest_old = None
        for pod in running:
            is_new = (pod["metadata"].get("labels") or {}).get(CONTROLLER_REVISION_HASH_LABEL) == hash_
            if is_new and oldest_new is None:
                oldest_new = pod
            elif not is_new and oldest_old is None:
                oldest_old = pod
            else:
                deletes.append(pod)
        if oldest_new is not None and oldest_old is not None:
            if not is_pod_ready(oldest_old) or d.available(oldest_new):
                deletes.append(oldest_old)
        return
    if pods:
        deletes.extend(p for p in pods if not p["metadata"].get("deletionTimestamp"))


def _sync_nodes(d: _DaemonSet, deletes: list[dict], creates: list[str], hash_: str) -> None:
    """syncNodes: create daemon pods on nodes, delete the given pods."""
    state = d.state
    if creates:
        template = clone(d.template)
        meta = template.setdefault("metadata", {})
        spec = template.setdefault("spec", {})
        add_daemon_tolerations(spec)
        labels = dict(meta.get("labels") or {})
        if d.generation is not None:
            labels[TEMPLATE_GENERATION_LABEL] = str(d.generation)
        if hash_:
            labels[CONTROLLER_REVISION_HASH_LABEL] = hash_
        refused = not may_create(state, d.obj, len(creates))
        for node in creates[:BURST_REPLICAS] if not refused else ():
            pod_meta: dict = {"generateName": pods_prefix(d.name), "namespace": d.namespace, "labels": dict(labels),
                              "ownerReferences": [new_controller_ref(d.obj)]}
            if meta.get("annotations"):
                pod_meta["annotations"] = dict(meta["annotations"])
            if meta.get("finalizers"):
                pod_meta["finalizers"] = list(meta["finalizers"])
            pod_spec = clone(spec)
            pod_spec["affinity"] = node_name_affinity(pod_spec.get("affinity"), node)
            try:
                pod = state.create({"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta, "spec": pod_spec})
            except ValueError as exc:  # refused by admission (a quota, a LimitRange): requeued with back-off
                d.event("Warning", "FailedCreate", f"Error creating: {exc}")
                create_refused(state, d.obj, len(creates))
                refused = True
                break
            d.event("Normal", "SuccessfulCreate", f"Created pod: {pod['metadata']['name']}")
        if not refused:
            create_succeeded(state, d.obj)
    for pod in deletes[:BURST_REPLICAS]:
        delete_pod(state, pod)
        d.event("Normal", "SuccessfulDelete", f"Deleted pod: {pod['metadata']['name']}")


def _manage(d: _DaemonSet, nodes: list[dict], pods: list[dict], hash_: str) -> bool:
    """manage: returns whether it created or deleted anything (the rolling update then waits, as
    upstream waits for its expectations)."""
    node_pods = _nodes_to_pods(pods)
    creates: list[str] = []
    deletes: list[dict] = []
    for node in nodes:
        _pods_should_be_on_node(d, node, node_pods, hash_, creates, deletes)
    existing = {n["metadata"]["name"] for n in nodes}
    for node_name, node_pod_list in node_pods.items():  # getUnscheduledPodsWithoutNode
        if node_name not in existing:
            deletes.extend(p for p in node_pod_list if not (p.get("spec") or {}).get("nodeName"))
    _sync_nodes(d, deletes, creates, hash_)
    return bool(creates or deletes)


def _rolling_update(d: _DaemonSet, nodes: list[dict], pods: list[dict], hash_: str) -> None:
    node_pods = _nodes_to_pods(pods)
    desired = 0
    by_name = {}
    for node in nodes:
        by_name[node["metadata"]["name"]] = node
        if d.should_run(node)[0]:
            desired += 1
            node_pods.setdefault(node["metadata"]["name"], [])
    max_unavailable = d.unavailable_count(desired)
    max_surge = d.surge_count(desired)
    if desired > 0 and max_unavailable == 0 and max_surge == 0:
        max_unavailable = 1

    def find(node_pod_list: list[dict]) -> tuple[dict | None, dict | None, bool]:
        new = old = None
        for pod in node_pod_list:
            if pod["metadata"].get("deletionTimestamp"):
                continue
            if d.is_updated(pod, hash_):
                if new is not None:
                    return None, None, False
                new = pod
            else:
                if old is not None:
                    return None, None, False
                old = pod
        return new, old, True

    if max_surge == 0:
        unavailable = 0
        replacements: list[dict] = []
        candidates: list[dict] = []
        for node_name in sorted(node_pods):
            new, old, ok = find(node_pods[node_name])
            if not ok or (old is None and new is None) or (old is not None and new is not None):
                unavailable += 1
            elif new is not None:
                if not d.available(new):
                    unavailable += 1
            elif not d.available(old):
                replacements.append(old)
                unavailable += 1
            elif unavailable < max_unavailable:
                candidates.append(old)
        remaining = max(0, min(max_unavailable - unavailable, len(candidates)))
        _sync_nodes(d, replacements + candidates[:remaining], [], hash_)
        return

    to_delete: list[dict] = []
    should_not_run: list[dict] = []
    candidate_nodes: list[str] = []
    allowed_nodes: list[str] = []
    surge = available = 0
    for node_name in sorted(node_pods):
        new, old, ok = find(node_pods[node_name])
        if not ok:
            surge += 1
            continue
        if old is not None:
            available += 1 if d.available(old) else 0
        elif new is not None:
            available += 1 if d.available(new) else 0
        node = by_name.get(node_name)
        if old is None:
            continue
        if new is None:
            if not d.available(old):
                if node is None or not d.should_run(node)[0]:
                    to_delete.append(old)
                    continue
                allowed_nodes.append(node_name)
            else:
                if node is None or not d.should_run(node)[0]:
                    should_not_run.append(old)
                    continue
                if surge >= max_surge:
                    continue
                candidate_nodes.append(node_name)
        else:
            if not d.available(new):
                surge += 1
                continue
            to_delete.append(old)
    deletable = available - desired
    if deletable > 0:
        to_delete.extend(should_not_run[:deletable])
    remaining = max(0, min(max_surge - surge, len(candidate_nodes)))
    _sync_nodes(d, to_delete, allowed_nodes + candidate_nodes[:remaining], hash_)


def _update_status(d: _DaemonSet, nodes: list[dict], pods: list[dict], hash_: str) -> None:
    node_pods = _nodes_to_pods(pods)
    desired = current = misscheduled = ready = updated = available = 0
    for node in nodes:
        should_run, _ = d.should_run(node)
        scheduled = node_pods.get(node["metadata"]["name"]) or []
        if should_run:
            desired += 1
            if not scheduled:
                continue
            current += 1
            pod = min(scheduled, key=_creation_order)
            if is_pod_ready(pod):
                ready += 1
                if d.available(pod):
                    available += 1
            if d.is_updated(pod, hash_):
                updated += 1
        elif scheduled:
            misscheduled += 1
    old = d.obj.get("status") or {}
    status: dict = {"currentNumberScheduled": current, "desiredNumberScheduled": desired,
                    "numberMisscheduled": misscheduled, "numberReady": ready}
    generation = d.meta.get("generation")
    if generation:
        status["observedGeneration"] = generation
    for key, value in (("updatedNumberScheduled", updated), ("numberAvailable", available),
                       ("numberUnavailable", desired - available)):
        if value:
            status[key] = value
    for key in ("collisionCount", "conditions"):
        if old.get(key) is not None:
            status[key] = old[key]
    if old != status:
        d.obj["status"] = status
        d.state.update(d.obj)


def sync_daemonset(state: ClusterState, ds: dict, nodes: list[dict], orphans: list[dict]) -> None:
    d = _DaemonSet(state, ds)
    if d.meta.get("deletionTimestamp"):
        return
    selector = d.spec.get("selector")
    if not selector or label_selector(selector).empty():
        notes = state.sim(ds)
        if notes.get("selectingAll") != d.meta.get("generation"):
            notes["selectingAll"] = d.meta.get("generation")
            d.event("Warning", "SelectingAll",
                    "This daemon set is selecting all pods. A non-empty selector is required.")
        return
    current, old = _construct_history(state, d)
    hash_ = current["metadata"]["labels"].get(CONTROLLER_REVISION_HASH_LABEL, "")
    pods = _claim_pods(state, d, orphans)
    changed = _manage(d, nodes, pods, hash_)
    if not changed and d.strategy == "RollingUpdate":
        _rolling_update(d, nodes, pods, hash_)
    pods = _owned_pods(state, d)
    _cleanup_history(state, d, old, pods)
    _update_status(d, nodes, pods, hash_)


def reconcile(state: ClusterState) -> None:
    sets = state.list("DaemonSet")
    if not sets:
        return
    wanted = _to_look_at(state)
    if wanted is not None and not any(ds["metadata"].get("uid") in wanted for ds in sets):
        return
    nodes = state.list("Node")
    _NODES_SEEN[state] = {n["metadata"]["name"]: _placement_inputs(n) for n in nodes}
    orphans = [p for p in state.list("Pod") if not controller_ref(p)]
    for ds in sets:
        if wanted is None or ds["metadata"].get("uid") in wanted:
            sync_daemonset(state, ds, nodes, orphans)


# Kinds whose writes may change what every DaemonSet's sync does: where daemon pods belong (Nodes), and
# whether their creates are admitted (quotas, LimitRanges, a terminating namespace). Of the other kinds, only
# a DaemonSet's own objects matter to it; the rest (the kubelets' Events, Services, the learner's
# Deployments…) are none of its business.
_AFFECTS_EVERY_SET = frozenset({"Node", "Namespace", "ResourceQuota", "LimitRange"})


def _to_look_at(state: ClusterState) -> set[str] | None:
    """The uids of the DaemonSets to sync when the loop narrowed this run to what changed (the informers'
    handlers: a DaemonSet written; the DaemonSet controlling a pod or ControllerRevision written or deleted;
    the DaemonSets that select an orphan pod written, one of which may adopt it), or None for every one: a
    Node's labels, spec or conditions changed (shouldIgnoreNodeUpdate; a kubelet's image list or heartbeat
    does not count here), or a quota, LimitRange or Namespace written (a refused create waits on them).

    A learner's cluster runs two system DaemonSets: syncing both on every write of the learner's own pods
    was a fifth of a busy worker's engine time."""
    narrowed = state.narrowed_changes()
    if narrowed is None:
        return None
    keys, gone = narrowed
    wanted: set[str] = set()
    for kind, namespace, name in keys:
        if kind in _AFFECTS_EVERY_SET:
            if kind != "Node" or _node_moved(state, name):
                return None
            continue
        if kind not in ("DaemonSet", "Pod", "ControllerRevision"):
            continue
        obj = state.get(kind, namespace, name)
        if obj is None:
            continue   # deleted: what it was is in `gone`
        if kind == "DaemonSet":
            wanted.add(obj["metadata"].get("uid", ""))
            continue
        _add_interested(state, obj, wanted)
    for previous in gone:
        if previous.get("kind") in ("Pod", "ControllerRevision"):
            _add_interested(state, previous, wanted)
    return wanted


def _placement_inputs(node: dict) -> str:
    """What of a node decides where daemon pods run: labels, spec (taints, unschedulable), conditions (the
    not-ready and unreachable tolerations). As text: the node is mutated in place later."""
    conditions = [(c.get("type"), c.get("status")) for c in (node.get("status") or {}).get("conditions") or []]
    return json.dumps([node["metadata"].get("labels"), node.get("spec"), conditions], sort_keys=True)


# Per ClusterState: each node's _placement_inputs as this controller last saw them (a write leaves a node
# dict changed in place, with no copy of what it was).
_NODES_SEEN: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _node_moved(state: ClusterState, name: str) -> bool:
    node = state.get("Node", "", name)
    seen = _NODES_SEEN.get(state, {})
    return node is None or name not in seen or seen[name] != _placement_inputs(node)


def _add_interested(state: ClusterState, obj: dict, wanted: set[str]) -> None:
    """The DaemonSet a pod or revision belongs to; for an orphan pod, every DaemonSet of its namespace that
    selects it (getDaemonSetsForPod: one of them may adopt it)."""
    ref = controller_ref(obj)
    if ref is not None:
        if ref.get("kind") == "DaemonSet":
            wanted.add(ref.get("uid", ""))
        return
    if obj.get("kind") != "Pod":
        return
    meta = obj["metadata"]
    labels = meta.get("labels") or {}
    for ds in state.list("DaemonSet", meta.get("namespace", "")):
        selector = ds.get("spec", {}).get("selector")
        found = label_selector(selector) if selector else None
        if found is None or found.empty() or found.matches(labels):
            wanted.add(ds["metadata"].get("uid", ""))
