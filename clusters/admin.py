"""The operator's clusters at /admin/: who owns what, how big, how recently used, running or stopped.

Thin: the figures come from selectors.clusters_with_usage, every change goes through clusters.actions (a reset
as the page's Reset does it, a stop as retention does it, a delete that cascades in one statement). Objects,
the change log and tokens are never edited here: the API is their only door.
"""
from __future__ import annotations

import csv

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from clusters import actions, selectors
from clusters.models import Cluster, ClusterToken

admin.site.site_header = admin.site.site_title = "Kubernetes Playground administration"


def csv_response(filename: str, header: list[str], rows) -> HttpResponse:
    """A CSV download (UTF-8, a header row)."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(header)
    writer.writerows(rows)
    return response


def iso(value) -> str:
    return value.isoformat() if value is not None else ""


class StateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("running", "running"), ("stopped", "stopped")]

    def queryset(self, request, queryset):
        if self.value() == "running":
            return queryset.filter(stopped__isnull=True)
        if self.value() == "stopped":
            return queryset.filter(stopped__isnull=False)
        return queryset


class TokenInline(admin.TabularInline):
    """The cluster's API tokens: when each was issued (they are kept hashed; nothing to show or edit)."""

    model = ClusterToken
    fields = ["created"]
    readonly_fields = ["created"]
    extra = 0
    can_delete = False
    show_change_link = False
    verbose_name_plural = "API tokens (one per kubeconfig or terminal session; kept hashed)"

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Cluster)
class ClusterAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "objects", "stored_bytes", "tokens", "last_activity", "state", "created"]
    list_display_links = ["name"]
    list_filter = [StateFilter]
    search_fields = ["owner__username", "name"]
    list_select_related = ["owner"]
    ordering = ["owner__username", "name"]
    actions = ["reset_clusters", "stop_clusters", "delete_selected", "export_csv"]
    inlines = [TokenInline]
    fields = ["id", "owner", "name", "created", "last_activity", "state", "stopped", "objects", "stored_bytes",
              "tokens", "resource_version", "speed", "paused", "next_wake"]
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Cluster]:
        return selectors.clusters_with_usage(super().get_queryset(request))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False   # clusters are made by their learners (or `manage.py cluster create`)

    @admin.display(description="objects", ordering="object_count")
    def objects(self, cluster: Cluster) -> int:
        return cluster.object_count

    @admin.display(description="stored bytes", ordering="stored_bytes")
    def stored_bytes(self, cluster: Cluster) -> int:
        return cluster.stored_bytes

    @admin.display(description="tokens", ordering="token_count")
    def tokens(self, cluster: Cluster) -> int:
        return cluster.token_count

    @admin.display(description="state", ordering="stopped")
    def state(self, cluster: Cluster) -> str:
        return "running" if cluster.stopped is None else "stopped"

    # Deleting: a summary instead of Django's list of every object, change and token that cascades (thousands).
    def get_deleted_objects(self, objs, request: HttpRequest):
        clusters = list(objs)
        counted = selectors.clusters_with_usage(Cluster.objects.filter(pk__in=[c.pk for c in clusters]))
        summary = {"clusters": len(clusters),
                   "Kubernetes objects": sum(c.object_count for c in counted),
                   "API tokens": sum(c.token_count for c in counted)}
        perms_needed = set() if self.has_delete_permission(request) else {"cluster"}
        return [str(c) for c in clusters], summary, perms_needed, []

    def delete_model(self, request: HttpRequest, obj: Cluster) -> None:
        actions.cluster_delete(cluster=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Cluster]) -> None:
        for cluster in queryset:
            actions.cluster_delete(cluster=cluster)

    @admin.action(description="Reset to a fresh cluster", permissions=["change"])
    def reset_clusters(self, request: HttpRequest, queryset: QuerySet[Cluster]) -> None:
        for cluster in queryset:
            actions.cluster_reset(cluster=cluster)
        self.message_user(request, f"{len(queryset)} cluster(s) reset to a fresh cluster.", messages.SUCCESS)

    @admin.action(description="Stop (no reconcile until the learner's next use)", permissions=["change"])
    def stop_clusters(self, request: HttpRequest, queryset: QuerySet[Cluster]) -> None:
        stopped = sum(actions.cluster_stop(cluster=cluster) for cluster in queryset)
        self.message_user(request, f"{stopped} cluster(s) stopped; {len(queryset) - stopped} already were.",
                          messages.SUCCESS)

    @admin.action(description="Export as CSV", permissions=["view"])
    def export_csv(self, request: HttpRequest, queryset: QuerySet[Cluster]) -> HttpResponse:
        rows = ([c.owner.username, c.name, str(c.pk), c.object_count, c.stored_bytes, c.token_count,
                 iso(c.last_activity), "running" if c.stopped is None else "stopped", iso(c.stopped), iso(c.created)]
                for c in queryset.order_by("owner__username", "name"))
        return csv_response(f"clusters-{timezone.now():%Y%m%d-%H%M}.csv",
                            ["owner", "name", "id", "objects", "stored_bytes", "tokens", "last_activity", "state",
                             "stopped", "created"], rows)
