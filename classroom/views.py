"""The classes' pages (README.md, "Running a class"): an instructor's classes, a class's live grid, a learner seen
by their instructor (read-only, with the helping actions), joining with a code, importing learners and
exporting progress. Thin: the work is classroom/services.py's.

Every class page is looked up through `services.class_of_instructor(request.user, id)`: another
instructor's class, or a learner asking, is a 404 exactly like a class that does not exist.
"""
from __future__ import annotations

from datetime import date

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from classroom import services
from classroom.access import is_instructor
from classroom.models import Classroom
from clusters import selectors
from lessons.catalog import catalog

MAX_CSV_BYTES = 256 * 1024


class ClassForm(forms.Form):
    name = forms.CharField(max_length=100, strip=True)
    lessons = forms.MultipleChoiceField(choices=(), widget=forms.CheckboxSelectMultiple)
    ends = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}),
                           help_text="optional: no one joins after this day")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["lessons"].choices = [(lesson.id, f"{lesson.title} ({lesson.id})")
                                          for lesson in catalog().lessons()]


def _instructor_only(request: HttpRequest) -> None:
    if not is_instructor(request.user):
        raise Http404("No such page")


def _class(request: HttpRequest, class_id: int) -> Classroom:
    _instructor_only(request)
    classroom = services.class_of_instructor(request.user, class_id)
    if classroom is None:
        raise Http404("No such class")
    return classroom


@login_required
@require_GET
def class_list(request: HttpRequest) -> HttpResponse:
    """An instructor's classes (and the form for a new one); a learner's classes and their lessons."""
    context = {"joined": services.classes_of_learner(request.user), "instructor": is_instructor(request.user)}
    if context["instructor"]:
        context["classes"] = services.classes_taught(request.user)
        context["form"] = ClassForm()
    return render(request, "classroom/list.html", context)


@login_required
@require_POST
def class_create(request: HttpRequest) -> HttpResponse:
    _instructor_only(request)
    form = ClassForm(request.POST)
    if form.is_valid():
        try:
            classroom = services.class_create(instructor=request.user, name=form.cleaned_data["name"],
                                              lessons=form.cleaned_data["lessons"], ends=form.cleaned_data["ends"])
        except services.ClassError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, f'Class "{classroom.name}" is ready: share its join link.')
            return redirect("class-detail", class_id=classroom.pk)
    return render(request, "classroom/list.html", {"classes": services.classes_taught(request.user), "form": form,
                                                   "instructor": True, "joined": []}, status=400)


@login_required
@require_GET
def class_detail(request: HttpRequest, class_id: int) -> HttpResponse:
    classroom = _class(request, class_id)
    join_url = request.build_absolute_uri(f"/classes/join/{classroom.join_code}")
    return render(request, "classroom/detail.html", {"classroom": classroom, "grid": services.class_grid(classroom),
                                                     "join_url": join_url})


@login_required
@require_GET
def class_export(request: HttpRequest, class_id: int) -> HttpResponse:
    classroom = _class(request, class_id)
    response = HttpResponse(services.class_csv(classroom), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="class-{classroom.pk}-progress-{date.today()}.csv"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def class_import(request: HttpRequest, class_id: int) -> HttpResponse:
    """A CSV of user names: new accounts' initial passwords are shown on this answer only."""
    classroom = _class(request, class_id)
    upload = request.FILES.get("learners")
    text = request.POST.get("names", "")
    try:
        if upload is not None:
            if upload.size > MAX_CSV_BYTES:
                raise services.ClassError(f"the file is larger than {MAX_CSV_BYTES // 1024} KiB")
            text = upload.read().decode("utf-8-sig")
        imported = services.learners_import(classroom=classroom, text=text)
    except (services.ClassError, UnicodeDecodeError) as error:
        messages.error(request, f"Nothing was imported: {error}")
        return redirect("class-detail", class_id=classroom.pk)
    response = render(request, "classroom/imported.html", {"classroom": classroom, "imported": imported})
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def class_join(request: HttpRequest, code: str) -> HttpResponse:
    classroom = services.class_by_code(code)
    if classroom is None:
        raise Http404("No class has this code")
    if request.method == "GET":
        return render(request, "classroom/join.html", {"classroom": classroom})
    try:
        joined = services.class_join(learner=request.user, classroom=classroom)
    except services.ClassError as error:
        messages.error(request, str(error))
        return redirect("home")
    messages.success(request, f'You joined "{classroom.name}".' if joined else f'You are in "{classroom.name}".')
    return redirect("class-list")


def _learner(request: HttpRequest, class_id: int, username: str):
    classroom = _class(request, class_id)
    learner = services.learner_of_class(classroom, username)
    if learner is None:
        raise Http404("No such learner in this class")
    return classroom, learner


@login_required
@require_GET
def learner_view(request: HttpRequest, class_id: int, username: str) -> HttpResponse:
    """A learner's work as their instructor sees it: read-only, their lesson cluster live beside it."""
    classroom, learner = _learner(request, class_id, username)
    detail = services.learner_detail(classroom, learner)
    wanted = request.GET.get("cluster")
    cluster = next((c for c in detail["clusters"] if c.name == wanted), None) if wanted else None
    if cluster is None and detail["current"] is not None:
        cluster = detail["current"].cluster
    if cluster is None and detail["clusters"]:
        cluster = detail["clusters"][0]
    context = {"classroom": classroom, "learner": learner, "detail": detail, "cluster": cluster}
    if cluster is None:
        return render(request, "classroom/learner_empty.html", context)
    context.update(nodes=selectors.object_table(cluster, "Node"),
                   pods=selectors.object_table(cluster, "Pod", all_namespaces=True),
                   viewer_base=f"/u/{learner.username}/clusters/{cluster.name}/")
    return render(request, "classroom/learner.html", context)


@login_required
@require_POST
def learner_help(request: HttpRequest, class_id: int, username: str, action: str) -> HttpResponse:
    """The instructor's helping hands: reset to the lesson's setup, the clock, a message."""
    classroom, learner = _learner(request, class_id, username)
    try:
        if action == "reset":
            services.learner_reset(classroom=classroom, learner=learner, lesson_id=request.POST.get("lesson", ""))
            messages.success(request, f"{learner.username}'s lesson was reset to its setup.")
        elif action == "clock":
            speed = request.POST.get("speed")
            services.learner_clock(learner=learner, cluster_name=request.POST.get("cluster", ""),
                                   action=request.POST.get("clock", ""), speed=float(speed) if speed else None)
            messages.success(request, f"{learner.username}'s clock: {request.POST.get('clock')}.")
        elif action == "message":
            services.learner_message(instructor=request.user, learner=learner, text=request.POST.get("text", ""))
            messages.success(request, f"Message sent to {learner.username}.")
        else:
            raise Http404("No such action")
    except (services.ClassError, ValueError) as error:
        messages.error(request, str(error))
    target = request.POST.get("next") or ""
    if target.startswith("/classes/") and "//" not in target:
        return redirect(target)
    return redirect("class-learner", class_id=classroom.pk, username=learner.username)
