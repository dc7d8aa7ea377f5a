"""EndpointSlices (upstream pkg/controller/endpointslice, staging/src/k8s.io/endpointslice) and Endpoints
(pkg/controller/endpoint) for every Service with a selector.

For each such Service the pods of its namespace that match the selector and have an IP become
endpoints:

* EndpointSlice `<svc>-<5 random>` (generateName `<svc>-`), owned by the Service, labels = the
  Service's labels + kubernetes.io/service-name + endpointslice.kubernetes.io/managed-by
  endpointslice-controller.k8s.io (+ service.kubernetes.io/headless for ClusterIP None),
  addressType IPv4, one endpoint per pod: addresses [podIP], conditions ready/serving/terminating
  (podToEndpoint: serving = pod Ready, ready = serving and not terminating; publishNotReadyAddresses
  makes both true), hostname for a pod whose subdomain is the Service, nodeName, targetRef. Ports are
  the Service's ports with the targetPort resolved per pod (a number, or a named container port);
  pods with different resolved ports go to different slices, at most 100 endpoints a slice. A
  Service that selects nothing keeps one placeholder slice with no endpoints and no ports.
* Endpoints `<svc>` (no owner), labels = the Service's + endpoints.kubernetes.io/managed-by
  endpoint-controller, subsets with `addresses` (ready pods) and `notReadyAddresses`; terminating
  pods are left out unless publishNotReadyAddresses. No matching pod: no subsets ("<none>").

Both carry the annotation endpoints.kubernetes.io/last-change-trigger-time, updated when their
content changes. Services without a selector (and ExternalName Services) are left alone; an
Endpoints this controller made is deleted when its Service is gone (slices go by ownerReference).

A Service whose inputs have not changed since a sync that wrote nothing is skipped: within a step by
its fingerprint (see `_fingerprint`), across steps — each reconcile runs on a new ClusterState — by the
fingerprint's digest in the Service's notes (`MEMO`), noted once its slices and Endpoints are stored.
"""
from __future__ import annotations

import hashlib
import weakref

from ..state import ClusterState, timestamp
from .gc import delete_object
from .namespace import terminating
from .podutil import is_pod_ready

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
SLICE_MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
SLICE_CONTROLLER = "endpointslice-controller.k8s.io"
ENDPOINTS_MANAGED_BY_LABEL = "endpoints.kubernetes.io/managed-by"
ENDPOINTS_CONTROLLER = "endpoint-controller"
HEADLESS_LABEL = "service.kubernetes.io/headless"
TRIGGER_TIME = "endpoints.kubernetes.io/last-change-trigger-time"
MAX_ENDPOINTS_PER_SLICE = 100
MEMO = "endpoints"  # in a Service's notes: the digest of what its endpoints were last found current for


# ----------------------------------------------------------------- pods and ports

def _pod_ip(pod: dict) -> str:
    status = pod.get("status") or {}
    ip = status.get("podIP")
    if ip:
        return ip
    ips = status.get("podIPs") or ()
    return ips[0].get("ip", "") if ips and isinstance(ips[0], dict) else ""


def _should_be_in_endpoints(pod: dict, include_terminating: bool) -> bool:
    """endpointsliceutil.ShouldPodBeInEndpoints."""
    if not _pod_ip(pod):
        return False
    if not include_terminating and pod["metadata"].get("deletionTimestamp"):
        return False
    phase = (pod.get("status") or {}).get("phase")
    policy = (pod.get("spec") or {}).get("restartPolicy")
    if policy == "Never":
        return phase not in ("Failed", "Succeeded")
    if policy == "OnFailure":
        return phase != "Succeeded"
    return True


def _find_port(pod: dict, svc_port: dict) -> int | None:
    """podutil.FindPort: a numeric targetPort as is, a named one from the pod's container ports."""
    target = svc_port.get("targetPort", svc_port.get("port"))
    if isinstance(target, bool):
        return None
    if isinstance(target, int):
        return target
    if not isinstance(target, str) or not target:
        return None
    protocol = svc_port.get("protocol") or "TCP"
    for container in (pod.get("spec") or {}).get("containers") or ():
        for port in container.get("ports") or ():
            if port.get("name") == target and (port.get("protocol") or "TCP") == protocol:
                return port.get("containerPort")
    return None


def _pod_ports(pod: dict, svc_ports: list[dict]) -> tuple[tuple, ...]:
    """The service ports this pod serves: (name, port, protocol, appProtocol) each."""
    found = []
    for svc_port in svc_ports:
        number = _find_port(pod, svc_port)
        if number is None:
            continue
        found.append((svc_port.get("name") or "", number, svc_port.get("protocol") or "TCP",
                      svc_port.get("appProtocol")))
    return tuple(found)


def _slice_port(port: tuple) -> dict:
    name, number, protocol, app_protocol = port
    out = {"name": name, "port": number, "protocol": protocol}
    if app_protocol:
        out["appProtocol"] = app_protocol
    return out


def _endpoints_port(port: tuple) -> dict:
    name, number, protocol, app_protocol = port
    out: dict = {"port": number, "protocol": protocol}
    if name:
        out["name"] = name
    if app_protocol:
        out["appProtocol"] = app_protocol
    return out


def _pod_address(pod: dict, svc: dict) -> dict:
    """What an EndpointSlice endpoint and an Endpoints address both say about a pod besides its IP
    (podToEndpoint, podToEndpointAddressForService): its hostname when the pod's subdomain is this
    Service (the DNS name of a headless Service's pod), its node, and a reference to it."""
    spec = pod.get("spec") or {}
    meta = pod["metadata"]
    address: dict = {}
    if spec.get("hostname") and spec.get("subdomain") == svc["metadata"]["name"]:
        address["hostname"] = spec["hostname"]
    if spec.get("nodeName"):
        address["nodeName"] = spec["nodeName"]
    address["targetRef"] = {"kind": "Pod", "namespace": meta.get("namespace", ""), "name": meta["name"],
                            "uid": meta.get("uid", "")}
    return address


# ----------------------------------------------------------------- EndpointSlices

def _slice_endpoint(pod: dict, svc: dict, publish: bool) -> dict:
    """podToEndpoint."""
    terminating = bool(pod["metadata"].get("deletionTimestamp"))
    serving = publish or is_pod_ready(pod)
    return {"addresses": [_pod_ip(pod)],
            "conditions": {"ready": publish or (serving and not terminating), "serving": serving,
                           "terminating": terminating},
            **_pod_address(pod, svc)}


def _slice_labels(svc: dict) -> dict:
    labels = {k: v for k, v in (svc["metadata"].get("labels") or {}).items()
              if k not in (SERVICE_NAME_LABEL, SLICE_MANAGED_BY_LABEL, HEADLESS_LABEL)}
    if (svc.get("spec") or {}).get("clusterIP") == "None":
        labels[HEADLESS_LABEL] = ""
    labels[SERVICE_NAME_LABEL] = svc["metadata"]["name"]
    labels[SLICE_MANAGED_BY_LABEL] = SLICE_CONTROLLER
    return labels


def _owner_ref(svc: dict) -> dict:
    meta = svc["metadata"]
    return {"apiVersion": "v1", "kind": "Service", "name": meta["name"], "uid": meta.get("uid", ""),
            "controller": True, "blockOwnerDeletion": True}


def _desired_slices(svc: dict, pods: list[dict]) -> list[tuple[list | None, list | None]]:
    """(ports, endpoints) of every slice the Service should have; a placeholder if none."""
    publish = bool((svc.get("spec") or {}).get("publishNotReadyAddresses"))
    svc_ports = (svc.get("spec") or {}).get("ports") or []
    groups: dict[tuple, list[dict]] = {}
    for pod in pods:
        if not _should_be_in_endpoints(pod, True):
            continue
        groups.setdefault(_pod_ports(pod, svc_ports), []).append(_slice_endpoint(pod, svc, publish))
    desired: list[tuple[list | None, list | None]] = []
    for ports in sorted(groups, key=repr):
        endpoints = sorted(groups[ports], key=lambda e: e["targetRef"]["name"])
        for start in range(0, len(endpoints), MAX_ENDPOINTS_PER_SLICE):
            # A pod none of whose ports resolve is still an endpoint, in a slice without ports (as upstream).
            desired.append(([_slice_port(p) for p in ports] or None, endpoints[start:start + MAX_ENDPOINTS_PER_SLICE]))
    return desired or [(None, None)]


def _sync_slices(state: ClusterState, svc: dict, pods: list[dict], existing: list[dict]) -> None:
    meta = svc["metadata"]
    uid = meta.get("uid", "")
    owned, foreign = [], []
    for slc in existing:
        if slc["metadata"].get("deletionTimestamp"):
            continue
        refs = slc["metadata"].get("ownerReferences") or ()
        (owned if any(r.get("uid") == uid for r in refs) else foreign).append(slc)
    for slc in foreign:  # labelled for this Service but owned by an earlier one of the same name
        delete_object(state, slc)
    desired = _desired_slices(svc, pods)
    labels = _slice_labels(svc)
    unmatched = list(range(len(desired)))
    pairs: list[tuple[dict, int]] = []
    spare: list[dict] = []
    for slc in owned:  # keep each slice for the port set it already serves
        match = next((i for i in unmatched if desired[i][0] == slc.get("ports")), None)
        if match is None:
            spare.append(slc)
        else:
            unmatched.remove(match)
            pairs.append((slc, match))
    for slc in spare:
        if unmatched:
            pairs.append((slc, unmatched.pop(0)))
        else:
            delete_object(state, slc)
    trigger = timestamp(state.now)
    for slc, index in pairs:
        ports, endpoints = desired[index]
        slc_meta = slc["metadata"]
        if slc.get("ports") == ports and slc.get("endpoints") == endpoints and slc_meta.get("labels") == labels \
                and slc.get("addressType") == "IPv4":
            continue
        if slc.get("ports") != ports or slc.get("endpoints") != endpoints:
            slc_meta["annotations"] = {**(slc_meta.get("annotations") or {}), TRIGGER_TIME: trigger}
        slc["ports"], slc["endpoints"], slc["addressType"] = ports, endpoints, "IPv4"
        slc_meta["labels"] = dict(labels)
        state.update(slc)
    if unmatched and terminating(state, meta.get("namespace", "")):
        return  # the API server refuses new content in a namespace being deleted
    for index in unmatched:
        ports, endpoints = desired[index]
        state.create({
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"generateName": f"{meta['name']}-", "namespace": meta.get("namespace", ""),
                         "labels": dict(labels), "annotations": {TRIGGER_TIME: trigger},
                         "ownerReferences": [_owner_ref(svc)]},
            "addressType": "IPv4", "endpoints": endpoints, "ports": ports,
        })


# ----------------------------------------------------------------- Endpoints

def _desired_subsets(svc: dict, pods: list[dict]) -> list[dict]:
    """syncService + RepackSubsets: addresses grouped by the set of ports they serve."""
    spec = svc.get("spec") or {}
    publish = bool(spec.get("publishNotReadyAddresses"))
    svc_ports = spec.get("ports") or []
    groups: dict[tuple, tuple[list, list]] = {}
    for pod in pods:
        if not _should_be_in_endpoints(pod, publish):
            continue
        address = {"ip": _pod_ip(pod), **_pod_address(pod, svc)}
        ports = _pod_ports(pod, svc_ports)
        if svc_ports and not ports:
            continue
        ready, not_ready = groups.setdefault(ports, ([], []))
        (ready if publish or is_pod_ready(pod) else not_ready).append(address)
    subsets = []
    for ports in sorted(groups, key=repr):
        ready, not_ready = groups[ports]
        subset: dict = {}
        order = lambda a: (a["ip"], a["targetRef"]["uid"])
        if ready:
            subset["addresses"] = sorted(ready, key=order)
        if not_ready:
            subset["notReadyAddresses"] = sorted(not_ready, key=order)
        if ports:
            subset["ports"] = [_endpoints_port(p) for p in ports]
        subsets.append(subset)
    return subsets


def _sync_endpoints(state: ClusterState, svc: dict, pods: list[dict]) -> None:
    meta = svc["metadata"]
    namespace, name = meta.get("namespace", ""), meta["name"]
    subsets = _desired_subsets(svc, pods)
    labels = {**(meta.get("labels") or {}), ENDPOINTS_MANAGED_BY_LABEL: ENDPOINTS_CONTROLLER}
    if (svc.get("spec") or {}).get("clusterIP") == "None":
        labels[HEADLESS_LABEL] = ""
    else:
        labels.pop(HEADLESS_LABEL, None)
    trigger = timestamp(state.now)
    current = state.get("Endpoints", namespace, name)
    if current is None:
        if terminating(state, namespace):
            return
        obj = {"apiVersion": "v1", "kind": "Endpoints",
               "metadata": {"name": name, "namespace": namespace, "labels": labels,
                            "annotations": {TRIGGER_TIME: trigger}}}
        if subsets:
            obj["subsets"] = subsets
        state.create(obj)
        return
    cur_meta = current["metadata"]
    same_subsets = (current.get("subsets") or []) == subsets
    if same_subsets and cur_meta.get("labels") == labels:
        return
    if not same_subsets:
        cur_meta["annotations"] = {**(cur_meta.get("annotations") or {}), TRIGGER_TIME: trigger}
        if subsets:
            current["subsets"] = subsets
        else:
            current.pop("subsets", None)
    cur_meta["labels"] = labels
    state.update(current)


# ----------------------------------------------------------------- the pass

def _selects(selector: dict, labels: dict | None) -> bool:
    if not labels:
        return False
    for key, value in selector.items():
        if labels.get(key) != value:
            return False
    return True


def _fingerprint(state: ClusterState, svc: dict, pods: list[dict], existing: list[dict],
                 endpoints_obj: dict | None) -> tuple[tuple, bool]:
    """Everything the Service's slices and Endpoints are computed from, the objects themselves included:
    when it is unchanged since a sync that wrote nothing, that sync would write nothing again.

    The Service's spec and labels; of each selected pod, every field the endpoints are made of (uid, name,
    IP, readiness, deletionTimestamp, phase, restartPolicy, node, hostname and subdomain, the ports it
    resolves); whether the namespace is being deleted; and each existing slice and the Endpoints by uid,
    resourceVersion and the checksum of the object as loaded (state.fingerprint). The second value says
    whether the fingerprint holds across states: False when one of those objects was written in this
    step (it has no checksum yet, so it stands in by its identity, good only within this state)."""
    meta, spec = svc["metadata"], svc.get("spec") or {}
    svc_ports = spec.get("ports") or []
    service_part = (meta.get("uid"), meta["name"], repr(meta.get("labels")), repr(spec),
                    terminating(state, meta.get("namespace", "")))
    pod_part = []
    for p in pods:
        p_meta, p_spec, p_status = p["metadata"], p.get("spec") or {}, p.get("status") or {}
        pod_part.append((p_meta.get("uid"), p_meta["name"], _pod_ip(p), is_pod_ready(p),
                         p_meta.get("deletionTimestamp"), p_status.get("phase"), p_spec.get("restartPolicy"),
                         p_spec.get("nodeName"), p_spec.get("hostname"), p_spec.get("subdomain"),
                         _pod_ports(p, svc_ports)))
    persistent = True
    object_part = []
    for obj in (*existing, endpoints_obj):
        if obj is None:
            object_part.append(None)
            continue
        checksum = state.fingerprint(obj)
        if checksum is None:
            persistent = False
            checksum = ("written in this step", id(obj))
        obj_meta = obj["metadata"]
        object_part.append((obj_meta.get("uid"), obj_meta.get("resourceVersion"), checksum))
    return (service_part, tuple(pod_part), tuple(object_part)), persistent


def _digest(fingerprint: tuple) -> str:
    """A fingerprint as kept in the Service's notes: stable across processes (no hash(), no ids)."""
    return hashlib.blake2b(repr(fingerprint).encode(), digest_size=16).hexdigest()


# Per ClusterState: the fingerprint of each Service as of its last sync without writes. Across states
# (the runner builds a new one for every reconcile) the same memo is the digest in the Service's notes.
_SETTLED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _index_pods(pods: list[dict]) -> dict[tuple[str, str], list[dict]]:
    """Pods of a namespace by label (key, value): a selector's candidates are one bucket."""
    index: dict[tuple[str, str], list[dict]] = {}
    for pod in pods:
        for pair in (pod["metadata"].get("labels") or {}).items():
            index.setdefault(pair, []).append(pod)
    return index


def reconcile(state: ClusterState) -> None:
    services = state.list("Service")
    slices: dict[tuple[str, str], list[dict]] = {}
    for slc in state.list("EndpointSlice"):
        labels = slc["metadata"].get("labels") or {}
        if labels.get(SLICE_MANAGED_BY_LABEL) == SLICE_CONTROLLER and SERVICE_NAME_LABEL in labels:
            slices.setdefault((slc["metadata"].get("namespace", ""), labels[SERVICE_NAME_LABEL]), []).append(slc)
    pods_by_ns: dict[str, list[dict]] | None = None
    indexes: dict[str, dict[tuple[str, str], list[dict]]] = {}
    settled = _SETTLED.setdefault(state, {})
    served: set[tuple[str, str]] = set()
    wanted = _to_look_at(state, services, slices)
    for svc in services:
        meta = svc["metadata"]
        spec = svc.get("spec") or {}
        selector = spec.get("selector")
        key = (meta.get("namespace", ""), meta["name"])
        served.add(key)
        if not selector or spec.get("type") == "ExternalName" or meta.get("deletionTimestamp"):
            continue
        if wanted is not None and key not in wanted:
            continue
        if pods_by_ns is None:
            pods_by_ns = {}
            for pod in state.list("Pod"):
                pods_by_ns.setdefault(pod["metadata"].get("namespace", ""), []).append(pod)
        index = indexes.get(key[0])
        if index is None:
            index = indexes[key[0]] = _index_pods(pods_by_ns.get(key[0], []))
        candidates = min((index.get(pair, ()) for pair in selector.items()), key=len)
        pods = [p for p in candidates if _selects(selector, p["metadata"].get("labels"))]
        existing = slices.get(key, [])
        fingerprint, persistent = _fingerprint(state, svc, pods, existing, state.get("Endpoints", key[0], key[1]))
        if settled.get(key) == fingerprint:
            continue
        notes = state.sim(svc)
        digest = _digest(fingerprint) if persistent else None
        if digest is not None and notes.get(MEMO) == digest:
            settled[key] = fingerprint
            continue
        writes = state.writes
        _sync_slices(state, svc, pods, existing)
        _sync_endpoints(state, svc, pods)
        if state.writes == writes:
            settled[key] = fingerprint
            if digest is not None:
                notes[MEMO] = digest
                continue
        else:
            settled[key] = None
        if MEMO in notes:
            del notes[MEMO]
    for endpoints in state.list("Endpoints"):
        meta = endpoints["metadata"]
        if (meta.get("labels") or {}).get(ENDPOINTS_MANAGED_BY_LABEL) == ENDPOINTS_CONTROLLER and \
                (meta.get("namespace", ""), meta["name"]) not in served:
            delete_object(state, endpoints)


def _to_look_at(state: ClusterState, services: list[dict],
                slices: dict[tuple[str, str], list[dict]]) -> set[tuple[str, str]] | None:
    """The Services to sync when the loop narrowed this run to what changed (the informers' handlers), as
    (namespace, name), or None for every one: a Service, its slices or Endpoints written; for a pod written
    or deleted, the Services selecting it as it is and as it was, and those whose slices list it. A write of
    another kind (a Namespace being deleted, a Node) means every one."""
    narrowed = state.narrowed_changes()
    if narrowed is None:
        return None
    keys, gone = narrowed
    wanted: set[tuple[str, str]] = set()
    pods: list[dict] = [p for p in gone if p["kind"] == "Pod"]
    known = {(p["metadata"].get("namespace", ""), p["metadata"]["name"]) for p in pods}
    listed: set[tuple[str, str]] = set()   # pods changed in place: the Services whose slices list them
    for kind, namespace, name in keys:
        if kind in ("Service", "Endpoints"):
            wanted.add((namespace, name))
        elif kind == "EndpointSlice":
            for slc in (state.get(kind, namespace, name), *(g for g in gone if g["kind"] == kind)):
                labels = (slc or {}).get("metadata", {}).get("labels") or {}
                if SERVICE_NAME_LABEL in labels:
                    wanted.add((namespace, labels[SERVICE_NAME_LABEL]))
        elif kind == "Pod":
            pod = state.get(kind, namespace, name)
            if pod is not None:
                pods.append(pod)
            if (namespace, name) not in known:   # no earlier version to match selectors against
                listed.add((namespace, name))
        else:
            return None
    for svc in services:
        meta = svc["metadata"]
        selector = (svc.get("spec") or {}).get("selector")
        key = (meta.get("namespace", ""), meta["name"])
        if key in wanted or not selector:
            continue
        if any(p["metadata"].get("namespace", "") == key[0] and _selects(selector, p["metadata"].get("labels"))
               for p in pods) or \
                listed and any((key[0], (e.get("targetRef") or {}).get("name", "")) in listed
                               for slc in slices.get(key, ()) for e in slc.get("endpoints") or ()):
            wanted.add(key)
    return wanted
