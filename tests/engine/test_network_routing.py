"""Routing as kube-proxy does it: ClusterIP → a ready endpoint → targetPort; NodePorts; pod IPs; failures.

Expected client output, and where it comes from:
* busybox wget (networking/wget.c at 1_36_1, libbb/xconnect.c): `Connecting to HOST (IP:PORT)`,
  `wget: can't connect to remote host (IP): Connection refused` (kube-proxy's REJECT for a Service without
  endpoints, a closed port), `... Connection timed out` (no answer: the kernel's 127 s of SYN retries),
  `wget: download timed out` (-T), `wget: server returned error: HTTP/1.1 404 Not Found`.
* curl 8 (lib/connect.c at curl-8_5_0): `curl: (7) Failed to connect to HOST port P after N ms: Couldn't
  connect to server`, exit 28 with `... after N ms: Timeout was reached` when its own -m/--connect-timeout
  runs out and `... Couldn't connect to server` when the kernel's does.
"""
from __future__ import annotations

from collections import Counter

from clusters.engine.network import PodNetwork, outside
from clusters.engine.network.routing import Client, choose_endpoint
from tests.engine.network_helpers import cluster, deployment, exec_in, logs, pods, run_pod, service
from tests.fixtures import corpus_documents, corpus_object

SLEEPER = ["sleep", "3600"]


def my_nginx(*more: dict, until: float = 30.0, **spec):
    svc = corpus_object("service__networking__nginx-svc.yaml")
    svc["spec"].update({"clusterIP": "10.96.12.34", **spec})
    return cluster(*corpus_documents("service__networking__run-my-nginx.yaml"), svc, *more, until=until)


def hostnames(replicas: int = 3, **spec) -> tuple[dict, dict]:
    # "Debug Services" (tasks/debug/debug-application/debug-service.md): agnhost serve-hostname on 9376
    # behind the `hostnames` Service on port 80.
    return (deployment("hostnames", "registry.k8s.io/e2e-test-images/agnhost:2.39", replicas, port=9376,
                       args=["serve-hostname"]),
            service("hostnames", "10.96.20.1", [{"port": 80, "targetPort": 9376, "protocol": "TCP"}], **spec))


# ------------------------------------------------------------------ ClusterIP to a ready endpoint

def test_wget_to_a_service_from_a_pod():
    state = my_nginx(run_pod("shell", "busybox", SLEEPER))
    code, out, err = exec_in(state, "shell", "wget", "-O-", "my-nginx")
    assert code == 0 and "<title>Welcome to nginx!</title>" in out
    assert err.splitlines()[:2] == ["Connecting to my-nginx (10.96.12.34:80)", "writing to stdout"]
    code, out, err = exec_in(state, "shell", "wget", "-qO-", "my-nginx/nosuch")
    assert (code, out, err) == (1, "", "wget: server returned error: HTTP/1.1 404 Not Found\n")


def test_the_load_balancer_spreads_connections_and_is_deterministic():
    state = cluster(*hostnames(), run_pod("shell", "busybox", SLEEPER))
    net = PodNetwork(state, state.get("Pod", "default", "shell"))
    names = {p["metadata"]["name"] for p in pods(state, "hostnames-")}
    answers = [net.request("http://hostnames", state.now + i * 0.01) for i in range(300)]
    seen = Counter(r.body for r in answers)
    assert set(seen) == names and min(seen.values()) > 60                  # each about a third
    assert all(r.status == 200 and r.service == ("default", "hostnames") for r in answers)
    again = [net.request("http://hostnames", state.now + i * 0.01).body for i in range(300)]
    assert again == [r.body for r in answers]                               # the same instant, the same pod
    loop = "for i in 1 2 3 4 5 6; do wget -qO- hostnames; echo; done"
    code, out, _err = exec_in(state, "shell", "sh", "-c", loop)
    assert code == 0 and set(out.split()) <= names


def test_client_ip_affinity_keeps_a_client_on_one_endpoint():
    state = cluster(*hostnames(sessionAffinity="ClientIP"), run_pod("a", "busybox", SLEEPER),
                    run_pod("b", "busybox", SLEEPER))
    for client in ("a", "b"):
        net = PodNetwork(state, state.get("Pod", "default", client))
        assert len({net.request("http://hostnames", state.now + i).body for i in range(50)}) == 1


def test_named_target_port_is_resolved_on_the_pods():
    state = cluster(deployment("web", "nginx", 2), run_pod("shell", "busybox", SLEEPER),
                    service("web", "10.96.20.5", [{"port": 8080, "targetPort": "http", "protocol": "TCP"}]))
    code, out, _err = exec_in(state, "shell", "wget", "-qO-", "web:8080")
    assert code == 0 and "Welcome to nginx!" in out


# ------------------------------------------------------------------ failures

def test_a_service_without_endpoints_refuses():
    lonely = service("lonely", "10.96.30.1", selector={"app": "nobody"})
    state = my_nginx(lonely, run_pod("shell", "busybox", SLEEPER),
                     run_pod("curl", "curlimages/curl:8.5.0", command=SLEEPER))
    assert exec_in(state, "shell", "wget", "-O-", "lonely") == (1, "", (
        "Connecting to lonely (10.96.30.1:80)\n"
        "wget: can't connect to remote host (10.96.30.1): Connection refused\n"))
    assert exec_in(state, "curl", "curl", "-sS", "http://lonely") == (
        7, "", "curl: (7) Failed to connect to lonely port 80 after 0 ms: Couldn't connect to server\n")


def test_a_wrong_target_port_refuses():
    state = my_nginx(run_pod("shell", "busybox", SLEEPER), ports=[{"port": 80, "targetPort": 8080, "protocol": "TCP"}])
    assert exec_in(state, "shell", "wget", "-qO-", "my-nginx") == (
        1, "", "wget: can't connect to remote host (10.96.12.34): Connection refused\n")
    nginx_ip = pods(state, "my-nginx-")[0]["status"]["podIP"]
    assert exec_in(state, "shell", "wget", "-qO-", f"{nginx_ip}:8080") == (
        1, "", f"wget: can't connect to remote host ({nginx_ip}): Connection refused\n")
    code, out, _err = exec_in(state, "shell", "wget", "-qO-", nginx_ip)      # the pod itself, on its port
    assert code == 0 and "Welcome to nginx!" in out


def test_a_pod_that_is_not_ready_gets_no_traffic():
    # agnhost liveness answers /healthz 200 for 10 s, then 500: as a readiness probe, it drops out.
    flaky = deployment("flaky", "registry.k8s.io/e2e-test-images/agnhost:2.39", 1, port=8080, args=["liveness"],
                       labels={"app": "echo", "variant": "flaky"},
                       readinessProbe={"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 2})
    steady = deployment("steady", "registry.k8s.io/e2e-test-images/agnhost:2.39", 1, port=8080,
                        args=["netexec", "--http-port=8080"], labels={"app": "echo", "variant": "steady"})
    echo = service("echo", "10.96.40.1", [{"port": 80, "targetPort": 8080, "protocol": "TCP"}])
    state = cluster(flaky, steady, echo, run_pod("shell", "busybox", SLEEPER), until=4)
    net = PodNetwork(state, state.get("Pod", "default", "shell"))
    early = Counter(net.request("http://echo/hostname", state.now + i * 0.01).container for i in range(100))
    assert set(early) == {"flaky", "steady"}
    state2 = cluster(flaky, steady, echo, run_pod("shell", "busybox", SLEEPER), until=40)
    flaky_pod = pods(state2, "flaky-")[0]
    assert not any(c["type"] == "Ready" and c["status"] == "True" for c in flaky_pod["status"]["conditions"])
    net = PodNetwork(state2, state2.get("Pod", "default", "shell"))
    late = Counter(net.request("http://echo/hostname", state2.now + i * 0.01).container for i in range(100))
    assert set(late) == {"steady"}


def test_an_address_nobody_has_times_out():
    state = my_nginx(run_pod("shell", "busybox", SLEEPER), run_pod("curl", "curlimages/curl:8.5.0", command=SLEEPER))
    assert exec_in(state, "shell", "wget", "-T", "5", "-qO-", "10.96.99.99") == (1, "", "wget: download timed out\n")
    assert exec_in(state, "curl", "curl", "-sS", "-m", "5", "http://10.96.99.99/") == (
        28, "", "curl: (28) Failed to connect to 10.96.99.99 port 80 after 5001 ms: Timeout was reached\n")
    # Without a timeout of their own, the kernel gives up after its SYN retries (127 s).
    script = run_pod("waiter", "busybox", command=["sh", "-c", "wget -qO- 10.96.99.99; echo exit $?; sleep 3600"])
    curler = run_pod("curler", "curlimages/curl:8.5.0",
                     command=["sh", "-c", "curl -sS http://10.96.99.99; echo exit $?; sleep 3600"])
    state = cluster(script, curler, until=200)
    assert logs(state, "waiter") == ["wget: can't connect to remote host (10.96.99.99): Connection timed out",
                                     "exit 1"]
    assert logs(state, "curler") == [
        "curl: (28) Failed to connect to 10.96.99.99 port 80 after 127001 ms: Couldn't connect to server", "exit 28"]


def test_a_free_address_in_the_pod_network_has_no_route():
    state = my_nginx(run_pod("shell", "busybox", SLEEPER))
    assert exec_in(state, "shell", "wget", "-qO-", "10.244.1.250") == (
        1, "", "wget: can't connect to remote host (10.244.1.250): No route to host\n")


# ------------------------------------------------------------------ NodePorts, localhost, the API server

def test_node_port_from_outside_on_every_node():
    state = my_nginx(type="NodePort", ports=[{"port": 80, "protocol": "TCP", "nodePort": 30080}])
    world = outside(state)
    for node in state.list("Node"):
        ip = next(a["address"] for a in node["status"]["addresses"] if a["type"] == "InternalIP")
        response = world.request(f"http://{ip}:30080/", state.now)
        assert response.outcome == "ok" and response.status == 200, node["metadata"]["name"]
        assert response.pod["metadata"]["name"].startswith("my-nginx-")
        assert world.request(f"http://{ip}:30081/", state.now).outcome == "refused"
    assert world.request("http://10.96.12.34/", state.now).outcome == "timeout"   # a ClusterIP is not outside


def test_external_traffic_policy_local_answers_only_where_an_endpoint_runs():
    state = my_nginx(type="NodePort", externalTrafficPolicy="Local",
                     ports=[{"port": 80, "protocol": "TCP", "nodePort": 30080}])
    hosts = {p["spec"]["nodeName"] for p in pods(state, "my-nginx-")}
    for node in state.list("Node"):
        ip = next(a["address"] for a in node["status"]["addresses"] if a["type"] == "InternalIP")
        outcome = outside(state).request(f"http://{ip}:30080/", state.now).outcome
        assert outcome == ("ok" if node["metadata"]["name"] in hosts else "timeout"), node["metadata"]["name"]


def test_localhost_is_the_pod_itself():
    sidecar = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "two"},
               "spec": {"containers": [{"name": "web", "image": "nginx"},
                                       {"name": "probe", "image": "busybox",
                                        "command": ["sh", "-c", "sleep 1; wget -qO- localhost >/dev/null && echo up; "
                                                                "wget -qO- 127.0.0.1:81; sleep 3600"]}]}}
    state = cluster(sidecar)
    assert logs(state, "two", "probe") == ["up", "wget: can't connect to remote host (127.0.0.1): Connection refused"]


def test_the_kubernetes_service_answers_as_the_api_server_does_to_anonymous_requests():
    state = cluster(run_pod("curl", "curlimages/curl:8.5.0", command=SLEEPER))
    code, out, err = exec_in(state, "curl", "curl", "-sk", "https://kubernetes.default/api")
    assert code == 0 and '"reason": "Forbidden"' in out and '"code": 403' in out
    code, out, err = exec_in(state, "curl", "curl", "-sS", "https://kubernetes.default/api")
    assert code == 60 and err.startswith("curl: (60) SSL certificate problem: unable to get local issuer certificate")
    response = PodNetwork(state, state.get("Pod", "default", "curl")).request("https://10.96.0.1/healthz", state.now)
    assert (response.status, response.body) == (200, "ok")


def test_choose_endpoint_uses_only_ready_endpoints_with_the_port():
    state = cluster(*hostnames(2))
    from clusters.engine.network import get_index
    index = get_index(state)
    svc = index.services[("default", "hostnames")]
    chosen = {choose_endpoint(index, svc, svc.ports[0], Client("10.244.9.9"), state.now + i)[1] for i in range(20)}
    assert chosen == {9376}


# ------------------------------------------------------------------ nc and ping

def test_nc_checks_ports_in_busybox_and_openbsd_words():
    # busybox networking/nc_bloaty.c: "%s (%s) open" with -v; a refusal is printed only with -vv.
    # OpenBSD netcat as Alpine and Debian patch it: "Connection to %s (%s) %s port [%s/%s] succeeded!".
    state = my_nginx(run_pod("shell", "busybox", SLEEPER), run_pod("shoot", "nicolaka/netshoot", SLEEPER))
    assert exec_in(state, "shell", "nc", "-zv", "my-nginx", "80") == (0, "", "my-nginx (10.96.12.34:80) open\n")
    nginx_ip = pods(state, "my-nginx-")[0]["status"]["podIP"]
    assert exec_in(state, "shell", "nc", "-zv", nginx_ip, "81") == (1, "", "")
    assert exec_in(state, "shell", "nc", "-zvv", nginx_ip, "81") == (
        1, "", f"nc: {nginx_ip} ({nginx_ip}:81): Connection refused\n")
    assert exec_in(state, "shell", "nc", "-zv", "-w", "2", "my-nginx", "81") == (
        1, "", "nc: my-nginx (10.96.12.34:81): Connection timed out\n")     # no rule for that port: dropped
    assert exec_in(state, "shoot", "nc", "-zv", "my-nginx", "80") == (
        0, "", "Connection to my-nginx (10.96.12.34) 80 port [tcp/http] succeeded!\n")
    assert exec_in(state, "shoot", "nc", "-zv", nginx_ip, "81") == (
        1, "", f"nc: connect to {nginx_ip} ({nginx_ip}) port 81 (tcp) failed: Connection refused\n")
    assert exec_in(state, "shell", "nc", "-zv", "nosuch", "80") == (1, "", "nc: bad address 'nosuch'\n")


def test_ping_reaches_pods_but_not_cluster_ips():
    # busybox networking/ping.c; a clusterIP answers no ICMP (kube-proxy forwards only the Service's ports).
    state = my_nginx(run_pod("shell", "busybox", SLEEPER))
    code, out, _err = exec_in(state, "shell", "ping", "-c", "2", "my-nginx")
    assert (code, out) == (1, "PING my-nginx (10.96.12.34): 56 data bytes\n\n--- my-nginx ping statistics ---\n"
                              "2 packets transmitted, 0 packets received, 100% packet loss\n")
    nginx_ip = pods(state, "my-nginx-")[0]["status"]["podIP"]
    code, out, _err = exec_in(state, "shell", "ping", "-c", "3", nginx_ip)
    lines = out.splitlines()
    assert code == 0 and lines[0] == f"PING {nginx_ip} ({nginx_ip}): 56 data bytes"
    assert [line.split(" time=")[0] for line in lines[1:4]] == [
        f"64 bytes from {nginx_ip}: seq={n} ttl={lines[1].split('ttl=')[1].split()[0]}" for n in range(3)]
    assert lines[5:7] == [f"--- {nginx_ip} ping statistics ---",
                          "3 packets transmitted, 3 packets received, 0% packet loss"]
    assert lines[7].startswith("round-trip min/avg/max = ")
    own = state.get("Pod", "default", "shell")["status"]["podIP"]
    assert exec_in(state, "shell", "hostname", "-i") == (0, own + "\n", "")
