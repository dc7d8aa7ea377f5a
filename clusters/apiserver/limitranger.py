"""The LimitRanger admission plugin (plugin/pkg/admission/limitranger/admission.go).

On every pod create — a client's through the API or a controller's in the engine — each LimitRange of
the pod's namespace first fills in what its Container-type limits give as `default` (limits) and
`defaultRequest` (requests) for containers and init containers that say nothing of a resource, and notes
it in the annotation `kubernetes.io/limit-ranger` ("LimitRanger plugin set: cpu, memory request for
container web; cpu, memory limit for container web"); that is the mutating half, run before the object
is validated (`mutate`). The validating half (`validate`) then checks min, max and maxLimitRequestRatio of
Container limits against each container, of Pod limits against the pod's total (PodRequests/PodLimits),
and of PersistentVolumeClaim limits against a claim's storage request, and refuses with the plugin's
messages, all of them: `pods "x" is forbidden: minimum cpu usage per Container is 100m, but request is
50m`, or `[…, …]` for several. Pod updates are left alone, as upstream (containers' resources cannot
change but through the resize subresource).
"""
from __future__ import annotations

import math

from clusters.engine.controllers.resourcequota import (
    Quantity,
    ResourceList,
    pod_requests_limits,
    qstr,
    resource_list,
)

from . import errors
from .registry import ResourceType

ANNOTATION = "kubernetes.io/limit-ranger"
MAX_MILLI_VALUE = (2**63 - 1) // 1000


def _ranges(obj: dict, objects) -> list[dict]:
    return objects.list("LimitRange", obj["metadata"].get("namespace", ""))


# --------------------------------------------------------------------- mutate

def mutate(obj: dict, rt: ResourceType, objects) -> None:
    """PodMutateLimitFunc for each LimitRange of the namespace (pods only, on create)."""
    if rt.kind != "Pod":
        return
    for limit_range in _ranges(obj, objects):
        requests: dict = {}
        limits: dict = {}
        for item in (limit_range.get("spec") or {}).get("limits") or []:
            if item.get("type") == "Container":  # defaultContainerResourceRequirements
                requests.update(item.get("defaultRequest") or {})
                limits.update(item.get("default") or {})
        if requests or limits:
            _merge_pod(obj, requests, limits)


def _merge_pod(pod: dict, requests: dict, limits: dict) -> None:
    """mergePodResourceRequirements."""
    spec = pod.setdefault("spec", {})
    notes: list[str] = []
    for key, prefix in (("containers", "container"), ("initContainers", "init container")):
        for container in spec.get(key) or []:
            resources = container.setdefault("resources", {})
            set_limits = _fill(resources, "limits", limits)
            set_requests = _fill(resources, "requests", requests)
            if set_requests:
                notes.append(f"{', '.join(sorted(set_requests))} request for {prefix} {container.get('name', '')}")
            if set_limits:
                notes.append(f"{', '.join(sorted(set_limits))} limit for {prefix} {container.get('name', '')}")
    if notes:
        annotations = pod["metadata"].setdefault("annotations", {})
        annotations[ANNOTATION] = "LimitRanger plugin set: " + "; ".join(notes)


def _fill(resources: dict, part: str, defaults: dict) -> list[str]:
    given = resources.get(part)
    if not isinstance(given, dict):
        given = {}
    added = [name for name in defaults if name not in given]
    for name in added:
        given[name] = defaults[name]
    if given:
        resources[part] = given
    return added


# --------------------------------------------------------------------- validate

def validate(obj: dict, rt: ResourceType, objects) -> None:
    """The plugin's Validate: every LimitRange of the namespace, every failure in one Forbidden."""
    if rt.kind not in ("Pod", "PersistentVolumeClaim"):
        return
    messages: list[str] = []
    for limit_range in _ranges(obj, objects):
        items = (limit_range.get("spec") or {}).get("limits") or []
        if rt.kind == "Pod":
            messages.extend(_validate_pod(items, obj))
        else:
            messages.extend(_validate_claim(items, obj))
    if messages:
        name = obj["metadata"].get("name", "")
        raise errors.ApiError(403, "Forbidden", f'{rt.group_resource} "{name}" is forbidden: {aggregate(messages)}',
                              name=name, group=rt.group, kind=rt.resource)


def aggregate(messages: list[str]) -> str:
    """utilerrors.NewAggregate(...).Error(): one message as it is, several (deduplicated) in brackets."""
    seen: list[str] = []
    for message in messages:
        if message not in seen:
            seen.append(message)
    return seen[0] if len(seen) == 1 else "[" + ", ".join(seen) + "]"


def _validate_pod(items: list[dict], pod: dict) -> list[str]:
    """PodValidateLimitFunc (Go ranges over maps in random order; the playground goes by name)."""
    spec = pod.get("spec") or {}
    found: list[str] = []
    for item in items:
        kind = item.get("type")
        if kind == "Container":
            for container in (spec.get("containers") or []) + (spec.get("initContainers") or []):
                resources = container.get("resources") or {}
                found.extend(_check(kind, item, resource_list(resources.get("requests")),
                                    resource_list(resources.get("limits"))))
        elif kind == "Pod":
            requests, limits = pod_requests_limits(pod, overhead=False)
            found.extend(_check(kind, item, requests, limits))
    return found


def _validate_claim(items: list[dict], pvc: dict) -> list[str]:
    """PersistentVolumeClaimValidateLimitFunc: min and max against spec.resources.requests only."""
    requests = resource_list(((pvc.get("spec") or {}).get("resources") or {}).get("requests"))
    found: list[str] = []
    for item in items:
        if item.get("type") != "PersistentVolumeClaim":
            continue
        kind = item["type"]
        for name, enforced in _sorted(item.get("min")):
            if (error := min_constraint(kind, name, enforced, requests, {})) is not None:
                found.append(error)
        for name, enforced in _sorted(item.get("max")):
            if (error := max_request_constraint(kind, name, enforced, requests)) is not None:
                found.append(error)
    return found


def _sorted(given) -> list[tuple[str, Quantity]]:
    return sorted(resource_list(given).items())


def _check(kind: str, item: dict, requests: ResourceList, limits: ResourceList) -> list[str]:
    found: list[str] = []
    for name, enforced in _sorted(item.get("min")):
        if (error := min_constraint(kind, name, enforced, requests, limits)) is not None:
            found.append(error)
    for name, enforced in _sorted(item.get("max")):
        if (error := max_constraint(kind, name, enforced, requests, limits)) is not None:
            found.append(error)
    for name, enforced in _sorted(item.get("maxLimitRequestRatio")):
        if (error := ratio_constraint(kind, name, enforced, requests, limits)) is not None:
            found.append(error)
    return found


def _value(q: Quantity | None) -> int:
    return math.ceil(q[0]) if q is not None else 0


def _milli(q: Quantity | None) -> int:
    return math.ceil(q[0] * 1000) if q is not None else 0


def _enforced_values(req: Quantity | None, lim: Quantity | None, enforced: Quantity) -> tuple[int, int, int]:
    """requestLimitEnforcedValues: milli-units when none overflows, else units."""
    values = (_value(req), _value(lim), _value(enforced))
    if all(v <= MAX_MILLI_VALUE for v in values):
        return _milli(req), _milli(lim), _milli(enforced)
    return values


def min_constraint(kind: str, name: str, enforced: Quantity, requests: ResourceList,
                   limits: ResourceList) -> str | None:
    req, lim = requests.get(name), limits.get(name)
    observed_req, observed_lim, wanted = _enforced_values(req, lim, enforced)
    if req is None:
        return f"minimum {name} usage per {kind} is {qstr(enforced)}.  No request is specified"
    if observed_req < wanted:
        return f"minimum {name} usage per {kind} is {qstr(enforced)}, but request is {qstr(req)}"
    if lim is not None and observed_lim < wanted:
        return f"minimum {name} usage per {kind} is {qstr(enforced)}, but limit is {qstr(lim)}"
    return None


def max_request_constraint(kind: str, name: str, enforced: Quantity, requests: ResourceList) -> str | None:
    req = requests.get(name)
    observed_req, _, wanted = _enforced_values(req, None, enforced)
    if req is None:
        return f"maximum {name} usage per {kind} is {qstr(enforced)}.  No request is specified"
    if observed_req > wanted:
        return f"maximum {name} usage per {kind} is {qstr(enforced)}, but request is {qstr(req)}"
    return None


def max_constraint(kind: str, name: str, enforced: Quantity, requests: ResourceList,
                   limits: ResourceList) -> str | None:
    req, lim = requests.get(name), limits.get(name)
    observed_req, observed_lim, wanted = _enforced_values(req, lim, enforced)
    if lim is None:
        return f"maximum {name} usage per {kind} is {qstr(enforced)}.  No limit is specified"
    if observed_lim > wanted:
        return f"maximum {name} usage per {kind} is {qstr(enforced)}, but limit is {qstr(lim)}"
    if req is not None and observed_req > wanted:
        return f"maximum {name} usage per {kind} is {qstr(enforced)}, but request is {qstr(req)}"
    return None


def ratio_constraint(kind: str, name: str, enforced: Quantity, requests: ResourceList,
                     limits: ResourceList) -> str | None:
    req, lim = requests.get(name), limits.get(name)
    observed_req, observed_lim, _ = _enforced_values(req, lim, enforced)
    text = qstr(enforced)
    if req is None or observed_req == 0:
        return (f"{name} max limit to request ratio per {kind} is {text}, but no request is specified or "
                f"request is 0")
    if lim is None or observed_lim == 0:
        return (f"{name} max limit to request ratio per {kind} is {text}, but no limit is specified or "
                f"limit is 0")
    observed = observed_lim / observed_req
    shown = observed
    allowed = float(_value(enforced))
    if _value(enforced) <= MAX_MILLI_VALUE:
        observed *= 1000
        allowed = float(_milli(enforced))
    if observed > allowed:
        return f"{name} max limit to request ratio per {kind} is {text}, but provided ratio is {shown:f}"
    return None

