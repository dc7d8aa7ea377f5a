"""`kubectl port-forward`: the connections it opens inside a pod, answered by the simulated programs.

The API server hands a port-forward to the pod's kubelet; for every connection the learner's machine
makes, the kubelet's streaming server asks containerd to dial localhost:PORT inside the pod's network
namespace and copies bytes both ways. Here each dial and each request is a read, like `kubectl logs`: the
cluster's snapshot is loaded at its current simulated time (clusters.sim.reconcile.load_state) and the
engine's network model answers from inside the pod itself (clusters.engine.network: PodNetwork(state,
pod).request to 127.0.0.1 — never through a Service: kubectl has already picked the pod). Nothing is
written.

* forward_target: what the API server checks before it upgrades the connection (the pod exists: 404;
  it is scheduled: 400) and what the kubelet knows the pod by — its sandbox id and network namespace,
  which containerd's errors name.
* dial: one connection at the simulated now. Refused (nothing listens on the port, the container has not
  started or has exited) → the kubelet's message for the error stream, as containerd 2.1 words it; a pod
  deleted (or replaced under the same name) since the forward began → "failed to find sandbox"; a pod
  that has finished → its network namespace is closed. Else which protocol the listening program speaks:
  "http" (its answer has an HTTP status), "redis", "memcached", or "tcp" (a database or any other server
  that is not modelled byte for byte: it accepts and stays silent).
* http_exchange: one HTTP request on that connection → the status line, headers and body the program's
  server sends — nginx (Server: nginx/1.x, Content-Type from mime.types, `Connection: keep-alive`, 405
  for methods a static site does not take, the absolute `Location` of its directory redirects), Apache
  httpd and mod_php, Go's net/http (agnhost, hello-app, …: no Server header, sniffed Content-Type), Node.
  The Date is the cluster's simulated now. None: the program stopped listening (the connection drops).
* bad_request: the server's answer to bytes that are not an HTTP request.

The servers' headers are the engine's (clusters.engine.network.http), which the shell's curl and wget
print too; Server, HttpRequest and HttpAnswer are re-exported here for the API server's side.
"""
from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field

from clusters.apiserver import errors
from clusters.engine.kubelet import images
from clusters.engine.network import PodNetwork, http
from clusters.engine.network.http import HttpAnswer, HttpRequest, Server
from clusters.engine.state import ClusterState
from clusters.models import Cluster
from clusters.sim.reconcile import load_state
from clusters.store.database import DbStore

__all__ = ["Dialed", "ForwardTarget", "HttpAnswer", "HttpRequest", "Server", "bad_request", "dial",
           "forward_target", "http_exchange"]


def _state(cluster: Cluster) -> ClusterState:
    """The cluster's state at its simulated now (the clock read afresh: it may have been moved since)."""
    cluster = Cluster.objects.filter(pk=cluster.pk).first() or cluster
    return load_state(cluster, DbStore(cluster))


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class ForwardTarget:
    """The pod a port-forward goes into, as the kubelet's streaming server knows it."""
    namespace: str
    pod: str
    uid: str
    sandbox: str      # the pod sandbox's id: the kubelet names the pod by it in its errors (the uid stays empty)
    netns: str        # containerd's path of the sandbox's network namespace ("host" for hostNetwork pods)

    def error(self, port: int, reason: str) -> str:
        """The kubelet's message on the error stream (cri/streaming/portforward/httpstream.go)."""
        return f"error forwarding port {port} to pod {self.sandbox}, uid : {reason}"

    def refused(self, port: int) -> str:
        return self.error(port, f'failed to execute portforward in network namespace "{self.netns}": failed to '
                                f'connect to localhost:{port} inside namespace "{self.sandbox}", IPv4: dial tcp4 '
                                f"127.0.0.1:{port}: connect: connection refused IPv6 dial tcp6 [::1]:{port}: "
                                "connect: connection refused ")


@dataclass
class Dialed:
    error: str = ""           # the kubelet's message for the error stream; "" when connected
    protocol: str = "tcp"     # "http" | "redis" | "memcached" | "tcp"
    server: Server = field(default_factory=Server)


def _pod(state: ClusterState, namespace: str, name: str) -> dict:
    pod = state.get("Pod", namespace, name)
    if pod is None:
        raise errors.not_found("pods", "", name)
    return pod


def forward_target(*, cluster: Cluster, namespace: str, pod: str) -> ForwardTarget:
    """The pod to forward into, or the API's error (404 no such pod; 400 not scheduled yet)."""
    found = _pod(_state(cluster), namespace, pod)
    spec = found.get("spec") or {}
    if not spec.get("nodeName"):
        raise errors.bad_request(f"pod {pod} does not have a host assigned")
    uid = found["metadata"].get("uid", "")
    sandbox = _digest(f"{uid}/sandbox")
    netns = "host" if spec.get("hostNetwork") else \
        f"/var/run/netns/cni-{uuid.UUID(bytes=bytes.fromhex(_digest(f'{uid}/netns')[:32]))}"
    return ForwardTarget(namespace, pod, uid, sandbox, netns)


def _current(state: ClusterState, target: ForwardTarget) -> tuple[dict | None, str]:
    """The target's pod as it stands now, or None and the reason containerd gives for not finding it."""
    pod = state.get("Pod", target.namespace, target.pod)
    if pod is None or pod["metadata"].get("uid") != target.uid:
        return None, f'failed to find sandbox "{target.sandbox}" in store: not found'
    if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
        return None, f'network namespace for sandbox "{target.sandbox}" is closed'
    return pod, ""


def _server(pod: dict | None, container: str) -> Server:
    spec = (pod or {}).get("spec") or {}
    for c in list(spec.get("containers") or ()) + list(spec.get("initContainers") or ()):
        if c.get("name") == container:
            image = images.lookup(c.get("image", ""))
            if isinstance(image, images.Image):
                return Server(image.kind, image.version)
    return Server()


def dial(*, cluster: Cluster, target: ForwardTarget, port: int) -> Dialed:
    """Connect to localhost:port inside the pod at the cluster's simulated now."""
    state = _state(cluster)
    pod, missing = _current(state, target)
    if pod is None:
        return Dialed(error=target.error(port, missing))
    network = PodNetwork(state, pod)
    connected = network.request(f"tcp://127.0.0.1:{port}", state.now)
    if connected.outcome != "ok":
        return Dialed(error=target.refused(port))
    server = _server(connected.pod or pod, connected.container)
    asked = network.request(f"http://127.0.0.1:{port}/", state.now)
    if asked.outcome == "ok" and asked.status:
        return Dialed(protocol="http", server=server)
    if server.kind in ("redis", "memcached"):
        return Dialed(protocol=server.kind, server=server)
    return Dialed(protocol="tcp", server=server)


def http_exchange(*, cluster: Cluster, target: ForwardTarget, port: int, server: Server,
                  request: HttpRequest) -> HttpAnswer | None:
    """The answer of the program listening on `port` to one request; None when it no longer listens."""
    state = _state(cluster)
    pod, _missing = _current(state, target)
    if pod is None:
        return None
    host = request.header("host")
    answered = PodNetwork(state, pod).request(f"http://127.0.0.1:{port}{request.path}", state.now,
                                              host=host or None)
    if answered.outcome != "ok" or not answered.status:
        return None
    return http.render(server, request, answered.status, answered.body, state.now, port, host,
                       modified=answered.modified)


def bad_request(*, cluster: Cluster, server: Server) -> HttpAnswer:
    """What the server sends back to bytes that are not an HTTP request (then it closes)."""
    fresh = Cluster.objects.filter(pk=cluster.pk).first() or cluster
    return http.bad_request(server, fresh.sim_now())
