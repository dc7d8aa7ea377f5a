"""kube-apiserver's request pipeline for one cluster: decode → validate → default → admit → store.

Every door (kubectl over HTTPS, the Python client, the web page, lessons) goes
through `ApiServer`, so they all get the same validation, defaults, messages
and resourceVersions. It is pure: it reads and writes through a `Store` and
takes the cluster's simulated "now" as a number, so it runs the same on the
database (clusters.store.database.DbStore) and in memory (tests).
"""
from __future__ import annotations

import copy
import ipaddress
import random
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from clusters.engine.resources import parse_field_selector, parse_label_selector
from clusters.engine.state import ClusterState, random_uid, timestamp

from . import errors, limitranger
from . import patch as patching
from . import quota as resource_quota
from .apply import managed_fields_for_update, server_side_apply
from .bootstrap import namespace_defaults
from .conversion import from_storage, to_storage
from .defaults import apply_defaults, job_selector_and_labels, pod_update_admission
from .errors import ApiError
from .registry import ResourceType, by_gvk, removed_hint, storage_type
from .store import Store
from .validation import check_decoding, validate_object

# Kinds whose metadata.generation the real server maintains (bumped on spec changes).
GENERATION_KINDS = frozenset({
    "Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob", "ReplicationController",
    "HorizontalPodAutoscaler", "Pod", "PodDisruptionBudget", "NetworkPolicy", "Ingress",
})
WORKLOADS_WITH_REPLICAS = frozenset({"Deployment", "ReplicaSet", "StatefulSet", "ReplicationController"})
PROTECTED_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})
SERVICE_CIDR = ipaddress.ip_network("10.96.0.0/12")
NODE_PORT_RANGE = (30000, 32767)
GENERATE_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # k8s.io/apimachinery/pkg/util/rand
QUOTA_NAME = "playground-limits"
ANN_DEFAULT_CLASS = ("storageclass.kubernetes.io/is-default-class", "storageclass.beta.kubernetes.io/is-default-class")
ANN_BETA_STORAGE_CLASS = "volume.beta.kubernetes.io/storage-class"
ANN_DEFAULT_INGRESS_CLASS = "ingressclass.kubernetes.io/is-default-class"
ANN_INGRESS_CLASS = "kubernetes.io/ingress.class"


@dataclass(frozen=True)
class Limits:
    """What one learner's cluster may hold (settings.PLAYGROUND)."""

    max_objects: int = 2000
    max_pods: int = 200
    max_replicas: int = 50


@dataclass
class Result:
    body: dict
    code: int = 200
    warnings: list[str] = field(default_factory=list)


def success_status(rt: ResourceType, obj: dict) -> dict:
    meta = obj["metadata"]
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
            "details": {"name": meta["name"], "group": rt.group, "kind": rt.resource, "uid": meta.get("uid")}}


def prepare_for_create(obj: dict, rt: ResourceType, *, now: float, rng: random.Random) -> dict:
    """What the real registry strategies do to a new object before validation: name from
    generateName, identity, generation, defaults, status reset. Also used by the simulation's
    controllers, whose creations go through the same rules as a client's."""
    meta = obj.setdefault("metadata", {})
    if not meta.get("name") and meta.get("generateName"):
        meta["name"] = meta["generateName"] + "".join(rng.choice(GENERATE_NAME_ALPHABET) for _ in range(5))
    for server_owned in ("uid", "resourceVersion", "creationTimestamp", "deletionTimestamp",
                         "deletionGracePeriodSeconds", "generation", "selfLink"):
        meta.pop(server_owned, None)
    meta["uid"] = random_uid(rng)
    meta["creationTimestamp"] = timestamp(now)
    if rt.kind in GENERATION_KINDS:
        meta["generation"] = 1
    if rt.kind == "Job":
        job_selector_and_labels(obj, meta["uid"])
    if rt.subresource("status") is not None and rt.kind != "Node":
        obj.pop("status", None)  # a client cannot set status on create; the strategy resets it
    apply_defaults(obj, rt, create=True, rng=rng)
    return obj


class ObjectLister(Protocol):
    """What create-time admission reads of the cluster: a Store, or the engine's ClusterState."""

    def list(self, kind: str, namespace: str | None = None) -> list[dict]: ...


def default_storage_class(pvc: dict, storage_classes: Iterable[dict]) -> None:
    """plugin/pkg/admission/storage/storageclass/setdefault: a claim that names no class (no
    spec.storageClassName, not even "", and no beta class annotation: PersistentVolumeClaimHasClass)
    gets the default StorageClass; of several defaults the newest, then the first by name
    (volume/util.GetDefaultClass)."""
    spec = pvc.setdefault("spec", {})
    annotations = (pvc.get("metadata") or {}).get("annotations") or {}
    if spec.get("storageClassName") is not None or ANN_BETA_STORAGE_CLASS in annotations:
        return
    chosen = _newest_default(storage_classes, ANN_DEFAULT_CLASS)
    if chosen is not None:
        spec["storageClassName"] = chosen


def _newest_default(classes: Iterable[dict], annotations: tuple[str, ...]) -> str | None:
    """The name of the default class among `classes` (one of `annotations` is "true"): of several, the
    newest, then the first by name — volume/util.GetDefaultClass and defaultingressclass.getDefaultClass."""
    defaults = [c for c in classes if any((c["metadata"].get("annotations") or {}).get(a) == "true"
                                          for a in annotations)]
    if not defaults:
        return None
    newest = max(c["metadata"].get("creationTimestamp") or "" for c in defaults)
    return min(c["metadata"]["name"] for c in defaults if (c["metadata"].get("creationTimestamp") or "") == newest)


def default_ingress_class(ingress: dict, ingress_classes: Iterable[dict]) -> None:
    """plugin/pkg/admission/network/defaultingressclass: an Ingress that names no class (no
    spec.ingressClassName and no kubernetes.io/ingress.class annotation) gets the default IngressClass,
    so `kubectl get ingress` shows CLASS nginx on a cluster with the ingress-nginx add-on."""
    spec = ingress.setdefault("spec", {})
    annotations = (ingress.get("metadata") or {}).get("annotations") or {}
    if spec.get("ingressClassName") is not None or ANN_INGRESS_CLASS in annotations:
        return
    chosen = _newest_default(ingress_classes, (ANN_DEFAULT_INGRESS_CLASS,))
    if chosen is not None:
        spec["ingressClassName"] = chosen


def admit_defaults(obj: dict, rt: ResourceType, objects: ObjectLister) -> None:
    """The mutating admission a new object gets from what the cluster holds: every create, a client's
    through the API or a controller's in the engine, passes it (DefaultStorageClass for claims,
    DefaultIngressClass for Ingresses; the plugins that need nothing but the object itself run in
    apply_defaults)."""
    if rt.kind == "PersistentVolumeClaim":
        default_storage_class(obj, objects.list("StorageClass"))
    elif rt.kind == "Ingress":
        default_ingress_class(obj, objects.list("IngressClass"))


def admit_policies(obj: dict, rt: ResourceType, objects: ObjectLister, now: float) -> None:
    """The validating admission that reads the namespace's policies, in upstream's plugin order:
    LimitRanger (min, max, maxLimitRequestRatio), then ResourceQuota, the last plugin. Raises the
    Forbidden ApiError. LimitRanger's defaults (`limitranger.mutate`) come before validation."""
    limitranger.validate(obj, rt, objects)
    resource_quota.admit(obj, rt, objects, now)


class Refused(ValueError):
    """An admission plugin's refusal of a controller's create, as the engine's controllers catch it
    (they may not import ApiError); its text is the API's message, `pods "web-x" is forbidden: …`."""


# What the engine's controllers create that the namespace's LimitRanges and quotas apply to: the pods and
# claims whose refusal they report (FailedCreate) and retry. Their other creates (ReplicaSets, Jobs,
# ControllerRevisions, Events, EndpointSlices) are not checked against count/<resource> quotas.
ENGINE_POLICY_KINDS = frozenset({"Pod", "PersistentVolumeClaim"})


def engine_preparer(*, now_source, rng: random.Random, objects: ObjectLister | None = None):
    """A `prepare` callback for the engine's ClusterState: objects controllers create get the
    same defaults, identity, timestamps and admission as objects created through the API.
    `objects` is what admission reads (the ClusterState itself); without it, the admission that
    depends on other objects (a claim's default StorageClass, LimitRanges, quotas) is left out.
    A pod or claim the LimitRanger or ResourceQuota plugin refuses raises `Refused`."""
    def prepare(obj: dict) -> dict:
        rt = storage_type(obj["kind"])
        now = now_source()
        prepare_for_create(obj, rt, now=now, rng=rng)
        if objects is not None:
            admit_defaults(obj, rt, objects)
            if rt.kind in ENGINE_POLICY_KINDS:
                limitranger.mutate(obj, rt, objects)
                try:
                    admit_policies(obj, rt, objects, now)
                except ApiError as exc:
                    raise Refused(exc.message) from None
        return obj

    return prepare


def engine_state(objects: Iterable[dict], *, now: float, seed: int, rng: random.Random,
                 sims: dict[str, dict] | None = None, texts: list[str] | None = None) -> ClusterState:
    """A ClusterState whose controllers' creates are prepared and admitted as the API server's are: the
    preparer reads the state's own clock (it moves while the loops run) and its objects, and draws names
    from `rng`; `seed` seeds the state's own generator."""
    state = ClusterState(objects, now=now, seed=seed, sims=sims, texts=texts)
    # The preparer reaches the state through a weak proxy: a state that held a closure holding itself would be
    # freed only by the cyclic collector, which runs rarely (playground/gc_tuning.py), so a worker's dropped
    # states (evicted, reloaded) would pile up until then.
    own = weakref.proxy(state)
    state.use_preparer(engine_preparer(now_source=lambda: own.now, rng=rng, objects=own))
    return state


def _without_managed_fields(obj: dict) -> dict:
    meta = {k: v for k, v in obj["metadata"].items() if k != "managedFields"}
    return {**obj, "metadata": meta}


def _spec_part(obj: dict) -> dict:
    """Everything but metadata and status: what bumps metadata.generation when it changes."""
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


class ApiServer:
    """The API semantics of one cluster over a Store, at one simulated instant."""

    def __init__(self, store: Store, *, now: float, limits: Limits = Limits(), seed: int = 0,
                 graceful_pod_deletion: bool = False, ca_pem: str = "") -> None:
        self.store = store
        self.ca_pem = ca_pem  # for the kube-root-ca.crt ConfigMap of new namespaces
        self.now = now
        self.limits = limits
        # Separate streams for the API, the engine and bootstrap: their uids can never coincide.
        self.random = random.Random(f"api:{seed}:{store.resource_version}")
        # Pods bound to a node are deleted gracefully only when a kubelet exists to finish it.
        self.graceful_pod_deletion = graceful_pod_deletion

    # ------------------------------------------------------------------ reads
    def get(self, rt: ResourceType, namespace: str, name: str) -> dict:
        stored = self._stored(rt, namespace, name)
        return from_storage(stored, rt)

    def list(self, rt: ResourceType, namespace: str | None, *, label_selector: str = "",
             field_selector: str = "") -> list[dict]:
        try:
            labels = parse_label_selector(label_selector) if label_selector else None
            fields = parse_field_selector(field_selector) if field_selector else None
        except ValueError as exc:
            raise errors.bad_request(str(exc)) from None
        items = self.store.list(rt.kind, namespace if rt.namespaced else None)
        if labels is not None:
            items = [o for o in items if labels.matches(o["metadata"].get("labels"))]
        if fields is not None:
            try:
                items = [o for o in items if fields.matches(o, rt.kind)]
            except ValueError as exc:
                raise errors.bad_request(str(exc)) from None
        return [from_storage(o, rt) for o in items]

    def list_json(self, rt: ResourceType, namespace: str | None) -> list[str] | None:
        """The stored JSON texts when they can be served as they are (no selector, storage version)."""
        if storage_type(rt.kind).api_version != rt.api_version:
            return None
        return self.store.list_json(rt.kind, namespace if rt.namespaced else None)

    def _lock_for_write(self, dry_run: bool) -> None:
        """Take the store's write lock (the cluster row's, on the database) before a write reads anything.

        A write decides from what it reads: a create's admission from the quotas' usage and the object
        counts, an update or patch from the stored object it changes. Were the lock taken only at the write,
        two requests could read the same state and both write: two creates each take a quota's last slot
        (both read 9 of 10 pods), two patches of one object each drop the other's change (the second was
        computed from what the first replaced). Upstream makes the check and the write one step (the quota's
        status is updated with a resourceVersion precondition; GuaranteedUpdate retries a patch on a
        conflict); here the read comes after the lock. Reads (get, list, watch) take no lock; a dry run
        writes nothing."""
        lock = getattr(self.store, "lock", None)
        if not dry_run and callable(lock):
            lock()

    def _stored(self, rt: ResourceType, namespace: str, name: str) -> dict:
        obj = self.store.get(rt.kind, namespace if rt.namespaced else "", name)
        if obj is None:
            raise errors.not_found(rt.resource, rt.group, name)
        return obj

    # ----------------------------------------------------------------- create
    def create(self, rt: ResourceType, namespace: str, body: Any, *, dry_run: bool = False,
               field_validation: str = "Strict", field_manager: str = "") -> Result:
        obj = self._check_body(rt, namespace, body)
        warnings = self._decode_check(obj, rt, field_validation)
        obj = to_storage(obj, rt)
        srt = storage_type(rt.kind)
        meta = obj["metadata"]
        self._lock_for_write(dry_run)
        self._prepare_for_create(obj, srt)
        limitranger.mutate(obj, srt, self.store)  # mutating admission comes before validation
        self._validate(obj, srt, None)
        self._admit_create(obj, srt)
        if self.store.get(srt.kind, meta.get("namespace", ""), meta["name"]) is not None:
            raise errors.already_exists(rt.resource, rt.group, meta["name"])
        if field_manager:
            self._record_manager(None, obj, field_manager, "")
        if not dry_run:
            self.store.write("ADDED", obj)
            self._after_create(obj)
        return Result(from_storage(obj, rt), 201, warnings)

    def _record_manager(self, old: dict | None, new: dict, manager: str, subresource: str) -> None:
        """metadata.managedFields after a non-apply write by `manager`, as the real field manager keeps them."""
        entries = managed_fields_for_update(old, new, manager=manager, now=timestamp(self.now),
                                            subresource=subresource)
        if entries:
            new["metadata"]["managedFields"] = entries
        else:
            new["metadata"].pop("managedFields", None)

    def _check_body(self, rt: ResourceType, namespace: str, body: Any) -> dict:
        if not isinstance(body, dict):
            raise errors.bad_request(f"Object '{rt.kind}' is not a JSON object; the request body must be one "
                                     f"{rt.kind} object")
        obj = copy.deepcopy(body)
        api_version = obj.get("apiVersion") or rt.api_version  # the Python client may leave them out
        kind = obj.get("kind") or rt.kind
        if (api_version, kind) != (rt.api_version, rt.kind):
            hint = removed_hint(api_version, kind)
            if hint:
                raise errors.bad_request(f'no matches for kind "{kind}" in version "{api_version}": {hint}')
            if kind != rt.kind or by_gvk(api_version, kind) is None:
                raise errors.bad_request(
                    f"the API version in the data ({api_version}) does not match the expected API version "
                    f"({rt.api_version})" if kind == rt.kind else
                    f"{kind} in version \"{api_version.rsplit('/', 1)[-1]}\" cannot be handled as a "
                    f"{rt.kind}: the kind in the body ({kind}) does not match the resource ({rt.kind})")
            raise errors.bad_request(
                f"the API version in the data ({api_version}) does not match the expected API version "
                f"({rt.api_version})")
        obj["apiVersion"], obj["kind"] = api_version, kind
        meta = obj.get("metadata")
        if meta is None:
            meta = obj["metadata"] = {}
        if not isinstance(meta, dict):
            raise errors.bad_request(
                f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: json: cannot unmarshal '
                f"{type(meta).__name__} into Go struct field {rt.kind}.metadata of type v1.ObjectMeta")
        if rt.namespaced:
            body_ns = meta.get("namespace")
            if body_ns and namespace and body_ns != namespace:
                raise errors.bad_request("the namespace of the provided object does not match the namespace "
                                         "sent on the request")
            meta["namespace"] = body_ns or namespace or "default"
        else:
            meta.pop("namespace", None)
        return obj

    def _decode_check(self, obj: dict, rt: ResourceType, field_validation: str) -> list[str]:
        if field_validation not in ("Strict", "Warn", "Ignore", ""):
            raise errors.bad_request(f"fieldValidation parameter unsupported: {field_validation}")
        return check_decoding(obj, rt, field_validation=field_validation or "Warn")

    def _validate(self, obj: dict, rt: ResourceType, old: dict | None) -> None:
        validate_object(obj, rt, old=old)

    def _prepare_for_create(self, obj: dict, rt: ResourceType) -> None:
        prepare_for_create(obj, rt, now=self.now, rng=self.random)

    # -------------------------------------------------------------- admission
    def _admit_create(self, obj: dict, rt: ResourceType) -> None:
        meta = obj["metadata"]
        if rt.namespaced:
            ns = self.store.get("Namespace", "", meta["namespace"])
            if ns is None:
                raise errors.not_found("namespaces", "", meta["namespace"])
            if ns.get("metadata", {}).get("deletionTimestamp") or \
                    ns.get("status", {}).get("phase") == "Terminating":
                raise errors.ApiError(
                    403, "Forbidden",
                    f'{rt.group_resource} "{meta["name"]}" is forbidden: unable to create new content in '
                    f'namespace {meta["namespace"]} because it is being terminated',
                    name=meta["name"], group=rt.group, kind=rt.resource,
                    causes=[{"reason": "NamespaceTerminating", "message": f'namespace {meta["namespace"]} '
                             f'is being terminated', "field": "metadata.namespace"}])
        objects = self.store.count()
        if objects >= self.limits.max_objects:
            raise self._quota(rt, meta["name"], "count/objects", 1, objects, self.limits.max_objects)
        if rt.kind == "Pod":
            pods = self.store.count("Pod")
            if pods >= self.limits.max_pods:
                raise self._quota(rt, meta["name"], "pods", 1, pods, self.limits.max_pods)
        self._admit_replicas(obj, rt)
        if rt.kind == "Service":
            self._allocate_service(obj, None)
        admit_defaults(obj, rt, self.store)
        admit_policies(obj, rt, self.store, self.now)

    def _admit_replicas(self, obj: dict, rt: ResourceType) -> None:
        if rt.kind in WORKLOADS_WITH_REPLICAS:
            replicas = (obj.get("spec") or {}).get("replicas")
            if isinstance(replicas, int) and replicas > self.limits.max_replicas:
                raise errors.ApiError(
                    403, "Forbidden",
                    f'{rt.group_resource} "{obj["metadata"]["name"]}" is forbidden: exceeded quota: '
                    f"{QUOTA_NAME}, requested: replicas={replicas}, limited: replicas={self.limits.max_replicas}"
                    f" per workload in this playground cluster",
                    name=obj["metadata"]["name"], group=rt.group, kind=rt.resource)

    def _quota(self, rt: ResourceType, name: str, resource: str, requested: int, used: int, limit: int) -> ApiError:
        return errors.ApiError(
            403, "Forbidden",
            f'{rt.group_resource} "{name}" is forbidden: exceeded quota: {QUOTA_NAME}, requested: '
            f"{resource}={requested}, used: {resource}={used}, limited: {resource}={limit}",
            name=name, group=rt.group, kind=rt.resource)

    def _allocate_service(self, svc: dict, old: dict | None) -> None:
        """ClusterIP from 10.96.0.0/12 and NodePorts from 30000-32767, as the real allocators do."""
        spec = svc.setdefault("spec", {})
        svc_type = spec.get("type", "ClusterIP")
        used_ips: set[str] = set()
        used_ports: set[int] = set()
        for other in self.store.list("Service"):
            if old is not None and other["metadata"].get("uid") == old["metadata"].get("uid"):
                continue
            other_spec = other.get("spec") or {}
            used_ips.update(other_spec.get("clusterIPs") or [other_spec.get("clusterIP")])
            used_ports.update(p.get("nodePort") for p in other_spec.get("ports") or [] if p.get("nodePort"))
        causes: list[dict] = []
        if svc_type == "ExternalName":
            spec.pop("clusterIP", None)
            spec.pop("clusterIPs", None)
        elif old is not None and old.get("spec", {}).get("clusterIP"):
            spec.setdefault("clusterIP", old["spec"]["clusterIP"])
            spec.setdefault("clusterIPs", old["spec"].get("clusterIPs") or [old["spec"]["clusterIP"]])
        else:
            wanted = spec.get("clusterIP") or (spec.get("clusterIPs") or [None])[0]
            if wanted in ("None",):
                spec["clusterIP"], spec["clusterIPs"] = "None", ["None"]
            elif wanted:
                try:
                    ip = ipaddress.ip_address(wanted)
                except ValueError:
                    ip = None
                if ip is None or ip not in SERVICE_CIDR or ip in (SERVICE_CIDR.network_address,
                                                                  SERVICE_CIDR.broadcast_address):
                    causes.append(errors.cause(
                        "spec.clusterIPs", f'Invalid value: []string{{"{wanted}"}}: failed to allocate IP '
                        f"{wanted}: the provided IP ({wanted}) is not in the valid range. The range of valid "
                        f"IPs is {SERVICE_CIDR}"))
                elif wanted in used_ips:
                    causes.append(errors.cause(
                        "spec.clusterIPs", f'Invalid value: []string{{"{wanted}"}}: failed to allocate IP '
                        f"{wanted}: provided IP is already allocated"))
                else:
                    spec["clusterIP"], spec["clusterIPs"] = wanted, [wanted]
            else:
                ip = self._free_ip(used_ips)
                spec["clusterIP"], spec["clusterIPs"] = ip, [ip]
        old_ports = {(p.get("port"), p.get("protocol", "TCP")): p.get("nodePort")
                     for p in ((old or {}).get("spec") or {}).get("ports") or []}
        if svc_type in ("NodePort", "LoadBalancer"):
            taken_here: set[int] = set()
            for index, port in enumerate(spec.get("ports") or []):
                wanted_port = port.get("nodePort")
                if wanted_port:
                    if not NODE_PORT_RANGE[0] <= wanted_port <= NODE_PORT_RANGE[1]:
                        causes.append(errors.cause(
                            f"spec.ports[{index}].nodePort",
                            f"Invalid value: {wanted_port}: provided port is not in the valid range. The range "
                            f"of valid ports is {NODE_PORT_RANGE[0]}-{NODE_PORT_RANGE[1]}"))
                    elif wanted_port in used_ports or wanted_port in taken_here:
                        causes.append(errors.cause(
                            f"spec.ports[{index}].nodePort",
                            f"Invalid value: {wanted_port}: provided port is already allocated"))
                    taken_here.add(wanted_port)
                    continue
                previous = old_ports.get((port.get("port"), port.get("protocol", "TCP")))
                port["nodePort"] = previous or self._free_port(used_ports | taken_here)
                taken_here.add(port["nodePort"])
        else:
            for port in spec.get("ports") or []:
                port.pop("nodePort", None)
        if causes:
            raise errors.invalid("Service", "", svc["metadata"]["name"], causes)

    def _free_ip(self, used: set[str]) -> str:
        size = SERVICE_CIDR.num_addresses
        for _ in range(1000):
            candidate = str(SERVICE_CIDR.network_address + self.random.randrange(16, size - 1))
            if candidate not in used:
                return candidate
        raise errors.internal("failed to allocate a serviceIP: range is full")

    def _free_port(self, used: set[int]) -> int:
        free = [p for p in range(NODE_PORT_RANGE[0], NODE_PORT_RANGE[1] + 1) if p not in used]
        if not free:
            raise errors.internal("failed to allocate a nodePort: range is full")
        return self.random.choice(free)

    def _after_create(self, obj: dict) -> None:
        """Effects of controllers that every new namespace needs before a learner can use it."""
        if obj["kind"] == "Namespace":
            for child in namespace_defaults(obj["metadata"]["name"], self.now, self.random, self.ca_pem):
                if self.store.get(child["kind"], child["metadata"]["namespace"], child["metadata"]["name"]) is None:
                    self.store.write("ADDED", child)

    # ----------------------------------------------------------------- update
    def update(self, rt: ResourceType, namespace: str, name: str, body: Any, *, subresource: str = "",
               dry_run: bool = False, field_validation: str = "Strict", field_manager: str = "") -> Result:
        obj = self._check_body(rt, namespace, body)
        if obj["metadata"].get("name", name) != name:
            raise errors.bad_request(f"the name of the object ({obj['metadata'].get('name')}) does not match "
                                     f"the name on the URL ({name})")
        obj["metadata"]["name"] = name
        warnings = self._decode_check(obj, rt, field_validation)
        self._lock_for_write(dry_run)
        stored = self._stored(rt, namespace, name)
        return self._update_stored(rt, stored, to_storage(obj, rt), subresource=subresource, dry_run=dry_run,
                                   warnings=warnings, manager=field_manager)

    def _update_stored(self, rt: ResourceType, stored: dict, new: dict, *, subresource: str, dry_run: bool,
                       warnings: list[str], manager: str = "") -> Result:
        srt = storage_type(rt.kind)
        old_meta = stored["metadata"]
        meta = new["metadata"]
        wanted_rv = meta.get("resourceVersion")
        if wanted_rv and wanted_rv != old_meta.get("resourceVersion"):
            raise errors.stale_update(rt.resource, rt.group, old_meta["name"])
        if meta.get("uid") and meta["uid"] != old_meta.get("uid"):
            raise errors.conflict(rt.resource, rt.group, old_meta["name"],
                                  f"Precondition failed: UID in precondition: {meta['uid']}, "
                                  f"UID in object meta: {old_meta.get('uid')}")
        if subresource == "status":
            # The status subresource changes status only; metadata and spec stay as stored.
            merged = copy.deepcopy(stored)
            merged["status"] = new.get("status", {})
            new = merged
        else:
            for kept in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
                         "generation"):
                if kept in old_meta:
                    meta[kept] = old_meta[kept]
                else:
                    meta.pop(kept, None)
            if "managedFields" not in meta and "managedFields" in old_meta:
                meta["managedFields"] = old_meta["managedFields"]
            apply_defaults(new, srt, create=False)
            if srt.kind == "Pod" and not subresource:
                pod_update_admission(new, stored)
            if srt.subresource("status") is not None or "status" in stored:
                if "status" in stored:
                    new["status"] = copy.deepcopy(stored["status"])
                else:
                    new.pop("status", None)
            if srt.kind in GENERATION_KINDS and _spec_part(new) != _spec_part(stored):
                meta["generation"] = int(old_meta.get("generation", 1)) + 1
            if srt.kind == "Service":
                self._allocate_service(new, stored)
            self._admit_replicas(new, srt)
        meta["resourceVersion"] = old_meta.get("resourceVersion")
        self._validate(new, srt, stored)
        if manager and _without_managed_fields(new) != _without_managed_fields(stored):
            self._record_manager(stored, new, manager, subresource)
        if new == stored:
            return Result(from_storage(stored, rt), 200, warnings)
        if dry_run:
            return Result(from_storage(new, rt), 200, warnings)
        self.store.write("MODIFIED", new)
        if meta.get("deletionTimestamp") and not meta.get("finalizers"):
            self.store.write("DELETED", new)
        return Result(from_storage(new, rt), 200, warnings)

    # ------------------------------------------------------------------ patch
    def patch(self, rt: ResourceType, namespace: str, name: str, patch: Any, patch_type: str, *,
              subresource: str = "", dry_run: bool = False, field_validation: str = "Strict",
              field_manager: str = "", force: bool = False) -> Result:
        self._lock_for_write(dry_run)
        if subresource == "scale":
            return self._patch_scale(rt, namespace, name, patch, patch_type, dry_run=dry_run, manager=field_manager)
        if patch_type == "apply":
            return self._server_side_apply(rt, namespace, name, patch, dry_run=dry_run,
                                           field_validation=field_validation, manager=field_manager, force=force)
        stored = self._stored(rt, namespace, name)
        current = from_storage(stored, rt)
        patched = self._apply_patch(current, patch, patch_type, rt.schema_name or "")
        if not isinstance(patched, dict):
            raise errors.bad_request("the patch did not produce an object")
        patched_meta = patched.get("metadata")
        if not isinstance(patched_meta, dict):
            raise errors.bad_request("metadata: the patch removed or replaced the object's metadata")
        if patched_meta.get("name") != name:
            raise errors.bad_request(f"the name of the object ({patched_meta.get('name')}) does not match "
                                     f"the name on the URL ({name})")
        patched = self._check_body(rt, namespace, patched)
        warnings = self._decode_check(patched, rt, field_validation)
        return self._update_stored(rt, stored, to_storage(patched, rt), subresource=subresource,
                                   dry_run=dry_run, warnings=warnings, manager=field_manager)

    def _apply_patch(self, current: dict, patch: Any, patch_type: str, schema_name: str) -> Any:
        if patch_type == "json":
            if not isinstance(patch, list):
                raise errors.bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
            return patching.json_patch(current, patch)
        if not isinstance(patch, dict):
            raise errors.bad_request("json: cannot unmarshal array into Go value of type map[string]interface {}")
        if patch_type == "merge":
            return patching.json_merge_patch(current, patch)
        if patch_type == "strategic":
            if not schema_name:
                raise errors.ApiError(415, "UnsupportedMediaType",
                                      "strategic merge patch is not supported for this resource")
            return patching.strategic_merge_patch(current, patch, schema_name)
        raise errors.unsupported_media_type(patch_type)

    def _server_side_apply(self, rt: ResourceType, namespace: str, name: str, applied: Any, *, dry_run: bool,
                           field_validation: str, manager: str, force: bool) -> Result:
        if not manager:
            raise errors.bad_request("PATCH, application/apply-patch+yaml requires fieldManager to be set")
        obj = self._check_body(rt, namespace, applied)
        if obj["metadata"].get("name", name) != name:
            raise errors.bad_request(f"the name of the object ({obj['metadata'].get('name')}) does not match "
                                     f"the name on the URL ({name})")
        obj["metadata"]["name"] = name
        warnings = self._decode_check(obj, rt, field_validation)
        stored = self.store.get(rt.kind, obj["metadata"].get("namespace", ""), name)
        if stored is None:
            merged = server_side_apply(None, obj, manager=manager, schema_name=rt.schema_name or "",
                                       force=force, now=timestamp(self.now))
            result = self.create(rt, namespace, merged, dry_run=dry_run, field_validation="Ignore")
            result.warnings[:0] = warnings
            return result
        current = from_storage(stored, rt)
        merged = server_side_apply(current, obj, manager=manager, schema_name=rt.schema_name or "",
                                   force=force, now=timestamp(self.now))
        return self._update_stored(rt, stored, to_storage(merged, rt), subresource="", dry_run=dry_run,
                                   warnings=warnings)

    # ------------------------------------------------------------------ scale
    def get_scale(self, rt: ResourceType, namespace: str, name: str) -> dict:
        obj = self._stored(rt, namespace, name)
        meta = obj["metadata"]
        selector = (obj.get("spec") or {}).get("selector") or {}
        return {
            "kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {"name": meta["name"], "namespace": meta.get("namespace"), "uid": meta.get("uid"),
                         "resourceVersion": meta.get("resourceVersion"),
                         "creationTimestamp": meta.get("creationTimestamp")},
            "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 0)},
            "status": {"replicas": (obj.get("status") or {}).get("replicas", 0),
                       "selector": _selector_string(selector, rt.kind)},
        }

    def _patch_scale(self, rt: ResourceType, namespace: str, name: str, patch: Any, patch_type: str, *,
                     dry_run: bool, manager: str = "") -> Result:
        scale = self.get_scale(rt, namespace, name)
        new_scale = self._apply_patch(scale, patch, patch_type, "io.k8s.api.autoscaling.v1.Scale")
        return self._set_scale(rt, namespace, name, new_scale, dry_run=dry_run, manager=manager)

    def update_scale(self, rt: ResourceType, namespace: str, name: str, body: Any, *, dry_run: bool,
                     field_manager: str = "") -> Result:
        self._lock_for_write(dry_run)
        return self._set_scale(rt, namespace, name, body, dry_run=dry_run, manager=field_manager)

    def _set_scale(self, rt: ResourceType, namespace: str, name: str, scale: Any, *, dry_run: bool,
                   manager: str = "") -> Result:
        replicas = ((scale or {}).get("spec") or {}).get("replicas", 0) if isinstance(scale, dict) else None
        if not isinstance(replicas, int) or isinstance(replicas, bool):
            raise errors.bad_request('Scale in version "v1" cannot be handled as a Scale: json: cannot unmarshal '
                                     f"{type(replicas).__name__} into Go struct field ScaleSpec.spec.replicas of "
                                     "type int32")
        if replicas < 0:
            raise errors.invalid("Scale", "autoscaling", name, [errors.cause(
                "spec.replicas", f"Invalid value: {replicas}: must be greater than or equal to 0")])
        wanted_rv = (scale.get("metadata") or {}).get("resourceVersion")
        stored = self._stored(rt, namespace, name)
        if wanted_rv and wanted_rv != stored["metadata"].get("resourceVersion"):
            raise errors.stale_update(rt.resource, rt.group, name)
        new = copy.deepcopy(stored)
        new.setdefault("spec", {})["replicas"] = replicas
        self._update_stored(rt, stored, new, subresource="", dry_run=dry_run, warnings=[], manager=manager)
        return Result(self.get_scale(rt, namespace, name) if not dry_run else
                      {**self.get_scale(rt, namespace, name), "spec": {"replicas": replicas}})

    # ----------------------------------------------------------------- delete
    def delete(self, rt: ResourceType, namespace: str, name: str, options: dict | None = None, *,
               dry_run: bool = False) -> Result:
        options = options or {}
        self._lock_for_write(dry_run)
        stored = self._stored(rt, namespace, name)
        meta = stored["metadata"]
        preconditions = options.get("preconditions") or {}
        if preconditions.get("uid") and preconditions["uid"] != meta.get("uid"):
            raise errors.conflict(rt.resource, rt.group, name,
                                  f"Precondition failed: UID in precondition: {preconditions['uid']}, "
                                  f"UID in object meta: {meta.get('uid')}")
        if preconditions.get("resourceVersion") and preconditions["resourceVersion"] != meta.get("resourceVersion"):
            raise errors.conflict(rt.resource, rt.group, name,
                                  f"Precondition failed: ResourceVersion in precondition: "
                                  f"{preconditions['resourceVersion']}, ResourceVersion in object meta: "
                                  f"{meta.get('resourceVersion')}")
        if rt.kind == "Namespace" and name in PROTECTED_NAMESPACES:
            raise errors.forbidden(f'namespaces "{name}" is forbidden: this namespace may not be deleted',
                                   resource="namespaces", name=name)
        self.validate_delete_options(options)
        policy = options.get("propagationPolicy")
        if policy is None and options.get("orphanDependents") is not None:
            policy = "Orphan" if options["orphanDependents"] else "Background"
        dry_run = dry_run or "All" in (options.get("dryRun") or ())  # a DeleteOptions body's dryRun: ["All"]
        if dry_run:
            return Result(from_storage(stored, rt))
        if meta.get("deletionTimestamp"):
            if rt.kind == "Pod" and options.get("gracePeriodSeconds") == 0 and not meta.get("finalizers"):
                self.store.write("DELETED", stored)  # --force --grace-period=0 cuts a graceful deletion short
                return Result(success_status(rt, stored))
            return Result(from_storage(stored, rt))  # already being deleted: deleting again changes nothing
        grace = self._grace_period(stored, options)
        finalizers = list(meta.get("finalizers") or [])
        # The garbage collector does the cascading: Foreground and Orphan hold the object with a
        # finalizer until the dependents are deleted or released; Background deletes it now.
        if policy == "Foreground" and "foregroundDeletion" not in finalizers:
            finalizers.append("foregroundDeletion")
        elif policy == "Orphan" and "orphan" not in finalizers:
            finalizers.append("orphan")
        if rt.kind == "Namespace" or finalizers or grace:
            # Deletion in two steps: controllers remove their finalizers (the namespace controller empties
            # a namespace first) and a kubelet stops a bound pod within its grace period.
            marked = copy.deepcopy(stored)
            marked["metadata"]["deletionTimestamp"] = timestamp(self.now + grace)
            marked["metadata"]["deletionGracePeriodSeconds"] = grace
            if finalizers:
                marked["metadata"]["finalizers"] = finalizers
            if rt.kind == "Namespace":
                marked.setdefault("status", {})["phase"] = "Terminating"
            self.store.write("MODIFIED", marked)
            return Result(from_storage(marked, rt))
        self.store.write("DELETED", stored)
        return Result(success_status(rt, stored))

    @staticmethod
    def validate_delete_options(options: dict) -> None:
        """validation.ValidateDeleteOptions (apimachinery): propagationPolicy, dryRun."""
        policy = options.get("propagationPolicy")
        if policy not in (None, "Background", "Foreground", "Orphan"):
            raise errors.invalid("DeleteOptions", "", "", [errors.cause(
                "propagationPolicy", f'Unsupported value: "{policy}": supported values: "Foreground", '
                '"Background", "Orphan", "nil"', "FieldValueNotSupported")])
        dry_run = options.get("dryRun") or []
        if not isinstance(dry_run, list) or any(value != "All" for value in dry_run):
            shown = dry_run if isinstance(dry_run, list) else [dry_run]
            rendered = "[]string{" + ", ".join(f'"{value}"' for value in shown) + "}"
            raise errors.invalid("DeleteOptions", "", "", [errors.cause(
                "dryRun", f'Unsupported value: {rendered}: supported values: "All"', "FieldValueNotSupported")])

    def _grace_period(self, obj: dict, options: dict) -> int:
        """Seconds a pod gets to terminate: 0 (delete at once) unless a kubelet runs it."""
        if obj["kind"] != "Pod" or not self.graceful_pod_deletion:
            return 0
        if not (obj.get("spec") or {}).get("nodeName"):
            return 0  # never scheduled: nothing to stop
        if (obj.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            return 0
        grace = options.get("gracePeriodSeconds")
        if grace is None:
            grace = (obj.get("spec") or {}).get("terminationGracePeriodSeconds", 30)
        try:
            return max(0, int(grace))
        except (TypeError, ValueError):
            raise errors.bad_request(f'invalid gracePeriodSeconds "{grace}"') from None

    def delete_collection(self, rt: ResourceType, namespace: str | None, *, label_selector: str = "",
                          field_selector: str = "", options: dict | None = None, dry_run: bool = False) -> Result:
        deleted = []
        for obj in self.list(rt, namespace, label_selector=label_selector, field_selector=field_selector):
            result = self.delete(rt, obj["metadata"].get("namespace", ""), obj["metadata"]["name"], options,
                                 dry_run=dry_run)
            deleted.append(obj if result.body.get("kind") == "Status" else result.body)
        return Result({"kind": rt.list_kind, "apiVersion": rt.api_version,
                       "metadata": {"resourceVersion": str(self.store.resource_version)}, "items": deleted})


def _selector_string(selector: dict, kind: str) -> str:
    """Scale.status.selector: the label selector in its string form."""
    if kind == "ReplicationController":
        return ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        op, key, values = expr.get("operator"), expr.get("key"), sorted(expr.get("values") or [])
        if op == "In":
            parts.append(f"{key} in ({','.join(values)})")
        elif op == "NotIn":
            parts.append(f"{key} notin ({','.join(values)})")
        elif op == "Exists":
            parts.append(key)
        elif op == "DoesNotExist":
            parts.append(f"!{key}")
    return ",".join(parts)
