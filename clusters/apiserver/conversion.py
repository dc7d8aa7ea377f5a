"""Conversion between a served version and the storage version of a kind.

Objects are stored in the group's preferred version. Only autoscaling has two
served versions today: HorizontalPodAutoscaler autoscaling/v1 (what `kubectl
autoscale` posts) is stored as autoscaling/v2, as the real server does.
"""
from __future__ import annotations

import base64

from .registry import ResourceType, storage_type


def _hpa_v1_to_v2(obj: dict) -> dict:
    out = {k: v for k, v in obj.items() if k not in ("spec", "status")}
    out["apiVersion"] = "autoscaling/v2"
    spec = dict(obj.get("spec") or {})
    target = spec.pop("targetCPUUtilizationPercentage", None)
    if target is not None:
        spec["metrics"] = [{"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization", "averageUtilization": target}}}]
    out["spec"] = spec
    if "status" in obj:
        status = dict(obj["status"] or {})
        current = status.pop("currentCPUUtilizationPercentage", None)
        if current is not None:
            status["currentMetrics"] = [{"type": "Resource", "resource": {
                "name": "cpu", "current": {"averageUtilization": current}}}]
        out["status"] = status
    return out


def _hpa_v2_to_v1(obj: dict) -> dict:
    out = {k: v for k, v in obj.items() if k not in ("spec", "status")}
    out["apiVersion"] = "autoscaling/v1"
    spec = dict(obj.get("spec") or {})
    metrics = spec.pop("metrics", None) or []
    spec.pop("behavior", None)
    for metric in metrics:
        resource = metric.get("resource") or {}
        target = resource.get("target") or {}
        if metric.get("type") == "Resource" and resource.get("name") == "cpu" \
                and target.get("type") == "Utilization":
            spec["targetCPUUtilizationPercentage"] = target.get("averageUtilization")
    out["spec"] = spec
    status = dict(obj.get("status") or {})
    current_metrics = status.pop("currentMetrics", None) or []
    status.pop("conditions", None)
    for metric in current_metrics:
        resource = metric.get("resource") or {}
        if metric.get("type") == "Resource" and resource.get("name") == "cpu":
            value = (resource.get("current") or {}).get("averageUtilization")
            if value is not None:
                status["currentCPUUtilizationPercentage"] = value
    status.setdefault("currentReplicas", 0)
    status.setdefault("desiredReplicas", 0)
    out["status"] = status
    return out


_CONVERTERS = {
    ("autoscaling/v1", "autoscaling/v2"): _hpa_v1_to_v2,
    ("autoscaling/v2", "autoscaling/v1"): _hpa_v2_to_v1,
}


def _secret_string_data(obj: dict) -> dict:
    """v1 Secret → storage: stringData is write-only; its values land base64-encoded in data."""
    string_data = obj.get("stringData")
    if not isinstance(string_data, dict):
        return obj
    data = dict(obj.get("data") or {})
    for key, value in string_data.items():
        data[key] = base64.b64encode(str(value).encode()).decode()
    out = {k: v for k, v in obj.items() if k != "stringData"}
    out["data"] = data
    return out


def to_storage(obj: dict, rt: ResourceType) -> dict:
    """The object as stored: converted to the kind's storage version when `rt` is another one."""
    if rt.kind == "Secret":
        obj = _secret_string_data(obj)
    target = storage_type(rt.kind).api_version
    if rt.api_version == target:
        return obj
    return _CONVERTERS[(rt.api_version, target)](obj)


def from_storage(obj: dict, rt: ResourceType) -> dict:
    """The stored object as a client of version `rt` sees it."""
    source = obj.get("apiVersion", rt.api_version)
    if source == rt.api_version:
        return obj
    return _CONVERTERS[(source, rt.api_version)](obj)
