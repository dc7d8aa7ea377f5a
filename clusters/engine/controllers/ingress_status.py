"""The Ingress status that the ingress-nginx controller publishes (the ADDRESS of `kubectl get ingress`).

Routing requests by Ingress rules is the network model's (clusters/engine/network); this module is
the controller's bookkeeping that kubectl shows. Any running ingress-nginx controller pod counts —
the add-on of a fresh cluster, or one a learner installs — with its flags as in its command line
(pkg/flags/flags.go), following ingress-nginx internal/ingress:

* which Ingresses are its own (controller/store GetIngressClass): spec.ingressClassName naming an
  IngressClass whose spec.controller is its --controller-class (default k8s.io/ingress-nginx), or
  its --ingress-class name with --ingress-class-by-name; else the kubernetes.io/ingress.class
  annotation equal to --ingress-class (default nginx); an Ingress with neither only with
  --watch-ingress-without-class;
* the store's event `Sync` "Scheduled for sync" from `nginx-ingress-controller` when a controller
  first sees one of its Ingresses and whenever that Ingress changes (its status included), once per
  running controller pod;
* the address (status/status.go runningAddresses): --publish-status-address (an IP, or else a
  hostname), else --publish-service's Service (LoadBalancer: its load-balancer ingress and external
  IPs; NodePort: its external IPs or else its clusterIP; ClusterIP: its clusterIP; ExternalName:
  its name), else the nodes of the running, ready controller pods (ExternalIP, InternalIP when
  there is none or with --report-node-internal-ip-address); sorted by IP;
* when: only the leader writes status. The controller pods elect one through the Lease named by
  --election-id in their namespace (client-go leaderelection's LeaseLock: holderIdentity the pod's
  name, leaseDurationSeconds 30, the event `LeaderElection` "<pod> became leader" from
  `ingress-leader-elector`); the leader syncs the status when it starts leading and every
  UpdateInterval (60 s) after, so an Ingress's ADDRESS appears at the next such tick after it needs
  one (up to a minute, as on a real cluster); --update-status=false turns this off;
* on shutdown (update-status-on-shutdown, default true) the last controller pod clears the
  addresses it published.

Idle cost: the controller pods are found once a pass (one look at the pods); an elected leader and an
Ingress whose status is right are left alone. A wake-up is asked only for a pending update.
"""
from __future__ import annotations

import ipaddress
import json
import math
import zlib
from dataclasses import dataclass, field

from ..state import ClusterState, micro_timestamp, parse_timestamp
from .podutil import is_pod_ready

COMPONENT = "nginx-ingress-controller"
ELECTOR = "ingress-leader-elector"
ELECTION_TTL = 30                             # --election-ttl: the Lease's leaseDurationSeconds
UPDATE_INTERVAL = 60.0                        # internal/ingress/status UpdateInterval
CONTROLLER_REPOSITORIES = ("registry.k8s.io/ingress-nginx/controller", "k8s.gcr.io/ingress-nginx/controller")
DEFAULT_CONTROLLER_CLASS = "k8s.io/ingress-nginx"
DEFAULT_INGRESS_CLASS = "nginx"
CLASS_ANNOTATION = "kubernetes.io/ingress.class"
_BOOLEANS = ("watch-ingress-without-class", "ingress-class-by-name", "report-node-internal-ip-address",
             "update-status", "update-status-on-shutdown")


@dataclass
class Installation:
    """The controller pods that share a namespace and a --controller-class, and their flags."""
    namespace: str
    controller_class: str
    flags: dict[str, str]
    pods: list[dict] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.controller_class}"

    def flag(self, name: str, default: str = "") -> str:
        return self.flags.get(name, default)

    def enabled(self, name: str, default: bool = False) -> bool:
        value = self.flags.get(name)
        return default if value is None else value.lower() in ("", "true", "1", "t")

    def running(self) -> list[dict]:
        return [p for p in self.pods if (p.get("status") or {}).get("phase") == "Running"
                and not p["metadata"].get("deletionTimestamp")]

    def candidates(self) -> list[dict]:
        """The pods that can lead: running and ready, the one that started first first."""
        found = []
        for pod in self.running():
            started = _controller_started(pod)
            if is_pod_ready(pod) and started is not None:
                found.append((started, pod["metadata"]["name"], pod))
        return [pod for _, _, pod in sorted(found, key=lambda c: c[:2])]


# ------------------------------------------------------------------ the controllers in the cluster

def _controller_container(pod: dict) -> dict | None:
    for container in (pod.get("spec") or {}).get("containers") or ():
        image = container.get("image") or ""
        if image.split("@", 1)[0].rsplit(":", 1)[0] in CONTROLLER_REPOSITORIES:
            return container
    return None


def _controller_started(pod: dict) -> float | None:
    container = _controller_container(pod)
    for status in (pod.get("status") or {}).get("containerStatuses") or ():
        if container is not None and status.get("name") == container.get("name"):
            return parse_timestamp(((status.get("state") or {}).get("running") or {}).get("startedAt"))
    return None


def _expand(text: str, pod: dict) -> str:
    meta = pod["metadata"]
    return text.replace("$(POD_NAMESPACE)", meta.get("namespace", "")).replace("$(POD_NAME)", meta["name"])


def parse_flags(args: list[str]) -> dict[str, str]:
    """pflag: --name=value, --name value, and bare booleans."""
    found: dict[str, str] = {}
    index = 0
    while index < len(args):
        arg = args[index]
        index += 1
        if not arg.startswith("--"):
            continue
        name, equals, value = arg[2:].partition("=")
        if not equals and name not in _BOOLEANS and index < len(args) and not args[index].startswith("-"):
            value = args[index]
            index += 1
        found[name] = value
    return found


def installations(state: ClusterState) -> list[Installation]:
    found: dict[tuple[str, str], Installation] = {}
    for pod in state.list("Pod"):
        container = _controller_container(pod)
        if container is None:
            continue
        argv = [_expand(str(a), pod) for a in (container.get("command") or []) + (container.get("args") or [])]
        flags = parse_flags(argv)
        namespace = pod["metadata"].get("namespace", "")
        key = (namespace, flags.get("controller-class") or DEFAULT_CONTROLLER_CLASS)
        if key not in found:
            found[key] = Installation(namespace, key[1], flags)
        found[key].pods.append(pod)
    return [found[key] for key in sorted(found)]


def handles(state: ClusterState, install: Installation, ingress: dict) -> bool:
    """store.GetIngressClass: is this Ingress the controller's?"""
    spec = ingress.get("spec") or {}
    ingress_class = install.flag("ingress-class", DEFAULT_INGRESS_CLASS)
    class_name = spec.get("ingressClassName")
    if class_name:
        found = state.get("IngressClass", "", class_name)
        if found is not None and (found.get("spec") or {}).get("controller") == install.controller_class:
            return True
        return install.enabled("ingress-class-by-name") and class_name == ingress_class
    annotation = ((ingress["metadata"].get("annotations") or {}).get(CLASS_ANNOTATION))
    if annotation is not None:
        return annotation == ingress_class
    return install.enabled("watch-ingress-without-class")


# ------------------------------------------------------------------ the address

def _name_or_ip(value: str) -> dict:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return {"hostname": value}
    return {"ip": value}


def _sorted(addresses: list[dict]) -> list[dict]:
    """standardizeLoadBalancerIngresses and lessLoadBalancerIngress: by hostname, then IP."""
    return sorted(addresses, key=lambda a: (a.get("hostname", ""), a.get("ip", "")))


def addresses(state: ClusterState, install: Installation) -> list[dict]:
    """runningAddresses: what the controller writes into its Ingresses' status.loadBalancer.ingress."""
    published = install.flag("publish-status-address")
    if published:
        return _sorted([_name_or_ip(part.strip()) for part in published.split(",") if part.strip()])
    service_ref = install.flag("publish-service")
    if service_ref:
        namespace, _, name = service_ref.partition("/")
        svc = state.get("Service", namespace, name)
        if svc is None:
            return []
        spec = svc.get("spec") or {}
        svc_type = spec.get("type") or "ClusterIP"
        if svc_type == "ExternalName":
            return [{"hostname": spec.get("externalName", "")}]
        if svc_type == "ClusterIP":
            return [{"ip": spec.get("clusterIP", "")}]
        if svc_type == "NodePort":
            return _sorted([{"ip": ip} for ip in spec.get("externalIPs") or [spec.get("clusterIP", "")]])
        found = []
        for entry in ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or ():
            address = {key: entry[key] for key in ("hostname", "ip") if entry.get(key)}
            if address:
                found.append(address)
        for ip in spec.get("externalIPs") or ():
            if not any(a.get("ip") == ip for a in found):
                found.append({"ip": ip})
        return _sorted(found)
    found: list[dict] = []
    internal = install.enabled("report-node-internal-ip-address")
    for pod in install.running():
        if not is_pod_ready(pod):
            continue
        node = state.get("Node", "", (pod.get("spec") or {}).get("nodeName") or "")
        for ip in _node_ips(node, internal):
            if not any(a.get("ip") == ip for a in found):
                found.append(_name_or_ip(ip))
    return _sorted(found)


def _node_ips(node: dict | None, internal: bool) -> list[str]:
    """k8s.GetNodeIPs: the node's ExternalIPs, or its InternalIPs when asked or when it has no external one."""
    if node is None:
        return []
    listed = (node.get("status") or {}).get("addresses") or ()
    external = [a.get("address", "") for a in listed if a.get("type") == "ExternalIP" and a.get("address")]
    if internal or not external:
        return [a.get("address", "") for a in listed if a.get("type") == "InternalIP" and a.get("address")]
    return external


# ------------------------------------------------------------------ the controller

def _current(ingress: dict) -> list[dict]:
    return list(((ingress.get("status") or {}).get("loadBalancer") or {}).get("ingress") or ())


def _seen_mark(ingress: dict) -> int:
    """What the informer compares (reflect.DeepEqual of old and new): the object, less what the store stamps."""
    meta = {k: v for k, v in ingress["metadata"].items() if k not in ("resourceVersion", "managedFields")}
    return zlib.crc32(json.dumps({**ingress, "metadata": meta}, sort_keys=True, separators=(",", ":")).encode())


def _next_tick(start: float, since: float) -> float:
    """The leader's first status sync at or after `since`: at its start, then every UpdateInterval."""
    if since <= start:
        return start
    return start + math.ceil((since - start) / UPDATE_INTERVAL - 1e-9) * UPDATE_INTERVAL


def elect(state: ClusterState, install: Installation) -> tuple[dict, float] | None:
    """The leader and since when it leads: the Lease's holder while it can lead, else the first candidate,
    which takes the Lease over."""
    candidates = install.candidates()
    name = install.flag("election-id", "ingress-controller-leader")
    lease = state.get("Lease", install.namespace, name)
    spec = (lease or {}).get("spec") or {}
    holder = next((p for p in candidates if p["metadata"]["name"] == spec.get("holderIdentity")), None)
    if holder is not None:
        return holder, parse_timestamp(spec.get("acquireTime")) or state.now
    if not candidates:
        return None
    leader = candidates[0]
    stamp = micro_timestamp(state.now)
    if lease is None:
        lease = state.create({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                              "metadata": {"name": name, "namespace": install.namespace},
                              "spec": {"holderIdentity": leader["metadata"]["name"],
                                       "leaseDurationSeconds": ELECTION_TTL, "acquireTime": stamp,
                                       "renewTime": stamp, "leaseTransitions": 0}})
    else:
        lease["spec"] = {**spec, "holderIdentity": leader["metadata"]["name"], "leaseDurationSeconds": ELECTION_TTL,
                         "acquireTime": stamp, "renewTime": stamp,
                         "leaseTransitions": int(spec.get("leaseTransitions") or 0) + 1}
        state.update(lease)
    state.event(lease, "Normal", "LeaderElection", f"{leader['metadata']['name']} became leader",
                component=ELECTOR, host=leader["metadata"]["name"])
    return leader, state.now


def reconcile(state: ClusterState) -> None:
    installs = installations(state)
    leaders = {install.key: elect(state, install) for install in installs}
    ingresses = [i for i in state.list("Ingress") if not i["metadata"].get("deletionTimestamp")]
    if not ingresses:
        return
    by_key = {install.key: install for install in installs}
    for ingress in ingresses:
        notes = state.sim(ingress)
        install = next((i for i in installs if i.running() and handles(state, i, ingress)), None)
        if install is None:
            _orphaned(state, ingress, notes, by_key)
            continue
        if notes.get("by") != install.key:
            notes["by"] = install.key
        _scheduled_for_sync(state, install, ingress, notes)
        if _sync(state, install, leaders[install.key], ingress, notes):
            _scheduled_for_sync(state, install, ingress, notes)   # the status update is a change it sees too


def _scheduled_for_sync(state: ClusterState, install: Installation, ingress: dict, notes: dict) -> None:
    mark = _seen_mark(ingress)
    if notes.get("seen") == mark:
        return
    notes["seen"] = mark
    for _pod in install.running():
        state.event(ingress, "Normal", "Sync", "Scheduled for sync", component=COMPONENT)


def _sync(state: ClusterState, install: Installation, leader: tuple[dict, float] | None, ingress: dict,
          notes: dict) -> bool:
    """Publish the installation's addresses at the leader's next status sync; True when written."""
    if not install.enabled("update-status", True):
        return False
    wanted = addresses(state, install)
    if _sorted(_current(ingress)) == wanted:
        notes.pop("pending", None)
        return False
    since = notes.setdefault("pending", state.now)
    if leader is None:
        return False
    due = _next_tick(leader[1], since)
    if state.now + 1e-9 < due:
        state.wake_at(due)
        return False
    _write(state, ingress, wanted)
    notes.pop("pending", None)
    notes["published"] = wanted
    return True


def _write(state: ClusterState, ingress: dict, wanted: list[dict]) -> None:
    status = ingress.setdefault("status", {})
    status["loadBalancer"] = {"ingress": wanted} if wanted else {}
    state.update(ingress)


def _orphaned(state: ClusterState, ingress: dict, notes: dict, by_key: dict[str, Installation]) -> None:
    """Shutdown with update-status-on-shutdown: the last controller pod takes back what it published."""
    key = notes.get("by")
    if key is None:
        return
    install = by_key.get(key)
    if install is not None and install.running():
        return   # still running, but no longer its Ingress: it stops managing it and leaves the status alone
    published = notes.get("published")
    if install is not None and not install.enabled("update-status-on-shutdown", True):
        published = None
    if published is not None and _sorted(_current(ingress)) == published:
        _write(state, ingress, [])
    for name in ("by", "published", "pending", "seen"):
        notes.pop(name, None)
