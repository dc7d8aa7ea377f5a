"""The manifest editor's endpoints (clusters/web/PAGE.md, "Manifest files"): the learner's files and
validation on the fly. Thin: parse the JSON, call clusters.actions / clusters.web.validation, answer
JSON (the rules every JSON endpoint of the page shares are in clusters/web/page_json.py).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clusters import actions, selectors
from clusters.web import validation
from clusters.web.page_json import (
    BadRequest,
    error_response,
    json_body,
    owned_cluster_json,
    viewable_cluster_json,
)

if TYPE_CHECKING:
    from clusters.models import Cluster, ManifestFile

TEXT_BODY = 'a JSON object with a "text" string'


def _text_of(request: HttpRequest) -> str:
    """The "text" of a JSON body {"text": "..."}."""
    text = json_body(request, TEXT_BODY).get("text")
    if not isinstance(text, str):
        raise BadRequest(f"the request body must be {TEXT_BODY}")
    return text


def _file_json(file: ManifestFile) -> dict:
    return {"name": file.name, "text": file.text, "updated": file.updated.isoformat()}


@require_GET
@viewable_cluster_json
def file_list(request: HttpRequest, cluster: Cluster) -> HttpResponse:
    return JsonResponse({"files": [_file_json(f) for f in selectors.file_list(cluster=cluster)]})


@require_http_methods(["PUT", "DELETE"])
@owned_cluster_json
def file_detail(request: HttpRequest, cluster: Cluster, file: str) -> HttpResponse:
    if request.method == "DELETE":
        if not actions.file_delete(cluster=cluster, name=file):
            return error_response(f'file "{file}" not found', 404)
        return HttpResponse(status=204)
    saved, created = actions.file_save(cluster=cluster, name=file, text=_text_of(request))
    return JsonResponse(_file_json(saved), status=201 if created else 200)


@require_POST
@owned_cluster_json
def validate(request: HttpRequest, cluster: Cluster) -> HttpResponse:
    return JsonResponse(validation.manifest_validate(cluster=cluster, text=_text_of(request)).as_json())
