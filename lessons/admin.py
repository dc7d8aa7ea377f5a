"""Learners' lesson progress at /admin/, read-only, with CSV exports (a lesson per row, or a step per row).

Progress is written only by lessons.progress (the panel); here it is looked at and exported.
"""
from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, Q, QuerySet, Sum
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from clusters.admin import csv_response, iso  # one CSV download for every admin
from lessons.models import LessonProgress, StepProgress


def progress_with_help(progress: QuerySet[LessonProgress]) -> QuerySet[LessonProgress]:
    """Lesson progress with `steps_done`, `hints_used` and `solutions_shown` over its steps (since its latest
    start)."""
    return progress.annotate(steps_done=Count("steps", filter=Q(steps__completed__isnull=False)),
                             hints_used=Sum("steps__hints", default=0),
                             solutions_shown=Count("steps", filter=Q(steps__solution=True)))


class ReadOnly:
    """Progress is the panel's to write."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class StepInline(ReadOnly, admin.TabularInline):
    model = StepProgress
    fields = ["index", "began", "completed", "hints", "solution", "attempts", "answer_correct", "last_reason"]
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(LessonProgress)
class LessonProgressAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["user", "lesson", "step", "started", "finished", "restarts", "done", "hints", "solutions"]
    list_filter = ["lesson", ("finished", admin.EmptyFieldListFilter)]
    search_fields = ["user__username", "lesson"]
    list_select_related = ["user"]
    ordering = ["user__username", "lesson"]
    actions = ["export_csv"]
    inlines = [StepInline]
    fields = ["user", "lesson", "cluster", "current_step", "first_started", "started", "finished", "restarts",
              "updated"]
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[LessonProgress]:
        return progress_with_help(super().get_queryset(request))

    @admin.display(description="step", ordering="current_step")
    def step(self, progress: LessonProgress) -> int:
        return progress.current_step + 1

    @admin.display(description="steps done", ordering="steps_done")
    def done(self, progress: LessonProgress) -> int:
        return progress.steps_done

    @admin.display(description="hints", ordering="hints_used")
    def hints(self, progress: LessonProgress) -> int:
        return progress.hints_used

    @admin.display(description="solutions", ordering="solutions_shown")
    def solutions(self, progress: LessonProgress) -> int:
        return progress.solutions_shown

    @admin.action(description="Export as CSV", permissions=["view"])
    def export_csv(self, request: HttpRequest, queryset: QuerySet[LessonProgress]) -> HttpResponse:
        rows = ([p.user.username, p.lesson, p.current_step + 1, iso(p.first_started), iso(p.started),
                 iso(p.finished), p.restarts, p.steps_done, p.hints_used, p.solutions_shown]
                for p in queryset.order_by("user__username", "lesson"))
        return csv_response(f"lesson-progress-{timezone.now():%Y%m%d-%H%M}.csv",
                            ["user", "lesson", "current_step", "first_started", "started", "finished", "restarts",
                             "steps_done", "hints", "solutions"], rows)


@admin.register(StepProgress)
class StepProgressAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["user", "lesson", "step", "began", "completed", "hints", "solution", "attempts"]
    list_filter = ["progress__lesson", "solution", ("completed", admin.EmptyFieldListFilter)]
    search_fields = ["progress__user__username", "progress__lesson"]
    list_select_related = ["progress__user"]
    ordering = ["progress__user__username", "progress__lesson", "index"]
    actions = ["export_csv"]

    @admin.display(description="user", ordering="progress__user__username")
    def user(self, step: StepProgress) -> str:
        return step.progress.user.username

    @admin.display(description="lesson", ordering="progress__lesson")
    def lesson(self, step: StepProgress) -> str:
        return step.progress.lesson

    @admin.display(description="step", ordering="index")
    def step(self, step: StepProgress) -> int:
        return step.index + 1

    @admin.action(description="Export as CSV", permissions=["view"])
    def export_csv(self, request: HttpRequest, queryset: QuerySet[StepProgress]) -> HttpResponse:
        rows = ([s.progress.user.username, s.progress.lesson, s.index + 1, iso(s.began), iso(s.completed), s.hints,
                 "yes" if s.solution else "no", s.attempts,
                 "" if s.answer_correct is None else ("yes" if s.answer_correct else "no")]
                for s in queryset.select_related("progress__user")
                .order_by("progress__user__username", "progress__lesson", "index"))
        return csv_response(f"lesson-steps-{timezone.now():%Y%m%d-%H%M}.csv",
                            ["user", "lesson", "step", "began", "completed", "hints", "solution", "attempts",
                             "answer_correct"], rows)
