"""Decoding of the protobuf request bodies the real kubectl sends.

`kubectl create deployment|service|configmap|secret|namespace|job|cronjob|...`
and `kubectl autoscale` POST `application/vnd.kubernetes.protobuf` and do not
retry with JSON on a 415, so the apiserver has to read protobuf. The body is
the magic `k8s\\x00` followed by a `runtime.Unknown` message
(1 typeMeta {1 apiVersion, 2 kind}, 2 raw, 3 contentEncoding, 4 contentType)
whose `raw` is the object in the k8s.io/api `generated.proto` encoding.

`decode_protobuf` turns that into the dict kubectl would have sent as JSON for
the same command, so everything after it (defaulting, validation, storage)
only ever sees Kubernetes JSON.

Design: a small wire reader plus declarative field tables (field number ->
JSON name and type) copied from the real generated.proto files:
k8s.io/apimachinery pkg/apis/meta/v1, pkg/util/intstr, pkg/api/resource and
k8s.io/api core/v1, apps/v1, batch/v1, autoscaling/v1, autoscaling/v2,
policy/v1, networking/v1, scheduling/v1, rbac/v1, authentication/v1.
Field numbers never change in those files; fields newer than the tables are
skipped, as a Go client of an older version would do.

How presence maps to JSON follows Go's encoding/json over the k8s structs,
because that is what kubectl prints with `-o json` and sends as JSON:

* Non-pointer scalars are always on the wire (gogo-protobuf writes them even
  when zero); with `omitempty` (the common case) a zero value is left out.
* Pointer scalars (`*int32 replicas`) are only on the wire when set, and are
  then kept even when zero (`--replicas=0` must stay 0, not default to 1).
* Fields without `omitempty` (`containerPort`, `maxReplicas`, ...) are always
  in the JSON; a missing scalar gets its zero value, a missing list/map or
  pointer is `null` (as `status.currentMetrics: null` of an HPA).
* Nested messages appear whenever they are on the wire (encoding/json never
  omits a struct), so `strategy: {}`, `resources: {}` and `status: {}` show up
  exactly as in `kubectl create ... -o json`.
* A zero `metav1.Time` is left out (kubectl 1.37 omits
  `creationTimestamp` rather than printing null), unless the field has no
  `omitempty`, where it is null.

Pure module: no Django imports.
"""
from __future__ import annotations

import base64
import datetime as _dt
import struct
from dataclasses import dataclass
from typing import Any

from clusters.apiserver.errors import ApiError, bad_request

MAGIC = b"k8s\x00"

# Nesting deeper than this is not produced by any real object (a PodSpec
# inside a JobTemplate inside a CronJob is about 10 deep) and would only come
# from a hostile body; the bound keeps recursion far from Python's limit.
MAX_DEPTH = 48

# Wire types of the protobuf encoding.
VARINT, FIXED64, LENGTH, START_GROUP, END_GROUP, FIXED32 = 0, 1, 2, 3, 4, 5


class _DecodeError(Exception):
    """Malformed input; turned into a 400 at the public boundary."""


# --------------------------------------------------------------------------
# Wire reader


def _read_varint(data: bytes, pos: int, end: int) -> tuple[int, int]:
    """An unsigned varint at `pos`; at most 10 bytes, as protobuf allows."""
    result = 0
    shift = 0
    while True:
        if pos >= end:
            raise _DecodeError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result & 0xFFFFFFFFFFFFFFFF, pos
        shift += 7
        if shift >= 70:
            raise _DecodeError("varint is longer than 10 bytes")


def _fields(data: bytes, start: int = 0, end: int | None = None):
    """Yield (field number, wire type, value) of one message's bytes.

    value is an int for VARINT/FIXED64/FIXED32 and a (start, end) slice pair
    for LENGTH, so nested messages are read without copying.
    """
    if end is None:
        end = len(data)
    pos = start
    while pos < end:
        key, pos = _read_varint(data, pos, end)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise _DecodeError("field number 0 is invalid")
        if wire == VARINT:
            value, pos = _read_varint(data, pos, end)
            yield number, wire, value
        elif wire == FIXED64:
            if pos + 8 > end:
                raise _DecodeError("truncated 64-bit field")
            yield number, wire, int.from_bytes(data[pos:pos + 8], "little")
            pos += 8
        elif wire == FIXED32:
            if pos + 4 > end:
                raise _DecodeError("truncated 32-bit field")
            yield number, wire, int.from_bytes(data[pos:pos + 4], "little")
            pos += 4
        elif wire == LENGTH:
            length, pos = _read_varint(data, pos, end)
            if length > end - pos:
                raise _DecodeError(f"field {number} claims {length} bytes but only {end - pos} remain")
            yield number, wire, (pos, pos + length)
            pos += length
        else:
            # Groups (3/4) are never produced by gogo-protobuf, and 6/7 do not exist.
            raise _DecodeError(f"unsupported wire type {wire} for field {number}")


def _signed64(value: int) -> int:
    return value - (1 << 64) if value & (1 << 63) else value


def _signed32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & (1 << 31) else value


def _text(data: bytes, span: tuple[int, int]) -> str:
    # Go does not validate UTF-8 when unmarshalling; its JSON encoder then
    # replaces invalid bytes with U+FFFD, which is what "replace" does.
    return data[span[0]:span[1]].decode("utf-8", errors="replace")


# --------------------------------------------------------------------------
# Field tables


@dataclass(frozen=True)
class Field:
    """One field of a message: its JSON name and how its value is read.

    kind: string, int32, int64, bool, bytes, double, message, inline (an
    embedded struct whose JSON keys are merged into the parent), time,
    microtime, duration, quantity, intstr.
    """

    name: str
    kind: str
    message: str | None = None  # for message/inline kinds and map values
    repeated: bool = False
    map_value: str | None = None  # kind of the value when the field is a map<string, ...>
    ptr: bool = False  # Go pointer: kept when present, even if zero
    req: bool = False  # Go field without omitempty: always in the JSON


MESSAGES: dict[str, dict[int, Field]] = {}


def _msg(name: str, fields: dict[int, Field]) -> None:
    MESSAGES[name] = fields


# Short constructors keep the tables readable.
def s(name: str, **kw: Any) -> Field:
    return Field(name, "string", **kw)


def i32(name: str, **kw: Any) -> Field:
    return Field(name, "int32", **kw)


def i64(name: str, **kw: Any) -> Field:
    return Field(name, "int64", **kw)


def b(name: str, **kw: Any) -> Field:
    return Field(name, "bool", **kw)


def m(name: str, message: str, **kw: Any) -> Field:
    return Field(name, "message", message=message, **kw)


def inline(message: str) -> Field:
    return Field("", "inline", message=message)


def rs(name: str, **kw: Any) -> Field:
    return Field(name, "string", repeated=True, **kw)


def rm(name: str, message: str, **kw: Any) -> Field:
    return Field(name, "message", message=message, repeated=True, **kw)


def ms(name: str, **kw: Any) -> Field:
    """map<string, string>"""
    return Field(name, "map", map_value="string", **kw)


def mb(name: str, **kw: Any) -> Field:
    """map<string, bytes>, base64 in JSON (Secret.data, ConfigMap.binaryData)"""
    return Field(name, "map", map_value="bytes", **kw)


def mq(name: str, **kw: Any) -> Field:
    """map<string, Quantity> (ResourceList)"""
    return Field(name, "map", map_value="quantity", **kw)


def t(name: str, **kw: Any) -> Field:
    return Field(name, "time", **kw)


def q(name: str, **kw: Any) -> Field:
    return Field(name, "quantity", **kw)


def ios(name: str, **kw: Any) -> Field:
    return Field(name, "intstr", **kw)


# --- k8s.io/apimachinery/pkg/apis/meta/v1 ---------------------------------

_msg("meta.ObjectMeta", {
    1: s("name"), 2: s("generateName"), 3: s("namespace"), 4: s("selfLink"), 5: s("uid"),
    6: s("resourceVersion"), 7: i64("generation"), 8: t("creationTimestamp"),
    9: t("deletionTimestamp", ptr=True), 10: i64("deletionGracePeriodSeconds", ptr=True),
    11: ms("labels"), 12: ms("annotations"), 13: rm("ownerReferences", "meta.OwnerReference"),
    14: rs("finalizers"),
    # 15 clusterName was removed; 17 managedFields is server-side bookkeeping
    # a client never sets on create: both are skipped as unknown.
})
_msg("meta.OwnerReference", {
    5: s("apiVersion", req=True), 1: s("kind", req=True), 3: s("name", req=True),
    4: s("uid", req=True), 6: b("controller", ptr=True), 7: b("blockOwnerDeletion", ptr=True),
})
_msg("meta.DeleteOptions", {
    1: i64("gracePeriodSeconds", ptr=True), 2: m("preconditions", "meta.Preconditions", ptr=True),
    3: b("orphanDependents", ptr=True), 4: s("propagationPolicy", ptr=True), 5: rs("dryRun"),
    6: b("ignoreStoreReadErrorWithClusterBreakingPotential", ptr=True),
})
_msg("meta.Preconditions", {1: s("uid", ptr=True), 2: s("resourceVersion", ptr=True)})
_msg("meta.LabelSelector", {
    1: ms("matchLabels"), 2: rm("matchExpressions", "meta.LabelSelectorRequirement"),
})
_msg("meta.LabelSelectorRequirement", {
    1: s("key", req=True), 2: s("operator", req=True), 3: rs("values"),
})

# --- k8s.io/api/core/v1 ----------------------------------------------------

_msg("core.LocalObjectReference", {1: s("name")})
_msg("core.ObjectReference", {
    1: s("kind"), 2: s("namespace"), 3: s("name"), 4: s("uid"), 5: s("apiVersion"),
    6: s("resourceVersion"), 7: s("fieldPath"),
})
_msg("core.TypedLocalObjectReference", {
    1: s("apiGroup", ptr=True), 2: s("kind", req=True), 3: s("name", req=True),
})
_msg("core.Namespace", {
    1: m("metadata", "meta.ObjectMeta"), 2: m("spec", "core.NamespaceSpec"),
    3: m("status", "core.NamespaceStatus"),
})
_msg("core.NamespaceSpec", {1: rs("finalizers")})
_msg("core.NamespaceStatus", {1: s("phase"), 2: rm("conditions", "core.NamespaceCondition")})
_msg("core.NamespaceCondition", {
    1: s("type", req=True), 2: s("status", req=True), 4: t("lastTransitionTime"),
    5: s("reason"), 6: s("message"),
})
_msg("core.ConfigMap", {
    1: m("metadata", "meta.ObjectMeta"), 4: b("immutable", ptr=True), 2: ms("data"),
    3: mb("binaryData"),
})
_msg("core.Secret", {
    1: m("metadata", "meta.ObjectMeta"), 5: b("immutable", ptr=True), 2: mb("data"),
    4: ms("stringData"), 3: s("type"),
})
_msg("core.ServiceAccount", {
    1: m("metadata", "meta.ObjectMeta"), 2: rm("secrets", "core.ObjectReference"),
    3: rm("imagePullSecrets", "core.LocalObjectReference"),
    4: b("automountServiceAccountToken", ptr=True),
})
_msg("core.ResourceQuota", {
    1: m("metadata", "meta.ObjectMeta"), 2: m("spec", "core.ResourceQuotaSpec"),
    3: m("status", "core.ResourceQuotaStatus"),
})
_msg("core.ResourceQuotaSpec", {
    1: mq("hard"), 2: rs("scopes"), 3: m("scopeSelector", "core.ScopeSelector", ptr=True),
})
_msg("core.ScopeSelector", {1: rm("matchExpressions", "core.ScopedResourceSelectorRequirement")})
_msg("core.ScopedResourceSelectorRequirement", {
    1: s("scopeName", req=True), 2: s("operator", req=True), 3: rs("values"),
})
_msg("core.ResourceQuotaStatus", {1: mq("hard"), 2: mq("used")})

_msg("core.Service", {
    1: m("metadata", "meta.ObjectMeta"), 2: m("spec", "core.ServiceSpec"),
    3: m("status", "core.ServiceStatus"),
})
_msg("core.ServiceSpec", {
    1: rm("ports", "core.ServicePort"), 2: ms("selector"), 3: s("clusterIP"),
    18: rs("clusterIPs"), 4: s("type"), 5: rs("externalIPs"), 7: s("sessionAffinity"),
    8: s("loadBalancerIP"), 9: rs("loadBalancerSourceRanges"), 10: s("externalName"),
    11: s("externalTrafficPolicy"), 12: i32("healthCheckNodePort"),
    13: b("publishNotReadyAddresses"),
    14: m("sessionAffinityConfig", "core.SessionAffinityConfig"),
    19: rs("ipFamilies"), 17: s("ipFamilyPolicy", ptr=True),
    20: b("allocateLoadBalancerNodePorts", ptr=True), 21: s("loadBalancerClass", ptr=True),
    22: s("internalTrafficPolicy", ptr=True),
})
_msg("core.SessionAffinityConfig", {1: m("clientIP", "core.ClientIPConfig")})
_msg("core.ClientIPConfig", {1: i32("timeoutSeconds", ptr=True)})
_msg("core.ServicePort", {
    1: s("name"), 2: s("protocol"), 6: s("appProtocol", ptr=True), 3: i32("port", req=True),
    4: ios("targetPort"), 5: i32("nodePort"),
})
_msg("core.ServiceStatus", {1: m("loadBalancer", "core.LoadBalancerStatus")})
_msg("core.LoadBalancerStatus", {1: rm("ingress", "core.LoadBalancerIngress")})
_msg("core.LoadBalancerIngress", {1: s("ip"), 2: s("hostname"), 4: rm("ports", "core.PortStatus")})
_msg("core.PortStatus", {1: i32("port", req=True), 2: s("protocol", req=True), 3: s("error", ptr=True)})

_msg("core.Pod", {
    1: m("metadata", "meta.ObjectMeta"), 2: m("spec", "core.PodSpec"),
    3: m("status", "core.PodStatus"),
})
# Only the scalar part of PodStatus: clients do not send conditions or
# container statuses on create.
_msg("core.PodStatus", {
    1: s("phase"), 3: s("message"), 4: s("reason"), 11: s("nominatedNodeName"),
    5: s("hostIP"), 6: s("podIP"), 7: t("startTime"), 9: s("qosClass"),
})
_msg("core.PodTemplateSpec", {1: m("metadata", "meta.ObjectMeta"), 2: m("spec", "core.PodSpec")})
_msg("core.PodSpec", {
    1: rm("volumes", "core.Volume"), 20: rm("initContainers", "core.Container"),
    2: rm("containers", "core.Container", req=True),
    34: rm("ephemeralContainers", "core.EphemeralContainer"),
    3: s("restartPolicy"), 4: i64("terminationGracePeriodSeconds", ptr=True),
    5: i64("activeDeadlineSeconds", ptr=True), 6: s("dnsPolicy"), 7: ms("nodeSelector"),
    8: s("serviceAccountName"), 9: s("serviceAccount"),
    21: b("automountServiceAccountToken", ptr=True), 10: s("nodeName"),
    11: b("hostNetwork"), 12: b("hostPID"), 13: b("hostIPC"),
    27: b("shareProcessNamespace", ptr=True),
    14: m("securityContext", "core.PodSecurityContext"),
    15: rm("imagePullSecrets", "core.LocalObjectReference"), 16: s("hostname"),
    17: s("subdomain"), 18: m("affinity", "core.Affinity"), 19: s("schedulerName"),
    22: rm("tolerations", "core.Toleration"), 23: rm("hostAliases", "core.HostAlias"),
    24: s("priorityClassName"), 25: i32("priority", ptr=True),
    26: m("dnsConfig", "core.PodDNSConfig"), 28: rm("readinessGates", "core.PodReadinessGate"),
    29: s("runtimeClassName", ptr=True), 30: b("enableServiceLinks", ptr=True),
    31: s("preemptionPolicy", ptr=True), 32: mq("overhead"),
    33: rm("topologySpreadConstraints", "core.TopologySpreadConstraint"),
    35: b("setHostnameAsFQDN", ptr=True),
})
_CONTAINER: dict[int, Field] = {
    1: s("name", req=True), 2: s("image"), 3: rs("command"), 4: rs("args"), 5: s("workingDir"),
    6: rm("ports", "core.ContainerPort"), 19: rm("envFrom", "core.EnvFromSource"),
    7: rm("env", "core.EnvVar"), 8: m("resources", "core.ResourceRequirements"),
    9: rm("volumeMounts", "core.VolumeMount"), 21: rm("volumeDevices", "core.VolumeDevice"),
    10: m("livenessProbe", "core.Probe"), 11: m("readinessProbe", "core.Probe"),
    22: m("startupProbe", "core.Probe"), 12: m("lifecycle", "core.Lifecycle"),
    13: s("terminationMessagePath"), 20: s("terminationMessagePolicy"),
    14: s("imagePullPolicy"), 15: m("securityContext", "core.SecurityContext"),
    16: b("stdin"), 17: b("stdinOnce"), 18: b("tty"),
}
_msg("core.Container", _CONTAINER)
_msg("core.EphemeralContainerCommon", _CONTAINER)  # a copy of Container's fields, same numbers
_msg("core.EphemeralContainer", {
    1: inline("core.EphemeralContainerCommon"), 2: s("targetContainerName"),
})
_msg("core.ContainerPort", {
    1: s("name"), 2: i32("hostPort"), 3: i32("containerPort", req=True), 4: s("protocol"),
    5: s("hostIP"),
})
_msg("core.EnvVar", {1: s("name", req=True), 2: s("value"), 3: m("valueFrom", "core.EnvVarSource")})
_msg("core.EnvVarSource", {
    1: m("fieldRef", "core.ObjectFieldSelector"),
    2: m("resourceFieldRef", "core.ResourceFieldSelector"),
    3: m("configMapKeyRef", "core.ConfigMapKeySelector"),
    4: m("secretKeyRef", "core.SecretKeySelector"),
})
_msg("core.ObjectFieldSelector", {1: s("apiVersion"), 2: s("fieldPath", req=True)})
_msg("core.ResourceFieldSelector", {
    1: s("containerName"), 2: s("resource", req=True), 3: q("divisor"),
})
_msg("core.ConfigMapKeySelector", {
    1: inline("core.LocalObjectReference"), 2: s("key", req=True), 3: b("optional", ptr=True),
})
_msg("core.SecretKeySelector", {
    1: inline("core.LocalObjectReference"), 2: s("key", req=True), 3: b("optional", ptr=True),
})
_msg("core.EnvFromSource", {
    1: s("prefix"), 2: m("configMapRef", "core.ConfigMapEnvSource"),
    3: m("secretRef", "core.SecretEnvSource"),
})
_msg("core.ConfigMapEnvSource", {1: inline("core.LocalObjectReference"), 2: b("optional", ptr=True)})
_msg("core.SecretEnvSource", {1: inline("core.LocalObjectReference"), 2: b("optional", ptr=True)})
_msg("core.ResourceRequirements", {1: mq("limits"), 2: mq("requests")})
_msg("core.VolumeMount", {
    1: s("name", req=True), 2: b("readOnly"), 3: s("mountPath", req=True), 4: s("subPath"),
    5: s("mountPropagation", ptr=True), 6: s("subPathExpr"),
})
_msg("core.VolumeDevice", {1: s("name", req=True), 2: s("devicePath", req=True)})
_msg("core.Probe", {
    1: inline("core.ProbeHandler"), 2: i32("initialDelaySeconds"), 3: i32("timeoutSeconds"),
    4: i32("periodSeconds"), 5: i32("successThreshold"), 6: i32("failureThreshold"),
    7: i64("terminationGracePeriodSeconds", ptr=True),
})
_HANDLER: dict[int, Field] = {
    1: m("exec", "core.ExecAction"), 2: m("httpGet", "core.HTTPGetAction"),
    3: m("tcpSocket", "core.TCPSocketAction"),
}
_msg("core.ProbeHandler", _HANDLER)
_msg("core.LifecycleHandler", _HANDLER)
_msg("core.Lifecycle", {1: m("postStart", "core.LifecycleHandler"), 2: m("preStop", "core.LifecycleHandler")})
_msg("core.ExecAction", {1: rs("command")})
_msg("core.HTTPGetAction", {
    1: s("path"), 2: ios("port", req=True), 3: s("host"), 4: s("scheme"),
    5: rm("httpHeaders", "core.HTTPHeader"),
})
_msg("core.HTTPHeader", {1: s("name", req=True), 2: s("value", req=True)})
_msg("core.TCPSocketAction", {1: ios("port", req=True), 2: s("host")})
_msg("core.SecurityContext", {
    1: m("capabilities", "core.Capabilities"), 2: b("privileged", ptr=True),
    3: m("seLinuxOptions", "core.SELinuxOptions"),
    10: m("windowsOptions", "core.WindowsSecurityContextOptions"),
    4: i64("runAsUser", ptr=True), 8: i64("runAsGroup", ptr=True), 5: b("runAsNonRoot", ptr=True),
    6: b("readOnlyRootFilesystem", ptr=True), 7: b("allowPrivilegeEscalation", ptr=True),
    9: s("procMount", ptr=True), 11: m("seccompProfile", "core.SeccompProfile"),
})
_msg("core.Capabilities", {1: rs("add"), 2: rs("drop")})
_msg("core.SELinuxOptions", {1: s("user"), 2: s("role"), 3: s("type"), 4: s("level")})
_msg("core.WindowsSecurityContextOptions", {
    1: s("gmsaCredentialSpecName", ptr=True), 2: s("gmsaCredentialSpec", ptr=True),
    3: s("runAsUserName", ptr=True),
})
_msg("core.SeccompProfile", {1: s("type", req=True), 2: s("localhostProfile", ptr=True)})
_msg("core.PodSecurityContext", {
    1: m("seLinuxOptions", "core.SELinuxOptions"),
    8: m("windowsOptions", "core.WindowsSecurityContextOptions"),
    2: i64("runAsUser", ptr=True), 6: i64("runAsGroup", ptr=True), 3: b("runAsNonRoot", ptr=True),
    4: Field("supplementalGroups", "int64", repeated=True), 5: i64("fsGroup", ptr=True),
    7: rm("sysctls", "core.Sysctl"), 9: s("fsGroupChangePolicy", ptr=True),
    10: m("seccompProfile", "core.SeccompProfile"),
})
_msg("core.Sysctl", {1: s("name", req=True), 2: s("value", req=True)})
_msg("core.Toleration", {
    1: s("key"), 2: s("operator"), 3: s("value"), 4: s("effect"),
    5: i64("tolerationSeconds", ptr=True),
})
_msg("core.HostAlias", {1: s("ip", req=True), 2: rs("hostnames")})
_msg("core.PodDNSConfig", {
    1: rs("nameservers"), 2: rs("searches"), 3: rm("options", "core.PodDNSConfigOption"),
})
_msg("core.PodDNSConfigOption", {1: s("name"), 2: s("value", ptr=True)})
_msg("core.PodReadinessGate", {1: s("conditionType", req=True)})
_msg("core.TopologySpreadConstraint", {
    1: i32("maxSkew", req=True), 2: s("topologyKey", req=True),
    3: s("whenUnsatisfiable", req=True), 4: m("labelSelector", "meta.LabelSelector"),
})
_msg("core.Affinity", {
    1: m("nodeAffinity", "core.NodeAffinity"), 2: m("podAffinity", "core.PodAffinity"),
    3: m("podAntiAffinity", "core.PodAntiAffinity"),
})
_msg("core.NodeAffinity", {
    1: m("requiredDuringSchedulingIgnoredDuringExecution", "core.NodeSelector"),
    2: rm("preferredDuringSchedulingIgnoredDuringExecution", "core.PreferredSchedulingTerm"),
})
_msg("core.NodeSelector", {1: rm("nodeSelectorTerms", "core.NodeSelectorTerm", req=True)})
_msg("core.NodeSelectorTerm", {
    1: rm("matchExpressions", "core.NodeSelectorRequirement"),
    2: rm("matchFields", "core.NodeSelectorRequirement"),
})
_msg("core.NodeSelectorRequirement", {
    1: s("key", req=True), 2: s("operator", req=True), 3: rs("values"),
})
_msg("core.PreferredSchedulingTerm", {
    1: i32("weight", req=True), 2: m("preference", "core.NodeSelectorTerm", req=True),
})
_AFFINITY: dict[int, Field] = {
    1: rm("requiredDuringSchedulingIgnoredDuringExecution", "core.PodAffinityTerm"),
    2: rm("preferredDuringSchedulingIgnoredDuringExecution", "core.WeightedPodAffinityTerm"),
}
_msg("core.PodAffinity", _AFFINITY)
_msg("core.PodAntiAffinity", _AFFINITY)
_msg("core.PodAffinityTerm", {
    1: m("labelSelector", "meta.LabelSelector"), 2: rs("namespaces"),
    3: s("topologyKey", req=True), 4: m("namespaceSelector", "meta.LabelSelector"),
})
_msg("core.WeightedPodAffinityTerm", {
    1: i32("weight", req=True), 2: m("podAffinityTerm", "core.PodAffinityTerm", req=True),
})
_msg("core.Volume", {1: s("name", req=True), 2: inline("core.VolumeSource")})
# The volume sources a playground pod can use; exotic cloud disks are skipped.
_msg("core.VolumeSource", {
    1: m("hostPath", "core.HostPathVolumeSource"), 2: m("emptyDir", "core.EmptyDirVolumeSource"),
    6: m("secret", "core.SecretVolumeSource"), 7: m("nfs", "core.NFSVolumeSource"),
    10: m("persistentVolumeClaim", "core.PersistentVolumeClaimVolumeSource"),
    16: m("downwardAPI", "core.DownwardAPIVolumeSource"),
    19: m("configMap", "core.ConfigMapVolumeSource"),
    26: m("projected", "core.ProjectedVolumeSource"), 28: m("csi", "core.CSIVolumeSource"),
})
_msg("core.HostPathVolumeSource", {1: s("path", req=True), 2: s("type", ptr=True)})
_msg("core.EmptyDirVolumeSource", {1: s("medium"), 2: q("sizeLimit", ptr=True)})
_msg("core.SecretVolumeSource", {
    1: s("secretName"), 2: rm("items", "core.KeyToPath"), 3: i32("defaultMode", ptr=True),
    4: b("optional", ptr=True),
})
_msg("core.KeyToPath", {1: s("key", req=True), 2: s("path", req=True), 3: i32("mode", ptr=True)})
_msg("core.NFSVolumeSource", {1: s("server", req=True), 2: s("path", req=True), 3: b("readOnly")})
_msg("core.PersistentVolumeClaimVolumeSource", {1: s("claimName", req=True), 2: b("readOnly")})
_msg("core.DownwardAPIVolumeSource", {
    1: rm("items", "core.DownwardAPIVolumeFile"), 2: i32("defaultMode", ptr=True),
})
_msg("core.DownwardAPIVolumeFile", {
    1: s("path", req=True), 2: m("fieldRef", "core.ObjectFieldSelector"),
    3: m("resourceFieldRef", "core.ResourceFieldSelector"), 4: i32("mode", ptr=True),
})
_msg("core.ConfigMapVolumeSource", {
    1: inline("core.LocalObjectReference"), 2: rm("items", "core.KeyToPath"),
    3: i32("defaultMode", ptr=True), 4: b("optional", ptr=True),
})
_msg("core.ProjectedVolumeSource", {
    1: rm("sources", "core.VolumeProjection"), 2: i32("defaultMode", ptr=True),
})
_msg("core.VolumeProjection", {
    1: m("secret", "core.SecretProjection"), 2: m("downwardAPI", "core.DownwardAPIProjection"),
    3: m("configMap", "core.ConfigMapProjection"),
    4: m("serviceAccountToken", "core.ServiceAccountTokenProjection"),
})
_msg("core.SecretProjection", {
    1: inline("core.LocalObjectReference"), 2: rm("items", "core.KeyToPath"),
    4: b("optional", ptr=True),
})
_msg("core.ConfigMapProjection", {
    1: inline("core.LocalObjectReference"), 2: rm("items", "core.KeyToPath"),
    4: b("optional", ptr=True),
})
_msg("core.DownwardAPIProjection", {1: rm("items", "core.DownwardAPIVolumeFile")})
_msg("core.ServiceAccountTokenProjection", {
    1: s("audience"), 2: i64("expirationSeconds", ptr=True), 3: s("path", req=True),
})
_msg("core.CSIVolumeSource", {
    1: s("driver", req=True), 2: b("readOnly", ptr=True), 3: s("fsType", ptr=True),
    4: ms("volumeAttributes"), 5: m("nodePublishSecretRef", "core.LocalObjectReference", ptr=True),
})

# --- k8s.io/api/apps/v1 ----------------------------------------------------

_msg("apps.Deployment", {
    1: m("metadata", "meta.ObjectMeta"), 2: m("spec", "apps.DeploymentSpec"),
    3: m("status", "apps.DeploymentStatus"),
})
_msg("apps.DeploymentSpec", {
    1: i32("replicas", ptr=True), 2: m("selector", "meta.LabelSelector", ptr=True, req=True),
    3: m("template", "core.PodTemplateSpec", req=True), 4: m("strategy", "apps.DeploymentStrategy"),
    5: i32("minReadySeconds"), 6: i32("revisionHistoryLimit", ptr=True), 7: b("paused"),
    9: i32("progressDeadlineSeconds", ptr=True), 10: s("podReplacementPolicy", ptr=True),
})
_msg("apps.DeploymentStrategy", {1: s("type"), 2: m("rollingUpdate", "apps.RollingUpdateDeployment")})
_msg("apps.RollingUpdateDeployment", {1: ios("maxUnavailable"), 2: ios("maxSurge")})
_msg("apps.DeploymentStatus", {
    1: i64("observedGeneration"), 2: i32("replicas"), 3: i32("updatedReplicas"),
    7: i32("readyReplicas"), 4: i32("availableReplicas"), 5: i32("unavailableReplicas"),
    9: i32("terminatingReplicas", ptr=True), 6: rm("conditions", "apps.DeploymentCondition"),
    8: i32("collisionCount", ptr=True),
})
_msg("apps.DeploymentCondition", {
    1: s("type", req=True), 2: s("status", req=True), 6: t("lastUpdateTime"),
    7: t("lastTransitionTime"), 4: s("reason"), 5: s("message"),
})

# --- k8s.io/api/batch/v1 ---------------------------------------------------

_msg("batch.Job", {
    1: m("metadata", "meta.ObjectMeta"), 2: m("spec", "batch.JobSpec"),
    3: m("status", "batch.JobStatus"),
})
_msg("batch.JobSpec", {
    1: i32("parallelism", ptr=True), 2: i32("completions", ptr=True),
    3: i64("activeDeadlineSeconds", ptr=True), 7: i32("backoffLimit", ptr=True),
    12: i32("backoffLimitPerIndex", ptr=True), 13: i32("maxFailedIndexes", ptr=True),
    4: m("selector", "meta.LabelSelector", ptr=True), 5: b("manualSelector", ptr=True),
    6: m("template", "core.PodTemplateSpec", req=True),
    8: i32("ttlSecondsAfterFinished", ptr=True), 9: s("completionMode", ptr=True),
    10: b("suspend", ptr=True), 14: s("podReplacementPolicy", ptr=True),
    15: s("managedBy", ptr=True),
})
_msg("batch.JobStatus", {
    1: rm("conditions", "batch.JobCondition"), 2: t("startTime", ptr=True),
    3: t("completionTime", ptr=True), 4: i32("active"), 5: i32("succeeded"), 6: i32("failed"),
    11: i32("terminating", ptr=True), 7: s("completedIndexes"), 10: s("failedIndexes", ptr=True),
    8: m("uncountedTerminatedPods", "batch.UncountedTerminatedPods", ptr=True),
    9: i32("ready", ptr=True),
})
_msg("batch.JobCondition", {
    1: s("type", req=True), 2: s("status", req=True), 3: t("lastProbeTime"),
    4: t("lastTransitionTime"), 5: s("reason"), 6: s("message"),
})
_msg("batch.UncountedTerminatedPods", {1: rs("succeeded"), 2: rs("failed")})
_msg("batch.JobTemplateSpec", {1: m("metadata", "meta.ObjectMeta"), 2: m("spec", "batch.JobSpec")})
_msg("batch.CronJob", {
    1: m("metadata", "meta.ObjectMeta"), 2: m("spec", "batch.CronJobSpec"),
    3: m("status", "batch.CronJobStatus"),
})
_msg("batch.CronJobSpec", {
    1: s("schedule", req=True), 8: s("timeZone", ptr=True),
    2: i64("startingDeadlineSeconds", ptr=True), 3: s("concurrencyPolicy"),
    4: b("suspend", ptr=True), 5: m("jobTemplate", "batch.JobTemplateSpec", req=True),
    6: i32("successfulJobsHistoryLimit", ptr=True), 7: i32("failedJobsHistoryLimit", ptr=True),
})
_msg("batch.CronJobStatus", {
    1: rm("active", "core.ObjectReference"), 4: t("lastScheduleTime", ptr=True),
    5: t("lastSuccessfulTime", ptr=True),
})

# --- k8s.io/api/autoscaling/v1 and v2 ---------------------------------------

_msg("autoscaling.CrossVersionObjectReference", {
    1: s("kind", req=True), 2: s("name", req=True), 3: s("apiVersion"),
})
_msg("autoscalingv1.HorizontalPodAutoscaler", {
    1: m("metadata", "meta.ObjectMeta"), 2: m("spec", "autoscalingv1.HorizontalPodAutoscalerSpec"),
    3: m("status", "autoscalingv1.HorizontalPodAutoscalerStatus"),
})
_msg("autoscalingv1.HorizontalPodAutoscalerSpec", {
    1: m("scaleTargetRef", "autoscaling.CrossVersionObjectReference", req=True),
    2: i32("minReplicas", ptr=True), 3: i32("maxReplicas", req=True),
    4: i32("targetCPUUtilizationPercentage", ptr=True),
})
_msg("autoscalingv1.HorizontalPodAutoscalerStatus", {
    1: i64("observedGeneration", ptr=True), 2: t("lastScaleTime", ptr=True),
    3: i32("currentReplicas", req=True), 4: i32("desiredReplicas", req=True),
    5: i32("currentCPUUtilizationPercentage", ptr=True),
})
_msg("autoscalingv2.HorizontalPodAutoscaler", {
    1: m("metadata", "meta.ObjectMeta"), 2: m("spec", "autoscalingv2.HorizontalPodAutoscalerSpec"),
    3: m("status", "autoscalingv2.HorizontalPodAutoscalerStatus"),
})
_msg("autoscalingv2.HorizontalPodAutoscalerSpec", {
    1: m("scaleTargetRef", "autoscaling.CrossVersionObjectReference", req=True),
    2: i32("minReplicas", ptr=True), 3: i32("maxReplicas", req=True),
    4: rm("metrics", "autoscalingv2.MetricSpec"),
    5: m("behavior", "autoscalingv2.HorizontalPodAutoscalerBehavior", ptr=True),
})
_msg("autoscalingv2.MetricSpec", {
    1: s("type", req=True), 2: m("object", "autoscalingv2.ObjectMetricSource", ptr=True),
    3: m("pods", "autoscalingv2.PodsMetricSource", ptr=True),
    4: m("resource", "autoscalingv2.ResourceMetricSource", ptr=True),
    7: m("containerResource", "autoscalingv2.ContainerResourceMetricSource", ptr=True),
    5: m("external", "autoscalingv2.ExternalMetricSource", ptr=True),
})
_msg("autoscalingv2.ObjectMetricSource", {
    1: m("describedObject", "autoscaling.CrossVersionObjectReference", req=True),
    2: m("target", "autoscalingv2.MetricTarget", req=True),
    3: m("metric", "autoscalingv2.MetricIdentifier", req=True),
})
_msg("autoscalingv2.PodsMetricSource", {
    1: m("metric", "autoscalingv2.MetricIdentifier", req=True),
    2: m("target", "autoscalingv2.MetricTarget", req=True),
})
_msg("autoscalingv2.ResourceMetricSource", {
    1: s("name", req=True), 2: m("target", "autoscalingv2.MetricTarget", req=True),
})
_msg("autoscalingv2.ContainerResourceMetricSource", {
    1: s("name", req=True), 2: m("target", "autoscalingv2.MetricTarget", req=True),
    3: s("container", req=True),
})
_msg("autoscalingv2.ExternalMetricSource", {
    1: m("metric", "autoscalingv2.MetricIdentifier", req=True),
    2: m("target", "autoscalingv2.MetricTarget", req=True),
})
_msg("autoscalingv2.MetricIdentifier", {
    1: s("name", req=True), 2: m("selector", "meta.LabelSelector", ptr=True),
})
_msg("autoscalingv2.MetricTarget", {
    1: s("type", req=True), 2: q("value", ptr=True), 3: q("averageValue", ptr=True),
    4: i32("averageUtilization", ptr=True),
})
_msg("autoscalingv2.HorizontalPodAutoscalerBehavior", {
    1: m("scaleUp", "autoscalingv2.HPAScalingRules", ptr=True),
    2: m("scaleDown", "autoscalingv2.HPAScalingRules", ptr=True),
})
_msg("autoscalingv2.HPAScalingRules", {
    3: i32("stabilizationWindowSeconds", ptr=True), 1: s("selectPolicy", ptr=True),
    2: rm("policies", "autoscalingv2.HPAScalingPolicy"), 4: q("tolerance", ptr=True),
})
_msg("autoscalingv2.HPAScalingPolicy", {
    1: s("type", req=True), 2: i32("value", req=True), 3: i32("periodSeconds", req=True),
})
_msg("autoscalingv2.HorizontalPodAutoscalerStatus", {
    1: i64("observedGeneration", ptr=True), 2: t("lastScaleTime", ptr=True),
    3: i32("currentReplicas"), 4: i32("desiredReplicas", req=True),
    # `json:"currentMetrics"` without omitempty: kubectl prints null.
    5: rm("currentMetrics", "autoscalingv2.MetricStatus", req=True),
    6: rm("conditions", "autoscalingv2.HorizontalPodAutoscalerCondition"),
})
_msg("autoscalingv2.MetricStatus", {
    1: s("type", req=True), 2: m("object", "autoscalingv2.ObjectMetricStatus", ptr=True),
    3: m("pods", "autoscalingv2.PodsMetricStatus", ptr=True),
    4: m("resource", "autoscalingv2.ResourceMetricStatus", ptr=True),
    7: m("containerResource", "autoscalingv2.ContainerResourceMetricStatus", ptr=True),
    5: m("external", "autoscalingv2.ExternalMetricStatus", ptr=True),
})
_msg("autoscalingv2.ObjectMetricStatus", {
    1: m("metric", "autoscalingv2.MetricIdentifier", req=True),
    2: m("current", "autoscalingv2.MetricValueStatus", req=True),
    3: m("describedObject", "autoscaling.CrossVersionObjectReference", req=True),
})
_msg("autoscalingv2.PodsMetricStatus", {
    1: m("metric", "autoscalingv2.MetricIdentifier", req=True),
    2: m("current", "autoscalingv2.MetricValueStatus", req=True),
})
_msg("autoscalingv2.ResourceMetricStatus", {
    1: s("name", req=True), 2: m("current", "autoscalingv2.MetricValueStatus", req=True),
})
_msg("autoscalingv2.ContainerResourceMetricStatus", {
    1: s("name", req=True), 2: m("current", "autoscalingv2.MetricValueStatus", req=True),
    3: s("container", req=True),
})
_msg("autoscalingv2.ExternalMetricStatus", {
    1: m("metric", "autoscalingv2.MetricIdentifier", req=True),
    2: m("current", "autoscalingv2.MetricValueStatus", req=True),
})
_msg("autoscalingv2.MetricValueStatus", {
    1: q("value", ptr=True), 2: q("averageValue", ptr=True), 3: i32("averageUtilization", ptr=True),
})
_msg("autoscalingv2.HorizontalPodAutoscalerCondition", {
    1: s("type", req=True), 2: s("status", req=True), 3: t("lastTransitionTime"),
    4: s("reason"), 5: s("message"), 6: i64("observedGeneration"),
})

# --- k8s.io/api/policy/v1 --------------------------------------------------

_msg("policy.PodDisruptionBudget", {
    1: m("metadata", "meta.ObjectMeta"), 2: m("spec", "policy.PodDisruptionBudgetSpec"),
    3: m("status", "policy.PodDisruptionBudgetStatus"),
})
_msg("policy.PodDisruptionBudgetSpec", {
    1: ios("minAvailable", ptr=True), 2: m("selector", "meta.LabelSelector", ptr=True),
    3: ios("maxUnavailable", ptr=True), 4: s("unhealthyPodEvictionPolicy", ptr=True),
})
_msg("policy.PodDisruptionBudgetStatus", {
    1: i64("observedGeneration"), 2: Field("disruptedPods", "map", map_value="time"),
    3: i32("disruptionsAllowed", req=True), 4: i32("currentHealthy", req=True),
    5: i32("desiredHealthy", req=True), 6: i32("expectedPods", req=True),
})

# The pods/eviction subresource's body (policy/v1 and policy/v1beta1 have the same message).
_msg("policy.Eviction", {
    1: m("metadata", "meta.ObjectMeta"), 2: m("deleteOptions", "meta.DeleteOptions", ptr=True),
})

# --- k8s.io/api/networking/v1 ----------------------------------------------

_msg("networking.Ingress", {
    1: m("metadata", "meta.ObjectMeta"), 2: m("spec", "networking.IngressSpec"),
    3: m("status", "networking.IngressStatus"),
})
_msg("networking.IngressSpec", {
    4: s("ingressClassName", ptr=True), 1: m("defaultBackend", "networking.IngressBackend", ptr=True),
    2: rm("tls", "networking.IngressTLS"), 3: rm("rules", "networking.IngressRule"),
})
_msg("networking.IngressBackend", {
    4: m("service", "networking.IngressServiceBackend", ptr=True),
    3: m("resource", "core.TypedLocalObjectReference", ptr=True),
})
_msg("networking.IngressServiceBackend", {
    1: s("name", req=True), 2: m("port", "networking.ServiceBackendPort"),
})
_msg("networking.ServiceBackendPort", {1: s("name"), 2: i32("number")})
_msg("networking.IngressTLS", {1: rs("hosts"), 2: s("secretName")})
_msg("networking.IngressRule", {1: s("host"), 2: inline("networking.IngressRuleValue")})
_msg("networking.IngressRuleValue", {1: m("http", "networking.HTTPIngressRuleValue", ptr=True)})
_msg("networking.HTTPIngressRuleValue", {1: rm("paths", "networking.HTTPIngressPath", req=True)})
_msg("networking.HTTPIngressPath", {
    1: s("path"), 3: s("pathType", ptr=True, req=True),
    2: m("backend", "networking.IngressBackend", req=True),
})
_msg("networking.IngressStatus", {1: m("loadBalancer", "networking.IngressLoadBalancerStatus")})
_msg("networking.IngressLoadBalancerStatus", {
    1: rm("ingress", "networking.IngressLoadBalancerIngress"),
})
_msg("networking.IngressLoadBalancerIngress", {
    1: s("ip"), 2: s("hostname"), 4: rm("ports", "networking.IngressPortStatus"),
})
_msg("networking.IngressPortStatus", {
    1: i32("port", req=True), 2: s("protocol", req=True), 3: s("error", ptr=True),
})

# --- k8s.io/api/scheduling/v1 ----------------------------------------------

_msg("scheduling.PriorityClass", {
    1: m("metadata", "meta.ObjectMeta"), 2: i32("value", req=True), 3: b("globalDefault"),
    4: s("description"), 5: s("preemptionPolicy", ptr=True),
})

# --- k8s.io/api/rbac/v1 ----------------------------------------------------

_msg("rbac.PolicyRule", {
    1: rs("verbs", req=True), 2: rs("apiGroups"), 3: rs("resources"), 4: rs("resourceNames"),
    5: rs("nonResourceURLs"),
})
_msg("rbac.Role", {1: m("metadata", "meta.ObjectMeta"), 2: rm("rules", "rbac.PolicyRule", req=True)})
_msg("rbac.ClusterRole", {
    1: m("metadata", "meta.ObjectMeta"), 2: rm("rules", "rbac.PolicyRule", req=True),
    3: m("aggregationRule", "rbac.AggregationRule", ptr=True),
})
_msg("rbac.AggregationRule", {1: rm("clusterRoleSelectors", "meta.LabelSelector")})
_msg("rbac.Subject", {
    1: s("kind", req=True), 2: s("apiGroup"), 3: s("name", req=True), 4: s("namespace"),
})
_msg("rbac.RoleRef", {1: s("apiGroup", req=True), 2: s("kind", req=True), 3: s("name", req=True)})
_BINDING: dict[int, Field] = {
    1: m("metadata", "meta.ObjectMeta"), 2: rm("subjects", "rbac.Subject"),
    3: m("roleRef", "rbac.RoleRef", req=True),
}
_msg("rbac.RoleBinding", _BINDING)
_msg("rbac.ClusterRoleBinding", _BINDING)

# --- k8s.io/api/authentication/v1 ------------------------------------------

_msg("authentication.TokenRequest", {
    1: m("metadata", "meta.ObjectMeta"), 2: m("spec", "authentication.TokenRequestSpec", req=True),
    3: m("status", "authentication.TokenRequestStatus"),
})
_msg("authentication.TokenRequestSpec", {
    1: rs("audiences", req=True), 4: i64("expirationSeconds", ptr=True),
    3: m("boundObjectRef", "authentication.BoundObjectReference", ptr=True),
})
_msg("authentication.BoundObjectReference", {
    1: s("kind"), 2: s("apiVersion"), 3: s("name"), 4: s("uid"),
})
_msg("authentication.TokenRequestStatus", {
    1: s("token", req=True), 2: t("expirationTimestamp", req=True),
})

# (apiVersion, kind) of a request body -> its top-level message.
KINDS: dict[tuple[str, str], str] = {
    ("v1", "Namespace"): "core.Namespace",
    ("v1", "ConfigMap"): "core.ConfigMap",
    ("v1", "Secret"): "core.Secret",
    ("v1", "Service"): "core.Service",
    ("v1", "ServiceAccount"): "core.ServiceAccount",
    ("v1", "ResourceQuota"): "core.ResourceQuota",
    ("v1", "Pod"): "core.Pod",
    ("apps/v1", "Deployment"): "apps.Deployment",
    ("batch/v1", "Job"): "batch.Job",
    ("batch/v1", "CronJob"): "batch.CronJob",
    ("autoscaling/v1", "HorizontalPodAutoscaler"): "autoscalingv1.HorizontalPodAutoscaler",
    ("autoscaling/v2", "HorizontalPodAutoscaler"): "autoscalingv2.HorizontalPodAutoscaler",
    ("policy/v1", "PodDisruptionBudget"): "policy.PodDisruptionBudget",
    ("policy/v1", "Eviction"): "policy.Eviction",
    ("policy/v1beta1", "Eviction"): "policy.Eviction",
    ("networking.k8s.io/v1", "Ingress"): "networking.Ingress",
    ("scheduling.k8s.io/v1", "PriorityClass"): "scheduling.PriorityClass",
    ("rbac.authorization.k8s.io/v1", "Role"): "rbac.Role",
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): "rbac.ClusterRole",
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): "rbac.RoleBinding",
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): "rbac.ClusterRoleBinding",
    ("authentication.k8s.io/v1", "TokenRequest"): "authentication.TokenRequest",
}


# --------------------------------------------------------------------------
# Special types


def _format_time(seconds: int, nanos: int | None) -> str:
    """RFC 3339 in UTC as metav1.Time (seconds) or MicroTime (6 digits) marshal."""
    try:
        moment = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC) + _dt.timedelta(seconds=seconds)
    except OverflowError as exc:
        raise _DecodeError(f"timestamp {seconds} is out of range") from exc
    if moment.year < 1 or moment.year > 9999:
        raise _DecodeError(f"timestamp {seconds} is out of range")
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if nanos is not None:
        text += f".{nanos // 1000:06d}"
    return text + "Z"


def format_go_duration(nanoseconds: int) -> str:
    """time.Duration.String(), which metav1.Duration marshals to JSON: `1h0m0s`, `1.5s`, `250ms`."""
    if nanoseconds == 0:
        return "0s"
    sign = "-" if nanoseconds < 0 else ""
    n = abs(nanoseconds)
    if n < 1_000_000_000:
        # Under a second Go picks ns, µs or ms and prints a fraction.
        for unit, size in (("ns", 1), ("µs", 1_000), ("ms", 1_000_000)):
            if n < size * 1000:
                return sign + _fraction(n, size) + unit
    hours, rest = divmod(n, 3_600_000_000_000)
    minutes, rest = divmod(rest, 60_000_000_000)
    text = _fraction(rest, 1_000_000_000) + "s"
    if hours:
        return f"{sign}{hours}h{minutes}m{text}"
    if minutes:
        return f"{sign}{minutes}m{text}"
    return sign + text


def _fraction(value: int, unit: int) -> str:
    whole, frac = divmod(value, unit)
    if not frac:
        return str(whole)
    digits = len(str(unit)) - 1
    return f"{whole}." + f"{frac:0{digits}d}".rstrip("0")


def _decode_time(data: bytes, span: tuple[int, int], micro: bool) -> str | None:
    """metav1.Time/MicroTime: {1 seconds, 2 nanos}; empty means the zero time (JSON null)."""
    if span[0] == span[1]:
        return None
    seconds = 0
    nanos = 0
    for number, wire, value in _fields(data, *span):
        if number == 1:
            _expect(wire, VARINT, "Timestamp.seconds")
            seconds = _signed64(value)
        elif number == 2:
            _expect(wire, VARINT, "Timestamp.nanos")
            nanos = _signed32(value)
    if not 0 <= nanos < 1_000_000_000:
        raise _DecodeError(f"timestamp nanos {nanos} out of range")
    # metav1.Time keeps whole seconds only (its Unmarshal drops nanos).
    return _format_time(seconds, nanos if micro else None)


def _decode_duration(data: bytes, span: tuple[int, int]) -> str:
    duration = 0
    for number, wire, value in _fields(data, *span):
        if number == 1:
            _expect(wire, VARINT, "Duration.duration")
            duration = _signed64(value)
    return format_go_duration(duration)


def _decode_quantity(data: bytes, span: tuple[int, int]) -> str:
    """resource.Quantity: {1 string}; the zero Quantity marshals as "0"."""
    text = ""
    for number, wire, value in _fields(data, *span):
        if number == 1:
            _expect(wire, LENGTH, "Quantity.string")
            text = _text(data, value)
    return text or "0"


def _decode_intstr(data: bytes, span: tuple[int, int]) -> int | str:
    """intstr.IntOrString: {1 type (0 int, 1 string), 2 intVal, 3 strVal} -> JSON int or string."""
    kind = 0
    int_val = 0
    str_val = ""
    for number, wire, value in _fields(data, *span):
        if number == 1:
            _expect(wire, VARINT, "IntOrString.type")
            kind = _signed64(value)
        elif number == 2:
            _expect(wire, VARINT, "IntOrString.intVal")
            int_val = _signed32(value)
        elif number == 3:
            _expect(wire, LENGTH, "IntOrString.strVal")
            str_val = _text(data, value)
    return str_val if kind == 1 else int_val


# --------------------------------------------------------------------------
# Message decoding


_SCALAR_WIRE = {"string": LENGTH, "bytes": LENGTH, "int32": VARINT, "int64": VARINT,
                "bool": VARINT, "double": FIXED64}
_ZERO: dict[str, Any] = {"string": "", "bytes": "", "int32": 0, "int64": 0, "bool": False,
                         "double": 0.0, "quantity": "0", "intstr": 0}


def _expect(wire: int, wanted: int, what: str) -> None:
    if wire != wanted:
        raise _DecodeError(f"wrong wire type {wire} for {what} (expected {wanted})")


def _scalar(kind: str, wire: int, value: Any, data: bytes, what: str) -> Any:
    _expect(wire, _SCALAR_WIRE[kind], what)
    if kind == "string":
        return _text(data, value)
    if kind == "bytes":
        # []byte marshals to standard base64 in JSON (Secret.data).
        return base64.b64encode(data[value[0]:value[1]]).decode("ascii")
    if kind == "int32":
        return _signed32(value)
    if kind == "int64":
        return _signed64(value)
    if kind == "bool":
        return value != 0
    return struct.unpack("<d", value.to_bytes(8, "little"))[0]


def _packed(kind: str, data: bytes, span: tuple[int, int], what: str) -> list[Any]:
    """A packed repeated varint field (proto3 style); gogo writes them unpacked, both are legal."""
    if kind not in ("int32", "int64", "bool"):
        raise _DecodeError(f"wrong wire type 2 for {what}")
    out = []
    pos, end = span
    while pos < end:
        value, pos = _read_varint(data, pos, end)
        out.append(_scalar(kind, VARINT, value, data, what))
    return out


def _value(kind: str, message: str | None, wire: int, value: Any, data: bytes, depth: int,
           what: str) -> Any:
    """One value of a field (an element when repeated); messages recurse."""
    if kind in _SCALAR_WIRE:
        return _scalar(kind, wire, value, data, what)
    _expect(wire, LENGTH, what)
    if kind == "message":
        assert message is not None
        return _decode_message(message, data, value, depth + 1)
    if kind == "time":
        return _decode_time(data, value, micro=False)
    if kind == "microtime":
        return _decode_time(data, value, micro=True)
    if kind == "duration":
        return _decode_duration(data, value)
    if kind == "quantity":
        return _decode_quantity(data, value)
    if kind == "intstr":
        return _decode_intstr(data, value)
    raise _DecodeError(f"no decoder for {kind}")  # a table bug, still answered as 400


def _map_entry(field: Field, data: bytes, span: tuple[int, int], depth: int, what: str) -> tuple[str, Any]:
    """map<string, V> entries are messages {1 key, 2 value}; a missing part is its zero value."""
    key = ""
    val: Any = None
    for number, wire, value in _fields(data, *span):
        if number == 1:
            _expect(wire, LENGTH, what + " key")
            key = _text(data, value)
        elif number == 2:
            val = _value(field.map_value or "string", None, wire, value, data, depth, what + " value")
    if val is None and field.map_value != "time":
        val = _ZERO.get(field.map_value or "string", "")
    return key, val


def _decode_message(name: str, data: bytes, span: tuple[int, int], depth: int) -> dict[str, Any]:
    if depth > MAX_DEPTH:
        raise _DecodeError(f"nesting deeper than {MAX_DEPTH} levels")
    table = MESSAGES[name]
    found: dict[int, Any] = {}
    for number, wire, value in _fields(data, *span):
        field = table.get(number)
        if field is None:
            continue  # a field newer than our tables: skipped, as an older client would
        what = f"{name.split('.', 1)[1]}.{field.name or field.message}"
        if field.kind == "map":
            _expect(wire, LENGTH, what)
            key, val = _map_entry(field, data, value, depth, what)
            found.setdefault(number, {})[key] = val
        elif field.kind == "inline":
            # An embedded struct (`json:",inline"`): its keys join the parent's.
            _expect(wire, LENGTH, what)
            assert field.message is not None
            found.setdefault(number, {}).update(_decode_message(field.message, data, value, depth + 1))
        elif field.repeated:
            items = found.setdefault(number, [])
            if wire == LENGTH and field.kind in ("int32", "int64", "bool"):
                items.extend(_packed(field.kind, data, value, what))
            else:
                items.append(_value(field.kind, field.message, wire, value, data, depth, what))
        else:
            # Last one wins, as in protobuf.
            found[number] = _value(field.kind, field.message, wire, value, data, depth, what)

    out: dict[str, Any] = {}
    for number, field in table.items():
        if field.kind == "inline":
            out.update(found.get(number, {}))
            continue
        if number not in found:
            if field.req:
                # Go marshals the zero value of a field without omitempty:
                # 0/"" for value scalars, null for pointers, slices and maps.
                if field.ptr or field.repeated or field.kind in ("map", "message", "time"):
                    out[field.name] = None
                else:
                    out[field.name] = _ZERO.get(field.kind)
            continue
        value = found[number]
        if field.repeated or field.kind == "map":
            if value or field.req:
                out[field.name] = value
            continue
        if field.kind in ("time", "microtime"):
            if value is not None or field.req:
                out[field.name] = value
            continue
        if field.kind in _SCALAR_WIRE and not field.ptr and not field.req and value == _ZERO[field.kind]:
            continue  # omitempty on a value-typed scalar
        out[field.name] = value
    return out


def _decode_unknown(body: bytes) -> tuple[str, str, bytes]:
    """runtime.Unknown: 1 typeMeta {1 apiVersion, 2 kind}, 2 raw, 3 contentEncoding, 4 contentType."""
    api_version = kind = encoding = ""
    raw_span: tuple[int, int] | None = None
    for number, wire, value in _fields(body, len(MAGIC)):
        if number == 1:
            _expect(wire, LENGTH, "Unknown.typeMeta")
            for sub, sub_wire, sub_value in _fields(body, *value):
                if sub == 1:
                    _expect(sub_wire, LENGTH, "TypeMeta.apiVersion")
                    api_version = _text(body, sub_value)
                elif sub == 2:
                    _expect(sub_wire, LENGTH, "TypeMeta.kind")
                    kind = _text(body, sub_value)
        elif number == 2:
            _expect(wire, LENGTH, "Unknown.raw")
            raw_span = value
        elif number == 3:
            _expect(wire, LENGTH, "Unknown.contentEncoding")
            encoding = _text(body, value)
        elif number == 4:
            _expect(wire, LENGTH, "Unknown.contentType")
    if encoding:
        raise _DecodeError(f"unsupported content encoding {encoding!r}")
    if not api_version or not kind:
        raise _DecodeError("the envelope has no apiVersion or kind")
    raw = body[raw_span[0]:raw_span[1]] if raw_span else b""
    return api_version, kind, raw


def decode_protobuf(body: bytes) -> dict:
    """The object as Kubernetes JSON (a plain dict, exactly what kubectl would send as JSON for the same
    command: apiVersion and kind from typeMeta, omitted-empty fields left out)."""
    try:
        if not isinstance(body, (bytes, bytearray, memoryview)):
            raise _DecodeError("the body is not bytes")
        body = bytes(body)
        if not body.startswith(MAGIC):
            raise _DecodeError("missing the k8s\\x00 protobuf prefix")
        api_version, kind, raw = _decode_unknown(body)
        # DeleteOptions is registered in every group-version (metav1.AddToGroupVersion): a typed client's
        # DELETE body names its own group's version ("v1" for pods, "apps/v1" for Deployments).
        message = "meta.DeleteOptions" if kind == "DeleteOptions" else KINDS.get((api_version, kind))
        if message is None:
            raise bad_request(f"protobuf is not supported for {api_version} {kind}; send JSON or YAML")
        obj: dict[str, Any] = {"kind": kind, "apiVersion": api_version}
        obj.update(_decode_message(message, raw, (0, len(raw)), 0))
        return obj
    except ApiError:
        raise
    except _DecodeError as exc:
        raise bad_request(f"unable to decode protobuf body: {exc}") from None
    except Exception as exc:
        raise bad_request(f"unable to decode protobuf body: {type(exc).__name__}") from None


__all__ = ["decode_protobuf", "format_go_duration", "MESSAGES", "KINDS", "Field"]
