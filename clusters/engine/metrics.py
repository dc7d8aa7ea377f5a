"""The resource model: what each simulated container uses, and metrics-server's view of it.

No container runs, so usage is derived, the way the rest of the engine derives what a container does:
a pure function of the cluster's state at a simulated instant.

* A running container uses its image's baseline (images.Image: `cpu_millis_idle`, `memory_bytes`: nginx
  idles at ~0m and a few MiB, redis and mysql at their own figures), plus the CPU of the requests it serves
  (`cpu_millis_per_request` × the requests per second its pod answers, network/traffic.py's load: every
  running pod's steady request loops, spread over the backends as iptables spreads them).
* A client loop waits for each answer, so the server's time per request slows it down: a loop of
  `while sleep 0.01; do wget …; done` against hpa-example (25 ms of CPU a request) runs ~28 times a second
  against an idle backend, ~16 against one throttled at half a core. That is what makes the HPA walkthrough
  settle where the docs show it (about 250% on one pod, then 5–7 replicas at ~50%).
* CPU is throttled at the container's limit (CFS quota); nothing exceeds the node's capacity.
* A small deterministic jitter (±3%, seeded by pod and sample time) keeps figures from looking canned.

metrics-server's view (`scrape`): it scrapes every kubelet every `RESOLUTION` seconds (its
--metric-resolution, 15 s) and serves the last scrape; CPU is a rate between two scrapes, so a pod shows no
metrics until it has been running across one whole resolution window, and none at all before the
metrics-server pod itself is Running. The samples are aligned on a grid of simulated time, so every pass,
replay and API read in the same window sees the same figures.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import UTC, datetime

from .network.index import per_state
from .resources import cpu_millis, memory_bytes
from .state import ClusterState

RESOLUTION = 15.0                       # metrics-server --metric-resolution
METRICS_SERVER_LABEL = ("k8s-app", "metrics-server")
JITTER = 0.03
# What a node uses besides its pods (kubelet, containerd, systemd, the kernel): a kind node's figures.
NODE_SYSTEM_CPU_MILLIS = 40.0
NODE_SYSTEM_MEMORY_BYTES = 420 * 1024 * 1024
SHELL_MEMORY_BYTES = 400 * 1024         # a busybox shell and its loop


@dataclass(frozen=True)
class ContainerUsage:
    name: str
    cpu_millicores: float
    memory_bytes: int


@dataclass(frozen=True)
class PodUsage:
    uid: str
    namespace: str
    name: str
    node: str
    labels: dict
    containers: tuple[ContainerUsage, ...]

    @property
    def cpu_millicores(self) -> float:
        return sum(c.cpu_millicores for c in self.containers)

    @property
    def memory_bytes(self) -> int:
        return sum(c.memory_bytes for c in self.containers)


@dataclass(frozen=True)
class NodeUsage:
    name: str
    cpu_millicores: float
    memory_bytes: int


@dataclass(frozen=True)
class Scrape:
    """metrics-server's last scrape as of some instant: what the metrics API serves and the HPA reads."""
    timestamp: float                    # when the samples were taken (simulated time)
    window: float                       # the interval the CPU rate was measured over
    pods: dict[str, PodUsage]           # by pod uid; a pod without a full window yet is absent
    nodes: dict[str, NodeUsage]         # by node name


# ------------------------------------------------------------------ usage at an instant

def _parse_time(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _limit(container: dict, resource: str) -> float | None:
    value = ((container.get("resources") or {}).get("limits") or {}).get(resource)
    if value is None:
        return None
    try:
        return float(cpu_millis(value) if resource == "cpu" else memory_bytes(value))
    except ValueError:
        return None


def _node_capacity(state: ClusterState, node_name: str) -> tuple[float, float]:
    node = state.get("Node", "", node_name) if node_name else None
    capacity = ((node or {}).get("status") or {}).get("capacity") or {}
    try:
        cpu = float(cpu_millis(capacity.get("cpu", "2")))
        memory = float(memory_bytes(capacity.get("memory", "8Gi")))
    except ValueError:
        cpu, memory = 2000.0, 8 * 1024.0 ** 3
    return cpu, memory


def _running_since(pod: dict, name: str) -> float | None:
    for status in (pod.get("status") or {}).get("containerStatuses") or ():
        if status.get("name") == name:
            running = (status.get("state") or {}).get("running")
            return _parse_time(running.get("startedAt")) if running else None
    return None


def _jitter(uid: str, name: str, when: float) -> float:
    digest = hashlib.blake2b(f"{uid}/{name}/{math.floor(when)}".encode(), digest_size=4).digest()
    return 1.0 + JITTER * (int.from_bytes(digest, "big") / 0xFFFFFFFF * 2.0 - 1.0)


def _serving_cost(container: dict) -> float:
    from .kubelet import images
    image = images.lookup(container.get("image", ""))
    return image.cpu_millis_per_request if isinstance(image, images.Image) and image.ports else 0.0


def _server_seconds(state: ClusterState, uid: str) -> float:
    """Seconds one request to this pod takes to serve: its CPU cost, slowed by its CPU limit."""
    pod = state.by_uid(uid)
    if pod is None:
        return 0.0
    worst = 0.0
    for container in (pod.get("spec") or {}).get("containers") or ():
        cost = _serving_cost(container)
        if cost <= 0:
            continue
        limit = _limit(container, "cpu")
        speed = min(1.0, limit / 1000.0) if limit else 1.0
        worst = max(worst, cost / 1000.0 / max(speed, 0.001))
    return worst


def _pod_request_rates(state: ClusterState, when: float) -> dict[str, float]:
    """Requests per second each pod answers at `when`, each client loop slowed by the answers' time."""
    from .network import traffic
    rates: dict[str, float] = {}
    for source, per_url in traffic.client_request_rates(state, when):
        for url, nominal in per_url.items():
            if nominal <= 0:
                continue
            shares = traffic.backend_shares(state, url, when, source=source)
            if not shares:
                continue
            serve = sum(share * _server_seconds(state, uid) for uid, share in shares.items())
            rate = 1.0 / (1.0 / nominal + serve)
            for uid, share in shares.items():
                rates[uid] = rates.get(uid, 0.0) + rate * share
    return rates


def _request_rates_now(state: ClusterState) -> dict[str, float]:
    return _pod_request_rates(state, state.now)


request_rates_now = per_state(_request_rates_now)
"""Requests per second per pod uid at the state's now, computed once per state as it stands."""


def container_usage(state: ClusterState, pod: dict, container: dict, rate: float, when: float) -> ContainerUsage:
    """One running container's usage at `when`, given the requests per second its pod answers."""
    from .kubelet import images
    name = container.get("name", "")
    image = images.lookup(container.get("image", ""))
    uid = pod["metadata"].get("uid", "")
    if isinstance(image, images.Image):
        cpu = float(image.cpu_millis_idle) + rate * _serving_cost(container)
        memory = float(image.memory_bytes)
    else:
        cpu, memory = 1.0, 4.0 * 1024 * 1024
    if container.get("command") or container.get("args"):
        memory = max(memory, SHELL_MEMORY_BYTES)
    jitter = _jitter(uid, name, when)
    cpu *= jitter
    node_cpu, _node_memory = _node_capacity(state, (pod.get("spec") or {}).get("nodeName", ""))
    limit = _limit(container, "cpu")
    cpu = min(cpu, limit if limit is not None else node_cpu, node_cpu)
    memory *= 1.0 + (jitter - 1.0) / 3
    return ContainerUsage(name, round(cpu, 3), int(memory))


def pod_usage(state: ClusterState, when: float, rates: dict[str, float] | None = None) -> dict[str, PodUsage]:
    """Every running pod's usage at `when` (containers that are running; a pod with none is absent)."""
    if rates is None:
        rates = request_rates_now(state) if when == state.now else _pod_request_rates(state, when)
    out: dict[str, PodUsage] = {}
    for pod in state.list("Pod"):
        status = pod.get("status") or {}
        if status.get("phase") != "Running":
            continue
        uid = pod["metadata"].get("uid", "")
        containers = []
        for container in (pod.get("spec") or {}).get("containers") or ():
            if _running_since(pod, container.get("name", "")) is None:
                continue
            containers.append(container_usage(state, pod, container, rates.get(uid, 0.0), when))
        if containers:
            meta = pod["metadata"]
            out[uid] = PodUsage(uid, meta.get("namespace", ""), meta.get("name", ""),
                                (pod.get("spec") or {}).get("nodeName", ""), dict(meta.get("labels") or {}),
                                tuple(containers))
    return out


def node_usage(state: ClusterState, pods: dict[str, PodUsage], when: float) -> dict[str, NodeUsage]:
    """Each Ready node's usage: its pods' plus what the node itself runs."""
    out: dict[str, NodeUsage] = {}
    totals: dict[str, list[float]] = {}
    for usage in pods.values():
        total = totals.setdefault(usage.node, [0.0, 0.0])
        total[0] += usage.cpu_millicores
        total[1] += usage.memory_bytes
    for node in state.list("Node"):
        name = node["metadata"]["name"]
        ready = any(c.get("type") == "Ready" and c.get("status") == "True"
                    for c in (node.get("status") or {}).get("conditions") or ())
        if not ready:
            continue    # metrics-server cannot scrape a kubelet that does not answer
        cpu_capacity, memory_capacity = _node_capacity(state, name)
        cpu, memory = totals.get(name, [0.0, 0.0])
        jitter = _jitter(name, "", when)
        cpu = min(cpu + NODE_SYSTEM_CPU_MILLIS * jitter, cpu_capacity)
        memory = min(memory + NODE_SYSTEM_MEMORY_BYTES * (1.0 + (jitter - 1.0) / 3), memory_capacity)
        out[name] = NodeUsage(name, round(cpu, 3), int(memory))
    return out


# ------------------------------------------------------------------ metrics-server's view

def _metrics_server_since(state: ClusterState) -> float | None:
    """When metrics-server started serving (its pod Running and Ready), or None."""
    earliest = None
    for pod in state.list("Pod", "kube-system"):
        if (pod["metadata"].get("labels") or {}).get(METRICS_SERVER_LABEL[0]) != METRICS_SERVER_LABEL[1]:
            continue
        if (pod.get("status") or {}).get("phase") != "Running":
            continue
        for condition in (pod.get("status") or {}).get("conditions") or ():
            if condition.get("type") == "Ready" and condition.get("status") == "True":
                since = _parse_time(condition.get("lastTransitionTime"))
                if since is not None and (earliest is None or since < earliest):
                    earliest = since
    return earliest


def last_scrape_time(state: ClusterState, now: float) -> float | None:
    """The newest scrape at or before `now`: on the RESOLUTION grid, after metrics-server came up."""
    since = _metrics_server_since(state)
    if since is None:
        return None
    at = math.floor(now / RESOLUTION) * RESOLUTION
    return at if at >= since else None


def _scrape(state: ClusterState) -> Scrape | None:
    at = last_scrape_time(state, state.now)
    if at is None:
        return None
    pods = pod_usage(state, at, rates=request_rates_now(state))
    # CPU is a rate over the window: a container needs to have run across the whole window to have one.
    complete = {}
    for uid, usage in pods.items():
        pod = state.by_uid(uid)
        started = [_running_since(pod, c.name) for c in usage.containers] if pod else []
        if started and all(s is not None and s <= at - RESOLUTION for s in started):
            complete[uid] = usage
    return Scrape(timestamp=at, window=RESOLUTION, pods=complete, nodes=node_usage(state, pods, at))


scrape = per_state(_scrape)
"""metrics-server's last scrape as of the state's now (None before the metrics-server pod is up)."""


# ------------------------------------------------------------------ the metrics.k8s.io shapes

def _cpu_text(millicores: float) -> str:
    return f"{int(round(millicores * 1_000_000))}n"


def _memory_text(value: int) -> str:
    return f"{value // 1024}Ki"


def _time_text(when: float) -> str:
    return datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def pod_metrics_object(sample: Scrape, usage: PodUsage) -> dict:
    """A metrics.k8s.io/v1beta1 PodMetrics, as metrics-server serves it."""
    return {
        "kind": "PodMetrics", "apiVersion": "metrics.k8s.io/v1beta1",
        "metadata": {"name": usage.name, "namespace": usage.namespace,
                     "creationTimestamp": _time_text(sample.timestamp), "labels": dict(usage.labels)},
        "timestamp": _time_text(sample.timestamp), "window": f"{sample.window:g}s",
        "containers": [{"name": c.name, "usage": {"cpu": _cpu_text(c.cpu_millicores),
                                                  "memory": _memory_text(c.memory_bytes)}}
                       for c in usage.containers],
    }


def node_metrics_object(sample: Scrape, usage: NodeUsage, labels: dict) -> dict:
    """A metrics.k8s.io/v1beta1 NodeMetrics, as metrics-server serves it."""
    return {
        "kind": "NodeMetrics", "apiVersion": "metrics.k8s.io/v1beta1",
        "metadata": {"name": usage.name, "creationTimestamp": _time_text(sample.timestamp),
                     "labels": dict(labels)},
        "timestamp": _time_text(sample.timestamp), "window": f"{sample.window:g}s",
        "usage": {"cpu": _cpu_text(usage.cpu_millicores), "memory": _memory_text(usage.memory_bytes)},
    }
