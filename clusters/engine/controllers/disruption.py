"""The disruption controller (upstream pkg/controller/disruption): the status of PodDisruptionBudgets.

The Eviction API (clusters/apiserver/eviction.py) lets a pod go only while its budget's
status.disruptionsAllowed is above 0, and answers 429 while the budget's status.observedGeneration is
behind its generation; this controller keeps that status, as DisruptionController.trySync does:

* the pods are those of the budget's namespace its selector matches (getPodsForPdb: a missing selector
  matches none, an empty one all);
* expectedPods and desiredHealthy (getExpectedPodCount): with an integer minAvailable, expectedPods is
  the number of those pods and desiredHealthy minAvailable; with a percentage minAvailable, or with
  maxUnavailable, expectedPods is the sum of the scales of the pods' controllers (getExpectedScale: a
  ReplicaSet's Deployment, a ReplicaSet, a ReplicationController, a StatefulSet — a Job or DaemonSet has
  no scale subresource) and the percentage is rounded up; desiredHealthy is expectedPods minus
  maxUnavailable (not below 0) or the scaled minAvailable;
* currentHealthy counts the Ready pods that are neither terminating nor noted in disruptedPods by an
  eviction of less than two minutes ago (countHealthyPods, DeletionTimeout); notes older than that, or
  of pods gone or terminating, are dropped (buildDisruptedPodMap, with its `NotDeleted` warning);
* disruptionsAllowed = currentHealthy - desiredHealthy, 0 when negative or when no pod is expected,
  and the DisruptionAllowed condition (SufficientPods / InsufficientPods) beside it
  (updatePdbStatus, pdbhelper.UpdateDisruptionAllowedCondition);
* a budget whose pods' controllers cannot be scaled is failed safe (failSafe): disruptionsAllowed 0, the
  condition False with reason SyncFailed and the error as message, observedGeneration left as it was.

Events as the controller manager records them (source `controllermanager`): `NoPods` "No matching
pods found", and the `UnmanagedPods` warning for pods without a controller under a percentage or
maxUnavailable budget. They are recorded when the status changes, so a settled budget costs a look
at its pods and nothing else.
"""
from __future__ import annotations

import math

from ..state import ClusterState, parse_timestamp, timestamp
from .podutil import controller_ref, is_pod_ready, label_selector

COMPONENT = "controllermanager"
DELETION_TIMEOUT = 120.0        # disruption.DeletionTimeout: how long an approved eviction keeps a pod uncounted
SCALABLE = {("apps", "ReplicaSet"), ("extensions", "ReplicaSet"), ("apps", "Deployment"),
            ("extensions", "Deployment"), ("", "ReplicationController"), ("apps", "StatefulSet")}
_RESOURCE_OF = {"DaemonSet": "daemonsets", "Job": "jobs", "CronJob": "cronjobs", "Pod": "pods",
                "ReplicaSet": "replicasets", "Deployment": "deployments", "StatefulSet": "statefulsets",
                "ReplicationController": "replicationcontrollers", "Node": "nodes"}


class SyncFailed(Exception):
    """An error of trySync: the budget is failed safe with it as the condition's message."""


def reconcile(state: ClusterState) -> None:
    budgets = state.list("PodDisruptionBudget")
    for pdb in budgets:
        if pdb["metadata"].get("deletionTimestamp"):
            continue
        try:
            _sync(state, pdb)
        except SyncFailed as failure:
            _fail_safe(state, pdb, str(failure))


def pods_for(state: ClusterState, pdb: dict) -> list[dict]:
    """getPodsForPdb."""
    selector = (pdb.get("spec") or {}).get("selector")
    if selector is None:
        return []
    try:
        match = label_selector(selector)
    except ValueError:
        return []
    return [p for p in state.list("Pod", pdb["metadata"].get("namespace", ""))
            if match.matches(p["metadata"].get("labels") or {})]


def _scaled(value: int | str, total: int) -> int:
    """intstr.GetScaledValueFromIntOrPercent(value, total, roundUp=true)."""
    if isinstance(value, int):
        return value
    text = str(value)
    if not text.endswith("%"):
        raise SyncFailed("invalid value for IntOrString: invalid type: string is not a percentage")
    try:
        percent = int(text[:-1])
    except ValueError:
        raise SyncFailed(f'invalid value "{text}": strconv.Atoi: parsing "{text[:-1]}": invalid syntax') from None
    return math.ceil(percent * total / 100)


def _group_of(api_version: str) -> str:
    return api_version.rsplit("/", 1)[0] if "/" in api_version else ""


def _controller_scale(state: ClusterState, ref: dict, namespace: str) -> tuple[str, int] | None:
    """The finders (getPodReplicaSet, getPodDeployment, getPodReplicationController, getPodStatefulSet,
    getScaleController): the uid and spec.replicas of the pod's scalable controller."""
    kind, group = ref.get("kind", ""), _group_of(ref.get("apiVersion", ""))
    if (group, kind) not in SCALABLE:
        resource = _RESOURCE_OF.get(kind, kind.lower() + "s")
        raise SyncFailed(f"{resource}.{group} does not implement the scale subresource" if group else
                         f"{resource} does not implement the scale subresource")
    owner = state.get(kind, namespace, ref.get("name", ""))
    if owner is None or owner["metadata"].get("uid") != ref.get("uid"):
        return None
    if kind == "ReplicaSet":
        parent = controller_ref(owner)
        if parent is not None and parent.get("kind") == "Deployment":
            deployment = state.get("Deployment", namespace, parent.get("name", ""))
            if deployment is not None and deployment["metadata"].get("uid") == parent.get("uid"):
                return deployment["metadata"]["uid"], int((deployment.get("spec") or {}).get("replicas", 1))
    return owner["metadata"]["uid"], int((owner.get("spec") or {}).get("replicas", 1))


def _expected_scale(state: ClusterState, pods: list[dict]) -> tuple[int, list[str]]:
    """getExpectedScale: the sum of the scales of the pods' controllers, and the pods with none."""
    scales: dict[str, int] = {}
    unmanaged: list[str] = []
    for pod in pods:
        ref = controller_ref(pod)
        if ref is None:
            unmanaged.append(pod["metadata"]["name"])
            continue
        if ref.get("uid") in scales:
            continue
        found = _controller_scale(state, ref, pod["metadata"].get("namespace", ""))
        if found is None:
            raise SyncFailed(f'found no controllers for pod "{pod["metadata"]["name"]}"')
        scales[found[0]] = found[1]
    return sum(scales.values()), unmanaged


def expected_counts(state: ClusterState, pdb: dict, pods: list[dict]) -> tuple[int, int, list[str]]:
    """getExpectedPodCount: (expectedPods, desiredHealthy, unmanaged pods)."""
    spec = pdb.get("spec") or {}
    expected = desired = 0
    unmanaged: list[str] = []
    if spec.get("maxUnavailable") is not None:
        expected, unmanaged = _expected_scale(state, pods)
        desired = max(0, expected - _scaled(spec["maxUnavailable"], expected))
    elif spec.get("minAvailable") is not None:
        if isinstance(spec["minAvailable"], int):
            desired, expected = spec["minAvailable"], len(pods)
        else:
            expected, unmanaged = _expected_scale(state, pods)
            desired = _scaled(spec["minAvailable"], expected)
    return expected, desired, unmanaged


def _disrupted(state: ClusterState, pdb: dict, pods: list[dict]) -> tuple[dict[str, str], float | None]:
    """buildDisruptedPodMap: the noted evictions still pending, and when the next one times out."""
    noted = (pdb.get("status") or {}).get("disruptedPods") or {}
    kept: dict[str, str] = {}
    recheck: float | None = None
    if not noted:
        return kept, recheck
    for pod in pods:
        name = pod["metadata"]["name"]
        if pod["metadata"].get("deletionTimestamp") or name not in noted:
            continue
        since = parse_timestamp(noted[name])
        expected_deletion = (since or 0.0) + DELETION_TIMEOUT
        if expected_deletion < state.now:
            namespace = pdb["metadata"].get("namespace", "")
            state.event(pod, "Warning", "NotDeleted",
                        f"Pod was expected by PDB {namespace}/{namespace} to be deleted but it wasn't",
                        component=COMPONENT)
        else:
            recheck = expected_deletion if recheck is None else min(recheck, expected_deletion)
            kept[name] = noted[name]
    return kept, recheck


def count_healthy(pods: list[dict], disrupted: dict[str, str], now: float) -> int:
    """countHealthyPods."""
    healthy = 0
    for pod in pods:
        name = pod["metadata"]["name"]
        if pod["metadata"].get("deletionTimestamp"):
            continue
        if name in disrupted and (parse_timestamp(disrupted[name]) or 0.0) + DELETION_TIMEOUT > now:
            continue
        if is_pod_ready(pod):
            healthy += 1
    return healthy


def _set_condition(status: dict, wanted: dict, now: float) -> None:
    """apimeta.SetStatusCondition: the transition time moves only when the status does."""
    conditions = status.setdefault("conditions", [])
    for index, existing in enumerate(conditions):
        if existing.get("type") == wanted["type"]:
            updated = dict(wanted)
            same = existing.get("status") == wanted["status"] and existing.get("lastTransitionTime")
            updated["lastTransitionTime"] = existing["lastTransitionTime"] if same else timestamp(now)
            conditions[index] = updated
            return
    conditions.append({**wanted, "lastTransitionTime": timestamp(now)})


def _condition(status: str, reason: str, message: str, generation: int) -> dict:
    """A metav1.Condition in its JSON key order (message has no omitempty)."""
    found = {"type": "DisruptionAllowed", "status": status}
    if generation:
        found["observedGeneration"] = generation
    found.update({"lastTransitionTime": "", "reason": reason, "message": message})
    return found


def _sync(state: ClusterState, pdb: dict) -> None:
    """trySync + updatePdbStatus."""
    pods = pods_for(state, pdb)
    expected, desired, unmanaged = expected_counts(state, pdb, pods)
    disrupted, recheck = _disrupted(state, pdb, pods)
    healthy = count_healthy(pods, disrupted, state.now)
    allowed = healthy - desired
    if expected <= 0 or allowed <= 0:
        allowed = 0
    generation = int(pdb["metadata"].get("generation") or 0)
    old = pdb.get("status") or {}
    status = {"observedGeneration": generation} if generation else {}
    if disrupted:
        status["disruptedPods"] = disrupted
    status.update({"disruptionsAllowed": allowed, "currentHealthy": healthy, "desiredHealthy": desired,
                   "expectedPods": expected})
    status["conditions"] = [dict(c) for c in old.get("conditions") or ()]
    ok = allowed > 0
    _set_condition(status, _condition("True" if ok else "False", "SufficientPods" if ok else "InsufficientPods",
                                      "", generation), state.now)
    state.wake_at(recheck + 0.001 if recheck is not None else None)
    if status == old:
        return
    pdb["status"] = status
    state.update(pdb)
    if not pods:
        state.event(pdb, "Normal", "NoPods", "No matching pods found", component=COMPONENT)
    if unmanaged:
        state.event(pdb, "Warning", "UnmanagedPods",
                    f"Pods selected by this PodDisruptionBudget (selector: {go_selector(pdb)}) were found to be "
                    "unmanaged. As a result, the status of the PDB cannot be calculated correctly, which may "
                    'result in undefined behavior. To account for these pods please set ".spec.minAvailable" '
                    "field of the PDB to an integer value.", component=COMPONENT)


def _fail_safe(state: ClusterState, pdb: dict, message: str) -> None:
    """failSafe: no disruption allowed, and why, until a sync succeeds."""
    old = pdb.get("status") or {}
    status = {**old, "disruptionsAllowed": 0, "conditions": [dict(c) for c in old.get("conditions") or ()]}
    for key in ("disruptionsAllowed", "currentHealthy", "desiredHealthy", "expectedPods"):
        status.setdefault(key, 0)
    _set_condition(status, _condition("False", "SyncFailed", message, int(old.get("observedGeneration") or 0)),
                   state.now)
    if status != old:
        pdb["status"] = status
        state.update(pdb)


def go_selector(pdb: dict) -> str:
    """A *metav1.LabelSelector as Go's %v prints it (its generated String())."""
    selector = (pdb.get("spec") or {}).get("selector") or {}
    labels = "".join(f"{k}: {v}," for k, v in sorted((selector.get("matchLabels") or {}).items()))
    expressions = "".join(
        "LabelSelectorRequirement{Key:" + str(e.get("key", "")) + ",Operator:" + str(e.get("operator", ""))
        + ",Values:[" + " ".join(e.get("values") or []) + "],},"
        for e in selector.get("matchExpressions") or [])
    return ("&LabelSelector{MatchLabels:map[string]string{" + labels + "},MatchExpressions:[]"
            "LabelSelectorRequirement{" + expressions + "},}")
