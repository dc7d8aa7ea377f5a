"""ControllerRevisions: the template history of StatefulSets and DaemonSets (upstream pkg/controller/history).

A workload's history is a list of ControllerRevision objects it controls, each holding `data`,
a strategic-merge patch that puts the pod template back (`{"spec":{"template":{...,"$patch":"replace"}}}`),
and a `revision` number. `kubectl rollout history` lists them and `kubectl rollout undo` applies one.

* StatefulSet (history.NewControllerRevision): name `<set>-<hash>` where hash is FNV-32 of the data
  bytes plus the collision count, SafeEncodeString'ed; labels = template labels +
  `controller.kubernetes.io/hash`; pods carry `controller-revision-hash: <revision name>`.
* DaemonSet (daemon/update.go snapshot): name `<ds>-<ComputeHash(template, collisionCount)>`, labels =
  template labels + `controller-revision-hash: <hash>`; pods carry the same hash.

The data bytes are what Go's json.Marshal makes of a map: keys sorted, compact, `<>&` escaped; so a
revision made here hashes like the one a real controller makes from the same stored template.

Also here: what both workload controllers need beyond podutil: the node affinity and taint checks
of NodeShouldRunDaemonPod and intstr's scaled values.
"""
from __future__ import annotations

import json
from typing import Any

from ..state import ClusterState
from .podutil import claim, controller_ref, label_selector, new_controller_ref

CONTROLLER_REVISION_HASH_LABEL = "controller-revision-hash"   # apps.ControllerRevisionHashLabelKey
HISTORY_HASH_LABEL = "controller.kubernetes.io/hash"          # history.ControllerRevisionHashLabel
_ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"                    # util/rand SafeEncodeString


# --------------------------------------------------------------------------- hashing

def go_json(obj: Any) -> str:
    """json.Marshal of a map[string]interface{}: sorted keys, no spaces, HTML-safe escapes."""
    text = json.dumps(obj, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def fnv32(data: bytes, h: int = 0x811C9DC5) -> int:
    """hash/fnv New32 (FNV-1)."""
    for byte in data:
        h = (h * 0x01000193) & 0xFFFFFFFF
        h ^= byte
    return h


def fnv32a(data: bytes, h: int = 0x811C9DC5) -> int:
    """hash/fnv New32a (FNV-1a)."""
    for byte in data:
        h ^= byte
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def safe_encode(text: str) -> str:
    return "".join(_ALPHANUMS[ord(c) % len(_ALPHANUMS)] for c in text)


def hash_revision_data(data: str, probe: int | None) -> str:
    """history.HashControllerRevision: FNV-32 of the data bytes, then the probe's decimal text."""
    h = fnv32(data.encode())
    if probe is not None:
        h = fnv32(str(probe).encode(), h)
    return safe_encode(str(h))


# --------------------------------------------------------------------------- revisions

def template_patch(workload: dict) -> str:
    """getPatch: the raw revision data that replaces spec.template."""
    template = dict((workload.get("spec") or {}).get("template") or {})
    template["$patch"] = "replace"
    return go_json({"spec": {"template": template}})


def revision_template(revision: dict) -> dict | None:
    """The pod template a revision restores (ApplyRevision, for the part we store)."""
    data = revision.get("data")
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except ValueError:
            return None
    template = ((data or {}).get("spec") or {}).get("template")
    if not isinstance(template, dict):
        return None
    return {k: v for k, v in template.items() if k != "$patch"}


def revision_data_text(revision: dict) -> str:
    data = revision.get("data")
    if isinstance(data, str):
        return data
    return go_json(data)


def list_revisions(state: ClusterState, owner: dict) -> list[dict]:
    """ControllerRevisions controlled by owner, sorted by revision number (SortControllerRevisions is
    stable; ties keep name order). Orphans matching the selector are adopted and controlled ones that
    no longer match are released (ClaimControllerRevisions)."""
    namespace = owner["metadata"].get("namespace", "")
    selector = label_selector((owner.get("spec") or {}).get("selector"))
    if selector.empty():
        return []
    candidates = state.owned_by(owner, "ControllerRevision")
    owned = {id(r) for r in candidates}
    candidates += [r for r in state.list("ControllerRevision", namespace)
                   if id(r) not in owned and controller_ref(r) is None]
    found = claim(state, owner, candidates, lambda r: selector.matches(r["metadata"].get("labels") or {}))
    found.sort(key=lambda r: int(r.get("revision") or 0))
    return found


def new_revision(owner: dict, template_labels: dict | None, data: str, revision: int,
                 collision_count: int | None, *, name: str | None = None,
                 hash_label: tuple[str, str] | None = None) -> dict:
    """history.NewControllerRevision (name and hash label computed unless given, as DaemonSets do)."""
    labels = dict(template_labels or {})
    if name is None:
        digest = hash_revision_data(data, collision_count)
        name = f"{owner['metadata']['name'][:223]}-{digest}"
        labels[HISTORY_HASH_LABEL] = digest
    if hash_label is not None:
        labels[hash_label[0]] = hash_label[1]
    meta: dict = {"name": name, "namespace": owner["metadata"].get("namespace", ""), "labels": labels,
                  "ownerReferences": [new_controller_ref(owner)]}
    annotations = owner["metadata"].get("annotations")
    if annotations:  # copied whole, as upstream does (change-cause shows in `kubectl rollout history`)
        meta["annotations"] = dict(annotations)
    return {"apiVersion": "apps/v1", "kind": "ControllerRevision", "metadata": meta,
            "data": json.loads(data), "revision": int(revision)}


def equal_revision(a: dict | None, b: dict | None) -> bool:
    if a is None or b is None:
        return a is b
    return revision_data_text(a) == revision_data_text(b)


def find_equal_revisions(revisions: list[dict], data: str) -> list[dict]:
    return [r for r in revisions if revision_data_text(r) == data]


def next_revision(revisions: list[dict]) -> int:
    return int(revisions[-1].get("revision") or 0) + 1 if revisions else 1


def create_revision(state: ClusterState, owner: dict, template_labels: dict | None, data: str,
                    revision: int, collision_count: int) -> tuple[dict, int]:
    """history.CreateControllerRevision: on a name clash with different data, bump the collision count
    and try the next name. Returns (the revision, the collision count used)."""
    namespace = owner["metadata"].get("namespace", "")
    while True:
        candidate = new_revision(owner, template_labels, data, revision, collision_count)
        existing = state.get("ControllerRevision", namespace, candidate["metadata"]["name"])
        if existing is None:
            return state.create(candidate), collision_count
        if revision_data_text(existing) == data:
            return existing, collision_count
        collision_count += 1


def set_revision_number(state: ClusterState, revision: dict, number: int) -> dict:
    if int(revision.get("revision") or 0) != number:
        revision["revision"] = number
        state.update(revision)
    return revision


def scaled_value(value: Any, total: int, round_up: bool) -> int:
    """intstr.GetScaledValueFromIntOrPercent."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    text = str(value)
    if text.endswith("%"):
        try:
            percent = int(text[:-1])
        except ValueError:
            return 0
        scaled = percent * total
        return -(-scaled // 100) if round_up else scaled // 100
    try:
        return int(text)
    except ValueError:
        return 0
