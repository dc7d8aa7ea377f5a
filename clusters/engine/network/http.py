"""HTTP on the wire: the status line and headers each simulated server sends with its answer.

The programs (kubelet/program.py Program.http) answer with a status and a body; what a client that shows
the wire sees — `curl -i`/`-I`/`-v`, busybox `wget -S`, `kubectl port-forward` — also has the server's
headers, which depend on which server it is (Server.family, from the image's kind):

* nginx: `Server: nginx/1.29.3`, Date, Content-Type from its mime.types, Content-Length, for a file
  Last-Modified (when it was written: the container's start) and `ETag: "<mtime hex>-<size hex>"`,
  `Connection: keep-alive` (close when the client asks for it), `Accept-Ranges: bytes`; 405 Not Allowed
  for methods a static site does not take; the absolute `Location` of its directory redirects.
* Apache httpd and mod_php (`Server: Apache/2.4.x`, `X-Powered-By: PHP/…`), Go's net/http (agnhost,
  hello-app, …: no Server header, Content-Type sniffed by http.DetectContentType, Connection only when
  closing), Node (Keep-Alive: timeout=5), echoserver, and a plain default for the rest.
* ingress-nginx proxying to a backend (`proxied`): nginx's proxy module does not pass the upstream's
  Date and Server (proxy_hide_header defaults) and the controller clears its own Server header
  (server-tokens: false, `more_clear_headers Server`), so the client sees the controller's Date, the
  backend's Content-Type, Content-Length and other headers, and `Connection: keep-alive` (or close).

The Date is always the simulated time of the request, so the same state answers the same bytes.
Pure: the standard library only.
"""
from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from email.utils import formatdate
from http import HTTPStatus
from urllib.parse import urlsplit

__all__ = ["APACHE_PHP_KINDS", "GO_KINDS", "NGINX_KINDS", "PHP_VERSION", "HttpAnswer", "HttpRequest", "Server",
           "bad_request", "client_request", "nginx_page", "proxied", "reason", "render", "sniff"]

GO_KINDS = frozenset({"agnhost", "liveness", "hello-app", "hello-go", "http-echo", "etcd", "goproxy", "coredns",
                      "local-path-provisioner", "kube-proxy", "kindnetd", "kube-apiserver", "kubelet"})
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


@dataclass(frozen=True)
class Server:
    """The program that accepted a connection: its image's kind and version (kubelet images.Image)."""
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

    def lines(self) -> list[str]:
        """The request line and headers, as a client's verbose mode shows them."""
        return [f"{self.method} {self.target} {self.version}"] + [f"{k}: {v}" for k, v in self.headers]


@dataclass
class HttpAnswer:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
    close: bool = False       # the server closes the connection after this answer
    version: str = "HTTP/1.1"

    @property
    def status_line(self) -> str:
        return f"{self.version} {self.status} {self.reason}".rstrip()

    def header(self, name: str) -> str:
        name = name.lower()
        return next((value for key, value in self.headers if key.lower() == name), "")

    def head(self) -> str:
        """The status line and headers, CRLF-terminated, with the blank line that ends them."""
        return self.status_line + "\r\n" + "".join(f"{k}: {v}\r\n" for k, v in self.headers) + "\r\n"

    def encode(self) -> bytes:
        return self.head().encode("latin-1") + self.body


def client_request(method: str, host: str, path: str, *, agent: str, close: bool = False,
                   extra: list[tuple[str, str]] | None = None) -> HttpRequest:
    """A command-line client's request: curl's (Host, User-Agent, Accept: */*) or busybox wget's (Host,
    User-Agent: Wget, Connection: close), then the user's `extra` headers (-H, --header). A user's header
    takes the place of the client's own of that name; `host` is the Host header already chosen."""
    given = {k.lower() for k, _ in extra or ()}
    headers = [("Host", host)]
    if "user-agent" not in given:
        headers.append(("User-Agent", agent))
    if agent.startswith("curl/") and "accept" not in given:
        headers.append(("Accept", "*/*"))
    if close and "connection" not in given:
        headers.append(("Connection", "close"))
    extra = [(k, v) for k, v in extra or () if k.lower() != "host"]
    return HttpRequest(method, path or "/", "HTTP/1.1", headers + extra)


def reason(status: int, family: str) -> str:
    if family == "nginx" and status in _NGINX_REASONS:
        return _NGINX_REASONS[status]
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown Status Code" if family == "go" else ""


def nginx_page(server: Server, status: int, text: str) -> str:
    """nginx's built-in error page (ingress-nginx's without the version in the footer)."""
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


def sniff(body: bytes) -> str:
    """Go's http.DetectContentType for the bodies these programs write."""
    head = body.lstrip(b"\t\n\x0c\r ")[:512].lower()
    if any(head.startswith(tag) for tag in (b"<!doctype html", b"<html", b"<head", b"<body", b"<h1", b"<p",
                                              b"<div", b"<title", b"<table", b"<a", b"<br")):
        return "text/html; charset=utf-8"
    if head.startswith(b"<?xml"):
        return "text/xml; charset=utf-8"
    return "text/plain; charset=utf-8"


def render(server: Server, request: HttpRequest, status: int, text: str, now: float, port: int, host: str,
           *, modified: float | None = None) -> HttpAnswer:
    """The answer `server` sends for `request` with this status and body, at simulated time `now`.

    modified: when the file served was written (nginx's Last-Modified and ETag); None leaves them out."""
    family = server.family
    body = text.encode()
    date = formatdate(now, usegmt=True)
    close = not request.keep_alive
    method = request.method.upper()
    if family == "nginx" and method not in ("GET", "HEAD"):
        status, body = 405, nginx_page(server, 405, "Not Allowed").encode()
    headers: list[tuple[str, str]]
    if family == "nginx":
        headers = [("Server", "nginx" if server.kind == "ingress-nginx" or not server.version
                    else f"nginx/{server.version}"), ("Date", date)]
        kind = _file_type(request.path, status) if server.kind == "nginx" else \
            ("text/html" if sniff(body).startswith("text/html") else "text/plain")
        headers += [("Content-Type", kind), ("Content-Length", str(len(body)))]
        static = status == 200 and server.kind == "nginx"
        if static and modified is not None:
            headers.append(("Last-Modified", formatdate(int(modified), usegmt=True)))
        if status == 301:
            route = urlsplit(request.path).path
            name = host.rsplit(":", 1)[0] if host and not host.startswith("[") else host or "localhost"
            headers.append(("Location", f"http://{name}{'' if port == 80 else f':{port}'}{route}/"))
        headers.append(("Connection", "close" if close else "keep-alive"))
        if static and modified is not None:
            headers.append(("ETag", f'"{int(modified):x}-{len(body):x}"'))
        if static:
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
            headers.append(("Content-Type", sniff(body)))
        if close and request.version != "HTTP/1.0":
            headers.append(("Connection", "close"))
        version = "HTTP/1.0" if request.version == "HTTP/1.0" else "HTTP/1.1"
        return HttpAnswer(status, reason(status, family), headers, b"" if method == "HEAD" else body, close,
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
        headers = [("Date", date), ("Content-Type", sniff(body).split(";")[0]), ("Content-Length", str(len(body)))]
        if close:
            headers.append(("Connection", "close"))
    return HttpAnswer(status, reason(status, family), headers, b"" if method == "HEAD" else body, close)


_NOT_PASSED = frozenset({"date", "server", "connection", "keep-alive", "content-type", "content-length",
                         "transfer-encoding", "x-pad"})


def proxied(upstream: HttpAnswer, request: HttpRequest, now: float) -> HttpAnswer:
    """What an ingress-nginx controller sends its client for the upstream's answer: its own Date (no
    Server: server-tokens is false), the upstream's Content-Type and Content-Length, Connection, then the
    upstream's other headers (Last-Modified, ETag, X-Powered-By, …) as nginx's proxy module passes them."""
    close = not request.keep_alive
    headers = [("Date", formatdate(now, usegmt=True))]
    kind = upstream.header("content-type")
    if kind:
        headers.append(("Content-Type", kind))
    headers.append(("Content-Length", upstream.header("content-length") or str(len(upstream.body))))
    headers.append(("Connection", "close" if close else "keep-alive"))
    headers += [(k, v) for k, v in upstream.headers if k.lower() not in _NOT_PASSED]
    return HttpAnswer(upstream.status, reason(upstream.status, "nginx"), headers, upstream.body, close)


def bad_request(server: Server, now: float) -> HttpAnswer:
    """What the server sends back to bytes that are not an HTTP request (then it closes)."""
    request = HttpRequest("GET", "/", "HTTP/1.0")
    if server.family == "go":
        return HttpAnswer(400, "Bad Request", [("Content-Type", "text/plain; charset=utf-8"),
                                               ("Connection", "close")], b"400 Bad Request", close=True)
    if server.family == "nginx":
        return render(server, request, 400, nginx_page(server, 400, "Bad Request"), now, 80, "")
    return render(server, request, 400, "", now, 80, "")
