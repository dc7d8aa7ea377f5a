"""Pages for people (the Kubernetes API's views are in clusters/api/)."""
from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .apiserver.registry import KUBERNETES_VERSION
from .models import Cluster


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html", {"version": KUBERNETES_VERSION, "api_port": settings.PLAYGROUND["API_PORT"],
                                         "clusters": Cluster.objects.count()})
