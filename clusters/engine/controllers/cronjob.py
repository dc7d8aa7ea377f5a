"""The CronJob controller (upstream pkg/controller/cronjob: cronjob_controllerv2.go, utils.go).

Each pass, for every CronJob: clean up finished Jobs beyond the history limits, track its
Jobs (active list, SawCompletedJob, lastSuccessfulTime), then — unless suspended — find the
most recent unmet schedule time on the simulated clock (in spec.timeZone, UTC otherwise),
honour startingDeadlineSeconds and concurrencyPolicy, and create the Job
`<cronjob>-<scheduled time in minutes since the epoch>` with the
batch.kubernetes.io/cronjob-scheduled-timestamp annotation. The next schedule is asked for
with `state.wake_at` (plus upstream's 100 ms nextScheduleDelta).

Upstream syncs a CronJob when it or one of its Jobs changes and at its requeue time; the
engine runs every pass, so warnings that upstream repeats per sync (JobAlreadyActive,
MissSchedule, TooManyMissedTimes, invalid schedules or time zones) are recorded once per
scheduled time / per spec value, using the CronJob's private notes.
"""
from __future__ import annotations

import json
from typing import Any

from ..state import ClusterState, parse_timestamp, timestamp
from . import cron, gc
from .job import finished_condition
from .podutil import clone, controller_ref, delete_pod, new_controller_ref

COMPONENT = "cronjob-controller"
SCHEDULED_TIMESTAMP_ANNOTATION = "batch.kubernetes.io/cronjob-scheduled-timestamp"
NEXT_SCHEDULE_DELTA = 0.1  # nextScheduleDelta: 100 ms
MANY_MISSED = 100


def _go_quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def job_name(cronjob: dict, scheduled: float) -> str:
    """getJobName: the CronJob's name and the scheduled time in minutes since the epoch."""
    return f"{cronjob['metadata']['name']}-{int(scheduled) // 60}"


# --------------------------------------------------------------------------- schedule times

def most_recent_schedule_time(cronjob: dict, now: float, schedule: cron.Schedule,
                              include_starting_deadline: bool) -> tuple[float, float | None, str, str | None]:
    """mostRecentScheduleTime: (earliest, most recent unmet time or None, none|few|many, error)."""
    status = cronjob.get("status") or {}
    earliest = parse_timestamp(status.get("lastScheduleTime"))
    if earliest is None:
        earliest = parse_timestamp(cronjob["metadata"].get("creationTimestamp")) or now
    deadline = (cronjob.get("spec") or {}).get("startingDeadlineSeconds")
    if include_starting_deadline and deadline is not None:
        earliest = max(earliest, now - int(deadline))
    t1 = schedule.next(earliest)
    if t1 is not None and now < t1:
        return earliest, None, "none", None
    t2 = schedule.next(t1) if t1 is not None else None
    if t1 is not None and t2 is not None and now < t2:
        return earliest, t1, "none", None
    if t1 is None or t2 is None or round(t2 - t1) < 1:
        return earliest, None, "none", "time difference between two schedules is less than 1 second"
    between = int(round(t2 - t1))
    missed = int(now - t1) // between + 1
    potential = t1 + (missed - 2) * between
    most_recent: float | None = None
    t = schedule.next(potential)
    while t is not None and t <= now:
        most_recent = t
        t = schedule.next(t)
    kind = "many" if missed > MANY_MISSED else "few"
    return earliest, most_recent, kind, None


def next_schedule_wake(cronjob: dict, now: float, schedule: cron.Schedule) -> float | None:
    """nextScheduleTimeDuration, as an absolute simulated time."""
    earliest, most_recent, missed, err = most_recent_schedule_time(cronjob, now, schedule, False)
    if err is not None:
        most_recent = now
    elif most_recent is None:
        most_recent = earliest if missed == "none" else now
    t = schedule.next(most_recent)
    return None if t is None else t + NEXT_SCHEDULE_DELTA


# --------------------------------------------------------------------------- helpers

def _once(notes: dict, key: str, value: Any) -> bool:
    """True the first time `value` is seen under `key` (so a warning is recorded once per cause)."""
    if notes.get(key) == value:
        return False
    notes[key] = value
    return True


def _job_ref(job: dict) -> dict:
    meta = job["metadata"]
    ref = {"apiVersion": "batch/v1", "kind": "Job", "name": meta["name"], "namespace": meta.get("namespace", ""),
           "uid": meta.get("uid", "")}
    if meta.get("resourceVersion"):
        ref["resourceVersion"] = meta["resourceVersion"]
    return ref


def _job_from_template(cronjob: dict, scheduled: float, tz: Any) -> dict:
    """getJobFromTemplate2."""
    meta = cronjob["metadata"]
    template = (cronjob.get("spec") or {}).get("jobTemplate") or {}
    tmeta = template.get("metadata") or {}
    annotations = dict(tmeta.get("annotations") or {})
    annotations[SCHEDULED_TIMESTAMP_ANNOTATION] = cron.format_rfc3339(scheduled, tz)
    job_meta: dict[str, Any] = {"name": job_name(cronjob, scheduled), "namespace": meta.get("namespace", "default")}
    if tmeta.get("labels"):
        job_meta["labels"] = dict(tmeta["labels"])
    job_meta["annotations"] = annotations
    job_meta["ownerReferences"] = [new_controller_ref(cronjob)]
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": job_meta, "spec": clone(template.get("spec") or {})}


def _finished_type(job: dict) -> str | None:
    cond = finished_condition(job)
    return cond.get("type") if cond else None


def _start_time_key(job: dict) -> tuple:
    """byJobStartTime: jobs without a startTime last, ties by name."""
    started = parse_timestamp((job.get("status") or {}).get("startTime"))
    return (started is None, started or 0.0, job["metadata"]["name"])


def _delete_job(state: ClusterState, cronjob: dict, status: dict, job: dict) -> None:
    """deleteJob: the Job (Background propagation: its pods follow), its active reference, the event."""
    pods = state.owned_by(job, "Pod")
    gc.delete_object(state, job, "Background")
    for pod in pods:  # what the garbage collector does next, done now (running pods stop gracefully)
        delete_pod(state, pod)
    uid = job["metadata"].get("uid")
    status["active"] = [ref for ref in status.get("active") or [] if ref.get("uid") != uid]
    state.event(cronjob, "Normal", "SuccessfulDelete", f"Deleted job {job['metadata']['name']}", component=COMPONENT)


# --------------------------------------------------------------------------- sync

def _cleanup_finished_jobs(state: ClusterState, cronjob: dict, status: dict, jobs: list[dict]) -> None:
    spec = cronjob.get("spec") or {}
    if spec.get("failedJobsHistoryLimit") is None and spec.get("successfulJobsHistoryLimit") is None:
        return
    successful = [j for j in jobs if _finished_type(j) == "Complete"]
    failed = [j for j in jobs if _finished_type(j) == "Failed"]
    for finished, limit in ((successful, spec.get("successfulJobsHistoryLimit")),
                            (failed, spec.get("failedJobsHistoryLimit"))):
        if limit is None:
            continue
        extra = len(finished) - int(limit)
        if extra <= 0:
            continue
        finished.sort(key=_start_time_key)
        for job in finished[:extra]:
            _delete_job(state, cronjob, status, job)


def _sync_cronjob(state: ClusterState, cronjob: dict, status: dict, jobs: list[dict], notes: dict) -> None:
    now = state.now
    spec = cronjob.get("spec") or {}
    active_uids = {ref.get("uid") for ref in status.get("active") or []}
    children = set()
    for job in jobs:
        uid = job["metadata"].get("uid")
        children.add(uid)
        finished = _finished_type(job)
        if uid not in active_uids and finished is None:
            if _once(notes, f"unexpected/{uid}", True):
                state.event(cronjob, "Warning", "UnexpectedJob",
                            f"Saw a job that the controller did not create or forgot: {job['metadata']['name']}",
                            component=COMPONENT)
        elif uid in active_uids and finished is not None:
            status["active"] = [ref for ref in status.get("active") or [] if ref.get("uid") != uid]
            state.event(cronjob, "Normal", "SawCompletedJob",
                        f"Saw completed job: {job['metadata']['name']}, status: {finished}", component=COMPONENT)
        elif finished == "Complete":
            completed = (job.get("status") or {}).get("completionTime")
            last = parse_timestamp(status.get("lastSuccessfulTime"))
            if status.get("lastSuccessfulTime") is None and completed:
                status["lastSuccessfulTime"] = completed
            elif completed and last is not None and (parse_timestamp(completed) or 0) > last:
                status["lastSuccessfulTime"] = completed
    for ref in list(status.get("active") or []):
        if ref.get("uid") in children:
            continue
        if state.get("Job", ref.get("namespace", ""), ref.get("name", "")) is None:
            state.event(cronjob, "Normal", "MissingJob", f"Active job went missing: {ref.get('name')}",
                        component=COMPONENT)
            status["active"] = [r for r in status.get("active") or [] if r.get("uid") != ref.get("uid")]

    if cronjob["metadata"].get("deletionTimestamp"):
        return
    time_zone = spec.get("timeZone")
    if time_zone is not None:
        try:
            cron.load_location(time_zone)
        except cron.CronError as err:
            if _once(notes, "warned/timeZone", time_zone):
                state.event(cronjob, "Warning", "UnknownTimeZone", f"invalid timeZone: {_go_quote(time_zone)}: {err}",
                            component=COMPONENT)
            return
    if spec.get("suspend"):
        return

    schedule_text = spec.get("schedule") or ""
    if "TZ" in schedule_text:  # formatSchedule
        if _once(notes, "warned/tzInSchedule", schedule_text):
            state.event(cronjob, "Warning", "UnsupportedSchedule",
                        f"CRON_TZ or TZ used in schedule {_go_quote(schedule_text)} is not officially supported, "
                        "see https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for more details",
                        component=COMPONENT)
    elif time_zone is not None:
        schedule_text = f"TZ={time_zone} {schedule_text}"
    try:
        schedule = cron.parse_standard(schedule_text)
    except cron.CronError as err:
        if _once(notes, "warned/schedule", schedule_text):
            state.event(cronjob, "Warning", "UnparseableSchedule",
                        f"unparseable schedule: {_go_quote(spec.get('schedule') or '')} : {err}", component=COMPONENT)
        return

    _, scheduled, missed, err = most_recent_schedule_time(cronjob, now, schedule, True)
    if err is not None:
        if _once(notes, "warned/schedule", schedule_text):
            state.event(cronjob, "Warning", "InvalidSchedule", f"invalid schedule: {spec.get('schedule')} : {err}",
                        component=COMPONENT)
        return
    if scheduled is not None and scheduled > now:
        scheduled = None
    if scheduled is not None and missed == "many" and _once(notes, "warned/tooMany", scheduled):
        state.event(cronjob, "Warning", "TooManyMissedTimes",
                    "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew",
                    component=COMPONENT)

    def requeue() -> None:
        wake = next_schedule_wake(cronjob, now, schedule)
        if wake is not None and wake > now:
            state.wake_at(wake)

    if scheduled is None:
        requeue()
        return
    deadline = spec.get("startingDeadlineSeconds")
    if deadline is not None and scheduled + int(deadline) < now:
        if _once(notes, "warned/missed", scheduled):
            state.event(cronjob, "Warning", "MissSchedule",
                        f"Missed scheduled time to start a job: {cron.format_rfc1123z_utc(scheduled)}",
                        component=COMPONENT)
        requeue()
        return
    name = job_name(cronjob, scheduled)
    namespace = cronjob["metadata"].get("namespace", "")
    if any(ref.get("name") == name and ref.get("namespace") == namespace for ref in status.get("active") or []) \
            or parse_timestamp(status.get("lastScheduleTime")) == scheduled:
        requeue()
        return
    policy = spec.get("concurrencyPolicy") or "Allow"
    if policy == "Forbid" and status.get("active"):
        if _once(notes, "warned/alreadyActive", scheduled):
            state.event(cronjob, "Normal", "JobAlreadyActive",
                        "Not starting job because prior execution is running and concurrency policy is Forbid",
                        component=COMPONENT)
        requeue()
        return
    if policy == "Replace":
        for ref in list(status.get("active") or []):
            job = state.get("Job", ref.get("namespace", ""), ref.get("name", ""))
            if job is not None:
                _delete_job(state, cronjob, status, job)

    existing = state.get("Job", namespace, name)
    if existing is not None:
        ref = controller_ref(existing)
        if ref is None or ref.get("uid") != cronjob["metadata"].get("uid"):
            return  # someone else's Job: assume its creator updates the status
        if existing["metadata"].get("uid") in {r.get("uid") for r in status.get("active") or []}:
            return
        job = existing
    else:
        job = state.create(_job_from_template(cronjob, scheduled, cron.load_location(time_zone or "")))
        state.event(cronjob, "Normal", "SuccessfulCreate", f"Created job {job['metadata']['name']}",
                    component=COMPONENT)
    status["active"] = list(status.get("active") or []) + [_job_ref(job)]
    status["lastScheduleTime"] = timestamp(scheduled)
    requeue()


def reconcile(state: ClusterState) -> None:
    cronjobs = state.list("CronJob")
    if not cronjobs:
        return
    jobs_by_owner: dict[tuple[str, str], list[dict]] = {}
    for job in state.list("Job"):
        ref = controller_ref(job)
        if ref is not None and ref.get("kind") == "CronJob":
            jobs_by_owner.setdefault((job["metadata"].get("namespace", ""), ref.get("name", "")), []).append(job)
    for cronjob in cronjobs:
        meta = cronjob["metadata"]
        jobs = jobs_by_owner.get((meta.get("namespace", ""), meta["name"]), [])
        old_status = cronjob.get("status") or {}
        status = dict(old_status)
        if "active" in status:
            status["active"] = list(status["active"])
        notes = state.sim(cronjob)
        _cleanup_finished_jobs(state, cronjob, status, jobs)
        _sync_cronjob(state, cronjob, status, jobs, notes)
        if not status.get("active"):
            status.pop("active", None)
        if status != old_status:
            cronjob["status"] = status
            state.update(cronjob)


__all__ = ["SCHEDULED_TIMESTAMP_ANNOTATION", "job_name", "most_recent_schedule_time", "next_schedule_wake",
           "reconcile"]
