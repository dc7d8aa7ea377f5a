"""LoadBalancer Services get an address, as a cloud provider's service controller gives them on kind.

kind has no cloud: a LoadBalancer Service stays `<pending>` until a provider runs beside it —
cloud-provider-kind on the host, or MetalLB in the cluster with an address pool carved out of
the kind network. The playground's provider is such a pool, 172.18.255.200-172.18.255.250 on the
nodes' network (172.18.0.0/16), driven by the cloud-provider library's service controller
(k8s.io/cloud-provider controllers/service/controller.go), which is what kubectl shows:

* a Service of type LoadBalancer without spec.loadBalancerClass (a class names another
  implementation) gets the `service.kubernetes.io/load-balancer-cleanup` finalizer, the lowest free
  address of the pool (spec.loadBalancerIP, deprecated, is honoured when it is a free pool address)
  and status.loadBalancer.ingress [{ip, ipMode: VIP}], with the events `EnsuringLoadBalancer`
  "Ensuring load balancer" and `EnsuredLoadBalancer` "Ensured load balancer" from
  `service-controller`; a change of what the load balancer serves (ports, traffic policy, source
  ranges, session affinity, external IPs) ensures it again, with the same two events;
* a type change is reported as the controller's `Type` event ("ClusterIP -> LoadBalancer");
* a Service that no longer wants one (another type, a class) or that is being deleted gets
  `DeletingLoadBalancer` "Deleting load balancer", loses its address (released to the pool) and the
  finalizer, then `DeletedLoadBalancer` "Deleted load balancer"; the garbage collector removes a
  deleted Service once the finalizer is gone;
* an exhausted pool is the Warning `SyncLoadBalancerFailed` "Error syncing load balancer: failed to
  ensure load balancer: …"; the Service stays `<pending>` and gets an address when one is released.

Idle cost: the Services of the cluster are read once a pass; a Service whose load balancer is in
place is compared with the notes kept about it and left alone.
"""
from __future__ import annotations

import ipaddress
import json

from ..state import ClusterState

COMPONENT = "service-controller"
FINALIZER = "service.kubernetes.io/load-balancer-cleanup"
POOL_FIRST, POOL_LAST = ipaddress.ip_address("172.18.255.200"), ipaddress.ip_address("172.18.255.250")
POOL = f"{POOL_FIRST}-{POOL_LAST}"
_SERVED_FIELDS = ("ports", "externalTrafficPolicy", "loadBalancerSourceRanges", "sessionAffinity", "externalIPs",
                  "healthCheckNodePort", "ipFamilies")


def in_pool(ip: str) -> bool:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return POOL_FIRST <= address <= POOL_LAST


def wants_load_balancer(svc: dict) -> bool:
    """The default provider's Services: type LoadBalancer, no loadBalancerClass, not being deleted."""
    spec = svc.get("spec") or {}
    return (spec.get("type") == "LoadBalancer" and not spec.get("loadBalancerClass")
            and not svc["metadata"].get("deletionTimestamp"))


def _ingress_ips(svc: dict) -> list[str]:
    ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or ()
    return [entry.get("ip", "") for entry in ingress if isinstance(entry, dict)]


def _served(spec: dict) -> str:
    return json.dumps([spec.get(key) for key in _SERVED_FIELDS], sort_keys=True, separators=(",", ":"))


def reconcile(state: ClusterState) -> None:
    services = state.list("Service")
    if not services:
        return
    used = {ip for svc in services for ip in _ingress_ips(svc) if in_pool(ip)}
    for svc in services:
        _sync(state, svc, used)


def _event(state: ClusterState, svc: dict, reason: str, message: str, kind: str = "Normal") -> None:
    state.event(svc, kind, reason, message, component=COMPONENT)


def _sync(state: ClusterState, svc: dict, used: set[str]) -> None:
    meta = svc["metadata"]
    spec = svc.get("spec") or {}
    notes = state.sim(svc)
    svc_type = spec.get("type") or "ClusterIP"
    last_type = notes.get("type")
    if last_type != svc_type:
        # needsUpdate: the informer's old and new objects; here, the type this controller saw last.
        if last_type is not None and "LoadBalancer" in (last_type, svc_type):
            _event(state, svc, "Type", f"{last_type} -> {svc_type}")
        notes["type"] = svc_type
    finalizers = meta.get("finalizers") or []
    has_finalizer = FINALIZER in finalizers
    if not wants_load_balancer(svc):
        if has_finalizer:
            _delete(state, svc, used)
        return
    ips = _ingress_ips(svc)
    served = _served(spec)
    if has_finalizer and ips and notes.get("served") == served:
        return   # in place, and nothing it serves changed
    if not ips:
        ip = _allocate(spec, used)
        if ip is None:
            if notes.get("failed") != served:
                notes["failed"] = served
                _event(state, svc, "EnsuringLoadBalancer", "Ensuring load balancer")
                if not has_finalizer:
                    meta["finalizers"] = [*finalizers, FINALIZER]
                    state.update(svc)
                _event(state, svc, "SyncLoadBalancerFailed", "Error syncing load balancer: failed to ensure load "
                                                             f"balancer: no available IPs in pool {POOL}", "Warning")
            return
        used.add(ip)
        ips = [ip]
    _event(state, svc, "EnsuringLoadBalancer", "Ensuring load balancer")
    if not has_finalizer:
        meta["finalizers"] = [*finalizers, FINALIZER]
    svc.setdefault("status", {})["loadBalancer"] = {"ingress": [{"ip": ip, "ipMode": "VIP"} for ip in ips]}
    state.update(svc)
    notes["served"] = served
    notes.pop("failed", None)
    _event(state, svc, "EnsuredLoadBalancer", "Ensured load balancer")


def _allocate(spec: dict, used: set[str]) -> str | None:
    wanted = spec.get("loadBalancerIP") or ""
    if wanted and in_pool(wanted) and wanted not in used:
        return wanted
    address = POOL_FIRST
    while address <= POOL_LAST:
        if str(address) not in used:
            return str(address)
        address += 1
    return None


def _delete(state: ClusterState, svc: dict, used: set[str]) -> None:
    """processLoadBalancerDelete: the address back to the pool, then the finalizer off."""
    _event(state, svc, "DeletingLoadBalancer", "Deleting load balancer")
    meta = svc["metadata"]
    if not meta.get("deletionTimestamp"):
        # Another type: the address goes back to the pool now. A Service being deleted keeps its status
        # (and so its address) until it is gone.
        for ip in _ingress_ips(svc):
            used.discard(ip)
        svc.setdefault("status", {})["loadBalancer"] = {}
    remaining = [f for f in meta.get("finalizers") or () if f != FINALIZER]
    if remaining:
        meta["finalizers"] = remaining
    else:
        meta.pop("finalizers", None)
    state.update(svc)
    notes = state.sim(svc)
    notes.pop("served", None)
    notes.pop("failed", None)
    _event(state, svc, "DeletedLoadBalancer", "Deleted load balancer")
