"""What the real `kubectl apply` (client-side) sends: the object with its last-applied annotation.

Shared by the editor's validation (a dry run of `kubectl apply -f`) and whatever creates objects as
kubectl apply would (a lesson's setup), so that a later `kubectl apply` of the same file computes its
three-way patch exactly as after the real one.
"""
from __future__ import annotations

import copy
import json
from typing import Any

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
KUBECTL_APPLY_MANAGER = "kubectl-client-side-apply"


def go_json(value: Any) -> str:
    """encoding/json.Marshal of an unstructured object: sorted keys, compact, HTML-safe escapes.

    kubectl stores exactly these bytes in the last-applied annotation, so the comparison with
    an object applied by the real kubectl is byte for byte.
    """
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def last_applied(obj: dict) -> str:
    """kubectl's GetModifiedConfiguration: the object without the annotation (annotations {} kept), + newline."""
    bare = copy.deepcopy(obj)
    meta = bare.setdefault("metadata", {})
    annotations = dict(meta.get("annotations") or {})
    annotations.pop(LAST_APPLIED, None)
    meta["annotations"] = annotations
    return go_json(bare) + "\n"


def annotated(obj: dict) -> dict:
    """The object kubectl apply sends: with its last-applied annotation."""
    modified = copy.deepcopy(obj)
    meta = modified.setdefault("metadata", {})
    annotations = dict(meta.get("annotations") or {})
    annotations[LAST_APPLIED] = last_applied(obj)
    meta["annotations"] = annotations
    return modified
