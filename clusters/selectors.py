"""Reads for views, commands and lessons: no writes here."""
from __future__ import annotations

import json
import uuid

from .models import ApiObject, Change, Cluster


def cluster_by_id(cluster_id: uuid.UUID) -> Cluster | None:
    return Cluster.objects.select_related("owner").filter(pk=cluster_id).first()


def cluster_by_name(*, username: str, name: str) -> Cluster | None:
    return Cluster.objects.select_related("owner").filter(owner__username=username, name=name).first()


def clusters_all() -> list[Cluster]:
    return list(Cluster.objects.select_related("owner").order_by("owner__username", "name"))


def object_count(cluster: Cluster) -> int:
    return ApiObject.objects.filter(cluster=cluster).count()


def changes_since(cluster_id: uuid.UUID, resource_version: int, *, kind: str, namespace: str | None,
                  limit: int = 500) -> list[tuple[int, str, dict]]:
    """The logged writes to objects of `kind` after `resource_version`, oldest first."""
    rows = Change.objects.filter(cluster_id=cluster_id, resource_version__gt=resource_version, kind=kind)
    if namespace is not None:
        rows = rows.filter(namespace=namespace)
    return [(rv, event, json.loads(data)) for rv, event, data in
            rows.order_by("resource_version").values_list("resource_version", "type", "data")[:limit]]


def cluster_versions(cluster_id: uuid.UUID) -> tuple[int, int]:
    """(current resourceVersion, compacted-up-to resourceVersion) of a cluster."""
    found = Cluster.objects.filter(pk=cluster_id).values_list("resource_version", "compacted_resource_version").first()
    return found if found else (0, 0)
