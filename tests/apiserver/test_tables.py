"""Server-side tables: columns and cells as the real kube-apiserver prints them.

Expected cells are what `kubectl get` / `kubectl get -o wide` shows against a
real cluster for the same objects (the shapes of the Kubernetes docs'
tutorial output), derived from pkg/printers/internalversion/printers.go.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from clusters.apiserver import registry
from clusters.apiserver.tables import (
    build_table,
    column_definitions,
    human_duration,
    pod_status_reason,
    translate_timestamp_since,
)

NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)


def ago(**delta: float) -> str:
    return (NOW - timedelta(**delta)).strftime("%Y-%m-%dT%H:%M:%SZ")


def meta(name: str, namespace: str | None = "default", age: timedelta = timedelta(minutes=5), **extra) -> dict:
    m = {"name": name, "uid": f"uid-{name}", "resourceVersion": "100",
         "creationTimestamp": (NOW - age).strftime("%Y-%m-%dT%H:%M:%SZ")}
    if namespace:
        m["namespace"] = namespace
    m.update(extra)
    return m


def cells(kind: str, obj: dict) -> list:
    return build_table(kind, [obj], now=NOW)["rows"][0]["cells"]


def headers(kind: str, wide: bool = False) -> list[str]:
    return [c["name"].upper() for c in column_definitions(kind) if wide or c["priority"] == 0]


# --------------------------------------------------------------------------- human_duration
@pytest.mark.parametrize(("seconds", "expected"), [
    (-5, "<invalid>"), (-2, "<invalid>"), (-1.5, "0s"), (-1, "0s"), (0, "0s"), (0.9, "0s"), (5, "5s"),
    (59, "59s"), (60, "60s"), (119, "119s"), (120, "2m"), (121, "2m1s"), (130, "2m10s"), (300, "5m"),
    (599, "9m59s"), (600, "10m"), (601, "10m"), (90 * 60, "90m"), (179 * 60 + 59, "179m"), (3 * 3600, "3h"),
    (3 * 3600 + 30 * 60, "3h30m"), (7 * 3600 + 59 * 60 + 59, "7h59m"), (8 * 3600, "8h"),
    (8 * 3600 + 30 * 60, "8h"), (47 * 3600, "47h"), (48 * 3600, "2d"), (53 * 3600, "2d5h"),
    (7 * 86400 + 23 * 3600, "7d23h"), (8 * 86400, "8d"), (400 * 86400, "400d"), (729 * 86400, "729d"),
    (730 * 86400, "2y"), (740 * 86400, "2y10d"), (8 * 365 * 86400, "8y"), (10 * 365 * 86400 + 100 * 86400, "10y"),
])
def test_human_duration_matches_upstream(seconds: float, expected: str) -> None:
    assert human_duration(seconds) == expected


def test_translate_timestamp_since() -> None:
    assert translate_timestamp_since(None, NOW) == "<unknown>"
    assert translate_timestamp_since("", NOW) == "<unknown>"
    assert translate_timestamp_since(ago(seconds=42), NOW) == "42s"
    assert translate_timestamp_since(ago(days=3, hours=4), NOW) == "3d4h"
    assert translate_timestamp_since("2025-06-01T11:59:59.500000Z", NOW) == "0s"  # MicroTime
    assert translate_timestamp_since(ago(seconds=-30), NOW) == "<invalid>"  # clock far in the future
    naive_now = NOW.replace(tzinfo=None)  # a naive `now` is read as UTC
    assert translate_timestamp_since(ago(minutes=3), naive_now) == "3m"


# --------------------------------------------------------------------------- table envelope
def nginx_pod(**status_extra) -> dict:
    pod = {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": meta("nginx", labels={"run": "nginx"}),
        "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}], "nodeName": "node01"},
        "status": {
            "phase": "Running", "podIP": "10.244.1.5", "podIPs": [{"ip": "10.244.1.5"}],
            "conditions": [{"type": "Initialized", "status": "True"}, {"type": "Ready", "status": "True"},
                           {"type": "ContainersReady", "status": "True"}, {"type": "PodScheduled", "status": "True"}],
            "containerStatuses": [{"name": "nginx", "ready": True, "restartCount": 0, "started": True,
                                   "state": {"running": {"startedAt": ago(minutes=5)}}}],
        },
    }
    pod["status"].update(status_extra)
    return pod


def test_table_envelope_and_partial_object_metadata() -> None:
    table = build_table("Pod", [nginx_pod()], now=NOW, resource_version="1234")
    assert table["kind"] == "Table"
    assert table["apiVersion"] == "meta.k8s.io/v1"
    assert table["metadata"] == {"resourceVersion": "1234"}
    row = table["rows"][0]
    assert row["object"] == {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                             "metadata": nginx_pod()["metadata"]}
    assert "conditions" not in row  # only finished pods carry row conditions
    for column in table["columnDefinitions"]:
        assert set(column) == {"name", "type", "format", "description", "priority"}
    assert len(row["cells"]) == len(table["columnDefinitions"])


def test_include_object_variants_and_continue() -> None:
    pod = nginx_pod()
    full = build_table("Pod", [pod], now=NOW, include_object="Object", continue_token="abc")
    assert full["rows"][0]["object"] == pod
    assert full["metadata"] == {"continue": "abc"}
    none = build_table("Pod", [pod], now=NOW, include_object="None")
    assert none["rows"][0]["object"] is None  # RawExtension serializes as null upstream
    empty = build_table("Pod", [], now=NOW)
    assert empty["rows"] == [] and len(empty["columnDefinitions"]) == 9 and empty["metadata"] == {}


def test_name_column_format_and_descriptions() -> None:
    for rt in registry.RESOURCES:
        if not rt.stored:
            continue
        columns = column_definitions(rt.kind)
        names = [c for c in columns if c["name"] == "Name"]
        assert names and all(c["format"] == "name" for c in names), rt.kind
        assert all(c["format"] == "" for c in columns if c["name"] != "Name"), rt.kind
        assert all(c["priority"] in (0, 1) for c in columns)
    assert column_definitions("Pod")[0]["description"].startswith("Name must be unique within a namespace")
    assert column_definitions("Pod")[5]["description"].startswith("podIP address allocated to the pod")


def test_every_served_kind_has_a_table_row_of_the_right_width() -> None:
    for rt in registry.RESOURCES:
        obj = {"apiVersion": rt.api_version, "kind": rt.kind, "metadata": meta("x")}
        table = build_table(rt.kind, [obj], now=NOW)
        if rt.stored:
            assert len(table["rows"][0]["cells"]) == len(table["columnDefinitions"]), rt.kind


# --------------------------------------------------------------------------- pods
def test_pod_columns() -> None:
    assert headers("Pod") == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert headers("Pod", wide=True) == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE",
                                         "NOMINATED NODE", "READINESS GATES"]
    types = {c["name"]: c["type"] for c in column_definitions("Pod")}
    assert types["Restarts"] == "string"  # "3 (30s ago)" since 1.22


def test_running_pod() -> None:
    assert cells("Pod", nginx_pod()) == ["nginx", "1/1", "Running", "0", "5m", "10.244.1.5", "node01",
                                         "<none>", "<none>"]


def test_pending_pod_not_scheduled() -> None:
    pod = {"metadata": meta("big", age=timedelta(seconds=12)),
           "spec": {"containers": [{"name": "app", "image": "nginx"}]},
           "status": {"phase": "Pending", "conditions": [
               {"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}]}}
    assert cells("Pod", pod) == ["big", "0/1", "Pending", "0", "12s", "<none>", "<none>", "<none>", "<none>"]


def test_container_creating_pod() -> None:
    pod = nginx_pod(phase="Pending", podIPs=[], containerStatuses=[
        {"name": "nginx", "ready": False, "restartCount": 0, "state": {"waiting": {"reason": "ContainerCreating"}}}])
    assert cells("Pod", pod)[:4] == ["nginx", "0/1", "ContainerCreating", "0"]


def test_crash_loop_back_off_with_restarts_ago() -> None:
    pod = nginx_pod(containerStatuses=[{
        "name": "nginx", "ready": False, "restartCount": 3,
        "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s restarting failed container"}},
        "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": ago(seconds=30)}},
    }])
    assert cells("Pod", pod)[:5] == ["nginx", "0/1", "CrashLoopBackOff", "3 (30s ago)", "5m"]


def test_image_pull_back_off() -> None:
    pod = nginx_pod(phase="Pending", containerStatuses=[{
        "name": "nginx", "ready": False, "restartCount": 0, "image": "nginx:nope",
        "state": {"waiting": {"reason": "ImagePullBackOff", "message": 'Back-off pulling image "nginx:nope"'}}}])
    assert cells("Pod", pod)[:4] == ["nginx", "0/1", "ImagePullBackOff", "0"]
    pod["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] = "ErrImagePull"
    assert pod_status_reason(pod) == "ErrImagePull"


def test_oom_killed_and_exit_code_reasons() -> None:
    pod = nginx_pod(containerStatuses=[{"name": "nginx", "ready": False, "restartCount": 1,
                                        "state": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}}])
    assert pod_status_reason(pod) == "OOMKilled"
    pod["status"]["containerStatuses"][0]["state"] = {"terminated": {"exitCode": 2}}
    assert pod_status_reason(pod) == "ExitCode:2"
    pod["status"]["containerStatuses"][0]["state"] = {"terminated": {"exitCode": 0, "signal": 9}}
    assert pod_status_reason(pod) == "Signal:9"


def test_terminating_pod() -> None:
    pod = nginx_pod()
    pod["metadata"]["deletionTimestamp"] = ago(seconds=3)
    assert cells("Pod", pod)[:3] == ["nginx", "1/1", "Terminating"]


def test_node_lost_pod_is_unknown() -> None:
    pod = nginx_pod(reason="NodeLost")
    pod["metadata"]["deletionTimestamp"] = ago(seconds=3)
    assert pod_status_reason(pod) == "Unknown"


def test_finished_pods_are_not_terminating() -> None:
    pod = completed_pod()
    pod["metadata"]["deletionTimestamp"] = ago(seconds=3)
    assert pod_status_reason(pod) == "Completed"


def completed_pod() -> dict:
    return {
        "metadata": meta("pi-x7k2p", age=timedelta(minutes=2)),
        "spec": {"containers": [{"name": "pi", "image": "perl:5.34.0"}], "nodeName": "node01",
                 "restartPolicy": "Never"},
        "status": {"phase": "Succeeded", "podIPs": [{"ip": "10.244.1.9"}],
                   "conditions": [{"type": "Initialized", "status": "True"}, {"type": "Ready", "status": "False"}],
                   "containerStatuses": [{"name": "pi", "ready": False, "restartCount": 0, "state": {
                       "terminated": {"exitCode": 0, "reason": "Completed", "finishedAt": ago(minutes=1)}}}]},
    }


def test_completed_job_pod_has_row_condition() -> None:
    table = build_table("Pod", [completed_pod()], now=NOW)
    assert table["rows"][0]["cells"][:5] == ["pi-x7k2p", "0/1", "Completed", "0", "2m"]
    assert table["rows"][0]["conditions"] == [{"type": "Completed", "status": "True", "reason": "Succeeded",
                                               "message": "The pod has completed successfully."}]


def test_failed_pod_row_condition() -> None:
    pod = completed_pod()
    pod["status"]["phase"] = "Failed"
    pod["status"]["containerStatuses"][0]["state"]["terminated"].update(exitCode=1, reason="Error")
    table = build_table("Pod", [pod], now=NOW)
    assert table["rows"][0]["cells"][2] == "Error"
    assert table["rows"][0]["conditions"][0]["reason"] == "Failed"


def test_completed_container_with_running_sibling() -> None:
    pod = nginx_pod(containerStatuses=[
        {"name": "a", "ready": True, "restartCount": 0, "state": {"running": {}}},
        {"name": "b", "ready": False, "restartCount": 0, "state": {"terminated": {"exitCode": 0,
                                                                                  "reason": "Completed"}}},
    ])
    pod["spec"]["containers"] = [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]
    assert cells("Pod", pod)[1:3] == ["1/2", "Running"]
    pod["status"]["conditions"] = [{"type": "Ready", "status": "False"}]
    assert pod_status_reason(pod) == "NotReady"


def init_pod(init_state: dict, *, init_restarts: int = 0, main_state: dict | None = None,
             initialized: str = "False") -> dict:
    return {
        "metadata": meta("myapp-pod", age=timedelta(seconds=40)),
        "spec": {"initContainers": [{"name": "init-myservice", "image": "busybox:1.28"}],
                 "containers": [{"name": "myapp-container", "image": "busybox:1.28"}], "nodeName": "node01"},
        "status": {
            "phase": "Pending", "podIPs": [{"ip": "10.244.1.7"}],
            "conditions": [{"type": "Initialized", "status": initialized}, {"type": "Ready", "status": "False"}],
            "initContainerStatuses": [{"name": "init-myservice", "ready": False, "restartCount": init_restarts,
                                       "state": init_state}],
            "containerStatuses": [{"name": "myapp-container", "ready": False, "restartCount": 0,
                                   "state": main_state or {"waiting": {"reason": "PodInitializing"}}}],
        },
    }


def test_init_container_running() -> None:
    assert cells("Pod", init_pod({"running": {"startedAt": ago(seconds=30)}}))[:5] == [
        "myapp-pod", "0/1", "Init:0/1", "0", "40s"]


def test_init_container_crash_loop() -> None:
    pod = init_pod({"waiting": {"reason": "CrashLoopBackOff"}}, init_restarts=2)
    pod["status"]["initContainerStatuses"][0]["lastState"] = {
        "terminated": {"exitCode": 1, "reason": "Error", "finishedAt": ago(seconds=15)}}
    assert cells("Pod", pod)[:4] == ["myapp-pod", "0/1", "Init:CrashLoopBackOff", "2 (15s ago)"]


def test_init_container_failed() -> None:
    assert pod_status_reason(init_pod({"terminated": {"exitCode": 1, "reason": "Error"}})) == "Init:Error"
    assert pod_status_reason(init_pod({"terminated": {"exitCode": 3}})) == "Init:ExitCode:3"
    assert pod_status_reason(init_pod({"terminated": {"exitCode": 143, "signal": 15}})) == "Init:Signal:15"
    # exit code 0 counts as done whatever the signal: the next init container (none) → main containers
    assert pod_status_reason(init_pod({"terminated": {"exitCode": 0, "signal": 15}})) == "PodInitializing"


def test_init_done_main_initializing() -> None:
    pod = init_pod({"terminated": {"exitCode": 0, "reason": "Completed"}}, initialized="True")
    assert cells("Pod", pod)[:3] == ["myapp-pod", "0/1", "PodInitializing"]


def test_sidecar_init_container_counts_in_ready() -> None:
    pod = nginx_pod(initContainerStatuses=[{
        "name": "log-shipper", "ready": True, "started": True, "restartCount": 1,
        "state": {"running": {}},
        "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": ago(minutes=4)}}}])
    pod["spec"]["initContainers"] = [{"name": "log-shipper", "image": "alpine", "restartPolicy": "Always"}]
    assert cells("Pod", pod)[:4] == ["nginx", "2/2", "Running", "1 (4m ago)"]


def test_scheduling_gated_and_readiness_gates() -> None:
    pod = {"metadata": meta("gated"), "spec": {"containers": [{"name": "c", "image": "i"}],
                                               "schedulingGates": [{"name": "example.com/foo"}]},
           "status": {"phase": "Pending", "conditions": [
               {"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]}}
    assert pod_status_reason(pod) == "SchedulingGated"
    pod = nginx_pod()
    pod["spec"]["readinessGates"] = [{"conditionType": "www.example.com/feature-1"},
                                     {"conditionType": "www.example.com/feature-2"}]
    pod["status"]["conditions"].append({"type": "www.example.com/feature-1", "status": "True"})
    pod["status"]["nominatedNodeName"] = "node02"
    assert cells("Pod", pod)[5:] == ["10.244.1.5", "node01", "node02", "1/2"]


# --------------------------------------------------------------------------- workloads
def template(image: str = "nginx:1.14.2", name: str = "nginx", labels: dict | None = None) -> dict:
    return {"metadata": {"labels": labels or {"app": "nginx"}},
            "spec": {"containers": [{"name": name, "image": image, "ports": [{"containerPort": 80}]}]}}


def test_deployment() -> None:
    assert headers("Deployment") == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert headers("Deployment", wide=True)[5:] == ["CONTAINERS", "IMAGES", "SELECTOR"]
    deploy = {"metadata": meta("nginx-deployment", age=timedelta(seconds=18)),
              "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "nginx"}}, "template": template()},
              "status": {"replicas": 3, "updatedReplicas": 3, "readyReplicas": 3, "availableReplicas": 3}}
    assert cells("Deployment", deploy) == ["nginx-deployment", "3/3", 3, 3, "18s", "nginx", "nginx:1.14.2",
                                           "app=nginx"]
    deploy["status"] = {"replicas": 3, "updatedReplicas": 1}
    assert cells("Deployment", deploy)[1:4] == ["0/3", 1, 0]


def test_replicaset_and_selector_formatting() -> None:
    rs = {"metadata": meta("nginx-deployment-66b6c48dd5", age=timedelta(seconds=18)),
          "spec": {"replicas": 3, "selector": {
              "matchLabels": {"pod-template-hash": "66b6c48dd5", "app": "nginx"},
              "matchExpressions": [{"key": "tier", "operator": "In", "values": ["web", "frontend"]},
                                   {"key": "legacy", "operator": "DoesNotExist"}]},
              "template": template()},
          "status": {"replicas": 3, "readyReplicas": 3, "availableReplicas": 3}}
    assert headers("ReplicaSet") == ["NAME", "DESIRED", "CURRENT", "READY", "AGE"]
    assert cells("ReplicaSet", rs) == [
        "nginx-deployment-66b6c48dd5", 3, 3, 3, "18s", "nginx", "nginx:1.14.2",
        "app=nginx,!legacy,pod-template-hash=66b6c48dd5,tier in (frontend,web)"]  # sorted by key


def test_replication_controller() -> None:
    rc = {"metadata": meta("nginx"), "spec": {"replicas": 3, "selector": {"app": "nginx"}, "template": template()},
          "status": {"replicas": 3, "readyReplicas": 2}}
    assert cells("ReplicationController", rc) == ["nginx", 3, 3, 2, "5m", "nginx", "nginx:1.14.2", "app=nginx"]


def test_statefulset() -> None:
    sts = {"metadata": meta("web", age=timedelta(minutes=1)),
           "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "nginx"}},
                    "template": template("registry.k8s.io/nginx-slim:0.24")},
           "status": {"replicas": 2, "readyReplicas": 1}}
    assert headers("StatefulSet", wide=True) == ["NAME", "READY", "AGE", "CONTAINERS", "IMAGES"]
    assert cells("StatefulSet", sts) == ["web", "1/2", "60s", "nginx", "registry.k8s.io/nginx-slim:0.24"]


def test_daemonset() -> None:
    ds = {"metadata": meta("kube-proxy", "kube-system", age=timedelta(days=3)),
          "spec": {"selector": {"matchLabels": {"k8s-app": "kube-proxy"}},
                   "template": {"spec": {"nodeSelector": {"kubernetes.io/os": "linux"}, "containers": [
                       {"name": "kube-proxy", "image": "registry.k8s.io/kube-proxy:v1.37.0"}]}}},
          "status": {"desiredNumberScheduled": 2, "currentNumberScheduled": 2, "numberReady": 2,
                     "updatedNumberScheduled": 2, "numberAvailable": 2}}
    assert headers("DaemonSet") == ["NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE",
                                    "NODE SELECTOR", "AGE"]
    assert cells("DaemonSet", ds) == ["kube-proxy", 2, 2, 2, 2, 2, "kubernetes.io/os=linux", "3d", "kube-proxy",
                                      "registry.k8s.io/kube-proxy:v1.37.0", "k8s-app=kube-proxy"]
    ds["spec"]["template"]["spec"].pop("nodeSelector")
    assert cells("DaemonSet", ds)[6] == "<none>"


def pi_job(**status) -> dict:
    return {"metadata": meta("pi", age=timedelta(minutes=2)),
            "spec": {"completions": 1, "parallelism": 1, "backoffLimit": 4,
                     "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "abc"}},
                     "template": {"spec": {"containers": [{"name": "pi", "image": "perl:5.34.0"}]}}},
            "status": status}


def test_job() -> None:
    assert headers("Job") == ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"]
    done = pi_job(startTime=ago(minutes=2), completionTime=ago(seconds=79), succeeded=1, conditions=[
        {"type": "SuccessCriteriaMet", "status": "True"}, {"type": "Complete", "status": "True"}])
    assert cells("Job", done) == ["pi", "Complete", "1/1", "41s", "2m", "pi", "perl:5.34.0",
                                  "batch.kubernetes.io/controller-uid=abc"]
    running = pi_job(startTime=ago(seconds=10), active=1)
    assert cells("Job", running)[1:4] == ["Running", "0/1", "10s"]
    failed = pi_job(startTime=ago(minutes=2), failed=5, conditions=[{"type": "Failed", "status": "True"}])
    assert cells("Job", failed)[1] == "Failed"
    suspended = pi_job(conditions=[{"type": "Suspended", "status": "True"}])
    assert cells("Job", suspended)[1:4] == ["Suspended", "0/1", ""]
    parallel = pi_job()
    parallel["spec"].pop("completions")
    parallel["spec"]["parallelism"] = 3
    assert cells("Job", parallel)[2] == "0/1 of 3"


def test_cronjob() -> None:
    cj = {"metadata": meta("hello", age=timedelta(minutes=3)),
          "spec": {"schedule": "* * * * *", "suspend": False, "jobTemplate": {"spec": {"template": {"spec": {
              "containers": [{"name": "hello", "image": "busybox:1.28"}]}}}}},
          "status": {"active": [{"name": "hello-29104560"}], "lastScheduleTime": ago(seconds=45)}}
    assert headers("CronJob") == ["NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST SCHEDULE", "AGE"]
    assert cells("CronJob", cj) == ["hello", "* * * * *", "<none>", "False", 1, "45s", "3m", "hello",
                                    "busybox:1.28", "<none>"]
    cj["status"] = {}
    cj["spec"]["timeZone"] = "Etc/UTC"
    assert cells("CronJob", cj)[2:6] == ["Etc/UTC", "False", 0, "<none>"]


def test_hpa_v2_and_v1() -> None:
    assert headers("HorizontalPodAutoscaler") == ["NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS",
                                                  "REPLICAS", "AGE"]
    v2 = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
          "metadata": meta("php-apache", age=timedelta(seconds=20)),
          "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "php-apache"},
                   "minReplicas": 1, "maxReplicas": 10, "metrics": [{"type": "Resource", "resource": {
                       "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}]},
          "status": {"currentReplicas": 0, "desiredReplicas": 0}}
    assert cells("HorizontalPodAutoscaler", v2) == ["php-apache", "Deployment/php-apache", "cpu: <unknown>/50%",
                                                    "1", 10, 0, "20s"]
    v2["status"] = {"currentReplicas": 7, "currentMetrics": [{"type": "Resource", "resource": {
        "name": "cpu", "current": {"averageUtilization": 305, "averageValue": "153m"}}}]}
    assert cells("HorizontalPodAutoscaler", v2)[2:6] == ["cpu: 305%/50%", "1", 10, 7]
    v2["spec"]["metrics"].append({"type": "Resource", "resource": {
        "name": "memory", "target": {"type": "AverageValue", "averageValue": "100Mi"}}})
    v2["spec"]["metrics"].append({"type": "Pods", "pods": {
        "metric": {"name": "packets-per-second"}, "target": {"type": "AverageValue", "averageValue": "1k"}}})
    assert cells("HorizontalPodAutoscaler", v2)[2] == "cpu: 305%/50%, memory: <unknown>/100Mi + 1 more..."

    v1 = {"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
          "metadata": meta("php-apache", age=timedelta(seconds=20)),
          "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "php-apache"},
                   "minReplicas": 1, "maxReplicas": 10, "targetCPUUtilizationPercentage": 50},
          "status": {"currentReplicas": 1, "desiredReplicas": 1, "currentCPUUtilizationPercentage": 0}}
    assert cells("HorizontalPodAutoscaler", v1) == ["php-apache", "Deployment/php-apache", "cpu: 0%/50%",
                                                    "1", 10, 1, "20s"]
    v1["status"] = {"currentReplicas": 0}
    v1["spec"].pop("minReplicas")
    assert cells("HorizontalPodAutoscaler", v1)[2:4] == ["cpu: <unknown>/50%", "<unset>"]



def test_hpa_external_and_object_metrics() -> None:
    hpa = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": meta("q"),
           "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "w"}, "maxReplicas": 3, "metrics": [
               {"type": "External", "external": {"metric": {"name": "queue"},
                                                 "target": {"type": "AverageValue", "averageValue": "2000"}}},
               {"type": "Object", "object": {"metric": {"name": "rps"}, "target": {"type": "Value", "value": "10"}}},
           ]},
           "status": {"currentMetrics": [{"type": "External", "external": {"current": {"averageValue": "1500m"}}}]}}
    assert cells("HorizontalPodAutoscaler", hpa)[2] == "1500m/2k (avg), <unknown>/10"
    hpa["spec"]["metrics"] = [{"type": "Object", "object": {"target": {"type": "AverageValue", "averageValue": "1"}}},
                              {"type": "External", "external": {"target": {"type": "Value", "value": "0.5"}}}]
    hpa["status"]["currentMetrics"] = [{"type": "Object", "object": {"current": {"value": "3"}}},
                                       {"type": "External", "external": {"current": {"value": "250m"}}}]
    assert cells("HorizontalPodAutoscaler", hpa)[2] == "<unknown>/1 (avg), 250m/500m"

def test_pdb_and_controller_revision_and_pod_template() -> None:
    pdb = {"metadata": meta("zk-pdb"), "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "zk"}}},
           "status": {"disruptionsAllowed": 1}}
    assert headers("PodDisruptionBudget") == ["NAME", "MIN AVAILABLE", "MAX UNAVAILABLE", "ALLOWED DISRUPTIONS",
                                              "AGE"]
    assert cells("PodDisruptionBudget", pdb) == ["zk-pdb", "2", "N/A", 1, "5m"]
    pdb["spec"] = {"maxUnavailable": "50%"}
    assert cells("PodDisruptionBudget", pdb)[1:4] == ["N/A", "50%", 1]

    rev = {"metadata": meta("fluentd-elasticsearch-5b9c7d6f8d", "kube-system", ownerReferences=[
        {"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "fluentd-elasticsearch", "controller": True}]),
        "revision": 1, "data": {}}
    assert cells("ControllerRevision", rev) == ["fluentd-elasticsearch-5b9c7d6f8d",
                                                "daemonset.apps/fluentd-elasticsearch", 1, "5m"]
    rev["metadata"]["ownerReferences"] = []
    assert cells("ControllerRevision", rev)[1] == "<none>"

    pt = {"metadata": meta("web-template"), "template": template(labels={"app": "web", "tier": "fe"})}
    assert headers("PodTemplate") == ["NAME", "CONTAINERS", "IMAGES", "POD LABELS"]
    assert cells("PodTemplate", pt) == ["web-template", "nginx", "nginx:1.14.2", "app=web,tier=fe"]


# --------------------------------------------------------------------------- networking
def svc(name: str, type_: str, ports: list[dict], **spec) -> dict:
    s = {"metadata": meta(name, age=timedelta(days=2)),
         "spec": {"type": type_, "ports": ports, "selector": {"app": "nginx"}, **spec}, "status": {}}
    return s


def test_services() -> None:
    assert headers("Service") == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    kubernetes = svc("kubernetes", "ClusterIP", [{"name": "https", "port": 443, "protocol": "TCP",
                                                  "targetPort": 6443}],
                     clusterIP="10.96.0.1", clusterIPs=["10.96.0.1"])
    kubernetes["spec"].pop("selector")
    assert cells("Service", kubernetes) == ["kubernetes", "ClusterIP", "10.96.0.1", "<none>", "443/TCP", "2d",
                                            "<none>"]
    node_port = svc("web", "NodePort", [{"port": 80, "protocol": "TCP", "targetPort": 80, "nodePort": 30080}],
                    clusterIPs=["10.96.12.34"])
    assert cells("Service", node_port) == ["web", "NodePort", "10.96.12.34", "<none>", "80:30080/TCP", "2d",
                                           "app=nginx"]
    lb = svc("lb", "LoadBalancer", [{"port": 80, "protocol": "TCP", "nodePort": 31234},
                                    {"port": 443, "protocol": "TCP", "nodePort": 31999}],
             clusterIPs=["10.96.0.50"])
    assert cells("Service", lb)[3:5] == ["<pending>", "80:31234/TCP,443:31999/TCP"]
    lb["status"] = {"loadBalancer": {"ingress": [{"ip": "203.0.113.10"}, {"hostname": "a.example.com"}]}}
    assert cells("Service", lb)[3] == "203.0.113.10,a.example.com"
    lb["spec"]["externalIPs"] = ["198.51.100.7"]
    assert cells("Service", lb)[3] == "203.0.113.10,a.example.com,198.51.100.7"
    ext = svc("db", "ExternalName", [], externalName="my.database.example.com")
    assert cells("Service", ext)[1:5] == ["ExternalName", "<none>", "my.database.example.com", "<none>"]
    headless = svc("nginx", "ClusterIP", [{"name": "web", "port": 80, "protocol": "TCP"}],
                   clusterIP="None", clusterIPs=["None"])
    assert cells("Service", headless)[2] == "None"
    udp = svc("dns", "ClusterIP", [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}],
              clusterIPs=["10.96.0.10"])
    assert cells("Service", udp)[4] == "53/UDP,53/TCP"


def test_endpoints_and_slices() -> None:
    ep = {"metadata": meta("nginx"), "subsets": [{"addresses": [{"ip": "10.244.1.5"}, {"ip": "10.244.2.6"}],
                                                  "ports": [{"port": 80, "protocol": "TCP"}]}]}
    assert headers("Endpoints") == ["NAME", "ENDPOINTS", "AGE"]
    assert cells("Endpoints", ep) == ["nginx", "10.244.1.5:80,10.244.2.6:80", "5m"]
    ep["subsets"][0]["addresses"] += [{"ip": "10.244.3.7"}, {"ip": "10.244.4.8"}]
    assert cells("Endpoints", ep)[1] == "10.244.1.5:80,10.244.2.6:80,10.244.3.7:80 + 1 more..."
    assert cells("Endpoints", {"metadata": meta("none")})[1] == "<none>"

    slice_ = {"metadata": meta("nginx-abc12"), "addressType": "IPv4",
              "endpoints": [{"addresses": ["10.244.1.5"], "conditions": {"ready": True}},
                            {"addresses": ["10.244.2.6"], "conditions": {"ready": True}}],
              "ports": [{"name": "", "port": 80, "protocol": "TCP"}]}
    assert headers("EndpointSlice") == ["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"]
    assert cells("EndpointSlice", slice_) == ["nginx-abc12", "IPv4", "80", "10.244.1.5,10.244.2.6", "5m"]
    empty = {"metadata": meta("empty"), "addressType": "IPv4", "endpoints": None, "ports": None}
    assert cells("EndpointSlice", empty)[2:4] == ["<unset>", "<unset>"]


def test_ingress_ingressclass_networkpolicy() -> None:
    ing = {"metadata": meta("example-ingress", age=timedelta(seconds=80)),
           "spec": {"ingressClassName": "nginx", "rules": [{"host": "hello-world.example", "http": {}}]},
           "status": {"loadBalancer": {"ingress": [{"ip": "172.17.0.15"}]}}}
    assert headers("Ingress") == ["NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"]
    assert cells("Ingress", ing) == ["example-ingress", "nginx", "hello-world.example", "172.17.0.15", "80", "80s"]
    ing["spec"] = {"rules": [{"http": {}}], "tls": [{"hosts": ["a"]}]}
    ing["status"] = {}
    assert cells("Ingress", ing)[1:5] == ["<none>", "*", "", "80, 443"]

    ic = {"metadata": meta("nginx", None), "spec": {"controller": "k8s.io/ingress-nginx"}}
    assert cells("IngressClass", ic) == ["nginx", "k8s.io/ingress-nginx", "<none>", "5m"]
    ic["spec"]["parameters"] = {"apiGroup": "k8s.example.com", "kind": "IngressParameters", "name": "external-lb"}
    assert cells("IngressClass", ic)[2] == "IngressParameters.k8s.example.com/external-lb"

    np = {"metadata": meta("test-network-policy"), "spec": {"podSelector": {"matchLabels": {"role": "db"}}}}
    assert headers("NetworkPolicy") == ["NAME", "POD-SELECTOR", "AGE"]
    assert cells("NetworkPolicy", np) == ["test-network-policy", "role=db", "5m"]
    np["spec"]["podSelector"] = {}
    assert cells("NetworkPolicy", np)[1] == "<none>"


# --------------------------------------------------------------------------- config & storage
def test_configmap_secret_serviceaccount_namespace() -> None:
    cm = {"metadata": meta("kube-root-ca.crt"), "data": {"ca.crt": "..."}}
    assert headers("ConfigMap") == ["NAME", "DATA", "AGE"]
    assert cells("ConfigMap", cm) == ["kube-root-ca.crt", 1, "5m"]
    assert cells("ConfigMap", {"metadata": meta("b"), "data": {"a": "1"}, "binaryData": {"b": "AA=="}})[1] == 2
    secret = {"metadata": meta("db-user-pass"), "type": "Opaque", "data": {"username": "YWRtaW4=",
                                                                             "password": "cGFzcw=="}}
    assert headers("Secret") == ["NAME", "TYPE", "DATA", "AGE"]
    assert cells("Secret", secret) == ["db-user-pass", "Opaque", 2, "5m"]
    sa = {"metadata": meta("default", age=timedelta(days=10))}
    assert headers("ServiceAccount") == ["NAME", "SECRETS", "AGE"]
    assert cells("ServiceAccount", sa) == ["default", 0, "10d"]
    ns = {"metadata": meta("kube-system", None, age=timedelta(hours=5)), "status": {"phase": "Active"}}
    assert headers("Namespace") == ["NAME", "STATUS", "AGE"]
    assert cells("Namespace", ns) == ["kube-system", "Active", "5h"]


def test_persistent_volumes_and_claims() -> None:
    pv = {"metadata": meta("task-pv-volume", None, age=timedelta(minutes=1)),
          "spec": {"storageClassName": "manual", "capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteOnce"],
                   "persistentVolumeReclaimPolicy": "Retain", "volumeMode": "Filesystem",
                   "claimRef": {"namespace": "default", "name": "task-pv-claim"}, "hostPath": {"path": "/mnt/data"}},
          "status": {"phase": "Bound"}}
    assert headers("PersistentVolume") == ["NAME", "CAPACITY", "ACCESS MODES", "RECLAIM POLICY", "STATUS", "CLAIM",
                                           "STORAGECLASS", "VOLUMEATTRIBUTESCLASS", "REASON", "AGE"]
    assert cells("PersistentVolume", pv) == ["task-pv-volume", "10Gi", "RWO", "Retain", "Bound",
                                             "default/task-pv-claim", "manual", "<unset>", "", "60s", "Filesystem"]
    pvc = {"metadata": meta("task-pv-claim", age=timedelta(seconds=30)),
           "spec": {"storageClassName": "manual", "accessModes": ["ReadWriteOnce"], "volumeMode": "Filesystem",
                    "resources": {"requests": {"storage": "3Gi"}}, "volumeName": "task-pv-volume"},
           "status": {"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "10Gi"}}}
    assert headers("PersistentVolumeClaim") == ["NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS MODES",
                                                "STORAGECLASS", "VOLUMEATTRIBUTESCLASS", "AGE"]
    assert cells("PersistentVolumeClaim", pvc) == ["task-pv-claim", "Bound", "task-pv-volume", "10Gi", "RWO",
                                                   "manual", "<unset>", "30s", "Filesystem"]
    pending = {"metadata": meta("data"), "spec": {"accessModes": ["ReadWriteOnce", "ReadOnlyMany"],
                                                  "storageClassName": "standard",
                                                  "resources": {"requests": {"storage": "1Gi"}}},
               "status": {"phase": "Pending"}}
    assert cells("PersistentVolumeClaim", pending)[1:8] == ["Pending", "", "", "", "standard", "<unset>", "5m"]
    pending["metadata"]["deletionTimestamp"] = ago(seconds=1)
    assert cells("PersistentVolumeClaim", pending)[1] == "Terminating"
    pv["spec"]["accessModes"] = ["ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod", "ReadOnlyMany"]
    pv["spec"]["capacity"] = {"storage": "0.5Gi"}
    assert cells("PersistentVolume", pv)[1:3] == ["512Mi", "RWO,ROX,RWX,RWOP"]


def test_storage_class() -> None:
    sc = {"metadata": meta("standard", None, age=timedelta(days=20), annotations={
        "storageclass.kubernetes.io/is-default-class": "true"}),
        "provisioner": "rancher.io/local-path", "reclaimPolicy": "Delete", "volumeBindingMode": "WaitForFirstConsumer"}
    assert headers("StorageClass") == ["NAME", "PROVISIONER", "RECLAIMPOLICY", "VOLUMEBINDINGMODE",
                                       "ALLOWVOLUMEEXPANSION", "AGE"]
    assert cells("StorageClass", sc) == ["standard (default)", "rancher.io/local-path", "Delete",
                                         "WaitForFirstConsumer", False, "20d"]
    plain = {"metadata": meta("fast", None), "provisioner": "kubernetes.io/no-provisioner",
             "allowVolumeExpansion": True}
    assert cells("StorageClass", plain)[:5] == ["fast", "kubernetes.io/no-provisioner", "Delete", "Immediate", True]


def test_resource_quota_and_limit_range_default_table() -> None:
    quota = {"metadata": meta("compute-resources"), "spec": {}, "status": {
        "hard": {"requests.cpu": "1", "requests.memory": "1Gi", "limits.cpu": "2", "limits.memory": "2Gi",
                 "pods": "10"},
        "used": {"requests.cpu": "500m", "requests.memory": "0", "limits.cpu": "1", "pods": "1"}}}
    assert headers("ResourceQuota") == ["NAME", "REQUEST", "LIMIT", "AGE"]
    assert cells("ResourceQuota", quota) == [
        "compute-resources", "pods: 1/10, requests.cpu: 500m/1, requests.memory: 0/1Gi",
        "limits.cpu: 1/2, limits.memory: 0/2Gi", "5m"]

    lr = {"metadata": meta("cpu-limit-range", creationTimestamp="2025-05-30T08:15:00Z"), "spec": {"limits": []}}
    table = build_table("LimitRange", [lr], now=NOW)
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Created At"]
    assert table["columnDefinitions"][1]["type"] == "date"
    assert table["rows"][0]["cells"] == ["cpu-limit-range", "2025-05-30T08:15:00Z"]


# --------------------------------------------------------------------------- cluster
def node(name: str, ready: str = "True", **labels: str) -> dict:
    return {"metadata": meta(name, None, age=timedelta(days=12), labels={"kubernetes.io/hostname": name, **labels}),
            "spec": {},
            "status": {"conditions": [{"type": "MemoryPressure", "status": "False"},
                                      {"type": "Ready", "status": ready, "reason": "KubeletReady"}],
                       "addresses": [{"type": "InternalIP", "address": "172.18.0.2"},
                                     {"type": "Hostname", "address": name}],
                       "nodeInfo": {"kubeletVersion": "v1.37.0", "osImage": "Debian GNU/Linux 12 (bookworm)",
                                    "kernelVersion": "6.8.0-45-generic",
                                    "containerRuntimeVersion": "containerd://2.1.1"}}}


def test_nodes() -> None:
    assert headers("Node") == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert headers("Node", wide=True)[5:] == ["INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION",
                                              "CONTAINER-RUNTIME"]
    cp = node("controlplane", **{"node-role.kubernetes.io/control-plane": ""})
    assert cells("Node", cp) == ["controlplane", "Ready", "control-plane", "12d", "v1.37.0", "172.18.0.2", "<none>",
                                 "Debian GNU/Linux 12 (bookworm)", "6.8.0-45-generic", "containerd://2.1.1"]
    worker = node("node01")
    assert cells("Node", worker)[1:3] == ["Ready", "<none>"]
    worker["spec"]["unschedulable"] = True
    assert cells("Node", worker)[1] == "Ready,SchedulingDisabled"
    down = node("node02", ready="Unknown", **{"kubernetes.io/role": "worker", "node-role.kubernetes.io/infra": ""})
    assert cells("Node", down)[1:3] == ["NotReady", "infra,worker"]
    down["status"]["conditions"] = []
    down["status"]["nodeInfo"] = {}
    assert cells("Node", down)[1] == "Unknown"
    assert cells("Node", down)[4:] == ["", "172.18.0.2", "<none>", "<unknown>", "<unknown>", "<unknown>"]


def test_events() -> None:
    assert headers("Event") == ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert headers("Event", wide=True) == ["LAST SEEN", "TYPE", "REASON", "OBJECT", "SUBOBJECT", "SOURCE", "MESSAGE",
                                           "FIRST SEEN", "COUNT", "NAME"]
    pulled = {"metadata": meta("nginx.17f3a1b2c3d4e5f6"), "type": "Normal", "reason": "Pulled",
              "message": 'Successfully pulled image "nginx:1.27" in 2.1s\n',
              "involvedObject": {"kind": "Pod", "namespace": "default", "name": "nginx",
                                 "fieldPath": "spec.containers{nginx}"},
              "source": {"component": "kubelet", "host": "node01"}, "count": 3,
              "firstTimestamp": ago(minutes=10), "lastTimestamp": ago(minutes=2)}
    assert cells("Event", pulled) == ["2m", "Normal", "Pulled", "pod/nginx", "spec.containers{nginx}",
                                      "kubelet, node01", 'Successfully pulled image "nginx:1.27" in 2.1s', "10m", 3,
                                      "nginx.17f3a1b2c3d4e5f6"]
    # events.k8s.io-style event from the scheduler: no timestamps but eventTime, no count, no source
    scheduled = {"metadata": meta("nginx.17f3a1b2c3d4e000"), "type": "Normal", "reason": "Scheduled",
                 "message": "Successfully assigned default/nginx to node01",
                 "involvedObject": {"kind": "Pod", "namespace": "default", "name": "nginx"},
                 "source": {}, "reportingComponent": "default-scheduler", "reportingInstance": "",
                 "eventTime": "2025-06-01T11:55:00.123456Z", "firstTimestamp": None, "lastTimestamp": None}
    # 4m59.88s ago: HumanDuration truncates, it does not round
    assert cells("Event", scheduled) == ["4m59s", "Normal", "Scheduled", "pod/nginx", "", "default-scheduler",
                                         "Successfully assigned default/nginx to node01", "4m59s", 1,
                                         "nginx.17f3a1b2c3d4e000"]
    series = dict(scheduled, reason="BackOff", type="Warning",
                  series={"count": 7, "lastObservedTime": "2025-06-01T11:59:30.000000Z"})
    assert cells("Event", series)[0] == "30s" and cells("Event", series)[8] == 7
    nameless = dict(pulled, involvedObject={"kind": "Node"})
    assert cells("Event", nameless)[3] == "node"


def test_lease() -> None:
    lease = {"metadata": meta("node01", "kube-node-lease", age=timedelta(days=12)),
             "spec": {"holderIdentity": "node01", "leaseDurationSeconds": 40}}
    assert headers("Lease") == ["NAME", "HOLDER", "AGE"]
    assert cells("Lease", lease) == ["node01", "node01", "12d"]
    assert cells("Lease", {"metadata": meta("free"), "spec": {}})[1] == ""


def test_metrics_tables() -> None:
    pm = {"metadata": meta("nginx"), "timestamp": ago(seconds=10), "window": "15s", "containers": [
        {"name": "a", "usage": {"cpu": "1500000n", "memory": "4000Ki"}},
        {"name": "b", "usage": {"cpu": "500000n", "memory": "96Ki"}}]}
    table = build_table("PodMetrics", [pm], now=NOW)
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "cpu", "memory", "Window"]
    assert table["rows"][0]["cells"] == ["nginx", "2m", "4Mi", "15s"]
    nm = {"metadata": meta("node01", None), "window": "20.05s", "usage": {"cpu": "250m", "memory": "1Gi"}}
    assert build_table("NodeMetrics", [nm], now=NOW)["rows"][0]["cells"] == ["node01", "250m", "1Gi", "20.05s"]
    assert build_table("PodMetrics", [], now=NOW)["columnDefinitions"] == []
