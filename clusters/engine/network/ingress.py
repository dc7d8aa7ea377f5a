"""Ingress rules, as the ingress-nginx controller applies them to the requests it receives.

A request that reaches an ingress-nginx controller container on its http or https port (through its
LoadBalancer Service, a NodePort, its hostPorts or its pod IP) is routed by the Ingresses that controller
owns (controllers/ingress_status.py `handles`: ingressClassName naming its IngressClass, the class
annotation, …) and that existed at the time of the request, following ingress-nginx's nginx.conf
generation (internal/ingress/controller/controller.go, template/template.go):

* the server is the rule whose `host` is the request's Host (without port), a `*.example.com` wildcard
  matching one label, or else the rules without a host (the catch-all `_` server);
* within it the longest matching path wins, Exact before Prefix for the same path; Prefix matches whole
  path elements (`/foo` matches `/foo`, `/foo/` and `/foo/bar`, not `/foobar`), ImplementationSpecific
  is nginx's own prefix match; of two Ingresses defining the same host and path the older one wins;
* `nginx.ingress.kubernetes.io/rewrite-target` replaces the URI (with `$1`… from a regex path);
* no rule: an Ingress's spec.defaultBackend, else the controller's own default backend (404);
* the backend Service's ready endpoints are the upstream (ingress-nginx balances over endpoints, not the
  clusterIP): none → `503 Service Temporarily Unavailable`, an endpoint that refuses → `502 Bad Gateway`,
  both with nginx's error pages.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..state import ClusterState
from .index import NetworkIndex, ServiceEntry, _seconds
from .routing import _hash

REWRITE = "nginx.ingress.kubernetes.io/rewrite-target"
USE_REGEX = "nginx.ingress.kubernetes.io/use-regex"


def error_page(code: int, text: str) -> str:
    """nginx's built-in error page, as ingress-nginx serves it (no version in the footer)."""
    return (f"<html>\r\n<head><title>{code} {text}</title></head>\r\n<body>\r\n"
            f"<center><h1>{code} {text}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")


@dataclass
class Target:
    ingress: dict
    service: str              # backend Service name
    port: dict                # backend port: {"number": 80} or {"name": "http"}
    path: str                 # the URI to send upstream


def _host_matches(rule_host: str, host: str) -> bool:
    if not rule_host:
        return True
    if rule_host.startswith("*."):
        head, _, rest = host.partition(".")
        return bool(head) and rest == rule_host[2:]
    return rule_host == host


def _path_matches(kind: str, rule_path: str, path: str, regex: bool) -> bool:
    if regex:
        return re.match(rule_path, path, re.IGNORECASE) is not None
    if kind == "Exact":
        return path == rule_path
    if kind == "Prefix":
        base = rule_path.rstrip("/")
        return not base or path == base or path.startswith(base + "/")
    return path.startswith(rule_path)


def _rewrite(ingress: dict, rule_path: str, path: str, regex: bool) -> str:
    target = (ingress["metadata"].get("annotations") or {}).get(REWRITE)
    if not target:
        return path
    found = re.match(rule_path, path, re.IGNORECASE) if regex else None
    if found is None:
        return target
    return re.sub(r"\$(\d)", lambda m: found.group(int(m.group(1))) or "" if int(m.group(1)) <= len(found.groups())
                  else "", target)


def choose(ingresses: list[dict], host: str, path: str) -> Target | None:
    """The backend a request for host/path goes to, or None (the controller's default backend)."""
    ingresses = sorted(ingresses, key=lambda i: (i["metadata"].get("creationTimestamp") or "",
                                                i["metadata"].get("namespace", ""), i["metadata"]["name"]))
    best: tuple[int, int, int] | None = None
    best_position = -1
    chosen: Target | None = None
    for position, ingress in enumerate(ingresses):
        spec = ingress.get("spec") or {}
        regex = (ingress["metadata"].get("annotations") or {}).get(USE_REGEX) == "true" or \
            bool((ingress["metadata"].get("annotations") or {}).get(REWRITE) and
                 any("(" in (p.get("path") or "") for r in spec.get("rules") or () for p in
                     ((r.get("http") or {}).get("paths") or ())))
        for rule in spec.get("rules") or ():
            rule_host = (rule.get("host") or "").lower()
            if not _host_matches(rule_host, host):
                continue
            specificity = 2 if rule_host and not rule_host.startswith("*.") else 1 if rule_host else 0
            for item in (rule.get("http") or {}).get("paths") or ():
                rule_path = item.get("path") or "/"
                kind = item.get("pathType") or "ImplementationSpecific"
                if not _path_matches(kind, rule_path, path, regex):
                    continue
                rank = (specificity, len(rule_path), 1 if kind == "Exact" else 0)
                if best is not None and (rank < best or (rank == best and position >= best_position)):
                    continue
                backend = (item.get("backend") or {}).get("service") or {}
                best, best_position = rank, position
                chosen = Target(ingress, backend.get("name", ""), backend.get("port") or {},
                                _rewrite(ingress, rule_path, path, regex))
    if chosen is not None:
        return chosen
    for ingress in ingresses:
        backend = ((ingress.get("spec") or {}).get("defaultBackend") or {}).get("service")
        if backend:
            return Target(ingress, backend.get("name", ""), backend.get("port") or {}, path)
    return None


def _service_port(svc: ServiceEntry, port: dict) -> dict | None:
    for p in svc.ports:
        if ("number" in port and p.get("port") == port["number"]) or ("name" in port and p.get("name") == port["name"]):
            return p
    return None


def owned_ingresses(state: ClusterState, controller: dict, when: float) -> list[dict]:
    from ..controllers import ingress_status
    uid = controller["metadata"].get("uid")
    for install in ingress_status.installations(state):
        if any(p["metadata"].get("uid") == uid for p in install.pods):
            return [i for i in state.list("Ingress") if ingress_status.handles(state, install, i)
                    and _seconds(i["metadata"].get("creationTimestamp")) <= when]
    return []


def upstream(index: NetworkIndex, target: Target, controller_ip: str, when: float
             ) -> tuple[ServiceEntry | None, str, int] | None:
    """(Service, endpoint IP, port) the controller proxies to; (svc, "", 0) when it has no ready endpoint."""
    namespace = target.ingress["metadata"].get("namespace", "")
    svc = index.service(namespace, target.service, when)
    if svc is None:
        return None
    svc_port = _service_port(svc, target.port)
    if svc_port is None:
        return svc, "", 0
    key = (svc_port.get("name") or "", svc_port.get("protocol") or "TCP")
    ready = sorted((ep.ip, ep.ports[key]) for ep in svc.ready_endpoints(when) if key in ep.ports)
    if not ready:
        return svc, "", 0
    ip, port = ready[_hash(index.salt, "ingress", controller_ip, svc.namespace, svc.name, round(when * 1e6))
                     % len(ready)]
    return svc, ip, port
