"""The browser terminal's WebSocket, /clusters/<name>/terminal (protocol: clusters/web/PAGE.md, "Terminal").

Thin: the owner check (anyone else's socket closes with 4403, like the live feed), then each message
goes to a `session.TerminalSession`, which parses, sandboxes and runs the real kubectl. Closing the
socket kills what runs and revokes the session's token.
"""
from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from clusters import actions, selectors
from clusters.terminal.session import TerminalSession
from playground.sockets import DirectDispatch

REFUSED = 4403


class TerminalConsumer(DirectDispatch, AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        self.session = None
        user = self.scope.get("user")
        name = self.scope["url_route"]["kwargs"]["name"]
        cluster = await database_sync_to_async(selectors.cluster_of_user)(user, name)
        if cluster is None:
            # Accepted only to be closed with a code the page can read (see clusters/web/consumer.py).
            await self.accept()
            await self.close(code=REFUSED)
            return
        await database_sync_to_async(actions.cluster_touch)(cluster=cluster)   # last activity; starts a stopped one
        self.session = TerminalSession(cluster=cluster, user_id=user.pk, send=self.send_json)
        await self.accept()

    async def receive_json(self, content, **kwargs) -> None:
        if self.session is None or not isinstance(content, dict):
            return
        kind = content.get("type")
        if kind == "run":
            self.session.start(content)
        elif kind == "input":
            self.session.input(content)
        elif kind == "resize":
            self.session.resize(content)
        elif kind == "interrupt":
            self.session.interrupt()

    async def disconnect(self, code: int) -> None:
        if self.session is not None:
            await self.session.close()
