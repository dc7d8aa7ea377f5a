"""OpenAPI v3 index and group-version documents, and `kubectl explain` against them."""
from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from typing import Any

import pytest

from clusters.apiserver import openapi, registry
from tests.apiserver.test_discovery import PREFIX, kube  # noqa: F401 (the fixture)

Kube = Callable[..., subprocess.CompletedProcess[str]]


def _doc(group: str, version: str) -> dict[str, Any]:
    data = openapi.openapi_v3_document(group, version)
    assert data is not None
    return json.loads(data)


def _walk(node: Any):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


def test_index_lists_every_group_version_with_prefix_and_hash() -> None:
    index = openapi.openapi_v3_index("/clusters/xyz")
    keys = set(index["paths"])
    assert keys == {f"apis/{g}/{v}" if g else f"api/{v}" for g, v in registry.group_versions()}
    url = index["paths"]["apis/apps/v1"]["serverRelativeURL"]
    assert url == f"/clusters/xyz/openapi/v3/apis/apps/v1?hash={openapi.document_hash('apps', 'v1')}"
    assert index["paths"]["api/v1"]["serverRelativeURL"].startswith("/clusters/xyz/openapi/v3/api/v1?hash=")
    assert "apis/extensions/v1beta1" not in keys


def test_documents_are_cached_bytes() -> None:
    first = openapi.openapi_v3_document("apps", "v1")
    assert isinstance(first, bytes) and first is openapi.openapi_v3_document("apps", "v1")
    assert openapi.openapi_v3_document("extensions", "v1beta1") is None
    assert openapi.openapi_v3_document("batch", "v1beta1") is None
    assert len(openapi.document_hash("apps", "v1")) == 128


def test_document_header() -> None:
    doc = _doc("apps", "v1")
    assert doc["openapi"] == "3.0.0"
    assert doc["info"] == {"title": "Kubernetes", "version": registry.KUBERNETES_VERSION}


def test_paths_and_operations() -> None:
    paths = _doc("apps", "v1")["paths"]
    collection = paths["/apis/apps/v1/namespaces/{namespace}/deployments"]
    item = paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]
    gvk = {"group": "apps", "kind": "Deployment", "version": "v1"}
    assert collection["get"]["x-kubernetes-action"] == "list"
    assert collection["post"]["x-kubernetes-action"] == "post"
    for verb, action in (("get", "get"), ("put", "put"), ("patch", "patch"), ("delete", "delete")):
        assert item[verb]["x-kubernetes-action"] == action
        assert item[verb]["x-kubernetes-group-version-kind"] == gvk
    for op in (collection["post"], item["put"], item["patch"]):
        names = {p["name"] for p in op["parameters"] if p["in"] == "query"}
        assert {"fieldValidation", "dryRun", "fieldManager"} <= names
    assert "force" in {p["name"] for p in item["patch"]["parameters"]}
    assert set(item["patch"]["requestBody"]["content"]) == {
        "application/apply-patch+yaml", "application/json-patch+json",
        "application/merge-patch+json", "application/strategic-merge-patch+json"}
    scale = paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"]
    assert scale["patch"]["x-kubernetes-group-version-kind"] == {"group": "autoscaling", "kind": "Scale",
                                                                 "version": "v1"}
    assert "/apis/apps/v1/deployments" in paths  # list across namespaces


def test_cluster_scoped_and_log_paths() -> None:
    paths = _doc("", "v1")["paths"]
    assert "/api/v1/nodes/{name}" in paths and "/api/v1/namespaces/{namespace}/nodes" not in paths
    log = paths["/api/v1/namespaces/{namespace}/pods/{name}/log"]
    assert {p["name"] for p in log["parameters"]} >= {"container", "follow", "tailLines", "previous"}


def test_every_gv_has_a_patch_with_gvk_and_field_validation() -> None:
    # What kubectl looks for before it trusts the server with fieldValidation=Strict.
    for group, version in registry.group_versions():
        doc = _doc(group, version)
        ops = [path_item.get("patch") for path_item in doc["paths"].values()]
        ok = [op for op in ops if op and "x-kubernetes-group-version-kind" in op
              and any(p["name"] == "fieldValidation" for p in op.get("parameters", []))]
        if group == "metrics.k8s.io":
            assert not ok  # read-only: no patch at all, as the real metrics API
        else:
            assert ok, (group, version)


def test_schemas_are_openapi3_and_closed() -> None:
    for group, version in registry.group_versions():
        doc = _doc(group, version)
        schemas = doc["components"]["schemas"]
        for node in _walk(doc):
            if "$ref" in node:
                assert node["$ref"].startswith("#/components/schemas/")
                assert node["$ref"].removeprefix("#/components/schemas/") in schemas, node["$ref"]
            if isinstance(node.get("type"), list):
                pytest.fail(f"nullable type left in {group}/{version}: {node}")


def test_schema_details_mirror_upstream() -> None:
    schemas = _doc("apps", "v1")["components"]["schemas"]
    deployment = schemas["io.k8s.api.apps.v1.Deployment"]
    assert deployment["x-kubernetes-group-version-kind"] == [{"group": "apps", "kind": "Deployment",
                                                              "version": "v1"}]
    assert deployment["type"] == "object"
    assert "enum" not in deployment["properties"]["kind"]
    assert deployment["properties"]["spec"]["allOf"] == [
        {"$ref": "#/components/schemas/io.k8s.api.apps.v1.DeploymentSpec"}]
    assert "io.k8s.api.apps.v1.DeploymentList" in schemas and "io.k8s.api.autoscaling.v1.Scale" in schemas
    for name in ("Status", "DeleteOptions", "Patch", "WatchEvent"):
        assert f"io.k8s.apimachinery.pkg.apis.meta.v1.{name}" in schemas
    assert schemas["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]["format"] == "int-or-string"
    assert schemas["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]["oneOf"] == [{"type": "integer"},
                                                                                   {"type": "string"}]
    assert schemas["io.k8s.apimachinery.pkg.apis.meta.v1.Time"]["format"] == "date-time"
    strategy = schemas["io.k8s.api.apps.v1.DeploymentSpec"]["properties"]["strategy"]
    assert strategy["x-kubernetes-patch-strategy"] == "retainKeys"
    # only what apps/v1 reaches: no batch or networking schemas
    assert not [n for n in schemas if n.startswith(("io.k8s.api.batch.", "io.k8s.api.networking."))]


def test_metrics_document() -> None:
    doc = _doc("metrics.k8s.io", "v1beta1")
    schemas = doc["components"]["schemas"]
    pod_metrics = schemas["io.k8s.metrics.pkg.apis.metrics.v1beta1.PodMetrics"]
    assert pod_metrics["x-kubernetes-group-version-kind"][0]["kind"] == "PodMetrics"
    assert "/apis/metrics.k8s.io/v1beta1/namespaces/{namespace}/pods/{name}" in doc["paths"]


# ------------------------------------------------------------------ the real kubectl


def test_kubectl_explain_field(kube: Kube) -> None:  # noqa: F811
    before = len(kube.requests)  # type: ignore[attr-defined]
    out = kube("explain", "deployment.spec.strategy").stdout
    assert "GROUP:      apps" in out and "KIND:       Deployment" in out and "VERSION:    v1" in out
    assert "FIELD: strategy <DeploymentStrategy>" in out
    assert "rollingUpdate\t<RollingUpdateDeployment>" in out and "type\t<string>" in out
    seen = [path for path, _ in kube.requests[before:]]  # type: ignore[attr-defined]
    assert f"{PREFIX}/openapi/v3" in seen and f"{PREFIX}/openapi/v3/apis/apps/v1" in seen


def test_kubectl_explain_int_or_string_and_quantity(kube: Kube) -> None:  # noqa: F811
    out = kube("explain", "deployment.spec.strategy.rollingUpdate").stdout
    assert "maxSurge\t<IntOrString>" in out
    out = kube("explain", "pod.spec.containers.resources").stdout
    assert "limits\t<map[string]Quantity>" in out


def test_kubectl_explain_pods_recursive(kube: Kube) -> None:  # noqa: F811
    out = kube("explain", "pods", "--recursive").stdout
    lines = out.splitlines()
    assert lines[0] == "KIND:       Pod" and lines[1] == "VERSION:    v1"
    assert "  metadata\t<ObjectMeta>" in lines and "  spec\t<PodSpec>" in lines
    assert any(line.strip() == "containers\t<[]Container> -required-" for line in lines)


def test_kubectl_explain_other_versions(kube: Kube) -> None:  # noqa: F811
    out = kube("explain", "hpa", "--api-version=autoscaling/v1").stdout
    assert "VERSION:    v1" in out and "HorizontalPodAutoscaler" in out
    out = kube("explain", "cronjobs.spec.jobTemplate").stdout
    assert "GROUP:      batch" in out
    result = kube("explain", "nosuchthing", check=False)
    assert result.returncode != 0
    assert "the server doesn't have a resource type \"nosuchthing\"" in result.stderr
