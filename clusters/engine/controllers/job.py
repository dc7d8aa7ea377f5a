"""The Job controller (upstream pkg/controller/job: job_controller.go, backoff_utils.go,
indexed_job_utils.go) and the TTL-after-finished controller (pkg/controller/ttlafterfinished).

One `syncJob` per Job per pass, as upstream in v1.37 (JobPodReplacementPolicy, JobManagedBy,
JobSuccessPolicy and PodIndexLabel are GA, so terminal conditions are delayed):

* pods come from the template with generateName `<job>-` (Indexed: `<job>-<index>-`, the
  completion-index annotation and label, hostname `<job>-<index>`, JOB_COMPLETION_INDEX),
  the controller ownerReference and the `batch.kubernetes.io/job-tracking` finalizer;
* finished pods are counted into status.succeeded / failed / completedIndexes and their
  finalizer is removed in the same pass (upstream goes through
  status.uncountedTerminatedPods first; the end state is the same, so that list stays `{}`);
* failed pods are replaced after the pod-failure back-off (10 s doubling, capped at
  10 minutes: MaxJobPodFailureBackOff in v1.37; the docs' "six minutes" is the old value);
* restartPolicy OnFailure counts container restarts against backoffLimit;
* backoffLimit / activeDeadlineSeconds failures put FailureTarget first, delete the active
  pods, and Failed follows once no pod is terminating; success puts SuccessCriteriaMet,
  then Complete (reason CompletionsReached), with completionTime;
* suspend deletes the active pods (condition Suspended / JobSuspended), resume resets
  startTime (JobResumed);
* ttlSecondsAfterFinished deletes the finished Job and its pods (the TTL controller
  deletes with Foreground propagation, so the pods go first).

Pod deletion follows the API server's rules: a pod still running on a node gets a
deletionTimestamp and its grace period (the kubelet finishes it); an unscheduled or finished
pod goes at once, unless a finalizer holds it. Not simulated: podFailurePolicy,
successPolicy, backoffLimitPerIndex, adoption of orphan pods that match the selector.
"""
from __future__ import annotations

from typing import Any

from ..state import ClusterState, parse_timestamp, timestamp
from . import gc
from .podutil import (
    clone,
    controller_ref,
    create_refused,
    create_succeeded,
    delete_pod,
    is_pod_ready,
    is_terminal,
    may_create,
    new_controller_ref,
)

COMPONENT = "job-controller"
TRACKING_FINALIZER = "batch.kubernetes.io/job-tracking"
COMPLETION_INDEX = "batch.kubernetes.io/job-completion-index"  # annotation and label key
COMPLETION_INDEX_ENV = "JOB_COMPLETION_INDEX"
JOB_CONTROLLER_NAME = "kubernetes.io/job-controller"

DEFAULT_POD_FAILURE_BACKOFF = 10.0  # DefaultJobPodFailureBackOff
MAX_POD_FAILURE_BACKOFF = 600.0  # MaxJobPodFailureBackOff (10 * time.Minute)
SYNC_JOB_BATCH_PERIOD = 1.0  # enqueueSyncJobWithDelay never waits less
MAX_POD_CREATE_DELETE_PER_SYNC = 500
MAX_GENERATED_NAME_LENGTH = 58  # validation.DNS1123SubdomainMaxLength-ish: 63 - 5 random chars

MSG_BACKOFF_LIMIT = "Job has reached the specified backoff limit"
MSG_DEADLINE = "Job was active longer than specified deadline"
MSG_COMPLETIONS_REACHED = "Reached expected number of succeeded pods"


# --------------------------------------------------------------------------- pod helpers

def _phase(pod: dict) -> str:
    return (pod.get("status") or {}).get("phase") or "Pending"


def _has_tracking_finalizer(pod: dict) -> bool:
    return TRACKING_FINALIZER in (pod["metadata"].get("finalizers") or ())


def _completion_index(pod: dict) -> int:
    """getCompletionIndex: -1 when the annotation is missing or not a non-negative integer."""
    value = (pod["metadata"].get("annotations") or {}).get(COMPLETION_INDEX)
    if value is None:
        return -1
    try:
        index = int(value)
    except (TypeError, ValueError):
        return -1
    return index if index >= 0 else -1


def _finished_time(pod: dict) -> float:
    """backoff_utils getFinishedTime: last container finish, else Ready=False transition, else
    deletionTimestamp - grace, else creationTimestamp."""
    status = pod.get("status") or {}
    latest: float | None = None
    statuses = status.get("containerStatuses") or []
    for cs in statuses:
        finished = parse_timestamp(((cs.get("state") or {}).get("terminated") or {}).get("finishedAt"))
        if finished is None:
            latest = None
            break
        latest = finished if latest is None else max(latest, finished)
    if statuses and latest is not None:
        return latest
    for cond in status.get("conditions") or []:
        if cond.get("type") == "Ready" and cond.get("status") == "False":
            when = parse_timestamp(cond.get("lastTransitionTime"))
            if when is not None:
                return when
    meta = pod["metadata"]
    deleted = parse_timestamp(meta.get("deletionTimestamp"))
    if deleted is not None:
        return deleted - float(meta.get("deletionGracePeriodSeconds") or 0)
    return parse_timestamp(meta.get("creationTimestamp")) or 0.0


def _drop_tracking_finalizer(pod: dict) -> None:
    meta = pod["metadata"]
    remaining = [f for f in meta.get("finalizers") or () if f != TRACKING_FINALIZER]
    if remaining:
        meta["finalizers"] = remaining
    else:
        meta.pop("finalizers", None)


def _delete_pod(state: ClusterState, pod: dict, *, remove_tracking: bool) -> None:
    """DELETE through the API: finalizers hold the pod, a running pod gets its grace period."""
    if remove_tracking and _has_tracking_finalizer(pod):
        _drop_tracking_finalizer(pod)
        if pod["metadata"].get("deletionTimestamp"):
            _remove_tracking_finalizer(state, pod)
            return
    if pod["metadata"].get("deletionTimestamp"):
        return
    delete_pod(state, pod)


def _remove_tracking_finalizer(state: ClusterState, pod: dict) -> None:
    """Patch the finalizer away; like the API server, a pod being deleted with no grace left goes."""
    meta = pod["metadata"]
    _drop_tracking_finalizer(pod)
    if meta.get("deletionTimestamp") and not meta.get("finalizers") and not meta.get("deletionGracePeriodSeconds"):
        state.delete(pod)
    else:
        state.update(pod)


# --------------------------------------------------------------------------- job helpers

def _condition(conditions: list[dict], ctype: str) -> dict | None:
    for cond in conditions:
        if cond.get("type") == ctype:
            return cond
    return None


def _new_condition(ctype: str, status: str, reason: str, message: str, now: float) -> dict:
    cond = {"type": ctype, "status": status, "lastProbeTime": timestamp(now), "lastTransitionTime": timestamp(now)}
    if reason:
        cond["reason"] = reason
    if message:
        cond["message"] = message
    return cond


def _ensure_condition(conditions: list[dict], ctype: str, status: str, reason: str, message: str,
                      now: float) -> bool:
    """ensureJobConditionStatus: update or append (never append a False one). True if changed."""
    for i, cond in enumerate(conditions):
        if cond.get("type") == ctype:
            if cond.get("status") != status or cond.get("reason", "") != reason or cond.get("message", "") != message:
                conditions[i] = _new_condition(ctype, status, reason, message, now)
                return True
            return False
    if status != "False":
        conditions.append(_new_condition(ctype, status, reason, message, now))
        return True
    return False


def finished_condition(job: dict) -> dict | None:
    """The Complete or Failed condition with status True (util.IsJobFinished), if any."""
    for cond in (job.get("status") or {}).get("conditions") or []:
        if cond.get("type") in ("Complete", "Failed") and cond.get("status") == "True":
            return cond
    return None


def is_job_finished(job: dict) -> bool:
    return finished_condition(job) is not None


def _is_pod_failed(pod: dict, job: dict) -> bool:
    """isPodFailed: Failed, or (unless only failed pods are replaced) being deleted unsucceeded."""
    if _phase(pod) == "Failed":
        return True
    spec = job.get("spec") or {}
    if spec.get("podReplacementPolicy") == "Failed" or spec.get("podFailurePolicy") is not None:
        return False
    return bool(pod["metadata"].get("deletionTimestamp")) and _phase(pod) != "Succeeded"


def _past_backoff_limit_on_failure(job: dict, pods: list[dict], backoff_limit: int) -> bool:
    spec = job.get("spec") or {}
    if ((spec.get("template") or {}).get("spec") or {}).get("restartPolicy") != "OnFailure":
        return False
    restarts = 0
    for pod in pods:
        if _phase(pod) in ("Running", "Pending"):
            status = pod.get("status") or {}
            for cs in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
                restarts += int(cs.get("restartCount") or 0)
    if backoff_limit == 0:
        return restarts > 0
    return restarts >= backoff_limit


# --------------------------------------------------------------------------- indexes

def parse_indexes(text: str | None, completions: int) -> set[int]:
    """parseIndexesFromString: '1,3-5' → {1, 3, 4, 5}, ignoring what is invalid or ≥ completions."""
    found: set[int] = set()
    for part in (text or "").split(","):
        if not part:
            continue
        first, _, last = part.partition("-")
        try:
            low = int(first)
            high = int(last) if last else low
        except ValueError:
            continue
        found.update(range(max(low, 0), min(high, completions - 1) + 1))
    return found


def format_indexes(indexes: set[int]) -> str:
    """orderedIntervals.String: runs of 3+ as 'a-b', a run of two as 'a,b'."""
    parts: list[str] = []
    ordered = sorted(indexes)
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        first, last = ordered[i], ordered[j]
        if last == first:
            parts.append(str(first))
        elif last == first + 1:
            parts.append(f"{first},{last}")
        else:
            parts.append(f"{first}-{last}")
        i = j + 1
    return ",".join(parts)


def _first_pending_indexes(non_pending: set[int], count: int, completions: int) -> list[int]:
    result: list[int] = []
    candidate = 0
    while candidate < completions and len(result) < count:
        if candidate not in non_pending:
            result.append(candidate)
        candidate += 1
    return result


def _active_pods_sort_key(pod: dict) -> tuple:
    """controller.ActivePods: unassigned < assigned, Pending < Unknown < Running, not ready < ready,
    ready more recently first, more restarts first, newer first."""
    phase_rank = {"Pending": 0, "Unknown": 1, "Running": 2}.get(_phase(pod), 0)
    ready = is_pod_ready(pod)
    ready_since = 0.0
    if ready:
        for cond in (pod.get("status") or {}).get("conditions") or []:
            if cond.get("type") == "Ready":
                ready_since = parse_timestamp(cond.get("lastTransitionTime")) or 0.0
    restarts = sum(int(cs.get("restartCount") or 0) for cs in (pod.get("status") or {}).get("containerStatuses") or [])
    created = parse_timestamp(pod["metadata"].get("creationTimestamp")) or 0.0
    return (bool((pod.get("spec") or {}).get("nodeName")), phase_rank, ready, -ready_since, -restarts, -created,
            pod["metadata"]["name"])


def _active_pods_for_removal(indexed: bool, completions: int | None, pods: list[dict], rm_at_least: int) -> list[dict]:
    rm: list[dict] = []
    left: list[dict] = []
    if indexed and completions is not None:
        by_index: dict[int, list[dict]] = {}
        for pod in pods:
            ix = _completion_index(pod)
            if ix < 0 or ix >= completions:
                rm.append(pod)
            else:
                by_index.setdefault(ix, []).append(pod)
        for ix in sorted(by_index):
            same = sorted(by_index[ix], key=_active_pods_sort_key)
            rm.extend(same[:-1])
            left.append(same[-1])
    else:
        left = list(pods)
    if len(rm) < rm_at_least:
        left.sort(key=_active_pods_sort_key)
        rm.extend(left[:rm_at_least - len(rm)])
    return rm


# --------------------------------------------------------------------------- back-off

def _backoff_record(notes: dict, new_succeeded: list[dict], new_failed: list[dict]) -> tuple[int, float | None]:
    """backoffStore.newBackoffRecord: consecutive failures since the last success, last failure time."""
    failures = int(notes.get("failuresAfterLastSuccess", 0))
    last_failure = notes.get("lastFailureTime")
    succeeded_times = sorted(_finished_time(p) for p in new_succeeded)
    failed_times = sorted(_finished_time(p) for p in new_failed)
    if not succeeded_times:
        if not failed_times:
            return failures, last_failure
        return failures + len(failed_times), failed_times[-1]
    failures, last_failure = 0, None
    last_success = succeeded_times[-1]
    for failed_at in reversed(failed_times):
        if failed_at <= last_success:
            break
        if last_failure is None:
            last_failure = failed_at
        failures += 1
    return failures, last_failure


def backoff_remaining(failures: int, last_failure: float | None, now: float) -> float:
    """getRemainingTimeForFailuresCount: 10 s, 20 s, 40 s … capped, minus the time already waited."""
    if failures == 0 or last_failure is None:
        return 0.0
    delay = DEFAULT_POD_FAILURE_BACKOFF
    for _ in range(1, failures):
        delay *= 2
        if delay >= MAX_POD_FAILURE_BACKOFF:
            delay = MAX_POD_FAILURE_BACKOFF
            break
    elapsed = now - last_failure
    return 0.0 if delay < elapsed else delay - elapsed


# --------------------------------------------------------------------------- pod creation

def _pod_from_template(job: dict, index: int) -> dict:
    """controller.GetPodFromTemplate plus the Job's additions (finalizer, completion index)."""
    meta = job["metadata"]
    template = (job.get("spec") or {}).get("template") or {}
    tmeta = template.get("metadata") or {}
    spec = clone(template.get("spec") or {})
    labels = dict(tmeta.get("labels") or {})
    annotations = dict(tmeta.get("annotations") or {})
    finalizers = list(tmeta.get("finalizers") or [])
    if TRACKING_FINALIZER not in finalizers:
        finalizers.append(TRACKING_FINALIZER)
    generate_name = meta["name"] + "-"
    if index >= 0:
        for container in (spec.get("initContainers") or []) + (spec.get("containers") or []):
            env = container.setdefault("env", [])
            if not any(e.get("name") == COMPLETION_INDEX_ENV for e in env):
                env.append({"name": COMPLETION_INDEX_ENV, "valueFrom": {"fieldRef": {
                    "fieldPath": f"metadata.annotations['{COMPLETION_INDEX}']"}}})
        annotations[COMPLETION_INDEX] = str(index)
        labels[COMPLETION_INDEX] = str(index)
        spec["hostname"] = f"{meta['name']}-{index}"
        suffix = f"-{index}-"
        generate_name = meta["name"] + suffix
        if len(generate_name) > MAX_GENERATED_NAME_LENGTH:
            generate_name = meta["name"][:MAX_GENERATED_NAME_LENGTH - len(suffix)] + suffix
    pod_meta: dict[str, Any] = {"generateName": generate_name, "namespace": meta.get("namespace", "default")}
    if labels:
        pod_meta["labels"] = labels
    if annotations:
        pod_meta["annotations"] = annotations
    pod_meta["finalizers"] = finalizers
    pod_meta["ownerReferences"] = [new_controller_ref(job)]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta, "spec": spec}


# --------------------------------------------------------------------------- sync

class _Ctx:
    """syncJobCtx: what one sync of one Job knows."""

    __slots__ = ("job", "pods", "active", "ready", "terminating", "succeeded", "indexed", "completions",
                 "succeeded_indexes")

    def __init__(self, job: dict, pods: list[dict]) -> None:
        self.job = job
        self.pods = pods
        self.active = [p for p in pods if not is_terminal(p) and not p["metadata"].get("deletionTimestamp")]
        self.ready = sum(1 for p in self.active if is_pod_ready(p))
        self.terminating = sum(1 for p in pods if p["metadata"].get("deletionTimestamp") and not is_terminal(p))
        self.succeeded = 0
        spec = job.get("spec") or {}
        self.indexed = spec.get("completionMode") == "Indexed" and spec.get("completions") is not None
        self.completions = spec.get("completions")
        self.succeeded_indexes: set[int] = set()


def _valid_for_job(ctx: _Ctx, pod: dict) -> bool:
    if not ctx.indexed:
        return True
    ix = _completion_index(pod)
    return 0 <= ix < ctx.completions


def _manage_job(state: ClusterState, ctx: _Ctx, backoff: tuple[int, float | None]) -> int:
    """manageJob: delete extra pods or create missing ones (after the back-off). Returns active."""
    job = ctx.job
    spec = job.get("spec") or {}
    active = len(ctx.active)
    parallelism = int(spec.get("parallelism", 1) or 0)
    if spec.get("suspend"):
        to_delete = _active_pods_for_removal(ctx.indexed, ctx.completions, ctx.active, active)
        removed = _delete_job_pods(state, job, to_delete, ctx)
        return active - removed
    if ctx.completions is None:
        want = active if ctx.succeeded > 0 else parallelism
    else:
        want = max(0, min(ctx.completions - ctx.succeeded, parallelism))
    rm_at_least = max(0, active - want)
    to_delete = _active_pods_for_removal(ctx.indexed, ctx.completions, ctx.active, rm_at_least)
    to_delete = to_delete[:MAX_POD_CREATE_DELETE_PER_SYNC]
    if to_delete:
        return active - _delete_job_pods(state, job, to_delete, ctx)
    terminating = ctx.terminating if spec.get("podReplacementPolicy") == "Failed" else 0
    diff = want - terminating - active
    if diff <= 0:
        return active
    remaining = backoff_remaining(backoff[0], backoff[1], state.now)
    if remaining > 0:
        state.wake_at(state.now + max(remaining, SYNC_JOB_BATCH_PERIOD))
        return active
    diff = min(diff, MAX_POD_CREATE_DELETE_PER_SYNC)
    indexes = [-1] * diff
    if ctx.indexed:
        non_pending = set(ctx.succeeded_indexes)
        non_pending.update(_completion_index(p) for p in ctx.active)
        if spec.get("podReplacementPolicy") == "Failed":
            non_pending.update(_completion_index(p) for p in ctx.pods
                               if p["metadata"].get("deletionTimestamp") and not is_terminal(p))
        indexes = _first_pending_indexes(non_pending, diff, ctx.completions)
    if not may_create(state, job, active):
        return active
    refused = False
    for index in indexes:
        try:
            pod = state.create(_pod_from_template(job, index))
        except ValueError as exc:  # refused by admission (a quota, a LimitRange): requeued with back-off
            state.event(job, "Warning", "FailedCreate", f"Error creating: {exc}", component=COMPONENT)
            refused = True
            break
        state.event(job, "Normal", "SuccessfulCreate", f"Created pod: {pod['metadata']['name']}", component=COMPONENT)
        active += 1
    if refused:
        create_refused(state, job, active)
    else:
        create_succeeded(state, job)
    return active


def _delete_job_pods(state: ClusterState, job: dict, pods: list[dict], ctx: _Ctx) -> int:
    """deleteJobPods: the finalizer goes first (these pods are not counted as failures)."""
    for pod in pods:
        if is_pod_ready(pod):
            ctx.ready -= 1
        _delete_pod(state, pod, remove_tracking=True)
        ctx.terminating += 1
        state.event(job, "Normal", "SuccessfulDelete", f"Deleted pod: {pod['metadata']['name']}", component=COMPONENT)
    return len(pods)


def _sync_job(state: ClusterState, job: dict, pods: list[dict]) -> None:
    now = state.now
    spec = job.get("spec") or {}
    if spec.get("managedBy") not in (None, JOB_CONTROLLER_NAME):
        return
    if spec.get("completionMode") not in (None, "NonIndexed", "Indexed"):
        return  # upstream records UnknownCompletionMode; validation makes it unreachable
    old_status = job.get("status") or {}
    status = dict(old_status)
    conditions = [dict(c) for c in old_status.get("conditions") or []]
    ctx = _Ctx(job, pods)
    suspended = bool(spec.get("suspend"))
    backoff_limit = int(spec.get("backoffLimit", 6))

    new_succeeded: list[dict] = []
    new_failed: list[dict] = []
    for pod in pods:
        if not _has_tracking_finalizer(pod) or not _valid_for_job(ctx, pod):
            continue
        if _phase(pod) == "Succeeded":
            new_succeeded.append(pod)
        elif _is_pod_failed(pod, job):
            new_failed.append(pod)
    ctx.succeeded = int(old_status.get("succeeded") or 0) + len(new_succeeded)
    failed = int(old_status.get("failed") or 0) + len(new_failed)

    if not status.get("startTime") and not suspended:
        status["startTime"] = timestamp(now)
    notes = state.sim(job)
    backoff = _backoff_record(notes, new_succeeded, new_failed)

    # The finishing condition: (type, reason, message).
    finishing: tuple[str, str, str] | None = None
    met = _condition(conditions, "SuccessCriteriaMet")
    target = _condition(conditions, "FailureTarget")
    if met is not None and met.get("status") == "True":
        finishing = ("SuccessCriteriaMet", met.get("reason", ""), met.get("message", ""))
    elif target is not None and target.get("status") == "True":
        finishing = ("Failed", target.get("reason", ""), target.get("message", ""))
    else:
        deadline = spec.get("activeDeadlineSeconds")
        started = parse_timestamp(status.get("startTime"))
        if failed > backoff_limit or _past_backoff_limit_on_failure(job, pods, backoff_limit):
            finishing = ("FailureTarget", "BackoffLimitExceeded", MSG_BACKOFF_LIMIT)
        elif deadline is not None and started is not None and not suspended and now - started >= int(deadline):
            finishing = ("FailureTarget", "DeadlineExceeded", MSG_DEADLINE)
        elif deadline is not None and started is not None and not suspended:
            state.wake_at(started + int(deadline))

    if ctx.indexed:
        previous = parse_indexes(old_status.get("completedIndexes"), ctx.completions)
        ctx.succeeded_indexes = previous | {_completion_index(p) for p in new_succeeded}
        ctx.succeeded = len(ctx.succeeded_indexes)

    suspend_changed = False
    active = len(ctx.active)
    if finishing is not None:
        # deleteActivePods: the finalizers stay, so these pods are counted as failed below.
        for pod in ctx.active:
            if is_pod_ready(pod):
                ctx.ready -= 1
            _delete_pod(state, pod, remove_tracking=False)
            ctx.terminating += 1
            state.event(job, "Normal", "SuccessfulDelete", f"Deleted pod: {pod['metadata']['name']}",
                        component=COMPONENT)
        active = 0
    else:
        manage_called = False
        if not job["metadata"].get("deletionTimestamp"):
            active = _manage_job(state, ctx, backoff)
            manage_called = True
        if ctx.completions is None:
            complete = ctx.succeeded > 0 and active == 0
        else:
            complete = ctx.succeeded >= ctx.completions and active == 0
        if complete:
            finishing = ("SuccessCriteriaMet", "CompletionsReached", MSG_COMPLETIONS_REACHED)
        elif manage_called:
            if suspended:
                if _ensure_condition(conditions, "Suspended", "True", "JobSuspended", "Job suspended", now):
                    suspend_changed = True
                    state.event(job, "Normal", "Suspended", "Job suspended", component=COMPONENT)
            elif _ensure_condition(conditions, "Suspended", "False", "JobResumed", "Job resumed", now):
                suspend_changed = True
                state.event(job, "Normal", "Resumed", "Job resumed", component=COMPONENT)
                status["startTime"] = timestamp(now)  # activeDeadlineSeconds counts from the resume

    # trackJobStatusAndRemoveFinalizers: count finished pods, then release them.
    succeeded_count = int(old_status.get("succeeded") or 0)
    failed_count = int(old_status.get("failed") or 0)
    job_deleting = bool(job["metadata"].get("deletionTimestamp"))
    failing = finishing is not None and finishing[0] != "SuccessCriteriaMet"
    for pod in pods:
        if not _has_tracking_finalizer(pod):
            continue
        considered_failed = _is_pod_failed(pod, job)
        phase = _phase(pod)
        if not (job_deleting or finishing is not None or phase == "Succeeded" or considered_failed):
            continue
        if phase == "Succeeded":
            if not ctx.indexed:
                succeeded_count += 1
        elif (considered_failed or failing) and _valid_for_job(ctx, pod):
            failed_count += 1
        _remove_tracking_finalizer(state, pod)
    if ctx.indexed:
        succeeded_count = len(ctx.succeeded_indexes)
        text = format_indexes(ctx.succeeded_indexes)
        if text:
            status["completedIndexes"] = text
        else:
            status.pop("completedIndexes", None)
    for key, value in (("succeeded", succeeded_count), ("failed", failed_count)):
        if value:
            status[key] = value
        else:
            status.pop(key, None)

    if finishing is not None and finishing[0] == "FailureTarget":
        conditions.append(_new_condition("FailureTarget", "True", finishing[1], finishing[2], now))
        finishing = ("Failed", finishing[1], finishing[2])
    elif finishing is not None and finishing[0] == "SuccessCriteriaMet":
        if met is None or met.get("status") != "True":
            conditions.append(_new_condition("SuccessCriteriaMet", "True", finishing[1], finishing[2], now))
        finishing = ("Complete", finishing[1], finishing[2])

    finished_now = False
    if finishing is not None and ctx.terminating == 0:  # enactJobFinished
        ctype, reason, message = finishing
        _ensure_condition(conditions, ctype, "True", reason, message, now)
        if ctype == "Complete":
            status["completionTime"] = _condition(conditions, "Complete")["lastTransitionTime"]
        finished_now = True

    if active:
        status["active"] = active
    else:
        status.pop("active", None)
    status["ready"] = max(ctx.ready, 0)
    status["terminating"] = ctx.terminating
    status["uncountedTerminatedPods"] = {}
    if conditions:
        status["conditions"] = conditions
    else:
        status.pop("conditions", None)

    failures, last_failure = backoff
    if finished_now:
        notes.pop("failuresAfterLastSuccess", None)
        notes.pop("lastFailureTime", None)
    elif failures:
        notes["failuresAfterLastSuccess"] = failures
        notes["lastFailureTime"] = last_failure
    else:
        notes.pop("failuresAfterLastSuccess", None)
        notes.pop("lastFailureTime", None)

    if status != old_status or suspend_changed:
        job["status"] = status
        state.update(job)
    if finished_now:
        ctype, reason, message = finishing
        if ctype == "Complete":
            completions = ctx.completions
            if completions is not None and succeeded_count > completions:
                state.event(job, "Warning", "TooManySucceededPods",
                            "Too many succeeded pods running after completion count reached", component=COMPONENT)
            state.event(job, "Normal", "Completed", "Job completed", component=COMPONENT)
        else:
            state.event(job, "Warning", reason, message, component=COMPONENT)
        _ttl_after_finished(state, job, pods)


# --------------------------------------------------------------------------- TTL after finished

def _ttl_after_finished(state: ClusterState, job: dict, pods: list[dict]) -> None:
    """pkg/controller/ttlafterfinished: delete a finished Job `ttlSecondsAfterFinished` after it
    finished (its Complete/Failed condition's lastTransitionTime), Foreground: pods first."""
    ttl = (job.get("spec") or {}).get("ttlSecondsAfterFinished")
    if ttl is None or job["metadata"].get("deletionTimestamp"):
        return
    cond = finished_condition(job)
    finished_at = parse_timestamp(cond.get("lastTransitionTime")) if cond else None
    if finished_at is None:
        return
    expire_at = finished_at + int(ttl)
    if expire_at > state.now:
        state.wake_at(expire_at)
        return
    remaining = False
    for pod in pods:
        if state.get("Pod", pod["metadata"].get("namespace", ""), pod["metadata"]["name"]) is pod:
            _delete_pod(state, pod, remove_tracking=True)
            remaining = remaining or state.get("Pod", pod["metadata"].get("namespace", ""),
                                               pod["metadata"]["name"]) is pod
    if remaining:
        gc.delete_object(state, job, "Foreground")  # the garbage collector removes it after its pods
    else:
        state.delete(job)


# --------------------------------------------------------------------------- the loop

def reconcile(state: ClusterState) -> None:
    jobs = state.list("Job")
    pods_by_job: dict[str, list[dict]] = {}
    orphans: list[dict] = []
    for pod in state.list("Pod"):
        ref = controller_ref(pod)
        if ref is not None and ref.get("kind") == "Job":
            pods_by_job.setdefault(ref.get("uid", ""), []).append(pod)
            if _has_tracking_finalizer(pod):
                owner = state.by_uid(ref.get("uid", ""))
                if owner is None or owner.get("kind") != "Job" or is_job_finished(owner):
                    orphans.append(pod)
        elif ref is None and _has_tracking_finalizer(pod):
            orphans.append(pod)
    for job in jobs:
        pods = pods_by_job.get(job["metadata"].get("uid", ""), [])
        if is_job_finished(job):
            _ttl_after_finished(state, job, pods)
            continue
        _sync_job(state, job, pods)
    # syncOrphanPod: nobody will count these any more; let them go.
    for pod in orphans:
        if _has_tracking_finalizer(pod) and state.get("Pod", pod["metadata"].get("namespace", ""),
                                                       pod["metadata"]["name"]) is pod:
            _remove_tracking_finalizer(state, pod)


__all__ = ["COMPLETION_INDEX", "TRACKING_FINALIZER", "backoff_remaining", "finished_condition", "format_indexes",
           "is_job_finished", "parse_indexes", "reconcile"]
