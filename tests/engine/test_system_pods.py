"""A fresh cluster's kube-system, local-path-storage and ingress-nginx, as on a fresh kind cluster:
what bootstrap writes, what the controllers and kubelets make of it, and what kubectl then shows."""
from __future__ import annotations

import copy
import re
import time
from datetime import UTC, datetime

import pytest

from clusters.apiserver import bootstrap
from clusters.apiserver.bootstrap import cluster_objects
from clusters.apiserver.registry import storage_type
from clusters.apiserver.tables import build_table
from clusters.apiserver.validation import validate_object
from clusters.engine import resources
from clusters.engine.kubelet import images, system_images
from clusters.engine.kubelet.logs import container_logs
from clusters.engine.loop import step

from .conftest import T0, collector_held, events_expiry, new_state, run

SYSTEM = ("kube-system", "local-path-storage", "ingress-nginx")
STATIC = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")


@pytest.fixture(scope="module")
def settled():
    """A fresh cluster two minutes after creation (the system pods' images pulled and started)."""
    state = new_state()
    run(state, T0 + 120)
    return state


def system_pods(state) -> list[dict]:
    return [p for ns in SYSTEM for p in state.list("Pod", ns)]


def generic(name: str) -> str:
    """A generated name with its random parts spelled out: coredns-HASH-xxxxx, kube-proxy-xxxxx."""
    if name.endswith("-control-plane"):
        return name
    return re.sub(r"-[a-z0-9]{5}$", "-xxxxx", re.sub(r"-[a-z0-9]{8,10}-([a-z0-9]{5})$", r"-HASH-\1", name))


def get_pods_all(state) -> list[tuple[str, ...]]:
    """`kubectl get pods -A`: NAMESPACE NAME READY STATUS RESTARTS AGE, as the server's Table has them."""
    now = datetime.fromtimestamp(state.now, UTC)
    rows = []
    for ns in sorted({p["metadata"]["namespace"] for p in state.list("Pod")}):
        table = build_table("Pod", state.list("Pod", ns), now=now)
        rows += [(ns, *[str(c) for c in row["cells"][:5]]) for row in table["rows"]]
    return rows


# ------------------------------------------------------------------ what bootstrap writes

def test_a_fresh_cluster_has_kinds_namespaces_and_add_ons():
    objects = cluster_objects(workers=2, now=T0, seed=7)
    names = sorted(o["metadata"]["name"] for o in objects if o["kind"] == "Namespace")
    assert names == ["default", "ingress-nginx", "kube-node-lease", "kube-public", "kube-system",
                     "local-path-storage"]
    workloads = sorted((o["kind"], o["metadata"]["namespace"], o["metadata"]["name"]) for o in objects
                       if o["kind"] in ("Deployment", "DaemonSet", "Job"))
    assert workloads == [
        ("DaemonSet", "kube-system", "kindnet"), ("DaemonSet", "kube-system", "kube-proxy"),
        ("Deployment", "ingress-nginx", "ingress-nginx-controller"), ("Deployment", "kube-system", "coredns"),
        ("Deployment", "kube-system", "metrics-server"),
        ("Deployment", "local-path-storage", "local-path-provisioner"),
        ("Job", "ingress-nginx", "ingress-nginx-admission-create"),
        ("Job", "ingress-nginx", "ingress-nginx-admission-patch")]
    # As the API server stores a client's creation: defaulted, with identity and generation.
    coredns = next(o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "coredns")
    assert coredns["metadata"]["generation"] == 1 and coredns["metadata"]["uid"]
    assert coredns["spec"]["revisionHistoryLimit"] == 10 and coredns["spec"]["progressDeadlineSeconds"] == 600
    container = coredns["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == f"registry.k8s.io/coredns/coredns:{system_images.COREDNS_TAG}"
    assert container["resources"] == {"limits": {"memory": "170Mi"}, "requests": {"cpu": "100m", "memory": "70Mi"}}
    assert container["terminationMessagePath"] == "/dev/termination-log"
    # The kube-dns Service selects CoreDNS's pods.
    dns = next(o for o in objects if o["kind"] == "Service" and o["metadata"]["name"] == "kube-dns")
    assert dns["spec"]["selector"] == coredns["spec"]["template"]["metadata"]["labels"] == {"k8s-app": "kube-dns"}
    ingress_class = next(o for o in objects if o["kind"] == "IngressClass")
    assert (ingress_class["metadata"]["name"], ingress_class["spec"]["controller"]) == ("nginx", "k8s.io/ingress-nginx")
    assert ingress_class["metadata"]["annotations"] == {"ingressclass.kubernetes.io/is-default-class": "true"}


def test_the_control_plane_runs_kubeadms_static_pods_as_mirror_pods():
    objects = cluster_objects(workers=2, now=T0, seed=7)
    node = next(o for o in objects if o["kind"] == "Node" and o["metadata"]["name"] == "control-plane")
    pods = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Pod"}
    assert sorted(pods) == [f"{c}-control-plane" for c in STATIC]
    for component in STATIC:
        pod = pods[f"{component}-control-plane"]
        meta, spec = pod["metadata"], pod["spec"]
        assert meta["namespace"] == "kube-system"
        assert meta["labels"] == {"component": component, "tier": "control-plane"}
        annotations = meta["annotations"]
        assert annotations["kubernetes.io/config.source"] == "file"
        assert annotations["kubernetes.io/config.mirror"] == annotations["kubernetes.io/config.hash"]
        assert re.fullmatch(r"[0-9a-f]{32}", annotations["kubernetes.io/config.hash"])
        assert re.fullmatch(r"2027-01-15T07:59:3\d\.\d{9}Z", annotations["kubernetes.io/config.seen"])
        assert meta["ownerReferences"] == [{"apiVersion": "v1", "controller": True, "kind": "Node",
                                            "name": "control-plane", "uid": node["metadata"]["uid"]}]
        assert spec["nodeName"] == "control-plane" and spec["hostNetwork"] is True
        assert spec["priorityClassName"] == "system-node-critical" and spec["priority"] == 2000001000
        assert spec["tolerations"] == [{"effect": "NoExecute", "operator": "Exists"}]
        assert "serviceAccountName" not in spec   # the ServiceAccount admission leaves mirror pods alone
        assert pod["status"] == {"phase": "Pending", "qosClass": "Burstable"}
    requests = {c: pods[f"{c}-control-plane"]["spec"]["containers"][0]["resources"]["requests"] for c in STATIC}
    assert requests == {"etcd": {"cpu": "100m", "memory": "100Mi"}, "kube-apiserver": {"cpu": "250m"},
                        "kube-controller-manager": {"cpu": "200m"}, "kube-scheduler": {"cpu": "100m"}}
    apiserver = pods["kube-apiserver-control-plane"]
    assert apiserver["metadata"]["annotations"]["kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint"] \
        == "172.18.0.2:6443"
    command = apiserver["spec"]["containers"][0]["command"]
    assert command[0] == "kube-apiserver" and "--advertise-address=172.18.0.2" in command
    assert "--service-cluster-ip-range=10.96.0.0/12" in command and "--etcd-servers=https://127.0.0.1:2379" in command
    assert apiserver["spec"]["containers"][0]["image"] == "registry.k8s.io/kube-apiserver:v1.37.0"
    assert pods["etcd-control-plane"]["spec"]["containers"][0]["image"] == \
        f"registry.k8s.io/etcd:{system_images.ETCD_TAG}"


def test_nodes_report_the_images_kinds_node_image_ships():
    objects = cluster_objects(workers=1, now=T0, seed=7)
    node = next(o for o in objects if o["kind"] == "Node")
    names = [entry["names"][0] for entry in node["status"]["images"]]
    assert system_images.KINDNETD_IMAGE in names and "registry.k8s.io/kube-proxy:v1.37.0" in names
    sizes = [entry["sizeBytes"] for entry in node["status"]["images"]]
    assert sizes == sorted(sizes, reverse=True) and all(sizes)


def test_every_object_passes_the_api_servers_validation():
    """What a learner edits (`kubectl edit deploy coredns -n kube-system`) is validated as any update."""
    for obj in cluster_objects(workers=2, now=T0, seed=7, ca_pem="-----BEGIN CERTIFICATE-----\n"):
        validate_object(copy.deepcopy(obj), storage_type(obj["kind"]), old=copy.deepcopy(obj))


def test_bootstrap_is_deterministic_and_quick():
    first = cluster_objects(workers=2, now=T0, seed=7)
    assert first == cluster_objects(workers=2, now=T0, seed=7)
    assert first != cluster_objects(workers=2, now=T0, seed=8)
    uids = [o["metadata"]["uid"] for o in first]
    assert len(set(uids)) == len(uids)
    with collector_held():
        started = time.perf_counter()
        for seed in range(10):
            cluster_objects(workers=3, now=T0, seed=seed)
        per_cluster = (time.perf_counter() - started) / 10
    assert per_cluster < 0.05   # ~3 ms measured


# ------------------------------------------------------------------ what the controllers make of it

def test_kubectl_get_pods_all_namespaces(settled):
    rows = get_pods_all(settled)
    shown = [(ns, generic(name), ready, status, restarts) for ns, name, ready, status, restarts, _age in rows]
    assert shown == [
        ("ingress-nginx", "ingress-nginx-admission-create-xxxxx", "0/1", "Completed", "0"),
        ("ingress-nginx", "ingress-nginx-admission-patch-xxxxx", "0/1", "Completed", "0"),
        ("ingress-nginx", "ingress-nginx-controller-HASH-xxxxx", "1/1", "Running", "0"),
        ("kube-system", "coredns-HASH-xxxxx", "1/1", "Running", "0"),
        ("kube-system", "coredns-HASH-xxxxx", "1/1", "Running", "0"),
        ("kube-system", "etcd-control-plane", "1/1", "Running", "0"),
        ("kube-system", "kindnet-xxxxx", "1/1", "Running", "0"),
        ("kube-system", "kindnet-xxxxx", "1/1", "Running", "0"),
        ("kube-system", "kindnet-xxxxx", "1/1", "Running", "0"),
        ("kube-system", "kube-apiserver-control-plane", "1/1", "Running", "0"),
        ("kube-system", "kube-controller-manager-control-plane", "1/1", "Running", "0"),
        ("kube-system", "kube-proxy-xxxxx", "1/1", "Running", "0"),
        ("kube-system", "kube-proxy-xxxxx", "1/1", "Running", "0"),
        ("kube-system", "kube-proxy-xxxxx", "1/1", "Running", "0"),
        ("kube-system", "kube-scheduler-control-plane", "1/1", "Running", "0"),
        ("kube-system", "metrics-server-HASH-xxxxx", "1/1", "Running", "0"),
        ("local-path-storage", "local-path-provisioner-HASH-xxxxx", "1/1", "Running", "0"),
    ]
    assert not settled.list("Pod", "default")


def test_coredns_is_a_deployment_behind_kube_dns(settled):
    pods = settled.list("Pod", "kube-system")
    coredns = [p for p in pods if p["metadata"]["name"].startswith("coredns-")]
    rs = [r for r in settled.list("ReplicaSet", "kube-system") if r["metadata"]["name"].startswith("coredns-")]
    assert len(rs) == 1 and rs[0]["metadata"]["name"] == f"coredns-{rs[0]['metadata']['labels']['pod-template-hash']}"
    assert all(p["metadata"]["ownerReferences"][0]["name"] == rs[0]["metadata"]["name"] for p in coredns)
    assert all(p["spec"]["priority"] == 2000000000 for p in coredns)
    slices = [s for s in settled.list("EndpointSlice", "kube-system")
              if s["metadata"]["labels"]["kubernetes.io/service-name"] == "kube-dns"]
    addresses = sorted(a for s in slices for e in s["endpoints"] for a in e["addresses"] if e["conditions"]["ready"])
    assert addresses == sorted(p["status"]["podIP"] for p in coredns)
    assert {p["spec"]["nodeName"] for p in coredns} == {"worker-1", "worker-2"}   # preferred anti-affinity
    deployment = settled.get("Deployment", "kube-system", "coredns")
    assert deployment["status"]["readyReplicas"] == 2


def test_daemons_run_on_every_node_control_plane_included(settled):
    for name in ("kube-proxy", "kindnet"):
        pods = [p for p in settled.list("Pod", "kube-system") if p["metadata"]["name"].startswith(f"{name}-")]
        assert sorted(p["spec"]["nodeName"] for p in pods) == ["control-plane", "worker-1", "worker-2"]
        # hostNetwork: the pod's IP is its node's
        assert all(p["status"]["podIP"] == p["status"]["hostIP"] for p in pods)
        ds = settled.get("DaemonSet", "kube-system", name)
        assert ds["status"]["numberReady"] == ds["status"]["desiredNumberScheduled"] == 3


def test_static_pods_run_with_the_nodes_address(settled):
    for component in STATIC:
        pod = settled.get("Pod", "kube-system", f"{component}-control-plane")
        assert pod["status"]["phase"] == "Running" and pod["status"]["podIP"] == "172.18.0.2"


def test_the_control_plane_node_shows_kubeadms_requests(settled):
    """`kubectl describe node control-plane`, Allocated resources: what its pods request."""
    pods = [p for p in settled.list("Pod") if p["spec"].get("nodeName") == "control-plane"
            and p["status"].get("phase") not in ("Succeeded", "Failed")]
    cpu = sum(resources.cpu_millis(c.get("resources", {}).get("requests", {}).get("cpu", "0"))
              for p in pods for c in p["spec"]["containers"])
    memory = sum(resources.memory_bytes(c.get("resources", {}).get("requests", {}).get("memory", "0"))
                 for p in pods for c in p["spec"]["containers"])
    names = sorted(generic(p["metadata"]["name"]) for p in pods)
    assert names == ["etcd-control-plane", "kindnet-xxxxx", "kube-apiserver-control-plane",
                     "kube-controller-manager-control-plane", "kube-proxy-xxxxx", "kube-scheduler-control-plane"]
    assert cpu == 750 and memory == 150 * 1024 * 1024   # 18% of 4 CPUs, 150Mi


def test_the_ingress_controller_gets_the_first_load_balancer_address(settled):
    svc = settled.get("Service", "ingress-nginx", "ingress-nginx-controller")
    assert svc["spec"]["type"] == "LoadBalancer"
    assert svc["status"]["loadBalancer"] == {"ingress": [{"ip": "172.18.255.200", "ipMode": "VIP"}]}
    assert all(30000 <= p["nodePort"] <= 32767 for p in svc["spec"]["ports"])


def test_system_logs_begin_as_the_real_components(settled):
    def first_lines(namespace: str, prefix: str, count: int = 4) -> list[str]:
        pod = next(p for p in settled.list("Pod", namespace) if p["metadata"]["name"].startswith(prefix))
        return [line.text for line in container_logs(settled, pod, None).lines][:count]

    coredns = first_lines("kube-system", "coredns-")
    assert coredns[0] == ".:53"
    assert re.fullmatch(r"\[INFO\] plugin/reload: Running configuration SHA512 = [0-9a-f]{128}", coredns[1])
    assert coredns[2:] == ["CoreDNS-1.13.1", "linux/amd64, go1.25.2, 1db4568"]
    etcd = first_lines("kube-system", "etcd-")
    assert etcd[0].startswith('{"level":"info","ts":"2027-01-15T08:00:0') and \
        '"msg":"Running: ","args":["etcd","--advertise-client-urls=https://172.18.0.2:2379"' in etcd[0]
    apiserver = first_lines("kube-system", "kube-apiserver-")
    assert re.fullmatch(r"I0115 08:00:0\d\.\d{6}       1 options\.go:263\] external host was not specified, "
                        r"using 172\.18\.0\.2", apiserver[0])
    assert apiserver[1].endswith("server.go:150] Version: v1.37.0")
    proxy = first_lines("kube-system", "kube-proxy-", 1)
    assert proxy[0].endswith('server_linux.go:53] "Using iptables proxy"')
    scheduler = first_lines("kube-system", "kube-scheduler-", 2)
    assert scheduler[1].startswith("W0115 ") and "extension-apiserver-authentication" in scheduler[1]
    controller = first_lines("ingress-nginx", "ingress-nginx-controller-", 3)
    assert controller == ["-------------------------------------------------------------------------------",
                          "NGINX Ingress controller", "  Release:       v1.12.1"]
    create = first_lines("ingress-nginx", "ingress-nginx-admission-create-", 2)
    assert create[1].startswith('{"level":"info","msg":"creating new secret","source":"cmd/create.go:28","time":')


def test_a_settled_fresh_cluster_is_idle(settled):
    state = new_state()
    run(state, T0 + 700)    # the Deployments' progress deadline check included
    result = step(state, state.now)
    assert result.changes == [] and result.next_wake == events_expiry(state)
    # The controllers the loop skipped after the last writes note their settled inputs at the first step that
    # runs them all (a memo for a state loaded afresh); from then on a step has nothing to do at all.
    state.commit()
    result = step(state, state.now + 60)
    assert result.changes == [] and result.sim_changes == {} and result.next_wake == events_expiry(state)
    state.commit()
    assert step(state, state.now + 60).passes == 0
    # An hour after they were written, the Events are gone (kube-apiserver's --event-ttl), and with them
    # the last wake-up.
    run(state, T0 + 3600 + 700)
    assert state.list("Event") == [] and step(state, state.now).next_wake is None


def test_system_images_answer_their_probes_and_name_their_ports():
    coredns = images.lookup(f"registry.k8s.io/coredns/coredns:{system_images.COREDNS_TAG}")
    args = ["-conf", "/etc/coredns/Corefile"]
    assert images.http_response(coredns, args, 8080, "/health", 1) == (200, "OK")
    assert images.http_response(coredns, args, 8181, "/ready", 1) == (200, "OK")
    assert images.serving_ports(coredns, args) == ((53, "UDP"), (53, "TCP"), (9153, "TCP"), (8080, "TCP"),
                                                   (8181, "TCP"))
    proxy = images.lookup("registry.k8s.io/kube-proxy:v1.37.0")
    status, body = images.http_response(proxy, [], 10256, "/healthz", 5, now=T0)
    assert status == 200 and '"nodeEligible":true' in body
    etcd = images.lookup(f"registry.k8s.io/etcd:{system_images.ETCD_TAG}")
    flags = ["--listen-client-urls=https://127.0.0.1:2379,https://172.18.0.2:2379",
             "--listen-peer-urls=https://172.18.0.2:2380", "--listen-metrics-urls=http://127.0.0.1:2381"]
    assert images.serving_ports(etcd, flags) == ((2379, "TCP"), (2380, "TCP"), (2381, "TCP"))
    assert images.http_response(etcd, flags, 2381, "/readyz", 5) == (200, "ok")
    apiserver = images.lookup("registry.k8s.io/kube-apiserver:v1.37.0")
    assert images.http_response(apiserver, [], 6443, "/livez", 5) == (200, "ok")
    status, body = images.http_response(apiserver, [], 6443, "/api", 5)
    assert status == 403 and 'cannot get path \\"/api\\"' in body
    controller = images.lookup(system_images.INGRESS_NGINX_CONTROLLER_IMAGE)
    assert images.http_response(controller, None, 10254, "/healthz", 5) == (200, "ok")
    assert images.http_response(controller, None, 80, "/", 5)[0] == 404
    certgen = images.lookup(system_images.INGRESS_NGINX_CERTGEN_IMAGE)
    assert images.run_mode(certgen, None, ["create", "--secret-name=x"]) == "exit"
    for name in ("kube-apiserver", "kube-controller-manager", "kube-scheduler"):
        assert images.run_mode(images.lookup(f"registry.k8s.io/{name}:v1.37.0"), [name, "--v=2"], None) == "server"


def test_with_their_probes_the_system_pods_pass_them(monkeypatch):
    """bootstrap leaves the probes out (SYSTEM_POD_PROBES, why there); with them the manifests are kubeadm's,
    CoreDNS's and ingress-nginx's, and the images answer them: every pod Ready, no restart."""
    monkeypatch.setattr(bootstrap, "SYSTEM_POD_PROBES", True)
    objects = cluster_objects(workers=1, now=T0, seed=7)
    apiserver = next(o for o in objects if o["metadata"]["name"] == "kube-apiserver-control-plane")["spec"]
    probes = {k: (v["httpGet"]["path"], v["httpGet"]["port"], v["periodSeconds"])
              for k, v in apiserver["containers"][0].items() if k.endswith("Probe")}
    assert probes == {"livenessProbe": ("/livez", 6443, 10), "readinessProbe": ("/readyz", 6443, 1),
                      "startupProbe": ("/livez", 6443, 10)}
    state = new_state(workers=1)
    run(state, T0 + 75)   # past CoreDNS's liveness delay (60 s) and the control plane's startup probes
    pods = system_pods(state)
    assert len(pods) == 15
    assert all(p["status"]["phase"] == "Succeeded" or
               next(c for c in p["status"]["conditions"] if c["type"] == "Ready")["status"] == "True" for p in pods)
    assert all(c["restartCount"] == 0 for p in pods for c in p["status"]["containerStatuses"])
    # No liveness or startup failure, no kill. (The readiness probes may fail while a program is still starting.)
    failures = [e["message"] for e in state.list("Event", "kube-system") if e["reason"] in ("Unhealthy", "Killing")]
    assert all(message.startswith("Readiness probe failed") for message in failures), failures
    coredns = next(p for p in pods if p["metadata"]["name"].startswith("coredns-"))
    assert coredns["spec"]["containers"][0]["livenessProbe"]["httpGet"]["port"] == "liveness-probe"
