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
from functools import lru_cache

from .kubelet.lifecycle import running_load
from .kubelet.program import SHELL_MEMORY_BYTES
from .network.index import per_state
from .resources import cpu_millis, memory_bytes
from .state import ClusterState, parse_timestamp, timestamp

RESOLUTION = 15.0                       # metrics-server --metric-resolution
METRICS_SERVER_LABEL = ("k8s-app", "metrics-server")
JITTER = 0.03
# What a node uses besides its pods (kubelet, containerd, systemd, the kernel): a kind node's figures.
NODE_SYSTEM_CPU_MILLIS = 40.0
NODE_SYSTEM_MEMORY_BYTES = 420 * 1024 * 1024
THROTTLED_SHARE = 0.975                 # of its CPU limit, what a throttled container shows (CFS quota)
PAGE = 4096                             # memory is counted in pages


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

@lru_cache(maxsize=1024)
def _quantity(value: str, resource: str) -> float | None:
    try:
        return float(cpu_millis(value) if resource == "cpu" else memory_bytes(value))
    except ValueError:
        return None


def _limit(container: dict, resource: str) -> float | None:
    value = ((container.get("resources") or {}).get("limits") or {}).get(resource)
    return None if value is None else _quantity(str(value), resource)


def _request(container: dict, resource: str) -> float:
    value = ((container.get("resources") or {}).get("requests") or {}).get(resource)
    if value is None:     # a limit without a request: the API server defaulted the request to it
        value = ((container.get("resources") or {}).get("limits") or {}).get(resource)
    return (_quantity(str(value), resource) or 0.0) if value is not None else 0.0


def _node_capacity(state: ClusterState, node_name: str) -> tuple[float, float]:
    return _capacities(state).get(node_name) or (2000.0, 8 * 1024.0 ** 3)


def _build_capacities(state: ClusterState) -> dict[str, tuple[float, float]]:
    out = {}
    for node in state.list("Node"):
        capacity = (node.get("status") or {}).get("capacity") or {}
        cpu = _quantity(str(capacity.get("cpu", "2")), "cpu")
        memory = _quantity(str(capacity.get("memory", "8Gi")), "memory")
        out[node["metadata"]["name"]] = (cpu if cpu is not None else 2000.0,
                                         memory if memory is not None else 8 * 1024.0 ** 3)
    return out


_capacities = per_state(_build_capacities)


def _running_since(pod: dict, name: str) -> float | None:
    for status in (pod.get("status") or {}).get("containerStatuses") or ():
        if status.get("name") == name:
            running = (status.get("state") or {}).get("running")
            return parse_timestamp(running.get("startedAt")) if running else None
    return None


def _jitter(uid: str, name: str, when: float) -> float:
    digest = hashlib.blake2b(f"{uid}/{name}/{math.floor(when)}".encode(), digest_size=4).digest()
    return 1.0 + JITTER * (int.from_bytes(digest, "big") / 0xFFFFFFFF * 2.0 - 1.0)


@lru_cache(maxsize=512)
def _image_figures(ref: str) -> tuple[float, float, int]:
    """(CPU-ms per request it serves, idle millicores, idle bytes) of an image; the first is 0 for an
    image that serves nothing (requests to it cost nothing to model)."""
    from .kubelet import images
    image = images.lookup(ref)
    if not isinstance(image, images.Image):
        return 0.0, 1.0, 4 * 1024 * 1024
    return (image.cpu_millis_per_request if image.ports else 0.0), float(image.cpu_millis_idle), image.memory_bytes


def _serving_cost(container: dict) -> float:
    return _image_figures(container.get("image", ""))[0]


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


def demand(state: ClusterState, pod: dict, container: dict, when: float) -> tuple[float, int]:
    """What a running container's program asks at `when`, before limits: (millicores, bytes).

    The kubelet's note of its program's load (kubelet/program.py Load: stress's arguments, a shell loop's
    busy time, vish/stress's growing allocation), or, for a container the kubelet has not looked at since
    this model existed, its image's baseline. Requests served come on top (container_usage)."""
    found = running_load(state, pod, container.get("name", ""))
    if found is not None:
        load, start = found
        return load.cpu_millis, load.memory_at(when - start)
    _cost, cpu, memory = _image_figures(container.get("image", ""))
    if container.get("command") or container.get("args"):
        memory = max(memory, SHELL_MEMORY_BYTES)
    return cpu, memory


def container_usage(state: ClusterState, pod: dict, container: dict, rate: float, when: float) -> ContainerUsage:
    """One running container's usage at `when`, given the requests per second its pod answers.

    CPU over the container's limit (or the node's cores) is throttled by the CFS quota: such a container
    shows a little under the limit (kubectl top's 974m for the CPU task's `-cpus 2` under a limit of 1).
    Memory never shows above the limit: a program asking more is OOM-killed (kubelet/program.py)."""
    name = container.get("name", "")
    uid = pod["metadata"].get("uid", "")
    cpu, memory = demand(state, pod, container, when)
    cost = _serving_cost(container) if rate else 0.0
    cpu += rate * cost
    jitter = _jitter(uid, name, when)
    node_cpu, _node_memory = _node_capacity(state, (pod.get("spec") or {}).get("nodeName", ""))
    limit = _limit(container, "cpu")
    cap = min(limit, node_cpu) if limit is not None else node_cpu
    cpu = cpu * jitter
    if cpu >= cap * THROTTLED_SHARE:
        cpu = cap * (THROTTLED_SHARE + (jitter - 1.0) / 3)
    memory = int(memory * (1.0 + (jitter - 1.0) / 3)) // PAGE * PAGE
    memory_limit = _limit(container, "memory")
    if memory_limit is not None:
        memory = min(memory, int(memory_limit) // PAGE * PAGE)
    return ContainerUsage(name, round(cpu, 3), memory)


def _pod_usage(state: ClusterState, when: float, rates: dict[str, float]) -> dict[str, PodUsage]:
    out: dict[str, PodUsage] = {}
    for pod in state.list("Pod"):
        status = pod.get("status") or {}
        if status.get("phase") != "Running":
            continue
        uid = pod["metadata"].get("uid", "")
        rate = rates.get(uid, 0.0)
        containers = []
        for container in (pod.get("spec") or {}).get("containers") or ():
            if _running_since(pod, container.get("name", "")) is None:
                continue
            containers.append(container_usage(state, pod, container, rate, when))
        if containers:
            meta = pod["metadata"]
            out[uid] = PodUsage(uid, meta.get("namespace", ""), meta.get("name", ""),
                                (pod.get("spec") or {}).get("nodeName", ""), dict(meta.get("labels") or {}),
                                tuple(containers))
    return out


def pod_usage(state: ClusterState, when: float, rates: dict[str, float] | None = None) -> dict[str, PodUsage]:
    """Every running pod's usage at `when` (containers that are running; a pod with none is absent).

    Computed once per state as it stands and instant asked (the HPA controller, the metrics API and the
    eviction manager all ask in the same pass); with `rates` given, computed afresh from them."""
    if rates is not None:
        return _pod_usage(state, when, rates)
    memo = state.memos.get(pod_usage)
    if memo is None or memo[0] != state.writes or memo[1] != state.now:
        memo = state.memos[pod_usage] = (state.writes, state.now, {})
    found = memo[2].get(when)
    if found is None:
        with state.recording_reads() as kinds:
            rates = request_rates_now(state) if when == state.now else _pod_request_rates(state, when)
            usage = _pod_usage(state, when, rates)
        found = memo[2][when] = (usage, frozenset(kinds))
    state.note_reads(found[1])   # whoever is served depends on what the computation read
    return found[0]


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
                since = parse_timestamp(condition.get("lastTransitionTime"))
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


def pod_metrics_object(sample: Scrape, usage: PodUsage) -> dict:
    """A metrics.k8s.io/v1beta1 PodMetrics, as metrics-server serves it."""
    return {
        "kind": "PodMetrics", "apiVersion": "metrics.k8s.io/v1beta1",
        "metadata": {"name": usage.name, "namespace": usage.namespace,
                     "creationTimestamp": timestamp(sample.timestamp), "labels": dict(usage.labels)},
        "timestamp": timestamp(sample.timestamp), "window": f"{sample.window:g}s",
        "containers": [{"name": c.name, "usage": {"cpu": _cpu_text(c.cpu_millicores),
                                                  "memory": _memory_text(c.memory_bytes)}}
                       for c in usage.containers],
    }


def node_metrics_object(sample: Scrape, usage: NodeUsage, labels: dict) -> dict:
    """A metrics.k8s.io/v1beta1 NodeMetrics, as metrics-server serves it."""
    return {
        "kind": "NodeMetrics", "apiVersion": "metrics.k8s.io/v1beta1",
        "metadata": {"name": usage.name, "creationTimestamp": timestamp(sample.timestamp),
                     "labels": dict(labels)},
        "timestamp": timestamp(sample.timestamp), "window": f"{sample.window:g}s",
        "usage": {"cpu": _cpu_text(usage.cpu_millicores), "memory": _memory_text(usage.memory_bytes)},
    }
