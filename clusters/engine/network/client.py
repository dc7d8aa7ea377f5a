"""A pod's (or the outside world's) handle on the cluster network: what the shell's commands call.

The kubelet gives every container program a PodNetwork bound to the cluster state and the pod; its
bound methods fill the shell's ShellWorld (`http`, `resolve`, `reverse`) and the object itself is
ShellWorld.net, for the commands that need more (nslookup, dig, getent, nc). OUTSIDE is the learner's
machine: requests from it have no pod, no search path, and reach the cluster through node IPs
(NodePorts) and load balancer IPs.
"""
from __future__ import annotations

from ..state import ClusterState
from . import dns, traffic
from .index import NetworkIndex, PodEntry, get_index
from .policy import Policies, get_policies
from .routing import Client

OUTSIDE_IP = "172.18.0.1"   # the docker network's gateway: where a kind cluster sees the host's requests come from


class PodNetwork:
    def __init__(self, state: ClusterState, pod: dict | None = None) -> None:
        self.state = state
        self.pod = pod
        meta = (pod or {}).get("metadata") or {}
        self.namespace = meta.get("namespace", "default") if pod is not None else ""
        self._search = dns.cluster_search_list(self.namespace) if pod is not None and self._cluster_dns() else []
        self._view: tuple[NetworkIndex, Policies, NetworkIndex] | None = None
        # Whether anything asked the network (a name, a connection): what it got depends on the cluster's
        # Services and pods, so a kubelet that ran such a program must run it again when they change.
        self.consulted = False

    def _cluster_dns(self) -> bool:
        spec = (self.pod or {}).get("spec") or {}
        policy = spec.get("dnsPolicy") or "ClusterFirst"
        if policy == "ClusterFirstWithHostNet":
            return True
        return policy == "ClusterFirst" and not spec.get("hostNetwork")

    @property
    def index(self) -> NetworkIndex:
        """The network index; under NetworkPolicy, as this pod sees it (policy.py: whether DNS answers it)."""
        self.consulted = True
        index = get_index(self.state)
        if self.pod is None:
            return index
        rules = get_policies(self.state)
        if rules is None:
            return index
        if self._view is None or self._view[0] is not index or self._view[1] is not rules:
            self._view = (index, rules, rules.pod_view(index, self.client()))
        return self._view[2]

    def client(self) -> Client:
        if self.pod is None:
            return Client(OUTSIDE_IP)
        status, spec, meta = self.pod.get("status") or {}, self.pod.get("spec") or {}, self.pod["metadata"]
        entry = PodEntry(self.pod, status.get("podIP") or "", meta.get("namespace", ""), meta["name"],
                         spec.get("nodeName") or "", bool(spec.get("hostNetwork")), float("-inf"))
        return Client(entry.ip, entry, entry.node)

    # ------------------------------------------------------------------ DNS
    @property
    def search_list(self) -> list[str]:
        return list(self._search)

    def query(self, name: str, qtype: str, when: float) -> dns.Reply:
        """One question to the cluster DNS server."""
        return dns.query(self.index, name, qtype, when)

    def lookup(self, name: str, when: float, search: list[str] | None = None,
               ndots: int = dns.DEFAULT_NDOTS) -> dns.Resolution:
        """The stub resolver: search path, ndots, CNAMEs followed."""
        return dns.search(self.index, name, when, self._search if search is None else search, ndots)

    def resolve(self, name: str, when: float) -> str | None:
        """ShellWorld.resolve: the first address of `name` as the pod's resolver finds it, or None."""
        addresses = self.lookup(name, when).addresses
        return addresses[0] if addresses else None

    def reverse(self, ip: str, when: float | None = None) -> str | None:
        """ShellWorld.reverse: the PTR name of `ip` (the first one), or None."""
        names = self.reverse_all(ip, self.state.now if when is None else when)
        return names[0] if names else None

    def reverse_all(self, ip: str, when: float) -> list[str]:
        if not self.index.dns_available(when):
            return []
        return dns.ptr_names(self.index, ip, when)

    # ------------------------------------------------------------------ traffic
    def http(self, url: str, when: float) -> tuple[int, str] | None:
        """ShellWorld.http: (status, body); None when refused; (-errno, "") when the connect failed."""
        return self.request(url, when).world_answer

    def request(self, url: str, when: float, *, host: str | None = None) -> traffic.Response:
        return traffic.request(self.state, url, when, source=self.pod, host_header=host, network=self)


def outside(state: ClusterState) -> PodNetwork:
    """The network as seen from outside the cluster (the learner's machine)."""
    return PodNetwork(state, None)
