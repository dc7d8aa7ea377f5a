"""The resource types the playground's API serves: one table, read by every door.

Discovery, OpenAPI, routing, validation, tables and storage all look resource
types up here, so adding a kind is adding a row. The values (short names,
categories, verbs, subresources) are the ones a real v1.37 kube-apiserver
publishes in discovery, because kubectl's behaviour (`get all`, `po`, `scale`)
follows them.
"""
from __future__ import annotations

from dataclasses import dataclass, field

KUBERNETES_VERSION = "v1.37.0"  # same minor as the pinned kubectl and kubernetes-validate schemas

STANDARD_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
READ_VERBS = ("get", "list")


@dataclass(frozen=True)
class Subresource:
    name: str            # "status", "scale", "log"
    kind: str            # kind of the object the subresource speaks (Pod, Scale, …)
    group: str = ""
    version: str = "v1"
    verbs: tuple[str, ...] = ("get", "patch", "update")


@dataclass(frozen=True)
class ResourceType:
    group: str                      # "" for the core group
    version: str
    resource: str                   # plural, as in URLs
    kind: str
    namespaced: bool
    singular: str = ""
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = STANDARD_VERBS
    subresources: tuple[Subresource, ...] = ()
    schema_name: str | None = None  # key in the OpenAPI definitions, None when there is no schema
    stored: bool = True             # False for virtual read-only kinds (metrics)
    preferred: bool = True          # this version is the group's preferred one
    deprecation_warning: str | None = None

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_resource(self) -> str:
        """`deployments.apps`: how the real server names the resource in messages."""
        return f"{self.resource}.{self.group}" if self.group else self.resource

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    def subresource(self, name: str) -> Subresource | None:
        for sub in self.subresources:
            if sub.name == name:
                return sub
        return None


def _schema(group: str, version: str, kind: str) -> str:
    package = {
        "": "core", "apps": "apps", "batch": "batch", "autoscaling": "autoscaling", "policy": "policy",
        "networking.k8s.io": "networking", "storage.k8s.io": "storage",
        "discovery.k8s.io": "discovery", "coordination.k8s.io": "coordination",
    }[group]
    return f"io.k8s.api.{package}.{version}.{kind}"


def _rt(group: str, version: str, resource: str, kind: str, namespaced: bool = True, *,
        short: tuple[str, ...] = (), all_category: bool = False, subs: tuple[Subresource, ...] = (),
        preferred: bool = True, deprecation: str | None = None) -> ResourceType:
    return ResourceType(
        group=group, version=version, resource=resource, kind=kind, namespaced=namespaced,
        singular=kind.lower(), short_names=short, categories=("all",) if all_category else (),
        subresources=subs, schema_name=_schema(group, version, kind), preferred=preferred,
        deprecation_warning=deprecation,
    )


def _status(kind: str, group: str = "", version: str = "v1") -> Subresource:
    return Subresource("status", kind, group, version)


def _scale() -> Subresource:
    return Subresource("scale", "Scale", "autoscaling", "v1")


RESOURCES: tuple[ResourceType, ...] = (
    # core/v1
    _rt("", "v1", "pods", "Pod", short=("po",), all_category=True, subs=(
        _status("Pod"), Subresource("log", "Pod", verbs=("get",)),
        Subresource("exec", "PodExecOptions", verbs=("create", "get")),
        Subresource("attach", "PodAttachOptions", verbs=("create", "get")),
        Subresource("portforward", "PodPortForwardOptions", verbs=("create", "get")),
        Subresource("binding", "Binding", verbs=("create",)),
        Subresource("eviction", "Eviction", "policy", "v1", verbs=("create",)),
    )),
    _rt("", "v1", "services", "Service", short=("svc",), all_category=True, subs=(_status("Service"),)),
    _rt("", "v1", "endpoints", "Endpoints", short=("ep",),
        deprecation="v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice"),
    _rt("", "v1", "configmaps", "ConfigMap", short=("cm",)),
    _rt("", "v1", "secrets", "Secret"),
    _rt("", "v1", "namespaces", "Namespace", namespaced=False, short=("ns",), subs=(_status("Namespace"),)),
    _rt("", "v1", "nodes", "Node", namespaced=False, short=("no",), subs=(_status("Node"),)),
    _rt("", "v1", "persistentvolumes", "PersistentVolume", namespaced=False, short=("pv",),
        subs=(_status("PersistentVolume"),)),
    _rt("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", short=("pvc",),
        subs=(_status("PersistentVolumeClaim"),)),
    _rt("", "v1", "serviceaccounts", "ServiceAccount", short=("sa",)),
    _rt("", "v1", "events", "Event", short=("ev",)),
    _rt("", "v1", "resourcequotas", "ResourceQuota", short=("quota",), subs=(_status("ResourceQuota"),)),
    _rt("", "v1", "limitranges", "LimitRange", short=("limits",)),
    _rt("", "v1", "replicationcontrollers", "ReplicationController", short=("rc",), all_category=True,
        subs=(_status("ReplicationController"), _scale())),
    _rt("", "v1", "podtemplates", "PodTemplate"),
    # apps/v1
    _rt("apps", "v1", "deployments", "Deployment", short=("deploy",), all_category=True,
        subs=(_status("Deployment", "apps"), _scale())),
    _rt("apps", "v1", "replicasets", "ReplicaSet", short=("rs",), all_category=True,
        subs=(_status("ReplicaSet", "apps"), _scale())),
    _rt("apps", "v1", "statefulsets", "StatefulSet", short=("sts",), all_category=True,
        subs=(_status("StatefulSet", "apps"), _scale())),
    _rt("apps", "v1", "daemonsets", "DaemonSet", short=("ds",), all_category=True,
        subs=(_status("DaemonSet", "apps"),)),
    _rt("apps", "v1", "controllerrevisions", "ControllerRevision"),
    # batch/v1
    _rt("batch", "v1", "jobs", "Job", all_category=True, subs=(_status("Job", "batch"),)),
    _rt("batch", "v1", "cronjobs", "CronJob", short=("cj",), all_category=True,
        subs=(_status("CronJob", "batch"),)),
    # autoscaling: v2 is preferred; v1 is still served (kubectl autoscale posts v1)
    _rt("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", short=("hpa",),
        all_category=True, subs=(_status("HorizontalPodAutoscaler", "autoscaling", "v2"),)),
    _rt("autoscaling", "v1", "horizontalpodautoscalers", "HorizontalPodAutoscaler", short=("hpa",),
        all_category=True, subs=(_status("HorizontalPodAutoscaler", "autoscaling", "v1"),),
        preferred=False),
    # networking.k8s.io/v1
    _rt("networking.k8s.io", "v1", "ingresses", "Ingress", short=("ing",),
        subs=(_status("Ingress", "networking.k8s.io"),)),
    _rt("networking.k8s.io", "v1", "ingressclasses", "IngressClass", namespaced=False),
    _rt("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", short=("netpol",)),
    # storage.k8s.io/v1
    _rt("storage.k8s.io", "v1", "storageclasses", "StorageClass", namespaced=False, short=("sc",)),
    # discovery.k8s.io/v1
    _rt("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice"),
    # policy/v1
    _rt("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", short=("pdb",),
        subs=(_status("PodDisruptionBudget", "policy"),)),
    # coordination.k8s.io/v1
    _rt("coordination.k8s.io", "v1", "leases", "Lease"),
    # metrics.k8s.io/v1beta1: read-only, computed from the simulation (values come with the kubelet)
    ResourceType("metrics.k8s.io", "v1beta1", "pods", "PodMetrics", True, singular="",
                 verbs=READ_VERBS, stored=False),
    ResourceType("metrics.k8s.io", "v1beta1", "nodes", "NodeMetrics", False, singular="",
                 verbs=READ_VERBS, stored=False),
)

# API versions Kubernetes served once and removed. A real server simply does not
# know them (404 on the path; kubectl: `no matches for kind "CronJob" in version
# "batch/v1beta1"`); the playground answers the same and, where it has room for a
# hint (the page, the error's cause), says where the kind went.
REMOVED_VERSIONS: dict[tuple[str, str], tuple[str, str]] = {
    # (apiVersion, kind): (replacement apiVersion, removed in)
    ("extensions/v1beta1", "Deployment"): ("apps/v1", "v1.16"),
    ("extensions/v1beta1", "DaemonSet"): ("apps/v1", "v1.16"),
    ("extensions/v1beta1", "ReplicaSet"): ("apps/v1", "v1.16"),
    ("extensions/v1beta1", "Ingress"): ("networking.k8s.io/v1", "v1.22"),
    ("extensions/v1beta1", "NetworkPolicy"): ("networking.k8s.io/v1", "v1.16"),
    ("apps/v1beta1", "Deployment"): ("apps/v1", "v1.16"),
    ("apps/v1beta1", "StatefulSet"): ("apps/v1", "v1.16"),
    ("apps/v1beta2", "Deployment"): ("apps/v1", "v1.16"),
    ("apps/v1beta2", "StatefulSet"): ("apps/v1", "v1.16"),
    ("apps/v1beta2", "DaemonSet"): ("apps/v1", "v1.16"),
    ("apps/v1beta2", "ReplicaSet"): ("apps/v1", "v1.16"),
    ("batch/v1beta1", "CronJob"): ("batch/v1", "v1.25"),
    ("batch/v2alpha1", "CronJob"): ("batch/v1", "v1.21"),
    ("autoscaling/v2beta1", "HorizontalPodAutoscaler"): ("autoscaling/v2", "v1.25"),
    ("autoscaling/v2beta2", "HorizontalPodAutoscaler"): ("autoscaling/v2", "v1.26"),
    ("policy/v1beta1", "PodDisruptionBudget"): ("policy/v1", "v1.25"),
    ("networking.k8s.io/v1beta1", "Ingress"): ("networking.k8s.io/v1", "v1.22"),
    ("networking.k8s.io/v1beta1", "IngressClass"): ("networking.k8s.io/v1", "v1.22"),
    ("discovery.k8s.io/v1beta1", "EndpointSlice"): ("discovery.k8s.io/v1", "v1.25"),
    ("storage.k8s.io/v1beta1", "StorageClass"): ("storage.k8s.io/v1", "v1.22"),
    ("coordination.k8s.io/v1beta1", "Lease"): ("coordination.k8s.io/v1", "v1.22"),
}


@dataclass
class _Index:
    by_path: dict[tuple[str, str, str], ResourceType] = field(default_factory=dict)
    by_gvk: dict[tuple[str, str], ResourceType] = field(default_factory=dict)
    by_kind: dict[str, ResourceType] = field(default_factory=dict)  # preferred version per kind


def _build_index() -> _Index:
    index = _Index()
    for rt in RESOURCES:
        index.by_path[(rt.group, rt.version, rt.resource)] = rt
        index.by_gvk[(rt.api_version, rt.kind)] = rt
        if rt.preferred and rt.stored:
            index.by_kind.setdefault(rt.kind, rt)
    return index


_INDEX = _build_index()


def by_path(group: str, version: str, resource: str) -> ResourceType | None:
    """The type served at /api/v1/<resource> or /apis/<group>/<version>/<resource>."""
    return _INDEX.by_path.get((group, version, resource))


def by_gvk(api_version: str, kind: str) -> ResourceType | None:
    """The type for an object's apiVersion + kind, as written in a manifest."""
    return _INDEX.by_gvk.get((api_version, kind))


def storage_type(kind: str) -> ResourceType:
    """The version objects of this kind are stored in (the group's preferred one)."""
    return _INDEX.by_kind[kind]


def served() -> tuple[ResourceType, ...]:
    return RESOURCES


def group_versions() -> list[tuple[str, str]]:
    """(group, version) pairs in discovery order; the preferred version of a group first."""
    seen: list[tuple[str, str]] = []
    for rt in sorted(RESOURCES, key=lambda r: not r.preferred):
        if (rt.group, rt.version) not in seen:
            seen.append((rt.group, rt.version))
    order = list(dict.fromkeys(rt.group for rt in RESOURCES))
    return sorted(seen, key=lambda gv: order.index(gv[0]))


def removed_hint(api_version: str, kind: str) -> str | None:
    """`batch/v1beta1 CronJob was removed in v1.25; use batch/v1` or None."""
    found = REMOVED_VERSIONS.get((api_version, kind))
    if not found:
        return None
    replacement, removed_in = found
    return f"{api_version} {kind} was removed in Kubernetes {removed_in}; use apiVersion: {replacement}"
