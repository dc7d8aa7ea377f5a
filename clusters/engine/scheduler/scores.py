"""Score plugins: each is `(ctx, nodes) -> list[int]`, one normalized score (0..100, upstream
MaxNodeScore) per feasible node, combined with the default-profile weights
(pkg/scheduler/apis/config/v1/default_plugins.go: TaintToleration 3, NodeAffinity 2,
PodTopologySpread 2, InterPodAffinity 2, NodeResourcesFit 1, BalancedAllocation 1, ImageLocality 1).
"""
from __future__ import annotations

from collections.abc import Callable

from .filters import AffinityTerm, NodeInfo, PodContext, node_selector_term_matches, preferred_terms, tolerates

MAX_NODE_SCORE = 100
MB = 1024 * 1024
IMAGE_MIN_THRESHOLD = 23 * MB         # imagelocality/image_locality.go minThreshold
IMAGE_MAX_CONTAINER_THRESHOLD = 1000 * MB


def _default_normalize(scores: list[int], reverse: bool) -> list[int]:
    """helper.DefaultNormalizeScore."""
    top = max(scores) if scores else 0
    if top == 0:
        return [MAX_NODE_SCORE if reverse else 0 for _ in scores]
    out = [MAX_NODE_SCORE * s // top for s in scores]
    return [MAX_NODE_SCORE - s for s in out] if reverse else out


def least_allocated(ctx: PodContext, nodes: list[NodeInfo]) -> list[int]:
    """NodeResourcesFit, LeastAllocated strategy over cpu and memory (non-zero requests)."""
    cpu, mem = ctx.info.nz_cpu, ctx.info.nz_mem
    out = []
    for n in nodes:
        total = 0
        for alloc, req in ((n.allocatable.get("cpu", 0), n.nz_cpu + cpu),
                           (n.allocatable.get("memory", 0), n.nz_mem + mem)):
            if alloc > 0 and req <= alloc:
                total += (alloc - req) * MAX_NODE_SCORE // alloc
        out.append(total // 2)
    return out


def balanced_allocation(ctx: PodContext, nodes: list[NodeInfo]) -> list[int]:
    """NodeResourcesBalancedAllocation: 1 - the spread between cpu and memory fractions."""
    cpu, mem = ctx.info.nz_cpu, ctx.info.nz_mem
    out = []
    for n in nodes:
        ac, am = n.allocatable.get("cpu", 0), n.allocatable.get("memory", 0)
        fc = min((n.nz_cpu + cpu) / ac, 1.0) if ac else 1.0
        fm = min((n.nz_mem + mem) / am, 1.0) if am else 1.0
        std = abs(fc - fm) / 2
        out.append(int((1 - std) * MAX_NODE_SCORE))
    return out


def preferred_node_affinity(ctx: PodContext, nodes: list[NodeInfo]) -> list[int]:
    terms = ctx.preferred_node_terms
    if not terms:
        return [0] * len(nodes)
    raw = [sum(int(t.get("weight") or 0) for t in terms
               if node_selector_term_matches(t.get("preference") or {}, n)) for n in nodes]
    return _default_normalize(raw, reverse=False)


def taint_toleration(ctx: PodContext, nodes: list[NodeInfo]) -> list[int]:
    """Fewer untolerated PreferNoSchedule taints is better."""
    tolerations = [t for t in ctx.tolerations if (t.get("effect") or "PreferNoSchedule") == "PreferNoSchedule"]
    raw = [sum(1 for taint in n.taints if taint.get("effect") == "PreferNoSchedule"
               and not tolerates(tolerations, taint)) for n in nodes]
    return _default_normalize(raw, reverse=True)


def preferred_pod_affinity(ctx: PodContext, nodes: list[NodeInfo]) -> list[int]:
    """InterPodAffinity scoring: preferred (anti-)affinity terms of the incoming pod, weighted per
    topology domain of the existing pods that match them, normalized between min and max."""
    spec, info, snap = ctx.spec, ctx.info, ctx.snap
    terms = [(AffinityTerm(t.get("podAffinityTerm") or {}, info.namespace, info.labels), int(t.get("weight") or 0))
             for t in preferred_terms(spec, "podAffinity")]
    terms += [(AffinityTerm(t.get("podAffinityTerm") or {}, info.namespace, info.labels), -int(t.get("weight") or 0))
              for t in preferred_terms(spec, "podAntiAffinity")]
    if not terms:
        return [0] * len(nodes)
    by_pair: dict[tuple[str, str], int] = {}
    for other, node in snap.bound():
        for term, weight in terms:
            key = term.topology_key
            if key in node.labels and term.matches(other, snap):
                pair = (key, node.labels[key])
                by_pair[pair] = by_pair.get(pair, 0) + weight
    raw = [sum(w for (k, v), w in by_pair.items() if n.labels.get(k) == v) for n in nodes]
    low, high = min(raw), max(raw)
    if high - low <= 0:
        return [0] * len(nodes)
    return [int(MAX_NODE_SCORE * (s - low) / (high - low)) for s in raw]


def default_spread(ctx: PodContext, nodes: list[NodeInfo]) -> list[int]:
    """PodTopologySpread with the system default constraints (kubernetes.io/hostname, ScheduleAnyway):
    replicas of one controller prefer nodes holding fewer of their siblings."""
    owner = ctx.info.owner
    if owner is None or ctx.spec.get("topologySpreadConstraints"):
        return [0] * len(nodes)
    raw = [n.owners.get(owner, 0) for n in nodes]
    top, low = max(raw), min(raw)
    if top == 0:
        return [MAX_NODE_SCORE] * len(nodes)
    return [MAX_NODE_SCORE * (top + low - s) // top for s in raw]


def _normalized_image(name: str) -> str:
    """docker.io/library/nginx:latest for "nginx" (imagelocality normalizedImageName)."""
    if "@" not in name and ":" not in name.rsplit("/", 1)[-1]:
        name += ":latest"
    first = name.split("/", 1)[0]
    if "/" not in name:
        name = "docker.io/library/" + name
    elif "." not in first and ":" not in first and first != "localhost":
        name = "docker.io/" + name
    return name


def image_locality(ctx: PodContext, nodes: list[NodeInfo]) -> list[int]:
    containers = ctx.spec.get("containers") or []
    if not containers or not any(n.images for n in nodes):
        return [0] * len(nodes)
    total = len(ctx.snap.nodes) or 1
    images = [_normalized_image(c.get("image", "")) for c in containers]
    spread = {img: sum(1 for n in ctx.snap.nodes if img in n.images) for img in images}
    max_threshold = IMAGE_MAX_CONTAINER_THRESHOLD * len(containers)
    out = []
    for n in nodes:
        s = sum(int(n.images[img] * spread[img] / total) for img in images if img in n.images)
        s = min(max(s, IMAGE_MIN_THRESHOLD), max_threshold)
        out.append(MAX_NODE_SCORE * (s - IMAGE_MIN_THRESHOLD) // (max_threshold - IMAGE_MIN_THRESHOLD))
    return out


Score = Callable[[PodContext, list[NodeInfo]], list[int]]

SCORES: list[tuple[str, Score, int]] = [
    ("TaintToleration", taint_toleration, 3),
    ("NodeAffinity", preferred_node_affinity, 2),
    ("NodeResourcesFit", least_allocated, 1),
    ("PodTopologySpread", default_spread, 2),
    ("InterPodAffinity", preferred_pod_affinity, 2),
    ("NodeResourcesBalancedAllocation", balanced_allocation, 1),
    ("ImageLocality", image_locality, 1),
]


def total_scores(ctx: PodContext, nodes: list[NodeInfo]) -> list[int]:
    totals = [0] * len(nodes)
    for _name, score, weight in SCORES:
        for i, s in enumerate(score(ctx, nodes)):
            totals[i] += s * weight
    return totals
