"""Every WebSocket consumer takes its messages straight to their handlers (playground/sockets.py), without
Channels' hop to the process's one shared sync thread for each message."""
from __future__ import annotations

import asyncio

import pytest
from channels.consumer import AsyncConsumer

from playground.asgi import websocket_routes
from playground.sockets import DirectDispatch


def _consumer_class(route):
    app = route.callback
    while not hasattr(app, "consumer_class"):   # AllowedHostsOriginValidator(AuthMiddlewareStack(…))
        app = getattr(app, "inner", None) or app.application
    return app.consumer_class


@pytest.mark.parametrize("route", websocket_routes, ids=lambda route: str(route.pattern))
def test_every_consumer_dispatches_directly(route):
    consumer = _consumer_class(route)
    assert issubclass(consumer, AsyncConsumer) and consumer.__mro__.index(DirectDispatch) == 1


def test_a_message_goes_to_its_handler_without_closing_connections_first(monkeypatch):
    import channels.consumer

    async def hop():
        raise AssertionError("hopped to the sync thread")
    monkeypatch.setattr(channels.consumer, "aclose_old_connections", hop)

    class Consumer(DirectDispatch, AsyncConsumer):
        async def cluster_changed(self, message):
            self.got = message

    consumer = Consumer()
    asyncio.run(consumer.dispatch({"type": "cluster.changed", "rv": 3}))
    assert consumer.got == {"type": "cluster.changed", "rv": 3}
    with pytest.raises(ValueError, match="No handler for message type cluster.unknown"):
        asyncio.run(consumer.dispatch({"type": "cluster.unknown"}))
