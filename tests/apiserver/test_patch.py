"""Strategic merge, JSON merge and JSON patch as kube-apiserver applies them."""
from __future__ import annotations

import copy

import pytest

from clusters.apiserver.errors import ApiError
from clusters.apiserver.patch import json_merge_patch, json_patch, strategic_merge_patch

DEPLOYMENT = "io.k8s.api.apps.v1.Deployment"
POD = "io.k8s.api.core.v1.Pod"
SERVICE = "io.k8s.api.core.v1.Service"


def deployment(containers=None, **spec_extra):
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web", "tier": "front"},
                     "resourceVersion": "7"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": containers if containers is not None else [
                    {"name": "nginx", "image": "nginx:1.25",
                     "ports": [{"containerPort": 80, "protocol": "TCP"}],
                     "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]},
                    {"name": "sidecar", "image": "busybox", "args": ["sleep", "3600"]},
                ]},
            },
            **spec_extra,
        },
    }


def containers_of(obj):
    return obj["spec"]["template"]["spec"]["containers"]


def smp(original, patch, schema=DEPLOYMENT):
    before = copy.deepcopy(original)
    patch_before = copy.deepcopy(patch)
    result = strategic_merge_patch(original, patch, schema)
    assert original == before, "the original must not be mutated"
    assert patch == patch_before, "the patch must not be mutated"
    return result


# --------------------------------------------------------------------------
# strategic merge patch
# --------------------------------------------------------------------------

def test_kubectl_apply_patch_removes_sidecar_and_sets_order():
    # The client-side apply patch from kubectl-wire.md.
    patch = {"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "nginx"}],
        "containers": [{"image": "nginx:1.27", "name": "nginx"}, {"$patch": "delete", "name": "sidecar"}],
    }}}}
    result = smp(deployment(), patch)
    names = [c["name"] for c in containers_of(result)]
    assert names == ["nginx"]
    nginx = containers_of(result)[0]
    assert nginx["image"] == "nginx:1.27"
    # Fields the patch does not mention survive the merge.
    assert nginx["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert nginx["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
    assert "$setElementOrder/containers" not in result["spec"]["template"]["spec"]


def test_set_element_order_reorders_and_adds():
    patch = {"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "init"}, {"name": "sidecar"}, {"name": "nginx"}],
        "containers": [{"name": "init", "image": "alpine"}],
    }}}}
    result = smp(deployment(), patch)
    assert [c["name"] for c in containers_of(result)] == ["init", "sidecar", "nginx"]
    assert containers_of(result)[0] == {"name": "init", "image": "alpine"}


def test_set_element_order_mismatch_is_an_error():
    patch = {"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "nginx"}],
        "containers": [{"name": "other", "image": "x"}],
    }}}}
    with pytest.raises(ApiError) as info:
        smp(deployment(), patch)
    assert "doesn't match $setElementOrder list" in info.value.message


def test_change_image_keeps_other_containers():
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "sidecar", "image": "busybox:1.36"}]}}}}
    result = smp(deployment(), patch)
    assert [(c["name"], c["image"]) for c in containers_of(result)] == [
        ("nginx", "nginx:1.25"), ("sidecar", "busybox:1.36")]
    assert containers_of(result)[1]["args"] == ["sleep", "3600"]


def test_new_container_without_order_goes_first():
    # Upstream's mergeSortedSlice only puts a live item first when both items
    # have a live position; a brand-new patch item therefore leads the list.
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "logger", "image": "fluentbit"}]}}}}
    result = smp(deployment(), patch)
    assert [c["name"] for c in containers_of(result)] == ["logger", "nginx", "sidecar"]


def test_set_element_order_with_server_only_items():
    # "set elements order in a list with server-only items 3" from upstream's patch_test.go
    original = deployment(containers=[{"name": n} for n in ("1", "2", "7", "9", "8", "3", "4")])
    patch = {"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": n} for n in ("2", "1", "4", "3")]}}}}
    result = smp(original, patch)
    assert [c["name"] for c in containers_of(result)] == ["2", "1", "7", "9", "8", "4", "3"]


def test_env_add_change_and_remove():
    patch = {"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "nginx"}, {"name": "sidecar"}],
        "containers": [{
            "name": "nginx",
            "$setElementOrder/env": [{"name": "A"}, {"name": "C"}],
            "env": [{"name": "A", "value": "10"}, {"name": "C", "value": "3"}, {"$patch": "delete", "name": "B"}],
        }],
    }}}}
    result = smp(deployment(), patch)
    assert containers_of(result)[0]["env"] == [{"name": "A", "value": "10"}, {"name": "C", "value": "3"}]


def test_env_value_from_replaces_value_with_null():
    # kubectl sends null for a field that disappeared from the manifest.
    patch = {"spec": {"template": {"spec": {"containers": [{
        "name": "nginx",
        "env": [{"name": "A", "value": None, "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
    }]}}}}
    result = smp(deployment(), patch)
    assert containers_of(result)[0]["env"][0] == {
        "name": "A", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}


def test_ports_merge_by_container_port():
    patch = {"spec": {"template": {"spec": {"containers": [{
        "name": "nginx",
        "ports": [{"containerPort": 80, "name": "http"}, {"containerPort": 443, "name": "https"}],
    }]}}}}
    result = smp(deployment(), patch)
    assert containers_of(result)[0]["ports"] == [
        {"containerPort": 80, "protocol": "TCP", "name": "http"},
        {"containerPort": 443, "name": "https"},
    ]


def test_missing_merge_key_matches_upstream_error():
    patch = {"spec": {"template": {"spec": {"containers": [{"image": "httpd"}]}}}}
    with pytest.raises(ApiError) as info:
        smp(deployment(), patch)
    # kubectl: Error from server: map: map[image:httpd] does not contain declared merge key: name
    assert info.value.code == 500
    assert info.value.reason == ""
    assert info.value.message == "map: map[image:httpd] does not contain declared merge key: name"


def test_volumes_retain_keys_clear_old_source():
    original = deployment()
    original["spec"]["template"]["spec"]["volumes"] = [
        {"name": "data", "emptyDir": {}},
        {"name": "cfg", "configMap": {"name": "settings"}},
    ]
    patch = {"spec": {"template": {"spec": {
        "$setElementOrder/volumes": [{"name": "data"}, {"name": "cfg"}],
        "volumes": [{"$retainKeys": ["name", "persistentVolumeClaim"], "name": "data",
                     "persistentVolumeClaim": {"claimName": "pvc-1"}, "emptyDir": None}],
    }}}}
    result = smp(original, patch)
    assert result["spec"]["template"]["spec"]["volumes"] == [
        {"name": "data", "persistentVolumeClaim": {"claimName": "pvc-1"}},
        {"name": "cfg", "configMap": {"name": "settings"}},
    ]


def test_deployment_strategy_retain_keys():
    original = deployment(strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}})
    patch = {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}
    result = smp(original, patch)
    assert result["spec"]["strategy"] == {"type": "Recreate"}


def test_retain_keys_must_list_patched_fields():
    original = deployment(strategy={"type": "RollingUpdate"})
    patch = {"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {"maxSurge": 2}}}}
    with pytest.raises(ApiError) as info:
        smp(original, patch)
    assert (info.value.code, info.value.reason, info.value.message) == (
        400, "BadRequest", "invalid patch format of retainKeys")


def test_labels_null_deletes_and_adds():
    result = smp(deployment(), {"metadata": {"labels": {"tier": None, "env": "prod"}}})
    assert result["metadata"]["labels"] == {"app": "web", "env": "prod"}
    # An unmatched null is ignored, not stored.
    result = smp(deployment(), {"metadata": {"annotations": {"nope": None}}})
    assert result["metadata"].get("annotations") == {}


def test_null_removes_whole_field():
    result = smp(deployment(), {"spec": {"replicas": None}})
    assert "replicas" not in result["spec"]


def service():
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
            "spec": {"selector": {"app": "web"}, "ports": [
                {"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}]}}


def test_service_ports_merge_by_port():
    patch = {"spec": {"ports": [{"port": 80, "targetPort": 9090}, {"port": 443, "name": "https"}]}}
    result = smp(service(), patch, SERVICE)
    assert result["spec"]["ports"] == [
        {"name": "http", "port": 80, "targetPort": 9090, "protocol": "TCP"},
        {"port": 443, "name": "https"},
    ]


def test_service_port_delete():
    patch = {"spec": {"ports": [{"$patch": "delete", "port": 80}, {"port": 81}]}}
    result = smp(service(), patch, SERVICE)
    assert result["spec"]["ports"] == [{"port": 81}]


def test_tolerations_are_replaced():
    original = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {
        "containers": [{"name": "c", "image": "x"}],
        "tolerations": [{"key": "a", "operator": "Exists"}, {"key": "b", "operator": "Exists"}]}}
    result = smp(original, {"spec": {"tolerations": [{"key": "c", "operator": "Exists"}]}}, POD)
    assert result["spec"]["tolerations"] == [{"key": "c", "operator": "Exists"}]


def test_args_without_strategy_are_replaced():
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "sidecar", "args": ["sleep", "10"]}]}}}}
    result = smp(deployment(), patch)
    assert containers_of(result)[1]["args"] == ["sleep", "10"]


def test_finalizers_union_and_delete_from_primitive_list():
    original = {"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "p", "finalizers": ["a.example.com/x", "b.example.com/y"]},
                "spec": {"containers": [{"name": "c", "image": "x"}]}}
    result = smp(original, {"metadata": {"finalizers": ["c.example.com/z", "a.example.com/x"]}}, POD)
    assert sorted(result["metadata"]["finalizers"]) == ["a.example.com/x", "b.example.com/y", "c.example.com/z"]
    assert len(result["metadata"]["finalizers"]) == 3

    result = smp(original, {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a.example.com/x"]}}, POD)
    assert result["metadata"]["finalizers"] == ["b.example.com/y"]


def test_finalizers_set_element_order():
    original = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "finalizers": ["a", "b"]}}
    patch = {"metadata": {"$setElementOrder/finalizers": ["c", "a"], "finalizers": ["c"],
                          "$deleteFromPrimitiveList/finalizers": ["b"]}}
    result = smp(original, patch, POD)
    assert result["metadata"]["finalizers"] == ["c", "a"]


def test_patch_replace_directive_in_list():
    patch = {"spec": {"template": {"spec": {"containers": [
        {"name": "only", "image": "x"}, {"$patch": "replace"}]}}}}
    result = smp(deployment(), patch)
    assert containers_of(result) == [{"name": "only", "image": "x"}]


def test_patch_replace_directive_in_map():
    patch = {"metadata": {"labels": {"$patch": "replace", "fresh": "yes"}}}
    result = smp(deployment(), patch)
    assert result["metadata"]["labels"] == {"fresh": "yes"}


def test_patch_delete_directive_on_map():
    patch = {"spec": {"selector": {"$patch": "delete"}}}
    result = smp(deployment(), patch)
    assert "selector" not in result["spec"]


def test_unknown_directive():
    with pytest.raises(ApiError) as info:
        smp(deployment(), {"metadata": {"labels": {"$patch": "frobnicate"}}})
    assert info.value.message == "unknown patch type: frobnicate in map: map[$patch:frobnicate]"


def test_directives_never_leak_into_new_fields():
    original = deployment()
    del original["spec"]["template"]["spec"]
    patch = {"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "a"}],
        "containers": [{"name": "a", "image": "x", "env": [{"name": "X", "value": None}]}],
    }}}}
    result = smp(original, patch)
    assert result["spec"]["template"]["spec"] == {"containers": [{"name": "a", "image": "x", "env": [{"name": "X"}]}]}


def test_rollout_restart_annotation():
    patch = {"spec": {"template": {"metadata": {"annotations": {
        "kubectl.kubernetes.io/restartedAt": "2025-01-01T00:00:00Z"}}}}}
    result = smp(deployment(), patch)
    assert result["spec"]["template"]["metadata"] == {
        "labels": {"app": "web"}, "annotations": {"kubectl.kubernetes.io/restartedAt": "2025-01-01T00:00:00Z"}}


def test_result_shares_nothing_with_inputs():
    original = deployment()
    patch = {"spec": {"replicas": 3}}
    result = strategic_merge_patch(original, patch, DEPLOYMENT)
    result["metadata"]["labels"]["x"] = "y"
    containers_of(result)[0]["image"] = "changed"
    assert "x" not in original["metadata"]["labels"]
    assert containers_of(original)[0]["image"] == "nginx:1.25"


def test_bad_patch_document():
    with pytest.raises(ApiError) as info:
        strategic_merge_patch(deployment(), [], DEPLOYMENT)  # type: ignore[arg-type]
    assert (info.value.code, info.value.message) == (400, "invalid JSON document")


def test_bad_set_element_order_key():
    with pytest.raises(ApiError) as info:
        smp(deployment(), {"spec": {"$setElementOrder": []}})
    assert (info.value.code, info.value.message) == (400, "invalid patch format of setElementOrder list")


def test_unknown_kind_merges_maps_and_replaces_lists():
    original = {"spec": {"items": [{"name": "a"}], "conf": {"x": 1}}}
    result = smp(original, {"spec": {"items": [{"name": "b"}], "conf": {"y": 2}}}, "example.com.v1.Widget")
    assert result == {"spec": {"items": [{"name": "b"}], "conf": {"x": 1, "y": 2}}}


# --------------------------------------------------------------------------
# JSON merge patch
# --------------------------------------------------------------------------

def test_merge_patch_rfc7386_examples():
    original = {"a": "b", "c": {"d": "e", "f": "g"}}
    assert json_merge_patch(original, {"a": "z", "c": {"f": None}}) == {"a": "z", "c": {"d": "e"}}
    assert original == {"a": "b", "c": {"d": "e", "f": "g"}}
    assert json_merge_patch({"a": [{"b": "c"}]}, {"a": [1]}) == {"a": [1]}
    assert json_merge_patch({"a": "foo"}, {"a": {"b": {"c": None, "d": 1}}}) == {"a": {"b": {"d": 1}}}


def test_merge_patch_scale_and_labels():
    obj = deployment()
    result = json_merge_patch(obj, {"spec": {"replicas": 5}})
    assert result["spec"]["replicas"] == 5
    assert containers_of(result) == containers_of(obj)
    result = json_merge_patch(obj, {"metadata": {"labels": {"tier": None, "new": "1"}}})
    assert result["metadata"]["labels"] == {"app": "web", "new": "1"}
    # Lists are replaced wholesale.
    result = json_merge_patch(obj, {"spec": {"template": {"spec": {"containers": [{"name": "x", "image": "y"}]}}}})
    assert containers_of(result) == [{"name": "x", "image": "y"}]


def test_merge_patch_result_is_independent():
    obj = deployment()
    result = json_merge_patch(obj, {"spec": {"replicas": 5}})
    result["metadata"]["labels"]["x"] = "1"
    assert "x" not in obj["metadata"]["labels"]


def test_merge_patch_must_be_object():
    with pytest.raises(ApiError) as info:
        json_merge_patch({"a": 1}, None)  # type: ignore[arg-type]
    assert (info.value.code, info.value.message) == (400, "Invalid JSON Patch")


# --------------------------------------------------------------------------
# JSON patch
# --------------------------------------------------------------------------

def test_json_patch_operations():
    doc = {"a": {"b": [1, 2, 3]}, "x/y": 1, "m~n": 2}
    ops = [
        {"op": "add", "path": "/a/b/1", "value": 9},
        {"op": "add", "path": "/a/b/-", "value": 10},
        {"op": "remove", "path": "/a/b/0"},
        {"op": "replace", "path": "/x~1y", "value": "slash"},
        {"op": "copy", "from": "/m~0n", "path": "/copied"},
        {"op": "move", "from": "/copied", "path": "/a/moved"},
        {"op": "test", "path": "/a/moved", "value": 2},
        {"op": "add", "path": "/new", "value": {"k": [1]}},
    ]
    result = json_patch(doc, ops)
    assert result == {"a": {"b": [9, 2, 3, 10], "moved": 2}, "x/y": "slash", "m~n": 2, "new": {"k": [1]}}
    assert doc == {"a": {"b": [1, 2, 3]}, "x/y": 1, "m~n": 2}


def test_json_patch_rollout_undo_replaces_template():
    obj = deployment()
    template = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "nginx", "image": "old"}]}}
    result = json_patch(obj, [{"op": "replace", "path": "/spec/template", "value": template}])
    assert result["spec"]["template"] == template
    template["spec"]["containers"][0]["image"] = "mutated"
    assert containers_of(result)[0]["image"] == "old"


@pytest.mark.parametrize("ops", [
    [{"op": "test", "path": "/spec/replicas", "value": 3}],
    [{"op": "test", "path": "/spec/replicas", "value": True}],
    [{"op": "remove", "path": "/spec/nope"}],
    [{"op": "replace", "path": "/spec/nope", "value": 1}],
    [{"op": "add", "path": "/spec/missing/deeper", "value": 1}],
    [{"op": "add", "path": "/spec/template/spec/containers/5", "value": {}}],
    [{"op": "remove", "path": "/spec/template/spec/containers/01"}],
    [{"op": "move", "from": "/spec", "path": "/spec/inner"}],
    [{"op": "jump", "path": "/spec"}],
    [{"path": "/spec"}],
    [{"op": "add", "path": "spec", "value": 1}],
])
def test_json_patch_failures_are_generic_422(ops):
    obj = deployment()
    with pytest.raises(ApiError) as info:
        json_patch(obj, ops)
    assert info.value.code == 422
    assert info.value.reason == "Invalid"
    assert info.value.message == "the server rejected our request due to an error in our request"
    assert obj == deployment()


def test_json_patch_is_atomic():
    obj = deployment()
    with pytest.raises(ApiError):
        json_patch(obj, [{"op": "replace", "path": "/spec/replicas", "value": 9},
                         {"op": "test", "path": "/spec/replicas", "value": 2}])
    assert obj["spec"]["replicas"] == 2


def test_json_patch_test_passes_with_equal_numbers():
    result = json_patch({"a": 1}, [{"op": "test", "path": "/a", "value": 1.0}])
    assert result == {"a": 1}


def test_json_patch_body_must_be_list():
    with pytest.raises(ApiError) as info:
        json_patch({}, {"op": "add"})  # type: ignore[arg-type]
    assert info.value.code == 400
    assert info.value.message == "json: cannot unmarshal object into Go value of type jsonpatch.Patch"


def test_json_patch_operation_limit():
    with pytest.raises(ApiError) as info:
        json_patch({"a": 1}, [{"op": "test", "path": "/a", "value": 1}] * 10001)
    assert info.value.code == 413
    assert info.value.message == ("Request entity too large: The allowed maximum operations in a JSON patch "
                                  "is 10000, got 10001")
