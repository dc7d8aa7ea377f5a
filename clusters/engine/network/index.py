"""The cluster network's view of the state: Services by IP and name, endpoints by Service, pods by IP.

Built once from a ClusterState and reused for every request and lookup until the state is written
again (get_index keys it on the state's write counter), so a script's replay, which asks the network
hundreds of times, pays for one build. Everything time-related is kept as seconds, so the questions
"did this Service exist at t?", "was this endpoint ready at t?" are comparisons: a replay asks about the
past, and the answers must be what the cluster would have said then.

What is taken from where, as the real components take it:

* Services (kube-proxy, CoreDNS): clusterIPs, ports, type, nodePorts, externalIPs, the load balancer's
  ingress IPs, sessionAffinity, externalTrafficPolicy, externalName, creationTimestamp.
* EndpointSlices (kube-proxy, CoreDNS read slices, not pods): each endpoint's address, ready condition,
  hostname, node and target pod, with the slice's ports (targetPorts already resolved per pod by the
  EndpointSlice controller). An endpoint backed by a pod is ready at t only if the pod's Ready condition
  turned True at or before t and the pod existed then.
* Pods: podIP → the pod (hostNetwork pods listen on their node's IP), for pod-to-pod traffic and the
  `<a-b-c-d>.<ns>.pod.cluster.local` records; containers' hostPorts (the portmap plugin's DNAT from the
  node's IP to the pod).
* Nodes: InternalIP and podCIDR (an address in a node's pod range that no pod holds is unreachable).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TypeVar

from ..state import ClusterState, parse_timestamp

T = TypeVar("T")

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
CLUSTER_DOMAIN = "cluster.local"
CLUSTER_DNS_SERVICE = ("kube-system", "kube-dns")
API_SERVER_PORT = 6443
KUBELET_PORT = 10250


@lru_cache(maxsize=8192)
def _seconds(text: str | None) -> float:
    """A metav1.Time as seconds; a missing or bad one counts as 'always' (the epoch)."""
    value = parse_timestamp(text)
    return float("-inf") if value is None else value


@dataclass
class Endpoint:
    """One address of a Service, as its EndpointSlices give it."""
    ip: str
    ready: bool                       # the slice's ready condition (as of the state)
    hostname: str                     # the endpoint's hostname, or "" (CoreDNS then names it by its dashed IP)
    node: str
    ports: dict[tuple[str, str], int]  # (port name, protocol) -> the port on the pod
    pod: dict | None                  # the target pod, when the slice names one that exists
    ready_since: float                # when the pod last turned Ready (-inf: no pod, trust the slice)

    def ready_at(self, when: float) -> bool:
        return self.ready and self.ready_since <= when

    @property
    def dns_label(self) -> str:
        """CoreDNS endpointHostname: the hostname, else the IP with dots as dashes."""
        return self.hostname or self.ip.replace(".", "-")


@dataclass
class ServiceEntry:
    obj: dict
    namespace: str
    name: str
    created: float
    type: str
    cluster_ips: tuple[str, ...]      # empty for headless and ExternalName Services
    headless: bool
    external_name: str
    ports: list[dict]
    affinity_timeout: float | None    # sessionAffinity ClientIP: seconds; None: no affinity
    local_only: bool                  # externalTrafficPolicy Local (NodePort / LoadBalancer traffic)
    endpoints: list[Endpoint] = field(default_factory=list)

    @property
    def fqdn(self) -> str:
        return f"{self.name}.{self.namespace}.svc.{CLUSTER_DOMAIN}"

    def exists_at(self, when: float) -> bool:
        return self.created <= when

    def ready_endpoints(self, when: float) -> list[Endpoint]:
        return [e for e in self.endpoints if e.ready_at(when)]


@dataclass
class PodEntry:
    pod: dict
    ip: str
    namespace: str
    name: str
    node: str
    host_network: bool
    since: float                      # the pod's startTime: its sandbox (and IP) exists from then


@dataclass
class NetworkIndex:
    services: dict[tuple[str, str], ServiceEntry] = field(default_factory=dict)
    by_cluster_ip: dict[str, ServiceEntry] = field(default_factory=dict)
    by_external_ip: dict[str, ServiceEntry] = field(default_factory=dict)   # externalIPs, LB ingress IPs
    node_ports: dict[tuple[int, str], tuple[ServiceEntry, dict]] = field(default_factory=dict)
    host_ports: dict[tuple[str, int, str], tuple[PodEntry, int]] = field(default_factory=dict)  # hostPort mappings
    pods_by_ip: dict[str, list[PodEntry]] = field(default_factory=dict)
    nodes_by_ip: dict[str, dict] = field(default_factory=dict)
    node_ip: dict[str, str] = field(default_factory=dict)              # node name -> InternalIP
    control_plane_ips: set[str] = field(default_factory=set)
    pod_cidrs: list[tuple[int, int]] = field(default_factory=list)       # (network, mask) as integers
    namespaces: dict[str, float] = field(default_factory=dict)           # name -> created
    endpoint_ptr: dict[str, list[tuple[ServiceEntry, Endpoint]]] = field(default_factory=dict)
    dns_pods: int = 0                 # pods the kube-dns Service selects (0: the add-on is not modelled as pods)
    salt: str = ""                    # a per-cluster constant that seeds the load balancer's choices
    programs: dict = field(default_factory=dict)   # the traffic module's cache of answering programs

    def service(self, namespace: str, name: str, when: float) -> ServiceEntry | None:
        entry = self.services.get((namespace, name))
        return entry if entry is not None and entry.exists_at(when) else None

    def namespace_exists(self, namespace: str, when: float) -> bool:
        created = self.namespaces.get(namespace)
        return created is not None and created <= when

    def pod_at(self, ip: str, when: float) -> PodEntry | None:
        """The pod holding `ip` at `when` (the latest started one, should an address have been reused)."""
        found = None
        for entry in self.pods_by_ip.get(ip, ()):
            if entry.since <= when and (found is None or entry.since > found.since):
                found = entry
        return found

    def in_pod_network(self, ip: str) -> bool:
        value = _ip_int(ip)
        return value is not None and any(value & mask == net for net, mask in self.pod_cidrs)

    def dns_available(self, when: float) -> bool:
        """CoreDNS answers: the kube-dns Service exists and, if DNS pods are modelled, one is ready."""
        svc = self.service(*CLUSTER_DNS_SERVICE, when)
        if svc is None:
            return False
        return self.dns_pods == 0 or bool(svc.ready_endpoints(when))


def _ip_int(ip: str) -> int | None:
    parts = ip.split(".")
    if len(parts) != 4:
        return None
    try:
        values = [int(p) for p in parts]
    except ValueError:
        return None
    if any(v < 0 or v > 255 for v in values):
        return None
    return (values[0] << 24) | (values[1] << 16) | (values[2] << 8) | values[3]


def _cidr(text: str) -> tuple[int, int] | None:
    address, _, bits = text.partition("/")
    value = _ip_int(address)
    if value is None or not bits.isdigit():
        return None
    mask = (0xFFFFFFFF << (32 - int(bits))) & 0xFFFFFFFF
    return value & mask, mask


def _ready_since(pod: dict) -> float:
    for condition in (pod.get("status") or {}).get("conditions") or ():
        if condition.get("type") == "Ready":
            return _seconds(condition.get("lastTransitionTime")) if condition.get("status") == "True" \
                else float("inf")
    return float("inf")


def build(state: ClusterState) -> NetworkIndex:
    index = NetworkIndex()
    for ns in state.list("Namespace"):
        index.namespaces[ns["metadata"]["name"]] = _seconds(ns["metadata"].get("creationTimestamp"))
    pods_by_key: dict[tuple[str, str], dict] = {}
    for node in state.list("Node"):
        name = node["metadata"]["name"]
        for address in (node.get("status") or {}).get("addresses") or ():
            if address.get("type") == "InternalIP" and address.get("address"):
                index.nodes_by_ip[address["address"]] = node
                index.node_ip.setdefault(name, address["address"])
        if "node-role.kubernetes.io/control-plane" in (node["metadata"].get("labels") or {}) and name in index.node_ip:
            index.control_plane_ips.add(index.node_ip[name])
        spec = node.get("spec") or {}
        for text in spec.get("podCIDRs") or ([spec["podCIDR"]] if spec.get("podCIDR") else []):
            cidr = _cidr(text)
            if cidr is not None:
                index.pod_cidrs.append(cidr)
    for pod in state.list("Pod"):
        meta, spec, status = pod["metadata"], pod.get("spec") or {}, pod.get("status") or {}
        pods_by_key[(meta.get("namespace", ""), meta["name"])] = pod
        if meta.get("namespace") == CLUSTER_DNS_SERVICE[0] and \
                (meta.get("labels") or {}).get("k8s-app") == "kube-dns":
            index.dns_pods += 1
        ip = status.get("podIP")
        if not ip or status.get("phase") in ("Succeeded", "Failed"):
            continue
        entry = PodEntry(pod, ip, meta.get("namespace", ""), meta["name"], spec.get("nodeName") or "",
                         bool(spec.get("hostNetwork")), _seconds(status.get("startTime")))
        index.pods_by_ip.setdefault(ip, []).append(entry)
        node_ip = index.node_ip.get(entry.node)
        if node_ip and not entry.host_network:
            for container in spec.get("containers") or ():
                for port in container.get("ports") or ():
                    if port.get("hostPort") and port.get("containerPort"):
                        index.host_ports[(node_ip, int(port["hostPort"]), port.get("protocol") or "TCP")] = \
                            (entry, int(port["containerPort"]))
    for svc in state.list("Service"):
        meta, spec = svc["metadata"], svc.get("spec") or {}
        ips = tuple(ip for ip in (spec.get("clusterIPs") or [spec.get("clusterIP")]) if ip and ip != "None")
        affinity = None
        if spec.get("sessionAffinity") == "ClientIP":
            config = ((spec.get("sessionAffinityConfig") or {}).get("clientIP") or {})
            affinity = float(config.get("timeoutSeconds") or 10800)
        kind = spec.get("type") or "ClusterIP"
        entry = ServiceEntry(svc, meta.get("namespace", ""), meta["name"],
                             _seconds(meta.get("creationTimestamp")), kind,
                             ips if kind != "ExternalName" else (), spec.get("clusterIP") == "None",
                             spec.get("externalName") or "" if kind == "ExternalName" else "",
                             list(spec.get("ports") or []), affinity,
                             spec.get("externalTrafficPolicy") == "Local")
        index.services[(entry.namespace, entry.name)] = entry
        for ip in entry.cluster_ips:
            index.by_cluster_ip[ip] = entry
        external = list(spec.get("externalIPs") or [])
        external += [i.get("ip") for i in ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or ()
                     if i.get("ip")]
        for ip in external:
            index.by_external_ip.setdefault(ip, entry)
        if kind in ("NodePort", "LoadBalancer"):
            for port in entry.ports:
                if port.get("nodePort"):
                    index.node_ports.setdefault((int(port["nodePort"]), port.get("protocol") or "TCP"),
                                                (entry, port))
    for slc in state.list("EndpointSlice"):
        meta = slc["metadata"]
        owner = (meta.get("labels") or {}).get(SERVICE_NAME_LABEL)
        entry = index.services.get((meta.get("namespace", ""), owner or ""))
        if entry is None or slc.get("addressType", "IPv4") != "IPv4" or meta.get("deletionTimestamp"):
            continue
        ports = {(p.get("name") or "", p.get("protocol") or "TCP"): int(p["port"])
                 for p in slc.get("ports") or () if p.get("port") is not None}
        for item in slc.get("endpoints") or ():
            conditions = item.get("conditions") or {}
            ready = conditions.get("ready") is not False       # unset means ready (discovery/v1)
            ref = item.get("targetRef") or {}
            pod = pods_by_key.get((ref.get("namespace") or entry.namespace, ref.get("name", ""))) \
                if ref.get("kind") == "Pod" else None
            since = float("-inf")
            if pod is not None:
                publish = bool((entry.obj.get("spec") or {}).get("publishNotReadyAddresses"))
                since = max(_seconds(pod["metadata"].get("creationTimestamp")),
                            float("-inf") if publish else _ready_since(pod))
            for address in item.get("addresses") or ():
                endpoint = Endpoint(address, ready, item.get("hostname") or "", item.get("nodeName") or "",
                                    ports, pod, since)
                entry.endpoints.append(endpoint)
                index.endpoint_ptr.setdefault(address, []).append((entry, endpoint))
    kubernetes = index.services.get(("default", "kubernetes"))
    index.salt = (kubernetes.obj["metadata"].get("uid", "") if kubernetes else "") or "cluster"
    return index


def per_state(build_from: Callable[[ClusterState], T]) -> Callable[[ClusterState], T]:
    """`build_from(state)` kept for each state as it stands (in state.memos): built on first use and again only
    after the state was written or its clock moved (the network's tables depend on both)."""

    def get(state: ClusterState) -> T:
        cached = state.memos.get(get)
        if cached is not None and cached[0] == state.writes and cached[1] == state.now:
            state.note_reads(cached[3])   # whoever is served depends on what the build read
            return cached[2]
        with state.recording_reads() as kinds:
            built = build_from(state)
        state.memos[get] = (state.writes, state.now, built, frozenset(kinds))
        return built

    return get


get_index = per_state(build)
"""The index of `state` as it stands (NetworkIndex)."""
