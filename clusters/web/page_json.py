"""What every JSON endpoint of the cluster page shares (clusters/web/PAGE.md): who may call it, how
its body is read and how a learner's mistake is answered.

These endpoints serve the page's scripts, so a signed-out request gets a 401 JSON answer rather than
a redirect to the login page (which a script would follow into HTML), and another learner's cluster
is a 404 exactly like a missing one. A learner's mistake is a 4xx JSON `{"error": message}`, never a
500. CSRF is the middleware's: PUT/POST/DELETE need the X-CSRFToken header.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse

from clusters import actions, selectors
from clusters.config import max_request_bytes


class BadRequest(Exception):
    """A request the endpoint cannot honour; `str()` is the message shown to the learner."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def error_response(message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def _cluster_json(view: Callable[..., HttpResponse], *, viewers: bool) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapper(request: HttpRequest, name: str, owner: str | None = None, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return error_response("sign in to use this cluster's page", 401)
        if owner is None:
            cluster = selectors.cluster_of_user(request.user, name)
        else:
            cluster = selectors.cluster_for_viewer(request.user, owner, name) if viewers else None
        if cluster is None:
            return error_response(f'cluster "{name}" not found', 404)
        try:
            return view(request, cluster, **kwargs)
        except BadRequest as error:
            return error_response(str(error), error.status)
        except (actions.ClusterError, actions.FileError) as error:
            return error_response(str(error), 400)
    return wrapper


def owned_cluster_json(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed in (else 401), the learner's own cluster (else 404), learner errors as 4xx JSON.

    The view is called as view(request, cluster, **the URL's other arguments).
    """
    return _cluster_json(view, viewers=False)


def viewable_cluster_json(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """As owned_cluster_json, for the page's reads: with an `owner` in the URL (/u/<owner>/clusters/<name>/…)
    someone allowed to look at that learner's clusters (selectors.may_view) reads them too."""
    return _cluster_json(view, viewers=True)


def json_body(request: HttpRequest, shape: str = "a JSON object") -> dict:
    """The request's body, which must be a JSON object (an empty body is {}); `shape` names what the
    endpoint expects in the message of a 400."""
    try:
        raw = request.body
    except RequestDataTooBig:
        raise BadRequest(f"the request is too large: the limit is {max_request_bytes()} bytes", 413) from None
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise BadRequest(f"the request body must be {shape}")
    return body
