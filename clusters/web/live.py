"""What the live cluster page is sent: small per-object summaries (pure: objects in, dicts out).

The consumer (clusters/web/consumer.py) reads the objects and the change log; this
module turns each object into the few fields the page draws — the cells
`kubectl get` prints for its kind (default columns only), and per kind what the
map needs: a pod's node, readiness, restarts and STATUS reason; who owns a
ReplicaSet; which pods a Service's EndpointSlices point at; an Event's reason.
"""
from __future__ import annotations

import functools
import re
from datetime import UTC, datetime

from clusters.apiserver.tables import column_definitions, pod_status_reason, row_cells

# The kinds the page shows, in the order of its per-kind lists.
KINDS = ("Node", "Namespace", "Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod",
         "Service", "EndpointSlice", "Ingress", "ConfigMap", "Secret", "PersistentVolumeClaim",
         "PersistentVolume", "HorizontalPodAutoscaler", "Event")
EVENT_LIMIT = 200   # the snapshot carries at most this many Events (the newest)


@functools.cache
def _shown(kind: str) -> tuple[int, ...]:
    """Where `kubectl get <kind>`'s default columns are among all its columns (fixed per kind)."""
    return tuple(i for i, column in enumerate(column_definitions(kind)) if column.get("priority", 0) == 0)


@functools.cache
def _ready_column(kind: str) -> int | None:
    return next((i for i, column in enumerate(column_definitions(kind)) if column["name"] == "Ready"), None)


def columns(kind: str) -> list[str]:
    """The column headers `kubectl get <kind>` prints (default columns, upper-cased)."""
    definitions = column_definitions(kind)
    return [definitions[i]["name"].upper() for i in _shown(kind)]


def all_columns() -> dict[str, list[str]]:
    return {kind: columns(kind) for kind in KINDS}


def _cell(value) -> str:
    return "<none>" if value is None else str(value)


def _owner(meta: dict) -> dict | None:
    for ref in meta.get("ownerReferences") or []:
        if ref.get("controller"):
            return {"kind": ref.get("kind", ""), "name": ref.get("name", "")}
    refs = meta.get("ownerReferences") or []
    return {"kind": refs[0].get("kind", ""), "name": refs[0].get("name", "")} if refs else None


def _restarts(pod: dict) -> int:
    status = pod.get("status") or {}
    return sum(int(c.get("restartCount") or 0)
               for c in (status.get("containerStatuses") or []) + (status.get("initContainerStatuses") or []))


_INSUFFICIENT = re.compile(r"\d+ (Insufficient [\w/-]+(?:\.[\w/-]+)*)")


def unschedulable(pod: dict) -> str:
    """Why the scheduler could not place the pod, shortly ("Insufficient cpu"); "" when it is not stuck."""
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "PodScheduled" and condition.get("status") == "False":
            message = condition.get("message") or ""
            found = _INSUFFICIENT.findall(message)
            if found:
                return ", ".join(dict.fromkeys(found))
            if "untolerated taint" in message:
                return "untolerated taint"
            if "didn't match" in message:
                return "no matching node"
            return condition.get("reason") or "Unschedulable"
    return ""


def summarize(kind: str, obj: dict, *, now: datetime, event: str = "ADDED") -> dict:
    """One object as the page sees it."""
    meta = obj.get("metadata") or {}
    summary: dict = {"kind": kind, "namespace": meta.get("namespace", ""), "name": meta.get("name", ""),
                     "uid": meta.get("uid", ""), "event": event,
                     "labels": meta.get("labels") or {}}
    if meta.get("deletionTimestamp"):
        summary["terminating"] = True
    row = row_cells(kind, obj, now=now)
    summary["cells"] = [_cell(row[i]) for i in _shown(kind)]
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    if kind == "Pod":
        ready = _ready_column(kind)
        summary.update(node=spec.get("nodeName") or "", phase=status.get("phase") or "Pending",
                       ready=_cell(row[ready] if ready is not None else ""), restarts=_restarts(obj),
                       reason=pod_status_reason(obj), owner=_owner(meta), unschedulable=unschedulable(obj),
                       claims=[v["persistentVolumeClaim"]["claimName"] for v in spec.get("volumes") or []
                               if (v.get("persistentVolumeClaim") or {}).get("claimName")])
    elif kind in ("ReplicaSet", "Deployment", "StatefulSet", "DaemonSet", "Job"):
        summary.update(owner=_owner(meta), replicas=spec.get("replicas"),
                       readyReplicas=int(status.get("readyReplicas") or 0))
    elif kind == "Service":
        summary.update(selector=spec.get("selector") or {}, type=spec.get("type") or "ClusterIP")
    elif kind == "EndpointSlice":
        summary.update(service=(meta.get("labels") or {}).get("kubernetes.io/service-name", ""),
                       pods=[e["targetRef"]["name"] for e in obj.get("endpoints") or []
                             if (e.get("targetRef") or {}).get("kind") == "Pod" and e["targetRef"].get("name")],
                       ready=[e["targetRef"]["name"] for e in obj.get("endpoints") or []
                              if (e.get("targetRef") or {}).get("kind") == "Pod"
                              and (e.get("conditions") or {}).get("ready", True) is not False])
    elif kind == "PersistentVolumeClaim":
        summary.update(phase=status.get("phase") or "Pending", volume=spec.get("volumeName") or "",
                       capacity=(status.get("capacity") or {}).get("storage")
                       or ((spec.get("resources") or {}).get("requests") or {}).get("storage") or "",
                       storageClass=spec.get("storageClassName") or "")
    elif kind == "PersistentVolume":
        claim = spec.get("claimRef") or {}
        summary.update(phase=status.get("phase") or "Pending",
                       claim=f'{claim.get("namespace", "")}/{claim.get("name", "")}' if claim.get("name") else "",
                       capacity=(spec.get("capacity") or {}).get("storage") or "",
                       storageClass=spec.get("storageClassName") or "")
    elif kind == "Node":
        conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
        summary.update(ready=conditions.get("Ready") == "True", unschedulable=bool(spec.get("unschedulable")))
    elif kind == "Event":
        involved = obj.get("involvedObject") or {}
        summary.update(reason=obj.get("reason") or "", message=obj.get("message") or "",
                       type=obj.get("type") or "Normal", count=int(obj.get("count") or 1),
                       lastTimestamp=obj.get("lastTimestamp") or obj.get("eventTime") or
                       meta.get("creationTimestamp") or "",
                       involvedObject={"kind": involved.get("kind", ""), "name": involved.get("name", ""),
                                       "namespace": involved.get("namespace", "")})
    return summary


def sim_time(sim_now: float) -> datetime:
    return datetime.fromtimestamp(sim_now, UTC)


def clock(cluster) -> dict:
    """The cluster's simulated clock as the page shows it (it advances `now` locally at `speed`)."""
    return {"now": sim_time(cluster.sim_now()).isoformat().replace("+00:00", "Z"), "speed": cluster.speed,
            "paused": cluster.paused}


def controls(cluster, failed_nodes: list[str]) -> dict:
    """The switches the page's controls show: nothing in the change log records them."""
    return {"type": "controls", "clock": clock(cluster), "failedNodes": failed_nodes}


def snapshot(objects: list[tuple[str, dict]], *, rv: int, now: datetime) -> dict:
    """The first message: every shown object (Events: the newest EVENT_LIMIT) at resourceVersion rv."""
    events = [o for k, o in objects if k == "Event"]
    events.sort(key=lambda e: e.get("lastTimestamp") or "", reverse=True)
    keep = {id(e) for e in events[:EVENT_LIMIT]}
    summaries = [summarize(kind, obj, now=now) for kind, obj in objects
                 if kind in KINDS and (kind != "Event" or id(obj) in keep)]
    return {"type": "snapshot", "rv": rv, "columns": all_columns(), "objects": summaries}


def changes(rows: list[tuple[int, str, str, dict]], *, since: int, now: datetime) -> dict | None:
    """A "changes" message from change-log rows (rv, event, kind, object) after `since`; None if none."""
    if not rows:
        return None
    return {"type": "changes", "from": since, "to": rows[-1][0],
            "changes": [{**summarize(kind, obj, now=now, event=event), "rv": rv}
                        for rv, event, kind, obj in rows if kind in KINDS]}
