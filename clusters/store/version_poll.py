"""The safety net under the channel layer's wake-ups: one look per process at the clusters it streams.

A cluster's live streams — the pages' sockets (clusters/web/consumer.py), watches (clusters/kubeapi/watch.py),
`logs -f` and terminals (through notify.wakeups) — read their cluster again when Redis says a write committed.
Redis can drop a wake-up (restarting, a network hiccup, a message published while a stream was busy and its
channel expired), so a stream must catch up without one. Each stream used to re-read its change log every
five seconds for that: at 200 learners, 80 database reads a second while nothing changed.

Instead each process looks every POLL_SECONDS at the resourceVersion of every cluster it streams, in one
query, and wakes a stream only when its cluster moved past what the stream has read: the newest of the
resourceVersions its wake-ups named and its reads found (`Subscription.saw`). Healthy, the wake-ups tell
every stream first and the look wakes nobody; when they are lost, a stream learns of the change at the next
look (POLL_SECONDS late, nothing lost: the stream reads the log after what it sent). A cluster deleted wakes
its streams (they find it gone), and so does the first look after the database was unreachable (a read a
stream tried meanwhile may have failed). A new subscription is woken by its first look: a write between the
stream's first read and that look would otherwise wait for the next write.
"""
from __future__ import annotations

import asyncio
import logging
import weakref

from channels.db import database_sync_to_async
from django.db.utils import InterfaceError, OperationalError

from clusters.config import database_threads

log = logging.getLogger(__name__)

POLL_SECONDS = 2.0


class Subscription:
    """One stream's interest in one cluster (subscribe/unsubscribe)."""

    def __init__(self, cluster_id) -> None:
        self.cluster_id = str(cluster_id)
        self.seen = -1                 # the resourceVersion the stream's next read covers at least
        self._moved = asyncio.Event()
        self._poll: _Poll | None = None

    def saw(self, resource_version: int) -> None:
        """The stream's read covers `resource_version` (a wake-up named it, or a read found it)."""
        if resource_version > self.seen:
            self.seen = resource_version

    async def moved(self, timeout: float) -> bool:
        """Wait until a look finds the cluster moved past `seen` (True) or `timeout` seconds pass (False)."""
        try:
            await asyncio.wait_for(self._moved.wait(), timeout)
        except TimeoutError:
            return False
        self._moved.clear()
        return True

    def _wake(self, resource_version: int | None) -> None:
        if resource_version is not None:
            self.saw(resource_version)     # the read the stream does now covers what the look found
        self._moved.set()


def _versions(cluster_ids: list[str]) -> dict[str, int]:
    from clusters.models import Cluster

    return {str(pk): rv for pk, rv in Cluster.objects.filter(pk__in=cluster_ids)
            .values_list("pk", "resource_version")}


class _Poll:
    """The subscriptions of one event loop (a serve process has one) and the task that looks for them."""

    def __init__(self) -> None:
        self.subscriptions: dict[str, set[Subscription]] = {}
        self.task: asyncio.Task | None = None
        self.unreachable = False

    def add(self, subscription: Subscription) -> None:
        self.subscriptions.setdefault(subscription.cluster_id, set()).add(subscription)
        if self.task is None or self.task.done():
            self.task = asyncio.ensure_future(self._run())

    def discard(self, subscription: Subscription) -> None:
        streams = self.subscriptions.get(subscription.cluster_id)
        if streams is not None:
            streams.discard(subscription)
            if not streams:
                del self.subscriptions[subscription.cluster_id]

    async def _run(self) -> None:
        while self.subscriptions:
            await asyncio.sleep(POLL_SECONDS)
            try:
                await self.look()
            except Exception:   # the net must outlive any one look's surprise
                log.exception("the streams' look at their clusters failed")

    async def look(self) -> None:
        cluster_ids = list(self.subscriptions)
        if not cluster_ids:
            return
        try:
            versions = await database_sync_to_async(_versions, **database_threads())(cluster_ids)
        except (OperationalError, InterfaceError) as exc:
            if not self.unreachable:
                log.warning("the streams' look at their clusters failed (database unavailable): %s", exc)
            self.unreachable = True
            return
        recovered, self.unreachable = self.unreachable, False
        for cluster_id in cluster_ids:
            rv = versions.get(cluster_id)
            for subscription in list(self.subscriptions.get(cluster_id, ())):
                if rv is None or recovered or subscription.seen < rv:
                    subscription._wake(rv)


_polls: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Poll] = weakref.WeakKeyDictionary()


def _poll() -> _Poll:
    loop = asyncio.get_running_loop()
    poll = _polls.get(loop)
    if poll is None:
        poll = _polls[loop] = _Poll()
    return poll


def subscribe(cluster_id) -> Subscription:
    """Start looking at `cluster_id` for a stream (in the running event loop); unsubscribe when it ends."""
    subscription = Subscription(cluster_id)
    subscription._poll = _poll()
    subscription._poll.add(subscription)
    return subscription


def unsubscribe(subscription: Subscription) -> None:
    """The stream ended (from wherever its end runs: the poll it joined, not the loop running now)."""
    subscription._poll.discard(subscription)


async def look_now() -> None:
    """One look at once, as the poll does every POLL_SECONDS (tests)."""
    await _poll().look()
