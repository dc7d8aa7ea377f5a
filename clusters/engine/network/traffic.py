"""Requests on the simulated network: who answers, what, or how the attempt fails; and the load it makes.

`request(state, url, when, source=pod|None)` is one HTTP GET (or, for a `tcp://host:port` url, one TCP
connect) at simulated time `when`: the host is resolved as the source pod's resolver would (its search
path; from outside only IPs and node names mean anything), routing.py says where the connection goes,
and the answering container's program (kubelet/program.py `Program.http`: nginx serves the files of its
document root, agnhost's serve-hostname and netexec say the pod's name, …) answers as it would at that
instant — a container not yet started, or since exited, does not listen. The result is a Response:
`outcome` "ok" (with status and body; status 0 when something listens that does not speak HTTP),
"refused", "timeout", "unreachable" or "unresolved", and which pod and container answered. Its
`answer(request)` is the whole HTTP answer on the wire — status line, the answering server's headers
(http.py: nginx's, Go's, Apache's, …; through an Ingress, ingress-nginx's), body — and `headers` those of
a plain GET; the Date in them is the time of the request.

The node's own listeners answer too: the API server (6443 on the control plane, reached through the
`kubernetes` Service) as it answers an anonymous request — 403 Forbidden Status for most paths, the
public /healthz, /livez, /readyz and /version, 400 to plain HTTP — and the kubelet (10250) with 401.

Load. Nothing here keeps a request log (the engine is pure and replays are repeated): load is a rate,
derived when asked. A client's steady loop reports its request rate per url (the shell's
`Run.request_rates`); `pod_request_rates` turns such rates into requests per second per backend pod, the
way iptables spreads connections (evenly over the Service's ready endpoints, all of it to one endpoint
under ClientIP affinity), counting only requests a listening container answers. `client_request_rates`
replays every running pod's script to collect those rates, and `cpu_millicores` prices a pod's rate with
its image's CPU cost per request (images.Image.cpu_millis_per_request: hpa-example burns 25 ms a request).
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ..state import ClusterState
from . import http, ingress, policy, routing
from .index import NetworkIndex, PodEntry, get_index, per_state

if TYPE_CHECKING:
    from ..kubelet.program import Program
    from .client import PodNetwork

ETIMEDOUT, EHOSTUNREACH = 110, 113
_SCHEME_PORTS = {"http": 80, "https": 443}


@dataclass
class Response:
    outcome: str                      # "ok" | "refused" | "timeout" | "unreachable" | "unresolved"
    status: int | None = None         # HTTP status; 0: connected, but not to an HTTP server
    body: str = ""
    ip: str = ""                      # the address connected to, as the client resolved it
    port: int = 0
    pod: dict | None = None           # the pod whose container answered
    container: str = ""
    service: tuple[str, str] | None = None   # (namespace, name) of the Service the connection went through
    server: http.Server | None = None        # the program that answered (its headers: http.render)
    modified: float | None = None            # when the files it serves were written (its container's start)
    ingress: bool = False                    # answered by (or through) an ingress-nginx controller
    path: str = "/"                          # the request as the answering server saw it
    host: str = ""
    when: float = 0.0

    def answer(self, request: http.HttpRequest | None = None) -> http.HttpAnswer | None:
        """The HTTP answer on the wire to `request` (by default a plain GET of the path, keep-alive):
        status line, the server's headers, body. None when no HTTP server answered."""
        if self.outcome != "ok" or not self.status:
            return None
        if request is None:
            request = http.HttpRequest("GET", self.path, "HTTP/1.1", [("Host", self.host or self.ip)])
        server = self.server or http.Server()
        if not self.ingress:
            return http.render(server, request, self.status, self.body, self.when, self.port, self.host,
                               modified=self.modified)
        if server.kind == "ingress-nginx":      # the controller's own page: its Server header cleared
            own = http.render(server, request, self.status, self.body, self.when, self.port, self.host)
            own.headers = [(k, v) for k, v in own.headers if k != "Server"]
            return own
        upstream = http.render(server, http.HttpRequest(request.method, self.path, "HTTP/1.1",
                                                        [("Host", self.host)]),
                               self.status, self.body, self.when, self.port, self.host, modified=self.modified)
        return http.proxied(upstream, request, self.when)

    @property
    def headers(self) -> list[tuple[str, str]]:
        """The response headers a plain GET gets ([] when no HTTP server answered)."""
        answer = self.answer()
        return answer.headers if answer is not None else []

    @property
    def world_answer(self) -> tuple[int, str] | None:
        """The shell's encoding (ShellWorld.http): (status, body), None = refused, (-errno, "") = failed."""
        if self.outcome == "ok":
            return (self.status or 0, self.body)
        if self.outcome == "timeout":
            return (-ETIMEDOUT, "")
        if self.outcome == "unreachable":
            return (-EHOSTUNREACH, "")
        return None


def parse_url(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path with query) with http:// assumed, as wget and curl do."""
    url = url.partition("#")[0]
    if "://" not in url:
        url = "http://" + url
    scheme, _, rest = url.partition("://")
    scheme = scheme.lower()
    end = next((i for i, c in enumerate(rest) if c in "/?"), len(rest))   # the authority ends at "/" or "?"
    hostport, path = rest[:end], rest[end:]
    hostport = hostport.rpartition("@")[2]
    host, colon, port = hostport.rpartition(":") if ":" in hostport else (hostport, "", "")
    number = int(port) if colon and port.isdigit() else _SCHEME_PORTS.get(scheme, 80)
    return scheme, host.lower(), number, path if path.startswith("/") else "/" + path


def _is_ip(text: str) -> bool:
    parts = text.split(".")
    return len(parts) == 4 and all(p.isdigit() and int(p) < 256 for p in parts)


def request(state: ClusterState, url: str, when: float, *, source: dict | None = None,
            host_header: str | None = None, network: PodNetwork | None = None) -> Response:
    """One GET (or TCP connect, for tcp:// urls) from `source` (a pod, or None: outside) at `when`."""
    if network is None:
        from .client import PodNetwork
        network = PodNetwork(state, source)
    url, _, fragment = url.partition("#")
    if fragment.startswith("Host="):           # the shell's way of passing a Host header (curl -H, --resolve)
        host_header = host_header or fragment[5:]
    scheme, host, port, path = parse_url(url)
    if _is_ip(host):
        ip = host
    elif host == "localhost":
        ip = "127.0.0.1"
    else:
        addresses = network.lookup(host, when).addresses if network.pod is not None else []
        # From outside, the nodes' names are what the learner's machine knows (kind puts them in its hosts).
        ip = addresses[0] if addresses else network.index.node_ip.get(host, "")
        if not ip:
            return Response("unresolved", port=port)
    return connect_and_ask(state, network.index, network.client(), scheme, ip, port, path, when,
                           host=(host_header or host).lower())


def connect_and_ask(state: ClusterState, index: NetworkIndex, client: routing.Client, scheme: str, ip: str,
                    port: int, path: str, when: float, *, host: str = "", depth: int = 0) -> Response:
    routed = routing.route(index, client, ip, port, when)
    rules = policy.get_policies(state)
    if rules is not None and routed.kind in ("pod", "node") and not rules.admits(index, client, routed, ip, when):
        routed.kind = "timeout"               # NetworkPolicy: the CNI drops the SYN
    service = (routed.service.namespace, routed.service.name) if routed.service is not None else None
    base = Response(routed.kind, ip=ip, port=port, service=service, path=path, host=host, when=when)
    if routed.kind in ("refused", "timeout", "unreachable"):
        return base
    pods = (routed.pod,) if routed.kind == "pod" and routed.pod is not None else routed.host_pods
    for entry in pods:
        if scheme != "tcp" and depth == 0:
            proxied = _through_ingress(state, index, entry, routed.port, scheme, host or ip, path, when, base)
            if proxied is not None:
                return proxied
        answered = _answer(state, index, entry, routed.port, path, when, scheme == "tcp")
        if answered is not None:
            (status, body), container, program = answered
            base.outcome, base.status, base.body, base.pod, base.container = "ok", status, body, entry.pod, container
            base.server, base.modified = http.Server(program.image.kind, program.image.version), program.start
            return base
    if routed.host:
        base.outcome = "ok"
        base.server = http.Server("kube-apiserver" if routed.host != "kubelet" else "kubelet")
        base.status, base.body = (0, "") if scheme == "tcp" else _host_answer(state, routed.host, scheme, path)
        return base
    base.outcome = "refused"
    return base


# ------------------------------------------------------------------ the answering containers

def attempt_start(record: dict, when: float) -> float | None:
    """When the container attempt that was running at `when` started (the kubelet's notes), or None."""
    start = record.get("start")
    st = record.get("st")
    if start is not None and start <= when:
        if st in ("run", "creating"):
            return start
        if st == "exit" and when < record["exit"][1]:
            return start
    last, prev = record.get("last"), record.get("prev_start")
    if last and prev is not None and prev <= when < last[1]:
        return prev
    return None


def container_start(state: ClusterState, pod: dict, name: str, when: float) -> float | None:
    """When the attempt of the pod's container `name` running at `when` started (None: none was running)."""
    record = ((state.sim(pod).get("c") or {}).get(name) if pod["metadata"].get("uid") else None) or {}
    return attempt_start(record, when)


def answering_program(state: ClusterState, index: NetworkIndex, pod: dict, container: dict,
                      when: float) -> Program | None:
    """The program of `container` running at `when` (cached in the index for the state as it stands)."""
    start = container_start(state, pod, container["name"], when)
    if start is None:
        return None
    key = (pod["metadata"].get("uid", ""), container["name"], start)
    if key in index.programs:
        return index.programs[key]
    from ..kubelet import images
    from ..kubelet.environment import ConfigError, ContainerWorld, container_environment, container_files
    from ..kubelet.lifecycle import _memory_limit
    from ..kubelet.program import program_for

    program = None
    image = images.lookup(container.get("image", ""))
    if isinstance(image, images.Image):
        node = state.get("Node", "", (pod.get("spec") or {}).get("nodeName") or "")
        try:
            env = container_environment(state, pod, container, node, started=start)
        except ConfigError:
            env = {}
        world = ContainerWorld(env, container_files(state, pod, container))
        program = program_for(image, container, world, start, _memory_limit(container))
    index.programs[key] = program
    return program


def _serving_containers(pod: dict) -> list[dict]:
    spec = pod.get("spec") or {}
    sidecars = [c for c in spec.get("initContainers") or () if c.get("restartPolicy") == "Always"]
    return list(spec.get("containers") or ()) + sidecars


def _answer(state: ClusterState, index: NetworkIndex, entry: PodEntry, port: int, path: str, when: float,
            connect_only: bool) -> tuple[tuple[int, str], str, Program] | None:
    for container in _serving_containers(entry.pod):
        program = answering_program(state, index, entry.pod, container, when)
        if program is None:
            continue
        if connect_only:
            if program.listens(port, when):
                return (0, ""), container["name"], program
            continue
        answer = program.http(port, path, when)
        if answer is not None:
            return answer, container["name"], program
    return None


def _through_ingress(state: ClusterState, index: NetworkIndex, entry: PodEntry, port: int, scheme: str, host: str,
                     path: str, when: float, base: Response) -> Response | None:
    """A request an ingress-nginx controller receives on its http(s) port, routed by its Ingresses."""
    for container in _serving_containers(entry.pod):
        program = answering_program(state, index, entry.pod, container, when)
        if program is None or program.image.kind != "ingress-nginx" or not program.listens(port, when):
            continue
        if not any(p.get("containerPort") == port and p.get("name") in ("http", "https")
                   for p in container.get("ports") or ()) and port not in (80, 443):
            return None
        route, _, query = path.partition("?")
        target = ingress.choose(ingress.owned_ingresses(state, entry.pod, when), host.rsplit(":", 1)[0], route)
        base.pod, base.container, base.outcome = entry.pod, container["name"], "ok"
        base.server, base.ingress = http.Server(program.image.kind, program.image.version), True
        if target is None:
            base.status, base.body = program.http(port, path, when) or (404, ingress.error_page(404, "Not Found"))
            return base
        found = ingress.upstream(index, target, entry.ip, when)
        if found is None or not found[1]:
            base.status, base.body = 503, ingress.error_page(503, "Service Temporarily Unavailable")
            return base
        svc, ip, target_port = found
        upstream_path = target.path + ("?" + query if query else "")
        forwarded = connect_and_ask(state, index, routing.Client(entry.ip, entry, entry.node), "http", ip,
                                    target_port, upstream_path, when, host=host, depth=1)
        forwarded.ip, forwarded.port, forwarded.ingress = base.ip, base.port, True
        forwarded.service = (svc.namespace, svc.name) if svc is not None else None
        if forwarded.outcome != "ok":
            # nginx: 504 when proxy_connect_timeout ran out on every try (a dropped SYN), else 502
            code, text = (504, "Gateway Time-out") if forwarded.outcome == "timeout" else (502, "Bad Gateway")
            forwarded.outcome, forwarded.status, forwarded.body = "ok", code, ingress.error_page(code, text)
            forwarded.pod, forwarded.container, forwarded.server = entry.pod, container["name"], base.server
        return forwarded
    return None


# ------------------------------------------------------------------ the nodes' own listeners

_PUBLIC_PATHS = ("/healthz", "/livez", "/readyz")


def _status_json(message: str, reason: str, code: int) -> str:
    # The API server pretty-prints for curl and wget (their User-Agent), two-space indented.
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
            "reason": reason, "details": {}, "code": code}
    return json.dumps(body, indent=2) + "\n"


def _host_answer(state: ClusterState, host: str, scheme: str, path: str) -> tuple[int, str]:
    if scheme != "https":
        # Go's net/http on a TLS listener, answering a plain-HTTP request.
        return 400, "Client sent an HTTP request to an HTTPS server.\n"
    if host == "kubelet":
        return 401, "Unauthorized"
    route = path.split("?", 1)[0] or "/"
    if route in _PUBLIC_PATHS:
        return 200, "ok"
    if route == "/version":
        version = next((((n.get("status") or {}).get("nodeInfo") or {}).get("kubeletVersion")
                        for n in state.list("Node")), "") or "v1.33.0"
        major, _, rest = version.lstrip("v").partition(".")
        return 200, json.dumps({"major": major, "minor": rest.split(".", 1)[0], "gitVersion": version,
                                "gitTreeState": "clean", "compiler": "gc", "platform": "linux/amd64"},
                               indent=2) + "\n"
    return 403, _status_json(f'forbidden: User "system:anonymous" cannot get path "{route}"', "Forbidden", 403)


# ------------------------------------------------------------------ load

_shares_memo = per_state(lambda state: {})


def backend_shares(state: ClusterState, url: str, when: float, *, source: dict | None = None
                   ) -> dict[str, float]:
    """How one client's requests to `url` spread over pods at `when`: pod uid -> fraction (sums to ≤ 1).

    Evenly over the ready endpoints that listen (iptables' random choice, in expectation); all to one pod
    under sessionAffinity ClientIP; all to the pod itself for a pod IP. Requests nobody answers count
    for no pod. Kept for the state as it stands (the load estimate asks twice per loop and url)."""
    memo = _shares_memo(state)
    key = (url, when, (source or {}).get("metadata", {}).get("uid"))
    if key not in memo:
        memo[key] = _backend_shares(state, url, when, source)
    return dict(memo[key])


def _backend_shares(state: ClusterState, url: str, when: float, source: dict | None) -> dict[str, float]:
    from .client import PodNetwork
    network = PodNetwork(state, source)
    index = network.index
    scheme, host, port, path = parse_url(url)
    if _is_ip(host) or host == "localhost":
        ip = "127.0.0.1" if host == "localhost" else host
    else:
        found = network.lookup(host, when).addresses if source is not None else []
        ip = found[0] if found else ""
    if not ip:
        return {}
    client = network.client()
    svc = index.by_cluster_ip.get(ip) or index.by_external_ip.get(ip)
    svc_port = None
    if svc is not None and svc.exists_at(when):
        svc_port = next((p for p in svc.ports if p.get("port") == port and (p.get("protocol") or "TCP") == "TCP"),
                        None)
    elif ip in index.nodes_by_ip and (port, "TCP") in index.node_ports:
        svc, svc_port = index.node_ports[(port, "TCP")]
    if svc is None or svc_port is None:
        response = connect_and_ask(state, index, client, scheme, ip, port, path, when)
        uid = (response.pod or {}).get("metadata", {}).get("uid") if response.outcome == "ok" else None
        return {uid: 1.0} if uid else {}
    if svc.affinity_timeout is not None:
        chosen = routing.choose_endpoint(index, svc, svc_port, client, when)
        candidates = [chosen] if chosen else []
    else:
        key = (svc_port.get("name") or "", svc_port.get("protocol") or "TCP")
        candidates = [(ep, ep.ports[key]) for ep in svc.ready_endpoints(when) if key in ep.ports]
    if not candidates:
        return {}
    shares: dict[str, float] = {}
    rules = policy.get_policies(state)
    for endpoint, target_port in candidates:
        entry = index.pod_at(endpoint.ip, when)
        if entry is None or rules is not None and not rules.admits(
                index, client, routing.Route("pod", entry.ip, target_port, pod=entry, service=svc), ip, when):
            continue
        accepts = _accepts(state, entry, target_port, when)
        if accepts is None:
            accepts = _answer(state, index, entry, target_port, path, when, scheme == "tcp") is not None
        if not accepts:
            continue
        uid = entry.pod["metadata"].get("uid", "")
        shares[uid] = shares.get(uid, 0.0) + 1.0 / len(candidates)
    return shares


def _accepts(state: ClusterState, entry: PodEntry, port: int, when: float) -> bool | None:
    """Whether a container of the pod accepts connections on `port` at `when`, from its image alone (what
    load needs: a request a server accepts costs it CPU, whatever it answers) — without building the
    containers' worlds, which a load estimate over hundreds of backends cannot afford. None when a container
    runs a script or its arguments need its environment: then its program must say (_answer)."""
    from ..kubelet import images
    pod = entry.pod
    for container in _serving_containers(pod):
        command, args = container.get("command"), container.get("args")
        if _runs_a_script(container) or any("$(" in str(part) for part in (command or []) + (args or [])):
            return None
        start = container_start(state, pod, container["name"], when)
        image = images.lookup(container.get("image", ""))
        if start is None or not isinstance(image, images.Image):
            continue
        if images.listens(image, images.program_args(image, command, args), port, "TCP", when - start):
            return True
    return False


def pod_request_rates(state: ClusterState, clients: Iterable[tuple[dict | None, Mapping[str, float]]],
                      when: float) -> dict[str, float]:
    """Requests per second each pod (by uid) answers, given each client's request rate per url."""
    rates: dict[str, float] = {}
    for source, per_url in clients:
        for url, rate in per_url.items():
            for uid, share in backend_shares(state, url, when, source=source).items():
                rates[uid] = rates.get(uid, 0.0) + rate * share
    return rates


# A steady loop's rates, once found, by (pod uid, container, its start, its argv): replaying a loop to find
# its rates costs tens of milliseconds (the interpreter checks the world stays the same over its span), and
# a steady loop's rates do not change while what its requests meet does not. Each entry keeps the outcome
# of every url at the time it was found; a replay happens again when one of them changes (the Service gone,
# a NetworkPolicy now dropping the packets: wget then waits, the loop slows).
_STEADY_RATES: dict[tuple, tuple[tuple, dict[str, float]]] = {}
_STEADY_RATES_MAX = 4096


def _outcomes(state: ClusterState, pod: dict, urls: Iterable[str], when: float) -> tuple:
    """What a loop's urls meet: for each, whether some pod answers it (its backend_shares are not empty)."""
    return tuple(sorted((url, bool(backend_shares(state, url, when, source=pod))) for url in urls))


def _runs_a_script(container: dict) -> bool:
    """Whether the container's command is a shell script (the only programs that loop over requests): an
    image's own program (a server, an entrypoint's tool) runs none. Decided without building its world."""
    from ..kubelet import images
    if not container.get("command") and not container.get("args"):
        return False
    image = images.lookup(container.get("image", ""))
    return isinstance(image, images.Image) and images.run_mode(image, container.get("command"),
                                                               container.get("args")) == "shell"


def client_request_rates(state: ClusterState, when: float) -> list[tuple[dict, dict[str, float]]]:
    """Every running pod's steady request loops at `when`: (pod, {url: requests/second}), replayed (a loop
    found steady before, whose urls meet what they met then, is not replayed again: _STEADY_RATES)."""
    from .client import PodNetwork
    index = get_index(state)
    found = []
    for pod in state.list("Pod"):
        if (pod.get("status") or {}).get("phase") != "Running":
            continue
        per_url: dict[str, float] = {}
        for container in (pod.get("spec") or {}).get("containers") or ():
            if not _runs_a_script(container):
                continue
            start = container_start(state, pod, container["name"], when)
            if start is None:
                continue
            key = (pod["metadata"].get("uid", ""), container["name"], start,
                   repr((container.get("command"), container.get("args"))))
            known = _STEADY_RATES.get(key)
            if known is not None and known[0] == _outcomes(state, pod, known[1], when):
                rates = known[1]
            else:
                program = answering_program(state, index, pod, container, when)
                if program is None or not program.uses_shell:
                    continue
                run = replace(program, net=PodNetwork(state, pod)).run(when)
                rates = dict(getattr(run.shell_run, "request_rates", None) or {})
                if rates:
                    if len(_STEADY_RATES) >= _STEADY_RATES_MAX:
                        _STEADY_RATES.clear()
                    _STEADY_RATES[key] = (_outcomes(state, pod, rates, when), rates)
            for url, rate in rates.items():
                per_url[url] = per_url.get(url, 0.0) + rate
        if per_url:
            found.append((pod, per_url))
    return found


def cpu_millicores(state: ClusterState, rates: Mapping[str, float]) -> dict[str, float]:
    """The CPU (millicores) each pod's request rate costs, priced by its image (cpu_millis_per_request)."""
    from ..kubelet import images
    out: dict[str, float] = {}
    for uid, rate in rates.items():
        pod = state.by_uid(uid)
        if pod is None:
            continue
        per_request = 0.0
        for container in (pod.get("spec") or {}).get("containers") or ():
            image = images.lookup(container.get("image", ""))
            if isinstance(image, images.Image):
                per_request = max(per_request, image.cpu_millis_per_request)
        out[uid] = rate * per_request
    return out
