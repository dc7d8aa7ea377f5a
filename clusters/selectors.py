"""Reads for views, commands and lessons: no writes here (the writers are in clusters.actions)."""
from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from django.db import transaction
from django.db.models import Count, Field, Max, Q, QuerySet

from clusters.apiserver import errors
from clusters.apiserver.pipeline import ApiServer
from clusters.apiserver.selection import parse_selection
from clusters.apiserver.store import DryRunStore
from clusters.apiserver.tables import build_table, pod_status_reason
from clusters.config import limits
from clusters.engine import jsontext
from clusters.models import (
    ApiObject,
    Change,
    Cluster,
    ClusterToken,
    ManifestFile,
    TerminalCommand,
    hash_token,
)
from clusters.sim import metrics, replay, traffic
from clusters.sim.traffic import TrafficError as TrafficError  # the page's views catch it from here
from clusters.store.database import DbStore
from clusters.store.rows import Select

T = TypeVar("T")


_CLUSTER_BY_ID = Select(Cluster, "WHERE {table}.id = %s", [Cluster._meta.pk])
_CLUSTER_FOR_TOKEN = Select(
    Cluster, f"INNER JOIN {ClusterToken._meta.db_table} token ON token.cluster_id = {{table}}.id "
             "WHERE {table}.id = %s AND token.token_hash = %s",
    [Cluster._meta.pk, ClusterToken._meta.get_field("token_hash")])
_CLUSTER_OF_OWNER = Select(Cluster, "WHERE {table}.owner_id = %s AND {table}.name = %s LIMIT 1",
                           [Cluster._meta.get_field("owner"), Cluster._meta.get_field("name")])


def cluster_by_id(cluster_id: uuid.UUID) -> Cluster | None:
    """The cluster's row (its owner read only when asked for): what every page update, watch event and
    terminal re-check reads first, by SQL written once (store/rows.py)."""
    return _CLUSTER_BY_ID.one(cluster_id)


def cluster_by_name(*, username: str, name: str) -> Cluster | None:
    return Cluster.objects.select_related("owner").filter(owner__username=username, name=name).first()


def clusters_all() -> list[Cluster]:
    return list(Cluster.objects.select_related("owner").order_by("owner__username", "name"))


def clusters_of_user(user) -> QuerySet[Cluster]:
    """A learner's clusters, newest first, each with its `node_count` and `pod_count`."""
    if not getattr(user, "is_authenticated", False):
        return Cluster.objects.none()
    return (Cluster.objects.filter(owner=user)
            .annotate(node_count=Count("api_objects", filter=Q(api_objects__kind="Node")),
                      pod_count=Count("api_objects", filter=Q(api_objects__kind="Pod")))
            .order_by("-created", "name"))


def cluster_of_user(user, name: str) -> Cluster | None:
    """The learner's own cluster of that name; None for anyone else's, so pages answer 404 alike."""
    if not getattr(user, "is_authenticated", False):
        return None
    # Every page, live feed and terminal of a learner opens with this read: SQL written once (store/rows.py),
    # and the owner is the user at hand, not a join.
    cluster = _CLUSTER_OF_OWNER.one(user.pk, name)
    if cluster is not None:
        cluster.owner = user
    return cluster


# Who may look at someone else's cluster, read-only: rules the apps built on clusters register (the
# classroom app: an instructor, for the learners of their classes). clusters never imports them.
_viewer_rules: list[Callable[[object, object], bool]] = []


def allow_viewers(rule: Callable[[object, object], bool]) -> None:
    """Register rule(viewer, owner) → whether `viewer` may see `owner`'s clusters (read-only)."""
    if rule not in _viewer_rules:
        _viewer_rules.append(rule)


def may_view(viewer, owner) -> bool:
    if not getattr(viewer, "is_authenticated", False) or owner is None:
        return False
    return viewer.pk == owner.pk or any(rule(viewer, owner) for rule in _viewer_rules)


def cluster_for_viewer(viewer, owner_name: str, name: str) -> Cluster | None:
    """`owner_name`'s cluster `name` when `viewer` may see it (their own, or by a registered rule); None
    otherwise, exactly as for a cluster that does not exist."""
    if not getattr(viewer, "is_authenticated", False):
        return None
    cluster = Cluster.objects.select_related("owner").filter(owner__username=owner_name, name=name).first()
    return cluster if cluster is not None and may_view(viewer, cluster.owner) else None


@dataclass
class Table:
    """A server-side table as `kubectl get` prints it: the default (priority 0) columns only."""

    columns: list[str]
    rows: list[list[str]]


def _cell(value) -> str:
    return "<none>" if value is None else str(value)


def object_table(cluster: Cluster, kind: str, *, all_namespaces: bool = False) -> Table:
    """`kubectl get <kind>` (with `-A`: a NAMESPACE column first) from the real columns in apiserver.tables."""
    rows = ApiObject.objects.filter(cluster=cluster, kind=kind).order_by("namespace", "name")
    objects = [jsontext.loads(data) for data in rows.values_list("data", flat=True)]
    table = build_table(kind, objects, now=datetime.fromtimestamp(cluster.sim_now(), UTC))
    shown = [i for i, column in enumerate(table["columnDefinitions"]) if column.get("priority", 0) == 0]
    columns = [table["columnDefinitions"][i]["name"].upper() for i in shown]
    cells = [[_cell(row["cells"][i]) for i in shown] for row in table["rows"]]
    if all_namespaces:
        columns.insert(0, "NAMESPACE")
        for obj, row in zip(objects, cells):
            row.insert(0, obj["metadata"].get("namespace", ""))
    return Table(columns, cells)


def object_count(cluster: Cluster) -> int:
    return ApiObject.objects.filter(cluster=cluster).count()


def _change_select(condition: str, params: list[Field | None]) -> Select:
    return Select(Change, "WHERE {table}.cluster_id = %s AND {table}.resource_version > %s" + condition
                  + " ORDER BY {table}.resource_version LIMIT %s",
                  [_CHANGE_CLUSTER, _CHANGE_RV, *params, None], columns=("resource_version", "type", "kind", "data"))


_CHANGE_CLUSTER, _CHANGE_RV = Change._meta.get_field("cluster"), Change._meta.get_field("resource_version")
_CHANGE_KIND, _CHANGE_NAMESPACE = Change._meta.get_field("kind"), Change._meta.get_field("namespace")
# The hot reads of the change log (every watch event, every page update), by SQL written once (store/rows.py).
_CHANGES_OF_KIND = _change_select(" AND {table}.kind = %s", [_CHANGE_KIND])
_CHANGES_OF_KIND_IN = _change_select(" AND {table}.kind = %s AND {table}.namespace = %s",
                                     [_CHANGE_KIND, _CHANGE_NAMESPACE])
_CHANGES = _change_select("", [])


def changes_since(cluster_id: uuid.UUID, resource_version: int, *, kind: str, namespace: str | None,
                  limit: int = 500) -> list[tuple[int, str, dict]]:
    """The logged writes to objects of `kind` after `resource_version`, oldest first."""
    if namespace is None:
        rows = _CHANGES_OF_KIND.all(cluster_id, resource_version, kind, limit)
    else:
        rows = _CHANGES_OF_KIND_IN.all(cluster_id, resource_version, kind, namespace, limit)
    return [(rv, event, jsontext.loads(data)) for rv, event, _, data in rows]


def first_changes_since(cluster_id: uuid.UUID, resource_version: int, *, kind: str,
                        namespace: str | None) -> dict[tuple[str, str], tuple[str, int]]:
    """For each object of `kind` written after `resource_version`: (namespace, name) → (event type,
    resourceVersion) of its first logged write since then (a watch resuming there needs to know what
    existed at that resourceVersion)."""
    rows = Change.objects.filter(cluster_id=cluster_id, resource_version__gt=resource_version, kind=kind)
    if namespace is not None:
        rows = rows.filter(namespace=namespace)
    first: dict[tuple[str, str], tuple[str, int]] = {}
    for rv, event, ns, name in rows.order_by("resource_version").values_list("resource_version", "type",
                                                                               "namespace", "name"):
        first.setdefault((ns, name), (event, rv))
    return first


def logged_object(cluster_id: uuid.UUID, kind: str, namespace: str, name: str, *, upto: int) -> dict | None:
    """The object as the change log last recorded it at or before resourceVersion `upto` (a DELETED entry
    holds the object as it was last stored), or None when the log holds nothing of it (trimmed)."""
    data = (Change.objects.filter(cluster_id=cluster_id, kind=kind, namespace=namespace, name=name,
                                  resource_version__lte=upto)
            .order_by("-resource_version").values_list("data", flat=True).first())
    return jsontext.loads(data) if data is not None else None


def cluster_versions(cluster_id: uuid.UUID) -> tuple[int, int]:
    """(current resourceVersion, compacted-up-to resourceVersion) of a cluster."""
    found = Cluster.objects.filter(pk=cluster_id).values_list("resource_version", "compacted_resource_version").first()
    return found if found else (0, 0)


def changes_after(cluster_id: uuid.UUID, resource_version: int, *, kinds: tuple[str, ...] | None = None,
                  limit: int = 500) -> list[tuple[int, str, str, dict]]:
    """The logged writes of any kind (or of `kinds`) after `resource_version`, oldest first:
    (resourceVersion, event type, kind, object)."""
    if kinds is None:
        return [(rv, event, kind, jsontext.loads(data))
                for rv, event, kind, data in _CHANGES.all(cluster_id, resource_version, limit)]
    rows = Change.objects.filter(cluster_id=cluster_id, resource_version__gt=resource_version, kind__in=kinds)
    return [(rv, event, kind, jsontext.loads(data)) for rv, event, kind, data in
            rows.order_by("resource_version").values_list("resource_version", "type", "kind", "data")[:limit]]


_OBJECTS_OF_KINDS: dict[int, Select] = {}   # per number of kinds asked for
_NODE_NOTES = Select(ApiObject, "WHERE {table}.cluster_id = %s AND {table}.kind = 'Node' ORDER BY {table}.name",
                     [ApiObject._meta.get_field("cluster")], columns=("name", "sim"))


def objects_of_kinds(cluster_id: uuid.UUID, kinds: tuple[str, ...]) -> list[tuple[str, dict]]:
    """The stored objects of those kinds: (kind, object), by kind, namespace and name. Every page opens with
    this read of its whole cluster: SQL written once, and one decode of all the texts."""
    if not kinds:
        return []
    select = _OBJECTS_OF_KINDS.get(len(kinds))
    if select is None:
        field = ApiObject._meta.get_field
        select = _OBJECTS_OF_KINDS[len(kinds)] = Select(
            ApiObject, f"WHERE {{table}}.cluster_id = %s AND {{table}}.kind IN ({', '.join(['%s'] * len(kinds))}) "
                       "ORDER BY {table}.kind, {table}.namespace, {table}.name",
            [field("cluster"), *[field("kind")] * len(kinds)], columns=("kind", "data"))
    rows = select.all(cluster_id, *kinds)
    objects = jsontext.loads("[" + ",".join(data for _, data in rows) + "]")
    return [(kind, obj) for (kind, _), obj in zip(rows, objects, strict=True)]


def failed_nodes(cluster_id: uuid.UUID) -> list[str]:
    """Nodes switched off with `node_set_failed` (the switch lives in the simulation notes, not the object)."""
    return [name for name, sim in _NODE_NOTES.all(cluster_id) if jsontext.loads(sim or "{}").get("failed")]


def cluster_for_token(token: str, cluster_id: uuid.UUID) -> Cluster | None:
    """The cluster `cluster_id` when `token` is one issued for it, else None: the API's check on every request,
    in one query (the row without its owner, which the API never reads)."""
    if not token or len(token) > 200 or not token.isascii():
        return None
    return _CLUSTER_FOR_TOKEN.one(cluster_id, hash_token(token))


def token_cluster_id(token: str) -> uuid.UUID | None:
    """The id of the cluster a bearer token opens, or None for an unknown or malformed token."""
    if not token or len(token) > 200 or not token.isascii():
        return None
    return ClusterToken.objects.filter(token_hash=hash_token(token)).values_list("cluster_id", flat=True).first()


def file_list(*, cluster: Cluster) -> list[ManifestFile]:
    """The cluster's editor files in tab order."""
    return list(ManifestFile.objects.filter(cluster=cluster).order_by("position", "name"))


def editor_files(*, cluster: Cluster) -> dict[str, str]:
    """The cluster's editor files as {name: text} (what the terminal's `-f NAME` may read)."""
    return dict(ManifestFile.objects.filter(cluster=cluster).values_list("name", "text"))


def api_dry_run(*, cluster: Cluster, operation: Callable[[ApiServer, DryRunStore], T]) -> T:
    """Run requests through the cluster's API pipeline without storing anything.

    The operation gets a pipeline over a `DryRunStore` (it should pass dry_run=True and `remember`
    what each request would have written, so that the next one sees it). Belt and braces: it all
    runs in a transaction that is rolled back, so even a path of the pipeline that wrote is undone.
    """
    with transaction.atomic():
        store = DryRunStore(DbStore(cluster))
        # No CA: a dry run never creates a namespace's kube-root-ca.crt (the real create would).
        server = ApiServer(store, now=cluster.sim_now(), limits=limits(), seed=cluster.seed,  # type: ignore[arg-type]
                           graceful_pod_deletion=True)
        try:
            return operation(server, store)
        finally:
            transaction.set_rollback(True)


def service_traffic(*, cluster: Cluster, namespace: str, name: str, requests: int, path: str = "/",
                    from_outside: bool = False, port: int | None = None, seed: int = 0) -> dict:
    """The page's "Send traffic": `requests` GETs to a Service at the cluster's simulated now, answered by the
    network model from the snapshot (a read: nothing is written). Raises TrafficError (with an HTTP status)
    for a send that cannot be made. `seed` shifts the burst within a millisecond (clusters/sim/traffic.py)."""
    report = traffic.service_traffic(cluster=cluster, namespace=namespace, name=name, requests=requests, path=path,
                                     from_outside=from_outside, port=port, seed=seed)
    return traffic.report_json(report)


def metrics_read(*, cluster: Cluster, kind: str, namespace: str | None = None, name: str = "",
                 label_selector: str = "", field_selector: str = "") -> dict:
    """metrics.k8s.io/v1beta1 as metrics-server answers it: a PodMetrics/NodeMetrics (`name` given) or their
    list, filtered by namespace and selectors (clusters/sim/metrics.py). Raises ApiError (404 with
    metrics-server's message, 400 for a bad selector)."""
    selection = parse_selection(label_selector, field_selector)
    view = metrics.cluster_metrics(cluster)
    items = view.pods if kind == "PodMetrics" else view.nodes
    if namespace:
        items = tuple(obj for obj in items if obj["metadata"].get("namespace") == namespace)
    if name:
        found = next((obj for obj in items if obj["metadata"]["name"] == name), None)
        if found is None:
            resource = "podmetrics" if kind == "PodMetrics" else "nodemetrics"
            raise errors.not_found(resource, "metrics.k8s.io", f"{namespace}/{name}" if namespace else name)
        return found
    selected = [obj for obj in items if selection.matches(obj, kind)]
    return {"kind": f"{kind}List", "apiVersion": "metrics.k8s.io/v1beta1", "metadata": {}, "items": selected}


def _quantity(value, parse: Callable[[str], int]) -> int | None:
    try:
        return parse(value) if value is not None else None
    except (ValueError, TypeError):
        return None


def _pod_resources(pod: dict) -> dict:
    """A pod's containers' requests and limits summed: cpu in millicores, memory in bytes. A request is the
    sum of those set (null when no container sets one); a limit, null unless every container sets one (one
    unbounded container leaves the pod unbounded)."""
    from clusters.engine.resources import cpu_millis, memory_bytes
    containers = (pod.get("spec") or {}).get("containers") or []
    out: dict = {}
    for kind in ("requests", "limits"):
        for resource, parse in (("cpu", cpu_millis), ("memory", memory_bytes)):
            values = [_quantity(((c.get("resources") or {}).get(kind) or {}).get(resource), parse)
                      for c in containers]
            known = [v for v in values if v is not None]
            whole = bool(known) and (kind == "requests" or len(known) == len(values))
            out.setdefault(kind, {})[resource] = sum(known) if whole else None
    return out


def _autoscaler(hpa: dict) -> dict:
    """A HorizontalPodAutoscaler (autoscaling/v2) as the page charts it: replicas and each metric's current and
    target (a percentage of the request for Utilization, else the value: cpu millicores, memory bytes)."""
    from clusters.engine.resources import parse_quantity
    meta, spec, status = hpa.get("metadata") or {}, hpa.get("spec") or {}, hpa.get("status") or {}

    def number(value, resource: str) -> float | None:
        if value is None:
            return None
        try:
            amount = parse_quantity(value)
        except (ValueError, TypeError):
            return None
        return round(float(amount * 1000 if resource == "cpu" else amount), 3)

    def source(metric: dict) -> tuple[str, str, dict]:
        kind = metric.get("type") or "Resource"
        body = metric.get({"Resource": "resource", "ContainerResource": "containerResource", "Pods": "pods",
                           "Object": "object", "External": "external"}.get(kind, "resource")) or {}
        name = body.get("name") or (body.get("metric") or {}).get("name") or ""
        return kind, name, body

    current: dict[tuple[str, str], dict] = {}
    for metric in status.get("currentMetrics") or []:
        kind, name, body = source(metric)
        current[(kind, name)] = body.get("current") or {}
    metrics_out = []
    for metric in spec.get("metrics") or []:
        kind, name, body = source(metric)
        target = body.get("target") or {}
        now = current.get((kind, name), {})
        if target.get("type") == "Utilization" or "averageUtilization" in target:
            figures = {"target": target.get("averageUtilization"), "current": now.get("averageUtilization"),
                       "unit": "%"}
        else:
            field = "averageValue" if "averageValue" in target else "value"
            figures = {"target": number(target.get(field), name), "current": number(now.get(field), name),
                       "unit": "m" if name == "cpu" else "bytes" if name == "memory" else ""}
        metrics_out.append({"type": kind, "name": name, **figures})
    ref = spec.get("scaleTargetRef") or {}
    return {
        "namespace": meta.get("namespace", ""), "name": meta.get("name", ""),
        "target": f'{ref.get("kind", "")}/{ref.get("name", "")}',
        "minReplicas": spec.get("minReplicas", 1), "maxReplicas": spec.get("maxReplicas"),
        "currentReplicas": status.get("currentReplicas"), "desiredReplicas": status.get("desiredReplicas"),
        "lastScaleTime": status.get("lastScaleTime"), "metrics": metrics_out,
        "conditions": [{"type": c.get("type"), "status": c.get("status"), "reason": c.get("reason"),
                        "message": c.get("message")} for c in status.get("conditions") or []],
    }


def page_metrics(*, cluster: Cluster) -> dict:
    """The cluster page's Metrics panel (clusters/web/PAGE.md `GET …/metrics`): metrics-server's last scrape
    (clusters/sim/metrics.py, the figures `kubectl top` prints) per node against its allocatable and per pod
    with its containers' requests and limits, and each HorizontalPodAutoscaler's replicas and metrics, all at
    the cluster's simulated now. A read: nothing is written."""
    from clusters.engine.resources import cpu_millis, memory_bytes
    view = metrics.cluster_metrics(cluster)     # refreshes the cluster's clock fields
    objects = objects_of_kinds(cluster.pk, ("Node", "Pod", "HorizontalPodAutoscaler"))
    # `now` after the reads, as the live feed stamps its changes: what was read had been written by then, so the
    # page can merge the two in time order.
    now = cluster.sim_now()
    by_kind: dict[str, list[dict]] = {}
    for kind, obj in objects:
        by_kind.setdefault(kind, []).append(obj)

    def stamp(when: float) -> str:
        return datetime.fromtimestamp(when, UTC).isoformat().replace("+00:00", "Z")

    nodes, pods = [], []
    sample = view.scrape
    if sample is not None:
        node_objects = {n["metadata"]["name"]: n for n in by_kind.get("Node", [])}
        for name, usage in sorted(sample.nodes.items()):
            allocatable = ((node_objects.get(name) or {}).get("status") or {}).get("allocatable") or {}
            nodes.append({"name": name, "cpu": round(usage.cpu_millicores, 1), "memory": usage.memory_bytes,
                          "allocatable": {"cpu": _quantity(allocatable.get("cpu"), cpu_millis),
                                          "memory": _quantity(allocatable.get("memory"), memory_bytes)}})
        pod_objects = {p["metadata"].get("uid"): p for p in by_kind.get("Pod", [])}
        for uid, usage in sorted(sample.pods.items(), key=lambda item: (item[1].namespace, item[1].name)):
            pods.append({"namespace": usage.namespace, "name": usage.name, "node": usage.node,
                         "cpu": round(usage.cpu_millicores, 1), "memory": usage.memory_bytes,
                         **_pod_resources(pod_objects.get(uid) or {})})
    return {
        "now": stamp(now),
        "scrape": stamp(sample.timestamp) if sample is not None else None,
        "window": sample.window if sample is not None else None,
        "speed": cluster.speed, "paused": cluster.paused,
        "nodes": nodes, "pods": pods,
        "autoscalers": [_autoscaler(h) for h in by_kind.get("HorizontalPodAutoscaler", [])],
    }


def newest_terminal_command(cluster_id) -> int:
    """The id of the cluster's newest browser-terminal line (0: none): what a lesson's re-check compares to
    tell a line it has not judged yet (its wake-up lost), without reading the lines."""
    return TerminalCommand.objects.filter(cluster_id=cluster_id).aggregate(newest=Max("id"))["newest"] or 0


def terminal_commands(*, cluster: Cluster, since: datetime | None = None, after: int = 0,
                      limit: int = 500) -> list[TerminalCommand]:
    """The browser terminal's lines (oldest first), from `since` on, or after the line with id `after`."""
    rows = TerminalCommand.objects.filter(cluster=cluster)
    if since is not None:
        rows = rows.filter(at__gte=since)
    if after:
        rows = rows.filter(pk__gt=after)
    return list(rows.order_by("-at", "-id")[:limit])[::-1]


def container_file(*, cluster: Cluster, namespace: str, pod: str, container: str | None, path: str) -> str | None:
    """A file's text in a running container as `kubectl exec POD -- cat PATH` would print it (None: no such
    file, or the container cannot run it). A read: nothing the command does is kept."""
    return replay.container_read(cluster=cluster, namespace=namespace, pod=pod, container=container, path=path)


SYSTEM_NAMESPACES = ("kube-system", "kube-public", "kube-node-lease", "local-path-storage", "ingress-nginx")


def crashlooping_pods(cluster_ids: list) -> dict:
    """Per cluster, the learner's pods (system namespaces aside) whose STATUS is CrashLoopBackOff."""
    found: dict = {}
    rows = ApiObject.objects.filter(cluster_id__in=cluster_ids, kind="Pod").exclude(namespace__in=SYSTEM_NAMESPACES)
    for cluster_id, name, data in rows.values_list("cluster_id", "name", "data"):
        if "CrashLoopBackOff" in data and pod_status_reason(jsontext.loads(data)) == "CrashLoopBackOff":
            found.setdefault(cluster_id, []).append(name)
    return found


# ================================================== operators: the admin's figures, idle clusters

def _octet_length(column: str):
    """The stored size of a text column in bytes (PostgreSQL's octet_length; SQLite measures it as a blob)."""
    from django.db.models import Func, IntegerField

    class OctetLength(Func):
        function = "OCTET_LENGTH"
        output_field = IntegerField()

        def as_sqlite(self, compiler, connection, **extra):
            return self.as_sql(compiler, connection, template="LENGTH(CAST(%(expressions)s AS BLOB))", **extra)

    return OctetLength(column)


def clusters_with_usage(clusters: QuerySet[Cluster]) -> QuerySet[Cluster]:
    """Clusters with `object_count`, `token_count` and `stored_bytes`: the bytes of their rows' texts (objects
    and the simulation's notes, the change log, editor files, terminal history). One subquery per figure,
    run only for the rows shown (a page of the admin), never a join over every object of the classroom."""
    from django.db.models import IntegerField, OuterRef, Subquery, Sum
    from django.db.models.functions import Coalesce

    def total(model, *columns: str):
        size = sum((Coalesce(_octet_length(c), 0) for c in columns[1:]), Coalesce(_octet_length(columns[0]), 0))
        rows = (model.objects.filter(cluster_id=OuterRef("pk")).order_by().values("cluster_id")
                .annotate(size=Sum(size)).values("size"))
        return Coalesce(Subquery(rows, output_field=IntegerField()), 0)

    def count(model):
        rows = (model.objects.filter(cluster_id=OuterRef("pk")).order_by().values("cluster_id")
                .annotate(n=Count("pk")).values("n"))
        return Coalesce(Subquery(rows, output_field=IntegerField()), 0)

    return clusters.annotate(
        object_count=count(ApiObject), token_count=count(ClusterToken),
        stored_bytes=(total(ApiObject, "data", "sim") + total(Change, "data") + total(ManifestFile, "text")
                      + total(TerminalCommand, "line", "output")),
    )


def clusters_by_activity() -> list[Cluster]:
    """Every cluster with its owner, the longest idle first (`manage.py cluster idle`)."""
    return list(Cluster.objects.select_related("owner").order_by("last_activity", "owner__username", "name"))
