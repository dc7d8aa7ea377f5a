"""The resource quota controller, and quota refusals of the controllers' pods, on the fake clock."""
from __future__ import annotations

import time

from clusters.engine.controllers import resourcequota
from clusters.engine.loop import step
from clusters.engine.state import ClusterState
from tests.engine.conftest import T0, apply, collector_held, new_state, run

NS = "team-a"


def namespace(state: ClusterState, name: str = NS) -> None:
    apply(state, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})


def team_limits(state: ClusterState, pods: str = "3") -> dict:
    """The namespaces lesson's team-a-limits.yaml."""
    rq = apply(state, {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "team-quota", "namespace": NS},
                       "spec": {"hard": {"pods": pods, "requests.cpu": "1", "requests.memory": "1Gi"}}})
    apply(state, {"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "container-defaults", "namespace": NS},
                  "spec": {"limits": [{"type": "Container", "defaultRequest": {"cpu": "100m", "memory": "64Mi"},
                                       "default": {"cpu": "250m", "memory": "128Mi"}}]}})
    return rq


def pod(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": NS, "labels": {"run": name}},
            "spec": {"containers": [{"name": name, "image": "nginx:1.27"}]}}


def deployment(name: str, replicas: int) -> dict:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": NS},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}]}}}}


def warnings(state: ClusterState, reason: str) -> list[dict]:
    return [e for e in state.list("Event", NS) if e["reason"] == reason]


def test_status_counts_what_the_namespace_uses():
    state = new_state()
    namespace(state)
    apply(state, pod("web"))
    rq = team_limits(state)
    run(state, T0 + 5)
    # web was created before the LimitRange: it requests nothing, yet it is a pod
    assert rq["status"] == {"hard": {"pods": "3", "requests.cpu": "1", "requests.memory": "1Gi"},
                            "used": {"pods": "1", "requests.cpu": "0", "requests.memory": "0"}}
    apply(state, pod("second"))
    run(state, T0 + 10)
    assert rq["status"]["used"] == {"pods": "2", "requests.cpu": "100m", "requests.memory": "64Mi"}


def test_a_deployment_over_the_quota_reports_failed_create_and_retries():
    state = new_state()
    namespace(state)
    apply(state, pod("web"))
    rq = team_limits(state)
    apply(state, deployment("api", 3))
    run(state, T0 + 30)
    api_pods = [p for p in state.list("Pod", NS) if p["metadata"]["labels"].get("app") == "api"]
    assert len(api_pods) == 2
    assert rq["status"]["used"] == {"pods": "3", "requests.cpu": "200m", "requests.memory": "128Mi"}
    failed = warnings(state, "FailedCreate")
    assert failed and all(e["involvedObject"]["kind"] == "ReplicaSet" and e["type"] == "Warning" for e in failed)
    assert all(e["source"]["component"] == "replicaset-controller" for e in failed)
    message = failed[0]["message"]
    assert message.startswith('Error creating: pods "api-') and message.endswith(
        '" is forbidden: exceeded quota: team-quota, requested: pods=1, used: pods=3, limited: pods=3')
    # the rate limiter spaces the retries out: 5 ms doubling, not one per pass
    assert 5 <= len(failed) <= 15
    rs = state.list("ReplicaSet", NS)[0]
    failure = [c for c in rs["status"]["conditions"] if c["type"] == "ReplicaFailure"][0]
    assert failure["reason"] == "FailedCreate" and failure["message"].startswith('pods "api-')
    # room made by deleting one of its own pods: the ReplicaSet tries again at once
    state.delete(api_pods[0])
    state.commit()
    run(state, T0 + 31)
    assert len([p for p in state.list("Pod", NS) if p["metadata"]["labels"].get("app") == "api"]) == 2
    rs = state.list("ReplicaSet", NS)[0]
    assert rs["status"]["replicas"] == 2


def test_a_bigger_quota_lets_the_replicaset_finish_at_its_next_retry():
    state = new_state()
    namespace(state)
    rq = team_limits(state, pods="1")
    apply(state, deployment("api", 2))
    run(state, T0 + 60)
    assert len(state.list("Pod", NS)) == 1
    rq["spec"]["hard"]["pods"] = "5"
    state.update(rq)
    state.commit()
    run(state, T0 + 2000)  # the back-off is at most 1000 s
    assert len(state.list("Pod", NS)) == 2
    assert rq["status"]["used"]["pods"] == "2"


def test_a_job_over_the_quota_reports_failed_create():
    state = new_state()
    namespace(state)
    team_limits(state, pods="0")
    apply(state, {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "pi", "namespace": NS},
                  "spec": {"template": {"spec": {"restartPolicy": "Never",
                                                 "containers": [{"name": "pi", "image": "busybox"}]}}}})
    run(state, T0 + 5)
    failed = warnings(state, "FailedCreate")
    assert failed and failed[0]["source"]["component"] == "job-controller"
    assert 'is forbidden: exceeded quota: team-quota, requested: pods=1, used: pods=0, limited: pods=0' in \
        failed[0]["message"]
    assert not state.list("Pod", NS)


def test_a_statefulset_over_the_quota_reports_failed_create():
    state = new_state()
    namespace(state)
    team_limits(state, pods="1")
    labels = {"app": "db"}
    apply(state, {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "namespace": NS},
                  "spec": {"replicas": 2, "serviceName": "db", "podManagementPolicy": "Parallel",
                           "selector": {"matchLabels": labels},
                           "template": {"metadata": {"labels": labels},
                                        "spec": {"containers": [{"name": "db", "image": "redis"}]}}}})
    run(state, T0 + 10)
    assert [p["metadata"]["name"] for p in state.list("Pod", NS)] == ["db-0"]
    failed = warnings(state, "FailedCreate")
    assert failed[0]["message"] == (
        'create Pod db-1 in StatefulSet db failed error: pods "db-1" is forbidden: exceeded quota: team-quota, '
        "requested: pods=1, used: pods=1, limited: pods=1")


def test_terminal_pods_leave_the_quota():
    state = new_state()
    namespace(state)
    rq = team_limits(state)
    apply(state, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "once", "namespace": NS},
                  "spec": {"restartPolicy": "Never",
                           "containers": [{"name": "c", "image": "busybox", "command": ["true"]}]}})
    run(state, T0 + 60)
    assert state.get("Pod", NS, "once")["status"]["phase"] == "Succeeded"
    assert rq["status"]["used"] == {"pods": "0", "requests.cpu": "0", "requests.memory": "0"}


def test_idle_quota_controller_writes_nothing():
    state = new_state()
    namespace(state)
    team_limits(state)
    for i in range(3):
        apply(state, pod(f"p{i}"))
    run(state, T0 + 30)
    before = state.writes
    with collector_held():
        started = time.perf_counter()
        for _ in range(100):
            resourcequota.reconcile(state)
        elapsed = (time.perf_counter() - started) / 100
    assert state.writes == before
    assert elapsed < 0.005
    result = step(state, T0 + 31, controllers=[resourcequota.reconcile])
    assert result.changes == []
