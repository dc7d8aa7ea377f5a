"""The apiserver's decode step, replayed against the OpenAPI schema.

A real kube-apiserver decodes the request body into Go structs with
sigs.k8s.io/json. Two kinds of failure come out of that step, both 400
BadRequest and both prefixed `<Kind> in version "<v>" cannot be handled as a <Kind>: `:

* a JSON value of the wrong type: Go's UnmarshalTypeError,
  `json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32`
  (struct = innermost Go struct type, field = JSON names from the root, without
  list indices; the decoder keeps only the first such error);
* with fieldValidation=Strict, unknown fields:
  `strict decoding error: unknown field "spec.replica"` (paths with list indices).

The schema is compiled once per definition into small `_Node` objects, so a
request walks the object exactly once with dict lookups only.
"""
from __future__ import annotations

import base64
import binascii
import functools
from typing import Any

from . import schema
from .validation_names import QuantityError, parse_quantity

_INT_RANGES = {"int32": (-(2 ** 31), 2 ** 31 - 1), "int64": (-(2 ** 63), 2 ** 63 - 1)}

# kinds of compiled nodes
STRUCT, MAP, LIST, INT, FLOAT, STRING, BOOL, BYTES, INTORSTR, QUANTITY, TIME, ANY = range(12)

_SPECIAL_REFS = {
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString": INTORSTR,
    "io.k8s.apimachinery.pkg.api.resource.Quantity": QUANTITY,
    "io.k8s.apimachinery.pkg.apis.meta.v1.Time": TIME,
    "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime": TIME,
    "io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1": ANY,
    "io.k8s.apimachinery.pkg.runtime.RawExtension": ANY,
}


# Go named string types that show up in type errors ("of type v1.Protocol"), by struct.
_NAMED_STRINGS: dict[str, dict[str, str]] = {
    "ContainerPort": {"protocol": "v1.Protocol"},
    "ServicePort": {"protocol": "v1.Protocol"},
    "Container": {"imagePullPolicy": "v1.PullPolicy", "terminationMessagePolicy": "v1.TerminationMessagePolicy"},
    "PodSpec": {"restartPolicy": "v1.RestartPolicy", "dnsPolicy": "v1.DNSPolicy"},
    "ServiceSpec": {"type": "v1.ServiceType", "sessionAffinity": "v1.ServiceAffinity"},
    "DeploymentStrategy": {"type": "v1.DeploymentStrategyType"},
    "Secret": {"type": "v1.SecretType"},
    "ObjectMeta": {"uid": "types.UID"},
}


class _Node:
    __slots__ = ("kind", "go_type", "struct_name", "_props", "_defname", "item", "value")

    def __init__(self, kind: int, go_type: str) -> None:
        self.kind = kind
        self.go_type = go_type
        self.struct_name = ""
        self._props: dict[str, _Node] | None = None
        self._defname = ""
        self.item: _Node | None = None
        self.value: _Node | None = None

    @property
    def props(self) -> dict[str, _Node]:
        # Compiled lazily: definitions refer to each other (and JSONSchemaProps to itself).
        if self._props is None:
            definition = schema.definition(self._defname)
            props = {name: _compile(sub) for name, sub in (definition.get("properties") or {}).items()}
            for name, go_type in _NAMED_STRINGS.get(self.struct_name, {}).items():
                if name in props and props[name].kind == STRING:
                    props[name].go_type = go_type
            self._props = props
        return self._props


def _go_type_name(defname: str) -> str:
    parts = defname.split(".")
    return f"{parts[-2]}.{parts[-1]}"


@functools.cache
def _struct(defname: str) -> _Node:
    special = _SPECIAL_REFS.get(defname)
    if special is not None:
        go = {INTORSTR: "intstr.IntOrString", QUANTITY: "resource.Quantity", TIME: "v1.Time"}.get(special, "")
        return _Node(special, go)
    definition = schema.definition(defname)
    if definition.get("x-kubernetes-preserve-unknown-fields") or not definition.get("properties"):
        if definition.get("additionalProperties") is not None:
            return _compile(definition)
        return _Node(ANY, _go_type_name(defname))
    node = _Node(STRUCT, _go_type_name(defname))
    node.struct_name = defname.rsplit(".", 1)[-1]
    node._defname = defname
    return node


def _compile(node: dict[str, Any]) -> _Node:
    if "$ref" in node:
        return _struct(schema.ref_name(node["$ref"]))
    if "allOf" in node and len(node["allOf"]) == 1:
        return _compile(node["allOf"][0])
    if node.get("x-kubernetes-preserve-unknown-fields"):
        return _Node(ANY, "interface {}")
    types = node.get("type")
    if isinstance(types, str):
        types = [types]
    types = [t for t in (types or []) if t != "null"]
    kind = types[0] if types else ""
    fmt = node.get("format", "")
    if kind == "array":
        item = _compile(node.get("items") or {})
        out = _Node(LIST, "[]" + item.go_type)
        out.item = item
        return out
    if kind == "object":
        extra = node.get("additionalProperties")
        if isinstance(extra, dict):
            value = _compile(extra)
            # map[ResourceName]Quantity is the named Go type v1.ResourceList
            go = "v1.ResourceList" if value.kind == QUANTITY else "map[string]" + value.go_type
            out = _Node(MAP, go)
            out.value = value
            return out
        return _Node(ANY, "map[string]interface {}")
    if kind == "integer":
        return _Node(INT, fmt if fmt in _INT_RANGES else "int64")
    if kind == "number":
        return _Node(FLOAT, "float64")
    if kind == "boolean":
        return _Node(BOOL, "bool")
    if kind == "string":
        if fmt == "byte":
            return _Node(BYTES, "[]uint8")
        return _Node(STRING, "string")
    return _Node(ANY, "interface {}")


def value_class(value: Any) -> str:
    """What a decoded JSON value is: null, bool, integer, float, string, array or object.

    Go's messages name these in two vocabularies (json_kind, patch.go_type); both read this one
    classification. An integral float counts as an integer: apimachinery's decoder makes it int64.
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return "integer"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


_JSON_KINDS = {"integer": "number", "float": "number"}


def json_kind(value: Any) -> str:
    """How encoding/json's UnmarshalTypeError names a decoded JSON value: `json: cannot unmarshal
    <object|array|string|number|bool|null> into Go value of type …` (the decode step, patch bodies,
    apply configurations)."""
    kind = value_class(value)
    return _JSON_KINDS.get(kind, kind)


class _Fatal(Exception):
    """A custom UnmarshalJSON failed: Go aborts decoding with this error."""


class _Walker:
    __slots__ = ("mode", "type_error", "unknown")

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.type_error: str | None = None
        self.unknown: list[str] = []

    def _type_error(self, value_desc: str, struct: str, stack: tuple[str, ...], go_type: str) -> None:
        # The Go decoder saves only the first type error and keeps going.
        if self.type_error is None:
            if struct or stack:
                self.type_error = (f"json: cannot unmarshal {value_desc} into Go struct field "
                                   f"{struct}.{'.'.join(stack)} of type {go_type}")
            else:
                self.type_error = f"json: cannot unmarshal {value_desc} into Go value of type {go_type}"

    def walk(self, value: Any, node: _Node, struct: str, stack: tuple[str, ...], path: str) -> None:
        if value is None:
            return  # null decodes to the zero value everywhere
        kind = node.kind
        if kind == STRUCT:
            if not isinstance(value, dict):
                self._type_error(json_kind(value), struct, stack, node.go_type)
                return
            props = node.props
            name = node.struct_name
            for key in list(value):
                sub = props.get(key)
                child_path = f"{path}.{key}" if path else key
                if sub is None:
                    self.unknown.append(child_path)
                    if self.mode != "Strict":
                        del value[key]  # the real server drops what it does not know
                    continue
                self.walk(value[key], sub, name, stack + (key,), child_path)
        elif kind == LIST:
            if not isinstance(value, list):
                self._type_error(json_kind(value), struct, stack, node.go_type)
                return
            item = node.item
            for i, element in enumerate(value):
                self.walk(element, item, struct, stack, f"{path}[{i}]")
        elif kind == MAP:
            if not isinstance(value, dict):
                self._type_error(json_kind(value), struct, stack, node.go_type)
                return
            sub = node.value
            if sub.kind == ANY:
                return
            for key, element in value.items():
                self.walk(element, sub, struct, stack, f"{path}.{key}")
        elif kind == STRING:
            if not isinstance(value, str):
                self._type_error(json_kind(value), struct, stack, node.go_type)
        elif kind == INT:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                self._type_error(json_kind(value), struct, stack, node.go_type)
                return
            low, high = _INT_RANGES[node.go_type]
            if isinstance(value, float) and not value.is_integer():
                self._type_error(f"number {value!r}", struct, stack, node.go_type)
            elif not low <= value <= high:
                self._type_error(f"number {int(value)}", struct, stack, node.go_type)
        elif kind == FLOAT:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                self._type_error(json_kind(value), struct, stack, "float64")
        elif kind == BOOL:
            if not isinstance(value, bool):
                self._type_error(json_kind(value), struct, stack, "bool")
        elif kind == BYTES:
            if not isinstance(value, str):
                self._type_error(json_kind(value), struct, stack, "[]uint8")
            elif self.type_error is None:
                try:
                    base64.b64decode(value, validate=True)
                except (binascii.Error, ValueError):
                    self.type_error = f"illegal base64 data at input byte {_bad_base64_offset(value)}"
        elif kind == INTORSTR:
            if isinstance(value, str):
                return
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                desc = json_kind(value)
            elif isinstance(value, float) and not value.is_integer():
                desc = f"number {value!r}"
            elif not -(2 ** 31) <= value < 2 ** 31:
                desc = f"number {int(value)}"
            else:
                return
            # IntOrString.UnmarshalJSON decodes into IntVal; the decoder then adds
            # the struct context to that error and stops (a fatal error wins over
            # any type error saved before it).
            self.type_error = None
            self._type_error(desc, struct, stack, "int32")
            raise _Fatal
        elif kind == QUANTITY:
            try:
                parse_quantity(value)
            except QuantityError as exc:
                self.type_error = str(exc)
                raise _Fatal from None
        elif kind == TIME:
            if not isinstance(value, str):
                self.type_error = f"json: cannot unmarshal {json_kind(value)} into Go value of type string"
                raise _Fatal


def _bad_base64_offset(text: str) -> int:
    alphabet = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
    for i, ch in enumerate(text):
        if ch == "=":
            return i if len(text) % 4 == 0 and i >= len(text) - 2 else i
        if ch not in alphabet:
            return i
    return len(text) - len(text) % 4


def schema_node(schema_name: str) -> _Node:
    return _struct(schema_name)


def decode_errors(obj: dict, schema_name: str, field_validation: str) -> tuple[str | None, list[str]]:
    """(first type error or None, unknown field paths). Drops unknown fields unless Strict."""
    walker = _Walker(field_validation)
    try:
        walker.walk(obj, _struct(schema_name), "", (), "")
    except _Fatal:
        pass
    return walker.type_error, walker.unknown
