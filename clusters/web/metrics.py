"""The cluster page's Metrics panel (clusters/web/PAGE.md): metrics-server's figures and the autoscalers.

Thin: the body is selectors.page_metrics (clusters/sim/metrics.py, the last scrape `kubectl top` reads,
cached per cluster, resourceVersion and 15 s window), so the page polls it as often as its clock needs.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from clusters import selectors
from clusters.web.page_json import viewable_cluster_json

if TYPE_CHECKING:
    from clusters.models import Cluster


@require_GET
@viewable_cluster_json
def cluster_metrics(request: HttpRequest, cluster: Cluster) -> HttpResponse:
    """GET → {"now", "scrape", "window", "speed", "paused", "nodes", "pods", "autoscalers"}."""
    return JsonResponse(selectors.page_metrics(cluster=cluster))
