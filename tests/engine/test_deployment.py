"""Deployment controller on the fake clock: the docs' nginx-deployment walk-through (create,
update, scale, rollback), pause, Recreate, a stalled rollout's progress deadline, revision
history, proportional scaling — with the real event messages and conditions.

Pods are made Ready by the test's stand-in kubelet (see test_replicaset.py)."""
from __future__ import annotations

from clusters.engine import loop
from clusters.engine.controllers import deployment, podutil
from clusters.engine.loop import step
from clusters.engine.state import ClusterState
from tests.engine.conftest import T0, apply, new_state
from tests.engine.test_replicaset import (
    CONTROLLERS,
    WITH_KUBELET,
    corpus,
    edit,
    events,
    messages,
    pods_of,
    run,
    settle,
)

REVISION = "deployment.kubernetes.io/revision"


# ====================================================================== helpers

def rollout_status(d: dict) -> tuple[str, bool]:
    """What `kubectl rollout status deployment/<name>` prints (kubectl's DeploymentStatusViewer)."""
    name = d["metadata"]["name"]
    status = d.get("status") or {}
    if int(d["metadata"].get("generation") or 0) <= int(status.get("observedGeneration") or 0):
        cond = deployment.get_condition(status, "Progressing")
        if cond is not None and cond.get("reason") == "ProgressDeadlineExceeded":
            return f'error: deployment "{name}" exceeded its progress deadline', True
        want = deployment.replicas_of(d)
        updated = int(status.get("updatedReplicas") or 0)
        replicas = int(status.get("replicas") or 0)
        available = int(status.get("availableReplicas") or 0)
        if updated < want:
            return (f'Waiting for deployment "{name}" rollout to finish: {updated} out of {want} new replicas '
                    f'have been updated...'), False
        if replicas > updated:
            return (f'Waiting for deployment "{name}" rollout to finish: {replicas - updated} old replicas '
                    f'are pending termination...'), False
        if available < updated:
            return (f'Waiting for deployment "{name}" rollout to finish: {available} of {updated} updated '
                    f'replicas are available...'), False
        return f'deployment "{name}" successfully rolled out', True
    return "Waiting for deployment spec update to be observed...", False


def replica_sets(state: ClusterState, d: dict) -> list[dict]:
    found = [rs for rs in state.list("ReplicaSet", d["metadata"]["namespace"]) if podutil.is_controlled_by(rs, d)]
    return sorted(found, key=lambda rs: int(rs["metadata"]["annotations"][REVISION]))


def set_image(state: ClusterState, d: dict, image: str) -> dict:
    return edit(state, d, lambda o: o["spec"]["template"]["spec"]["containers"][0].update(image=image))


def condition(d: dict, cond_type: str) -> dict:
    return deployment.get_condition(d["status"], cond_type)


def nginx(state: ClusterState, **spec) -> dict:
    d = corpus("application__deployment.yaml")
    d["spec"].update(spec)
    return apply(state, d)


def counts(state: ClusterState, d: dict) -> dict:
    """Pods of the Deployment right now: total active, available (Ready), per ReplicaSet."""
    active = [p for rs in replica_sets(state, d) for p in pods_of(state, rs) if podutil.is_active(p)]
    return {"pods": len(active), "ready": sum(podutil.is_pod_ready(p) for p in active)}


# ====================================================================== creation

def test_deployment_corpus_creates_a_replica_set_with_two_pods() -> None:
    state = new_state()
    d = nginx(state)
    settle(state)
    [rs] = replica_sets(state, d)
    pod_hash = rs["metadata"]["labels"]["pod-template-hash"]
    assert rs["metadata"]["name"] == f"nginx-deployment-{pod_hash}"
    assert len(pod_hash) in (9, 10) and set(pod_hash) <= set("456789bcdf")
    assert rs["metadata"]["labels"] == {"app": "nginx", "pod-template-hash": pod_hash}
    assert rs["spec"]["selector"] == {"matchLabels": {"app": "nginx", "pod-template-hash": pod_hash}}
    assert rs["spec"]["template"]["metadata"]["labels"] == {"app": "nginx", "pod-template-hash": pod_hash}
    assert rs["metadata"]["annotations"] == {REVISION: "1", "deployment.kubernetes.io/desired-replicas": "2",
                                             "deployment.kubernetes.io/max-replicas": "3"}
    assert rs["metadata"]["ownerReferences"] == [
        {"apiVersion": "apps/v1", "kind": "Deployment", "name": "nginx-deployment", "uid": d["metadata"]["uid"],
         "controller": True, "blockOwnerDeletion": True}]
    assert rs["spec"]["replicas"] == 2
    pods = pods_of(state, rs)
    assert len(pods) == 2
    assert all(p["metadata"]["generateName"] == f"nginx-deployment-{pod_hash}-" for p in pods)
    assert d["metadata"]["annotations"] == {REVISION: "1"}
    assert messages(state, "nginx-deployment", "ScalingReplicaSet") == [
        f"Scaled up replica set nginx-deployment-{pod_hash} from 0 to 2"]
    assert events(state, "nginx-deployment")[0]["source"] == {"component": "deployment-controller"}
    assert len(messages(state, rs["metadata"]["name"], "SuccessfulCreate")) == 2
    # not ready yet
    assert d["status"]["replicas"] == 2 and d["status"]["updatedReplicas"] == 2
    assert d["status"]["unavailableReplicas"] == 2 and "availableReplicas" not in d["status"]
    available = condition(d, "Available")
    assert (available["status"], available["reason"], available["message"]) == \
        ("False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability.")
    progressing = condition(d, "Progressing")
    assert (progressing["status"], progressing["reason"]) == ("True", "ReplicaSetUpdated")
    assert progressing["message"] == f'ReplicaSet "nginx-deployment-{pod_hash}" is progressing.'
    assert rollout_status(d) == ('Waiting for deployment "nginx-deployment" rollout to finish: '
                                 '0 of 2 updated replicas are available...', False)

    run(state, T0 + 10)
    assert d["status"] == {
        "observedGeneration": 1, "replicas": 2, "updatedReplicas": 2, "readyReplicas": 2, "availableReplicas": 2,
        "terminatingReplicas": 0, "conditions": d["status"]["conditions"]}
    assert [c["type"] for c in d["status"]["conditions"]] == ["Available", "Progressing"]
    available, progressing = d["status"]["conditions"]
    assert (available["status"], available["reason"], available["message"]) == \
        ("True", "MinimumReplicasAvailable", "Deployment has minimum availability.")
    assert (progressing["status"], progressing["reason"], progressing["message"]) == \
        ("True", "NewReplicaSetAvailable", f'ReplicaSet "nginx-deployment-{pod_hash}" has successfully progressed.')
    assert progressing["lastTransitionTime"] == "2027-01-15T08:00:00Z"   # True since the ReplicaSet was created
    assert progressing["lastUpdateTime"] == "2027-01-15T08:00:02Z"       # when the pods became available
    assert rollout_status(d) == ('deployment "nginx-deployment" successfully rolled out', True)
    assert rs["status"] == {"replicas": 2, "fullyLabeledReplicas": 2, "readyReplicas": 2, "availableReplicas": 2,
                            "terminatingReplicas": 0, "observedGeneration": 1}


def test_settled_deployment_makes_no_writes_and_no_wake_up() -> None:
    state = new_state()
    nginx(state)
    run(state, T0 + 10)
    result = step(state, state.now, controllers=list(WITH_KUBELET))
    assert result.changes == [] and result.passes <= 1 and result.next_wake is None
    loop.forget(state)   # every controller runs, none skipped: still nothing to write
    result = step(state, state.now, controllers=list(WITH_KUBELET))
    assert result.changes == [] and result.passes == 1 and result.next_wake is None


def test_new_replica_set_condition_before_any_status_sync() -> None:
    state = new_state()
    d = nginx(state)
    deployment.reconcile(state)   # just the Deployment controller's first sync
    [rs] = replica_sets(state, d)
    cond = condition(d, "Progressing")
    assert (cond["reason"], cond["message"]) == \
        ("NewReplicaSetCreated", f'Created new replica set "{rs["metadata"]["name"]}"')


# ====================================================================== rolling update

def test_rolling_update_respects_surge_and_unavailability() -> None:
    state = new_state()
    d = nginx(state)
    run(state, T0 + 10)
    [old] = replica_sets(state, d)
    state.now = T0 + 100
    set_image(state, d, "nginx:1.16.1")     # what applying application/deployment-update.yaml changes
    seen: list[dict] = []

    def observe(s: ClusterState) -> None:
        seen.append(counts(s, d))

    run(state, T0 + 200, observe=observe)
    # 2 replicas, 25%/25%: maxSurge rounds up to 1, maxUnavailable down to 0
    assert all(c["pods"] <= 3 for c in seen), seen
    assert all(c["ready"] >= 2 for c in seen), seen
    old_rs, new_rs = replica_sets(state, d)
    assert old_rs is old and old_rs["spec"]["replicas"] == 0 and new_rs["spec"]["replicas"] == 2
    assert new_rs["metadata"]["annotations"][REVISION] == "2"
    assert d["metadata"]["annotations"][REVISION] == "2"
    assert len(pods_of(state, old_rs)) == 0 and len(pods_of(state, new_rs)) == 2
    new_name, old_name = new_rs["metadata"]["name"], old_rs["metadata"]["name"]
    assert messages(state, "nginx-deployment", "ScalingReplicaSet") == [
        f"Scaled up replica set {old_name} from 0 to 2",
        f"Scaled up replica set {new_name} from 0 to 1",
        f"Scaled down replica set {old_name} from 2 to 1",
        f"Scaled up replica set {new_name} from 1 to 2",
        f"Scaled down replica set {old_name} from 1 to 0",
    ]
    assert d["status"]["observedGeneration"] == 2
    assert d["status"]["replicas"] == d["status"]["updatedReplicas"] == d["status"]["availableReplicas"] == 2
    assert condition(d, "Progressing")["message"] == f'ReplicaSet "{new_name}" has successfully progressed.'
    assert rollout_status(d)[1]
    assert old_rs["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] == "2"


def test_rollout_status_messages_during_an_update() -> None:
    state = new_state()
    d = nginx(state)
    run(state, T0 + 10)
    set_image(state, d, "nginx:1.16.1")
    assert rollout_status(d) == ("Waiting for deployment spec update to be observed...", False)
    settle(state)
    assert rollout_status(d) == ('Waiting for deployment "nginx-deployment" rollout to finish: '
                                 '1 out of 2 new replicas have been updated...', False)


def test_maxsurge_and_maxunavailable_absolute_values() -> None:
    state = new_state()
    d = nginx(state, replicas=4, strategy={"type": "RollingUpdate",
                                           "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 2}})
    run(state, T0 + 10)
    set_image(state, d, "nginx:1.16.1")
    seen: list[dict] = []
    run(state, T0 + 100, observe=lambda s: seen.append(counts(s, d)))
    assert all(c["pods"] <= 4 and c["ready"] >= 2 for c in seen), seen
    old_rs, new_rs = replica_sets(state, d)
    assert (old_rs["spec"]["replicas"], new_rs["spec"]["replicas"]) == (0, 4)
    assert messages(state, "nginx-deployment", "ScalingReplicaSet")[1] == \
        f"Scaled down replica set {old_rs['metadata']['name']} from 4 to 2"


def test_fenceposts_round_as_upstream() -> None:
    assert deployment.resolve_fenceposts("25%", "25%", 2) == (1, 0)
    assert deployment.resolve_fenceposts("25%", "25%", 10) == (3, 2)
    assert deployment.resolve_fenceposts(0, "0%", 3) == (0, 1)  # both zero: unavailable 1
    assert deployment.resolve_fenceposts("50%", 1, 5) == (3, 1)


# ====================================================================== scale

def test_scale_to_four() -> None:
    state = new_state()
    d = nginx(state)
    run(state, T0 + 10)
    [rs] = replica_sets(state, d)
    edit(state, d, lambda o: o["spec"].update(replicas=4))   # deployment-scale.yaml's change
    run(state, T0 + 20)
    assert replica_sets(state, d) == [rs]
    assert rs["spec"]["replicas"] == 4 and len(pods_of(state, rs)) == 4
    assert rs["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] == "4"
    assert rs["metadata"]["annotations"]["deployment.kubernetes.io/max-replicas"] == "5"
    assert messages(state, "nginx-deployment", "ScalingReplicaSet")[-1] == \
        f"Scaled up replica set {rs['metadata']['name']} from 2 to 4"
    assert d["status"]["availableReplicas"] == 4 and rollout_status(d)[1]


def test_proportional_scaling_during_a_stuck_rollout() -> None:
    """The docs' example: 10 replicas, maxSurge 3, maxUnavailable 2, a rollout to a broken image,
    then scaled to 15: the 5 extra replicas go 3 to the old ReplicaSet and 2 to the new one."""
    state = new_state()
    d = nginx(state, replicas=10, strategy={"type": "RollingUpdate",
                                            "rollingUpdate": {"maxSurge": 3, "maxUnavailable": 2}})
    run(state, T0 + 10)
    set_image(state, d, "nginx:broken")
    run(state, T0 + 60)
    old_rs, new_rs = replica_sets(state, d)
    assert (old_rs["spec"]["replicas"], new_rs["spec"]["replicas"]) == (8, 5)
    edit(state, d, lambda o: o["spec"].update(replicas=15))
    run(state, T0 + 120)
    assert (old_rs["spec"]["replicas"], new_rs["spec"]["replicas"]) == (11, 7)
    assert messages(state, "nginx-deployment", "ScalingReplicaSet")[-2:] == [
        f"Scaled up replica set {old_rs['metadata']['name']} from 8 to 11",
        f"Scaled up replica set {new_rs['metadata']['name']} from 5 to 7",
    ]


# ====================================================================== rollback

def test_rollback_reuses_the_old_replica_set_with_the_next_revision() -> None:
    state = new_state()
    d = nginx(state)
    d["metadata"]["annotations"] = {"kubernetes.io/change-cause": "first"}
    run(state, T0 + 10)
    [first] = replica_sets(state, d)
    assert first["metadata"]["annotations"]["kubernetes.io/change-cause"] == "first"
    edit(state, d, lambda o: o["metadata"]["annotations"].update({"kubernetes.io/change-cause": "second"}))
    set_image(state, d, "nginx:1.16.1")
    run(state, T0 + 60)
    _, second = replica_sets(state, d)
    assert second["metadata"]["annotations"]["kubernetes.io/change-cause"] == "second"
    # kubectl rollout undo: the template of revision 1 without its pod-template-hash, patched back
    template = podutil.clone(first["spec"]["template"])
    del template["metadata"]["labels"]["pod-template-hash"]
    edit(state, d, lambda o: (o["spec"].update(template=template),
                              o["metadata"]["annotations"].update({"kubernetes.io/change-cause": "first"})))
    run(state, T0 + 120)
    assert len(replica_sets(state, d)) == 2          # no third ReplicaSet
    assert first["metadata"]["annotations"][REVISION] == "3"
    assert first["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"] == "1"
    assert second["metadata"]["annotations"][REVISION] == "2"
    assert d["metadata"]["annotations"][REVISION] == "3"
    assert (first["spec"]["replicas"], second["spec"]["replicas"]) == (2, 0)
    assert len(pods_of(state, first)) == 2 and rollout_status(d)[1]
    assert messages(state, "nginx-deployment", "ScalingReplicaSet")[-2:] == [
        f"Scaled up replica set {first['metadata']['name']} from 1 to 2",
        f"Scaled down replica set {second['metadata']['name']} from 1 to 0",
    ]
    # and forward again: revision 2's ReplicaSet becomes revision 4
    set_image(state, d, "nginx:1.16.1")
    run(state, T0 + 180)
    assert second["metadata"]["annotations"][REVISION] == "4"
    assert second["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"] == "2"


# ====================================================================== pause

def test_paused_deployment_does_not_roll_out() -> None:
    state = new_state()
    d = nginx(state)
    run(state, T0 + 10)
    edit(state, d, lambda o: o["spec"].update(paused=True))
    settle(state)
    cond = condition(d, "Progressing")
    assert (cond["status"], cond["reason"], cond["message"]) == ("Unknown", "DeploymentPaused", "Deployment is paused")
    set_image(state, d, "nginx:1.16.1")
    run(state, T0 + 1000)
    assert len(replica_sets(state, d)) == 1
    assert d["status"]["observedGeneration"] == d["metadata"]["generation"]
    assert "updatedReplicas" not in d["status"]        # UP-TO-DATE 0 while paused
    assert condition(d, "Progressing")["reason"] == "DeploymentPaused"  # no deadline while paused
    # scaling still works while paused
    edit(state, d, lambda o: o["spec"].update(replicas=3))
    run(state, T0 + 1010)
    [rs] = replica_sets(state, d)
    assert rs["spec"]["replicas"] == 3
    # resume: the rollout goes on
    edit(state, d, lambda o: o["spec"].update(paused=False))
    settle(state)
    assert len(replica_sets(state, d)) == 2
    run(state, T0 + 1100)
    assert replica_sets(state, d)[1]["spec"]["replicas"] == 3 and rollout_status(d)[1]
    assert condition(d, "Progressing")["reason"] == "NewReplicaSetAvailable"


def test_resumed_condition() -> None:
    state = new_state()
    d = nginx(state)
    run(state, T0 + 10)
    edit(state, d, lambda o: o["spec"].update(paused=True))
    settle(state)
    edit(state, d, lambda o: o["spec"].update(paused=False))
    # checkPausedConditions alone: the same sync then moves on (here straight to NewReplicaSetAvailable)
    deployment._Sync(state, d, deployment._ReplicaSets(state)).check_paused_conditions()
    cond = condition(d, "Progressing")
    assert (cond["status"], cond["reason"], cond["message"]) == ("Unknown", "DeploymentResumed",
                                                                  "Deployment is resumed")
    settle(state)
    assert condition(d, "Progressing")["reason"] == "NewReplicaSetAvailable"


# ====================================================================== Recreate

def test_recreate_scales_old_to_zero_and_waits_for_its_pods() -> None:
    state = new_state()
    d = nginx(state, replicas=3, strategy={"type": "Recreate"})
    run(state, T0 + 10)
    [old] = replica_sets(state, d)
    state.now = T0 + 50
    set_image(state, d, "nginx:1.16.1")
    settle(state, CONTROLLERS)
    # old pods are Terminating (bound, graceful): no new ReplicaSet yet
    assert old["spec"]["replicas"] == 0 and len(replica_sets(state, d)) == 1
    assert all(p["metadata"].get("deletionTimestamp") for p in pods_of(state, old))
    assert messages(state, "nginx-deployment", "ScalingReplicaSet")[-1] == \
        f"Scaled down replica set {old['metadata']['name']} from 3 to 0"
    run(state, T0 + 100)
    old_rs, new_rs = replica_sets(state, d)
    assert new_rs["spec"]["replicas"] == 3 and len(pods_of(state, new_rs)) == 3
    assert messages(state, "nginx-deployment", "ScalingReplicaSet")[-1] == \
        f"Scaled up replica set {new_rs['metadata']['name']} from 0 to 3"
    first_new = min(p["metadata"]["creationTimestamp"] for p in pods_of(state, new_rs))
    assert first_new >= "2027-01-15T08:00:51Z"  # only after the old pods were gone
    assert rollout_status(d)[1]


# ====================================================================== progress deadline

def test_broken_image_stalls_with_old_pods_serving_and_times_out() -> None:
    state = new_state()
    d = nginx(state, progressDeadlineSeconds=60)
    run(state, T0 + 10)
    old = replica_sets(state, d)[0]
    state.now = T0 + 100
    set_image(state, d, "nginx:broken")
    run(state, T0 + 159)
    old_rs, new_rs = replica_sets(state, d)
    assert (old_rs["spec"]["replicas"], new_rs["spec"]["replicas"]) == (2, 1)
    assert old_rs is old and old["status"]["availableReplicas"] == 2   # maxUnavailable 0: both old pods serve
    cond = condition(d, "Progressing")
    assert (cond["status"], cond["reason"]) == ("True", "ReplicaSetUpdated")
    assert rollout_status(d)[1] is False
    run(state, T0 + 200)   # the controller asked to be woken at the deadline
    cond = condition(d, "Progressing")
    assert (cond["status"], cond["reason"], cond["message"]) == \
        ("False", "ProgressDeadlineExceeded", f'ReplicaSet "{new_rs["metadata"]["name"]}" has timed out progressing.')
    assert cond["lastTransitionTime"] == "2027-01-15T08:02:41Z"
    assert condition(d, "Available")["status"] == "True"
    assert rollout_status(d) == ('error: deployment "nginx-deployment" exceeded its progress deadline', True)
    assert d["status"]["unavailableReplicas"] == 1 and d["status"]["availableReplicas"] == 2
    # nothing more happens, and no more wake-ups for it
    result = step(state, state.now, controllers=list(WITH_KUBELET))
    assert result.changes == [] and result.next_wake is None


# ====================================================================== history, adoption, collisions

def test_revision_history_limit_cleans_old_replica_sets() -> None:
    state = new_state()
    d = nginx(state, revisionHistoryLimit=1)
    run(state, T0 + 10)
    for i, tag in enumerate(("1.16.1", "1.17", "1.18")):
        set_image(state, d, f"nginx:{tag}")
        run(state, T0 + 60 * (i + 1))
    remaining = replica_sets(state, d)
    assert [rs["metadata"]["annotations"][REVISION] for rs in remaining] == ["3", "4"]
    assert remaining[0]["spec"]["replicas"] == 0 and remaining[1]["spec"]["replicas"] == 2


def test_deployment_adopts_an_orphan_replica_set_with_its_template() -> None:
    state = new_state()
    d = corpus("application__deployment.yaml")
    template = podutil.clone(d["spec"]["template"])
    rs = apply(state, {"apiVersion": "apps/v1", "kind": "ReplicaSet",
                       "metadata": {"name": "handmade", "namespace": "default", "labels": {"app": "nginx"}},
                       "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "nginx"}}, "template": template}})
    d = apply(state, d)
    run(state, T0 + 10)
    assert replica_sets(state, d) == [rs]                # adopted, and its template is the Deployment's
    assert podutil.controller_ref(rs)["kind"] == "Deployment"
    assert rs["metadata"]["annotations"][REVISION] == "1"
    assert d["status"]["availableReplicas"] == 2


def test_hash_collision_bumps_collision_count() -> None:
    state = new_state()
    d = corpus("application__deployment.yaml")
    pod_hash = podutil.compute_hash(apply(new_state(), podutil.clone(d))["spec"]["template"])
    squatter = apply(state, {"apiVersion": "apps/v1", "kind": "ReplicaSet",
                             "metadata": {"name": f"nginx-deployment-{pod_hash}", "namespace": "default"},
                             "spec": {"replicas": 0, "selector": {"matchLabels": {"other": "x"}},
                                      "template": {"metadata": {"labels": {"other": "x"}},
                                                   "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}})
    d = apply(state, d)
    settle(state)
    assert d["status"]["collisionCount"] == 1
    [rs] = replica_sets(state, d)
    assert rs is not squatter and rs["metadata"]["name"] != squatter["metadata"]["name"]
    assert rs["metadata"]["labels"]["pod-template-hash"] == podutil.compute_hash(d["spec"]["template"], 1)


def test_min_ready_seconds_is_passed_to_the_replica_set() -> None:
    state = new_state()
    d = nginx(state, minReadySeconds=5)
    run(state, T0 + 4)
    [rs] = replica_sets(state, d)
    assert rs["spec"]["minReadySeconds"] == 5
    assert d["status"].get("readyReplicas") == 2 and "availableReplicas" not in d["status"]
    run(state, T0 + 10)
    assert d["status"]["availableReplicas"] == 2 and rollout_status(d)[1]
