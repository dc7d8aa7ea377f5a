"""The scheduler (clusters/engine/scheduler): placement, the real FailedScheduling texts, retries,
volumes, preemption, determinism and throughput. Only the scheduler runs here (other controllers
are tested on their own), on the fake clock."""
from __future__ import annotations

import copy
import time

import pytest

from clusters.engine.loop import step
from clusters.engine.scheduler import framework
from clusters.engine.scheduler.filters import pod_requests
from tests.engine.conftest import T0, apply, new_state
from tests.fixtures import corpus_object

POSTFILTER = "no new claims to deallocate, preemption: "
TAINT = "node(s) had untolerated taint(s)"


def run(state, until: float | None = None) -> list:
    """Step the scheduler alone, honouring its wake-ups, up to `until` (default: now)."""
    until = state.now if until is None else until
    results = [step(state, state.now, controllers=[framework.reconcile])]
    state.commit()
    while results[-1].next_wake is not None and results[-1].next_wake <= until:
        results.append(step(state, max(results[-1].next_wake, state.now), controllers=[framework.reconcile]))
        state.commit()
    state.now = max(state.now, until)
    return results


def pod(name: str, *, cpu: str | None = None, memory: str | None = None, labels: dict | None = None,
        namespace: str = "default", **spec) -> dict:
    container = {"name": "app", "image": "nginx"}
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v}
    if requests:
        container["resources"] = {"requests": requests}
    body = {"containers": [container], **spec}
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "labels": labels or {}}, "spec": body}


def node_of(state, name: str, namespace: str = "default") -> str | None:
    return state.get("Pod", namespace, name)["spec"].get("nodeName")


def condition(state, name: str) -> dict:
    p = state.get("Pod", "default", name)
    return next(c for c in p["status"]["conditions"] if c["type"] == "PodScheduled")


def events(state, reason: str, name: str | None = None) -> list[dict]:
    return [e for e in state.list("Event") if e["reason"] == reason
            and (name is None or e["involvedObject"]["name"] == name)]


# ------------------------------------------------------------------ placement and taints
def test_pod_lands_on_a_worker_not_the_tainted_control_plane():
    state = new_state(workers=2)
    for i in range(6):
        apply(state, pod(f"web-{i}"))
    run(state)
    placed = [node_of(state, f"web-{i}") for i in range(6)]
    assert set(placed) == {"worker-1", "worker-2"}
    assert placed.count("worker-1") == placed.count("worker-2") == 3  # least allocated spreads them
    web = state.get("Pod", "default", "web-0")
    cond = condition(state, "web-0")
    assert cond == {"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                    "lastTransitionTime": "2027-01-15T08:00:00Z"}
    [scheduled] = events(state, "Scheduled", "web-0")
    assert scheduled["type"] == "Normal"
    assert scheduled["message"] == f"Successfully assigned default/web-0 to {web['spec']['nodeName']}"
    assert scheduled["source"] == {"component": "default-scheduler"}


def test_a_pod_tolerating_the_taint_may_land_on_the_control_plane():
    state = new_state(workers=0)
    apply(state, pod("plain"))
    apply(state, pod("tolerant", tolerations=[{"key": "node-role.kubernetes.io/control-plane",
                                               "operator": "Exists", "effect": "NoSchedule"}]))
    run(state)
    assert node_of(state, "tolerant") == "control-plane"
    assert node_of(state, "plain") is None
    assert condition(state, "plain")["message"] == (
        f"0/1 nodes are available: 1 {TAINT}. {POSTFILTER}"
        "0/1 nodes are available: 1 Preemption is not helpful for scheduling.")


def test_pod_nginx_corpus_manifest_with_a_nodeselector_nobody_has_stays_pending():
    state = new_state(workers=2)
    manifest = corpus_object("pods__pod-nginx.yaml")
    manifest["metadata"]["namespace"] = "default"
    apply(state, manifest)
    run(state)
    expected = (f"0/3 nodes are available: 1 {TAINT}, 2 node(s) didn't match Pod's node affinity/selector. "
                f"{POSTFILTER}0/3 nodes are available: 3 Preemption is not helpful for scheduling.")
    assert node_of(state, "nginx") is None
    cond = condition(state, "nginx")
    assert (cond["status"], cond["reason"], cond["message"]) == ("False", "Unschedulable", expected)
    assert cond["lastProbeTime"] is None
    [failed] = events(state, "FailedScheduling", "nginx")
    assert (failed["type"], failed["message"], failed["source"]["component"]) == \
        ("Warning", expected, "default-scheduler")
    # Labelling a node is a cluster change: the pod is retried (after its 1 s back-off) and lands there.
    worker = state.get("Node", "", "worker-2")
    worker["metadata"]["labels"]["disktype"] = "ssd"
    state.update(worker)
    run(state, T0 + 2)
    assert node_of(state, "nginx") == "worker-2"
    assert condition(state, "nginx")["status"] == "True"


# ------------------------------------------------------------------ resources
def test_requests_beyond_free_capacity_are_insufficient_cpu():
    state = new_state(workers=2)
    for name in ("a", "b", "c"):
        apply(state, pod(name, cpu="3"))
    apply(state, pod("huge", cpu="5", memory="1Gi"))
    run(state)
    assert {node_of(state, "a"), node_of(state, "b")} == {"worker-1", "worker-2"}
    assert node_of(state, "c") is None
    # Room could be made by evicting pods, but none has a lower priority.
    assert condition(state, "c")["message"] == (
        f"0/3 nodes are available: 1 {TAINT}, 2 Insufficient cpu. {POSTFILTER}0/3 nodes are available: "
        "1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod.")
    # More than a node has at all: preemption cannot help anywhere.
    assert condition(state, "huge")["message"] == (
        f"0/3 nodes are available: 1 {TAINT}, 2 Insufficient cpu. {POSTFILTER}0/3 nodes are available: "
        "3 Preemption is not helpful for scheduling.")


def test_memory_and_cpu_both_reported():
    state = new_state(workers=1)
    apply(state, pod("hog", cpu="3500m", memory="7Gi"))
    apply(state, pod("next", cpu="1", memory="2Gi"))
    run(state)
    assert node_of(state, "hog") == "worker-1"
    assert condition(state, "next")["message"].startswith(
        f"0/2 nodes are available: 1 Insufficient cpu, 1 Insufficient memory, 1 {TAINT}.")


def test_the_pod_count_is_checked_against_allocatable_pods():
    state = new_state(workers=1)
    worker = state.get("Node", "", "worker-1")
    worker["status"]["allocatable"]["pods"] = "2"
    state.update(worker)
    for i in range(3):
        apply(state, pod(f"p{i}"))
    run(state)
    assert [node_of(state, f"p{i}") for i in range(3)] == ["worker-1", "worker-1", None]
    assert condition(state, "p2")["message"] == (
        f"0/2 nodes are available: 1 Too many pods, 1 {TAINT}. {POSTFILTER}0/2 nodes are available: "
        "1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling.")


def test_terminal_pods_free_their_room():
    state = new_state(workers=1)
    apply(state, pod("done", cpu="3"))
    run(state)
    done = state.get("Pod", "default", "done")
    done["status"]["phase"] = "Succeeded"
    state.update(done)
    apply(state, pod("next", cpu="3"))
    run(state)
    assert node_of(state, "next") == "worker-1"


def test_pod_requests_follow_the_init_container_max_rule_and_overhead():
    spec = {"containers": [{"name": "a", "resources": {"requests": {"cpu": "200m", "memory": "1Gi"}}},
                           {"name": "b", "resources": {"requests": {"cpu": "100m"}}}],
            "initContainers": [{"name": "i", "resources": {"requests": {"cpu": "2", "memory": "512Mi"}}},
                               {"name": "side", "restartPolicy": "Always",
                                "resources": {"requests": {"cpu": "50m"}}}],
            "overhead": {"cpu": "10m"}}
    assert pod_requests(spec) == {"cpu": 2000 + 10, "memory": 1024 ** 3}
    assert pod_requests({"containers": [{"name": "a"}]}) == {}


# ------------------------------------------------------------------ affinity, spreading, ports
def test_required_anti_affinity_spreads_replicas_one_per_node():
    state = new_state(workers=2)
    anti = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "cache"}}, "topologyKey": "kubernetes.io/hostname"}]}}
    for i in range(3):
        apply(state, pod(f"cache-{i}", labels={"app": "cache"}, affinity=anti))
    run(state)
    placed = [node_of(state, f"cache-{i}") for i in range(3)]
    assert sorted(p for p in placed if p) == ["worker-1", "worker-2"]
    assert placed[2] is None
    assert condition(state, "cache-2")["message"] == (
        f"0/3 nodes are available: 1 {TAINT}, 2 node(s) didn't match pod anti-affinity rules. {POSTFILTER}"
        "0/3 nodes are available: 1 Preemption is not helpful for scheduling, "
        "2 No preemption victims found for incoming pod.")


def test_required_pod_affinity_follows_the_first_pod():
    state = new_state(workers=3)
    together = {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "db"}}, "topologyKey": "kubernetes.io/hostname"}]}}
    apply(state, pod("db", labels={"app": "db"}))
    run(state)
    for i in range(3):
        apply(state, pod(f"client-{i}", affinity=together))
    apply(state, pod("orphan", affinity={"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "nothing"}}, "topologyKey": "kubernetes.io/hostname"}]}}))
    run(state)
    assert {node_of(state, f"client-{i}") for i in range(3)} == {node_of(state, "db")}
    assert condition(state, "orphan")["message"].startswith(
        f"0/4 nodes are available: 1 {TAINT}, 3 node(s) didn't match pod affinity rules.")


def test_node_affinity_operators_and_the_daemonset_style_name_field():
    state = new_state(workers=3)
    for name, gen in (("worker-1", "3"), ("worker-2", "5"), ("worker-3", "7")):
        node = state.get("Node", "", name)
        node["metadata"]["labels"]["gen"] = gen
        state.update(node)

    def required(*terms):
        return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": list(terms)}}}

    apply(state, pod("gt", affinity=required({"matchExpressions": [
        {"key": "gen", "operator": "Gt", "values": ["5"]}]})))
    apply(state, pod("notin", affinity=required({"matchExpressions": [
        {"key": "gen", "operator": "NotIn", "values": ["3", "7"]},
        {"key": "node-role.kubernetes.io/control-plane", "operator": "DoesNotExist"}]})))
    apply(state, pod("lt-or", affinity=required(
        {"matchExpressions": [{"key": "gen", "operator": "Lt", "values": ["4"]}]},
        {"matchExpressions": [{"key": "gen", "operator": "In", "values": ["nope"]}]})))
    apply(state, pod("ds", cpu="5", affinity=required({"matchFields": [
        {"key": "metadata.name", "operator": "In", "values": ["worker-2"]}]})))
    run(state)
    assert (node_of(state, "gt"), node_of(state, "notin"), node_of(state, "lt-or")) == \
        ("worker-3", "worker-2", "worker-1")
    assert condition(state, "ds")["message"] == (
        "0/4 nodes are available: 1 Insufficient cpu, 3 node(s) didn't satisfy plugin(s) [NodeAffinity]. "
        f"{POSTFILTER}0/4 nodes are available: 4 Preemption is not helpful for scheduling.")


def test_preferred_node_affinity_wins_over_balance():
    state = new_state(workers=3)
    node = state.get("Node", "", "worker-3")
    node["metadata"]["labels"]["zone"] = "blue"
    state.update(node)
    prefer = {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 50, "preference": {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["blue"]}]}}]}}
    for i in range(3):
        apply(state, pod(f"p{i}", affinity=prefer))
    run(state)
    assert {node_of(state, f"p{i}") for i in range(3)} == {"worker-3"}


def test_prefer_no_schedule_taint_is_avoided_but_allowed():
    state = new_state(workers=2)
    node = state.get("Node", "", "worker-1")
    node["spec"]["taints"] = [{"key": "slow", "effect": "PreferNoSchedule"}]
    state.update(node)
    apply(state, pod("a"))
    run(state)
    assert node_of(state, "a") == "worker-2"


def test_cordoned_node_and_host_ports():
    state = new_state(workers=2)
    node = state.get("Node", "", "worker-1")
    node["spec"]["unschedulable"] = True
    state.update(node)
    ports = [{"name": "app", "image": "nginx", "ports": [{"containerPort": 80, "hostPort": 8080}]}]
    apply(state, pod("first", containers=ports))
    apply(state, pod("second", containers=copy.deepcopy(ports)))
    run(state)
    assert node_of(state, "first") == "worker-2"
    assert condition(state, "second")["message"] == (
        f"0/3 nodes are available: 1 node(s) didn't have free ports for the requested pod ports, "
        f"1 {TAINT}, 1 node(s) were unschedulable. {POSTFILTER}0/3 nodes are available: "
        "1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling.")


def test_topology_spread_do_not_schedule():
    state = new_state(workers=2)
    spread = [{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "DoNotSchedule",
               "labelSelector": {"matchLabels": {"app": "s"}}}]
    pin = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In", "values": ["worker-1"]}]}]}}}
    apply(state, pod("s0", labels={"app": "s"}))
    run(state)
    first = node_of(state, "s0")
    other = "worker-2" if first == "worker-1" else "worker-1"
    pin["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0][
        "matchExpressions"][0]["values"] = [first]
    apply(state, pod("s1", labels={"app": "s"}, topologySpreadConstraints=spread, affinity=pin))
    apply(state, pod("s2", labels={"app": "s"}, topologySpreadConstraints=spread))
    run(state)
    assert node_of(state, "s2") == other
    # s1 may only go to `first`, already one ahead: with nodeAffinityPolicy Honor only that node counts,
    # so the skew is 0 there and it is allowed.
    assert node_of(state, "s1") == first


# ------------------------------------------------------------------ volumes
def _claim(name: str, storage_class: str | None, **status) -> dict:
    spec = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
    if storage_class is not None:
        spec["storageClassName"] = storage_class
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": name, "namespace": "default"}, "spec": spec, "status": status or {"phase": "Pending"}}


def _with_claim(name: str, claim: str) -> dict:
    return pod(name, volumes=[{"name": "data", "persistentVolumeClaim": {"claimName": claim}}])


def test_a_missing_claim_and_an_unbound_immediate_claim_wait():
    state = new_state(workers=2)
    apply(state, _with_claim("lost", "nothing-here"))
    apply(state, _claim("task-pv-claim", "manual"))
    apply(state, _with_claim("task-pv-pod", "task-pv-claim"))
    run(state)
    assert condition(state, "lost")["message"] == (
        '0/3 nodes are available: persistentvolumeclaim "nothing-here" not found. '
        "preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.")
    assert condition(state, "task-pv-pod")["message"] == (
        "0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims. "
        "preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.")
    # The volume controller binds the claim: the pod is retried (claims are part of what it waits on).
    apply(state, {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "task-pv-volume"},
                  "spec": {"capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteOnce"],
                           "storageClassName": "manual", "hostPath": {"path": "/mnt/data"}},
                  "status": {"phase": "Bound"}})
    claim = state.get("PersistentVolumeClaim", "default", "task-pv-claim")
    claim["spec"]["volumeName"] = "task-pv-volume"
    claim["status"] = {"phase": "Bound"}
    state.update(claim)
    run(state, T0 + 2)
    assert node_of(state, "task-pv-pod") in ("worker-1", "worker-2")
    assert node_of(state, "lost") is None


def test_wait_for_first_consumer_claim_gets_a_selected_node_then_the_pod_follows():
    state = new_state(workers=2)
    apply(state, _claim("data", None))  # no class: the default one ("standard", WaitForFirstConsumer)
    claim = state.get("PersistentVolumeClaim", "default", "data")
    claim["spec"]["storageClassName"] = "standard"  # what the DefaultStorageClass admission sets
    apply(state, _with_claim("app", "data"))
    run(state)
    claim = state.get("PersistentVolumeClaim", "default", "data")
    selected = claim["metadata"]["annotations"]["volume.kubernetes.io/selected-node"]
    assert selected in ("worker-1", "worker-2")
    assert node_of(state, "app") is None  # held in PreBind until the volume exists
    assert not events(state, "FailedScheduling")
    run(state, T0 + 5)
    assert node_of(state, "app") is None
    # The provisioner creates the volume on that node and the claim binds.
    apply(state, {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "pvc-1"},
                  "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                           "storageClassName": "standard", "nodeAffinity": {"required": {"nodeSelectorTerms": [
                               {"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In",
                                                      "values": [selected]}]}]}}},
                  "status": {"phase": "Bound"}})
    claim["spec"]["volumeName"] = "pvc-1"
    claim["status"] = {"phase": "Bound"}
    state.update(claim)
    run(state, T0 + 6)
    assert node_of(state, "app") == selected


def test_wait_for_first_consumer_without_provisioner_reserves_a_matching_volume():
    state = new_state(workers=2)
    apply(state, {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "local"},
                  "provisioner": "kubernetes.io/no-provisioner", "volumeBindingMode": "WaitForFirstConsumer"})
    apply(state, {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "disk-2"},
                  "spec": {"capacity": {"storage": "5Gi"}, "accessModes": ["ReadWriteOnce"],
                           "storageClassName": "local", "local": {"path": "/mnt/disk"},
                           "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                               {"key": "kubernetes.io/hostname", "operator": "In", "values": ["worker-2"]}]}]}}},
                  "status": {"phase": "Available"}})
    state.get("PersistentVolume", "", "disk-2")["status"]["phase"] = "Available"  # the PV controller's work
    apply(state, _claim("fast", "local"))
    apply(state, _claim("none", "local"))
    apply(state, _with_claim("app", "fast"))
    run(state)
    pv = state.get("PersistentVolume", "", "disk-2")
    assert pv["spec"]["claimRef"]["name"] == "fast"
    assert pv["metadata"]["annotations"]["pv.kubernetes.io/bound-by-controller"] == "yes"
    apply(state, _with_claim("stuck", "none"))
    run(state, T0 + 1)
    assert condition(state, "stuck")["message"].startswith(
        f"0/3 nodes are available: 1 {TAINT}, 2 node(s) didn't find available persistent volumes to bind.")


# ------------------------------------------------------------------ retries and events
def test_failed_scheduling_is_not_re_emitted_every_pass_but_on_the_real_schedule():
    state = new_state(workers=1)
    apply(state, pod("big", cpu="8"))
    results = run(state, T0 + 20)
    [failed] = events(state, "FailedScheduling", "big")
    assert failed["count"] == 1
    assert all(r.passes <= 2 for r in results)
    assert results[-1].next_wake == T0 + 300  # podMaxInUnschedulablePodsDuration
    run(state, T0 + 301)
    [failed] = events(state, "FailedScheduling", "big")
    assert failed["count"] == 2
    assert failed["lastTimestamp"] == "2027-01-15T08:05:00Z"
    # A new node is a cluster change: retried after the back-off (2 s after the second attempt).
    worker = copy.deepcopy(state.get("Node", "", "worker-1"))
    worker["metadata"] = {"name": "worker-9", "labels": {**worker["metadata"]["labels"],
                                                          "kubernetes.io/hostname": "worker-9"}}
    worker["status"]["allocatable"]["cpu"] = worker["status"]["capacity"]["cpu"] = "16"
    apply(state, worker)
    run(state, T0 + 301)
    assert node_of(state, "big") is None
    run(state, T0 + 303)
    assert node_of(state, "big") == "worker-9"


def test_priority_first_then_age():
    state = new_state(workers=1)
    apply(state, pod("low", cpu="3"))
    state.now += 1
    apply(state, pod("high", cpu="3", priority=1000))
    run(state)
    assert (node_of(state, "high"), node_of(state, "low")) == ("worker-1", None)


def test_pods_for_other_schedulers_gated_or_deleted_are_left_alone():
    state = new_state(workers=1)
    apply(state, pod("other", schedulerName="my-scheduler"))
    apply(state, pod("gated", schedulingGates=[{"name": "example.com/wait"}]))
    doomed = apply(state, pod("doomed"))
    doomed["metadata"]["deletionTimestamp"] = "2027-01-15T08:00:30Z"
    run(state)
    assert [node_of(state, n) for n in ("other", "gated", "doomed")] == [None, None, None]
    assert not state.list("Event")


# ------------------------------------------------------------------ preemption
def test_a_higher_priority_pod_preempts_a_lower_one():
    state = new_state(workers=1)
    apply(state, pod("batch", cpu="3", priority=-10))
    run(state)
    apply(state, pod("urgent", cpu="3", priority=1000))
    run(state, T0 + 1)
    urgent = state.get("Pod", "default", "urgent")
    batch = state.get("Pod", "default", "batch")
    assert urgent["status"]["nominatedNodeName"] == "worker-1"
    assert batch["metadata"]["deletionTimestamp"] == "2027-01-15T08:00:30Z"  # grace period 30 s
    assert any(c["type"] == "DisruptionTarget" and c["reason"] == "PreemptionByScheduler"
               for c in batch["status"]["conditions"])
    [preempted] = events(state, "Preempted", "batch")
    assert preempted["message"] == f"Preempted by pod {urgent['metadata']['uid']} on node worker-1"
    # Preemption succeeded, so the PostFilter adds nothing to the message.
    assert condition(state, "urgent")["message"] == f"0/2 nodes are available: 1 Insufficient cpu, 1 {TAINT}."
    # Once the victim is gone (its kubelet's work), the preemptor is bound.
    state.delete(batch)
    run(state, T0 + 3)
    assert node_of(state, "urgent") == "worker-1"


def test_preemption_policy_never():
    state = new_state(workers=1)
    apply(state, pod("batch", cpu="3", priority=-10))
    run(state)
    apply(state, pod("polite", cpu="3", priority=1000, preemptionPolicy="Never"))
    run(state)
    assert node_of(state, "batch") == "worker-1"
    assert not state.get("Pod", "default", "batch")["metadata"].get("deletionTimestamp")
    assert condition(state, "polite")["message"].endswith(
        f"{POSTFILTER}not eligible due to preemptionPolicy=Never.")


# ------------------------------------------------------------------ determinism and speed
def _scenario() -> list:
    state = new_state(workers=4, seed=11)
    for i in range(40):
        apply(state, pod(f"p{i:02d}", cpu=f"{100 + 37 * (i % 5)}m", labels={"app": f"a{i % 3}"}))
    run(state)
    return [(p["metadata"]["name"], p["spec"].get("nodeName")) for p in state.list("Pod", "default")]


def test_deterministic():
    first = _scenario()
    assert first == _scenario()
    assert len({n for _, n in first}) == 4


def test_throughput_on_ten_nodes(capsys):
    state = new_state(workers=10)
    for node in state.list("Node"):
        node["status"]["allocatable"]["pods"] = "500"
    state.commit()
    count = 2000
    for i in range(count):
        apply(state, pod(f"load-{i:04d}", cpu="10m", memory="16Mi"))
    state.commit()
    quiet = copy.deepcopy(state)
    started = time.perf_counter()
    step(state, state.now, controllers=[framework.reconcile])
    elapsed = time.perf_counter() - started
    bound = sum(1 for p in state.list("Pod", "default") if p["spec"].get("nodeName"))
    assert bound == count
    # The same without recording events, to show the scheduler's own share (ClusterState.event
    # looks for an identical event to aggregate by scanning the namespace's events each time).
    quiet.event = lambda *args, **kwargs: None
    started = time.perf_counter()
    step(quiet, quiet.now, controllers=[framework.reconcile])
    alone = time.perf_counter() - started
    with capsys.disabled():
        print(f"\nscheduler: {count} pods on 10 nodes in {elapsed:.2f}s = {count / elapsed:,.0f} pods/s "
              f"with their Scheduled events; {count / alone:,.0f} pods/s without recording events")


def test_idle_pass_is_cheap(capsys):
    state = new_state(workers=3)
    for i in range(150):
        apply(state, pod(f"p{i}"))
    run(state)
    started = time.perf_counter()
    for _ in range(20):
        framework.reconcile(state)
    elapsed = (time.perf_counter() - started) / 20
    with capsys.disabled():
        print(f"\nscheduler idle pass over {len(state.all_objects())} objects: {elapsed * 1000:.2f} ms")


@pytest.mark.parametrize("workers", [2])
def test_balanced_spread_of_a_replica_set(workers):
    state = new_state(workers=workers)
    owner = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-abc", "uid": "rs-1", "controller": True}
    for i in range(4):
        p = pod(f"web-abc-{i}", cpu="100m")
        p["metadata"]["ownerReferences"] = [owner]
        apply(state, p)
    run(state)
    placed = [node_of(state, f"web-abc-{i}") for i in range(4)]
    assert placed.count("worker-1") == placed.count("worker-2") == 2
