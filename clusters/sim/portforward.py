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
"""
from __future__ import annotations

import hashlib
import posixpath
import uuid
from dataclasses import dataclass, field
from email.utils import formatdate
from http import HTTPStatus
from urllib.parse import urlsplit

from clusters.apiserver import errors
from clusters.engine.kubelet import images
from clusters.engine.network import PodNetwork
from clusters.engine.state import ClusterState
from clusters.models import Cluster
from clusters.sim.reconcile import load_state
from clusters.store.database import DbStore

__all__ = ["Dialed", "ForwardTarget", "HttpAnswer", "HttpRequest", "Server", "bad_request", "dial",
           "forward_target", "http_exchange"]

GO_KINDS = frozenset({"agnhost", "liveness", "hello-app", "hello-go", "http-echo", "etcd", "goproxy", "coredns",
                      "local-path-provisioner", "kube-proxy", "kindnetd"})
APACHE_PHP_KINDS = frozenset({"hpa-example", "php-apache", "wordpress", "gb-frontend"})
NGINX_KINDS = frozenset({"nginx", "hello-frontend", "ingress-nginx"})
PHP_VERSION = "8.2.29"

# nginx's conf/mime.types, the types a static site serves; anything else is its default_type.
_MIME_TYPES = {
    "html": "text/html", "htm": "text/html", "shtml": "text/html", "css": "text/css", "xml": "text/xml",
    "gif": "image/gif", "jpeg": "image/jpeg", "jpg": "image/jpeg", "js": "application/javascript",
    "txt": "text/plain", "png": "image/png", "svg": "image/svg+xml", "svgz": "image/svg+xml",
    "ico": "image/x-icon", "webp": "image/webp", "json": "application/json", "pdf": "application/pdf",
    "woff": "font/woff", "woff2": "font/woff2", "wasm": "application/wasm", "mp4": "video/mp4",
    "mp3": "audio/mpeg", "zip": "application/zip", "tar": "application/x-tar", "csv": "text/csv",
}
_NGINX_REASONS = {405: "Not Allowed", 503: "Service Temporarily Unavailable", 504: "Gateway Time-out"}


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


@dataclass(frozen=True)
class Server:
    """The program that accepted a connection: its image's kind and version (images.Image)."""
    kind: str = ""
    version: str = ""

    @property
    def family(self) -> str:
        if self.kind in NGINX_KINDS:
            return "nginx"
        if self.kind == "httpd":
            return "apache"
        if self.kind in APACHE_PHP_KINDS:
            return "php"
        if self.kind == "echoserver":
            return "echoserver"
        if self.kind == "node-hello":
            return "node"
        return "go" if self.kind in GO_KINDS else "plain"


@dataclass
class Dialed:
    error: str = ""           # the kubelet's message for the error stream; "" when connected
    protocol: str = "tcp"     # "http" | "redis" | "memcached" | "tcp"
    server: Server = field(default_factory=Server)


@dataclass
class HttpRequest:
    method: str
    target: str                                   # the request-target as sent: /path?query (or an absolute URL)
    version: str = "HTTP/1.1"
    headers: list[tuple[str, str]] = field(default_factory=list)

    def header(self, name: str) -> str:
        name = name.lower()
        return next((value for key, value in self.headers if key.lower() == name), "")

    @property
    def keep_alive(self) -> bool:
        tokens = {t.strip().lower() for t in self.header("connection").split(",")}
        if self.version == "HTTP/1.0":
            return "keep-alive" in tokens
        return "close" not in tokens

    @property
    def path(self) -> str:
        if self.target.startswith(("http://", "https://")):
            split = urlsplit(self.target)
            return (split.path or "/") + ("?" + split.query if split.query else "")
        return self.target if self.target.startswith("/") else "/" + self.target


@dataclass
class HttpAnswer:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
    close: bool = False       # the server closes the connection after this answer
    version: str = "HTTP/1.1"

    def encode(self) -> bytes:
        head = f"{self.version} {self.status} {self.reason}\r\n" + \
            "".join(f"{name}: {value}\r\n" for name, value in self.headers) + "\r\n"
        return head.encode("latin-1") + self.body


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
    return _render(server, request, answered.status, answered.body, state.now, port, host)


def bad_request(*, cluster: Cluster, server: Server) -> HttpAnswer:
    """What the server sends back to bytes that are not an HTTP request (then it closes)."""
    fresh = Cluster.objects.filter(pk=cluster.pk).first() or cluster
    now = fresh.sim_now()
    request = HttpRequest("GET", "/", "HTTP/1.0")
    if server.family == "go":
        return HttpAnswer(400, "Bad Request", [("Content-Type", "text/plain; charset=utf-8"),
                                               ("Connection", "close")], b"400 Bad Request", close=True)
    if server.family == "nginx":
        return _render(server, request, 400, _nginx_page(server, 400, "Bad Request"), now, 80, "")
    return _render(server, request, 400, "", now, 80, "")


# ------------------------------------------------------------------ the servers' headers

def _reason(status: int, family: str) -> str:
    if family == "nginx" and status in _NGINX_REASONS:
        return _NGINX_REASONS[status]
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown Status Code" if family == "go" else ""


def _nginx_page(server: Server, status: int, text: str) -> str:
    sign = "nginx" if server.kind == "ingress-nginx" or not server.version else f"nginx/{server.version}"
    return (f"<html>\r\n<head><title>{status} {text}</title></head>\r\n<body>\r\n"
            f"<center><h1>{status} {text}</h1></center>\r\n<hr><center>{sign}</center>\r\n</body>\r\n</html>\r\n")


def _file_type(path: str, status: int, default: str = "application/octet-stream") -> str:
    if status != 200:
        return "text/html"
    route = urlsplit(path).path or "/"
    name = posixpath.basename(route) if not route.endswith("/") else "index.html"
    ext = name.rpartition(".")[2].lower() if "." in name else ""
    return _MIME_TYPES.get(ext, default)


def _sniff(body: bytes) -> str:
    """Go's http.DetectContentType for the bodies these programs write."""
    head = body.lstrip(b"\t\n\x0c\r ")[:512].lower()
    if any(head.startswith(tag) for tag in (b"<!doctype html", b"<html", b"<head", b"<body", b"<h1", b"<p",
                                              b"<div", b"<title", b"<table", b"<a", b"<br")):
        return "text/html; charset=utf-8"
    if head.startswith(b"<?xml"):
        return "text/xml; charset=utf-8"
    return "text/plain; charset=utf-8"


def _render(server: Server, request: HttpRequest, status: int, text: str, now: float, port: int,
            host: str) -> HttpAnswer:
    family = server.family
    body = text.encode()
    date = formatdate(now, usegmt=True)
    close = not request.keep_alive
    method = request.method.upper()
    if family == "nginx" and method not in ("GET", "HEAD"):
        status, body = 405, _nginx_page(server, 405, "Not Allowed").encode()
    headers: list[tuple[str, str]]
    if family == "nginx":
        headers = [("Server", "nginx" if server.kind == "ingress-nginx" or not server.version
                    else f"nginx/{server.version}"), ("Date", date)]
        kind = _file_type(request.path, status) if server.kind == "nginx" else \
            ("text/html" if _sniff(body).startswith("text/html") else "text/plain")
        headers += [("Content-Type", kind), ("Content-Length", str(len(body)))]
        if status == 301:
            route = urlsplit(request.path).path
            name = host.rsplit(":", 1)[0] if host and not host.startswith("[") else host or "localhost"
            headers.append(("Location", f"http://{name}{'' if port == 80 else f':{port}'}{route}/"))
        headers.append(("Connection", "close" if close else "keep-alive"))
        if status == 200 and server.kind == "nginx":
            headers.append(("Accept-Ranges", "bytes"))
    elif family in ("apache", "php"):
        headers = [("Date", date), ("Server", f"Apache/{server.version or '2.4.65'} (Unix)" if family == "apache"
                                    else "Apache/2.4.62 (Debian)")]
        if family == "php" and status == 200:
            headers.append(("X-Powered-By", f"PHP/{PHP_VERSION}"))
        kind = ("text/html; charset=UTF-8" if family == "php" else _file_type(request.path, 200, "text/plain")) \
            if status == 200 else "text/html; charset=iso-8859-1"
        if status == 200 and family == "apache":
            headers.append(("Accept-Ranges", "bytes"))
        headers += [("Content-Length", str(len(body)))]
        if request.version == "HTTP/1.0" and not close:
            headers += [("Keep-Alive", "timeout=5, max=100"), ("Connection", "Keep-Alive")]
        elif close:
            headers.append(("Connection", "close"))
        headers.append(("Content-Type", kind))
    elif family == "go":
        headers = []
        if status == 404 and body == b"404 page not found\n":   # http.NotFound: http.Error's headers
            headers += [("Content-Type", "text/plain; charset=utf-8"), ("X-Content-Type-Options", "nosniff")]
        headers += [("Date", date), ("Content-Length", str(len(body)))]
        if body and not any(name == "Content-Type" for name, _ in headers):
            headers.append(("Content-Type", _sniff(body)))
        if close and request.version != "HTTP/1.0":
            headers.append(("Connection", "close"))
        version = "HTTP/1.0" if request.version == "HTTP/1.0" else "HTTP/1.1"
        return HttpAnswer(status, _reason(status, family), headers, b"" if method == "HEAD" else body, close,
                          version)
    elif family == "echoserver":
        headers = [("Server", "echoserver"), ("Date", date), ("Content-Type", "text/plain"),
                   ("Content-Length", str(len(body))), ("Connection", "close" if close else "keep-alive")]
    elif family == "node":
        headers = [("Date", date), ("Connection", "close" if close else "keep-alive")]
        if not close:
            headers.append(("Keep-Alive", "timeout=5"))
        headers.append(("Content-Length", str(len(body))))
    else:
        headers = [("Date", date), ("Content-Type", _sniff(body).split(";")[0]), ("Content-Length", str(len(body)))]
        if close:
            headers.append(("Connection", "close"))
    return HttpAnswer(status, _reason(status, family), headers, b"" if method == "HEAD" else body, close)
