"""Where a pod may run: taints and tolerations, node selectors and required node affinity.

One implementation of the rules the scheduler, the DaemonSet controller and the
node lifecycle controller all apply (upstream: v1.Toleration.ToleratesTaint,
v1helper.FindMatchingUntoleratedTaint, component-helpers' nodeaffinity).
"""
from __future__ import annotations


def tolerates(toleration: dict, taint: dict) -> bool:
    """v1.Toleration.ToleratesTaint."""
    effect = toleration.get("effect") or ""
    if effect and effect != taint.get("effect"):
        return False
    key = toleration.get("key") or ""
    if key and key != taint.get("key"):
        return False
    operator = toleration.get("operator") or "Equal"
    if operator == "Exists":
        return True
    if operator == "Equal":
        return (toleration.get("value") or "") == (taint.get("value") or "")
    return False


def tolerated_by(tolerations: list[dict] | None, taint: dict) -> bool:
    """Some toleration of the pod tolerates the taint."""
    return any(tolerates(t, taint) for t in tolerations or ())


def untolerated_taint(taints: list[dict] | None, tolerations: list[dict] | None,
                      effects: tuple[str, ...]) -> dict | None:
    """v1helper.FindMatchingUntoleratedTaint for taints with one of `effects`."""
    for taint in taints or ():
        if taint.get("effect") in effects and not tolerated_by(tolerations, taint):
            return taint
    return None


def requirement_matches(requirement: dict, values_by_key: dict) -> bool:
    """A NodeSelectorRequirement (In, NotIn, Exists, DoesNotExist, Gt, Lt) against labels or fields."""
    key = requirement.get("key", "")
    op = requirement.get("operator")
    values = requirement.get("values") or []
    present = key in values_by_key
    value = values_by_key.get(key)
    if op == "In":
        return present and value in values
    if op == "NotIn":
        return not present or value not in values
    if op == "Exists":
        return present
    if op == "DoesNotExist":
        return not present
    if op in ("Gt", "Lt"):
        if not present or len(values) != 1:
            return False
        try:
            have, want = int(value), int(values[0])
        except (TypeError, ValueError):
            return False
        return have > want if op == "Gt" else have < want
    return False


def node_selector_term_matches(term: dict, labels: dict, name: str) -> bool:
    """A NodeSelectorTerm: its label expressions and field (metadata.name) requirements ANDed; an empty
    term matches nothing."""
    expressions = term.get("matchExpressions") or []
    fields = term.get("matchFields") or []
    if not expressions and not fields:
        return False
    if not all(requirement_matches(e, labels) for e in expressions):
        return False
    node_fields = {"metadata.name": name}
    return all(f.get("key") == "metadata.name" and f.get("operator") in ("In", "NotIn")
               and requirement_matches(f, node_fields) for f in fields)


def required_node_affinity_matches(pod_spec: dict, node: dict) -> bool:
    """nodeaffinity.GetRequiredNodeAffinity(pod).Match(node): nodeSelector AND required affinity terms (ORed)."""
    labels = node["metadata"].get("labels") or {}
    for key, value in (pod_spec.get("nodeSelector") or {}).items():
        if labels.get(key) != value:
            return False
    required = (((pod_spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution"))
    if required is None:
        return True
    name = node["metadata"]["name"]
    return any(node_selector_term_matches(term, labels, name) for term in required.get("nodeSelectorTerms") or [])
