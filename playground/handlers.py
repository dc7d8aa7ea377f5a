"""Which Django handler serves an HTTP request: the Kubernetes API's, the sync pages', or Django's own.

Under ASGI, Django runs a sync middleware's process_request, process_view and process_response, and a sync
view, each on the one thread it keeps for sync code: a thread hop each, some fifteen per request with the
pages' nine middleware, every request of the class queued on that thread again at each hop. Measured on the
2-core machine, a GET through the API cost serve 4.6 ms of CPU with them and 3.2 ms without (with 150
learners, the pages' opening waited up to ~0.5 s for that thread).

* The Kubernetes API (bearer tokens, its own Status answers, no session, user, CSRF token, message or static
  file) gets no middleware at all: `KubernetesApiHandler`, the chain Django builds for an empty MIDDLEWARE.
* A sync page view gets the whole stack as under WSGI, in one hop to that thread: `SyncPagesHandler`.
* An async page view (one that awaits kubectl: `clusters/web/objects.py`) keeps Django's own handler, so that
  it never holds the sync thread while it waits.

Each request's sync code runs on a thread of its own, as Django's handler does, but the threads are used again
(`RequestThreads`) instead of started for each request and joined after it by one more thread.
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import ThreadSensitiveContext, iscoroutinefunction
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.exception import convert_exception_to_response
from django.urls import Resolver404, resolve

from clusters.kubeapi import urls as kubeapi_urls

API, ASYNC_PAGE, SYNC_PAGE = "api", "async page", "sync page"


class RequestThreads:
    """One-thread executors lent to requests in turn: a request's sync code (its view, the middleware, the
    watch's reads) runs on the thread it was lent, alone, as under Django's handler; it goes back when the
    request ends.

    Django's handler enters a ThreadSensitiveContext of its own for each request: asgiref starts a new thread
    for it, and one more to join it at the end. Starting a thread waits, with the event loop stopped, until
    the new thread gets the GIL: with the class's requests and sockets busy on both cores, those two starts
    and their executors' bookkeeping were about a fifth of serve's event-loop time (py-spy, 200 learners).

    At most `keep` idle threads are kept (those beyond end as they come back): the open watches hold one each
    while they stream, and a burst should not leave hundreds behind. A request whose client went away while
    its sync code ran gives its thread back still busy: the next request lent it starts once that code is
    done (one at a time, as the thread-sensitive contract wants), a delay and never a mix."""

    def __init__(self, keep: int = 64):
        self.keep = keep
        self._idle: list[ThreadPoolExecutor] = []
        self._lock = threading.Lock()   # lent and given back on the loop's thread; the tests' loops are others

    def lend(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="request")

    def give_back(self, executor: ThreadPoolExecutor) -> None:
        with self._lock:
            if len(self._idle) < self.keep:
                self._idle.append(executor)
                return
        executor.shutdown(wait=False)   # its thread ends once its work is done; nobody waits for it

    @property
    def idle(self) -> int:
        return len(self._idle)


REQUEST_THREADS = RequestThreads()


class ReusedThreadsHandler(ASGIHandler):
    """Django's ASGI handler, running each request's sync code on a thread lent by REQUEST_THREADS."""

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        executor = REQUEST_THREADS.lend()
        try:
            async with ThreadSensitiveContext(executor=executor):
                await self.handle(scope, receive, send)
        finally:
            REQUEST_THREADS.give_back(executor)


class KubernetesApiHandler(ReusedThreadsHandler):
    """No middleware: the chain of BaseHandler.load_middleware for an empty MIDDLEWARE."""

    def load_middleware(self, is_async=False):
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        self._middleware_chain = convert_exception_to_response(
            self._get_response_async if is_async else self._get_response)


class SyncPagesHandler(ReusedThreadsHandler):
    """The middleware chain built as for WSGI (sync, down to the sync view), called in one hop."""

    def load_middleware(self, is_async=False):
        super().load_middleware(is_async=False)
        if is_async:
            self._middleware_chain = self.adapt_method_mode(True, self._middleware_chain, False)


# The API's own URL pattern (included at the root, so it matches the path after its leading "/"): the API's
# requests, the most frequent by far, are told apart without resolving the whole URL conf.
_API_ROUTE = next(route.pattern.regex for route in kubeapi_urls.urlpatterns if route.name == "cluster-api")


def view_kind(path: str) -> str:
    """What serves this path: API, ASYNC_PAGE or SYNC_PAGE (a path no view has: Django's 404 page, sync)."""
    if _API_ROUTE.match(path[1:]):
        return API
    try:
        match = resolve(path)
    except Resolver404:
        return SYNC_PAGE
    return ASYNC_PAGE if iscoroutinefunction(match.func) else SYNC_PAGE


def http_application():
    """The ASGI application for HTTP: each request to the handler for its kind of view."""
    handlers = {API: KubernetesApiHandler(), SYNC_PAGE: SyncPagesHandler(), ASYNC_PAGE: ReusedThreadsHandler()}

    async def route(scope, receive, send):
        return await handlers[view_kind(scope["path"])](scope, receive, send)

    return route
