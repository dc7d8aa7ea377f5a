"""The OpenAPI definitions of the served Kubernetes version, from `kubernetes-validate`.

One copy of the schemas, loaded once per process and shared read-only by
validation, strategic merge patch (patch merge keys and strategies), OpenAPI v3
and `kubectl explain`. Definitions are JSON-schema flavoured: `$ref` points at
`#/$defs/<name>` and nullable types are written `["string", "null"]`.
"""
from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

SCHEMA_SET = "v1.37.0-local"  # kubernetes-validate's folder for the served version


@functools.cache
def definitions() -> dict[str, dict[str, Any]]:
    """All definitions by their OpenAPI name (io.k8s.api.apps.v1.Deployment, …)."""
    path = resources.files("kubernetes_validate") / "kubernetes-json-schema" / SCHEMA_SET / "_definitions.json"
    with path.open("rb") as handle:
        return json.load(handle)["$defs"]


def ref_name(ref: str) -> str:
    """`#/$defs/io.k8s.api.core.v1.Pod` (or `/api/_definitions.json#/$defs/…`) → its name."""
    return ref.rsplit("/", 1)[-1]


def definition(name: str) -> dict[str, Any]:
    return definitions()[name]


def resolve(node: dict[str, Any] | None) -> dict[str, Any]:
    """The schema a node stands for, following `$ref` (and `allOf: [{$ref}]`) to the definition."""
    while node:
        if "$ref" in node:
            node = definitions()[ref_name(node["$ref"])]
        elif "allOf" in node and len(node["allOf"]) == 1:
            node = node["allOf"][0]
        else:
            break
    return node or {}


def types_of(node: dict[str, Any]) -> set[str]:
    """The JSON types a (resolved) node allows, without "null"; empty means anything."""
    node = resolve(node)
    found = node.get("type")
    if found is None:
        if "oneOf" in node:  # IntOrString, Quantity
            return set().union(*(types_of(option) for option in node["oneOf"]))
        return set()
    if isinstance(found, str):
        found = [found]
    return {t for t in found if t != "null"}


def property_schema(node: dict[str, Any], name: str) -> dict[str, Any] | None:
    """The schema of field `name` of an object node, or None if the field is unknown."""
    props = resolve(node).get("properties") or {}
    sub = props.get(name)
    return sub


def items_schema(node: dict[str, Any]) -> dict[str, Any]:
    return resolve(node).get("items") or {}


def is_map(node: dict[str, Any]) -> bool:
    """A free-form map (labels, data): additionalProperties, no fixed properties."""
    node = resolve(node)
    return "additionalProperties" in node and not node.get("properties")
