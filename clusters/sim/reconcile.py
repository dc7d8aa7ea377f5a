"""Running the simulation for one cluster: lock → load snapshot → engine.step → persist diff → publish.

One transaction per pass: a worker killed half-way leaves the database as it
was, and the sweeper picks the cluster up again (its next_wake was pushed only
a little into the future when it was handed out). The cluster row's lock
(SELECT … FOR UPDATE) is the per-cluster lock: API writes and reconcile passes
of one cluster take turns, so the snapshot the engine sees is consistent.
"""
from __future__ import annotations

import json
import random
import time
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from clusters.apiserver.pipeline import engine_state
from clusters.engine.loop import step
from clusters.engine.state import ClusterState, key_of
from clusters.models import Cluster
from clusters.store import notify
from clusters.store.database import DbStore, dumps

MAX_PASSES_PER_TASK = 5   # immediate wake-ups handled in the same task before handing back
LEASE_SECONDS = 30.0      # a handed-out cluster is retried after this if its worker vanished
                          # (default of settings.PLAYGROUND["LEASE_SECONDS"], PLAYGROUND_LEASE_SECONDS)


@dataclass
class ReconcileReport:
    cluster_id: str
    changes: int = 0
    sim_changes: int = 0
    passes: int = 0
    next_wake: float | None = None   # wall clock
    seconds: float = 0.0
    resource_version: int | None = None


def _persist(store: DbStore, state: ClusterState, result) -> tuple[int, int]:
    sims = result.sim_changes
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


def load_state(cluster: Cluster, store: DbStore, *, now: float | None = None) -> ClusterState:
    """The engine's view of a cluster: its snapshot and the simulation's notes at its simulated now.

    Reconcile passes run the loops over it; readers (`kubectl logs`, `exec`) replay containers from it
    without writing anything back.
    """
    objects, sims, texts = store.snapshot(with_texts=True)
    now = cluster.sim_now() if now is None else now
    rng = random.Random(f"engine:{cluster.seed}:{cluster.resource_version}")
    state = engine_state(objects, now=now, seed=rng.getrandbits(64), rng=rng, sims=sims, texts=texts)
    state.config["start_delays"] = settings.PLAYGROUND["START_DELAYS"]
    return state


def cluster_reconcile(cluster_id: uuid.UUID | str) -> ReconcileReport:
    """Run the control loops of one cluster up to its simulated now and persist what changed."""
    started = time.perf_counter()
    report = ReconcileReport(str(cluster_id))
    with transaction.atomic():
        cluster = Cluster.objects.select_for_update().filter(pk=cluster_id).first()
        if cluster is None:
            return report
        store = DbStore(cluster, locked=True)  # the row lock above is the store's write lock
        state = load_state(cluster, store)
        now = state.now
        result = None
        for round_ in range(MAX_PASSES_PER_TASK):
            if round_:
                state.commit()  # only before another step: it re-serialises every object
            result = step(state, now)
            report.passes += result.passes
            changes, sim_changes = _persist(store, state, result)
            report.changes += changes
            report.sim_changes += sim_changes
            now = cluster.sim_now()
            if result.next_wake is None or result.next_wake > now:
                break
        wake_sim = result.next_wake if result else None
        report.next_wake = cluster.wall_time(max(wake_sim, now)) if wake_sim is not None else None
        report.resource_version = store.finish()
        if report.next_wake != cluster.next_wake:  # an idle pass writes nothing at all
            Cluster.objects.filter(pk=cluster.pk).update(next_wake=report.next_wake)
        if report.resource_version is not None:
            rv = report.resource_version
            transaction.on_commit(lambda: notify.cluster_changed(cluster.pk, rv))
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
