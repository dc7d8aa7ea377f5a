"""LimitRanger and ResourceQuota admission through the pipeline, with the plugins' messages.

The expected texts are kube-apiserver's (plugin/pkg/admission/limitranger, plugin/pkg/admission/resourcequota
and the evaluators of pkg/quota/v1/evaluator/core), as the kubernetes.io tasks on quotas and limit ranges
print them."""
from __future__ import annotations

import random

import pytest

from clusters.apiserver.bootstrap import cluster_objects
from clusters.apiserver.errors import ApiError
from clusters.apiserver.pipeline import ApiServer, Refused, engine_preparer
from clusters.apiserver.registry import by_path, storage_type
from clusters.apiserver.store import MemoryStore
from clusters.engine.controllers import resourcequota
from clusters.engine.state import ClusterState

NOW = 1_800_000_000.0
PODS = by_path("", "v1", "pods")
SERVICES = by_path("", "v1", "services")
CONFIGMAPS = by_path("", "v1", "configmaps")
PVCS = by_path("", "v1", "persistentvolumeclaims")
QUOTAS = by_path("", "v1", "resourcequotas")
LIMITS = by_path("", "v1", "limitranges")
DEPLOYMENTS = by_path("apps", "v1", "deployments")


@pytest.fixture
def api() -> ApiServer:
    return ApiServer(MemoryStore(cluster_objects(workers=2, now=NOW, seed=3)), now=NOW, seed=3)


def pod(name: str, *containers: dict, **spec) -> dict:
    containers = containers or ({"name": "app", "image": "nginx"},)
    return {"metadata": {"name": name}, "spec": {"containers": list(containers), **spec}}


def container(name: str = "app", requests: dict | None = None, limits: dict | None = None) -> dict:
    resources = {}
    if requests:
        resources["requests"] = requests
    if limits:
        resources["limits"] = limits
    return {"name": name, "image": "nginx", "resources": resources}


def quota(api: ApiServer, name: str, hard: dict, **spec) -> None:
    api.create(QUOTAS, "default", {"metadata": {"name": name}, "spec": {"hard": hard, **spec}})


def limit_range(api: ApiServer, *limits: dict) -> None:
    api.create(LIMITS, "default", {"metadata": {"name": "limits"}, "spec": {"limits": list(limits)}})


def refused(api: ApiServer, rt, body: dict) -> str:
    with pytest.raises(ApiError) as info:
        api.create(rt, "default", body)
    assert info.value.code == 403 and info.value.reason == "Forbidden"
    return info.value.message


# ------------------------------------------------------------------ LimitRanger

def test_limit_range_defaults_fill_containers_and_say_so(api):
    limit_range(api, {"type": "Container", "default": {"cpu": "250m", "memory": "128Mi"},
                      "defaultRequest": {"cpu": "100m", "memory": "64Mi"}})
    created = api.create(PODS, "default", pod("web", container("web"),
                                              initContainers=[container("init", limits={"cpu": "1"})])).body
    assert created["spec"]["containers"][0]["resources"] == {
        "limits": {"cpu": "250m", "memory": "128Mi"}, "requests": {"cpu": "100m", "memory": "64Mi"}}
    # the init container's request of cpu came from its limit (API defaulting), the rest from the LimitRange
    assert created["spec"]["initContainers"][0]["resources"] == {
        "limits": {"cpu": "1", "memory": "128Mi"}, "requests": {"cpu": "1", "memory": "64Mi"}}
    assert created["metadata"]["annotations"]["kubernetes.io/limit-ranger"] == (
        "LimitRanger plugin set: cpu, memory request for container web; cpu, memory limit for container web; "
        "memory request for init container init; memory limit for init container init")


def test_limit_range_default_limit_below_the_request_fails_validation(api):
    limit_range(api, {"type": "Container", "default": {"memory": "1Gi"}, "defaultRequest": {"memory": "1Gi"}})
    with pytest.raises(ApiError) as info:
        api.create(PODS, "default", pod("big", container(requests={"memory": "2Gi"})))
    assert info.value.code == 422
    assert 'Invalid value: "2Gi": must be less than or equal to memory limit of 1Gi' in info.value.message


def test_minimum_and_maximum_per_container(api):
    limit_range(api, {"type": "Container", "min": {"cpu": "100m"}, "max": {"cpu": "800m", "memory": "1Gi"}})
    assert refused(api, PODS, pod("small", container(requests={"cpu": "50m"}, limits={"cpu": "500m",
                                                                                      "memory": "1Gi"}))) == \
        'pods "small" is forbidden: minimum cpu usage per Container is 100m, but request is 50m'
    assert refused(api, PODS, pod("large", container(limits={"cpu": "1500m", "memory": "2Gi"}))) == (
        'pods "large" is forbidden: [maximum cpu usage per Container is 800m, but limit is 1500m, '
        "maximum memory usage per Container is 1Gi, but limit is 2Gi]")
    # max and min fill default and defaultRequest (LimitRange defaulting), so a bare pod fits
    created = api.create(PODS, "default", pod("bare")).body
    assert created["spec"]["containers"][0]["resources"] == {
        "limits": {"cpu": "800m", "memory": "1Gi"}, "requests": {"cpu": "800m", "memory": "1Gi"}}


def test_missing_request_or_limit_against_a_range_without_defaults(api):
    # defaults come from the Container item only; a Pod item checks the totals
    limit_range(api, {"type": "Pod", "min": {"cpu": "200m"}, "max": {"memory": "1Gi"}})
    assert refused(api, PODS, pod("nothing")) == (
        'pods "nothing" is forbidden: [minimum cpu usage per Pod is 200m.  No request is specified, '
        "maximum memory usage per Pod is 1Gi.  No limit is specified]")
    assert refused(api, PODS, pod("two", container("a", {"cpu": "100m"}, {"memory": "600Mi"}),
                                  container("b", {"cpu": "150m"}, {"memory": "600Mi"}))) == \
        'pods "two" is forbidden: maximum memory usage per Pod is 1Gi, but limit is 1200Mi'


def test_max_limit_request_ratio(api):
    limit_range(api, {"type": "Container", "maxLimitRequestRatio": {"memory": "2"}})
    assert refused(api, PODS, pod("ratio", container(requests={"memory": "100Mi"}, limits={"memory": "250Mi"}))) == \
        'pods "ratio" is forbidden: memory max limit to request ratio per Container is 2, ' \
        "but provided ratio is 2.500000"
    assert refused(api, PODS, pod("none")) == (
        'pods "none" is forbidden: memory max limit to request ratio per Container is 2, but no request is '
        "specified or request is 0")
    api.create(PODS, "default", pod("ok", container(requests={"memory": "100Mi"}, limits={"memory": "200Mi"})))


def test_claims_against_a_persistent_volume_claim_range(api):
    limit_range(api, {"type": "PersistentVolumeClaim", "min": {"storage": "1Gi"}, "max": {"storage": "2Gi"}})
    claim = {"metadata": {"name": "big"}, "spec": {"accessModes": ["ReadWriteOnce"],
                                                    "resources": {"requests": {"storage": "5Gi"}}}}
    assert refused(api, PVCS, claim) == \
        'persistentvolumeclaims "big" is forbidden: maximum storage usage per PersistentVolumeClaim is 2Gi, ' \
        "but request is 5Gi"
    claim["metadata"]["name"], claim["spec"]["resources"]["requests"]["storage"] = "small", "500Mi"
    assert refused(api, PVCS, claim) == \
        'persistentvolumeclaims "small" is forbidden: minimum storage usage per PersistentVolumeClaim is 1Gi, ' \
        "but request is 500Mi"


def test_pod_updates_are_not_limited(api):
    api.create(PODS, "default", pod("before"))
    limit_range(api, {"type": "Container", "min": {"cpu": "100m"}})
    body = api.get(PODS, "default", "before")
    body["metadata"]["labels"] = {"x": "y"}
    api.update(PODS, "default", "before", body)


# ------------------------------------------------------------------ ResourceQuota

def test_pods_over_a_pods_quota(api):
    quota(api, "pod-demo", {"pods": "2"})
    api.create(PODS, "default", pod("one"))
    api.create(PODS, "default", pod("two"))
    assert refused(api, PODS, pod("three")) == \
        'pods "three" is forbidden: exceeded quota: pod-demo, requested: pods=1, used: pods=2, limited: pods=2'


def test_terminal_pods_are_not_counted_but_count_pods_counts_them(api):
    quota(api, "q", {"pods": "1", "count/pods": "2"})
    api.create(PODS, "default", pod("done"))
    stored = api.store.get("Pod", "default", "done")
    stored["status"] = {"phase": "Succeeded"}
    api.create(PODS, "default", pod("running"))
    assert refused(api, PODS, pod("third")) == (
        'pods "third" is forbidden: exceeded quota: q, requested: count/pods=1,pods=1, used: count/pods=2,pods=1, '
        "limited: count/pods=2,pods=1")


def test_compute_quota_needs_every_container_to_say_it(api):
    quota(api, "mem-cpu-demo", {"requests.cpu": "1", "requests.memory": "1Gi", "limits.cpu": "2",
                                "limits.memory": "2Gi"})
    assert refused(api, PODS, pod("bare", container("a"), container("b", limits={"cpu": "1"}))) == (
        'pods "bare" is forbidden: failed quota: mem-cpu-demo: must specify limits.cpu for: a; '
        "limits.memory for: a,b; requests.cpu for: a; requests.memory for: a,b")


def test_compute_quota_sums_requests_and_limits(api):
    quota(api, "mem-cpu-demo", {"requests.cpu": "1", "requests.memory": "1Gi", "limits.cpu": "2",
                                "limits.memory": "2Gi"})
    api.create(PODS, "default", pod("quota-mem-cpu-demo", container(
        requests={"cpu": "400m", "memory": "600Mi"}, limits={"cpu": "800m", "memory": "800Mi"})))
    assert refused(api, PODS, pod("quota-mem-cpu-demo-2", container(
        requests={"cpu": "400m", "memory": "700Mi"}, limits={"cpu": "800m", "memory": "1Gi"}))) == (
        'pods "quota-mem-cpu-demo-2" is forbidden: exceeded quota: mem-cpu-demo, requested: requests.memory=700Mi, '
        "used: requests.memory=600Mi, limited: requests.memory=1Gi")


def test_limit_range_defaults_satisfy_a_compute_quota(api):
    quota(api, "team-quota", {"pods": "3", "requests.cpu": "1", "requests.memory": "1Gi"})
    assert refused(api, PODS, pod("bare")) == \
        'pods "bare" is forbidden: failed quota: team-quota: must specify requests.cpu for: app; ' \
        "requests.memory for: app"
    limit_range(api, {"type": "Container", "defaultRequest": {"cpu": "100m", "memory": "64Mi"},
                      "default": {"cpu": "250m", "memory": "128Mi"}})
    api.create(PODS, "default", pod("bare"))


def test_scopes_select_the_pods_a_quota_counts(api):
    quota(api, "best-effort", {"pods": "1"}, scopes=["BestEffort"])
    quota(api, "long-running", {"pods": "2"}, scopes=["NotTerminating", "NotBestEffort"])
    api.create(PODS, "default", pod("be-1"))
    assert "exceeded quota: best-effort" in refused(api, PODS, pod("be-2"))
    sized = container(requests={"cpu": "10m"})
    api.create(PODS, "default", pod("nbe-1", sized))
    api.create(PODS, "default", pod("nbe-2", sized))
    assert "exceeded quota: long-running" in refused(api, PODS, pod("nbe-3", sized))
    api.create(PODS, "default", pod("deadline", sized, activeDeadlineSeconds=60))  # Terminating: neither counts it


def test_priority_class_scope_selector(api):
    quota(api, "high", {"pods": "1"}, scopeSelector={"matchExpressions": [
        {"scopeName": "PriorityClass", "operator": "In", "values": ["high"]}]})
    api.create(PODS, "default", pod("plain"))
    api.create(PODS, "default", pod("plain-2"))  # the quota counts only pods of class "high"
    high = api.store.get("ResourceQuota", "default", "high")
    assert resourcequota.to_json(resourcequota.calculate_usage(high, api.store, NOW)) == {"pods": "0"}
    stored = api.store.get("Pod", "default", "plain")
    stored["spec"]["priorityClassName"] = "high"
    assert resourcequota.to_json(resourcequota.calculate_usage(high, api.store, NOW)) == {"pods": "1"}
    assert resourcequota.quota_matches(high, "Pod", stored, ["pods"]) == ["pods"]


def test_services_node_ports_and_load_balancers(api):
    quota(api, "svc", {"services": "4", "services.nodeports": "2", "services.loadbalancers": "1"})
    ports = [{"port": 80, "name": "http"}, {"port": 443, "name": "https"}]
    api.create(SERVICES, "default", {"metadata": {"name": "np"}, "spec": {"type": "NodePort", "selector": {"a": "b"},
                                                                          "ports": ports[:1]}})
    assert refused(api, SERVICES, {"metadata": {"name": "lb"}, "spec": {"type": "LoadBalancer", "ports": ports}}) == (
        'services "lb" is forbidden: exceeded quota: svc, requested: services.nodeports=2, '
        "used: services.nodeports=1, limited: services.nodeports=2")
    api.create(SERVICES, "default", {"metadata": {"name": "lb"}, "spec": {"type": "LoadBalancer",
                                                                          "ports": ports[:1]}})
    assert refused(api, SERVICES, {"metadata": {"name": "lb2"}, "spec": {"type": "LoadBalancer",
                                                                         "ports": ports[:1]}}) == (
        'services "lb2" is forbidden: exceeded quota: svc, requested: services.loadbalancers=1,'
        "services.nodeports=1, used: services.loadbalancers=1,services.nodeports=2, limited: "
        "services.loadbalancers=1,services.nodeports=2")
    # the kubernetes Service of default counts too: 3 of 4
    api.create(SERVICES, "default", {"metadata": {"name": "plain"}, "spec": {"ports": ports[:1]}})
    assert refused(api, SERVICES, {"metadata": {"name": "fifth"}, "spec": {"ports": ports[:1]}}) == (
        'services "fifth" is forbidden: exceeded quota: svc, requested: services=1, used: services=4, '
        "limited: services=4")


def test_object_counts_and_storage(api):
    quota(api, "objects", {"configmaps": "2", "count/deployments.apps": "1", "persistentvolumeclaims": "2",
                           "requests.storage": "3Gi", "standard.storageclass.storage.k8s.io/requests.storage": "2Gi"})
    # kube-root-ca.crt already counts as a ConfigMap of the namespace
    api.create(CONFIGMAPS, "default", {"metadata": {"name": "one"}})
    assert refused(api, CONFIGMAPS, {"metadata": {"name": "two"}}) == \
        'configmaps "two" is forbidden: exceeded quota: objects, requested: configmaps=1, used: configmaps=2, ' \
        "limited: configmaps=2"
    deployment = {"metadata": {"name": "web"}, "spec": {
        "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}},
                     "spec": {"containers": [{"name": "n", "image": "nginx"}]}}}}
    api.create(DEPLOYMENTS, "default", deployment)
    deployment["metadata"]["name"] = "web2"
    assert refused(api, DEPLOYMENTS, deployment) == (
        'deployments.apps "web2" is forbidden: exceeded quota: objects, requested: count/deployments.apps=1, '
        "used: count/deployments.apps=1, limited: count/deployments.apps=1")
    claim = {"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"],
                                                     "resources": {"requests": {"storage": "1536Mi"}}}}
    api.create(PVCS, "default", claim)
    claim["metadata"]["name"] = "more"
    assert refused(api, PVCS, claim) == (
        'persistentvolumeclaims "more" is forbidden: exceeded quota: objects, requested: '
        "standard.storageclass.storage.k8s.io/requests.storage=1536Mi, used: "
        "standard.storageclass.storage.k8s.io/requests.storage=1536Mi, limited: "
        "standard.storageclass.storage.k8s.io/requests.storage=2Gi")


def test_dry_run_is_refused_too_and_stores_nothing(api):
    quota(api, "q", {"pods": "0"})
    with pytest.raises(ApiError):
        api.create(PODS, "default", pod("dry"), dry_run=True)


def test_quotas_of_other_namespaces_do_not_apply(api):
    quota(api, "q", {"pods": "0"})
    api.create(by_path("", "v1", "namespaces"), "", {"metadata": {"name": "other"}})
    api.create(PODS, "other", pod("free"))


def test_counted_kinds_name_the_served_resources():
    for resource, kind in resourcequota.COUNTED_KINDS.items():
        rt = storage_type(kind)
        assert resource in (rt.resource if not rt.group else f"{rt.resource}.{rt.group}", "events.events.k8s.io")


# ------------------------------------------------------------------ the engine's creates

def test_a_controllers_pod_is_admitted_against_the_state():
    objects = cluster_objects(workers=1, now=NOW, seed=3)
    state = ClusterState(objects, now=NOW, seed=1)
    state.use_preparer(engine_preparer(now_source=lambda: state.now, rng=random.Random(1), objects=state))
    state.create({"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "l", "namespace": "default"},
                  "spec": {"limits": [{"type": "Container", "defaultRequest": {"cpu": "100m"}}]}})
    state.create({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "q", "namespace": "default"},
                  "spec": {"hard": {"pods": "1", "requests.cpu": "150m"}}})
    first = state.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a", "namespace": "default"},
                          "spec": {"containers": [{"name": "c", "image": "nginx"}]}})
    assert first["spec"]["containers"][0]["resources"] == {"requests": {"cpu": "100m"}}
    with pytest.raises(Refused) as info:
        state.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"generateName": "b-", "namespace": "default"},
                      "spec": {"containers": [{"name": "c", "image": "nginx"}]}})
    assert str(info.value).startswith('pods "b-')
    assert str(info.value).endswith('" is forbidden: exceeded quota: q, requested: pods=1,requests.cpu=100m, '
                                    "used: pods=1,requests.cpu=100m, limited: pods=1,requests.cpu=150m")
