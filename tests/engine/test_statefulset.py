"""The StatefulSet controller on its own, on the fake clock: the kubelet's part (Running + Ready,
finishing a graceful deletion) is done by hand so each step of the upstream algorithm shows."""
from __future__ import annotations

import importlib

import pytest

from clusters.engine.controllers import statefulset
from clusters.engine.loop import step
from clusters.engine.state import timestamp
from tests.engine.conftest import apply, new_state, run


def web(replicas: int = 3, **spec) -> dict:
    """The StatefulSet of the kubernetes.io "StatefulSet Basics" tutorial."""
    body = {
        "selector": {"matchLabels": {"app": "nginx"}}, "serviceName": "nginx", "replicas": replicas,
        "template": {"metadata": {"labels": {"app": "nginx"}}, "spec": {
            "terminationGracePeriodSeconds": 10,
            "containers": [{"name": "nginx", "image": "registry.k8s.io/nginx-slim:0.24",
                            "ports": [{"containerPort": 80, "name": "web"}],
                            "volumeMounts": [{"name": "www", "mountPath": "/usr/share/nginx/html"}]}]}},
        "volumeClaimTemplates": [{"metadata": {"name": "www"}, "spec": {
            "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}],
    }
    body.update(spec)
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "web", "namespace": "default"},
            "spec": body}


def sync(state):
    """Run only the StatefulSet controller until it has nothing more to do."""
    result = step(state, state.now, controllers=[statefulset.reconcile])
    state.__dict__.setdefault("seen_events", []).extend(
        e for e in result.events if e["involvedObject"]["kind"] == "StatefulSet")
    state.commit()
    return result


def pods(state) -> list[str]:
    return [p["metadata"]["name"] for p in state.list("Pod", "default")]


def pod(state, name: str) -> dict:
    return state.get("Pod", "default", name)


def make_ready(state, name: str, node: str = "worker-1") -> None:
    """What the scheduler and the kubelet would do: bind, run, report Ready."""
    obj = pod(state, name)
    obj["spec"]["nodeName"] = node
    stamp = timestamp(state.now)
    obj["status"].update(phase="Running", conditions=[
        {"type": "Ready", "status": "True", "lastProbeTime": None, "lastTransitionTime": stamp}])
    state.update(obj)
    state.commit()


def make_all_ready(state) -> None:
    for p in state.list("Pod", "default"):
        if not p["metadata"].get("deletionTimestamp") and p["status"].get("phase") != "Running":
            make_ready(state, p["metadata"]["name"])


def finish_terminating(state) -> list[str]:
    """The kubelet ends the pods being deleted."""
    gone = []
    for p in state.list("Pod", "default"):
        if p["metadata"].get("deletionTimestamp"):
            state.delete(p)
            gone.append(p["metadata"]["name"])
    state.commit()
    return gone


def edit(state, mutate) -> dict:
    """A client's update of the StatefulSet's spec (the API server bumps generation)."""
    sts = state.get("StatefulSet", "default", "web")
    mutate(sts["spec"])
    sts["metadata"]["generation"] += 1
    state.update(sts)
    state.commit()
    return sts


def messages(state) -> list[tuple[str, str, str]]:
    """The StatefulSet's events in the order they were recorded."""
    return [(e["type"], e["reason"], e["message"]) for e in state.__dict__.get("seen_events", [])]


def rollout(state) -> None:
    """Drive the set to a steady state: sync, make new pods ready, end deletions, until quiet."""
    for _ in range(50):
        sync(state)
        before = (tuple(pods(state)), tuple(p["status"].get("phase") for p in state.list("Pod", "default")))
        make_all_ready(state)
        finish_terminating(state)
        sync(state)
        after = (tuple(pods(state)), tuple(p["status"].get("phase") for p in state.list("Pod", "default")))
        if before == after and not any(p["metadata"].get("deletionTimestamp") for p in state.list("Pod", "default")):
            return
    raise AssertionError("no steady state")


# ---------------------------------------------------------------------------------------- creation

def test_ordered_ready_creates_one_pod_at_a_time_with_its_claim():
    state = new_state()
    apply(state, web())
    state.commit()
    sync(state)
    assert pods(state) == ["web-0"]
    assert [c["metadata"]["name"] for c in state.list("PersistentVolumeClaim", "default")] == ["www-web-0"]
    sync(state)
    assert pods(state) == ["web-0"], "web-1 waits for web-0 to be Running and Ready"

    make_ready(state, "web-0")
    sync(state)
    assert pods(state) == ["web-0", "web-1"]
    make_ready(state, "web-1")
    sync(state)
    assert pods(state) == ["web-0", "web-1", "web-2"]
    make_ready(state, "web-2")
    sync(state)
    assert pods(state) == ["web-0", "web-1", "web-2"]
    assert [c["metadata"]["name"] for c in state.list("PersistentVolumeClaim", "default")] == \
        ["www-web-0", "www-web-1", "www-web-2"]

    assert messages(state) == [
        ("Normal", "SuccessfulCreate", "create Claim www-web-0 Pod web-0 in StatefulSet web success"),
        ("Normal", "SuccessfulCreate", "create Pod web-0 in StatefulSet web successful"),
        ("Normal", "SuccessfulCreate", "create Claim www-web-1 Pod web-1 in StatefulSet web success"),
        ("Normal", "SuccessfulCreate", "create Pod web-1 in StatefulSet web successful"),
        ("Normal", "SuccessfulCreate", "create Claim www-web-2 Pod web-2 in StatefulSet web success"),
        ("Normal", "SuccessfulCreate", "create Pod web-2 in StatefulSet web successful"),
    ]
    events = [e for e in state.list("Event", "default") if e["involvedObject"]["kind"] == "StatefulSet"]
    assert {e["source"]["component"] for e in events} == {"statefulset-controller"}


def test_event_order_claim_before_pod():
    state = new_state()
    apply(state, web(replicas=1))
    state.commit()
    sync(state)
    assert messages(state) == [
        ("Normal", "SuccessfulCreate", "create Claim www-web-0 Pod web-0 in StatefulSet web success"),
        ("Normal", "SuccessfulCreate", "create Pod web-0 in StatefulSet web successful"),
    ]


def test_pod_identity_labels_and_volume():
    state = new_state()
    sts = apply(state, web())
    state.commit()
    sync(state)
    p = pod(state, "web-0")
    revision = state.list("ControllerRevision", "default")[0]
    assert p["metadata"]["generateName"] == "web-"
    assert p["metadata"]["labels"] == {
        "app": "nginx", "statefulset.kubernetes.io/pod-name": "web-0", "apps.kubernetes.io/pod-index": "0",
        "controller-revision-hash": revision["metadata"]["name"]}
    assert p["metadata"]["ownerReferences"] == [{
        "apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web", "uid": sts["metadata"]["uid"],
        "controller": True, "blockOwnerDeletion": True}]
    assert p["spec"]["hostname"] == "web-0"
    assert p["spec"]["subdomain"] == "nginx"
    assert {"name": "www", "persistentVolumeClaim": {"claimName": "www-web-0"}} in p["spec"]["volumes"]
    assert p["status"]["phase"] == "Pending"

    claim = state.get("PersistentVolumeClaim", "default", "www-web-0")
    assert claim["metadata"]["labels"] == {"app": "nginx"}
    assert "ownerReferences" not in claim["metadata"], "Retain/Retain: claims are not owned"
    assert claim["spec"]["resources"]["requests"]["storage"] == "1Gi"
    assert claim["status"]["phase"] == "Pending"


def test_controller_revision_and_status():
    state = new_state()
    apply(state, web())
    state.commit()
    rollout(state)
    revisions = state.list("ControllerRevision", "default")
    assert len(revisions) == 1
    revision = revisions[0]
    digest = revision["metadata"]["labels"]["controller.kubernetes.io/hash"]
    assert revision["metadata"]["name"] == f"web-{digest}"
    assert revision["metadata"]["labels"]["app"] == "nginx"
    assert revision["revision"] == 1
    assert revision["data"]["spec"]["template"]["$patch"] == "replace"
    assert revision["metadata"]["ownerReferences"][0]["kind"] == "StatefulSet"
    assert state.get("StatefulSet", "default", "web")["status"] == {
        "observedGeneration": 1, "replicas": 3, "readyReplicas": 3, "currentReplicas": 3, "updatedReplicas": 3,
        "currentRevision": revision["metadata"]["name"], "updateRevision": revision["metadata"]["name"],
        "collisionCount": 0, "availableReplicas": 3}


def test_ordinals_start():
    state = new_state()
    apply(state, web(replicas=2, ordinals={"start": 5}))
    state.commit()
    rollout(state)
    assert pods(state) == ["web-5", "web-6"]
    assert pod(state, "web-5")["metadata"]["labels"]["apps.kubernetes.io/pod-index"] == "5"


def test_waits_for_min_ready_seconds():
    state = new_state()
    apply(state, web(replicas=2, minReadySeconds=10))
    state.commit()
    sync(state)
    make_ready(state, "web-0")
    result = sync(state)
    assert pods(state) == ["web-0"], "web-0 is ready but not yet available"
    assert result.next_wake is not None and state.now < result.next_wake <= state.now + 11
    state.now = result.next_wake
    sync(state)
    assert pods(state) == ["web-0", "web-1"]


def test_failed_pod_is_deleted_and_recreated():
    state = new_state()
    apply(state, web(replicas=1))
    state.commit()
    rollout(state)
    p = pod(state, "web-0")
    uid = p["metadata"]["uid"]
    p["status"]["phase"] = "Failed"
    state.update(p)
    state.commit()
    sync(state)
    assert ("Normal", "SuccessfulDelete", "delete Pod web-0 in StatefulSet web successful") in messages(state)
    assert pod(state, "web-0")["metadata"]["uid"] != uid, "a new web-0, same name"


# ---------------------------------------------------------------------------------------- scaling

def test_scale_down_from_the_highest_ordinal_and_claims_stay():
    state = new_state()
    apply(state, web())
    state.commit()
    rollout(state)
    edit(state, lambda spec: spec.update(replicas=1))
    sync(state)
    assert pod(state, "web-2")["metadata"].get("deletionTimestamp"), "web-2 goes first (gracefully)"
    assert not pod(state, "web-1")["metadata"].get("deletionTimestamp"), "one at a time"
    sync(state)
    assert not pod(state, "web-1")["metadata"].get("deletionTimestamp"), "web-1 waits for web-2 to be gone"
    assert finish_terminating(state) == ["web-2"]
    sync(state)
    assert pod(state, "web-1")["metadata"].get("deletionTimestamp")
    finish_terminating(state)
    sync(state)
    assert pods(state) == ["web-0"]
    assert [c["metadata"]["name"] for c in state.list("PersistentVolumeClaim", "default")] == \
        ["www-web-0", "www-web-1", "www-web-2"], "scale-down keeps the claims (Retain)"
    assert ("Normal", "SuccessfulDelete", "delete Pod web-2 in StatefulSet web successful") in messages(state)
    assert ("Normal", "SuccessfulDelete", "delete Pod web-1 in StatefulSet web successful") in messages(state)
    status = state.get("StatefulSet", "default", "web")["status"]
    assert status["replicas"] == 1 and status["readyReplicas"] == 1 and status["observedGeneration"] == 2

    # scaling up again reuses the claims: no new claim events
    edit(state, lambda spec: spec.update(replicas=3))
    rollout(state)
    assert pods(state) == ["web-0", "web-1", "web-2"]
    creates = [m for m in messages(state) if "Claim" in m[2]]
    assert len(creates) == 3


def test_retention_policy_owner_references():
    state = new_state()
    sts = apply(state, web(persistentVolumeClaimRetentionPolicy={"whenDeleted": "Delete", "whenScaled": "Delete"}))
    state.commit()
    rollout(state)
    for name in ("www-web-0", "www-web-1", "www-web-2"):
        refs = state.get("PersistentVolumeClaim", "default", name)["metadata"]["ownerReferences"]
        assert refs == [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web",
                         "uid": sts["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}]
    edit(state, lambda spec: spec.update(replicas=2))
    sync(state)
    refs = state.get("PersistentVolumeClaim", "default", "www-web-2")["metadata"]["ownerReferences"]
    web2 = pod(state, "web-2")
    assert refs == [{"apiVersion": "v1", "kind": "Pod", "name": "web-2", "uid": web2["metadata"]["uid"],
                     "controller": True, "blockOwnerDeletion": True}], "the scaled-down pod owns its claim"
    assert web2["metadata"].get("deletionTimestamp")


def test_retention_when_deleted_only_owns_by_set():
    state = new_state()
    sts = apply(state, web(replicas=1, persistentVolumeClaimRetentionPolicy={"whenDeleted": "Delete",
                                                                             "whenScaled": "Retain"}))
    state.commit()
    sync(state)
    refs = state.get("PersistentVolumeClaim", "default", "www-web-0")["metadata"]["ownerReferences"]
    assert [r["uid"] for r in refs] == [sts["metadata"]["uid"]]


def test_parallel_creates_and_deletes_all_at_once():
    state = new_state()
    apply(state, web(podManagementPolicy="Parallel"))
    state.commit()
    sync(state)
    assert pods(state) == ["web-0", "web-1", "web-2"]
    make_all_ready(state)
    edit(state, lambda spec: spec.update(replicas=0))
    sync(state)
    assert all(p["metadata"].get("deletionTimestamp") for p in state.list("Pod", "default"))


# ---------------------------------------------------------------------------------------- updates

def _image(state, name: str) -> str:
    return pod(state, name)["spec"]["containers"][0]["image"]


def test_rolling_update_with_partition():
    state = new_state()
    apply(state, web(updateStrategy={"type": "RollingUpdate", "rollingUpdate": {"partition": 2}}))
    state.commit()
    rollout(state)
    old_revision = state.get("StatefulSet", "default", "web")["status"]["currentRevision"]

    edit(state, lambda spec: spec["template"]["spec"]["containers"][0].update(image="registry.k8s.io/nginx-slim:0.21"))
    sync(state)
    assert pod(state, "web-2")["metadata"].get("deletionTimestamp"), "the highest ordinal goes first"
    assert not pod(state, "web-1")["metadata"].get("deletionTimestamp")
    rollout(state)
    status = state.get("StatefulSet", "default", "web")["status"]
    assert _image(state, "web-2") == "registry.k8s.io/nginx-slim:0.21"
    assert _image(state, "web-1") == _image(state, "web-0") == "registry.k8s.io/nginx-slim:0.24"
    assert status["currentRevision"] == old_revision != status["updateRevision"]
    assert status["updatedReplicas"] == 1 and status["currentReplicas"] == 2
    assert pod(state, "web-2")["metadata"]["labels"]["controller-revision-hash"] == status["updateRevision"]
    assert [r["revision"] for r in state.list("ControllerRevision", "default")
            if r["metadata"]["name"] == status["updateRevision"]] == [2]

    # a deleted pod below the partition comes back at the current revision
    state.delete(pod(state, "web-0"))
    state.commit()
    rollout(state)
    assert _image(state, "web-0") == "registry.k8s.io/nginx-slim:0.24"

    edit(state, lambda spec: spec["updateStrategy"]["rollingUpdate"].update(partition=0))
    rollout(state)
    assert {_image(state, n) for n in ("web-0", "web-1", "web-2")} == {"registry.k8s.io/nginx-slim:0.21"}
    status = state.get("StatefulSet", "default", "web")["status"]
    assert status["currentRevision"] == status["updateRevision"]
    assert status["currentReplicas"] == status["updatedReplicas"] == 3
    deletes = [m[2] for m in messages(state) if m[1] == "SuccessfulDelete"]
    assert deletes == ["delete Pod web-2 in StatefulSet web successful",
                       "delete Pod web-1 in StatefulSet web successful",
                       "delete Pod web-0 in StatefulSet web successful"]


def test_rolling_update_one_at_a_time_waiting_for_ready():
    state = new_state()
    apply(state, web())
    state.commit()
    rollout(state)
    edit(state, lambda spec: spec["template"]["spec"]["containers"][0].update(image="nginx:1.27"))
    sync(state)
    finish_terminating(state)
    sync(state)
    assert pods(state) == ["web-0", "web-1", "web-2"]
    assert _image(state, "web-2") == "nginx:1.27"
    sync(state)
    assert not pod(state, "web-1")["metadata"].get("deletionTimestamp"), "waits for the new web-2 to be ready"
    make_ready(state, "web-2")
    sync(state)
    assert pod(state, "web-1")["metadata"].get("deletionTimestamp")


def test_max_unavailable_updates_two_at_once():
    state = new_state()
    apply(state, web(replicas=4, updateStrategy={"type": "RollingUpdate",
                                                  "rollingUpdate": {"partition": 0, "maxUnavailable": 2}}))
    state.commit()
    rollout(state)
    edit(state, lambda spec: spec["template"]["spec"]["containers"][0].update(image="nginx:1.27"))
    sync(state)
    terminating = [p["metadata"]["name"] for p in state.list("Pod", "default")
                   if p["metadata"].get("deletionTimestamp")]
    assert terminating == ["web-2", "web-3"]


def test_on_delete_waits_for_the_user():
    state = new_state()
    apply(state, web(updateStrategy={"type": "OnDelete"}))
    state.commit()
    rollout(state)
    edit(state, lambda spec: spec["template"]["spec"]["containers"][0].update(image="nginx:1.27"))
    rollout(state)
    assert {_image(state, n) for n in ("web-0", "web-1", "web-2")} == {"registry.k8s.io/nginx-slim:0.24"}
    status = state.get("StatefulSet", "default", "web")["status"]
    assert status["currentRevision"] != status["updateRevision"]
    state.delete(pod(state, "web-1"))
    state.commit()
    rollout(state)
    assert _image(state, "web-1") == "nginx:1.27"
    assert _image(state, "web-0") == "registry.k8s.io/nginx-slim:0.24"
    assert state.get("StatefulSet", "default", "web")["status"]["updatedReplicas"] == 1


def test_rollback_renumbers_the_old_revision():
    state = new_state()
    apply(state, web(replicas=1))
    state.commit()
    rollout(state)
    edit(state, lambda spec: spec["template"]["spec"]["containers"][0].update(image="nginx:1.27"))
    rollout(state)
    edit(state, lambda spec: spec["template"]["spec"]["containers"][0].update(image="registry.k8s.io/nginx-slim:0.24"))
    rollout(state)
    revisions = sorted((r["revision"], r["data"]["spec"]["template"]["spec"]["containers"][0]["image"])
                       for r in state.list("ControllerRevision", "default"))
    assert revisions == [(2, "nginx:1.27"), (3, "registry.k8s.io/nginx-slim:0.24")]
    assert _image(state, "web-0") == "registry.k8s.io/nginx-slim:0.24"


def test_adopts_orphaned_pods_after_cascade_orphan_delete():
    state = new_state()
    apply(state, web(replicas=2))
    state.commit()
    rollout(state)
    uids = {p["metadata"]["uid"] for p in state.list("Pod", "default")}
    sts = state.get("StatefulSet", "default", "web")
    for p in state.list("Pod", "default"):  # kubectl delete statefulset web --cascade=orphan
        p["metadata"].pop("ownerReferences")
        state.update(p)
    for r in state.list("ControllerRevision", "default"):
        r["metadata"].pop("ownerReferences")
        state.update(r)
    state.delete(sts)
    state.commit()
    new = apply(state, web(replicas=2))
    state.commit()
    rollout(state)
    assert {p["metadata"]["uid"] for p in state.list("Pod", "default")} == uids
    assert all(p["metadata"]["ownerReferences"][0]["uid"] == new["metadata"]["uid"]
               for p in state.list("Pod", "default"))
    assert len(state.list("ControllerRevision", "default")) == 1


def test_idempotent_and_quiet_when_steady():
    state = new_state()
    apply(state, web())
    state.commit()
    rollout(state)
    before = state.writes
    result = step(state, state.now, controllers=[statefulset.reconcile])
    assert state.writes == before and result.changes == []


# ---------------------------------------------------------------------------------------- whole engine

def test_with_the_whole_engine_when_the_other_modules_are_there():
    for name in ("clusters.engine.scheduler.framework", "clusters.engine.kubelet.lifecycle"):
        try:
            importlib.import_module(name)
        except ModuleNotFoundError:
            pytest.skip(f"{name} not there yet")
    state = new_state()
    body = web()
    del body["spec"]["volumeClaimTemplates"]
    del body["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
    apply(state, body)
    state.commit()
    run(state, state.now + 120)
    status = state.get("StatefulSet", "default", "web")["status"]
    assert pods(state) == ["web-0", "web-1", "web-2"]
    assert status.get("readyReplicas") == 3
