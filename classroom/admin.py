"""Classes in the Django admin: who teaches what, the members, the join code; progress as CSV."""
from __future__ import annotations

from django.contrib import admin
from django.http import HttpResponse

from classroom import services
from classroom.models import Classroom, Membership


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ("learner",)
    readonly_fields = ("joined",)


@admin.register(Classroom)
class ClassroomAdmin(admin.ModelAdmin):
    list_display = ("name", "instructor", "learners", "lesson_count", "ends", "join_code", "created")
    search_fields = ("name", "instructor__username", "join_code")
    list_filter = ("ends",)
    raw_id_fields = ("instructor",)
    inlines = [MembershipInline]
    actions = ["export_progress"]

    @admin.display(description="learners")
    def learners(self, obj: Classroom) -> int:
        return obj.memberships.count()

    @admin.display(description="lessons")
    def lesson_count(self, obj: Classroom) -> int:
        return len(obj.lessons)

    @admin.action(description="Export the selected classes' progress as CSV")
    def export_progress(self, request, queryset):
        parts = []
        for number, classroom in enumerate(queryset):
            text = services.class_csv(classroom)
            parts.append(text if number == 0 else text.split("\n", 1)[1])
        response = HttpResponse("".join(parts), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="classes-progress.csv"'
        return response
