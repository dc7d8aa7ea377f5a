"""Traffic to a Service as the cluster page's "Send traffic" sends it: who answers, how often, what fails.

A read, like `kubectl logs`: the cluster's snapshot is loaded at its current simulated time (the way a
reconcile pass loads it, clusters.sim.reconcile.load_state) and the engine's network model
(clusters.engine.network) answers each request — nothing is written and no pass is asked for. The
requests go:

* from inside the cluster: as a client pod in the Service's namespace would send them, `http://<service>:
  <port><path>` through its resolver (CoreDNS: the clusterIP; every ready endpoint for a headless Service),
  then kube-proxy's choice of a ready endpoint (refused when there is none);
* from outside (the learner's machine; NodePort and LoadBalancer Services only): to the load balancer's IP
  when it has one, else to the first node's InternalIP on the nodePort.

The requests of one send are a burst a millisecond apart from the cluster's simulated now. kube-proxy's
choice is a hash of the instant of the connection (routing.choose_endpoint), so a send is shifted by a
per-send `seed` (under a millisecond): sends at the same paused instant still spread over the endpoints
as iptables' random choice would, while one send stays reproducible for its seed.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

from clusters.engine.network import PodNetwork, Response, outside
from clusters.engine.state import ClusterState
from clusters.models import Cluster
from clusters.sim.reconcile import load_state
from clusters.store.database import DbStore

MAX_REQUESTS = 100
SPACING = 0.001                 # seconds between two requests of one send
BODY_PREVIEW = 1000             # characters of the first answer's body kept
CLIENT_POD = "traffic-client"   # the stand-in client pod's name (it is not created)

FAILURES = {
    "refused": "connection refused",
    "timeout": "timeout",
    "unreachable": "no route to host",
    "unresolved": "could not resolve host",
}


class TrafficError(Exception):
    """A send that cannot be made (no such Service, a port it does not have, …); `status` is the HTTP one."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Answer:
    """The requests one pod (None: a node's own listener, such as the API server) answered."""
    pod: str | None
    namespace: str | None
    node: str
    count: int = 0
    statuses: Counter = field(default_factory=Counter)


@dataclass
class TrafficReport:
    url: str                        # what was requested, as the client wrote it
    source: str                     # "cluster" | "outside"
    time: float                     # the simulated time of the first request
    requests: int
    answers: list[Answer]           # most requests first
    failures: list[tuple[str, int]]  # (reason, count), most first
    first: Response | None          # the first request that got an answer


def _service_port(service: dict, port: int | None) -> dict:
    spec = service.get("spec") or {}
    ports = [p for p in spec.get("ports") or () if (p.get("protocol") or "TCP") == "TCP"]
    name = service["metadata"]["name"]
    if port is None:
        if ports:
            return ports[0]
        if spec.get("type") == "ExternalName":
            return {"port": 80}
        raise TrafficError(f'service "{name}" has no TCP port to send HTTP requests to')
    for candidate in ports:
        if candidate.get("port") == port:
            return candidate
    listed = ", ".join(str(p.get("port")) for p in ports) or "none"
    raise TrafficError(f'service "{name}" has no TCP port {port} (its ports: {listed})')


def _scheme(service_port: dict) -> str:
    return "https" if service_port.get("port") == 443 or service_port.get("name") == "https" else "http"


def _outside_url(state: ClusterState, service: dict, service_port: dict, path: str) -> str:
    spec, name = service.get("spec") or {}, service["metadata"]["name"]
    kind = spec.get("type") or "ClusterIP"
    if kind not in ("NodePort", "LoadBalancer"):
        raise TrafficError(f'service "{name}" is a {kind} Service: it is reachable from inside the cluster only '
                           f'(make it a NodePort or LoadBalancer Service to reach it from outside)')
    scheme = _scheme(service_port)
    ingress = ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or ()
    lb_ip = next((i.get("ip") for i in ingress if i.get("ip")), "")
    if kind == "LoadBalancer" and lb_ip:
        return f"{scheme}://{lb_ip}:{service_port['port']}{path}"
    node_port = service_port.get("nodePort")
    if not node_port:
        raise TrafficError(f'service "{name}" has no nodePort for port {service_port.get("port")}')
    nodes = sorted(state.list("Node"), key=lambda n: n["metadata"]["name"])
    node_ip = next((a.get("address") for n in nodes for a in (n.get("status") or {}).get("addresses") or ()
                    if a.get("type") == "InternalIP" and a.get("address")), "")
    if not node_ip:
        raise TrafficError("the cluster has no node with an address to send to")
    return f"{scheme}://{node_ip}:{node_port}{path}"


def _client_pod(namespace: str) -> dict:
    """A client pod in the Service's namespace, as `kubectl run client --image=busybox` would make one."""
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": CLIENT_POD, "namespace": namespace, "uid": ""},
            "spec": {"dnsPolicy": "ClusterFirst", "containers": []}, "status": {}}


def send(state: ClusterState, namespace: str, name: str, *, requests: int, path: str = "/",
         from_outside: bool = False, port: int | None = None, seed: int = 0) -> TrafficReport:
    """`requests` HTTP GETs to the Service at the state's now (pure over the state: nothing is written)."""
    if not 1 <= requests <= MAX_REQUESTS:
        raise TrafficError(f"requests must be a whole number from 1 to {MAX_REQUESTS}")
    service = state.get("Service", namespace, name)
    if service is None:
        raise TrafficError(f'service "{name}" not found in namespace "{namespace}"', 404)
    service_port = _service_port(service, port)
    if from_outside:
        url, network = _outside_url(state, service, service_port, path), outside(state)
    else:
        url = f"{_scheme(service_port)}://{name}:{service_port['port']}{path}"
        network = PodNetwork(state, _client_pod(namespace))
    start = state.now + (seed % 1000) / 1_000_000
    answers: dict[str | None, Answer] = {}
    failures: Counter = Counter()
    first = None
    for i in range(requests):
        response = network.request(url, start + i * SPACING)
        if response.outcome != "ok":
            failures[FAILURES.get(response.outcome, response.outcome)] += 1
            continue
        first = first or response
        meta = (response.pod or {}).get("metadata") or {}
        key = f'{meta.get("namespace")}/{meta.get("name")}' if response.pod else None
        if key not in answers:
            answers[key] = Answer(meta.get("name"), meta.get("namespace"),
                                  ((response.pod or {}).get("spec") or {}).get("nodeName") or "")
        answers[key].count += 1
        answers[key].statuses[response.status or 0] += 1
    ordered = sorted(answers.values(), key=lambda a: (-a.count, a.namespace or "", a.pod or ""))
    return TrafficReport(url, "outside" if from_outside else "cluster", start, requests, ordered,
                         failures.most_common(), first)


def service_traffic(*, cluster: Cluster, namespace: str, name: str, requests: int, path: str = "/",
                    from_outside: bool = False, port: int | None = None, seed: int = 0) -> TrafficReport:
    """send() over the cluster's snapshot at its current simulated time."""
    state = load_state(cluster, DbStore(cluster))
    return send(state, namespace, name, requests=requests, path=path, from_outside=from_outside, port=port,
                seed=seed)


def report_json(report: TrafficReport) -> dict:
    """The page's answer (clusters/web/PAGE.md, "Send traffic")."""
    first = report.first
    return {
        "url": report.url,
        "from": report.source,
        "time": datetime.fromtimestamp(report.time, UTC).isoformat().replace("+00:00", "Z"),
        "requests": report.requests,
        "answers": [{"pod": a.pod, "namespace": a.namespace, "node": a.node, "count": a.count,
                     "statuses": {str(status): n for status, n in sorted(a.statuses.items())}}
                    for a in report.answers],
        "failures": [{"reason": reason, "count": count} for reason, count in report.failures],
        "first": None if first is None else {
            "status": first.status, "body": first.body[:BODY_PREVIEW], "truncated": len(first.body) > BODY_PREVIEW,
            "pod": ((first.pod or {}).get("metadata") or {}).get("name")},
    }
