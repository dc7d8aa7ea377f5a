"""The manifest editor's endpoints (clusters/PAGE.md, "Manifest files"): the learner's files and
validation on the fly. Thin: parse the JSON, call clusters.manifests, answer JSON.

Like every page of a cluster, another learner's cluster is a 404 exactly like a missing one.
These are JSON endpoints for the page's scripts, so a signed-out request gets a 401 JSON answer
instead of a redirect to the login page (which a script would follow into HTML). CSRF is the
middleware's: PUT/POST/DELETE need the X-CSRFToken header.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import manifests, selectors
from .models import Cluster, ManifestFile


class _BadRequest(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _error(message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def _owned_cluster_json(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed in (else 401), the learner's own cluster (else 404), learner errors as 4xx JSON."""
    @wraps(view)
    def wrapper(request: HttpRequest, name: str, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return _error("sign in to use the manifest editor", 401)
        cluster = selectors.cluster_of_user(request.user, name)
        if cluster is None:
            return _error(f'cluster "{name}" not found', 404)
        try:
            return view(request, cluster, **kwargs)
        except _BadRequest as error:
            return _error(str(error), error.status)
        except manifests.FileError as error:
            return _error(str(error), 400)
    return wrapper


def _text_of(request: HttpRequest) -> str:
    """The "text" of a JSON body {"text": "..."}."""
    try:
        raw = request.body
    except RequestDataTooBig:
        limit = settings.PLAYGROUND["MAX_REQUEST_BYTES"]
        raise _BadRequest(f"the request is too large: the limit is {limit} bytes", 413) from None
    try:
        body = json.loads(raw or b"null")
    except ValueError as error:
        raise _BadRequest(f"the body must be JSON: {error}") from None
    if not isinstance(body, dict) or not isinstance(body.get("text"), str):
        raise _BadRequest('the body must be a JSON object with a "text" string')
    return body["text"]


def _file_json(file: ManifestFile) -> dict:
    return {"name": file.name, "text": file.text, "updated": file.updated.isoformat()}


@require_GET
@_owned_cluster_json
def file_list(request: HttpRequest, cluster: Cluster) -> HttpResponse:
    return JsonResponse({"files": [_file_json(f) for f in manifests.file_list(cluster=cluster)]})


@require_http_methods(["PUT", "DELETE"])
@_owned_cluster_json
def file_detail(request: HttpRequest, cluster: Cluster, file: str) -> HttpResponse:
    if request.method == "DELETE":
        if not manifests.file_delete(cluster=cluster, name=file):
            return _error(f'file "{file}" not found', 404)
        return HttpResponse(status=204)
    saved, created = manifests.file_save(cluster=cluster, name=file, text=_text_of(request))
    return JsonResponse(_file_json(saved), status=201 if created else 200)


@require_POST
@_owned_cluster_json
def validate(request: HttpRequest, cluster: Cluster) -> HttpResponse:
    return JsonResponse(manifests.manifest_validate(cluster=cluster, text=_text_of(request)).as_json())
