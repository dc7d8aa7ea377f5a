"""Who runs the control loops: Celery workers (classroom) or the server process itself (embedded).

`request_reconcile(cluster_id)` is called after an API write commits. With
REDIS_URL set it enqueues the Celery task (beat's sweeper covers wake-ups and
lost messages). Without it, the `serve` process runs `EmbeddedRunner`: the same
reconcile service, driven in-process, so `make run` needs no Redis.
"""
from __future__ import annotations

import asyncio
import logging
import threading

from asgiref.sync import sync_to_async
from django.conf import settings

log = logging.getLogger(__name__)


def celery_mode() -> bool:
    return bool(settings.REDIS_URL) and not settings.PLAYGROUND["EMBEDDED_LOOP"]


class EmbeddedRunner:
    """Reconciles dirty and due clusters in the server's event loop, one at a time."""

    POLL_SECONDS = 0.2  # how often due wake-ups are looked for when nothing else happens

    def __init__(self) -> None:
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

        self._loop = asyncio.get_running_loop()
        self._wakeup = asyncio.Event()
        reconcile = sync_to_async(cluster_reconcile)
        due = sync_to_async(clusters_due)
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
            except Exception:  # one broken cluster must not stop the simulation of the others
                log.exception("embedded reconcile failed")
                await asyncio.sleep(1)


_embedded: EmbeddedRunner | None = None


def embedded_runner() -> EmbeddedRunner:
    global _embedded
    if _embedded is None:
        _embedded = EmbeddedRunner()
    return _embedded


def request_reconcile(cluster_id) -> None:
    if celery_mode():
        from clusters.sim.tasks import reconcile_cluster

        reconcile_cluster.delay(str(cluster_id))
    elif _embedded is not None:
        _embedded.request(str(cluster_id))
    # Neither (a management command, a test without a runner): the sweeper or the next
    # server start picks the cluster up through its next_wake.
