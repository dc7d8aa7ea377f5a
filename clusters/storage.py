"""`Store` on the database: the etcd of the playground.

A DbStore lives for one request inside one transaction. Its first write locks
the cluster row (SELECT … FOR UPDATE on PostgreSQL; SQLite locks the whole
database anyway), so writes to one cluster are serialized and resourceVersions
strictly increase, as etcd revisions do. The change log is trimmed to the newest
CHANGE_LOG_SIZE rows; watches from before that get 410 Gone.
"""
from __future__ import annotations

import json
from collections.abc import Callable

from django.conf import settings
from django.db import transaction

from .models import ApiObject, Change, Cluster

TRIM_EVERY = 50  # trim the change log every N writes, not on every one


def dumps(obj: dict) -> str:
    return json.dumps(obj, separators=(",", ":"))


class DbStore:
    """The objects of one cluster in the database. Use inside transaction.atomic()."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self._rv = cluster.resource_version
        self._locked = False
        self.written: list[int] = []

    # reads
    def get(self, kind: str, namespace: str, name: str) -> dict | None:
        row = ApiObject.objects.filter(cluster_id=self.cluster.pk, kind=kind, namespace=namespace,
                                       name=name).values_list("data", flat=True).first()
        return json.loads(row) if row is not None else None

    def list(self, kind: str, namespace: str | None = None) -> list[dict]:
        rows = ApiObject.objects.filter(cluster_id=self.cluster.pk, kind=kind)
        if namespace is not None:
            rows = rows.filter(namespace=namespace)
        return [json.loads(data) for data in rows.order_by("namespace", "name").values_list("data", flat=True)]

    def list_json(self, kind: str, namespace: str | None = None) -> list[str]:
        """Like list(), as the stored JSON texts: a plain list answer needs no parsing at all."""
        rows = ApiObject.objects.filter(cluster_id=self.cluster.pk, kind=kind)
        if namespace is not None:
            rows = rows.filter(namespace=namespace)
        return list(rows.order_by("namespace", "name").values_list("data", flat=True))

    def count(self) -> int:
        return ApiObject.objects.filter(cluster_id=self.cluster.pk).count()

    @property
    def resource_version(self) -> int:
        return self._rv

    # writes
    def lock(self) -> None:
        """Take the cluster's write lock now (a reconcile takes it before reading its snapshot)."""
        self._lock()

    def set_sim(self, kind: str, namespace: str, name: str, sim: str) -> None:
        """Private notes changed without an API-visible change: no resourceVersion, no watch event."""
        ApiObject.objects.filter(cluster_id=self.cluster.pk, kind=kind, namespace=namespace, name=name) \
            .update(sim=sim)

    def snapshot(self) -> tuple[list[dict], dict[str, dict]]:
        """Every object of the cluster and the simulation's notes about them (by uid)."""
        objects: list[dict] = []
        sims: dict[str, dict] = {}
        for data, sim in ApiObject.objects.filter(cluster_id=self.cluster.pk).values_list("data", "sim"):
            obj = json.loads(data)
            objects.append(obj)
            if sim != "{}":
                sims[obj["metadata"]["uid"]] = json.loads(sim)
        return objects, sims

    def _lock(self) -> None:
        if not self._locked:
            locked = Cluster.objects.select_for_update().only("resource_version").get(pk=self.cluster.pk)
            self._rv = locked.resource_version
            self._locked = True

    def write(self, event: str, obj: dict, sim: str | None = None) -> dict:
        """Store or forget `obj` at the next resourceVersion; `sim` sets the simulation's private notes."""
        self._lock()
        self._rv += 1
        meta = obj["metadata"]
        meta["resourceVersion"] = str(self._rv)
        kind, namespace, name = obj["kind"], meta.get("namespace", ""), meta["name"]
        data = dumps(obj)
        if event == Change.DELETED:
            ApiObject.objects.filter(cluster_id=self.cluster.pk, kind=kind, namespace=namespace, name=name).delete()
        elif event == Change.ADDED:
            ApiObject.objects.create(cluster_id=self.cluster.pk, kind=kind, namespace=namespace, name=name,
                                     uid=meta["uid"], resource_version=self._rv, data=data, sim=sim or "{}")
        else:
            fields = {"resource_version": self._rv, "data": data, "uid": meta["uid"]}
            if sim is not None:
                fields["sim"] = sim
            ApiObject.objects.filter(cluster_id=self.cluster.pk, kind=kind, namespace=namespace, name=name) \
                .update(**fields)
        Change.objects.create(cluster_id=self.cluster.pk, resource_version=self._rv, type=event, kind=kind,
                              namespace=namespace, name=name, data=data)
        self.written.append(self._rv)
        return obj

    def finish(self) -> int | None:
        """Record the new resourceVersion and trim the log; returns it when anything was written."""
        if not self.written:
            return None
        updates: dict = {"resource_version": self._rv}
        keep = settings.PLAYGROUND["CHANGE_LOG_SIZE"]
        first = self.written[0]
        if (self._rv // TRIM_EVERY) != ((first - 1) // TRIM_EVERY) and self._rv > keep:
            horizon = self._rv - keep
            Change.objects.filter(cluster_id=self.cluster.pk, resource_version__lte=horizon).delete()
            updates["compacted_resource_version"] = horizon
        Cluster.objects.filter(pk=self.cluster.pk).update(**updates)
        self.cluster.resource_version = self._rv
        return self._rv

    def bulk_add(self, objects: list[dict]) -> None:
        """Write many new objects at once (a new cluster's content) with one resourceVersion each."""
        self._lock()
        rows, changes = [], []
        for obj in objects:
            self._rv += 1
            meta = obj["metadata"]
            meta["resourceVersion"] = str(self._rv)
            data = dumps(obj)
            rows.append(ApiObject(cluster_id=self.cluster.pk, kind=obj["kind"], namespace=meta.get("namespace", ""),
                                  name=meta["name"], uid=meta["uid"], resource_version=self._rv, data=data))
            changes.append(Change(cluster_id=self.cluster.pk, resource_version=self._rv, type=Change.ADDED,
                                  kind=obj["kind"], namespace=meta.get("namespace", ""), name=meta["name"],
                                  data=data))
            self.written.append(self._rv)
        ApiObject.objects.bulk_create(rows)
        Change.objects.bulk_create(changes)


def in_transaction(cluster: Cluster, work: Callable[[DbStore], object],
                   on_commit: Callable[[int], None] | None = None) -> object:
    """Run `work` with a DbStore in one transaction; call on_commit(rv) after it commits if it wrote."""
    with transaction.atomic():
        store = DbStore(cluster)
        result = work(store)
        rv = store.finish()
        if rv is not None and on_commit is not None:
            transaction.on_commit(lambda: on_commit(rv))
    return result
