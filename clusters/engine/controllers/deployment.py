"""The Deployment controller.

Follows upstream pkg/controller/deployment: deployment_controller.go (syncDeployment,
getReplicaSetsForDeployment, getPodMapForDeployment), sync.go (getNewReplicaSet, scale,
scaleReplicaSet, cleanupDeployment, calculateStatus, isScalingEvent, checkPausedConditions),
rolling.go, recreate.go, progress.go and util/deployment_util.go, with the 1.37 wording.

A Deployment owns ReplicaSets named `<deployment>-<pod-template-hash>`; the one whose template
equals the Deployment's (ignoring that label) is the new one, and is reused when a template
comes back (`kubectl rollout undo` patches the template back: the old ReplicaSet gets the next
revision). Everything time-related (progressDeadlineSeconds) is a wake-up request.

A Deployment whose last sync did nothing and asked for no wake-up is not synced again while it and
its ReplicaSets are unchanged (a digest of their checksums in its notes: podutil.run_and_note) and no
orphan ReplicaSet waits to be adopted. A Recreate rollout reads the pods as well and is always synced.
"""
from __future__ import annotations

import math

from ..state import ClusterState, parse_timestamp, timestamp
from .podutil import (
    POD_TEMPLATE_HASH,
    claim,
    clone,
    compute_hash,
    controller_ref,
    equal_ignore_hash,
    inputs_digest,
    is_controlled_by,
    is_settled,
    label_selector,
    new_controller_ref,
    run_and_note,
)

COMPONENT = "deployment-controller"

REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
ROLLBACK_TO = "deprecated.deployment.rollback.to"
ANNOTATIONS_TO_SKIP = frozenset({LAST_APPLIED, REVISION, REVISION_HISTORY, DESIRED_REPLICAS, MAX_REPLICAS,
                                 ROLLBACK_TO})
MAX_REV_HISTORY_LENGTH_IN_CHARS = 2000
MAX_INT32 = 2**31 - 1

# Condition reasons (util/deployment_util.go)
REPLICA_SET_UPDATED = "ReplicaSetUpdated"
FAILED_RS_CREATE = "ReplicaSetCreateError"
NEW_REPLICA_SET = "NewReplicaSetCreated"
FOUND_NEW_RS = "FoundNewReplicaSet"
NEW_RS_AVAILABLE = "NewReplicaSetAvailable"
TIMED_OUT = "ProgressDeadlineExceeded"
PAUSED = "DeploymentPaused"
RESUMED = "DeploymentResumed"
MIN_REPLICAS_AVAILABLE = "MinimumReplicasAvailable"
MIN_REPLICAS_UNAVAILABLE = "MinimumReplicasUnavailable"


class _Abort(Exception):
    """The sync stops here, as upstream's returning an error (the deployment is requeued)."""


def reconcile(state: ClusterState) -> None:
    deployments = state.list("Deployment")
    if not deployments:
        return
    replica_sets = _ReplicaSets(state)
    wanted = _to_look_at(state)
    for d in deployments:
        if wanted is not None and d["metadata"].get("uid") not in wanted:
            continue
        digest = _inputs_digest(state, d)
        if is_settled(state, d, digest) and not _adoptable(d, replica_sets):
            continue
        run_and_note(state, d, digest, lambda d=d: _run(state, d, replica_sets))


def _to_look_at(state: ClusterState) -> set[str] | None:
    """The uids of the Deployments to sync when the loop narrowed this run to what changed (the informers'
    handlers): a Deployment written, the controller of a ReplicaSet written or deleted, and of the
    ReplicaSet controlling a pod written or deleted; or None for every one: a ReplicaSet without a
    controller written (some Deployment may adopt it), or a write of another kind."""
    narrowed = state.narrowed_changes()
    if narrowed is None:
        return None
    keys, gone = narrowed
    wanted: set[str] = set()
    owners: list[dict] = []   # ReplicaSets whose controller is wanted

    def rs_owner(obj: dict) -> bool:
        ref = controller_ref(obj)
        if ref is not None:
            wanted.add(ref.get("uid", ""))
        return ref is not None

    for kind, namespace, name in keys:
        if kind not in ("Deployment", "ReplicaSet", "Pod"):
            return None   # before any read of it: the kinds this controller reads decide when it runs
        obj = state.get(kind, namespace, name)
        if kind == "Deployment":
            if obj is not None:
                wanted.add(obj["metadata"].get("uid", ""))
        elif kind == "ReplicaSet":
            if obj is not None and not rs_owner(obj):
                return None
        elif kind == "Pod":
            if obj is not None:
                owners.append(obj)
    for previous in gone:
        if previous["kind"] == "ReplicaSet":
            rs_owner(previous)
        elif previous["kind"] == "Pod":
            owners.append(previous)
    for pod in owners:
        ref = controller_ref(pod)
        rs = state.by_uid(ref.get("uid", "")) if ref is not None else None
        if rs is not None and rs["kind"] == "ReplicaSet":
            rs_owner(rs)
    return wanted


def _run(state: ClusterState, d: dict, replica_sets: _ReplicaSets) -> None:
    try:
        _Sync(state, d, replica_sets).run()
    except _Abort:
        pass


def _inputs_digest(state: ClusterState, d: dict) -> str | None:
    """What a sync of d reads: d and the ReplicaSets of its namespace it owns (podutil.inputs_digest), and
    orphan ReplicaSets it might adopt (_adoptable). A Recreate rollout reads the pods too: never settled."""
    if (_spec(d).get("strategy") or {}).get("type") == "Recreate":
        return None
    namespace = d["metadata"].get("namespace", "")
    owned = [rs for rs in state.owned_by(d, "ReplicaSet") if rs["metadata"].get("namespace", "") == namespace]
    return inputs_digest(state, [d, *owned])


def _adoptable(d: dict, replica_sets: _ReplicaSets) -> bool:
    """Whether the claim would adopt an orphan ReplicaSet now."""
    selector_obj = _spec(d).get("selector")
    if d["metadata"].get("deletionTimestamp") or not selector_obj or \
            not (selector_obj.get("matchLabels") or selector_obj.get("matchExpressions")):
        return False
    try:
        selector = label_selector(selector_obj)
    except ValueError:
        return False
    return any(controller_ref(rs) is None and not rs["metadata"].get("deletionTimestamp")
               and selector.matches(rs["metadata"].get("labels"))
               for rs in replica_sets.orphans(d["metadata"].get("namespace", "")))


class _ReplicaSets:
    """The ReplicaSets without a controller, by namespace: listed once per pass and kept current as this
    controller writes (created and deleted ReplicaSets, released ones). With the ones a Deployment owns
    (state.owned_by) they are all its claim can touch, so a pass does not scan a namespace per Deployment."""

    def __init__(self, state: ClusterState) -> None:
        self.state = state
        self.orphans_by_ns: dict[str, list[dict]] | None = None

    def orphans(self, namespace: str) -> list[dict]:
        if self.orphans_by_ns is None:
            self.orphans_by_ns = {}
            for rs in self.state.list("ReplicaSet"):
                if controller_ref(rs) is None:
                    self.orphans_by_ns.setdefault(rs["metadata"].get("namespace", ""), []).append(rs)
        return self.orphans_by_ns.get(namespace, [])

    def released(self, rs: dict) -> None:
        """rs lost its controller in this pass: the Deployments after this one may adopt it."""
        namespace = rs["metadata"].get("namespace", "")
        self.orphans(namespace)
        found = self.orphans_by_ns.setdefault(namespace, [])
        if not any(o is rs for o in found):
            found.append(rs)

    def changed(self) -> None:
        self.orphans_by_ns = None


# ====================================================================== small helpers

def _spec(obj: dict) -> dict:
    return obj.get("spec") or {}


def _status(obj: dict) -> dict:
    return obj.get("status") or {}


def replicas_of(obj: dict) -> int:
    value = _spec(obj).get("replicas")
    return 1 if value is None else int(value)


def _annotations(obj: dict) -> dict:
    return obj["metadata"].setdefault("annotations", {})


def _write(state: ClusterState, obj: dict) -> None:
    """state.update after sorting the annotations, as Go serialises a map (kubectl -o json shows them so)."""
    annotations = obj["metadata"].get("annotations")
    if annotations:
        obj["metadata"]["annotations"] = dict(sorted(annotations.items()))
    state.update(obj)


def _created(obj: dict) -> tuple[float, str]:
    """ReplicaSetsByCreationTimestamp: creation time, then name."""
    return parse_timestamp(obj["metadata"].get("creationTimestamp")) or 0.0, obj["metadata"]["name"]


def revision(rs: dict) -> int | None:
    """deploymentutil.Revision: 0 without the annotation, None when it is not a number."""
    text = (rs["metadata"].get("annotations") or {}).get(REVISION)
    if text is None:
        return 0
    try:
        return int(text)
    except ValueError:
        return None


def max_revision(replica_sets: list[dict]) -> int:
    return max((v for v in (revision(rs) for rs in replica_sets) if v is not None), default=0)


def _int_annotation(rs: dict, key: str) -> int | None:
    text = (rs["metadata"].get("annotations") or {}).get(key)
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        return None


def is_rolling_update(d: dict) -> bool:
    return (_spec(d).get("strategy") or {}).get("type", "RollingUpdate") == "RollingUpdate"


def _scaled_value(value, total: int, round_up: bool) -> int:
    """intstr.GetScaledValueFromIntOrPercent (an invalid value counts as 0: validation catches it)."""
    if value is None:
        return 0
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    text = str(value)
    if not text.endswith("%"):
        return 0
    try:
        percent = int(text[:-1])
    except ValueError:
        return 0
    product = percent * total
    return -(-product // 100) if round_up else product // 100


def resolve_fenceposts(max_surge, max_unavailable, desired: int) -> tuple[int, int]:
    """deploymentutil.ResolveFenceposts: surge rounds up, unavailable down; both 0 → unavailable 1."""
    surge = _scaled_value(max_surge, desired, True)
    unavailable = _scaled_value(max_unavailable, desired, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def _rolling_params(d: dict):
    rolling = (_spec(d).get("strategy") or {}).get("rollingUpdate") or {}
    return rolling.get("maxSurge"), rolling.get("maxUnavailable")


def max_unavailable(d: dict) -> int:
    desired = replicas_of(d)
    if not is_rolling_update(d) or desired == 0:
        return 0
    _, unavailable = resolve_fenceposts(*_rolling_params(d), desired)
    return min(unavailable, desired)


def max_surge(d: dict) -> int:
    if not is_rolling_update(d):
        return 0
    surge, _ = resolve_fenceposts(*_rolling_params(d), replicas_of(d))
    return surge


def has_progress_deadline(d: dict) -> bool:
    value = _spec(d).get("progressDeadlineSeconds")
    return value is not None and int(value) != MAX_INT32


def has_revision_history_limit(d: dict) -> bool:
    value = _spec(d).get("revisionHistoryLimit")
    return value is not None and int(value) != MAX_INT32


def _total(replica_sets: list[dict | None], field: str) -> int:
    return sum(int(_status(rs).get(field) or 0) for rs in replica_sets if rs is not None)


def replica_count(replica_sets: list[dict | None]) -> int:
    """GetReplicaCountForReplicaSets: the sum of spec.replicas."""
    return sum(replicas_of(rs) for rs in replica_sets if rs is not None)


def terminating_count(replica_sets: list[dict | None]) -> int | None:
    """GetTerminatingReplicaCountForReplicaSets: None as soon as one ReplicaSet does not report it."""
    total = 0
    for rs in replica_sets:
        if rs is None:
            continue
        value = _status(rs).get("terminatingReplicas")
        if value is None:
            return None
        total += int(value)
    return total


def active_replica_sets(replica_sets: list[dict | None]) -> list[dict]:
    """controller.FilterActiveReplicaSets: spec.replicas > 0."""
    return [rs for rs in replica_sets if rs is not None and replicas_of(rs) > 0]


def find_new_replica_set(d: dict, rs_list: list[dict]) -> dict | None:
    """The oldest ReplicaSet whose template equals the Deployment's, ignoring pod-template-hash."""
    template = _spec(d).get("template")
    for rs in sorted(rs_list, key=_created):
        if equal_ignore_hash(_spec(rs).get("template"), template):
            return rs
    return None


def deployment_complete(d: dict, status: dict) -> bool:
    want = replicas_of(d)
    return (int(status.get("updatedReplicas") or 0) == want and int(status.get("replicas") or 0) == want
            and int(status.get("availableReplicas") or 0) == want
            and int(status.get("observedGeneration") or 0) >= int(d["metadata"].get("generation") or 0))


def deployment_progressing(d: dict, new: dict) -> bool:
    old = _status(d)

    def get(status: dict, key: str) -> int:
        return int(status.get(key) or 0)

    old_old = get(old, "replicas") - get(old, "updatedReplicas")
    new_old = get(new, "replicas") - get(new, "updatedReplicas")
    return (get(new, "updatedReplicas") > get(old, "updatedReplicas") or new_old < old_old
            or get(new, "readyReplicas") > get(old, "readyReplicas")
            or get(new, "availableReplicas") > get(old, "availableReplicas"))


def get_condition(status: dict, cond_type: str) -> dict | None:
    for cond in status.get("conditions") or ():
        if cond.get("type") == cond_type:
            return cond
    return None


def new_condition(cond_type: str, status: str, reason: str, message: str, now: float) -> dict:
    stamp = timestamp(now)
    return {"type": cond_type, "status": status, "lastUpdateTime": stamp, "lastTransitionTime": stamp,
            "reason": reason, "message": message}


def set_condition(status: dict, condition: dict) -> None:
    """SetDeploymentCondition: same status and reason → unchanged; same status → keep the
    transition time; the condition goes to the end of the list."""
    current = get_condition(status, condition["type"])
    if current is not None and current.get("status") == condition["status"] \
            and current.get("reason") == condition["reason"]:
        return
    if current is not None and current.get("status") == condition["status"]:
        condition["lastTransitionTime"] = current.get("lastTransitionTime")
    conditions = [c for c in status.get("conditions") or () if c.get("type") != condition["type"]]
    conditions.append(condition)
    status["conditions"] = conditions


def remove_condition(status: dict, cond_type: str) -> None:
    conditions = [c for c in status.get("conditions") or () if c.get("type") != cond_type]
    if conditions:
        status["conditions"] = conditions
    else:
        status.pop("conditions", None)


def set_deployment_revision(d: dict, rev: str | None) -> bool:
    annotations = _annotations(d)
    if annotations.get(REVISION) != rev:
        if rev is None:
            annotations.pop(REVISION, None)
        else:
            annotations[REVISION] = rev
        return True
    return False


def replicas_annotations_need_update(rs: dict, desired: int, maximum: int) -> bool:
    annotations = rs["metadata"].get("annotations") or {}
    return annotations.get(DESIRED_REPLICAS) != str(desired) or annotations.get(MAX_REPLICAS) != str(maximum)


def set_replicas_annotations(rs: dict, desired: int, maximum: int) -> bool:
    annotations = _annotations(rs)
    updated = False
    if annotations.get(DESIRED_REPLICAS) != str(desired):
        annotations[DESIRED_REPLICAS] = str(desired)
        updated = True
    if annotations.get(MAX_REPLICAS) != str(maximum):
        annotations[MAX_REPLICAS] = str(maximum)
        updated = True
    return updated


def set_new_replica_set_annotations(d: dict, rs: dict, new_revision: str, exists: bool) -> bool:
    """SetNewReplicaSetAnnotations: copy the Deployment's annotations, raise the revision (keeping
    the previous ones in revision-history when an old ReplicaSet is reused), replica annotations
    on a new one."""
    annotations = _annotations(rs)
    changed = False
    for key, value in (d["metadata"].get("annotations") or {}).items():
        if key in ANNOTATIONS_TO_SKIP or annotations.get(key) == value:
            continue
        annotations[key] = value
        changed = True
    had_revision = REVISION in annotations
    old_revision = annotations.get(REVISION, "")
    try:
        old_number = int(old_revision) if old_revision != "" else 0
    except ValueError:
        return False
    new_number = int(new_revision)
    if old_number < new_number:
        annotations[REVISION] = new_revision
        changed = True
    if had_revision and old_number < new_number:
        history = annotations.get(REVISION_HISTORY, "")
        old_revisions = history.split(",")
        if not old_revisions[0]:
            annotations[REVISION_HISTORY] = old_revision
        else:
            total = len(history) + len(old_revision) + 1
            start = 0
            while total > MAX_REV_HISTORY_LENGTH_IN_CHARS and start < len(old_revisions):
                total -= len(old_revisions[start]) + 1
                start += 1
            if total <= MAX_REV_HISTORY_LENGTH_IN_CHARS:
                annotations[REVISION_HISTORY] = ",".join(old_revisions[start:] + [old_revision])
    if not exists and set_replicas_annotations(rs, replicas_of(d), replicas_of(d) + max_surge(d)):
        changed = True
    return changed


def new_rs_new_replicas(d: dict, all_rss: list[dict], new_rs: dict) -> int:
    """NewRSNewReplicas: how big the new ReplicaSet may be now."""
    want = replicas_of(d)
    if is_rolling_update(d):
        surge = _scaled_value(_rolling_params(d)[0], want, True)
        current = replica_count(all_rss)
        max_total = want + surge
        if current >= max_total:
            return replicas_of(new_rs)
        scale_up = min(max_total - current, want - replicas_of(new_rs))
        return replicas_of(new_rs) + scale_up
    return want


def is_saturated(d: dict, rs: dict | None) -> bool:
    if rs is None:
        return False
    desired = _int_annotation(rs, DESIRED_REPLICAS)
    if desired is None:
        return False
    want = replicas_of(d)
    return replicas_of(rs) == want and desired == want and int(_status(rs).get("availableReplicas") or 0) == want


def find_active_or_latest(new_rs: dict | None, old_rss: list[dict]) -> dict | None:
    if new_rs is None and not old_rss:
        return None
    newest_first = sorted(old_rss, key=_created, reverse=True)
    active = active_replica_sets(newest_first + [new_rs])
    if not active:
        return new_rs if new_rs is not None else newest_first[0]
    if len(active) == 1:
        return active[0]
    return None


def _proportion(rs: dict, d: dict, to_add: int, added: int) -> int:
    """GetProportion / getReplicaSetFraction."""
    if rs is None or replicas_of(rs) == 0 or to_add == 0 or to_add == added:
        return 0
    want = replicas_of(d)
    if want == 0:
        fraction = -replicas_of(rs)
    else:
        deployment_max = want + max_surge(d)
        annotated = _int_annotation(rs, MAX_REPLICAS)
        if annotated is None:
            annotated = int(_status(d).get("replicas") or 0)
        if annotated == 0:
            fraction = 0
        else:
            size = replicas_of(rs) * deployment_max / annotated
            fraction = int(math.floor(size + 0.5)) - replicas_of(rs)  # math.Round of a positive number
    allowed = to_add - added
    return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)


# ====================================================================== one Deployment's sync

class _Sync:
    def __init__(self, state: ClusterState, d: dict, replica_sets: _ReplicaSets) -> None:
        self.state = state
        self.d = d
        self.replica_sets = replica_sets
        self.namespace = d["metadata"].get("namespace", "")

    # ------------------------------------------------------------ syncDeployment
    def run(self) -> None:
        d = self.d
        selector_obj = _spec(d).get("selector")
        if selector_obj is not None and not selector_obj.get("matchLabels") \
                and not selector_obj.get("matchExpressions"):
            status = d.setdefault("status", {})
            generation = int(d["metadata"].get("generation") or 0)
            if int(status.get("observedGeneration") or 0) < generation:
                self.state.event(d, "Warning", "SelectingAll",
                                 "This deployment is selecting all pods. A non-empty selector is required.",
                                 component=COMPONENT)
                status["observedGeneration"] = generation
                self.state.update(d)
            return
        try:
            self.selector = label_selector(selector_obj)
        except ValueError:
            return
        rs_list = self.replica_sets_for_deployment()
        if d["metadata"].get("deletionTimestamp"):
            new_rs, old_rss = self.all_replica_sets_and_sync_revision(rs_list, False)
            self.sync_deployment_status(old_rss + [new_rs], new_rs)
            return
        self.check_paused_conditions()
        if _spec(d).get("paused"):
            self.sync(rs_list)
            return
        if self.is_scaling_event(rs_list):
            self.sync(rs_list)
            return
        strategy = (_spec(d).get("strategy") or {}).get("type", "RollingUpdate")
        if strategy == "Recreate":
            self.rollout_recreate(rs_list)
        elif strategy == "RollingUpdate":
            self.rollout_rolling(rs_list)

    def replica_sets_for_deployment(self) -> list[dict]:
        """getReplicaSetsForDeployment: claim (adopt/release) the ReplicaSets of the namespace.

        The claim can only keep or release the ReplicaSets this Deployment controls and adopt the ones
        without a controller: those are its candidates, in the namespace's order (by name)."""
        owned = [rs for rs in self.state.owned_by(self.d, "ReplicaSet")
                 if rs["metadata"].get("namespace", "") == self.namespace]
        mine = {id(rs) for rs in owned}
        candidates = owned + [rs for rs in self.replica_sets.orphans(self.namespace) if id(rs) not in mine]
        candidates.sort(key=lambda rs: rs["metadata"]["name"])

        def matches(rs: dict) -> bool:
            return self.selector.matches(rs["metadata"].get("labels"))

        claimed = claim(self.state, self.d, candidates, matches)
        for rs in owned:
            if controller_ref(rs) is None:
                self.replica_sets.released(rs)
        return claimed

    def pod_map(self, rs_list: list[dict]) -> dict[str, list[dict]]:
        """getPodMapForDeployment: the Deployment's pods (inactive ones too) by owning ReplicaSet."""
        found: dict[str, list[dict]] = {}
        for rs in rs_list:
            found[rs["metadata"]["uid"]] = [
                p for p in self.state.owned_by(rs, "Pod")
                if is_controlled_by(p, rs) and self.selector.matches(p["metadata"].get("labels"))]
        return found

    # ------------------------------------------------------------ sync.go
    def sync(self, rs_list: list[dict]) -> None:
        new_rs, old_rss = self.all_replica_sets_and_sync_revision(rs_list, False)
        self.scale(new_rs, old_rss)
        if _spec(self.d).get("paused") and not (self.d["metadata"].get("annotations") or {}).get(ROLLBACK_TO):
            self.cleanup_deployment(old_rss)
        self.sync_deployment_status(old_rss + [new_rs], new_rs)

    def check_paused_conditions(self) -> None:
        d = self.d
        if not has_progress_deadline(d):
            return
        status = d.setdefault("status", {})
        cond = get_condition(status, "Progressing")
        if cond is not None and cond.get("reason") == TIMED_OUT:
            return
        paused_cond = cond is not None and cond.get("reason") == PAUSED
        paused = bool(_spec(d).get("paused"))
        if paused and not paused_cond:
            set_condition(status, new_condition("Progressing", "Unknown", PAUSED, "Deployment is paused",
                                                self.state.now))
        elif not paused and paused_cond:
            set_condition(status, new_condition("Progressing", "Unknown", RESUMED, "Deployment is resumed",
                                                self.state.now))
        else:
            return
        self.state.update(d)

    def all_replica_sets_and_sync_revision(self, rs_list: list[dict], create: bool):
        new = find_new_replica_set(self.d, rs_list)
        old_rss = [rs for rs in rs_list if rs is not new]
        new_rs = self.new_replica_set(rs_list, old_rss, create)
        return new_rs, old_rss

    def new_replica_set(self, rs_list: list[dict], old_rss: list[dict], create: bool) -> dict | None:
        """getNewReplicaSet: sync the existing new ReplicaSet's annotations and the Deployment's
        revision, or create the new ReplicaSet (name from the template hash) when asked to."""
        d, state = self.d, self.state
        existing = find_new_replica_set(d, rs_list)
        new_revision = str(max_revision(old_rss) + 1)
        status = d.setdefault("status", {})
        if existing is not None:
            annotations_updated = set_new_replica_set_annotations(d, existing, new_revision, True)
            want_min_ready = int(_spec(d).get("minReadySeconds") or 0)
            min_ready_changed = int(_spec(existing).get("minReadySeconds") or 0) != want_min_ready
            if annotations_updated or min_ready_changed:
                if min_ready_changed:
                    _set_spec_field(existing, "minReadySeconds", want_min_ready)
                _write(state, existing)
                return existing
            needs_update = set_deployment_revision(d, (existing["metadata"].get("annotations") or {}).get(REVISION))
            if has_progress_deadline(d) and get_condition(status, "Progressing") is None:
                set_condition(status, new_condition("Progressing", "True", FOUND_NEW_RS,
                                                    f'Found new replica set "{existing["metadata"]["name"]}"',
                                                    state.now))
                needs_update = True
            if needs_update:
                _write(state, d)
            return existing
        if not create:
            return None

        template = clone(_spec(d).get("template") or {})
        pod_template_hash = compute_hash(template, status.get("collisionCount"))
        template_meta = template.setdefault("metadata", {})
        template_meta["labels"] = {**(template_meta.get("labels") or {}), POD_TEMPLATE_HASH: pod_template_hash}
        selector = clone(_spec(d).get("selector") or {})
        selector["matchLabels"] = {**(selector.get("matchLabels") or {}), POD_TEMPLATE_HASH: pod_template_hash}
        name = f'{d["metadata"]["name"]}-{pod_template_hash}'
        rs_spec: dict = {"replicas": 0}
        if _spec(d).get("minReadySeconds"):
            rs_spec["minReadySeconds"] = int(_spec(d)["minReadySeconds"])
        rs_spec["selector"] = selector
        rs_spec["template"] = template
        new_rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
                  "metadata": {"name": name, "namespace": self.namespace, "labels": dict(template_meta["labels"]),
                               "ownerReferences": [new_controller_ref(d)]},
                  "spec": rs_spec}
        new_replicas = new_rs_new_replicas(d, old_rss + [new_rs], new_rs)
        rs_spec["replicas"] = new_replicas
        set_new_replica_set_annotations(d, new_rs, new_revision, False)
        new_rs["metadata"]["annotations"] = dict(sorted(new_rs["metadata"]["annotations"].items()))

        already_exists = False
        found = state.get("ReplicaSet", self.namespace, name)
        if found is not None:
            ref = controller_ref(found)
            if ref is not None and ref.get("uid") == d["metadata"]["uid"] and \
                    equal_ignore_hash(_spec(d).get("template"), _spec(found).get("template")):
                created, already_exists = found, True
            else:
                # A hash collision: count it, and the next sync tries another name.
                status["collisionCount"] = int(status.get("collisionCount") or 0) + 1
                state.update(d)
                raise _Abort()
        else:
            created = state.create(new_rs)
            self.replica_sets.changed()
        if not already_exists and new_replicas > 0:
            state.event(d, "Normal", "ScalingReplicaSet",
                        f"Scaled up replica set {created['metadata']['name']} from 0 to {new_replicas}",
                        component=COMPONENT)
        needs_update = set_deployment_revision(d, new_revision)
        if not already_exists and has_progress_deadline(d):
            set_condition(status, new_condition("Progressing", "True", NEW_REPLICA_SET,
                                                f'Created new replica set "{created["metadata"]["name"]}"',
                                                state.now))
            needs_update = True
        if needs_update:
            _write(state, d)
        return created

    def scale(self, new_rs: dict | None, old_rss: list[dict]) -> None:
        """sync.go scale: scale the only active ReplicaSet, or finish a saturated rollout, or
        spread a change of spec.replicas proportionally over the active ReplicaSets."""
        d = self.d
        want = replicas_of(d)
        active_or_latest = find_active_or_latest(new_rs, old_rss)
        if active_or_latest is not None:
            if replicas_of(active_or_latest) == want:
                return
            self.scale_replica_set_and_record_event(active_or_latest, want)
            return
        if is_saturated(d, new_rs):
            for old in active_replica_sets(old_rss):
                self.scale_replica_set_and_record_event(old, 0)
            return
        if not is_rolling_update(d):
            return
        all_rss = active_replica_sets(old_rss + [new_rs])
        all_replicas = replica_count(all_rss)
        allowed = want + max_surge(d) if want > 0 else 0
        to_add = allowed - all_replicas
        operation = ""
        if to_add > 0:
            # ReplicaSetsBySizeNewer: bigger first, newer first among equals
            all_rss.sort(key=_created, reverse=True)
            all_rss.sort(key=replicas_of, reverse=True)
            operation = "up"
        elif to_add < 0:
            # ReplicaSetsBySizeOlder: bigger first, older first among equals
            all_rss.sort(key=_created)
            all_rss.sort(key=replicas_of, reverse=True)
            operation = "down"
        added = 0
        sizes: dict[str, int] = {}
        for rs in all_rss:
            if to_add != 0:
                proportion = _proportion(rs, d, to_add, added)
                sizes[rs["metadata"]["name"]] = replicas_of(rs) + proportion
                added += proportion
            else:
                sizes[rs["metadata"]["name"]] = replicas_of(rs)
        for i, rs in enumerate(all_rss):
            name = rs["metadata"]["name"]
            if i == 0 and to_add != 0:
                sizes[name] = max(0, sizes[name] + to_add - added)
            self.scale_replica_set(rs, sizes[name], operation)

    def scale_replica_set_and_record_event(self, rs: dict, new_scale: int) -> bool:
        current = replicas_of(rs)
        if current == new_scale:
            return False
        return self.scale_replica_set(rs, new_scale, "up" if current < new_scale else "down")

    def scale_replica_set(self, rs: dict, new_scale: int, operation: str) -> bool:
        d = self.d
        old_scale = replicas_of(rs)
        size_needs_update = old_scale != new_scale
        desired, maximum = replicas_of(d), replicas_of(d) + max_surge(d)
        if not (size_needs_update or replicas_annotations_need_update(rs, desired, maximum)):
            return False
        if size_needs_update:
            _set_spec_field(rs, "replicas", new_scale)
        set_replicas_annotations(rs, desired, maximum)
        _write(self.state, rs)
        if size_needs_update:
            self.state.event(d, "Normal", "ScalingReplicaSet",
                             f"Scaled {operation} replica set {rs['metadata']['name']} from {old_scale} to {new_scale}",
                             component=COMPONENT)
            return True
        return False

    def cleanup_deployment(self, old_rss: list[dict]) -> None:
        """Delete the oldest ReplicaSets beyond revisionHistoryLimit that are scaled to zero
        and whose scaling the ReplicaSet controller has observed."""
        d = self.d
        if not has_revision_history_limit(d):
            return
        cleanable = [rs for rs in old_rss if rs is not None and not rs["metadata"].get("deletionTimestamp")]
        diff = len(cleanable) - int(_spec(d)["revisionHistoryLimit"])
        if diff <= 0:
            return

        def by_revision(rs: dict):
            rev = revision(rs)
            return (0 if rev is None else rev, *_created(rs))

        # ReplicaSetsByRevision (a revision that is no number sorts by creation only: rare enough)
        cleanable.sort(key=by_revision)
        for rs in cleanable[:diff]:
            status = _status(rs)
            if int(status.get("replicas") or 0) != 0 or replicas_of(rs) != 0 or \
                    int(rs["metadata"].get("generation") or 0) > int(status.get("observedGeneration") or 0):
                continue
            self.state.delete(rs)
            self.replica_sets.changed()

    def calculate_status(self, all_rss: list[dict | None], new_rs: dict | None) -> dict:
        d = self.d
        old = _status(d)
        available = _total(all_rss, "availableReplicas")
        total = replica_count(all_rss)
        unavailable = max(0, total - available)
        status: dict = {}
        generation = int(d["metadata"].get("generation") or 0)
        values = (("observedGeneration", generation), ("replicas", _total(all_rss, "replicas")),
                  ("updatedReplicas", _total([new_rs], "replicas")),
                  ("readyReplicas", _total(all_rss, "readyReplicas")),
                  ("availableReplicas", available), ("unavailableReplicas", unavailable))
        for key, value in values:
            if value:
                status[key] = value
        terminating = terminating_count(all_rss)
        if terminating is not None:
            status["terminatingReplicas"] = terminating
        conditions = [dict(c) for c in old.get("conditions") or ()]
        if conditions:
            status["conditions"] = conditions
        if old.get("collisionCount") is not None:
            status["collisionCount"] = old["collisionCount"]
        if available >= replicas_of(d) - max_unavailable(d):
            cond = new_condition("Available", "True", MIN_REPLICAS_AVAILABLE, "Deployment has minimum availability.",
                                 self.state.now)
        else:
            cond = new_condition("Available", "False", MIN_REPLICAS_UNAVAILABLE,
                                 "Deployment does not have minimum availability.", self.state.now)
        set_condition(status, cond)
        return _ordered_status(status)

    def sync_deployment_status(self, all_rss: list[dict | None], new_rs: dict | None) -> None:
        status = self.calculate_status(all_rss, new_rs)
        if status != _status(self.d):
            self.d["status"] = status
            self.state.update(self.d)

    def is_scaling_event(self, rs_list: list[dict]) -> bool:
        new_rs, old_rss = self.all_replica_sets_and_sync_revision(rs_list, False)
        for rs in active_replica_sets(old_rss + [new_rs]):
            desired = _int_annotation(rs, DESIRED_REPLICAS)
            if desired is not None and desired != replicas_of(self.d):
                return True
        return False

    # ------------------------------------------------------------ progress.go
    def sync_rollout_status(self, all_rss: list[dict | None], new_rs: dict | None) -> None:
        d, now = self.d, self.state.now
        new_status = self.calculate_status(all_rss, new_rs)
        if not has_progress_deadline(d):
            remove_condition(new_status, "Progressing")
        current = get_condition(_status(d), "Progressing")
        complete_before = (int(new_status.get("replicas") or 0) == int(new_status.get("updatedReplicas") or 0)
                           and current is not None and current.get("reason") == NEW_RS_AVAILABLE)
        if has_progress_deadline(d) and not complete_before:
            name = new_rs["metadata"]["name"] if new_rs is not None else None
            if deployment_complete(d, new_status):
                message = (f'ReplicaSet "{name}" has successfully progressed.' if name
                           else f'Deployment "{d["metadata"]["name"]}" has successfully progressed.')
                set_condition(new_status, new_condition("Progressing", "True", NEW_RS_AVAILABLE, message, now))
            elif deployment_progressing(d, new_status):
                message = (f'ReplicaSet "{name}" is progressing.' if name
                           else f'Deployment "{d["metadata"]["name"]}" is progressing.')
                cond = new_condition("Progressing", "True", REPLICA_SET_UPDATED, message, now)
                if current is not None:
                    if current.get("status") == "True":
                        cond["lastTransitionTime"] = current.get("lastTransitionTime")
                    remove_condition(new_status, "Progressing")
                set_condition(new_status, cond)
            elif self.timed_out(new_status):
                message = (f'ReplicaSet "{name}" has timed out progressing.' if name
                           else f'Deployment "{d["metadata"]["name"]}" has timed out progressing.')
                set_condition(new_status, new_condition("Progressing", "False", TIMED_OUT, message, now))
        failures = _replica_failures(all_rss, new_rs)
        if failures:
            set_condition(new_status, failures[0])
        else:
            remove_condition(new_status, "ReplicaFailure")
        new_status = _ordered_status(new_status)
        if new_status == _status(d):
            self.requeue_stuck_deployment(new_status)
            return
        d["status"] = new_status
        self.state.update(d)

    def timed_out(self, new_status: dict) -> bool:
        """DeploymentTimedOut: no progress reported for progressDeadlineSeconds."""
        d = self.d
        if not has_progress_deadline(d):
            return False
        cond = get_condition(new_status, "Progressing")
        if cond is None or cond.get("reason") == NEW_RS_AVAILABLE:
            return False
        if cond.get("reason") == TIMED_OUT:
            return True
        since = parse_timestamp(cond.get("lastUpdateTime"))
        if since is None:
            return False
        return since + int(_spec(d)["progressDeadlineSeconds"]) < self.state.now

    def requeue_stuck_deployment(self, new_status: dict) -> None:
        """Ask for a pass when the progress deadline would pass without progress."""
        d = self.d
        current = get_condition(_status(d), "Progressing")
        if not has_progress_deadline(d) or current is None:
            return
        if deployment_complete(d, new_status) or current.get("reason") == TIMED_OUT:
            return
        since = parse_timestamp(current.get("lastUpdateTime"))
        if since is None:
            return
        # lastUpdateTime + progressDeadlineSeconds, plus the second upstream adds against skew
        when = since + int(_spec(d)["progressDeadlineSeconds"]) + 1
        if when > self.state.now:
            self.state.wake_at(when)

    # ------------------------------------------------------------ rolling.go
    def rollout_rolling(self, rs_list: list[dict]) -> None:
        new_rs, old_rss = self.all_replica_sets_and_sync_revision(rs_list, True)
        all_rss = old_rss + [new_rs]
        if self.reconcile_new_replica_set(all_rss, new_rs):
            self.sync_rollout_status(all_rss, new_rs)
            return
        if self.reconcile_old_replica_sets(all_rss, active_replica_sets(old_rss), new_rs):
            self.sync_rollout_status(all_rss, new_rs)
            return
        if deployment_complete(self.d, _status(self.d)):
            self.cleanup_deployment(old_rss)
        self.sync_rollout_status(all_rss, new_rs)

    def reconcile_new_replica_set(self, all_rss: list[dict], new_rs: dict) -> bool:
        want = replicas_of(self.d)
        if replicas_of(new_rs) == want:
            return False
        if replicas_of(new_rs) > want:
            return self.scale_replica_set_and_record_event(new_rs, want)
        return self.scale_replica_set_and_record_event(new_rs, new_rs_new_replicas(self.d, all_rss, new_rs))

    def reconcile_old_replica_sets(self, all_rss: list[dict], old_rss: list[dict], new_rs: dict) -> bool:
        d = self.d
        if replica_count(old_rss) == 0:
            return False
        all_pods = replica_count(all_rss)
        min_available = replicas_of(d) - max_unavailable(d)
        new_unavailable = replicas_of(new_rs) - int(_status(new_rs).get("availableReplicas") or 0)
        max_scaled_down = all_pods - min_available - new_unavailable
        if max_scaled_down <= 0:
            return False
        cleaned = self.cleanup_unhealthy_replicas(old_rss, max_scaled_down)
        scaled_down = self.scale_down_old_replica_sets_for_rolling_update(old_rss + [new_rs], old_rss)
        return cleaned + scaled_down > 0

    def cleanup_unhealthy_replicas(self, old_rss: list[dict], max_cleanup: int) -> int:
        """Scale old ReplicaSets down by their unavailable replicas first (they serve nothing)."""
        total = 0
        for rs in sorted(old_rss, key=_created):
            if total >= max_cleanup:
                break
            replicas = replicas_of(rs)
            available = int(_status(rs).get("availableReplicas") or 0)
            if replicas == 0 or replicas == available:
                continue
            count = min(max_cleanup - total, replicas - available)
            self.scale_replica_set_and_record_event(rs, replicas - count)
            total += count
        return total

    def scale_down_old_replica_sets_for_rolling_update(self, all_rss: list[dict], old_rss: list[dict]) -> int:
        d = self.d
        min_available = replicas_of(d) - max_unavailable(d)
        available = _total(all_rss, "availableReplicas")
        if available <= min_available:
            return 0
        total, wanted = 0, available - min_available
        for rs in sorted(old_rss, key=_created):
            if total >= wanted:
                break
            replicas = replicas_of(rs)
            if replicas == 0:
                continue
            count = min(replicas, wanted - total)
            self.scale_replica_set_and_record_event(rs, replicas - count)
            total += count
        return total

    # ------------------------------------------------------------ recreate.go
    def rollout_recreate(self, rs_list: list[dict]) -> None:
        new_rs, old_rss = self.all_replica_sets_and_sync_revision(rs_list, False)
        all_rss = old_rss + [new_rs]
        scaled_down = False
        for rs in active_replica_sets(old_rss):
            if self.scale_replica_set_and_record_event(rs, 0):
                scaled_down = True
        if scaled_down:
            self.sync_rollout_status(all_rss, new_rs)
            return
        if self.old_pods_running(new_rs, old_rss, self.pod_map(rs_list)):
            self.sync_rollout_status(all_rss, new_rs)
            return
        if new_rs is None:
            new_rs, old_rss = self.all_replica_sets_and_sync_revision(rs_list, True)
            all_rss = old_rss + [new_rs]
        self.scale_replica_set_and_record_event(new_rs, replicas_of(self.d))
        if deployment_complete(self.d, _status(self.d)):
            self.cleanup_deployment(old_rss)
        self.sync_rollout_status(all_rss, new_rs)

    @staticmethod
    def old_pods_running(new_rs: dict | None, old_rss: list[dict], pod_map: dict[str, list[dict]]) -> bool:
        if _total(old_rss, "replicas") > 0:
            return True
        new_uid = new_rs["metadata"]["uid"] if new_rs is not None else None
        for uid, pods in pod_map.items():
            if uid == new_uid:
                continue
            for pod in pods:
                if _status(pod).get("phase") not in ("Failed", "Succeeded"):
                    return True
        return False


# ====================================================================== writing helpers

def _set_spec_field(rs: dict, key: str, value: int) -> None:
    """Change a ReplicaSet's spec as an update through the API would: generation goes up."""
    spec = rs.setdefault("spec", {})
    if key == "minReadySeconds" and not value:
        spec.pop(key, None)
    else:
        spec[key] = value
    meta = rs["metadata"]
    meta["generation"] = int(meta.get("generation") or 0) + 1


_STATUS_ORDER = ("observedGeneration", "replicas", "updatedReplicas", "readyReplicas", "availableReplicas",
                 "unavailableReplicas", "terminatingReplicas", "conditions", "collisionCount")


def _ordered_status(status: dict) -> dict:
    """DeploymentStatus fields in their Go order (what kubectl -o json shows)."""
    ordered = {k: status[k] for k in _STATUS_ORDER if k in status}
    ordered.update((k, v) for k, v in status.items() if k not in ordered)
    return ordered


def _replica_failures(all_rss: list[dict | None], new_rs: dict | None) -> list[dict]:
    """getReplicaFailures: ReplicaFailure conditions of the ReplicaSets as Deployment conditions."""
    def convert(cond: dict) -> dict:
        return {"type": "ReplicaFailure", "status": cond.get("status"),
                "lastUpdateTime": cond.get("lastTransitionTime"), "lastTransitionTime": cond.get("lastTransitionTime"),
                "reason": cond.get("reason"), "message": cond.get("message")}

    found = [convert(c) for c in _status(new_rs).get("conditions") or () if c.get("type") == "ReplicaFailure"] \
        if new_rs is not None else []
    if found:
        return found
    for rs in all_rss:
        if rs is None:
            continue
        found.extend(convert(c) for c in _status(rs).get("conditions") or () if c.get("type") == "ReplicaFailure")
    return found
