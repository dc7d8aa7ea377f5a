"""Timestamps as served (clusters.apiserver.served_time): which fields move, in which format, and nothing else."""
from __future__ import annotations

import copy
import json

import pytest

from clusters.apiserver import registry, schema
from clusters.apiserver.served_time import (
    STATUS_TIME_FIELDS,
    shift_json_patch,
    shift_object,
    shift_time,
    to_served,
    to_stored,
)

T = "2026-12-06T20:35:10Z"
T_MINUS_10M = "2026-12-06T20:25:10Z"
MICRO = "2026-12-06T20:35:10.123456Z"
MICRO_MINUS_10M = "2026-12-06T20:25:10.123456Z"


def pod() -> dict:
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web", "namespace": "default", "creationTimestamp": T,
                     "deletionTimestamp": T, "labels": {"when": T}, "annotations": {"stamp": T},
                     "managedFields": [{"manager": "kubectl", "operation": "Update", "time": T}]},
        "spec": {"containers": [{"name": "c", "image": "busybox", "args": [T]}]},
        "status": {
            "phase": "Running", "startTime": T,
            "conditions": [{"type": "Ready", "status": "True", "lastProbeTime": None, "lastTransitionTime": T}],
            "containerStatuses": [{
                "name": "c", "ready": True, "restartCount": 1,
                "state": {"running": {"startedAt": T}},
                "lastState": {"terminated": {"exitCode": 1, "startedAt": T, "finishedAt": T, "reason": "Error"}},
            }],
            "initContainerStatuses": [{"name": "i", "state": {"terminated": {"startedAt": T, "finishedAt": T}}}],
            "ephemeralContainerStatuses": [{"name": "e", "state": {"running": {"startedAt": T}}}],
        },
    }


def test_a_time_moves_in_its_own_format():
    assert shift_time(T, -600) == T_MINUS_10M
    assert shift_time(MICRO, -600) == MICRO_MINUS_10M
    assert shift_time(T, 0.4) == T                              # whole seconds stay whole (rounded)
    assert shift_time(T, 0.6) == "2026-12-06T20:35:11Z"
    assert shift_time(MICRO, 0.0000004) == MICRO               # six digits stay six
    assert shift_time("2026-12-06T20:35:10.5Z", 1) == "2026-12-06T20:35:11.5Z"
    assert shift_time("2026-12-06T22:35:10+02:00", 60) == "2026-12-06T20:36:10Z"
    assert shift_time("2027-01-01T00:00:30Z", -60) == "2026-12-31T23:59:30Z"


@pytest.mark.parametrize("value", [None, "", "yesterday", "2026-13-40T99:00:00Z", 12, "2026-12-06"])
def test_what_is_not_a_timestamp_is_left_alone(value):
    assert shift_time(value, -600) == value


def test_a_pods_system_times_move_and_nothing_else():
    original = pod()
    served = shift_object(original, -600)
    assert original == pod(), "the input is not mutated"
    assert served["metadata"]["creationTimestamp"] == T_MINUS_10M
    assert served["metadata"]["deletionTimestamp"] == T_MINUS_10M
    assert served["metadata"]["managedFields"][0]["time"] == T_MINUS_10M
    status = served["status"]
    assert status["startTime"] == T_MINUS_10M
    assert status["conditions"][0]["lastTransitionTime"] == T_MINUS_10M
    assert status["conditions"][0]["lastProbeTime"] is None
    assert status["containerStatuses"][0]["state"]["running"]["startedAt"] == T_MINUS_10M
    terminated = status["containerStatuses"][0]["lastState"]["terminated"]
    assert (terminated["startedAt"], terminated["finishedAt"]) == (T_MINUS_10M, T_MINUS_10M)
    assert status["initContainerStatuses"][0]["state"]["terminated"]["finishedAt"] == T_MINUS_10M
    assert status["ephemeralContainerStatuses"][0]["state"]["running"]["startedAt"] == T_MINUS_10M
    # the learner's own data stays as written, even when it looks like a date
    assert served["metadata"]["labels"] == {"when": T}
    assert served["metadata"]["annotations"] == {"stamp": T}
    assert served["spec"] == original["spec"]
    assert T not in json.dumps(served["status"])


def test_the_round_trip_is_the_identity():
    original = pod()
    assert to_stored(to_served(original, 3540.0), 3540.0) == original
    micro_event = core_event()
    assert to_stored(to_served(micro_event, 61.0), 61.0) == micro_event


def test_no_offset_returns_the_very_object():
    original = pod()
    assert shift_object(original, 0) is original
    assert shift_object(original, 0.0) is original


def test_controllers_status_times():
    deployment = {"kind": "Deployment", "metadata": {"name": "d"}, "spec": {"template": {"metadata": {
        "creationTimestamp": None}}},
        "status": {"conditions": [{"type": "Available", "lastUpdateTime": T, "lastTransitionTime": T}]}}
    moved = shift_object(deployment, -600)["status"]["conditions"][0]
    assert (moved["lastUpdateTime"], moved["lastTransitionTime"]) == (T_MINUS_10M, T_MINUS_10M)
    job = {"kind": "Job", "status": {"startTime": T, "completionTime": T,
                                     "conditions": [{"lastProbeTime": T, "lastTransitionTime": T}]}}
    assert T not in json.dumps(shift_object(job, -600))
    cronjob = {"kind": "CronJob", "status": {"lastScheduleTime": T, "lastSuccessfulTime": T,
                                             "active": [{"kind": "Job", "name": "j"}]}}
    moved = shift_object(cronjob, -600)["status"]
    assert moved == {"lastScheduleTime": T_MINUS_10M, "lastSuccessfulTime": T_MINUS_10M,
                     "active": [{"kind": "Job", "name": "j"}]}
    node = {"kind": "Node", "spec": {"podCIDR": "10.244.1.0/24",
                                     "taints": [{"key": "node.kubernetes.io/unreachable", "effect": "NoExecute",
                                                 "timeAdded": T}, {"key": "x", "effect": "NoSchedule"}]},
            "status": {"conditions": [{"type": "Ready", "lastHeartbeatTime": T, "lastTransitionTime": T}]}}
    moved = shift_object(node, -600)
    assert moved["spec"]["taints"] == [{"key": "node.kubernetes.io/unreachable", "effect": "NoExecute",
                                        "timeAdded": T_MINUS_10M}, {"key": "x", "effect": "NoSchedule"}]
    assert T not in json.dumps(moved)
    hpa = {"kind": "HorizontalPodAutoscaler", "status": {"lastScaleTime": T}}
    assert shift_object(hpa, -600)["status"]["lastScaleTime"] == T_MINUS_10M
    pdb = {"kind": "PodDisruptionBudget", "status": {"disruptedPods": {"web-1": T}}}
    assert shift_object(pdb, -600)["status"]["disruptedPods"] == {"web-1": T_MINUS_10M}
    pv = {"kind": "PersistentVolume", "status": {"phase": "Bound", "lastPhaseTransitionTime": T}}
    assert shift_object(pv, -600)["status"]["lastPhaseTransitionTime"] == T_MINUS_10M


def core_event() -> dict:
    return {"apiVersion": "v1", "kind": "Event",
            "metadata": {"name": "web.1", "namespace": "default", "creationTimestamp": T},
            "involvedObject": {"kind": "Pod", "name": "web"}, "reason": "Started", "message": f"at {T}",
            "firstTimestamp": T, "lastTimestamp": T, "eventTime": MICRO, "count": 2,
            "series": {"count": 2, "lastObservedTime": MICRO}}


def test_events_of_both_groups():
    moved = shift_object(core_event(), -600)
    assert (moved["firstTimestamp"], moved["lastTimestamp"]) == (T_MINUS_10M, T_MINUS_10M)
    assert moved["eventTime"] == MICRO_MINUS_10M
    assert moved["series"] == {"count": 2, "lastObservedTime": MICRO_MINUS_10M}
    assert moved["message"] == f"at {T}"
    new = {"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "e"}, "eventTime": MICRO,
           "deprecatedFirstTimestamp": T, "deprecatedLastTimestamp": T, "note": T}
    moved = shift_object(new, -600)
    assert moved == {**new, "eventTime": MICRO_MINUS_10M, "deprecatedFirstTimestamp": T_MINUS_10M,
                     "deprecatedLastTimestamp": T_MINUS_10M}


def test_a_field_named_like_an_event_time_elsewhere_stays():
    config = {"kind": "ConfigMap", "metadata": {"name": "c", "creationTimestamp": T},
              "data": {"lastTimestamp": T, "startTime": T}, "firstTimestamp": T}
    moved = shift_object(config, -600)
    assert moved["data"] == config["data"] and moved["firstTimestamp"] == T
    assert moved["metadata"]["creationTimestamp"] == T_MINUS_10M


def test_leases_and_metrics():
    lease = {"kind": "Lease", "spec": {"holderIdentity": "worker-1", "leaseDurationSeconds": 40,
                                       "acquireTime": MICRO, "renewTime": MICRO}}
    assert shift_object(lease, -600)["spec"] == {**lease["spec"], "acquireTime": MICRO_MINUS_10M,
                                                 "renewTime": MICRO_MINUS_10M}
    metrics = {"kind": "PodMetricsList", "items": [{"metadata": {"name": "web"}, "timestamp": T, "window": "15s"}]}
    assert shift_object(metrics, -600)["items"][0]["timestamp"] == T_MINUS_10M
    # a user object's spec is never touched, even with the same field names
    custom = {"kind": "Deployment", "spec": {"acquireTime": T, "template": {"spec": {}}}}
    assert shift_object(custom, -600)["spec"] == custom["spec"]


def test_lists_tables_and_watch_events():
    events = {"kind": "EventList", "apiVersion": "v1", "metadata": {"resourceVersion": "7"},
              "items": [{"metadata": {"name": "e"}, "lastTimestamp": T}]}   # items without kind
    assert shift_object(events, -600)["items"][0]["lastTimestamp"] == T_MINUS_10M
    pods = {"kind": "PodList", "items": [pod(), pod()]}
    assert T not in json.dumps(shift_object(pods, -600)["items"][1]["status"])
    table = {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "columnDefinitions": [],
             "rows": [{"cells": ["web", T], "object": pod()},
                      {"cells": ["meta", "5m"], "object": {"kind": "PartialObjectMetadata",
                                                           "metadata": {"creationTimestamp": T}}}]}
    moved = shift_object(table, -600)
    assert moved["rows"][0]["cells"] == ["web", T], "cells are the server's, already computed"
    assert moved["rows"][0]["object"]["status"]["startTime"] == T_MINUS_10M
    assert moved["rows"][1]["object"]["metadata"]["creationTimestamp"] == T_MINUS_10M
    event = {"type": "MODIFIED", "object": pod()}
    assert shift_object(event, -600)["object"]["metadata"]["creationTimestamp"] == T_MINUS_10M


def test_the_input_is_never_mutated():
    for body in (pod(), core_event(), {"kind": "PodList", "items": [pod()]},
                 {"kind": "Table", "rows": [{"cells": [], "object": pod()}]}, {"type": "ADDED", "object": pod()}):
        before = copy.deepcopy(body)
        shift_object(body, -600)
        assert body == before


def test_json_patch_values_at_time_fields():
    ops = [{"op": "replace", "path": "/status/conditions/0/lastTransitionTime", "value": T},
           {"op": "add", "path": "/status/conditions/-", "value": {"type": "X", "lastTransitionTime": T}},
           {"op": "replace", "path": "/metadata/labels/when", "value": T},
           {"op": "add", "path": "/spec/containers/0/args/0", "value": T},
           {"op": "remove", "path": "/status/startTime"}]
    moved = shift_json_patch(ops, 600)
    later = "2026-12-06T20:45:10Z"
    assert moved[0]["value"] == later
    assert moved[1]["value"] == {"type": "X", "lastTransitionTime": later}
    assert moved[2:] == ops[2:]
    assert shift_json_patch([{"op": "replace", "path": "/lastTimestamp", "value": T}], 600,
                            "Event")[0]["value"] == later
    assert shift_json_patch(ops, 0) is ops


def test_every_status_time_field_of_the_schemas_is_known():
    """The names come from the schemas: a field typed metav1.Time or MicroTime under any served kind's status."""
    time_types = {"io.k8s.apimachinery.pkg.apis.meta.v1.Time", "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime"}
    definitions = schema.definitions()

    def times_under(name: str, seen: frozenset) -> set[str]:
        found = set()
        for prop, node in (definitions[name].get("properties") or {}).items():
            for target in _refs(node):
                if target in time_types:
                    found.add(prop)
                elif target not in seen and target in definitions:
                    found |= times_under(target, seen | {target})
        return found

    status_names = set()
    for rt in registry.served():
        status = (definitions.get(rt.schema_name, {}).get("properties") or {}).get("status")
        if status:
            for target in _refs(status):
                if target in definitions:
                    status_names |= times_under(target, frozenset({target}))
    assert {"lastTransitionTime", "startedAt", "lastScheduleTime"} <= status_names
    assert status_names - {"disruptedPods"} <= STATUS_TIME_FIELDS, status_names - STATUS_TIME_FIELDS


def _refs(node: dict) -> list[str]:
    refs = []
    for part in (node, node.get("items") or {}, node.get("additionalProperties") or {}, *(node.get("allOf") or ())):
        if isinstance(part, dict) and "$ref" in part:
            refs.append(schema.ref_name(part["$ref"]))
        if isinstance(part, dict) and isinstance(part.get("items"), dict) and "$ref" in part["items"]:
            refs.append(schema.ref_name(part["items"]["$ref"]))
    return refs
