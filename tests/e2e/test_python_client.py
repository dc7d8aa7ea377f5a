"""The official Python client (kubernetes 37) against a live playground: CRUD, patch, watch."""
from __future__ import annotations

import threading
import time

import pytest
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException


@pytest.fixture(scope="module")
def api(kubectl):
    return config.new_client_from_config(config_file=str(kubectl.kubeconfig))


def test_crud_on_configmaps(api):
    core = client.CoreV1Api(api)
    created = core.create_namespaced_config_map("default", client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name="py", labels={"made-by": "python"}), data={"a": "1"}))
    assert created.metadata.uid and created.metadata.resource_version
    assert core.read_namespaced_config_map("py", "default").data == {"a": "1"}
    created.data["b"] = "2"
    replaced = core.replace_namespaced_config_map("py", "default", created)
    assert replaced.data == {"a": "1", "b": "2"}
    assert int(replaced.metadata.resource_version) > int(created.metadata.resource_version)
    listed = core.list_namespaced_config_map("default", label_selector="made-by=python")
    assert [cm.metadata.name for cm in listed.items] == ["py"]
    core.delete_namespaced_config_map("py", "default")
    with pytest.raises(ApiException) as failure:
        core.read_namespaced_config_map("py", "default")
    assert failure.value.status == 404


def test_deployment_patch_and_scale(api):
    apps = client.AppsV1Api(api)
    body = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "pyweb"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "pyweb"}},
                     "template": {"metadata": {"labels": {"app": "pyweb"}},
                                  "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}}}
    apps.create_namespaced_deployment("default", body)
    # A dict body → strategic merge patch.
    patched = apps.patch_namespaced_deployment("pyweb", "default", {"spec": {"template": {"spec": {
        "containers": [{"name": "web", "image": "nginx:1.28"}]}}}})
    assert patched.spec.template.spec.containers[0].image == "nginx:1.28"
    assert patched.metadata.generation == 2
    # A list body → JSON patch.
    patched = apps.patch_namespaced_deployment("pyweb", "default", [
        {"op": "replace", "path": "/spec/replicas", "value": 3}])
    assert patched.spec.replicas == 3
    scale = apps.patch_namespaced_deployment_scale("pyweb", "default", {"spec": {"replicas": 5}})
    assert scale.spec.replicas == 5
    assert apps.read_namespaced_deployment("pyweb", "default").spec.replicas == 5


def test_watch_sees_added_modified_deleted(api):
    core = client.CoreV1Api(api)
    seen: list[tuple[str, str]] = []
    start = core.list_namespaced_config_map("default").metadata.resource_version

    def follow():
        for event in watch.Watch().stream(core.list_namespaced_config_map, "default", resource_version=start,
                                          timeout_seconds=10):
            seen.append((event["type"], event["object"].metadata.name))
            if event["type"] == "DELETED" and event["object"].metadata.name == "watched":
                return

    thread = threading.Thread(target=follow)
    thread.start()
    time.sleep(0.5)
    core.create_namespaced_config_map("default", {"metadata": {"name": "watched"}, "data": {"v": "1"}})
    core.patch_namespaced_config_map("watched", "default", {"data": {"v": "2"}})
    core.delete_namespaced_config_map("watched", "default")
    thread.join(15)
    assert seen == [("ADDED", "watched"), ("MODIFIED", "watched"), ("DELETED", "watched")]
