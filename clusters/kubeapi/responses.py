"""Content negotiation and responses in the shapes kubectl asks for."""
from __future__ import annotations

import json
from typing import Any

from django.http import HttpResponse

from clusters.apiserver.errors import ApiError

JSON = "application/json"
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"
PARTIAL_LIST = "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io"
PARTIAL = "application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io"

PATCH_TYPES = {
    "application/json-patch+json": "json",
    "application/merge-patch+json": "merge",
    "application/strategic-merge-patch+json": "strategic",
    "application/apply-patch+yaml": "apply",
}


def accepted(accept: str) -> list[dict[str, str]]:
    """The Accept header as a list of {type, as, v, g} in preference order."""
    found = []
    for clause in accept.split(","):
        pieces = [p.strip() for p in clause.split(";")]
        entry = {"type": pieces[0].lower()}
        for param in pieces[1:]:
            if "=" in param:
                key, value = param.split("=", 1)
                entry[key.strip()] = value.strip()
        found.append(entry)
    return found


def wants(accept: str, as_kind: str) -> bool:
    """Does the client accept the given meta.k8s.io/v1 representation (Table, PartialObjectMetadata…)?"""
    return any(e.get("as") == as_kind and e.get("g") == "meta.k8s.io" and e.get("v") == "v1"
               for e in accepted(accept))


def json_response(body: Any, status: int = 200, content_type: str = JSON,
                  warnings: list[str] | None = None) -> HttpResponse:
    response = HttpResponse(json.dumps(body, separators=(",", ":")), status=status, content_type=content_type)
    for warning in warnings or []:
        add_warning(response, warning)
    return response


def add_warning(response: HttpResponse, text: str) -> None:
    """RFC 7234 Warning header as kube-apiserver sends it; kubectl prints `Warning: <text>`."""
    value = '299 - "' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    existing = response.headers.get("Warning")
    response.headers["Warning"] = f"{existing}, {value}" if existing else value


def status_response(error: ApiError) -> HttpResponse:
    response = json_response(error.status(), error.code)
    if error.retry_after is not None:
        response.headers["Retry-After"] = str(error.retry_after)
    return response
