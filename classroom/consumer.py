"""The class page's live grid, /classes/<id>/live: the class's instructor only (anyone else: 4403).

On connect the whole grid ({"type": "grid", ...}, classroom.services.class_grid); the consumer listens to
every member's progress group (lessons/notify.py) and, when learners move, sends their rows again
({"type": "row", "row": …}), gathered for ROW_BATCH_SECONDS and read in one go. Members joining (the
class's group) bring a fresh grid. Every RECHECK_SECONDS the grid is sent again anyway: "stuck for N
minutes" and crash-looping pods change without any progress message, and a lost wake-up only delays.
"""
from __future__ import annotations

import asyncio
import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.db.utils import InterfaceError, OperationalError

from classroom import notify, services
from classroom.access import is_instructor
from lessons import notify as lesson_notify
from lessons.consumer import in_pool  # the thread pool with PostgreSQL (see there)
from playground.outage import note_unavailable, survives_outage
from playground.sockets import DirectDispatch

log = logging.getLogger(__name__)

RECHECK_SECONDS = 30.0
ROW_BATCH_SECONDS = 0.2
REFUSED = 4403




class ClassConsumer(DirectDispatch, AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        self.classroom = None
        self.groups_joined: set[str] = set()
        self.timer = None
        self.flusher = None
        self.pending: set[int] = set()
        user = self.scope.get("user")
        class_id = int(self.scope["url_route"]["kwargs"]["class_id"])
        self.classroom = await database_sync_to_async(self._own_class, **in_pool)(user, class_id)
        if self.classroom is None:
            await self.accept()
            await self.close(code=REFUSED)
            return
        await self.accept()
        await self.send_grid()
        self.timer = asyncio.ensure_future(self._recheck())

    @staticmethod
    def _own_class(user, class_id: int):
        return services.class_of_instructor(user, class_id) if is_instructor(user) else None

    async def _listen(self) -> None:
        """Join the class's group and every member's progress group (new members included)."""
        wanted = {notify.class_group(self.classroom.pk)} | {
            lesson_notify.progress_group(user_id)
            for user_id in await database_sync_to_async(services.member_ids, **in_pool)(self.classroom)}
        for group in wanted - self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined |= wanted

    async def send_grid(self) -> None:
        await self._listen()
        grid = await database_sync_to_async(services.class_grid, **in_pool)(self.classroom)
        await self.send_json({"type": "grid", **grid})

    async def disconnect(self, code: int) -> None:
        for task in (self.timer, self.flusher):
            if task is not None:
                task.cancel()
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def learner_progress(self, message: dict) -> None:
        """A learner's progress moved: their row goes out with the others' of the next ROW_BATCH_SECONDS."""
        user_id = message.get("user")
        if not isinstance(user_id, int):
            return
        self.pending.add(user_id)
        if self.flusher is None or self.flusher.done():
            self.flusher = asyncio.ensure_future(self._send_rows())

    @survives_outage
    async def _send_rows(self) -> None:
        await asyncio.sleep(ROW_BATCH_SECONDS)
        while self.pending:
            ids, self.pending = sorted(self.pending), set()
            for row in await database_sync_to_async(services.class_rows, **in_pool)(self.classroom, ids):
                await self.send_json({"type": "row", "row": row})

    @survives_outage
    async def classroom_members(self, message: dict) -> None:
        await self.send_grid()

    async def _recheck(self) -> None:
        while True:
            await asyncio.sleep(RECHECK_SECONDS)
            try:
                await self.send_grid()
            except asyncio.CancelledError:
                raise
            except (OperationalError, InterfaceError) as exc:
                note_unavailable(f"class grid re-check of {self.classroom.pk}", exc)
            except Exception:
                log.warning("class grid re-check of %s failed", self.classroom.pk, exc_info=True)
