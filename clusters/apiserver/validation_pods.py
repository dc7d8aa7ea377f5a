"""Pod spec validation: pkg/apis/core/validation ValidatePodSpec and ValidatePodUpdate.

Used for Pods and for every pod template (Deployment, ReplicaSet, StatefulSet,
DaemonSet, Job, CronJob, ReplicationController, PodTemplate). Objects arrive
defaulted, so fields the server always defaults (restartPolicy, dnsPolicy,
imagePullPolicy, protocol, terminationMessagePolicy, …) are checked for their
values but never reported as missing: on a real cluster a user cannot leave
them empty either.
"""
from __future__ import annotations

from typing import Any

from clusters.engine.resources import normalized

from .validation_names import (
    Errors,
    GoValue,
    QuantityError,
    format_quantity,
    is_config_map_key,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_label_value,
    is_qualified_name,
    is_relaxed_env_var_name,
    is_valid_port_name,
    is_valid_port_num,
    parse_quantity,
    validate_labels,
)

MAX_INT32 = 2 ** 31 - 1
NON_NEGATIVE = "must be greater than or equal to 0"

RESTART_POLICIES = ["Always", "OnFailure", "Never"]
DNS_POLICIES = ["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"]
PULL_POLICIES = ["Always", "IfNotPresent", "Never"]          # sets.List: sorted
PROTOCOLS = ["SCTP", "TCP", "UDP"]                           # sets.List: sorted
TERMINATION_MESSAGE_POLICIES = ["File", "FallbackToLogsOnError"]
TAINT_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"]
URI_SCHEMES = ["HTTP", "HTTPS"]

# VolumeSource members (core/v1); a volume may set exactly one of them.
VOLUME_SOURCES = (
    "hostPath", "emptyDir", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "secret", "nfs",
    "iscsi", "glusterfs", "persistentVolumeClaim", "rbd", "flexVolume", "cinder", "cephfs", "flocker",
    "downwardAPI", "fc", "azureFile", "configMap", "vsphereVolume", "quobyte", "azureDisk",
    "photonPersistentDisk", "projected", "portworxVolume", "scaleIO", "storageos", "csi", "ephemeral", "image",
)


def non_negative(value: Any, path: str, errs: Errors) -> None:
    if isinstance(value, int) and not isinstance(value, bool) and value < 0:
        errs.invalid(path, value, NON_NEGATIVE)


def dns_label(value: str, path: str, errs: Errors) -> None:
    errs.invalid_each(path, value, is_dns1123_label(value))


def _validate_volumes(volumes: Any, path: str, errs: Errors) -> dict[str, dict]:
    found: dict[str, dict] = {}
    for i, vol in enumerate(volumes or []):
        if not isinstance(vol, dict):
            continue
        vpath = f"{path}[{i}]"
        name = vol.get("name") or ""
        if not name:
            errs.required(f"{vpath}.name")
        else:
            dns_label(name, f"{vpath}.name", errs)
        if name in found:
            errs.duplicate(f"{vpath}.name", name)
        else:
            found[name] = vol
        sources = [key for key in VOLUME_SOURCES if vol.get(key) is not None]
        # Defaulting turns a volume without a source into emptyDir; more than one is an error.
        for extra in sources[1:]:
            errs.forbidden(f"{vpath}.{extra}", "may not specify more than 1 volume type")
        cm = vol.get("configMap")
        if isinstance(cm, dict):
            for j, item in enumerate(cm.get("items") or []):
                _key_to_path(item, f"{vpath}.configMap.items[{j}]", errs)
        secret = vol.get("secret")
        if isinstance(secret, dict):
            for j, item in enumerate(secret.get("items") or []):
                _key_to_path(item, f"{vpath}.secret.items[{j}]", errs)
        pvc = vol.get("persistentVolumeClaim")
        if isinstance(pvc, dict) and not pvc.get("claimName"):
            errs.required(f"{vpath}.persistentVolumeClaim.claimName")
        host = vol.get("hostPath")
        if isinstance(host, dict) and not host.get("path"):
            errs.required(f"{vpath}.hostPath.path")
    return found


def _key_to_path(item: Any, path: str, errs: Errors) -> None:
    if not isinstance(item, dict):
        return
    key = item.get("key") or ""
    if not key:
        errs.required(f"{path}.key")
    else:
        errs.invalid_each(f"{path}.key", key, is_config_map_key(key))
    if not item.get("path"):
        errs.required(f"{path}.path")


def _validate_ports(ports: Any, path: str, errs: Errors) -> None:
    names: set[str] = set()
    for i, port in enumerate(ports or []):
        if not isinstance(port, dict):
            continue
        ppath = f"{path}[{i}]"
        name = port.get("name") or ""
        if name:
            msgs = is_valid_port_name(name)
            if msgs:
                errs.invalid_each(f"{ppath}.name", name, msgs)
            elif name in names:
                errs.duplicate(f"{ppath}.name", name)
            else:
                names.add(name)
        cport = port.get("containerPort") or 0
        if cport == 0:
            errs.required(f"{ppath}.containerPort")
        else:
            errs.invalid_each(f"{ppath}.containerPort", cport, is_valid_port_num(cport))
        hport = port.get("hostPort") or 0
        if hport:
            errs.invalid_each(f"{ppath}.hostPort", hport, is_valid_port_num(hport))
        proto = port.get("protocol")
        if proto and proto not in PROTOCOLS:
            errs.not_supported(f"{ppath}.protocol", proto, PROTOCOLS)


def _validate_env(env: Any, path: str, errs: Errors) -> None:
    for i, ev in enumerate(env or []):
        if not isinstance(ev, dict):
            continue
        epath = f"{path}[{i}]"
        name = ev.get("name") or ""
        if not name:
            errs.required(f"{epath}.name")
        else:
            errs.invalid_each(f"{epath}.name", name, is_relaxed_env_var_name(name))
        source = ev.get("valueFrom")
        if not isinstance(source, dict):
            continue
        spath = f"{epath}.valueFrom"
        count = 0
        for key in ("fieldRef", "resourceFieldRef", "configMapKeyRef", "secretKeyRef"):
            ref = source.get(key)
            if ref is None:
                continue
            count += 1
            if key in ("configMapKeyRef", "secretKeyRef") and isinstance(ref, dict):
                ref_name = ref.get("name") or ""
                errs.invalid_each(f"{spath}.{key}.name", ref_name, is_dns1123_subdomain(ref_name))
                ref_key = ref.get("key") or ""
                if not ref_key:
                    errs.required(f"{spath}.{key}.key")
                else:
                    errs.invalid_each(f"{spath}.{key}.key", ref_key, is_config_map_key(ref_key))
            elif key == "fieldRef" and isinstance(ref, dict):
                if not ref.get("fieldPath"):
                    errs.required(f"{spath}.fieldRef.fieldPath")
        if count == 0:
            errs.invalid(spath, "",
                         "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`")
        elif ev.get("value"):
            errs.invalid(spath, "", "may not be specified when `value` is not empty")
        elif count > 1:
            errs.invalid(spath, "", "may not have more than one field specified at a time")


def _validate_env_from(env_from: Any, path: str, errs: Errors) -> None:
    for i, ev in enumerate(env_from or []):
        if not isinstance(ev, dict):
            continue
        epath = f"{path}[{i}]"
        prefix = ev.get("prefix") or ""
        if prefix:
            errs.invalid_each(f"{epath}.prefix", prefix, is_relaxed_env_var_name(prefix))
        count = 0
        for key in ("configMapRef", "secretRef"):
            ref = ev.get(key)
            if ref is None:
                continue
            count += 1
            ref_name = (ref or {}).get("name") or ""
            if not ref_name:
                errs.required(f"{epath}.{key}.name")
            else:
                # ValidateConfigMapName / ValidateSecretName with prefix=true
                masked = ref_name[:-2] + "a" if ref_name.endswith("-") else ref_name
                errs.invalid_each(f"{epath}.{key}.name", ref_name, is_dns1123_subdomain(masked))
        if count == 0:
            errs.invalid(path, "", "must specify one of: `configMapRef` or `secretRef`")
        elif count > 1:
            errs.invalid(path, "", "may not have more than one field specified at a time")


def _validate_mounts(mounts: Any, volumes: dict[str, dict], path: str, errs: Errors) -> None:
    points: set[str] = set()
    for i, mnt in enumerate(mounts or []):
        if not isinstance(mnt, dict):
            continue
        mpath = f"{path}[{i}]"
        name = mnt.get("name") or ""
        if not name:
            errs.required(f"{mpath}.name")
        if name not in volumes:
            errs.not_found(f"{mpath}.name", name)
        mount_path = mnt.get("mountPath") or ""
        if not mount_path:
            errs.required(f"{mpath}.mountPath")
        if mount_path in points:
            errs.invalid(f"{mpath}.mountPath", mount_path, "must be unique")
        points.add(mount_path)
        sub = mnt.get("subPath") or ""
        if sub:
            _local_descending_path(sub, f"{path}.subPath", errs)


def _local_descending_path(target: str, path: str, errs: Errors) -> None:
    if target.startswith("/"):
        errs.invalid(path, target, "must be a relative path")
    if ".." in target.replace("\\", "/").split("/"):
        errs.invalid(path, target, "must not contain '..'")


def _is_native_resource(name: str) -> bool:
    return "/" not in name or "kubernetes.io/" in name


def _overcommit_allowed(name: str) -> bool:
    return _is_native_resource(name) and not name.startswith("hugepages-")


def _validate_resources(resources: Any, path: str, errs: Errors) -> None:
    if not isinstance(resources, dict):
        return
    limits = resources.get("limits") or {}
    requests = resources.get("requests") or {}
    parsed_limits: dict[str, Any] = {}
    for section, values in (("limits", limits), ("requests", requests)):
        if not isinstance(values, dict):
            continue
        for rname, raw in values.items():
            rpath = f"{path}.{section}[{rname}]"
            _validate_container_resource_name(rname, rpath, errs)
            try:
                qty = parse_quantity(raw)
            except QuantityError:
                continue  # the decode step already refused it
            if qty.value < 0:
                errs.invalid(rpath, str(qty), NON_NEGATIVE)
            if section == "limits":
                parsed_limits[rname] = qty
                continue
            limit = parsed_limits.get(rname)
            req_path = f"{path}.requests"
            if limit is not None:
                if qty.value != limit.value and not _overcommit_allowed(rname):
                    errs.invalid(req_path, str(qty), f"must be equal to {rname} limit of {limit}")
                elif qty.value > limit.value:
                    errs.invalid(req_path, str(qty), f"must be less than or equal to {rname} limit of {limit}")
            elif not _overcommit_allowed(rname):
                errs.required(f"{path}.limits", "Limit must be set for non overcommitable resources")


_STANDARD_CONTAINER_RESOURCES = {"cpu", "memory", "ephemeral-storage"}


def _validate_container_resource_name(name: str, path: str, errs: Errors) -> None:
    msgs = is_qualified_name(name)
    if msgs:
        errs.invalid_each(path, name, msgs)
        return
    if "/" not in name:
        if name not in _STANDARD_CONTAINER_RESOURCES and not name.startswith("hugepages-"):
            errs.invalid(path, name, "must be a standard resource for containers")
    elif not _is_native_resource(name) and name.startswith("requests."):
        errs.invalid(path, name, "doesn't follow extended resource name standard")


def _port_num_or_name(port: Any, path: str, errs: Errors) -> None:
    if isinstance(port, str):
        errs.invalid_each(path, port, is_valid_port_name(port))
    elif isinstance(port, int) and not isinstance(port, bool):
        errs.invalid_each(path, port, is_valid_port_num(port))


def _validate_handler(handler: dict, path: str, errs: Errors, *, lifecycle: bool) -> None:
    kinds = ("exec", "httpGet", "tcpSocket", "sleep") if lifecycle else ("exec", "httpGet", "tcpSocket", "grpc")
    count = 0
    for kind in kinds:
        spec = handler.get(kind)
        if spec is None:
            continue
        if count:
            errs.forbidden(f"{path}.{kind}", "may not specify more than 1 handler type")
            continue
        count += 1
        spec = spec if isinstance(spec, dict) else {}
        if kind == "exec" and not spec.get("command"):
            errs.required(f"{path}.exec.command")
        elif kind == "httpGet":
            if spec.get("path") == "":
                errs.required(f"{path}.httpGet.path")
            _port_num_or_name(spec.get("port", 0), f"{path}.httpGet.port", errs)
            scheme = spec.get("scheme")
            if scheme is not None and scheme not in URI_SCHEMES:
                errs.not_supported(f"{path}.httpGet.scheme", scheme, URI_SCHEMES)
        elif kind == "tcpSocket":
            _port_num_or_name(spec.get("port", 0), f"{path}.tcpSocket.port", errs)
        elif kind == "grpc":
            _port_num_or_name(spec.get("port", 0), f"{path}.grpc.port", errs)
    if count == 0:
        errs.required(path, "must specify a handler type")


def _validate_probe(probe: Any, path: str, errs: Errors, kind: str) -> None:
    if not isinstance(probe, dict):
        return
    _validate_handler(probe, path, errs, lifecycle=False)
    for key in ("initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold", "failureThreshold"):
        non_negative(probe.get(key), f"{path}.{key}", errs)
    grace = probe.get("terminationGracePeriodSeconds")
    if isinstance(grace, int) and grace <= 0:
        errs.invalid(f"{path}.terminationGracePeriodSeconds", grace, "must be greater than 0")
    success = probe.get("successThreshold")
    if kind in ("livenessProbe", "startupProbe") and success is not None and success != 1:
        errs.invalid(f"{path}.successThreshold", success, "must be 1")
    if kind == "readinessProbe" and grace is not None:
        errs.invalid(f"{path}.terminationGracePeriodSeconds", grace, "must not be set for readinessProbes")


def _validate_container_common(ctr: dict, volumes: dict[str, dict], path: str, errs: Errors) -> None:
    name = ctr.get("name") or ""
    if not name:
        errs.required(f"{path}.name")
    else:
        dns_label(name, f"{path}.name", errs)
    if not ctr.get("image"):
        errs.required(f"{path}.image")
    tmp = ctr.get("terminationMessagePolicy")
    if tmp and tmp not in TERMINATION_MESSAGE_POLICIES:
        errs.not_supported(f"{path}.terminationMessagePolicy", tmp, TERMINATION_MESSAGE_POLICIES)
    _validate_ports(ctr.get("ports"), f"{path}.ports", errs)
    _validate_env(ctr.get("env"), f"{path}.env", errs)
    _validate_env_from(ctr.get("envFrom"), f"{path}.envFrom", errs)
    _validate_mounts(ctr.get("volumeMounts"), volumes, f"{path}.volumeMounts", errs)
    pull = ctr.get("imagePullPolicy")
    if pull and pull not in PULL_POLICIES:
        errs.not_supported(f"{path}.imagePullPolicy", pull, PULL_POLICIES)
    _validate_resources(ctr.get("resources"), f"{path}.resources", errs)


def _host_port_conflicts(containers: list, path: str, errs: Errors, seen: set[str] | None = None) -> None:
    seen = set() if seen is None else seen
    for ci, ctr in enumerate(containers):
        for pi, port in enumerate((ctr or {}).get("ports") or []):
            host = (port or {}).get("hostPort") or 0
            if not host:
                continue
            key = f"{port.get('protocol') or 'TCP'}/{port.get('hostIP') or ''}/{host}"
            if key in seen:
                errs.duplicate(f"{path}[{ci}].ports[{pi}].hostPort", key)
            seen.add(key)


def validate_pod_spec(spec: Any, path: str, errs: Errors, *, is_pod: bool = False,
                      claim_templates: tuple[str, ...] = ()) -> None:
    """`claim_templates`: a StatefulSet's volumeClaimTemplates names, which its pods get as volumes
    (the controller adds a persistentVolumeClaim volume per template, replacing a volume of that name),
    so the template's volumeMounts may name them."""
    if not isinstance(spec, dict):
        errs.required(f"{path}.containers")
        return
    volumes = _validate_volumes(spec.get("volumes"), f"{path}.volumes", errs)
    for claim in claim_templates:
        volumes.setdefault(claim, {"name": claim, "persistentVolumeClaim": {"claimName": claim}})

    containers = [c for c in (spec.get("containers") or []) if isinstance(c, dict)]
    cpath = f"{path}.containers"
    if not containers:
        errs.required(cpath)
    names: set[str] = set()
    for i, ctr in enumerate(containers):
        ipath = f"{cpath}[{i}]"
        _validate_container_common(ctr, volumes, ipath, errs)
        name = ctr.get("name") or ""
        if name in names:
            errs.duplicate(f"{ipath}.name", name)
        else:
            names.add(name)
        lifecycle = ctr.get("lifecycle")
        if isinstance(lifecycle, dict):
            for hook in ("postStart", "preStop"):
                if isinstance(lifecycle.get(hook), dict):
                    _validate_handler(lifecycle[hook], f"{ipath}.lifecycle.{hook}", errs, lifecycle=True)
        for kind in ("livenessProbe", "readinessProbe", "startupProbe"):
            _validate_probe(ctr.get(kind), f"{ipath}.{kind}", errs, kind)
    _host_port_conflicts(containers, cpath, errs)

    ipath_root = f"{path}.initContainers"
    for i, ctr in enumerate(spec.get("initContainers") or []):
        if not isinstance(ctr, dict):
            continue
        ipath = f"{ipath_root}[{i}]"
        _validate_container_common(ctr, volumes, ipath, errs)
        restart = ctr.get("restartPolicy")
        if restart is not None and restart != "Always":
            errs.not_supported(f"{ipath}.restartPolicy", restart, ["Always"])
        name = ctr.get("name") or ""
        if name in names:
            errs.duplicate(f"{ipath}.name", name)
        elif name:
            names.add(name)
        _host_port_conflicts([ctr], ipath_root, errs)
        if restart == "Always":
            for kind in ("livenessProbe", "readinessProbe", "startupProbe"):
                _validate_probe(ctr.get(kind), f"{ipath}.{kind}", errs, kind)
        else:
            for kind in ("lifecycle", "livenessProbe", "readinessProbe", "startupProbe"):
                if ctr.get(kind) is not None:
                    errs.forbidden(f"{ipath}.{kind}", "may not be set for init containers without restartPolicy=Always")

    restart = spec.get("restartPolicy")
    if restart and restart not in RESTART_POLICIES:
        errs.not_supported(f"{path}.restartPolicy", restart, RESTART_POLICIES)
    dns = spec.get("dnsPolicy")
    if dns and dns not in DNS_POLICIES:
        errs.not_supported(f"{path}.dnsPolicy", dns, DNS_POLICIES)
    if dns == "None" and not spec.get("dnsConfig"):
        errs.required(f"{path}.dnsConfig", "must provide `dnsConfig` when `dnsPolicy` is None")
    validate_labels(spec.get("nodeSelector"), f"{path}.nodeSelector", errs)
    sa = spec.get("serviceAccountName") or ""
    if sa:
        errs.invalid_each(f"{path}.serviceAccountName", sa, is_dns1123_subdomain(sa))
    node = spec.get("nodeName") or ""
    if node:
        errs.invalid_each(f"{path}.nodeName", node, is_dns1123_subdomain(node))
    deadline = spec.get("activeDeadlineSeconds")
    if isinstance(deadline, int) and not 1 <= deadline <= MAX_INT32:
        errs.invalid(f"{path}.activeDeadlineSeconds", deadline, f"must be between 1 and {MAX_INT32}, inclusive")
    for key in ("hostname", "subdomain"):
        if spec.get(key):
            dns_label(spec[key], f"{path}.{key}", errs)
    validate_tolerations(spec.get("tolerations"), f"{path}.tolerations", errs)
    pcn = spec.get("priorityClassName") or ""
    if pcn:
        errs.invalid_each(f"{path}.priorityClassName", pcn, is_dns1123_subdomain(pcn))
    if is_pod:
        for i, ctr in enumerate(containers):
            image = ctr.get("image") or ""
            if image != image.strip():
                errs.invalid(f"{cpath}[{i}].image", image, "must not have leading or trailing whitespace")


def validate_tolerations(tolerations: Any, path: str, errs: Errors) -> None:
    for i, tol in enumerate(tolerations or []):
        if not isinstance(tol, dict):
            continue
        tpath = f"{path}[{i}]"
        key = tol.get("key") or ""
        operator = tol.get("operator") or ""
        value = tol.get("value") or ""
        effect = tol.get("effect") or ""
        if key:
            errs.invalid_each(f"{tpath}.key", key, is_qualified_name(key))
        if not key and operator != "Exists":
            errs.invalid(f"{tpath}.operator", operator,
                         'operator must be Exists when `key` is empty, which means "match all values and all keys"')
        if tol.get("tolerationSeconds") is not None and effect != "NoExecute":
            errs.invalid(f"{tpath}.effect", effect, "effect must be 'NoExecute' when `tolerationSeconds` is set")
        if operator in ("Equal", ""):
            msgs = is_label_value(value)
            if msgs:
                errs.invalid(f"{tpath}.operator", value, ";".join(msgs))
        elif operator == "Exists":
            if value:
                errs.invalid(f"{tpath}.operator", value, "value must be empty when `operator` is 'Exists'")
        else:
            errs.not_supported(f"{tpath}.operator", operator, ["Equal", "Exists"])
        if effect and effect not in TAINT_EFFECTS:
            errs.not_supported(f"{tpath}.effect", effect, TAINT_EFFECTS)


def validate_pod_template_spec(template: Any, path: str, errs: Errors, *,
                               claim_templates: tuple[str, ...] = ()) -> None:
    """ValidatePodTemplateSpec: template labels/annotations are checked at `<path>.labels`;
    `claim_templates` as for validate_pod_spec."""
    if not isinstance(template, dict):
        errs.required(path)
        return
    meta = template.get("metadata") or {}
    from .validation_names import validate_annotations  # local: keep the import list short
    validate_labels(meta.get("labels"), f"{path}.labels", errs)
    validate_annotations(meta.get("annotations"), f"{path}.annotations", errs)
    spec = template.get("spec")
    validate_pod_spec(spec, f"{path}.spec", errs, claim_templates=claim_templates)
    if isinstance(spec, dict) and spec.get("ephemeralContainers"):
        errs.forbidden(f"{path}.spec.ephemeralContainers", "ephemeral containers not allowed in pod template")


# ---------------------------------------------------------------------------
# updates
# ---------------------------------------------------------------------------

UPDATABLE_POD_SPEC_FIELDS = ",".join([
    "`spec.containers[*].image`",
    "`spec.initContainers[*].image`",
    "`spec.activeDeadlineSeconds`",
    "`spec.tolerations` (only additions to existing tolerations)",
    "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
])


def spec_diff(old: dict, new: dict) -> str:
    """A short stand-in for cmp.Diff(old, new): the top-level fields that differ."""
    lines = ["  core.PodSpec{"]
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            if key in old:
                lines.append(f"- \t{key[:1].upper() + key[1:]}: {_short(old[key])},")
            if key in new:
                lines.append(f"+ \t{key[:1].upper() + key[1:]}: {_short(new[key])},")
    lines.append("  \t... // other fields unchanged")
    lines.append("  }")
    return "\n".join(lines) + "\n"


def _short(value: Any) -> str:
    import json
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 200 else text[:197] + "..."


def validate_pod_update(new_spec: dict, old_spec: dict, errs: Errors) -> None:
    """ValidatePodUpdate's spec part: only images, activeDeadlineSeconds, added tolerations
    and a negative grace period set to 1 may change."""
    new_spec = new_spec if isinstance(new_spec, dict) else {}
    old_spec = old_spec if isinstance(old_spec, dict) else {}
    for key in ("containers", "initContainers"):
        new_c = new_spec.get(key) or []
        old_c = old_spec.get(key) or []
        if len(new_c) != len(old_c):
            errs.forbidden(f"spec.{key}", "pod updates may not add or remove containers")
            return
        for i, ctr in enumerate(new_c):
            image = (ctr or {}).get("image") or ""
            if not image:
                errs.required(f"spec.{key}[{i}].image")
            if image != image.strip():
                errs.invalid(f"spec.{key}[{i}].image", image, "must not have leading or trailing whitespace")

    new_deadline = new_spec.get("activeDeadlineSeconds")
    old_deadline = old_spec.get("activeDeadlineSeconds")
    if new_deadline is not None:
        if new_deadline < 0 or new_deadline > MAX_INT32:
            errs.invalid("spec.activeDeadlineSeconds", new_deadline, f"must be between 0 and {MAX_INT32}, inclusive")
            return
        if old_deadline is not None and old_deadline < new_deadline:
            errs.invalid("spec.activeDeadlineSeconds", new_deadline, "must be less than or equal to previous value")
            return
    elif old_deadline is not None:
        errs.invalid("spec.activeDeadlineSeconds", None, "must not update from a positive integer to nil value")

    old_tols = [normalized(t) for t in old_spec.get("tolerations") or []]
    new_tols = [normalized(t) for t in new_spec.get("tolerations") or []]
    for old_tol in old_tols:
        if not any({**old_tol, "tolerationSeconds": t.get("tolerationSeconds")}
                   == {**t, "tolerationSeconds": t.get("tolerationSeconds")}
                   for t in new_tols):
            errs.forbidden("spec.tolerations", "existing toleration can not be modified except its tolerationSeconds")
            break
    validate_tolerations(new_spec.get("tolerations"), "spec.tolerations", errs)

    new_n = normalized(new_spec)
    old_n = normalized(old_spec)
    if new_n == old_n:
        return
    munged = dict(new_n)
    for key in ("containers", "initContainers"):
        if key in munged:
            munged[key] = [
                {**c, "image": (old_n.get(key) or [])[i].get("image")} if i < len(old_n.get(key) or []) else c
                for i, c in enumerate(munged[key])
            ]
            for c in munged[key]:
                if c.get("image") is None:
                    c.pop("image", None)
    for key in ("activeDeadlineSeconds", "tolerations", "schedulingGates"):
        munged.pop(key, None)
        if key in old_n:
            munged[key] = old_n[key]
    old_grace = old_n.get("terminationGracePeriodSeconds")
    if isinstance(old_grace, int) and old_grace < 0 and munged.get("terminationGracePeriodSeconds") == 1:
        munged["terminationGracePeriodSeconds"] = old_grace
    if munged != old_n:
        errs.forbidden("spec", f"pod updates may not change fields other than {UPDATABLE_POD_SPEC_FIELDS}\n"
                               + spec_diff(old_n, munged))


def quantity_string(raw: Any) -> str:
    try:
        return str(parse_quantity(raw))
    except QuantityError:
        return str(raw)


__all__ = ["validate_pod_spec", "validate_pod_template_spec", "validate_pod_update", "normalized",
           "non_negative", "dns_label", "GoValue", "format_quantity", "quantity_string"]
