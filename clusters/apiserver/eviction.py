"""The Eviction API: `POST /api/v1/namespaces/<ns>/pods/<name>/eviction`, as kube-apiserver serves it.

What `kubectl drain` uses to remove a node's pods, and the kubernetes.io "Safely Drain a Node" page's
curl example. It follows pkg/registry/core/pod/storage/eviction.go (EvictionREST.Create):

* the body is a policy/v1 (or policy/v1beta1) Eviction whose metadata.name is the pod's name
  ("name in URL does not match name in Eviction object" otherwise); its deleteOptions are the
  options of the pod's deletion, and a dryRun in the query and one in the body must agree
  (propagateDryRun);
* a pod that is terminal (Succeeded/Failed), Pending or already terminating is deleted at once: it
  is no disruption a budget guards (canIgnorePDB);
* otherwise the PodDisruptionBudgets of the pod's namespace whose selector matches it decide: none,
  the pod goes; more than one, 500 "This pod has more than one PodDisruptionBudget, which the
  eviction subresource does not support."; one, checkAndDecrement — a budget the disruption
  controller has not seen in its current generation, or one with no disruption left, answers 429
  TooManyRequests "Cannot evict pod as it would violate the pod's disruption budget." with a
  DisruptionBudget cause (kubectl drain prints it and retries after 5 s); one that allows a
  disruption is decremented and the pod noted in status.disruptedPods, so the controller does not
  count it as healthy while it terminates. A pod that is not Ready may go without using up the budget
  when the budget is met anyway, or always with unhealthyPodEvictionPolicy AlwaysAllow;
* the pod then gets the DisruptionTarget condition (EvictionByEvictionAPI, "Eviction API: evicting")
  and is deleted with the eviction's DeleteOptions — gracefully, as any DELETE: the kubelet stops it
  within its grace period — and the answer is 201 with a Success Status.

Pure module: no Django imports.
"""
from __future__ import annotations

import copy
from typing import Any

from clusters.engine.resources import selector_from_label_selector
from clusters.engine.state import timestamp

from . import errors
from .pipeline import ApiServer, Result
from .registry import by_path
from .validation_decode import decode_errors

ACCEPTED_VERSIONS = ("policy/v1", "policy/v1beta1")
MAX_DISRUPTED_POD_SIZE = 2000
DISRUPTION_BUDGET_CAUSE = "DisruptionBudget"   # policyv1.DisruptionBudgetCause
VIOLATION = "Cannot evict pod as it would violate the pod's disruption budget."
MULTIPLE_BUDGETS = "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."
PODS = by_path("", "v1", "pods")
PDBS = by_path("policy", "v1", "poddisruptionbudgets")


def success(code: int = 201) -> dict[str, Any]:
    """metav1.Status{Status: Success} as the create handler answers it (the code filled in)."""
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": code}


def _check_eviction(body: Any, namespace: str, name: str) -> dict:
    if not isinstance(body, dict):
        raise errors.bad_request("Object 'Eviction' is not a JSON object; the request body must be one Eviction "
                                 "object")
    eviction = copy.deepcopy(body)
    api_version = eviction.get("apiVersion") or "policy/v1"
    kind = eviction.get("kind") or "Eviction"
    if api_version not in ACCEPTED_VERSIONS:
        raise errors.bad_request(f"the API version in the data ({api_version}) does not match the expected API "
                                 "version (policy/v1)")
    version = api_version.rsplit("/", 1)[-1]
    if kind != "Eviction":
        raise errors.bad_request(f'{kind} in version "{version}" cannot be handled as a Eviction: the kind in the '
                                 f"body ({kind}) does not match the resource (Eviction)")
    type_error, _unknown = decode_errors(eviction, "io.k8s.api.policy.v1.Eviction", "Ignore")
    if type_error is not None:
        raise errors.bad_request(f'Eviction in version "{version}" cannot be handled as a Eviction: {type_error}')
    meta = eviction.get("metadata") or {}
    if meta.get("namespace") and meta["namespace"] != namespace:
        raise errors.bad_request("the namespace of the provided object does not match the namespace sent on the "
                                 "request")
    if meta.get("name", "") != name:
        raise errors.bad_request("name in URL does not match name in Eviction object")
    return eviction


def _delete_options(eviction: dict, query_dry_run: list[str]) -> dict:
    """propagateDryRun: the query's dryRun goes into the eviction's DeleteOptions; both set must agree."""
    options = eviction.get("deleteOptions")
    if options is None:
        return {"dryRun": list(query_dry_run)} if query_dry_run else {}
    options = dict(options)
    body_dry_run = list(options.get("dryRun") or [])
    if not body_dry_run:
        if query_dry_run:
            options["dryRun"] = list(query_dry_run)
        return options
    if query_dry_run and query_dry_run != body_dry_run:
        raise errors.internal(
            f"Non-matching dry-run options in request and content: [{' '.join(query_dry_run)}] and "
            f"[{' '.join(body_dry_run)}]")
    return options


def _is_ready(pod: dict) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or ())


def _can_ignore_pdb(pod: dict) -> bool:
    phase = (pod.get("status") or {}).get("phase")
    return phase in ("Succeeded", "Failed", "Pending") or bool(pod["metadata"].get("deletionTimestamp"))


def _should_enforce_resource_version(pod: dict) -> bool:
    phase = (pod.get("status") or {}).get("phase")
    return phase not in ("Succeeded", "Failed") and not pod["metadata"].get("deletionTimestamp")


def _resource_version_unset(options: dict) -> bool:
    return (options.get("preconditions") or {}).get("resourceVersion") is None


def _with_resource_version(options: dict, resource_version: str | None) -> dict:
    options = dict(options)
    options["preconditions"] = {**(options.get("preconditions") or {}), "resourceVersion": resource_version}
    return options


def matching_budgets(api: ApiServer, pod: dict) -> list[dict]:
    """getPodDisruptionBudgets: the budgets of the pod's namespace whose selector matches its labels (a
    missing selector matches nothing; policy/v1's empty selector matches every pod)."""
    labels = pod["metadata"].get("labels") or {}
    found = []
    for pdb in api.store.list("PodDisruptionBudget", pod["metadata"].get("namespace", "")):
        selector = (pdb.get("spec") or {}).get("selector")
        if selector is None:
            continue
        try:
            if not selector_from_label_selector(selector).matches(labels):
                continue
        except ValueError:
            continue  # an invalid selector matches no pod
        found.append(pdb)
    return found


def too_many_requests(message: str, cause: str, retry_after: int = 0) -> errors.ApiError:
    """errors.NewTooManyRequests with the DisruptionBudget cause (createTooManyRequestsError)."""
    error = errors.ApiError(429, "TooManyRequests", message,
                            causes=[{"reason": DISRUPTION_BUDGET_CAUSE, "message": cause}],
                            retry_after=retry_after or None)
    return error


def disruption_allowed_condition(status: dict, now: float) -> None:
    """pdbhelper.UpdateDisruptionAllowedCondition: DisruptionAllowed True/SufficientPods while a
    disruption is allowed, False/InsufficientPods otherwise (apimeta.SetStatusCondition: the transition
    time moves only when the status does)."""
    allowed = int(status.get("disruptionsAllowed") or 0) > 0
    wanted = {"type": "DisruptionAllowed", "status": "True" if allowed else "False",
              "observedGeneration": status.get("observedGeneration"),
              "lastTransitionTime": timestamp(now), "reason": "SufficientPods" if allowed else "InsufficientPods",
              "message": ""}
    if not wanted["observedGeneration"]:
        del wanted["observedGeneration"]
    set_status_condition(status, wanted)


def set_status_condition(status: dict, wanted: dict) -> None:
    """apimeta.SetStatusCondition on status.conditions."""
    conditions = status.setdefault("conditions", [])
    for index, existing in enumerate(conditions):
        if existing.get("type") == wanted["type"]:
            updated = dict(wanted)
            if existing.get("status") == wanted["status"] and existing.get("lastTransitionTime"):
                updated["lastTransitionTime"] = existing["lastTransitionTime"]
            conditions[index] = updated
            return
    conditions.append(dict(wanted))


def _check_and_decrement(api: ApiServer, pod_name: str, pdb: dict, dry_run: bool) -> None:
    meta, status = pdb["metadata"], pdb.get("status") or {}
    name = meta["name"]
    if int(status.get("observedGeneration") or 0) < int(meta.get("generation") or 0):
        raise too_many_requests(VIOLATION, f"The disruption budget {name} is still being processed by the server.",
                                retry_after=10)
    allowed = int(status.get("disruptionsAllowed") or 0)
    if allowed < 0:
        raise errors.forbidden(f'poddisruptionbudget.policy "{name}" is forbidden: pdb disruptions allowed is '
                               "negative", resource="poddisruptionbudget", group="policy", name=name)
    if len(status.get("disruptedPods") or {}) > MAX_DISRUPTED_POD_SIZE:
        raise errors.forbidden(f'poddisruptionbudget.policy "{name}" is forbidden: DisruptedPods map too big - too '
                               "many evictions not confirmed by PDB controller",
                               resource="poddisruptionbudget", group="policy", name=name)
    if allowed == 0:
        desired, current = int(status.get("desiredHealthy") or 0), int(status.get("currentHealthy") or 0)
        raise too_many_requests(VIOLATION, f"The disruption budget {name} needs {desired} healthy pods and has "
                                           f"{current} currently")
    if dry_run:
        return
    updated = copy.deepcopy(pdb)
    new_status = updated.setdefault("status", {})
    new_status["disruptionsAllowed"] = allowed - 1
    if allowed - 1 == 0:
        disruption_allowed_condition(new_status, api.now)
    # The eviction handler tells the disruption controller that this pod is about to go, so that it does
    # not count it as healthy while it terminates (for two minutes at most: DeletionTimeout).
    disrupted = dict(new_status.get("disruptedPods") or {})
    disrupted[pod_name] = timestamp(api.now)
    new_status["disruptedPods"] = disrupted
    api.store.write("MODIFIED", updated)


def _add_condition_and_delete(api: ApiServer, pod: dict, options: dict, dry_run: bool) -> None:
    """addConditionAndDeletePod: the DisruptionTarget condition (through the status store, with the
    preconditions checked against the latest pod), then the DELETE with the eviction's options."""
    namespace, name = pod["metadata"].get("namespace", ""), pod["metadata"]["name"]
    if not dry_run:
        preconditions = options.get("preconditions") or {}
        meta = pod["metadata"]
        if preconditions.get("uid") and preconditions["uid"] != meta.get("uid"):
            raise errors.conflict("pods", "", name, f"Precondition failed: UID in precondition: "
                                  f"{preconditions['uid']}, UID in object meta: {meta.get('uid')}")
        wanted_rv = preconditions.get("resourceVersion")
        if wanted_rv and wanted_rv != meta.get("resourceVersion"):
            raise errors.conflict("pods", "", name, f"Precondition failed: ResourceVersion in precondition: "
                                  f"{wanted_rv}, ResourceVersion in object meta: {meta.get('resourceVersion')}")
        updated = copy.deepcopy(pod)
        conditions = updated.setdefault("status", {}).setdefault("conditions", [])
        wanted = {"type": "DisruptionTarget", "status": "True", "lastProbeTime": None,
                  "lastTransitionTime": timestamp(api.now), "reason": "EvictionByEvictionAPI",
                  "message": "Eviction API: evicting"}
        existing = next((c for c in conditions if c.get("type") == "DisruptionTarget"), None)
        if existing is None:
            conditions.append(wanted)
        elif (existing.get("status"), existing.get("reason"), existing.get("message")) != (
                wanted["status"], wanted["reason"], wanted["message"]):
            if existing.get("status") == wanted["status"]:
                wanted["lastTransitionTime"] = existing.get("lastTransitionTime")
            existing.update(wanted)
        if updated != pod:
            api.store.write("MODIFIED", updated)
            if not _resource_version_unset(options):
                # The condition was this request's own write: the caller's precondition is about the pod before it.
                options = _with_resource_version(options, updated["metadata"]["resourceVersion"])
    api.delete(PODS, namespace, name, options, dry_run=dry_run)


def evict(api: ApiServer, namespace: str, name: str, body: Any, *, dry_run: list[str] | None = None) -> Result:
    """EvictionREST.Create: evict pod `name` of `namespace` as `body` (an Eviction) asks.

    `dry_run` is the request's dryRun query parameter (["All"] for `?dryRun=All`)."""
    eviction = _check_eviction(body, namespace, name)
    options = _delete_options(eviction, list(dry_run or []))
    api.validate_delete_options(options)
    is_dry_run = "All" in (options.get("dryRun") or [])

    pod = api.store.get("Pod", namespace, name)
    if pod is None:
        raise errors.not_found("pods", "", name)
    if _can_ignore_pdb(pod):
        # Its disruption already happened (or is happening): no budget to ask.
        if _should_enforce_resource_version(pod) and _resource_version_unset(options):
            options = _with_resource_version(options, pod["metadata"].get("resourceVersion"))
        _add_condition_and_delete(api, pod, options, is_dry_run)
        return Result(success(), 201)

    budgets = matching_budgets(api, pod)
    update_deletion_options = False
    if len(budgets) > 1:
        return Result({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                       "message": MULTIPLE_BUDGETS, "code": 500}, 500)
    if budgets:
        pdb = budgets[0]
        status = pdb.get("status") or {}
        policy = (pdb.get("spec") or {}).get("unhealthyPodEvictionPolicy")
        desired, current = int(status.get("desiredHealthy") or 0), int(status.get("currentHealthy") or 0)
        if not _is_ready(pod) and (policy == "AlwaysAllow" or (current >= desired and desired > 0)):
            # An unhealthy pod does not count towards the budget: deleting it costs nothing.
            update_deletion_options = True
        else:
            _check_and_decrement(api, name, pdb, is_dry_run)

    if update_deletion_options:
        # The pod must not have turned Ready since the budget was looked at.
        options = _with_resource_version(options, pod["metadata"].get("resourceVersion"))
    _add_condition_and_delete(api, pod, options, is_dry_run)
    return Result(success(), 201)
