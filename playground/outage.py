"""The database is down: a short 503 instead of a 500 page, and service resumes by itself.

When PostgreSQL is unreachable (restarting, failing over, a network hiccup) every database call raises
django.db.utils.OperationalError (or InterfaceError on a connection that broke mid-use). This
middleware answers those with 503 and a Retry-After header: the pages with templates/503.html, the
page's JSON endpoints (requests that accept application/json) with `{"error": …}`. Nothing is kept
between requests, so the first request after the database is back is served as usual: Django opens a
new connection (DATABASES' connect_timeout keeps an attempt from hanging).

The Kubernetes API answers its own 503 (a Status kubectl prints as `Error from server
(ServiceUnavailable): …`): clusters/kubeapi/views.py.

The pages' live sockets (the cluster page, the lesson panel, the class grid) stay open through an
outage: `survives_outage` on their handlers, and their re-check timers catch up once it is over.
"""
from __future__ import annotations

import functools
import logging
import time

from django.db.utils import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.utils.deprecation import MiddlewareMixin

log = logging.getLogger(__name__)

MESSAGE = "the playground's database is unavailable: try again in a moment"
RETRY_AFTER_SECONDS = 5


def outage_response(request: HttpRequest) -> HttpResponse:
    if "application/json" in request.headers.get("Accept", ""):
        response: HttpResponse = JsonResponse({"error": MESSAGE}, status=503)
    else:
        # Rendered without the request: base.html's user and messages would ask the database again.
        response = HttpResponse(loader.get_template("503.html").render({"message": MESSAGE}), status=503)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response.headers["Cache-Control"] = "no-store"
    return response


QUIET_SECONDS = 60.0
_quiet = {"until": 0.0, "kept_back": 0}


def note_unavailable(where: str, exc: BaseException) -> None:
    """Log that the database was unreachable for `where`: one line per QUIET_SECONDS per process, with the
    number of such failures kept back meanwhile. Every open page, lesson panel and class grid retries every
    few seconds through an outage: a class's worth of lines (and tracebacks) a second otherwise."""
    now = time.monotonic()
    if now < _quiet["until"]:
        _quiet["kept_back"] += 1
        return
    kept_back, _quiet["kept_back"], _quiet["until"] = _quiet["kept_back"], 0, now + QUIET_SECONDS
    more = f" ({kept_back} more since the last such line)" if kept_back else ""
    log.warning("database unavailable: %s: %s%s", where, exc, more)


def survives_outage(handler):
    """A live socket's handler (a channel group's wake-up, a frame from the page) that reads the database:
    while the database is unreachable it logs and returns, instead of raising out of the consumer, which
    would close the socket (the page would reconnect for a whole snapshot, a learner's panel would blink).
    Nothing is lost: each consumer's re-check timer asks again every few seconds."""

    @functools.wraps(handler)
    async def guarded(consumer, *args, **kwargs):
        try:
            return await handler(consumer, *args, **kwargs)
        except (OperationalError, InterfaceError) as exc:
            note_unavailable(f"{type(consumer).__name__}.{handler.__name__}", exc)
            return None

    return guarded


class DatabaseOutageMiddleware(MiddlewareMixin):
    """A view (or the template it renders) that found the database unreachable gets a 503."""

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        log.warning("database unavailable: %s %s: %s", request.method, request.path, exception)
        return outage_response(request)
