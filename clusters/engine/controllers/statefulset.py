"""The StatefulSet controller (upstream pkg/controller/statefulset: stateful_set.go,
stateful_set_control.go, stateful_set_utils.go, stateful_pod_control.go).

Per StatefulSet, one sync:
* history: the update revision is the ControllerRevision whose data equals the current template
  (an older equal one is renumbered: a rollback; none: a new one); the current revision is the one
  named in status.currentRevision (or the update revision for a new set);
* pods are `<set>-<ordinal>` for ordinals start..start+replicas-1; missing ones are created with
  their claims first (`<template>-<set>-<ordinal>`); OrderedReady creates one at a time, each after
  its predecessors are Running, Ready and Available, and removes pods above the range from the
  highest ordinal down, one at a time, waiting for each to terminate; Parallel does all at once;
* failed or succeeded pods are deleted and recreated;
* claims get ownerReferences according to persistentVolumeClaimRetentionPolicy (set: whenDeleted,
  pod: whenScaled) so the garbage collector deletes them, or not;
* RollingUpdate deletes pods not at the update revision from the highest ordinal down to the
  partition, at most maxUnavailable unavailable at once (MaxUnavailableStatefulSet is on by default
  since 1.35); OnDelete leaves them until the user deletes them;
* status: replicas, readyReplicas, availableReplicas, currentReplicas, updatedReplicas, the two
  revisions, collisionCount, observedGeneration; the rolling update completes when every pod is
  updated and ready.

Events are the real ones from the statefulset-controller: `SuccessfulCreate` "create Pod web-0 in
StatefulSet web successful", "create Claim www-web-0 Pod web-0 in StatefulSet web success",
`SuccessfulDelete` "delete Pod web-1 in StatefulSet web successful" (recordPodEvent/recordClaimEvent).
"""
from __future__ import annotations

import functools
import re

from ..state import ClusterState
from . import revisions as history
from .podutil import (
    available_at,
    claim,
    clone,
    controller_ref,
    create_refused,
    create_succeeded,
    delete_pod,
    is_pod_available,
    is_pod_ready,
    label_selector,
    may_create,
    new_controller_ref,
)
from .revisions import CONTROLLER_REVISION_HASH_LABEL

COMPONENT = "statefulset-controller"
POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"   # apps.StatefulSetPodNameLabel
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"        # apps.PodIndexLabel (PodIndexLabel GA in 1.32)
_ORDINAL = re.compile(r"^(.*)-([0-9]+)$")
RETAIN, DELETE = "Retain", "Delete"


# --------------------------------------------------------------------------- small helpers

def phase(pod: dict) -> str:
    return (pod.get("status") or {}).get("phase") or ""


@functools.lru_cache(maxsize=16384)
def _parse_name(name: str) -> tuple[str, int]:
    match = _ORDINAL.match(name)
    if not match:
        return "", -1
    ordinal = int(match.group(2))
    if ordinal >= 2 ** 31:
        return match.group(1), -1
    return match.group(1), ordinal


def parent_and_ordinal(pod: dict) -> tuple[str, int]:
    """getParentNameAndOrdinal: `<parent>-<ordinal>` from the pod's name."""
    return _parse_name(pod["metadata"]["name"])


def ordinal_of(pod: dict) -> int:
    return _parse_name(pod["metadata"]["name"])[1]


def pod_name(sts: dict, ordinal: int) -> str:
    return f"{sts['metadata']['name']}-{ordinal}"


def claim_name(sts: dict, template: dict, ordinal: int) -> str:
    return f"{template['metadata']['name']}-{sts['metadata']['name']}-{ordinal}"


def is_created(pod: dict) -> bool:
    return phase(pod) != ""


def is_terminating(pod: dict) -> bool:
    return bool(pod["metadata"].get("deletionTimestamp"))


def is_running_and_ready(pod: dict) -> bool:
    return phase(pod) == "Running" and is_pod_ready(pod)


def is_healthy(pod: dict) -> bool:
    return is_running_and_ready(pod) and not is_terminating(pod)


def revision_of(pod: dict) -> str:
    return (pod["metadata"].get("labels") or {}).get(CONTROLLER_REVISION_HASH_LABEL, "")


def _retention(sts: dict) -> tuple[str, str]:
    policy = (sts.get("spec") or {}).get("persistentVolumeClaimRetentionPolicy") or {}
    return policy.get("whenDeleted") or RETAIN, policy.get("whenScaled") or RETAIN


class _Set:
    """What one sync needs to know about a StatefulSet, computed once."""

    def __init__(self, state: ClusterState, sts: dict) -> None:
        self.state = state
        self.obj = sts
        self.meta = sts["metadata"]
        self.name = self.meta["name"]
        self.namespace = self.meta.get("namespace", "default")
        self.uid = self.meta["uid"]
        spec = sts.get("spec") or {}
        self.spec = spec
        self.replicas = int(spec.get("replicas", 1) if spec.get("replicas") is not None else 1)
        self.start = int(((spec.get("ordinals") or {}).get("start")) or 0)
        self.end = self.start + self.replicas - 1
        self.min_ready = int(spec.get("minReadySeconds") or 0)
        self.monotonic = spec.get("podManagementPolicy") != "Parallel"
        strategy = spec.get("updateStrategy") or {}
        self.strategy = strategy.get("type") or "RollingUpdate"
        self.rolling = strategy.get("rollingUpdate") if isinstance(strategy.get("rollingUpdate"), dict) else None
        self.claim_templates = [t for t in spec.get("volumeClaimTemplates") or []
                                if isinstance(t, dict) and (t.get("metadata") or {}).get("name")]
        self.selector_labels = dict((spec.get("selector") or {}).get("matchLabels") or {})
        self.when_deleted, self.when_scaled = _retention(sts)
        self._unavailable: dict[str, bool] = {}

    def in_range(self, pod: dict) -> bool:
        return self.start <= ordinal_of(pod) <= self.end

    def available(self, pod: dict) -> bool:
        ok = is_pod_available(pod, self.min_ready, self.state.now)
        if not ok and self.min_ready:
            at = available_at(pod, self.min_ready)
            if at is not None:  # re-sync when the pod has turned available (upstream: after minReadySeconds + 1 s)
                self.state.wake_at(at + 1)
        return ok

    def unavailable(self, pod: dict) -> bool:
        """isUnavailable (remembered for this sync: it is asked several times per pod)."""
        key = pod["metadata"]["name"]
        found = self._unavailable.get(key)
        if found is None:
            found = self._unavailable[key] = not is_healthy(pod) or not self.available(pod)
        return found

    def event(self, event_type: str, reason: str, message: str) -> None:
        self.state.event(self.obj, event_type, reason, message, component=COMPONENT)


# --------------------------------------------------------------------------- claims

def _claims_for(s: _Set, ordinal: int) -> list[dict]:
    """getPersistentVolumeClaims: the claims of the pod with this ordinal, from the templates."""
    claims = []
    for template in s.claim_templates:
        claim = clone(template)
        meta = claim.setdefault("metadata", {})
        meta["name"] = claim_name(s.obj, template, ordinal)
        meta["namespace"] = s.namespace
        labels = dict(meta.get("labels") or {})
        labels.update(s.selector_labels)
        meta["labels"] = labels
        claim["apiVersion"], claim["kind"] = "v1", "PersistentVolumeClaim"
        claim.pop("status", None)
        claims.append(claim)
    return claims


def _create_claims(s: _Set, pod: dict) -> str | None:
    """createPersistentVolumeClaims; returns the aggregated error text, if any."""
    errors = []
    pod_nm = pod["metadata"]["name"]
    for pvc in _claims_for(s, ordinal_of(pod)):
        existing = s.state.get("PersistentVolumeClaim", s.namespace, pvc["metadata"]["name"])
        if existing is None:
            try:
                s.state.create(pvc)
            except ValueError as exc:  # refused by admission (a quota, a LimitRange)
                s.event("Warning", "FailedCreate", f"create Claim {pvc['metadata']['name']} for Pod {pod_nm} "
                        f"in StatefulSet {s.name} failed error: {exc}")
                errors.append(str(exc))
                continue
            s.event("Normal", "SuccessfulCreate",
                    f"create Claim {pvc['metadata']['name']} Pod {pod_nm} in StatefulSet {s.name} success")
        elif existing["metadata"].get("deletionTimestamp"):
            errors.append(f"pvc {pvc['metadata']['name']} is being deleted")
    if not errors:
        return None
    return errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]"


def _matches_ref(ref: dict, obj: dict, api_version: str, kind: str) -> bool:
    return ref.get("apiVersion") == api_version and ref.get("kind") == kind and \
        ref.get("name") == obj["metadata"]["name"]


def _claim_owner_ok(s: _Set, claim: dict, pod: dict) -> bool:
    """claimOwnerMatchesSetAndPod (isClaimOwnerUpToDate)."""
    refs = claim["metadata"].get("ownerReferences") or []
    pod_uid = pod["metadata"].get("uid", "")
    for ref in refs:  # stale references (same name, older uid): a previous owner's claim, hands off
        if _matches_ref(ref, s.obj, "apps/v1", "StatefulSet") and ref.get("uid") != s.uid:
            return True
        if _matches_ref(ref, pod, "v1", "Pod") and ref.get("uid") != pod_uid:
            return True
    has_set = any(r.get("uid") == s.uid for r in refs)
    has_pod = any(r.get("uid") == pod_uid for r in refs)
    if (s.when_deleted, s.when_scaled) != (RETAIN, RETAIN):
        others = [r for r in refs if r.get("controller") and r.get("uid") not in (s.uid, pod_uid)]
        if others:
            return not (has_set or has_pod)
    if any(r.get("uid") in (s.uid, pod_uid) and not r.get("controller") for r in refs):
        return False
    scaled_down = not s.in_range(pod)
    if s.when_scaled == DELETE and s.when_deleted == DELETE:
        return scaled_down != has_set and scaled_down == has_pod
    if s.when_scaled == DELETE:
        return not has_set and scaled_down == has_pod
    if s.when_deleted == DELETE:
        return has_set and not has_pod
    return not has_set and not has_pod


def _update_claim_owner(s: _Set, claim: dict, pod: dict) -> None:
    """updateClaimOwnerRefForSetAndPod."""
    refs = claim["metadata"].get("ownerReferences") or []
    pod_uid = pod["metadata"].get("uid", "")
    unexpected = (s.when_deleted, s.when_scaled) != (RETAIN, RETAIN) and any(
        r.get("controller") and r.get("uid") not in (s.uid, pod_uid) and
        not _matches_ref(r, s.obj, "apps/v1", "StatefulSet") and not _matches_ref(r, pod, "v1", "Pod")
        for r in refs)
    refs = [r for r in refs if not _matches_ref(r, s.obj, "apps/v1", "StatefulSet")
            and not _matches_ref(r, pod, "v1", "Pod")]
    if not unexpected:
        scaled_down = not s.in_range(pod)
        if s.when_deleted == DELETE and (s.when_scaled == RETAIN or not scaled_down):
            refs.append(new_controller_ref(s.obj))
        if s.when_scaled == DELETE and scaled_down:
            refs.append({"apiVersion": "v1", "kind": "Pod", "name": pod["metadata"]["name"], "uid": pod_uid,
                         "controller": True, "blockOwnerDeletion": True})
    if refs:
        claim["metadata"]["ownerReferences"] = refs
    else:
        claim["metadata"].pop("ownerReferences", None)
    s.state.update(claim)


def _pod_claims(s: _Set, pod: dict) -> list[dict]:
    ordinal = ordinal_of(pod)
    found = []
    for template in s.claim_templates:
        claim = s.state.get("PersistentVolumeClaim", s.namespace, claim_name(s.obj, template, ordinal))
        if claim is not None:
            found.append(claim)
    return found


def _claims_match_policy(s: _Set, pod: dict) -> bool:
    return all(_claim_owner_ok(s, claim, pod) for claim in _pod_claims(s, pod))


def _apply_retention_policy(s: _Set, pod: dict) -> None:
    """UpdatePodClaimForRetentionPolicy."""
    if not pod["metadata"].get("uid"):
        return
    for pvc in _pod_claims(s, pod):
        if not _claim_owner_ok(s, pvc, pod):
            _update_claim_owner(s, pvc, pod)


def _claim_is_stale(s: _Set, ordinal: int) -> bool:
    """PodClaimIsStale for a pod that does not exist yet: with whenScaled=Delete a claim still owned
    by a previous pod of this name is about to be garbage collected; wait for it."""
    if s.when_scaled == RETAIN:
        return False
    name = f"{s.name}-{ordinal}"
    for template in s.claim_templates:
        claim = s.state.get("PersistentVolumeClaim", s.namespace, claim_name(s.obj, template, ordinal))
        if claim is None:
            continue
        for ref in claim["metadata"].get("ownerReferences") or []:
            if ref.get("kind") == "Pod" and ref.get("apiVersion") == "v1" and ref.get("name") == name:
                return True  # the pod does not exist, so any uid it names is stale
    return False


# --------------------------------------------------------------------------- pods

def identity_matches(s: _Set, pod: dict) -> bool:
    parent, ordinal = parent_and_ordinal(pod)
    meta = pod["metadata"]
    return ordinal >= 0 and parent == s.name and meta["name"] == f"{s.name}-{ordinal}" and \
        meta.get("namespace", "") == s.namespace and (meta.get("labels") or {}).get(POD_NAME_LABEL) == meta["name"]


def storage_matches(s: _Set, pod: dict) -> bool:
    ordinal = ordinal_of(pod)
    if ordinal < 0:
        return False
    volumes = {v.get("name"): v for v in (pod.get("spec") or {}).get("volumes") or []}
    for template in s.claim_templates:
        volume = volumes.get(template["metadata"]["name"])
        if not volume or (volume.get("persistentVolumeClaim") or {}).get("claimName") != \
                claim_name(s.obj, template, ordinal):
            return False
    return True


def _update_identity(s: _Set, pod: dict) -> None:
    ordinal = ordinal_of(pod)
    meta = pod["metadata"]
    meta["name"] = f"{s.name}-{ordinal}"
    meta["namespace"] = s.namespace
    labels = meta.setdefault("labels", {})
    labels[POD_NAME_LABEL] = meta["name"]
    labels[POD_INDEX_LABEL] = str(ordinal)


def _update_storage(s: _Set, pod: dict) -> None:
    spec = pod.setdefault("spec", {})
    ordinal = ordinal_of(pod)
    names = {t["metadata"]["name"] for t in s.claim_templates}
    volumes = [{"name": t["metadata"]["name"],
                "persistentVolumeClaim": {"claimName": claim_name(s.obj, t, ordinal)}} for t in s.claim_templates]
    volumes += [v for v in spec.get("volumes") or [] if v.get("name") not in names]
    if volumes:
        spec["volumes"] = volumes


def _new_pod(s: _Set, template: dict, revision_name: str, ordinal: int) -> dict:
    """newStatefulSetPod: controller.GetPodFromTemplate + identity + storage + revision label."""
    tmeta = template.get("metadata") or {}
    name = f"{s.name}-{ordinal}"
    meta: dict = {"name": name, "generateName": f"{s.name}-", "namespace": s.namespace,
                  "labels": dict(tmeta.get("labels") or {}), "ownerReferences": [new_controller_ref(s.obj)]}
    if tmeta.get("annotations"):
        meta["annotations"] = dict(tmeta["annotations"])
    if tmeta.get("finalizers"):
        meta["finalizers"] = list(tmeta["finalizers"])
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": clone(template.get("spec") or {})}
    _update_identity(s, pod)
    pod["spec"]["hostname"] = name
    if s.spec.get("serviceName"):
        pod["spec"]["subdomain"] = s.spec["serviceName"]
    _update_storage(s, pod)
    meta["labels"][CONTROLLER_REVISION_HASH_LABEL] = revision_name
    return pod


def _create_pod(s: _Set, pod: dict) -> dict | None:
    """CreateStatefulPod: claims first, then the pod, then the claims' retention ownerReferences."""
    name = pod["metadata"]["name"]
    if not may_create(s.state, s.obj, name):
        return None
    error = _create_claims(s, pod)
    if error is None and s.state.get("Pod", s.namespace, name) is not None:
        return None  # AlreadyExists is sunk (a pod of this name that is not ours: nothing to do)
    if error is None:
        try:
            created = s.state.create(pod)
        except ValueError as exc:  # refused by admission (a quota, a LimitRange): requeued with back-off
            error = str(exc)
    if error is not None:
        s.event("Warning", "FailedCreate", f"create Pod {name} in StatefulSet {s.name} failed error: {error}")
        create_refused(s.state, s.obj, name)
        return None
    create_succeeded(s.state, s.obj)
    _apply_retention_policy(s, created)
    s.event("Normal", "SuccessfulCreate", f"create Pod {name} in StatefulSet {s.name} successful")
    return created


def _delete_pod(s: _Set, pod: dict) -> None:
    delete_pod(s.state, pod)
    s.event("Normal", "SuccessfulDelete", f"delete Pod {pod['metadata']['name']} in StatefulSet {s.name} successful")


def _update_pod(s: _Set, pod: dict) -> None:
    """UpdateStatefulPod: restore identity, storage and the claims' retention policy."""
    consistent = True
    if not identity_matches(s, pod):
        _update_identity(s, pod)
        consistent = False
    if not storage_matches(s, pod):
        _update_storage(s, pod)
        consistent = False
        _create_claims(s, pod)
    if not _claims_match_policy(s, pod):
        _apply_retention_policy(s, pod)
        consistent = False
    if consistent:
        return
    s.state.update(pod)
    s.event("Normal", "SuccessfulUpdate", f"update Pod {pod['metadata']['name']} in StatefulSet {s.name} successful")


# --------------------------------------------------------------------------- ownership

def _claim_pods(state: ClusterState, s: _Set, orphans: list[dict]) -> list[dict]:
    """getPodsForStatefulSet: pods we control that are members (name `<set>-N`) and match the
    selector; matching orphans are adopted, controlled pods that no longer match are released."""
    selector = label_selector(s.spec.get("selector"))
    candidates = state.owned_by(s.obj, "Pod")
    owned = {id(p) for p in candidates}
    candidates += [p for p in orphans if p["metadata"].get("namespace") == s.namespace and id(p) not in owned
                   and controller_ref(p) is None]
    return claim(state, s.obj, candidates, lambda p: selector.matches(p["metadata"].get("labels") or {})
                 and parent_and_ordinal(p)[0] == s.name)


# --------------------------------------------------------------------------- revisions

def _revisions(state: ClusterState, s: _Set) -> tuple[list[dict], dict, dict, int]:
    """getStatefulSetRevisions: (sorted history, current, update, collisionCount)."""
    revisions = history.list_revisions(state, s.obj)
    status = s.obj.get("status") or {}
    collision = int(status.get("collisionCount") or 0)
    data = history.template_patch(s.obj)
    labels = ((s.spec.get("template") or {}).get("metadata") or {}).get("labels")
    equal = history.find_equal_revisions(revisions, data)
    if equal and revisions[-1] is equal[-1]:
        update = revisions[-1]
    elif equal:  # an older template again: roll back by renumbering that revision
        update = history.set_revision_number(state, equal[-1], history.next_revision(revisions))
    else:
        update, collision = history.create_revision(state, s.obj, labels, data,
                                                    history.next_revision(revisions), collision)
    current = next((r for r in revisions if r["metadata"]["name"] == status.get("currentRevision")), None)
    return revisions, current or update, update, collision


def _truncate_history(state: ClusterState, s: _Set, pods: list[dict], revisions: list[dict],
                      current: dict, update: dict) -> None:
    live = {current["metadata"]["name"], update["metadata"]["name"]}
    live.update(revision_of(p) for p in pods)
    old = [r for r in revisions if r["metadata"]["name"] not in live]
    limit = s.spec.get("revisionHistoryLimit")
    limit = 10 if limit is None else int(limit)
    if limit < 0 or len(old) <= limit:
        return
    for revision in old[:len(old) - limit]:
        state.delete(revision)


# --------------------------------------------------------------------------- the sync

def _status(s: _Set, pods: list[dict], current: dict, update: dict, collision: int) -> dict:
    replicas = ready = available = current_n = updated = 0
    current_name, update_name = current["metadata"]["name"], update["metadata"]["name"]
    for pod in pods:
        if is_created(pod):
            replicas += 1
        if is_running_and_ready(pod):
            ready += 1
            if s.available(pod):
                available += 1
        if is_created(pod) and not is_terminating(pod):
            revision = revision_of(pod)
            if revision == current_name:
                current_n += 1
            if revision == update_name:
                updated += 1
    status: dict = {"observedGeneration": s.meta.get("generation"), "replicas": replicas,
                    "readyReplicas": ready, "currentReplicas": current_n, "updatedReplicas": updated,
                    "currentRevision": current_name, "updateRevision": update_name,
                    "collisionCount": collision, "availableReplicas": available}
    # completeRollingUpdate
    if s.strategy == "RollingUpdate" and updated == s.replicas and ready == s.replicas and replicas == s.replicas:
        status["currentReplicas"] = updated
        status["currentRevision"] = update_name
    # omitempty fields
    for key in ("observedGeneration", "readyReplicas", "currentReplicas", "updatedReplicas",
                "currentRevision", "updateRevision"):
        if not status[key]:
            del status[key]
    conditions = (s.obj.get("status") or {}).get("conditions")
    if conditions:
        status["conditions"] = conditions
    return status


def _sync_pods(s: _Set, pods: list[dict], current: dict, update: dict) -> None:
    """updateStatefulSet: create, fix and delete pods; one step of the rolling update."""
    current_template = history.revision_template(current) or s.spec.get("template") or {}
    update_template = history.revision_template(update) or s.spec.get("template") or {}
    replicas: list[dict | None] = [None] * max(s.replicas, 0)
    condemned: list[dict] = []
    for pod in pods:
        ordinal = ordinal_of(pod)
        if s.start <= ordinal <= s.end:
            replicas[ordinal - s.start] = pod
        elif ordinal >= 0:
            condemned.append(pod)
    partition = int((s.rolling or {}).get("partition") or 0) if s.rolling is not None else None
    current_replicas = int((s.obj.get("status") or {}).get("currentReplicas") or 0)

    def new_pod(index: int) -> dict:
        """newVersionedStatefulSetPod: below the partition pods are made at the current revision."""
        ordinal = s.start + index
        keep_current = s.strategy == "RollingUpdate" and (
            (partition is None and ordinal < s.start + current_replicas) or
            (partition is not None and ordinal < s.start + partition))
        if keep_current:
            return _new_pod(s, current_template, current["metadata"]["name"], ordinal)
        return _new_pod(s, update_template, update["metadata"]["name"], ordinal)

    condemned.sort(key=ordinal_of, reverse=True)

    # the first unhealthy pod (None when it is a missing one, which no condemned pod can be)
    first_unavailable: dict | None = None
    for pod in replicas:
        if pod is None or s.unavailable(pod):
            first_unavailable = pod
            break
    else:
        for pod in reversed(condemned):
            if s.unavailable(pod):
                first_unavailable = pod
                break

    if s.meta.get("deletionTimestamp"):
        return

    # processReplica for each ordinal in the range
    for index in range(len(replicas)):
        pod = replicas[index] or new_pod(index)
        if phase(pod) in ("Failed", "Succeeded"):
            if not is_terminating(pod):
                _delete_pod(s, pod)
            if s.monotonic:
                return
            continue
        if not is_created(pod):
            if _claim_is_stale(s, ordinal_of(pod)):
                if s.monotonic:
                    return
                continue
            created = _create_pod(s, pod)
            if created is None or s.monotonic:
                return
            replicas[index] = pod = created
        if phase(pod) == "Pending":
            _create_claims(s, pod)
            _apply_retention_policy(s, pod)
        if s.monotonic and (is_terminating(pod) or not is_running_and_ready(pod) or not s.available(pod)):
            return
        if identity_matches(s, pod) and storage_matches(s, pod) and _claims_match_policy(s, pod):
            continue
        _update_pod(s, pod)

    # claims of the condemned pods follow the whenScaled policy before the pods go
    for pod in condemned:
        if pod["metadata"].get("uid"):
            _apply_retention_policy(s, pod)

    # processCondemned: highest ordinal first
    for pod in condemned:
        if is_terminating(pod):
            if s.monotonic:
                return
            continue
        if s.monotonic and pod is not first_unavailable and \
                (not is_running_and_ready(pod) or not s.available(pod)):
            return
        _delete_pod(s, pod)
        if s.monotonic:
            return

    if s.strategy == "OnDelete":
        return

    # updateStatefulSetAfterInvariantEstablished (MaxUnavailableStatefulSet)
    update_min = partition or 0
    max_unavailable = 1
    if s.rolling is not None:
        raw = s.rolling.get("maxUnavailable")
        max_unavailable = max(1, history.scaled_value(1 if raw is None else raw, s.replicas, False))
    unavailable = sum(1 for pod in replicas if pod is None or s.unavailable(pod))
    if unavailable > max_unavailable:
        return
    budget = max_unavailable - unavailable
    update_name = update["metadata"]["name"]
    target = len(replicas) - 1
    while target >= update_min and budget > 0:
        pod = replicas[target]
        if pod is not None and revision_of(pod) != update_name and not is_terminating(pod):
            _delete_pod(s, pod)
            budget -= 1
        target -= 1


def sync_statefulset(state: ClusterState, sts: dict, orphans: list[dict]) -> None:
    s = _Set(state, sts)
    selector = (sts.get("spec") or {}).get("selector")
    if not selector or label_selector(selector).empty():
        return
    pods = _claim_pods(state, s, orphans)
    revisions, current, update, collision = _revisions(state, s)
    _sync_pods(s, pods, current, update)
    # the status as a fresh read sees it (upstream reaches the same on its next sync)
    pods = [p for p in state.owned_by(sts, "Pod")
            if (controller_ref(p) or {}).get("uid") == s.uid and parent_and_ordinal(p)[0] == s.name]
    status = _status(s, pods, current, update, collision)
    if sts.get("status") != status:
        sts["status"] = status
        state.update(sts)
    _truncate_history(state, s, pods, revisions, current, update)


def reconcile(state: ClusterState) -> None:
    sets = state.list("StatefulSet")
    if not sets:
        return
    orphans = [p for p in state.list("Pod") if not controller_ref(p)]
    for sts in sets:
        sync_statefulset(state, sts, orphans)
