"""ClusterState: one cluster's objects in memory while the control loops run over them.

Objects are plain dicts in the Kubernetes JSON shape, in their storage version,
exactly as the API stores them. Controllers read them through indexes and
write through `create` / `update` / `delete`, so the state knows what changed
(the runner persists only that) and every write is also visible to the
controllers that run after it in the same pass, as writes through a real API
server are to informers.

Besides the API objects, the simulation keeps private bookkeeping per object
(`sim(obj)`): when an image pull finishes, when a container's program started,
the back-off of a crash loop. It is persisted beside the object but never
served, so kubectl shows only what a real cluster shows.

Everything time-related is a timestamp compared with `now` (simulated seconds
since the epoch). A controller that needs to act later calls `wake_at(t)`.

The whole API, as controllers use it: clusters/engine/README.md ("The state API").
"""
from __future__ import annotations

import json
import marshal
import random
import uuid
import zlib
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

Key = tuple[str, str, str]  # (kind, namespace, name)
Prepare = Callable[[dict], dict]


def key_of(obj: dict) -> Key:
    meta = obj["metadata"]
    return obj["kind"], meta.get("namespace", ""), meta["name"]


def timestamp(seconds: float) -> str:
    """RFC 3339 in whole seconds, as metav1.Time serialises."""
    return datetime.fromtimestamp(int(seconds), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def micro_timestamp(seconds: float) -> str:
    """RFC 3339 with microseconds, as metav1.MicroTime serialises (events, leases)."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_timestamp(value: str | None) -> float | None:
    if not value:
        return None
    text = value.replace("Z", "+00:00")
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


def object_text(obj: dict) -> str:
    """An object as the store serialises it (compact JSON, keys in their order). Comparing this with the
    stored text tells whether an object changed, without re-serialising what was only read."""
    return json.dumps(obj, separators=(",", ":"))


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), sort_keys=True)


def _snapshot(notes: dict) -> bytes | str:
    """Notes as they stand, to tell later whether they changed: marshal's bytes (several times faster than
    JSON; equal bytes mean equal content, types included), or their JSON if marshal cannot take them."""
    try:
        return marshal.dumps(notes)
    except ValueError:
        return _dumps(notes)


def _changed(notes: dict, original: bytes | str) -> bool:
    """Whether notes differ from their snapshot as persisted JSON would (sorted keys): equal marshal bytes
    settle it at once; different ones (key order, a shared string) are compared as JSON."""
    if isinstance(original, str):
        return _dumps(notes) != original
    try:
        if marshal.dumps(notes) == original:
            return False
    except ValueError:
        pass
    return _dumps(notes) != _dumps(marshal.loads(original))


class ClusterState:
    """The objects of one cluster at one simulated instant, with change tracking.

    `prepare` fills in what the API server would on create (defaults, uid, creationTimestamp,
    generateName), so objects the controllers create look like objects created through the API.
    It is injected because the engine may not import the apiserver package. A preparer that
    stamps times reads the state's own clock, so it is usually installed once the state exists:

        state = ClusterState(objects, now=now, seed=seed)
        state.use_preparer(engine_preparer(now_source=lambda: state.now, rng=rng, objects=state))

    (clusters.apiserver.pipeline.engine_state does exactly this.)
    """

    def __init__(self, objects: Iterable[dict], *, now: float, seed: int = 0,
                 sims: dict[str, dict] | None = None, prepare: Prepare | None = None,
                 texts: list[str] | None = None) -> None:
        self.now = now
        self.rng = random.Random(seed)
        # Simulation settings of this cluster (e.g. {"start_delays": False} makes pulls and starts instant).
        self.config: dict[str, Any] = {}
        self._prepare = prepare  # see use_preparer()
        self._objects: dict[Key, dict] = {}
        self._original: dict[Key, str] = {}
        self._by_uid: dict[str, Key] = {}
        self._by_kind: dict[str, dict[Key, dict]] = {}
        self._owned: dict[str, set[Key]] = {}
        self._sims: dict[str, dict] = dict(sims or {})
        self._sims_original: dict[str, bytes | str] = {uid: _snapshot(s) for uid, s in self._sims.items()}
        self._checksums: dict[Key, int] = {}  # fingerprint() of objects as loaded, computed once
        self._dirty: set[Key] = set()
        self._deleted: dict[Key, dict] = {}
        self._wake: float | None = None
        self._events_by_signature: dict[tuple, dict] | None = None
        self._event_seq = 0
        self.writes = 0  # every create/update/delete: the loop runs passes until a pass writes nothing
        self.events: list[dict] = []
        objects = list(objects)
        # `texts`: the stored JSON of each object, as read (saves serialising every object up front).
        for obj, text in zip(objects, texts if texts is not None else [None] * len(objects)):
            key = key_of(obj)
            self._objects[key] = obj
            self._original[key] = text if text is not None else object_text(obj)
            self._index(key, obj)

    # ------------------------------------------------------------- indexes
    def _index(self, key: Key, obj: dict) -> None:
        meta = obj["metadata"]
        if meta.get("uid"):
            self._by_uid[meta["uid"]] = key
        self._by_kind.setdefault(key[0], {})[key] = obj
        for ref in meta.get("ownerReferences") or []:
            self._owned.setdefault(ref.get("uid", ""), set()).add(key)

    def _unindex(self, key: Key, obj: dict) -> None:
        meta = obj["metadata"]
        self._by_uid.pop(meta.get("uid", ""), None)
        self._by_kind.get(key[0], {}).pop(key, None)
        for ref in meta.get("ownerReferences") or []:
            self._owned.get(ref.get("uid", ""), set()).discard(key)

    # --------------------------------------------------------------- reads
    def get(self, kind: str, namespace: str, name: str) -> dict | None:
        return self._objects.get((kind, namespace, name))

    def list(self, kind: str, namespace: str | None = None) -> list[dict]:
        found = self._by_kind.get(kind, {})
        items = [o for k, o in found.items() if namespace is None or k[1] == namespace]
        items.sort(key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
        return items

    def by_uid(self, uid: str) -> dict | None:
        key = self._by_uid.get(uid)
        return self._objects.get(key) if key else None

    def owned_by(self, owner: dict, kind: str | None = None) -> list[dict]:
        """Objects whose ownerReferences name `owner` (any reference, controller or not)."""
        keys = self._owned.get(owner["metadata"].get("uid", ""), set())
        items = [self._objects[k] for k in keys if k in self._objects and (kind is None or k[0] == kind)]
        items.sort(key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
        return items

    def all_objects(self) -> list[dict]:
        return list(self._objects.values())

    # -------------------------------------------------------------- writes
    def use_preparer(self, prepare: Prepare | None) -> None:
        """Run `prepare` on every object before `create` stores it (None: store objects as given,
        with only a uid and creationTimestamp added)."""
        self._prepare = prepare

    def create(self, obj: dict) -> dict:
        """Add a new object (as a controller creating it through the API). Returns the stored dict."""
        if self._prepare is not None:
            obj = self._prepare(obj)
        meta = obj.setdefault("metadata", {})
        meta.setdefault("uid", str(uuid.UUID(int=self.rng.getrandbits(128), version=4)))
        meta.setdefault("creationTimestamp", timestamp(self.now))
        key = key_of(obj)
        if key in self._objects:
            raise KeyError(f"{key} already exists")
        self._objects[key] = obj
        self._deleted.pop(key, None)
        self._index(key, obj)
        self._dirty.add(key)
        self.writes += 1
        return obj

    def update(self, obj: dict) -> None:
        """Record that `obj` (a dict from this state, mutated in place or replaced) changed."""
        key = key_of(obj)
        previous = self._objects.get(key)
        if previous is None:
            raise KeyError(f"{key} does not exist")
        if previous is not obj:
            self._unindex(key, previous)
            self._objects[key] = obj
        else:
            self._unindex(key, obj)  # ownerReferences may have changed in place
        self._index(key, obj)
        self._dirty.add(key)
        self.writes += 1

    def delete(self, obj: dict) -> None:
        key = key_of(obj)
        current = self._objects.pop(key, None)
        if current is None:
            return
        self._unindex(key, current)
        self._dirty.discard(key)
        self._deleted[key] = current
        self.writes += 1
        self._sims.pop(current["metadata"].get("uid", ""), None)

    def fingerprint(self, obj: dict) -> int | None:
        """A stable checksum of the object as it stood when this run began, or None if it has been
        written since: lets a controller tell that nobody touched an object since it last looked."""
        key = key_of(obj)
        if key in self._dirty or key not in self._original:
            return None
        found = self._checksums.get(key)
        if found is None:
            found = self._checksums[key] = zlib.crc32(self._original[key].encode())
        return found

    # --------------------------------------------------- private bookkeeping
    def sim(self, obj: dict) -> dict:
        """The simulation's private, persisted notes about `obj` (never served by the API)."""
        return self._sims.setdefault(obj["metadata"]["uid"], {})

    # --------------------------------------------------------------- timers
    def wake_at(self, when: float | None) -> None:
        """Ask for another pass at simulated time `when` (the earliest request wins)."""
        if when is None:
            return
        if self._wake is None or when < self._wake:
            self._wake = when

    @property
    def next_wake(self) -> float | None:
        return self._wake

    def reset_wake(self) -> None:
        self._wake = None

    # ---------------------------------------------------------------- events
    def event(self, involved: dict, event_type: str, reason: str, message: str, *, component: str,
              host: str = "", field_path: str = "") -> dict:
        """Record an Event about `involved`, aggregated like the real event correlator (count++)."""
        meta = involved["metadata"]
        namespace = meta.get("namespace") or "default"
        ref = {"kind": involved["kind"], "namespace": meta.get("namespace", ""), "name": meta["name"],
               "uid": meta.get("uid", ""), "apiVersion": involved.get("apiVersion", "v1"),
               "resourceVersion": meta.get("resourceVersion", "")}
        if not meta.get("namespace"):
            ref.pop("namespace")
        if field_path:
            ref["fieldPath"] = field_path
        signature = (ref["uid"], reason, message, field_path)
        existing = self._event_index().get(signature)
        if existing is not None and self.get("Event", namespace, existing["metadata"]["name"]) is existing:
            existing["count"] = int(existing.get("count", 1)) + 1
            existing["lastTimestamp"] = timestamp(self.now)
            self.update(existing)
            return existing
        source = {"component": component}
        if host:
            source["host"] = host
        # Named like the real recorder (<object>.<unix nanoseconds in hex>), so names sort by time.
        self._event_seq += 1
        created = self.create({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": f"{meta['name']}.{int(self.now * 1e9) + self._event_seq:x}"[-253:],
                         "namespace": namespace},
            "involvedObject": ref, "reason": reason, "message": message, "type": event_type,
            "source": source, "count": 1,
            "firstTimestamp": timestamp(self.now), "lastTimestamp": timestamp(self.now),
            "reportingComponent": component, "reportingInstance": host or "",
        })
        self.events.append(created)
        self._events_by_signature[signature] = created
        return created

    def _event_index(self) -> dict[tuple, dict]:
        """Events by (object uid, reason, message, fieldPath): aggregation without scanning all events."""
        if self._events_by_signature is None:
            self._events_by_signature = {}
            for event in self.list("Event"):
                inv = event.get("involvedObject") or {}
                self._events_by_signature[(inv.get("uid", ""), event.get("reason"), event.get("message"),
                                           inv.get("fieldPath", ""))] = event
        return self._events_by_signature

    # --------------------------------------------------------------- results
    def changes(self) -> list[tuple[str, dict]]:
        """What this run changed: ("ADDED"|"MODIFIED"|"DELETED", object), no-op writes left out."""
        found: list[tuple[str, dict]] = []
        for key in sorted(self._dirty):
            obj = self._objects[key]
            original = self._original.get(key)
            if original is None:
                found.append(("ADDED", obj))
            elif object_text(obj) != original:
                found.append(("MODIFIED", obj))
        for key, obj in sorted(self._deleted.items()):
            if key in self._original and key not in self._objects:
                found.append(("DELETED", obj))
        return found

    def sim_changes(self) -> dict[str, dict | None]:
        """Private notes that changed, by uid (None: forget it)."""
        found: dict[str, dict | None] = {}
        for uid, notes in self._sims.items():
            original = self._sims_original.get(uid)
            if original is None:
                if notes:  # an untouched sim() is no change
                    found[uid] = notes
            elif _changed(notes, original):
                found[uid] = notes
        for uid in self._sims_original:
            if uid not in self._sims:
                found[uid] = None
        return found

    def commit(self) -> None:
        """Forget the recorded changes (after they were persisted); the objects stay."""
        self._original = {k: object_text(o) for k, o in self._objects.items()}
        self._sims_original = {uid: _snapshot(s) for uid, s in self._sims.items()}
        self._checksums.clear()
        self._dirty.clear()
        self._deleted.clear()
        self.events.clear()
