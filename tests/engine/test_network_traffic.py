"""Traffic: which pod answers a request and what it says, at the instant asked; the load clients make.

The answers are the answering containers' own (kubelet/program.py Program.http over images.py): nginx's
pages, agnhost serve-hostname's pod name (test/images/agnhost/serve-hostname), hpa-example's "OK!".
The load model is the HorizontalPodAutoscaler walkthrough's (tasks/run-application/
horizontal-pod-autoscale-walkthrough.md): `while sleep 0.01; do wget -q -O- http://php-apache; done`.
"""
from __future__ import annotations

import gc
import time

import pytest

from clusters.engine.loop import step
from clusters.engine.network import (
    PodNetwork,
    client_request_rates,
    cpu_millicores,
    get_index,
    outside,
    pod_request_rates,
    request,
)
from clusters.engine.network.index import build
from clusters.engine.state import parse_timestamp
from tests.engine.network_helpers import cluster, deployment, exec_in, pods, run_pod, service
from tests.fixtures import corpus_documents

SLEEPER = ["sleep", "3600"]
LOAD = ["/bin/sh", "-c", "while sleep 0.01; do wget -q -O- http://php-apache; done"]


def php_apache(replicas: int = 1, *more: dict, until: float = 60.0, affinity: bool = False):
    docs = corpus_documents("application__php-apache.yaml")
    for doc in docs:
        if doc["kind"] == "Deployment":
            doc["spec"]["replicas"] = replicas
        if doc["kind"] == "Service":
            doc["spec"]["clusterIP"] = "10.96.60.1"
            if affinity:
                doc["spec"]["sessionAffinity"] = "ClientIP"
    return cluster(*docs, *more, until=until)


def test_a_request_says_who_answered():
    state = cluster(deployment("hostnames", "registry.k8s.io/e2e-test-images/agnhost:2.39", 2, port=9376,
                               args=["serve-hostname"]),
                    service("hostnames", "10.96.20.1", [{"port": 80, "targetPort": 9376, "protocol": "TCP"}]),
                    run_pod("shell", "busybox", SLEEPER))
    response = request(state, "http://hostnames/", state.now, source=state.get("Pod", "default", "shell"))
    assert response.outcome == "ok" and response.status == 200
    assert response.body == response.pod["metadata"]["name"]            # serve-hostname: the pod's hostname
    assert (response.container, response.service, response.ip, response.port) == (
        "hostnames", ("default", "hostnames"), "10.96.20.1", 80)
    assert response.world_answer == (200, response.body)


def test_a_container_answers_only_while_it_runs():
    state = cluster(deployment("web", "nginx", 1), run_pod("shell", "busybox", SLEEPER))
    web = pods(state, "web-")[0]
    started = state.sim(web)["c"]["web"]["start"]
    net = PodNetwork(state, state.get("Pod", "default", "shell"))
    ip = web["status"]["podIP"]
    assert net.request(f"http://{ip}/", started + 0.05).outcome == "refused"   # nginx needs 0.1 s to listen
    assert net.request(f"http://{ip}/", started - 5).outcome == "unreachable"   # no pod had the address yet
    assert net.request(f"http://{ip}/", started + 0.2).status == 200
    assert net.request("tcp://" + ip + ":80", started + 0.2).world_answer == (0, "")     # nc's question


def test_nginx_serves_its_document_root_from_the_container_files():
    page = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "page"}, "data": {"index.html": "hi\n"}}
    web = deployment("web", "nginx", 1, volumeMounts=[{"name": "html", "mountPath": "/usr/share/nginx/html"}])
    web["spec"]["template"]["spec"]["volumes"] = [{"name": "html", "configMap": {"name": "page"}}]
    state = cluster(page, web, service("web", "10.96.20.7"), run_pod("shell", "busybox", SLEEPER))
    assert exec_in(state, "shell", "wget", "-qO-", "web") == (0, "hi\n", "")


def test_load_spreads_over_the_ready_replicas():
    state = php_apache(2, run_pod("load-generator", "busybox:1.28", command=LOAD))
    clients = client_request_rates(state, state.now)
    assert [(p["metadata"]["name"], list(rates)) for p, rates in clients] == [("load-generator", ["http://php-apache"])]
    per_second = clients[0][1]["http://php-apache"]
    assert per_second == pytest.approx(1 / 0.011)                          # sleep 0.01 + 1 ms per request
    rates = pod_request_rates(state, clients, state.now)
    backends = {p["metadata"]["uid"] for p in pods(state, "php-apache-")}
    assert set(rates) == backends and sum(rates.values()) == pytest.approx(per_second)
    assert all(rate == pytest.approx(per_second / 2) for rate in rates.values())
    cpu = cpu_millicores(state, rates)
    assert all(m == pytest.approx(per_second / 2 * 25.0) for m in cpu.values())   # hpa-example: 25 ms a request


def test_client_ip_affinity_sends_a_client_s_whole_load_to_one_pod():
    state = php_apache(3, run_pod("load-generator", "busybox:1.28", command=LOAD), affinity=True)
    rates = pod_request_rates(state, client_request_rates(state, state.now), state.now)
    assert len(rates) == 1


def test_requests_nobody_answers_make_no_load():
    state = php_apache(0, run_pod("load-generator", "busybox:1.28", command=LOAD))
    assert pod_request_rates(state, client_request_rates(state, state.now), state.now) == {}


def test_same_cluster_same_answers():
    def answers():
        state = cluster(deployment("hostnames", "registry.k8s.io/e2e-test-images/agnhost:2.39", 3, port=9376,
                                   args=["serve-hostname"]),
                        service("hostnames", "10.96.20.1", [{"port": 80, "targetPort": 9376, "protocol": "TCP"}]),
                        run_pod("shell", "busybox", SLEEPER))
        shell = state.get("Pod", "default", "shell")
        return [request(state, "http://hostnames", state.now + i / 7, source=shell).body for i in range(50)]

    assert answers() == answers()


# ------------------------------------------------------------------ cost

def test_fifty_services_and_two_hundred_pods_stay_cheap():
    objects: list[dict] = []
    for n in range(50):
        objects.append(deployment(f"app{n}", "nginx", 4, labels={"app": f"app{n}"}))
        objects.append(service(f"app{n}", f"10.96.100.{n + 1}", selector={"app": f"app{n}"}))
    objects.append(run_pod("shell", "busybox", SLEEPER))
    state = cluster(*objects, until=30, workers=4)
    assert len(pods(state, "app")) == 200
    shell = state.get("Pod", "default", "shell")
    net = PodNetwork(state, shell)
    assert net.request("http://app7", state.now).status == 200
    # What is timed is the index and the requests, not a full collection of the whole suite's heap that one
    # of them happens to set off (that made a 0.9 ms build average 50 ms once): the collector waits meanwhile.
    gc.collect()
    gc.disable()
    try:
        builds = []
        for _ in range(5):
            t0 = time.perf_counter()
            build(state)
            builds.append(time.perf_counter() - t0)
        per_build = min(builds)
        t0 = time.perf_counter()
        for i in range(500):
            net.request(f"http://app{i % 50}", state.now + i * 0.001)
        per_request = (time.perf_counter() - t0) / 500
        # A pass over this cluster with the network in use: a script of the shell pod asks once per pass.
        t0 = time.perf_counter()
        step(state, state.now + 1)
        per_step = time.perf_counter() - t0
    finally:
        gc.enable()
    print(f"\nindex build {per_build * 1e3:.2f} ms, request {per_request * 1e6:.0f} µs, step {per_step * 1e3:.1f} ms")
    assert per_request < 0.001 and per_build < 0.02
    assert get_index(state) is get_index(state)                           # built once per state as written


# ------------------------------------------------------------------ Ingress, through the cluster's ingress-nginx

def example_ingress(*paths: tuple[str, str, str], name: str = "example-ingress", host: str = "hello-world.example",
                    annotations: dict | None = None) -> dict:
    # service/networking/example-ingress.yaml of the "Set up Ingress ... with the NGINX Ingress Controller" task.
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": name, **({"annotations": annotations} if annotations else {})},
            "spec": {"ingressClassName": "nginx", "rules": [{"host": host, "http": {"paths": [
                {"path": path, "pathType": kind, "backend": {"service": {"name": svc, "port": {"number": 8080}}}}
                for path, kind, svc in paths]}}]}}


def hello(name: str, version: str, ip: str) -> tuple[dict, dict]:
    return (deployment(name, f"gcr.io/google-samples/hello-app:{version}", 1, port=8080),
            service(name, ip, [{"port": 8080, "protocol": "TCP"}]))


def ingress_address(state) -> str:
    svc = state.get("Service", "ingress-nginx", "ingress-nginx-controller")
    return svc["status"]["loadBalancer"]["ingress"][0]["ip"]


def test_ingress_routes_by_host_and_path():
    state = cluster(*hello("web", "1.0", "10.96.70.1"), *hello("web2", "2.0", "10.96.70.2"),
                    example_ingress(("/", "Prefix", "web"), ("/v2", "Prefix", "web2")),
                    run_pod("curl", "curlimages/curl:8.5.0", command=SLEEPER))
    address = ingress_address(state)
    world = outside(state)
    response = world.request(f"http://{address}/", state.now, host="hello-world.example")
    web = pods(state, "web-")[0]["metadata"]["name"]
    assert (response.status, response.body) == (200, f"Hello, world!\nVersion: 1.0.0\nHostname: {web}\n")
    assert response.service == ("default", "web") and response.pod["metadata"]["name"] == web
    assert world.request(f"http://{address}/v2", state.now, host="hello-world.example").service == ("default", "web2")
    assert world.request(f"http://{address}/v2x", state.now, host="hello-world.example").service == ("default", "web")
    other = world.request(f"http://{address}/", state.now, host="nosuch.example")
    assert (other.status, other.body) == (404, (  # the controller's default backend
        "<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n"
        "<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"))
    # From a pod: curl's --resolve and a Host header reach the same backend (the task's `curl --resolve`).
    expected = (0, f"Hello, world!\nVersion: 1.0.0\nHostname: {web}\n", "")
    assert exec_in(state, "curl", "curl", "-s", "--resolve", f"hello-world.example:80:{address}",
                   "http://hello-world.example/") == expected
    assert exec_in(state, "curl", "curl", "-s", "-H", "Host: hello-world.example", f"http://{address}/") == expected


def test_ingress_backend_without_endpoints_and_rewrites():
    lonely = service("lonely", "10.96.70.3", [{"port": 8080, "protocol": "TCP"}], selector={"app": "nobody"})
    rewrite = example_ingress(("/app(/|$)(.*)", "ImplementationSpecific", "web"), name="rewrite",
                              host="rw.example", annotations={"nginx.ingress.kubernetes.io/rewrite-target": "/$2",
                                           "nginx.ingress.kubernetes.io/use-regex": "true"})
    state = cluster(*hello("web", "1.0", "10.96.70.1"), lonely, rewrite,
                    example_ingress(("/", "Prefix", "lonely"), name="empty", host="empty.example"))
    world = outside(state)
    empty = world.request(f"http://{ingress_address(state)}/", state.now, host="empty.example")
    assert (empty.status, empty.container) == (503, "controller")
    assert "<title>503 Service Temporarily Unavailable</title>" in empty.body
    rewritten = world.request(f"http://{ingress_address(state)}/app/", state.now, host="rw.example")
    assert rewritten.status == 200 and rewritten.body.startswith("Hello, world!")
    created = state.get("Ingress", "default", "rewrite")["metadata"]["creationTimestamp"]
    before = world.request(f"http://{ingress_address(state)}/app/", parse_timestamp(created) - 1, host="rw.example")
    assert before.status == 404                                  # the Ingress did not exist yet


# ------------------------------------------------------------------ the servers' headers, as curl and wget show them

def test_curl_i_and_wget_s_print_the_server_s_headers():
    state = cluster(deployment("web", "nginx", 1), service("web", "10.96.20.7"), *hello("hello", "1.0", "10.96.70.1"),
                    example_ingress(("/", "Prefix", "hello")),
                    run_pod("curl", "curlimages/curl:8.5.0", command=SLEEPER), run_pod("shell", "busybox", SLEEPER))
    code, out, _err = exec_in(state, "curl", "curl", "-s", "-i", "http://web/")
    head, _, body = out.partition("\r\n\r\n")
    lines = head.split("\r\n")
    assert code == 0 and lines[0] == "HTTP/1.1 200 OK" and len(body.encode()) == 615
    assert [line.split(":")[0] for line in lines[1:]] == [
        "Server", "Date", "Content-Type", "Content-Length", "Last-Modified", "Connection", "ETag", "Accept-Ranges"]
    assert lines[1] == "Server: nginx/1.29.3" and lines[3:5] == ["Content-Type: text/html", "Content-Length: 615"]
    assert lines[6:] == ["Connection: keep-alive", lines[7], "Accept-Ranges: bytes"] and lines[7].endswith('-267"')
    # Through the Ingress (the task's `curl --resolve … -i`): ingress-nginx's Date, the backend's type.
    pod = pods(state, "hello-")[0]["metadata"]["name"]
    text = f"Hello, world!\nVersion: 1.0.0\nHostname: {pod}\n"
    code, out, _err = exec_in(state, "curl", "curl", "--resolve", f"hello-world.example:80:{ingress_address(state)}",
                              "-i", "http://hello-world.example")
    from email.utils import formatdate
    assert out == (f"HTTP/1.1 200 OK\r\nDate: {formatdate(state.now, usegmt=True)}\r\n"
                   f"Content-Type: text/plain; charset=utf-8\r\nContent-Length: {len(text)}\r\n"
                   f"Connection: keep-alive\r\n\r\n{text}")
    # -I: the head only; -w unchanged; -v: the request and the answer's head on stderr.
    assert exec_in(state, "curl", "curl", "-sI", "http://hello:8080/")[1].startswith("HTTP/1.1 200 OK\r\nDate: ")
    assert exec_in(state, "curl", "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "http://web/")[1] == "200"
    err = exec_in(state, "curl", "curl", "-sv", "-o", "/dev/null", "http://web/")[2]
    assert "> GET / HTTP/1.1\r\n> Host: web\r\n> User-Agent: curl/8.5.0\r\n> Accept: */*\r\n> \r\n" in err
    assert "< HTTP/1.1 200 OK\r\n< Server: nginx/1.29.3\r\n" in err
    # busybox wget -S: the status line and headers two spaces in; it asks for Connection: close.
    code, out, err = exec_in(state, "shell", "wget", "-S", "-qO-", "http://hello:8080/")
    assert (code, out) == (0, text)
    assert err == (f"  HTTP/1.1 200 OK\n  Date: {formatdate(state.now, usegmt=True)}\n  Content-Length: {len(text)}\n"
                   "  Content-Type: text/plain; charset=utf-8\n  Connection: close\n  \n")
    assert exec_in(state, "shell", "wget", "-S", "-qO-", "http://web/nosuch")[2] == (
        "  HTTP/1.1 404 Not Found\nwget: server returned error: HTTP/1.1 404 Not Found\n")
