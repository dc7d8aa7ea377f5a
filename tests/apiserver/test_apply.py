"""Server-side apply: structural merge, removal of dropped fields, ownership, conflicts."""
from __future__ import annotations

import copy

import pytest

from clusters.apiserver.apply import managed_fields_for_update, server_side_apply
from clusters.apiserver.errors import ApiError

DEPLOYMENT = "io.k8s.api.apps.v1.Deployment"
SERVICE = "io.k8s.api.core.v1.Service"


def config(replicas=2, image="nginx:1.25", sidecar=True, labels=None):
    containers = [{"name": "nginx", "image": image, "ports": [{"containerPort": 80}]}]
    if sidecar:
        containers.append({"name": "sidecar", "image": "busybox"})
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": labels if labels is not None else {"app": "web"}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": containers}},
        },
    }


def apply(live, applied, manager="kubectl", force=False, now="2025-01-01T00:00:00Z", schema=DEPLOYMENT):
    live_before = copy.deepcopy(live)
    applied_before = copy.deepcopy(applied)
    result = server_side_apply(live, applied, manager=manager, schema_name=schema, force=force, now=now)
    assert live == live_before, "live must not be mutated"
    assert applied == applied_before, "applied must not be mutated"
    return result


def stored(obj):
    """What the store would add on create."""
    obj = copy.deepcopy(obj)
    obj["metadata"].update({"uid": "u-1", "resourceVersion": "1", "creationTimestamp": "2025-01-01T00:00:00Z"})
    return obj


def containers_of(obj):
    return obj["spec"]["template"]["spec"]["containers"]


def entry_of(obj, manager, operation="Apply"):
    matches = [e for e in obj["metadata"]["managedFields"]
               if e["manager"] == manager and e["operation"] == operation]
    assert len(matches) <= 1
    return matches[0] if matches else None


def test_create_records_managed_fields_in_real_format():
    result = apply(None, config())
    assert result["spec"] == config()["spec"]
    assert result["metadata"]["managedFields"] == [{
        "manager": "kubectl",
        "operation": "Apply",
        "apiVersion": "apps/v1",
        "time": "2025-01-01T00:00:00Z",
        "fieldsType": "FieldsV1",
        "fieldsV1": {
            "f:metadata": {"f:labels": {"f:app": {}}},
            "f:spec": {
                "f:replicas": {},
                "f:selector": {},  # LabelSelector is an atomic map
                "f:template": {
                    "f:metadata": {"f:labels": {"f:app": {}}},
                    "f:spec": {"f:containers": {
                        'k:{"name":"nginx"}': {
                            ".": {}, "f:image": {}, "f:name": {},
                            "f:ports": {'k:{"containerPort":80,"protocol":"TCP"}': {".": {}, "f:containerPort": {}}},
                        },
                        'k:{"name":"sidecar"}': {".": {}, "f:image": {}, "f:name": {}},
                    }},
                },
            },
        },
    }]


def test_removing_container_from_manifest_removes_it():
    live = stored(apply(None, config()))
    result = apply(live, config(sidecar=False, image="nginx:1.27"), now="2025-01-02T00:00:00Z")
    assert [c["name"] for c in containers_of(result)] == ["nginx"]
    assert containers_of(result)[0]["image"] == "nginx:1.27"
    entry = entry_of(result, "kubectl")
    assert entry["time"] == "2025-01-02T00:00:00Z"
    assert 'k:{"name":"sidecar"}' not in entry["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]
    # Server-set metadata survives.
    assert result["metadata"]["uid"] == "u-1"


def test_removing_field_and_label_from_manifest():
    live = stored(apply(None, config(labels={"app": "web", "tier": "front"})))
    applied = config(labels={"app": "web"})
    del applied["spec"]["replicas"]
    result = apply(live, applied)
    assert result["metadata"]["labels"] == {"app": "web"}
    assert "replicas" not in result["spec"]


def test_removing_all_labels_prunes_empty_map():
    live = stored(apply(None, config(labels={"tier": "front"})))
    applied = config()
    del applied["metadata"]["labels"]
    result = apply(live, applied)
    assert "labels" not in result["metadata"]


def test_fields_of_others_are_kept():
    # A controller (Update) added an annotation and a container; apply leaves them alone.
    live = stored(apply(None, config(sidecar=False)))
    changed = copy.deepcopy(live)
    changed["metadata"]["annotations"] = {"deployment.kubernetes.io/revision": "1"}
    containers_of(changed).insert(0, {"name": "injected", "image": "proxy"})
    changed["metadata"]["managedFields"] = managed_fields_for_update(
        live, changed, manager="kube-controller-manager", now="2025-01-01T00:01:00Z")
    result = apply(changed, config(sidecar=False, image="nginx:1.27"))
    assert result["metadata"]["annotations"] == {"deployment.kubernetes.io/revision": "1"}
    assert [c["name"] for c in containers_of(result)] == ["injected", "nginx"]
    assert entry_of(result, "kube-controller-manager", "Update") is not None


def test_new_container_from_manifest_is_added_in_order():
    live = stored(apply(None, config(sidecar=False)))
    applied = config()
    containers_of(applied).insert(0, {"name": "init", "image": "alpine"})
    result = apply(live, applied)
    assert [c["name"] for c in containers_of(result)] == ["init", "nginx", "sidecar"]


def test_conflict_with_other_apply_manager():
    live = stored(apply(None, config(replicas=3), manager="other-manager"))
    with pytest.raises(ApiError) as info:
        apply(live, config(replicas=5), manager="kubectl")
    error = info.value
    assert (error.code, error.reason) == (409, "Conflict")
    assert error.message == 'Apply failed with 1 conflict: conflict with "other-manager": .spec.replicas'
    assert error.causes == [{"reason": "FieldManagerConflict", "message": 'conflict with "other-manager"',
                             "field": ".spec.replicas"}]
    assert error.status()["details"]["causes"][0]["field"] == ".spec.replicas"


def test_multiple_conflicts_message():
    live = stored(apply(None, config(replicas=3), manager="other-manager"))
    with pytest.raises(ApiError) as info:
        apply(live, config(replicas=5, image="nginx:1.27"), manager="kubectl")
    assert info.value.message == (
        'Apply failed with 2 conflicts: conflicts with "other-manager":\n'
        "- .spec.replicas\n"
        '- .spec.template.spec.containers[name="nginx"].image')
    assert len(info.value.causes) == 2


def test_force_takes_ownership():
    live = stored(apply(None, config(replicas=3), manager="other-manager"))
    result = apply(live, config(replicas=5), manager="kubectl", force=True)
    assert result["spec"]["replicas"] == 5
    other = entry_of(result, "other-manager")
    assert "f:replicas" not in other["fieldsV1"]["f:spec"]
    assert "f:replicas" in entry_of(result, "kubectl")["fieldsV1"]["f:spec"]
    # Fields both applied with the same value stay shared.
    assert "f:selector" in other["fieldsV1"]["f:spec"]


def test_same_value_is_shared_not_conflicting_and_not_removed():
    live = stored(apply(None, config(), manager="team-a"))
    shared = apply(live, config(), manager="team-b")
    # team-b stops applying the sidecar; team-a still owns it, so it stays.
    result = apply(shared, config(sidecar=False), manager="team-b")
    assert [c["name"] for c in containers_of(result)] == ["nginx", "sidecar"]


def test_conflict_with_update_manager():
    # kubectl scale / edit record an Update manager; apply then conflicts on replicas.
    live = stored(apply(None, config(replicas=2)))
    scaled = copy.deepcopy(live)
    scaled["spec"]["replicas"] = 4
    scaled["metadata"]["managedFields"] = managed_fields_for_update(
        live, scaled, manager="kubectl-client-side-apply", now="2025-01-01T00:05:00Z")
    assert "f:replicas" not in entry_of(scaled, "kubectl")["fieldsV1"]["f:spec"]
    with pytest.raises(ApiError) as info:
        apply(scaled, config(replicas=2))
    assert info.value.message == ('Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" '
                                  "using apps/v1: .spec.replicas")
    # Applying the value the other manager set is fine.
    result = apply(scaled, config(replicas=4))
    assert result["spec"]["replicas"] == 4


def test_env_and_ports_merge_by_key():
    base = config(sidecar=False)
    containers_of(base)[0]["env"] = [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
    live = stored(apply(None, base))
    applied = config(sidecar=False)
    containers_of(applied)[0]["env"] = [{"name": "A", "value": "10"}, {"name": "C", "value": "3"}]
    containers_of(applied)[0]["ports"] = [{"containerPort": 80}, {"containerPort": 443}]
    result = apply(live, applied)
    nginx = containers_of(result)[0]
    assert nginx["env"] == [{"name": "A", "value": "10"}, {"name": "C", "value": "3"}]
    assert nginx["ports"] == [{"containerPort": 80}, {"containerPort": 443}]


def test_service_ports_keyed_by_port_and_protocol():
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
           "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}}
    result = apply(None, svc, schema=SERVICE)
    fields = result["metadata"]["managedFields"][0]["fieldsV1"]["f:spec"]["f:ports"]
    assert list(fields) == ['k:{"port":80,"protocol":"TCP"}']


def test_set_lists_union_and_atomic_lists_replace():
    live_cfg = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "finalizers": ["a"]},
                "spec": {"containers": [{"name": "c", "image": "x", "args": ["1", "2"]}],
                         "tolerations": [{"key": "k1", "operator": "Exists"}]}}
    live = stored(apply(None, live_cfg, manager="team-a", schema="io.k8s.api.core.v1.Pod"))
    applied = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "finalizers": ["b"]},
               "spec": {"containers": [{"name": "c", "image": "x", "args": ["1", "2"]}]}}
    result = apply(live, applied, manager="team-b", schema="io.k8s.api.core.v1.Pod")
    assert result["metadata"]["finalizers"] == ["a", "b"]
    assert entry_of(result, "team-b")["fieldsV1"]["f:metadata"]["f:finalizers"] == {'v:"b"': {}}
    assert result["spec"]["tolerations"] == [{"key": "k1", "operator": "Exists"}]


def test_managed_fields_in_config_rejected():
    applied = config()
    applied["metadata"]["managedFields"] = [{"manager": "x"}]
    with pytest.raises(ApiError) as info:
        apply(None, applied)
    assert (info.value.code, info.value.message) == (400, "metadata.managedFields must be nil")


def test_missing_list_map_key():
    applied = config()
    containers_of(applied).append({"image": "nameless"})
    with pytest.raises(ApiError) as info:
        apply(None, applied)
    assert info.value.code == 500
    assert info.value.message == (
        "failed to create typed patch object (apps/v1, Kind=Deployment): .spec.template.spec.containers: "
        'element 2: associative list with keys has an element that omits key field "name" '
        "(and doesn't have default value)")


def test_result_shares_nothing_with_inputs():
    applied = config()
    result = server_side_apply(None, applied, manager="kubectl", schema_name=DEPLOYMENT, force=False, now="t")
    containers_of(result)[0]["image"] = "changed"
    assert containers_of(applied)[0]["image"] == "nginx:1.25"
    live = stored(result)
    again = server_side_apply(live, config(), manager="kubectl", schema_name=DEPLOYMENT, force=False, now="t")
    again["metadata"]["labels"]["x"] = "y"
    assert "x" not in live["metadata"]["labels"]


def test_managed_fields_for_update_create_and_change():
    obj = stored(config())
    created = managed_fields_for_update(None, obj, manager="kubectl-create", now="t1")
    assert len(created) == 1
    entry = created[0]
    assert (entry["manager"], entry["operation"], entry["apiVersion"], entry["time"]) == (
        "kubectl-create", "Update", "apps/v1", "t1")
    assert "f:uid" not in entry["fieldsV1"]["f:metadata"]
    obj["metadata"]["managedFields"] = created

    edited = copy.deepcopy(obj)
    edited["spec"]["replicas"] = 7
    del containers_of(edited)[1]
    fields = managed_fields_for_update(obj, edited, manager="kubectl-edit", now="t2")
    by_manager = {e["manager"]: e for e in fields}
    assert by_manager["kubectl-edit"]["fieldsV1"] == {"f:spec": {"f:replicas": {}}}
    create_spec = by_manager["kubectl-create"]["fieldsV1"]["f:spec"]
    assert "f:replicas" not in create_spec
    assert 'k:{"name":"sidecar"}' not in create_spec["f:template"]["f:spec"]["f:containers"]
    assert by_manager["kubectl-create"]["time"] == "t1"


def test_managed_fields_for_update_no_change_adds_nothing():
    obj = stored(config())
    obj["metadata"]["managedFields"] = managed_fields_for_update(None, obj, manager="a", now="t1")
    same = copy.deepcopy(obj)
    assert managed_fields_for_update(obj, same, manager="b", now="t2") == obj["metadata"]["managedFields"]
