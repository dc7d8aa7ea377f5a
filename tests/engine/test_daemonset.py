"""The DaemonSet controller on its own, on the fake clock: binding (the scheduler's part) and
Running + Ready (the kubelet's) are done by hand so each step of the upstream algorithm shows."""
from __future__ import annotations

import copy
import importlib

import pytest

from clusters.engine import loop
from clusters.engine.controllers import daemonset
from clusters.engine.loop import step
from clusters.engine.state import timestamp
from tests.engine.conftest import apply, new_state, run
from tests.fixtures import corpus_object

NS = "kube-system"
DS = "fluentd-elasticsearch"   # the DaemonSet under test; kube-system also runs kube-proxy's and kindnet's


def corpus_daemonset() -> dict:
    return corpus_object("controllers__daemonset.yaml")


def with_control_plane_toleration(ds: dict) -> dict:
    """The file as kubernetes.io shows it today: it also tolerates the control-plane taint."""
    ds = copy.deepcopy(ds)
    ds["spec"]["template"]["spec"]["tolerations"].insert(0, {
        "key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"})
    return ds


def sync(state):
    result = step(state, state.now, controllers=[daemonset.reconcile])
    state.__dict__.setdefault("seen_events", []).extend(
        e for e in result.events if e["involvedObject"]["kind"] == "DaemonSet" and e["involvedObject"]["name"] == DS)
    state.commit()
    return result


def messages(state) -> list[tuple[str, str, str]]:
    return [(e["type"], e["reason"], e["message"]) for e in state.__dict__.get("seen_events", [])]


def daemon_pods(state, *, live: bool = True) -> list[dict]:
    return [p for p in state.list("Pod", NS) if (p["metadata"].get("labels") or {}).get("name") == DS
            and not (live and p["metadata"].get("deletionTimestamp"))]


def revisions_of(state) -> list[dict]:
    return [r for r in state.list("ControllerRevision", NS) if r["metadata"]["name"].startswith(f"{DS}-")]


def nodes_of(state) -> list[str]:
    return sorted(daemonset.target_node(p) for p in daemon_pods(state))


def schedule_and_run(state) -> None:
    """The scheduler binds each pod to the node its affinity names; the kubelet makes it Ready;
    pods being deleted are finished."""
    for p in state.list("Pod", NS):
        if p["metadata"].get("deletionTimestamp"):
            state.delete(p)
            continue
        changed = False
        if not p["spec"].get("nodeName"):
            p["spec"]["nodeName"] = daemonset.target_node(p)
            changed = True
        if p["status"].get("phase") == "Pending":
            p["status"].update(phase="Running", conditions=[
                {"type": "Ready", "status": "True", "lastProbeTime": None,
                 "lastTransitionTime": timestamp(state.now)}])
            changed = True
        if changed:
            state.update(p)
    state.commit()


def settle(state) -> None:
    for _ in range(30):
        sync(state)
        before = state.writes
        schedule_and_run(state)
        sync(state)
        if state.writes == before and not any(p["metadata"].get("deletionTimestamp") for p in state.list("Pod", NS)):
            return
    raise AssertionError("no steady state")


def edit(state, mutate) -> dict:
    ds = state.get("DaemonSet", NS, "fluentd-elasticsearch")
    mutate(ds["spec"])
    ds["metadata"]["generation"] += 1
    state.update(ds)
    state.commit()
    return ds


def image(p: dict) -> str:
    return p["spec"]["containers"][0]["image"]


# ---------------------------------------------------------------------------------------- placement

def test_corpus_file_as_a_real_cluster_runs_it():
    """The file tolerates only the old `node-role.kubernetes.io/master` taint; a v1.37 control plane
    is tainted `node-role.kubernetes.io/control-plane:NoSchedule`, so a real cluster runs the daemon
    on the two workers only (DESIRED 2)."""
    state = new_state()
    apply(state, corpus_daemonset())
    state.commit()
    sync(state)
    assert nodes_of(state) == ["worker-1", "worker-2"]
    settle(state)
    status = state.get("DaemonSet", NS, "fluentd-elasticsearch")["status"]
    assert status == {"currentNumberScheduled": 2, "desiredNumberScheduled": 2, "numberMisscheduled": 0,
                      "numberReady": 2, "observedGeneration": 1, "updatedNumberScheduled": 2,
                      "numberAvailable": 2}


def test_tolerating_the_control_plane_taint_gives_one_pod_per_node():
    state = new_state()
    apply(state, with_control_plane_toleration(corpus_daemonset()))
    state.commit()
    sync(state)
    assert nodes_of(state) == ["control-plane", "worker-1", "worker-2"]
    settle(state)
    status = state.get("DaemonSet", NS, "fluentd-elasticsearch")["status"]
    assert status["desiredNumberScheduled"] == status["currentNumberScheduled"] == 3
    assert status["numberReady"] == status["numberAvailable"] == status["updatedNumberScheduled"] == 3
    assert "numberUnavailable" not in status


def test_daemon_pod_shape_and_events():
    state = new_state()
    ds = apply(state, corpus_daemonset())
    state.commit()
    sync(state)
    revision = revisions_of(state)[0]
    digest = revision["metadata"]["labels"]["controller-revision-hash"]
    assert revision["metadata"]["name"] == f"fluentd-elasticsearch-{digest}"
    assert revision["revision"] == 1
    assert revision["metadata"]["labels"]["name"] == "fluentd-elasticsearch"

    p = next(p for p in daemon_pods(state) if daemonset.target_node(p) == "worker-1")
    assert p["metadata"]["name"].startswith("fluentd-elasticsearch-")
    assert p["metadata"]["generateName"] == "fluentd-elasticsearch-"
    assert p["metadata"]["labels"] == {"name": "fluentd-elasticsearch", "controller-revision-hash": digest}
    assert p["metadata"]["ownerReferences"] == [{
        "apiVersion": "apps/v1", "kind": "DaemonSet", "name": "fluentd-elasticsearch",
        "uid": ds["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}]
    assert p["spec"]["affinity"] == {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In",
                                                "values": ["worker-1"]}]}]}}}
    assert "nodeName" not in p["spec"], "the scheduler binds it"
    assert p["spec"]["tolerations"] == [
        {"key": "node-role.kubernetes.io/master", "effect": "NoSchedule"},
        {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
        {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
        {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
        {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
        {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
        {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
    ]
    names = sorted(p["metadata"]["name"] for p in daemon_pods(state))
    assert sorted(messages(state)) == sorted(("Normal", "SuccessfulCreate", f"Created pod: {n}") for n in names)
    events = [e for e in state.list("Event", NS) if e["involvedObject"]["kind"] == "DaemonSet"]
    assert {e["source"]["component"] for e in events} == {"daemonset-controller"}


def test_host_network_daemon_tolerates_network_unavailable():
    state = new_state()
    body = corpus_daemonset()
    body["spec"]["template"]["spec"]["hostNetwork"] = True
    apply(state, body)
    state.commit()
    sync(state)
    tolerations = daemon_pods(state)[0]["spec"]["tolerations"]
    assert tolerations[-1] == {"key": "node.kubernetes.io/network-unavailable", "operator": "Exists",
                               "effect": "NoSchedule"}


def _node(state, name: str, index: int, **labels) -> dict:
    node = copy.deepcopy(state.get("Node", "", "worker-1"))
    node["metadata"] = {"name": name, "labels": {**node["metadata"]["labels"], "kubernetes.io/hostname": name,
                                                 **labels}}
    node["spec"] = {"podCIDR": f"10.244.{index}.0/24", "podCIDRs": [f"10.244.{index}.0/24"]}
    return node


def test_a_node_added_later_gets_a_pod():
    state = new_state()
    apply(state, corpus_daemonset())
    state.commit()
    settle(state)
    apply(state, _node(state, "worker-3", 3))
    state.commit()
    sync(state)
    assert nodes_of(state) == ["worker-1", "worker-2", "worker-3"]
    settle(state)
    assert state.get("DaemonSet", NS, "fluentd-elasticsearch")["status"]["desiredNumberScheduled"] == 3


def test_node_selector_limits_nodes_and_relabelling_moves_the_daemon():
    state = new_state()
    body = corpus_daemonset()
    body["spec"]["template"]["spec"]["nodeSelector"] = {"disktype": "ssd"}
    apply(state, body)
    node = state.get("Node", "", "worker-2")
    node["metadata"]["labels"]["disktype"] = "ssd"
    state.update(node)
    state.commit()
    settle(state)
    assert nodes_of(state) == ["worker-2"]
    status = state.get("DaemonSet", NS, "fluentd-elasticsearch")["status"]
    assert status["desiredNumberScheduled"] == 1 and status["numberMisscheduled"] == 0

    # the label moves to worker-1: the daemon pod leaves worker-2 and starts on worker-1
    del node["metadata"]["labels"]["disktype"]
    state.update(node)
    other = state.get("Node", "", "worker-1")
    other["metadata"]["labels"]["disktype"] = "ssd"
    state.update(other)
    state.commit()
    sync(state)
    deleting = [p for p in daemon_pods(state, live=False) if p["metadata"].get("deletionTimestamp")]
    assert [daemonset.target_node(p) for p in deleting] == ["worker-2"]
    assert ("Normal", "SuccessfulDelete", f"Deleted pod: {deleting[0]['metadata']['name']}") in messages(state)
    settle(state)
    assert nodes_of(state) == ["worker-1"]


def test_node_affinity_and_untolerated_taint():
    state = new_state()
    body = corpus_daemonset()
    body["spec"]["template"]["spec"]["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "NotIn",
                                                     "values": ["worker-1"]}]}]}}}
    apply(state, body)
    state.commit()
    sync(state)
    assert nodes_of(state) == ["worker-2"]
    p = daemon_pods(state)[0]
    assert p["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"] == {
        "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["worker-2"]}]}]}
    settle(state)
    # a NoExecute taint the daemon does not tolerate evicts it
    node = state.get("Node", "", "worker-2")
    node["spec"]["taints"] = [{"key": "maintenance", "value": "true", "effect": "NoExecute"}]
    state.update(node)
    state.commit()
    sync(state)
    assert nodes_of(state) == []
    # a NoSchedule taint keeps a running daemon pod where it is, but starts none
    node["spec"]["taints"] = [{"key": "maintenance", "value": "true", "effect": "NoSchedule"}]
    state.update(node)
    state.commit()
    settle(state)
    assert nodes_of(state) == []


def test_unschedulable_node_still_gets_its_daemon():
    state = new_state()
    node = state.get("Node", "", "worker-1")
    node["spec"]["unschedulable"] = True
    node["spec"]["taints"] = [{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}]
    state.update(node)
    state.commit()
    apply(state, corpus_daemonset())
    state.commit()
    sync(state)
    assert nodes_of(state) == ["worker-1", "worker-2"]


# ---------------------------------------------------------------------------------------- lifecycle

def test_failed_daemon_pod_is_replaced_with_back_off():
    state = new_state()
    apply(state, corpus_daemonset())
    state.commit()
    settle(state)
    p = next(p for p in daemon_pods(state) if p["spec"]["nodeName"] == "worker-1")
    p["status"]["phase"] = "Failed"
    state.update(p)
    state.commit()
    sync(state)
    name = p["metadata"]["name"]
    assert ("Warning", "FailedDaemonPod",
            f"Found failed daemon pod kube-system/{name} on node worker-1, will try to kill it") in messages(state)
    assert state.get("Pod", NS, name) is None, "a finished pod is deleted at once"
    assert nodes_of(state) == ["worker-1", "worker-2"], "and replaced"
    # the next failure on that node within the back-off waits
    settle(state)
    again = next(p for p in daemon_pods(state) if p["spec"]["nodeName"] == "worker-1")
    again["status"]["phase"] = "Failed"
    state.update(again)
    state.commit()
    result = sync(state)
    assert state.get("Pod", NS, again["metadata"]["name"]) is not None
    assert result.next_wake is not None and result.next_wake > state.now
    state.now = result.next_wake
    sync(state)
    assert state.get("Pod", NS, again["metadata"]["name"]) is None


# ---------------------------------------------------------------------------------------- updates

def test_rolling_update_replaces_one_node_at_a_time():
    state = new_state()
    apply(state, with_control_plane_toleration(corpus_daemonset()))
    state.commit()
    settle(state)
    edit(state, lambda spec: spec["template"]["spec"]["containers"][0].update(image="fluentd:v2"))
    sync(state)
    deleting = [p for p in daemon_pods(state, live=False) if p["metadata"].get("deletionTimestamp")]
    assert len(deleting) == 1, "maxUnavailable 1"
    revisions = sorted(r["revision"] for r in revisions_of(state))
    assert revisions == [1, 2]
    status = state.get("DaemonSet", NS, "fluentd-elasticsearch")["status"]
    assert "updatedNumberScheduled" not in status and status["observedGeneration"] == 2  # omitempty
    settle(state)
    assert {image(p) for p in daemon_pods(state)} == {"fluentd:v2"}
    assert nodes_of(state) == ["control-plane", "worker-1", "worker-2"]
    status = state.get("DaemonSet", NS, "fluentd-elasticsearch")["status"]
    assert status["updatedNumberScheduled"] == 3 and status["numberAvailable"] == 3


def test_rolling_update_waits_for_the_new_pod():
    state = new_state()
    apply(state, corpus_daemonset())
    state.commit()
    settle(state)
    edit(state, lambda spec: spec["template"]["spec"]["containers"][0].update(image="fluentd:v2"))
    sync(state)
    for p in state.list("Pod", NS):  # the kubelet ends the old pod; the new one is not ready yet
        if p["metadata"].get("deletionTimestamp"):
            state.delete(p)
    state.commit()
    sync(state)
    assert len(daemon_pods(state)) == 2
    assert not any(p["metadata"].get("deletionTimestamp") for p in state.list("Pod", NS)), \
        "the second old pod waits while the new one is unavailable"


def test_surge_starts_the_new_pod_before_deleting_the_old():
    state = new_state()
    body = corpus_daemonset()
    body["spec"]["updateStrategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    apply(state, body)
    state.commit()
    settle(state)
    edit(state, lambda spec: spec["template"]["spec"]["containers"][0].update(image="fluentd:v2"))
    sync(state)
    assert len(daemon_pods(state)) == 3, "one new pod beside the two old ones"
    assert not any(p["metadata"].get("deletionTimestamp") for p in state.list("Pod", NS))
    schedule_and_run(state)
    sync(state)
    deleting = [p for p in state.list("Pod", NS) if p["metadata"].get("deletionTimestamp")]
    assert len(deleting) == 1 and image(deleting[0]) == "k8s.gcr.io/fluentd-elasticsearch:1.20"
    settle(state)
    assert sorted(image(p) for p in daemon_pods(state)) == ["fluentd:v2", "fluentd:v2"]


def test_on_delete_keeps_old_pods():
    state = new_state()
    body = corpus_daemonset()
    body["spec"]["updateStrategy"] = {"type": "OnDelete"}
    apply(state, body)
    state.commit()
    settle(state)
    edit(state, lambda spec: spec["template"]["spec"]["containers"][0].update(image="fluentd:v2"))
    settle(state)
    assert {image(p) for p in daemon_pods(state)} == {"k8s.gcr.io/fluentd-elasticsearch:1.20"}
    state.delete(daemon_pods(state)[0])
    state.commit()
    settle(state)
    assert sorted(image(p) for p in daemon_pods(state)) == ["fluentd:v2", "k8s.gcr.io/fluentd-elasticsearch:1.20"]


def test_quiet_when_steady():
    state = new_state()
    apply(state, corpus_daemonset())
    state.commit()
    settle(state)
    before = state.writes
    result = step(state, state.now, controllers=[daemonset.reconcile])
    assert state.writes == before and result.changes == []


def test_with_the_whole_engine_when_the_other_modules_are_there():
    for name in ("clusters.engine.scheduler.framework", "clusters.engine.kubelet.lifecycle"):
        try:
            importlib.import_module(name)
        except ModuleNotFoundError:
            pytest.skip(f"{name} not there yet")
    state = new_state()
    apply(state, with_control_plane_toleration(corpus_daemonset()))
    state.commit()
    run(state, state.now + 120)
    pods = daemon_pods(state)
    assert sorted(p["spec"].get("nodeName") for p in pods) == ["control-plane", "worker-1", "worker-2"]
    status = state.get("DaemonSet", NS, "fluentd-elasticsearch")["status"]
    assert status["desiredNumberScheduled"] == 3 and status["currentNumberScheduled"] == 3


def _synced_names(monkeypatch) -> list[str]:
    """The DaemonSets synced from now on. The loop's own check of skips (verify_skips, on in every test) runs
    every controller in full after each step: off here, so that only the step's own syncs count."""
    loop.verify_skips(False)
    synced: list[str] = []
    sync_one = daemonset.sync_daemonset

    def counting(state, ds, nodes, orphans):
        synced.append(ds["metadata"]["name"])
        return sync_one(state, ds, nodes, orphans)
    monkeypatch.setattr(daemonset, "sync_daemonset", counting)
    return synced


def test_a_write_elsewhere_syncs_no_daemonset_and_one_of_its_pods_syncs_only_its_own(monkeypatch):
    """The informers' handlers: a pod of someone else's (or an Event) is none of a DaemonSet's business; a
    daemon pod deleted requeues its own DaemonSet, which makes another (the loop's verify_skips checks that a
    narrowed run misses nothing)."""
    state = new_state()
    apply(state, with_control_plane_toleration(corpus_daemonset()))
    state.commit()
    run(state, state.now + 120)
    synced = _synced_names(monkeypatch)
    others = [ds["metadata"]["name"] for ds in state.list("DaemonSet") if ds["metadata"]["name"] != DS]
    assert others   # kube-proxy's and kindnet's run beside it

    apply(state, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "default"},
                  "spec": {"containers": [{"name": "web", "image": "nginx"}]}})
    state.commit()
    run(state, state.now + 30)
    # (fluentd's own pods may still be starting: their writes requeue fluentd's DaemonSet, as upstream)
    assert not set(synced) & set(others) and state.get("Pod", "default", "web")["status"]["phase"] == "Running"
    synced.clear()

    victim = daemon_pods(state)[0]
    state.delete(victim)
    state.commit()
    run(state, state.now + 30)
    assert set(synced) == {DS}
    assert len(daemon_pods(state)) == 3 and victim["metadata"]["uid"] not in {
        p["metadata"]["uid"] for p in daemon_pods(state)}


def test_an_orphan_pod_or_a_node_written_syncs_every_daemonset(monkeypatch):
    state = new_state()
    apply(state, with_control_plane_toleration(corpus_daemonset()))
    state.commit()
    run(state, state.now + 120)
    synced = _synced_names(monkeypatch)
    node = state.get("Node", "", "worker-1")
    node["metadata"].setdefault("labels", {})["lesson"] = "3"
    state.update(node)
    state.commit()
    run(state, state.now + 1)
    assert set(synced) == {ds["metadata"]["name"] for ds in state.list("DaemonSet")}
