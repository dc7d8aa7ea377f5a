"""The browser page's live feed: one WebSocket per cluster page at /clusters/<name>/live.

Only the cluster's owner (the session's user; `selectors.cluster_of_user`) gets
the handshake accepted; anyone else, guessed name or not, is refused with 4403.
The page then gets {"type": "snapshot", "rv": N, "columns": …, "objects": […], "clock": …, "failedNodes": […]}
and, whenever the cluster's channel group says "cluster.changed" (or every
RECHECK_SECONDS anyway: a lost wake-up delays, never loses), the change log
after the last resourceVersion sent: {"type": "changes", "from": a, "to": b,
"changes": […]}. The log is the truth, so a page that reconnects asks for what
it missed: `?rv=N` on the URL or {"type": "resume", "rv": N}; an rv older than
the log's horizon (compacted) gets a fresh snapshot instead. Summaries are
made in clusters/live.py. The clock and the node switches are not in the log: when they move the
group says "cluster.controls" and the page gets {"type": "controls", "clock": …, "failedNodes": […]}.
"""
from __future__ import annotations

import asyncio
import logging
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from . import live, notify, selectors

log = logging.getLogger(__name__)

RECHECK_SECONDS = 5.0
BATCH = 500
REFUSED = 4403


def _snapshot(cluster_id) -> dict | None:
    cluster = selectors.cluster_by_id(cluster_id)   # first: objects read after it are at least as new
    if cluster is None:
        return None
    objects = selectors.objects_of_kinds(cluster_id, live.KINDS)
    message = live.snapshot(objects, rv=cluster.resource_version, now=live.sim_time(cluster.sim_now()))
    return {**message, "clock": live.clock(cluster), "failedNodes": selectors.failed_nodes(cluster_id)}


def _controls(cluster_id) -> dict | None:
    cluster = selectors.cluster_by_id(cluster_id)
    return None if cluster is None else live.controls(cluster, selectors.failed_nodes(cluster_id))


def _changes(cluster_id, since: int) -> tuple[str, dict | None, bool]:
    """("gone", None) for a deleted cluster; ("snapshot", msg) when `since` is past the horizon; else
    ("changes", msg or None); and whether more may follow."""
    cluster = selectors.cluster_by_id(cluster_id)
    if cluster is None:
        return "gone", None, False
    if since < cluster.compacted_resource_version:
        return "snapshot", _snapshot(cluster_id), False
    rows = selectors.changes_after(cluster_id, since, limit=BATCH)
    message = live.changes(rows, since=since, now=live.sim_time(cluster.sim_now()))
    if message is not None:
        message["clock"] = live.clock(cluster)
    return "changes", message, len(rows) == BATCH


class ClusterConsumer(AsyncJsonWebsocketConsumer):
    """One browser page watching one cluster."""

    async def connect(self) -> None:
        self.cluster = None
        self.rv = 0
        self.lock = asyncio.Lock()
        self.timer: asyncio.Task | None = None
        name = self.scope["url_route"]["kwargs"]["name"]
        user = self.scope.get("user")
        self.cluster = await database_sync_to_async(selectors.cluster_of_user)(user, name)
        if self.cluster is None:
            await self.close(code=REFUSED)
            return
        self.group = notify.group_name(self.cluster.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        try:
            resume = int((query.get("rv") or [""])[-1])
        except ValueError:
            resume = None
        await self.resume(resume)
        self.timer = asyncio.ensure_future(self._recheck())

    async def disconnect(self, code: int) -> None:
        if self.timer is not None:
            self.timer.cancel()
        if self.cluster is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content, **kwargs) -> None:
        if isinstance(content, dict) and content.get("type") == "resume":
            rv = content.get("rv")
            await self.resume(rv if isinstance(rv, int) and not isinstance(rv, bool) else None)

    async def cluster_changed(self, message: dict) -> None:
        """The channel group's wake-up: some write committed (message["rv"])."""
        if message.get("rv", self.rv + 1) > self.rv:
            await self.pump()

    async def cluster_controls(self, message: dict) -> None:
        """The group's "the clock or a node switch moved" (clusters/notify.py)."""
        controls = await database_sync_to_async(_controls)(self.cluster.pk)
        if controls is not None:
            await self.send_json(controls)

    async def resume(self, rv: int | None) -> None:
        """Continue after rv (a snapshot when rv is None or too old)."""
        async with self.lock:
            if rv is None or rv < 0:
                await self._send_snapshot()
                return
            self.rv = rv
        await self.pump()

    async def _send_snapshot(self) -> None:
        message = await database_sync_to_async(_snapshot)(self.cluster.pk)
        if message is None:
            await self.send_json({"type": "gone"})
            await self.close()
            return
        self.rv = message["rv"]
        await self.send_json(message)

    async def pump(self) -> None:
        """Send every change after self.rv, in batches, or a snapshot when the log no longer has them."""
        async with self.lock:
            while True:
                outcome, message, more = await database_sync_to_async(_changes)(self.cluster.pk, self.rv)
                if outcome == "gone" or (outcome == "snapshot" and message is None):
                    await self.send_json({"type": "gone"})
                    await self.close()
                    return
                if message is None:
                    return
                if outcome == "snapshot":
                    self.rv = message["rv"]
                    await self.send_json(message)
                    return
                self.rv = message["to"]
                await self.send_json(message)
                if not more:
                    return

    async def _recheck(self) -> None:
        while True:
            await asyncio.sleep(RECHECK_SECONDS)
            try:
                await self.pump()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 — a failed re-check must not end the page's feed
                log.warning("live re-check of cluster %s failed", self.cluster.pk, exc_info=True)
