"""What every WebSocket consumer of the playground shares: how a message reaches its handler.

Channels' `AsyncConsumer.dispatch` first runs `close_old_connections` through a thread-sensitive
`sync_to_async`: a hop to the one thread a process keeps for sync code outside any request, for every message
every socket receives (a page's wake-up, a terminal's keystroke, a lesson's event), all of them queued on that
one thread. The consumers here never use a database connection on that hop's behalf: their database work goes
through `database_sync_to_async`, which closes old connections around each call in the thread it runs in. So
the hop only delayed the pages' wake-ups behind one another (a class's writes wake a page each).
"""
from __future__ import annotations

from channels.consumer import get_handler_name


class DirectDispatch:
    """Dispatch each message straight to its handler (first in a consumer's bases)."""

    async def dispatch(self, message):
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)
