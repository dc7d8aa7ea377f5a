"""The check kinds of a lesson step (lessons/README.md, "Check kinds"), on a snapshot of the cluster.

Pure: a `Snapshot` holds the cluster's objects by kind (as the API serves them), the terminal commands
of the step, and two readers for what is not in the objects — the network model's answer to requests
and a file in a container — which the caller supplies (lessons/progress.py, from the cluster's engine
state). `parse` validates a check as written in a step file (CheckError says what is wrong);
`evaluate` says whether it holds and, when not, why in plain words.
"""
from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from clusters.apiserver.tables import pod_status_reason
from clusters.engine.resources import parse_label_selector, parse_quantity

TRAFFIC_REQUESTS = 30

# Kinds whose objects live in a namespace (the others are cluster-scoped).
CLUSTER_SCOPED = {"Node", "Namespace", "PersistentVolume", "StorageClass", "ClusterRole", "ClusterRoleBinding",
                  "IngressClass", "PriorityClass", "CustomResourceDefinition", "RuntimeClass", "CSIDriver",
                  "APIService", "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"}

COUNT_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq, "!=": operator.ne, ">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt}
FIELD_OPS = (*COUNT_OPS, "matches", "contains", "exists", "absent")
POD_PHASES = ("Running", "Pending", "Succeeded", "Failed")


class CheckError(ValueError):
    """A check as written is wrong (unknown kind, missing or unknown field, bad selector or pattern)."""


@dataclass(frozen=True)
class Check:
    kind: str
    spec: dict = field(hash=False)
    text: str

    def __hash__(self) -> int:
        return hash((self.kind, self.text))


@dataclass(frozen=True)
class Result:
    ok: bool
    reason: str = ""


@dataclass
class Snapshot:
    """What the checks look at. `objects`: kind → the objects of that kind."""
    objects: dict[str, list[dict]]
    commands: tuple[str, ...] = ()
    # (namespace, service, from_outside, path, requests) → {pod name: answers}, or a failure text (str)
    traffic: Callable[[str, str, bool, str, int], dict[str, int] | str] | None = None
    # (namespace, pod, container or None, path) → the file's text, or None when there is no such file
    read_file: Callable[[str, str, str | None, str], str | None] | None = None

    @classmethod
    def of(cls, objects: Iterable[tuple[str, dict]], **kwargs) -> Snapshot:
        by_kind: dict[str, list[dict]] = {}
        for kind, obj in objects:
            by_kind.setdefault(kind, []).append(obj)
        return cls(by_kind, **kwargs)


# ------------------------------------------------------------------------------------ parsing

# kind → (required fields, optional fields)
FIELDS: dict[str, tuple[set[str], set[str]]] = {
    "exists": ({"kind"}, {"name", "selector", "namespace"}),
    "gone": ({"kind", "name"}, {"namespace"}),
    "count": ({"kind", "count"}, {"selector", "namespace", "op"}),
    "field": ({"kind", "name", "path"}, {"namespace", "op", "value"}),
    "pods": ({"selector"}, {"namespace", "state", "count", "op", "distinct_nodes", "node"}),
    "event": ({"reason"}, {"kind", "name", "namespace", "type"}),
    "rollout": ({"deployment", "revisions"}, {"namespace", "op"}),
    "endpoints": ({"service", "count"}, {"namespace", "op"}),
    "command": ({"matches"}, set()),
    "traffic": ({"service"}, {"namespace", "distinct_pods", "op", "from_outside", "path"}),
    "file": ({"path"}, {"pod", "selector", "container", "namespace", "contains"}),
}
_PATH_TOKEN = re.compile(r'\.?([A-Za-z_$][\w$-]*)|\[(\d+)\]|\[([\w.-]+)=([^\]]+)\]|\["([^"]+)"\]')


def parse_path(path: str) -> list:
    """`a.b[0].c[name=web]["x/y"]` → ["a", "b", 0, "c", ("name", "web"), "x/y"]."""
    out: list = []
    pos = 0
    while pos < len(path):
        match = _PATH_TOKEN.match(path, pos)
        if match is None or (pos == 0 and path.startswith(".")):
            raise CheckError(f'path "{path}": cannot read it at "{path[pos:]}"')
        name, index, key, value, quoted = match.groups()
        out.append(name if name is not None else int(index) if index is not None else
                   (key, value) if key is not None else quoted)
        pos = match.end()
    if not out:
        raise CheckError("path is empty")
    return out


def _spec_text(spec: dict, key: str, *, required: bool = True) -> None:
    value = spec.get(key)
    if value is None and not required:
        return
    if not isinstance(value, str) or not value:
        raise CheckError(f"{key} must be a non-empty text")


def _count(spec: dict, key: str) -> None:
    value = spec.get(key)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise CheckError(f"{key} must be a whole number, 0 or more")


def parse(raw: Any) -> Check:
    """A check as written in a step's front matter: `{<kind>: {...}, text: "..."}`."""
    if not isinstance(raw, dict):
        raise CheckError("a check is a mapping: {<kind>: {...}}")
    kinds = [k for k in raw if k != "text"]
    unknown = [k for k in kinds if k not in FIELDS]
    if unknown:
        raise CheckError(f'unknown check kind "{unknown[0]}" (known: {", ".join(FIELDS)})')
    if len(kinds) != 1:
        raise CheckError("a check has exactly one kind (" + ", ".join(FIELDS) + ")")
    kind = kinds[0]
    spec = raw[kind]
    if not isinstance(spec, dict):
        raise CheckError(f"{kind}: its fields are a mapping")
    required, optional = FIELDS[kind]
    for key in spec:
        if key not in required | optional:
            raise CheckError(f'{kind}: unknown field "{key}" (known: {", ".join(sorted(required | optional))})')
    for key in sorted(required - set(spec)):
        raise CheckError(f'{kind}: needs "{key}"')
    for key in ("kind", "name", "namespace", "deployment", "service", "reason", "type", "container", "pod",
                "node", "state"):
        if key in spec:
            _spec_text(spec, key)
    for key in ("count", "revisions", "distinct_pods"):
        _count(spec, key)
    op = spec.get("op")
    if op is not None and op not in (FIELD_OPS if kind == "field" else COUNT_OPS):
        raise CheckError(f'{kind}: op "{op}" is not one of {", ".join(FIELD_OPS if kind == "field" else COUNT_OPS)}')
    if "selector" in spec:
        _spec_text(spec, "selector")
        try:
            parse_label_selector(spec["selector"])
        except ValueError as error:
            raise CheckError(f'{kind}: selector "{spec["selector"]}": {error}') from None
    for key in ("matches",):
        if key in spec:
            _spec_text(spec, key)
            try:
                re.compile(spec[key])
            except re.error as error:
                raise CheckError(f'{kind}: "{spec[key]}" is not a regular expression: {error}') from None
    if kind == "field":
        _spec_text(spec, "path")
        parse_path(spec["path"])
        op = spec.get("op", "==")
        if op not in ("exists", "absent") and "value" not in spec:
            raise CheckError(f'field: op "{op}" needs a value')
        if op == "matches":
            try:
                re.compile(str(spec["value"]))
            except re.error as error:
                raise CheckError(f'field: "{spec["value"]}" is not a regular expression: {error}') from None
    if kind == "file":
        _spec_text(spec, "path")
        if not spec["path"].startswith("/"):
            raise CheckError("file: path is absolute (/data/hello.txt)")
        if ("pod" in spec) == ("selector" in spec):
            raise CheckError("file: name a pod or give a selector (one of them)")
    if kind == "exists" and "name" in spec and "selector" in spec:
        raise CheckError("exists: a name or a selector, not both")
    for key in ("distinct_nodes", "from_outside"):
        value = spec.get(key)
        if value is not None and not isinstance(value, bool) and not (key == "distinct_nodes" and
                                                                        isinstance(value, int) and value > 0):
            raise CheckError(f"{kind}: {key} must be true or false")
    if kind == "pods" and "state" in spec and spec["state"] not in (*POD_PHASES, "Ready") \
            and not re.fullmatch(r"[A-Z][A-Za-z:/0-9]*", spec["state"]):
        raise CheckError(f'pods: state "{spec["state"]}" is a phase, Ready, or a STATUS reason')
    if kind == "traffic" and "path" in spec:
        _spec_text(spec, "path")
    text = raw.get("text")
    if text is not None and (not isinstance(text, str) or not text.strip()):
        raise CheckError("text must be a non-empty text")
    return Check(kind, dict(spec), (text or describe(kind, spec)).strip())


# ------------------------------------------------------------------------------ descriptions

def _ns(spec: dict, kind: str = "") -> str:
    namespace = spec.get("namespace")
    if kind in CLUSTER_SCOPED:
        return ""
    if namespace == "*":
        return " in any namespace"
    return f" in namespace {namespace}" if namespace and namespace != "default" else ""


def _op_words(op: str, value: Any) -> str:
    return {"==": f"{value}", "!=": f"not {value}", ">=": f"at least {value}", "<=": f"at most {value}",
            ">": f"more than {value}", "<": f"fewer than {value}"}[op]


def describe(kind: str, spec: dict) -> str:
    """The checklist's line for a check that has no `text`."""
    k = spec.get("kind", "")
    if kind == "exists":
        if "selector" in spec:
            return f"A {k} matching {spec['selector']} exists{_ns(spec, k)}"
        return f"{k} {spec['name']} exists{_ns(spec, k)}" if "name" in spec else f"A {k} exists{_ns(spec, k)}"
    if kind == "gone":
        return f"{k} {spec['name']} is gone{_ns(spec, k)}"
    if kind == "count":
        which = f" matching {spec['selector']}" if spec.get("selector") else ""
        return f"{_op_words(spec.get('op', '=='), spec['count']).capitalize()} {k}{which}{_ns(spec, k)}"
    if kind == "field":
        op = spec.get("op", "==")
        tail = {"exists": "is set", "absent": "is not set", "matches": f"matches {spec.get('value')}",
                "contains": f"contains {spec.get('value')}"}.get(op) or f"{op} {spec.get('value')}"
        return f"{k} {spec['name']}: {spec['path']} {tail}"
    if kind == "pods":
        count = spec.get("count")
        amount = _op_words(spec.get("op", ">="), count) if count is not None else "All"
        nodes = " on different nodes" if spec.get("distinct_nodes") else ""
        where = f" on {spec['node']}" if spec.get("node") else ""
        return (f"{amount.capitalize() if count is not None else amount} pod{'s' if count != 1 else ''} matching "
                f"{spec['selector']} {state_words(spec.get('state', 'Running'), count == 1)}{where}{nodes}{_ns(spec)}")
    if kind == "event":
        about = f" for {spec.get('kind', 'an object')} {spec['name']}" if spec.get("name") else ""
        return f"An event {spec['reason']} was reported{about}"
    if kind == "rollout":
        return (f"Deployment {spec['deployment']} has {_op_words(spec.get('op', '=='), spec['revisions'])} "
                f"revision{'s' if spec['revisions'] != 1 else ''} in its rollout history")
    if kind == "endpoints":
        return (f"Service {spec['service']} has {_op_words(spec.get('op', '=='), spec['count'])} ready "
                f"endpoint{'s' if spec['count'] != 1 else ''}")
    if kind == "command":
        return f"You ran a command matching {spec['matches']} successfully"
    if kind == "traffic":
        pods = spec.get("distinct_pods", 1)
        where = " from outside the cluster" if spec.get("from_outside") else ""
        return (f"Requests to Service {spec['service']}{where} are answered by "
                f"{_op_words(spec.get('op', '>='), pods)} pod{'s' if pods != 1 else ''}")
    if kind == "file":
        where = spec.get("pod") or f"a pod matching {spec.get('selector')}"
        has = f" containing {spec['contains']!r}" if spec.get("contains") else ""
        return f"{spec['path']} exists in {where}{has}"
    raise CheckError(kind)


def state_words(state: str, one: bool = False) -> str:
    words = {"Running": "are running", "Ready": "are Ready", "Pending": "are Pending",
             "Succeeded": "have succeeded", "Failed": "have failed"}.get(state, f"are {state}")
    return words.replace("are ", "is ", 1).replace("have ", "has ", 1) if one else words


# ----------------------------------------------------------------------------------- helpers

def _namespace(spec: dict, kind: str) -> str | None:
    """The namespace a check looks in (None: any, or a cluster-scoped kind)."""
    if kind in CLUSTER_SCOPED or spec.get("namespace") == "*":
        return None
    return spec.get("namespace") or "default"


def _in(snapshot: Snapshot, kind: str, namespace: str | None) -> list[dict]:
    return [o for o in snapshot.objects.get(kind, ())
            if namespace is None or (o.get("metadata") or {}).get("namespace") == namespace]


def _named(snapshot: Snapshot, kind: str, namespace: str | None, name: str) -> dict | None:
    return next((o for o in _in(snapshot, kind, namespace) if o["metadata"].get("name") == name), None)


def _deleting(obj: dict) -> bool:
    return bool((obj.get("metadata") or {}).get("deletionTimestamp"))


def _selected(objects: list[dict], selector: str | None) -> list[dict]:
    if not selector:
        return objects
    parsed = parse_label_selector(selector)
    return [o for o in objects if parsed.matches((o.get("metadata") or {}).get("labels") or {})]


def _where(kind: str, namespace: str | None) -> str:
    if kind in CLUSTER_SCOPED:
        return ""
    return " in any namespace" if namespace is None else f" in namespace {namespace}"


def lookup(obj: Any, path: list) -> tuple[bool, Any]:
    """(found, value) at a parsed path."""
    for token in path:
        if isinstance(token, tuple):
            key, value = token
            if not isinstance(obj, list):
                return False, None
            obj = next((item for item in obj if isinstance(item, dict) and str(item.get(key)) == value), None)
            if obj is None:
                return False, None
        elif isinstance(token, int):
            if not isinstance(obj, list) or token >= len(obj):
                return False, None
            obj = obj[token]
        else:
            if not isinstance(obj, dict) or token not in obj:
                return False, None
            obj = obj[token]
    return True, obj


def _number(value: Any) -> Fraction | None:
    if isinstance(value, bool) or value is None or isinstance(value, (dict, list)):
        return None
    try:
        return parse_quantity(value if not isinstance(value, str) else value.strip())
    except Exception:
        return None


def compare(actual: Any, op: str, expected: Any) -> bool:
    """A field's value against a check's, as lessons/README.md says."""
    if op == "matches":
        return actual is not None and re.search(str(expected), _plain(actual)) is not None
    if op == "contains":
        if isinstance(actual, list):
            return any(item == expected or _plain(item) == _plain(expected) for item in actual)
        if isinstance(actual, dict):
            return str(expected) in actual
        return actual is not None and _plain(expected) in _plain(actual)
    if op in ("==", "!="):
        same = actual == expected or (not isinstance(actual, (dict, list)) and _plain(actual) == _plain(expected))
        if not same:
            a, b = _number(actual), _number(expected)
            same = a is not None and b is not None and a == b
        return same if op == "==" else not same
    a, b = _number(actual), _number(expected)
    return a is not None and b is not None and COUNT_OPS[op](a, b)


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _shown(value: Any) -> str:
    if isinstance(value, (dict, list)):
        text = repr(value)
        return text if len(text) <= 80 else text[:77] + "…"
    return f'"{value}"' if isinstance(value, str) else _plain(value)


def pod_ready(pod: dict) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


def pod_in_state(pod: dict, state: str) -> bool:
    if state == "Terminating":
        return _deleting(pod)
    if _deleting(pod):
        return False
    phase = (pod.get("status") or {}).get("phase") or "Pending"
    if state == "Ready":
        return pod_ready(pod)
    if state in POD_PHASES:
        return phase == state
    return pod_status_reason(pod) == state


def why_not(pod: dict, state: str) -> str:
    """A pod's situation in a few words, for a reason: "ImagePullBackOff", "not Ready (0/1)"."""
    if _deleting(pod):
        return "being deleted"
    status = pod_status_reason(pod)
    if state == "Ready" and status == "Running":
        waiting = [c for c in (pod.get("status") or {}).get("conditions") or [] if c.get("type") == "Ready"]
        return "running but not Ready" + (f" ({waiting[0]['reason']})" if waiting and waiting[0].get("reason")
                                          else " (its readiness probe has not passed)")
    if status == "Pending":
        for condition in (pod.get("status") or {}).get("conditions") or []:
            if condition.get("type") == "PodScheduled" and condition.get("status") == "False":
                return f"Pending — not scheduled: {condition.get('message') or condition.get('reason')}"
    return status


# ---------------------------------------------------------------------------------- evaluation

def evaluate(check: Check, snapshot: Snapshot) -> Result:
    try:
        return _EVALUATORS[check.kind](check.spec, snapshot)
    except Exception as error:   # a reader failing must never take the panel down: the check just waits
        return Result(False, f"could not check this yet ({error})")


def _exists(spec: dict, snapshot: Snapshot) -> Result:
    kind, namespace = spec["kind"], _namespace(spec, spec["kind"])
    if "name" in spec:
        obj = _named(snapshot, kind, namespace, spec["name"])
        if obj is None:
            return Result(False, f"There is no {kind} named {spec['name']}{_where(kind, namespace)} yet.")
        if _deleting(obj):
            return Result(False, f"{kind} {spec['name']} is being deleted.")
        return Result(True)
    found = [o for o in _selected(_in(snapshot, kind, namespace), spec.get("selector")) if not _deleting(o)]
    if found:
        return Result(True)
    which = f" matching {spec['selector']}" if spec.get("selector") else ""
    return Result(False, f"There is no {kind}{which}{_where(kind, namespace)} yet.")


def _gone(spec: dict, snapshot: Snapshot) -> Result:
    kind, namespace = spec["kind"], _namespace(spec, spec["kind"])
    obj = _named(snapshot, kind, namespace, spec["name"])
    if obj is None or _deleting(obj):
        return Result(True)
    return Result(False, f"{kind} {spec['name']} still exists{_where(kind, namespace)}.")


def _count_check(spec: dict, snapshot: Snapshot) -> Result:
    kind, namespace = spec["kind"], _namespace(spec, spec["kind"])
    found = [o for o in _selected(_in(snapshot, kind, namespace), spec.get("selector")) if not _deleting(o)]
    op = spec.get("op", "==")
    if COUNT_OPS[op](len(found), spec["count"]):
        return Result(True)
    which = f" matching {spec['selector']}" if spec.get("selector") else ""
    names = ", ".join(sorted(o["metadata"]["name"] for o in found)[:5])
    return Result(False, f"There {'is' if len(found) == 1 else 'are'} {len(found)} {kind}{which}"
                         f"{_where(kind, namespace)}{': ' + names if names else ''}; expected "
                         f"{_op_words(op, spec['count'])}.")


def _field(spec: dict, snapshot: Snapshot) -> Result:
    kind, namespace = spec["kind"], _namespace(spec, spec["kind"])
    obj = _named(snapshot, kind, namespace, spec["name"])
    if obj is None or _deleting(obj):
        return Result(False, f"There is no {kind} named {spec['name']}{_where(kind, namespace)} yet.")
    found, actual = lookup(obj, parse_path(spec["path"]))
    op, expected = spec.get("op", "=="), spec.get("value")
    if op == "exists":
        ok = found and actual is not None
    elif op == "absent":
        ok = not found or actual is None
    elif not found:
        ok = op == "!="
    else:
        ok = compare(actual, op, expected)
    if ok:
        return Result(True)
    label = f"{kind} {spec['name']}: {spec['path']}"
    if op == "exists":
        return Result(False, f"{label} is not set.")
    if op == "absent":
        return Result(False, f"{label} is set to {_shown(actual)}; it should not be set.")
    if not found:
        return Result(False, f"{label} is not set (expected {_expected(op, expected)}).")
    return Result(False, f"{label} is {_shown(actual)}, not {_expected(op, expected)}.")


def _expected(op: str, expected: Any) -> str:
    if op == "matches":
        return f"matching {expected}"
    if op == "contains":
        return f"containing {_shown(expected)}"
    return _shown(expected) if op == "==" else f"{op} {_shown(expected)}"


def _pods(spec: dict, snapshot: Snapshot) -> Result:
    namespace = _namespace(spec, "Pod")
    state = spec.get("state", "Running")
    candidates = _selected(_in(snapshot, "Pod", namespace), spec["selector"])
    if state != "Terminating":
        candidates = [p for p in candidates if not _deleting(p)]
    if spec.get("node"):
        candidates = [p for p in candidates if (p.get("spec") or {}).get("nodeName") == spec["node"]]
    matching = [p for p in candidates if pod_in_state(p, state)]
    where = f" on {spec['node']}" if spec.get("node") else ""
    if not candidates:
        return Result(False, f"No pod matches {spec['selector']}{where}{_where('Pod', namespace)} yet.")
    count, op = spec.get("count"), spec.get("op", ">=")
    if count is None:
        ok = len(matching) == len(candidates)
        wanted = len(candidates)
    else:
        ok = COUNT_OPS[op](len(matching), count)
        wanted = count
    distinct = spec.get("distinct_nodes")
    if ok and distinct:
        nodes = {(p.get("spec") or {}).get("nodeName") for p in matching} - {None, ""}
        need = wanted if distinct is True else distinct
        if len(nodes) < need:
            return Result(False, f"The {len(matching)} pods matching {spec['selector']} run on {len(nodes)} "
                                 f"node{'s' if len(nodes) != 1 else ''} ({', '.join(sorted(nodes)) or 'none'}); "
                                 f"expected {need} different nodes.")
    if ok:
        return Result(True)
    others = [p for p in candidates if p not in matching]
    detail = "; ".join(f"{p['metadata']['name']} is {why_not(p, state)}" for p in others[:3])
    more = f" (and {len(others) - 3} more)" if len(others) > 3 else ""
    summary = (f"{len(matching)} of {len(candidates)} pods matching {spec['selector']}{where} "
               f"{state_words(state, len(candidates) == 1)}")
    if count is not None:
        summary += f" (expected {_op_words(op, count)})"
    return Result(False, summary + (f" — {detail}{more}." if detail else "."))


def _event(spec: dict, snapshot: Snapshot) -> Result:
    namespace = spec.get("namespace")
    for event in snapshot.objects.get("Event", ()):
        involved = event.get("involvedObject") or {}
        if event.get("reason") != spec["reason"]:
            continue
        if spec.get("kind") and involved.get("kind") != spec["kind"]:
            continue
        if spec.get("name") and not str(involved.get("name", "")).startswith(spec["name"]):
            continue
        if spec.get("type") and event.get("type") != spec["type"]:
            continue
        if namespace and namespace != "*" and (event.get("metadata") or {}).get("namespace") != namespace:
            continue
        return Result(True)
    about = f" for {spec.get('kind', 'an object')} {spec['name']}" if spec.get("name") else ""
    return Result(False, f"No {spec['reason']} event has been reported{about} yet.")


def rollout_revisions(snapshot: Snapshot, namespace: str, deployment: dict) -> list[int]:
    """The revisions `kubectl rollout history` lists: those of the ReplicaSets the Deployment owns."""
    uid = deployment["metadata"].get("uid")
    revisions = set()
    for rs in _in(snapshot, "ReplicaSet", namespace):
        meta = rs.get("metadata") or {}
        if any(ref.get("uid") == uid for ref in meta.get("ownerReferences") or []):
            revision = (meta.get("annotations") or {}).get("deployment.kubernetes.io/revision")
            if revision and revision.isdigit():
                revisions.add(int(revision))
    return sorted(revisions)


def _rollout(spec: dict, snapshot: Snapshot) -> Result:
    namespace = _namespace(spec, "Deployment") or "default"
    deployment = _named(snapshot, "Deployment", namespace, spec["deployment"])
    if deployment is None:
        return Result(False, f"There is no Deployment named {spec['deployment']}{_where('Deployment', namespace)}.")
    revisions = rollout_revisions(snapshot, namespace, deployment)
    op = spec.get("op", "==")
    if COUNT_OPS[op](len(revisions), spec["revisions"]):
        return Result(True)
    return Result(False, f"Deployment {spec['deployment']} has {len(revisions)} revision"
                         f"{'s' if len(revisions) != 1 else ''} in its history"
                         f"{' (' + ', '.join(map(str, revisions)) + ')' if revisions else ''}; expected "
                         f"{_op_words(op, spec['revisions'])}.")


def ready_endpoints(snapshot: Snapshot, namespace: str, service: str) -> tuple[list[str], list[str]]:
    """(ready, not ready) endpoint names (pod names, else addresses) of a Service's EndpointSlices."""
    ready, waiting = [], []
    for endpoint_slice in _in(snapshot, "EndpointSlice", namespace):
        if ((endpoint_slice.get("metadata") or {}).get("labels") or {}).get("kubernetes.io/service-name") != service:
            continue
        for endpoint in endpoint_slice.get("endpoints") or []:
            name = (endpoint.get("targetRef") or {}).get("name") or ",".join(endpoint.get("addresses") or [])
            is_ready = (endpoint.get("conditions") or {}).get("ready", True) is not False
            (ready if is_ready else waiting).append(name)
    return sorted(set(ready)), sorted(set(waiting) - set(ready))


def _endpoints(spec: dict, snapshot: Snapshot) -> Result:
    namespace = _namespace(spec, "Service") or "default"
    service = _named(snapshot, "Service", namespace, spec["service"])
    if service is None:
        return Result(False, f"There is no Service named {spec['service']}{_where('Service', namespace)} yet.")
    ready, waiting = ready_endpoints(snapshot, namespace, spec["service"])
    op = spec.get("op", "==")
    if COUNT_OPS[op](len(ready), spec["count"]):
        return Result(True)
    if not ready and not waiting:
        selector = (service.get("spec") or {}).get("selector") or {}
        selector_text = ",".join(f"{k}={v}" for k, v in selector.items())
        why = (f"its selector {selector_text} matches no pod" if selector_text else "it has no selector")
        return Result(False, f"Service {spec['service']} has no endpoints: {why}.")
    tail = f"; not ready: {', '.join(waiting[:3])}" if waiting else ""
    return Result(False, f"Service {spec['service']} has {len(ready)} ready endpoint"
                         f"{'s' if len(ready) != 1 else ''}{tail}; expected {_op_words(op, spec['count'])}.")


def _command(spec: dict, snapshot: Snapshot) -> Result:
    pattern = re.compile(spec["matches"])
    if any(pattern.search(line.strip()) for line in snapshot.commands):
        return Result(True)
    return Result(False, "Not run successfully in the terminal during this step yet.")


def _traffic(spec: dict, snapshot: Snapshot) -> Result:
    namespace = _namespace(spec, "Service") or "default"
    if _named(snapshot, "Service", namespace, spec["service"]) is None:
        return Result(False, f"There is no Service named {spec['service']}{_where('Service', namespace)} yet.")
    if snapshot.traffic is None:
        return Result(False, "Traffic cannot be checked here.")
    answer = snapshot.traffic(namespace, spec["service"], bool(spec.get("from_outside")), spec.get("path", "/"),
                              TRAFFIC_REQUESTS)
    if isinstance(answer, str):
        return Result(False, f"Requests to Service {spec['service']} fail: {answer}.")
    pods = sorted(name for name, count in answer.items() if count > 0)
    op, wanted = spec.get("op", ">="), spec.get("distinct_pods", 1)
    if COUNT_OPS[op](len(pods), wanted):
        return Result(True)
    return Result(False, f"{TRAFFIC_REQUESTS} requests to Service {spec['service']} were answered by {len(pods)} "
                         f"pod{'s' if len(pods) != 1 else ''}{' (' + ', '.join(pods) + ')' if pods else ''}; "
                         f"expected {_op_words(op, wanted)}.")


def _file(spec: dict, snapshot: Snapshot) -> Result:
    namespace = _namespace(spec, "Pod") or "default"
    if spec.get("pod"):
        pod = _named(snapshot, "Pod", namespace, spec["pod"])
        pods = [pod] if pod is not None else []
        who = f"pod {spec['pod']}"
    else:
        pods = _selected(_in(snapshot, "Pod", namespace), spec["selector"])
        who = f"pods matching {spec['selector']}"
    pods = [p for p in pods if not _deleting(p)]
    if not pods:
        return Result(False, f"There is no {who}{_where('Pod', namespace)} yet.")
    if snapshot.read_file is None:
        return Result(False, "Files cannot be checked here.")
    running = [p for p in pods if (p.get("status") or {}).get("phase") == "Running"]
    if not running:
        return Result(False, f"The {who} is not running ({pod_status_reason(pods[0])}).")
    seen_without = False
    for pod in running:
        text = snapshot.read_file(namespace, pod["metadata"]["name"], spec.get("container"), spec["path"])
        if text is None:
            continue
        if spec.get("contains") and str(spec["contains"]) not in text:
            seen_without = True
            continue
        return Result(True)
    if seen_without:
        return Result(False, f"{spec['path']} in {who} does not contain {spec['contains']!r}.")
    return Result(False, f"There is no file {spec['path']} in {who}.")


_EVALUATORS: dict[str, Callable[[dict, Snapshot], Result]] = {
    "exists": _exists, "gone": _gone, "count": _count_check, "field": _field, "pods": _pods, "event": _event,
    "rollout": _rollout, "endpoints": _endpoints, "command": _command, "traffic": _traffic, "file": _file,
}


def evaluate_all(step_checks: Iterable[Check], snapshot: Snapshot) -> list[tuple[Check, Result]]:
    return [(check, evaluate(check, snapshot)) for check in step_checks]
