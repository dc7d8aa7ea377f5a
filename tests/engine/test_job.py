"""The Job controller and the TTL-after-finished controller on the fake clock.

Pod phases belong to the kubelet, so these tests finish pods by hand (`finish`) or with a
tiny fake kubelet, and run only the batch controllers (`run`), so they do not depend on
the other engine modules.
"""
from __future__ import annotations

from collections.abc import Callable

import pytest

from clusters.engine.controllers import cronjob as cronjob_controller
from clusters.engine.controllers import job as job_controller
from clusters.engine.controllers.job import (
    COMPLETION_INDEX,
    TRACKING_FINALIZER,
    backoff_remaining,
    format_indexes,
    parse_indexes,
)
from clusters.engine.loop import step
from clusters.engine.state import ClusterState, parse_timestamp, timestamp

from .conftest import T0, apply, collector_held, new_state

Controller = Callable[[ClusterState], None]


# ----------------------------------------------------------------------------- helpers

def run(state: ClusterState, until: float, *extra: Controller) -> None:
    """conftest.run with only the batch controllers (plus a fake kubelet when given)."""
    controllers = [cronjob_controller.reconcile, job_controller.reconcile, *extra]
    result = step(state, state.now, controllers=controllers)
    state.commit()
    for _ in range(10_000):
        wake = result.next_wake
        if wake is None or wake > until:
            break
        result = step(state, max(wake, state.now), controllers=controllers)
        state.commit()
    state.now = max(state.now, until)


def advance(state: ClusterState, seconds: float, *extra: Controller) -> None:
    run(state, state.now + seconds, *extra)
    step(state, state.now, controllers=[cronjob_controller.reconcile, job_controller.reconcile, *extra])
    state.commit()


def finish(state: ClusterState, pod: dict, phase: str = "Succeeded") -> None:
    """What the kubelet writes when the pod's only container exits (0 → Succeeded, 1 → Failed)."""
    now = timestamp(state.now)
    code, reason = (0, "Completed") if phase == "Succeeded" else (1, "Error")
    pod["status"] = {
        **(pod.get("status") or {}), "phase": phase,
        "conditions": [{"type": "Ready", "status": "False", "lastTransitionTime": now, "reason": "PodCompleted"}],
        "containerStatuses": [{"name": c["name"], "image": c["image"], "ready": False, "restartCount": 0,
                               "state": {"terminated": {"exitCode": code, "reason": reason,
                                                        "startedAt": pod["metadata"]["creationTimestamp"],
                                                        "finishedAt": now}}}
                              for c in pod["spec"]["containers"]],
    }
    state.update(pod)


def start(state: ClusterState, pod: dict, *, node: str = "kind-worker", restarts: int = 0) -> None:
    """A pod the scheduler bound and the kubelet runs, Ready."""
    pod["spec"]["nodeName"] = node
    now = timestamp(state.now)
    pod["status"] = {**(pod.get("status") or {}), "phase": "Running",
                     "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": now}],
                     "containerStatuses": [{"name": c["name"], "image": c["image"], "ready": True,
                                            "restartCount": restarts, "state": {"running": {"startedAt": now}}}
                                           for c in pod["spec"]["containers"]]}
    state.update(pod)


def fake_kubelet(after: float, phase: str = "Succeeded") -> Controller:
    """Finishes every pod `after` seconds after its creation; deletes terminating pods at once."""
    def reconcile(state: ClusterState) -> None:
        for pod in state.list("Pod"):
            meta = pod["metadata"]
            if meta.get("deletionTimestamp"):
                if not meta.get("finalizers"):
                    state.delete(pod)
                continue
            if pod["status"].get("phase") in ("Succeeded", "Failed"):
                continue
            done = parse_timestamp(meta["creationTimestamp"]) + after
            if state.now >= done:
                finish(state, pod, phase)
            else:
                state.wake_at(done)
    return reconcile


def job_manifest(name: str = "pi", **spec) -> dict:
    template = {"spec": {"containers": [{"name": "pi", "image": "perl:5.34.0",
                                         "command": ["perl", "-Mbignum=bpi", "-wle", "print bpi(2000)"]}],
                         "restartPolicy": spec.pop("restartPolicy", "Never")}}
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "namespace": "default"},
            "spec": {"template": template, **spec}}


def create_job(state: ClusterState, **spec) -> dict:
    job = apply(state, job_manifest(**spec))
    state.commit()
    return job


def job_of(state: ClusterState, name: str = "pi") -> dict:
    return state.get("Job", "default", name)


def pods_of(state: ClusterState, name: str = "pi") -> list[dict]:
    job = job_of(state, name)
    return state.owned_by(job, "Pod") if job else []


def active_pods(state: ClusterState, name: str = "pi") -> list[dict]:
    return [p for p in pods_of(state, name) if p["status"].get("phase") not in ("Succeeded", "Failed")
            and not p["metadata"].get("deletionTimestamp")]


def events(state: ClusterState, reason: str | None = None) -> list[tuple[str, str, str]]:
    found = [(e["type"], e["reason"], e["message"]) for e in state.list("Event", "default")
             if e["source"]["component"] == "job-controller"]
    return [e for e in found if reason is None or e[1] == reason]


def conditions(job: dict) -> list[tuple[str, str, str, str]]:
    return [(c["type"], c["status"], c.get("reason", ""), c.get("message", ""))
            for c in job["status"].get("conditions", [])]


# ----------------------------------------------------------------------------- the pi job

def test_pi_job_creates_one_pod_from_the_template() -> None:
    state = new_state()
    create_job(state, backoffLimit=4)
    run(state, T0)
    (pod,) = pods_of(state)
    job = job_of(state)
    meta = pod["metadata"]
    assert meta["generateName"] == "pi-" and meta["name"].startswith("pi-") and len(meta["name"]) == 8
    assert meta["labels"] == {"batch.kubernetes.io/controller-uid": job["metadata"]["uid"],
                              "batch.kubernetes.io/job-name": "pi", "controller-uid": job["metadata"]["uid"],
                              "job-name": "pi"}
    assert meta["finalizers"] == [TRACKING_FINALIZER]
    assert meta["ownerReferences"] == [{"apiVersion": "batch/v1", "kind": "Job", "name": "pi",
                                        "uid": job["metadata"]["uid"], "controller": True,
                                        "blockOwnerDeletion": True}]
    assert pod["spec"]["containers"][0]["command"][0] == "perl" and pod["spec"]["restartPolicy"] == "Never"
    assert pod["status"]["phase"] == "Pending"  # the API server's defaults were applied
    assert job["status"] == {"active": 1, "ready": 0, "terminating": 0, "startTime": "2027-01-15T08:00:00Z",
                             "uncountedTerminatedPods": {}}
    assert events(state) == [("Normal", "SuccessfulCreate", f"Created pod: {meta['name']}")]


def test_pi_job_completes_when_its_pod_succeeds() -> None:
    state = new_state()
    create_job(state, backoffLimit=4)
    run(state, T0)
    (pod,) = pods_of(state)
    start(state, pod)
    advance(state, 1)
    assert job_of(state)["status"]["ready"] == 1
    state.now = T0 + 42
    finish(state, pod)
    advance(state, 0)
    job = job_of(state)
    assert conditions(job) == [
        ("SuccessCriteriaMet", "True", "CompletionsReached", "Reached expected number of succeeded pods"),
        ("Complete", "True", "CompletionsReached", "Reached expected number of succeeded pods")]
    assert job["status"]["succeeded"] == 1 and "active" not in job["status"] and "failed" not in job["status"]
    assert job["status"]["completionTime"] == "2027-01-15T08:00:42Z"
    assert job["status"]["ready"] == 0 and job["status"]["terminating"] == 0
    assert job["status"]["conditions"][1]["lastTransitionTime"] == "2027-01-15T08:00:42Z"
    assert "finalizers" not in pod["metadata"]  # counted, then released
    assert state.get("Pod", "default", pod["metadata"]["name"]) is pod  # a finished pod stays for its logs
    assert events(state, "Completed") == [("Normal", "Completed", "Job completed")]
    before = state.writes
    advance(state, 600)
    assert state.writes == before  # a finished Job is left alone


def test_completions_five_parallelism_two() -> None:
    state = new_state()
    create_job(state, completions=5, parallelism=2)
    kubelet = fake_kubelet(after=10)
    seen_active: list[int] = []

    def watch(s: ClusterState) -> None:
        seen_active.append(len(active_pods(s)))

    run(state, T0 + 100, kubelet, watch)
    job = job_of(state)
    assert job["status"]["succeeded"] == 5
    assert conditions(job)[-1][0] == "Complete"
    assert len(pods_of(state)) == 5 and max(seen_active) == 2
    assert job["status"]["completionTime"] == "2027-01-15T08:00:30Z"  # 2 + 2 + 1 pods, 10 s each
    assert len(events(state, "SuccessfulCreate")) == 5


def test_parallelism_without_completions_finishes_once_one_succeeds_and_the_rest_stop() -> None:
    state = new_state()
    create_job(state, parallelism=3)
    run(state, T0)
    pods = pods_of(state)
    assert len(pods) == 3
    finish(state, pods[0])
    advance(state, 0)
    assert "conditions" not in job_of(state)["status"]  # the other workers keep going
    for pod in pods[1:]:
        finish(state, pod)
    advance(state, 0)
    job = job_of(state)
    assert job["status"]["succeeded"] == 3 and conditions(job)[-1][0] == "Complete"


# ----------------------------------------------------------------------------- failures

def test_failed_pods_are_replaced_after_the_pod_failure_back_off_until_the_backoff_limit() -> None:
    state = new_state()
    create_job(state, backoffLimit=3)
    kubelet = fake_kubelet(after=5, phase="Failed")
    run(state, T0 + 1000, kubelet)
    created = sorted(parse_timestamp(p["metadata"]["creationTimestamp"]) - T0 for p in pods_of(state))
    # fails 5 s after each start; the next pod waits 10 s, 20 s, 40 s after the failure
    assert created == [0, 15, 40, 85]
    job = job_of(state)
    assert job["status"]["failed"] == 4 and "active" not in job["status"]
    assert conditions(job) == [
        ("FailureTarget", "True", "BackoffLimitExceeded", "Job has reached the specified backoff limit"),
        ("Failed", "True", "BackoffLimitExceeded", "Job has reached the specified backoff limit")]
    assert "completionTime" not in job["status"]
    assert events(state, "BackoffLimitExceeded") == [
        ("Warning", "BackoffLimitExceeded", "Job has reached the specified backoff limit")]
    assert all("finalizers" not in p["metadata"] for p in pods_of(state))


def test_back_off_delays_double_and_cap_at_ten_minutes() -> None:
    assert [backoff_remaining(n, 0.0, 0.0) for n in range(1, 9)] == [10, 20, 40, 80, 160, 320, 600, 600]
    assert backoff_remaining(0, None, 5.0) == 0
    assert backoff_remaining(2, 100.0, 115.0) == 5  # 20 s back-off, 15 s already waited
    assert backoff_remaining(1, 100.0, 200.0) == 0


def test_the_back_off_waits_without_a_pod_and_requests_a_wake_up() -> None:
    state = new_state()
    create_job(state)
    run(state, T0)
    (pod,) = pods_of(state)
    state.now = T0 + 3
    finish(state, pod, "Failed")
    result = step(state, T0 + 3, controllers=[job_controller.reconcile])
    state.commit()
    assert result.next_wake == T0 + 13
    assert job_of(state)["status"]["failed"] == 1 and not active_pods(state)
    step(state, T0 + 12.9, controllers=[job_controller.reconcile])
    assert not active_pods(state)
    step(state, T0 + 13, controllers=[job_controller.reconcile])
    assert len(active_pods(state)) == 1


def test_a_success_resets_the_back_off() -> None:
    state = new_state()
    create_job(state, completions=3, parallelism=1)
    run(state, T0)
    state.now = T0 + 5
    finish(state, active_pods(state)[0], "Failed")
    advance(state, 10)
    state.now = T0 + 20
    finish(state, active_pods(state)[0], "Succeeded")
    advance(state, 0)
    assert len(active_pods(state)) == 1  # no back-off after a success


def test_restart_policy_on_failure_counts_container_restarts() -> None:
    state = new_state()
    create_job(state, backoffLimit=2, restartPolicy="OnFailure")
    run(state, T0)
    (pod,) = pods_of(state)
    start(state, pod, restarts=1)
    advance(state, 10)
    assert "conditions" not in job_of(state)["status"]
    pod["status"]["containerStatuses"][0]["restartCount"] = 2
    state.update(pod)
    advance(state, 0)
    job = job_of(state)
    assert [c[0] for c in conditions(job)] == ["FailureTarget"]  # the running pod must stop first
    assert pod["metadata"]["deletionTimestamp"] == timestamp(state.now + 30)
    assert job["status"]["terminating"] == 1 and job["status"]["failed"] == 1
    state.delete(pod)  # the kubelet finished it
    advance(state, 0)
    job = job_of(state)
    assert conditions(job)[-1] == ("Failed", "True", "BackoffLimitExceeded",
                                   "Job has reached the specified backoff limit")
    assert job["status"]["terminating"] == 0


def test_active_deadline_seconds() -> None:
    state = new_state()
    create_job(state, activeDeadlineSeconds=30)
    result = step(state, T0, controllers=[job_controller.reconcile])
    state.commit()
    assert result.next_wake == T0 + 30
    run(state, T0 + 29)
    assert len(active_pods(state)) == 1 and "conditions" not in job_of(state)["status"]
    pod_name = pods_of(state)[0]["metadata"]["name"]
    run(state, T0 + 31)
    job = job_of(state)
    assert conditions(job) == [
        ("FailureTarget", "True", "DeadlineExceeded", "Job was active longer than specified deadline"),
        ("Failed", "True", "DeadlineExceeded", "Job was active longer than specified deadline")]
    assert job["status"]["conditions"][0]["lastTransitionTime"] == "2027-01-15T08:00:30Z"
    assert job["status"]["failed"] == 1 and "active" not in job["status"]
    assert state.get("Pod", "default", pod_name) is None  # never scheduled: deleted at once
    assert ("Normal", "SuccessfulDelete", f"Deleted pod: {pod_name}") in events(state)
    assert ("Warning", "DeadlineExceeded", "Job was active longer than specified deadline") in events(state)


# ----------------------------------------------------------------------------- indexed jobs

def test_indexed_job_pods_carry_their_completion_index() -> None:
    state = new_state()
    create_job(state, completions=3, parallelism=3, completionMode="Indexed")
    run(state, T0)
    pods = sorted(pods_of(state), key=lambda p: p["metadata"]["annotations"][COMPLETION_INDEX])
    assert [p["metadata"]["annotations"][COMPLETION_INDEX] for p in pods] == ["0", "1", "2"]
    for i, pod in enumerate(pods):
        assert pod["metadata"]["labels"][COMPLETION_INDEX] == str(i)
        assert pod["metadata"]["generateName"] == f"pi-{i}-"
        assert pod["spec"]["hostname"] == f"pi-{i}"
        assert pod["spec"]["containers"][0]["env"] == [{"name": "JOB_COMPLETION_INDEX", "valueFrom": {"fieldRef": {
            "apiVersion": "v1", "fieldPath": "metadata.annotations['batch.kubernetes.io/job-completion-index']"}}}]
    finish(state, pods[1])
    advance(state, 0)
    assert job_of(state)["status"]["completedIndexes"] == "1" and job_of(state)["status"]["succeeded"] == 1
    finish(state, pods[0])
    advance(state, 0)
    assert job_of(state)["status"]["completedIndexes"] == "0,1"
    finish(state, pods[2])
    advance(state, 0)
    job = job_of(state)
    assert job["status"]["completedIndexes"] == "0-2" and job["status"]["succeeded"] == 3
    assert conditions(job)[-1][0] == "Complete"


def test_indexed_job_replaces_a_failed_index_with_the_same_index() -> None:
    state = new_state()
    create_job(state, completions=4, parallelism=2, completionMode="Indexed")
    run(state, T0)
    by_index = {p["metadata"]["annotations"][COMPLETION_INDEX]: p for p in pods_of(state)}
    assert sorted(by_index) == ["0", "1"]
    state.now = T0 + 4
    finish(state, by_index["0"])
    state.now = T0 + 5
    finish(state, by_index["1"], "Failed")  # a failure after the last success: back-off
    advance(state, 0)
    assert [p["metadata"]["annotations"][COMPLETION_INDEX] for p in active_pods(state)] == []
    advance(state, 10)
    assert sorted(p["metadata"]["annotations"][COMPLETION_INDEX] for p in active_pods(state)) == ["1", "2"]
    assert job_of(state)["status"]["failed"] == 1 and job_of(state)["status"]["completedIndexes"] == "0"


@pytest.mark.parametrize("indexes, text", [
    (set(), ""), ({0}, "0"), ({0, 1}, "0,1"), ({0, 1, 2}, "0-2"), ({1, 3, 4, 5, 7, 8}, "1,3-5,7,8"),
])
def test_completed_indexes_format(indexes: set[int], text: str) -> None:
    assert format_indexes(indexes) == text
    assert parse_indexes(text, 10) == indexes


def test_parse_indexes_ignores_out_of_range() -> None:
    assert parse_indexes("1,3-5,9", 5) == {1, 3, 4}


# ----------------------------------------------------------------------------- suspend

def test_a_job_created_suspended_waits_and_resumes() -> None:
    state = new_state()
    create_job(state, suspend=True, activeDeadlineSeconds=60)
    run(state, T0 + 100)
    job = job_of(state)
    assert not pods_of(state) and "startTime" not in job["status"]
    assert conditions(job) == [("Suspended", "True", "JobSuspended", "Job suspended")]
    assert events(state, "Suspended") == [("Normal", "Suspended", "Job suspended")]
    job["spec"]["suspend"] = False
    state.update(job)
    advance(state, 0)
    job = job_of(state)
    assert conditions(job) == [("Suspended", "False", "JobResumed", "Job resumed")]
    assert job["status"]["startTime"] == timestamp(T0 + 100) and len(active_pods(state)) == 1
    assert events(state, "Resumed") == [("Normal", "Resumed", "Job resumed")]


def test_suspending_a_running_job_deletes_its_pods_without_counting_failures() -> None:
    state = new_state()
    create_job(state, completions=2, parallelism=2)
    run(state, T0)
    names = [p["metadata"]["name"] for p in pods_of(state)]
    job = job_of(state)
    job["spec"]["suspend"] = True
    state.update(job)
    advance(state, 5)
    job = job_of(state)
    assert not pods_of(state)
    assert "failed" not in job["status"] and "active" not in job["status"]
    assert conditions(job)[0][:3] == ("Suspended", "True", "JobSuspended")
    assert sorted(m for _, r, m in events(state, "SuccessfulDelete")) == sorted(f"Deleted pod: {n}" for n in names)


# ----------------------------------------------------------------------------- TTL, deletion, orphans

def test_ttl_seconds_after_finished_deletes_the_job_and_its_pods() -> None:
    state = new_state()
    create_job(state, ttlSecondsAfterFinished=100)
    run(state, T0 + 50, fake_kubelet(after=10))
    assert conditions(job_of(state))[-1][0] == "Complete"
    pod_name = pods_of(state)[0]["metadata"]["name"]
    run(state, T0 + 109, fake_kubelet(after=10))
    assert job_of(state) is not None
    run(state, T0 + 111, fake_kubelet(after=10))
    assert job_of(state) is None and state.get("Pod", "default", pod_name) is None


def test_ttl_zero_deletes_at_once() -> None:
    state = new_state()
    create_job(state, ttlSecondsAfterFinished=0)
    run(state, T0 + 50, fake_kubelet(after=10))
    assert job_of(state) is None and not state.list("Pod", "default")


def test_a_pod_deleted_by_a_user_counts_as_a_failure_and_is_replaced() -> None:
    state = new_state()
    create_job(state)
    run(state, T0)
    (pod,) = pods_of(state)
    start(state, pod)
    state.now = T0 + 20
    # kubectl delete pod: the API server marks it (grace period, and our finalizer holds it)
    pod["metadata"]["deletionTimestamp"] = timestamp(T0 + 50)
    pod["metadata"]["deletionGracePeriodSeconds"] = 30
    state.update(pod)
    advance(state, 0)
    job = job_of(state)
    assert job["status"]["failed"] == 1 and "finalizers" not in pod["metadata"]
    assert job["status"]["terminating"] == 1
    assert len(active_pods(state)) == 0  # the back-off applies to the replacement too
    advance(state, 10)
    assert len(active_pods(state)) == 1


def test_orphan_pods_lose_the_tracking_finalizer() -> None:
    state = new_state()
    create_job(state)
    run(state, T0)
    (pod,) = pods_of(state)
    del pod["metadata"]["ownerReferences"]  # kubectl delete job --cascade=orphan
    state.update(pod)
    state.delete(job_of(state))
    advance(state, 0)
    assert "finalizers" not in pod["metadata"] and state.get("Pod", "default", pod["metadata"]["name"]) is pod


def test_too_many_pods_are_scaled_down() -> None:
    state = new_state()
    create_job(state, completions=10, parallelism=4)
    run(state, T0)
    assert len(active_pods(state)) == 4
    job = job_of(state)
    job["spec"]["parallelism"] = 1
    state.update(job)
    advance(state, 0)
    assert len(active_pods(state)) == 1
    assert len(events(state, "SuccessfulDelete")) == 3


def test_a_job_managed_by_another_controller_is_left_alone() -> None:
    state = new_state()
    create_job(state, managedBy="example.com/other")
    run(state, T0 + 10)
    assert not pods_of(state) and not job_of(state).get("status", {}).get("active")


def test_idle_pass_is_cheap() -> None:
    import time

    state = new_state()
    for i in range(20):
        apply(state, job_manifest(f"job-{i}", completions=3, parallelism=3))
    state.commit()
    run(state, T0)
    assert len(state.list("Pod", "default")) == 60
    with collector_held():
        began = time.perf_counter()
        for _ in range(20):
            job_controller.reconcile(state)
        per_pass = (time.perf_counter() - began) / 20
    assert state.changes() == []
    assert per_pass < 0.02  # generous: the contract's budget is 5 ms for the whole engine pass
