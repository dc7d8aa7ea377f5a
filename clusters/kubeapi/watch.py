"""Watch streams: `GET …?watch=true` as a chunked stream of `{"type": …, "object": …}` lines.

The change log in the database is the truth; the channel group only wakes the
stream up (and when a message is lost, the process's look at its clusters does:
clusters/store/version_poll.py; a lost message delays an event but never loses it).
A resourceVersion older than the log's horizon gets an ERROR event with a 410
Expired Status, as etcd compaction makes a real server do.
Objects go out in served time (clusters/apiserver/served_time.py), by the
cluster's clock as last read: at the start, and again with each batch of events.
"""
from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from asgiref.sync import sync_to_async
from django.db import close_old_connections
from django.db.utils import InterfaceError, OperationalError

from clusters import actions, selectors
from clusters.apiserver import errors
from clusters.apiserver.conversion import from_storage
from clusters.apiserver.registry import ResourceType
from clusters.apiserver.selection import Selection, parse_selection
from clusters.apiserver.served_time import to_served
from clusters.apiserver.tables import build_table
from clusters.store import notify

if TYPE_CHECKING:
    from clusters.models import Cluster

DEFAULT_TIMEOUT = 1800.0   # kube-apiserver's --min-request-timeout
RECHECK_SECONDS = 60.0     # re-read the log anyway (a wake-up or the process's look wakes it sooner)
BOOKMARK_SECONDS = 60.0
OUTAGE_RETRY_SECONDS = 1.0   # while the database is unreachable, how often a running watch tries again
DATABASE_ERRORS = (OperationalError, InterfaceError)


@dataclass
class WatchSpec:
    cluster: Cluster
    rt: ResourceType
    namespace: str | None
    resource_version: str
    label_selector: str
    field_selector: str
    table: bool
    include_object: str
    timeout: float
    bookmarks: bool
    # sendInitialEvents=true (streaming lists, kubectl ≥1.34's default): the current objects first, then a
    # BOOKMARK annotated k8s.io/initial-events-end, whatever resourceVersion was asked.
    initial_events: bool = False
    # keys of the objects the client currently sees (to turn label changes into ADDED/DELETED)
    visible: set[tuple[str, str]] = field(default_factory=set)
    # The initial events' objects by key: the resourceVersion each was sent at. The cluster's resourceVersion
    # the stream continues from is read before the list, so a write committed in between is in both.
    listed: dict[tuple[str, str], int] = field(default_factory=dict)
    columns_sent: bool = False
    selection: Selection = field(default_factory=Selection)   # set by check_selectors


def check_selectors(spec: WatchSpec) -> None:
    """Parse the watch's selectors once (a malformed one is a 400 before the stream starts)."""
    spec.selection = parse_selection(spec.label_selector, spec.field_selector)


def _matches(spec: WatchSpec, obj: dict) -> bool:
    return spec.selection.matches(obj, spec.rt.kind)


def _key(obj: dict) -> tuple[str, str]:
    return obj["metadata"].get("namespace", ""), obj["metadata"]["name"]


def _encode(spec: WatchSpec, event: str, obj: dict) -> bytes:
    if spec.table and event in ("ADDED", "MODIFIED", "DELETED"):
        table = build_table(spec.rt.kind, [obj], now=datetime.fromtimestamp(spec.cluster.sim_now(), UTC),
                            include_object=spec.include_object,
                            resource_version=obj["metadata"].get("resourceVersion", ""))
        if spec.columns_sent:
            table["columnDefinitions"] = None  # kubectl takes the columns from the first event only
        spec.columns_sent = True
        obj = table
    obj = to_served(obj, spec.cluster.served_offset(), spec.rt.kind)
    return json.dumps({"type": event, "object": obj}, separators=(",", ":")).encode() + b"\n"


def _bookmark(spec: WatchSpec, resource_version: int, *, initial_events_end: bool = False) -> bytes:
    metadata: dict = {"resourceVersion": str(resource_version)}
    if initial_events_end:
        metadata["annotations"] = {"k8s.io/initial-events-end": "true"}
    return json.dumps({"type": "BOOKMARK", "object": {"kind": spec.rt.kind, "apiVersion": spec.rt.api_version,
                                                      "metadata": metadata}}).encode() + b"\n"


def _start(spec: WatchSpec) -> tuple[list[tuple[str, dict]], int, dict | None]:
    """Initial events, the resourceVersion to continue from, or an ERROR Status."""
    current, compacted = selectors.cluster_versions(spec.cluster.pk)
    store_objects = actions.api_call(cluster=spec.cluster, operation=lambda api: api.store.list(
        spec.rt.kind, spec.namespace))
    matching = [o for o in store_objects if _matches(spec, o)]
    spec.visible = {_key(o) for o in matching}
    if spec.resource_version in ("", "0") or spec.initial_events:
        # "Get state and start at most recent": the current objects as ADDED events first.
        spec.listed = {_key(o): int(o["metadata"].get("resourceVersion") or 0) for o in matching}
        return [("ADDED", from_storage(o, spec.rt)) for o in matching], current, None
    try:
        since = int(spec.resource_version)
    except ValueError:
        raise errors.bad_request(f'invalid resource version "{spec.resource_version}"') from None
    if since < compacted:
        return [], since, errors.gone(f"too old resource version: {since} ({compacted + 1})").status()
    spec.visible = _visible_at(spec, since)
    return [], since, None


def _visible_at(spec: WatchSpec, since: int) -> set[tuple[str, str]]:
    """The keys of the selected objects as they were at `since`, where a resumed watch starts.

    The objects listed now are not that: one deleted since `since` would be missing (and its DELETED event
    dropped, as the client still holds it), one created since would already count as seen (its changes
    sent as MODIFIED, though the client never saw it ADDED). So an object written since `since` counts
    by its first write since then: an ADDED means it did not exist; a MODIFIED or DELETED that it did, as
    the log last recorded it at `since` (for a DELETED, the object as last stored). The others are as
    listed: the list was read before the log, so whatever it does not show changed is in the log."""
    visible = set(spec.visible)
    everything = spec.selection.labels is None and spec.selection.fields is None
    for key, (event, rv) in selectors.first_changes_since(spec.cluster.pk, since, kind=spec.rt.kind,
                                                          namespace=spec.namespace).items():
        if event == "ADDED":
            visible.discard(key)
            continue
        then = None if everything else selectors.logged_object(
            spec.cluster.pk, spec.rt.kind, *key, upto=rv if event == "DELETED" else since)
        if then is None and not everything:   # trimmed from the log: the first write since is the best guess
            then = selectors.logged_object(spec.cluster.pk, spec.rt.kind, *key, upto=rv)
        if everything or (then is not None and _matches(spec, then)):
            visible.add(key)
        else:
            visible.discard(key)
    return visible


def _database_unavailable() -> dict:
    """The Status a watch that cannot start ends with (kubeapi/views.py answers requests the same way)."""
    return errors.ApiError(503, "ServiceUnavailable",
                           "the playground's database is unavailable: try again in a moment").status()


def _during_outage(read):
    """`read`, or None when the database is unreachable. Either way this thread's connection is let go:
    back to the pool (a watch open for half an hour holds none between its reads), or closed when it
    broke, so that the next try connects again rather than failing on it for ever."""
    def attempt(*args):
        try:
            return read(*args)
        except DATABASE_ERRORS:
            return None
        finally:
            close_old_connections()
    return attempt


def _next_events(spec: WatchSpec, since: int) -> tuple[list[tuple[str, dict]], int]:
    events = []
    for rv, event, obj in selectors.changes_since(spec.cluster.pk, since, kind=spec.rt.kind,
                                                  namespace=spec.namespace):
        since = rv
        key = _key(obj)
        if spec.listed:
            listed_at = spec.listed.get(key)
            if listed_at is not None and rv <= listed_at:
                continue   # committed between the two reads of _start: the initial list showed it already
        was_visible = key in spec.visible
        if event == "DELETED":
            if was_visible:
                spec.visible.discard(key)
                events.append(("DELETED", obj))
            continue
        if _matches(spec, obj):
            spec.visible.add(key)
            events.append(("MODIFIED" if was_visible and event != "ADDED" else "ADDED", obj))
        elif was_visible:
            spec.visible.discard(key)
            events.append(("DELETED", obj))
    if events:
        # The clock may have moved since the stream began (speed, pause, a jump): ages and served times follow.
        spec.cluster = selectors.cluster_by_id(spec.cluster.pk) or spec.cluster
    return [(e, from_storage(o, spec.rt)) for e, o in events], since


async def stream(spec: WatchSpec) -> AsyncIterator[bytes]:
    async with notify.wakeups(spec.cluster.pk) as wait_for_change:
        started = await sync_to_async(_during_outage(_start))(spec)
        if started is None:
            yield json.dumps({"type": "ERROR", "object": _database_unavailable()}).encode() + b"\n"
            return
        initial, since, failure = started
        if failure is not None:
            yield json.dumps({"type": "ERROR", "object": failure}).encode() + b"\n"
            return
        for event, obj in initial:
            yield _encode(spec, event, obj)
        if spec.initial_events:
            yield _bookmark(spec, since, initial_events_end=True)
        elif not initial:
            yield b""  # send the headers now: clients wait for them before they consider the watch open
        loop = asyncio.get_running_loop()
        deadline = loop.time() + spec.timeout
        last_bookmark = loop.time()
        while True:
            # The database unreachable (PostgreSQL restarting): the stream stays open, as a real API server's
            # watch does while etcd is away, and carries on from `since` once it is back, so the client sees
            # every change once. (An exception here would end the response half-way: a client left hanging.)
            read = await sync_to_async(_during_outage(_next_events))(spec, since)
            if read is not None:
                events, since = read
                for event, obj in events:
                    yield _encode(spec, event, obj)
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            if spec.bookmarks and loop.time() - last_bookmark >= BOOKMARK_SECONDS:
                last_bookmark = loop.time()
                yield _bookmark(spec, since)
            await wait_for_change(min(remaining, RECHECK_SECONDS if read is not None else OUTAGE_RETRY_SECONDS))
