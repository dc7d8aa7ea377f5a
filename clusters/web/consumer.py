"""The browser page's live feed: one WebSocket per cluster page at /clusters/<name>/live.

Only the cluster's owner (the session's user; `selectors.cluster_of_user`) gets
the handshake accepted; anyone else, guessed name or not, is refused with 4403. The same feed at
/u/<owner>/clusters/<name>/live is for those allowed to look at that learner's clusters read-only
(`selectors.cluster_for_viewer`: an instructor of their class); it only ever sends.
The page then gets {"type": "snapshot", "rv": N, "columns": …, "objects": […], "clock": …, "failedNodes": […]}
and, whenever the cluster's channel group says "cluster.changed" (or the process's look at its clusters
finds this one moved: clusters/store/version_poll.py; a lost wake-up delays, never loses), the change log
after the last resourceVersion sent: {"type": "changes", "from": a, "to": b,
"changes": […]}. The log is the truth, so a page that reconnects asks for what
it missed: `?rv=N` on the URL or {"type": "resume", "rv": N}; an rv older than
the log's horizon (compacted) gets a fresh snapshot instead. Summaries are
made in clusters/web/live.py. The clock and the node switches are not in the log: when they move the
group says "cluster.controls" and the page gets {"type": "controls", "clock": …, "failedNodes": […]}.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from urllib.parse import parse_qs

import msgspec
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.db.utils import InterfaceError, OperationalError

from clusters import actions, selectors
from clusters.config import database_threads
from clusters.store import notify, version_poll
from clusters.web import live
from playground.outage import note_unavailable, survives_outage
from playground.sockets import DirectDispatch

log = logging.getLogger(__name__)

RECHECK_SECONDS = 60.0   # read anyway (a wake-up or the process's look sends the page's changes sooner)
RETRY_SECONDS = 5.0      # after a read failed (the database unreachable)
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


def _changes(cluster_id, since: int) -> Read:
    """What a page at `since` is sent next: "gone" for a deleted cluster; a "snapshot" when `since` is
    past the log's horizon; else "changes" (message None when there are none)."""
    cluster = selectors.cluster_by_id(cluster_id)
    if cluster is None:
        return Read("gone", None, None, False, 0)
    if since < cluster.compacted_resource_version:
        message = _snapshot(cluster_id)
        return Read("snapshot", message, _dumps(message), False, cluster.resource_version)
    rows = selectors.changes_after(cluster_id, since, limit=BATCH)
    message = live.changes(rows, since=since, now=live.sim_time(cluster.sim_now()))
    if message is not None:
        message["clock"] = live.clock(cluster)
    return Read("changes", message, _dumps(message), len(rows) == BATCH, cluster.resource_version)


def _snapshot_read(cluster_id) -> Read:
    message = _snapshot(cluster_id)
    if message is None:
        return Read("gone", None, None, False, 0)
    return Read("snapshot", message, _dumps(message), False, message["rv"])


_encode = msgspec.json.Encoder().encode


def _dumps(message: dict | None) -> str | None:
    """The message as sent (compact JSON, UTF-8 as it is): msgspec writes a whole cluster's snapshot several
    times faster than json.dumps."""
    return None if message is None else _encode(message).decode()


def _in_db_thread(fn):
    """fn, run where the consumers' database work runs (clusters.config.database_threads)."""
    return database_sync_to_async(fn, **database_threads())


@dataclass(frozen=True)
class Read:
    outcome: str                 # "gone" | "snapshot" | "changes"
    message: dict | None
    text: str | None             # the message as sent: serialised once for every page
    more: bool                   # a full batch: more may follow
    seen_rv: int                 # the cluster's resourceVersion when it was read


class SharedReads:
    """The pages of one cluster at one resourceVersion all ask the same question after every write (and
    on every re-check): one database read, one summary and one JSON text per process answers them all.

    A wake-up for rv N only takes an answer read at rv ≥ N; a re-check takes one at most FRESH_SECONDS
    old. Entries are dropped KEEP_SECONDS after they were made.
    """

    FRESH_SECONDS = 1.0
    KEEP_SECONDS = 10.0

    def __init__(self) -> None:
        self._entries: dict[tuple, tuple[asyncio.Future, float]] = {}

    async def read(self, key: tuple, reader, *, wanted_rv: int | None = None) -> Read:
        loop = asyncio.get_running_loop()
        entry = self._entries.get(key)
        if entry is not None and (wanted_rv is not None or loop.time() - entry[1] < self.FRESH_SECONDS):
            try:
                result = await asyncio.shield(entry[0])
            except Exception:
                result = None
            if result is not None and (wanted_rv is None or result.seen_rv >= wanted_rv):
                return result
        future = asyncio.ensure_future(_in_db_thread(reader)())
        self._entries[key] = (future, loop.time())
        if len(self._entries) > 256:
            horizon = loop.time() - self.KEEP_SECONDS
            self._entries = {k: v for k, v in self._entries.items() if v[1] >= horizon}
        return await asyncio.shield(future)

    def clear(self) -> None:
        self._entries.clear()


shared_reads = SharedReads()


class ClusterConsumer(DirectDispatch, AsyncJsonWebsocketConsumer):
    """One browser page watching one cluster."""

    async def connect(self) -> None:
        self.cluster = None
        self.rv = 0
        self.lock = asyncio.Lock()
        self.timer: asyncio.Task | None = None
        self.poll: version_poll.Subscription | None = None
        self.behind = False      # the last read failed: try again in RETRY_SECONDS
        name = self.scope["url_route"]["kwargs"]["name"]
        owner = self.scope["url_route"]["kwargs"].get("owner")
        user = self.scope.get("user")
        if owner is None:
            self.cluster = await _in_db_thread(selectors.cluster_of_user)(user, name)
            await _in_db_thread(actions.cluster_touch)(cluster=self.cluster)   # the owner's page opened
        else:   # /u/<owner>/clusters/<name>/live: someone allowed to look at the learner's clusters
            self.cluster = await _in_db_thread(selectors.cluster_for_viewer)(user, owner, name)
        if self.cluster is None:
            # Accepted only to be closed with a code the page can read (a refused handshake reaches the
            # browser as a bare 1006); nothing of any cluster is sent first.
            await self.accept()
            await self.close(code=REFUSED)
            return
        self.group = notify.group_name(self.cluster.pk)
        self.poll = version_poll.subscribe(self.cluster.pk)
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
        if self.poll is not None:
            version_poll.unsubscribe(self.poll)
        if self.cluster is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    @survives_outage
    async def receive_json(self, content, **kwargs) -> None:
        if isinstance(content, dict) and content.get("type") == "resume":
            rv = content.get("rv")
            await self.resume(rv if isinstance(rv, int) and not isinstance(rv, bool) else None)

    @survives_outage
    async def cluster_changed(self, message: dict) -> None:
        """The channel group's wake-up: some write committed (message["rv"])."""
        rv = message.get("rv")
        if not isinstance(rv, int) or rv > self.rv:
            await self.pump(wanted_rv=rv if isinstance(rv, int) else None)

    @survives_outage
    async def cluster_controls(self, message: dict) -> None:
        """The group's "the clock or a node switch moved" (clusters/store/notify.py)."""
        controls = await _in_db_thread(_controls)(self.cluster.pk)
        if controls is not None:
            await self.send_json(controls)

    async def cluster_terminal(self, message: dict) -> None:
        """The group's "the terminal ran a line": nothing on this page shows it (lessons listen)."""

    async def resume(self, rv: int | None) -> None:
        """Continue after rv (a snapshot when rv is None or too old)."""
        async with self.lock:
            if rv is None or rv < 0:
                if not await self._send_snapshot():
                    return   # the cluster is gone: the socket is closed
            else:
                self.rv = rv
        # After a snapshot too: a shared one may be up to FRESH_SECONDS old, and a write committed
        # before this page joined the group woke nobody here.
        await self.pump()

    async def _send_snapshot(self) -> bool:
        """Send the cluster's snapshot; False when the cluster is gone (and the socket closed)."""
        cluster_id = self.cluster.pk
        read = await shared_reads.read((cluster_id, "snapshot"), lambda: _snapshot_read(cluster_id))
        if read.message is None:
            await self.send_json({"type": "gone"})
            await self.close()
            return False
        self.rv = read.message["rv"]
        self.poll.saw(read.seen_rv)
        await self.send(text_data=read.text)
        return True

    async def pump(self, wanted_rv: int | None = None) -> None:
        """Send every change after self.rv, in batches, or a snapshot when the log no longer has them."""
        async with self.lock:
            self.behind = True      # until the reads succeed
            await self._pump(wanted_rv)
            self.behind = False

    async def _pump(self, wanted_rv: int | None) -> None:
        cluster_id = self.cluster.pk
        while True:
            since = self.rv
            read = await shared_reads.read((cluster_id, since), lambda since=since: _changes(cluster_id, since),
                                           wanted_rv=wanted_rv)
            self.poll.saw(read.seen_rv)
            if read.outcome == "gone" or (read.outcome == "snapshot" and read.message is None):
                await self.send_json({"type": "gone"})
                await self.close()
                return
            if read.message is None:
                return
            self.rv = read.message["rv"] if read.outcome == "snapshot" else read.message["to"]
            await self.send(text_data=read.text)
            if read.outcome == "snapshot" or not read.more:
                return

    async def _recheck(self) -> None:
        while True:
            await self.poll.moved(RETRY_SECONDS if self.behind else RECHECK_SECONDS)
            try:
                # A read at least as new as what the look found (a shared one may be older).
                await self.pump(wanted_rv=self.poll.seen if self.poll.seen >= 0 else None)
            except asyncio.CancelledError:
                raise
            except (OperationalError, InterfaceError) as exc:
                note_unavailable(f"live re-check of cluster {self.cluster.pk}", exc)
            except Exception:
                log.warning("live re-check of cluster %s failed", self.cluster.pk, exc_info=True)
