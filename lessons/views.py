"""The lessons' pages (lessons/PANEL.md, "Pages"): the catalog, a lesson's introduction or its cluster page with
the panel, and starting (or restarting) a lesson. Thin: the work is lessons/progress.py's."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from clusters import selectors
from lessons import progress
from lessons.catalog import Lesson, catalog


def _lesson(track: str, lesson: str) -> Lesson:
    found = catalog().lesson(f"{track}/{lesson}")
    if found is None:
        raise Http404("No such lesson")
    return found


@require_GET
def lesson_catalog(request: HttpRequest) -> HttpResponse:
    return render(request, "lessons/catalog.html", {"tracks": progress.catalog_view(request.user)})


@require_GET
def lesson_page(request: HttpRequest, track: str, lesson: str) -> HttpResponse:
    found = _lesson(track, lesson)
    started = progress.progress_of(request.user, found.id)
    if started is None:
        return render(request, "lessons/intro.html", {
            "lesson": progress.lesson_card(request.user, found),
            "steps": [{"index": s.index, "title": s.title} for s in found.steps]})
    cluster = started.cluster
    return render(request, "lessons/lesson.html", {
        "cluster": cluster,
        "nodes": selectors.object_table(cluster, "Node"),
        "pods": selectors.object_table(cluster, "Pod", all_namespaces=True),
        "lesson": progress.lesson_card(request.user, found),
        "panel_socket": f"{found.url}live",
    })


@login_required
@require_POST
def lesson_start(request: HttpRequest, track: str, lesson: str) -> HttpResponse:
    found = _lesson(track, lesson)
    try:
        progress.start(user=request.user, lesson=found)
    except progress.LessonError as error:
        messages.error(request, f'"{found.title}" could not start: {error}')
        return redirect("lesson-catalog")
    return redirect("lesson-page", track=track, lesson=lesson)
