"""The metrics.k8s.io/v1beta1 door: what `kubectl top` and the HPA's readers ask metrics-server.

metrics-server is an aggregated API: read-only, no watch, JSON only (kubectl top asks for JSON). The figures
are the engine's last scrape (clusters/sim/metrics.py through selectors.metrics_read); their `timestamp`
is served on the wall clock like every other time the API sends (clusters/apiserver/served_time.py).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest, HttpResponse

from clusters import selectors
from clusters.apiserver import errors
from clusters.apiserver.served_time import to_served

from .paths import ResourcePath
from .responses import json_response

if TYPE_CHECKING:
    from clusters.models import Cluster


def metrics_response(request: HttpRequest, cluster: Cluster, target: ResourcePath) -> HttpResponse:
    if request.method != "GET":
        raise errors.method_not_allowed()
    body = selectors.metrics_read(cluster=cluster, kind=target.rt.kind, namespace=target.namespace or None,
                                  name=target.name or "", label_selector=request.GET.get("labelSelector", ""),
                                  field_selector=request.GET.get("fieldSelector", ""))
    return json_response(to_served(body, cluster.served_offset()))
