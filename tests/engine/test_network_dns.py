"""Cluster DNS: CoreDNS's answers, the pods' search path, and the lookup tools' output word for word.

Sources of the expected text:
* busybox 1.28 nslookup: busybox networking/nslookup.c at tag 1_28_4 (print_host: `%-10s %s`,
  `Address %u: %s %s` with getnameinfo's name, `can't resolve '%s'`); the kubernetes.io pages "Debugging DNS
  Resolution" and "Connecting Applications with Services" (kubernetes/website content/en/docs/tasks/
  administer-cluster/dns-debugging-resolution.md, tutorials/services/connect-applications-service.md).
* busybox 1.29+ nslookup: networking/nslookup.c at 1_36_1 (`Server:\\t\\t%s`, `Address:\\t%s\\n\\n`,
  `Name:\\t%s\\nAddress: %s`, `** server can't find %s: %s`, search domains only for names without a dot).
* CoreDNS: coredns plugin/kubernetes (parse.go, kubernetes.go findServices/findPods, reverse.go).
* dig: BIND's layout (`;; flags: qr aa rd`, `;; WARNING: recursion requested but not available`, the
  answer `kubernetes.default.svc.cluster.local. 30 IN A\\t10.96.0.1`), as dig against CoreDNS prints it.
* getent: glibc nss/getent.c print_hosts (`%-15s %s`).
"""
from __future__ import annotations

import pytest

from clusters.engine.network import PodNetwork, dns, get_index
from tests.engine.conftest import apply, run
from tests.engine.network_helpers import cluster, deployment, exec_in, logs, pods, run_pod, service
from tests.fixtures import corpus_documents, corpus_object

SLEEPER = ["sleep", "3600"]


def my_nginx(*more: dict, until: float = 30.0):
    """The "Connecting Applications with Services" cluster: my-nginx (2 nginx pods) behind its Service."""
    svc = corpus_object("service__networking__nginx-svc.yaml")
    svc["spec"]["clusterIP"] = "10.96.12.34"
    return cluster(*corpus_documents("service__networking__run-my-nginx.yaml"), svc, *more, until=until)


# ------------------------------------------------------------------ busybox 1.28 (the tutorials' pin)

def test_kubectl_run_busybox_1_28_nslookup_my_nginx():
    state = my_nginx(run_pod("dns-test", "busybox:1.28", ["nslookup", "my-nginx"]))
    assert logs(state, "dns-test") == [
        "Server:    10.96.0.10",
        "Address 1: 10.96.0.10 kube-dns.kube-system.svc.cluster.local",
        "",
        "Name:      my-nginx",
        "Address 1: 10.96.12.34 my-nginx.default.svc.cluster.local",
    ]
    assert state.get("Pod", "default", "dns-test")["status"]["phase"] == "Succeeded"


def test_busybox_1_28_kubernetes_default_and_nxdomain():
    state = my_nginx(run_pod("shell", "busybox:1.28", SLEEPER))
    assert exec_in(state, "shell", "nslookup", "kubernetes.default") == (0, (
        "Server:    10.96.0.10\n"
        "Address 1: 10.96.0.10 kube-dns.kube-system.svc.cluster.local\n\n"
        "Name:      kubernetes.default\n"
        "Address 1: 10.96.0.1 kubernetes.default.svc.cluster.local\n"), "")
    assert exec_in(state, "shell", "nslookup", "nosuch") == (1, (
        "Server:    10.96.0.10\n"
        "Address 1: 10.96.0.10 kube-dns.kube-system.svc.cluster.local\n\n"), "nslookup: can't resolve 'nosuch'\n")


def test_every_service_name_form_resolves_and_the_namespace_scopes_short_names():
    other = run_pod("elsewhere", "busybox:1.28", SLEEPER, namespace="dev")
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "dev"}}
    state = my_nginx(ns, other, run_pod("shell", "busybox:1.28", SLEEPER))
    net = PodNetwork(state, state.get("Pod", "default", "shell"))
    for name in ("my-nginx", "my-nginx.default", "my-nginx.default.svc", "my-nginx.default.svc.cluster.local",
                 "my-nginx.default.svc.cluster.local."):
        assert net.resolve(name, state.now) == "10.96.12.34", name
    away = PodNetwork(state, state.get("Pod", "dev", "elsewhere"))
    assert away.resolve("my-nginx", state.now) is None                  # dev.svc.cluster.local has none
    assert away.resolve("my-nginx.default", state.now) == "10.96.12.34"
    tried = away.lookup("my-nginx", state.now).tried
    assert [name for name, _ in tried] == ["my-nginx.dev.svc.cluster.local", "my-nginx.svc.cluster.local",
                                           "my-nginx.cluster.local", "my-nginx"]
    assert {rcode for _, rcode in tried} == {"NXDOMAIN"}


# ------------------------------------------------------------------ busybox 1.29 and later

def test_current_busybox_nslookup_asks_each_search_domain_and_fails_on_their_nxdomains():
    state = my_nginx(run_pod("shell", "busybox", SLEEPER))
    code, out, err = exec_in(state, "shell", "nslookup", "my-nginx")
    assert (code, err) == (1, "")
    assert out == ("Server:\t\t10.96.0.10\nAddress:\t10.96.0.10:53\n\n"
                   "Name:\tmy-nginx.default.svc.cluster.local\nAddress: 10.96.12.34\n\n"
                   "** server can't find my-nginx.svc.cluster.local: NXDOMAIN\n\n"
                   "** server can't find my-nginx.cluster.local: NXDOMAIN\n\n"
                   "\n"                                                   # AAAA: NODATA, an empty reply
                   "** server can't find my-nginx.svc.cluster.local: NXDOMAIN\n\n"
                   "** server can't find my-nginx.cluster.local: NXDOMAIN\n\n")
    # A name with a dot is asked as it is: `kubernetes.default` is no name CoreDNS knows.
    assert exec_in(state, "shell", "nslookup", "kubernetes.default") == (1, (
        "Server:\t\t10.96.0.10\nAddress:\t10.96.0.10:53\n\n"
        "** server can't find kubernetes.default: NXDOMAIN\n\n"
        "** server can't find kubernetes.default: NXDOMAIN\n\n"), "")
    assert exec_in(state, "shell", "nslookup", "my-nginx.default.svc.cluster.local") == (0, (
        "Server:\t\t10.96.0.10\nAddress:\t10.96.0.10:53\n\n"
        "Name:\tmy-nginx.default.svc.cluster.local\nAddress: 10.96.12.34\n\n\n"), "")
    assert exec_in(state, "shell", "nslookup", "10.96.0.10") == (0, (
        "Server:\t\t10.96.0.10\nAddress:\t10.96.0.10:53\n\n"
        "10.0.96.10.in-addr.arpa\tname = kube-dns.kube-system.svc.cluster.local\n\n"), "")


# ------------------------------------------------------------------ headless Services and StatefulSets

def web_statefulset(replicas: int = 2) -> dict:
    # The StatefulSet basics tutorial's web.yaml (application/web/web.yaml), without its volume claims.
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "web"},
            "spec": {"serviceName": "nginx", "replicas": replicas, "selector": {"matchLabels": {"app": "nginx"}},
                     "template": {"metadata": {"labels": {"app": "nginx"}},
                                  "spec": {"containers": [{"name": "nginx", "image": "registry.k8s.io/nginx-slim:0.21",
                                                           "ports": [{"containerPort": 80, "name": "web"}]}]}}}}


def headless_nginx() -> dict:
    return service("nginx", "None", [{"port": 80, "name": "web", "protocol": "TCP"}], labels={"app": "nginx"})


def test_statefulset_pods_have_stable_names_through_the_headless_service():
    state = cluster(headless_nginx(), web_statefulset(), run_pod("dns-test", "busybox:1.28", SLEEPER), until=60)
    ips = {p["metadata"]["name"]: p["status"]["podIP"] for p in pods(state, "web-")}
    assert set(ips) == {"web-0", "web-1"}
    # The StatefulSet tutorial's `nslookup web-0.nginx`, with CoreDNS's PTR name for the endpoint.
    assert exec_in(state, "dns-test", "nslookup", "web-0.nginx") == (0, (
        "Server:    10.96.0.10\n"
        "Address 1: 10.96.0.10 kube-dns.kube-system.svc.cluster.local\n\n"
        "Name:      web-0.nginx\n"
        f"Address 1: {ips['web-0']} web-0.nginx.default.svc.cluster.local\n"), "")
    code, out, _err = exec_in(state, "dns-test", "nslookup", "nginx")
    lines = out.splitlines()[3:]
    # Every endpoint, numbered in the order CoreDNS answered (its EndpointSlice's order, not sorted).
    assert code == 0 and lines[0] == "Name:      nginx" and len(lines) == 3
    assert {line.split(": ", 1)[1] for line in lines[1:]} == {
        f"{ip} {name}.nginx.default.svc.cluster.local" for name, ip in ips.items()}
    assert [line.split(":")[0] for line in lines[1:]] == ["Address 1", "Address 2"]
    index = get_index(state)
    assert dns.query(index, "web-1.nginx.default.svc.cluster.local", "A", state.now).addresses == [ips["web-1"]]
    srv = dns.query(index, "_web._tcp.nginx.default.svc.cluster.local", "SRV", state.now)
    assert sorted(r.data for r in srv.answers) == ["0 50 80 web-0.nginx.default.svc.cluster.local",
                                                   "0 50 80 web-1.nginx.default.svc.cluster.local"]
    assert dns.query(index, "web-2.nginx.default.svc.cluster.local", "A", state.now).rcode == "NXDOMAIN"


def test_a_headless_service_answers_only_ready_pods():
    never_ready = deployment("slow", "nginx", 1, labels={"app": "nginx"},
                             readinessProbe={"httpGet": {"path": "/nosuch", "port": 80}, "periodSeconds": 5})
    state = cluster(headless_nginx(), web_statefulset(1), never_ready, until=60)
    ready_ip = state.get("Pod", "default", "web-0")["status"]["podIP"]
    reply = dns.query(get_index(state), "nginx.default.svc.cluster.local", "A", state.now)
    assert reply.addresses == [ready_ip]
    slow_ip = pods(state, "slow-")[0]["status"]["podIP"]
    assert dns.ptr_names(get_index(state), slow_ip, state.now) == []


def test_pod_a_records_and_unknown_namespaces():
    state = my_nginx(run_pod("shell", "busybox:1.28", SLEEPER))
    ip = state.get("Pod", "default", "shell")["status"]["podIP"]
    dashed = ip.replace(".", "-")
    index = get_index(state)
    assert dns.query(index, f"{dashed}.default.pod.cluster.local", "A", state.now).addresses == [ip]
    assert dns.query(index, f"{dashed}.nosuch.pod.cluster.local", "A", state.now).rcode == "NXDOMAIN"
    assert dns.query(index, "my-nginx.nosuch.svc.cluster.local", "A", state.now).rcode == "NXDOMAIN"
    nodata = dns.query(index, "default.svc.cluster.local", "A", state.now)
    assert (nodata.rcode, nodata.answers) == ("NOERROR", [])
    assert dns.query(index, "example.com", "A", state.now).rcode == "NXDOMAIN"      # no Internet here


def test_external_name_is_a_cname():
    external = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "my-db"},
                "spec": {"type": "ExternalName", "externalName": "my-nginx.default.svc.cluster.local"}}
    state = my_nginx(external, run_pod("utils", "registry.k8s.io/e2e-test-images/jessie-dnsutils:1.3", SLEEPER))
    reply = dns.query(get_index(state), "my-db.default.svc.cluster.local", "A", state.now)
    assert [(r.type, r.data) for r in reply.answers] == [("CNAME", "my-nginx.default.svc.cluster.local"),
                                                         ("A", "10.96.12.34")]
    assert exec_in(state, "utils", "dig", "+short", "my-db.default.svc.cluster.local") == (
        0, "my-nginx.default.svc.cluster.local.\n10.96.12.34\n", "")
    assert exec_in(state, "utils", "host", "my-db") == (0, (
        "my-db.default.svc.cluster.local is an alias for my-nginx.default.svc.cluster.local.\n"
        "my-nginx.default.svc.cluster.local has address 10.96.12.34\n"), "")


# ------------------------------------------------------------------ time: replays ask about the past

@pytest.mark.parametrize("meanwhile", [False, True], ids=["alone", "another-pod-meanwhile"])
def test_init_containers_wait_until_their_services_exist(meanwhile):
    # The init-containers tutorial (pods/init-containers.yaml): the Services come 20 s after the pod. Meanwhile
    # the kubelet may run for another pod: it must not take the waiting pod for one with nothing to do.
    check = ("until nslookup {0}.$(cat /var/run/secrets/kubernetes.io/serviceaccount/namespace).svc.cluster.local; "
             "do echo waiting for {0}; sleep 2; done")
    init = [{"name": f"init-{name}", "image": "busybox:1.28", "command": ["sh", "-c", check.format(name)]}
            for name in ("myservice", "mydb")]
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "myapp-pod", "labels": {"app.kubernetes.io/name": "MyApp"}},
           "spec": {"containers": [{"name": "myapp-container", "image": "busybox:1.28",
                                    "command": ["sh", "-c", "echo The app is running! && sleep 3600"]}],
                    "initContainers": init}}
    state = cluster(pod, until=10 if meanwhile else 20)
    if meanwhile:
        apply(state, run_pod("other", "busybox:1.28", SLEEPER))
        run(state, state.now + 10)
        assert state.get("Pod", "default", "other")["status"]["phase"] == "Running"
    created = state.now
    assert state.get("Pod", "default", "myapp-pod")["status"]["phase"] == "Pending"
    apply(state, service("myservice", "10.96.50.1", [{"port": 80, "targetPort": 9376, "protocol": "TCP"}],
                         selector=False))
    apply(state, service("mydb", "10.96.50.2", [{"port": 80, "targetPort": 9377, "protocol": "TCP"}], selector=False))
    run(state, created + 40)
    assert state.get("Pod", "default", "myapp-pod")["status"]["phase"] == "Running"
    lines = logs(state, "myapp-pod", "init-myservice")
    assert lines[:5] == ["Server:    10.96.0.10", "Address 1: 10.96.0.10 kube-dns.kube-system.svc.cluster.local", "",
                         "nslookup: can't resolve 'myservice.default.svc.cluster.local'", "waiting for myservice"]
    assert 9 <= lines.count("waiting for myservice") <= 11                     # every 2 s for 20 s
    assert lines[-2:] == ["Name:      myservice.default.svc.cluster.local",
                          "Address 1: 10.96.50.1 myservice.default.svc.cluster.local"]
    # Asked about a time before its creation, the Service does not exist.
    net = PodNetwork(state, state.get("Pod", "default", "myapp-pod"))
    assert net.resolve("myservice", created - 10) is None and net.resolve("myservice", created + 10) == "10.96.50.1"


# ------------------------------------------------------------------ dig, host, getent

def test_dig_output_against_coredns():
    state = my_nginx(run_pod("utils", "nicolaka/netshoot", SLEEPER))
    code, out, _err = exec_in(state, "utils", "dig", "kubernetes.default.svc.cluster.local")
    lines = out.splitlines()
    assert code == 0 and lines[1] == "; <<>> DiG 9.18.33 <<>> kubernetes.default.svc.cluster.local"
    assert ";; flags: qr aa rd; QUERY: 1, ANSWER: 1, AUTHORITY: 0, ADDITIONAL: 1" in lines
    assert ";; WARNING: recursion requested but not available" in lines
    assert ";kubernetes.default.svc.cluster.local. IN A" in lines
    assert "kubernetes.default.svc.cluster.local. 30 IN A\t10.96.0.1" in lines
    assert ";; SERVER: 10.96.0.10#53(10.96.0.10) (UDP)" in lines
    assert exec_in(state, "utils", "dig", "+short", "my-nginx.default.svc.cluster.local") == (0, "10.96.12.34\n", "")
    # dig does not search: the short name goes upstream, where nothing knows it.
    code, out, _err = exec_in(state, "utils", "dig", "my-nginx")
    assert "status: NXDOMAIN" in out
    assert exec_in(state, "utils", "dig", "+search", "+short", "my-nginx") == (0, "10.96.12.34\n", "")
    assert exec_in(state, "utils", "dig", "+short", "-x", "10.96.12.34") == (
        0, "my-nginx.default.svc.cluster.local.\n", "")


def test_bind_nslookup_and_getent_hosts():
    state = my_nginx(run_pod("utils", "registry.k8s.io/e2e-test-images/jessie-dnsutils:1.3", SLEEPER),
                     run_pod("deb", "debian", SLEEPER))
    assert exec_in(state, "utils", "nslookup", "my-nginx") == (0, (
        "Server:\t\t10.96.0.10\nAddress:\t10.96.0.10#53\n\n"
        "Name:\tmy-nginx.default.svc.cluster.local\nAddress: 10.96.12.34\n\n"), "")
    assert exec_in(state, "utils", "nslookup", "nosuch") == (1, (
        "Server:\t\t10.96.0.10\nAddress:\t10.96.0.10#53\n\n** server can't find nosuch: NXDOMAIN\n\n"), "")
    assert exec_in(state, "deb", "getent", "hosts", "my-nginx") == (
        0, "10.96.12.34     my-nginx.default.svc.cluster.local\n", "")
    deb_ip = state.get("Pod", "default", "deb")["status"]["podIP"]
    assert exec_in(state, "deb", "getent", "hosts", "deb") == (0, f"{deb_ip:<15} deb\n", "")   # /etc/hosts
    assert exec_in(state, "deb", "getent", "hosts", "10.96.0.10") == (
        0, "10.96.0.10      kube-dns.kube-system.svc.cluster.local\n", "")
    assert exec_in(state, "deb", "getent", "hosts", "nosuch") == (2, "", "")


def test_without_a_ready_coredns_lookups_time_out():
    # When CoreDNS pods are part of the cluster and none is ready, the second error of "Debugging DNS
    # Resolution" without the server's name: the PTR query for it timed out too.
    state = cluster(run_pod("shell", "busybox:1.28", SLEEPER))
    if not pods(state, "coredns-", "kube-system"):
        apply(state, deployment("coredns", "registry.k8s.io/coredns/coredns:v1.11.3", 1, namespace="kube-system",
                                labels={"k8s-app": "kube-dns"}))
        run(state, state.now + 5)
    for coredns in pods(state, "coredns-", "kube-system"):
        coredns["spec"]["containers"][0]["image"] = "registry.k8s.io/coredns/coredns:nosuch"
        coredns["status"]["conditions"] = [dict(c, status="False") if c["type"] == "Ready" else c
                                           for c in coredns["status"]["conditions"]]
        state.update(coredns)
    assert exec_in(state, "shell", "nslookup", "kubernetes.default") == (
        1, "Server:    10.96.0.10\nAddress 1: 10.96.0.10\n\n", "nslookup: can't resolve 'kubernetes.default'\n")
