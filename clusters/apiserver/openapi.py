"""OpenAPI v3: the `/openapi/v3` index and one document per served group-version.

kubectl needs these for more than documentation: `apply`, `create -f`,
`replace` and `edit` download the index and the group-version document first
(`failed to download openapi` otherwise), and decide to leave validation to the
server (`fieldValidation=Strict`) only when the document has a `patch`
operation carrying `x-kubernetes-group-version-kind` and a `fieldValidation`
query parameter. `kubectl explain` reads `components.schemas` and finds kinds
by `x-kubernetes-group-version-kind`.

Schemas come from schema.definitions() (kubernetes-validate, JSON-schema
flavoured) and are turned back into the shape a v1.37 server publishes:
`#/components/schemas/<name>` refs (wrapped in `allOf` when the field adds a
description, as upstream does), plain `type` strings (the real v3 documents
do not mark nullable), IntOrString/Quantity as upstream's oneOf.
Documents are built once per process and served as bytes.
"""
from __future__ import annotations

import functools
import hashlib
import json
from typing import Any

from . import registry, schema
from .registry import ResourceType

_REF_PREFIX = "#/components/schemas/"
_META = "io.k8s.apimachinery.pkg.apis.meta.v1."
_STATUS = _META + "Status"
_DELETE_OPTIONS = _META + "DeleteOptions"
_PATCH = _META + "Patch"
_WATCH_EVENT = _META + "WatchEvent"
_RESOURCE_LIST = _META + "APIResourceList"
_SCALE = "io.k8s.api.autoscaling.v1.Scale"

# How upstream writes the scalar unions in v3 documents (the validate schemas
# spell them as nullable oneOfs).
_SPECIAL: dict[str, dict[str, Any]] = {
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString": {
        "description": "IntOrString is a type that can hold an int32 or a string.  When used in JSON or YAML "
                       "marshalling and unmarshalling, it produces or consumes the inner type.  This allows you "
                       "to have, for example, a JSON field that can accept a name or number.",
        "format": "int-or-string",
        "oneOf": [{"type": "integer"}, {"type": "string"}],
    },
    "io.k8s.apimachinery.pkg.api.resource.Quantity": {
        "description": "Quantity is a fixed-point representation of a number. It provides convenient "
                       "marshaling/unmarshaling in JSON and YAML, in addition to String() and AsInt64() "
                       "accessors.",
        "oneOf": [{"type": "string"}, {"type": "number"}],
    },
}

# ----------------------------------------------------------------- metrics.k8s.io
# metrics-server's types are not in the Kubernetes definitions; the real
# aggregated API publishes them under these names (k8s.io/metrics v1beta1).
_METRICS = "io.k8s.metrics.pkg.apis.metrics.v1beta1."
_QUANTITY_REF = {"$ref": "#/$defs/io.k8s.apimachinery.pkg.api.resource.Quantity"}


def _metrics_kind(kind: str, description: str, properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "description": description,
        "type": "object",
        "properties": {
            "apiVersion": {"description": ("APIVersion defines the versioned schema of this representation of "
                                           "an object."),
                           "type": "string"},
            "kind": {"description": "Kind is a string value representing the REST resource this object represents.",
                     "type": "string"},
            "metadata": {"$ref": "#/$defs/" + _META + "ObjectMeta",
                         "description": "Standard object's metadata."},
            "timestamp": {"$ref": "#/$defs/" + _META + "Time",
                          "description": "The following fields define time interval from which metrics were "
                                         "collected from the interval [Timestamp-Window, Timestamp]."},
            "window": {"type": "string"},
            **properties,
        },
        "x-kubernetes-group-version-kind": [{"group": "metrics.k8s.io", "kind": kind, "version": "v1beta1"}],
    }


def _metrics_list(kind: str, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "type": "object",
        "required": ["items"],
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"$ref": "#/$defs/" + _META + "ListMeta", "description": "Standard list metadata."},
            "items": {"description": "List of metrics.", "type": "array",
                      "items": {"$ref": "#/$defs/" + _METRICS + kind}},
        },
        "x-kubernetes-group-version-kind": [{"group": "metrics.k8s.io", "kind": kind + "List", "version": "v1beta1"}],
    }


_USAGE = {"description": "The memory/CPU usage.", "type": "object", "additionalProperties": _QUANTITY_REF}

_METRICS_DEFS: dict[str, dict[str, Any]] = {
    _METRICS + "NodeMetrics": _metrics_kind(
        "NodeMetrics", "NodeMetrics sets resource usage metrics of a node.", {"usage": _USAGE}),
    _METRICS + "NodeMetricsList": _metrics_list("NodeMetrics", "NodeMetricsList is a list of NodeMetrics."),
    _METRICS + "PodMetrics": _metrics_kind(
        "PodMetrics", "PodMetrics sets resource usage metrics of a pod.",
        {"containers": {"description": "Metrics for all containers are collected within the same time window.",
                        "type": "array", "items": {"$ref": "#/$defs/" + _METRICS + "ContainerMetrics"},
                        "x-kubernetes-list-type": "atomic"}}),
    _METRICS + "PodMetricsList": _metrics_list("PodMetrics", "PodMetricsList is a list of PodMetrics."),
    _METRICS + "ContainerMetrics": {
        "description": "ContainerMetrics sets resource usage metrics of a container.",
        "type": "object",
        "required": ["name", "usage"],
        "properties": {"name": {"description": "Container name corresponding to the one from pod.spec.containers.",
                                "type": "string"},
                       "usage": _USAGE},
    },
}


def _definition(name: str) -> dict[str, Any]:
    if name in _METRICS_DEFS:
        return _METRICS_DEFS[name]
    return schema.definition(name)


def _schema_name(rt: ResourceType) -> str:
    if rt.schema_name is None or rt.group == "metrics.k8s.io":
        return _METRICS + rt.kind
    return rt.schema_name


def _list_schema_name(rt: ResourceType) -> str:
    return _schema_name(rt) + "List"


# ----------------------------------------------------------------- schema conversion


def _plain_type(found: Any) -> Any:
    if isinstance(found, list):
        kept = [t for t in found if t != "null"]
        return kept[0] if len(kept) == 1 else kept
    return found


def _convert(node: Any, *, top_level_gvk: bool = False) -> Any:
    """A validate-flavoured schema node → its OpenAPI v3 form (recursively)."""
    if isinstance(node, list):
        return [_convert(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    ref = node.get("$ref")
    for key, value in node.items():
        if key == "$ref":
            continue
        if key == "type":
            out[key] = _plain_type(value)
        elif key == "properties":
            props = {name: _convert(sub) for name, sub in value.items()}
            if top_level_gvk:
                # kubernetes-validate pins apiVersion/kind with a one-value enum;
                # upstream does not (kubectl explain would print `ENUM:` lines).
                for name in ("apiVersion", "kind"):
                    if name in props:
                        props[name].pop("enum", None)
            out[key] = props
        elif key in ("items", "additionalProperties", "not"):
            out[key] = _convert(value)
        elif key in ("oneOf", "anyOf", "allOf"):
            out[key] = [_convert(option) for option in value]
        else:
            out[key] = value  # description, format, x-kubernetes-*, enum, default, required, …
    if ref is not None:
        target = {"$ref": _REF_PREFIX + schema.ref_name(ref)}
        if not out:
            return target
        # Upstream wraps a ref that carries siblings (description, default) in allOf.
        return {"allOf": [target], **out}
    return out


def _convert_definition(name: str) -> dict[str, Any]:
    if name in _SPECIAL:
        return dict(_SPECIAL[name])
    node = _definition(name)
    return _convert(node, top_level_gvk="x-kubernetes-group-version-kind" in node)


def _refs(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            found.add(schema.ref_name(ref))
        for value in node.values():
            _refs(value, found)
    elif isinstance(node, list):
        for item in node:
            _refs(item, found)


def _closure(roots: list[str]) -> dict[str, dict[str, Any]]:
    """Converted schemas for `roots` and everything they reference, sorted by name like upstream."""
    seen: dict[str, dict[str, Any]] = {}
    pending = list(roots)
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        if name not in _METRICS_DEFS and name not in schema.definitions():
            continue
        converted = _convert_definition(name)
        seen[name] = converted
        found: set[str] = set()
        _refs(converted, found)
        pending.extend(n.removeprefix(_REF_PREFIX) for n in found)
    # _refs saw converted refs; normalise any leftovers and sort
    return {name: seen[name] for name in sorted(seen)}


# ----------------------------------------------------------------- paths

_JSON_TYPES = ("application/json", "application/vnd.kubernetes.protobuf", "application/yaml")
_WATCH_TYPES = ("application/json", "application/json;stream=watch", "application/vnd.kubernetes.protobuf",
                "application/vnd.kubernetes.protobuf;stream=watch", "application/yaml")
_PATCH_TYPES = ("application/apply-patch+yaml", "application/json-patch+json",
                "application/merge-patch+json", "application/strategic-merge-patch+json")


def _q(name: str, typ: str, description: str) -> dict[str, Any]:
    return {"description": description, "in": "query", "name": name,
            "schema": {"type": typ, "uniqueItems": True}}


_DRY_RUN = _q("dryRun", "string", "When present, indicates that modifications should not be persisted. An invalid or "
              "unrecognized dryRun directive will result in an error response and no further processing of the "
              "request. Valid values are: - All: all dry run stages will be processed")
_FIELD_MANAGER = _q("fieldManager", "string", "fieldManager is a name associated with the actor or entity that is "
                    "making these changes. The value must be less than or 128 characters long, and only contain "
                    "printable characters, as defined by https://golang.org/pkg/unicode/#IsPrint.")
_FIELD_MANAGER_PATCH = _q("fieldManager", "string", "fieldManager is a name associated with the actor or entity "
                          "that is making these changes. The value must be less than or 128 characters long, and "
                          "only contain printable characters, as defined by https://golang.org/pkg/unicode/#IsPrint. "
                          "This field is required for apply requests (application/apply-patch) but optional for "
                          "non-apply patch types (JsonPatch, MergePatch, StrategicMergePatch).")
_FIELD_VALIDATION = _q("fieldValidation", "string", "fieldValidation instructs the server on how to handle objects "
                       "in the request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: - "
                       "Ignore: This will ignore any unknown fields that are silently dropped from the object, and "
                       "will ignore all but the last duplicate field that the decoder encounters. This is the default "
                       "behavior prior to v1.23. - Warn: This will send a warning via the standard warning response "
                       "header for each unknown field that is dropped from the object, and for each duplicate field "
                       "that is encountered. The request will still succeed if there are no other errors, and will "
                       "only persist the last of any duplicate fields. This is the default in v1.23+ - Strict: This "
                       "will fail the request with a BadRequest error if any unknown fields would be dropped from the "
                       "object, or if any duplicate fields are present. The error returned from the server will "
                       "contain all unknown and duplicate fields encountered.")
_FORCE = _q("force", "boolean", "Force is going to \"force\" Apply requests. It means user will re-acquire "
            "conflicting fields owned by other people. Force flag must be unset for non-apply patch requests.")
_PRETTY = _q("pretty", "string", "If 'true', then the output is pretty printed.")
_GRACE = _q("gracePeriodSeconds", "integer", "The duration in seconds before the object should be deleted. Value "
            "must be non-negative integer. The value zero indicates delete immediately. If this value is nil, the "
            "default grace period for the specified type will be used. Defaults to a per object value if not "
            "specified. zero means delete immediately.")
_IGNORE_FINALIZERS = _q("ignoreStoreReadErrorWithClusterBreakingPotential", "boolean", "if set to true, it will "
                        "trigger an unsafe deletion of the resource in case the normal deletion flow fails with a "
                        "corrupt object error.")
_ORPHAN = _q("orphanDependents", "boolean", "Deprecated: please use the PropagationPolicy, this field will be "
             "deprecated in 1.7. Should the dependent objects be orphaned.")
_PROPAGATION = _q("propagationPolicy", "string", "Whether and how garbage collection will be performed. Either "
                  "this field or OrphanDependents may be set, but not both. Acceptable values are: 'Orphan' - "
                  "orphan the dependents; 'Background' - allow the garbage collector to delete the dependents in "
                  "the background; 'Foreground' - a cascading policy that deletes all dependents in the foreground.")
_LIST_PARAMS = [
    _q("allowWatchBookmarks", "boolean", "allowWatchBookmarks requests watch events with type \"BOOKMARK\"."),
    _q("continue", "string", "The continue option should be set when retrieving more results from the server."),
    _q("fieldSelector", "string", "A selector to restrict the list of returned objects by their fields. Defaults to "
       "everything."),
    _q("labelSelector", "string", "A selector to restrict the list of returned objects by their labels. Defaults to "
       "everything."),
    _q("limit", "integer", "limit is a maximum number of responses to return for a list call."),
    _q("resourceVersion", "string", "resourceVersion sets a constraint on what resource versions a request may be "
       "served from. See https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions for "
       "details.\n\nDefaults to unset"),
    _q("resourceVersionMatch", "string", "resourceVersionMatch determines how resourceVersion is applied to list "
       "calls."),
    _q("sendInitialEvents", "boolean", "`sendInitialEvents=true` may be set together with `watch=true`."),
    _q("timeoutSeconds", "integer", "Timeout for the list/watch call. This limits the duration of the call, "
       "regardless of any activity or inactivity."),
    _q("watch", "boolean", "Watch for changes to the described resources and return them as a stream of add, "
       "update, and remove notifications. Specify resourceVersion."),
]
_NAMESPACE_PARAM = {"description": "object name and auth scope, such as for teams and projects", "in": "path",
                    "name": "namespace", "required": True, "schema": {"type": "string", "uniqueItems": True}}


def _name_param(what: str) -> dict[str, Any]:
    return {"description": f"name of the {what}", "in": "path", "name": "name", "required": True,
            "schema": {"type": "string", "uniqueItems": True}}


def _content(schema_name: str, types: tuple[str, ...] = _JSON_TYPES) -> dict[str, Any]:
    return {t: {"schema": {"$ref": _REF_PREFIX + schema_name}} for t in types}


def _responses(schema_name: str, *codes: str, types: tuple[str, ...] = _JSON_TYPES) -> dict[str, Any]:
    text = {"200": "OK", "201": "Created", "202": "Accepted"}
    out: dict[str, Any] = {code: {"content": _content(schema_name, types), "description": text[code]}
                           for code in codes}
    out["401"] = {"description": "Unauthorized"}
    return out


def _op_prefix(group: str, version: str) -> str:
    """`CoreV1`, `AppsV1`, `NetworkingV1`, `MetricsV1beta1`: upstream's operationId infix."""
    name = group.split(".")[0] if group else "core"
    return name[:1].upper() + name[1:] + version[:1].upper() + version[1:]


def _tag(group: str, version: str) -> str:
    name = group.split(".")[0] if group else "core"
    return f"{name}_{version}"


def _gvk(group: str, version: str, kind: str) -> dict[str, str]:
    return {"group": group, "kind": kind, "version": version}


def _operation(action: str, description: str, op_id: str, tag: str, gvk: dict[str, str],
               responses: dict[str, Any], parameters: list[dict[str, Any]] | None = None,
               request_body: dict[str, Any] | None = None) -> dict[str, Any]:
    op: dict[str, Any] = {"description": description, "operationId": op_id}
    if parameters:
        op["parameters"] = parameters
    if request_body is not None:
        op["requestBody"] = request_body
    op["responses"] = responses
    op["tags"] = [tag]
    op["x-kubernetes-action"] = action
    op["x-kubernetes-group-version-kind"] = gvk
    return op


def _body(schema_name: str, types: tuple[str, ...] = ("*/*",)) -> dict[str, Any]:
    return {"content": {t: {"schema": {"$ref": _REF_PREFIX + schema_name}} for t in types}, "required": True}


def _paths_for(rt: ResourceType) -> dict[str, dict[str, Any]]:
    base = "/api/v1" if not rt.group else f"/apis/{rt.group}/{rt.version}"
    prefix, tag = _op_prefix(rt.group, rt.version), _tag(rt.group, rt.version)
    gvk = _gvk(rt.group, rt.version, rt.kind)
    scope = "Namespaced" if rt.namespaced else ""
    obj, obj_list = _schema_name(rt), _list_schema_name(rt)
    collection = f"{base}/namespaces/{{namespace}}/{rt.resource}" if rt.namespaced else f"{base}/{rt.resource}"
    item = collection + "/{name}"
    scope_params = [_NAMESPACE_PARAM] if rt.namespaced else []
    writable = "create" in rt.verbs
    paths: dict[str, dict[str, Any]] = {}

    coll: dict[str, Any] = {
        "get": _operation("list", f"list or watch objects of kind {rt.kind}", f"list{prefix}{scope}{rt.kind}", tag,
                          gvk, _responses(obj_list, "200", types=_WATCH_TYPES), list(_LIST_PARAMS)),
        "parameters": scope_params + [_PRETTY],
    }
    if writable:
        coll["post"] = _operation(
            "post", f"create a {rt.kind}", f"create{prefix}{scope}{rt.kind}", tag, gvk,
            _responses(obj, "200", "201", "202"), [_DRY_RUN, _FIELD_MANAGER, _FIELD_VALIDATION], _body(obj))
    if "deletecollection" in rt.verbs:
        coll["delete"] = _operation(
            "deletecollection", f"delete collection of {rt.kind}", f"delete{prefix}Collection{scope}{rt.kind}", tag,
            gvk, _responses(_STATUS, "200"),
            [_DRY_RUN, _GRACE, _IGNORE_FINALIZERS, _ORPHAN, _PROPAGATION] + list(_LIST_PARAMS),
            _body(_DELETE_OPTIONS))
    paths[collection] = coll

    one: dict[str, Any] = {
        "get": _operation("get", f"read the specified {rt.kind}", f"read{prefix}{scope}{rt.kind}", tag, gvk,
                          _responses(obj, "200")),
        "parameters": [_name_param(rt.kind)] + scope_params + [_PRETTY],
    }
    if writable:
        one["put"] = _operation(
            "put", f"replace the specified {rt.kind}", f"replace{prefix}{scope}{rt.kind}", tag, gvk,
            _responses(obj, "200", "201"), [_DRY_RUN, _FIELD_MANAGER, _FIELD_VALIDATION], _body(obj))
        one["patch"] = _operation(
            "patch", f"partially update the specified {rt.kind}", f"patch{prefix}{scope}{rt.kind}", tag, gvk,
            _responses(obj, "200", "201"), [_DRY_RUN, _FIELD_MANAGER_PATCH, _FIELD_VALIDATION, _FORCE],
            _body(_PATCH, _PATCH_TYPES))
        one["delete"] = _operation(
            "delete", f"delete a {rt.kind}", f"delete{prefix}{scope}{rt.kind}", tag, gvk,
            _responses(_STATUS, "200", "202"), [_DRY_RUN, _GRACE, _IGNORE_FINALIZERS, _ORPHAN, _PROPAGATION],
            _body(_DELETE_OPTIONS))
    paths[item] = one

    if rt.namespaced:  # the cross-namespace list kubectl uses for `-A`
        paths[f"{base}/{rt.resource}"] = {
            "get": _operation("list", f"list or watch objects of kind {rt.kind}",
                              f"list{prefix}{rt.kind}ForAllNamespaces", tag, gvk,
                              _responses(obj_list, "200", types=_WATCH_TYPES)),
            "parameters": list(_LIST_PARAMS) + [_PRETTY],
        }

    for sub in rt.subresources:
        if sub.name not in ("status", "scale", "log"):
            continue  # connect-style subresources (exec, attach, …) have no schema kubectl reads
        title = sub.name[:1].upper() + sub.name[1:]
        path = f"{item}/{sub.name}"
        sub_gvk = _gvk(sub.group, sub.version, sub.kind)
        params = [_name_param(sub.kind if sub.name == "scale" else rt.kind)] + scope_params
        if sub.name == "log":
            paths[path] = {
                "get": _operation("get", f"read log of the specified {rt.kind}",
                                  f"read{prefix}{scope}{rt.kind}Log", tag, gvk,
                                  {"200": {"content": {"*/*": {"schema": {"type": "string"}}}, "description": "OK"},
                                   "401": {"description": "Unauthorized"}}),
                "parameters": params + [
                    _q("container", "string", "The container for which to stream logs. Defaults to only container "
                       "if there is one container in the pod."),
                    _q("follow", "boolean", "Follow the log stream of the pod. Defaults to false."),
                    _q("limitBytes", "integer", "If set, the number of bytes to read from the server before "
                       "terminating the log output."),
                    _PRETTY,
                    _q("previous", "boolean", "Return previous terminated container logs. Defaults to false."),
                    _q("sinceSeconds", "integer", "A relative time in seconds before the current time from which "
                       "to show logs."),
                    _q("tailLines", "integer", "If set, the number of lines from the end of the logs to show."),
                    _q("timestamps", "boolean", "If true, add an RFC3339 or RFC3339Nano timestamp at the "
                       "beginning of every line of log output. Defaults to false."),
                ],
            }
            continue
        target = _SCALE if sub.name == "scale" else obj
        what = "scale" if sub.name == "scale" else "status"
        paths[path] = {
            "get": _operation("get", f"read {what} of the specified {rt.kind}",
                              f"read{prefix}{scope}{rt.kind}{title}", tag, sub_gvk, _responses(target, "200")),
            "parameters": params + [_PRETTY],
            "patch": _operation("patch", f"partially update {what} of the specified {rt.kind}",
                                f"patch{prefix}{scope}{rt.kind}{title}", tag, sub_gvk,
                                _responses(target, "200", "201"),
                                [_DRY_RUN, _FIELD_MANAGER_PATCH, _FIELD_VALIDATION, _FORCE],
                                _body(_PATCH, _PATCH_TYPES)),
            "put": _operation("put", f"replace {what} of the specified {rt.kind}",
                              f"replace{prefix}{scope}{rt.kind}{title}", tag, sub_gvk,
                              _responses(target, "200", "201"), [_DRY_RUN, _FIELD_MANAGER, _FIELD_VALIDATION],
                              _body(target)),
        }
    return paths


# ----------------------------------------------------------------- documents


def _served_resources(group: str, version: str) -> list[ResourceType]:
    return [rt for rt in registry.served() if rt.group == group and rt.version == version]


def build_document(group: str, version: str) -> dict[str, Any] | None:
    """The group-version document as a dict (tests and the explain path read it)."""
    resources = _served_resources(group, version)
    if not resources:
        return None
    base = "/api/v1" if not group else f"/apis/{group}/{version}"
    paths: dict[str, Any] = {
        f"{base}/": {"get": {"description": "get available resources",
                             "operationId": f"get{_op_prefix(group, version)}APIResources",
                             "responses": _responses(_RESOURCE_LIST, "200"),
                             "tags": [_tag(group, version)]}},
    }
    roots = [_RESOURCE_LIST, _STATUS, _DELETE_OPTIONS, _PATCH, _WATCH_EVENT]
    for rt in sorted(resources, key=lambda r: r.resource):
        paths.update(_paths_for(rt))
        roots += [_schema_name(rt), _list_schema_name(rt)]
        if rt.subresource("scale"):
            roots.append(_SCALE)
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": registry.KUBERNETES_VERSION},
        "paths": {p: paths[p] for p in sorted(paths)},
        "components": {"schemas": _closure(roots)},
    }


@functools.cache
def _document_bytes(group: str, version: str) -> bytes | None:
    doc = build_document(group, version)
    if doc is None:
        return None
    return json.dumps(doc, separators=(",", ":"), sort_keys=False).encode()


def openapi_v3_document(group: str, version: str) -> bytes | None:
    """`GET /openapi/v3/api/v1` or `/openapi/v3/apis/<g>/<v>`: the JSON document, or None if not served."""
    return _document_bytes(group, version)


@functools.cache
def document_hash(group: str, version: str) -> str:
    """Upstream's `?hash=`: the uppercase hex SHA-512 of the served bytes. kubectl
    caches documents by this URL, so it must change whenever the bytes do."""
    data = _document_bytes(group, version)
    if data is None:
        raise KeyError(f"{group}/{version} is not served")
    return hashlib.sha512(data).hexdigest().upper()


def _index_key(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def openapi_v3_index(prefix: str) -> dict[str, Any]:
    """`GET /openapi/v3`. `prefix` is the per-cluster URL prefix ("/clusters/<id>"):
    kubectl resolves serverRelativeURL against the host only, so it must carry it."""
    prefix = prefix.rstrip("/")
    paths: dict[str, Any] = {}
    for group, version in registry.group_versions():
        key = _index_key(group, version)
        paths[key] = {"serverRelativeURL": f"{prefix}/openapi/v3/{key}?hash={document_hash(group, version)}"}
    return {"paths": {k: paths[k] for k in sorted(paths)}}


def parse_index_key(path: str) -> tuple[str, str] | None:
    """`api/v1` → ("", "v1"); `apis/apps/v1` → ("apps", "v1"); anything else → None."""
    parts = path.strip("/").split("/")
    if len(parts) == 2 and parts[0] == "api":
        return "", parts[1]
    if len(parts) == 3 and parts[0] == "apis":
        return parts[1], parts[2]
    return None


# ---------------------------------------------------------------- OpenAPI v2
# The playground describes its types in OpenAPI v3 only. kubectl still reads /openapi/v2 (as
# protobuf) for client-side validation of a kind the server does not serve (a removed
# apiVersion, say); a v2 document without definitions makes it skip validation and report
# what a real cluster reports: `no matches for kind "CronJob" in version "batch/v1beta1"`.
def _proto_string(field: int, value: str) -> bytes:
    data = value.encode()
    return bytes([(field << 3) | 2, len(data)]) + data


def openapi_v2_document(protobuf: bool) -> bytes:
    """An OpenAPI v2 document without paths or definitions (gnostic openapi_v2.Document when protobuf)."""
    if protobuf:
        info = _proto_string(1, "Kubernetes") + _proto_string(2, registry.KUBERNETES_VERSION)
        return _proto_string(1, "2.0") + bytes([(2 << 3) | 2, len(info)]) + info
    return json.dumps({"swagger": "2.0", "info": {"title": "Kubernetes", "version": registry.KUBERNETES_VERSION},
                       "paths": {}, "definitions": {}}).encode()
