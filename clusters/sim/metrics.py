"""metrics.k8s.io as metrics-server serves it: the engine's last scrape of a cluster, read like `kubectl logs`.

A read: the cluster's snapshot is loaded at its simulated now (reconcile.load_state) and the engine's resource
model (clusters.engine.metrics) gives metrics-server's last scrape — nothing is written. A scrape only changes
every 15 simulated seconds or when the cluster is written, so the figures of one (cluster, resourceVersion,
scrape) are kept in this process and `kubectl top` in a loop, the page's charts and the HPA's readers share
them.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from clusters.engine import metrics
from clusters.models import Cluster
from clusters.sim.reconcile import load_state
from clusters.store.database import DbStore

_CACHE_SIZE = 256


@dataclass(frozen=True)
class MetricsView:
    """What metrics-server serves for one cluster right now (empty lists before its first scrape)."""
    timestamp: float | None
    pods: tuple[dict, ...]          # metrics.k8s.io/v1beta1 PodMetrics
    nodes: tuple[dict, ...]         # metrics.k8s.io/v1beta1 NodeMetrics
    scrape: metrics.Scrape | None   # the engine's figures behind them (the page plots these)


_cache: OrderedDict[tuple, MetricsView] = OrderedDict()
_lock = threading.Lock()


def _build(cluster: Cluster) -> MetricsView:
    state = load_state(cluster, DbStore(cluster))
    sample = metrics.scrape(state)
    if sample is None:
        return MetricsView(None, (), (), None)
    pods = tuple(metrics.pod_metrics_object(sample, usage) for usage in
                 sorted(sample.pods.values(), key=lambda u: (u.namespace, u.name)))
    labels = {n["metadata"]["name"]: n["metadata"].get("labels") or {} for n in state.list("Node")}
    nodes = tuple(metrics.node_metrics_object(sample, usage, labels.get(name, {}))
                  for name, usage in sorted(sample.nodes.items()))
    return MetricsView(sample.timestamp, pods, nodes, sample)


def cluster_metrics(cluster: Cluster) -> MetricsView:
    """metrics-server's view of `cluster` now: the PodMetrics and NodeMetrics it serves."""
    cluster.refresh_from_db(fields=["resource_version", "sim_base", "wall_base", "speed", "paused"])
    grid = int(cluster.sim_now() // metrics.RESOLUTION)
    key = (str(cluster.pk), cluster.resource_version, grid)
    with _lock:
        found = _cache.get(key)
        if found is not None:
            _cache.move_to_end(key)
            return found
    view = _build(cluster)
    with _lock:
        _cache[key] = view
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return view
