"""Small helpers about pods and controller references, shared by the workload controllers.

They follow upstream's k8s.io/kubernetes/pkg/api/v1/pod (IsPodReady, IsPodAvailable),
pkg/controller/controller_utils.go (IsPodActive, GetPodFromTemplate, ComputeHash,
ActivePodsWithRanks) and apimachinery's metav1.NewControllerRef / GetControllerOf, on
objects as plain dicts in their JSON shape.
"""
from __future__ import annotations

import functools
import hashlib
import json
import math
import struct
from typing import Any

from ..resources import Selector, normalized, selector_from_label_selector, selector_from_set
from ..state import ClusterState, parse_timestamp, timestamp

POD_TEMPLATE_HASH = "pod-template-hash"  # apps.DefaultDeploymentUniqueLabelKey
DELETION_COST = "controller.kubernetes.io/pod-deletion-cost"
_SAFE_ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"  # k8s.io/apimachinery/pkg/util/rand: no vowels, no 0/1/3


# ------------------------------------------------------------------ copying

def clone(value: Any) -> Any:
    """A deep copy of JSON-shaped data (dicts, lists, scalars): much faster than copy.deepcopy."""
    if isinstance(value, dict):
        return {k: clone(v) if isinstance(v, (dict, list)) else v for k, v in value.items()}
    if isinstance(value, list):
        return [clone(v) if isinstance(v, (dict, list)) else v for v in value]
    return value


# ------------------------------------------------------------------ pod state

def pod_condition(pod: dict, cond_type: str) -> dict | None:
    for cond in (pod.get("status") or {}).get("conditions") or ():
        if cond.get("type") == cond_type:
            return cond
    return None


def is_pod_ready(pod: dict) -> bool:
    """podutil.IsPodReady: the Ready condition is True."""
    cond = pod_condition(pod, "Ready")
    return cond is not None and cond.get("status") == "True"


def pod_ready_time(pod: dict) -> float | None:
    """When the pod last turned Ready (its Ready condition's lastTransitionTime), if it is ready."""
    cond = pod_condition(pod, "Ready")
    if cond is None or cond.get("status") != "True":
        return None
    return parse_timestamp(cond.get("lastTransitionTime"))


def is_pod_available(pod: dict, min_ready_seconds: int | float, now: float) -> bool:
    """podutil.IsPodAvailable: ready, and ready for more than minReadySeconds."""
    if not is_pod_ready(pod):
        return False
    if not min_ready_seconds:
        return True
    since = pod_ready_time(pod)
    return since is not None and since + min_ready_seconds < now


def available_at(pod: dict, min_ready_seconds: int | float) -> float | None:
    """When a ready pod becomes available (for wake-ups); None if it is not ready."""
    since = pod_ready_time(pod)
    if since is None:
        return None
    return since + (min_ready_seconds or 0)


def is_terminal(pod: dict) -> bool:
    """podutil.IsPodTerminal: phase Succeeded or Failed."""
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def is_active(pod: dict) -> bool:
    """controller.IsPodActive: not terminal and not being deleted."""
    return not is_terminal(pod) and not pod["metadata"].get("deletionTimestamp")


def is_terminating(pod: dict) -> bool:
    """controller.isPodTerminating: being deleted but not terminal yet."""
    return not is_terminal(pod) and bool(pod["metadata"].get("deletionTimestamp"))


def deletion_cost(pod: dict) -> int:
    """helper.GetDeletionCostFromPodAnnotations (an invalid value counts as 0)."""
    text = (pod["metadata"].get("annotations") or {}).get(DELETION_COST)
    if text is None:
        return 0
    try:
        value = int(text.strip()) if text.strip() == text else None
    except ValueError:
        return 0
    if value is None or not -2**31 <= value < 2**31:
        return 0
    return value


def max_container_restarts(pod: dict) -> tuple[int, int]:
    """(regular, sidecar) restart maxima, as upstream's maxContainerRestarts."""
    status = pod.get("status") or {}
    regular = max((int(c.get("restartCount") or 0) for c in status.get("containerStatuses") or ()), default=0)
    sidecars = {c.get("name") for c in (pod.get("spec") or {}).get("initContainers") or ()
                if c.get("restartPolicy") == "Always"}
    sidecar = max((int(c.get("restartCount") or 0) for c in status.get("initContainerStatuses") or ()
                   if c.get("name") in sidecars), default=0)
    return regular, sidecar


# ------------------------------------------------------------------ owner references

def controller_ref(obj: dict) -> dict | None:
    """metav1.GetControllerOf: the ownerReference with controller: true."""
    for ref in obj["metadata"].get("ownerReferences") or ():
        if ref.get("controller"):
            return ref
    return None


def new_controller_ref(owner: dict) -> dict:
    """metav1.NewControllerRef."""
    meta = owner["metadata"]
    return {"apiVersion": owner.get("apiVersion", "v1"), "kind": owner["kind"], "name": meta["name"],
            "uid": meta["uid"], "controller": True, "blockOwnerDeletion": True}


def is_controlled_by(obj: dict, owner: dict) -> bool:
    ref = controller_ref(obj)
    return ref is not None and ref.get("uid") == owner["metadata"]["uid"]


def adopt(state: ClusterState, obj: dict, owner: dict) -> None:
    """What the ControllerRefManager's adoption patch does: add owner as the controller."""
    refs = [r for r in obj["metadata"].get("ownerReferences") or () if r.get("uid") != owner["metadata"]["uid"]]
    refs.append(new_controller_ref(owner))
    obj["metadata"]["ownerReferences"] = refs
    state.update(obj)


def release(state: ClusterState, obj: dict, owner: dict) -> None:
    """What the ControllerRefManager's release patch does: drop owner's reference."""
    uid = owner["metadata"]["uid"]
    refs = [r for r in obj["metadata"].get("ownerReferences") or () if r.get("uid") != uid]
    if refs:
        obj["metadata"]["ownerReferences"] = refs
    else:
        obj["metadata"].pop("ownerReferences", None)
    state.update(obj)


def claim(state: ClusterState, owner: dict, candidates: list[dict], matches) -> list[dict]:
    """BaseControllerRefManager.ClaimObject over candidates: keep what owner controls and still
    matches, release what it controls but no longer matches, adopt matching orphans.

    `candidates` must hold the objects owner controls plus the orphans worth considering."""
    owner_uid = owner["metadata"]["uid"]
    owner_deleting = bool(owner["metadata"].get("deletionTimestamp"))
    claimed: list[dict] = []
    for obj in candidates:
        ref = controller_ref(obj)
        if ref is not None:
            if ref.get("uid") != owner_uid:
                continue
            if matches(obj):
                claimed.append(obj)
            elif not owner_deleting:
                release(state, obj, owner)
            continue
        if owner_deleting or not matches(obj) or obj["metadata"].get("deletionTimestamp"):
            continue
        if obj["metadata"].get("namespace", "") != owner["metadata"].get("namespace", ""):
            continue
        adopt(state, obj, owner)
        claimed.append(obj)
    return claimed


# ------------------------------------------------------------------ memos across states

SETTLED = "settled"  # in a controller's notes: [digest of its inputs, simulated time] of a sync that did nothing


def inputs_digest(state: ClusterState, objects: list[dict]) -> str | None:
    """A digest of objects as this step found them (uid, resourceVersion and state.fingerprint each), or
    None when one of them was written in this step. Stable across processes, so it can be kept in notes."""
    parts = []
    for obj in objects:
        checksum = state.fingerprint(obj)
        if checksum is None:
            return None
        meta = obj["metadata"]
        parts.append((meta.get("uid"), meta.get("resourceVersion"), checksum))
    return hashlib.blake2b(repr(parts).encode(), digest_size=16).hexdigest()


def is_settled(state: ClusterState, obj: dict, digest: str | None) -> bool:
    """Whether obj's last sync that did nothing saw these very inputs, at this simulated time or before."""
    memo = state.sim(obj).get(SETTLED)
    return digest is not None and memo is not None and memo[0] == digest and memo[1] <= state.now


def run_and_note(state: ClusterState, obj: dict, digest: str | None, sync) -> None:
    """Run sync(); when it wrote nothing and asked for no wake-up, note that these inputs need nothing
    (is_settled), else forget any such note. For syncs that ask for a wake-up whenever their outcome
    depends on the time (the Deployment's progress deadline, the ReplicaSet's minReadySeconds): one that
    asks for none and writes nothing does the same at any later time, as long as its inputs are unchanged.
    The caller's digest must cover every object the sync reads, besides what it checks before skipping."""
    earlier = state.next_wake
    state.reset_wake()
    writes = state.writes
    sync()
    requested = state.next_wake
    state.reset_wake()
    state.wake_at(earlier)
    state.wake_at(requested)
    notes = state.sim(obj)
    if digest is not None and state.writes == writes and requested is None:
        if notes.get(SETTLED) != [digest, state.now] and not is_settled(state, obj, digest):
            notes[SETTLED] = [digest, state.now]
    elif SETTLED in notes:
        del notes[SETTLED]


_SELECTORS: dict[str, Selector] = {}


def label_selector(selector: dict | None, *, plain_map: bool = False) -> Selector:
    """A (cached) Selector for a LabelSelector object, or for a plain map (ReplicationController)."""
    key = ("m" if plain_map else "s") + json.dumps(selector, sort_keys=True, separators=(",", ":"))
    found = _SELECTORS.get(key)
    if found is None:
        if len(_SELECTORS) > 4096:
            _SELECTORS.clear()
        found = selector_from_set(selector) if plain_map else selector_from_label_selector(selector)
        _SELECTORS[key] = found
    return found


# ------------------------------------------------------------------ pods from templates

def pod_from_template(template: dict, owner: dict, generate_name: str) -> dict:
    """controller.GetPodFromTemplate: a new Pod for owner from its PodTemplateSpec.

    Labels, annotations and finalizers come from the template's metadata, the spec is a copy,
    and the owner is the pod's controller (blockOwnerDeletion as upstream)."""
    template_meta = template.get("metadata") or {}
    meta: dict[str, Any] = {"generateName": generate_name, "namespace": owner["metadata"].get("namespace", "")}
    if template_meta.get("labels"):
        meta["labels"] = dict(template_meta["labels"])
    if template_meta.get("annotations"):
        meta["annotations"] = dict(template_meta["annotations"])
    if template_meta.get("finalizers"):
        meta["finalizers"] = list(template_meta["finalizers"])
    meta["ownerReferences"] = [new_controller_ref(owner)]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": clone(template.get("spec") or {})}


def pods_prefix(controller_name: str) -> str:
    """controller's getPodsPrefix: `<name>-` unless that is not a valid generateName."""
    prefix = controller_name + "-"
    return prefix if len(prefix) <= 253 else controller_name


def delete_pod(state: ClusterState, pod: dict) -> None:
    """Delete a pod as a controller's DELETE does through the API server: a pod that a kubelet
    runs (bound, not finished) is marked for graceful deletion and shown as Terminating until
    the kubelet is done; any other pod (or one with finalizers, marked only) goes at once."""
    meta = pod["metadata"]
    if meta.get("deletionTimestamp"):
        return
    grace = 0
    if (pod.get("spec") or {}).get("nodeName") and not is_terminal(pod):
        grace = (pod.get("spec") or {}).get("terminationGracePeriodSeconds", 30)
        try:
            grace = max(0, int(grace))
        except (TypeError, ValueError):
            grace = 30
    if grace or meta.get("finalizers"):
        meta["deletionTimestamp"] = timestamp(state.now + grace)
        meta["deletionGracePeriodSeconds"] = grace
        state.update(pod)
        return
    state.delete(pod)


# ------------------------------------------------------------------ template hash

def _fnv32a(data: bytes, h: int = 0x811C9DC5) -> int:
    for byte in data:
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return h


def safe_encode_string(text: str) -> str:
    """rand.SafeEncodeString: each character mapped onto an alphabet without vowels or 0/1/3."""
    return "".join(_SAFE_ALPHANUMS[ord(ch) % len(_SAFE_ALPHANUMS)] for ch in text)


def compute_hash(template: dict, collision_count: int | None = None) -> str:
    """controller.ComputeHash: fnv32a over the template, then collisionCount's little-endian bytes,
    its decimal Sum32 encoded with SafeEncodeString (so values look like '7d9c6f8b7c').

    Upstream feeds the hasher with spew's dump of the Go struct; we feed it the canonical JSON of
    the template (sorted keys, empty values dropped): stable, and different templates differ."""
    data = json.dumps(normalized(template), sort_keys=True, separators=(",", ":")).encode()
    h = _fnv32a(data)
    if collision_count is not None:
        h = _fnv32a(struct.pack("<I", int(collision_count) & 0xFFFFFFFF) + b"\0\0\0\0", h)
    return safe_encode_string(str(h))


def without_hash_label(template: dict) -> dict:
    """A shallow view of template whose labels lack pod-template-hash."""
    meta = template.get("metadata") or {}
    labels = meta.get("labels") or {}
    if POD_TEMPLATE_HASH not in labels:
        return template
    labels = {k: v for k, v in labels.items() if k != POD_TEMPLATE_HASH}
    return {**template, "metadata": {**meta, "labels": labels}}


def equal_ignore_hash(template1: dict | None, template2: dict | None) -> bool:
    """deploymentutil.EqualIgnoreHash: semantically equal once pod-template-hash labels are removed."""
    t1, t2 = without_hash_label(template1 or {}), without_hash_label(template2 or {})
    if t1 == t2:
        return True
    return normalized(t1) == normalized(t2)


# ------------------------------------------------------------------ deletion order

_PHASE_ORDINAL = {"Pending": 0, "Unknown": 1, "Running": 2}  # any other phase: 0, as a Go map lookup


def _log2_age(t: float, now: float) -> int:
    """A term of upstream's logarithmicRankDiff: int64(log2(age in ns)), -1 for no age."""
    age_ns = (now - t) * 1e9
    return int(math.log2(age_ns)) if age_ns > 0 else -1


def _after_or_zero(t1: float | None, t2: float | None) -> bool:
    if t1 is None or t2 is None:
        return t1 is None
    return t1 > t2


def _time_less(t1: float | None, t2: float | None, uid1: str, uid2: str, now: float) -> bool:
    """The LogarithmicScaleDown comparison of two different times (younger first, buckets of
    log2 age, uid order within a bucket)."""
    if t1 is None or t2 is None:
        return _after_or_zero(t1, t2)
    diff = _log2_age(t1, now) - _log2_age(t2, now)
    if diff == 0:
        return uid1 < uid2
    return diff < 0


class _Ranked:
    """One pod's facts for controller.ActivePodsWithRanks.Less, read once."""
    __slots__ = ("pod", "assigned", "phase", "ready", "ready_time", "cost", "rank", "restarts", "created", "uid")

    def __init__(self, pod: dict, rank: int) -> None:
        self.pod = pod
        self.assigned = bool((pod.get("spec") or {}).get("nodeName"))
        self.phase = _PHASE_ORDINAL.get((pod.get("status") or {}).get("phase"), 0)
        self.ready = is_pod_ready(pod)
        self.ready_time = pod_ready_time(pod) if self.ready else None
        self.cost = deletion_cost(pod)
        self.rank = rank
        self.restarts = max_container_restarts(pod)
        self.created = parse_timestamp(pod["metadata"].get("creationTimestamp"))
        self.uid = pod["metadata"].get("uid", "")


def _less(a: _Ranked, b: _Ranked, now: float) -> bool:
    """controller.ActivePodsWithRanks.Less with PodDeletionCost and LogarithmicScaleDown on (1.37)."""
    if a.assigned != b.assigned:                                   # 1. unassigned < assigned
        return not a.assigned
    if a.phase != b.phase:                                         # 2. Pending < Unknown < Running
        return a.phase < b.phase
    if a.ready != b.ready:                                         # 3. not ready < ready
        return not a.ready
    if a.cost != b.cost:                                           # 4. lower pod-deletion-cost first
        return a.cost < b.cost
    if a.rank != b.rank:                                           # 5. doubled up < not doubled up
        return a.rank > b.rank
    if a.ready and b.ready and a.ready_time != b.ready_time:       # 6. ready for less time first
        return _time_less(a.ready_time, b.ready_time, a.uid, b.uid, now)
    if a.restarts[0] != b.restarts[0]:                             # 7. more restarts first
        return a.restarts[0] > b.restarts[0]
    if a.restarts[1] != b.restarts[1]:
        return a.restarts[1] > b.restarts[1]
    if a.created != b.created:                                     # 8. newer first
        return _time_less(a.created, b.created, a.uid, b.uid, now)
    return False


def rank_pods_for_deletion(pods: list[dict], ranks: list[int], now: float) -> list[dict]:
    """pods sorted as sort.Sort(ActivePodsWithRanks) would: the ones to delete first come first."""
    items = [_Ranked(p, r) for p, r in zip(pods, ranks)]

    def compare(a: _Ranked, b: _Ranked) -> int:
        if _less(a, b, now):
            return -1
        if _less(b, a, now):
            return 1
        return 0

    items.sort(key=functools.cmp_to_key(compare))
    return [item.pod for item in items]


# ------------------------------------------------------------------ refused creates

CREATE_BACKOFF = "createBackoff"  # in a controller's notes: [retry at, failures so far, inputs when refused]
CREATE_BACKOFF_BASE = 0.005       # workqueue.DefaultControllerRateLimiter: 5 ms doubling per failure…
CREATE_BACKOFF_MAX = 1000.0       # …up to 1000 s


def may_create(state: ClusterState, owner: dict, inputs: Any) -> bool:
    """Whether a controller whose last create was refused (an admission plugin said Forbidden: a quota, a
    LimitRange) may try again now: once its rate-limited requeue is due, or at once when `inputs` (what
    the controller watches of its own pods, e.g. their number) changed, as a pod event requeues it
    upstream. Otherwise it asks to be woken when the retry is due."""
    note = state.sim(owner).get(CREATE_BACKOFF) if owner["metadata"].get("uid") else None
    if note is None or state.now >= note[0] - 1e-9 or note[2] != inputs:
        return True
    state.wake_at(note[0])
    return False


def create_refused(state: ClusterState, owner: dict, inputs: Any) -> None:
    """Note a refused create: the next try waits 5 ms, 10 ms, 20 ms, … (at most 1000 s)."""
    notes = state.sim(owner)
    failures = (notes.get(CREATE_BACKOFF) or [0, 0, None])[1] + 1
    retry = state.now + min(CREATE_BACKOFF_BASE * 2 ** min(failures - 1, 40), CREATE_BACKOFF_MAX)
    notes[CREATE_BACKOFF] = [retry, failures, inputs]
    state.wake_at(retry)


def create_succeeded(state: ClusterState, owner: dict) -> None:
    """A create went through: the rate limiter forgets the controller (upstream's queue.Forget)."""
    if owner["metadata"].get("uid") and CREATE_BACKOFF in state.sim(owner):
        del state.sim(owner)[CREATE_BACKOFF]
