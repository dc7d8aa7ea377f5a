"""Publishing "cluster N changed" once per committed write, to the cluster's channel group.

Subscribers (API watch streams, `logs -f`, terminals, the browser pages, lessons) read what changed
from the change log by resourceVersion, so a message only wakes them up: a lost one delays, never
loses, an event (each process's look at its streamed clusters' resourceVersions wakes the streams a
message missed: clusters/store/version_poll.py).
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
import threading
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer

from clusters.store import version_poll

log = logging.getLogger(__name__)


def group_name(cluster_id: uuid.UUID | str) -> str:
    return f"cluster.{cluster_id}"


PUBLISH_TIMEOUT = 5.0   # seconds a publish may take (Redis unreachable): then the message is given up


class _PublishingLoop:
    """An event loop in a thread of its own that publishes for this process's sync code (the Celery worker's
    passes, serve's after-answer thread).

    async_to_sync from a thread with no event loop above it (the worker) runs each call in a new loop, and
    the Redis layer keeps its connections per loop: every publish opened a Redis connection and closed it
    again, 9% of a worker's CPU under a class's load. This loop keeps one."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, name="notify-publish", daemon=True).start()

    def run(self, awaitable: Coroutine) -> None:
        future = asyncio.run_coroutine_threadsafe(awaitable, self.loop)
        try:
            future.result(PUBLISH_TIMEOUT)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise


_loops: dict[int, _PublishingLoop] = {}   # by process id: a forked pool process starts its own
_loops_lock = threading.Lock()


def _publishing_loop() -> _PublishingLoop:
    with _loops_lock:
        found = _loops.get(os.getpid())
        if found is None:
            found = _loops[os.getpid()] = _PublishingLoop()
        return found


def _publish(cluster_id: uuid.UUID | str, message: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        if isinstance(layer, InMemoryChannelLayer):
            # Embedded mode: its queues belong to the serving loop, which async_to_sync finds from serve's threads.
            async_to_sync(layer.group_send)(group_name(cluster_id), message)
        else:
            _publishing_loop().run(layer.group_send(group_name(cluster_id), message))
    except Exception:  # a broken layer must not fail a committed write; watchers poll as a fallback
        log.warning("could not publish %s of cluster %s", message["type"], cluster_id, exc_info=True)


def cluster_changed(cluster_id: uuid.UUID | str, resource_version: int) -> None:
    _publish(cluster_id, {"type": "cluster.changed", "rv": resource_version})


def controls_changed(cluster_id: uuid.UUID | str) -> None:
    """The clock or a node's failed switch moved: nothing in the change log says so, pages re-read them."""
    _publish(cluster_id, {"type": "cluster.controls"})


def terminal_ran(cluster_id: uuid.UUID | str, command_id: int) -> None:
    """The browser terminal ran a line (clusters.models.TerminalCommand): lesson checks look at them."""
    _publish(cluster_id, {"type": "cluster.terminal", "command": command_id})


@contextlib.asynccontextmanager
async def wakeups(cluster_id: uuid.UUID | str) -> AsyncIterator[Callable[[float], Awaitable[None]]]:
    """A stream's subscription to its cluster (watches, `logs -f`, terminals): `await wait(seconds)` returns
    at the next message of its group, when the process's look finds the cluster moved past what the
    messages named (version_poll), or after `seconds`, whichever comes first."""
    layer = get_channel_layer()
    channel = await layer.new_channel() if layer else None
    group = group_name(cluster_id)
    if layer:
        await layer.group_add(group, channel)
    subscription = version_poll.subscribe(cluster_id)

    async def wait(seconds: float) -> None:
        moved = asyncio.ensure_future(subscription.moved(seconds))
        if not layer:
            await moved     # cancelled with the wait
            return
        message = asyncio.ensure_future(layer.receive(channel))
        try:
            done, _ = await asyncio.wait({moved, message}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (moved, message):
                if not task.done():
                    task.cancel()
        if message in done:
            rv = message.result().get("rv")     # raises as the layer's receive did
            if isinstance(rv, int):
                subscription.saw(rv)            # the read that follows covers it: no look need wake us

    try:
        yield wait
    finally:
        version_poll.unsubscribe(subscription)
        if layer:
            await layer.group_discard(group, channel)
