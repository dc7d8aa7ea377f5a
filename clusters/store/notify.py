"""Publishing "cluster N changed" once per committed write, to the cluster's channel group.

Subscribers (API watch streams, `logs -f`, terminals, the browser pages, lessons) read what changed
from the change log by resourceVersion, so a message only wakes them up: a lost one delays, never
loses, an event (each process's look at its streamed clusters' resourceVersions wakes the streams a
message missed: clusters/store/version_poll.py).
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from clusters.store import version_poll

log = logging.getLogger(__name__)


def group_name(cluster_id: uuid.UUID | str) -> str:
    return f"cluster.{cluster_id}"


def _publish(cluster_id: uuid.UUID | str, message: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group_name(cluster_id), message)
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
