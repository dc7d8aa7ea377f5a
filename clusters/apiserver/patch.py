"""PATCH bodies applied the way kube-apiserver applies them.

Three of the four patch types live here (server-side apply is in `apply.py`):

* `strategic_merge_patch` — `application/strategic-merge-patch+json`, a port of
  k8s.io/apimachinery/pkg/util/strategicpatch (the server half:
  `StrategicMergeMapPatch` with MergeParallelList and IgnoreUnmatchedNulls).
  Patch strategies and merge keys come from the OpenAPI definitions
  (`x-kubernetes-patch-strategy`, `x-kubernetes-patch-merge-key`), found by
  walking the schema alongside the data.
* `json_merge_patch` — `application/merge-patch+json`, RFC 7386.
* `json_patch` — `application/json-patch+json`, RFC 6902.

Error codes and messages follow the real server: the strategic merge patch
errors are mergepatch/errors.go's, sorted into codes the way
apiserver/pkg/endpoints/handlers/patch.go `interpretStrategicMergePatchError`
does; JSON patch failures are the generic 422 the handler answers with.

Everything here works on private copies: callers' dicts are never mutated and
results never share structure with the inputs (the store mutates results,
e.g. to set resourceVersion, and must not reach back into a stored object).
"""
from __future__ import annotations

from typing import Any

from . import errors, schema
from .validation_decode import json_kind, value_class

__all__ = [
    "strategic_merge_patch",
    "json_merge_patch",
    "json_patch",
    "field_meta",
    "json_copy",
]

# Directive names, as in strategicpatch/patch.go.
DIRECTIVE = "$patch"
DELETE = "delete"
REPLACE = "replace"
MERGE = "merge"
RETAIN_KEYS = "$retainKeys"
DELETE_FROM_PRIMITIVE_LIST = "$deleteFromPrimitiveList"
SET_ELEMENT_ORDER = "$setElementOrder"

# mergepatch/errors.go. The first five are answered 400 BadRequest, the next
# two 422 (with the generic message, see `_unprocessable`), anything else is a
# plain Go error that the apiserver turns into a 500 with an empty reason.
ERR_BAD_JSON_DOC = "invalid JSON document"
ERR_NO_LIST_OF_LISTS = "lists of lists are not supported"
ERR_BAD_PATCH_FORMAT_PRIMITIVE_LIST = "invalid patch format of primitive list"
ERR_BAD_PATCH_FORMAT_RETAIN_KEYS = "invalid patch format of retainKeys"
ERR_BAD_PATCH_FORMAT_SET_ELEMENT_ORDER = "invalid patch format of setElementOrder list"
ERR_PATCH_CONTENT_NOT_MATCH_RETAIN_KEYS = "patch content doesn't match retainKeys list"

# apimachinery/pkg/api/errors NewGenericServerResponse(422, …): the real server
# drops the underlying message and answers with this one.
UNPROCESSABLE_MESSAGE = "the server rejected our request due to an error in our request"

# apiserver/pkg/endpoints/handlers/patch.go
MAX_JSON_PATCH_OPERATIONS = 10000


class _Delete:
    """Marker returned by `_merge_map` for `{"$patch": "delete"}`: drop the field."""


_DELETED = _Delete()


# --------------------------------------------------------------------------
# Shared helpers (also used by apply.py)
# --------------------------------------------------------------------------

def json_copy(value: Any) -> Any:
    """Deep copy of JSON data; much faster than copy.deepcopy for dict/list trees."""
    if isinstance(value, dict):
        return {k: json_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_copy(v) for v in value]
    return value


def json_equal(a: Any, b: Any) -> bool:
    """Equality of JSON values: like ==, but true/false never equal 1/0."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict):
        if not isinstance(b, dict) or a.keys() != b.keys():
            return False
        return all(json_equal(v, b[k]) for k, v in a.items())
    if isinstance(a, list):
        if not isinstance(b, list) or len(a) != len(b):
            return False
        return all(json_equal(x, y) for x, y in zip(a, b))
    if isinstance(b, (dict, list)):
        return False
    return a == b


def root_node(schema_name: str | None) -> dict[str, Any]:
    """The schema node of a definition, or {} (no metadata) for unknown kinds."""
    if schema_name and schema_name in schema.definitions():
        return {"$ref": f"#/$defs/{schema_name}"}
    return {}


def child_node(node: dict[str, Any] | None, key: str) -> dict[str, Any]:
    """Schema of field `key` of an object node; for free-form maps the value schema.

    Returns the *unresolved* property node: list and patch annotations sit on
    the property, next to its `$ref`/`items`, not on the referenced definition.
    """
    if not node:
        return {}
    resolved = schema.resolve(node)
    props = resolved.get("properties")
    if props and key in props:
        return props[key] or {}
    extra = resolved.get("additionalProperties")
    if isinstance(extra, dict):
        return extra
    return {}


def item_node(node: dict[str, Any] | None) -> dict[str, Any]:
    if not node:
        return {}
    return schema.items_schema(node) or {}


def field_meta(node: dict[str, Any] | None) -> tuple[str, bool, str]:
    """(patch strategy, retainKeys?, merge key) of a field's schema node.

    Mirrors extractRetainKeysPatchStrategy: "merge,retainKeys" → ("merge", True).
    """
    if not node:
        return "", False, ""
    raw = node.get("x-kubernetes-patch-strategy")
    merge_key = node.get("x-kubernetes-patch-merge-key") or ""
    if raw is None:
        resolved = schema.resolve(node)
        raw = resolved.get("x-kubernetes-patch-strategy", "")
        merge_key = merge_key or resolved.get("x-kubernetes-patch-merge-key") or ""
    parts = [p for p in str(raw).split(",") if p]
    retain = "retainKeys" in parts
    others = [p for p in parts if p != "retainKeys"]
    return (others[0] if others else ""), retain, merge_key


_GO_TYPES = {"null": "<nil>", "bool": "bool", "object": "map[string]interface {}", "array": "[]interface {}",
             "string": "string", "integer": "int64", "float": "float64"}


def go_type(value: Any) -> str:
    """reflect.TypeOf(value) as Go prints it, for ErrBadArgType messages."""
    return _GO_TYPES[value_class(value)]


def go_format(value: Any) -> str:
    """fmt's %v of decoded JSON, for messages like `map: map[image:httpd] does not …`."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{go_format(value[k])}" for k in sorted(value)) + "]"
    if isinstance(value, list):
        return "[" + " ".join(go_format(v) for v in value) + "]"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e21:
            return str(int(value))
        return repr(value)
    return str(value)


def _err_bad_arg_type(expected: Any, actual: Any) -> errors.ApiError:
    return _server_error(f"expected a {go_type(expected)}, but received a {go_type(actual)}")


def _err_no_merge_key(item: dict[str, Any], key: str) -> errors.ApiError:
    return _server_error(f"map: {go_format(item)} does not contain declared merge key: {key}")


def _err_bad_patch_type(directive: Any, item: dict[str, Any]) -> errors.ApiError:
    return _server_error(f"unknown patch type: {go_format(directive)} in map: {go_format(item)}")


def _server_error(message: str) -> errors.ApiError:
    # A plain Go error out of strategicpatch reaches the client through
    # ErrorToAPIStatus: code 500, reason "" (StatusReasonUnknown), the error
    # text as message. kubectl prints `Error from server: map: … merge key: name`.
    return errors.ApiError(500, "", message)


def _unprocessable(detail: str) -> errors.ApiError:
    # NewGenericServerResponse(422, …) keeps only its canned message; the
    # underlying error is kept on the exception for logs and tests.
    error = errors.ApiError(422, "Invalid", UNPROCESSABLE_MESSAGE)
    error.detail = detail  # type: ignore[attr-defined]
    return error


# --------------------------------------------------------------------------
# Strategic merge patch
# --------------------------------------------------------------------------

def strategic_merge_patch(original: dict, patch: dict, schema_name: str) -> dict:
    """Apply a strategic merge patch to `original`, an object of kind `schema_name`."""
    if not isinstance(patch, dict):
        raise errors.bad_request(ERR_BAD_JSON_DOC)
    if original is None:
        original = {}
    if not isinstance(original, dict):
        raise errors.bad_request(ERR_BAD_JSON_DOC)
    result = _merge_map(json_copy(original), json_copy(patch), root_node(schema_name))
    if result is _DELETED:
        return {}
    return result


def _merge_map(original: dict, patch: dict, node: dict) -> Any:
    """mergeMap: merge private copies; may mutate both. Returns a dict or _DELETED."""
    if DIRECTIVE in patch:
        directive = patch[DIRECTIVE]
        if directive == REPLACE:
            # Upstream returns the patch as is; its leftover directives are then
            # silently dropped by decoding into a typed object. Merging the
            # content into nothing processes (and so removes) them here.
            del patch[DIRECTIVE]
            return _merge_map({}, patch, node)
        if directive == DELETE:
            # Upstream yields an empty map here; removing the field is what
            # every caller means by it (and what a typed decode would
            # default-fill anyway).
            return _DELETED
        raise _err_bad_patch_type(directive, patch)

    _apply_retain_keys(original, patch)
    _merge_ordered_lists(original, patch, node)

    for key, patch_value in list(patch.items()):
        is_delete_list = False
        if key.startswith(DELETE_FROM_PRIMITIVE_LIST):
            key = _extract_key(key, DELETE_FROM_PRIMITIVE_LIST, ERR_BAD_PATCH_FORMAT_PRIMITIVE_LIST)
            is_delete_list = True
            if patch_value is not None and not isinstance(patch_value, list):
                raise errors.bad_request(ERR_BAD_PATCH_FORMAT_PRIMITIVE_LIST)

        if patch_value is None:
            # null deletes; an unmatched null is ignored (IgnoreUnmatchedNulls).
            original.pop(key, None)
            continue

        sub = child_node(node, key)
        if key not in original:
            if not is_delete_list:
                _set_or_drop(original, key, _materialize(patch_value, sub))
            continue

        current = original[key]
        if isinstance(current, dict) and isinstance(patch_value, dict):
            strategy, _, _ = field_meta(sub)
            if strategy == REPLACE:
                _set_or_drop(original, key, _materialize(patch_value, sub))
            else:
                _set_or_drop(original, key, _merge_map(current, patch_value, sub))
        elif isinstance(current, list) and isinstance(patch_value, list):
            strategy, _, merge_key = field_meta(sub)
            original[key] = _merge_slice_handler(current, patch_value, sub, strategy, merge_key,
                                                 is_delete_list)
        elif not is_delete_list:
            # Different types, or scalars: the patch value wins.
            _set_or_drop(original, key, _materialize(patch_value, sub))
    return original


def _set_or_drop(target: dict, key: str, value: Any) -> None:
    if value is _DELETED:
        target.pop(key, None)
    else:
        target[key] = value


def _materialize(value: Any, node: dict) -> Any:
    """A patch value for a field the original lacks, with its directives applied.

    Upstream copies the value after `removeDirectives` and
    `discardNullValuesFromPatch`; merging it into nothing does the same and
    also resolves nested `$setElementOrder`/`$retainKeys` instead of leaking them.
    """
    if isinstance(value, dict):
        return _merge_map({}, value, node)
    if isinstance(value, list):
        items = item_node(node)
        out = []
        for item in value:
            if isinstance(item, dict):
                if DIRECTIVE in item:  # removeDirectives drops directive items
                    continue
                merged = _merge_map({}, item, items)
                if merged is not _DELETED:
                    out.append(merged)
            else:
                out.append(item)
        return out
    return value


def _extract_key(key: str, prefix: str, error_message: str) -> str:
    parts = key.split("/", 1)
    if len(parts) <= 1 or parts[0] != prefix:
        raise errors.bad_request(error_message)
    return parts[1]


def _apply_retain_keys(original: dict, patch: dict) -> None:
    """applyRetainKeysDirective: clear original keys not listed in `$retainKeys`."""
    if RETAIN_KEYS not in patch:
        return
    retain = patch.pop(RETAIN_KEYS)
    if not isinstance(retain, list):
        raise errors.bad_request(ERR_BAD_PATCH_FORMAT_RETAIN_KEYS)
    keep = {k for k in retain if isinstance(k, str)}
    for key, value in patch.items():
        if value is None or key.startswith(DELETE_FROM_PRIMITIVE_LIST) or key.startswith(SET_ELEMENT_ORDER):
            continue
        if key not in keep:
            raise errors.bad_request(ERR_BAD_PATCH_FORMAT_RETAIN_KEYS)
    for key in list(original):
        if key not in keep:
            del original[key]


def _merge_ordered_lists(original: dict, patch: dict, node: dict) -> None:
    """mergePatchIntoOriginal: merge every list that has a `$setElementOrder/…` sibling.

    The order precedence is $setElementOrder > order in the patch list > order
    in the live list. Processed lists are removed from `patch`.
    """
    for key in [k for k in patch if k.startswith(SET_ELEMENT_ORDER)]:
        order = patch.pop(key)
        if not isinstance(order, list):
            raise _err_bad_arg_type([], order)
        field = _extract_key(key, SET_ELEMENT_ORDER, ERR_BAD_PATCH_FORMAT_SET_ELEMENT_ORDER)
        found_original = field in original
        found_patch = field in patch
        original_list: list = []
        patch_list: list = []
        if found_original:
            if not isinstance(original[field], list):
                raise _err_bad_arg_type([], original[field])
            original_list = original[field]
        if found_patch:
            if not isinstance(patch[field], list):
                raise _err_bad_arg_type([], patch[field])
            patch_list = patch[field]
        sub = child_node(node, field)
        strategy, _, merge_key = field_meta(sub)
        _validate_patch_with_order(patch_list, order, merge_key)

        if found_original and not found_patch:
            merged = original_list
        elif found_patch and not found_original:
            merged = _materialize(patch_list, sub)
        elif found_original and found_patch:
            merged = _merge_slice_handler(original_list, patch_list, sub, strategy, merge_key, False)
        else:
            continue

        if merge_key:
            patch_items, server_only = _partition_maps(merged, order, merge_key)
        else:
            patch_items, server_only = _partition_primitives(merged, order)
        kind = _slice_element_kind(original_list, patch_list)
        original[field] = _normalize_element_order(patch_items, server_only, order, original_list,
                                                   merge_key, kind)
        patch.pop(field, None)


def _validate_patch_with_order(patch_list: list, order: list, merge_key: str) -> None:
    """validatePatchWithSetOrderList: the patch list must follow the order list."""
    if not order or not patch_list:
        return
    if merge_key:
        non_delete, _ = _extract_to_delete_items(patch_list)
    else:
        non_delete = patch_list
    p = s = 0
    while p < len(non_delete) and s < len(order):
        item = non_delete[p]
        if isinstance(item, dict) and DIRECTIVE in item:
            p += 1
            continue
        if _merge_key_value_equal(item, order[s], merge_key):
            p += 1
        s += 1
    if p < len(non_delete) and s >= len(order):
        raise _server_error(
            f"the order in patch list:\n{go_format(patch_list)}\n doesn't match "
            f"{SET_ELEMENT_ORDER} list:\n{go_format(order)}")


def _merge_key_value_equal(left: Any, right: Any, merge_key: str) -> bool:
    if not merge_key:
        return json_equal(left, right)
    if not isinstance(left, dict):
        raise _err_bad_arg_type({}, left)
    if not isinstance(right, dict):
        raise _err_bad_arg_type({}, right)
    if merge_key not in left:
        raise _err_no_merge_key(left, merge_key)
    if merge_key not in right:
        raise _err_no_merge_key(right, merge_key)
    return json_equal(left[merge_key], right[merge_key])


def _extract_to_delete_items(items: list) -> tuple[list, list]:
    keep, delete = [], []
    for item in items:
        if not isinstance(item, dict):
            raise _err_bad_arg_type({}, item)
        if item.get(DIRECTIVE) == DELETE:
            delete.append(item)
        else:
            keep.append(item)
    return keep, delete


def _slice_element_kind(*slices: list) -> str:
    """sliceElementType: "map" or "scalar"; lists of lists and mixed lists are errors."""
    previous: str | None = None
    for items in slices:
        for item in items:
            current = go_type(item)
            if current == "[]interface {}":
                raise _unprocessable(ERR_NO_LIST_OF_LISTS)
            if previous is None:
                previous = current
            elif previous != current:
                raise _server_error(
                    "list element types are not identical: "
                    + go_format([list(s) for s in slices]))
    if previous is None:
        raise _server_error("no elements in any of the given slices")
    return "map" if previous == "map[string]interface {}" else "scalar"


def _merge_slice_handler(original: list, patch: list, node: dict, strategy: str, merge_key: str,
                         is_delete_list: bool) -> list:
    if strategy == MERGE:
        return _merge_slice(original, patch, item_node(node), merge_key, is_delete_list)
    # No merge strategy: the list is replaced wholesale.
    return _materialize(patch, node)


def _merge_slice(original: list, patch: list, items: dict, merge_key: str, is_delete_list: bool) -> list:
    if not original and not patch:
        return original
    kind = _slice_element_kind(original, patch)
    if kind != "map":
        if is_delete_list:
            return [v for v in original if not any(json_equal(v, d) for d in patch)]
        merged = _dedupe(original + patch)
        patch_items, server_only = _partition_primitives(merged, patch)
        return _normalize_element_order(patch_items, server_only, patch, original, "", kind)

    if not merge_key:
        # elemType.Kind(): typed items are Go structs, free-form ones maps.
        raise _server_error(f"cannot merge lists without merge key for type {'struct' if items else 'map'}")

    original, patch = _merge_slice_with_special_elements(original, patch, merge_key)
    merged = _merge_slice_without_special_elements(original, patch, merge_key, items)
    patch_items, server_only = _partition_maps(merged, patch, merge_key)
    return _normalize_element_order(patch_items, server_only, patch, original, merge_key, kind)


def _dedupe(items: list) -> list:
    out: list = []
    for item in items:
        if not any(json_equal(item, seen) for seen in out):
            out.append(item)
    return out


def _merge_slice_with_special_elements(original: list, patch: list, merge_key: str) -> tuple[list, list]:
    """Handle `{"$patch": "delete", key: …}` and `{"$patch": "replace"}` list items."""
    plain: list = []
    replace = False
    for item in patch:
        if DIRECTIVE not in item:
            plain.append(item)
            continue
        directive = item[DIRECTIVE]
        if directive == DELETE:
            if merge_key not in item:
                raise _err_no_merge_key(item, merge_key)
            value = item[merge_key]
            original = [o for o in original
                        if not (isinstance(o, dict) and merge_key in o and json_equal(o[merge_key], value))]
        elif directive == REPLACE:
            replace = True
        elif directive == MERGE:
            raise _server_error("merging lists cannot yet be specified in the patch")
        else:
            raise _err_bad_patch_type(directive, item)
    if replace:
        return plain, []
    return original, plain


def _merge_slice_without_special_elements(original: list, patch: list, merge_key: str, items: dict) -> list:
    original = list(original)
    for item in patch:
        if merge_key not in item:
            raise _err_no_merge_key(item, merge_key)
        index = _find_by_key(original, merge_key, item[merge_key])
        if index is None:
            merged = _materialize(item, items)
            if merged is not _DELETED:
                original.append(merged)
        else:
            merged = _merge_map(original[index], item, items)
            if merged is _DELETED:
                del original[index]
            else:
                original[index] = merged
    return original


def _find_by_key(items: list, merge_key: str, value: Any) -> int | None:
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise _server_error(f"value for key {index} is not a map.")
        if merge_key in item and json_equal(item[merge_key], value):
            return index
    return None


def _partition_primitives(items: list, partition_by: list) -> tuple[list, list]:
    inside, outside = [], []
    for item in items:
        (inside if any(json_equal(item, p) for p in partition_by) else outside).append(item)
    return inside, outside


def _partition_maps(items: list, partition_by: list, merge_key: str) -> tuple[list, list]:
    inside, outside = [], []
    for item in items:
        if not isinstance(item, dict):
            raise _err_bad_arg_type({}, item)
        if merge_key not in item:
            raise _err_no_merge_key(item, merge_key)
        (inside if _find_by_key(partition_by, merge_key, item[merge_key]) is not None else outside).append(item)
    return inside, outside


def _index(items: list, value: Any, merge_key: str, kind: str) -> int:
    def key_of(item: Any) -> Any:
        if kind == "map":
            return item.get(merge_key) if isinstance(item, dict) else None
        return item

    wanted = key_of(value)
    for index, item in enumerate(items):
        if json_equal(wanted, key_of(item)):
            return index
    return -1


def _normalize_slice_order(to_sort: list, order: list, merge_key: str, kind: str) -> list:
    to_delete: list = []
    if kind == "map":
        for item in list(to_sort) + list(order):
            if not isinstance(item, dict):
                raise _err_bad_arg_type({}, item)
            if merge_key not in item:
                raise _err_no_merge_key(item, merge_key)
        to_sort, to_delete = _extract_to_delete_items(to_sort)

    def position(item: Any) -> int:
        found = _index(order, item, merge_key, kind)
        return found if found >= 0 else len(order)

    return sorted(to_sort, key=position) + to_delete


def _normalize_element_order(patch_items: list, server_only: list, patch_order: list, server_order: list,
                             merge_key: str, kind: str) -> list:
    """Sort patch items by the patch order and server-only items by the live order, then interleave."""
    patch_items = _normalize_slice_order(patch_items, patch_order, merge_key, kind)
    server_only = _normalize_slice_order(server_only, server_order, merge_key, kind)
    return _merge_sorted_slice(server_only, patch_items, server_order, merge_key, kind)


def _merge_sorted_slice(left: list, right: list, server_order: list, merge_key: str, kind: str) -> list:
    """mergeSortedSlice: a server-only item goes before a patch item only if it was before it live."""
    out: list = []
    i = j = 0
    while i < len(left) or j < len(right):
        if i >= len(left):
            out.append(right[j])
            j += 1
        elif j >= len(right):
            out.append(left[i])
            i += 1
        else:
            li = _index(server_order, left[i], merge_key, kind)
            ri = _index(server_order, right[j], merge_key, kind)
            if li >= 0 and ri >= 0 and li < ri:
                out.append(left[i])
                i += 1
            else:
                out.append(right[j])
                j += 1
    return out


# --------------------------------------------------------------------------
# JSON merge patch (RFC 7386)
# --------------------------------------------------------------------------

def json_merge_patch(original: dict, patch: dict) -> dict:
    """RFC 7386: objects merge recursively, null deletes, everything else replaces."""
    if not isinstance(patch, dict):
        # evanphx/json-patch ErrBadJSONPatch, answered 400 by the patch handler.
        raise errors.bad_request("Invalid JSON Patch")
    result = _merge_patch(original if isinstance(original, dict) else {}, patch)
    return result


def _merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return json_copy(patch)
    # Only the keys the patch touches are rebuilt; the rest is copied once.
    out = json_copy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = _merge_patch(out.get(key), value)
    return out


# --------------------------------------------------------------------------
# JSON patch (RFC 6902)
# --------------------------------------------------------------------------

def json_patch(original: dict, operations: list) -> dict:
    """Apply RFC 6902 operations in order; any failure leaves nothing applied."""
    if not isinstance(operations, list):
        # What json.Unmarshal into jsonpatch.Patch says; the handler answers 400.
        raise errors.bad_request(
            f"json: cannot unmarshal {json_kind(operations)} into Go value of type jsonpatch.Patch")
    for op in operations:
        if not isinstance(op, dict):
            raise errors.bad_request(
                f"json: cannot unmarshal {json_kind(op)} into Go value of type jsonpatch.Operation")
    if len(operations) > MAX_JSON_PATCH_OPERATIONS:
        raise errors.too_large(
            "Request entity too large: The allowed maximum operations in a JSON patch is "
            f"{MAX_JSON_PATCH_OPERATIONS}, got {len(operations)}")

    holder = {"": json_copy(original)}  # the document lives under a root slot so "" paths work
    for op in operations:
        _apply_operation(holder, op)
    document = holder.get("")
    if not isinstance(document, dict):
        raise _unprocessable("patched document is not a JSON object")
    return document


def _parse_pointer(pointer: Any, what: str, kind: str) -> list[str]:
    if not isinstance(pointer, str):
        raise _unprocessable(f"{kind} operation failed to decode {what}")
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise _unprocessable(f"{kind} operation does not apply: doc is missing path: \"{pointer}\"")
    # RFC 6901: ~1 before ~0, so "~01" decodes to "~1".
    return [token.replace("~1", "/").replace("~0", "~") for token in pointer[1:].split("/")]


def _list_index(token: str, length: int, *, allow_end: bool) -> int | None:
    """A valid array index for `token`, or None. RFC 6901: no signs, no leading zeros."""
    if allow_end and token == "-":
        return length
    if not token.isdigit() or not token.isascii() or (len(token) > 1 and token[0] == "0"):
        return None
    index = int(token)
    limit = length if allow_end else length - 1
    return index if index <= limit else None


def _resolve_parent(holder: dict, tokens: list[str]) -> tuple[Any, str] | None:
    """The container holding the pointer's target and the last token, or None if missing."""
    container: Any = holder
    key = ""
    path = [""] + tokens
    for token in path[:-1]:
        if isinstance(container, dict):
            if token not in container:
                return None
            container = container[token]
        elif isinstance(container, list):
            index = _list_index(token, len(container), allow_end=False)
            if index is None:
                return None
            container = container[index]
        else:
            return None
    key = path[-1]
    if not isinstance(container, (dict, list)):
        return None
    return container, key


def _get(container: Any, key: str) -> tuple[bool, Any]:
    if isinstance(container, dict):
        return (key in container), container.get(key)
    index = _list_index(key, len(container), allow_end=False)
    if index is None:
        return False, None
    return True, container[index]


def _apply_operation(holder: dict, op: dict) -> None:
    kind = op.get("op")
    if kind not in ("add", "remove", "replace", "move", "copy", "test"):
        raise _unprocessable(f"Unexpected kind: {kind if isinstance(kind, str) else 'unknown'}")
    if "path" not in op:
        raise _unprocessable(f"{kind} operation failed to decode path")
    path = op["path"]
    tokens = _parse_pointer(path, "path", kind)

    if kind in ("add", "replace", "test") and "value" not in op:
        raise _unprocessable(f"{kind} operation does not apply: missing value")

    if kind == "add":
        _add(holder, tokens, json_copy(op["value"]), path, kind)
    elif kind == "remove":
        _remove(holder, tokens, path, kind)
    elif kind == "replace":
        parent = _resolve_parent(holder, tokens)
        if parent is None:
            raise _unprocessable(f"replace operation does not apply: doc is missing path: {path}")
        container, key = parent
        found, _ = _get(container, key)
        if not found:
            raise _unprocessable(f"replace operation does not apply: doc is missing key: {path}")
        if isinstance(container, dict):
            container[key] = json_copy(op["value"])
        else:
            container[int(key)] = json_copy(op["value"])
    elif kind == "test":
        parent = _resolve_parent(holder, tokens)
        if parent is None:
            raise _unprocessable(f"test operation does not apply: is missing path: {path}")
        found, value = _get(*parent)
        if not found or not json_equal(value, op["value"]):
            raise _unprocessable(f"testing value {path} failed: test failed")
    else:  # move, copy
        if "from" not in op:
            raise _unprocessable(f"{kind} operation failed to decode from")
        source = op["from"]
        from_tokens = _parse_pointer(source, "from", kind)
        parent = _resolve_parent(holder, from_tokens)
        if parent is None:
            raise _unprocessable(f"{kind} operation does not apply: doc is missing from path: {source}")
        found, value = _get(*parent)
        if not found:
            raise _unprocessable(f"error in {kind} for path: '{source}': missing value")
        if kind == "move":
            if tokens[:len(from_tokens)] == from_tokens and len(tokens) > len(from_tokens):
                # RFC 6902 4.4: a location cannot be moved into one of its children.
                raise _unprocessable(f"move operation does not apply: cannot move {source} into {path}")
            _remove(holder, from_tokens, source, kind)
        else:
            value = json_copy(value)
        _add(holder, tokens, value, path, kind)


def _add(holder: dict, tokens: list[str], value: Any, path: str, kind: str) -> None:
    parent = _resolve_parent(holder, tokens)
    if parent is None:
        raise _unprocessable(f"{kind} operation does not apply: doc is missing path: \"{path}\": missing value")
    container, key = parent
    if isinstance(container, dict):
        container[key] = value
        return
    index = _list_index(key, len(container), allow_end=True)
    if index is None:
        raise _unprocessable(
            f"error in {kind} for path: '{path}': Unable to access invalid index: {key}: "
            "invalid index referenced")
    container.insert(index, value)


def _remove(holder: dict, tokens: list[str], path: str, kind: str) -> None:
    parent = _resolve_parent(holder, tokens)
    if parent is None:
        raise _unprocessable(f"{kind} operation does not apply: doc is missing path: \"{path}\": missing value")
    container, key = parent
    if isinstance(container, dict):
        if key not in container:
            raise _unprocessable(
                f"error in {kind} for path: '{path}': Unable to remove nonexistent key: {key}: missing value")
        del container[key]
        return
    index = _list_index(key, len(container), allow_end=False)
    if index is None:
        raise _unprocessable(
            f"error in {kind} for path: '{path}': Unable to access invalid index: {key}: "
            "invalid index referenced")
    del container[index]
