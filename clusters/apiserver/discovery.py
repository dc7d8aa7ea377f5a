"""Discovery documents: /version, /api, /apis, /api/v1, /apis/<g>/<v>, aggregated discovery.

Pure functions over the registry (no Django): the HTTP layer only picks one by
path and Accept header and serialises it. The shapes are the ones a v1.37
kube-apiserver returns, because kubectl and the Python client build their REST
mappings from them (`kubectl api-resources`, short names, `get all`, `scale`).

Aggregated discovery (apidiscovery.k8s.io/v2) is what kubectl 1.37 asks for
first; it must come back with exactly AGGREGATED_CONTENT_TYPE or kubectl
treats the answer as legacy and concludes resources do not exist. The Python
client still walks the legacy documents.
"""
from __future__ import annotations

import base64
import hashlib
from typing import Any

from . import registry
from .registry import ResourceType

AGGREGATED_CONTENT_TYPE = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

# Build facts reported by /version. gitCommit/buildDate are those of the v1.37.0
# release build shape: any stable values do, kubectl only prints gitVersion.
_GIT_COMMIT = "0000000000000000000000000000000000000000"
_BUILD_DATE = "2026-04-22T00:00:00Z"
_GO_VERSION = "go1.25.5"

DEFAULT_SERVER_ADDRESS = "127.0.0.1:6443"


def _minor(version: str) -> str:
    return version.lstrip("v").split(".")[1]


def _major(version: str) -> str:
    return version.lstrip("v").split(".")[0]


def version_info() -> dict[str, Any]:
    """`GET /version`: version.Info as a 1.37 server fills it.

    Since 1.33 the server also reports its emulation and minimum compatibility
    version; with no emulation configured they equal the binary's minor and the
    one before it. kubectl compares only major/minor/gitVersion for its skew
    warning, so those must match the pinned client's minor.
    """
    version = registry.KUBERNETES_VERSION
    major, minor = _major(version), _minor(version)
    return {
        "major": major,
        "minor": minor,
        "emulationMajor": major,
        "emulationMinor": minor,
        "minCompatibilityMajor": major,
        "minCompatibilityMinor": str(int(minor) - 1),
        "gitVersion": version,
        "gitCommit": _GIT_COMMIT,
        "gitTreeState": "clean",
        "buildDate": _BUILD_DATE,
        "goVersion": _GO_VERSION,
        "compiler": "gc",
        "platform": "linux/amd64",
    }


# ---------------------------------------------------------------- helpers


def _groups() -> list[str]:
    """Named groups (not core) in discovery order."""
    return list(dict.fromkeys(g for g, _ in registry.group_versions() if g))


def _versions(group: str) -> list[str]:
    """The group's served versions, preferred first (registry.group_versions orders them)."""
    return [v for g, v in registry.group_versions() if g == group]


def _resources(group: str, version: str) -> list[ResourceType]:
    # The real server lists resources sorted by name, in both discovery forms.
    return sorted((rt for rt in registry.served() if rt.group == group and rt.version == version),
                  key=lambda rt: rt.resource)


def _is_served(group: str, version: str) -> bool:
    # REMOVED_VERSIONS never appear in RESOURCES, so anything not in the table
    # (extensions/v1beta1, batch/v1beta1, …) is simply unknown, as upstream.
    return (group, version) in registry.group_versions()


def storage_version_hash(rt: ResourceType) -> str:
    """How apiserver computes it: base64 of the first 8 bytes of sha256("group/version/kind")
    of the version the kind is stored in. Clients only compare it for equality."""
    stored = rt
    if rt.stored:
        try:
            stored = registry.storage_type(rt.kind)
        except KeyError:
            stored = rt
    digest = hashlib.sha256(f"{stored.group}/{stored.version}/{stored.kind}".encode()).digest()
    return base64.b64encode(digest[:8]).decode()


def _group_version_for_discovery(group: str, version: str) -> dict[str, str]:
    return {"groupVersion": f"{group}/{version}" if group else version, "version": version}


# ---------------------------------------------------------------- legacy discovery


def legacy_core_versions(server_address: str = DEFAULT_SERVER_ADDRESS) -> dict[str, Any]:
    """`GET /api`: APIVersions (the real answer carries no apiVersion)."""
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def legacy_group(group: str) -> dict[str, Any] | None:
    """`GET /apis/<group>`: APIGroup, or None for a group the server does not know."""
    versions = _versions(group) if group else []
    if not versions:
        return None
    return {
        "kind": "APIGroup",
        "apiVersion": "v1",
        "name": group,
        "versions": [_group_version_for_discovery(group, v) for v in versions],
        "preferredVersion": _group_version_for_discovery(group, versions[0]),
    }


def legacy_group_list() -> dict[str, Any]:
    """`GET /apis`: APIGroupList of every named group."""
    groups = []
    for group in _groups():
        found = legacy_group(group)
        assert found is not None
        found.pop("kind")
        found.pop("apiVersion")
        groups.append(found)
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def _api_resource(rt: ResourceType) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": rt.resource,
        "singularName": rt.singular,
        "namespaced": rt.namespaced,
        "kind": rt.kind,
        "verbs": list(rt.verbs),
    }
    if rt.short_names:
        entry["shortNames"] = list(rt.short_names)
    if rt.categories:
        entry["categories"] = list(rt.categories)
    if rt.stored:  # aggregated (metrics) APIs publish no storage hash
        entry["storageVersionHash"] = storage_version_hash(rt)
    return entry


def _api_subresource(rt: ResourceType, sub: registry.Subresource) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": f"{rt.resource}/{sub.name}", "singularName": "",
                             "namespaced": rt.namespaced}
    # group/version are set only when the subresource speaks another group's
    # kind (deployments/scale → autoscaling/v1 Scale, pods/eviction → policy/v1).
    if (sub.group, sub.version) != (rt.group, rt.version):
        entry["group"] = sub.group
        entry["version"] = sub.version
    entry["kind"] = sub.kind
    entry["verbs"] = list(sub.verbs)
    return entry


def legacy_resource_list(group: str, version: str) -> dict[str, Any] | None:
    """`GET /api/v1` or `/apis/<g>/<v>`: APIResourceList with `<resource>/<sub>` entries."""
    if not _is_served(group, version):
        return None
    resources: list[dict[str, Any]] = []
    for rt in _resources(group, version):
        resources.append(_api_resource(rt))
        for sub in sorted(rt.subresources, key=lambda s: s.name):
            resources.append(_api_subresource(rt, sub))
    doc: dict[str, Any] = {"kind": "APIResourceList"}
    if group:  # the real /api/v1 answer has no apiVersion; /apis/<g>/<v> has "v1"
        doc["apiVersion"] = "v1"
    doc["groupVersion"] = f"{group}/{version}" if group else version
    doc["resources"] = resources
    return doc


# ---------------------------------------------------------------- aggregated discovery


def _response_kind(group: str, version: str, kind: str, of: ResourceType) -> dict[str, str]:
    # The server derives responseKind from the legacy APIResource, whose
    # group/version are empty when they equal the containing group-version.
    if (group, version) == (of.group, of.version):
        group, version = "", ""
    return {"group": group, "version": version, "kind": kind}


def _resource_discovery(rt: ResourceType) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "resource": rt.resource,
        "responseKind": _response_kind(rt.group, rt.version, rt.kind, rt),
        "scope": "Namespaced" if rt.namespaced else "Cluster",
    }
    if rt.singular:
        entry["singularResource"] = rt.singular
    entry["verbs"] = list(rt.verbs)
    if rt.short_names:
        entry["shortNames"] = list(rt.short_names)
    if rt.categories:
        entry["categories"] = list(rt.categories)
    if rt.subresources:
        entry["subresources"] = [
            {"subresource": sub.name, "responseKind": _response_kind(sub.group, sub.version, sub.kind, rt),
             "verbs": list(sub.verbs)}
            for sub in sorted(rt.subresources, key=lambda s: s.name)
        ]
    return entry


def _group_discovery(group: str, versions: list[str]) -> dict[str, Any]:
    return {
        # ObjectMeta: the real server serialises its zero creationTimestamp as null.
        "metadata": {"name": group, "creationTimestamp": None},
        "versions": [
            {"version": v, "resources": [_resource_discovery(rt) for rt in _resources(group, v)],
             "freshness": "Current"}
            for v in versions
        ],
    }


def aggregated_discovery(root: str) -> dict[str, Any]:
    """APIGroupDiscoveryList for `/api` (root "api": the core group, name "")
    or `/apis` (root "apis": every named group, preferred version first)."""
    if root == "api":
        items = [_group_discovery("", _versions(""))]
    elif root == "apis":
        items = [_group_discovery(g, _versions(g)) for g in _groups()]
    else:
        raise ValueError(f"unknown discovery root {root!r}")
    return {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2",
            "metadata": {}, "items": items}


def wants_aggregated(accept: str | None) -> bool:
    """True when an Accept header asks for aggregated discovery (kubectl sends
    `application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,…;v=v2beta1…,application/json`)."""
    if not accept:
        return False
    for part in accept.split(","):
        params = {k.strip(): v.strip() for k, _, v in
                  (p.partition("=") for p in part.split(";")[1:])}
        if (params.get("as") == "APIGroupDiscoveryList" and params.get("g") == "apidiscovery.k8s.io"
                and params.get("v") == "v2"):
            return True
    return False
