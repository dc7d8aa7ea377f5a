"""A cluster's history is a function of its snapshot, its simulated now and its seed.

The runner may replay a pass (a worker dies before its transaction commits) and
the page, `kubectl logs` and `kubectl exec` replay containers from the stored
state: all of them must see the same story. So nothing on the way may read the
wall clock or an unseeded random generator: not the API server's create path
(generated names, uids, the `kube-api-access-xxxxx` volume of the
ServiceAccount admission), not the objects the controllers create through the
same defaulting, not the programs the kubelet models.

Each run here builds a fresh cluster as the runner does (bootstrap objects,
requests through `ApiServer`, then the engine on the resulting snapshot with
its preparer on the seeded engine stream), steps through simulated time and
records everything the runner would persist or serve.
"""
from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

from clusters.apiserver.bootstrap import cluster_objects
from clusters.apiserver.defaults import apply_defaults
from clusters.apiserver.pipeline import ApiServer, engine_state
from clusters.apiserver.registry import by_gvk, storage_type
from clusters.apiserver.store import MemoryStore
from clusters.engine.kubelet.logs import container_logs, exec_in_container, running_program
from clusters.engine.loop import step
from clusters.engine.state import ClusterState

ROOT = Path(__file__).resolve().parents[2]
T0 = 1_800_000_000.0  # 2027-01-15T08:00:00Z
SEED = 11
UNTIL = T0 + 90
PROBES = (T0 + 30, T0 + 60, UNTIL)  # simulated instants at which logs, exec and HTTP are read

LABELS = {"app": "web"}
MANIFESTS = [
    {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {
        "replicas": 3, "selector": {"matchLabels": LABELS},
        "template": {"metadata": {"labels": LABELS}, "spec": {"containers": [
            {"name": "nginx", "image": "nginx:1.27", "ports": [{"containerPort": 80}]}]}}}},
    {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}, "spec": {
        "type": "NodePort", "selector": LABELS, "ports": [{"port": 80, "targetPort": 80}]}},
    # A client's generateName and the token volume the ServiceAccount admission adds.
    {"apiVersion": "v1", "kind": "Pod", "metadata": {"generateName": "client-"}, "spec": {
        "containers": [{"name": "sh", "image": "busybox:1.36",
                        "command": ["sh", "-c", "cat /var/run/secrets/kubernetes.io/serviceaccount/namespace; "
                                                "echo; hostname; sleep 3600"]}]}},
    {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "netexec"}, "spec": {
        "containers": [{"name": "agnhost", "image": "registry.k8s.io/e2e-test-images/agnhost:2.40",
                        "args": ["netexec", "--http-port=8080"], "ports": [{"containerPort": 8080}]}]}},
    {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "hello"}, "spec": {
        "completions": 2, "template": {"spec": {"restartPolicy": "Never", "containers": [
            {"name": "hello", "image": "busybox:1.36", "command": ["sh", "-c", "echo hello from $HOSTNAME"]}]}}}},
    {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"}, "spec": {
        "replicas": 2, "serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
        "template": {"metadata": {"labels": {"app": "db"}}, "spec": {"containers": [
            {"name": "redis", "image": "redis:7.2"}]}},
        "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
            "accessModes": ["ReadWriteOnce"], "storageClassName": "standard",
            "resources": {"requests": {"storage": "1Gi"}}}}]}},
]


def _text(value) -> str:
    return json.dumps(value, sort_keys=True)


def _engine_state(store: MemoryStore, *, now: float, seed: int) -> ClusterState:
    """The engine's view of the snapshot, seeded as the runner seeds it (clusters/sim/reconcile.load_state)."""
    rng = random.Random(f"engine:{seed}:{store.resource_version}")
    state = engine_state(copy.deepcopy(store.objects()), now=now, seed=rng.getrandbits(64), rng=rng)
    return state


def _readings(state: ClusterState) -> dict:
    """What `kubectl logs`, `kubectl exec` and an HTTP client see of the running pods right now."""
    seen: dict = {}
    for pod in state.list("Pod", "default"):
        name = pod["metadata"]["name"]
        for container in pod["spec"]["containers"]:
            try:
                log = container_logs(state, pod, container["name"])
                seen[f"logs {name}/{container['name']}"] = dataclasses.asdict(log)
            except Exception as exc:  # the kubelet's own answer (waiting, not found) is part of the story
                seen[f"logs {name}/{container['name']}"] = f"{type(exc).__name__}: {exc}"
            try:
                seen[f"exec {name}/{container['name']}"] = exec_in_container(
                    state, pod, container["name"], ["ls", "/var/run/secrets/kubernetes.io/serviceaccount"])
            except Exception as exc:
                seen[f"exec {name}/{container['name']}"] = f"{type(exc).__name__}: {exc}"
    try:
        _name, program, _run = running_program(state, state.get("Pod", "default", "netexec"), "agnhost")
        seen["GET netexec:8080/"] = program.http(8080, "/", state.now)
    except Exception as exc:
        seen["GET netexec:8080/"] = f"{type(exc).__name__}: {exc}"
    return seen


def simulate(seed: int, *, now: float = T0, until: float = UNTIL) -> list[str]:
    """One cluster's whole history from bootstrap to `until`, as JSON texts."""
    store = MemoryStore(cluster_objects(workers=2, now=now, seed=seed))
    api = ApiServer(store, now=now, seed=seed, graceful_pod_deletion=True)
    for manifest in MANIFESTS:
        api.create(by_gvk(manifest["apiVersion"], manifest["kind"]), "default", copy.deepcopy(manifest))
    history = [_text([[rv, event, obj] for rv, event, obj in store.changes])]

    state = _engine_state(store, now=now, seed=seed)
    probes = list(PROBES)
    wake: float | None = now
    while wake is not None and wake <= until:
        while probes and probes[0] <= wake:
            state.now = probes.pop(0)
            history.append(_text(_readings(state)))
        result = step(state, max(wake, state.now))
        history.append(_text({"now": state.now, "changes": result.changes, "events": result.events,
                              "sims": result.sim_changes, "notes": result.notes, "next_wake": result.next_wake}))
        state.commit()
        wake = result.next_wake
    for probe in probes:
        state.now = probe
        history.append(_text(_readings(state)))
    return history


def generated_names(history: list[str]) -> set[str]:
    """Names the cluster made up: pods of the workloads, generateName suffixes, token volumes."""
    text = "\n".join(history)
    return set(re.findall(r'"((?:web-[a-z0-9]{9,10}-|client-|kube-api-access-|hello-)[a-z0-9]{5})"', text))


def test_same_snapshot_now_and_seed_give_the_same_history() -> None:
    first = simulate(SEED)
    random.seed()  # whatever else the process does with the global generator must not matter
    random.random()
    second = simulate(SEED)
    assert len(first) == len(second)
    for index, (a, b) in enumerate(zip(first, second)):
        assert a == b, f"histories differ at record {index}"
    text = "\n".join(first)
    # The run exercised what it is meant to: controller-created pods with token volumes, the
    # client's generateName, a finished Job, provisioned volumes and netexec's clock.
    assert re.search(r'"name": "web-[a-z0-9]+-[a-z0-9]{5}"', text)
    assert re.search(r'"name": "kube-api-access-[a-z0-9]{5}"', text)
    assert re.search(r'"name": "client-[a-z0-9]{5}"', text)
    assert '"reason": "Completed"' in text
    assert '"kind": "PersistentVolume"' in text
    assert "NOW: 2027-01-15 08:01:30.000000000 +0000 UTC" in text


# 127: a string-hash seed under which a set of changed objects came out in another order, so a controller
# counted other kinds as read and ran at another step (clusters/engine/state.narrowed_changes now sorts).
@pytest.mark.parametrize("hash_seed", ["12345", "127"])
def test_another_process_tells_the_same_story(hash_seed: str) -> None:
    # A replay runs in another worker: other string hashes (set and dict-of-set orders), other
    # import order, nothing shared with this process.
    here = hashlib.sha256("\n".join(simulate(SEED)).encode()).hexdigest()
    script = ("import hashlib; from tests.apiserver.test_determinism import simulate, SEED; "
              "print(hashlib.sha256('\\n'.join(simulate(SEED)).encode()).hexdigest())")
    env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(ROOT)}
    there = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                           check=True).stdout.strip()
    assert there == here


def test_another_seed_generates_other_names() -> None:
    ours, theirs = generated_names(simulate(SEED)), generated_names(simulate(SEED + 1))
    assert ours and theirs
    assert ours.isdisjoint(theirs)


def test_token_volume_name_comes_from_the_generator_it_is_given() -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"},
           "spec": {"containers": [{"name": "c", "image": "nginx"}]}}

    def volume_name(obj: dict, **kw) -> str:
        obj = copy.deepcopy(obj)
        apply_defaults(obj, storage_type("Pod"), **kw)
        return obj["spec"]["volumes"][-1]["name"]

    assert volume_name(pod, rng=random.Random(1)) == volume_name(pod, rng=random.Random(1))
    assert len({volume_name(pod, rng=random.Random(seed)) for seed in range(5)}) > 1
    # Without a generator the name still depends only on the object.
    random.seed()
    assert volume_name(pod) == volume_name(pod)
