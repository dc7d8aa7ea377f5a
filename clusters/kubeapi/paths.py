"""Parsing the Kubernetes API paths below a cluster's prefix (`/clusters/<id>/…`)."""
from __future__ import annotations

from dataclasses import dataclass

from clusters.apiserver import errors
from clusters.apiserver.registry import ResourceType, by_path


@dataclass(frozen=True)
class ResourcePath:
    rt: ResourceType
    namespace: str | None   # None: all namespaces (or a cluster-scoped kind)
    name: str = ""
    subresource: str = ""


@dataclass(frozen=True)
class Endpoint:
    """What a non-resource path asks for: version, discovery or OpenAPI."""

    what: str               # version | api | apis | group | resources | openapi-index | openapi | openapi-v2
    group: str = ""
    version: str = ""


NOT_FOUND = errors.ApiError(404, "NotFound", "the server could not find the requested resource")


def parse(path: str) -> ResourcePath | Endpoint:
    """`api/v1/namespaces/default/pods/web/log` → ResourcePath(pods, "default", "web", "log")."""
    parts = [p for p in path.strip("/").split("/") if p]
    if not parts:
        raise NOT_FOUND
    head = parts[0]
    if head == "version" and len(parts) == 1:
        return Endpoint("version")
    if head == "openapi":
        if parts[1:2] == ["v3"]:
            if len(parts) == 2:
                return Endpoint("openapi-index")
            rest = parts[2:]
            if rest[0] == "api" and len(rest) == 2:
                return Endpoint("openapi", "", rest[1])
            if rest[0] == "apis" and len(rest) == 3:
                return Endpoint("openapi", rest[1], rest[2])
        if parts[1:2] == ["v2"]:
            return Endpoint("openapi-v2")
        raise NOT_FOUND
    if head == "api":
        if len(parts) == 1:
            return Endpoint("api")
        group, version, rest = "", parts[1], parts[2:]
    elif head == "apis":
        if len(parts) == 1:
            return Endpoint("apis")
        if len(parts) == 2:
            return Endpoint("group", parts[1])
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        raise NOT_FOUND
    if not rest:
        return Endpoint("resources", group, version)
    namespace: str | None = None
    if rest[0] == "namespaces" and len(rest) >= 3:
        candidate = by_path(group, version, rest[2])
        if candidate is not None and candidate.namespaced:
            namespace, rest = rest[1], rest[2:]
    rt = by_path(group, version, rest[0])
    if rt is None or len(rest) > 3:
        raise NOT_FOUND
    name = rest[1] if len(rest) > 1 else ""
    subresource = rest[2] if len(rest) > 2 else ""
    if subresource and rt.subresource(subresource) is None and not (rt.kind == "Namespace" and
                                                                    subresource == "finalize"):
        raise NOT_FOUND
    if not rt.namespaced:
        namespace = None
    return ResourcePath(rt, namespace, name, subresource)
