"""Running the simulation for one cluster: read → state (kept or loaded) → engine.step → commit if unchanged.

A pass steps without holding any lock and commits optimistically:

1. It reads the cluster's row (no lock, no transaction): resourceVersion, notes_version, seed and clock.
2. It takes the cluster's state: the one this worker kept from its last pass of the cluster when it is still
   valid, brought up to date from the change log when only the API wrote since (below), else loaded.
3. It steps the engine over it at the simulated now of the clock it read.
4. In one short transaction it locks the row (SELECT … FOR UPDATE) and writes what changed, unless what it
   read in 1 moved meanwhile in a way it must not commit over: the notes_version (`kubectl exec`'s files, a
   node's fail/recover switch, another pass's commit, which always moves it), the clock (speed, pause,
   advance, stop/start) or the seed (a reset) — or API writes that collide with what the pass wrote (the
   same object, or the namespace it creates in: _api_writes_since). API writes that do not collide are
   committed over, as a real controller acting on its lagging cache does, and the next pass, run at once
   from the kept state, acts on them. Otherwise it throws the stepped state away (the engine mutates it in
   place) and tries again from 1; after OPTIMISTIC_TRIES lost races it runs the pass under the row lock, as
   every pass once did, so a cluster whose every pass collides still progresses.

So an API write waits for a pass's commit at most, never for its stepping. The commit is one transaction:
a worker killed at any point leaves the database as it was, and the sweeper picks the cluster up again
(its next_wake was pushed only a little into the future when it was handed out). resourceVersions are taken
under the row lock, so the change log, and the watches reading it, see every write once and in order.

States kept between passes. Each worker process keeps the state of the clusters it reconciled lately (an
LRU of KEEP_STATES clusters holding at most KEEP_OBJECTS objects in all; PLAYGROUND_KEEP_STATES and
PLAYGROUND_KEEP_OBJECTS, 0 keeps none), valid for the (resourceVersion, notes_version, seed) it was committed
at, so an idle pass neither reads nor rebuilds the cluster's objects. When only the resourceVersion moved,
the state takes on the change log since then (ClusterState.take_stored) rather than being loaded again: the
log holds every object written, as stored, in order (the very text a load would read), and the API, the
only other writer of objects, never writes notes (an object it deletes or replaces takes its notes with it,
as its row does). When the notes_version moved too (a pass of another process of the pool, which takes the
cluster's tasks in turn with this one; `kubectl exec`'s notes; a node's switch), the state also takes the
notes of the rows stamped since (ApiObject.notes_version: every writer of notes stamps the rows it writes
with the notes_version its commit moves the cluster to) and runs every controller once, as after a load:
under a class's load, loading the state again on every such pass was a quarter of the worker's time. A log
that does not cover the gap (trimmed, reset), a long one (a load is cheaper) or another seed mean a load. A
pass that fails or loses its race drops the state; so does eviction. A state no pass used for
KEEP_HOT_SECONDS is frozen (ClusterState.freeze: objects held as their stored texts, compressed, until read),
and one no pass used for KEEP_SECONDS dropped: what an idle cluster costs a worker shrinks, then goes.
"""
from __future__ import annotations

import json
import os
import random
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction

from clusters.apiserver.pipeline import engine_state
from clusters.engine import jsontext
from clusters.engine.loop import forget, step
from clusters.engine.state import ClusterState, key_of
from clusters.models import ApiObject, Change, Cluster
from clusters.store import notify
from clusters.store.database import DbStore, dumps
from clusters.store.rows import Select, for_update

MAX_PASSES_PER_TASK = 5   # immediate wake-ups handled in the same task before handing back
LEASE_SECONDS = 30.0      # a handed-out cluster is retried after this if its worker vanished
                          # (default of settings.PLAYGROUND["LEASE_SECONDS"], PLAYGROUND_LEASE_SECONDS)
OPTIMISTIC_TRIES = 3      # passes whose commit found the cluster moved, before one runs under the lock
KEEP_STATES = 256         # clusters whose state a worker keeps between passes (PLAYGROUND_KEEP_STATES): a
                          # class's; with 64, a class of 150 had most passes load their cluster afresh
                          # (each pool process sees every cluster), 14% of the worker's CPU
KEEP_OBJECTS = 100_000    # objects those states hold in all, at most (PLAYGROUND_KEEP_OBJECTS)
KEEP_SECONDS = 300.0      # a state no pass used for this long is dropped: an idle cluster costs a worker nothing
                          # (PLAYGROUND_KEEP_SECONDS)
KEEP_HOT_SECONDS = 120.0  # a state no pass used for this long is frozen (ClusterState.freeze: its objects held as
                          # their texts, compressed, a third of the memory; a pass decodes what it reads):
                          # a learner reading a lesson leaves a small state. Not much less: each pool process
                          # sees a cluster's passes in turn, so a state one process has not used for half a
                          # minute is often in use in the other, and each freeze costs an encoding (~4 ms for
                          # 200 objects) and the next pass its decoding (PLAYGROUND_KEEP_HOT_SECONDS)
ABSORB_WRITES = 200       # API writes made during a pass that it may commit over; more: it steps again

# What a pass read that its commit requires unchanged (the clock: times and wake-ups were computed with it).
GUARD = ("resource_version", "notes_version", "seed", "sim_base", "wall_base", "speed", "paused", "stopped")

# A pass's reads, by SQL written once (store/rows.py): the cluster's row, its guard under the row lock, and
# the change log since a resourceVersion. As querysets they were a fifth of the worker's time under a class's
# load (py-spy, 200 learners).
_PK, _CHANGE = Cluster._meta.pk, Change._meta.get_field
_CLUSTER = Select(Cluster, "WHERE {table}.id = %s", [_PK])
_CLUSTER_LOCKED = Select(Cluster, "WHERE {table}.id = %s FOR UPDATE", [_PK])
_GUARD = Select(Cluster, "WHERE {table}.id = %s", [_PK], columns=GUARD)
_GUARD_LOCKED = Select(Cluster, "WHERE {table}.id = %s FOR UPDATE", [_PK], columns=GUARD)
_LOG_TAIL = ("WHERE {table}.cluster_id = %s AND {table}.resource_version > %s AND {table}.resource_version <= %s "
             "ORDER BY {table}.resource_version")
_LOG_PARAMS = [_CHANGE("cluster"), _CHANGE("resource_version"), _CHANGE("resource_version")]
_LOG = Select(Change, _LOG_TAIL, _LOG_PARAMS, columns=("resource_version", "type", "data"))
_LOG_KEYED = Select(Change, _LOG_TAIL, _LOG_PARAMS,
                    columns=("resource_version", "type", "kind", "namespace", "name", "data"))
_OBJECT_FIELD = ApiObject._meta.get_field
_NOTES_SINCE = Select(ApiObject, "WHERE {table}.cluster_id = %s AND {table}.notes_version > %s",
                      [_OBJECT_FIELD("cluster"), _OBJECT_FIELD("notes_version")],
                      columns=("kind", "namespace", "name", "uid", "sim"))


@dataclass
class ReconcileReport:
    cluster_id: str
    changes: int = 0
    sim_changes: int = 0
    passes: int = 0
    next_wake: float | None = None   # wall clock
    seconds: float = 0.0
    resource_version: int | None = None
    conflicts: int = 0               # commits that found the cluster moved since it was read (redone)
    locked: int = 0                  # passes run under the row lock after OPTIMISTIC_TRIES conflicts
    absorbed: int = 0                # API writes a pass committed over (made after it read the cluster)
    states: list[str] = field(default_factory=list)   # per pass: "kept", "log" (kept + change log), "loaded"


def _persist(store: DbStore, state: ClusterState, result) -> tuple[int, int]:
    sims = dict(result.sim_changes)
    items = []
    for event, obj in result.changes:
        uid = obj["metadata"].get("uid", "")
        sim = sims.pop(uid, None)
        items.append((event, obj, dumps(sim) if sim is not None else None))
    # A pass writes hundreds of rows when a Deployment scales up: in a few statements, not two per row.
    store.write_many(items)
    notes_only = []
    for uid, notes in sims.items():
        obj = state.by_uid(uid)
        if obj is not None and notes is not None:
            notes_only.append((*key_of(obj), dumps(notes)))
    store.set_sims(notes_only)
    return len(items), len(result.sim_changes)


def _build_state(cluster: Cluster, objects, sims, texts, now: float) -> tuple[ClusterState, random.Random]:
    rng = random.Random(f"engine:{cluster.seed}:{cluster.resource_version}")
    state = engine_state(objects, now=now, seed=rng.getrandbits(64), rng=rng, sims=sims, texts=texts)
    state.config["start_delays"] = settings.PLAYGROUND["START_DELAYS"]
    return state, rng


def load_state(cluster: Cluster, store: DbStore, *, now: float | None = None) -> ClusterState:
    """The engine's view of a cluster: its snapshot and the simulation's notes at its simulated now.

    Reconcile passes run the loops over it; readers (`kubectl logs`, `exec`) replay containers from it
    without writing anything back.
    """
    objects, sims, texts = store.snapshot(with_texts=True)
    return _build_state(cluster, objects, sims, texts, cluster.sim_now() if now is None else now)[0]


# ----------------------------------------------------------------------------------- a new cluster's boot

BOOT_SECONDS = 15.0   # how long ago a new cluster was made, as kind takes 12–17 s to make one
BOOT_STEPS = 60       # engine steps a boot may take (a few suffice: nodes, then the system pods' start)


def cluster_boot(objects: list[dict], *, seed: int, start: float, until: float) -> tuple[list[dict], dict[str, dict]]:
    """A new cluster's objects (made at simulated `start`) as they stand once it has booted: the engine run over
    them in memory until every node is Ready and every kube-system pod runs with all its containers ready (or
    simulated time reaches `until`), and the simulation's notes by uid. `kind create cluster` returns a cluster
    in that state, and so the page's create action does: in one step of a few tens of milliseconds, instead of
    the reconcile passes' seconds of simulated image pulls and container starts after the learner's click.
    The timestamps are those of a cluster made at `start`, so BOOT_SECONDS before `until` (its now)."""
    rng = random.Random(f"engine:{seed}:boot")
    state = engine_state(objects, now=start, seed=rng.getrandbits(64), rng=rng)
    state.config["start_delays"] = settings.PLAYGROUND["START_DELAYS"]
    notes: dict[str, dict | None] = {}
    now = start
    for _ in range(BOOT_STEPS):
        result = step(state, now)
        notes.update(result.sim_changes)
        state.commit_written(result.sim_changes)
        if _booted(state) or result.next_wake is None or result.next_wake > until:
            break
        # After the first step (the controllers create the system pods, the scheduler binds them), one step at
        # `until` finds every image pull and container start of the kubelets' timelines due.
        now = until if now == start else max(now, result.next_wake)
    found = state.all_objects()
    uids = {obj["metadata"]["uid"] for obj in found}
    return found, {uid: note for uid, note in notes.items() if note and uid in uids}


def _booted(state: ClusterState) -> bool:
    def ready(obj: dict, kind: str) -> bool:
        status = obj.get("status") or {}
        if kind == "Pod" and (status.get("phase") != "Running" or not all(
                c.get("ready") for c in status.get("containerStatuses") or [{}])):
            return False
        return any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or ())

    return all(ready(node, "Node") for node in state.list("Node")) and \
        all(ready(pod, "Pod") for pod in state.list("Pod", "kube-system"))


# ---------------------------------------------------------------------------- states kept between passes

@dataclass
class _Kept:
    state: ClusterState
    rng: random.Random      # the preparer's generator: seeded again for each pass, as a load seeds a new one
    resource_version: int
    notes_version: int
    seed: int
    objects: int
    kept_at: float = 0.0    # time.monotonic() when a pass last kept it
    frozen: bool = False    # frozen since (tidy_kept_states)


_kept: OrderedDict[str, _Kept] = OrderedDict()
_kept_lock = threading.Lock()


def _limits() -> tuple[int, int]:
    return (int(os.environ.get("PLAYGROUND_KEEP_STATES", KEEP_STATES)),
            int(os.environ.get("PLAYGROUND_KEEP_OBJECTS", KEEP_OBJECTS)))


def _tidy(hot_seconds: float | None = None) -> None:
    """Drop the states no pass used for KEEP_SECONDS and freeze those no pass used for `hot_seconds`
    (KEEP_HOT_SECONDS if None). Least recently used first; the caller holds the lock."""
    now = time.monotonic()
    horizon = now - float(os.environ.get("PLAYGROUND_KEEP_SECONDS", KEEP_SECONDS))
    while _kept and next(iter(_kept.values())).kept_at < horizon:
        _kept.popitem(last=False)
    if hot_seconds is None:
        hot_seconds = float(os.environ.get("PLAYGROUND_KEEP_HOT_SECONDS", KEEP_HOT_SECONDS))
    for kept in _kept.values():
        if kept.kept_at >= now - hot_seconds:
            break
        if not kept.frozen:
            kept.state.freeze()
            kept.frozen = True


def tidy_kept_states(*, hot_seconds: float | None = None) -> None:
    """What every pass does to the kept states first: drop the long-unused, freeze the idle (`hot_seconds`:
    unused for this long; KEEP_HOT_SECONDS if None). For benchmarks and tests that look at a kept state."""
    with _kept_lock:
        _tidy(hot_seconds)


def _take_kept(cluster_id: str) -> _Kept | None:
    """The kept state of a cluster, out of the cache: a pass owns it until it keeps it again."""
    with _kept_lock:
        _tidy()
        return _kept.pop(cluster_id, None)


def _keep(cluster_id: str, kept: _Kept) -> None:
    states, objects = _limits()
    kept.kept_at = time.monotonic()
    keeps = 0 < states and kept.objects <= objects
    if keeps:
        kept.state.share_strings()   # it may stay for minutes: a quarter less memory for one walk over it
    with _kept_lock:
        _tidy()
        if keeps:
            _kept[cluster_id] = kept
        total = sum(k.objects for k in _kept.values())
        while len(_kept) > states or total > objects:
            _, evicted = _kept.popitem(last=False)
            total -= evicted.objects


def kept_states() -> dict[str, int]:
    """The clusters whose state this process keeps, with their objects (least recently used first)."""
    with _kept_lock:
        return {cluster_id: kept.objects for cluster_id, kept in _kept.items()}


def forget_states() -> None:
    """Drop every kept state (tests; a process that changed the database behind the passes' back)."""
    with _kept_lock:
        _kept.clear()


def _log_since(cluster: Cluster, since: int) -> list[tuple[str, dict, str]] | None:
    """The change log after `since` up to the cluster's resourceVersion as (event, object, stored JSON), or
    None when it does not hold every write in between (trimmed, reset) or a load is cheaper."""
    upto = cluster.resource_version
    if cluster.compacted_resource_version > since or upto - since > 500:
        return None
    rows = _LOG.all(cluster.pk, since, upto)
    if [rv for rv, _, _ in rows] != list(range(since + 1, upto + 1)):
        return None
    return [(event, jsontext.loads(data), data) for _, event, data in rows]


def _notes_since(cluster: Cluster, since: int) -> list[tuple[tuple[str, str, str], str, str]]:
    """The notes written since the cluster's notes_version was `since`, as stored now: (key, uid, JSON)."""
    return [((kind, namespace, name), str(uid), sim)
            for kind, namespace, name, uid, sim in _NOTES_SINCE.all(cluster.pk, since)]


def _state_for(cluster: Cluster, report: ReconcileReport) -> tuple[ClusterState, random.Random]:
    key = str(cluster.pk)
    kept = _take_kept(key)
    how = "loaded"
    if kept is not None and kept.seed == cluster.seed and kept.resource_version <= cluster.resource_version \
            and kept.notes_version <= cluster.notes_version:
        if kept.resource_version == cluster.resource_version and kept.notes_version == cluster.notes_version:
            how = "kept"
        else:
            stored = _log_since(cluster, kept.resource_version) \
                if kept.resource_version < cluster.resource_version else []   # only the notes moved
            if stored is not None:
                kept.state.take_stored(stored)
                how = "log"
                if kept.notes_version < cluster.notes_version:
                    # Notes written since (another process's pass, `kubectl exec`, a node's switch): read
                    # back from the rows stamped since, and every controller runs once, as after a load.
                    kept.state.take_notes(_notes_since(cluster, kept.notes_version))
                    forget(kept.state)
                    how = "notes"
    report.states.append(how)
    if how == "loaded":
        objects, sims, texts = DbStore(cluster).snapshot(with_texts=True)
        return _build_state(cluster, objects, sims, texts, cluster.sim_now())
    # As a load would: the generators seeded from this resourceVersion, the settings as they are now.
    kept.rng.seed(f"engine:{cluster.seed}:{cluster.resource_version}")
    kept.state.rng.seed(kept.rng.getrandbits(64))
    kept.state.config["start_delays"] = settings.PLAYGROUND["START_DELAYS"]
    return kept.state, kept.rng


# ----------------------------------------------------------------------------------------- one pass

_GONE, _DONE, _AGAIN, _LOST = "gone", "done", "again", "lost"


def _guard(cluster: Cluster) -> tuple:
    return tuple(getattr(cluster, name) for name in GUARD)


def _api_writes_since(cluster: Cluster, current: tuple, state: ClusterState, result,
                      sims: list[str]) -> list[tuple[str, dict, str]] | None:
    """What the API wrote since the pass read `cluster` (the row now reads `current`), as (event, object, stored
    JSON) for the kept state, when the pass may commit over it; None when it must not (a lost race).

    Under a steady stream of API writes a pass that required the whole cluster unchanged always lost and,
    after OPTIMISTIC_TRIES, stepped under the row lock, holding every API write behind a whole engine step
    (seconds on a 1,500-object cluster). Controllers are level-based and real ones act on a cache that lags
    the API too: what a pass did is kept unless it collides with what the API wrote meanwhile — the same
    object (a write, a delete, its notes), the namespace a pass creates in (terminating, or its quotas and
    LimitRanges, which admitted the pass's creates) — and the next pass (the caller runs one at once) acts
    on the API's writes. Only the API can have written: every other writer (another pass, a node's switch,
    `kubectl exec`'s notes, the clock, a reset) moves notes_version, the seed or the clock, which must not
    have moved.
    """
    read = _guard(cluster)
    if current[1:] != read[1:]:
        return None
    since, upto = read[0], current[0]
    if upto - since > ABSORB_WRITES:
        return None
    rows = _LOG_KEYED.all(cluster.pk, since, upto)
    if [row[0] for row in rows] != list(range(since + 1, upto + 1)):
        return None   # trimmed, or not all committed yet: no way to tell what moved
    written = {key_of(obj) for _, obj in result.changes}
    for uid in sims:
        obj = state.by_uid(uid)
        if obj is not None:
            written.add(key_of(obj))
    creating = {obj["metadata"].get("namespace", "") for event, obj in result.changes if event == "ADDED"}
    creating.discard("")
    for _, _, kind, namespace, name, _ in rows:
        if (kind, namespace, name) in written:
            return None
        if kind == "Namespace" and name in creating:
            return None
        if namespace in creating and (kind in ("ResourceQuota", "LimitRange")
                                      or state.list("ResourceQuota", namespace)
                                      or state.list("LimitRange", namespace)):
            return None
    return [(event, jsontext.loads(data), data) for _, event, _, _, _, data in rows]


def _pass(cluster_id: str, report: ReconcileReport, *, locked: bool, between: Callable[[], None] | None) -> str:
    """One pass: step the cluster's state and commit it unless what it read moved meanwhile in a way it must
    not commit over (_LOST; see _api_writes_since). `locked`: hold the row lock from the read to the commit
    (and never pause: `between` is for a pass that holds nothing)."""
    absorbed: list[tuple[str, dict, str]] = []
    with transaction.atomic() if locked else nullcontext():
        cluster = (for_update(_CLUSTER_LOCKED, _CLUSTER) if locked else _CLUSTER).one(cluster_id)
        if cluster is None:
            return _GONE
        guard = _guard(cluster)
        state, rng = _state_for(cluster, report)
        now = cluster.sim_now()
        result = step(state, now, between=None if locked else between)
        report.passes += result.passes
        wake_sim = result.next_wake
        wake = cluster.wall_time(max(wake_sim, now)) if wake_sim is not None else None
        sims = list(result.sim_changes)
        rv, notes_version = cluster.resource_version, cluster.notes_version
        if result.changes or sims or wake != cluster.next_wake:  # an idle pass writes nothing at all
            with transaction.atomic():
                current = for_update(_GUARD_LOCKED, _GUARD).one(cluster.pk)
                if current is None:
                    return _GONE
                if current != guard:
                    found = _api_writes_since(cluster, current, state, result, sims)
                    if found is None:
                        report.conflicts += 1
                        return _LOST   # the stepped state is dropped: it was taken out of the cache
                    absorbed = found
                    report.absorbed += len(found)
                    rv = cluster.resource_version = current[0]   # the pass's writes come after the API's
                store = DbStore(cluster, locked=True)   # the row lock above is the store's write lock
                changes, sim_changes = _persist(store, state, result)
                report.changes += changes
                report.sim_changes += sim_changes
                if store.written:
                    # Another pass that read the cluster before this commit must not commit over it
                    # (_api_writes_since lets a pass commit over the API's writes only).
                    store.notes_written = True
                written = store.finish()
                if wake != cluster.next_wake:
                    Cluster.objects.filter(pk=cluster.pk).update(next_wake=wake)
                if written is not None:
                    rv = written
                    transaction.on_commit(lambda: notify.cluster_changed(cluster.pk, written))
                if store.notes_written:
                    notes_version += 1
            report.resource_version = written if written is not None else report.resource_version
        state.commit_written(sims)
        if absorbed:
            state.take_stored(absorbed)   # now the state is what the database holds at `rv`
        _keep(str(cluster.pk), _Kept(state, rng, rv, notes_version, cluster.seed, state.object_count()))
        report.next_wake = wake
    if absorbed or (wake_sim is not None and wake_sim <= cluster.sim_now()):
        return _AGAIN   # absorbed: the API's writes get their pass now, from the state just kept
    return _DONE


def cluster_reconcile(cluster_id: uuid.UUID | str, *, between: Callable[[], None] | None = None) -> ReconcileReport:
    """Run the control loops of one cluster up to its simulated now and persist what changed. `between`: called
    before each controller of a pass that holds no lock (engine.loop.step), to let other work go first."""
    started = time.perf_counter()
    report = ReconcileReport(str(cluster_id))
    for _ in range(MAX_PASSES_PER_TASK):
        outcome = _LOST
        for _ in range(OPTIMISTIC_TRIES):
            outcome = _pass(str(cluster_id), report, locked=False, between=between)
            if outcome != _LOST:
                break
        if outcome == _LOST:   # a busy cluster: this pass holds the lock from its read to its commit
            report.locked += 1
            outcome = _pass(str(cluster_id), report, locked=True, between=between)
        if outcome != _AGAIN:
            break
    report.seconds = time.perf_counter() - started
    return report


def clusters_due(limit: int = 500) -> list[str]:
    """Clusters whose wake-up time has come; each is leased for LEASE_SECONDS so it is handed out once."""
    lease = settings.PLAYGROUND.get("LEASE_SECONDS", LEASE_SECONDS)
    now = time.time()
    with transaction.atomic():
        due = list(Cluster.objects.select_for_update(skip_locked=True)
                   .filter(next_wake__isnull=False, next_wake__lte=now)
                   .order_by("next_wake").values_list("pk", flat=True)[:limit])
        if due:
            Cluster.objects.filter(pk__in=due).update(next_wake=now + lease)
    return [str(pk) for pk in due]


def describe(report: ReconcileReport) -> str:
    return json.dumps(report.__dict__)
