"""Who runs the control loops: Celery workers (classroom) or the server process itself (embedded).

`request_reconcile(cluster_id)` is called after an API write commits. With
REDIS_URL set it enqueues the Celery task (beat's sweeper covers wake-ups and
lost messages). Without it, the `serve` process runs `EmbeddedRunner`: the same
reconcile service, driven in-process, so `make run` needs no Redis.

Stopped clusters (retention, at the end of this module) are skipped by both.
"""
from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from clusters import config
from clusters.store import notify

log = logging.getLogger(__name__)


def celery_mode() -> bool:
    return bool(settings.REDIS_URL) and not settings.PLAYGROUND["EMBEDDED_LOOP"]


class ApiAtWork:
    """The API requests this process is at work on, so that embedded passes give way to them.

    In embedded mode the passes run in a thread of the server process. Beside the passes of a big cluster, a
    request's thread got the interpreter back only at the GIL's switch interval after each of its database
    calls and thread hops: a list of 170 ConfigMaps took a median 23 ms and a p95 of 90 ms
    (bench/api_latency.py --backend sqlite), where the same list takes 6 ms with the passes in another
    process. Now a pass waits before each controller while a request is at work, at most GIVE_WAY_SECONDS
    at a time: a stream of requests slows the simulation down but never stops it.
    """

    GIVE_WAY_SECONDS = 0.05

    def __init__(self) -> None:
        self._count = 0
        self._lock = threading.Lock()
        self._idle = threading.Event()
        self._idle.set()

    @contextlib.contextmanager
    def working(self) -> Iterator[None]:
        with self._lock:
            self._count += 1
            self._idle.clear()
        try:
            yield
        finally:
            with self._lock:
                self._count -= 1
                if not self._count:
                    self._idle.set()

    def give_way(self) -> None:
        """Wait while a request is at work (not at all when none is: one attribute read)."""
        if self._count:
            self._idle.wait(self.GIVE_WAY_SECONDS)


api_at_work = ApiAtWork()


class EmbeddedRunner:
    """Reconciles dirty and due clusters in the server's event loop, one at a time."""

    POLL_SECONDS = 0.2  # how often due wake-ups are looked for when nothing else happens

    def __init__(self) -> None:
        self._retire_at = 0.0   # loop time of the next application of the retention rule
        self._compact_at = 0.0  # loop time of the next round of change-log compaction
        self._dirty: set[str] = set()
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wakeup: asyncio.Event | None = None

    def request(self, cluster_id: str) -> None:
        """Thread-safe: mark a cluster for a pass as soon as possible."""
        with self._lock:
            self._dirty.add(str(cluster_id))
        if self._loop is not None and self._wakeup is not None:
            self._loop.call_soon_threadsafe(self._wakeup.set)

    async def run(self) -> None:
        from clusters.sim.reconcile import cluster_reconcile, clusters_due
        from clusters.store.compaction import compact_change_logs

        self._loop = asyncio.get_running_loop()
        self._wakeup = asyncio.Event()
        # The passes run in a thread of their own, not on the one thread Django shares for sync code, where
        # the API's requests run in embedded mode: each request there waited for whole passes (seconds on a
        # 1,500-object cluster). It keeps its own database connection (closed when obsolete or broken).
        # A shorter GIL switch interval hands the interpreter back to a request thread that waits for it
        # (after each database call) within 1 ms of a running pass, not 5.
        sys.setswitchinterval(min(sys.getswitchinterval(), 0.001))
        own = {"thread_sensitive": False, "executor": ThreadPoolExecutor(1, thread_name_prefix="reconcile")}
        reconcile = database_sync_to_async(functools.partial(cluster_reconcile, between=api_at_work.give_way),
                                           **own)
        due = database_sync_to_async(lambda: skip_stopped(clusters_due()), **own)
        retire = database_sync_to_async(clusters_retire, **own)
        compact = database_sync_to_async(compact_change_logs, **own)
        while True:
            try:
                await asyncio.wait_for(self._wakeup.wait(), self.POLL_SECONDS)
            except TimeoutError:
                pass
            self._wakeup.clear()
            with self._lock:
                todo, self._dirty = self._dirty, set()
            try:
                todo.update(await due())
                for cluster_id in sorted(todo):
                    await reconcile(cluster_id)
                if self._loop.time() >= self._retire_at:
                    self._retire_at = self._loop.time() + config.retention_seconds()
                    await retire()
                if self._loop.time() >= self._compact_at and config.compaction_seconds() > 0:
                    self._compact_at = self._loop.time() + config.compaction_seconds()
                    await compact()
            except Exception:  # one broken cluster must not stop the simulation of the others
                log.exception("embedded reconcile failed")
                await asyncio.sleep(1)


_embedded: EmbeddedRunner | None = None


def embedded_runner() -> EmbeddedRunner:
    global _embedded
    if _embedded is None:
        _embedded = EmbeddedRunner()
    return _embedded


def request_reconcile(cluster_id, *, running: bool = False) -> None:
    """Ask for a reconcile pass of the cluster soon. `running`: the caller knows it is not stopped (it just
    read its row), which spares a query on every API write."""
    if not running and stopped_among([cluster_id]):
        return   # a stopped cluster runs again when its learner comes back (cluster_start)
    if celery_mode():
        from clusters.sim.tasks import reconcile_cluster

        try:
            reconcile_cluster.delay(str(cluster_id))
        except Exception:   # the broker (Redis) is down: what asked is committed, so it must not fail
            log.warning("could not queue a reconcile of cluster %s; the sweeper runs it by its next_wake",
                        cluster_id, exc_info=True)
    elif _embedded is not None:
        _embedded.request(str(cluster_id))
    # Neither (a management command, a test without a runner): the sweeper or the next
    # server start picks the cluster up through its next_wake.


# ----------------------------------------------------------------- retention: idle clusters stop, then go
#
# A cluster nobody used for PLAYGROUND_STOP_IDLE_AFTER is stopped: no reconcile pass runs for it (the sweeper
# and request_reconcile skip it) and its clock is frozen where it stood, as by a pause. Its objects stay
# readable. The learner's next use (an API request with its token, the page's feed, the terminal:
# actions.cluster_touch) starts it: the clock goes on from where it stood and one pass catches up what was
# due then. The hours in between never happen to the cluster — the learner finds it as they left it.
# Replaying them instead would cost a long first pass and fire every CronJob run missed meanwhile.

def stopped_among(cluster_ids) -> set[str]:
    from clusters.models import Cluster

    ids = [str(pk) for pk in cluster_ids]
    if not ids:
        return set()
    return {str(pk) for pk in Cluster.objects.filter(pk__in=ids, stopped__isnull=False).values_list("pk", flat=True)}


def skip_stopped(cluster_ids: list[str]) -> list[str]:
    """The running ones among clusters the sweeper handed out. A stopped one loses its wake-up (a reset or a
    clock change made while it was stopped set one); starting it sets a new one."""
    from clusters.models import Cluster

    stopped = stopped_among(cluster_ids)
    if stopped:
        Cluster.objects.filter(pk__in=stopped).update(next_wake=None)
    return [pk for pk in cluster_ids if str(pk) not in stopped]


def cluster_stop(cluster_id, *, idle_before: datetime | None = None) -> bool:
    """Stop a cluster (see above). With `idle_before`, only if it was not used since then: a learner's use
    racing the retention sweep wins. False when it was not stopped (gone, already stopped, or in use)."""
    from clusters.models import Cluster

    with transaction.atomic():
        cluster = Cluster.objects.select_for_update().filter(pk=cluster_id).first()
        if cluster is None or cluster.stopped is not None:
            return False
        if idle_before is not None and cluster.last_activity >= idle_before:
            return False
        wall = time.time()
        cluster.sim_base = cluster.sim_now(wall)   # re-based, as a pause does: what elapsed is kept
        cluster.wall_base = wall
        cluster.stopped_clock_running = not cluster.paused
        cluster.paused = True
        cluster.stopped = timezone.now()
        cluster.next_wake = None
        cluster.save(update_fields=["sim_base", "wall_base", "stopped_clock_running", "paused", "stopped",
                                    "next_wake"])
    notify.controls_changed(cluster.pk)
    return True


def cluster_start(cluster_id):
    """Start a stopped cluster: its clock resumes (unless its learner had paused it) from where it stood, its
    last activity is now, and a reconcile pass runs at once. Returns the cluster row (None: gone)."""
    from clusters.models import Cluster

    with transaction.atomic():
        cluster = Cluster.objects.select_for_update().filter(pk=cluster_id).first()
        if cluster is None or cluster.stopped is None:
            return cluster
        wall = time.time()
        cluster.sim_base = cluster.sim_now(wall)   # the frozen time
        cluster.wall_base = wall
        if cluster.stopped_clock_running:
            cluster.paused = False
        cluster.stopped = None
        cluster.stopped_clock_running = False
        cluster.last_activity = timezone.now()
        cluster.next_wake = wall
        cluster.save(update_fields=["sim_base", "wall_base", "paused", "stopped", "stopped_clock_running",
                                    "last_activity", "next_wake"])
    notify.controls_changed(cluster.pk)
    request_reconcile(cluster.pk)
    return cluster


@dataclass
class Retirement:
    """What one application of the retention rule did (or, in a dry run, would do)."""

    stopped: list = field(default_factory=list)   # Cluster rows
    deleted: list = field(default_factory=list)


def clusters_retire(*, now: datetime | None = None, dry_run: bool = False) -> Retirement:
    """Apply the retention rule: delete clusters idle past DELETE_IDLE_AFTER, stop those idle past
    STOP_IDLE_AFTER (0: never, for either). Each is checked again as it goes, so a cluster used meanwhile
    is left alone. A dry run changes nothing and reports what would go."""
    from clusters.models import Cluster

    now = timezone.now() if now is None else now
    done = Retirement()
    delete_after, stop_after = config.delete_idle_after(), config.stop_idle_after()
    if delete_after > 0:
        cutoff = now - timedelta(seconds=delete_after)
        doomed = Cluster.objects.select_related("owner").filter(last_activity__lt=cutoff).order_by("last_activity")
        for cluster in doomed:
            if dry_run or Cluster.objects.filter(pk=cluster.pk, last_activity__lt=cutoff).delete()[0]:
                done.deleted.append(cluster)
                log.info("retention: deleted cluster %s (idle since %s)", cluster, cluster.last_activity)
    if stop_after > 0:
        cutoff = now - timedelta(seconds=stop_after)
        gone = [cluster.pk for cluster in done.deleted]
        idle = (Cluster.objects.select_related("owner").filter(stopped__isnull=True, last_activity__lt=cutoff)
                .exclude(pk__in=gone).order_by("last_activity"))
        for cluster in idle:
            if dry_run or cluster_stop(cluster.pk, idle_before=cutoff):
                done.stopped.append(cluster)
                log.info("retention: stopped cluster %s (idle since %s)", cluster, cluster.last_activity)
    return done
