"""Where a TCP connection to ip:port goes, as kube-proxy's iptables rules and the pod network route it.

`route(index, client, ip, port, when)` follows the packet:

* 127.0.0.0/8 → the client pod itself (its containers share one network namespace). From outside the
  cluster (the learner's machine) clusterIPs and pod IPs lead nowhere: a timeout.
* A Service's clusterIP: the Service port with that number and protocol (none: no rule matches and the
  packet is routed off into nothing — a timeout), then one of its endpoints that was ready at `when` and
  serves that port (the EndpointSlice port of the same name, targetPort already resolved per pod); no such
  endpoint: kube-proxy's REJECT rule answers — connection refused. An endpoint that is an address and
  no pod (the `kubernetes` Service's API server) is routed on to that address.
* An externalIP or a load balancer's ingress IP: the same, by Service port.
* A node's InternalIP: a NodePort (externalTrafficPolicy Local keeps outside traffic to endpoints on that
  node; a node without one drops the packet), a container's hostPort on that node, else the node
  itself: its hostNetwork pods and its own listeners (the API server on 6443 of the control plane, the
  kubelet on 10250); a port nothing listens on is refused.
* A pod's IP: that pod. An address of a node's pod range that no pod holds: no route to host (the node's
  ARP request goes unanswered). Any other address: the SYN is lost — a timeout.

The endpoint is chosen as iptables' statistic module does (each endpoint equally likely), from a seeded
hash of the cluster, the client, the Service and the instant of the connection, so a replay makes the
same choices. sessionAffinity ClientIP keeps a client on one endpoint (hash of the client's IP) for as
long as that endpoint stays ready.
"""
from __future__ import annotations

from dataclasses import dataclass
from hashlib import blake2b

from .index import API_SERVER_PORT, KUBELET_PORT, Endpoint, NetworkIndex, PodEntry, ServiceEntry

SYN_TIMEOUT = 127.0        # seconds: Linux gives up a connect() after 6 SYN retransmissions (1+2+…+64 s)
ARP_TIMEOUT = 3.0          # seconds until a connect() to an unanswered address fails with EHOSTUNREACH


@dataclass(frozen=True)
class Client:
    """Who connects: a pod (its IP, its node), or the outside world (pod None)."""
    ip: str
    pod: PodEntry | None = None
    node: str = ""


@dataclass
class Route:
    kind: str                       # "pod" | "node" | "refused" | "timeout" | "unreachable"
    ip: str                         # the address finally connected to (after DNAT)
    port: int
    pod: PodEntry | None = None     # kind "pod": the pod whose containers must be listening
    host_pods: tuple[PodEntry, ...] = ()   # kind "node": the node's hostNetwork pods, which may listen
    host: str = ""                  # kind "node": the node's own listener on that port ("apiserver" | "kubelet")
    service: ServiceEntry | None = None
    endpoint: Endpoint | None = None


def _hash(*parts: object) -> int:
    return int.from_bytes(blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest(), "big")


def _service_port(svc: ServiceEntry, port: int, protocol: str, node_port: bool = False) -> dict | None:
    key = "nodePort" if node_port else "port"
    for p in svc.ports:
        if p.get(key) == port and (p.get("protocol") or "TCP") == protocol:
            return p
    return None


def choose_endpoint(index: NetworkIndex, svc: ServiceEntry, svc_port: dict, client: Client, when: float,
                    node: str = "") -> tuple[Endpoint, int] | None:
    """The endpoint (and its port) a new connection to this Service port goes to; None: no endpoint."""
    key = (svc_port.get("name") or "", svc_port.get("protocol") or "TCP")
    ready = [(ep, ep.ports[key]) for ep in svc.ready_endpoints(when) if key in ep.ports
             and (not node or ep.node == node)]
    if not ready:
        return None
    ready.sort(key=lambda pair: (pair[0].ip, pair[1]))
    if svc.affinity_timeout is not None:
        pick = _hash(index.salt, "affinity", svc.namespace, svc.name, client.ip)
    else:
        pick = _hash(index.salt, client.ip, svc.namespace, svc.name, key[0], round(when * 1_000_000))
    return ready[pick % len(ready)]


def _to_service(index: NetworkIndex, svc: ServiceEntry, svc_port: dict | None, client: Client, when: float,
                node: str = "", depth: int = 0) -> Route:
    ip = svc.cluster_ips[0] if svc.cluster_ips else ""
    if svc_port is None:
        return Route("timeout", ip, 0, service=svc)
    chosen = choose_endpoint(index, svc, svc_port, client, when, node)
    if chosen is None:
        # No endpoint: kube-proxy's REJECT rule (local-only NodePort traffic without a local endpoint is dropped).
        return Route("timeout" if node else "refused", ip, int(svc_port.get("port") or 0), service=svc)
    endpoint, port = chosen
    routed = route(index, client, endpoint.ip, port, when, depth=depth + 1) if depth < 2 else \
        Route("timeout", endpoint.ip, port)
    routed.service, routed.endpoint = svc, endpoint
    return routed


def route(index: NetworkIndex, client: Client, ip: str, port: int, when: float, protocol: str = "TCP",
          *, depth: int = 0) -> Route:
    """Where a connection from `client` to ip:port at `when` ends up (see the module docstring)."""
    if ip.startswith("127.") or ip == "localhost":
        if client.pod is None:
            return Route("refused", ip, port)
        return Route("pod", ip, port, pod=client.pod)
    svc = index.by_cluster_ip.get(ip)
    if client.pod is None and depth == 0 and (svc is not None or index.in_pod_network(ip)):
        return Route("timeout", ip, port)      # clusterIPs and pod IPs are not routed outside the cluster
    if svc is not None and svc.exists_at(when):
        return _to_service(index, svc, _service_port(svc, port, protocol), client, when, depth=depth)
    svc = index.by_external_ip.get(ip)
    if svc is not None and svc.exists_at(when):
        return _to_service(index, svc, _service_port(svc, port, protocol), client, when, depth=depth)
    node = index.nodes_by_ip.get(ip)
    if node is not None:
        found = index.node_ports.get((port, protocol))
        if found is not None and found[0].exists_at(when):
            svc, svc_port = found
            local = node["metadata"]["name"] if svc.local_only and client.pod is None else ""
            return _to_service(index, svc, svc_port, client, when, node=local, depth=depth)
        mapped = index.host_ports.get((ip, port, protocol))
        if mapped is not None and mapped[0].since <= when:
            return Route("pod", mapped[0].ip, mapped[1], pod=mapped[0])
        host = "apiserver" if ip in index.control_plane_ips and port == API_SERVER_PORT else \
            "kubelet" if port == KUBELET_PORT else ""
        pods = tuple(p for p in index.pods_by_ip.get(ip, ()) if p.host_network and p.since <= when)
        return Route("node", ip, port, host_pods=pods, host=host)
    holder = index.pod_at(ip, when)
    if holder is not None:
        return Route("pod", ip, port, pod=holder)
    if index.in_pod_network(ip):
        return Route("unreachable", ip, port)
    return Route("timeout", ip, port)
