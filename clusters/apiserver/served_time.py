"""Timestamps as served: the cluster's simulated past moved so that its now is the client's wall clock.

A cluster's clock can run up to 60×, jump ahead or stand still, and the store
keeps every timestamp in that simulated time. Ages the server computes (a
Table's AGE) use the simulated now, but kubectl computes some ages itself
against the learner's wall clock — `kubectl describe`'s Events and
conditions, rows it renders — and a simulated timestamp ahead of the wall
clock prints `<invalid>`. So the API's doors keep one rule: the cluster's now,
as served, is the wall clock. With `offset = sim_now - wall` (the cluster's
`served_offset()`), every timestamp sent to a client is `stored - offset` and
every timestamp a client sends in a body is taken as `sent + offset`, so a
round trip (get, edit, replace) changes nothing. Running fast or jumping ahead
moves the cluster's past back rather than its now forward; while the clock is
paused the offset shrinks as the wall clock goes on, so the ages kubectl
prints stand still with the cluster. Stored objects are never rewritten (that
would bump every resourceVersion), and an offset of 0 — a cluster whose clock
was never moved — leaves every response as it was.

Only times the system writes move: metadata's creationTimestamp,
deletionTimestamp and managedFields[].time; the metav1.Time/MicroTime fields of
`status` (conditions, container states, …, by their schema names); an Event's
own times; a Lease's acquire and renew times; a Node taint's timeAdded; the
metrics API's `timestamp`. Labels, annotations, data and the rest of a spec
are the learner's and stay as written, even when they look like dates.
Each value keeps its format: whole seconds (`…T20:35:10Z`) or its fraction's
digits (MicroTime's six).
"""
from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

__all__ = ["STATUS_TIME_FIELDS", "shift_json_patch", "shift_object", "shift_time", "to_served", "to_stored"]

# The names of every io.k8s.apimachinery.pkg.apis.meta.v1.Time / MicroTime field found under `status`
# in the served kinds' schemas (kubernetes-validate v1.37), plus the coordination ones a status may hold.
STATUS_TIME_FIELDS = frozenset({
    "acquireTime", "completionTime", "finishedAt", "lastHeartbeatTime", "lastPhaseTransitionTime",
    "lastProbeTime", "lastScaleTime", "lastScheduleTime", "lastSuccessfulTime", "lastTransitionTime",
    "lastUpdateTime", "renewTime", "startTime", "startedAt",
})
# status fields that are maps of times (PodDisruptionBudget's disruptedPods: pod name → Time)
_STATUS_TIME_MAPS = frozenset({"disruptedPods"})
# core/v1 and events.k8s.io/v1 Event: top-level times (series.lastObservedTime is handled apart)
_EVENT_FIELDS = ("firstTimestamp", "lastTimestamp", "eventTime", "deprecatedFirstTimestamp",
                 "deprecatedLastTimestamp")
_METRICS_KINDS = frozenset({"PodMetrics", "NodeMetrics"})

_RFC3339 = re.compile(r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|z|[+-]\d{2}:\d{2})\Z")
_NS = 1_000_000_000


def shift_time(value: Any, seconds: float) -> Any:
    """An RFC 3339 timestamp moved by `seconds`, in its own format (UTC, "Z"; the same fractional digits,
    rounded); anything else (None, a malformed string) unchanged."""
    if not isinstance(value, str):
        return value
    match = _RFC3339.match(value)
    if match is None:
        return value
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=UTC)
    except ValueError:
        return value
    total = int(moment.timestamp()) * _NS + (int(fraction.ljust(9, "0")) if fraction else 0)
    if zone not in ("Z", "z"):
        sign = 1 if zone[0] == "+" else -1
        total -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60) * _NS
    total += round(seconds * _NS)
    digits = len(fraction) if fraction else 0
    step = 10 ** (9 - digits)
    total = (total + step // 2) // step * step
    whole, nanos = divmod(total, _NS)
    try:
        text = datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    except (OverflowError, OSError, ValueError):
        return value
    if len(text) != 19:  # a year before 1000 or after 9999: not an RFC 3339 timestamp
        return value
    return text + (f".{nanos // step:0{digits}d}" if digits else "") + "Z"


def _shift_key(obj: dict, key: str, seconds: float) -> None:
    if key in obj:
        obj[key] = shift_time(obj[key], seconds)


def _shift_metadata(metadata: Any, seconds: float) -> Any:
    if not isinstance(metadata, dict):
        return metadata
    metadata = dict(metadata)
    _shift_key(metadata, "creationTimestamp", seconds)
    _shift_key(metadata, "deletionTimestamp", seconds)
    managed = metadata.get("managedFields")
    if isinstance(managed, list):
        metadata["managedFields"] = [
            {**entry, "time": shift_time(entry["time"], seconds)} if isinstance(entry, dict) and "time" in entry
            else entry for entry in managed]
    return metadata


def _shift_status(node: Any, seconds: float) -> Any:
    """Every known time field anywhere under a status (conditions, container states, …), copied."""
    if isinstance(node, list):
        return [_shift_status(item, seconds) for item in node]
    if not isinstance(node, dict):
        return node
    shifted = {}
    for key, value in node.items():
        if key in STATUS_TIME_FIELDS and isinstance(value, str):
            shifted[key] = shift_time(value, seconds)
        elif key in _STATUS_TIME_MAPS and isinstance(value, dict):
            shifted[key] = {name: shift_time(time, seconds) for name, time in value.items()}
        else:
            shifted[key] = _shift_status(value, seconds)
    return shifted


def _shift_item(obj: dict, seconds: float, kind: str | None) -> dict:
    kind = obj.get("kind") or kind
    if kind == "Table":
        return _shift_table(obj, seconds)
    if "items" in obj and isinstance(obj["items"], list) and (kind is None or kind.endswith("List")):
        item_kind = kind[:-4] if kind else None
        shifted = dict(obj)
        shifted["items"] = [_shift_item(item, seconds, item_kind) if isinstance(item, dict) else item
                            for item in obj["items"]]
        return shifted
    shifted = dict(obj)
    if "metadata" in shifted:
        shifted["metadata"] = _shift_metadata(shifted["metadata"], seconds)
    if isinstance(shifted.get("status"), (dict, list)):
        shifted["status"] = _shift_status(shifted["status"], seconds)
    if kind == "Event":
        for key in _EVENT_FIELDS:
            _shift_key(shifted, key, seconds)
        series = shifted.get("series")
        if isinstance(series, dict) and "lastObservedTime" in series:
            shifted["series"] = {**series, "lastObservedTime": shift_time(series["lastObservedTime"], seconds)}
    elif kind == "Lease":
        spec = shifted.get("spec")
        if isinstance(spec, dict) and ("acquireTime" in spec or "renewTime" in spec):
            spec = dict(spec)
            _shift_key(spec, "acquireTime", seconds)
            _shift_key(spec, "renewTime", seconds)
            shifted["spec"] = spec
    elif kind == "Node":
        spec = shifted.get("spec")
        if isinstance(spec, dict) and isinstance(spec.get("taints"), list):
            shifted["spec"] = {**spec, "taints": [
                {**taint, "timeAdded": shift_time(taint["timeAdded"], seconds)}
                if isinstance(taint, dict) and "timeAdded" in taint else taint for taint in spec["taints"]]}
    elif kind in _METRICS_KINDS:
        _shift_key(shifted, "timestamp", seconds)
    return shifted


def _shift_table(table: dict, seconds: float) -> dict:
    """A meta.k8s.io Table: the objects its rows embed (includeObject=Object or Metadata); cells are
    left as the server computed them."""
    rows = table.get("rows")
    if not isinstance(rows, list):
        return table
    shifted = dict(table)
    shifted["rows"] = [
        {**row, "object": _shift_item(row["object"], seconds, None)}
        if isinstance(row, dict) and isinstance(row.get("object"), dict) else row
        for row in rows]
    return shifted


def shift_object(obj: Any, seconds: float, kind: str | None = None) -> Any:
    """A copy of an API body with its system-written timestamps moved by `seconds` (later when positive).

    `obj` is an object, a list (`items`), a Table (its rows' embedded objects) or a watch event
    (`{"type", "object"}`); `kind` names the object's kind when the body does not (a patch). The input
    is never changed: parts without times are shared with the copy, not copied."""
    if not isinstance(obj, dict) or not seconds:
        return obj
    if set(obj) == {"type", "object"} and isinstance(obj["object"], dict):
        return {"type": obj["type"], "object": shift_object(obj["object"], seconds, kind)}
    return _shift_item(obj, seconds, kind)


def to_served(obj: Any, offset: float, kind: str | None = None) -> Any:
    """A stored body as the client sees it: `stored - offset` (offset = the cluster's sim_now - wall)."""
    return shift_object(obj, -offset, kind)


def to_stored(obj: Any, offset: float, kind: str | None = None) -> Any:
    """A body the client sent, in stored time: `sent + offset`."""
    return shift_object(obj, offset, kind)


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def shift_json_patch(ops: Any, seconds: float, kind: str | None = None) -> Any:
    """A JSON patch (RFC 6902) with the values its add/replace/test operations put at a time field
    moved by `seconds`: each value is placed at its path in an otherwise empty object, shifted there,
    and taken back out, so the rules are those of shift_object."""
    if not isinstance(ops, list) or not seconds:
        return ops
    shifted = []
    for op in ops:
        if not (isinstance(op, dict) and "value" in op and isinstance(op.get("path"), str)
                and op["path"].startswith("/")):
            shifted.append(op)
            continue
        tokens = [_unescape(t) for t in op["path"][1:].split("/")]
        skeleton: Any = op["value"]
        for token in reversed(tokens):
            skeleton = [skeleton] if token.isdigit() or token == "-" else {token: skeleton}
        if not isinstance(skeleton, dict):
            shifted.append(op)
            continue
        moved: Any = shift_object(skeleton, seconds, kind)
        for token in tokens:
            moved = moved[0] if isinstance(moved, list) else moved[token]
        shifted.append({**op, "value": moved})
    return shifted
