"""Which Django handler serves an HTTP request (playground/handlers.py), through the ASGI application serve runs:
the Kubernetes API without the pages' middleware, sync pages with their whole stack in one hop, async pages
with Django's own handler."""
from __future__ import annotations

import json
import uuid

import pytest
from asgiref.sync import async_to_sync
from channels.testing import HttpCommunicator

from playground import handlers
from playground.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)


def get(path: str) -> dict:
    async def fetch():
        return await HttpCommunicator(application, "GET", path).get_response(timeout=10)
    return async_to_sync(fetch)()


def header(response: dict, name: bytes) -> bytes | None:
    return dict(response["headers"]).get(name)


def test_the_kubernetes_api_gets_no_middleware():
    response = get(f"/clusters/{uuid.uuid4()}/api/v1/namespaces/default/pods")
    assert response["status"] == 401
    assert json.loads(response["body"])["kind"] == "Status"
    assert header(response, b"X-Frame-Options") is None     # the pages' middleware did not run


def test_a_sync_page_gets_the_whole_stack():
    response = get("/accounts/login/")
    assert response["status"] == 200
    assert header(response, b"X-Frame-Options") == b"DENY"
    assert b"csrfmiddlewaretoken" in response["body"]       # CSRF's middleware and the view, in one hop
    assert b"csrftoken=" in b"".join(value for name, value in response["headers"] if name == b"Set-Cookie")


def test_an_async_page_keeps_djangos_handler_and_a_missing_page_is_the_sync_stacks_404():
    assert handlers.view_kind("/clusters/lab/objects/Pod/default/web-0") == handlers.ASYNC_PAGE
    assert handlers.view_kind("/accounts/login/") == handlers.SYNC_PAGE
    assert handlers.view_kind("/no/such/page") == handlers.SYNC_PAGE
    response = get("/clusters/lab/objects/Pod/default/web-0")   # nobody signed in: no such cluster of theirs
    assert response["status"] == 404 and header(response, b"X-Frame-Options") == b"DENY"
    assert get("/no/such/page")["status"] == 404
    assert handlers.view_kind(f"/clusters/{uuid.uuid4()}/apis/apps/v1") == handlers.API
    assert handlers.view_kind(f"/clusters/{uuid.uuid4()}/api") == handlers.API
    assert handlers.view_kind(f"/clusters/{uuid.uuid4()}/apiary") != handlers.API
    assert handlers.view_kind("/clusters/lab/") != handlers.API
