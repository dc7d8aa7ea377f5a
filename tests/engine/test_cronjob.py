"""The CronJob controller on the fake clock (T0 = 2027-01-15T08:00:00Z, a Friday).

Only the batch controllers run, with a fake kubelet that finishes pods, so these tests do
not depend on the scheduler or the kubelet modules.
"""
from __future__ import annotations

from clusters.engine.controllers import cron
from clusters.engine.controllers import cronjob as cronjob_controller
from clusters.engine.controllers import job as job_controller
from clusters.engine.controllers.cronjob import SCHEDULED_TIMESTAMP_ANNOTATION, job_name, most_recent_schedule_time
from clusters.engine.loop import step
from clusters.engine.state import ClusterState, timestamp

from .conftest import T0, apply, collector_held, new_state
from .test_job import fake_kubelet, finish, run

MINUTE = 60.0


def hello(schedule: str = "*/1 * * * *", **spec) -> dict:
    """The CronJob of the kubernetes.io 'Running Automated Tasks with a CronJob' page."""
    return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "hello", "namespace": "default"},
            "spec": {"schedule": schedule, **spec, "jobTemplate": {"spec": {"template": {"spec": {
                "containers": [{"name": "hello", "image": "busybox:1.28", "imagePullPolicy": "IfNotPresent",
                                "command": ["/bin/sh", "-c", "date; echo Hello from the Kubernetes cluster"]}],
                "restartPolicy": "OnFailure"}}}}}}


def create(state: ClusterState, manifest: dict) -> dict:
    obj = apply(state, manifest)
    state.commit()
    return obj


def cronjob(state: ClusterState) -> dict:
    return state.get("CronJob", "default", "hello")


def jobs(state: ClusterState) -> list[str]:
    return [j["metadata"]["name"] for j in state.list("Job", "default")]


def events(state: ClusterState, reason: str | None = None) -> list[tuple[str, str, str]]:
    found = [(e["type"], e["reason"], e["message"]) for e in state.list("Event", "default")
             if e["source"]["component"] == "cronjob-controller"]
    return [e for e in found if reason is None or e[1] == reason]


def minutes(t: float) -> int:
    return int(t) // 60


# ----------------------------------------------------------------------------- every minute

def test_every_minute_makes_a_job_and_keeps_three_successful() -> None:
    state = new_state()
    create(state, hello())
    result = step(state, T0, controllers=[cronjob_controller.reconcile, job_controller.reconcile])
    state.commit()
    assert result.next_wake == T0 + MINUTE + 0.1  # upstream's 100 ms nextScheduleDelta
    assert jobs(state) == []
    run(state, T0 + 5 * MINUTE + 30, fake_kubelet(after=5))
    # five Jobs ran (08:01 … 08:05); the successfulJobsHistoryLimit of 3 keeps the last three
    names = [f"hello-{minutes(T0) + i}" for i in range(1, 6)]
    assert jobs(state) == names[2:]
    assert [m for _, _, m in events(state, "SuccessfulCreate")] == [f"Created job {n}" for n in names]
    assert [m for _, _, m in events(state, "SawCompletedJob")] == [
        f"Saw completed job: {n}, status: Complete" for n in names]
    assert [m for _, _, m in events(state, "SuccessfulDelete")] == [f"Deleted job {n}" for n in names[:2]]
    status = cronjob(state)["status"]
    assert status == {"lastScheduleTime": "2027-01-15T08:05:00Z", "lastSuccessfulTime": "2027-01-15T08:05:05Z"}
    assert len(state.list("Pod", "default")) == 3  # the deleted Jobs' pods went with them


def test_the_job_made_from_the_template() -> None:
    state = new_state()
    create(state, hello())
    run(state, T0 + MINUTE + 1)
    cj = cronjob(state)
    (job,) = state.list("Job", "default")
    meta = job["metadata"]
    assert meta["name"] == job_name(cj, T0 + MINUTE) == f"hello-{minutes(T0 + MINUTE)}"
    assert meta["annotations"] == {SCHEDULED_TIMESTAMP_ANNOTATION: "2027-01-15T08:01:00Z"}
    assert meta["ownerReferences"] == [{"apiVersion": "batch/v1", "kind": "CronJob", "name": "hello",
                                        "uid": cj["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}]
    assert meta["creationTimestamp"] == "2027-01-15T08:01:00Z"
    # the API server's Job defaults and generated selector were applied on create
    assert job["spec"]["backoffLimit"] == 6 and job["spec"]["completions"] == 1
    assert job["spec"]["template"]["metadata"]["labels"]["batch.kubernetes.io/job-name"] == meta["name"]
    assert cj["status"]["active"] == [{"apiVersion": "batch/v1", "kind": "Job", "name": meta["name"],
                                       "namespace": "default", "uid": meta["uid"]}]
    assert cj["status"]["lastScheduleTime"] == "2027-01-15T08:01:00Z"
    (pod,) = state.list("Pod", "default")
    assert pod["metadata"]["generateName"] == meta["name"] + "-"


def test_a_failed_job_is_kept_by_failed_jobs_history_limit() -> None:
    state = new_state()
    manifest = hello()
    manifest["spec"]["jobTemplate"]["spec"]["backoffLimit"] = 0
    manifest["spec"]["jobTemplate"]["spec"]["template"]["spec"]["restartPolicy"] = "Never"
    create(state, manifest)
    run(state, T0 + 3 * MINUTE + 30, fake_kubelet(after=5, phase="Failed"))
    assert jobs(state) == [f"hello-{minutes(T0) + 3}"]  # failedJobsHistoryLimit defaults to 1
    assert events(state, "SawCompletedJob")[0][2].endswith(", status: Failed")
    assert "lastSuccessfulTime" not in cronjob(state)["status"]


# ----------------------------------------------------------------------------- concurrency

def test_forbid_skips_while_the_previous_job_runs_then_starts_late() -> None:
    state = new_state()
    create(state, hello(concurrencyPolicy="Forbid"))
    run(state, T0 + 2 * MINUTE + 10)
    assert jobs(state) == [f"hello-{minutes(T0) + 1}"]
    assert events(state, "JobAlreadyActive") == [
        ("Normal", "JobAlreadyActive",
         "Not starting job because prior execution is running and concurrency policy is Forbid")]
    state.now = T0 + 2 * MINUTE + 30
    (pod,) = state.list("Pod", "default")
    finish(state, pod)
    run(state, state.now)
    # the 08:02 run was never started: with no startingDeadlineSeconds it starts now, late
    assert jobs(state) == [f"hello-{minutes(T0) + 1}", f"hello-{minutes(T0) + 2}"]
    assert cronjob(state)["status"]["lastScheduleTime"] == "2027-01-15T08:02:00Z"


def test_forbid_with_a_starting_deadline_misses_the_run() -> None:
    state = new_state()
    create(state, hello(concurrencyPolicy="Forbid", startingDeadlineSeconds=10))
    run(state, T0 + 2 * MINUTE + 10)
    state.now = T0 + 2 * MINUTE + 30
    finish(state, state.list("Pod", "default")[0])
    run(state, state.now)
    assert jobs(state) == [f"hello-{minutes(T0) + 1}"]
    # upstream looks for unmet times only after now - startingDeadlineSeconds, so the 08:02 run
    # is skipped silently (its MissSchedule warning cannot fire on this path)
    assert events(state, "MissSchedule") == []
    run(state, T0 + 3 * MINUTE + 1)
    assert jobs(state)[-1] == f"hello-{minutes(T0) + 3}"


def test_allow_runs_jobs_side_by_side() -> None:
    state = new_state()
    create(state, hello())
    run(state, T0 + 3 * MINUTE + 1)
    assert len(jobs(state)) == 3 and len(cronjob(state)["status"]["active"]) == 3


def test_replace_deletes_the_running_job() -> None:
    state = new_state()
    create(state, hello(concurrencyPolicy="Replace"))
    run(state, T0 + 2 * MINUTE + 1)
    first, second = f"hello-{minutes(T0) + 1}", f"hello-{minutes(T0) + 2}"
    assert jobs(state) == [second]
    assert events(state, "SuccessfulDelete") == [("Normal", "SuccessfulDelete", f"Deleted job {first}")]
    assert [r["name"] for r in cronjob(state)["status"]["active"]] == [second]
    assert [p["metadata"]["ownerReferences"][0]["name"] for p in state.list("Pod", "default")] == [second]


# ----------------------------------------------------------------------------- suspend, time zones

def test_suspended_cronjob_makes_no_jobs_and_asks_for_no_wake_up() -> None:
    state = new_state()
    create(state, hello(suspend=True))
    result = step(state, T0, controllers=[cronjob_controller.reconcile, job_controller.reconcile])
    state.commit()
    assert result.next_wake is None
    run(state, T0 + 5 * MINUTE)
    assert jobs(state) == []
    cj = cronjob(state)
    cj["spec"]["suspend"] = False
    state.update(cj)
    run(state, state.now)
    # resumed at 08:05: the most recent missed time (08:05:00) is started, not the four before it
    assert jobs(state) == [f"hello-{minutes(T0) + 5}"]


def test_time_zone_schedule_in_europe_paris() -> None:
    state = new_state()
    create(state, hello("0 9 * * *", timeZone="Europe/Paris"))  # created at 09:00 Paris time
    result = step(state, T0, controllers=[cronjob_controller.reconcile, job_controller.reconcile])
    state.commit()
    tomorrow_nine_paris = T0 + 24 * 3600  # 2027-01-16T09:00:00+01:00
    assert result.next_wake == tomorrow_nine_paris + 0.1
    run(state, tomorrow_nine_paris + 1)
    (job,) = state.list("Job", "default")
    assert job["metadata"]["annotations"][SCHEDULED_TIMESTAMP_ANNOTATION] == "2027-01-16T09:00:00+01:00"
    assert job["metadata"]["name"] == f"hello-{minutes(tomorrow_nine_paris)}"
    assert cronjob(state)["status"]["lastScheduleTime"] == "2027-01-16T08:00:00Z"


def test_time_zone_in_summer() -> None:
    state = new_state(now=1_814_400_000.0)  # 2027-07-01T00:00:00Z
    create(state, hello("30 6 * * *", timeZone="Europe/Paris"))
    run(state, 1_814_400_000.0 + 5 * 3600)
    (job,) = state.list("Job", "default")
    assert job["metadata"]["annotations"][SCHEDULED_TIMESTAMP_ANNOTATION] == "2027-07-01T06:30:00+02:00"


def test_unknown_time_zone_is_reported_once() -> None:
    state = new_state()
    create(state, hello(timeZone="Mars/Olympus"))
    run(state, T0 + 3 * MINUTE)
    step(state, state.now, controllers=[cronjob_controller.reconcile])
    assert jobs(state) == []
    assert events(state) == [("Warning", "UnknownTimeZone",
                              'invalid timeZone: "Mars/Olympus": unknown time zone Mars/Olympus')]


def test_impossible_schedule_is_an_invalid_schedule() -> None:
    state = new_state()
    create(state, hello("0 0 30 2 *"))
    result = step(state, T0, controllers=[cronjob_controller.reconcile])
    assert result.next_wake is None
    assert events(state) == [("Warning", "InvalidSchedule",
                              "invalid schedule: 0 0 30 2 * : time difference between two schedules is less than 1 "
                              "second")]


# ----------------------------------------------------------------------------- missed schedules

def _last_scheduled(state: ClusterState, when: float) -> None:
    cj = cronjob(state)
    cj["status"] = {"lastScheduleTime": timestamp(when)}
    state.update(cj)
    state.commit()


def test_too_many_missed_start_times() -> None:
    state = new_state()
    create(state, hello())
    _last_scheduled(state, T0 - 3 * 3600)
    run(state, T0)
    assert events(state, "TooManyMissedTimes") == [
        ("Warning", "TooManyMissedTimes",
         "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew")]
    assert jobs(state) == [f"hello-{minutes(T0)}"]  # only the most recent missed time runs


def test_starting_deadline_limits_the_missed_start_times_looked_at() -> None:
    state = new_state()
    create(state, hello(startingDeadlineSeconds=200))
    _last_scheduled(state, T0 - 3 * 3600)
    run(state, T0 + 1)
    assert events(state, "TooManyMissedTimes") == []
    assert jobs(state) == [f"hello-{minutes(T0)}"]


def test_most_recent_schedule_time() -> None:
    state = new_state()
    cj = create(state, hello("*/5 * * * *"))
    schedule = cron.parse_standard("*/5 * * * *")
    assert most_recent_schedule_time(cj, T0 + 60, schedule, True) == (T0, None, "none", None)
    assert most_recent_schedule_time(cj, T0 + 301, schedule, True) == (T0, T0 + 300, "none", None)
    assert most_recent_schedule_time(cj, T0 + 1000, schedule, True) == (T0, T0 + 900, "few", None)


def test_a_job_deleted_by_hand_goes_missing() -> None:
    state = new_state()
    create(state, hello())
    run(state, T0 + MINUTE + 1)
    state.delete(state.list("Job", "default")[0])
    run(state, state.now)
    assert events(state, "MissingJob") == [
        ("Normal", "MissingJob", f"Active job went missing: hello-{minutes(T0) + 1}")]
    assert "active" not in cronjob(state)["status"]


def test_a_job_created_from_the_cronjob_by_hand_is_unexpected() -> None:
    state = new_state()
    cj = create(state, hello())
    manual = {"apiVersion": "batch/v1", "kind": "Job",
              "metadata": {"name": "test-job", "namespace": "default", "ownerReferences": [
                  {"apiVersion": "batch/v1", "kind": "CronJob", "name": "hello", "uid": cj["metadata"]["uid"],
                   "controller": True}]},
              "spec": cj["spec"]["jobTemplate"]["spec"]}
    create(state, manual)
    run(state, T0 + 10)
    step(state, state.now, controllers=[cronjob_controller.reconcile])
    assert events(state) == [("Warning", "UnexpectedJob",
                              "Saw a job that the controller did not create or forgot: test-job")]


def test_idle_pass_is_cheap() -> None:
    import time

    state = new_state()
    for i in range(10):
        manifest = hello(f"{i} * * * *", timeZone="Europe/Paris")
        manifest["metadata"]["name"] = f"cron-{i}"
        apply(state, manifest)
    state.commit()
    run(state, T0)
    with collector_held():
        began = time.perf_counter()
        for _ in range(20):
            cronjob_controller.reconcile(state)
        per_pass = (time.perf_counter() - began) / 20
    assert state.changes() == []
    assert per_pass < 0.02
