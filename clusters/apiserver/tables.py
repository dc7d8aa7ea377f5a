"""Server-side printing: the meta.k8s.io/v1 Table `kubectl get` asks for.

kubectl does not format resources itself: it asks the API server for
`application/json;as=Table;v=v1;g=meta.k8s.io` and prints the columns it gets
back (priority-1 columns only with `-o wide`). So the columns and every cell
here are ports of the real kube-apiserver's printers,
k8s.io/kubernetes/pkg/printers/internalversion/printers.go (AddHandlers and the
print* functions), of k8s.io/apimachinery/pkg/util/duration.HumanDuration, of
the generic DefaultTableConvertor (k8s.io/apiserver/pkg/registry/rest) for
kinds without a printer, and of metrics-server's table for PodMetrics and
NodeMetrics. Where a printer reads a field of the *internal* type (which the
server converts every stored object to before printing), the code reads the
v1 JSON field it comes from.

The real server always generates the wide cells (GenerateOptions{Wide: true})
and lets kubectl drop the priority-1 columns, so every row carries them.

Pure module: objects are plain dicts in the Kubernetes JSON shape.
"""
from __future__ import annotations

import functools
import re
from collections.abc import Callable
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

from clusters.engine.resources import DECIMAL_SI, QuantityError, format_quantity, match_quantity

Row = list[Any]
Printer = Callable[[dict, datetime], Row]

# --------------------------------------------------------------------------- descriptions
# Upstream fills `description` from the Go types' SwaggerDoc(), i.e. the same
# doc comments the OpenAPI schema carries; we read them from the served schema
# (kubernetes-validate, same version) so the text matches, and fall back to ""
# (what SwaggerDoc() gives for an unknown key) if the schema is not at hand.

_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"


@functools.cache
def _doc(ref: str) -> str:
    """`io.k8s.api.core.v1.PodStatus.podIP` → that field's description."""
    definition, _, field_name = ref.rpartition(".")
    try:
        from clusters.apiserver import schema  # sibling pure module; lazy so tables work without the schema package
        props = schema.definition(definition).get("properties", {})
        return str(props.get(field_name, {}).get("description", ""))
    except Exception:
        return ""


def _col(name: str, type_: str = "string", description: str = "", *, fmt: str = "", priority: int = 0,
         doc: str | None = None) -> dict:
    return {"name": name, "type": type_, "format": fmt,
            "description": _doc(doc) if doc else description, "priority": priority}


def _name_col() -> dict:
    return _col("Name", fmt="name", doc=f"{_META}.name")


def _age_col() -> dict:
    return _col("Age", doc=f"{_META}.creationTimestamp")


_CONTAINERS_DESC = "Names of each container in the template."
_IMAGES_DESC = "Images referenced by each container in the template."

_CORE = "io.k8s.api.core.v1"
_APPS = "io.k8s.api.apps.v1"
_BATCH = "io.k8s.api.batch.v1"


def _columns_table() -> dict[str, Callable[[], list[dict]]]:
    # Order and names exactly as AddHandlers declares them.
    return {
        "Pod": lambda: [
            _name_col(),
            _col("Ready", description="The aggregate readiness state of this pod for accepting traffic."),
            _col("Status", description="The aggregate status of the containers in this pod."),
            # a string since 1.22: "3 (5m ago)"
            _col("Restarts", description="The number of times the containers in this pod have been restarted "
                                         "and when the last container in this pod has restarted."),
            _age_col(),
            _col("IP", priority=1, doc=f"{_CORE}.PodStatus.podIP"),
            _col("Node", priority=1, doc=f"{_CORE}.PodSpec.nodeName"),
            _col("Nominated Node", priority=1, doc=f"{_CORE}.PodStatus.nominatedNodeName"),
            _col("Readiness Gates", priority=1, doc=f"{_CORE}.PodSpec.readinessGates"),
        ],
        "PodTemplate": lambda: [
            _name_col(),
            _col("Containers", description=_CONTAINERS_DESC),
            _col("Images", description=_IMAGES_DESC),
            _col("Pod Labels", description="The labels for the pod template."),
        ],
        "PodDisruptionBudget": lambda: [
            _name_col(),
            _col("Min Available", description="The minimum number of pods that must be available."),
            _col("Max Unavailable", description="The maximum number of pods that may be unavailable."),
            _col("Allowed Disruptions", "integer", "Calculated number of pods that may be disrupted at this time."),
            _age_col(),
        ],
        "ReplicationController": lambda: [
            _name_col(),
            _col("Desired", "integer", doc=f"{_CORE}.ReplicationControllerSpec.replicas"),
            _col("Current", "integer", doc=f"{_CORE}.ReplicationControllerStatus.replicas"),
            _col("Ready", "integer", doc=f"{_CORE}.ReplicationControllerStatus.readyReplicas"),
            _age_col(),
            _col("Containers", priority=1, description=_CONTAINERS_DESC),
            _col("Images", priority=1, description=_IMAGES_DESC),
            _col("Selector", priority=1, doc=f"{_CORE}.ReplicationControllerSpec.selector"),
        ],
        "ReplicaSet": lambda: [
            _name_col(),
            _col("Desired", "integer", doc=f"{_APPS}.ReplicaSetSpec.replicas"),
            _col("Current", "integer", doc=f"{_APPS}.ReplicaSetStatus.replicas"),
            _col("Ready", "integer", doc=f"{_APPS}.ReplicaSetStatus.readyReplicas"),
            _age_col(),
            _col("Containers", priority=1, description=_CONTAINERS_DESC),
            _col("Images", priority=1, description=_IMAGES_DESC),
            _col("Selector", priority=1, doc=f"{_APPS}.ReplicaSetSpec.selector"),
        ],
        "DaemonSet": lambda: [
            _name_col(),
            _col("Desired", "integer", doc=f"{_APPS}.DaemonSetStatus.desiredNumberScheduled"),
            _col("Current", "integer", doc=f"{_APPS}.DaemonSetStatus.currentNumberScheduled"),
            _col("Ready", "integer", doc=f"{_APPS}.DaemonSetStatus.numberReady"),
            _col("Up-to-date", "integer", doc=f"{_APPS}.DaemonSetStatus.updatedNumberScheduled"),
            _col("Available", "integer", doc=f"{_APPS}.DaemonSetStatus.numberAvailable"),
            _col("Node Selector", doc=f"{_CORE}.PodSpec.nodeSelector"),
            _age_col(),
            _col("Containers", priority=1, description=_CONTAINERS_DESC),
            _col("Images", priority=1, description=_IMAGES_DESC),
            _col("Selector", priority=1, doc=f"{_APPS}.DaemonSetSpec.selector"),
        ],
        "Job": lambda: [
            _name_col(),
            _col("Status", description="Status of the job."),
            _col("Completions", doc=f"{_BATCH}.JobStatus.succeeded"),
            _col("Duration", description="Time required to complete the job."),
            _age_col(),
            _col("Containers", priority=1, description=_CONTAINERS_DESC),
            _col("Images", priority=1, description=_IMAGES_DESC),
            _col("Selector", priority=1, doc=f"{_BATCH}.JobSpec.selector"),
        ],
        "CronJob": lambda: [
            _name_col(),
            _col("Schedule", doc=f"{_BATCH}.CronJobSpec.schedule"),
            _col("Timezone", doc=f"{_BATCH}.CronJobSpec.timeZone"),
            _col("Suspend", "boolean", doc=f"{_BATCH}.CronJobSpec.suspend"),
            _col("Active", "integer", doc=f"{_BATCH}.CronJobStatus.active"),
            _col("Last Schedule", doc=f"{_BATCH}.CronJobStatus.lastScheduleTime"),
            _age_col(),
            _col("Containers", priority=1, description=_CONTAINERS_DESC),
            _col("Images", priority=1, description=_IMAGES_DESC),
            _col("Selector", priority=1, doc=f"{_BATCH}.JobSpec.selector"),
        ],
        "Service": lambda: [
            _name_col(),
            _col("Type", doc=f"{_CORE}.ServiceSpec.type"),
            _col("Cluster-IP", doc=f"{_CORE}.ServiceSpec.clusterIP"),
            _col("External-IP", doc=f"{_CORE}.ServiceSpec.externalIPs"),
            _col("Port(s)", doc=f"{_CORE}.ServiceSpec.ports"),
            _age_col(),
            _col("Selector", priority=1, doc=f"{_CORE}.ServiceSpec.selector"),
        ],
        "Ingress": lambda: [
            _name_col(),
            _col("Class", description="The name of the IngressClass resource that should be used for "
                                      "additional configuration"),
            _col("Hosts", description="Hosts that incoming requests are matched against before the ingress rule"),
            _col("Address", description="Address is a list containing ingress points for the load-balancer"),
            _col("Ports", description="Ports of TLS configurations that open"),
            _age_col(),
        ],
        "IngressClass": lambda: [
            _name_col(),
            _col("Controller", description="Controller that is responsible for handling this class"),
            _col("Parameters", description="A reference to a resource with additional parameters"),
            _age_col(),
        ],
        "StatefulSet": lambda: [
            _name_col(),
            _col("Ready", description="Number of the pod with ready state"),
            _age_col(),
            _col("Containers", priority=1, description=_CONTAINERS_DESC),
            _col("Images", priority=1, description=_IMAGES_DESC),
        ],
        "Endpoints": lambda: [
            _name_col(),
            _col("Endpoints", doc=f"{_CORE}.Endpoints.subsets"),
            _age_col(),
        ],
        "Node": lambda: [
            _name_col(),
            _col("Status", description="The status of the node"),
            _col("Roles", description="The roles of the node"),
            _age_col(),
            _col("Version", doc=f"{_CORE}.NodeSystemInfo.kubeletVersion"),
            _col("Internal-IP", priority=1, doc=f"{_CORE}.NodeStatus.addresses"),
            _col("External-IP", priority=1, doc=f"{_CORE}.NodeStatus.addresses"),
            _col("OS-Image", priority=1, doc=f"{_CORE}.NodeSystemInfo.osImage"),
            _col("Kernel-Version", priority=1, doc=f"{_CORE}.NodeSystemInfo.kernelVersion"),
            _col("Container-Runtime", priority=1, doc=f"{_CORE}.NodeSystemInfo.containerRuntimeVersion"),
        ],
        "Event": lambda: [
            # no leading Name column: `kubectl get events` starts with LAST SEEN
            _col("Last Seen", doc=f"{_CORE}.Event.lastTimestamp"),
            _col("Type", doc=f"{_CORE}.Event.type"),
            _col("Reason", doc=f"{_CORE}.Event.reason"),
            _col("Object", doc=f"{_CORE}.Event.involvedObject"),
            _col("Subobject", priority=1, doc=f"{_CORE}.ObjectReference.fieldPath"),
            _col("Source", priority=1, doc=f"{_CORE}.Event.source"),
            _col("Message", doc=f"{_CORE}.Event.message"),
            _col("First Seen", priority=1, doc=f"{_CORE}.Event.firstTimestamp"),
            _col("Count", priority=1, doc=f"{_CORE}.Event.count"),
            _col("Name", fmt="name", priority=1, doc=f"{_META}.name"),
        ],
        "Namespace": lambda: [
            _name_col(),
            _col("Status", description="The status of the namespace"),
            _age_col(),
        ],
        "Secret": lambda: [
            _name_col(),
            _col("Type", doc=f"{_CORE}.Secret.type"),
            _col("Data", doc=f"{_CORE}.Secret.data"),  # declared "string", filled with an integer, as upstream
            _age_col(),
        ],
        "ServiceAccount": lambda: [
            _name_col(),
            _col("Secrets", doc=f"{_CORE}.ServiceAccount.secrets"),
            _age_col(),
        ],
        "PersistentVolume": lambda: [
            _name_col(),
            _col("Capacity", doc=f"{_CORE}.PersistentVolumeSpec.capacity"),
            _col("Access Modes", doc=f"{_CORE}.PersistentVolumeSpec.accessModes"),
            _col("Reclaim Policy", doc=f"{_CORE}.PersistentVolumeSpec.persistentVolumeReclaimPolicy"),
            _col("Status", doc=f"{_CORE}.PersistentVolumeStatus.phase"),
            _col("Claim", doc=f"{_CORE}.PersistentVolumeSpec.claimRef"),
            _col("StorageClass", description="StorageClass of the pv"),
            _col("VolumeAttributesClass", description="VolumeAttributesClass of the pv"),
            _col("Reason", doc=f"{_CORE}.PersistentVolumeStatus.reason"),
            _age_col(),
            _col("VolumeMode", priority=1, doc=f"{_CORE}.PersistentVolumeSpec.volumeMode"),
        ],
        "PersistentVolumeClaim": lambda: [
            _name_col(),
            _col("Status", doc=f"{_CORE}.PersistentVolumeClaimStatus.phase"),
            _col("Volume", doc=f"{_CORE}.PersistentVolumeClaimSpec.volumeName"),
            _col("Capacity", doc=f"{_CORE}.PersistentVolumeClaimStatus.capacity"),
            _col("Access Modes", doc=f"{_CORE}.PersistentVolumeClaimStatus.accessModes"),
            _col("StorageClass", description="StorageClass of the pvc"),
            _col("VolumeAttributesClass", description="VolumeAttributesClass of the pvc"),
            _age_col(),
            _col("VolumeMode", priority=1, doc=f"{_CORE}.PersistentVolumeClaimSpec.volumeMode"),
        ],
        "Deployment": lambda: [
            _name_col(),
            _col("Ready", description="Number of the pod with ready state"),
            _col("Up-to-date", doc=f"{_APPS}.DeploymentStatus.updatedReplicas"),
            _col("Available", doc=f"{_APPS}.DeploymentStatus.availableReplicas"),
            _age_col(),
            _col("Containers", priority=1, description=_CONTAINERS_DESC),
            _col("Images", priority=1, description=_IMAGES_DESC),
            _col("Selector", priority=1, doc=f"{_APPS}.DeploymentSpec.selector"),
        ],
        "HorizontalPodAutoscaler": lambda: [
            _name_col(),
            _col("Reference", doc="io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerSpec.scaleTargetRef"),
            _col("Targets", doc="io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerSpec.metrics"),
            _col("MinPods", doc="io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerSpec.minReplicas"),
            _col("MaxPods", doc="io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerSpec.maxReplicas"),
            _col("Replicas", doc="io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerStatus.currentReplicas"),
            _age_col(),
        ],
        "ConfigMap": lambda: [
            _name_col(),
            _col("Data", doc=f"{_CORE}.ConfigMap.data"),
            _age_col(),
        ],
        "NetworkPolicy": lambda: [
            _name_col(),
            _col("Pod-Selector", doc="io.k8s.api.networking.v1.NetworkPolicySpec.podSelector"),
            _age_col(),
        ],
        "Lease": lambda: [
            _name_col(),
            _col("Holder", doc="io.k8s.api.coordination.v1.LeaseSpec.holderIdentity"),
            _age_col(),
        ],
        "StorageClass": lambda: [
            _name_col(),
            _col("Provisioner", doc="io.k8s.api.storage.v1.StorageClass.provisioner"),
            _col("ReclaimPolicy", doc="io.k8s.api.storage.v1.StorageClass.reclaimPolicy"),
            _col("VolumeBindingMode", doc="io.k8s.api.storage.v1.StorageClass.volumeBindingMode"),
            _col("AllowVolumeExpansion", doc="io.k8s.api.storage.v1.StorageClass.allowVolumeExpansion"),
            _age_col(),
        ],
        "ControllerRevision": lambda: [
            _name_col(),
            _col("Controller", description="Controller of the object"),
            _col("Revision", doc=f"{_APPS}.ControllerRevision.revision"),
            _age_col(),
        ],
        "ResourceQuota": lambda: [
            _name_col(),
            _col("Request", description="Request represents a minimum amount of cpu/memory that a container "
                                        "may consume."),
            _col("Limit", description="Limits control the maximum amount of cpu/memory that a container may use "
                                      "independent of contention on the node."),
            _age_col(),
        ],
        "EndpointSlice": lambda: [
            _name_col(),
            _col("AddressType", doc="io.k8s.api.discovery.v1.EndpointSlice.addressType"),
            _col("Ports", doc="io.k8s.api.discovery.v1.EndpointSlice.ports"),
            _col("Endpoints", doc="io.k8s.api.discovery.v1.EndpointSlice.endpoints"),
            _age_col(),
        ],
    }


_COLUMNS = _columns_table()


def _default_columns() -> list[dict]:
    # rest.DefaultTableConvertor: what the real server answers for kinds with no
    # printer (LimitRange among the served ones): NAME and CREATED AT.
    return [_name_col(), _col("Created At", "date", doc=f"{_META}.creationTimestamp")]


def column_definitions(kind: str) -> list[dict]:
    """All columns of `kind`'s table, wide (priority 1) ones included, as the server sends them."""
    make = _COLUMNS.get(kind)
    return make() if make else _default_columns()


# --------------------------------------------------------------------------- time
def human_duration(seconds: float) -> str:
    """k8s.io/apimachinery/pkg/util/duration.HumanDuration, branch for branch."""
    # Go truncates toward zero (int(d.Seconds())); int() does the same.
    whole = int(seconds)
    # Up to 2s in the future counts as "now": clocks drift between machines.
    if whole < -1:
        return "<invalid>"
    if whole < 0:
        return "0s"
    if whole < 60 * 2:
        return f"{whole}s"
    minutes = whole // 60
    if minutes < 10:
        s = whole % 60
        return f"{minutes}m" if s == 0 else f"{minutes}m{s}s"
    if minutes < 60 * 3:
        return f"{minutes}m"
    hours = whole // 3600
    if hours < 8:
        m = minutes % 60
        return f"{hours}h" if m == 0 else f"{hours}h{m}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        h = hours % 24
        return f"{hours // 24}d" if h == 0 else f"{hours // 24}d{h}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        dy = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if dy == 0 else f"{hours // 24 // 365}y{dy}d"
    return f"{hours // 24 // 365}y"


def _parse_time(timestamp: str | None) -> datetime | None:
    if not timestamp:
        return None
    try:
        parsed = datetime.fromisoformat(str(timestamp).replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    # metav1.Time's zero value ("0001-01-01T00:00:00Z") means unset, like null
    return None if parsed.year == 1 else parsed


def _aware(now: datetime) -> datetime:
    return now if now.tzinfo else now.replace(tzinfo=UTC)


def translate_timestamp_since(timestamp: str | None, now: datetime) -> str:
    """printers.go translateTimestampSince: the AGE-style cell; "<unknown>" when unset."""
    parsed = _parse_time(timestamp)
    if parsed is None:
        return "<unknown>"
    return human_duration((_aware(now) - parsed).total_seconds())


# --------------------------------------------------------------------------- formatting helpers
def _format_labels(labels: dict | None) -> str:
    """labels.FormatLabels: sorted k=v pairs, "<none>" when empty."""
    if not labels:
        return "<none>"
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def _selector_string(selector: dict | None) -> str:
    """metav1.LabelSelectorAsSelector(sel).String(); "" for nil and for {} (everything)."""
    if not selector:
        return ""
    requirements: list[tuple[str, str]] = []
    for key, value in (selector.get("matchLabels") or {}).items():
        requirements.append((key, f"{key}={value}"))
    for expr in selector.get("matchExpressions") or []:
        key, op = expr.get("key", ""), expr.get("operator", "")
        values = ",".join(sorted(expr.get("values") or []))
        text = {"In": f"{key} in ({values})", "NotIn": f"{key} notin ({values})",
                "Exists": key, "DoesNotExist": f"!{key}"}.get(op)
        if text is None:
            return "<error>"
        requirements.append((key, text))
    # internalSelector.Add keeps requirements sorted by key
    requirements.sort(key=lambda r: r[0])
    return ",".join(text for _, text in requirements)


def _format_label_selector(selector: dict | None) -> str:
    """metav1.FormatLabelSelector: the selector string, "<none>" when it selects everything."""
    text = _selector_string(selector)
    return text or "<none>"


def _layout_containers(containers: list[dict] | None) -> tuple[str, str]:
    containers = containers or []
    return (",".join(c.get("name", "") for c in containers),
            ",".join(c.get("image", "") for c in containers))


def _int_or_string(value: Any) -> str:
    return str(value)


def _bool_ptr(value: Any) -> str:
    if value is None:
        return "<unset>"
    return "True" if value else "False"


def _template_containers(obj: dict) -> list[dict]:
    return (((obj.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []


# --------------------------------------------------------------------------- quantities
# resource.Quantity prints canonically (Quantity.String()): "1Gi" stays "1Gi",
# "1.5" becomes "1500m", "2000" becomes "2k". The server always prints parsed
# quantities, so cells must too, whatever spelling the stored object has.

def _parse_quantity(text: Any) -> tuple[Fraction, str] | None:
    """(value, format) with format "BinarySI" | "DecimalSI" | "DecimalExponent"; None if unparsable.

    The value is exact: rounding to nano is left to _format_quantity (after
    metrics-server's sums)."""
    if isinstance(text, bool):
        return None
    if isinstance(text, (int, float)):
        return Fraction(str(text)), DECIMAL_SI
    try:
        return match_quantity(str(text).strip())
    except QuantityError:
        return None


def _format_quantity(value: Fraction, fmt: str) -> str:
    """Quantity.String() (CanonicalizeBytes) for a value and its format."""
    return format_quantity(value, fmt, cap_exponent=True)


def _quantity(text: Any) -> str:
    """A quantity cell; an unset quantity prints as "0" (the zero Quantity), garbage as given."""
    if text is None or text == "":
        return "0"
    parsed = _parse_quantity(text)
    if parsed is None:
        return str(text)
    return _format_quantity(*parsed)


def _quantity_or_nil(text: Any) -> str:
    # (*Quantity)(nil).String() is "<nil>"; HPA status can leave averageValue out.
    return "<nil>" if text is None else _quantity(text)


# --------------------------------------------------------------------------- pods
def _is_restartable_init(container: dict | None) -> bool:
    # Sidecar containers: init containers with restartPolicy Always.
    return bool(container) and container.get("restartPolicy") == "Always"


def _has_condition(conditions: list[dict] | None, type_: str) -> bool:
    """True if the first condition of this type has status True."""
    for condition in conditions or []:
        if condition.get("type") == type_:
            return condition.get("status") == "True"
    return False


def _later(current: datetime | None, candidate: str | None) -> datetime | None:
    parsed = _parse_time(candidate)
    if parsed is None:
        return current
    return parsed if current is None or current < parsed else current


def _pod_summary(pod: dict) -> tuple[int, int, str, int, datetime | None]:
    """printPod's bookkeeping: (ready, total, reason, restarts, last restart time)."""
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    metadata = pod.get("metadata") or {}
    conditions = status.get("conditions") or []

    restarts = 0
    restartable_init_restarts = 0
    total = len(spec.get("containers") or [])
    ready = 0
    last_restart: datetime | None = None
    last_restartable_init_restart: datetime | None = None

    phase = status.get("phase", "") or ""
    reason = status.get("reason") or phase

    for condition in conditions:
        if condition.get("type") == "PodScheduled" and condition.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"

    init_specs = spec.get("initContainers") or []
    init_by_name = {c.get("name"): c for c in init_specs}
    total += sum(1 for c in init_specs if _is_restartable_init(c))

    initializing = False
    for i, cs in enumerate(status.get("initContainerStatuses") or []):
        state = cs.get("state") or {}
        last_terminated = (cs.get("lastState") or {}).get("terminated")
        restarts += int(cs.get("restartCount") or 0)
        if last_terminated is not None:
            last_restart = _later(last_restart, last_terminated.get("finishedAt"))
        restartable = _is_restartable_init(init_by_name.get(cs.get("name")))
        if restartable:
            restartable_init_restarts += int(cs.get("restartCount") or 0)
            if last_terminated is not None:
                last_restartable_init_restart = _later(last_restartable_init_restart,
                                                       last_terminated.get("finishedAt"))
        terminated = state.get("terminated")
        waiting = state.get("waiting")
        if terminated is not None and int(terminated.get("exitCode") or 0) == 0:
            continue
        if restartable and cs.get("started"):
            if cs.get("ready"):
                ready += 1
            continue
        if terminated is not None:
            # initialization failed
            if not terminated.get("reason"):
                if terminated.get("signal"):
                    reason = f"Init:Signal:{terminated['signal']}"
                else:
                    reason = f"Init:ExitCode:{int(terminated.get('exitCode') or 0)}"
            else:
                reason = "Init:" + terminated["reason"]
            initializing = True
        elif waiting is not None and waiting.get("reason") and waiting.get("reason") != "PodInitializing":
            reason = "Init:" + waiting["reason"]
            initializing = True
        else:
            reason = f"Init:{i}/{len(init_specs)}"
            initializing = True
        break

    if not initializing or _has_condition(conditions, "Initialized"):
        restarts = restartable_init_restarts
        last_restart = last_restartable_init_restart
        has_running = False
        # Walked backwards, as upstream: the first container's reason wins.
        for cs in reversed(status.get("containerStatuses") or []):
            state = cs.get("state") or {}
            restarts += int(cs.get("restartCount") or 0)
            last_terminated = (cs.get("lastState") or {}).get("terminated")
            if last_terminated is not None:
                last_restart = _later(last_restart, last_terminated.get("finishedAt"))
            waiting = state.get("waiting")
            terminated = state.get("terminated")
            if waiting is not None and waiting.get("reason"):
                reason = waiting["reason"]
            elif terminated is not None and terminated.get("reason"):
                reason = terminated["reason"]
            elif terminated is not None:
                if terminated.get("signal"):
                    reason = f"Signal:{terminated['signal']}"
                else:
                    reason = f"ExitCode:{int(terminated.get('exitCode') or 0)}"
            elif cs.get("ready") and state.get("running") is not None:
                has_running = True
                ready += 1

        # back to "Running" if one container still runs after another completed
        if reason == "Completed" and has_running:
            reason = "Running" if _has_condition(conditions, "Ready") else "NotReady"

    if metadata.get("deletionTimestamp") and status.get("reason") == "NodeLost":
        reason = "Unknown"
    elif metadata.get("deletionTimestamp") and phase not in ("Succeeded", "Failed"):
        reason = "Terminating"

    return ready, total, reason, restarts, last_restart


def pod_status_reason(pod: dict) -> str:
    """The STATUS column of `kubectl get pods` (Running, ContainerCreating, Init:0/1,
    CrashLoopBackOff, Completed, Terminating, …), exactly as printPod computes it."""
    return _pod_summary(pod)[2]


def _print_pod(pod: dict, now: datetime) -> Row:
    ready, total, reason, restarts, last_restart = _pod_summary(pod)
    restarts_cell = str(restarts)
    if restarts != 0 and last_restart is not None:
        restarts_cell = f"{restarts} ({human_duration((_aware(now) - last_restart).total_seconds())} ago)"
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    pod_ips = status.get("podIPs") or []
    pod_ip = (pod_ips[0].get("ip") if pod_ips else "") or "<none>"
    readiness_gates = "<none>"
    gates = spec.get("readinessGates") or []
    if gates:
        true_count = 0
        for gate in gates:
            for condition in status.get("conditions") or []:
                if condition.get("type") == gate.get("conditionType"):
                    if condition.get("status") == "True":
                        true_count += 1
                    break
        readiness_gates = f"{true_count}/{len(gates)}"
    return [
        _name(pod), f"{ready}/{total}", reason, restarts_cell, _age(pod, now),
        pod_ip, spec.get("nodeName") or "<none>", status.get("nominatedNodeName") or "<none>", readiness_gates,
    ]


def _pod_row_conditions(pod: dict) -> list[dict] | None:
    # printPod marks finished pods so clients can tell them apart (TableRowCondition "Completed").
    phase = (pod.get("status") or {}).get("phase")
    if phase == "Succeeded":
        return [{"type": "Completed", "status": "True", "reason": "Succeeded",
                 "message": "The pod has completed successfully."}]
    if phase == "Failed":
        return [{"type": "Completed", "status": "True", "reason": "Failed", "message": "The pod failed."}]
    return None


# --------------------------------------------------------------------------- other printers
def _name(obj: dict) -> str:
    return (obj.get("metadata") or {}).get("name", "")


def _age(obj: dict, now: datetime) -> str:
    return translate_timestamp_since((obj.get("metadata") or {}).get("creationTimestamp"), now)


def _print_pod_template(obj: dict, now: datetime) -> Row:
    template = obj.get("template") or {}
    names, images = _layout_containers((template.get("spec") or {}).get("containers"))
    return [_name(obj), names, images, _format_labels((template.get("metadata") or {}).get("labels"))]


def _print_pdb(obj: dict, now: datetime) -> Row:
    spec = obj.get("spec") or {}
    min_available = _int_or_string(spec["minAvailable"]) if spec.get("minAvailable") is not None else "N/A"
    max_unavailable = _int_or_string(spec["maxUnavailable"]) if spec.get("maxUnavailable") is not None else "N/A"
    allowed = int((obj.get("status") or {}).get("disruptionsAllowed") or 0)
    return [_name(obj), min_available, max_unavailable, allowed, _age(obj, now)]


def _replicas(spec: dict) -> int:
    # v1 defaulting sets replicas to 1 when left out
    value = spec.get("replicas")
    return 1 if value is None else int(value)


def _print_rc(obj: dict, now: datetime) -> Row:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = _layout_containers(_template_containers(obj))
    return [_name(obj), _replicas(spec), int(status.get("replicas") or 0), int(status.get("readyReplicas") or 0),
            _age(obj, now), names, images, _format_labels(spec.get("selector"))]


def _print_rs(obj: dict, now: datetime) -> Row:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = _layout_containers(_template_containers(obj))
    return [_name(obj), _replicas(spec), int(status.get("replicas") or 0), int(status.get("readyReplicas") or 0),
            _age(obj, now), names, images, _format_label_selector(spec.get("selector"))]


def _print_daemonset(obj: dict, now: datetime) -> Row:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    template_spec = ((spec.get("template") or {}).get("spec") or {})
    names, images = _layout_containers(template_spec.get("containers"))
    return [
        _name(obj), int(status.get("desiredNumberScheduled") or 0), int(status.get("currentNumberScheduled") or 0),
        int(status.get("numberReady") or 0), int(status.get("updatedNumberScheduled") or 0),
        int(status.get("numberAvailable") or 0), _format_labels(template_spec.get("nodeSelector")), _age(obj, now),
        names, images, _format_label_selector(spec.get("selector")),
    ]


def _job_duration(status: dict, now: datetime) -> str:
    start = _parse_time(status.get("startTime"))
    if start is None:
        return ""
    end = _parse_time(status.get("completionTime"))
    return human_duration(((end or _aware(now)) - start).total_seconds())


def _print_job(obj: dict, now: datetime) -> Row:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    succeeded = int(status.get("succeeded") or 0)
    if spec.get("completions") is not None:
        completions = f"{succeeded}/{int(spec['completions'])}"
    else:
        parallelism = int(spec.get("parallelism") or 0)
        completions = f"{succeeded}/1 of {parallelism}" if parallelism > 1 else f"{succeeded}/1"
    conditions = status.get("conditions") or []
    if _has_condition(conditions, "Complete"):
        job_status = "Complete"
    elif _has_condition(conditions, "Failed"):
        job_status = "Failed"
    elif (obj.get("metadata") or {}).get("deletionTimestamp"):
        job_status = "Terminating"
    elif _has_condition(conditions, "Suspended"):
        job_status = "Suspended"
    elif _has_condition(conditions, "FailureTarget"):
        job_status = "FailureTarget"
    else:
        job_status = "Running"
    names, images = _layout_containers(_template_containers(obj))
    return [_name(obj), job_status, completions, _job_duration(status, now), _age(obj, now),
            names, images, _format_label_selector(spec.get("selector"))]


def _print_cronjob(obj: dict, now: datetime) -> Row:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    last_schedule = "<none>"
    if status.get("lastScheduleTime"):
        last_schedule = translate_timestamp_since(status["lastScheduleTime"], now)
    job_spec = ((spec.get("jobTemplate") or {}).get("spec") or {})
    names, images = _layout_containers(((job_spec.get("template") or {}).get("spec") or {}).get("containers"))
    return [
        _name(obj), spec.get("schedule", ""), spec.get("timeZone") or "<none>", _bool_ptr(spec.get("suspend")),
        len(status.get("active") or []), last_schedule, _age(obj, now),
        names, images, _format_label_selector(job_spec.get("selector")),
    ]


def _lb_ingress_string(load_balancer: dict | None) -> str:
    """loadBalancerStatusStringer with wide=true (the server always prints wide): sorted, unique, unclipped."""
    result: set[str] = set()
    for ingress in (load_balancer or {}).get("ingress") or []:
        if ingress.get("ip"):
            result.add(ingress["ip"])
        elif ingress.get("hostname"):
            result.add(ingress["hostname"])
    return ",".join(sorted(result))


def _service_external_ip(svc: dict) -> str:
    spec = svc.get("spec") or {}
    svc_type = spec.get("type") or "ClusterIP"
    external_ips = spec.get("externalIPs") or []
    if svc_type in ("ClusterIP", "NodePort"):
        return ",".join(external_ips) if external_ips else "<none>"
    if svc_type == "LoadBalancer":
        lb_ips = _lb_ingress_string((svc.get("status") or {}).get("loadBalancer"))
        if external_ips:
            return ",".join((lb_ips.split(",") if lb_ips else []) + external_ips)
        return lb_ips or "<pending>"
    if svc_type == "ExternalName":
        return spec.get("externalName", "")
    return "<unknown>"


def _port_string(ports: list[dict] | None) -> str:
    pieces = []
    for port in ports or []:
        protocol = port.get("protocol") or "TCP"
        if int(port.get("nodePort") or 0) > 0:
            pieces.append(f"{port.get('port')}:{port['nodePort']}/{protocol}")
        else:
            pieces.append(f"{port.get('port')}/{protocol}")
    return ",".join(pieces)


def _print_service(obj: dict, now: datetime) -> Row:
    spec = obj.get("spec") or {}
    cluster_ips = spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else [])
    return [
        _name(obj), spec.get("type") or "ClusterIP", cluster_ips[0] if cluster_ips else "<none>",
        _service_external_ip(obj), _port_string(spec.get("ports")) or "<none>", _age(obj, now),
        _format_labels(spec.get("selector")),
    ]


def _format_hosts(rules: list[dict] | None) -> str:
    rules = rules or []
    hosts: list[str] = []
    more = False
    for rule in rules:
        if len(hosts) == 3:
            more = True
        if not more and rule.get("host"):
            hosts.append(rule["host"])
    if not hosts:
        return "*"
    text = ",".join(hosts)
    return f"{text} + {len(rules) - 3} more..." if more else text


def _print_ingress(obj: dict, now: datetime) -> Row:
    spec = obj.get("spec") or {}
    return [
        _name(obj), spec.get("ingressClassName") or "<none>", _format_hosts(spec.get("rules")),
        _lb_ingress_string((obj.get("status") or {}).get("loadBalancer")),
        "80, 443" if spec.get("tls") else "80", _age(obj, now),
    ]


def _print_ingress_class(obj: dict, now: datetime) -> Row:
    spec = obj.get("spec") or {}
    parameters = "<none>"
    params = spec.get("parameters")
    if params is not None:
        parameters = params.get("kind", "")
        if params.get("apiGroup") is not None:
            parameters += "." + params["apiGroup"]
        parameters += "/" + params.get("name", "")
    return [_name(obj), spec.get("controller", ""), parameters, _age(obj, now)]


def _print_statefulset(obj: dict, now: datetime) -> Row:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = _layout_containers(_template_containers(obj))
    return [_name(obj), f"{int(status.get('readyReplicas') or 0)}/{_replicas(spec)}", _age(obj, now), names, images]


def _format_endpoints(obj: dict) -> str:
    subsets = obj.get("subsets") or []
    if not subsets:
        return "<none>"
    shown: list[str] = []
    max_shown, more, count = 3, False, 0
    for subset in subsets:
        addresses = subset.get("addresses") or []
        ports = subset.get("ports") or []
        if not ports:
            # headless services may have no ports
            count += len(addresses)
            for address in addresses:
                if len(shown) == max_shown:
                    more = True
                    break
                shown.append(address.get("ip", ""))
            continue
        for port in ports:
            count += len(addresses)
            for address in addresses:
                if len(shown) == max_shown:
                    more = True
                    break
                ip = address.get("ip", "")
                host = f"[{ip}]" if ":" in ip else ip  # net.JoinHostPort
                shown.append(f"{host}:{port.get('port')}")
    text = ",".join(shown)
    return f"{text} + {count - max_shown} more..." if more else text


def _print_endpoints(obj: dict, now: datetime) -> Row:
    return [_name(obj), _format_endpoints(obj), _age(obj, now)]


def _list_with_more(items: list[str], more: bool, count: int, max_shown: int) -> str:
    text = ",".join(items)
    if more:
        return f"{text} + {count - max_shown} more..."
    return text or "<unset>"


def _print_endpoint_slice(obj: dict, now: datetime) -> Row:
    ports: list[str] = []
    more, count = False, 0
    for port in obj.get("ports") or []:
        if len(ports) < 3:
            if port.get("port") is not None:
                ports.append(str(port["port"]))
            elif port.get("name") is not None:
                ports.append(port["name"])
            else:
                ports.append("*")
        elif len(ports) == 3:
            more = True
        count += 1
    ports_cell = _list_with_more(ports, more, count, 3)
    addresses: list[str] = []
    more, count = False, 0
    for endpoint in obj.get("endpoints") or []:
        for address in endpoint.get("addresses") or []:
            if len(addresses) < 3:
                addresses.append(address)
            elif len(addresses) == 3:
                more = True
            count += 1
    endpoints_cell = _list_with_more(addresses, more, count, 3)
    return [_name(obj), obj.get("addressType", ""), ports_cell, endpoints_cell, _age(obj, now)]


def _node_roles(node: dict) -> list[str]:
    roles: set[str] = set()
    for key, value in ((node.get("metadata") or {}).get("labels") or {}).items():
        if key.startswith("node-role.kubernetes.io/"):
            role = key[len("node-role.kubernetes.io/"):]
            if role:
                roles.add(role)
        elif key == "kubernetes.io/role" and value:
            roles.add(value)
    return sorted(roles)


def _node_address(node: dict, type_: str) -> str:
    for address in (node.get("status") or {}).get("addresses") or []:
        if address.get("type") == type_:
            return address.get("address", "")
    return "<none>"


def _print_node(obj: dict, now: datetime) -> Row:
    status = obj.get("status") or {}
    # Only the Ready condition counts; the last one of that type wins, as in the Go map.
    ready = None
    for condition in status.get("conditions") or []:
        if condition.get("type") == "Ready":
            ready = condition
    states = [] if ready is None else ["Ready" if ready.get("status") == "True" else "NotReady"]
    if not states:
        states = ["Unknown"]
    if (obj.get("spec") or {}).get("unschedulable"):
        states.append("SchedulingDisabled")
    info = status.get("nodeInfo") or {}
    return [
        _name(obj), ",".join(states), ",".join(_node_roles(obj)) or "<none>", _age(obj, now),
        info.get("kubeletVersion", ""),
        _node_address(obj, "InternalIP"), _node_address(obj, "ExternalIP"),
        info.get("osImage") or "<unknown>", info.get("kernelVersion") or "<unknown>",
        info.get("containerRuntimeVersion") or "<unknown>",
    ]


def _access_modes(modes: list[str] | None) -> str:
    """helper.GetAccessModesAsString: a fixed order, duplicates dropped."""
    modes = modes or []
    short = [("ReadWriteOnce", "RWO"), ("ReadOnlyMany", "ROX"), ("ReadWriteMany", "RWX"),
             ("ReadWriteOncePod", "RWOP")]
    return ",".join(abbr for mode, abbr in short if mode in modes)


_BETA_CLASS_ANNOTATION = "volume.beta.kubernetes.io/storage-class"


def _storage_class(obj: dict) -> str:
    # the beta annotation wins over spec.storageClassName, as in helper.GetPersistentVolume(Claim)Class
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    if _BETA_CLASS_ANNOTATION in annotations:
        return annotations[_BETA_CLASS_ANNOTATION]
    return (obj.get("spec") or {}).get("storageClassName") or ""


def _print_pv(obj: dict, now: datetime) -> Row:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    claim_ref = spec.get("claimRef")
    claim = f"{claim_ref.get('namespace', '')}/{claim_ref.get('name', '')}" if claim_ref is not None else ""
    phase = "Terminating" if (obj.get("metadata") or {}).get("deletionTimestamp") else status.get("phase", "")
    return [
        _name(obj), _quantity((spec.get("capacity") or {}).get("storage")), _access_modes(spec.get("accessModes")),
        spec.get("persistentVolumeReclaimPolicy", ""), phase, claim, _storage_class(obj),
        spec.get("volumeAttributesClassName") or "<unset>", status.get("reason", ""), _age(obj, now),
        spec.get("volumeMode") or "<unset>",
    ]


def _print_pvc(obj: dict, now: datetime) -> Row:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    phase = "Terminating" if (obj.get("metadata") or {}).get("deletionTimestamp") else status.get("phase", "")
    capacity = access_modes = ""
    if spec.get("volumeName"):
        # only a bound claim shows what it got
        access_modes = _access_modes(status.get("accessModes"))
        capacity = _quantity((status.get("capacity") or {}).get("storage"))
    return [
        _name(obj), phase, spec.get("volumeName", ""), capacity, access_modes, _storage_class(obj),
        spec.get("volumeAttributesClassName") or "<unset>", _age(obj, now), spec.get("volumeMode") or "<unset>",
    ]


def _translate_micro(timestamp: str | None, now: datetime) -> str:
    return translate_timestamp_since(timestamp, now)


def _print_event(obj: dict, now: datetime) -> Row:
    first = translate_timestamp_since(obj.get("firstTimestamp"), now)
    if _parse_time(obj.get("firstTimestamp")) is None:
        first = _translate_micro(obj.get("eventTime"), now)
    last = translate_timestamp_since(obj.get("lastTimestamp"), now)
    if _parse_time(obj.get("lastTimestamp")) is None:
        last = first
    count = int(obj.get("count") or 0)
    series = obj.get("series")
    if series is not None:
        last = _translate_micro(series.get("lastObservedTime"), now)
        count = int(series.get("count") or 0)
    elif count == 0:
        count = 1  # singleton events of the new API carry no count
    involved = obj.get("involvedObject") or {}
    kind = (involved.get("kind") or "").lower()
    target = f"{kind}/{involved['name']}" if involved.get("name") else kind
    source = obj.get("source") or {}
    component = source.get("component") or obj.get("reportingComponent") or ""
    instance = source.get("host") or obj.get("reportingInstance") or ""
    source_cell = f"{component}, {instance}" if instance else component
    return [
        last, obj.get("type", ""), obj.get("reason", ""), target, involved.get("fieldPath", ""), source_cell,
        (obj.get("message") or "").strip(), first, count, _name(obj),
    ]


def _print_namespace(obj: dict, now: datetime) -> Row:
    return [_name(obj), (obj.get("status") or {}).get("phase", ""), _age(obj, now)]


def _print_secret(obj: dict, now: datetime) -> Row:
    return [_name(obj), obj.get("type", ""), len(obj.get("data") or {}), _age(obj, now)]


def _print_service_account(obj: dict, now: datetime) -> Row:
    return [_name(obj), len(obj.get("secrets") or []), _age(obj, now)]


def _print_deployment(obj: dict, now: datetime) -> Row:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = _layout_containers(_template_containers(obj))
    return [
        _name(obj), f"{int(status.get('readyReplicas') or 0)}/{_replicas(spec)}",
        int(status.get("updatedReplicas") or 0), int(status.get("availableReplicas") or 0), _age(obj, now),
        names, images, _selector_string(spec.get("selector")),
    ]


def _hpa_v1_to_internal(obj: dict) -> tuple[list[dict], list[dict]]:
    """The autoscaling/v1 → internal conversion, as far as the printer looks: CPU target and current."""
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    metrics: list[dict] = []
    if spec.get("targetCPUUtilizationPercentage") is not None:
        metrics.append({"type": "Resource", "resource": {"name": "cpu", "target": {
            "type": "Utilization", "averageUtilization": spec["targetCPUUtilizationPercentage"]}}})
    current: list[dict] = []
    if status.get("currentCPUUtilizationPercentage") is not None:
        current.append({"type": "Resource", "resource": {"name": "cpu", "current": {
            "averageUtilization": status["currentCPUUtilizationPercentage"]}}})
    return metrics, current


def _is_hpa_v1(obj: dict) -> bool:
    if obj.get("apiVersion") == "autoscaling/v1":
        return True
    spec = obj.get("spec") or {}
    return "targetCPUUtilizationPercentage" in spec and "metrics" not in spec


def _format_hpa_metrics(specs: list[dict], statuses: list[dict]) -> str:
    if not specs:
        return "<none>"
    shown: list[str] = []
    for i, metric in enumerate(specs):
        current_status = statuses[i] if len(statuses) > i else {}
        kind = metric.get("type")
        if kind in ("External", "Object"):
            key = kind.lower()
            source = metric.get(key) or {}
            target = source.get("target") or {}
            status = current_status.get(key)
            if target.get("averageValue") is not None:
                current = "<unknown>"
                if status is not None and (status.get("current") or {}).get("averageValue") is not None:
                    current = _quantity(status["current"]["averageValue"])
                shown.append(f"{current}/{_quantity(target['averageValue'])} (avg)")
            else:
                current = "<unknown>"
                if status is not None:
                    current = _quantity_or_nil((status.get("current") or {}).get("value"))
                shown.append(f"{current}/{_quantity_or_nil(target.get('value'))}")
        elif kind == "Pods":
            source = metric.get("pods") or {}
            status = current_status.get("pods")
            current = "<unknown>"
            if status is not None:
                current = _quantity_or_nil((status.get("current") or {}).get("averageValue"))
            shown.append(f"{current}/{_quantity_or_nil((source.get('target') or {}).get('averageValue'))}")
        elif kind in ("Resource", "ContainerResource"):
            key = "resource" if kind == "Resource" else "containerResource"
            source = metric.get(key) or {}
            target = source.get("target") or {}
            status = current_status.get(key)
            name = source.get("name", "")
            if target.get("averageValue") is not None:
                current = "<unknown>"
                if status is not None:
                    current = _quantity_or_nil((status.get("current") or {}).get("averageValue"))
                shown.append(f"{name}: {current}/{_quantity(target['averageValue'])}")
            else:
                current = "<unknown>"
                if status is not None and (status.get("current") or {}).get("averageUtilization") is not None:
                    current = f"{int(status['current']['averageUtilization'])}%"
                target_text = "<auto>"
                if target.get("averageUtilization") is not None:
                    target_text = f"{int(target['averageUtilization'])}%"
                shown.append(f"{name}: {current}/{target_text}")
        else:
            shown.append("<unknown type>")
    if len(shown) > 2:
        return ", ".join(shown[:2]) + f" + {len(shown) - 2} more..."
    return ", ".join(shown)


def _print_hpa(obj: dict, now: datetime) -> Row:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    if _is_hpa_v1(obj):
        metrics, current = _hpa_v1_to_internal(obj)
    else:
        metrics, current = spec.get("metrics") or [], status.get("currentMetrics") or []
    ref = spec.get("scaleTargetRef") or {}
    min_pods = "<unset>" if spec.get("minReplicas") is None else str(int(spec["minReplicas"]))
    return [
        _name(obj), f"{ref.get('kind', '')}/{ref.get('name', '')}", _format_hpa_metrics(metrics, current),
        min_pods, int(spec.get("maxReplicas") or 0), int(status.get("currentReplicas") or 0), _age(obj, now),
    ]


def _print_configmap(obj: dict, now: datetime) -> Row:
    return [_name(obj), len(obj.get("data") or {}) + len(obj.get("binaryData") or {}), _age(obj, now)]


def _print_network_policy(obj: dict, now: datetime) -> Row:
    # &obj.Spec.PodSelector is never nil: an empty selector prints "<none>"
    return [_name(obj), _format_label_selector((obj.get("spec") or {}).get("podSelector") or {}), _age(obj, now)]


def _print_lease(obj: dict, now: datetime) -> Row:
    return [_name(obj), (obj.get("spec") or {}).get("holderIdentity") or "", _age(obj, now)]


def _is_default_class(obj: dict) -> bool:
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    return (annotations.get("storageclass.kubernetes.io/is-default-class") == "true"
            or annotations.get("storageclass.beta.kubernetes.io/is-default-class") == "true")


def _print_storage_class(obj: dict, now: datetime) -> Row:
    name = _name(obj) + (" (default)" if _is_default_class(obj) else "")
    return [
        name, obj.get("provisioner", ""), obj.get("reclaimPolicy") or "Delete",
        obj.get("volumeBindingMode") or "Immediate", bool(obj.get("allowVolumeExpansion") or False), _age(obj, now),
    ]


def _print_controller_revision(obj: dict, now: datetime) -> Row:
    controller = "<none>"
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            api_version = ref.get("apiVersion", "")
            group = api_version.split("/", 1)[0] if "/" in api_version else ""
            kind = ref.get("kind", "")
            group_kind = f"{kind}.{group}" if group else kind
            controller = f"{group_kind.lower()}/{ref.get('name', '')}" if group_kind else ref.get("name", "")
            break
    return [_name(obj), controller, int(obj.get("revision") or 0), _age(obj, now)]


def _print_resource_quota(obj: dict, now: datetime) -> Row:
    status = obj.get("status") or {}
    hard, used = status.get("hard") or {}, status.get("used") or {}
    requests: list[str] = []
    limits: list[str] = []
    for resource in sorted(hard):
        # "limits.*" go to the LIMIT column, everything else (pods, requests.cpu, …) to REQUEST
        target = limits if resource.split(".")[0] == "limits" and "." in resource else requests
        target.append(f"{resource}: {_quantity(used.get(resource))}/{_quantity(hard[resource])}")
    return [_name(obj), ", ".join(requests), ", ".join(limits), _age(obj, now)]


def _print_default(obj: dict, now: datetime) -> Row:
    created = _parse_time((obj.get("metadata") or {}).get("creationTimestamp"))
    # DefaultTableConvertor: creationTimestamp.UTC().Format(time.RFC3339); Go's zero time when unset
    created_text = (created.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                    if created else "0001-01-01T00:00:00Z")
    return [_name(obj), created_text]


_PRINTERS: dict[str, Printer] = {
    "Pod": _print_pod,
    "PodTemplate": _print_pod_template,
    "PodDisruptionBudget": _print_pdb,
    "ReplicationController": _print_rc,
    "ReplicaSet": _print_rs,
    "DaemonSet": _print_daemonset,
    "Job": _print_job,
    "CronJob": _print_cronjob,
    "Service": _print_service,
    "Ingress": _print_ingress,
    "IngressClass": _print_ingress_class,
    "StatefulSet": _print_statefulset,
    "Endpoints": _print_endpoints,
    "Node": _print_node,
    "Event": _print_event,
    "Namespace": _print_namespace,
    "Secret": _print_secret,
    "ServiceAccount": _print_service_account,
    "PersistentVolume": _print_pv,
    "PersistentVolumeClaim": _print_pvc,
    "Deployment": _print_deployment,
    "HorizontalPodAutoscaler": _print_hpa,
    "ConfigMap": _print_configmap,
    "NetworkPolicy": _print_network_policy,
    "Lease": _print_lease,
    "StorageClass": _print_storage_class,
    "ControllerRevision": _print_controller_revision,
    "ResourceQuota": _print_resource_quota,
    "EndpointSlice": _print_endpoint_slice,
}

assert set(_PRINTERS) == set(_COLUMNS), "every printer needs its column definitions"


# --------------------------------------------------------------------------- metrics-server
# PodMetrics/NodeMetrics are served by metrics-server, whose table has one
# column per resource found in the first object (sorted), then WINDOW; no
# columns at all for an empty list.

def _metrics_usage(obj: dict, kind: str) -> dict[str, Fraction | tuple[Fraction, str]]:
    totals: dict[str, tuple[Fraction, str]] = {}
    usages = [c.get("usage") or {} for c in obj.get("containers") or []] if kind == "PodMetrics" \
        else [obj.get("usage") or {}]
    for usage in usages:
        for resource, value in usage.items():
            parsed = _parse_quantity(value)
            if parsed is None:
                continue
            amount, fmt = parsed
            if resource in totals:
                # Quantity.Add keeps the receiver's format (the zero Quantity's is "" → the added one's)
                totals[resource] = (totals[resource][0] + amount, totals[resource][1])
            else:
                totals[resource] = (amount, fmt)
    return totals  # type: ignore[return-value]


def _go_duration(text: Any) -> str:
    """metav1.Duration round trip: "30s" → time.Duration.String() ("30s", "1m0s")."""
    match = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?", str(text or ""))
    if not match or not text:
        return "0s"
    hours, minutes, secs = (float(g) if g else 0.0 for g in match.groups())
    total = hours * 3600 + minutes * 60 + secs
    h, rest = divmod(int(total), 3600)
    m, s = divmod(rest, 60)
    frac = total - int(total)
    s_text = f"{s + frac:g}" if frac else str(s)
    if h:
        return f"{h}h{m}m{s_text}s"
    if m:
        return f"{m}m{s_text}s"
    return f"{s_text}s"


def _metrics_table(kind: str, objects: list[dict]) -> tuple[list[dict], list[Row]]:
    columns: list[dict] = []
    rows: list[Row] = []
    names: list[str] | None = None
    for obj in objects:
        usage = _metrics_usage(obj, kind)
        if names is None:
            names = sorted(usage)
            columns = [{"name": "Name", "type": "string", "format": "name", "description": "Name of the resource",
                        "priority": 0}]
            columns += [{"name": n, "type": "string", "format": "quantity", "description": "", "priority": 0}
                        for n in names]
            columns.append({"name": "Window", "type": "string", "format": "duration", "description": "",
                            "priority": 0})
        cells: Row = [_name(obj)]
        for n in names:
            cells.append(_format_quantity(*usage[n]) if n in usage else "0")  # type: ignore[misc]
        cells.append(_go_duration(obj.get("window")))
        rows.append(cells)
    return columns, rows


# --------------------------------------------------------------------------- the table
def _row_object(obj: dict, include_object: str) -> dict | None:
    if include_object == "Object":
        return obj
    if include_object == "None":
        return None
    # "Metadata" (kubectl's default): a PartialObjectMetadata, which is how
    # kubectl fills NAMESPACE for -A and LABELS for --show-labels.
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
            "metadata": obj.get("metadata") or {}}


def row_cells(kind: str, obj: dict, *, now: datetime) -> list:
    """One object's cells in build_table's row for it (every column, in column order), without the table."""
    if kind in ("PodMetrics", "NodeMetrics"):
        return _metrics_table(kind, [obj])[1][0]
    return _PRINTERS.get(kind, _print_default)(obj, now)


def build_table(kind: str, objects: list[dict], *, now: datetime, include_object: str = "Metadata",
                resource_version: str = "", continue_token: str = "") -> dict:
    """The meta.k8s.io/v1 Table the real API server answers `kubectl get` with.

    include_object is the request's `includeObject` (Metadata, the default; Object; None).
    Rows carry every column's cell, wide ones included, in column order.
    Unknown includeObject values are treated as Metadata; the HTTP layer should
    reject them first (the real server answers 400 `unrecognized includeObject value`).
    """
    if kind in ("PodMetrics", "NodeMetrics"):
        columns, cell_rows = _metrics_table(kind, objects)
    else:
        columns = column_definitions(kind)
        printer = _PRINTERS.get(kind, _print_default)
        cell_rows = [printer(obj, now) for obj in objects]
    rows: list[dict] = []
    for obj, cells in zip(objects, cell_rows):
        row: dict[str, Any] = {"cells": cells}
        if kind == "Pod":
            conditions = _pod_row_conditions(obj)
            if conditions:
                row["conditions"] = conditions
        # RawExtension has no omitempty: IncludeObject=None serializes as "object": null
        row["object"] = _row_object(obj, include_object)
        rows.append(row)
    metadata: dict[str, str] = {}
    if resource_version:
        metadata["resourceVersion"] = resource_version
    if continue_token:
        metadata["continue"] = continue_token
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": metadata,
            "columnDefinitions": columns, "rows": rows}


__all__ = ["build_table", "column_definitions", "human_duration", "pod_status_reason", "row_cells",
           "translate_timestamp_since"]
