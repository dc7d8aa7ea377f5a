"""What a container sees: its environment variables and the files its volumes mount.

The kubelet resolves env / envFrom (ConfigMaps, Secrets, fieldRef,
resourceFieldRef, dependent `$(VAR)` expansion) and the configMap, secret,
downwardAPI, projected and emptyDir volumes into a virtual filesystem, the way
pkg/kubelet/kubelet_pods.go does. Missing non-optional references are
reported with the kubelet's own messages (CreateContainerConfigError and
FailedMount), so a learner sees exactly what a real cluster says.
"""
from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field

from ..state import ClusterState

SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
_EXPANSION = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


class ConfigError(Exception):
    """A container cannot be configured (CreateContainerConfigError): the message is the kubelet's."""


@dataclass
class ContainerWorld:
    env: dict[str, str] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)


def expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes' `$(VAR)` expansion: known variables replaced, `$$` escapes, unknown left as they are."""
    def sub(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1)
        return env.get(name, match.group(0))

    return _EXPANSION.sub(sub, text)


def _decoded(secret: dict, key: str) -> str:
    raw = (secret.get("data") or {}).get(key)
    if raw is None:
        return (secret.get("stringData") or {}).get(key, "")
    try:
        return base64.b64decode(raw).decode("utf-8", "replace")
    except (ValueError, TypeError):
        return ""


def _referenced(state: ClusterState, namespace: str, kind: str, ref: dict) -> dict | None:
    """The ConfigMap/Secret a reference names; None if missing but optional, else ConfigError."""
    found = state.get(kind, namespace, ref.get("name", ""))
    if found is None and not ref.get("optional"):
        raise ConfigError(f'{kind.lower()} "{ref.get("name", "")}" not found')
    return found


def _values(obj: dict) -> dict[str, str]:
    """A ConfigMap's data, or a Secret's decoded data (stringData too, as it would be stored)."""
    if obj["kind"] == "ConfigMap":
        return dict(obj.get("data") or {})
    keys = list(obj.get("data") or {}) + [k for k in obj.get("stringData") or {} if k not in (obj.get("data") or {})]
    return {key: _decoded(obj, key) for key in keys}


def _field_ref(pod: dict, path: str) -> str:
    meta, spec, status = pod["metadata"], pod.get("spec") or {}, pod.get("status") or {}
    simple = {
        "metadata.name": meta.get("name", ""), "metadata.namespace": meta.get("namespace", ""),
        "metadata.uid": meta.get("uid", ""), "spec.nodeName": spec.get("nodeName", ""),
        "spec.serviceAccountName": spec.get("serviceAccountName", ""), "status.podIP": status.get("podIP", ""),
        "status.hostIP": status.get("hostIP", ""),
        "status.podIPs": ",".join(ip.get("ip", "") for ip in status.get("podIPs") or []),
        "status.hostIPs": ",".join(ip.get("ip", "") for ip in status.get("hostIPs") or []),
    }
    if path in simple:
        return simple[path]
    match = re.fullmatch(r"metadata\.(labels|annotations)\['(.+)'\]", path)
    if match:
        return (meta.get(match.group(1)) or {}).get(match.group(2), "")
    return ""


def _resource_ref(container: dict, ref: dict, node: dict | None) -> str:
    from ..resources import parse_quantity

    resource = ref.get("resource", "")
    kind, _, name = resource.partition(".")
    resources = container.get("resources") or {}
    value = (resources.get(kind) or {}).get(name)
    if value is None and node is not None:  # no limit: the node's allocatable, as the kubelet reports
        value = ((node.get("status") or {}).get("allocatable") or {}).get(name)
    if value is None:
        return "0"
    divisor = parse_quantity(ref.get("divisor") or "1")
    amount = parse_quantity(value) / divisor
    whole = -(-amount.numerator // amount.denominator)  # rounded up, as the kubelet does
    return str(whole)


def container_environment(state: ClusterState, pod: dict, container: dict, node: dict | None) -> dict[str, str]:
    """The environment of one container, or ConfigError with the kubelet's message."""
    namespace = pod["metadata"].get("namespace", "default")
    env: dict[str, str] = {}
    # Service links (enableServiceLinks, default true): FOO_SERVICE_HOST/PORT of the namespace's services,
    # and always the kubernetes service's.
    services = list(state.list("Service", namespace)) if (pod.get("spec") or {}).get("enableServiceLinks", True) \
        else []
    default_kubernetes = state.get("Service", "default", "kubernetes")
    if default_kubernetes is not None and all(s is not default_kubernetes for s in services):
        services.append(default_kubernetes)
    for service in services:
        spec = service.get("spec") or {}
        ip = spec.get("clusterIP")
        if not ip or ip == "None" or not spec.get("ports"):
            continue
        prefix = service["metadata"]["name"].upper().replace("-", "_")
        first = spec["ports"][0]
        env[f"{prefix}_SERVICE_HOST"] = ip
        env[f"{prefix}_SERVICE_PORT"] = str(first.get("port"))
        for port in spec["ports"]:
            protocol = port.get("protocol", "TCP")
            if port.get("name"):
                env[f"{prefix}_SERVICE_PORT_{port['name'].upper().replace('-', '_')}"] = str(port.get("port"))
            base = f"{prefix}_PORT_{port.get('port')}_{protocol}"
            env[base] = f"{protocol.lower()}://{ip}:{port.get('port')}"
            env[f"{base}_PROTO"] = protocol.lower()
            env[f"{base}_PORT"] = str(port.get("port"))
            env[f"{base}_ADDR"] = ip
        env[f"{prefix}_PORT"] = f"{first.get('protocol', 'TCP').lower()}://{ip}:{first.get('port')}"
    for source in container.get("envFrom") or []:
        prefix = source.get("prefix", "")
        for ref_field, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
            if ref_field in source:
                found = _referenced(state, namespace, kind, source[ref_field])
                if found is not None:
                    env.update({prefix + key: value for key, value in _values(found).items()})
    for var in container.get("env") or []:
        name = var.get("name", "")
        if "valueFrom" not in var:
            env[name] = expand(str(var.get("value", "")), env)
            continue
        source = var["valueFrom"]
        key_ref = next(((kind, source[ref_field]) for ref_field, kind in
                        (("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")) if ref_field in source), None)
        if key_ref is not None:
            kind, ref = key_ref
            found = _referenced(state, namespace, kind, ref)
            if found is None:
                continue
            values = _values(found)
            if ref.get("key") not in values:
                if ref.get("optional"):
                    continue
                raise ConfigError(f"couldn't find key {ref.get('key')} in {kind} {namespace}/{ref.get('name')}")
            env[name] = values[ref["key"]]
        elif "fieldRef" in source:
            env[name] = _field_ref(pod, source["fieldRef"].get("fieldPath", ""))
        elif "resourceFieldRef" in source:
            env[name] = _resource_ref(container, source["resourceFieldRef"], node)
    env.setdefault("HOSTNAME", pod["spec"].get("hostname") or pod["metadata"]["name"])
    env.setdefault("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
    env.setdefault("HOME", "/root")
    return env


def missing_volume_sources(state: ClusterState, pod: dict) -> list[str]:
    """FailedMount messages for configMap/secret volumes whose object is missing (the pod can't start)."""
    namespace = pod["metadata"].get("namespace", "default")
    problems = []
    for volume in (pod.get("spec") or {}).get("volumes") or []:
        if "configMap" in volume:
            ref = volume["configMap"]
            if not ref.get("optional") and state.get("ConfigMap", namespace, ref.get("name", "")) is None:
                problems.append(f'MountVolume.SetUp failed for volume "{volume["name"]}" : '
                                f'configmap "{ref.get("name", "")}" not found')
        elif "secret" in volume:
            ref = volume["secret"]
            if not ref.get("optional") and state.get("Secret", namespace, ref.get("secretName", "")) is None:
                problems.append(f'MountVolume.SetUp failed for volume "{volume["name"]}" : '
                                f'secret "{ref.get("secretName", "")}" not found')
    return problems


def _volume_files(state: ClusterState, pod: dict, volume: dict) -> dict[str, str]:
    """Files a volume shows at its mount point, relative to it."""
    namespace = pod["metadata"].get("namespace", "default")
    if "configMap" in volume:
        found = state.get("ConfigMap", namespace, volume["configMap"].get("name", "")) or {}
        data = found.get("data") or {}
        items = volume["configMap"].get("items")
        return {i["path"]: data.get(i["key"], "") for i in items} if items else dict(data)
    if "secret" in volume:
        found = state.get("Secret", namespace, volume["secret"].get("secretName", "")) or {}
        keys = list((found.get("data") or {}).keys())
        items = volume["secret"].get("items")
        return {i["path"]: _decoded(found, i["key"]) for i in items} if items else {k: _decoded(found, k) for k in keys}
    if "projected" in volume:
        files: dict[str, str] = {}
        for source in volume["projected"].get("sources") or []:
            if "serviceAccountToken" in source:
                files[source["serviceAccountToken"].get("path", "token")] = (
                    "eyJhbGciOiJSUzI1NiIsImtpZCI6InBsYXlncm91bmQifQ.simulated")
            elif "configMap" in source:
                files.update(_volume_files(state, pod, {"configMap": source["configMap"]}))
            elif "secret" in source:
                files.update(_volume_files(state, pod, {"secret": {**source["secret"],
                                                                   "secretName": source["secret"].get("name")}}))
            elif "downwardAPI" in source:
                files.update(_volume_files(state, pod, {"downwardAPI": source["downwardAPI"]}))
        return files
    if "downwardAPI" in volume:
        return {item["path"]: _field_ref(pod, (item.get("fieldRef") or {}).get("fieldPath", ""))
                for item in volume["downwardAPI"].get("items") or [] if "fieldRef" in item}
    return {}


def container_files(state: ClusterState, pod: dict, container: dict) -> dict[str, str]:
    """The initial virtual filesystem of a container: its mounted volumes, /etc/hostname, /etc/hosts."""
    volumes = {v["name"]: v for v in (pod.get("spec") or {}).get("volumes") or []}
    files: dict[str, str] = {}
    hostname = pod["spec"].get("hostname") or pod["metadata"]["name"]
    files["/etc/hostname"] = hostname + "\n"
    ip = (pod.get("status") or {}).get("podIP", "")
    files["/etc/hosts"] = (f"# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost "
                           f"ip6-loopback\n{ip}\t{hostname}\n")
    namespace = pod["metadata"].get("namespace", "default")
    files["/etc/resolv.conf"] = (f"search {namespace}.svc.cluster.local svc.cluster.local cluster.local\n"
                                 "nameserver 10.96.0.10\noptions ndots:5\n")
    for mount in container.get("volumeMounts") or []:
        volume = volumes.get(mount.get("name"))
        if volume is None:
            continue
        base = mount.get("mountPath", "").rstrip("/")
        sub = mount.get("subPath")
        for relative, content in _volume_files(state, pod, volume).items():
            if sub:
                if relative == sub:
                    files[base] = content
                continue
            files[f"{base}/{relative}"] = content
    return files
