"""NetworkPolicy, enforced on the simulated traffic as a policy-enforcing CNI enforces it.

The model is kind's own: kindnet (since v1.0, kind v0.24) embeds kube-network-policies
(kubernetes-sigs/kube-network-policies pkg/networkpolicy), which sends the first packet of every new
connection from or to a pod that a policy selects to userspace from an nftables `postrouting` chain —
after kube-proxy's DNAT, before SNAT — and answers it accept or drop (`ct state established,related
accept` lets every reply through). Calico judges the same way and drops too. So, following
concepts/services-networking/network-policies.md:

* A pod is isolated for ingress (egress) when a NetworkPolicy of its namespace selects it
  (`spec.podSelector`, `{}` selects every pod) and has Ingress (Egress) in its policyTypes — defaulted,
  when unset, to Ingress plus Egress if the policy has egress rules. A pod no policy selects is
  non-isolated. Policies are additive: an isolated pod takes what any of its policies' rules allows.
* A connection between two pods needs both the source's egress and the destination's ingress to
  allow it. Replies are never judged (stateful). A pod cannot block itself (127.0.0.1 or its own IP),
  nor the node it runs on: connections from its node (the kubelet, hostNetwork pods there) and to it
  are always allowed.
* A rule allows traffic that matches one of its peers (none: any peer) on one of its ports (none: any
  port). A peer's podSelector picks pods of the policy's namespace; its namespaceSelector all pods of
  the namespaces it picks (`{}`: every namespace); both in one peer: those pods in those namespaces
  (AND), two peers: either (OR). An ipBlock matches the address — a pod's IP too — inside `cidr` and
  outside every `except`. A port matches the protocol (TCP by default) and the number, a range up to
  `endPort`, or a name, which is the destination pod's container port of that name.
* Traffic to a Service is judged on the endpoint kube-proxy chose: the backend pod, its IP and
  targetPort, never the clusterIP (an ipBlock of the Service range allows nothing).
* hostNetwork pods are node traffic (the usual implementation the docs name): no policy isolates them
  and selectors never match them; they are their node's IP to an ipBlock. Traffic from outside the
  cluster is its own address while it reaches the pod's own node (or under externalTrafficPolicy
  Local), else kube-proxy has masqueraded it to the IP of the node it came in by.
* A blocked connection is dropped: the client sees a timeout (`wget: download timed out`), never a
  refusal. DNS is a connection like any other — UDP 53 to a CoreDNS pod — so a default-deny egress
  policy without a DNS rule makes every lookup time out.

A policy applies from its creationTimestamp, so a replay of the past sees the traffic it saw then.
`get_policies(state)` indexes the policies by namespace once per state as written (as index.get_index
does) and is None when the cluster has none: then nothing here runs.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from functools import lru_cache

from ..resources import NOTHING, Selector, selector_from_label_selector
from ..state import ClusterState, parse_timestamp
from .index import CLUSTER_DNS_SERVICE, NetworkIndex, PodEntry, per_state
from .routing import Client, Route

NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


@dataclass(frozen=True)
class PolicyPort:
    protocol: str
    number: int | None = None      # None with no name: every port of the protocol
    end: int | None = None         # endPort: number..end inclusive
    name: str = ""                 # a named port, resolved on the destination pod


@dataclass(frozen=True)
class Peer:
    pods: Selector | None = None
    namespaces: Selector | None = None
    block: tuple[int, int, int] | None = None           # (version, network, mask) as integers
    excepts: tuple[tuple[int, int, int], ...] = ()


@dataclass(frozen=True)
class Rule:
    peers: tuple[Peer, ...]         # empty: every peer
    ports: tuple[PolicyPort, ...]   # empty: every port


@dataclass(frozen=True)
class Policy:
    namespace: str
    name: str
    created: float
    selector: Selector
    ingress: tuple[Rule, ...] | None   # None: not an Ingress policy; (): isolates, allows nothing
    egress: tuple[Rule, ...] | None


@lru_cache(maxsize=8192)
def _address(ip: str) -> tuple[int, int] | None:
    try:
        value = ipaddress.ip_address(ip)
    except ValueError:
        return None
    return value.version, int(value)


def _block(text: object) -> tuple[int, int, int] | None:
    try:
        network = ipaddress.ip_network(str(text), strict=False)
    except ValueError:
        return None
    return network.version, int(network.network_address), int(network.netmask)


def _in(block: tuple[int, int, int], address: tuple[int, int]) -> bool:
    return block[0] == address[0] and address[1] & block[2] == block[1]


def _selector(obj: object) -> Selector:
    if not isinstance(obj, dict):
        return NOTHING
    try:
        return selector_from_label_selector(obj)
    except ValueError:           # the API server validates selectors: only a hand-made object gets here
        return NOTHING


def _port(item: dict) -> PolicyPort:
    protocol = str(item.get("protocol") or "TCP")
    port = item.get("port")
    if port is None:
        return PolicyPort(protocol)
    if isinstance(port, int) or (isinstance(port, str) and port.isdigit()):
        end = item.get("endPort")
        return PolicyPort(protocol, int(port), int(end) if isinstance(end, int) else None)
    return PolicyPort(protocol, name=str(port))


def _peer(item: dict) -> Peer | None:
    block = item.get("ipBlock")
    if isinstance(block, dict):
        cidr = _block(block.get("cidr"))
        if cidr is None:
            return None
        return Peer(block=cidr, excepts=tuple(b for b in map(_block, block.get("except") or ()) if b is not None))
    pods, namespaces = item.get("podSelector"), item.get("namespaceSelector")
    if pods is None and namespaces is None:
        return None
    return Peer(_selector(pods) if pods is not None else None,
                _selector(namespaces) if namespaces is not None else None)


def _rules(items: object, peers_key: str) -> tuple[Rule, ...]:
    rules = []
    for item in items if isinstance(items, list) else ():
        if not isinstance(item, dict):
            continue
        peers = item.get(peers_key) or []
        parsed = tuple(p for p in (_peer(x) for x in peers if isinstance(x, dict)) if p is not None)
        if peers and not parsed:
            continue             # only unusable peers: the rule matches nothing
        rules.append(Rule(parsed, tuple(_port(p) for p in item.get("ports") or () if isinstance(p, dict))))
    return tuple(rules)


def parse(obj: dict) -> Policy:
    meta, spec = obj["metadata"], obj.get("spec") or {}
    types = spec.get("policyTypes") or (["Ingress"] + (["Egress"] if spec.get("egress") else []))
    created = parse_timestamp(meta.get("creationTimestamp"))
    return Policy(meta.get("namespace", ""), meta["name"], float("-inf") if created is None else created,
                  _selector(spec.get("podSelector") if spec.get("podSelector") is not None else {}),
                  _rules(spec.get("ingress"), "from") if "Ingress" in types else None,
                  _rules(spec.get("egress"), "to") if "Egress" in types else None)


def _named_port(pod: PodEntry | None, name: str, port: int, protocol: str) -> bool:
    if pod is None:
        return False
    spec = pod.pod.get("spec") or {}
    for container in list(spec.get("containers") or ()) + list(spec.get("initContainers") or ()):
        for item in container.get("ports") or ():
            if item.get("name") == name and item.get("containerPort") == port and \
                    (item.get("protocol") or "TCP") == protocol:
                return True
    return False


def _port_admits(item: PolicyPort, port: int, protocol: str, target: PodEntry | None) -> bool:
    if item.protocol != protocol:
        return False
    if item.name:
        return _named_port(target, item.name, port, protocol)
    if item.number is None:
        return True
    return item.number <= port <= (item.end if item.end is not None else item.number)


class Policies:
    """The cluster's NetworkPolicies, by namespace, and the verdicts on connections."""

    def __init__(self, policies: list[Policy], namespace_labels: dict[str, dict]) -> None:
        self.by_namespace: dict[str, list[Policy]] = {}
        for item in policies:
            self.by_namespace.setdefault(item.namespace, []).append(item)
        self.namespace_labels = namespace_labels
        self._applying: dict[tuple[str, str, str], tuple[tuple[Policy, ...], tuple[Policy, ...]]] = {}

    # ------------------------------------------------------------------ who is isolated
    def applying(self, pod: PodEntry) -> tuple[tuple[Policy, ...], tuple[Policy, ...]]:
        """(policies isolating `pod` for ingress, for egress), whenever created; a hostNetwork pod: none."""
        meta = pod.pod.get("metadata") or {}
        key = (pod.namespace, pod.name, meta.get("uid", ""))
        found = self._applying.get(key)
        if found is None:
            labels = meta.get("labels") or {}
            mine = [] if pod.host_network else \
                [p for p in self.by_namespace.get(pod.namespace, ()) if p.selector.matches(labels)]
            found = (tuple(p for p in mine if p.ingress is not None), tuple(p for p in mine if p.egress is not None))
            self._applying[key] = found
        return found

    def _peer_admits(self, peer: Peer, namespace: str, pod: PodEntry | None, ip: str) -> bool:
        if peer.block is not None:
            address = _address(ip)
            return address is not None and _in(peer.block, address) and \
                not any(_in(b, address) for b in peer.excepts)
        if pod is None:
            return False             # an address that is no pod (a node, the outside) matches no selector
        if peer.namespaces is None:
            if pod.namespace != namespace:
                return False
        else:
            labels = self.namespace_labels.get(pod.namespace) or {NAMESPACE_NAME_LABEL: pod.namespace}
            if not peer.namespaces.matches(labels):
                return False
        return peer.pods is None or peer.pods.matches((pod.pod.get("metadata") or {}).get("labels") or {})

    def _allowed_by(self, policies: tuple[Policy, ...], direction: str, when: float, peer: PodEntry | None,
                    peer_ip: str, port: int, protocol: str, target: PodEntry | None) -> bool | None:
        """Whether the policies in force at `when` allow it; None: none is in force (not isolated)."""
        isolated = False
        for item in policies:
            if item.created > when:
                continue
            isolated = True
            for rule in (item.ingress if direction == "ingress" else item.egress) or ():
                if rule.ports and not any(_port_admits(p, port, protocol, target) for p in rule.ports):
                    continue
                if not rule.peers or any(self._peer_admits(p, item.namespace, peer, peer_ip) for p in rule.peers):
                    return True
        return False if isolated else None

    # ------------------------------------------------------------------ verdicts
    def admits(self, index: NetworkIndex, client: Client, routed: Route, dialed: str, when: float,
               protocol: str = "TCP") -> bool:
        """Whether a new connection from `client`, routed (after DNAT) as `routed`, gets through."""
        source = client.pod if client.pod is not None and not client.pod.host_network else None
        target = routed.pod if routed.kind == "pod" and routed.pod is not None and \
            not routed.pod.host_network else None
        if source is not None and target is not None and (source.ip == target.ip or source.pod is target.pod):
            return True              # a pod cannot block access to itself
        if source is not None:
            policies = self.applying(source)[1]
            own_node = routed.kind == "node" and routed.ip == index.node_ip.get(source.node)
            if policies and not own_node and self._allowed_by(policies, "egress", when, target, routed.ip,
                                                              routed.port, protocol, target) is False:
                return False
        if target is not None:
            policies = self.applying(target)[0]
            if policies:
                source_ip = self._source_ip(index, client, routed, target, dialed)
                if source_ip != index.node_ip.get(target.node) and self._allowed_by(
                        policies, "ingress", when, source, source_ip, routed.port, protocol, target) is False:
                    return False
        return True

    @staticmethod
    def _source_ip(index: NetworkIndex, client: Client, routed: Route, target: PodEntry, dialed: str) -> str:
        """The source address the destination's node judges: the client's, unless kube-proxy masqueraded
        outside traffic that came in by another node (externalTrafficPolicy Cluster)."""
        if client.pod is not None:
            return client.ip
        node = index.nodes_by_ip.get(dialed)
        if node is not None and routed.service is not None and not routed.service.local_only and \
                node["metadata"]["name"] != target.node:
            return dialed
        return client.ip

    def dns_allowed(self, index: NetworkIndex, client: Client, when: float) -> bool:
        """Whether the cluster DNS answers `client`: UDP 53 to some ready CoreDNS pod gets through."""
        svc = index.service(*CLUSTER_DNS_SERVICE, when)
        if svc is None:
            return True
        port = next((p for p in svc.ports if p.get("port") == 53 and (p.get("protocol") or "TCP") == "UDP"), None)
        key = ((port or {}).get("name") or "", "UDP")
        found = False
        for endpoint in svc.ready_endpoints(when):
            pod = index.pod_at(endpoint.ip, when)
            if pod is None:
                continue
            found = True
            routed = Route("pod", endpoint.ip, endpoint.ports.get(key, 53), pod=pod, service=svc, endpoint=endpoint)
            if self.admits(index, client, routed, svc.cluster_ips[0] if svc.cluster_ips else "", when, "UDP"):
                return True
        return not found             # CoreDNS not modelled as pods: nothing to judge

    def pod_view(self, index: NetworkIndex, client: Client) -> NetworkIndex:
        """`index` as `client` sees it: the same tables, and the cluster DNS answering only if its
        policies let the query through (what the shell's resolver asks: index.dns_available)."""
        view = _ClientIndex.__new__(_ClientIndex)
        view.__dict__.update(index.__dict__)
        view.policies, view.client, view.dns_verdict = self, client, None
        return view


class _ClientIndex(NetworkIndex):
    """A NetworkIndex sharing every table of the state's, for one client under NetworkPolicy."""
    policies: Policies
    client: Client
    dns_verdict: tuple[float, bool] | None     # the last answer: a search asks several names at one instant

    def dns_available(self, when: float) -> bool:
        if not NetworkIndex.dns_available(self, when):
            return False
        if self.dns_verdict is None or self.dns_verdict[0] != when:
            self.dns_verdict = (when, self.policies.dns_allowed(self, self.client, when))
        return self.dns_verdict[1]


def build(state: ClusterState) -> Policies | None:
    objects = state.list("NetworkPolicy")
    if not objects:
        return None
    labels = {ns["metadata"]["name"]: ns["metadata"].get("labels") or {} for ns in state.list("Namespace")}
    return Policies([parse(obj) for obj in objects], labels)


get_policies = per_state(build)
"""The policies of `state` as it stands (None: the cluster has none), rebuilt only after a write."""
