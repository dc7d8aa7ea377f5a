"""Shared by the network tests: small manifests, a cluster that runs them, and a container's shell on the network.

Services get their clusterIP (and nodePort) here, as the API server's allocator would give them: the
engine's preparer does not allocate addresses.
"""
from __future__ import annotations

from dataclasses import replace

from clusters.engine.kubelet.program import Program
from clusters.engine.network import PodNetwork, get_index
from clusters.engine.network.traffic import answering_program
from clusters.engine.state import ClusterState
from tests.engine.conftest import T0, apply, new_state, run


def service(name: str, ip: str, ports: list[dict] | None = None, *, selector: dict | None = None,
            namespace: str = "default", **spec) -> dict:
    body = {"clusterIP": ip, "ports": ports if ports is not None else [{"port": 80, "protocol": "TCP"}], **spec}
    if selector is not False:
        body["selector"] = selector if selector is not None else {"app": name}
    if ip == "None":
        body["clusterIP"] = "None"
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": namespace},
            "spec": body}


def deployment(name: str, image: str, replicas: int = 2, *, port: int = 80, args: list[str] | None = None,
               namespace: str = "default", labels: dict | None = None, **container) -> dict:
    spec = {"name": name, "image": image, "ports": [{"containerPort": port, "name": "http"}], **container}
    if args is not None:
        spec["args"] = args
    labels = labels or {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": namespace},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {"containers": [spec]}}}}


def run_pod(name: str, image: str, args: list[str] | None = None, *, command: list[str] | None = None,
            namespace: str = "default", restart: str = "Never", **spec) -> dict:
    """What `kubectl run NAME --image=IMAGE --restart=Never -- ARGS` creates (`--command` puts them in command)."""
    container: dict = {"name": name, "image": image}
    if args is not None:
        container["args"] = args
    if command is not None:
        container["command"] = command
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "labels": {"run": name}},
            "spec": {"restartPolicy": restart, "containers": [container], **spec}}


SETTLE = 10.0   # seconds a fresh cluster runs before the test's objects come: its CoreDNS pods get ready


def cluster(*objects: dict, until: float = 30.0, workers: int = 2) -> ClusterState:
    """A cluster with instant pulls and starts that has settled (T0 + SETTLE), the objects applied then,
    run for `until` seconds more."""
    state = new_state(workers=workers)
    state.config["start_delays"] = False
    run(state, T0 + SETTLE)
    for obj in objects:
        if obj["kind"] not in ("Namespace",):
            obj.setdefault("metadata", {}).setdefault("namespace", "default")
        apply(state, obj)
    run(state, T0 + SETTLE + until)
    return state


def pods(state: ClusterState, prefix: str, namespace: str = "default") -> list[dict]:
    return [p for p in state.list("Pod", namespace) if p["metadata"]["name"].startswith(prefix)]


def program(state: ClusterState, pod_name: str, container: str | None = None, namespace: str = "default",
            when: float | None = None) -> Program:
    """The program the kubelet runs in the pod's container (its latest attempt), on the pod's network."""
    pod = state.get("Pod", namespace, pod_name)
    assert pod is not None, pod_name
    spec = next(c for c in (pod["spec"].get("initContainers") or []) + pod["spec"]["containers"]
                if container is None or c["name"] == container)
    record = state.sim(pod)["c"][spec["name"]]
    found = answering_program(state, get_index(state), pod, spec, record["start"] if when is None else when)
    assert found is not None, f"{pod_name}: no program"
    return replace(found, net=PodNetwork(state, pod))


def logs(state: ClusterState, pod_name: str, container: str | None = None, namespace: str = "default") -> list[str]:
    """The container's output up to now (what `kubectl logs` shows), replayed on the network."""
    return [line for _t, _stream, line in program(state, pod_name, container, namespace).run(state.now).logs]


def exec_in(state: ClusterState, pod_name: str, *argv: str, namespace: str = "default") -> tuple[int, str, str]:
    """`kubectl exec POD -- ARGV` at state.now."""
    prog = program(state, pod_name, namespace=namespace)
    return prog.exec(list(argv), state.now, prog.run(state.now))
