"""Server-side defaulting: the fields a real kube-apiserver v1.37 fills in.

Ported from the upstream sources, not guessed:

* pkg/apis/core/v1/defaults.go (+ zz_generated.defaults.go for which nested
  types get which SetDefaults_* and the declarative `+default=` markers:
  container/service port protocol TCP, ReplicationController replicas 1,
  RBD/ISCSI/AzureDisk/ScaleIO volume fields, gRPC probe service "").
* pkg/apis/apps/v1, batch/v1, autoscaling/v1 and v2, networking/v1,
  storage/v1, discovery/v1 defaults.go.
* What the create path adds after defaulting, because a client reading the
  object back sees it: the Job strategy's generated selector (needs the uid,
  so it is `job_selector_and_labels`), the Namespace strategy's
  `kubernetes` finalizer, Pod status (phase Pending + qosClass), the
  ServiceAccount, Priority and DefaultTolerationSeconds admission plugins
  (Pods only, create only; what the last two do on update is
  `pod_update_admission`), and the Service allocator's ipFamilyPolicy /
  ipFamilies (the clusterIP and nodePorts themselves are the caller's job).
* Quantities come back in canonical form (Quantity.String) and every
  ResourceList is rounded up to milli precision (SetDefaults_ResourceList).

Things the real server does NOT default are left absent on purpose (e.g. a
CronJob's jobTemplate gets no Job defaults, because SetDefaults_Job is
registered for *Job, not for JobTemplateSpec).
"""
from __future__ import annotations

import random
import re
from collections.abc import Iterable
from fractions import Fraction
from typing import Any

from clusters.apiserver import schema
from clusters.apiserver.registry import ResourceType
from clusters.engine.resources import QuantityError, format_quantity, match_quantity, round_up

# ---------------------------------------------------------------------------
# Quantities (k8s.io/apimachinery/pkg/api/resource)
# ---------------------------------------------------------------------------

def parse_quantity(text: str) -> tuple[Fraction, str] | None:
    """(exact value, format) for a Kubernetes quantity, or None when it is not one.

    format is "BinarySI", "DecimalSI" or "DecimalExponent", chosen by the
    suffix as upstream does; the value is rounded up to nano precision like
    ParseQuantity (which cannot represent anything finer).
    """
    if not isinstance(text, str):
        return None
    try:
        value, fmt = match_quantity(text)
    except QuantityError:
        return None
    return round_up(value, 9), fmt


def canonical_quantity(s: str) -> str:
    """`0.5` → `500m`, `1024Mi` → `1Gi`, `1.5Gi` → `1536Mi`; invalid input is returned as-is."""
    parsed = parse_quantity(s)
    if parsed is None:
        return s
    return format_quantity(*parsed)


def _canonical_resource_value(value: Any) -> Any:
    """A ResourceList entry: rounded up to milli, canonical, numbers accepted as JSON allows."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        value = str(value)
    elif isinstance(value, float):
        value = repr(value) if value == value and value not in (float("inf"), float("-inf")) else value
    if not isinstance(value, str):
        return value
    parsed = parse_quantity(value)
    if parsed is None:
        return value  # validation rejects it with the original spelling
    amount, fmt = parsed
    return format_quantity(round_up(amount, 3), fmt)


def _canonical_single(value: Any) -> Any:
    """A lone Quantity field (emptyDir.sizeLimit, HPA targets): canonical, no milli rounding."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    elif isinstance(value, float):
        value = repr(value)
    return canonical_quantity(value) if isinstance(value, str) else value


def _resource_list(holder: Any, key: str) -> None:
    rl = holder.get(key) if isinstance(holder, dict) else None
    if isinstance(rl, dict):
        for name in list(rl):
            rl[name] = _canonical_resource_value(rl[name])


# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------

def _d(parent: dict, key: str) -> dict:
    """parent[key] as a dict, created when missing or null (Go's non-nil struct)."""
    value = parent.get(key)
    if not isinstance(value, dict):
        value = {}
        parent[key] = value
    return value


def _dicts(value: Any) -> Iterable[dict]:
    if isinstance(value, list):
        return [item for item in value if isinstance(item, dict)]
    return []


def _unset(obj: dict, key: str) -> bool:
    """Go's "zero value" test for defaulting: absent, null or empty string."""
    return obj.get(key) in (None, "")


# ---------------------------------------------------------------------------
# core/v1: containers, volumes, pod specs
# ---------------------------------------------------------------------------

def image_tag(image: str) -> str:
    """The tag parsers.ParseImageName reports: "latest" when neither tag nor digest is given."""
    if (not isinstance(image, str) or not image or image != image.strip()
            or re.search(r"[A-Z\s]", image.split("@")[0].split("/")[-1].split(":")[0])):
        return ""  # unparsable reference: upstream ignores the error, tag stays empty
    name, _, digest = image.partition("@")
    last = name.rsplit("/", 1)[-1]
    tag = last.rpartition(":")[2] if ":" in last else ""
    if not tag and not digest:
        return "latest"
    return tag


def _pull_policy(image: Any) -> str:
    return "Always" if image_tag(image) == "latest" else "IfNotPresent"


def _http_get(action: Any) -> None:
    if isinstance(action, dict):
        if _unset(action, "path"):
            action["path"] = "/"
        if _unset(action, "scheme"):
            action["scheme"] = "HTTP"


def _probe(probe: Any) -> None:
    if not isinstance(probe, dict):
        return
    for key, default in (("timeoutSeconds", 1), ("periodSeconds", 10), ("successThreshold", 1),
                         ("failureThreshold", 3)):
        if probe.get(key) in (None, 0):
            probe[key] = default
    _http_get(probe.get("httpGet"))
    grpc = probe.get("grpc")
    if isinstance(grpc, dict) and grpc.get("service") is None:
        grpc["service"] = ""  # +default="" on GRPCAction.Service


def _field_ref(holder: Any) -> None:
    if isinstance(holder, dict):
        ref = holder.get("fieldRef")
        if isinstance(ref, dict) and _unset(ref, "apiVersion"):
            ref["apiVersion"] = "v1"


def _container(c: dict) -> None:
    if _unset(c, "imagePullPolicy"):
        c["imagePullPolicy"] = _pull_policy(c.get("image"))
    if _unset(c, "terminationMessagePath"):
        c["terminationMessagePath"] = "/dev/termination-log"
    if _unset(c, "terminationMessagePolicy"):
        c["terminationMessagePolicy"] = "File"
    for port in _dicts(c.get("ports")):
        if _unset(port, "protocol"):
            port["protocol"] = "TCP"
    for env in _dicts(c.get("env")):
        _field_ref(env.get("valueFrom"))
    # ResourceRequirements is a struct, so `resources: {}` is always serialized.
    resources = _d(c, "resources")
    _resource_list(resources, "limits")
    _resource_list(resources, "requests")
    for name in ("livenessProbe", "readinessProbe", "startupProbe"):
        _probe(c.get(name))
    lifecycle = c.get("lifecycle")
    if isinstance(lifecycle, dict):
        for hook in ("postStart", "preStop"):
            if isinstance(lifecycle.get(hook), dict):
                _http_get(lifecycle[hook].get("httpGet"))


def _pvc_spec(spec: Any) -> None:
    if not isinstance(spec, dict):
        return
    if _unset(spec, "volumeMode"):
        spec["volumeMode"] = "Filesystem"
    resources = spec.get("resources")
    _resource_list(resources, "limits")
    _resource_list(resources, "requests")


def _volume_source_keys() -> list[str]:
    try:
        return [k for k in schema.definition("io.k8s.api.core.v1.Volume")["properties"] if k != "name"]
    except Exception:  # schema missing: fall back to the common sources
        return ["emptyDir", "hostPath", "configMap", "secret", "persistentVolumeClaim", "projected",
                "downwardAPI", "nfs", "csi", "ephemeral", "image"]


_VOLUME_SOURCES: list[str] | None = None


def _legacy_disk_sources(v: dict) -> None:
    """Declarative defaults of the in-tree disk plugins (shared by Volume and PV)."""
    if isinstance(v.get("hostPath"), dict) and v["hostPath"].get("type") is None:
        v["hostPath"]["type"] = ""
    iscsi = v.get("iscsi")
    if isinstance(iscsi, dict) and _unset(iscsi, "iscsiInterface"):
        iscsi["iscsiInterface"] = "default"
    rbd = v.get("rbd")
    if isinstance(rbd, dict):
        for key, default in (("pool", "rbd"), ("user", "admin"), ("keyring", "/etc/ceph/keyring")):
            if _unset(rbd, key):
                rbd[key] = default
    azure = v.get("azureDisk")
    if isinstance(azure, dict):
        for key, default in (("cachingMode", "ReadWrite"), ("kind", "Shared"), ("fsType", "ext4"),
                             ("readOnly", False)):
            if azure.get(key) is None:
                azure[key] = default
    scaleio = v.get("scaleIO")
    if isinstance(scaleio, dict):
        for key, default in (("storageMode", "ThinProvisioned"), ("fsType", "xfs")):
            if _unset(scaleio, key):
                scaleio[key] = default


def _volume(v: dict) -> None:
    global _VOLUME_SOURCES
    if _VOLUME_SOURCES is None:
        _VOLUME_SOURCES = _volume_source_keys()
    if not any(v.get(key) is not None for key in _VOLUME_SOURCES):
        v["emptyDir"] = {}
    _legacy_disk_sources(v)
    for key in ("secret", "configMap", "downwardAPI", "projected"):
        source = v.get(key)
        if isinstance(source, dict) and source.get("defaultMode") is None:
            source["defaultMode"] = 420  # 0644
    if isinstance(v.get("emptyDir"), dict) and v["emptyDir"].get("sizeLimit") is not None:
        v["emptyDir"]["sizeLimit"] = _canonical_single(v["emptyDir"]["sizeLimit"])
    if isinstance(v.get("downwardAPI"), dict):
        for item in _dicts(v["downwardAPI"].get("items")):
            _field_ref(item)
    if isinstance(v.get("projected"), dict):
        for source in _dicts(v["projected"].get("sources")):
            if isinstance(source.get("downwardAPI"), dict):
                for item in _dicts(source["downwardAPI"].get("items")):
                    _field_ref(item)
            token = source.get("serviceAccountToken")
            if isinstance(token, dict) and token.get("expirationSeconds") is None:
                token["expirationSeconds"] = 3600
    image = v.get("image")
    if isinstance(image, dict) and _unset(image, "pullPolicy"):
        image["pullPolicy"] = _pull_policy(image.get("reference"))
    ephemeral = v.get("ephemeral")
    if isinstance(ephemeral, dict) and isinstance(ephemeral.get("volumeClaimTemplate"), dict):
        _pvc_spec(ephemeral["volumeClaimTemplate"].get("spec"))


def _pod_spec(spec: dict) -> None:
    """SetDefaults_PodSpec plus the nested defaulters, for Pods and pod templates alike."""
    if _unset(spec, "dnsPolicy"):
        spec["dnsPolicy"] = "ClusterFirst"
    if _unset(spec, "restartPolicy"):
        spec["restartPolicy"] = "Always"
    if spec.get("securityContext") is None:
        spec["securityContext"] = {}
    if spec.get("terminationGracePeriodSeconds") is None:
        spec["terminationGracePeriodSeconds"] = 30
    if _unset(spec, "schedulerName"):
        spec["schedulerName"] = "default-scheduler"
    # v1 conversion keeps the deprecated serviceAccount equal to serviceAccountName.
    if not _unset(spec, "serviceAccountName"):
        spec["serviceAccount"] = spec["serviceAccountName"]
    elif not _unset(spec, "serviceAccount"):
        spec["serviceAccountName"] = spec["serviceAccount"]
    for volume in _dicts(spec.get("volumes")):
        _volume(volume)
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for container in _dicts(spec.get(key)):
            _container(container)
    _resource_list(spec, "overhead")
    if isinstance(spec.get("resources"), dict):
        _resource_list(spec["resources"], "limits")
        _resource_list(spec["resources"], "requests")


def _pod_template(holder: Any) -> None:
    """A PodTemplateSpec: its metadata struct always serializes, its spec gets PodSpec defaults."""
    if not isinstance(holder, dict):
        return
    template = holder.get("template")
    if not isinstance(template, dict):
        return
    if template.get("metadata") is None:
        template["metadata"] = {}
    _pod_spec(_d(template, "spec"))


# --- Pod-only defaults and create-time admission -----------------------------

SERVICE_ACCOUNT_TOKEN_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
SYSTEM_PRIORITY_CLASSES = {"system-node-critical": 2000001000, "system-cluster-critical": 2000000000}
_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # names.SimpleNameGenerator


def _requests_from_limits(containers: Any) -> None:
    for c in _dicts(containers):
        resources = c.get("resources")
        if isinstance(resources, dict) and isinstance(resources.get("limits"), dict):
            requests = _d(resources, "requests")
            for name, value in resources["limits"].items():
                requests.setdefault(name, value)


def _quantity_value(value: Any) -> Fraction:
    parsed = parse_quantity(str(value)) if value is not None else None
    return parsed[0] if parsed else Fraction(0)


def pod_qos_class(spec: dict) -> str:
    """helper/qos.GetPodQOS: Guaranteed, Burstable or BestEffort."""
    supported = ("cpu", "memory")
    pod_resources = spec.get("resources")
    if isinstance(pod_resources, dict) and (pod_resources.get("requests") or pod_resources.get("limits")):
        holders = [pod_resources]  # pod-level resources decide when they are set
        guaranteed_each = [set(pod_resources.get("limits") or {}) >= set(supported)]
    else:
        holders, guaranteed_each = [], []
        for c in _dicts(spec.get("containers")) + list(_dicts(spec.get("initContainers"))):
            r = c.get("resources") if isinstance(c.get("resources"), dict) else {}
            holders.append(r)
            found = {n for n, q in (r.get("limits") or {}).items() if n in supported and _quantity_value(q) > 0}
            guaranteed_each.append(found >= set(supported))
    requests: dict[str, Fraction] = {}
    limits: dict[str, Fraction] = {}
    for r in holders:
        for name, q in (r.get("requests") or {}).items():
            if name in supported and _quantity_value(q) > 0:
                requests[name] = requests.get(name, Fraction(0)) + _quantity_value(q)
        for name, q in (r.get("limits") or {}).items():
            if name in supported and _quantity_value(q) > 0:
                limits[name] = limits.get(name, Fraction(0)) + _quantity_value(q)
    if not requests and not limits:
        return "BestEffort"
    guaranteed = all(guaranteed_each)
    if guaranteed and any(limits.get(name) != value for name, value in requests.items()):
        guaranteed = False
    if guaranteed and len(requests) == len(limits):
        return "Guaranteed"
    return "Burstable"


def _service_account_admission(pod: dict, spec: dict, rng: random.Random) -> None:
    """plugin/pkg/admission/serviceaccount: default SA and the kube-api-access token volume."""
    annotations = (pod.get("metadata") or {}).get("annotations") or {}
    if "kubernetes.io/config.mirror" in annotations:
        return  # mirror pods are left alone
    if _unset(spec, "serviceAccountName"):
        spec["serviceAccountName"] = "default"
    spec["serviceAccount"] = spec["serviceAccountName"]
    if spec.get("automountServiceAccountToken") is False:
        return
    volumes = spec.get("volumes") if isinstance(spec.get("volumes"), list) else []
    token_volume = next((v.get("name") for v in _dicts(volumes)
                         if str(v.get("name", "")).startswith("kube-api-access-")), None)
    name = token_volume or "kube-api-access-" + "".join(rng.choice(_NAME_ALPHABET) for _ in range(5))
    needs_volume = False
    for key in ("initContainers", "containers"):
        for c in _dicts(spec.get(key)):
            mounts = c.get("volumeMounts") if isinstance(c.get("volumeMounts"), list) else []
            if not any(isinstance(m, dict) and m.get("mountPath") == SERVICE_ACCOUNT_TOKEN_PATH for m in mounts):
                mounts.append({"mountPath": SERVICE_ACCOUNT_TOKEN_PATH, "name": name, "readOnly": True})
                c["volumeMounts"] = mounts
                needs_volume = True
    if needs_volume and token_volume is None:
        volumes.append({"name": name, "projected": {
            "defaultMode": 420,
            "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"items": [{"key": "ca.crt", "path": "ca.crt"}], "name": "kube-root-ca.crt"}},
                {"downwardAPI": {"items": [{"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"},
                                            "path": "namespace"}]}},
            ]}})
        spec["volumes"] = volumes


def _priority_admission(spec: dict) -> None:
    """plugin/pkg/admission/priority with no default PriorityClass in the cluster."""
    class_name = spec.get("priorityClassName") or ""
    if spec.get("priority") is None:
        if not class_name:
            spec["priority"] = 0
        elif class_name in SYSTEM_PRIORITY_CLASSES:
            spec["priority"] = SYSTEM_PRIORITY_CLASSES[class_name]
    if _unset(spec, "preemptionPolicy"):
        spec["preemptionPolicy"] = "PreemptLowerPriority"


def _default_toleration_seconds(spec: dict) -> None:
    """plugin/pkg/admission/defaulttolerationseconds: 300 s for not-ready and unreachable."""
    tolerations = spec.get("tolerations") if isinstance(spec.get("tolerations"), list) else []
    wanted = {"node.kubernetes.io/not-ready": False, "node.kubernetes.io/unreachable": False}
    for t in _dicts(tolerations):
        key, effect = t.get("key") or "", t.get("effect") or ""
        for taint in wanted:
            if key in (taint, "") and effect in ("NoExecute", ""):
                wanted[taint] = True
    for taint, tolerated in wanted.items():
        if not tolerated:
            tolerations.append({"effect": "NoExecute", "key": taint, "operator": "Exists",
                                "tolerationSeconds": 300})
    spec["tolerations"] = tolerations


def pod_update_admission(new: dict, old: dict) -> None:
    """The admission plugins that also run on a Pod's update (not its subresources), after defaulting and
    before ValidatePodUpdate compares old and new:

    * plugin/pkg/admission/priority: a new object without spec.priority / spec.preemptionPolicy keeps the
      old one's (it set them on create);
    * plugin/pkg/admission/defaulttolerationseconds (Create and Update): the not-ready and unreachable
      tolerations are appended again unless tolerated already, so re-applying a manifest with its own
      tolerations (kubectl's patch replaces the atomic list) changes nothing.
    """
    spec = _d(new, "spec")
    old_spec = old.get("spec") if isinstance(old.get("spec"), dict) else {}
    for key in ("priority", "preemptionPolicy"):
        if spec.get(key) is None and old_spec.get(key) is not None:
            spec[key] = old_spec[key]
    _default_toleration_seconds(spec)


def _pod(obj: dict, rt: ResourceType, create: bool) -> None:
    spec = _d(obj, "spec")
    # SetDefaults_Pod (not templates): requests default to limits, service links on.
    _requests_from_limits(spec.get("containers"))
    _requests_from_limits(spec.get("initContainers"))
    if spec.get("enableServiceLinks") is None:
        spec["enableServiceLinks"] = True
    if spec.get("hostNetwork") is True:
        for key in ("initContainers", "containers"):
            for c in _dicts(spec.get(key)):
                for port in _dicts(c.get("ports")):
                    if not port.get("hostPort"):
                        port["hostPort"] = port.get("containerPort")
    _pod_spec(spec)


def _pod_admission(obj: dict, rng: random.Random) -> None:
    """What a new Pod gets after defaulting: the admission plugins, then the strategy's status."""
    spec = _d(obj, "spec")
    _service_account_admission(obj, spec, rng)
    _priority_admission(spec)
    _default_toleration_seconds(spec)
    # The Pod strategy's PrepareForCreate resets status to Pending + QoS class.
    if not obj.get("status"):
        obj["status"] = {"phase": "Pending", "qosClass": pod_qos_class(spec)}


# ---------------------------------------------------------------------------
# Kinds
# ---------------------------------------------------------------------------

def _pod_template_kind(obj: dict, rt: ResourceType, create: bool) -> None:
    _pod_template(obj)


def _replication_controller(obj: dict, rt: ResourceType, create: bool) -> None:
    spec = _d(obj, "spec")
    template = spec.get("template")
    labels = ((template or {}).get("metadata") or {}).get("labels") if isinstance(template, dict) else None
    if labels:
        if not spec.get("selector"):
            spec["selector"] = dict(labels)
        metadata = _d(obj, "metadata")
        if not metadata.get("labels"):
            metadata["labels"] = dict(labels)
    if spec.get("replicas") is None:
        spec["replicas"] = 1
    _pod_template(spec)


def _deployment(obj: dict, rt: ResourceType, create: bool) -> None:
    spec = _d(obj, "spec")
    if spec.get("replicas") is None:
        spec["replicas"] = 1
    strategy = _d(spec, "strategy")
    if _unset(strategy, "type"):
        strategy["type"] = "RollingUpdate"
    if strategy["type"] == "RollingUpdate":
        rolling = _d(strategy, "rollingUpdate")
        if rolling.get("maxUnavailable") is None:
            rolling["maxUnavailable"] = "25%"
        if rolling.get("maxSurge") is None:
            rolling["maxSurge"] = "25%"
    if spec.get("revisionHistoryLimit") is None:
        spec["revisionHistoryLimit"] = 10
    if spec.get("progressDeadlineSeconds") is None:
        spec["progressDeadlineSeconds"] = 600
    _pod_template(spec)


def _replica_set(obj: dict, rt: ResourceType, create: bool) -> None:
    spec = _d(obj, "spec")
    if spec.get("replicas") is None:
        spec["replicas"] = 1
    _pod_template(spec)


def _daemon_set(obj: dict, rt: ResourceType, create: bool) -> None:
    spec = _d(obj, "spec")
    strategy = _d(spec, "updateStrategy")
    if _unset(strategy, "type"):
        strategy["type"] = "RollingUpdate"
    if strategy["type"] == "RollingUpdate":
        rolling = _d(strategy, "rollingUpdate")
        if rolling.get("maxUnavailable") is None:
            rolling["maxUnavailable"] = 1
        if rolling.get("maxSurge") is None:
            rolling["maxSurge"] = 0
    if spec.get("revisionHistoryLimit") is None:
        spec["revisionHistoryLimit"] = 10
    _pod_template(spec)


def _pvc_object(pvc: dict) -> None:
    """SetDefaults_PersistentVolumeClaim + spec defaults + ResourceLists."""
    _pvc_spec(_d(pvc, "spec"))
    status = _d(pvc, "status")
    if _unset(status, "phase"):
        status["phase"] = "Pending"
    _resource_list(status, "capacity")
    _resource_list(status, "allocatedResources")


def _stateful_set(obj: dict, rt: ResourceType, create: bool) -> None:
    spec = _d(obj, "spec")
    if _unset(spec, "podManagementPolicy"):
        spec["podManagementPolicy"] = "OrderedReady"
    strategy = _d(spec, "updateStrategy")
    if _unset(strategy, "type"):
        strategy["type"] = "RollingUpdate"
        if strategy.get("rollingUpdate") is None:
            strategy["rollingUpdate"] = {}
    rolling = strategy.get("rollingUpdate")
    if strategy["type"] == "RollingUpdate" and isinstance(rolling, dict) and rolling.get("partition") is None:
        rolling["partition"] = 0
    retention = _d(spec, "persistentVolumeClaimRetentionPolicy")
    for key in ("whenDeleted", "whenScaled"):
        if _unset(retention, key):
            retention[key] = "Retain"
    if spec.get("replicas") is None:
        spec["replicas"] = 1
    if spec.get("revisionHistoryLimit") is None:
        spec["revisionHistoryLimit"] = 10
    for claim in _dicts(spec.get("volumeClaimTemplates")):
        # Real servers return the embedded claims with their TypeMeta filled in.
        claim.setdefault("apiVersion", "v1")
        claim.setdefault("kind", "PersistentVolumeClaim")
        _pvc_object(claim)
    _pod_template(spec)


def _pod_failure_policy(spec: dict) -> None:
    policy = spec.get("podFailurePolicy")
    if isinstance(policy, dict):
        for rule in _dicts(policy.get("rules")):
            for pattern in _dicts(rule.get("onPodConditions")):
                if _unset(pattern, "status"):
                    pattern["status"] = "True"


def _job(obj: dict, rt: ResourceType, create: bool) -> None:
    spec = _d(obj, "spec")
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
        spec["parallelism"] = 1
    if spec.get("parallelism") is None:
        spec["parallelism"] = 1
    if spec.get("backoffLimit") is None:
        spec["backoffLimit"] = 2147483647 if spec.get("backoffLimitPerIndex") is not None else 6
    template_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") \
        if isinstance(spec.get("template"), dict) else None
    metadata = _d(obj, "metadata")
    if template_labels and not metadata.get("labels"):
        metadata["labels"] = dict(template_labels)
    if spec.get("completionMode") is None:
        spec["completionMode"] = "NonIndexed"
    if spec.get("suspend") is None:
        spec["suspend"] = False
    _pod_failure_policy(spec)
    if spec.get("podReplacementPolicy") is None:
        spec["podReplacementPolicy"] = "Failed" if spec.get("podFailurePolicy") is not None else "TerminatingOrFailed"
    if spec.get("manualSelector") is None:
        spec["manualSelector"] = False
    _pod_template(spec)


def job_selector_and_labels(job: dict, uid: str | None = None) -> None:
    """The Job strategy's PrepareForCreate: generated selector and pod template labels.

    Needs metadata.uid (pass `uid` or set it first). Skipped with
    manualSelector: true. Afterwards the Job's own labels default to the
    template labels when empty, as upstream's defaulting does when the
    object is read back from storage.
    """
    metadata = _d(job, "metadata")
    uid = uid or metadata.get("uid") or ""
    name = metadata.get("name") or ""
    spec = _d(job, "spec")
    if spec.get("manualSelector") is True:
        return
    template = _d(spec, "template")
    template_meta = _d(template, "metadata")
    labels = _d(template_meta, "labels")
    for key in ("job-name", "batch.kubernetes.io/job-name"):
        labels.setdefault(key, name)
    for key in ("controller-uid", "batch.kubernetes.io/controller-uid"):
        labels.setdefault(key, uid)
    selector = _d(spec, "selector")
    match_labels = _d(selector, "matchLabels")
    match_labels.setdefault("batch.kubernetes.io/controller-uid", uid)
    if not metadata.get("labels"):
        metadata["labels"] = dict(labels)


def _cron_job(obj: dict, rt: ResourceType, create: bool) -> None:
    spec = _d(obj, "spec")
    if _unset(spec, "concurrencyPolicy"):
        spec["concurrencyPolicy"] = "Allow"
    if spec.get("suspend") is None:
        spec["suspend"] = False
    if spec.get("successfulJobsHistoryLimit") is None:
        spec["successfulJobsHistoryLimit"] = 3
    if spec.get("failedJobsHistoryLimit") is None:
        spec["failedJobsHistoryLimit"] = 1
    job_template = _d(spec, "jobTemplate")
    if job_template.get("metadata") is None:
        job_template["metadata"] = {}
    job_spec = _d(job_template, "spec")
    # Only the type-level defaulters reach inside a JobTemplateSpec; SetDefaults_Job does not.
    _pod_failure_policy(job_spec)
    _pod_template(job_spec)


def _service(obj: dict, rt: ResourceType, create: bool) -> None:
    spec = _d(obj, "spec")
    if _unset(spec, "sessionAffinity"):
        spec["sessionAffinity"] = "None"
    if spec["sessionAffinity"] == "None":
        spec.pop("sessionAffinityConfig", None)
    elif spec["sessionAffinity"] == "ClientIP":
        config = spec.get("sessionAffinityConfig")
        client_ip = config.get("clientIP") if isinstance(config, dict) else None
        if not isinstance(client_ip, dict) or client_ip.get("timeoutSeconds") is None:
            spec["sessionAffinityConfig"] = {"clientIP": {"timeoutSeconds": 10800}}
    if _unset(spec, "type"):
        spec["type"] = "ClusterIP"
    svc_type = spec["type"]
    for port in _dicts(spec.get("ports")):
        if _unset(port, "protocol"):
            port["protocol"] = "TCP"
        if port.get("targetPort") in (None, 0, ""):
            port["targetPort"] = port.get("port")
    externally_accessible = svc_type in ("LoadBalancer", "NodePort") or (
        svc_type == "ClusterIP" and bool(spec.get("externalIPs")))
    if externally_accessible and _unset(spec, "externalTrafficPolicy"):
        spec["externalTrafficPolicy"] = "Cluster"
    if spec.get("internalTrafficPolicy") is None and svc_type in ("NodePort", "LoadBalancer", "ClusterIP"):
        spec["internalTrafficPolicy"] = "Cluster"
    if svc_type == "LoadBalancer" and spec.get("allocateLoadBalancerNodePorts") is None:
        spec["allocateLoadBalancerNodePorts"] = True
    if svc_type == "LoadBalancer":
        ingress = ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress")
        for entry in _dicts(ingress):
            if entry.get("ip") and entry.get("ipMode") is None:
                entry["ipMode"] = "VIP"
    if svc_type != "ExternalName":
        # v1 conversion keeps clusterIP and clusterIPs[0] in step.
        if not _unset(spec, "clusterIP") and not spec.get("clusterIPs"):
            spec["clusterIPs"] = [spec["clusterIP"]]
        elif _unset(spec, "clusterIP") and spec.get("clusterIPs"):
            spec["clusterIP"] = spec["clusterIPs"][0]
        _service_ip_families(spec)
    status = _d(obj, "status")
    if status.get("loadBalancer") is None:
        status["loadBalancer"] = {}


def _service_ip_families(spec: dict) -> None:
    """registry/core/service/storage/alloc.go initIPFamilyFields on a single-stack IPv4 cluster."""
    headless_selectorless = spec.get("clusterIP") == "None" and not spec.get("selector")
    if spec.get("ipFamilyPolicy") is None:
        spec["ipFamilyPolicy"] = "RequireDualStack" if headless_selectorless else "SingleStack"
    families = spec.get("ipFamilies")
    if not families:
        families = []
        for ip in spec.get("clusterIPs") or []:
            if ip == "None":
                break
            families.append("IPv6" if ":" in str(ip) else "IPv4")
        if not families:
            families = ["IPv4"]
    if headless_selectorless and len(families) < 2 and spec["ipFamilyPolicy"] != "SingleStack":
        families = families + ["IPv6" if families[0] == "IPv4" else "IPv4"]
    spec["ipFamilies"] = families


def _endpoints(obj: dict, rt: ResourceType, create: bool) -> None:
    for subset in _dicts(obj.get("subsets")):
        for port in _dicts(subset.get("ports")):
            if _unset(port, "protocol"):
                port["protocol"] = "TCP"


def _endpoint_slice(obj: dict, rt: ResourceType, create: bool) -> None:
    for port in _dicts(obj.get("ports")):
        if port.get("name") is None:
            port["name"] = ""
        if port.get("protocol") is None:
            port["protocol"] = "TCP"


def _pvc(obj: dict, rt: ResourceType, create: bool) -> None:
    _pvc_object(obj)


def _pv(obj: dict, rt: ResourceType, create: bool) -> None:
    spec = _d(obj, "spec")
    status = _d(obj, "status")
    if _unset(status, "phase"):
        status["phase"] = "Pending"
    if _unset(spec, "persistentVolumeReclaimPolicy"):
        spec["persistentVolumeReclaimPolicy"] = "Retain"
    if _unset(spec, "volumeMode"):
        spec["volumeMode"] = "Filesystem"
    _resource_list(spec, "capacity")
    _legacy_disk_sources(spec)


def _namespace(obj: dict, rt: ResourceType, create: bool) -> None:
    metadata = _d(obj, "metadata")
    if metadata.get("name"):
        labels = _d(metadata, "labels")
        labels["kubernetes.io/metadata.name"] = metadata["name"]
    status = _d(obj, "status")
    if _unset(status, "phase"):
        status["phase"] = "Active"
    if create:
        # Namespace strategy PrepareForCreate: the kubernetes finalizer is required on create.
        spec = _d(obj, "spec")
        finalizers = spec.get("finalizers") if isinstance(spec.get("finalizers"), list) else []
        if "kubernetes" not in finalizers:
            finalizers.append("kubernetes")
        spec["finalizers"] = finalizers


def _secret(obj: dict, rt: ResourceType, create: bool) -> None:
    if _unset(obj, "type"):
        obj["type"] = "Opaque"


def _node(obj: dict, rt: ResourceType, create: bool) -> None:
    status = obj.get("status")
    if isinstance(status, dict):
        if status.get("allocatable") is None and isinstance(status.get("capacity"), dict):
            status["allocatable"] = dict(status["capacity"])
        _resource_list(status, "capacity")
        _resource_list(status, "allocatable")


def _limit_range(obj: dict, rt: ResourceType, create: bool) -> None:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return
    for item in _dicts(spec.get("limits")):
        if item.get("type") == "Container":
            default = _d(item, "default")
            default_request = _d(item, "defaultRequest")
            for key, value in (item.get("max") or {}).items():
                default.setdefault(key, value)
            for key, value in default.items():
                default_request.setdefault(key, value)
            for key, value in (item.get("min") or {}).items():
                default_request.setdefault(key, value)
            # Empty maps are omitted on the wire (omitempty).
            for key in ("default", "defaultRequest"):
                if not item[key]:
                    del item[key]
        for key in ("max", "min", "default", "defaultRequest", "maxLimitRequestRatio"):
            _resource_list(item, key)


def _resource_quota(obj: dict, rt: ResourceType, create: bool) -> None:
    _resource_list(obj.get("spec"), "hard")
    _resource_list(obj.get("status"), "hard")
    _resource_list(obj.get("status"), "used")


_SCALE_UP_RULES = {"policies": [{"periodSeconds": 15, "type": "Pods", "value": 4},
                                {"periodSeconds": 15, "type": "Percent", "value": 100}],
                   "selectPolicy": "Max", "stabilizationWindowSeconds": 0}
_SCALE_DOWN_RULES = {"policies": [{"periodSeconds": 15, "type": "Percent", "value": 100}],
                     "selectPolicy": "Max"}


def _hpa_rules(given: Any, defaults: dict) -> dict:
    """copyHPAScalingRules: given fields win, the rest come from the default rules."""
    import copy
    rules = copy.deepcopy(defaults)
    if isinstance(given, dict):
        for key in ("selectPolicy", "stabilizationWindowSeconds", "policies", "tolerance"):
            if given.get(key) is not None:
                rules[key] = given[key]
    return rules


def _hpa(obj: dict, rt: ResourceType, create: bool) -> None:
    spec = _d(obj, "spec")
    if spec.get("minReplicas") is None:
        spec["minReplicas"] = 1
    if rt.version == "v1":
        # autoscaling/v1 applies the 80 % CPU default in conversion (the metric is stored in v2).
        if spec.get("targetCPUUtilizationPercentage") is None:
            spec["targetCPUUtilizationPercentage"] = 80
        return
    if not spec.get("metrics"):
        spec["metrics"] = [{"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]
    for metric in _dicts(spec.get("metrics")):
        for source in metric.values():
            target = source.get("target") if isinstance(source, dict) else None
            if isinstance(target, dict):
                for key in ("value", "averageValue"):
                    if target.get(key) is not None:
                        target[key] = _canonical_single(target[key])
    behavior = spec.get("behavior")
    if isinstance(behavior, dict):
        behavior["scaleUp"] = _hpa_rules(behavior.get("scaleUp"), _SCALE_UP_RULES)
        behavior["scaleDown"] = _hpa_rules(behavior.get("scaleDown"), _SCALE_DOWN_RULES)


def _network_policy(obj: dict, rt: ResourceType, create: bool) -> None:
    spec = _d(obj, "spec")
    for direction in ("ingress", "egress"):
        for rule in _dicts(spec.get(direction)):
            for port in _dicts(rule.get("ports")):
                if port.get("protocol") is None:
                    port["protocol"] = "TCP"
    if not spec.get("policyTypes"):
        spec["policyTypes"] = ["Ingress"] + (["Egress"] if spec.get("egress") else [])


def _ingress_class(obj: dict, rt: ResourceType, create: bool) -> None:
    parameters = (obj.get("spec") or {}).get("parameters")
    if isinstance(parameters, dict) and parameters.get("scope") is None:
        parameters["scope"] = "Cluster"


def _ingress(obj: dict, rt: ResourceType, create: bool) -> None:
    status = _d(obj, "status")
    if status.get("loadBalancer") is None:
        status["loadBalancer"] = {}


def _storage_class(obj: dict, rt: ResourceType, create: bool) -> None:
    if obj.get("reclaimPolicy") is None:
        obj["reclaimPolicy"] = "Delete"
    if obj.get("volumeBindingMode") is None:
        obj["volumeBindingMode"] = "Immediate"


def _pdb(obj: dict, rt: ResourceType, create: bool) -> None:
    if create:
        # PrepareForCreate resets status; its four counters are not omitempty.
        status = _d(obj, "status")
        for key in ("currentHealthy", "desiredHealthy", "disruptionsAllowed", "expectedPods"):
            status.setdefault(key, 0)


_BY_KIND = {
    "Pod": _pod,
    "PodTemplate": _pod_template_kind,
    "ReplicationController": _replication_controller,
    "Deployment": _deployment,
    "ReplicaSet": _replica_set,
    "DaemonSet": _daemon_set,
    "StatefulSet": _stateful_set,
    "Job": _job,
    "CronJob": _cron_job,
    "Service": _service,
    "Endpoints": _endpoints,
    "EndpointSlice": _endpoint_slice,
    "PersistentVolumeClaim": _pvc,
    "PersistentVolume": _pv,
    "Namespace": _namespace,
    "Secret": _secret,
    "Node": _node,
    "LimitRange": _limit_range,
    "ResourceQuota": _resource_quota,
    "HorizontalPodAutoscaler": _hpa,
    "NetworkPolicy": _network_policy,
    "IngressClass": _ingress_class,
    "Ingress": _ingress,
    "StorageClass": _storage_class,
    "PodDisruptionBudget": _pdb,
}


def _initial_status(obj: dict, rt: ResourceType) -> None:
    """A freshly created object's status as Go serializes the zero struct.

    `status` is a non-pointer struct, so it is always written (`status: {}`),
    and its fields without omitempty (the schema's `required`) appear as 0.
    """
    if rt.schema_name is None or not rt.stored:
        return
    try:
        node = schema.resolve(schema.definition(rt.schema_name))
        status_schema = schema.resolve((node.get("properties") or {}).get("status"))
    except Exception:
        return
    if not status_schema:
        return
    status = obj.get("status")
    if not isinstance(status, dict):
        status = {}
        obj["status"] = status
    props = status_schema.get("properties") or {}
    for key in status_schema.get("required") or []:
        if key not in status and "integer" in schema.types_of(props.get(key) or {}):
            status[key] = 0


def apply_defaults(obj: dict, rt: ResourceType, *, create: bool = True,
                   rng: random.Random | None = None) -> None:
    """Fill in what kube-apiserver defaults for `rt`, mutating `obj` in place.

    `create=False` (updates) skips what only happens when an object is first
    created: admission plugins, strategy PrepareForCreate (Pod status,
    Namespace finalizer, PDB status) and the zero-valued initial status.

    `rng` draws the names admission generates (a new Pod's
    `kube-api-access-xxxxx` volume): pass the cluster's seeded generator, so
    the same cluster, seed and requests always produce the same objects.
    Without one, a generator seeded by the object's namespace and name is used,
    which is just as reproducible.
    """
    if not isinstance(obj, dict):
        return
    handler = _BY_KIND.get(rt.kind)
    if handler is not None:
        handler(obj, rt, create)
    if create:
        if rt.kind == "Pod":
            _pod_admission(obj, rng if rng is not None else _object_rng(obj))
        _initial_status(obj, rt)


def _object_rng(obj: dict) -> random.Random:
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    return random.Random(f"defaults:{meta.get('namespace', '')}/{meta.get('name', '')}")
