"""The manifest editor's validation on the fly (the files themselves are saved by clusters.actions).

Validation answers "what would
`kubectl apply -f` of this text do?" without doing it: every document goes through the
cluster's real API server pipeline (`ApiServer`) as a server-side dry run with strict field
validation, the way kubectl apply drives it:

* the object does not exist → a create carrying kubectl's last-applied annotation → "created";
* it exists → kubectl's three-way patch (last applied ↔ this manifest ↔ live object); an
  empty patch is "unchanged" (kubectl sends nothing), anything else is a dry-run strategic
  merge patch → "configured". Empty means what kubectl's CreateThreeWayMergePatch makes it: no
  deletion since the last apply and no field the manifest adds or changes, order directives of
  merge-keyed lists included (`_changes`).

Every problem becomes a diagnostic at the 1-based line and column of the YAML node it is
about, with the server's own message (what kubectl would print). Positions come from the YAML
parser's marks (`_scan_layouts`); values and the guards against alias bombs, deep nesting
and huge texts come from the API server's own decoder (`decode.load_manifests`).

Nothing is ever stored: the pipeline runs with dry_run=True (it skips every store write), over
a `DryRunStore` which keeps what earlier documents *would* create in memory (so a namespace
created by document 1 exists for document 2, as it would for kubectl apply), and the whole
thing runs in a transaction that is rolled back (clusters.selectors.api_dry_run).
"""
from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import yaml

from clusters import selectors
from clusters.actions import FileError
from clusters.apiserver import errors
from clusters.apiserver.conversion import to_storage
from clusters.apiserver.decode import load_manifests, parse_field_path
from clusters.apiserver.errors import ApiError
from clusters.apiserver.kubectl_apply import KUBECTL_APPLY_MANAGER, LAST_APPLIED, annotated
from clusters.apiserver.patch import (
    DELETE_FROM_PRIMITIVE_LIST,
    child_node,
    field_meta,
    go_format,
    go_type,
    item_node,
    json_equal,
    root_node,
)
from clusters.apiserver.pipeline import ApiServer
from clusters.apiserver.registry import ResourceType, by_gvk, removed_hint, served
from clusters.apiserver.store import DryRunStore
from clusters.apiserver.validation import check_decoding
from clusters.apiserver.validation_decode import _Walker, schema_node
from clusters.config import max_request_bytes

if TYPE_CHECKING:
    from clusters.models import Cluster

try:  # the same parser decode.py uses, so marks agree with its error positions
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _Loader = yaml.SafeLoader

# kubectl apply's field managers: client-side apply creates and patches under this name.
# The editor's kubectl (the terminal) runs in the kubeconfig's namespace, "default".
DEFAULT_NAMESPACE = "default"


# ======================================================================= diagnostics

@dataclass(frozen=True)
class Span:
    """A range of the text: 1-based lines and columns; the end column is just past the last character."""

    line: int
    column: int
    end_line: int
    end_column: int

    @classmethod
    def of_marks(cls, start: Any, end: Any) -> Span:
        return cls(start.line + 1, start.column + 1, end.line + 1, end.column + 1)


@dataclass(frozen=True)
class Diagnostic:
    span: Span
    message: str
    severity: str = "error"

    def as_json(self) -> dict:
        return {"line": self.span.line, "column": self.span.column, "endLine": self.span.end_line,
                "endColumn": self.span.end_column, "severity": self.severity, "message": self.message}


@dataclass
class Validation:
    diagnostics: list[Diagnostic] = field(default_factory=list)
    objects: list[dict] = field(default_factory=list)

    def as_json(self) -> dict:
        ordered = sorted(self.diagnostics, key=lambda d: (d.span.line, d.span.column))
        return {"diagnostics": [d.as_json() for d in ordered], "objects": self.objects}


# ============================================================ where each node is written

@dataclass(frozen=True)
class _Node:
    key: Span | None   # the key's text, for a map entry (None for a list item or the root)
    value: Span        # the value: a scalar's text, or a whole map/list
    scalar: bool


@dataclass
class _Layout:
    """Where the nodes of one YAML document are: field path (keys and list indices) → node."""

    start: Span                      # the document's first line (its `---` or first content)
    end_line: int
    nodes: dict[tuple, _Node] = field(default_factory=dict)

    def first_line(self) -> Span:
        """The document's first key (a problem with the whole object is shown there)."""
        return self._first_key(()) or self.start

    def _first_key(self, parent: tuple) -> Span | None:
        keys = [node.key for path, node in self.nodes.items()
                if len(path) == len(parent) + 1 and path[:len(parent)] == parent and node.key is not None]
        return min(keys, key=lambda span: (span.line, span.column)) if keys else None

    def resolve(self, field_path: str | list) -> tuple[tuple, bool]:
        """The deepest written node on `field_path` (a Kubernetes field path such as
        `spec.template.spec.containers[0].image`), and whether it is the node itself.

        Keys that contain dots (`app.kubernetes.io/name` after `metadata.labels.`) are matched by
        joining path tokens, because type errors name map keys that way.
        """
        tokens = parse_field_path(field_path) if isinstance(field_path, str) else list(field_path)
        path: tuple = ()
        i = 0
        while i < len(tokens):
            step = None
            token = tokens[i]
            for candidate in ([token, str(token)] if isinstance(token, int) else [token]):
                if path + (candidate,) in self.nodes:
                    step, used = candidate, 1
                    break
            if step is None and isinstance(token, str):
                for j in range(i + 2, len(tokens) + 1):
                    if not all(isinstance(t, str) for t in tokens[i:j]):
                        break
                    joined = ".".join(tokens[i:j])  # type: ignore[arg-type]
                    if path + (joined,) in self.nodes:
                        step, used = joined, j - i
                        break
            if step is None:
                return path, False
            path += (step,)
            i += used
        return path, True

    def key_span(self, field_path: str | list) -> Span:
        """For a field that should not be there: its key; else the nearest written ancestor."""
        path, _ = self.resolve(field_path)
        return self._span(path, prefer_key=True)

    def value_span(self, field_path: str | list) -> Span:
        """For a bad value: a scalar's own text; a map or list's key (a block would underline
        many lines); a missing field's nearest written ancestor."""
        path, exact = self.resolve(field_path)
        return self._span(path, prefer_key=not exact)

    def _span(self, path: tuple, *, prefer_key: bool) -> Span:
        node = self.nodes.get(path)
        if not path or node is None:
            return self.first_line()
        if node.scalar and not prefer_key:
            return node.value
        if node.key is not None:
            return node.key
        # A list item: a scalar's text, a map's first key.
        return node.value if node.scalar else (self._first_key(path) or node.value)


@dataclass
class _Frame:
    path: tuple
    mapping: bool
    start: Any
    key: Span | None
    count: int = 0                 # list items so far
    pending: Any = None            # a map's key waiting for its value: (text, span)
    ignored: bool = False          # a complex key (a map as a key): not addressable


def _scan_layouts(text: str) -> list[_Layout]:
    """Every document's node positions from the parser's events, without building or expanding
    anything (an alias is one node here), so it costs one pass even on a hostile text. Stops at a
    syntax error: the documents before it are returned (decode reports the error itself)."""
    loader = _Loader(text)
    layouts: list[_Layout] = []
    try:
        loader.get_event()  # StreamStart
        while not loader.check_event(yaml.StreamEndEvent):
            start = loader.get_event()  # DocumentStart
            layout = _Layout(Span.of_marks(start.start_mark, start.end_mark), start.start_mark.line + 1)
            stack: list[_Frame] = []
            while not loader.check_event(yaml.DocumentEndEvent):
                _scan_event(loader.get_event(), stack, layout)
            end = loader.get_event()
            layout.end_line = end.end_mark.line + 1
            layouts.append(layout)
    except yaml.YAMLError:
        pass
    finally:
        loader.dispose()
    return layouts


def _scan_event(event: Any, stack: list[_Frame], layout: _Layout) -> None:
    span = Span.of_marks(event.start_mark, event.end_mark)
    top = stack[-1] if stack else None
    if isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
        frame = stack.pop()
        if not frame.ignored:
            layout.nodes[frame.path] = _Node(frame.key, Span.of_marks(frame.start, event.end_mark), False)
        _after_value(stack)
        return
    is_key = top is not None and top.mapping and top.pending is None
    if is_key:
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            top.pending = ("", span)
            stack.append(_Frame((), isinstance(event, yaml.MappingStartEvent), event.start_mark, None, ignored=True))
        else:
            top.pending = (event.value if isinstance(event, yaml.ScalarEvent) else f"*{event.anchor}", span)
        return
    # A value: the document's root, a list item or the value of the pending key. Values under a
    # complex key or a `<<` merge are not addressable by a field path: they are skipped.
    if top is None:
        path, key = (), None
    elif top.mapping:
        path, key = top.path + (top.pending[0],), top.pending[1]
    else:
        path, key = top.path + (top.count,), None
    ignored = top is not None and (top.ignored or (top.mapping and top.pending[0] == "<<"))
    if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
        stack.append(_Frame(path, isinstance(event, yaml.MappingStartEvent), event.start_mark, key,
                            ignored=ignored))
        return
    if not ignored:
        layout.nodes[path] = _Node(key, span, True)
    _after_value(stack)


def _after_value(stack: list[_Frame]) -> None:
    """A value was completed inside the current top container."""
    if not stack:
        return
    top = stack[-1]
    if top.mapping:
        if top.pending is not None:
            top.pending = None
    else:
        top.count += 1


# ============================================================== kubectl apply's semantics

def _deletions(original: Any, modified: Any, node: dict) -> dict:
    """The deleting half of kubectl's three-way patch: what the last apply set and this manifest
    no longer has (fields → null, merge-keyed list items → `$patch: delete`)."""
    patch: dict = {}
    if not isinstance(original, dict) or not isinstance(modified, dict):
        return patch
    for key, old in original.items():
        sub = child_node(node, key)
        if key not in modified:
            patch[key] = None
            continue
        new = modified[key]
        if isinstance(old, dict) and isinstance(new, dict):
            inner = _deletions(old, new, sub)
            if inner:
                patch[key] = inner
        elif isinstance(old, list) and isinstance(new, list):
            strategy, _, merge_key = field_meta(sub)
            if strategy != "merge":
                continue  # an atomic list is replaced by the manifest's list anyway
            if not merge_key:  # a set of scalars (finalizers): what the manifest no longer has goes
                gone = [item for item in old if not any(json_equal(item, kept) for kept in new)]
                if gone:
                    patch[f"{DELETE_FROM_PRIMITIVE_LIST}/{key}"] = gone
                continue
            new_by_key = {_merge_value(item, merge_key): item for item in new if isinstance(item, dict)}
            items = []
            for item in old:
                if not isinstance(item, dict):
                    continue
                match = new_by_key.get(_merge_value(item, merge_key))
                if match is None:
                    items.append({merge_key: item.get(merge_key), "$patch": "delete"})
                else:
                    inner = _deletions(item, match, item_node(sub))
                    if inner:
                        items.append({merge_key: item.get(merge_key), **inner})
            if items:
                patch[key] = items
    return patch


def _changes(current: dict, modified: dict, node: dict, retain_keys: bool = False) -> bool:
    """Whether the other half of kubectl's three-way patch is not empty: CreateThreeWayMergePatch's
    diffMaps(current, modified) with IgnoreDeletions and SetElementOrder (strategicpatch/patch.go).

    A field the manifest adds or changes counts; so does the order directive of a merge-keyed list whose
    items or order differ from the live list's, even when the live list only has more items: a Pod's
    volumes and volumeMounts, which the ServiceAccount admission extends, make kubectl send
    `$setElementOrder/volumes` and say "configured". `retain_keys`: the map is a field with the
    retainKeys strategy (a Deployment's strategy, a volume), whose patch lists its keys when the live
    map has others.
    """
    for key, new in modified.items():
        if key not in current:
            return True
        old = current[key]
        if go_type(old) != go_type(new):
            return True
        sub = child_node(node, key)
        strategy, retain, merge_key = field_meta(sub)
        if isinstance(new, dict):
            if strategy == "replace" or _changes(old, new, sub, retain):
                return True
        elif isinstance(new, list):
            if strategy == "replace":
                return True
            if strategy == "merge":
                if _list_changes(old, new, item_node(sub), merge_key, retain):
                    return True
            elif not json_equal(old, new):
                return True
        elif not json_equal(old, new):
            return True
    return retain_keys and any(v is not None for v in modified.values()) and \
        any(v is not None and k not in modified for k, v in current.items())


def _list_changes(current: list, modified: list, node: dict, merge_key: str, retain_keys: bool) -> bool:
    """diffLists of a merge list, as for _changes: an added or changed item, or another order or length."""
    if not current and not modified:
        return False
    if not all(isinstance(item, dict) for item in current + modified):
        return not json_equal(current, modified)  # scalars: `$setElementOrder` whenever they differ
    if not merge_key or any(merge_key not in item for item in current + modified):
        return not json_equal(current, modified)  # kubectl refuses such a list; it is not "unchanged"
    live: dict[str, list[dict]] = {}
    for item in current:
        live.setdefault(go_format(item[merge_key]), []).append(item)
    for item in modified:
        same_key = live.get(go_format(item[merge_key]))
        if not same_key or _changes(same_key.pop(0), item, node, retain_keys):
            return True
    return len(current) != len(modified) or any(
        go_format(old[merge_key]) != go_format(new[merge_key]) for old, new in zip(current, modified))


def _merge_value(item: dict, merge_key: str) -> str:
    return json.dumps(item.get(merge_key), sort_keys=True)


def _merge_deep(into: dict, extra: dict) -> dict:
    """The patch: the manifest (with annotation) and the deletions, deletions winning on conflicts."""
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge_deep(into[key], value)
        elif isinstance(value, list) and isinstance(into.get(key), list) and value and \
                all(isinstance(v, dict) for v in value):
            into[key] = into[key] + value
        else:
            into[key] = value
    return into


# ================================================================ validation

def manifest_validate(*, cluster: Cluster, text: str) -> Validation:
    """What `kubectl apply -f` of `text` would do to the cluster, and every problem at its line."""
    result = Validation()
    limit = max_request_bytes()
    if not isinstance(text, str):
        raise FileError('"text" must be a string')
    if len(text) > limit or len(text.encode("utf-8", "surrogatepass")) > limit:
        # Refused before any parsing, as the API server refuses such a request body.
        result.diagnostics.append(Diagnostic(Span(1, 1, 1, 1), errors.too_large(
            f"Request entity too large: limit is {limit}").message))
        return result
    layouts = _scan_layouts(text)
    try:
        manifests = load_manifests(text, max_bytes=limit)
    except ApiError as error:
        # A syntax error (or an alias bomb, or nesting too deep) stops kubectl where it is: the
        # documents before it are still applied, so they are still checked.
        line, column = getattr(error, "line", None) or 1, getattr(error, "column", None) or 1
        result.diagnostics.append(Diagnostic(Span(line, column, line, column + 1), error.message))
        manifests = _manifests_before(text, line, limit)
    by_line = {layout.nodes[()].value.line: layout for layout in layouts if () in layout.nodes}
    documents = []
    for manifest in manifests:
        layout = by_line.get(manifest.line) or _Layout(Span(manifest.line, 1, manifest.line, 1), manifest.line)
        documents.extend(_list_items(manifest.obj, layout))
    if documents:
        _dry_run(cluster, documents, result)
    return result


def _list_items(obj: dict, layout: _Layout) -> list[tuple[dict, _Layout]]:
    """kubectl apply reads a `kind: List` (what `kubectl get -o yaml` prints) as its items, in order."""
    items = obj.get("items")
    if obj.get("kind") != "List" or obj.get("apiVersion") != "v1" or not isinstance(items, list):
        return [(obj, layout)]
    documents = []
    for index, item in enumerate(items):
        prefix = ("items", index)
        nodes = {path[2:]: node for path, node in layout.nodes.items() if path[:2] == prefix}
        root = nodes.get(())
        start = root.value if root is not None else layout.start
        documents.append((item, _Layout(start, layout.end_line, nodes)) if isinstance(item, dict) else
                         (item, layout))
    return documents


def _manifests_before(text: str, error_line: int, limit: int) -> list:
    """The documents that end before the line of a YAML error (kubectl applies those first)."""
    complete = [layout for layout in _scan_layouts(text) if layout.end_line < error_line]
    if not complete:
        return []
    prefix = "".join(text.splitlines(keepends=True)[:complete[-1].end_line])
    try:
        return load_manifests(prefix, max_bytes=limit)
    except ApiError:
        return []


def _dry_run(cluster: Cluster, documents: list[tuple[dict, _Layout]], result: Validation) -> None:
    def apply_all(server: ApiServer, store: DryRunStore) -> None:
        for obj, layout in documents:
            try:
                _apply_one(server, store, obj, layout, result)
            except ApiError as error:
                result.diagnostics.extend(_diagnostics(error, obj, layout))

    selectors.api_dry_run(cluster=cluster, operation=apply_all)


def _apply_one(server: ApiServer, store: DryRunStore, obj: Any, layout: _Layout, result: Validation) -> None:
    rt = _resource_type(obj, layout)
    obj = copy.deepcopy(obj)
    meta = obj.get("metadata")
    if rt.namespaced and isinstance(meta, dict) and not meta.get("namespace"):
        meta["namespace"] = DEFAULT_NAMESPACE  # kubectl fills in its context's namespace
    namespace = (meta.get("namespace") if isinstance(meta, dict) else None) or DEFAULT_NAMESPACE
    name = meta.get("name") if isinstance(meta, dict) else None
    if rt.deprecation_warning:
        result.diagnostics.append(Diagnostic(layout.value_span("apiVersion"), rt.deprecation_warning, "warning"))
    current = None
    if isinstance(name, str) and name:
        try:
            current = server.get(rt, namespace, name)
        except ApiError as error:
            if error.code != 404:
                raise
    if current is None:
        done = server.create(rt, namespace, annotated(obj), dry_run=True, field_validation="Strict",
                             field_manager=KUBECTL_APPLY_MANAGER)
        action = "created"
    else:
        # Decode errors are found on the manifest itself, so their paths are the manifest's.
        check_decoding(copy.deepcopy(obj), rt, field_validation="Strict")
        done, action = _patch(server, rt, namespace, name, obj, current)
    if done is not None:
        store.remember(to_storage(copy.deepcopy(done.body), rt))
    body_meta = done.body["metadata"] if done is not None else obj["metadata"]
    result.objects.append({"apiVersion": rt.api_version, "kind": rt.kind,
                           "namespace": body_meta.get("namespace") if rt.namespaced else None,
                           "name": body_meta.get("name"), "action": action})


def _patch(server: ApiServer, rt: ResourceType, namespace: str, name: str, obj: dict, current: dict):
    """kubectl apply on an existing object: nothing when the three-way patch is empty."""
    modified = annotated(obj)
    original_text = ((current.get("metadata") or {}).get("annotations") or {}).get(LAST_APPLIED)
    try:
        original = json.loads(original_text) if original_text else None
    except ValueError:
        original = None
    node = root_node(rt.schema_name)
    deletions = _deletions(original, modified, node) if original else {}
    patch_type = "strategic" if rt.schema_name else "merge"
    if not deletions and not _changes(current, modified, node):
        return None, "unchanged"
    patch = _merge_deep(copy.deepcopy(modified), deletions)
    done = server.patch(rt, namespace, name, patch, patch_type, dry_run=True, field_validation="Strict",
                        field_manager=KUBECTL_APPLY_MANAGER)
    return done, "configured"


def _resource_type(obj: dict, layout: _Layout) -> ResourceType:
    """The served type of a manifest, or kubectl's own refusal (it maps kinds before sending)."""
    if not isinstance(obj, dict):  # an item of a List that is not an object
        raise _located(errors.bad_request("a List item must be an object with apiVersion and kind"), "")
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    if not kind or not isinstance(kind, str):
        raise _located(errors.bad_request("Object 'Kind' is missing in the document"), "kind")
    if not api_version or not isinstance(api_version, str):
        raise _located(errors.bad_request(f"Object 'apiVersion' is missing in the document (kind: {kind})"),
                       "apiVersion")
    rt = by_gvk(api_version, kind)
    if rt is not None:
        return rt
    message = f'no matches for kind "{kind}" in version "{api_version}"'
    hint = removed_hint(api_version, kind)
    message += f": {hint}" if hint else "\nensure CRDs are installed first"
    # Underline what is wrong: the kind when its version serves other kinds, else the version.
    version_known = any(r.api_version == api_version for r in served())
    raise _located(errors.bad_request(message), "kind" if version_known and not hint else "apiVersion")


def _located(error: ApiError, field_path: str) -> ApiError:
    error.field_path = field_path  # type: ignore[attr-defined]
    return error


# ============================================================ errors → diagnostics

_UNKNOWN_FIELD = re.compile(r'unknown field "((?:[^"\\]|\\.)*)"')
_STRICT = "strict decoding error: "


def _diagnostics(error: ApiError, obj: dict, layout: _Layout) -> list[Diagnostic]:
    message = error.message
    located = getattr(error, "field_path", None)
    if located is not None:
        return [Diagnostic(layout.value_span(located) if layout.resolve(located)[1] else layout.first_line(),
                           message)]
    if error.code == 400 and _STRICT in message:
        prefix = message.split(_STRICT, 1)[0]
        return [Diagnostic(layout.key_span(path), f'{prefix}{_STRICT}unknown field "{path}"')
                for path in _UNKNOWN_FIELD.findall(message)]
    if error.code == 400 and "cannot be handled as a" in message:
        path = _type_error_path(obj)
        return [Diagnostic(layout.value_span(path) if path else layout.first_line(), message)]
    if error.reason == "Invalid" and error.causes:
        diagnostics = []
        for cause in error.causes:
            single = errors.invalid(error.kind or obj.get("kind", ""), error.group or "", error.name or "",
                                    [cause]).message
            where = cause.get("field")
            diagnostics.append(Diagnostic(layout.value_span(where) if where else layout.first_line(), single))
        return diagnostics
    if error.causes and any(c.get("field") for c in error.causes):
        where = next(c["field"] for c in error.causes if c.get("field"))
        return [Diagnostic(layout.value_span(where), message)]
    if error.reason == "NotFound" and error.kind == "namespaces":
        return [Diagnostic(layout.value_span("metadata.namespace"), message)]
    if error.reason == "Forbidden" and "requested: replicas=" in message:
        return [Diagnostic(layout.value_span("spec.replicas"), message)]
    if error.reason == "Conflict" and "resourceVersion" in json.dumps(obj.get("metadata", {})):
        return [Diagnostic(layout.value_span("metadata.resourceVersion"), message)]
    return [Diagnostic(layout.first_line(), message)]


class _LocatingWalker(_Walker):
    """The decoder's walk (validation_decode) that also remembers where its type error was found:
    the message names the Go struct field without list indices, the editor needs the exact node."""

    __slots__ = ("error_path", "_located")

    def __init__(self) -> None:
        super().__init__("Strict")
        self.error_path: str | None = None
        self._located: str | None = None

    def walk(self, value: Any, node: Any, struct: str, stack: tuple[str, ...], path: str) -> None:
        try:
            super().walk(value, node, struct, stack, path)
        finally:
            # The innermost call that saw the error finishes first and claims it.
            if self.type_error is not None and self.type_error is not self._located:
                self._located, self.error_path = self.type_error, path


def _type_error_path(obj: dict) -> str | None:
    rt = by_gvk(obj.get("apiVersion", ""), obj.get("kind", ""))
    if rt is None or rt.schema_name is None:
        return None
    walker = _LocatingWalker()
    try:
        walker.walk(copy.deepcopy(obj), schema_node(rt.schema_name), "", (), "")
    except Exception:
        pass
    return walker.error_path
