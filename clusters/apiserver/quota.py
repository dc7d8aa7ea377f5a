"""The ResourceQuota admission plugin (plugin/pkg/admission/resourcequota, controller.go CheckRequest).

A new object of a kind some quota of its namespace counts is refused when it would take a resource over
the quota's hard limit:

    pods "extra" is forbidden: exceeded quota: team-quota, requested: pods=1, used: pods=3, limited: pods=3

and a pod is refused when a quota tracks cpu or memory (requests or limits) that one of its containers
does not set (the pod evaluator's Constraints):

    pods "web" is forbidden: failed quota: compute: must specify limits.cpu for: nginx; requests.cpu for: nginx

Upstream reads the usage from the quota's status and writes the new usage back in the same request; the
playground computes it from the objects the request's store holds (the database transaction of the
request, or the engine's state for a controller's create), so two creates cannot both slip under a limit
and a quota counts from the moment it exists (no "status unknown for quota"). The usage itself, and the
status the quota controller writes, come from the same evaluators
(clusters/engine/controllers/resourcequota.py).
"""
from __future__ import annotations

from clusters.engine.controllers.resourcequota import (
    POD_VALIDATION_SET,
    ResourceList,
    calculate_usage,
    compute_usage,
    evaluator_of,
    qstr,
    quota_matches,
    resource_list,
)

from . import errors
from .registry import ResourceType


def admit(obj: dict, rt: ResourceType, objects, now: float) -> None:
    """CheckRequest for the create of `obj`; raises the Forbidden ApiError."""
    if not rt.namespaced:
        return
    quotas = objects.list("ResourceQuota", obj["metadata"].get("namespace", ""))
    if not quotas:
        return
    interesting: list[tuple[dict, ResourceList]] = []
    for rq in sorted(quotas, key=lambda q: q["metadata"]["name"]):
        hard = resource_list((rq.get("spec") or {}).get("hard"))
        restricted = quota_matches(rq, rt.kind, obj, hard)
        if not restricted:
            continue
        if rt.kind == "Pod":
            missing = pod_constraints(obj, restricted)
            if missing:
                raise _forbidden(rt, obj, f"failed quota: {rq['metadata']['name']}: {missing}")
        interesting.append((rq, hard))
    if not interesting:
        return
    _, usage_of = evaluator_of(rt.kind)
    delta = {name: value for name, value in usage_of(obj, now).items() if value[0] != 0}
    if not delta:
        return
    for rq, hard in interesting:
        requested = {name: value for name, value in delta.items() if name in hard}
        if not requested:
            continue
        used = calculate_usage(rq, objects, now, hard=hard)
        exceeded = sorted(name for name, value in requested.items()
                          if (used[name][0] if name in used else 0) + value[0] > hard[name][0])
        if exceeded:
            raise _forbidden(rt, obj, (
                f"exceeded quota: {rq['metadata']['name']}, "
                f"requested: {_pretty({n: requested[n] for n in exceeded})}, "
                f"used: {_pretty({n: used[n] for n in exceeded if n in used})}, "
                f"limited: {_pretty({n: hard[n] for n in exceeded})}"))


def pod_constraints(pod: dict, restricted: list[str]) -> str:
    """podEvaluator.Constraints: each container (and init container) must request or limit every compute
    resource of the validation set the quota tracks — "must specify limits.cpu for: a,b; requests.cpu for: a"
    — or "" when all do."""
    required = set(restricted) & POD_VALIDATION_SET
    if not required:
        return ""
    spec = pod.get("spec") or {}
    missing: dict[str, set[str]] = {}
    for container in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        resources = container.get("resources") or {}
        have = set(compute_usage(resource_list(resources.get("requests")), resource_list(resources.get("limits"))))
        for name in required - have:
            missing.setdefault(name, set()).add(container.get("name", ""))
    if not missing:
        return ""
    return "must specify " + "; ".join(f"{name} for: {','.join(sorted(missing[name]))}" for name in sorted(missing))


def _pretty(items: ResourceList) -> str:
    """prettyPrint: name=value, by name, comma-separated."""
    return ",".join(f"{name}={qstr(items[name])}" for name in sorted(items))


def _forbidden(rt: ResourceType, obj: dict, message: str) -> errors.ApiError:
    name = obj["metadata"].get("name", "")
    return errors.ApiError(403, "Forbidden", f'{rt.group_resource} "{name}" is forbidden: {message}',
                           name=name, group=rt.group, kind=rt.resource)
