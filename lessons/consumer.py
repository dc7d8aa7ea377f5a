"""The lesson panel's WebSocket, /lessons/<track>/<lesson>/live (protocol: lessons/PANEL.md).

Only the learner who started the lesson is accepted (anyone else: 4403, as the cluster page's feed). The
consumer joins the lesson cluster's channel group (and the learner's inbox: messages from their
instructor) and keeps the objects of the kinds the lesson's checks look at, brought up to date from the
change log after every "cluster.changed" (the same feed the page and `kubectl get -w` follow; a
snapshot again when the log was compacted past it). On every change, and
on every line the terminal runs ("cluster.terminal"), the current step is judged on the server
(lessons/progress.py's Panel) and the panel gets what moved. A lost wake-up only delays: the log is
re-read every RECHECK_SECONDS, and a terminal line newer than the last one judged is judged then.
"""
from __future__ import annotations

import asyncio
import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.db.utils import InterfaceError, OperationalError

from clusters import selectors
from clusters.config import database_threads
from clusters.store import notify
from lessons import notify as lesson_notify
from lessons import progress as lesson_progress
from playground.outage import MESSAGE as OUTAGE_MESSAGE
from playground.outage import note_unavailable, survives_outage
from playground.sockets import DirectDispatch

log = logging.getLogger(__name__)

RECHECK_SECONDS = 10.0
# With PostgreSQL the panels' database work runs in the thread pool (clusters.config.database_threads): a
# class's 200 panels queued on Channels' one thread one behind the other (bench/classroom_grid.py).
in_pool = database_threads()
BATCH = 2000
REFUSED = 4403


class ClusterObjects:
    """The lesson cluster's objects of some kinds, at resourceVersion `rv`, kept current from the log."""

    def __init__(self, cluster_id, kinds: tuple[str, ...]) -> None:
        self.cluster_id, self.kinds = cluster_id, kinds
        self.objects: dict[tuple[str, str, str], dict] = {}
        self.rv = -1

    def load(self) -> None:
        cluster = selectors.cluster_by_id(self.cluster_id)
        if cluster is None:
            raise LookupError("the lesson's cluster is gone")
        self.rv = cluster.resource_version
        self.objects = {(kind, obj["metadata"].get("namespace", ""), obj["metadata"]["name"]): obj
                        for kind, obj in selectors.objects_of_kinds(self.cluster_id, self.kinds)}

    def catch_up(self) -> bool:
        """Apply the log since rv; True if anything of our kinds changed."""
        last, compacted = selectors.cluster_versions(self.cluster_id)
        if self.rv < 0 or self.rv < compacted:
            self.load()
            return True
        if last <= self.rv:
            return False
        changed = False
        while True:
            rows = selectors.changes_after(self.cluster_id, self.rv, kinds=self.kinds, limit=BATCH)
            for _, event, kind, obj in rows:
                key = (kind, obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
                if event == "DELETED":
                    self.objects.pop(key, None)
                else:
                    self.objects[key] = obj
                changed = True
            if len(rows) < BATCH:
                break
            self.rv = rows[-1][0]
        self.rv = max(self.rv, last)
        return changed

    def items(self) -> list[tuple[str, dict]]:
        return [(key[0], obj) for key, obj in self.objects.items()]


class LessonConsumer(DirectDispatch, AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        self.panel = None
        self.group = None
        self.timer = None
        self.lock = asyncio.Lock()
        self.dirty = False
        kwargs = self.scope["url_route"]["kwargs"]
        lesson_id = f'{kwargs["track"]}/{kwargs["lesson"]}'
        user = self.scope.get("user")
        self.panel, self.view, self.judged_command = await database_sync_to_async(self._open, **in_pool)(
            user, lesson_id)
        if self.panel is None:
            await self.accept()
            await self.close(code=REFUSED)
            return
        self.group = notify.group_name(self.panel.progress.cluster_id)
        self.inbox = lesson_notify.inbox_group(self.panel.progress.user_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.channel_layer.group_add(self.inbox, self.channel_name)
        await self.accept()
        await self.judge(force_state=True)
        await self._deliver()   # what their instructor said while no panel was open
        self.timer = asyncio.ensure_future(self._recheck())

    @staticmethod
    def _open(user, lesson_id: str):
        progress = lesson_progress.progress_of(user, lesson_id)
        panel = lesson_progress.Panel.open(progress) if progress is not None else None
        if panel is None:
            return None, None, 0
        view = ClusterObjects(progress.cluster_id, lesson_progress.needed_kinds(panel.lesson))
        view.load()
        return panel, view, selectors.newest_terminal_command(progress.cluster_id)

    async def disconnect(self, code: int) -> None:
        if self.timer is not None:
            self.timer.cancel()
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)
            await self.channel_layer.group_discard(self.inbox, self.channel_name)

    # -- the cluster's group

    @survives_outage
    async def cluster_changed(self, message: dict) -> None:
        rv = message.get("rv")
        if not isinstance(rv, int) or rv > self.view.rv:
            await self.judge()

    @survives_outage
    async def cluster_terminal(self, message: dict) -> None:
        command = message.get("command")
        if isinstance(command, int) and command <= self.judged_command:
            return   # another judgement met it first (this message came late): one attempt, not two
        await self.judge()   # the line is an attempt because it is new to the judgement (_judge)

    async def cluster_controls(self, message: dict) -> None:
        """The clock or a node switch moved: nothing a check reads."""

    @survives_outage
    async def lesson_message(self, message: dict) -> None:
        """A message for the learner (from their instructor) was kept: show what is undelivered."""
        await self._deliver()

    async def _deliver(self) -> None:
        for message in await database_sync_to_async(lesson_notify.undelivered, **in_pool)(self.panel.progress.user_id):
            await self.send_json(message)

    # -- judging

    async def judge(self, *, force_state: bool = False, recheck: bool = False) -> None:
        """Bring the objects up to date and judge the step; wake-ups during a judgement fold into one more."""
        if self.lock.locked():
            self.dirty = True
            return
        async with self.lock:
            while True:
                self.dirty = False
                try:
                    messages = await database_sync_to_async(self._judge, **in_pool)(force_state, recheck)
                except LookupError:
                    await self.send_json({"type": "gone"})
                    await self.close()
                    return
                for message in messages:
                    await self.send_json(message)
                force_state = recheck = False
                if not self.dirty:
                    return

    def _judge(self, force_state: bool, recheck: bool = False) -> list[dict]:
        changed = self.view.catch_up()
        # A line the terminal ran is the learner acting: an attempt at the step, counted by whichever judgement
        # meets it first (its "cluster.terminal" wake-up, a write's, or a re-check when the wake-up was lost).
        # Lines move no resourceVersion: the newest line's id tells a new one.
        newest = selectors.newest_terminal_command(self.view.cluster_id)
        acted = newest > self.judged_command
        self.judged_command = max(self.judged_command, newest)
        if recheck and not changed and not acted and not self.panel.reads_live_state():
            return []   # nothing new, and no check that reads what changes without a write (files, traffic)
        self.panel.progress.refresh_from_db(fields=["current_step", "finished", "cluster"])
        return self.panel.evaluate(self.view.items(), force_state=force_state, learner_acted=acted)

    async def _recheck(self) -> None:
        while True:
            await asyncio.sleep(RECHECK_SECONDS)
            try:
                await self.judge(recheck=True)
            except asyncio.CancelledError:
                raise
            except (OperationalError, InterfaceError) as exc:
                note_unavailable(f"lesson re-check of {self.panel.progress.pk}", exc)
            except Exception:
                log.warning("lesson re-check of %s failed", self.panel.progress.pk, exc_info=True)

    # -- the learner's requests

    @survives_outage
    async def receive_json(self, content, **kwargs) -> None:
        if self.panel is None or not isinstance(content, dict):
            return
        kind = content.get("type")
        action = {"hint": lambda: self.panel.hint(), "solution": lambda: self.panel.solution(),
                  "answer": lambda: self.panel.answer(content.get("answer"))}.get(kind)
        if action is None:
            return
        try:
            async with self.lock:
                messages = await database_sync_to_async(action, **in_pool)()
        except (OperationalError, InterfaceError) as exc:
            # Said, not dropped: the learner's button would otherwise wait its PENDING_MS for nothing.
            note_unavailable(f"lesson {kind} of {self.panel.progress.pk}", exc)
            await self.send_json({"type": "unavailable", "text": OUTAGE_MESSAGE})
            return
        for message in messages:
            await self.send_json(message)
        await self.judge()   # what woke up meanwhile; after an answer, the next step may already hold
