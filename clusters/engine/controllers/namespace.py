"""The namespace controller (upstream pkg/controller/namespace) and the controllers that give every
namespace its `default` ServiceAccount (pkg/controller/serviceaccount) and `kube-root-ca.crt`
ConfigMap (pkg/controller/certificates/rootcacertpublisher).

Deleting a namespace (upstream namespaced_resources_deleter.go, with OrderedNamespaceDeletion, GA
and always on since 1.34): the namespace is phase Terminating; its pods are deleted first (bound pods
terminate gracefully, so their kubelets remove them), and only when no pod is left is the rest of
the content deleted. Each pass records the deleter's five status conditions with their real reasons
and messages (status_condition_utils.go), e.g. NamespaceContentRemaining True SomeResourcesRemain
"Some resources are remaining: pods. has 2 resource instances". When nothing is left, the
`kubernetes` finalizer is removed from spec.finalizers and the namespace is deleted.

Controllers that create objects should not create them in a terminating namespace (the API server
refuses: "unable to create new content in namespace X because it is being terminated"):
`terminating(state, name)` tells them.
"""
from __future__ import annotations

from ..state import ClusterState, parse_timestamp, timestamp
from .gc import delete_object

FINALIZER = "kubernetes"
ROOT_CA_NAME = "kube-root-ca.crt"
ROOT_CA_KEY = "ca.crt"
DESCRIPTION_KEY = "kubernetes.io/description"
ROOT_CA_DESCRIPTION = (
    "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as "
    "the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of "
    "Kubernetes clusters.")

# status_condition_utils.go: the condition types the deleter maintains, in order, with their "ok" variants.
CONDITION_TYPES = (
    "NamespaceDeletionDiscoveryFailure",
    "NamespaceDeletionGroupVersionParsingFailure",
    "NamespaceDeletionContentFailure",
    "NamespaceContentRemaining",
    "NamespaceFinalizersRemaining",
)
OK_REASONS = {
    "NamespaceDeletionDiscoveryFailure": "ResourcesDiscovered",
    "NamespaceDeletionGroupVersionParsingFailure": "ParsedGroupVersions",
    "NamespaceDeletionContentFailure": "ContentDeleted",
    "NamespaceContentRemaining": "ContentRemoved",
    "NamespaceFinalizersRemaining": "ContentHasNoFinalizers",
}
OK_MESSAGES = {
    "NamespaceDeletionDiscoveryFailure": "All resources successfully discovered",
    "NamespaceDeletionGroupVersionParsingFailure": "All legacy kube types successfully parsed",
    "NamespaceDeletionContentFailure": "All content successfully deleted, may be waiting on finalization",
    "NamespaceContentRemaining": "All content successfully removed",
    "NamespaceFinalizersRemaining": "All content-preserving finalizers finished",
}

# kind -> (resource, group), for the "<resource>.<group> has N resource instances" messages.
_RESOURCES = {
    "Pod": ("pods", ""), "ConfigMap": ("configmaps", ""), "Secret": ("secrets", ""),
    "Service": ("services", ""), "ServiceAccount": ("serviceaccounts", ""), "Endpoints": ("endpoints", ""),
    "Event": ("events", ""), "PersistentVolumeClaim": ("persistentvolumeclaims", ""),
    "LimitRange": ("limitranges", ""), "ResourceQuota": ("resourcequotas", ""),
    "ReplicationController": ("replicationcontrollers", ""), "PodTemplate": ("podtemplates", ""),
    "EndpointSlice": ("endpointslices", "discovery.k8s.io"),
    "Deployment": ("deployments", "apps"), "ReplicaSet": ("replicasets", "apps"),
    "StatefulSet": ("statefulsets", "apps"), "DaemonSet": ("daemonsets", "apps"),
    "ControllerRevision": ("controllerrevisions", "apps"),
    "Job": ("jobs", "batch"), "CronJob": ("cronjobs", "batch"),
    "HorizontalPodAutoscaler": ("horizontalpodautoscalers", "autoscaling"),
    "NetworkPolicy": ("networkpolicies", "networking.k8s.io"), "Ingress": ("ingresses", "networking.k8s.io"),
    "PodDisruptionBudget": ("poddisruptionbudgets", "policy"),
    "Role": ("roles", "rbac.authorization.k8s.io"), "RoleBinding": ("rolebindings", "rbac.authorization.k8s.io"),
    "Lease": ("leases", "coordination.k8s.io"),
    "CSIStorageCapacity": ("csistoragecapacities", "storage.k8s.io"),
}


def _resource_of(obj: dict) -> tuple[str, str]:
    found = _RESOURCES.get(obj["kind"])
    if found:
        return found
    api_version = obj.get("apiVersion", "v1")
    group = api_version.rsplit("/", 1)[0] if "/" in api_version else ""
    kind = obj["kind"].lower()
    return (kind + "es" if kind.endswith("s") else kind + "s"), group


def terminating(state: ClusterState, namespace: str) -> bool:
    """Whether `namespace` is being deleted (or is gone): the API server refuses new content in it."""
    ns = state.get("Namespace", "", namespace)
    return ns is None or bool(ns["metadata"].get("deletionTimestamp"))


# ----------------------------------------------------------------- every namespace's defaults

def _root_ca(state: ClusterState) -> str | None:
    source = state.get("ConfigMap", "kube-system", ROOT_CA_NAME)
    if source is not None:
        return (source.get("data") or {}).get(ROOT_CA_KEY, "")
    for cm in state.list("ConfigMap"):
        if cm["metadata"]["name"] == ROOT_CA_NAME:
            return (cm.get("data") or {}).get(ROOT_CA_KEY, "")
    return None


def _ensure_defaults(state: ClusterState, name: str, ca: list) -> None:
    if state.get("ServiceAccount", name, "default") is None:
        state.create({"apiVersion": "v1", "kind": "ServiceAccount",
                      "metadata": {"name": "default", "namespace": name}})
    cm = state.get("ConfigMap", name, ROOT_CA_NAME)
    if not ca:
        ca.append(_root_ca(state))
    pem = ca[0]
    if pem is None:
        return  # no CA known anywhere: nothing to publish
    if cm is None:
        state.create({"apiVersion": "v1", "kind": "ConfigMap",
                      "metadata": {"name": ROOT_CA_NAME, "namespace": name,
                                   "annotations": {DESCRIPTION_KEY: ROOT_CA_DESCRIPTION}},
                      "data": {ROOT_CA_KEY: pem}})
        return
    # rootcacertpublisher: a published ConfigMap whose data or description was changed is put back.
    annotations = cm["metadata"].get("annotations") or {}
    if cm.get("data") != {ROOT_CA_KEY: pem} or annotations.get(DESCRIPTION_KEY) != ROOT_CA_DESCRIPTION:
        cm["data"] = {ROOT_CA_KEY: pem}
        cm["metadata"]["annotations"] = {**annotations, DESCRIPTION_KEY: ROOT_CA_DESCRIPTION}
        state.update(cm)


# ----------------------------------------------------------------- namespace deletion

def _update_conditions(ns: dict, failing: dict[str, tuple[str, str]], now: float) -> bool:
    """updateConditions: every maintained type is present, failing ones True with their reason."""
    status = ns.setdefault("status", {})
    conditions = status.setdefault("conditions", [])
    changed = False
    for ctype in CONDITION_TYPES:
        if ctype in failing:
            wanted_status, (reason, message) = "True", failing[ctype]
        else:
            wanted_status, reason, message = "False", OK_REASONS[ctype], OK_MESSAGES[ctype]
        old = next((c for c in conditions if c.get("type") == ctype), None)
        if old is None:
            conditions.append({"type": ctype, "status": wanted_status, "lastTransitionTime": timestamp(now),
                               "reason": reason, "message": message})
            changed = True
        elif (old.get("status"), old.get("reason"), old.get("message")) != (wanted_status, reason, message):
            if old.get("status") != wanted_status:
                old["lastTransitionTime"] = timestamp(now)
            old.update(status=wanted_status, reason=reason, message=message)
            changed = True
    return changed


def _remaining(objects: list[dict]) -> dict[str, tuple[str, str]]:
    """ProcessContentTotals: the NamespaceContentRemaining / NamespaceFinalizersRemaining conditions."""
    if not objects:
        return {}
    by_resource: dict[str, int] = {}
    by_finalizer: dict[str, int] = {}
    for obj in objects:
        resource, group = _resource_of(obj)
        key = f"{resource}.{group}"
        by_resource[key] = by_resource.get(key, 0) + 1
        for finalizer in obj["metadata"].get("finalizers") or ():
            by_finalizer[finalizer] = by_finalizer.get(finalizer, 0) + 1
    failing = {"NamespaceContentRemaining": (
        "SomeResourcesRemain",
        "Some resources are remaining: " + ", ".join(sorted(f"{k} has {n} resource instances"
                                                            for k, n in by_resource.items())))}
    if by_finalizer:
        failing["NamespaceFinalizersRemaining"] = (
            "SomeFinalizersRemain",
            "Some content in the namespace has finalizers remaining: " + ", ".join(
                sorted(f"{f} in {n} resource instances" for f, n in by_finalizer.items())))
    return failing


def _content(state: ClusterState, name: str) -> list[dict]:
    return [o for o in state.all_objects() if o["metadata"].get("namespace") == name]


def _refuse(state: ClusterState, obj: dict) -> None:
    """An object created in the namespace after its deletion began: the API server would have refused
    it, so it goes at once. Its controllers (the chain of controller owners) go too, since a controller
    that keeps creating here would otherwise race the deletion forever; controllers that check
    `terminating()` before creating never get here."""
    seen: set[str] = set()
    current: dict | None = obj
    while current is not None and current["metadata"].get("uid") not in seen:
        seen.add(current["metadata"].get("uid", ""))
        ref = next((r for r in current["metadata"].get("ownerReferences") or () if r.get("controller")), None)
        owner = None
        if ref is not None:
            owner = state.get(ref.get("kind", ""), current["metadata"].get("namespace", ""), ref.get("name", ""))
            if owner is not None and owner["metadata"].get("uid") != ref.get("uid"):
                owner = None
        if current is obj:
            state.delete(obj)
        else:
            delete_object(state, current, "Background")
        current = owner


def _delete_content(state: ClusterState, ns: dict) -> list[dict]:
    """deleteAllContent: pods first; the rest only once no pod is left. Returns what remains."""
    name = ns["metadata"]["name"]
    content = _content(state, name)
    pods = [o for o in content if o["kind"] == "Pod"]
    deleted_at = parse_timestamp(ns["metadata"].get("deletionTimestamp")) or state.now
    notes = state.sim(ns)
    if "present" not in notes:
        # First sight of the deletion: every pod here now was admitted before it. Timestamps have
        # whole seconds, so those of the deletion's own second are remembered by uid.
        notes["present"] = sorted(p["metadata"].get("uid", "") for p in pods
                                  if (parse_timestamp(p["metadata"].get("creationTimestamp")) or 0) >= deleted_at)
    if pods:
        for pod in pods:
            created = parse_timestamp(pod["metadata"].get("creationTimestamp"))
            if created is not None and created >= deleted_at and not pod["metadata"].get("deletionTimestamp") \
                    and pod["metadata"].get("uid") not in notes["present"]:
                _refuse(state, pod)
            elif state.get("Pod", name, pod["metadata"]["name"]) is pod:
                delete_object(state, pod, "Background")
        pods = list(state.list("Pod", name))
        if pods:
            return pods
        content = _content(state, name)
    for obj in content:
        if state.get(obj["kind"], name, obj["metadata"]["name"]) is obj:
            delete_object(state, obj, "Background")
    return _content(state, name)


def _terminate(state: ClusterState, ns: dict) -> None:
    meta = ns["metadata"]
    status = ns.setdefault("status", {})
    changed = False
    if status.get("phase") != "Terminating":
        status["phase"] = "Terminating"
        changed = True
    spec = ns.setdefault("spec", {})
    if FINALIZER in (spec.get("finalizers") or ()):
        remaining = _delete_content(state, ns)
        changed |= _update_conditions(ns, _remaining(remaining), state.now)
        if not remaining:
            # finalizeNamespace: our token goes; the namespace is deleted once no finalizer is left.
            spec["finalizers"] = [f for f in spec.get("finalizers") or () if f != FINALIZER]
            changed = True
    if not spec.get("finalizers") and not meta.get("finalizers"):
        state.delete(ns)
        return
    if changed:
        state.update(ns)


def reconcile(state: ClusterState) -> None:
    ca: list = []  # the root CA, looked up once per pass if needed
    for ns in state.list("Namespace"):
        if ns["metadata"].get("deletionTimestamp"):
            _terminate(state, ns)
        else:
            _ensure_defaults(state, ns["metadata"]["name"], ca)
