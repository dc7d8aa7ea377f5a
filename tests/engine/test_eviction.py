"""The kubelet's eviction manager under node memory pressure (clusters/engine/kubelet/eviction.py).

A kind node has 8Gi; the kubelet's hard threshold is memory.available<100Mi. Pods pinned to worker-1
with stress holding most of it push the node over: MemoryPressure True, the memory-pressure taint, and the
pod using the most over its request evicted with the kubelet's own message.
"""
from __future__ import annotations

import time

from clusters.engine.kubelet import eviction
from clusters.engine.loop import step
from tests.engine.conftest import T0, apply, collector_held, new_state, run

MIB = 1024 * 1024


def _stress(name: str, megabytes: int, *, node: str = "worker-1", request: str | None = None,
            priority: int | None = None, owner: dict | None = None) -> dict:
    container = {"name": name, "image": "polinux/stress", "command": ["stress"],
                 "args": ["--vm", "1", "--vm-bytes", f"{megabytes}M", "--vm-hang", "1"]}
    if request:
        container["resources"] = {"requests": {"memory": request}}
    spec: dict = {"nodeName": node, "containers": [container]}
    if priority is not None:
        spec["priority"] = priority
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"}, "spec": spec}


def _node(state, name: str = "worker-1") -> dict:
    return state.get("Node", "", name)


def _memory_pressure(node: dict) -> dict:
    return next(c for c in node["status"]["conditions"] if c["type"] == "MemoryPressure")


def _events(results, reason: str) -> list[dict]:
    return [e for r in results for e in r.events if e["reason"] == reason]


def test_memory_pressure_evicts_the_pod_over_its_request_with_the_kubelets_message():
    state = new_state()
    apply(state, _stress("steady", 3700, request="3800Mi"))      # under its request
    apply(state, _stress("hog", 4000))                           # BestEffort: request 0
    results = run(state, T0 + 60)
    hog = state.get("Pod", "default", "hog")
    steady = state.get("Pod", "default", "steady")
    assert hog["status"]["phase"] == "Failed" and hog["status"]["reason"] == "Evicted"
    message = hog["status"]["message"]
    assert message.startswith("The node was low on resource: memory. Threshold quantity: 100Mi, available: ")
    assert "Container hog was using " in message and message.endswith(
        ", request is 0, has larger consumption of memory. ")
    used = message.split("was using ")[1].split(",")[0]
    assert used.endswith("Ki") and abs(int(used[:-2]) * 1024 - (4000 * MIB + 5440 * 1024)) < 50 * MIB
    available = message.split("available: ")[1].split(".")[0]
    assert available.endswith(("Ki", "Mi")) and not available.startswith("-")
    disruption = next(c for c in hog["status"]["conditions"] if c["type"] == "DisruptionTarget")
    assert (disruption["status"], disruption["reason"], disruption["message"]) == \
        ("True", "TerminationByKubelet", message)
    terminated = hog["status"]["containerStatuses"][0]["state"]["terminated"]
    assert terminated["exitCode"] == 137
    evicted = _events(results, "Evicted")
    assert [(e["type"], e["message"], e["source"]["component"]) for e in evicted] == \
        [("Warning", message, "kubelet")]
    # The other pod stays: once the hog is gone the node has memory again.
    assert steady["status"]["phase"] == "Running"
    node = _node(state)
    pressure = _memory_pressure(node)
    assert (pressure["status"], pressure["reason"], pressure["message"]) == \
        ("True", "KubeletHasInsufficientMemory", "kubelet has insufficient memory available")
    assert {"key": "node.kubernetes.io/memory-pressure", "effect": "NoSchedule"} in node["spec"]["taints"]
    assert any(e["message"] == "Node worker-1 status is now: NodeHasInsufficientMemory"
               for e in _events(results, "NodeHasInsufficientMemory"))
    assert _events(results, "EvictionThresholdMet")[0]["message"] == "Attempting to reclaim memory"
    # The evicted pod stays evicted: the kubelet does not run it again.
    run(state, T0 + 120)
    assert state.get("Pod", "default", "hog")["status"]["phase"] == "Failed"
    # After the pressure transition period without pressure, the condition and the taint go.
    results = run(state, T0 + 60 + eviction.PRESSURE_TRANSITION_PERIOD + 30)
    node = _node(state)
    assert _memory_pressure(node)["status"] == "False"
    assert _memory_pressure(node)["reason"] == "KubeletHasSufficientMemory"
    assert not any(t["key"] == "node.kubernetes.io/memory-pressure" for t in node["spec"].get("taints") or ())
    assert _events(results, "NodeHasSufficientMemory")


def test_the_victim_order_is_over_request_first_then_priority_then_usage_over_request():
    state = new_state()
    apply(state, _stress("within", 2500, request="3000Mi", priority=0))
    apply(state, _stress("important", 2600, request="1000Mi", priority=1000))
    apply(state, _stress("small-over", 2600, request="2000Mi", priority=0))
    run(state, T0 + 60)
    phases = {name: state.get("Pod", "default", name)["status"]["phase"]
              for name in ("within", "important", "small-over")}
    # Both over their requests; the lower priority goes first although it is less over its request.
    assert phases == {"within": "Running", "important": "Running", "small-over": "Failed"}


def test_one_pod_per_monitoring_interval_until_the_threshold_is_no_longer_met():
    state = new_state()
    for i in range(4):
        apply(state, _stress(f"hog-{i}", 1930 + i))
    results = run(state, T0 + 5)
    assert len(_events(results, "Evicted")) == 1
    results = run(state, T0 + 60)
    failed = [p["metadata"]["name"] for p in state.list("Pod", "default") if p["status"]["phase"] == "Failed"]
    assert failed == ["hog-3"]                    # the largest over its request; the rest fit afterwards


def test_system_critical_pods_are_never_evicted():
    state = new_state()
    apply(state, _stress("critical", 4000, priority=2_000_001_000))
    apply(state, _stress("plain", 3800))
    run(state, T0 + 30)
    assert state.get("Pod", "default", "critical")["status"]["phase"] == "Running"
    assert state.get("Pod", "default", "plain")["status"]["phase"] == "Failed"


def test_a_replicaset_replaces_its_evicted_pod_and_the_taint_keeps_it_off_the_node():
    state = new_state()
    apply(state, _stress("hog", 7600))
    apply(state, {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web", "namespace": "default"},
                  "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                           "template": {"metadata": {"labels": {"app": "web"}},
                                        "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}]}}}})
    run(state, T0 + 60)
    assert state.get("Pod", "default", "hog")["status"]["reason"] == "Evicted"


def test_no_pressure_costs_next_to_nothing():
    state = new_state(workers=10)
    state.config["start_delays"] = False
    apply(state, {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"},
                  "spec": {"replicas": 400, "selector": {"matchLabels": {"app": "web"}},
                           "template": {"metadata": {"labels": {"app": "web"}},
                                        "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}]}}}})
    run(state, T0 + 60)
    step(state, state.now + 1)
    state.commit()
    with collector_held():
        started = time.perf_counter()
        eviction.reconcile(state)
        first = time.perf_counter() - started
        started = time.perf_counter()
        for _ in range(100):
            eviction.reconcile(state)
        again = (time.perf_counter() - started) / 100
    print(f"\neviction pass over {len(state.list('Pod'))} pods: {first * 1000:.2f} ms, "
          f"then {again * 1000:.3f} ms in the same state")
    assert state.changes() == [] and first < 0.1 and again < 0.005   # generous: a guard, not a benchmark
