"""The Service cards' "Send traffic" (clusters/web/PAGE.md): requests to a Service, answered by the network model.

Thin: the body's rules here, the send in selectors.service_traffic (clusters/sim/traffic.py). It is a read —
nothing in the cluster changes — but a POST: each send is a new burst, seeded by the wall clock, so that
clicks at the same (paused) simulated instant spread over the endpoints as kube-proxy's random choice would.
"""
from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_POST

from clusters import selectors
from clusters.web.page_json import BadRequest, json_body, viewable_cluster_json

if TYPE_CHECKING:
    from clusters.models import Cluster

DEFAULT_REQUESTS = 10
MAX_REQUESTS = 100
MAX_PATH = 1000
# What curl and wget send as it is: a path (and query) without spaces or control characters.
_PATH = re.compile(r"/[\x21-\x7e]*")


def _whole(body: dict, field: str, default: int | None, low: int, high: int) -> int | None:
    value = body.get(field, default)
    if value is None and default is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise BadRequest(f"{field} must be a whole number from {low} to {high}")
    return value


def _path(body: dict) -> str:
    path = body.get("path", "/")
    if path in (None, ""):
        return "/"
    if not isinstance(path, str) or len(path) > MAX_PATH or not _PATH.fullmatch(path):
        raise BadRequest(f'path must start with "/" and hold no spaces (at most {MAX_PATH} characters), '
                         'e.g. "/" or "/index.html"')
    return path


@require_POST
@viewable_cluster_json
def service_traffic(request: HttpRequest, cluster: Cluster, namespace: str, service: str) -> HttpResponse:
    """{"requests": 1-100, "path": "/…", "from": "cluster" | "outside", "port": N} → who answered, what failed."""
    body = json_body(request, 'a JSON object like {"requests": 10, "path": "/", "from": "cluster"}')
    requests = _whole(body, "requests", DEFAULT_REQUESTS, 1, MAX_REQUESTS)
    port = _whole(body, "port", None, 1, 65535)
    source = body.get("from", "cluster")
    if source not in ("cluster", "outside"):
        raise BadRequest('from must be "cluster" or "outside"')
    try:
        answer = selectors.service_traffic(cluster=cluster, namespace=namespace, name=service,
                                           requests=requests or DEFAULT_REQUESTS, path=_path(body),
                                           from_outside=source == "outside", port=port, seed=time.time_ns() // 1000)
    except selectors.TrafficError as error:
        raise BadRequest(str(error), error.status) from None
    return JsonResponse(answer)
