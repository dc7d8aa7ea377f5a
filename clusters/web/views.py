"""Pages for people (the Kubernetes API's views are in clusters/kubeapi/).

Thin: parse, call one service or selector, render. Every cluster is looked up
through `selectors.cluster_of_user(request.user, name)`, so another learner's
cluster — guessed name or not — is a 404, exactly like one that does not exist.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import UserCreationForm
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.request import split_domain_port
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clusters import actions, selectors
from clusters.apiserver.registry import KUBERNETES_VERSION
from clusters.web import live
from clusters.web.page_json import BadRequest, json_body, owned_cluster_json, viewable_cluster_json

if TYPE_CHECKING:
    from clusters.models import Cluster


class ClusterCreateForm(forms.Form):
    # The name's rules are actions.cluster_create's (it answers a ClusterError); the form only parses.
    name = forms.CharField(max_length=63, strip=True)
    workers = forms.IntegerField(min_value=0, max_value=actions.MAX_WORKERS, initial=actions.DEFAULT_WORKERS,
                                 label="Worker nodes")


def _owned(request: HttpRequest, name: str) -> Cluster:
    cluster = selectors.cluster_of_user(request.user, name)
    if cluster is None:
        raise Http404("No such cluster")
    return cluster


def _home(request: HttpRequest, form: ClusterCreateForm | None = None, status: int = 200) -> HttpResponse:
    context = {"version": KUBERNETES_VERSION, "max_workers": actions.MAX_WORKERS}
    if request.user.is_authenticated:
        context["clusters"] = selectors.clusters_of_user(request.user)
        context["form"] = form or ClusterCreateForm(initial={"name": "" if context["clusters"] else "lab"})
    return render(request, "home.html", context, status=status)


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return _home(request)


def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("home")
    form = UserCreationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        login(request, form.save())
        messages.success(request, "Welcome! Create your first cluster below.")
        return redirect("home")
    return render(request, "registration/signup.html", {"form": form}, status=400 if form.errors else 200)


@login_required
@require_POST
def cluster_create(request: HttpRequest) -> HttpResponse:
    form = ClusterCreateForm(request.POST)
    if form.is_valid():
        try:
            cluster = actions.cluster_create(owner=request.user, name=form.cleaned_data["name"],
                                              workers=form.cleaned_data["workers"])
        except actions.ClusterError as error:
            form.add_error("name", str(error))
        else:
            messages.success(request, f'Cluster "{cluster.name}" is ready.')
            return redirect(f"/#cluster-{cluster.name}")
    return _home(request, form, status=400)


@login_required
@require_GET
def cluster_detail(request: HttpRequest, name: str) -> HttpResponse:
    cluster = _owned(request, name)
    return render(request, "clusters/detail.html", {
        "cluster": cluster,
        "nodes": selectors.object_table(cluster, "Node"),
        "pods": selectors.object_table(cluster, "Pod", all_namespaces=True),
    })


def _api_server(request: HttpRequest) -> str | None:
    """The API's URL as this browser reached the server (None: PLAYGROUND_API_SERVER_URL decides)."""
    if settings.PLAYGROUND["API_SERVER_URL"]:
        return None
    host, _ = split_domain_port(request.get_host())
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"https://{host or '127.0.0.1'}:{settings.PLAYGROUND['API_PORT']}"


@login_required
@require_POST
def cluster_kubeconfig(request: HttpRequest, name: str) -> HttpResponse:
    # POST: each download issues a new bearer token (a write), so it is CSRF-protected like the others.
    cluster = _owned(request, name)
    response = HttpResponse(actions.cluster_kubeconfig(cluster=cluster, server=_api_server(request)),
                            content_type="application/yaml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{cluster.name}.kubeconfig"'
    response["Cache-Control"] = "no-store"
    return response


_CONFIRM = {
    "reset": ("Reset", "Everything you created in it is deleted and it starts over as a fresh cluster with "
                       "the same nodes. Your kubeconfigs keep working."),
    "delete": ("Delete", "The cluster and everything in it are deleted, and its kubeconfigs stop working. "
                         "This cannot be undone."),
}


def _confirm(request: HttpRequest, cluster: Cluster, action: str) -> HttpResponse:
    # Without JavaScript the buttons lead here; with it, the same question is a dialog on the page.
    verb, consequence = _CONFIRM[action]
    return render(request, "clusters/confirm.html", {"cluster": cluster, "action": action, "verb": verb,
                                                     "consequence": consequence})


@login_required
@require_http_methods(["GET", "POST"])
def cluster_reset(request: HttpRequest, name: str) -> HttpResponse:
    cluster = _owned(request, name)
    if request.method == "GET":
        return _confirm(request, cluster, "reset")
    actions.cluster_reset(cluster=cluster)
    messages.success(request, f'Cluster "{cluster.name}" was reset.')
    if request.POST.get("next") == "detail":
        return redirect("cluster-detail", name=cluster.name)
    return redirect("home")


@login_required
@require_http_methods(["GET", "POST"])
def cluster_delete(request: HttpRequest, name: str) -> HttpResponse:
    cluster = _owned(request, name)
    if request.method == "GET":
        return _confirm(request, cluster, "delete")
    actions.cluster_delete(cluster=cluster)
    messages.success(request, f'Cluster "{name}" was deleted.')
    return redirect("home")


# The page's clock bar: one step forward at most this far (the management command has no limit).
MAX_ADVANCE_SECONDS = 3600


def _number(body: dict, field: str, low: float, high: float) -> float:
    value = body.get(field)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise BadRequest(f"{field} must be a number from {low:g} to {high:g}")
    return float(value)


@require_POST
@owned_cluster_json
def cluster_clock(request: HttpRequest, cluster: Cluster) -> HttpResponse:
    """The clock bar: {"action": "pause" | "resume" | "speed" (with "speed") | "advance" (with "seconds")}."""
    body = json_body(request)
    action = body.get("action")
    actions.cluster_touch(cluster=cluster)   # the learner is here: a cluster retention stopped starts again
    if action == "pause":
        cluster = actions.cluster_clock(cluster=cluster, pause=True)
    elif action == "resume":
        cluster = actions.cluster_clock(cluster=cluster, resume=True)
    elif action == "speed":
        speed = _number(body, "speed", actions.MIN_SPEED, actions.MAX_SPEED)
        cluster = actions.cluster_clock(cluster=cluster, speed=speed)
    elif action == "advance":
        seconds = _number(body, "seconds", 1, MAX_ADVANCE_SECONDS)
        cluster = actions.cluster_clock(cluster=cluster, advance=seconds)
    else:
        raise BadRequest('action must be one of "pause", "resume", "speed", "advance"')
    return JsonResponse(live.clock(cluster))


@require_POST
@owned_cluster_json
def node_switch(request: HttpRequest, cluster: Cluster, node: str, action: str) -> HttpResponse:
    """A node box's "fail" / "recover": its kubelet stops (or resumes) posting status."""
    actions.cluster_touch(cluster=cluster)
    try:
        actions.node_set_failed(cluster=cluster, node=node, failed=action == "fail")
    except actions.ClusterError as error:  # the only one: no such node
        raise BadRequest(str(error), 404) from None
    return JsonResponse({"node": node, "failed": action == "fail"})


@require_GET
@viewable_cluster_json
def terminal_history(request: HttpRequest, cluster: Cluster) -> HttpResponse:
    """The browser terminal's lines, newest last: {"commands": [{"id", "at", "line", "exit", "output"}]};
    `?after=ID` only those after that one (what a page that polls has not seen yet)."""
    try:
        after = int(request.GET.get("after", "0"))
    except ValueError:
        raise BadRequest("after must be a command's id (a whole number)") from None
    return JsonResponse({"commands": [
        {"id": c.pk, "at": c.at.isoformat(), "line": c.line, "exit": c.exit_code, "output": c.output}
        for c in selectors.terminal_commands(cluster=cluster, after=after)]})
