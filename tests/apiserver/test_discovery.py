"""Discovery documents, checked for shape and against the real kubectl.

The `kube` fixture runs a throwaway plain-HTTP server on loopback that serves
only discovery and OpenAPI under a per-cluster prefix (as the playground does),
and runs the pinned kubectl binary against it. test_openapi.py reuses it.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from clusters.apiserver import discovery, openapi, registry

KUBECTL = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "kubectl"
PREFIX = "/clusters/abc"


class _Handler(BaseHTTPRequestHandler):
    requests: list[tuple[str, str]]  # (path, Accept), shared by the server

    def log_message(self, fmt: str, *args: Any) -> None:  # keep pytest output clean
        pass

    def _send(self, code: int, body: Any, content_type: str = "application/json") -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _not_found(self) -> None:
        self._send(404, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                         "message": "the server could not find the requested resource", "reason": "NotFound",
                         "details": {}, "code": 404})

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        accept = self.headers.get("Accept", "")
        self.server.requests.append((path, accept))  # type: ignore[attr-defined]
        if not path.startswith(PREFIX + "/"):
            return self._not_found()
        path = path[len(PREFIX):].rstrip("/")
        if path == "/version":
            return self._send(200, discovery.version_info())
        if path in ("/api", "/apis"):
            if discovery.wants_aggregated(accept):
                return self._send(200, discovery.aggregated_discovery(path[1:]), discovery.AGGREGATED_CONTENT_TYPE)
            return self._send(200, discovery.legacy_core_versions() if path == "/api"
                              else discovery.legacy_group_list())
        parts = path.strip("/").split("/")
        if parts[:2] == ["openapi", "v3"]:
            if len(parts) == 2:
                return self._send(200, openapi.openapi_v3_index(PREFIX))
            gv = openapi.parse_index_key("/".join(parts[2:]))
            doc = openapi.openapi_v3_document(*gv) if gv else None
            return self._send(200, doc) if doc is not None else self._not_found()
        found: dict[str, Any] | None = None
        if parts[0] == "api" and len(parts) == 2:
            found = discovery.legacy_resource_list("", parts[1])
        elif parts[0] == "apis" and len(parts) == 2:
            found = discovery.legacy_group(parts[1])
        elif parts[0] == "apis" and len(parts) == 3:
            found = discovery.legacy_resource_list(parts[1], parts[2])
        return self._send(200, found) if found is not None else self._not_found()


@pytest.fixture(scope="session")
def kube(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., subprocess.CompletedProcess[str]]]:
    """`kube("api-resources")` runs the real kubectl against the throwaway server."""
    if not KUBECTL.exists():
        pytest.skip("kubectl binary not installed in .venv")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.requests = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    home = tmp_path_factory.mktemp("kubectl")
    config = home / "kubeconfig"
    config.write_text(
        "apiVersion: v1\nkind: Config\n"
        f"clusters:\n- name: c\n  cluster:\n    server: http://127.0.0.1:{server.server_port}{PREFIX}\n"
        "contexts:\n- name: c\n  context: {cluster: c, user: u, namespace: default}\n"
        "current-context: c\nusers:\n- name: u\n  user: {}\n")

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        # A fresh cache dir per call: kubectl must read our documents, not its disk cache.
        cache = home / f"cache-{len(server.requests)}-{threading.get_ident()}"  # type: ignore[attr-defined]
        result = subprocess.run(
            [str(KUBECTL), f"--kubeconfig={config}", f"--cache-dir={cache}", *args],
            capture_output=True, text=True, timeout=60, env={"HOME": str(home), "PATH": "/usr/bin:/bin"})
        shutil.rmtree(cache, ignore_errors=True)
        if check:
            assert result.returncode == 0, result.stderr
        return result

    run.requests = server.requests  # type: ignore[attr-defined]
    yield run
    server.shutdown()
    server.server_close()


# ------------------------------------------------------------------ pure documents


def test_version_info_shape() -> None:
    info = discovery.version_info()
    assert info["gitVersion"] == registry.KUBERNETES_VERSION
    assert (info["major"], info["minor"]) == ("1", "37")
    assert info["emulationMinor"] == "37" and info["minCompatibilityMinor"] == "36"
    assert info["gitTreeState"] == "clean" and info["compiler"] == "gc" and info["platform"] == "linux/amd64"
    assert {"gitCommit", "buildDate", "goVersion"} <= info.keys()


def test_legacy_core_versions() -> None:
    doc = discovery.legacy_core_versions()
    assert doc["kind"] == "APIVersions" and doc["versions"] == ["v1"]
    assert doc["serverAddressByClientCIDRs"][0]["clientCIDR"] == "0.0.0.0/0"


def test_group_list_has_preferred_version_first() -> None:
    doc = discovery.legacy_group_list()
    assert doc["kind"] == "APIGroupList" and doc["apiVersion"] == "v1"
    groups = {g["name"]: g for g in doc["groups"]}
    assert "" not in groups  # the core group lives under /api
    autoscaling = groups["autoscaling"]
    assert [v["version"] for v in autoscaling["versions"]] == ["v2", "v1"]
    assert autoscaling["preferredVersion"] == {"groupVersion": "autoscaling/v2", "version": "v2"}
    assert groups["metrics.k8s.io"]["versions"] == [{"groupVersion": "metrics.k8s.io/v1beta1",
                                                     "version": "v1beta1"}]


def test_removed_versions_are_not_served() -> None:
    served = {f"{g}/{v}" if g else v for g, v in registry.group_versions()}
    for (api_version, _kind) in registry.REMOVED_VERSIONS:
        assert api_version not in served
        group, version = api_version.split("/")
        assert discovery.legacy_resource_list(group, version) is None
    assert discovery.legacy_group("extensions") is None
    all_versions = [v["groupVersion"] for g in discovery.legacy_group_list()["groups"] for v in g["versions"]]
    assert not set(all_versions) & {av for av, _ in registry.REMOVED_VERSIONS}


def test_legacy_resource_list_core() -> None:
    doc = discovery.legacy_resource_list("", "v1")
    assert doc is not None
    assert doc["kind"] == "APIResourceList" and doc["groupVersion"] == "v1" and "apiVersion" not in doc
    entries = {r["name"]: r for r in doc["resources"]}
    pods = entries["pods"]
    assert pods["singularName"] == "pod" and pods["namespaced"] is True and pods["kind"] == "Pod"
    assert pods["shortNames"] == ["po"] and pods["categories"] == ["all"]
    assert set(pods["verbs"]) == set(registry.STANDARD_VERBS)
    assert pods["storageVersionHash"] == discovery.storage_version_hash(registry.by_path("", "v1", "pods"))
    assert entries["pods/status"] == {"name": "pods/status", "singularName": "", "namespaced": True,
                                      "kind": "Pod", "verbs": ["get", "patch", "update"]}
    assert entries["pods/log"]["verbs"] == ["get"]
    assert entries["pods/eviction"]["group"] == "policy" and entries["pods/eviction"]["version"] == "v1"
    assert entries["namespaces"]["namespaced"] is False
    assert list(entries) == sorted(entries)  # the real server sorts by name


def test_legacy_resource_list_apps_scale() -> None:
    doc = discovery.legacy_resource_list("apps", "v1")
    assert doc is not None and doc["apiVersion"] == "v1" and doc["groupVersion"] == "apps/v1"
    entries = {r["name"]: r for r in doc["resources"]}
    scale = entries["deployments/scale"]
    assert (scale["group"], scale["version"], scale["kind"]) == ("autoscaling", "v1", "Scale")
    assert "group" not in entries["deployments/status"]
    assert entries["deployments"]["shortNames"] == ["deploy"]


def test_metrics_group_is_read_only() -> None:
    doc = discovery.legacy_resource_list("metrics.k8s.io", "v1beta1")
    assert doc is not None
    entries = {r["name"]: r for r in doc["resources"]}
    assert entries["pods"]["verbs"] == ["get", "list"] and entries["pods"]["kind"] == "PodMetrics"
    assert entries["nodes"]["namespaced"] is False and entries["nodes"]["kind"] == "NodeMetrics"


def test_aggregated_core() -> None:
    doc = discovery.aggregated_discovery("api")
    assert doc["apiVersion"] == "apidiscovery.k8s.io/v2" and doc["kind"] == "APIGroupDiscoveryList"
    assert [item["metadata"]["name"] for item in doc["items"]] == [""]
    version = doc["items"][0]["versions"][0]
    assert version["version"] == "v1" and version["freshness"] == "Current"
    pods = next(r for r in version["resources"] if r["resource"] == "pods")
    assert pods["responseKind"] == {"group": "", "version": "", "kind": "Pod"}
    assert pods["scope"] == "Namespaced" and pods["singularResource"] == "pod"
    assert pods["shortNames"] == ["po"] and pods["categories"] == ["all"]
    subs = {s["subresource"]: s for s in pods["subresources"]}
    assert subs["status"]["verbs"] == ["get", "patch", "update"] and "log" in subs
    nodes = next(r for r in version["resources"] if r["resource"] == "nodes")
    assert nodes["scope"] == "Cluster"


def test_aggregated_named_groups() -> None:
    doc = discovery.aggregated_discovery("apis")
    items = {item["metadata"]["name"]: item for item in doc["items"]}
    assert "" not in items and "metrics.k8s.io" in items
    assert [v["version"] for v in items["autoscaling"]["versions"]] == ["v2", "v1"]
    deployments = next(r for r in items["apps"]["versions"][0]["resources"] if r["resource"] == "deployments")
    scale = next(s for s in deployments["subresources"] if s["subresource"] == "scale")
    assert scale["responseKind"] == {"group": "autoscaling", "version": "v1", "kind": "Scale"}
    metrics = items["metrics.k8s.io"]["versions"][0]["resources"]
    assert {r["resource"]: r["verbs"] for r in metrics} == {"nodes": ["get", "list"], "pods": ["get", "list"]}
    for (api_version, _kind) in registry.REMOVED_VERSIONS:
        group, version = api_version.split("/")
        assert version not in [v["version"] for v in items.get(group, {"versions": []})["versions"]] \
            or (group, version) in registry.group_versions()


def test_wants_aggregated() -> None:
    kubectl_accept = ("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
                      "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json")
    assert discovery.wants_aggregated(kubectl_accept)
    assert not discovery.wants_aggregated("application/json")
    assert not discovery.wants_aggregated(None)
    assert discovery.AGGREGATED_CONTENT_TYPE == \
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"


# ------------------------------------------------------------------ the real kubectl


def test_kubectl_version_has_no_skew_warning(kube: Callable[..., subprocess.CompletedProcess[str]]) -> None:
    result = kube("version")
    assert "Server Version: v1.37.0" in result.stdout
    assert "WARNING" not in result.stdout + result.stderr


def test_kubectl_api_versions(kube: Callable[..., subprocess.CompletedProcess[str]]) -> None:
    lines = kube("api-versions").stdout.split()
    assert lines == sorted(f"{g}/{v}" if g else v for g, v in registry.group_versions())
    assert "metrics.k8s.io/v1beta1" in lines and "extensions/v1beta1" not in lines


def test_kubectl_api_resources_uses_aggregated_discovery(
        kube: Callable[..., subprocess.CompletedProcess[str]]) -> None:
    before = len(kube.requests)  # type: ignore[attr-defined]
    out = kube("api-resources").stdout
    header = out.splitlines()[0].split()
    assert header == ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    rows = {tuple(line.split()) for line in out.splitlines()[1:]}
    assert ("deployments", "deploy", "apps/v1", "true", "Deployment") in rows
    assert ("pods", "po", "v1", "true", "Pod") in rows
    assert ("nodes", "no", "v1", "false", "Node") in rows
    assert ("secrets", "v1", "true", "Secret") in rows
    assert ("pods", "metrics.k8s.io/v1beta1", "true", "PodMetrics") in rows
    assert ("horizontalpodautoscalers", "hpa", "autoscaling/v2", "true", "HorizontalPodAutoscaler") in rows
    seen = kube.requests[before:]  # type: ignore[attr-defined]
    # kubectl got its answer from /api and /apis (aggregated) and needed no per-group-version lists.
    assert {p for p, _ in seen} == {f"{PREFIX}/api", f"{PREFIX}/apis"}
    assert all("as=APIGroupDiscoveryList" in accept for _, accept in seen)


def test_kubectl_api_resources_short_names_and_categories(
        kube: Callable[..., subprocess.CompletedProcess[str]]) -> None:
    out = kube("api-resources", "--categories=all", "-o", "name").stdout.split()
    assert {"pods", "services", "deployments.apps", "replicasets.apps", "jobs.batch", "cronjobs.batch"} <= set(out)
    assert "configmaps" not in out
    out = kube("api-resources", "--namespaced=false", "-o", "name").stdout.split()
    assert "nodes" in out and "namespaces" in out and "pods" not in out
