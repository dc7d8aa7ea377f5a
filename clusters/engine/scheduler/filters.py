"""The scheduler's snapshot (nodes with what is already bound to them) and its filter plugins.

Each filter is a small function `(ctx, node) -> None | (unresolvable, reasons)`, named after
the kube-scheduler plugin it mirrors and listed in `FILTERS` in the upstream default-profile
order (pkg/scheduler/apis/config/v1/default_plugins.go). As upstream, a node is judged by the
first filter that rejects it, and all of that filter's reasons count in the "0/N nodes are
available" histogram. `unresolvable` is upstream's UnschedulableAndUnresolvable: preemption
cannot help on such a node ("Preemption is not helpful for scheduling").

Reason strings are the upstream ones, quoted from kubernetes/kubernetes pkg/scheduler/framework/
plugins/<plugin>/*.go (see each constant).
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import Any

from ..placement import node_selector_term_matches as placement_term_matches
from ..placement import tolerated_by
from ..resources import NOTHING, Selector, cpu_millis, memory_bytes, selector_from_label_selector

# ------------------------------------------------------------------ reasons (upstream strings)
# nodeunschedulable/node_unschedulable.go ErrReasonUnschedulable
ERR_UNSCHEDULABLE = "node(s) were unschedulable"
# nodename/node_name.go ErrReason
ERR_NODE_NAME = "node(s) didn't match the requested node name"
# tainttoleration/taint_toleration.go: since kubernetes#134740 (1.35, cherry-picked to 1.34/1.33)
# the reason no longer names the taint ("node(s) had untolerated taint {key: value}" before).
ERR_TAINT = "node(s) had untolerated taint(s)"
# nodeaffinity/node_affinity.go ErrReasonPod / errReasonConflict
ERR_NODE_AFFINITY = "node(s) didn't match Pod's node affinity/selector"
ERR_AFFINITY_CONFLICT = "pod affinity terms conflict"
# nodeports/node_ports.go ErrReason
ERR_PORTS = "node(s) didn't have free ports for the requested pod ports"
# noderesources/fit.go fitsRequest
ERR_TOO_MANY_PODS = "Too many pods"
# interpodaffinity/filtering.go
ERR_EXISTING_ANTI_AFFINITY = "node(s) didn't satisfy existing pods anti-affinity rules"
ERR_POD_AFFINITY = "node(s) didn't match pod affinity rules"
ERR_POD_ANTI_AFFINITY = "node(s) didn't match pod anti-affinity rules"
# podtopologyspread/filtering.go
ERR_SPREAD = "node(s) didn't match pod topology spread constraints"
ERR_SPREAD_LABEL = "node(s) didn't match pod topology spread constraints (missing required label)"
# volumebinding/volume_binding.go and binder.go
ERR_UNBOUND_IMMEDIATE = "pod has unbound immediate PersistentVolumeClaims"
ERR_VOLUME_BIND_CONFLICT = "node(s) didn't find available persistent volumes to bind"
ERR_VOLUME_NODE_CONFLICT = "node(s) had volume node affinity conflict"
ERR_VOLUME_PV_MISSING = "node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)"

SELECTED_NODE_ANNOTATION = "volume.kubernetes.io/selected-node"
NO_PROVISIONER = "kubernetes.io/no-provisioner"
# pkg/scheduler/util/pod_resources.go: what a container without requests counts for when scoring.
DEFAULT_MILLI_CPU_REQUEST = 100
DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024

Status = tuple  # (unresolvable: bool, reasons: tuple[str, ...]); None means the node passes


# ------------------------------------------------------------------ quantities, cached
@lru_cache(maxsize=4096)
def _milli(value: str) -> int:
    try:
        return cpu_millis(value)
    except (ValueError, TypeError):
        return 0


@lru_cache(maxsize=4096)
def _value(value: str) -> int:
    try:
        return memory_bytes(value)
    except (ValueError, TypeError):
        return 0


def _amount(name: str, value: Any) -> int:
    value = value if isinstance(value, str) else str(value)
    return _milli(value) if name == "cpu" else _value(value)


def _add(into: dict, requests: dict | None) -> None:
    for name, value in (requests or {}).items():
        into[name] = into.get(name, 0) + _amount(name, value)


def _maximum(into: dict, other: dict) -> None:
    for name, value in other.items():
        if value > into.get(name, 0):
            into[name] = value


def pod_requests(spec: dict) -> dict[str, int]:
    """resource.PodRequests (k8s.io/component-helpers): containers summed, init containers by the
    max rule (restartable "sidecar" init containers keep running, so they add up), then overhead.
    cpu in millicores, everything else in units. Pod-level resources win where set."""
    total: dict[str, int] = {}
    for c in spec.get("containers") or []:
        _add(total, (c.get("resources") or {}).get("requests"))
    init_max: dict[str, int] = {}
    sidecars: dict[str, int] = {}
    for c in spec.get("initContainers") or []:
        own: dict[str, int] = {}
        _add(own, (c.get("resources") or {}).get("requests"))
        if c.get("restartPolicy") == "Always":
            for k, v in own.items():
                total[k] = total.get(k, 0) + v
                sidecars[k] = sidecars.get(k, 0) + v
            _maximum(init_max, sidecars)
        else:
            for k, v in sidecars.items():
                own[k] = own.get(k, 0) + v
            _maximum(init_max, own)
    _maximum(total, init_max)
    pod_level = (spec.get("resources") or {}).get("requests") or {}
    for name in ("cpu", "memory"):
        if name in pod_level:
            total[name] = _amount(name, pod_level[name])
    _add(total, spec.get("overhead"))
    return total


def nonzero_requests(spec: dict) -> tuple[int, int]:
    """(cpu, memory) for scoring: a container without a request counts as 100m / 200Mi
    (schedutil.GetNonzeroRequests), so BestEffort pods still spread over the nodes."""
    cpu = mem = 0
    for c in spec.get("containers") or []:
        req = (c.get("resources") or {}).get("requests") or {}
        cpu += _amount("cpu", req["cpu"]) if "cpu" in req else DEFAULT_MILLI_CPU_REQUEST
        mem += _amount("memory", req["memory"]) if "memory" in req else DEFAULT_MEMORY_REQUEST
    for c in spec.get("initContainers") or []:
        req = (c.get("resources") or {}).get("requests") or {}
        cpu = max(cpu, _amount("cpu", req["cpu"]) if "cpu" in req else DEFAULT_MILLI_CPU_REQUEST)
        mem = max(mem, _amount("memory", req["memory"]) if "memory" in req else DEFAULT_MEMORY_REQUEST)
    return cpu, mem


# ------------------------------------------------------------------ pods and nodes
def is_terminal(pod: dict) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def pod_priority(pod: dict) -> int:
    return int((pod.get("spec") or {}).get("priority") or 0)


def _host_ports(spec: dict) -> list[tuple[str, str, int]]:
    found = []
    for c in spec.get("containers") or []:
        for p in c.get("ports") or []:
            if p.get("hostPort"):
                found.append((p.get("hostIP") or "0.0.0.0", p.get("protocol") or "TCP", int(p["hostPort"])))
    return found


class PodInfo:
    """What the scheduler needs to know about a pod, computed once per pass."""
    __slots__ = ("pod", "uid", "name", "namespace", "labels", "requests", "nz_cpu", "nz_mem", "ports",
                 "priority", "anti_terms", "has_anti", "terminating", "owner")

    def __init__(self, pod: dict) -> None:
        meta = pod["metadata"]
        spec = pod.get("spec") or {}
        self.pod = pod
        self.uid = meta.get("uid", "")
        self.name = meta["name"]
        self.namespace = meta.get("namespace", "")
        self.labels = meta.get("labels") or {}
        self.requests = pod_requests(spec)
        self.nz_cpu, self.nz_mem = nonzero_requests(spec)
        self.ports = _host_ports(spec)
        self.priority = pod_priority(pod)
        self.terminating = bool(meta.get("deletionTimestamp"))
        self.anti_terms = None  # parsed lazily: required anti-affinity terms, for existing pods
        self.has_anti = bool(required_terms(spec, "podAntiAffinity"))
        owner = None
        for ref in meta.get("ownerReferences") or []:
            if ref.get("controller"):
                owner = ref.get("uid")
        self.owner = owner


class NodeInfo:
    """A node and the pods bound to it (upstream framework.NodeInfo)."""
    __slots__ = ("name", "node", "labels", "taints", "unschedulable", "allocatable", "requested",
                 "nz_cpu", "nz_mem", "pods", "owners", "ports", "images")

    def __init__(self, node: dict) -> None:
        self.node = node
        self.name = node["metadata"]["name"]
        self.labels = node["metadata"].get("labels") or {}
        spec = node.get("spec") or {}
        status = node.get("status") or {}
        self.taints = spec.get("taints") or []
        self.unschedulable = bool(spec.get("unschedulable"))
        alloc: dict[str, int] = {}
        _add(alloc, status.get("allocatable") or status.get("capacity"))
        self.allocatable = alloc
        self.requested: dict[str, int] = {}
        self.nz_cpu = 0
        self.nz_mem = 0
        self.pods: list[PodInfo] = []
        self.owners: dict = {}   # the pods by controller (PodInfo.owner): how many of each, for the spreading score
        self.ports: set[tuple[str, str, int]] = set()
        self.images: dict[str, int] = {}
        for image in status.get("images") or []:
            for name in image.get("names") or []:
                self.images[name] = int(image.get("sizeBytes") or 0)

    def add(self, info: PodInfo) -> None:
        self.pods.append(info)
        if info.owner is not None:
            self.owners[info.owner] = self.owners.get(info.owner, 0) + 1
        req = self.requested
        for k, v in info.requests.items():
            req[k] = req.get(k, 0) + v
        self.nz_cpu += info.nz_cpu
        self.nz_mem += info.nz_mem
        self.ports.update(info.ports)

    def without(self, victims: set[str]) -> NodeInfo:
        """A copy of this node with some pods removed (preemption dry runs)."""
        clone = NodeInfo.__new__(NodeInfo)
        for slot in ("name", "node", "labels", "taints", "unschedulable", "allocatable", "images"):
            setattr(clone, slot, getattr(self, slot))
        clone.requested, clone.nz_cpu, clone.nz_mem, clone.pods, clone.owners, clone.ports = {}, 0, 0, [], {}, set()
        for info in self.pods:
            if info.uid not in victims:
                clone.add(info)
        return clone


class Snapshot:
    """Everything a scheduling pass reads, indexed once per pass (pods by node, claims by name)."""

    def __init__(self, state: Any, pods: list[dict] | None = None) -> None:
        self.nodes = [NodeInfo(n) for n in state.list("Node") if not n["metadata"].get("deletionTimestamp")]
        self.by_name = {n.name: n for n in self.nodes}
        self.infos: dict[str, PodInfo] = {}
        self.anti_pods: list[tuple[PodInfo, NodeInfo]] = []  # bound pods with required anti-affinity
        for pod in state.list("Pod") if pods is None else pods:
            node_name = (pod.get("spec") or {}).get("nodeName")
            if node_name and not is_terminal(pod):
                info = PodInfo(pod)
                self.infos[info.uid] = info
                node = self.by_name.get(node_name)
                if node is not None:
                    node.add(info)
                    if info.has_anti:
                        self.anti_pods.append((info, node))
        self.state = state
        self._volumes: tuple | None = None
        self._ns_labels: dict | None = None

    def bind(self, info: PodInfo, node: NodeInfo) -> None:
        self.infos[info.uid] = info
        node.add(info)
        if info.has_anti:
            self.anti_pods.append((info, node))

    def bound(self) -> list[tuple[PodInfo, NodeInfo]]:
        return [(p, n) for n in self.nodes for p in n.pods]

    def volumes(self) -> tuple[dict, dict, dict]:
        """(claims by (namespace, name), volumes by name, storage classes by name)."""
        if self._volumes is None:
            s = self.state
            claims = {(c["metadata"].get("namespace", ""), c["metadata"]["name"]): c
                      for c in s.list("PersistentVolumeClaim")}
            pvs = {v["metadata"]["name"]: v for v in s.list("PersistentVolume")}
            classes = {c["metadata"]["name"]: c for c in s.list("StorageClass")}
            self._volumes = (claims, pvs, classes)
        return self._volumes

    def namespace_labels(self, namespace: str) -> dict:
        if self._ns_labels is None:
            self._ns_labels = {n["metadata"]["name"]: n["metadata"].get("labels") or {}
                               for n in self.state.list("Namespace")}
        return self._ns_labels.get(namespace, {})


# ------------------------------------------------------------------ matching helpers
def tolerates(tolerations: list[dict], taint: dict) -> bool:
    """A pod's tolerations tolerate the taint (one rule for the whole engine: clusters/engine/placement.py)."""
    return tolerated_by(tolerations, taint)


def node_selector_term_matches(term: dict, node: NodeInfo) -> bool:
    """A NodeSelectorTerm against a scheduler node (clusters/engine/placement.py has the rule)."""
    return placement_term_matches(term, node.labels, node.name)


def node_selector_matches(terms: list[dict], node: NodeInfo) -> bool:
    return any(node_selector_term_matches(t, node) for t in terms)


class AffinityTerm:
    """A PodAffinityTerm with its selectors parsed (upstream framework.AffinityTerm)."""
    __slots__ = ("selector", "namespaces", "ns_selector", "topology_key", "weight")

    def __init__(self, term: dict, pod_namespace: str, pod_labels: dict, weight: int = 0) -> None:
        try:
            selector = selector_from_label_selector(term.get("labelSelector"))
        except ValueError:
            selector = NOTHING
        # matchLabelKeys / mismatchLabelKeys merge the incoming pod's label values into the selector.
        extra = []
        for key in term.get("matchLabelKeys") or []:
            if key in pod_labels:
                extra.append({"key": key, "operator": "In", "values": [pod_labels[key]]})
        for key in term.get("mismatchLabelKeys") or []:
            if key in pod_labels:
                extra.append({"key": key, "operator": "NotIn", "values": [pod_labels[key]]})
        if extra and not selector.nothing:
            merged = dict(term.get("labelSelector") or {})
            merged["matchExpressions"] = list(merged.get("matchExpressions") or []) + extra
            try:
                selector = selector_from_label_selector(merged)
            except ValueError:
                pass
        self.selector: Selector = selector
        namespaces = term.get("namespaces") or []
        ns_sel = term.get("namespaceSelector")
        self.namespaces = set(namespaces) if (namespaces or ns_sel is not None) else {pod_namespace}
        try:
            self.ns_selector = selector_from_label_selector(ns_sel) if ns_sel is not None else NOTHING
        except ValueError:
            self.ns_selector = NOTHING
        self.topology_key = term.get("topologyKey", "")
        self.weight = weight

    def matches(self, info: PodInfo, snap: Snapshot) -> bool:
        if info.namespace in self.namespaces or (
                not self.ns_selector.nothing and self.ns_selector.matches(snap.namespace_labels(info.namespace))):
            return self.selector.matches(info.labels)
        return False


def _affinity(spec: dict) -> dict:
    return spec.get("affinity") or {}


def required_terms(spec: dict, kind: str) -> list[dict]:
    return ((_affinity(spec).get(kind) or {}).get("requiredDuringSchedulingIgnoredDuringExecution")) or []


def preferred_terms(spec: dict, kind: str) -> list[dict]:
    return ((_affinity(spec).get(kind) or {}).get("preferredDuringSchedulingIgnoredDuringExecution")) or []


def existing_anti_terms(info: PodInfo) -> list[AffinityTerm]:
    if info.anti_terms is None:
        spec = info.pod.get("spec") or {}
        info.anti_terms = [AffinityTerm(t, info.namespace, info.labels)
                           for t in required_terms(spec, "podAntiAffinity")]
    return info.anti_terms


# ------------------------------------------------------------------ the incoming pod ("PreFilter")
class PodContext:
    """The pod being scheduled, with everything its filters and scores precompute (PreFilter)."""

    def __init__(self, pod: dict, snap: Snapshot) -> None:
        self.pod = pod
        self.snap = snap
        spec = pod.get("spec") or {}
        self.spec = spec
        self.info = PodInfo(pod)
        self.tolerations = spec.get("tolerations") or []
        self.node_selector = spec.get("nodeSelector") or {}
        na = (_affinity(spec).get("nodeAffinity") or {})
        self.required_node_terms = (na.get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get(
            "nodeSelectorTerms") if na.get("requiredDuringSchedulingIgnoredDuringExecution") else None
        self.preferred_node_terms = na.get("preferredDuringSchedulingIgnoredDuringExecution") or []
        self.prefilter_message: str | None = None  # a PreFilter rejection: the whole pod waits
        self.prefilter_plugins: list[str] = []      # plugins that narrowed the node set
        self.allowed_nodes: set[str] | None = None
        self.claims_pending: list = []              # unbound WaitForFirstConsumer claims
        self.claims_bound: list = []                # (claim, pv or None)
        self._prefilter_node_affinity()
        if self.prefilter_message is None:
            self._prefilter_volumes()
        self._affinity_counts()
        self._spread()

    # NodeAffinity PreFilter: matchFields on metadata.name narrows the candidates (DaemonSet pods).
    def _prefilter_node_affinity(self) -> None:
        terms = self.required_node_terms
        if not terms:
            return
        names: set[str] | None = None
        for term in terms:
            term_names: set[str] | None = None
            for f in term.get("matchFields") or []:
                if f.get("key") == "metadata.name" and f.get("operator") == "In":
                    values = set(f.get("values") or [])
                    term_names = values if term_names is None else term_names & values
            if term_names is None:
                return  # a term without a name constraint: every node may match
            names = term_names if names is None else names | term_names
        if names is not None and not names:
            self.prefilter_message = ERR_AFFINITY_CONFLICT
            return
        self.allowed_nodes = names
        self.prefilter_plugins.append("NodeAffinity")

    # VolumeBinding PreFilter (volume_binding.go podHasPVCs + GetPodVolumeClaims).
    def _prefilter_volumes(self) -> None:
        claim_names = []
        for vol in self.spec.get("volumes") or []:
            if vol.get("persistentVolumeClaim"):
                claim_names.append((vol["persistentVolumeClaim"].get("claimName", ""), False))
            elif vol.get("ephemeral"):
                claim_names.append((f"{self.info.name}-{vol.get('name', '')}", True))
        if not claim_names:
            return
        claims, pvs, classes = self.snap.volumes()
        unbound_immediate = False
        for name, ephemeral in claim_names:
            claim = claims.get((self.info.namespace, name))
            if claim is None:
                self.prefilter_message = (
                    f'waiting for ephemeral volume controller to create the persistentvolumeclaim "{name}"'
                    if ephemeral else f'persistentvolumeclaim "{name}" not found')
                return
            status = claim.get("status") or {}
            cspec = claim.get("spec") or {}
            if status.get("phase") == "Lost":
                self.prefilter_message = (f'persistentvolumeclaim "{name}" bound to non-existent persistentvolume '
                                          f'"{cspec.get("volumeName", "")}"')
                return
            if claim["metadata"].get("deletionTimestamp"):
                self.prefilter_message = f'persistentvolumeclaim "{name}" is being deleted'
                return
            if cspec.get("volumeName") and status.get("phase") == "Bound":
                self.claims_bound.append((claim, pvs.get(cspec["volumeName"])))
                continue
            class_name = cspec.get("storageClassName") or ""
            sc = classes.get(class_name) if class_name else None
            if sc is not None and sc.get("volumeBindingMode") == "WaitForFirstConsumer":
                self.claims_pending.append((claim, sc))
            else:
                unbound_immediate = True
        if unbound_immediate:
            self.prefilter_message = ERR_UNBOUND_IMMEDIATE

    # InterPodAffinity PreFilter: per topology pair, how many existing pods match each term.
    def _affinity_counts(self) -> None:
        spec, info, snap = self.spec, self.info, self.snap
        self.affinity = [AffinityTerm(t, info.namespace, info.labels) for t in required_terms(spec, "podAffinity")]
        self.anti = [AffinityTerm(t, info.namespace, info.labels) for t in required_terms(spec, "podAntiAffinity")]
        self.affinity_counts: dict[tuple[str, str], int] = {}
        self.anti_counts: dict[tuple[str, str], int] = {}
        self.existing_anti: set[tuple[str, str]] = set()
        for other, node in snap.anti_pods:
            for term in existing_anti_terms(other):
                if term.topology_key in node.labels and term.matches(info, snap):
                    self.existing_anti.add((term.topology_key, node.labels[term.topology_key]))
        if not (self.affinity or self.anti):
            self.matches_own_affinity = True
            return
        for other, node in snap.bound():
            for term in self.affinity:
                if term.topology_key in node.labels and term.matches(other, snap):
                    pair = (term.topology_key, node.labels[term.topology_key])
                    self.affinity_counts[pair] = self.affinity_counts.get(pair, 0) + 1
            for term in self.anti:
                if term.topology_key in node.labels and term.matches(other, snap):
                    pair = (term.topology_key, node.labels[term.topology_key])
                    self.anti_counts[pair] = self.anti_counts.get(pair, 0) + 1
        self.matches_own_affinity = all(t.matches(info, snap) for t in self.affinity)

    # PodTopologySpread PreFilter: matching pods per domain, over the nodes the pod could use.
    def _spread(self) -> None:
        self.spread: list[tuple[dict, Selector, dict[str, int], int, bool]] = []
        constraints = [c for c in self.spec.get("topologySpreadConstraints") or []
                       if c.get("whenUnsatisfiable", "DoNotSchedule") == "DoNotSchedule"]
        if not constraints:
            return
        info, snap = self.info, self.snap
        keys = [c.get("topologyKey", "") for c in constraints]
        eligible = [n for n in snap.nodes if all(k in n.labels for k in keys) and self.matches_node_affinity(n)]
        for c in constraints:
            sel_obj = dict(c.get("labelSelector") or {})
            extra = [{"key": k, "operator": "In", "values": [info.labels[k]]}
                     for k in c.get("matchLabelKeys") or [] if k in info.labels]
            if extra:
                sel_obj["matchExpressions"] = list(sel_obj.get("matchExpressions") or []) + extra
            try:
                selector = selector_from_label_selector(sel_obj if c.get("labelSelector") is not None or extra
                                                        else None)
            except ValueError:
                selector = NOTHING
            key = c.get("topologyKey", "")
            counts: dict[str, int] = {}
            for node in eligible:
                value = node.labels[key]
                counts.setdefault(value, 0)
                for other in node.pods:
                    if other.namespace == info.namespace and not other.terminating and \
                            selector.matches(other.labels):
                        counts[value] += 1
            min_domains = int(c.get("minDomains") or 1)
            minimum = min(counts.values()) if counts else 0
            if len(counts) < min_domains:
                minimum = 0
            self.spread.append((c, selector, counts, minimum, selector.matches(info.labels)))

    def matches_node_affinity(self, node: NodeInfo) -> bool:
        for k, v in self.node_selector.items():
            if node.labels.get(k) != v:
                return False
        if self.required_node_terms is not None and not node_selector_matches(self.required_node_terms, node):
            return False
        return True


# ------------------------------------------------------------------ the filters
def node_unschedulable(ctx: PodContext, node: NodeInfo) -> Status | None:
    if node.unschedulable and not tolerates(ctx.tolerations, {"key": "node.kubernetes.io/unschedulable",
                                                             "effect": "NoSchedule"}):
        return (True, (ERR_UNSCHEDULABLE,))
    return None


def node_name(ctx: PodContext, node: NodeInfo) -> Status | None:
    wanted = ctx.spec.get("nodeName")
    if wanted and wanted != node.name:
        return (True, (ERR_NODE_NAME,))
    return None


def taint_toleration(ctx: PodContext, node: NodeInfo) -> Status | None:
    for taint in node.taints:
        if taint.get("effect") in ("NoSchedule", "NoExecute") and not tolerates(ctx.tolerations, taint):
            return (True, (ERR_TAINT,))
    return None


def node_affinity(ctx: PodContext, node: NodeInfo) -> Status | None:
    """nodeSelector and required nodeAffinity (one upstream plugin, NodeAffinity, checks both)."""
    if not ctx.matches_node_affinity(node):
        return (True, (ERR_NODE_AFFINITY,))
    return None


node_selector = node_affinity  # the same upstream plugin


def node_ports(ctx: PodContext, node: NodeInfo) -> Status | None:
    for ip, proto, port in ctx.info.ports:
        for used_ip, used_proto, used_port in node.ports:
            if used_port == port and used_proto == proto and (
                    ip == used_ip or ip == "0.0.0.0" or used_ip == "0.0.0.0"):
                return (False, (ERR_PORTS,))
    return None


def fits_resources(ctx: PodContext, node: NodeInfo) -> Status | None:
    """NodeResourcesFit: requests against allocatable minus what bound pods request, and the pod count."""
    reasons = []
    unresolvable = False
    alloc, used = node.allocatable, node.requested
    if len(node.pods) + 1 > alloc.get("pods", 0):
        reasons.append(ERR_TOO_MANY_PODS)
    for name in ("cpu", "memory", "ephemeral-storage"):
        want = ctx.info.requests.get(name, 0)
        if want > 0 and want > alloc.get(name, 0) - used.get(name, 0):
            reasons.append(f"Insufficient {name}")
            unresolvable = unresolvable or want > alloc.get(name, 0)
    for name, want in ctx.info.requests.items():
        if name in ("cpu", "memory", "ephemeral-storage", "pods") or want <= 0:
            continue
        if "/" not in name and not name.startswith("hugepages-"):
            continue  # only extended resources and hugepages are checked (IsScalarResourceName)
        if want > alloc.get(name, 0) - used.get(name, 0):
            reasons.append(f"Insufficient {name}")
            unresolvable = unresolvable or want > alloc.get(name, 0)
    if reasons:
        return (unresolvable, tuple(reasons))
    return None


def _pv_node_affinity_ok(pv: dict, node: NodeInfo) -> bool:
    required = ((pv.get("spec") or {}).get("nodeAffinity") or {}).get("required")
    if not required:
        return True
    return node_selector_matches(required.get("nodeSelectorTerms") or [], node)


def _modes_ok(pv: dict, claim: dict) -> bool:
    have = set((pv.get("spec") or {}).get("accessModes") or [])
    return set((claim.get("spec") or {}).get("accessModes") or []) <= have


def matching_volume(claim: dict, node: NodeInfo, pvs: dict, taken: set[str]) -> dict | None:
    """The smallest Available PV that satisfies an unbound claim on this node (FindMatchingVolume)."""
    cspec = claim.get("spec") or {}
    want = _value(str(((cspec.get("resources") or {}).get("requests") or {}).get("storage", "0")))
    klass = cspec.get("storageClassName") or ""
    try:
        selector = selector_from_label_selector(cspec["selector"]) if cspec.get("selector") else None
    except ValueError:
        return None
    best, best_size = None, None
    for name, pv in pvs.items():
        pspec = pv.get("spec") or {}
        ref = pspec.get("claimRef")
        if name in taken or (pv.get("status") or {}).get("phase") != "Available" \
                or pv["metadata"].get("deletionTimestamp"):
            continue
        if ref and not (ref.get("name") == claim["metadata"]["name"]
                        and ref.get("namespace") == claim["metadata"].get("namespace")):
            continue
        if (pspec.get("storageClassName") or "") != klass:
            continue
        if (pspec.get("volumeMode") or "Filesystem") != (cspec.get("volumeMode") or "Filesystem"):
            continue
        size = _value(str((pspec.get("capacity") or {}).get("storage", "0")))
        if size < want or not _modes_ok(pv, claim):
            continue
        if selector is not None and not selector.matches(pv["metadata"].get("labels") or {}):
            continue
        if not _pv_node_affinity_ok(pv, node):
            continue
        if best is None or size < best_size:
            best, best_size = pv, size
    return best


def pending_claim_volumes(ctx: PodContext, node: NodeInfo) -> Iterator[tuple[dict, dict, dict | None]]:
    """FindPodVolumes on `node`: each unbound WaitForFirstConsumer claim of the pod, its StorageClass and
    the Available PV it would bind to there (None: the claim needs a provisioned volume). No PV serves
    two claims of the pod. Lazy, so the filter stops at the first claim that cannot be served; the
    PreBind step may bind each PV before the next claim is matched."""
    _claims, pvs, _classes = ctx.snap.volumes()
    taken: set[str] = set()
    for claim, sc in ctx.claims_pending:
        pv = matching_volume(claim, node, pvs, taken)
        if pv is not None:
            taken.add(pv["metadata"]["name"])
        yield claim, sc, pv


def volume_binding(ctx: PodContext, node: NodeInfo) -> Status | None:
    """VolumeBinding Filter: bound volumes must be reachable from the node; unbound
    WaitForFirstConsumer claims need a matching PV there, or a class that can provision."""
    if not ctx.claims_bound and not ctx.claims_pending:
        return None
    reasons = []
    for _claim, pv in ctx.claims_bound:
        if pv is None:
            reasons.append(ERR_VOLUME_PV_MISSING)
            break
        if not _pv_node_affinity_ok(pv, node):
            reasons.append(ERR_VOLUME_NODE_CONFLICT)
            break
    if ctx.claims_pending:
        for claim, sc, pv in pending_claim_volumes(ctx, node):
            if pv is not None:
                continue
            provisioner = sc.get("provisioner") or NO_PROVISIONER
            if provisioner == NO_PROVISIONER or (claim.get("spec") or {}).get("selector"):
                reasons.append(ERR_VOLUME_BIND_CONFLICT)
                break
            allowed = sc.get("allowedTopologies")
            if allowed and not any(node_selector_term_matches(
                    {"matchExpressions": [{"key": e.get("key"), "operator": "In", "values": e.get("values") or []}
                                          for e in t.get("matchLabelExpressions") or []]}, node)
                    for t in allowed):
                reasons.append(ERR_VOLUME_BIND_CONFLICT)
                break
    if reasons:
        return (True, tuple(reasons))
    return None


def topology_spread(ctx: PodContext, node: NodeInfo) -> Status | None:
    for c, _selector, counts, minimum, self_match in ctx.spread:
        key = c.get("topologyKey", "")
        if key not in node.labels:
            return (True, (ERR_SPREAD_LABEL,))
        skew = counts.get(node.labels[key], 0) + (1 if self_match else 0) - minimum
        if skew > int(c.get("maxSkew") or 1):
            return (False, (ERR_SPREAD,))
    return None


def pod_affinity(ctx: PodContext, node: NodeInfo) -> Status | None:
    """Required podAffinity: every term needs a matching pod in the node's topology domain.
    The first pod of a group that matches its own terms may go anywhere (upstream special case)."""
    if not ctx.affinity:
        return None
    if not ctx.affinity_counts and ctx.matches_own_affinity:
        return None
    for term in ctx.affinity:
        value = node.labels.get(term.topology_key)
        if value is None or ctx.affinity_counts.get((term.topology_key, value), 0) <= 0:
            return (True, (ERR_POD_AFFINITY,))
    return None


def pod_anti_affinity(ctx: PodContext, node: NodeInfo) -> Status | None:
    """Required podAntiAffinity: no matching pod in the node's topology domain."""
    for term in ctx.anti:
        value = node.labels.get(term.topology_key)
        if value is not None and ctx.anti_counts.get((term.topology_key, value), 0) > 0:
            return (False, (ERR_POD_ANTI_AFFINITY,))
    return None


def existing_pods_anti_affinity(ctx: PodContext, node: NodeInfo) -> Status | None:
    for key, value in ctx.existing_anti:
        if node.labels.get(key) == value:
            return (False, (ERR_EXISTING_ANTI_AFFINITY,))
    return None


def inter_pod_affinity(ctx: PodContext, node: NodeInfo) -> Status | None:
    """The InterPodAffinity plugin: affinity, then anti-affinity, then existing pods' anti-affinity."""
    return pod_affinity(ctx, node) or pod_anti_affinity(ctx, node) or existing_pods_anti_affinity(ctx, node)


Filter = Callable[[PodContext, NodeInfo], "Status | None"]

FILTERS: list[tuple[str, Filter]] = [
    ("NodeUnschedulable", node_unschedulable),
    ("NodeName", node_name),
    ("TaintToleration", taint_toleration),
    ("NodeAffinity", node_affinity),
    ("NodePorts", node_ports),
    ("NodeResourcesFit", fits_resources),
    ("VolumeBinding", volume_binding),
    ("PodTopologySpread", topology_spread),
    ("InterPodAffinity", inter_pod_affinity),
]


def run_filters(ctx: PodContext, node: NodeInfo) -> Status | None:
    """The first rejecting filter's status, or None when the node fits."""
    for _name, f in FILTERS:
        status = f(ctx, node)
        if status is not None:
            return status
    return None
