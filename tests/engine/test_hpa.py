"""The HorizontalPodAutoscaler controller (clusters/engine/controllers/hpa.py) on the fake clock.

The walkthrough is the docs' (tasks/run-application/horizontal-pod-autoscale-walkthrough.md): php-apache
with a 200m CPU request, an HPA at 50 % between 1 and 10 replicas, a busybox load generator; metrics come
from the engine's resource model through metrics-server's 15 s scrape (clusters/engine/metrics.py), so the
fresh cluster's metrics-server add-on in kube-system must be up (Running and Ready) before there are any.
"""
from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from clusters.apiserver.tables import _print_hpa
from clusters.engine import metrics
from clusters.engine.controllers import hpa as hpa_controller
from clusters.engine.loop import step
from clusters.engine.state import ClusterState, parse_timestamp
from tests.engine.conftest import T0, apply, collector_held, new_state, run
from tests.engine.network_helpers import cluster, deployment, pods, run_pod
from tests.fixtures import corpus_documents

LOAD = ["/bin/sh", "-c", "while sleep 0.01; do wget -q -O- http://php-apache; done"]


def remove_metrics_server(state: ClusterState) -> None:
    """Take the add-on away (its Deployment, ReplicaSet and pods): the metrics API has nothing to serve."""
    for kind in ("Deployment", "ReplicaSet", "Pod"):
        for obj in state.list(kind, "kube-system"):
            if obj["metadata"]["name"].startswith("metrics-server"):
                state.delete(obj)
    state.commit()


def php_apache_docs(replicas: int = 1, *, requests: bool = True) -> list[dict]:
    docs = corpus_documents("application__php-apache.yaml")
    for doc in docs:
        if doc["kind"] == "Deployment":
            doc["spec"]["replicas"] = replicas
            if not requests:
                doc["spec"]["template"]["spec"]["containers"][0].pop("resources")
        if doc["kind"] == "Service":
            doc["spec"]["clusterIP"] = "10.96.60.1"
    return docs


def autoscaler(name: str = "php-apache", *, kind: str = "Deployment", api_version: str = "apps/v1",
               target: str | None = None, min_replicas: int | None = 1, max_replicas: int = 10,
               metrics_list: list[dict] | None = None, behavior: dict | None = None) -> dict:
    spec: dict = {"scaleTargetRef": {"apiVersion": api_version, "kind": kind, "name": target or name},
                  "maxReplicas": max_replicas,
                  "metrics": metrics_list or [cpu_utilization(50)]}
    if min_replicas is not None:
        spec["minReplicas"] = min_replicas
    if behavior is not None:
        spec["behavior"] = behavior
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": name, "namespace": "default"}, "spec": spec}


def cpu_utilization(percent: int) -> dict:
    return {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization",
                                                                        "averageUtilization": percent}}}


def memory_average(value: str) -> dict:
    return {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue",
                                                                           "averageValue": value}}}


def get_hpa(state, name: str = "php-apache") -> dict:
    return state.get("HorizontalPodAutoscaler", "default", name)


def conditions(state, name: str = "php-apache") -> dict[str, tuple[str, str, str]]:
    return {c["type"]: (c["status"], c["reason"], c["message"])
            for c in get_hpa(state, name)["status"].get("conditions") or ()}


def hpa_events(state, reason: str | None = None) -> list[dict]:
    found = [e for e in state.list("Event", "default") if e["source"]["component"] == "horizontal-pod-autoscaler"]
    found.sort(key=lambda e: e["metadata"]["name"])
    return [e for e in found if reason is None or e["reason"] == reason]


def replicas(state, kind: str = "Deployment", name: str = "php-apache") -> int:
    return state.get(kind, "default", name)["spec"]["replicas"]


def watch(state, until: float, every: float = 5.0) -> list[tuple[float, int]]:
    """Run to `until`, noting (time, the target's spec.replicas) whenever it changes."""
    seen: list[tuple[float, int]] = [(state.now, replicas(state))]
    while state.now < until:
        run(state, min(until, state.now + every))
        count = replicas(state)
        if seen[-1][1] != count:
            seen.append((state.now, count))
    return seen


def nginx_with_memory_hpa(target_factor: float, count: int = 2, **hpa) -> tuple:
    """nginx Deployment `web` (count replicas) and an HPA on average memory `target_factor` × its usage."""
    state = cluster(deployment("web", "nginx", count), until=60.0)
    scrape = metrics.scrape(state)
    usage = [scrape.pods[p["metadata"]["uid"]].memory_bytes for p in pods(state, "web-")]
    average = sum(usage) // len(usage)
    target = str(int(average * target_factor))
    apply(state, autoscaler("web", metrics_list=[memory_average(target)], **hpa))
    return state, average


# ------------------------------------------------------------------ the walkthrough

def test_the_walkthrough_scales_php_apache_up_under_load_and_down_after_the_stabilization_window():
    state = cluster(*php_apache_docs(1), until=60.0)
    created = state.now
    apply(state, autoscaler())
    run(state, created + 14)
    assert get_hpa(state)["status"] == {"desiredReplicas": 0}       # the first sync comes 15 s after creation
    run(state, created + 16)
    status = get_hpa(state)["status"]
    assert status["currentReplicas"] == 1 and status["desiredReplicas"] == 1
    assert status["currentMetrics"][0]["type"] == "Resource"
    assert status["currentMetrics"][0]["resource"]["current"]["averageUtilization"] < 10
    assert "lastScaleTime" not in status
    assert conditions(state)["ScalingActive"] == (
        "True", "ValidMetricFound",
        "the HPA was able to successfully calculate a replica count from cpu resource utilization "
        "(percentage of request)")
    assert _print_hpa(get_hpa(state), datetime.fromtimestamp(state.now, UTC))[2].startswith("cpu: ")

    apply(state, run_pod("load-generator", "busybox:1.28", command=LOAD))
    loaded = state.now
    run(state, loaded + 300)
    first = hpa_events(state, "SuccessfulRescale")[0]
    # One pod throttled at its 500m limit shows ~200-250 %, the scale-up limit allows 4 at once.
    assert first["message"] == "New size: 4; reason: cpu resource utilization (percentage of request) above target"
    assert parse_timestamp(first["firstTimestamp"]) - loaded <= 60
    assert 5 <= replicas(state) <= 7
    hpa = get_hpa(state)
    assert 30 <= hpa["status"]["currentMetrics"][0]["resource"]["current"]["averageUtilization"] <= 60
    assert hpa["status"]["lastScaleTime"] and hpa["status"]["desiredReplicas"] == replicas(state)
    row = _print_hpa(hpa, datetime.fromtimestamp(state.now, UTC))
    assert row[1] == "Deployment/php-apache" and row[2].endswith("%/50%") and row[5] == replicas(state)

    state.delete(state.get("Pod", "default", "load-generator"))
    stopped = state.now
    scaled_up_to = replicas(state)
    run(state, stopped + 280)
    assert replicas(state) == scaled_up_to                   # recommendations of the last 300 s still rule
    assert conditions(state)["AbleToScale"][1] == "ScaleDownStabilized"
    run(state, stopped + 330)
    assert replicas(state) == 1
    last = hpa_events(state, "SuccessfulRescale")[-1]
    assert last["message"] == "New size: 1; reason: All metrics below target"
    assert parse_timestamp(last["lastTimestamp"]) - stopped >= 285


def test_the_first_table_row_shows_unknown_until_the_first_sync():
    state = cluster(*php_apache_docs(1), until=30.0)
    apply(state, autoscaler())
    row = _print_hpa(get_hpa(state), datetime.fromtimestamp(state.now, UTC))
    assert row[2] == "cpu: <unknown>/50%"
    status = {"currentMetrics": [{"type": "Resource", "resource": {"name": "cpu", "current": {
        "averageValue": "500m", "averageUtilization": 250}}}]}
    assert _print_hpa({**get_hpa(state), "status": status}, datetime.now(UTC))[2] == "cpu: 250%/50%"


# ------------------------------------------------------------------ the replica calculation

def test_within_the_tolerance_nothing_changes():
    state, average = nginx_with_memory_hpa(1.08)
    run(state, state.now + 40)
    assert replicas(state, name="web") == 2
    assert get_hpa(state, "web")["status"]["desiredReplicas"] == 2
    assert conditions(state, "web")["ScalingLimited"][1] == "DesiredWithinRange"
    assert hpa_events(state, "SuccessfulRescale") == []


def test_beyond_the_tolerance_it_scales_by_the_usage_ratio():
    state, average = nginx_with_memory_hpa(1 / 1.4)
    run(state, state.now + 16)
    assert replicas(state, name="web") == 3                 # ceil(1.4 × 2)
    assert hpa_events(state, "SuccessfulRescale")[0]["message"] == "New size: 3; reason: memory resource above target"
    current = get_hpa(state, "web")["status"]["currentMetrics"][0]["resource"]["current"]
    assert set(current) == {"averageValue"}                  # an AverageValue target has no utilization


def test_not_ready_pods_count_as_idle_on_a_scale_up():
    state = new_state()
    now = state.now
    started, recent = hpa_controller.timestamp(now - 3600), hpa_controller.timestamp(now - 60)
    usages = {}
    for name, ready, since in (("a", "True", started), ("b", "True", started), ("c", "False", recent)):
        pod = apply(state, {"apiVersion": "v1", "kind": "Pod",
                            "metadata": {"name": f"web-{name}", "namespace": "default", "labels": {"app": "web"}},
                            "spec": {"containers": [{"name": "web", "image": "nginx",
                                                     "resources": {"requests": {"cpu": "1"}}}]}})
        pod["status"] = {"phase": "Running", "startTime": since,
                         "conditions": [{"type": "Ready", "status": ready, "lastTransitionTime": since}]}
        usages[pod["metadata"]["uid"]] = metrics.PodUsage(
            pod["metadata"]["uid"], "default", pod["metadata"]["name"], "", {"app": "web"},
            (metrics.ContainerUsage("web", 1000.0, 1 << 20),))
    scrape = metrics.Scrape(timestamp=now - 5, window=15.0, pods=usages, nodes={})
    selected = state.list("Pod", "default")
    tolerances = hpa_controller._Tolerances({"spec": {}})
    proposal, utilization, raw, _ = hpa_controller.get_resource_replicas(scrape, now, 3, 50, "cpu", tolerances,
                                                                              selected)
    # Ready pods at 100 % of request against 50 %: 2.0; the unready one counted at 0 makes it 4/3 of 3 pods.
    assert (proposal, utilization, raw) == (4, 100, 1000)
    ready, unready, missing, ignored = hpa_controller.group_pods(
        selected, {p["metadata"]["name"]: hpa_controller._PodMetric(1000, now - 5, 15.0) for p in selected},
        "cpu", now)
    assert (ready, unready, missing, ignored) == (2, {"web-c"}, set(), set())


# ------------------------------------------------------------------ behavior

def test_a_scale_up_policy_limits_each_step():
    behavior = {"scaleUp": {"policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}]}}
    state = cluster(*php_apache_docs(1), until=60.0)
    apply(state, autoscaler(behavior=behavior))
    run(state, state.now + 20)
    apply(state, run_pod("load-generator", "busybox:1.28", command=LOAD))
    seen = watch(state, state.now + 61)
    assert [count for _, count in seen] == [1, 2]
    limited = [c for c in get_hpa(state)["status"]["conditions"] if c["type"] == "ScalingLimited"][0]
    assert (limited["status"], limited["reason"]) == ("True", "ScaleUpLimit")
    assert limited["message"] == "the desired replica count is increasing faster than the maximum scale rate"
    seen += watch(state, state.now + 140)[1:]
    counts = [count for _, count in seen]
    assert counts[:4] == [1, 2, 3, 4]
    steps = [parse_timestamp(e["firstTimestamp"]) for e in hpa_events(state, "SuccessfulRescale")][:3]
    gaps = [b - a for a, b in zip(steps, steps[1:])]
    assert all(gap >= 60 for gap in gaps), gaps
    assert get_hpa(state)["spec"]["behavior"]["scaleUp"]["selectPolicy"] == "Max"       # defaulted, served
    assert "stabilizationWindowSeconds" not in get_hpa(state)["spec"]["behavior"]["scaleDown"]
    notes = state.sim(get_hpa(state))
    newest = max(at for at, _ in notes["up"])
    assert all(newest - at <= 60 for at, _ in notes["up"])                 # pruned to the longest period


def test_select_policy_disabled_never_scales_down():
    behavior = {"scaleDown": {"selectPolicy": "Disabled", "stabilizationWindowSeconds": 0}}
    state, average = nginx_with_memory_hpa(4.0, count=3, behavior=behavior)
    run(state, state.now + 100)
    assert replicas(state, name="web") == 3
    assert conditions(state, "web")["ScalingLimited"] == (
        "True", "ScaleDownLimit", "the desired replica count is decreasing faster than the maximum scale rate")


def test_a_scale_down_without_window_follows_at_the_next_sync():
    behavior = {"scaleDown": {"stabilizationWindowSeconds": 0}}
    state, average = nginx_with_memory_hpa(4.0, count=3, behavior=behavior)
    run(state, state.now + 16)
    assert replicas(state, name="web") == 1
    assert hpa_events(state, "SuccessfulRescale")[0]["message"] == "New size: 1; reason: All metrics below target"


# ------------------------------------------------------------------ targets

def test_a_statefulset_is_scaled_through_its_spec_replicas():
    sts = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "web", "namespace": "default"},
           "spec": {"serviceName": "web", "replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                    "template": {"metadata": {"labels": {"app": "web"}},
                                 "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}}}
    state = cluster(sts, until=60.0)
    usage = metrics.scrape(state).pods[state.get("Pod", "default", "web-0")["metadata"]["uid"]].memory_bytes
    generation = state.get("StatefulSet", "default", "web")["metadata"]["generation"]
    apply(state, autoscaler("web", kind="StatefulSet", metrics_list=[memory_average(str(usage * 2 // 5))]))
    run(state, state.now + 16)
    sts = state.get("StatefulSet", "default", "web")
    assert sts["spec"]["replicas"] == 3 and sts["metadata"]["generation"] == generation + 1    # ceil(2.5 × 1)
    run(state, state.now + 10)            # (before the next sync: every pod at the same memory asks for more)
    assert [p["metadata"]["name"] for p in pods(state, "web-")][:2] == ["web-0", "web-1"]


def test_a_missing_target_is_failed_get_scale():
    state = cluster(until=20.0)
    apply(state, autoscaler("nope"))
    run(state, state.now + 16)
    event = hpa_events(state, "FailedGetScale")[0]
    assert (event["type"], event["message"]) == ("Warning", 'deployments.apps "nope" not found')
    assert conditions(state, "nope") == {"AbleToScale": (
        "False", "FailedGetScale",
        'the HPA controller was unable to get the target\'s current scale: deployments.apps "nope" not found')}
    run(state, state.now + 30)
    assert hpa_events(state, "FailedGetScale")[0]["count"] == 3                # every sync, aggregated
    apply(state, autoscaler("rc", kind="ReplicationController", api_version="v1"))
    apply(state, autoscaler("odd", kind="Widget", api_version="example.com/v1"))
    apply(state, autoscaler("ds", kind="DaemonSet"))
    run(state, state.now + 16)
    messages = {e["involvedObject"]["name"]: e["message"] for e in hpa_events(state, "FailedGetScale")}
    assert messages["rc"] == 'replicationcontrollers "rc" not found'
    assert messages["odd"] == 'no matches for kind "Widget" in group "example.com"'
    assert messages["ds"] == ("could not find scale subresource for apps/v1, Resource=daemonsets in discovery "
                              "information")


def test_replicas_zero_disables_autoscaling():
    state = cluster(*php_apache_docs(0), until=20.0)
    apply(state, autoscaler())
    run(state, state.now + 16)
    status = get_hpa(state)["status"]
    assert status == {"desiredReplicas": 0, "conditions": status["conditions"]}
    assert conditions(state)["ScalingActive"] == (
        "False", "ScalingDisabled", "scaling is disabled since the replica count of the target is zero")
    assert replicas(state) == 0 and hpa_events(state) == []


def test_min_and_max_bring_the_target_into_range_first():
    state = cluster(*php_apache_docs(5), until=20.0)
    apply(state, autoscaler(max_replicas=3))
    run(state, state.now + 16)
    assert replicas(state) == 3
    assert hpa_events(state, "SuccessfulRescale")[0]["message"] == (
        "New size: 3; reason: Current number of replicas above Spec.MaxReplicas")
    state = cluster(*php_apache_docs(1), until=20.0)
    apply(state, autoscaler(min_replicas=2))
    run(state, state.now + 16)
    assert replicas(state) == 2
    assert hpa_events(state, "SuccessfulRescale")[0]["message"] == (
        "New size: 2; reason: Current number of replicas below Spec.MinReplicas")
    assert conditions(state)["AbleToScale"][1] == "SucceededRescale"


def test_scaling_limited_by_max_and_min_replicas():
    state, average = nginx_with_memory_hpa(1 / 3, max_replicas=4)
    run(state, state.now + 16)
    assert replicas(state, name="web") == 4
    assert conditions(state, "web")["ScalingLimited"] == (
        "True", "TooManyReplicas", "the desired replica count is more than the maximum replica count")
    state, average = nginx_with_memory_hpa(4.0, count=3, min_replicas=2,
                                           behavior={"scaleDown": {"stabilizationWindowSeconds": 0}})
    run(state, state.now + 16)
    assert replicas(state, name="web") == 2
    assert conditions(state, "web")["ScalingLimited"] == (
        "True", "TooFewReplicas", "the desired replica count is less than the minimum replica count")


# ------------------------------------------------------------------ failures

def test_a_container_without_a_cpu_request_cannot_be_measured():
    state = cluster(*php_apache_docs(1, requests=False), until=60.0)
    apply(state, autoscaler())
    run(state, state.now + 16)
    pod = pods(state, "php-apache-")[0]["metadata"]["name"]
    cause = f"failed to get cpu utilization: missing request for cpu in container php-apache of Pod {pod}"
    assert hpa_events(state, "FailedGetResourceMetric")[0]["message"] == cause
    assert hpa_events(state, "FailedComputeMetricsReplicas")[0]["message"] == (
        f"invalid metrics (1 invalid out of 1), first error is: failed to get cpu resource metric value: {cause}")
    assert conditions(state) == {
        "AbleToScale": ("True", "SucceededGetScale",
                        "the HPA controller was able to get the target's current scale"),
        "ScalingActive": ("False", "FailedGetResourceMetric",
                          f"the HPA was unable to compute the replica count: {cause}"),
    }
    status = get_hpa(state)["status"]
    assert (status["currentReplicas"], status["desiredReplicas"], status["currentMetrics"]) == (1, 0, [{"type": ""}])
    assert _print_hpa(get_hpa(state), datetime.now(UTC))[2] == "cpu: <unknown>/50%"


def test_without_metrics_server_there_are_no_metrics():
    state = cluster(*php_apache_docs(1), until=60.0)
    remove_metrics_server(state)
    apply(state, autoscaler())
    run(state, state.now + 16)
    cause = "failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from " \
            "resource metrics API"
    assert [e["message"] for e in hpa_events(state, "FailedGetResourceMetric")] == [cause]
    assert conditions(state)["ScalingActive"] == (
        "False", "FailedGetResourceMetric", f"the HPA was unable to compute the replica count: {cause}")
    assert replicas(state) == 1


def test_custom_and_external_metrics_are_not_served():
    state = cluster(*php_apache_docs(1), until=30.0)
    pods_metric = {"type": "Pods", "pods": {"metric": {"name": "packets-per-second"},
                                            "target": {"type": "AverageValue", "averageValue": "1k"}}}
    external = {"type": "External", "external": {"metric": {"name": "queue_messages_ready",
                                                            "selector": {"matchLabels": {"queue": "worker_tasks"}}},
                                                 "target": {"type": "AverageValue", "averageValue": "30"}}}
    apply(state, autoscaler(metrics_list=[pods_metric, external]))
    run(state, state.now + 16)
    pods_error = ("unable to get metric packets-per-second: unable to fetch metrics from custom metrics API: "
                  "no custom metrics API (custom.metrics.k8s.io) registered")
    assert hpa_events(state, "FailedGetPodsMetric")[0]["message"] == pods_error
    assert hpa_events(state, "FailedGetExternalMetric")[0]["message"] == (
        "unable to get external metric default/queue_messages_ready/&LabelSelector{MatchLabels:map[string]string"
        "{queue: worker_tasks,},MatchExpressions:[]LabelSelectorRequirement{},}: unable to fetch metrics from "
        "external metrics API: the server could not find the requested resource "
        "(get queue_messages_ready.external.metrics.k8s.io)")
    assert hpa_events(state, "FailedComputeMetricsReplicas")[0]["message"] == (
        f"invalid metrics (2 invalid out of 2), first error is: failed to get pods metric value: {pods_error}")
    assert conditions(state)["ScalingActive"][1] == "FailedGetPodsMetric"
    assert get_hpa(state)["status"]["currentMetrics"] == [{"type": ""}, {"type": ""}]


def test_two_hpas_on_one_target_are_ambiguous():
    state = cluster(*php_apache_docs(1), until=30.0)
    apply(state, autoscaler())
    apply(state, autoscaler("second", target="php-apache"))
    run(state, state.now + 31)
    assert conditions(state, "second")["ScalingActive"][1] == "AmbiguousSelector"
    assert conditions(state, "second")["ScalingActive"][2] == (
        "pods by selector app.kubernetes.io/name=php-apache are controlled by multiple HPAs: "
        "[{php-apache default} {second default}]")


# ------------------------------------------------------------------ cost

def test_no_hpa_no_wake_up_and_an_hpa_wakes_every_sync_period():
    state = new_state()
    step(state, state.now, controllers=[hpa_controller.reconcile])
    assert state.next_wake is None
    state.commit()
    created = state.now
    apply(state, autoscaler())
    result = step(state, state.now, controllers=[hpa_controller.reconcile])
    assert result.next_wake == pytest.approx(created + 15)


def test_a_pass_between_syncs_costs_next_to_nothing():
    state = cluster(*[deployment(f"app{i}", "nginx", 20) for i in range(20)], until=30.0)
    assert len(state.list("Pod", "default")) == 400
    for i in range(20):
        apply(state, autoscaler(f"app{i}"))
    run(state, state.now + 16)                     # the first sync of each
    state.now += 1
    with collector_held():
        started = time.perf_counter()
        for _ in range(10):
            hpa_controller.reconcile(state)
        per_pass = (time.perf_counter() - started) / 10
    assert per_pass < 0.002, per_pass
    synced = time.perf_counter()
    state.now += 15
    hpa_controller.reconcile(state)
    print(f"20 HPAs over 400 pods: {per_pass * 1e6:.0f} µs between syncs, "
          f"{(time.perf_counter() - synced) * 1e3:.1f} ms for a sync of all")
    assert T0 < state.now
