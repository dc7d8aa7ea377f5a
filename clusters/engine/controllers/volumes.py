"""PersistentVolume / PersistentVolumeClaim binding (upstream pkg/controller/volume/persistentvolume),
a simulated external provisioner (sigs.k8s.io/sig-storage-lib-external-provisioner, as
rancher.io/local-path runs it in kind) and the PV/PVC protection controllers.

* A new PV becomes Available. A Pending claim binds the smallest Available PV that fits
  (FindMatchingVolume): same storageClassName ("" only matches PVs without a class), the claim's
  access modes ⊆ the PV's, capacity ≥ request, the claim's selector, same volumeMode; a PV pre-bound
  to the claim (spec.claimRef) or named by it (spec.volumeName) wins. Binding writes pv.spec.claimRef,
  pvc.spec.volumeName, the annotations pv.kubernetes.io/bind-completed and bound-by-controller, the
  claim's status (capacity, accessModes) and both phases Bound.
* No PV fits: a claim of a StorageClass with a provisioner is provisioned — for a
  WaitForFirstConsumer class only once the scheduler chose a node (annotation
  volume.kubernetes.io/selected-node; until then a WaitForFirstConsumer event). The controller
  annotates the claim with the provisioner and says ExternalProvisioning; the provisioner says
  Provisioning, creates PV `pvc-<claim uid>` (reclaim policy of the class, claimRef set; for
  rancher.io/local-path a hostPath /var/local-path-provisioner/pvc-…_<ns>_<claim> with node affinity to
  the selected node) and ProvisioningSucceeded "Successfully provisioned volume pvc-…". A claim
  without a class gets FailedBinding "no persistent volumes available for this claim and no storage
  class is set"; a class that does not exist: ProvisioningFailed 'storageclass.storage.k8s.io "x"
  not found'.
* The claim of a bound PV is deleted: the PV is Released; Retain keeps it, Delete deletes it (a
  provisioned one; a static hostPath outside /tmp cannot be deleted: Failed, VolumeFailedDelete).
  A Bound claim whose PV vanished is Lost (ClaimLost).
* kubernetes.io/pvc-protection goes from a deleted claim once no pod uses it, kubernetes.io/pv-protection
  from a deleted PV once it is not Bound (the garbage collector then removes them).

Each event is recorded once per situation (the real controller repeats it every resync).
"""
from __future__ import annotations

import random
import uuid

from ..resources import parse_quantity, selector_from_label_selector
from ..state import ClusterState, timestamp
from .gc import delete_object

PV_CONTROLLER = "persistentvolume-controller"
ANN_BIND_COMPLETED = "pv.kubernetes.io/bind-completed"
ANN_BOUND_BY_CONTROLLER = "pv.kubernetes.io/bound-by-controller"
ANN_PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"
ANN_SELECTED_NODE = "volume.kubernetes.io/selected-node"
ANN_STORAGE_PROVISIONER = "volume.kubernetes.io/storage-provisioner"
ANN_BETA_STORAGE_PROVISIONER = "volume.beta.kubernetes.io/storage-provisioner"
ANN_BETA_CLASS = "volume.beta.kubernetes.io/storage-class"
ANN_LOCAL_PATH_NODE = "local.path.provisioner/selected-node"
PVC_PROTECTION = "kubernetes.io/pvc-protection"
PV_PROTECTION = "kubernetes.io/pv-protection"
NO_PROVISIONER = "kubernetes.io/no-provisioner"
LOCAL_PATH = "rancher.io/local-path"
LOCAL_PATH_ROOT = "/var/local-path-provisioner"
HOSTPATH_PROVISIONERS = {LOCAL_PATH, "k8s.io/minikube-hostpath", "microk8s.io/hostpath"}
_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"

MSG_NO_CLASS = "no persistent volumes available for this claim and no storage class is set"
MSG_WAIT_FIRST_CONSUMER = "waiting for first consumer to be created before binding"
MSG_EXTERNAL = ("Waiting for a volume to be created either by the external provisioner '{}' or manually by the "
                "system administrator. If volume creation is delayed, please verify that the provisioner is "
                "running and correctly registered.")
MSG_CLAIM_LOST = "Bound claim has lost its PersistentVolume. Data on the volume is lost!"


# ----------------------------------------------------------------- small readers

def _claim_class(claim: dict) -> str:
    annotations = claim["metadata"].get("annotations") or {}
    if ANN_BETA_CLASS in annotations:
        return annotations[ANN_BETA_CLASS]
    return (claim.get("spec") or {}).get("storageClassName") or ""


def _pv_class(pv: dict) -> str:
    annotations = pv["metadata"].get("annotations") or {}
    if ANN_BETA_CLASS in annotations:
        return annotations[ANN_BETA_CLASS]
    return (pv.get("spec") or {}).get("storageClassName") or ""


def _quantity(value) -> float:
    try:
        return parse_quantity(value) if value is not None else 0
    except ValueError:
        return 0


def _request(claim: dict) -> object:
    return (((claim.get("spec") or {}).get("resources") or {}).get("requests") or {}).get("storage")


def _phase(obj: dict) -> str:
    return (obj.get("status") or {}).get("phase") or ""


def _set_pv_phase(state: ClusterState, pv: dict, phase: str, message: str | None = None) -> None:
    status = pv.setdefault("status", {})
    if status.get("phase") == phase and status.get("message") == message:
        return
    if status.get("phase") != phase:
        status["lastPhaseTransitionTime"] = timestamp(state.now)  # PersistentVolumeLastPhaseTransitionTime (GA)
    status["phase"] = phase
    if message:
        status["message"] = message
    else:
        status.pop("message", None)
    status.pop("reason", None)
    state.update(pv)


def _event_once(state: ClusterState, obj: dict, event_type: str, reason: str, message: str,
                component: str = PV_CONTROLLER) -> None:
    """Record an event about `obj` unless this very one was the last recorded (the real controller
    repeats it every resync; one is enough for describe and keeps idle clusters idle)."""
    notes = state.sim(obj)
    marker = f"{reason}:{message}"
    if notes.get("event") == marker:
        return
    notes["event"] = marker
    state.event(obj, event_type, reason, message, component=component)


def _annotate(meta: dict, **values: str) -> None:
    meta["annotations"] = {**(meta.get("annotations") or {}), **values}


def _node_matches(pv: dict, node: dict | None) -> bool:
    """The PV's required node affinity (nodeSelectorTerms, ORed) against a node's labels."""
    terms = ((((pv.get("spec") or {}).get("nodeAffinity") or {}).get("required") or {})
             .get("nodeSelectorTerms") or [])
    if not terms:
        return True
    if node is None:
        return False
    labels = node["metadata"].get("labels") or {}
    fields = {"metadata.name": node["metadata"]["name"]}
    for term in terms:
        ok = bool(term.get("matchExpressions") or term.get("matchFields"))
        for expr, source in [(e, labels) for e in term.get("matchExpressions") or ()] + \
                            [(e, fields) for e in term.get("matchFields") or ()]:
            key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
            have = source.get(key)
            if op == "In":
                ok = have is not None and have in values
            elif op == "NotIn":
                ok = have is None or have not in values
            elif op == "Exists":
                ok = have is not None
            elif op == "DoesNotExist":
                ok = have is None
            elif op in ("Gt", "Lt"):
                try:
                    ok = have is not None and (int(have) > int(values[0]) if op == "Gt" else int(have) < int(values[0]))
                except (ValueError, IndexError):
                    ok = False
            else:
                ok = False
            if not ok:
                break
        if ok:
            return True
    return False


# ----------------------------------------------------------------- matching and binding

def _bound_to(pv: dict, claim: dict) -> bool:
    """IsVolumeBoundToClaim: the PV's claimRef names this claim (and its uid, if set)."""
    ref = (pv.get("spec") or {}).get("claimRef")
    if not ref:
        return False
    meta = claim["metadata"]
    if ref.get("name") != meta["name"] or ref.get("namespace") != meta.get("namespace"):
        return False
    return not ref.get("uid") or ref.get("uid") == meta.get("uid")


def _fits(pv: dict, claim: dict, node: dict | None) -> bool:
    spec, cspec = pv.get("spec") or {}, claim.get("spec") or {}
    if (spec.get("volumeMode") or "Filesystem") != (cspec.get("volumeMode") or "Filesystem"):
        return False
    if _pv_class(pv) != _claim_class(claim):
        return False
    if not set(cspec.get("accessModes") or ()) <= set(spec.get("accessModes") or ()):
        return False
    if _quantity((spec.get("capacity") or {}).get("storage")) < _quantity(_request(claim)):
        return False
    if cspec.get("selector") is not None:
        try:
            selector = selector_from_label_selector(cspec["selector"])
        except ValueError:
            return False
        if not selector.matches(pv["metadata"].get("labels") or {}):
            return False
    return node is None or _node_matches(pv, node)


def _best_match(pvs: list[dict], claim: dict, node: dict | None) -> dict | None:
    """FindMatchingVolume: a PV pre-bound to the claim, else the smallest Available one that fits."""
    best, best_size = None, None
    for pv in pvs:
        if pv["metadata"].get("deletionTimestamp"):
            continue
        if _bound_to(pv, claim):
            if _fits(pv, claim, node):
                return pv
            continue
        if _phase(pv) != "Available" or (pv.get("spec") or {}).get("claimRef"):
            continue
        if not _fits(pv, claim, node):
            continue
        size = _quantity(((pv.get("spec") or {}).get("capacity") or {}).get("storage"))
        if best is None or size < best_size:
            best, best_size = pv, size
    return best


def _bind(state: ClusterState, pv: dict, claim: dict) -> None:
    """bind(): volume → claim, volume phase, claim → volume, claim status."""
    pv_meta, claim_meta = pv["metadata"], claim["metadata"]
    spec = pv.setdefault("spec", {})
    ref = spec.get("claimRef")
    if not _bound_to(pv, claim) or not (ref or {}).get("uid"):
        if not ref:
            _annotate(pv_meta, **{ANN_BOUND_BY_CONTROLLER: "yes"})
        spec["claimRef"] = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "name": claim_meta["name"],
                            "namespace": claim_meta.get("namespace", ""), "uid": claim_meta.get("uid", "")}
        if claim_meta.get("resourceVersion"):
            spec["claimRef"]["resourceVersion"] = claim_meta["resourceVersion"]
        state.update(pv)
    _set_pv_phase(state, pv, "Bound")
    cspec = claim.setdefault("spec", {})
    annotations = claim_meta.get("annotations") or {}
    if cspec.get("volumeName") != pv_meta["name"] or annotations.get(ANN_BIND_COMPLETED) != "yes":
        if cspec.get("volumeName") != pv_meta["name"]:
            cspec["volumeName"] = pv_meta["name"]
            _annotate(claim_meta, **{ANN_BOUND_BY_CONTROLLER: "yes"})
        _annotate(claim_meta, **{ANN_BIND_COMPLETED: "yes"})
        state.update(claim)
    status = claim.setdefault("status", {})
    wanted = {"phase": "Bound", "accessModes": list(spec.get("accessModes") or []),
              "capacity": dict(spec.get("capacity") or {})}
    if any(status.get(k) != v for k, v in wanted.items()):
        status.update(wanted)
        state.update(claim)
    state.sim(claim).pop("event", None)


# ----------------------------------------------------------------- provisioning

def _provisioner_identity(provisioner: str, storage_class: dict) -> str:
    """How the external provisioner signs its events: <provisioner>_<its pod>_<its uuid>, fixed per class."""
    rng = random.Random(storage_class["metadata"].get("uid", "") + provisioner)
    if provisioner == LOCAL_PATH:
        pod = ("local-path-provisioner-" + "".join(rng.choice(_NAME_ALPHABET) for _ in range(10)) + "-"
               + "".join(rng.choice(_NAME_ALPHABET) for _ in range(5)))
    else:
        pod = "csi-provisioner-0"
    return f"{provisioner}_{pod}_{uuid.UUID(int=rng.getrandbits(128), version=4)}"


def _provision(state: ClusterState, claim: dict, storage_class: dict, node_name: str | None) -> None:
    claim_meta = claim["metadata"]
    provisioner = storage_class.get("provisioner") or ""
    namespace, name, uid = claim_meta.get("namespace", ""), claim_meta["name"], claim_meta.get("uid", "")
    annotations = claim_meta.get("annotations") or {}
    identity = _provisioner_identity(provisioner, storage_class)
    cspec = claim.get("spec") or {}
    if annotations.get(ANN_STORAGE_PROVISIONER) != provisioner:
        _annotate(claim_meta, **{ANN_BETA_STORAGE_PROVISIONER: provisioner, ANN_STORAGE_PROVISIONER: provisioner})
        state.update(claim)
        state.event(claim, "Normal", "ExternalProvisioning", MSG_EXTERNAL.format(provisioner),
                    component=PV_CONTROLLER)
    if cspec.get("selector") is not None:
        _event_once(state, claim, "Warning", "ProvisioningFailed", "claim Selector is not supported",
                    component=identity)
        return
    state.event(claim, "Normal", "Provisioning",
                f'External provisioner is provisioning volume for claim "{namespace}/{name}"', component=identity)
    pv_name = f"pvc-{uid}"
    pv_annotations = {ANN_PROVISIONED_BY: provisioner}
    spec: dict = {
        "accessModes": list(cspec.get("accessModes") or ["ReadWriteOnce"]),
        "capacity": {"storage": _request(claim) or "1Gi"},
        "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "name": name, "namespace": namespace,
                     "uid": uid},
        "persistentVolumeReclaimPolicy": storage_class.get("reclaimPolicy") or "Delete",
        "storageClassName": storage_class["metadata"]["name"],
        "volumeMode": cspec.get("volumeMode") or "Filesystem",
    }
    if claim_meta.get("resourceVersion"):
        spec["claimRef"]["resourceVersion"] = claim_meta["resourceVersion"]
    if storage_class.get("mountOptions"):
        spec["mountOptions"] = list(storage_class["mountOptions"])
    if provisioner in HOSTPATH_PROVISIONERS:
        spec["hostPath"] = {"path": f"{LOCAL_PATH_ROOT}/{pv_name}_{namespace}_{name}", "type": "DirectoryOrCreate"}
        if node_name:
            pv_annotations[ANN_LOCAL_PATH_NODE] = node_name
            spec["nodeAffinity"] = {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                {"key": "kubernetes.io/hostname", "operator": "In", "values": [node_name]}]}]}}
    else:
        spec["csi"] = {"driver": provisioner, "volumeHandle": pv_name,
                       "volumeAttributes": {"storage.kubernetes.io/csiProvisionerIdentity": identity.split("_")[-1]}}
    if state.get("PersistentVolume", "", pv_name) is None:
        pv = state.create({"apiVersion": "v1", "kind": "PersistentVolume",
                           "metadata": {"name": pv_name, "annotations": pv_annotations}, "spec": spec})
        state.event(claim, "Normal", "ProvisioningSucceeded", f"Successfully provisioned volume {pv_name}",
                    component=identity)
    else:
        pv = state.get("PersistentVolume", "", pv_name)
    _bind(state, pv, claim)


# ----------------------------------------------------------------- claims

def _live_pvs(state: ClusterState) -> list[dict]:
    return state.list("PersistentVolume")


def _sync_claim(state: ClusterState, claim: dict, classes: dict[str, dict], nodes: dict[str, dict]) -> None:
    meta = claim["metadata"]
    cspec = claim.get("spec") or {}
    volume_name = cspec.get("volumeName")
    phase = _phase(claim)
    if volume_name:
        pv = state.get("PersistentVolume", "", volume_name)
        if pv is None:
            if phase == "Bound" or (meta.get("annotations") or {}).get(ANN_BIND_COMPLETED):
                if phase != "Lost":
                    claim.setdefault("status", {})["phase"] = "Lost"
                    state.update(claim)
                    state.event(claim, "Warning", "ClaimLost", MSG_CLAIM_LOST, component=PV_CONTROLLER)
            return
        ref = (pv.get("spec") or {}).get("claimRef")
        if phase == "Lost" and not _bound_to(pv, claim):
            return
        if not ref or _bound_to(pv, claim):
            if not ref and not _fits(pv, claim, None):
                return  # syncUnboundClaim: the requested volume does not satisfy the claim; claim stays Pending
            if phase != "Bound" or _phase(pv) != "Bound" or not (ref or {}).get("uid"):
                _bind(state, pv, claim)
            return
        if phase == "Bound":
            # The volume was bound to another claim (or the claim re-created): the binding is lost.
            claim.setdefault("status", {})["phase"] = "Lost"
            state.update(claim)
            state.event(claim, "Warning", "ClaimMisbound", "Two claims are bound to the same volume, this one is bound "
                        "incorrectly", component=PV_CONTROLLER)
        else:
            _event_once(state, claim, "Warning", "FailedBinding",
                        f'volume "{volume_name}" already bound to a different claim.')
        return
    if phase == "Bound":
        return
    class_name = _claim_class(claim)
    storage_class = classes.get(class_name) if class_name else None
    delay_binding = storage_class is not None and storage_class.get("volumeBindingMode") == "WaitForFirstConsumer"
    selected = (meta.get("annotations") or {}).get(ANN_SELECTED_NODE)
    pvs = _live_pvs(state)
    if delay_binding and not selected:
        # FindMatchingVolume with delayBinding and no node: only a volume pre-bound to the claim.
        pv = next((v for v in pvs if _bound_to(v, claim) and not v["metadata"].get("deletionTimestamp")
                   and _fits(v, claim, None)), None)
        if pv is not None:
            _bind(state, pv, claim)
        else:
            _event_once(state, claim, "Normal", "WaitForFirstConsumer", MSG_WAIT_FIRST_CONSUMER)
        return
    # With a selected node, the scheduler's pre-binding and the controller's binding in one: a static
    # volume reachable from that node is preferred to provisioning a new one.
    node = nodes.get(selected) if delay_binding and selected else None
    pv = _best_match(pvs, claim, node)
    if pv is not None:
        _bind(state, pv, claim)
        return
    if not class_name:
        _event_once(state, claim, "Normal", "FailedBinding", MSG_NO_CLASS)
        return
    if storage_class is None:
        _event_once(state, claim, "Warning", "ProvisioningFailed",
                    f'storageclass.storage.k8s.io "{class_name}" not found')
        return
    if (storage_class.get("provisioner") or NO_PROVISIONER) == NO_PROVISIONER:
        return  # static provisioning only: the claim waits for a matching PV
    _provision(state, claim, storage_class, selected)


# ----------------------------------------------------------------- volumes

def _reclaim(state: ClusterState, pv: dict) -> None:
    spec = pv.get("spec") or {}
    policy = spec.get("persistentVolumeReclaimPolicy") or "Retain"
    if policy == "Retain":
        return
    if policy == "Recycle":
        spec.pop("claimRef", None)
        state.update(pv)
        _set_pv_phase(state, pv, "Available")
        state.event(pv, "Normal", "VolumeRecycled", "Volume recycled", component=PV_CONTROLLER)
        return
    annotations = pv["metadata"].get("annotations") or {}
    host_path = (spec.get("hostPath") or {}).get("path")
    if ANN_PROVISIONED_BY not in annotations and host_path is not None and not host_path.startswith("/tmp/"):
        message = f"host_path deleter only supports /tmp/.+ but received provided {host_path}"
        if _phase(pv) != "Failed":
            _set_pv_phase(state, pv, "Failed", message)
            state.event(pv, "Warning", "VolumeFailedDelete", message, component=PV_CONTROLLER)
        return
    delete_object(state, pv)


def _sync_volume(state: ClusterState, pv: dict) -> None:
    meta = pv["metadata"]
    if meta.get("deletionTimestamp"):
        finalizers = meta.get("finalizers") or ()
        if PV_PROTECTION in finalizers and _phase(pv) != "Bound":
            meta["finalizers"] = [f for f in finalizers if f != PV_PROTECTION]
            if not meta["finalizers"]:
                meta.pop("finalizers")
            state.update(pv)
        return
    ref = (pv.get("spec") or {}).get("claimRef")
    phase = _phase(pv)
    if not ref:
        if phase != "Available":
            _set_pv_phase(state, pv, "Available")
        return
    claim = state.get("PersistentVolumeClaim", ref.get("namespace", ""), ref.get("name", ""))
    if claim is not None and ref.get("uid") and claim["metadata"].get("uid") != ref.get("uid"):
        claim = None  # a new claim with the old one's name is not this volume's claim
    if claim is None:
        if not ref.get("uid"):
            if phase != "Available":
                _set_pv_phase(state, pv, "Available")  # pre-bound to a claim that does not exist yet
            return
        if phase in ("Bound", "Pending", "Available", ""):
            _set_pv_phase(state, pv, "Released")
            phase = "Released"
        if phase == "Released":
            _reclaim(state, pv)
        return
    if (claim.get("spec") or {}).get("volumeName") == meta["name"] and phase != "Bound":
        _set_pv_phase(state, pv, "Bound")


def _protect_claim(state: ClusterState, claim: dict, pods: list[dict]) -> None:
    """pvc-protection: the finalizer goes once no running pod mounts the claim."""
    meta = claim["metadata"]
    finalizers = meta.get("finalizers") or ()
    if PVC_PROTECTION not in finalizers:
        return
    name = meta["name"]
    for pod in pods:
        if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            continue
        for volume in (pod.get("spec") or {}).get("volumes") or ():
            if (volume.get("persistentVolumeClaim") or {}).get("claimName") == name:
                return
            if volume.get("ephemeral") and f"{pod['metadata']['name']}-{volume.get('name')}" == name:
                return
    remaining = [f for f in finalizers if f != PVC_PROTECTION]
    if remaining:
        meta["finalizers"] = remaining
    else:
        meta.pop("finalizers", None)
    state.update(claim)


def reconcile(state: ClusterState) -> None:
    pvs = state.list("PersistentVolume")
    claims = state.list("PersistentVolumeClaim")
    if not pvs and not claims:
        return
    for pv in pvs:
        _sync_volume(state, pv)
    if not claims:
        return
    classes = {c["metadata"]["name"]: c for c in state.list("StorageClass")}
    nodes: dict[str, dict] | None = None
    for claim in claims:
        if state.get("PersistentVolumeClaim", claim["metadata"].get("namespace", ""), claim["metadata"]["name"]) \
                is not claim:
            continue
        if claim["metadata"].get("deletionTimestamp"):
            _protect_claim(state, claim, state.list("Pod", claim["metadata"].get("namespace", "")))
            continue
        if nodes is None:
            nodes = {n["metadata"]["name"]: n for n in state.list("Node")}
        _sync_claim(state, claim, classes, nodes)
