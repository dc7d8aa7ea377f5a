"""The apiserver pipeline over an in-memory store: write semantics the e2e tests only see from outside."""
from __future__ import annotations

import copy
import random

import pytest

from clusters.apiserver.bootstrap import cluster_objects
from clusters.apiserver.errors import ApiError
from clusters.apiserver.pipeline import ApiServer
from clusters.apiserver.registry import by_path
from clusters.apiserver.store import MemoryStore
from tests.fixtures import corpus_documents

NOW = 1_800_000_000.0
PODS = by_path("", "v1", "pods")
SECRETS = by_path("", "v1", "secrets")
CONFIGMAPS = by_path("", "v1", "configmaps")
NAMESPACES = by_path("", "v1", "namespaces")
DEPLOYMENTS = by_path("apps", "v1", "deployments")


@pytest.fixture
def api() -> ApiServer:
    return ApiServer(MemoryStore(cluster_objects(workers=2, now=NOW, seed=3)), now=NOW, seed=3,
                     graceful_pod_deletion=True)


def test_secret_string_data_is_stored_base64_in_data(api):
    created = api.create(SECRETS, "default", {"metadata": {"name": "s"}, "stringData": {"password": "hunter2"}})
    assert created.body["data"] == {"password": "aHVudGVyMg=="} and "stringData" not in created.body
    assert created.body["type"] == "Opaque"


def test_background_delete_removes_the_object_at_once(api):
    api.create(CONFIGMAPS, "default", {"metadata": {"name": "gone"}})
    result = api.delete(CONFIGMAPS, "default", "gone", {"propagationPolicy": "Background"})
    assert result.body["kind"] == "Status" and result.body["status"] == "Success"
    with pytest.raises(ApiError) as missing:
        api.get(CONFIGMAPS, "default", "gone")
    assert missing.value.code == 404


@pytest.mark.parametrize("policy, finalizer", [("Foreground", "foregroundDeletion"), ("Orphan", "orphan")])
def test_foreground_and_orphan_hold_the_object_with_a_finalizer(api, policy, finalizer):
    api.create(DEPLOYMENTS, "default", {"metadata": {"name": "web"}, "spec": {
        "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}},
                     "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}})
    marked = api.delete(DEPLOYMENTS, "default", "web", {"propagationPolicy": policy}).body
    assert marked["metadata"]["finalizers"] == [finalizer]
    assert marked["metadata"]["deletionTimestamp"]


def test_bound_pod_deletion_is_graceful_and_force_cuts_it_short(api):
    api.create(PODS, "default", {"metadata": {"name": "p"}, "spec": {
        "nodeName": "worker-1", "containers": [{"name": "c", "image": "nginx"}]}})
    marked = api.delete(PODS, "default", "p", {}).body
    assert marked["metadata"]["deletionGracePeriodSeconds"] == 30
    assert api.get(PODS, "default", "p")["metadata"]["deletionTimestamp"] == "2027-01-15T08:00:30Z"
    api.delete(PODS, "default", "p", {"gracePeriodSeconds": 0})
    with pytest.raises(ApiError):
        api.get(PODS, "default", "p")


def test_unscheduled_pod_is_deleted_at_once(api):
    api.create(PODS, "default", {"metadata": {"name": "q"}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}})
    assert api.delete(PODS, "default", "q", {}).body["status"] == "Success"


def test_namespace_deletion_is_terminating_and_blocks_new_content(api):
    api.create(NAMESPACES, "", {"metadata": {"name": "dev"}})
    terminating = api.delete(NAMESPACES, "", "dev", {}).body
    assert terminating["status"]["phase"] == "Terminating"
    with pytest.raises(ApiError) as refused:
        api.create(CONFIGMAPS, "dev", {"metadata": {"name": "late"}})
    assert refused.value.code == 403 and "is being terminated" in refused.value.message


def test_system_namespaces_cannot_be_deleted(api):
    with pytest.raises(ApiError) as refused:
        api.delete(NAMESPACES, "", "kube-system", {})
    assert refused.value.code == 403


# ------------------------------------------------------------------ StatefulSets

STATEFULSETS = by_path("apps", "v1", "statefulsets")
SERVICES = by_path("", "v1", "services")


def test_statefulset_basics_manifest_is_created(api):
    """kubernetes.io's StatefulSet Basics (application/web/web.yaml): the template mounts `www`, which is
    a volumeClaimTemplates entry, not a volume of the pod template."""
    service, statefulset = corpus_documents("application__web__web.yaml")
    assert api.create(SERVICES, "default", service).code == 201
    created = api.create(STATEFULSETS, "default", statefulset)
    assert created.code == 201
    assert created.body["spec"]["template"]["spec"]["containers"][0]["volumeMounts"] == [
        {"name": "www", "mountPath": "/usr/share/nginx/html"}]


def test_statefulset_mount_naming_neither_a_volume_nor_a_claim_template_is_not_found(api):
    _, statefulset = corpus_documents("application__web__web.yaml")
    statefulset["spec"]["template"]["spec"]["containers"][0]["volumeMounts"][0]["name"] = "data"
    with pytest.raises(ApiError) as refused:
        api.create(STATEFULSETS, "default", statefulset)
    assert refused.value.code == 422
    assert 'spec.template.spec.containers[0].volumeMounts[0].name: Not found: "data"' in refused.value.message


# ------------------------------------------------------------- DefaultStorageClass

PVCS = by_path("", "v1", "persistentvolumeclaims")
STORAGECLASSES = by_path("storage.k8s.io", "v1", "storageclasses")


def _claim(name: str, **spec) -> dict:
    return {"metadata": {"name": name}, "spec": {"accessModes": ["ReadWriteOnce"],
                                                 "resources": {"requests": {"storage": "1Gi"}}, **spec}}


def test_a_claim_without_a_class_gets_the_default_one_and_an_empty_class_stays_empty(api):
    assert api.create(PVCS, "default", _claim("a")).body["spec"]["storageClassName"] == "standard"
    assert api.create(PVCS, "default", _claim("b", storageClassName="")).body["spec"]["storageClassName"] == ""
    assert api.create(PVCS, "default", _claim("c", storageClassName="x")).body["spec"]["storageClassName"] == "x"
    beta = _claim("d")
    beta["metadata"]["annotations"] = {"volume.beta.kubernetes.io/storage-class": "old"}
    assert "storageClassName" not in api.create(PVCS, "default", beta).body["spec"]


def test_of_several_default_classes_the_newest_wins(api):
    api.now += 60
    for name in ("zz-newer", "yy-newer"):
        api.create(STORAGECLASSES, "", {"metadata": {"name": name, "annotations": {
            "storageclass.kubernetes.io/is-default-class": "true"}}, "provisioner": "example.com/x"})
    assert api.create(PVCS, "default", _claim("a")).body["spec"]["storageClassName"] == "yy-newer"


INGRESSES = by_path("networking.k8s.io", "v1", "ingresses")
INGRESSCLASSES = by_path("networking.k8s.io", "v1", "ingressclasses")


def _ingress(name: str, annotations: dict | None = None, **spec) -> dict:
    rule = {"http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {
        "service": {"name": "web", "port": {"number": 8080}}}}]}}
    return {"metadata": {"name": name, **({"annotations": annotations} if annotations else {})},
            "spec": {"rules": [rule], **spec}}


def test_an_ingress_without_a_class_gets_the_default_ingress_class(api):
    # A fresh cluster has the ingress-nginx add-on, whose IngressClass nginx is the default (minikube's).
    assert api.create(INGRESSES, "default", _ingress("a")).body["spec"]["ingressClassName"] == "nginx"
    named = api.create(INGRESSES, "default", _ingress("b", ingressClassName="other")).body
    assert named["spec"]["ingressClassName"] == "other"
    annotated = api.create(INGRESSES, "default", _ingress("c", {"kubernetes.io/ingress.class": "nginx"})).body
    assert "ingressClassName" not in annotated["spec"]


def test_of_several_default_ingress_classes_the_newest_wins_and_without_one_none_is_set(api):
    api.now += 60
    for name in ("zz-newer", "yy-newer"):
        api.create(INGRESSCLASSES, "", {"metadata": {"name": name, "annotations": {
            "ingressclass.kubernetes.io/is-default-class": "true"}}, "spec": {"controller": "example.com/x"}})
    assert api.create(INGRESSES, "default", _ingress("a")).body["spec"]["ingressClassName"] == "yy-newer"
    bare = ApiServer(MemoryStore([o for o in cluster_objects(workers=1, now=NOW, seed=3)
                                  if o["kind"] != "IngressClass"]), now=NOW, seed=3)
    assert "ingressClassName" not in bare.create(INGRESSES, "default", _ingress("b")).body["spec"]


def test_the_engine_preparer_admits_like_the_api():
    from clusters.apiserver.pipeline import engine_preparer
    from clusters.engine.state import ClusterState

    state = ClusterState(cluster_objects(workers=1, now=NOW, seed=3), now=NOW, seed=3)
    state.use_preparer(engine_preparer(now_source=lambda: state.now, rng=random.Random(1), objects=state))
    claim = state.create({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                          **_claim("www-web-0"), "metadata": {"name": "www-web-0", "namespace": "default"}})
    assert claim["spec"]["storageClassName"] == "standard"
    assert claim["status"] == {"phase": "Pending"}


def test_memory_store_logs_a_name_recreated_with_another_uid_as_deleted_then_added():
    store = MemoryStore()
    store.write("ADDED", {"kind": "Pod", "metadata": {"name": "web-0", "namespace": "default", "uid": "a"}})
    store.write("MODIFIED", {"kind": "Pod", "metadata": {"name": "web-0", "namespace": "default", "uid": "b"}})
    store.write("MODIFIED", {"kind": "Pod", "metadata": {"name": "web-0", "namespace": "default", "uid": "b"}})
    assert [(rv, event, obj["metadata"]["uid"]) for rv, event, obj in store.changes] == [
        (2, "ADDED", "a"), (3, "DELETED", "a"), (4, "ADDED", "b"), (5, "MODIFIED", "b")]


# ------------------------------------------------------------- Pod update admission

def _tolerating_pod() -> dict:
    return {"metadata": {"name": "tol"}, "spec": {
        "containers": [{"name": "c", "image": "nginx"}],
        "tolerations": [{"key": "example", "operator": "Exists", "effect": "NoSchedule"}]}}


def test_reapplying_a_pod_with_its_own_tolerations_gets_the_default_ones_back(api):
    """kubectl apply's patch replaces the (atomic) tolerations list with the manifest's; DefaultTolerationSeconds
    admits updates too, so the defaults come back and nothing changed."""
    created = api.create(PODS, "default", _tolerating_pod()).body
    assert [t["key"] for t in created["spec"]["tolerations"]] == [
        "example", "node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"]
    patched = api.patch(PODS, "default", "tol", {"spec": {"tolerations": _tolerating_pod()["spec"]["tolerations"]}},
                        "strategic").body
    assert patched["spec"]["tolerations"] == created["spec"]["tolerations"]
    assert patched["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]


def test_a_removed_default_toleration_comes_back_and_an_added_one_is_kept(api):
    api.create(PODS, "default", _tolerating_pod())
    current = copy.deepcopy(api.get(PODS, "default", "tol"))  # the memory store hands out its own dicts
    current["spec"]["tolerations"] = [t for t in current["spec"]["tolerations"]
                                      if t["key"] != "node.kubernetes.io/unreachable"]
    current["spec"]["tolerations"].append({"key": "more", "operator": "Exists"})
    updated = api.update(PODS, "default", "tol", current).body
    assert [t["key"] for t in updated["spec"]["tolerations"]] == [
        "example", "node.kubernetes.io/not-ready", "more", "node.kubernetes.io/unreachable"]


def test_an_update_without_priority_keeps_the_one_admission_set(api):
    api.create(PODS, "default", _tolerating_pod())
    current = copy.deepcopy(api.get(PODS, "default", "tol"))
    del current["spec"]["priority"], current["spec"]["preemptionPolicy"]
    updated = api.update(PODS, "default", "tol", current).body
    assert updated["spec"]["priority"] == 0 and updated["spec"]["preemptionPolicy"] == "PreemptLowerPriority"
