"""The garbage collector (upstream pkg/controller/garbagecollector) and the pod GC (pkg/controller/podgc).

What a real cluster does with ownerReferences and finalizers, level-based:

* An object whose owners are all gone (no object has the referenced uid) is deleted in the
  background, as `attemptToDeleteItem` does; if some owners still exist, only the dangling
  references are removed.
* An owner being deleted with the `foregroundDeletion` finalizer gets its dependents deleted first
  (dependents that have dependents of their own are deleted in the foreground too); when no
  dependent with `blockOwnerDeletion` is left, the finalizer is removed.
* An owner with the `orphan` finalizer loses its dependents' references to it, then the finalizer.
* An object with a deletionTimestamp and no finalizers left is removed, as the API server does once
  the last finalizer goes. Pods are the exception: a pod bound to a node is removed by its kubelet
  when it has stopped; only a pod never bound to a node goes at once. Namespaces are the namespace
  controller's.
* Pod GC: pods bound to a Node that does not exist are deleted after a 40 s quarantine, and
  terminating pods on a node tainted `node.kubernetes.io/out-of-service` are deleted at once.

`delete_object` is the API server's DELETE as the engine's controllers need it (graceful for pods
bound to a node, finalizers and propagation policy honoured); namespace and node use it too.
"""
from __future__ import annotations

from ..state import ClusterState, key_of, timestamp
from .podutil import is_terminal

FOREGROUND = "foregroundDeletion"   # metav1.FinalizerDeleteDependents
ORPHAN = "orphan"                   # metav1.FinalizerOrphanDependents
POD_GC_QUARANTINE = 40.0            # podgc quarantineTime: a missing node may just be re-registering
OUT_OF_SERVICE_TAINT = "node.kubernetes.io/out-of-service"
DEFAULT_GRACE = 30                  # core/v1 defaults: terminationGracePeriodSeconds


# ----------------------------------------------------------------- pods

def pod_grace_seconds(pod: dict) -> int:
    """The grace period a DELETE gives a pod (pod strategy CheckGracefulDelete): 0 for a pod that
    never reached a node or already finished, else spec.terminationGracePeriodSeconds (30)."""
    spec = pod.get("spec") or {}
    if not spec.get("nodeName") or is_terminal(pod):
        return 0
    grace = spec.get("terminationGracePeriodSeconds")
    try:
        return max(0, int(DEFAULT_GRACE if grace is None else grace))
    except (TypeError, ValueError):
        return DEFAULT_GRACE


# ----------------------------------------------------------------- the API server's DELETE

def delete_object(state: ClusterState, obj: dict, policy: str | None = None) -> bool:
    """Delete `obj` as a controller's DELETE request would: `policy` is the propagationPolicy
    ("Background" by default, "Foreground", "Orphan"). Objects with finalizers, foreground/orphan
    deletions and pods still running on a node only get their deletionTimestamp; the rest goes at
    once (its dependents are collected later, when their owner is found missing). Returns True if
    anything was written."""
    meta = obj["metadata"]
    if meta.get("deletionTimestamp"):
        return False
    finalizers = list(meta.get("finalizers") or [])
    if policy == "Foreground" and FOREGROUND not in finalizers:
        finalizers = [f for f in finalizers if f != ORPHAN] + [FOREGROUND]
    elif policy == "Orphan" and ORPHAN not in finalizers:
        finalizers = [f for f in finalizers if f != FOREGROUND] + [ORPHAN]
    grace = pod_grace_seconds(obj) if obj["kind"] == "Pod" else 0
    if not finalizers and not grace:
        state.delete(obj)
        return True
    if finalizers:
        meta["finalizers"] = finalizers
    meta["deletionTimestamp"] = timestamp(state.now + grace)
    meta["deletionGracePeriodSeconds"] = grace
    state.update(obj)
    return True


def _policy_of(obj: dict) -> str:
    """attemptToDeleteItem: an item keeps the propagation its own finalizers ask for."""
    finalizers = obj["metadata"].get("finalizers") or ()
    if FOREGROUND in finalizers:
        return "Foreground"
    if ORPHAN in finalizers:
        return "Orphan"
    return "Background"


def _remove_finalizer(state: ClusterState, obj: dict, finalizer: str) -> None:
    meta = obj["metadata"]
    remaining = [f for f in meta.get("finalizers") or () if f != finalizer]
    if remaining:
        meta["finalizers"] = remaining
    else:
        meta.pop("finalizers", None)
    state.update(obj)


def _drop_owner_refs(state: ClusterState, obj: dict, uids: set[str]) -> None:
    meta = obj["metadata"]
    kept = [r for r in meta.get("ownerReferences") or () if r.get("uid") not in uids]
    if kept:
        meta["ownerReferences"] = kept
    else:
        meta.pop("ownerReferences", None)
    state.update(obj)


def _alive(state: ClusterState, obj: dict) -> bool:
    meta = obj["metadata"]
    return state.get(obj["kind"], meta.get("namespace", ""), meta["name"]) is obj


def _owner(state: ClusterState, ref: dict, namespace: str) -> dict | None:
    """The owner a reference names, as the collector looks it up: by kind and name (in the dependent's
    namespace, or cluster-scoped), and only if its uid is the referenced one."""
    kind, name, uid = ref.get("kind", ""), ref.get("name", ""), ref.get("uid")
    for ns in ((namespace, "") if namespace else ("",)):
        owner = state.get(kind, ns, name)
        if owner is not None and owner["metadata"].get("uid") == uid:
            return owner
    return None


def _waiting_for_dependents(owner: dict) -> bool:
    meta = owner["metadata"]
    return bool(meta.get("deletionTimestamp")) and FOREGROUND in (meta.get("finalizers") or ())


# ----------------------------------------------------------------- the collector

def _collect_dependent(state: ClusterState, obj: dict, refs: list, owners: dict | None = None) -> None:
    """attemptToDeleteItem for an object that is not being deleted: classify its owners. `owners`
    caches the lookups of one pass while nothing was written (most dependents share an owner)."""
    solid = False
    gone: set[str] = set()
    waiting = False
    namespace = obj["metadata"].get("namespace", "")
    for ref in refs:
        uid = ref.get("uid", "")
        if owners is not None:
            cache_key = (ref.get("kind"), namespace, ref.get("name"), uid)
            if cache_key in owners:
                owner = owners[cache_key]
            else:
                owner = owners[cache_key] = _owner(state, ref, namespace)
        else:
            owner = _owner(state, ref, namespace)
        if owner is None:
            gone.add(uid)
        elif _waiting_for_dependents(owner):
            gone.add(uid)
            waiting = True
        else:
            solid = True
    if not gone:
        return
    if solid:
        # Some owner still stands: only the references to vanished (or foreground-deleting) owners go.
        _drop_owner_refs(state, obj, gone)
        return
    if waiting and state.owned_by(obj):
        delete_object(state, obj, "Foreground")
    else:
        delete_object(state, obj, _policy_of(obj))


def _process_deleting(state: ClusterState, obj: dict) -> None:
    meta = obj["metadata"]
    finalizers = meta.get("finalizers") or ()
    if ORPHAN in finalizers:
        uid = meta.get("uid", "")
        for dependent in state.owned_by(obj):
            _drop_owner_refs(state, dependent, {uid})
        _remove_finalizer(state, obj, ORPHAN)
    elif FOREGROUND in finalizers:
        uid = meta.get("uid", "")
        blocking = False
        for dependent in state.owned_by(obj):
            refs = dependent["metadata"].get("ownerReferences") or ()
            if not dependent["metadata"].get("deletionTimestamp"):
                _collect_dependent(state, dependent, list(refs))
            if _alive(state, dependent) and any(r.get("uid") == uid and r.get("blockOwnerDeletion")
                                                for r in dependent["metadata"].get("ownerReferences") or ()):
                blocking = True
        if blocking:
            return
        _remove_finalizer(state, obj, FOREGROUND)
    if meta.get("finalizers"):
        return
    kind = obj["kind"]
    if kind == "Namespace":
        return  # the namespace controller finalizes and removes namespaces
    if kind == "Pod" and (obj.get("spec") or {}).get("nodeName"):
        return  # its kubelet stops the containers and removes it (or pod GC, if its node is gone)
    state.delete(obj)


def _pod_gc(state: ClusterState, pod: dict, nodes: dict[str, dict]) -> None:
    node_name = (pod.get("spec") or {}).get("nodeName")
    if not node_name:
        return
    node = nodes.get(node_name)
    if node is None:
        # gcOrphaned: the pod's node is gone; after the quarantine it is force-deleted.
        notes = state.sim(pod)
        since = notes.get("orphaned_at")
        if since is None:
            notes["orphaned_at"] = since = state.now
        if state.now >= since + POD_GC_QUARANTINE:
            state.delete(pod)
        else:
            state.wake_at(since + POD_GC_QUARANTINE)
        return
    if pod["metadata"].get("deletionTimestamp"):
        # gcTerminating: pods stuck terminating on a node declared out of service are force-deleted.
        for taint in (node.get("spec") or {}).get("taints") or ():
            if taint.get("key") == OUT_OF_SERVICE_TAINT and taint.get("effect") in ("NoExecute", "NoSchedule"):
                ready = next((c for c in (node.get("status") or {}).get("conditions") or ()
                              if c.get("type") == "Ready"), None)
                if ready is None or ready.get("status") != "True":
                    state.delete(pod)
                return


def reconcile(state: ClusterState) -> None:
    nodes = {n["metadata"]["name"]: n for n in state.list("Node")}
    owners: dict = {}
    writes = state.writes
    for obj in _to_look_at(state):
        meta = obj["metadata"]
        deleting = meta.get("deletionTimestamp")
        refs = meta.get("ownerReferences")
        kind = obj["kind"]
        if not deleting and not refs and kind != "Pod":
            continue
        if state.writes != writes:  # something was written: earlier lookups may be stale
            owners.clear()
            writes = state.writes
            if not _alive(state, obj):
                continue  # removed earlier in this pass
        if kind == "Pod":
            if (obj.get("spec") or {}).get("nodeName"):
                _pod_gc(state, obj, nodes)
                if state.writes != writes and not _alive(state, obj):
                    continue
        if deleting:
            _process_deleting(state, obj)
        elif refs:
            _collect_dependent(state, obj, refs, owners)


def _to_look_at(state: ClusterState) -> list[dict]:
    """Every object, or when the loop narrowed this run to what changed since the last (the graph
    builder's events): the objects written, their owners (one in foreground deletion may be waiting for
    them), and for what was deleted or replaced, its owners and the dependents left pointing at it. A Node
    written (its pods' fate) means every object."""
    narrowed = state.narrowed_changes()
    if narrowed is None:
        return state.all_objects()
    keys, gone = narrowed
    if any(key[0] == "Node" for key in keys):
        return state.all_objects()
    found: dict = {}

    def add(obj: dict | None) -> None:
        if obj is not None:
            found.setdefault(key_of(obj), obj)

    def owners_of(obj: dict) -> None:
        for ref in obj["metadata"].get("ownerReferences") or ():
            add(state.by_uid(ref.get("uid", "")))

    for key in keys:
        obj = state.get(*key)
        if obj is not None:
            add(obj)
            owners_of(obj)
    for previous in gone:
        owners_of(previous)
        uid = previous["metadata"].get("uid", "")
        if uid and state.by_uid(uid) is None:
            for dependent in state.owned_by(previous):
                add(dependent)
    return [found[key] for key in sorted(found)]
