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

import copy
import functools
import json
import marshal
import random
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from clusters.engine import jsontext

Key = tuple[str, str, str]  # (kind, namespace, name)
# The event correlator's EventAggregator (client-go tools/record): defaultAggregateMaxEvents, its interval.
AGGREGATE_MAX_EVENTS = 10
AGGREGATE_SECONDS = 600.0
COMBINED = "(combined from similar events): "
WRITE_LOG_SIZE = 1_000      # writes narrowed_changes can look back on (a controller behind that looks at all);
                            # bounded: the log holds what each write replaced, and a kept state lives on
Prepare = Callable[[dict], dict]


def key_of(obj: dict) -> Key:
    meta = obj["metadata"]
    return obj["kind"], meta.get("namespace", ""), meta["name"]


def timestamp(seconds: float) -> str:
    """RFC 3339 in whole seconds, as metav1.Time serialises."""
    return _whole_seconds(int(seconds))


@functools.lru_cache(maxsize=1024)
def _whole_seconds(seconds: int) -> str:
    # A pass stamps hundreds of objects and events with the same few instants: formatted once each.
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def random_uid(rng: random.Random) -> str:
    """A version-4 UUID from 128 bits of `rng`, as str(uuid.UUID(int=bits, version=4)) gives it, a few times
    faster (every object and Event a pass creates takes one)."""
    return uid_from_bits(rng.getrandbits(128))


def uid_from_bits(bits: int) -> str:
    bits = (bits & ~(0xC000 << 48) | (0x8000 << 48)) & ~(0xF000 << 64) | (4 << 76)   # variant RFC 4122, version 4
    text = f"{bits:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


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
    stored text (their text_digest()s) tells whether an object changed, without re-serialising what was only
    read."""
    return jsontext.dumps(obj)


def text_digest(text: str) -> int:
    """What a state remembers of an object's stored text, in one int: the text's hash (64 bits, salted per
    process: enough to tell a changed text; the state never leaves its process) and its crc32 (what
    fingerprint() hands out: stable across processes, so controllers keep it in notes). A kept state holds
    this rather than the text, which was a fifth of its memory."""
    return (hash(text) << 32) | zlib.crc32(text.encode())


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
        # Each object as a dict, or while the state is frozen (freeze(): a kept state of an idle cluster) as its
        # stored JSON text, or as the place of that text in the packed texts (an int); a read thaws it (_thaw)
        # where it stands, in both maps.
        self._objects: dict[Key, dict | str | int] = {}
        self._stored: dict[Key, int] = {}   # text_digest() of each object as stored (not of the new ones)
        self._by_uid: dict[str, Key] = {}
        self._by_kind: dict[str, dict[Key, dict | str | int]] = {}
        self._frozen: dict[str, int] = {}   # how many objects of each kind are not dicts
        self._packed: bytes | None = None   # the frozen objects' texts, compressed together (freeze())
        self._owned: dict[str, set[Key]] = {}
        self._sims: dict[str, dict] = dict(sims or {})
        self._sims_original: dict[str, bytes | str] = {uid: _snapshot(s) for uid, s in self._sims.items()}
        self._sims_touched: set[str] = set()   # handed out by sim() or dropped since the last commit
        self._dirty: set[Key] = set()
        self._deleted: dict[Key, dict] = {}
        self._wake: float | None = None
        self._events_by_signature: dict[tuple, dict] | None = None
        self._events_by_aggregate: dict[tuple, list[dict]] = {}   # built with _events_by_signature
        self._event_seq = 0
        self.writes = 0  # every create/update/delete: the loop runs passes until a pass writes nothing
        # What lets the loop run only the controllers with something to do (loop.py): a sequence number
        # of the writes to objects (create/update/delete, and those take_stored brings in), the last one
        # of each kind, and the kinds the running controller reads (None: nobody is recording).
        self.write_seq = 0
        self._kind_seq: dict[str, int] = {}
        self._reads: set[str] | None = None
        # The writes by sequence number, (seq, key, the object it replaced or deleted), for narrowed_changes;
        # `run_scope` is the write_seq the running controller's last run began at (None: it looks at everything).
        self._log: list[tuple[int, Key, dict | None]] = []
        self._log_floor = 0
        self.run_scope: int | None = None
        self.notes_handed_out = False   # sim() was called outside a controller's run (the loop resets it)
        self.events: list[dict] = []
        # Per-state caches of what was computed from the objects as they stand (network.index.per_state):
        # they die with the state, and freeze() empties them (they hold object dicts).
        self.memos: dict[Any, Any] = {}
        objects = list(objects)
        self._shares_strings = False   # see share_strings()
        # `texts`: the stored JSON of each object, as read (saves serialising every object up front).
        for obj, text in zip(objects, texts if texts is not None else [None] * len(objects)):
            key = key_of(obj)
            self._objects[key] = obj
            self._stored[key] = text_digest(text if text is not None else object_text(obj))
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
    # Every read notes its kind ("*": any) for the controller running, so the loop knows what it depends on.
    def get(self, kind: str, namespace: str, name: str) -> dict | None:
        if self._reads is not None:
            self._reads.add(kind)
        return self._live((kind, namespace, name))

    def list(self, kind: str, namespace: str | None = None) -> list[dict]:
        if self._reads is not None:
            self._reads.add(kind)
        found = self._by_kind.get(kind, {})
        if self._frozen.get(kind):
            self._unpack()
            for key, obj in found.items():
                if type(obj) is str and (namespace is None or key[1] == namespace):
                    self._thaw(key, obj)   # replaces the value only: the iteration goes on
        items = [o for k, o in found.items() if namespace is None or k[1] == namespace]
        items.sort(key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
        return items

    def by_uid(self, uid: str) -> dict | None:
        if self._reads is not None:
            self._reads.add("*")
        key = self._by_uid.get(uid)
        return self._live(key) if key else None

    def owned_by(self, owner: dict, kind: str | None = None) -> list[dict]:
        """Objects whose ownerReferences name `owner` (any reference, controller or not)."""
        if self._reads is not None:
            self._reads.add(kind or "*")
        keys = self._owned.get(owner["metadata"].get("uid", ""), set())
        items = [self._live(k) for k in keys if k in self._objects and (kind is None or k[0] == kind)]
        items.sort(key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
        return items

    def all_objects(self) -> list[dict]:
        if self._reads is not None:
            self._reads.add("*")
        if self._frozen:
            self._unpack()
            for key, obj in self._objects.items():
                if type(obj) is str:
                    self._thaw(key, obj)
        return list(self._objects.values())

    def object_count(self) -> int:
        """How many objects the state holds (frozen ones are not thawed to count them)."""
        return len(self._objects)

    # ------------------------------------------------------ a frozen state
    def _live(self, key: Key) -> dict | None:
        """The object under `key` as a dict (thawed if it was frozen), or None."""
        obj = self._objects.get(key)
        if obj is None or type(obj) is dict:
            return obj
        if type(obj) is int:
            self._unpack()
            obj = self._objects[key]
        return self._thaw(key, obj)

    def _unpack(self) -> None:
        """Every packed object back to its text (the first read of a frozen state)."""
        if self._packed is None:
            return
        texts = zlib.decompress(self._packed).decode().split("\n")   # (JSON texts hold no raw newline)
        self._packed = None
        for key, obj in self._objects.items():
            if type(obj) is int:
                self._objects[key] = self._by_kind[key[0]][key] = texts[obj]

    def _thaw(self, key: Key, text: str) -> dict:
        obj = self._objects[key] = self._by_kind[key[0]][key] = jsontext.loads(text)
        count = self._frozen[key[0]] - 1
        if count:
            self._frozen[key[0]] = count
        else:
            del self._frozen[key[0]]
        return obj

    def freeze(self) -> None:
        """Hold every object as its stored JSON text rather than as a dict, and the texts compressed together,
        until something reads them: then every text comes back (~1 ms for 200 objects), and the object read,
        or that kind's objects for list(), is decoded again where it stands; the other maps hold keys. For a
        state kept while its cluster is idle (clusters/sim/reconcile.py): a dict costs three times its text,
        the texts of one cluster compress six to one (they repeat each other), and the next pass reads only
        what it needs. What the loop and the controllers remember of the objects goes too: the write log's
        replaced objects (a controller that last ran before now looks at everything at its next run), the
        Events' aggregation index, the per-state memos (`memos`; those kept elsewhere, keyed on `writes`, see
        a new state)."""
        if self._dirty or self._deleted:
            raise RuntimeError("freeze() on a state with unpersisted changes")
        self._unpack()
        texts: list[str] = []
        for key, obj in self._objects.items():
            if type(obj) is dict:
                obj = object_text(obj)
                self._frozen[key[0]] = self._frozen.get(key[0], 0) + 1
            self._objects[key] = self._by_kind[key[0]][key] = len(texts)
            texts.append(obj)
        self._packed = zlib.compress("\n".join(texts).encode(), 1) if texts else None
        self._log.clear()
        self._log_floor = self.write_seq
        self._events_by_signature = None
        self._events_by_aggregate = {}
        self.memos.clear()
        self.writes += 1

    @property
    def frozen(self) -> int:
        """How many objects are held frozen (not as dicts)."""
        return sum(self._frozen.values())

    # ------------------------------------------------- what a controller depends on
    @contextmanager
    def recording_reads(self) -> Iterator[set[str]]:
        """The kinds read inside the block (also added to an enclosing recording's)."""
        outer, inner = self._reads, set()
        self._reads = inner
        try:
            yield inner
        finally:
            self._reads = outer
            if outer is not None:
                outer |= inner

    @contextmanager
    def not_watching(self) -> Iterator[None]:
        """Reads inside the block do not make the running controller depend on what it read: for one that
        knows from its own wake-up when to look again."""
        reads, self._reads = self._reads, None
        try:
            yield
        finally:
            self._reads = reads

    def note_reads(self, kinds: Iterable[str]) -> None:
        """Count `kinds` as read by the running controller: a memo serving what another one computed
        passes on the reads that computation made."""
        if self._reads is not None:
            self._reads.update(kinds)

    def written_since(self, kinds: Iterable[str], seq: int) -> bool:
        """Whether an object of one of `kinds` ("*": any) was written after write_seq was `seq`."""
        if self.write_seq <= seq:
            return False
        return any(self.write_seq > seq if kind == "*" else self._kind_seq.get(kind, 0) > seq for kind in kinds)

    def notes_changed(self, uids: Iterable[str]) -> None:
        """Count the objects whose notes changed as written, for written_since: whoever reads an object's
        notes got the object through a read of its kind."""
        for uid in uids:
            key = self._by_uid.get(uid)
            if key is not None:
                self._written(key)

    def narrowed_changes(self) -> tuple[list[Key], list[dict]] | None:
        """For a controller that can narrow its work to what changed: the keys of the objects written since
        its last run began (sorted: a set's order would vary with the process's string hashes, and with it
        what a controller looks at first), and the objects those writes replaced or deleted (as they were,
        latest first); None when it must look at everything (its first run on this state, a wake-up of its
        own due, a forced run)."""
        since = self.run_scope
        if since is None or since < self._log_floor:
            return None
        keys: set[Key] = set()
        gone: list[dict] = []
        for seq, key, previous in reversed(self._log):
            if seq <= since:
                break
            keys.add(key)
            if previous is not None:
                gone.append(previous)
        return sorted(keys), gone

    def _written(self, key: Key, previous: dict | None = None) -> None:
        self.write_seq += 1
        self._kind_seq[key[0]] = self.write_seq
        self._log.append((self.write_seq, key, previous))
        if len(self._log) > WRITE_LOG_SIZE:
            del self._log[:WRITE_LOG_SIZE // 2]
            self._log_floor = self._log[0][0] - 1

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
        bits = self.rng.getrandbits(128)   # drawn even when unused: what is drawn after it stays the same
        if "uid" not in meta:
            meta["uid"] = uid_from_bits(bits)
        meta.setdefault("creationTimestamp", timestamp(self.now))
        key = key_of(obj)
        if key in self._objects:
            raise KeyError(f"{key} already exists")
        self._objects[key] = obj
        self._deleted.pop(key, None)
        self._index(key, obj)
        self._dirty.add(key)
        self.writes += 1
        self._written(key)
        return obj

    def update(self, obj: dict) -> None:
        """Record that `obj` (a dict from this state, mutated in place or replaced) changed."""
        key = key_of(obj)
        previous = self._live(key)
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
        self._written(key, previous if previous is not obj else None)

    def delete(self, obj: dict) -> None:
        key = key_of(obj)
        if self._live(key) is None:
            return
        current = self._objects.pop(key)
        self._unindex(key, current)
        self._dirty.discard(key)
        self._deleted[key] = current
        self.writes += 1
        self._written(key, current)
        self._sims.pop(current["metadata"].get("uid", ""), None)
        self._sims_touched.add(current["metadata"].get("uid", ""))

    @property
    def has_changes(self) -> bool:
        """Whether objects were written since the last commit."""
        return bool(self._dirty or self._deleted)

    def fingerprint(self, obj: dict) -> int | None:
        """A stable checksum of the object as it stood when this run began, or None if it has been
        written since: lets a controller tell that nobody touched an object since it last looked."""
        key = key_of(obj)
        if key in self._dirty or key not in self._stored:
            return None
        return self._stored[key] & 0xFFFFFFFF

    def fingerprint_now(self, obj: dict) -> int:
        """fingerprint(obj) of the object as it stands now, written in this run or not: what fingerprint()
        will give once this run's writes are stored as they are. Lets a controller that wrote an object tell,
        later in the same step, that nobody wrote it after that. An object written in this run costs its
        serialisation (a few µs)."""
        key = key_of(obj)
        if key not in self._dirty and key in self._stored:
            return self._stored[key] & 0xFFFFFFFF
        return zlib.crc32(object_text(obj).encode())

    # --------------------------------------------------- private bookkeeping
    def sim(self, obj: dict) -> dict:
        """The simulation's private, persisted notes about `obj` (never served by the API)."""
        if self._reads is None:
            self.notes_handed_out = True   # to someone other than a controller: they may change
        uid = obj["metadata"]["uid"]
        self._sims_touched.add(uid)   # notes change only through a dict sim() handed out
        return self._sims.setdefault(uid, {})

    @contextmanager
    def notes_restored(self) -> Iterator[None]:
        """Whatever the block does to the notes is undone after it (a check that must leave no trace)."""
        saved = copy.deepcopy(self._sims)
        try:
            yield
        finally:
            self._sims = saved

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
        reads, self._reads = self._reads, None   # recording an Event is a write, not a dependency on Events
        try:
            return self._record_event(signature, ref, meta, namespace, event_type, reason, message,
                                      component, host)
        finally:
            self._reads = reads

    def _record_event(self, signature: tuple, ref: dict, meta: dict, namespace: str, event_type: str,
                      reason: str, message: str, component: str, host: str) -> dict:
        existing = self._event_index().get(signature)
        if existing is not None and self.get("Event", namespace, existing["metadata"]["name"]) is existing:
            existing["count"] = int(existing.get("count", 1)) + 1
            existing["lastTimestamp"] = timestamp(self.now)
            self.update(existing)
            return existing
        # The correlator's EventAggregator: similar events (same object, type, reason and source) with
        # AGGREGATE_MAX_EVENTS different messages within AGGREGATE_SECONDS become one Event, whose count
        # grows and whose message is the latest, "(combined from similar events): …".
        aggregate = (ref["uid"], event_type, reason, component, host)
        similar = [e for e in self._events_by_aggregate.get(aggregate, ())
                   if self.get("Event", namespace, e["metadata"]["name"]) is e
                   and (parse_timestamp(e.get("lastTimestamp")) or 0) >= self.now - AGGREGATE_SECONDS]
        combined = next((e for e in similar if e.get("message", "").startswith(COMBINED)), None)
        if combined is not None:
            combined["count"] = int(combined.get("count", 1)) + 1
            combined["message"] = COMBINED + message
            combined["lastTimestamp"] = timestamp(self.now)
            self.update(combined)
            return combined
        if len({e.get("message") for e in similar}) >= AGGREGATE_MAX_EVENTS - 1:
            message = COMBINED + message
            signature = (ref["uid"], reason, message, signature[3])
        source = {"component": component}
        if host:
            source["host"] = host
        # Named like the real recorder (<object>.<unix nanoseconds in hex>), so names sort by time.
        # A name an earlier run at this very instant took (a paused clock) is skipped.
        name = None
        while name is None or self.get("Event", namespace, name) is not None:
            self._event_seq += 1
            name = f"{meta['name']}.{int(self.now * 1e9) + self._event_seq:x}"[-253:]
        created = self.create({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": name, "namespace": namespace},
            "involvedObject": ref, "reason": reason, "message": message, "type": event_type,
            "source": source, "count": 1,
            "firstTimestamp": timestamp(self.now), "lastTimestamp": timestamp(self.now),
            "reportingComponent": component, "reportingInstance": host or "",
        })
        self.events.append(created)
        self._events_by_signature[signature] = created
        self._events_by_aggregate.setdefault(aggregate, []).append(created)
        return created

    def _event_index(self) -> dict[tuple, dict]:
        """Events by (object uid, reason, message, fieldPath): aggregation without scanning all events."""
        if self._events_by_signature is None:
            self._events_by_signature = {}
            self._events_by_aggregate = {}
            for event in self.list("Event"):
                inv = event.get("involvedObject") or {}
                self._events_by_signature[(inv.get("uid", ""), event.get("reason"), event.get("message"),
                                           inv.get("fieldPath", ""))] = event
                source = event.get("source") or {}
                self._events_by_aggregate.setdefault(
                    (inv.get("uid", ""), event.get("type"), event.get("reason"), source.get("component", ""),
                     source.get("host", "")), []).append(event)
        return self._events_by_signature

    # --------------------------------------------------------------- results
    def changes(self) -> list[tuple[str, dict]]:
        """What this run changed: ("ADDED"|"MODIFIED"|"DELETED", object), no-op writes left out."""
        found: list[tuple[str, dict]] = []
        for key in sorted(self._dirty):
            obj = self._objects[key]
            stored = self._stored.get(key)
            if stored is None:
                found.append(("ADDED", obj))
            elif text_digest(object_text(obj)) != stored:
                found.append(("MODIFIED", obj))
        for key, obj in sorted(self._deleted.items()):
            if key in self._stored and key not in self._objects:
                found.append(("DELETED", obj))
        return found

    def sim_changes(self) -> dict[str, dict | None]:
        """Private notes that changed, by uid (None: forget it). Only the notes sim() handed out since the
        last commit can have changed: a step that looked at a few objects costs a few comparisons."""
        found: dict[str, dict | None] = {}
        for uid in sorted(self._sims_touched):
            notes, original = self._sims.get(uid), self._sims_original.get(uid)
            if notes is None:
                if original is not None:
                    found[uid] = None
            elif original is None:
                if notes:  # an untouched sim() is no change
                    found[uid] = notes
            elif _changed(notes, original):
                found[uid] = notes
        return found

    def commit(self) -> None:
        """Forget the recorded changes (after they were persisted); the objects stay."""
        # (a frozen object is as stored: unwritten since the commit before its freeze)
        self._stored = {k: text_digest(object_text(o)) if type(o) is dict else self._stored[k]
                        for k, o in self._objects.items()}
        self._sims_original = {uid: _snapshot(s) for uid, s in self._sims.items()}
        self._sims_touched.clear()
        self._dirty.clear()
        self._deleted.clear()
        self.events.clear()

    # ------------------------------------------------ a state kept between runs
    # The runner may keep a cluster's state in memory from one reconcile pass to the next instead of
    # loading it again (clusters/sim/reconcile.py). These two keep it equal to what a fresh load would give.

    def commit_written(self, sims: Iterable[str] | None = None) -> None:
        """commit() for a state whose every change went through create/update/delete and was persisted just
        now: only the objects written are serialised again, and with `sims` (the uids whose notes
        sim_changes() reported) only those notes are snapshotted again. Cost grows with what changed.

        What was written is read back from its JSON, as a load would read it (a tuple a controller put in an
        object or its notes is a list once stored): the kept state is the stored one, types included."""
        loads = jsontext.loads
        for key in self._dirty:
            obj = self._objects.get(key)
            if obj is not None:
                text = object_text(obj)
                self._stored[key] = text_digest(text)
                self._unindex(key, obj)
                obj = self._objects[key] = loads(text)
                if self._shares_strings:
                    jsontext.share_strings(obj)
                self._index(key, obj)
        for key in self._deleted:
            if key not in self._objects:
                self._stored.pop(key, None)
        for uid in self._sims if sims is None else sims:
            notes = self._sims.get(uid)
            if notes is None:
                self._sims_original.pop(uid, None)
            else:
                notes = self._sims[uid] = loads(jsontext.dumps(notes))
                self._sims_original[uid] = _snapshot(notes)
        if sims is None:
            for uid in [uid for uid in self._sims_original if uid not in self._sims]:
                del self._sims_original[uid]
        self._sims_touched.clear()
        self._events_by_signature = None   # it holds the Events as they were before being read back
        self.writes += 1                   # per-state memos hold the objects as they were, too
        self._dirty.clear()
        self._deleted.clear()
        self.events.clear()
        self._event_seq = 0   # Event names as a fresh load's run would draw them (same state + now = same names)

    def share_strings(self) -> None:
        """Make equal strings in the objects one string (jsontext.share_strings), now and in every object read
        back later (commit_written, take_stored): for a state kept between passes, which it makes a quarter
        smaller. Not on every state: it costs about what reading the objects did."""
        if not self._shares_strings:
            for obj in self._objects.values():
                if type(obj) is dict:
                    jsontext.share_strings(obj)
            self._shares_strings = True

    def take_stored(self, stored: Iterable[tuple[str, dict, str]]) -> None:
        """Take on writes made to the store by others since this state was committed: (event, object, its
        stored JSON) in resourceVersion order, as the change log has them. Afterwards the state is what a
        fresh load would give: nothing is recorded as changed, an object gone (or replaced by another of the
        same name) takes its notes with it, and per-state memos keyed on `writes` see a new state."""
        if self._dirty or self._deleted:
            raise RuntimeError("take_stored() on a state with unpersisted changes")
        for event, obj, text in stored:
            key = key_of(obj)
            previous = self._live(key)
            if previous is not None:
                del self._objects[key]
                self._unindex(key, previous)
                uid = previous["metadata"].get("uid", "")
                if event == "DELETED" or obj["metadata"].get("uid", "") != uid:
                    self._sims.pop(uid, None)
                    self._sims_original.pop(uid, None)
            self._stored.pop(key, None)
            if event != "DELETED":
                self._objects[key] = jsontext.share_strings(obj) if self._shares_strings else obj
                self._stored[key] = text_digest(text)
                self._index(key, obj)
            self._written(key, previous)
        self._events_by_signature = None
        self.writes += 1

    def take_notes(self, notes: Iterable[tuple[Key, str, str]]) -> None:
        """Take on private notes written to the store by others since this state was committed: (key, uid,
        stored JSON) of each object whose notes were written, as they are stored now (after take_stored, for
        the objects as they are now). Notes of an object this state does not hold under that uid (deleted or
        replaced since) are not taken. The loop then runs every controller once (loop.forget, the caller's):
        it cannot tell what others' notes changed."""
        if self._dirty or self._deleted or self._sims_touched:
            raise RuntimeError("take_notes() on a state with unpersisted changes")
        loads = jsontext.loads
        for key, uid, text in notes:
            if self._by_uid.get(uid) != key:   # (read from the index: a frozen object stays frozen)
                continue
            if text == "{}":
                self._sims.pop(uid, None)
                self._sims_original.pop(uid, None)
            else:
                notes_now = self._sims[uid] = loads(text)
                self._sims_original[uid] = _snapshot(notes_now)
        self.writes += 1
