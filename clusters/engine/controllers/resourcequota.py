"""The resource quota controller, and the usage it counts (shared with the API server's admission).

Follows upstream pkg/controller/resourcequota (syncResourceQuota: status.hard is spec.hard, status.used
the namespace's usage of every resource the quota constrains) and the evaluators of
pkg/quota/v1/evaluator/core and pkg/quota/v1/generic that both the controller and the ResourceQuota
admission plugin (plugin/pkg/admission/resourcequota, clusters/apiserver/quota.py) use:

* pods — `pods` and compute usage (`requests.cpu`, `limits.memory`, bare `cpu`/`memory`,
  ephemeral storage, hugepages) of pods not yet terminal (QuotaV1Pod: Succeeded/Failed pods and pods
  past their deletion grace period are not charged), `count/pods` of every stored pod; the quota's
  scopes (Terminating, NotTerminating, BestEffort, NotBestEffort, PriorityClass) select the pods;
* services — `services`, `services.loadbalancers`, `services.nodeports` (a NodePort or LoadBalancer
  Service's ports), `count/services`;
* persistentvolumeclaims — `persistentvolumeclaims`, `requests.storage` and their
  `<class>.storageclass.storage.k8s.io/…` forms;
* object counts — `configmaps`, `secrets`, `replicationcontrollers`, `resourcequotas` and
  `count/<resource>[.<group>]` of any namespaced kind.

Quantities are (value, format) pairs added as resource.Quantity.Add does: a zero sum takes the format of
what is added to it, so requests of `64Mi` add up to `128Mi` and cpu `100m` to `200m`.

The controller writes a quota only when its status changes, and returns at once in a cluster without
quotas (one index lookup).
"""
from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction
from typing import Protocol

from ..resources import DECIMAL_SI, QuantityError, format_quantity, parse_quantity_format
from ..state import ClusterState, parse_timestamp

Quantity = tuple[Fraction, str]  # (value, format)
ResourceList = dict[str, Quantity]

# pkg/quota/v1/evaluator/core/pods.go podResources (plus the hugepages and extended-resource prefixes)
POD_RESOURCES = frozenset({
    "count/pods", "pods", "cpu", "memory", "ephemeral-storage",
    "requests.cpu", "requests.memory", "requests.ephemeral-storage",
    "limits.cpu", "limits.memory", "limits.ephemeral-storage",
})
# the resources whose every container must say how much it wants when a quota tracks them (Constraints)
POD_VALIDATION_SET = frozenset({"requests.cpu", "requests.memory", "limits.cpu", "limits.memory", "cpu", "memory"})
SERVICE_RESOURCES = frozenset({"services", "services.loadbalancers", "services.nodeports", "count/services"})
STORAGE_CLASS_SUFFIX = ".storageclass.storage.k8s.io/"
PVC_RESOURCES = frozenset({"persistentvolumeclaims", "count/persistentvolumeclaims", "requests.storage"})
# the object counts quota has always known by their plain names (generic.ObjectCountQuotaResourceNameFor aliases)
LEGACY_COUNTS = {"configmaps": "ConfigMap", "secrets": "Secret", "replicationcontrollers": "ReplicationController",
                 "resourcequotas": "ResourceQuota"}
# count/<resource>[.<group>] of the namespaced kinds the playground serves
COUNTED_KINDS = {
    "pods": "Pod", "services": "Service", "endpoints": "Endpoints", "configmaps": "ConfigMap",
    "secrets": "Secret", "persistentvolumeclaims": "PersistentVolumeClaim", "serviceaccounts": "ServiceAccount",
    "events": "Event", "resourcequotas": "ResourceQuota", "limitranges": "LimitRange",
    "replicationcontrollers": "ReplicationController", "podtemplates": "PodTemplate",
    "deployments.apps": "Deployment", "replicasets.apps": "ReplicaSet", "statefulsets.apps": "StatefulSet",
    "daemonsets.apps": "DaemonSet", "controllerrevisions.apps": "ControllerRevision",
    "jobs.batch": "Job", "cronjobs.batch": "CronJob",
    "horizontalpodautoscalers.autoscaling": "HorizontalPodAutoscaler",
    "ingresses.networking.k8s.io": "Ingress", "networkpolicies.networking.k8s.io": "NetworkPolicy",
    "endpointslices.discovery.k8s.io": "EndpointSlice", "poddisruptionbudgets.policy": "PodDisruptionBudget",
    "leases.coordination.k8s.io": "Lease", "events.events.k8s.io": "Event",
}

POD_SCOPES = frozenset({"Terminating", "NotTerminating", "BestEffort", "NotBestEffort", "PriorityClass",
                        "CrossNamespacePodAffinity"})


class Lister(Protocol):
    def list(self, kind: str, namespace: str | None = None) -> list[dict]: ...


# ------------------------------------------------------------------ quantities

def quantity(text) -> Quantity:
    value, fmt = parse_quantity_format(str(text))
    return value, fmt


def qstr(q: Quantity) -> str:
    """Quantity.String()."""
    return format_quantity(q[0], q[1])


def add(a: Quantity | None, b: Quantity) -> Quantity:
    """Quantity.Add: a zero receiver takes the other's format."""
    if a is None or a[0] == 0:
        return a[0] + b[0] if a else b[0], b[1]
    return a[0] + b[0], a[1]


def add_lists(a: ResourceList, b: ResourceList) -> ResourceList:
    result = dict(a)
    for key, value in b.items():
        result[key] = add(result.get(key), value)
    return result


def _max_lists(a: ResourceList, b: ResourceList) -> ResourceList:
    result = dict(a)
    for key, value in b.items():
        if key not in result or value[0] > result[key][0]:
            result[key] = value
    return result


def resource_list(given) -> ResourceList:
    result: ResourceList = {}
    for key, value in (given or {}).items() if isinstance(given, dict) else ():
        try:
            result[key] = quantity(value)
        except (QuantityError, ValueError, TypeError):
            continue
    return result


def to_json(items: ResourceList) -> dict[str, str]:
    return {key: qstr(value) for key, value in sorted(items.items())}


# ------------------------------------------------------------------ pods

def _container_lists(container: dict) -> tuple[ResourceList, ResourceList]:
    resources = container.get("resources") or {}
    return resource_list(resources.get("requests")), resource_list(resources.get("limits"))


def pod_requests_limits(pod: dict, *, overhead: bool = True) -> tuple[ResourceList, ResourceList]:
    """component-helpers resource.PodRequests / PodLimits: the containers' sum, at least any init
    container (each with the restartable sidecars started before it), sidecars added to the sum, and the
    pod overhead (added to limits only where a limit is set)."""
    spec = pod.get("spec") or {}
    requests: ResourceList = {}
    limits: ResourceList = {}
    for container in spec.get("containers") or []:
        req, lim = _container_lists(container)
        requests, limits = add_lists(requests, req), add_lists(limits, lim)
    sidecar_req: ResourceList = {}
    sidecar_lim: ResourceList = {}
    init_req: ResourceList = {}
    init_lim: ResourceList = {}
    for container in spec.get("initContainers") or []:
        req, lim = _container_lists(container)
        if container.get("restartPolicy") == "Always":
            requests, limits = add_lists(requests, req), add_lists(limits, lim)
            sidecar_req, sidecar_lim = add_lists(sidecar_req, req), add_lists(sidecar_lim, lim)
            req, lim = sidecar_req, sidecar_lim
        else:
            req, lim = add_lists(req, sidecar_req), add_lists(lim, sidecar_lim)
        init_req, init_lim = _max_lists(init_req, req), _max_lists(init_lim, lim)
    requests, limits = _max_lists(requests, init_req), _max_lists(limits, init_lim)
    if overhead and spec.get("overhead"):
        extra = resource_list(spec["overhead"])
        requests = add_lists(requests, extra)
        limits = add_lists(limits, {k: v for k, v in extra.items() if k in limits})
    return requests, limits


def compute_usage(requests: ResourceList, limits: ResourceList) -> ResourceList:
    """podComputeUsageHelper: pods=1 and the quota names of what the requests and limits say."""
    result: ResourceList = {"pods": (Fraction(1), DECIMAL_SI)}
    for name in ("cpu", "memory", "ephemeral-storage"):
        if name in requests:
            result[name] = requests[name]
            result[f"requests.{name}"] = requests[name]
        if name in limits:
            result[f"limits.{name}"] = limits[name]
    for name, value in requests.items():
        if name.startswith("hugepages-"):
            result[f"requests.{name}"] = value
        elif "/" in name and not name.startswith("kubernetes.io/"):  # an extended resource
            result[f"requests.{name}"] = value
    return result


def pod_is_charged(pod: dict, now: float) -> bool:
    """QuotaV1Pod: terminal pods, and pods stuck terminating past their grace period, are not charged."""
    if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
        return False
    meta = pod["metadata"]
    deleted = parse_timestamp(meta.get("deletionTimestamp"))
    grace = meta.get("deletionGracePeriodSeconds")
    return not (deleted is not None and grace is not None and now > deleted + int(grace))


def pod_usage(pod: dict, now: float) -> ResourceList:
    """PodUsageFunc."""
    result: ResourceList = {"count/pods": (Fraction(1), DECIMAL_SI)}
    if not pod_is_charged(pod, now):
        return result
    requests, limits = pod_requests_limits(pod)
    return add_lists(result, compute_usage(requests, limits))


def is_best_effort(pod: dict) -> bool:
    """v1qos.GetPodQOS(pod) == BestEffort: no container requests or limits cpu or memory."""
    spec = pod.get("spec") or {}
    for container in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        resources = container.get("resources") or {}
        for part in ("requests", "limits"):
            for name, value in (resources.get(part) or {}).items():
                if name in ("cpu", "memory"):
                    try:
                        if quantity(value)[0] != 0:
                            return False
                    except (QuantityError, ValueError):
                        return False
    return True


def quota_scope_selectors(rq: dict) -> list[dict]:
    """getScopeSelectorsFromQuota: spec.scopes as Exists requirements, then scopeSelector's expressions."""
    spec = rq.get("spec") or {}
    selectors = [{"scopeName": scope, "operator": "Exists"} for scope in spec.get("scopes") or []]
    selectors.extend((spec.get("scopeSelector") or {}).get("matchExpressions") or [])
    return selectors


def pod_matches_scope(selector: dict, pod: dict) -> bool:
    """podMatchesScopeFunc."""
    spec = pod.get("spec") or {}
    scope = selector.get("scopeName")
    if scope == "Terminating":
        deadline = spec.get("activeDeadlineSeconds")
        return deadline is not None and deadline >= 0
    if scope == "NotTerminating":
        return spec.get("activeDeadlineSeconds") is None
    if scope == "BestEffort":
        return is_best_effort(pod)
    if scope == "NotBestEffort":
        return not is_best_effort(pod)
    if scope == "PriorityClass":
        operator = selector.get("operator")
        name = spec.get("priorityClassName") or ""
        values = selector.get("values") or []
        if operator == "Exists":
            return bool(name)
        if operator == "DoesNotExist":
            return not name
        if operator == "In":
            return name in values
        if operator == "NotIn":
            return name not in values
        return False
    if scope == "CrossNamespacePodAffinity":
        return False  # the playground's pods name no other namespaces in their affinity terms
    return False


def pod_resource(name: str) -> bool:
    return name in POD_RESOURCES or name.startswith("requests.hugepages-") or (
        name.startswith("requests.") and "/" in name)


# ------------------------------------------------------------------ services and claims

def service_usage(svc: dict) -> ResourceList:
    """serviceEvaluator Usage."""
    spec = svc.get("spec") or {}
    ports = spec.get("ports") or []
    one = (Fraction(1), DECIMAL_SI)
    result: ResourceList = {"count/services": one, "services": one,
                            "services.loadbalancers": (Fraction(0), DECIMAL_SI),
                            "services.nodeports": (Fraction(0), DECIMAL_SI)}
    kind = spec.get("type", "ClusterIP")
    if kind == "NodePort":
        result["services.nodeports"] = (Fraction(len(ports)), DECIMAL_SI)
    elif kind == "LoadBalancer":
        if spec.get("allocateLoadBalancerNodePorts") is False:
            result["services.nodeports"] = (Fraction(sum(1 for p in ports if p.get("nodePort"))), DECIMAL_SI)
        else:
            result["services.nodeports"] = (Fraction(len(ports)), DECIMAL_SI)
        result["services.loadbalancers"] = one
    return result


def pvc_usage(pvc: dict) -> ResourceList:
    """pvcEvaluator Usage: the claim, its requested storage (or more, when a resize allocated more), also
    per StorageClass."""
    one = (Fraction(1), DECIMAL_SI)
    result: ResourceList = {"persistentvolumeclaims": one, "count/persistentvolumeclaims": one}
    spec = pvc.get("spec") or {}
    storage_class = spec.get("storageClassName") or ""
    if storage_class:
        result[f"{storage_class}{STORAGE_CLASS_SUFFIX}persistentvolumeclaims"] = one
    requested = resource_list((spec.get("resources") or {}).get("requests")).get("storage")
    allocated = resource_list((pvc.get("status") or {}).get("allocatedResources")).get("storage")
    if allocated is not None and (requested is None or allocated[0] > requested[0]):
        requested = allocated
    if requested is not None:
        result["requests.storage"] = requested
        if storage_class:
            result[f"{storage_class}{STORAGE_CLASS_SUFFIX}requests.storage"] = requested
    return result


def pvc_resource(name: str) -> bool:
    return name in PVC_RESOURCES or (STORAGE_CLASS_SUFFIX in name and name.rsplit("/", 1)[-1] in
                                     ("requests.storage", "persistentvolumeclaims"))


# ------------------------------------------------------------------ evaluators

def counted_kind(resource: str) -> str | None:
    """The kind a plain or count/ object-count resource counts, or None."""
    if resource in LEGACY_COUNTS:
        return LEGACY_COUNTS[resource]
    if resource.startswith("count/"):
        return COUNTED_KINDS.get(resource[len("count/"):])
    return None


def evaluator_of(kind: str):
    """(matches(resource name), usage(obj, now)) of the evaluator for objects of `kind`."""
    if kind == "Pod":
        return pod_resource, pod_usage
    if kind == "Service":
        return (lambda name: name in SERVICE_RESOURCES), (lambda obj, now: service_usage(obj))
    if kind == "PersistentVolumeClaim":
        return pvc_resource, (lambda obj, now: pvc_usage(obj))

    def count_matches(name: str) -> bool:
        return counted_kind(name) == kind

    return count_matches, (lambda obj, now: {name: (Fraction(1), DECIMAL_SI) for name, k in
                                             [*LEGACY_COUNTS.items(),
                                              *((f"count/{r}", k) for r, k in COUNTED_KINDS.items())]
                                             if k == kind})


def quota_matches(rq: dict, kind: str, obj: dict, hard: Iterable[str]) -> list[str]:
    """Matches + MatchingResources: the resources of `hard` that this object's evaluator covers, or []
    when the quota does not apply to it (nothing covered, or a scope it is outside of)."""
    matches, _ = evaluator_of(kind)
    resources = sorted(name for name in hard if matches(name))
    if not resources:
        return []
    for selector in quota_scope_selectors(rq):
        if kind != "Pod" or not pod_matches_scope(selector, obj):
            return []
    return resources


def _kinds_for(hard: Iterable[str]) -> set[str]:
    kinds: set[str] = set()
    for name in hard:
        if pod_resource(name):
            kinds.add("Pod")
        elif name in SERVICE_RESOURCES:
            kinds.add("Service")
        elif pvc_resource(name):
            kinds.add("PersistentVolumeClaim")
        else:
            kind = counted_kind(name)
            if kind is not None:
                kinds.add(kind)
    return kinds


def calculate_usage(rq: dict, objects: Lister, now: float, *, hard: ResourceList | None = None) -> ResourceList:
    """quota.CalculateUsage: the namespace's usage of every resource of `hard` (the quota's spec.hard)
    that an evaluator covers, zero when nothing uses it."""
    if hard is None:
        hard = resource_list((rq.get("spec") or {}).get("hard"))
    namespace = rq["metadata"].get("namespace", "")
    used: ResourceList = {}
    for kind in sorted(_kinds_for(hard)):
        matches, usage_of = evaluator_of(kind)
        names = [name for name in hard if matches(name)]
        for name in names:
            used.setdefault(name, (Fraction(0), DECIMAL_SI))
        selectors = quota_scope_selectors(rq)
        if selectors and kind != "Pod":
            continue
        for obj in objects.list(kind, namespace):
            if selectors and not all(pod_matches_scope(s, obj) for s in selectors):
                continue
            usage = usage_of(obj, now)
            for name in names:
                if name in usage:
                    used[name] = add(used[name], usage[name])
    return used


# ------------------------------------------------------------------ the controller

def reconcile(state: ClusterState) -> None:
    quotas = state.list("ResourceQuota")
    if not quotas:
        return
    for rq in quotas:
        if rq["metadata"].get("deletionTimestamp"):
            continue
        _sync(state, rq)


def _sync(state: ClusterState, rq: dict) -> None:
    """syncResourceQuota: status.hard = spec.hard, status.used = the usage of those resources (what an
    evaluator does not cover keeps what status said)."""
    hard = resource_list((rq.get("spec") or {}).get("hard"))
    status = rq.get("status") or {}
    used = resource_list(status.get("used"))
    used.update(calculate_usage(rq, state, state.now, hard=hard))
    used = {k: v for k, v in used.items() if k in hard}
    new_status = {"hard": to_json(hard), "used": to_json(used)}
    if _same(status, new_status):
        _wake_for_terminating(state, rq, hard)
        return
    rq["status"] = new_status
    state.update(rq)
    _wake_for_terminating(state, rq, hard)


def _same(status: dict, new: dict) -> bool:
    for key in ("hard", "used"):
        old = status.get(key) or {}
        if set(old) != set(new[key]):
            return False
        for name, text in new[key].items():
            try:
                if quantity(old[name])[0] != quantity(text)[0]:
                    return False
            except (QuantityError, ValueError):
                return False
    return True


def _wake_for_terminating(state: ClusterState, rq: dict, hard: ResourceList) -> None:
    """A pod stuck terminating stops being charged at its deletion time plus its grace period."""
    if not any(pod_resource(name) for name in hard):
        return
    for pod in state.list("Pod", rq["metadata"].get("namespace", "")):
        meta = pod["metadata"]
        deleted = parse_timestamp(meta.get("deletionTimestamp"))
        grace = meta.get("deletionGracePeriodSeconds")
        if deleted is not None and grace is not None and deleted + int(grace) >= state.now:
            state.wake_at(deleted + int(grace) + 0.001)

