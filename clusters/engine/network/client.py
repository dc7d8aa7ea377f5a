"""A pod's (or the outside world's) handle on the cluster network: what the shell's commands call.

The kubelet gives every container program a PodNetwork bound to the cluster state and the pod; its
bound methods fill the shell's ShellWorld (`http`, `resolve`, `reverse`) and the object itself is
ShellWorld.net, for the commands that need more (nslookup, dig, getent, nc). OUTSIDE is the learner's
machine: requests from it have no pod, no search path, and reach the cluster through node IPs
(NodePorts) and load balancer IPs.
"""
from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable
from typing import TypeVar

from ..state import ClusterState
from . import dns, traffic
from .index import NetworkIndex, PodEntry, get_index
from .policy import Policies, get_policies
from .routing import Client

OUTSIDE_IP = "172.18.0.1"   # the docker network's gateway: where a kind cluster sees the host's requests come from
T = TypeVar("T")

MAX_QUESTIONS = 16          # the distinct questions a program's network keeps (more: it keeps none, see `questions`)
ANSWERED_LATER = 86_400.0   # how far ahead `answers` asks again: what the cluster holds for later shows by then


class PodNetwork:
    def __init__(self, state: ClusterState, pod: dict | None = None) -> None:
        self.state = state
        self.pod = pod
        meta = (pod or {}).get("metadata") or {}
        self.namespace = meta.get("namespace", "default") if pod is not None else ""
        self._search = dns.cluster_search_list(self.namespace) if pod is not None and self._cluster_dns() else []
        self._view: tuple[NetworkIndex, Policies, NetworkIndex] | None = None
        # What was asked of the network, so a kubelet can tell later whether a program that asked would now
        # get other answers (`answers`) without replaying it: `consulted`, whether anything was asked; the
        # distinct `questions`, or None when there were more than MAX_QUESTIONS or the index was read in a way
        # they do not record (ping reads it directly).
        self.consulted = False
        self.questions: dict[tuple, None] | None = {}
        self._answering = 0

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
        if not self._answering:
            self.questions = None   # read for a question that is not recorded
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

    def _ask(self, question: tuple, answer: Callable[[], T]) -> T:
        """answer(): the network's answer to `question`, which is recorded (`questions`); what answering it
        asks on the way is not."""
        if self.questions is not None and not self._answering and question not in self.questions:
            if len(self.questions) >= MAX_QUESTIONS:
                self.questions = None
            else:
                self.questions[question] = None
        self._answering += 1
        try:
            return answer()
        finally:
            self._answering -= 1

    def query(self, name: str, qtype: str, when: float) -> dns.Reply:
        """One question to the cluster DNS server."""
        return self._ask(("query", name, qtype), lambda: dns.query(self.index, name, qtype, when))

    def lookup(self, name: str, when: float, search: list[str] | None = None,
               ndots: int = dns.DEFAULT_NDOTS) -> dns.Resolution:
        """The stub resolver: search path, ndots, CNAMEs followed."""
        return self._ask(("lookup", name, None if search is None else tuple(search), ndots),
                         lambda: dns.search(self.index, name, when, self._search if search is None else search, ndots))

    def dns_available(self, when: float) -> bool:
        """Whether the cluster DNS answers at all (its Service exists and, if modelled, a pod of it is ready)."""
        return self._ask(("dns",), lambda: self.index.dns_available(when))

    def resolve(self, name: str, when: float) -> str | None:
        """ShellWorld.resolve: the first address of `name` as the pod's resolver finds it, or None."""
        addresses = self.lookup(name, when).addresses
        return addresses[0] if addresses else None

    def reverse(self, ip: str, when: float | None = None) -> str | None:
        """ShellWorld.reverse: the PTR name of `ip` (the first one), or None."""
        names = self.reverse_all(ip, self.state.now if when is None else when)
        return names[0] if names else None

    def reverse_all(self, ip: str, when: float) -> list[str]:
        return self._ask(("reverse", ip),
                         lambda: dns.ptr_names(self.index, ip, when) if self.index.dns_available(when) else [])

    # ------------------------------------------------------------------ traffic
    def http(self, url: str, when: float) -> tuple[int, str] | None:
        """ShellWorld.http: (status, body); None when refused; (-errno, "") when the connect failed."""
        return self.request(url, when).world_answer

    def request(self, url: str, when: float, *, host: str | None = None) -> traffic.Response:
        return self._ask(("request", url, host), lambda: traffic.request(self.state, url, when, source=self.pod,
                                                                         host_header=host, network=self))

    # ------------------------------------------------------------------ asked again
    def recorded_questions(self) -> list[list] | None:
        """The distinct questions asked, as JSON lists (for the kubelet's notes); None: not all were recorded."""
        if self.questions is None:
            return None
        return [[list(part) if type(part) is tuple else part for part in question] for question in self.questions]

    def answers(self, questions: Iterable[list], when: float) -> int:
        """A checksum of what `questions` (as recorded_questions gave them) get at `when` and later. Equal
        checksums at two instants: a program that asked only these meets the same network from both on, as
        far as it can tell (a reply as a whole; of a request, what the shell sees: its outcome, status and
        body). "Later" is what the cluster already holds for the future: a backend whose server listens only
        once it has started, an endpoint ready from its pod's Ready time; asked a day on, as the program's
        replay would meet them."""
        found: list = []
        for kind, *args in questions:
            for at in (when, when + ANSWERED_LATER):
                if kind == "query":
                    found.append(repr(self.query(args[0], args[1], at)))
                elif kind == "lookup":
                    found.append(repr(self.lookup(args[0], at, args[1], args[2])))
                elif kind == "dns":
                    found.append(self.dns_available(at))
                elif kind == "reverse":
                    found.append(self.reverse_all(args[0], at))
                elif kind == "request":
                    response = self.request(args[0], at, host=args[1])
                    found.append((response.outcome, response.world_answer))
        return zlib.crc32(repr(found).encode())


def outside(state: ClusterState) -> PodNetwork:
    """The network as seen from outside the cluster (the learner's machine)."""
    return PodNetwork(state, None)
