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
"""
from __future__ import annotations

import re

from asgiref.sync import iscoroutinefunction
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.exception import convert_exception_to_response
from django.urls import Resolver404, resolve

# The API's paths as clusters/kubeapi/urls.py has them; no page's path is one (they never go on with api/…).
KUBERNETES_API_PATH = re.compile(r"^/clusters/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/"
                                 r"(?:api|apis|version|openapi)(?:/|$)")


class KubernetesApiHandler(ASGIHandler):
    """No middleware: the chain of BaseHandler.load_middleware for an empty MIDDLEWARE."""

    def load_middleware(self, is_async=False):
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        self._middleware_chain = convert_exception_to_response(
            self._get_response_async if is_async else self._get_response)


class SyncPagesHandler(ASGIHandler):
    """The middleware chain built as for WSGI (sync, down to the sync view), called in one hop."""

    def load_middleware(self, is_async=False):
        super().load_middleware(is_async=False)
        if is_async:
            self._middleware_chain = self.adapt_method_mode(True, self._middleware_chain, False)


def awaits(path: str) -> bool:
    """Whether the view of this path is async (a path no view has: Django's 404 page, sync)."""
    try:
        return iscoroutinefunction(resolve(path).func)
    except Resolver404:
        return False


def http_application():
    """The ASGI application for HTTP: each request to the handler for its kind of view."""
    api, pages, django_default = KubernetesApiHandler(), SyncPagesHandler(), ASGIHandler()

    async def route(scope, receive, send):
        path = scope["path"]
        if KUBERNETES_API_PATH.match(path):
            handler = api
        else:
            handler = django_default if awaits(path) else pages
        return await handler(scope, receive, send)

    return route
