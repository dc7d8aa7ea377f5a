"""Server-side apply (`application/apply-patch+yaml`) and field ownership.

A simplified take on sigs.k8s.io/structured-merge-diff as kube-apiserver uses
it, with the real wire format for `metadata.managedFields` (FieldsV1):

* The applied config is merged structurally into the live object: maps
  recursively (unless `x-kubernetes-map-type: atomic`), lists by their
  `x-kubernetes-list-type` — "map" lists by their keys, "set" lists unioned,
  atomic lists (and lists the schema says nothing about) replaced.
* Fields the manager applied last time but left out of this config are
  removed, unless another manager also owns them. That is what makes deleting
  a container from the manifest delete it from the object.
* Changing a field another manager owns (by Apply, or by an Update recorded
  with `managed_fields_for_update`) to a different value is a 409 Conflict in
  the real wording, unless `force`; with force the field changes hands.
  Applying the same value a manager already set shares ownership.

Left out on purpose: the per-version ownership conversion, `x-kubernetes-
list-map-keys` defaults other than the well known `protocol: TCP`, and the
status-reset strategies (the caller decides what a main-resource apply may
touch).

Field paths are tuples of FieldsV1 keys: `f:<field>`, `k:<json of the key
fields>` (a list-map item), `v:<json value>` (a set item), `i:<index>`. A path
ending in `k:`/`v:` stands for the list item itself (FieldsV1's `.`).
"""
from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from typing import Any

from . import errors, schema
from .patch import _server_error, child_node, field_meta, item_node, json_copy, json_equal, root_node
from .validation_decode import json_kind

__all__ = ["server_side_apply", "managed_fields_for_update", "schema_name_for"]

Path = tuple[str, ...]

# What apiserver's fieldmanager strips from every field set (stripMeta): the
# identity and bookkeeping of the object is nobody's to own.
_STRIPPED: frozenset[Path] = frozenset({
    ("f:apiVersion",), ("f:kind",),
    ("f:metadata", "f:name"), ("f:metadata", "f:namespace"), ("f:metadata", "f:creationTimestamp"),
    ("f:metadata", "f:selfLink"), ("f:metadata", "f:uid"), ("f:metadata", "f:clusterName"),
    ("f:metadata", "f:generation"), ("f:metadata", "f:managedFields"), ("f:metadata", "f:resourceVersion"),
})

# List-map key fields that the real schemas default, so items may omit them.
_KEY_DEFAULTS = {"protocol": "TCP"}


class _Missing:
    pass


_MISSING = _Missing()


@functools.cache
def _gvk_index() -> dict[tuple[str, str], str]:
    index: dict[tuple[str, str], str] = {}
    for name, definition in schema.definitions().items():
        for gvk in definition.get("x-kubernetes-group-version-kind") or []:
            group, version = gvk.get("group", ""), gvk.get("version", "")
            api_version = f"{group}/{version}" if group else version
            index.setdefault((api_version, gvk.get("kind", "")), name)
    return index


def schema_name_for(api_version: str | None, kind: str | None) -> str | None:
    """The OpenAPI definition name of apiVersion/kind (apps/v1 Deployment → io.k8s.api.apps.v1.Deployment)."""
    return _gvk_index().get((api_version or "", kind or ""))


def _gvk_string(obj: dict) -> str:
    """schema.GroupVersionKind.String(): `apps/v1, Kind=Deployment`, `/v1, Kind=Pod`."""
    api_version = obj.get("apiVersion") or ""
    group, _, version = api_version.rpartition("/")
    return f"{group}/{version}, Kind={obj.get('kind') or ''}"


# --------------------------------------------------------------------------
# Schema: list and map types
# --------------------------------------------------------------------------

def _annotation(node: dict, name: str) -> Any:
    if not node:
        return None
    if name in node:
        return node[name]
    return schema.resolve(node).get(name)


def _list_type(node: dict) -> tuple[str, list[str]]:
    """("map", keys) | ("set", []) | ("atomic", []) for a list field."""
    list_type = _annotation(node, "x-kubernetes-list-type")
    strategy, _, merge_key = field_meta(node)
    if list_type == "map":
        keys = _annotation(node, "x-kubernetes-list-map-keys") or ([merge_key] if merge_key else [])
        return ("map", list(keys)) if keys else ("atomic", [])
    if list_type in ("set", "atomic"):
        return list_type, []
    # No list type: fall back on the strategic-merge annotations.
    if strategy == "merge":
        return ("map", [merge_key]) if merge_key else ("set", [])
    return "atomic", []


def _atomic_map(node: dict) -> bool:
    return _annotation(node, "x-kubernetes-map-type") == "atomic"


# --------------------------------------------------------------------------
# Field sets
# --------------------------------------------------------------------------

def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


def _item_key(item: dict, keys: list[str], obj: dict | None, path: Path) -> str | None:
    """`k:{"name":"nginx"}` for a list-map item; None when a key field is missing."""
    fields = {}
    for key in keys:
        if key in item and item[key] is not None:
            fields[key] = item[key]
        elif key in _KEY_DEFAULTS:
            fields[key] = _KEY_DEFAULTS[key]
        else:
            return None
    return "k:" + _compact(fields)


def _fieldset(value: Any, node: dict, path: Path, out: set[Path], obj: dict) -> None:
    """Add the paths `value` (at `path`) sets to `out`: leaves and list items."""
    if isinstance(value, dict) and not _atomic_map(node):
        if not value and path:
            out.add(path)
        for key, child in value.items():
            if child is None:
                continue
            _fieldset(child, child_node(node, key), path + (f"f:{key}",), out, obj)
        return
    if isinstance(value, list) and value:
        list_type, keys = _list_type(node)
        items = item_node(node)
        if list_type == "map" and all(isinstance(item, dict) for item in value):
            for index, item in enumerate(value):
                key = _item_key(item, keys, obj, path)
                if key is None:
                    missing = next(k for k in keys if item.get(k) is None and k not in _KEY_DEFAULTS)
                    # structured-merge-diff's wording; a plain error, so a 500 with no reason.
                    raise _server_error(
                        f"failed to create typed patch object ({_gvk_string(obj)}): {path_string(path)}: "
                        f"element {index}: associative list with keys has an element that omits key field "
                        f"\"{missing}\" (and doesn't have default value)")
                item_path = path + (key,)
                out.add(item_path)
                _fieldset(item, items, item_path, out, obj)
            return
        if list_type == "set" and not any(isinstance(item, (dict, list)) for item in value):
            for item in value:
                out.add(path + ("v:" + _compact(item),))
            return
    if path:
        out.add(path)


def _fields_of(obj: dict | None, node: dict) -> set[Path]:
    out: set[Path] = set()
    if obj:
        _fieldset(obj, node, (), out, obj)
    return {p for p in out if p not in _STRIPPED and p != ("f:metadata",)}


def _is_item(path: Path) -> bool:
    return bool(path) and path[-1][:2] in ("k:", "v:")


def path_string(path: Path) -> str:
    """fieldpath.Path.String(): `.spec.containers[name="nginx"].image`."""
    parts = []
    for element in path:
        kind, _, rest = element.partition(":")
        if kind == "f":
            parts.append("." + rest)
        elif kind == "k":
            fields = json.loads(rest)
            parts.append("[" + ",".join(f"{k}={_compact(fields[k])}" for k in sorted(fields)) + "]")
        elif kind == "v":
            parts.append(f"[={rest}]")
        elif kind == "i":
            parts.append(f"[{rest}]")
    return "".join(parts)


def _parse_fields_v1(fields: Any, prefix: Path = ()) -> set[Path]:
    out: set[Path] = set()
    if not isinstance(fields, dict):
        return out
    for key, child in fields.items():
        if key == ".":
            if prefix:
                out.add(prefix)
            continue
        path = prefix + (key,)
        if isinstance(child, dict) and child:
            out |= _parse_fields_v1(child, path)
        else:
            out.add(path)
    return out


def _render_fields_v1(paths: Iterable[Path]) -> dict:
    tree: dict = {}
    members: set[Path] = set(paths)
    for path in members:
        node = tree
        for element in path:
            node = node.setdefault(element, {})
    return _sorted_tree(tree, (), members)


def _sorted_tree(node: dict, path: Path, members: set[Path]) -> dict:
    out: dict = {}
    if node and path in members:
        out["."] = {}  # the item itself is owned, besides some of its fields
    for key in sorted(node):
        out[key] = _sorted_tree(node[key], path + (key,), members)
    return out


# --------------------------------------------------------------------------
# Reading, merging and removing by path
# --------------------------------------------------------------------------

def _matches(item: Any, element: str) -> bool:
    kind, _, rest = element.partition(":")
    if kind == "k":
        if not isinstance(item, dict):
            return False
        fields = json.loads(rest)
        for key, wanted in fields.items():
            have = item.get(key)
            if have is None:
                have = _KEY_DEFAULTS.get(key)
            if not json_equal(have, wanted):
                return False
        return True
    if kind == "v":
        return json_equal(item, json.loads(rest))
    return False


def _lookup(obj: Any, path: Path) -> tuple[bool, Any]:
    current = obj
    for element in path:
        kind, _, rest = element.partition(":")
        if kind == "f":
            if not isinstance(current, dict) or rest not in current:
                return False, None
            current = current[rest]
        elif kind == "i":
            if not isinstance(current, list) or not rest.isdigit() or int(rest) >= len(current):
                return False, None
            current = current[int(rest)]
        else:
            if not isinstance(current, list):
                return False, None
            for item in current:
                if _matches(item, element):
                    current = item
                    break
            else:
                return False, None
    return True, current


def _remove(obj: dict, path: Path) -> None:
    """Delete the field or list item at `path`, then drop maps that this left empty."""
    trail: list[tuple[Any, str]] = []
    current: Any = obj
    for element in path[:-1]:
        found, child = _lookup(current, (element,))
        if not found:
            return
        trail.append((current, element))
        current = child
    last = path[-1]
    if last.startswith("f:"):
        if isinstance(current, dict):
            current.pop(last[2:], None)
    elif isinstance(current, list):
        current[:] = [item for item in current if not _matches(item, last)]
    # Prune maps emptied by the removal (labels after their last label), never
    # list items and never the object itself.
    while trail and isinstance(current, dict) and not current:
        parent, element = trail.pop()
        if not (element.startswith("f:") and isinstance(parent, dict)):
            break
        parent.pop(element[2:], None)
        current = parent


def _merge(live: Any, applied: Any, node: dict) -> Any:
    """Structural merge of an applied value into the live one (both private copies)."""
    if isinstance(applied, dict):
        if not isinstance(live, dict) or _atomic_map(node):
            return _without_nulls(applied)
        for key, value in applied.items():
            if value is None:
                continue  # an explicit null in an apply config sets nothing
            live[key] = _merge(live.get(key, _MISSING), value, child_node(node, key))
        return live
    if isinstance(applied, list) and isinstance(live, list):
        list_type, keys = _list_type(node)
        if list_type == "map" and all(isinstance(i, dict) for i in applied + live):
            return _merge_list_map(live, applied, keys, item_node(node))
        if list_type == "set" and not any(isinstance(i, (dict, list)) for i in applied + live):
            return live + [item for item in applied if not any(json_equal(item, have) for have in live)]
    return _without_nulls(applied)


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def _merge_list_map(live: list, applied: list, keys: list[str], items: dict) -> list:
    """Applied items in applied order; live-only items keep their place relative to them."""
    def key_of(item: dict) -> str | None:
        return _item_key(item, keys, None, ())

    live_index = {}
    for index, item in enumerate(live):
        key = key_of(item)
        if key is not None and key not in live_index:
            live_index[key] = index
    applied_keys = set()
    merged: list[tuple[int, dict]] = []  # (live position or -1, item)
    for item in applied:
        key = key_of(item)
        applied_keys.add(key)
        position = live_index.get(key, -1) if key is not None else -1
        base = live[position] if position >= 0 else _MISSING
        merged.append((position, _merge(base, item, items)))
    live_only = [(i, item) for i, item in enumerate(live) if key_of(item) not in applied_keys]

    out: list = []
    a = b = 0
    while a < len(merged) or b < len(live_only):
        if a >= len(merged):
            out.append(live_only[b][1])
            b += 1
        elif b >= len(live_only):
            out.append(merged[a][1])
            a += 1
        elif merged[a][0] >= 0 and live_only[b][0] < merged[a][0]:
            out.append(live_only[b][1])
            b += 1
        else:
            out.append(merged[a][1])
            a += 1
    return out


# --------------------------------------------------------------------------
# managedFields entries
# --------------------------------------------------------------------------

def _entry(manager: str, operation: str, api_version: str, now: str, paths: set[Path],
           subresource: str = "") -> dict:
    # Key order of metav1.ManagedFieldsEntry.
    entry = {"manager": manager, "operation": operation, "apiVersion": api_version, "time": now,
             "fieldsType": "FieldsV1", "fieldsV1": _render_fields_v1(paths)}
    if subresource:
        entry["subresource"] = subresource
    return entry


def _print_manager(entry: dict) -> str:
    """printManager in apiserver's fieldmanager/internal/conflict.go."""
    text = json.dumps(entry.get("manager", ""))
    if entry.get("subresource"):
        text += f" with subresource {json.dumps(entry['subresource'])}"
    if entry.get("operation") == "Update":
        # The manager identifier never carries the time, so neither does this.
        text += f" using {entry.get('apiVersion', '')}"
    return text


def _conflict_error(conflicts: list[tuple[dict, Path]]) -> errors.ApiError:
    causes = [errors.cause(path_string(path), f"conflict with {_print_manager(entry)}",
                           reason="FieldManagerConflict") for entry, path in conflicts]
    if len(conflicts) == 1:
        entry, path = conflicts[0]
        message = f"Apply failed with 1 conflict: conflict with {_print_manager(entry)}: {path_string(path)}"
    else:
        by_manager: dict[str, list[str]] = {}
        for entry, path in conflicts:
            by_manager.setdefault(_print_manager(entry), []).append(path_string(path))
        lines = []
        for manager in sorted(by_manager):
            lines.append(f"conflicts with {manager}:")
            lines.extend(f"- {p}" for p in by_manager[manager])
        message = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
    return errors.ApiError(409, "Conflict", message, causes=causes)


def _entries_with_paths(managed: Any) -> list[tuple[dict, set[Path]]]:
    out = []
    for entry in managed or []:
        if isinstance(entry, dict):
            out.append((dict(entry), _parse_fields_v1(entry.get("fieldsV1"))))
    return out


def _finish(entries: list[tuple[dict, set[Path]]], keep: dict | None = None) -> list[dict]:
    """Render the entries back, dropping managers that own nothing any more."""
    result = []
    for entry, paths in entries:
        if not paths and entry is not keep:
            continue
        entry["fieldsType"] = "FieldsV1"
        entry["fieldsV1"] = _render_fields_v1(paths)
        result.append(entry)
    return result


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------

def server_side_apply(live: dict | None, applied: dict, *, manager: str, schema_name: str, force: bool,
                      now: str) -> dict:
    """Apply `applied` (the whole config of `manager`) to `live`; returns the new object."""
    if not isinstance(applied, dict):
        # applyPatcher decodes the body into an unstructured object first.
        raise errors.bad_request(f"error decoding YAML: json: cannot unmarshal {json_kind(applied)} "
                                 "into Go value of type map[string]interface {}")
    if (applied.get("metadata") or {}).get("managedFields"):
        raise errors.bad_request("metadata.managedFields must be nil")
    node = root_node(schema_name)
    applied_paths = _fields_of(applied, node)
    api_version = applied.get("apiVersion") or (live or {}).get("apiVersion") or ""

    if live is None:
        result = _without_nulls(json_copy(applied))
        result.setdefault("metadata", {})["managedFields"] = [
            _entry(manager, "Apply", api_version, now, applied_paths)]
        return result

    entries = _entries_with_paths((live.get("metadata") or {}).get("managedFields"))
    own: tuple[dict, set[Path]] | None = None
    others: list[tuple[dict, set[Path]]] = []
    for entry, paths in entries:
        if entry.get("manager") == manager and entry.get("operation") == "Apply" and not entry.get("subresource"):
            own = (entry, paths)
        else:
            others.append((entry, paths))

    # Conflicts: fields another manager owns that this config sets to another value.
    conflicts: list[tuple[dict, Path]] = []
    for entry, paths in others:
        for path in sorted(paths & applied_paths, key=path_string):
            if _is_item(path):
                continue  # an item both configs list is shared, not contested
            found_live, live_value = _lookup(live, path)
            _, applied_value = _lookup(applied, path)
            if found_live and not json_equal(live_value, applied_value):
                conflicts.append((entry, path))
    if conflicts:
        if not force:
            raise _conflict_error(conflicts)
        for entry, path in conflicts:  # forced: the fields change hands
            for other_entry, paths in others:
                if other_entry is entry:
                    paths.discard(path)

    result = json_copy(live)
    result.setdefault("metadata", {})
    result = _merge(result, json_copy(applied), node)

    # Fields this manager applied before but no longer does are removed, unless
    # someone else still owns them (or something beneath them).
    previous = own[1] if own else set()
    owned_elsewhere: set[Path] = set()
    for _, paths in others:
        for path in paths:
            owned_elsewhere.update(path[:i] for i in range(1, len(path) + 1))
    stale = {p for p in previous - applied_paths if p not in owned_elsewhere}
    for path in stale:
        # Removing a list item takes its fields along; removing those first
        # would lose the key fields the item is found by.
        if not any(path[:i] in stale for i in range(1, len(path))):
            _remove(result, path)

    if own is None:
        own_entry: dict = {}
        entries.append((own_entry, applied_paths))
    else:
        own_entry = own[0]
        entries = [(e, applied_paths if e is own_entry else p) for e, p in entries]
    own_entry.clear()
    own_entry.update(_entry(manager, "Apply", api_version, now, applied_paths))
    result["metadata"]["managedFields"] = _finish(entries, keep=own_entry)
    return result


def managed_fields_for_update(old: dict | None, new: dict, *, manager: str, now: str,
                              schema_name: str | None = None, subresource: str = "") -> list:
    """The managedFields after a create/update/patch by `manager` (operation Update).

    The manager takes the fields it added or changed (other managers lose
    them); fields it removed leave every manager. Managed fields the client
    sent explicitly (different from the stored ones) are taken as given, the
    way the real server lets clients reset them.
    """
    node = root_node(schema_name or schema_name_for(new.get("apiVersion"), new.get("kind")))
    new_meta = new.get("metadata") or {}
    old_meta = (old or {}).get("metadata") or {}
    if "managedFields" in new_meta and new_meta.get("managedFields") != old_meta.get("managedFields"):
        source = new_meta.get("managedFields")
    else:
        source = old_meta.get("managedFields")
    entries = _entries_with_paths(source)

    new_paths = _fields_of(new, node)
    old_paths = _fields_of(old, node) if old else set()
    changed = set()
    for path in new_paths:
        if path not in old_paths:
            changed.add(path)
        elif not _is_item(path):
            _, before = _lookup(old, path)
            _, after = _lookup(new, path)
            if not json_equal(before, after):
                changed.add(path)
    gone = old_paths - new_paths

    api_version = new.get("apiVersion") or ""
    mine = None
    for entry, paths in entries:
        paths -= gone
        if (entry.get("manager") == manager and entry.get("operation") == "Update"
                and entry.get("apiVersion") == api_version and (entry.get("subresource") or "") == subresource):
            mine = (entry, paths)
        else:
            paths -= changed
    if changed:
        if mine is None:
            entry = _entry(manager, "Update", api_version, now, set(), subresource)
            mine = (entry, set())
            entries.append(mine)
        mine[1].update(changed)
        mine[0]["time"] = now
    return _finish(entries)
