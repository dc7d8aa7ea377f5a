"""Which Django handler serves an HTTP request (playground/handlers.py), through the ASGI application serve runs:
the Kubernetes API without the pages' middleware, sync pages with their whole stack in one hop, async pages
with Django's own handler."""
from __future__ import annotations

import json
import threading
import uuid

import pytest
from asgiref.sync import async_to_sync
from channels.testing import HttpCommunicator
from django.core.signals import request_started

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


def test_requests_run_on_threads_used_again(monkeypatch):
    """Each request's sync code runs on a thread lent to it alone, and the next request gets the same thread
    back instead of a new one started (and another to join it) as Django's handler does."""
    threads = handlers.RequestThreads(keep=4)
    monkeypatch.setattr(handlers, "REQUEST_THREADS", threads)
    seen = []

    def note_thread(**kwargs):
        seen.append(threading.current_thread())
    request_started.connect(note_thread)
    try:
        for path in (f"/clusters/{uuid.uuid4()}/api", "/accounts/login/", f"/clusters/{uuid.uuid4()}/api"):
            assert get(path)["status"] in (200, 401)
    finally:
        request_started.disconnect(note_thread)
    assert len(seen) == 3 and len(set(seen)) == 1
    assert seen[0].name.startswith("request") and seen[0] is not threading.main_thread()
    assert threads.idle == 1


def test_requests_at_once_get_threads_of_their_own_and_only_so_many_are_kept():
    threads = handlers.RequestThreads(keep=2)
    lent = [threads.lend() for _ in range(3)]
    names = {executor.submit(threading.current_thread).result() for executor in lent}
    assert len(names) == 3
    for executor in lent:
        threads.give_back(executor)
    assert threads.idle == 2
    assert lent[2]._shutdown     # the third, beyond what is kept, was told to end
    assert threads.lend() in lent[:2]
