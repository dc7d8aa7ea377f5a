"""EndpointSlices and Endpoints follow the pods a Service selects, and their readiness."""
from __future__ import annotations

from clusters.engine.controllers import endpoints
from tests.fixtures import corpus_documents as corpus

from .conftest import T0, apply, new_state
from .test_gc import make_pod, run_housekeeping


def service(state, name: str = "my-nginx", selector: dict | None = None, ports: list | None = None, **spec) -> dict:
    body = {"ports": ports or [{"port": 80, "protocol": "TCP"}], **spec}
    if selector is not None:
        body["selector"] = selector
    return apply(state, {"apiVersion": "v1", "kind": "Service",
                         "metadata": {"name": name, "namespace": "default", "labels": {"run": name}}, "spec": body})


def slices(state, name: str = "my-nginx") -> list[dict]:
    return [s for s in state.list("EndpointSlice", "default")
            if s["metadata"]["labels"].get("kubernetes.io/service-name") == name]


def set_ready(state, pod_name: str, ready: bool) -> None:
    pod = state.get("Pod", "default", pod_name)
    for cond in pod["status"]["conditions"]:
        if cond["type"] in ("Ready", "ContainersReady"):
            cond["status"] = "True" if ready else "False"
    state.update(pod)
    state.commit()


def test_corpus_service_lists_both_nginx_pods():
    state = new_state()
    svc = next(d for d in corpus("service__networking__nginx-svc.yaml") if d["kind"] == "Service")
    deploy = next(d for d in corpus("service__networking__run-my-nginx.yaml") if d["kind"] == "Deployment")
    labels = deploy["spec"]["template"]["metadata"]["labels"]
    ports = deploy["spec"]["template"]["spec"]["containers"][0].get("ports")
    svc = apply(state, {**svc, "metadata": {**svc["metadata"], "namespace": "default"}})
    make_pod(state, "my-nginx-5b56ccd65f-abcde", labels=labels, ip="10.244.1.2", ports=ports)
    make_pod(state, "my-nginx-5b56ccd65f-fghij", labels=labels, node_name="worker-2", ip="10.244.2.2", ports=ports)
    state.commit()
    run_housekeeping(state)

    [slc] = slices(state)
    meta = slc["metadata"]
    assert meta["name"].startswith("my-nginx-") and len(meta["name"]) == len("my-nginx-") + 5
    assert meta["generateName"] == "my-nginx-"
    assert meta["labels"]["kubernetes.io/service-name"] == "my-nginx"
    assert meta["labels"]["endpointslice.kubernetes.io/managed-by"] == "endpointslice-controller.k8s.io"
    assert meta["ownerReferences"] == [{"apiVersion": "v1", "kind": "Service", "name": "my-nginx",
                                        "uid": svc["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}]
    assert meta["annotations"]["endpoints.kubernetes.io/last-change-trigger-time"] == "2027-01-15T08:00:00Z"
    assert slc["addressType"] == "IPv4"
    assert slc["ports"] == [{"name": "", "port": 80, "protocol": "TCP"}]
    assert [e["addresses"] for e in slc["endpoints"]] == [["10.244.1.2"], ["10.244.2.2"]]
    first = slc["endpoints"][0]
    assert first["conditions"] == {"ready": True, "serving": True, "terminating": False}
    assert first["nodeName"] == "worker-1" and "zone" not in first
    assert first["targetRef"]["kind"] == "Pod" and first["targetRef"]["name"] == "my-nginx-5b56ccd65f-abcde"

    ep = state.get("Endpoints", "default", "my-nginx")
    assert ep["metadata"]["labels"]["endpoints.kubernetes.io/managed-by"] == "endpoint-controller"
    assert "ownerReferences" not in ep["metadata"]
    [subset] = ep["subsets"]
    assert [a["ip"] for a in subset["addresses"]] == ["10.244.1.2", "10.244.2.2"]
    assert subset["ports"] == [{"port": 80, "protocol": "TCP"}]
    assert not run_housekeeping(state)[0].changes  # settled: nothing rewritten


def test_endpoints_follow_pod_readiness_and_termination():
    state = new_state()
    service(state, selector={"app": "web"})
    make_pod(state, "web-1", labels={"app": "web"}, ip="10.244.1.2")
    make_pod(state, "web-2", labels={"app": "web"}, ip="10.244.1.3", ready=False)
    make_pod(state, "web-3", labels={"app": "web"}, ip=None)  # no IP yet: not an endpoint
    make_pod(state, "db-1", labels={"app": "db"}, ip="10.244.1.4")
    state.commit()
    run_housekeeping(state)
    [slc] = slices(state)
    assert {e["targetRef"]["name"]: e["conditions"]["ready"] for e in slc["endpoints"]} == {
        "web-1": True, "web-2": False}
    ep = state.get("Endpoints", "default", "my-nginx")["subsets"][0]
    assert [a["ip"] for a in ep["addresses"]] == ["10.244.1.2"]
    assert [a["ip"] for a in ep["notReadyAddresses"]] == ["10.244.1.3"]

    state.now = T0 + 10
    set_ready(state, "web-2", True)
    run_housekeeping(state)
    [slc] = slices(state)
    assert all(e["conditions"]["ready"] for e in slc["endpoints"])
    assert slc["metadata"]["annotations"]["endpoints.kubernetes.io/last-change-trigger-time"] == "2027-01-15T08:00:10Z"
    ep = state.get("Endpoints", "default", "my-nginx")["subsets"][0]
    assert len(ep["addresses"]) == 2 and "notReadyAddresses" not in ep

    terminating = state.get("Pod", "default", "web-1")
    terminating["metadata"]["deletionTimestamp"] = "2027-01-15T08:00:40Z"
    state.update(terminating)
    state.commit()
    run_housekeeping(state)
    [slc] = slices(state)
    assert {e["targetRef"]["name"]: e["conditions"] for e in slc["endpoints"]}["web-1"] == {
        "ready": False, "serving": True, "terminating": True}
    assert [a["ip"] for a in state.get("Endpoints", "default", "my-nginx")["subsets"][0]["addresses"]] == ["10.244.1.3"]


def test_a_service_that_selects_nothing_has_no_endpoints():
    state = new_state()
    service(state, "redis-follower", selector={"app": "redis", "role": "follower", "tier": "backend"})
    make_pod(state, "redis-leader-1", labels={"app": "redis", "role": "leader", "tier": "backend"})
    state.commit()
    run_housekeeping(state)
    ep = state.get("Endpoints", "default", "redis-follower")
    assert "subsets" not in ep
    [slc] = slices(state, "redis-follower")
    assert slc["endpoints"] is None and slc["ports"] is None


def test_named_target_ports_are_resolved_per_pod():
    state = new_state()
    service(state, "web", selector={"app": "web"},
            ports=[{"name": "http", "port": 80, "targetPort": "http-server", "protocol": "TCP"}])
    make_pod(state, "web-a", labels={"app": "web"}, ip="10.244.1.2",
             ports=[{"name": "http-server", "containerPort": 8080, "protocol": "TCP"}])
    make_pod(state, "web-b", labels={"app": "web"}, ip="10.244.1.3",
             ports=[{"name": "http-server", "containerPort": 9090, "protocol": "TCP"}])
    make_pod(state, "web-c", labels={"app": "web"}, ip="10.244.1.4")  # no such port
    state.commit()
    run_housekeeping(state)
    found = {tuple(p["port"] for p in s["ports"] or ()): [e["targetRef"]["name"] for e in s["endpoints"]]
             for s in slices(state, "web")}
    # Upstream keeps a pod whose ports do not resolve as an endpoint, in a slice without ports;
    # the Endpoints object leaves it out.
    assert found == {(8080,): ["web-a"], (9090,): ["web-b"], (): ["web-c"]}
    subsets = state.get("Endpoints", "default", "web")["subsets"]
    assert sorted((s["ports"][0]["port"], s["ports"][0]["name"]) for s in subsets) == [(8080, "http"), (9090, "http")]


def test_services_without_selector_are_left_alone_and_gone_services_lose_their_endpoints():
    state = new_state()
    service(state, "external", selector=None)
    svc = service(state, "web", selector={"app": "web"})
    state.commit()
    run_housekeeping(state)
    assert state.get("Endpoints", "default", "external") is None and not slices(state, "external")
    assert state.get("Endpoints", "default", "web") is not None and slices(state, "web")
    state.delete(svc)
    state.commit()
    run_housekeeping(state)
    assert state.get("Endpoints", "default", "web") is None
    assert not slices(state, "web")  # collected through its ownerReference


def test_headless_service_endpoints_carry_hostnames():
    state = new_state()
    apply(state, {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "nginx", "namespace": "default"},
                  "spec": {"clusterIP": "None", "selector": {"app": "nginx"}, "ports": [{"port": 80, "name": "web"}]}})
    make_pod(state, "web-0", labels={"app": "nginx"}, ip="10.244.1.2", hostname="web-0", subdomain="nginx")
    state.commit()
    run_housekeeping(state)
    [slc] = slices(state, "nginx")
    assert slc["metadata"]["labels"]["service.kubernetes.io/headless"] == ""
    assert slc["endpoints"][0]["hostname"] == "web-0"
    assert state.get("Endpoints", "default", "nginx")["subsets"][0]["addresses"][0]["hostname"] == "web-0"


def test_large_services_are_split_into_slices_of_100():
    state = new_state()
    service(state, "big", selector={"app": "big"})
    for i in range(150):
        make_pod(state, f"big-{i:03d}", labels={"app": "big"}, ip=f"10.244.{1 + i // 200}.{i % 200 + 2}")
    state.commit()
    run_housekeeping(state)
    assert sorted(len(s["endpoints"]) for s in slices(state, "big")) == [50, 100]
    assert endpoints.MAX_ENDPOINTS_PER_SLICE == 100
