"""The resource model (clusters/engine/metrics.py): what containers use and metrics-server's view of it.

The figures are the ones the kubernetes.io tasks print: "Assign Memory Resources to Containers and Pods"
(polinux/stress holding 150 MiB shows ~162856960 bytes; 250M under a 100Mi limit is OOMKilled, exit 137,
restarted with back-off) and "Assign CPU Resources to Containers and Pods" (vish/stress `-cpus 2` under a
limit of 1 CPU shows ~974m), and the HPA walkthrough's load generator against php-apache.
"""
from __future__ import annotations

import time

from clusters.engine import metrics
from clusters.engine.kubelet.system_images import METRICS_SERVER_IMAGE
from clusters.engine.loop import step
from tests.engine.conftest import T0, apply, collector_held, new_state, run

MIB = 1024 * 1024


def _pod(name: str, image: str, *, namespace: str = "default", command=None, args=None, requests=None,
         limits=None, labels=None, node: str | None = None, restart: str | None = None) -> dict:
    container: dict = {"name": f"{name}-ctr", "image": image}
    if command is not None:
        container["command"] = command
    if args is not None:
        container["args"] = args
    resources = {}
    if requests:
        resources["requests"] = requests
    if limits:
        resources["limits"] = limits
    if resources:
        container["resources"] = resources
    spec: dict = {"containers": [container]}
    if node:
        spec["nodeName"] = node
    if restart:
        spec["restartPolicy"] = restart
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "labels": labels or {"app": name}}, "spec": spec}


def _with_metrics_server(state) -> None:
    apply(state, _pod("metrics-server", METRICS_SERVER_IMAGE, namespace="kube-system",
                      labels={"k8s-app": "metrics-server"}, args=["--secure-port=10250"]))


def _without_metrics_server(state) -> None:
    """A cluster whose metrics-server is not installed (bootstrap may install one: remove it)."""
    for kind in ("Deployment", "ReplicaSet", "Pod"):
        for obj in state.list(kind, "kube-system"):
            if obj["metadata"]["name"].startswith("metrics-server"):
                state.delete(obj)
    state.commit()


def _usage(state, name: str, namespace: str = "default") -> metrics.PodUsage | None:
    pod = state.get("Pod", namespace, name)
    return metrics.pod_usage(state, state.now).get(pod["metadata"]["uid"]) if pod else None


def _status(pod: dict) -> dict:
    return pod["status"]["containerStatuses"][0]


# ------------------------------------------------------------------ the memory task

def test_stress_holding_150M_under_a_200Mi_limit_runs_at_about_150MiB():
    state = new_state()
    apply(state, _pod("memory-demo", "polinux/stress", command=["stress"],
                      args=["--vm", "1", "--vm-bytes", "150M", "--vm-hang", "1"],
                      requests={"memory": "100Mi"}, limits={"memory": "200Mi"}))
    run(state, T0 + 60)
    pod = state.get("Pod", "default", "memory-demo")
    assert pod["status"]["phase"] == "Running" and _status(pod)["restartCount"] == 0
    usage = _usage(state, "memory-demo")
    # The task's kubectl top: 162856960 bytes, "about 150 MiB": 150 MiB plus stress's own pages.
    assert abs(usage.memory_bytes - 162_856_960) < 2 * MIB
    assert usage.memory_bytes % 4096 == 0
    assert usage.cpu_millicores < 100           # the worker parks a second between allocations


def test_stress_asking_250M_under_a_100Mi_limit_is_oomkilled_and_restarted_with_back_off():
    state = new_state()
    apply(state, _pod("memory-demo-2", "polinux/stress", command=["stress"],
                      args=["--vm", "1", "--vm-bytes", "250M", "--vm-hang", "1"],
                      requests={"memory": "50Mi"}, limits={"memory": "100Mi"}))
    results = run(state, T0 + 120)
    pod = state.get("Pod", "default", "memory-demo-2")
    status = _status(pod)
    assert status["restartCount"] >= 2
    last = status["lastState"]["terminated"]
    assert (last["reason"], last["exitCode"]) == ("OOMKilled", 137)
    events = [e for r in results for e in r.events if e["involvedObject"]["name"] == "memory-demo-2"]
    assert any(e["reason"] == "BackOff" and "Back-off restarting failed container memory-demo-2-ctr" in e["message"]
               for e in events)
    waiting = status["state"].get("waiting") or {}
    terminated = status["state"].get("terminated") or {}
    # kubectl get pod's STATUS: CrashLoopBackOff while it waits, OOMKilled between the kill and the restart.
    assert waiting.get("reason") == "CrashLoopBackOff" or terminated.get("reason") == "OOMKilled" \
        or "running" in status["state"]
    # While it runs it never shows more memory than its limit.
    usage = _usage(state, "memory-demo-2")
    assert usage is None or usage.memory_bytes <= 100 * MIB


def test_stress_in_a_shell_script_is_oomkilled_too():
    state = new_state()
    apply(state, _pod("hog", "polinux/stress", command=["sh", "-c"],
                      args=["echo start; stress --vm 1 --vm-bytes 250M --vm-hang 1"],
                      limits={"memory": "100Mi"}, restart="Never"))
    run(state, T0 + 30)
    pod = state.get("Pod", "default", "hog")
    terminated = _status(pod)["state"]["terminated"]
    assert (terminated["reason"], terminated["exitCode"]) == ("OOMKilled", 137)
    assert pod["status"]["phase"] == "Failed"


def test_a_1000Gi_request_is_pending_with_insufficient_memory():
    state = new_state()
    apply(state, _pod("memory-demo-3", "polinux/stress", command=["stress"],
                      args=["--vm", "1", "--vm-bytes", "150M", "--vm-hang", "1"],
                      requests={"memory": "1000Gi"}, limits={"memory": "1000Gi"}))
    results = run(state, T0 + 30)
    pod = state.get("Pod", "default", "memory-demo-3")
    assert pod["status"]["phase"] == "Pending"
    messages = [e["message"] for r in results for e in r.events if e["reason"] == "FailedScheduling"]
    assert messages and "Insufficient memory" in messages[-1]


# ------------------------------------------------------------------ the CPU task

def test_vish_stress_asking_two_cpus_is_throttled_a_little_under_its_limit_of_one():
    state = new_state()
    apply(state, _pod("cpu-demo", "vish/stress", args=["-cpus", "2"],
                      requests={"cpu": "0.5"}, limits={"cpu": "1"}))
    run(state, T0 + 60)
    usage = _usage(state, "cpu-demo")
    assert 960 <= usage.cpu_millicores <= 990       # the task shows 974m
    for when in range(0, 300, 15):                   # never above the limit, whatever the jitter
        sample = metrics.pod_usage(state, T0 + 60 + when, rates={})
        assert sample[usage.uid].cpu_millicores < 1000


def test_vish_stress_without_a_limit_uses_what_it_asks_up_to_the_nodes_cores():
    state = new_state()
    apply(state, _pod("cpu-free", "vish/stress", args=["-cpus", "2"]))
    apply(state, _pod("cpu-greedy", "vish/stress", args=["-cpus=8"]))
    run(state, T0 + 60)
    assert 1900 <= _usage(state, "cpu-free").cpu_millicores <= 2100
    assert _usage(state, "cpu-greedy").cpu_millicores <= 4000      # a kind node has 4 cores


def test_vish_stress_allocates_its_mem_total_over_time_and_is_oomkilled_past_its_limit():
    state = new_state()
    apply(state, _pod("grow", "vish/stress", args=["-mem-total", "50Mi", "-mem-alloc-size", "1Mi",
                                                   "-mem-alloc-sleep", "100ms"]))
    apply(state, _pod("burst", "vish/stress", args=["-mem-total", "300Mi", "-mem-alloc-size", "10Mi",
                                                    "-mem-alloc-sleep", "1s"], limits={"memory": "100Mi"},
                      restart="Never"))
    run(state, T0 + 3)
    early = _usage(state, "grow").memory_bytes
    run(state, T0 + 60)
    assert early < _usage(state, "grow").memory_bytes <= 52 * MIB
    terminated = _status(state.get("Pod", "default", "burst"))["state"]["terminated"]
    assert (terminated["reason"], terminated["exitCode"]) == ("OOMKilled", 137)


# ------------------------------------------------------------------ what shell scripts use

def _shell_pod(name: str, script: str, image: str = "busybox:1.36") -> dict:
    return _pod(name, image, command=["/bin/sh", "-c", script])


def test_shell_loops_and_burners_use_cpu_as_their_commands_do():
    state = new_state(workers=3)
    scripts = {
        "spin": "while true; do :; done",
        "nap": "while true; do sleep 5; done",
        "yes": "yes > /dev/null",
        "dd": "dd if=/dev/zero of=/dev/null",
        "stress-cpu": "stress --cpu 2",
        "later": "sleep 30; yes > /dev/null",
    }
    for name, script in scripts.items():
        apply(state, _shell_pod(name, script, "polinux/stress" if name.startswith("stress") else "busybox:1.36"))
    run(state, T0 + 10)
    cpu = {name: _usage(state, name).cpu_millicores for name in scripts}
    assert 950 <= cpu["spin"] <= 1050
    assert cpu["nap"] < 2
    assert 950 <= cpu["yes"] <= 1050 and 950 <= cpu["dd"] <= 1050
    assert 1900 <= cpu["stress-cpu"] <= 2100
    assert cpu["later"] < 2                      # still asleep
    run(state, T0 + 40)
    assert 950 <= _usage(state, "later").cpu_millicores <= 1050


# ------------------------------------------------------------------ the HPA walkthrough's load

def _php_apache(state, replicas: int = 1) -> None:
    labels = {"run": "php-apache"}
    apply(state, {"apiVersion": "apps/v1", "kind": "Deployment",
                  "metadata": {"name": "php-apache", "namespace": "default"},
                  "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                           "template": {"metadata": {"labels": labels},
                                        "spec": {"containers": [{
                                            "name": "php-apache", "image": "registry.k8s.io/hpa-example",
                                            "ports": [{"containerPort": 80}],
                                            "resources": {"limits": {"cpu": "500m"},
                                                          "requests": {"cpu": "200m"}}}]}}}})
    # The engine's preparer allocates no addresses: the clusterIP is given as the API server's allocator would.
    apply(state, {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "php-apache", "namespace": "default"},
                  "spec": {"selector": labels, "clusterIP": "10.96.0.50", "ports": [{"port": 80, "protocol": "TCP"}]}})


LOAD = "while sleep 0.01; do wget -q -O- http://php-apache; done"


def test_the_walkthroughs_load_generator_drives_one_php_apache_pod_to_about_twice_its_request():
    state = new_state()
    _php_apache(state)
    run(state, T0 + 30)
    apply(state, _shell_pod("load-generator", LOAD, "busybox:1.28"))
    run(state, T0 + 60)
    php = [p for p in state.list("Pod", "default") if p["metadata"]["name"].startswith("php-apache")]
    usage = metrics.pod_usage(state, state.now)[php[0]["metadata"]["uid"]]
    # Each request waits for the answer of a pod throttled at its 500m limit: around 200% of its 200m request.
    assert 360 <= usage.cpu_millicores <= 480
    generator = _usage(state, "load-generator")
    assert 1 <= generator.cpu_millicores <= 20   # a few millicores: sleep and wget started ~30 times a second


def test_the_load_spread_over_more_replicas_is_less_each():
    state = new_state()
    _php_apache(state, replicas=6)
    run(state, T0 + 30)
    apply(state, _shell_pod("load-generator", LOAD, "busybox:1.28"))
    run(state, T0 + 60)
    php = [p for p in state.list("Pod", "default") if p["metadata"]["name"].startswith("php-apache")]
    usages = metrics.pod_usage(state, state.now)
    each = [usages[p["metadata"]["uid"]].cpu_millicores for p in php]
    assert len(each) == 6 and all(50 <= cpu <= 200 for cpu in each), each


# ------------------------------------------------------------------ metrics-server's scrape

def test_no_metrics_before_metrics_server_is_ready_and_a_pod_only_after_a_full_window():
    state = new_state()
    _without_metrics_server(state)
    apply(state, _pod("web", "nginx:1.27"))
    run(state, T0 + 40)
    assert metrics.scrape(state) is None
    _with_metrics_server(state)
    run(state, T0 + 80)
    sample = metrics.scrape(state)
    assert sample is not None and sample.timestamp % metrics.RESOLUTION == 0
    web = state.get("Pod", "default", "web")
    assert web["metadata"]["uid"] in sample.pods
    apply(state, _pod("late", "nginx:1.27"))
    run(state, state.now + 2)
    late = state.get("Pod", "default", "late")
    assert late["metadata"]["uid"] not in metrics.scrape(state).pods       # no whole window yet
    run(state, state.now + 2 * metrics.RESOLUTION)
    assert late["metadata"]["uid"] in metrics.scrape(state).pods


def test_metrics_objects_have_the_metrics_k8s_io_shape():
    state = new_state()
    _without_metrics_server(state)
    _with_metrics_server(state)
    apply(state, _pod("memory-demo", "polinux/stress", command=["stress"],
                      args=["--vm", "1", "--vm-bytes", "150M", "--vm-hang", "1"], limits={"memory": "200Mi"}))
    run(state, T0 + 90)
    sample = metrics.scrape(state)
    pod = state.get("Pod", "default", "memory-demo")
    obj = metrics.pod_metrics_object(sample, sample.pods[pod["metadata"]["uid"]])
    memory = obj["containers"][0]["usage"]["memory"]
    assert memory.endswith("Ki") and abs(int(memory[:-2]) * 1024 - 162_856_960) < 2 * MIB
    assert obj["containers"][0]["usage"]["cpu"].endswith("n")


# ------------------------------------------------------------------ cost

def test_pod_usage_on_400_pods_with_20_load_generators_is_cheap():
    state = new_state(workers=10)
    state.config["start_delays"] = False
    apply(state, {"apiVersion": "apps/v1", "kind": "Deployment",
                  "metadata": {"name": "web", "namespace": "default"},
                  "spec": {"replicas": 380, "selector": {"matchLabels": {"app": "web"}},
                           "template": {"metadata": {"labels": {"app": "web"}},
                                        "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}]}}}})
    _php_apache(state, replicas=1)
    for i in range(19):
        apply(state, _shell_pod(f"load-{i}", LOAD, "busybox:1.28"))
    run(state, T0 + 60)
    assert len(state.list("Pod", "default")) == 400
    step(state, state.now + 1)
    state.commit()
    metrics.request_rates_now(state)          # the load (client replays) is computed once per state
    with collector_held():
        started = time.perf_counter()
        usage = metrics.pod_usage(state, state.now)
        first = time.perf_counter() - started
        started = time.perf_counter()
        for _ in range(20):                        # 20 HPAs reading in the same pass
            metrics.pod_usage(state, state.now)
        again = (time.perf_counter() - started) / 20
    print(f"\npod_usage over {len(usage)} running pods: {first * 1000:.2f} ms; again in the same state "
          f"{again * 1000:.3f} ms")
    assert len(usage) >= 400
    assert first < 0.5 and again < 0.01   # generous: a guard against a lost memo, not a benchmark
