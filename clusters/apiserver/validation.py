"""Request validation, as kube-apiserver does it: decode checks, then semantic validation.

Pipeline order (see DESIGN.md): `check_decoding` (400 BadRequest on wrong JSON
types / unknown fields) → defaulting → `validate_object` (422 Invalid with
`details.causes`). Rules and messages follow pkg/apis/{core,apps,batch,
autoscaling}/validation of Kubernetes 1.3x; building blocks live in
validation_names (messages, names, quantities), validation_decode (the schema
walk) and validation_pods (pod spec). Objects are plain JSON dicts.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from . import errors
from .registry import ResourceType
from .validation_decode import decode_errors
from .validation_names import (
    Errors,
    GoValue,
    QuantityError,
    go_label_selector,
    go_repr,
    go_string_map,
    go_string_slice,
    is_config_map_key,
    is_dns1035_label,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_qualified_name,
    is_valid_percent,
    is_valid_port_name,
    is_valid_port_num,
    name_checker,
    parse_quantity,
    validate_annotations,
    validate_labels,
)
from .validation_pods import (
    NON_NEGATIVE,
    non_negative,
    normalized,
    validate_pod_spec,
    validate_pod_template_spec,
    validate_pod_update,
)

FIELD_IMMUTABLE = "field is immutable"


# ---------------------------------------------------------------------------
# decode
# ---------------------------------------------------------------------------


def check_decoding(obj: dict, rt: ResourceType, *, field_validation: str = "Strict") -> list[str]:
    """Replay the JSON decode: raise 400 on type errors (and unknown fields when Strict).

    In Warn and Ignore mode unknown fields are removed from `obj` in place (the real
    server drops them); Warn returns them as warnings for `Warning:` headers.
    """
    if rt.schema_name is None:
        return []
    mode = field_validation if field_validation in ("Strict", "Warn", "Ignore") else "Strict"
    type_error, unknown = decode_errors(obj, rt.schema_name, mode)
    prefix = f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: '
    if type_error is not None:
        raise errors.bad_request(prefix + type_error)
    if not unknown:
        return []
    rendered = [f'unknown field "{path}"' for path in unknown]
    if mode == "Strict":
        raise errors.bad_request(prefix + "strict decoding error: " + ", ".join(rendered))
    return rendered if mode == "Warn" else []


# ---------------------------------------------------------------------------
# metadata
# ---------------------------------------------------------------------------

# Kinds whose name has an extra length cap (CronJob: 52 so Job names fit in a label).
_NAME_MAX = {"CronJob": 52}


def _name_messages(name: str, kind: str) -> list[str]:
    msgs = name_checker(kind)(name)
    cap = _NAME_MAX.get(kind)
    if cap is not None and len(name) > cap:
        msgs = [f"must be no more than {cap} characters"] + msgs
    return msgs


def validate_name(name: str, rt: ResourceType) -> list[dict]:
    """The causes for `metadata.name` (empty list when the name is valid)."""
    errs = Errors()
    if not name:
        errs.required("metadata.name", "name or generateName is required")
    else:
        errs.invalid_each("metadata.name", name, _name_messages(name, rt.kind))
    return errs.items


def _validate_meta(obj: dict, rt: ResourceType, errs: Errors) -> None:
    meta = obj.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    generate = meta.get("generateName") or ""
    name = meta.get("name") or ""
    if generate and not name:
        masked = generate[:-2] + "a" if generate.endswith("-") else generate
        errs.invalid_each("metadata.generateName", generate, name_checker(rt.kind)(masked))
    errs.items.extend(validate_name(name, rt))
    namespace = meta.get("namespace") or ""
    if rt.namespaced and namespace:
        errs.invalid_each("metadata.namespace", namespace, is_dns1123_label(namespace))
    non_negative(meta.get("generation"), "metadata.generation", errs)
    validate_labels(meta.get("labels"), "metadata.labels", errs)
    validate_annotations(meta.get("annotations"), "metadata.annotations", errs)
    controllers = []
    for ref in meta.get("ownerReferences") or []:
        if not isinstance(ref, dict):
            continue
        path = "metadata.ownerReferences"
        api_version = ref.get("apiVersion") or ""
        if not api_version or api_version.endswith("/"):
            errs.invalid(f"{path}.apiVersion", api_version, "version must not be empty")
        for key in ("kind", "name", "uid"):
            if not ref.get(key):
                errs.invalid(f"{path}.{key}", ref.get(key) or "", "must not be empty")
        if ref.get("controller"):
            controllers.append(f"{ref.get('kind')}/{ref.get('name')}")
    if len(controllers) > 1:
        errs.invalid("metadata.ownerReferences", GoValue("[]v1.OwnerReference{...}"),
                     f'Only one reference can have Controller set to true. Found "true" in references for '
                     f"{controllers[0]} and {controllers[1]}")
    finalizers = meta.get("finalizers") or []
    for fin in finalizers:
        if isinstance(fin, str):
            errs.invalid_each("metadata.finalizers", fin, is_qualified_name(fin))
    if "orphan" in finalizers and "foregroundDeletion" in finalizers:
        errs.invalid("metadata.finalizers", GoValue(go_string_slice(finalizers)),
                     "finalizer orphan and foregroundDeletion cannot be both set")


def _validate_meta_update(obj: dict, old: dict, errs: Errors) -> None:
    new_meta = obj.get("metadata") or {}
    old_meta = old.get("metadata") or {}
    for key in ("name", "namespace", "uid"):
        new_value = new_meta.get(key) or ""
        old_value = old_meta.get(key) or ""
        # An update that leaves a server-set field out keeps the stored one (the
        # registry copies it); only a different value is a change.
        if key == "uid" and not new_value:
            continue
        if new_value != old_value:
            errs.invalid(f"metadata.{key}", new_value, FIELD_IMMUTABLE)
    if (new_meta.get("generation") or 0) < (old_meta.get("generation") or 0) and "generation" in new_meta:
        errs.invalid("metadata.generation", new_meta.get("generation"), "must not be decremented")


# ---------------------------------------------------------------------------
# selectors
# ---------------------------------------------------------------------------


def _validate_label_selector(sel: Any, path: str, errs: Errors) -> None:
    if not isinstance(sel, dict):
        return
    validate_labels(sel.get("matchLabels"), f"{path}.matchLabels", errs)
    for i, req in enumerate(sel.get("matchExpressions") or []):
        if not isinstance(req, dict):
            continue
        rpath = f"{path}.matchExpressions[{i}]"
        op = req.get("operator") or ""
        values = req.get("values") or []
        if op in ("In", "NotIn"):
            if not values:
                errs.required(f"{rpath}.values", "must be specified when `operator` is 'In' or 'NotIn'")
        elif op in ("Exists", "DoesNotExist"):
            if values:
                errs.forbidden(f"{rpath}.values", "may not be specified when `operator` is 'Exists' or 'DoesNotExist'")
        else:
            errs.invalid(f"{rpath}.operator", op, "not a valid selector operator")
        key = req.get("key") or ""
        errs.invalid_each(f"{rpath}.key", key, is_qualified_name(key))


def selector_matches(sel: dict, labels: dict) -> bool:
    """metav1.LabelSelectorAsSelector(sel).Matches(labels)."""
    labels = labels or {}
    for key, value in (sel.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for req in sel.get("matchExpressions") or []:
        key, op, values = req.get("key"), req.get("operator"), req.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def _selector_empty(sel: dict | None) -> bool:
    return not sel or (not sel.get("matchLabels") and not sel.get("matchExpressions"))


def _template_labels(template: Any) -> dict | None:
    if not isinstance(template, dict):
        return None
    return (template.get("metadata") or {}).get("labels")


# ---------------------------------------------------------------------------
# apps
# ---------------------------------------------------------------------------


def _workload_selector(spec: dict, kind_word: str, errs: Errors) -> dict | None:
    sel = spec.get("selector")
    if sel is None:
        errs.required("spec.selector")
        return None
    _validate_label_selector(sel, "spec.selector", errs)
    if _selector_empty(sel):
        errs.invalid("spec.selector", GoValue(go_label_selector(sel)), f"empty selector is invalid for {kind_word}")
    return sel


def _template_for_controller(spec: dict, sel: dict | None, errs: Errors, *, kind_name: str,
                             claim_templates: tuple[str, ...] = ()) -> None:
    """ValidatePodTemplateSpecForReplicaSet and friends: labels match, restartPolicy Always.
    `claim_templates`: a StatefulSet's volumeClaimTemplates names, volumes its pods will have."""
    template = spec.get("template")
    path = "spec.template"
    if not isinstance(template, dict):
        errs.required(path)
        return
    labels = _template_labels(template)
    if sel is not None and not _selector_empty(sel) and not selector_matches(sel, labels):
        errs.invalid(f"{path}.metadata.labels", GoValue(go_string_map(labels)),
                     "`selector` does not match template `labels`")
    validate_pod_template_spec(template, path, errs, claim_templates=claim_templates)
    pod_spec = template.get("spec") or {}
    restart = pod_spec.get("restartPolicy", "Always")
    if restart != "Always":
        errs.not_supported(f"{path}.spec.restartPolicy", restart, ["Always"])
    if pod_spec.get("activeDeadlineSeconds") is not None:
        errs.forbidden(f"{path}.spec.activeDeadlineSeconds", f"activeDeadlineSeconds in {kind_name} is not Supported")


def _int_or_percent(value: Any, path: str, errs: Errors) -> None:
    """ValidatePositiveIntOrPercent + IsNotMoreThan100Percent."""
    if isinstance(value, str):
        msgs = is_valid_percent(value)
        errs.invalid_each(path, value, msgs)
        if not msgs and int(value[:-1]) > 100:
            errs.invalid(path, value, "must not be greater than 100%")
    elif isinstance(value, int):
        non_negative(value, path, errs)


def _int_or_percent_zero(value: Any) -> bool:
    if isinstance(value, str):
        return value.rstrip("%") in ("0", "")
    return value in (0, None)


def _validate_deployment(obj: dict, errs: Errors) -> None:
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    non_negative(spec.get("replicas"), "spec.replicas", errs)
    sel = _workload_selector(spec, "deployment", errs)
    _template_for_controller(spec, sel, errs, kind_name="ReplicaSet")
    strategy = spec.get("strategy") or {}
    stype = strategy.get("type")
    rolling = strategy.get("rollingUpdate")
    if stype == "Recreate":
        if rolling is not None:
            errs.forbidden("spec.strategy.rollingUpdate", "may not be specified when strategy `type` is 'Recreate'")
    elif stype in ("RollingUpdate", None):
        if isinstance(rolling, dict):
            rpath = "spec.strategy.rollingUpdate"
            surge, unavailable = rolling.get("maxSurge"), rolling.get("maxUnavailable")
            _int_or_percent(unavailable, f"{rpath}.maxUnavailable", errs)
            _int_or_percent(surge, f"{rpath}.maxSurge", errs)
            if _int_or_percent_zero(unavailable) and _int_or_percent_zero(surge) \
                    and unavailable is not None and surge is not None:
                errs.invalid(f"{rpath}.maxUnavailable", GoValue(str(unavailable)), "may not be 0 when `maxSurge` is 0")
    else:
        errs.not_supported("spec.strategy.type", stype, ["Recreate", "RollingUpdate"])
    non_negative(spec.get("minReadySeconds"), "spec.minReadySeconds", errs)
    non_negative(spec.get("revisionHistoryLimit"), "spec.revisionHistoryLimit", errs)
    deadline = spec.get("progressDeadlineSeconds")
    if isinstance(deadline, int):
        non_negative(deadline, "spec.progressDeadlineSeconds", errs)
        if deadline <= (spec.get("minReadySeconds") or 0):
            errs.invalid("spec.progressDeadlineSeconds", deadline, "must be greater than minReadySeconds")


def _validate_replicaset(obj: dict, errs: Errors) -> None:
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    non_negative(spec.get("replicas"), "spec.replicas", errs)
    non_negative(spec.get("minReadySeconds"), "spec.minReadySeconds", errs)
    # (sic) upstream's ReplicaSet validation says "deployment" here
    sel = _workload_selector(spec, "deployment", errs)
    _template_for_controller(spec, sel, errs, kind_name="ReplicaSet")


def _validate_daemonset(obj: dict, errs: Errors) -> None:
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    sel = _workload_selector(spec, "daemonset", errs)
    _template_for_controller(spec, sel, errs, kind_name="DaemonSet")
    non_negative(spec.get("minReadySeconds"), "spec.minReadySeconds", errs)
    non_negative(spec.get("revisionHistoryLimit"), "spec.revisionHistoryLimit", errs)
    strategy = spec.get("updateStrategy") or {}
    stype = strategy.get("type")
    if stype is not None and stype not in ("OnDelete", "RollingUpdate"):
        errs.not_supported("spec.updateStrategy.type", stype, ["OnDelete", "RollingUpdate"])
    rolling = strategy.get("rollingUpdate")
    if stype == "RollingUpdate" and isinstance(rolling, dict):
        rpath = "spec.updateStrategy.rollingUpdate"
        _int_or_percent(rolling.get("maxUnavailable"), f"{rpath}.maxUnavailable", errs)
        _int_or_percent(rolling.get("maxSurge"), f"{rpath}.maxSurge", errs)


def _validate_statefulset(obj: dict, errs: Errors) -> None:
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    service_name = spec.get("serviceName") or ""
    if service_name:  # optional since 1.33
        errs.invalid_each("spec.serviceName", service_name, is_dns1035_label(service_name))
    policy = spec.get("podManagementPolicy")
    if policy is not None and policy not in ("OrderedReady", "Parallel"):
        errs.invalid("spec.podManagementPolicy", policy, "must be 'OrderedReady' or 'Parallel'")
    strategy = spec.get("updateStrategy") or {}
    stype = strategy.get("type")
    if stype == "OnDelete" and strategy.get("rollingUpdate") is not None:
        errs.invalid("spec.updateStrategy.rollingUpdate", GoValue("apps.RollingUpdateStatefulSetStrategy{...}"),
                     "only allowed for updateStrategy 'RollingUpdate'")
    elif stype == "RollingUpdate" and isinstance(strategy.get("rollingUpdate"), dict):
        non_negative(strategy["rollingUpdate"].get("partition"), "spec.updateStrategy.rollingUpdate.partition", errs)
    elif stype not in (None, "OnDelete", "RollingUpdate"):
        errs.invalid("spec.updateStrategy", GoValue("apps.StatefulSetUpdateStrategy{...}"),
                     "must be 'RollingUpdate' or 'OnDelete'")
    non_negative(spec.get("replicas"), "spec.replicas", errs)
    non_negative(spec.get("minReadySeconds"), "spec.minReadySeconds", errs)
    sel = _workload_selector(spec, "statefulset", errs)
    # Upstream's ValidatePodTemplateSpecForStatefulSet leaves the pod spec unchecked (a TODO there: "check
    # that the union of the given volumes and volumeClaims match volume mounts"), so a bad template fails
    # only when the controller creates its pods. Here the template is checked as a pod would be, with that
    # union: the volumeClaimTemplates become volumes of every pod, so volumeMounts may name them.
    claims = tuple(str(claim["metadata"].get("name") or "") for claim in spec.get("volumeClaimTemplates") or []
                   if isinstance(claim, dict) and isinstance(claim.get("metadata"), dict))
    _template_for_controller(spec, sel, errs, kind_name="StatefulSet", claim_templates=claims)
    for i, claim in enumerate(spec.get("volumeClaimTemplates") or []):
        if isinstance(claim, dict):
            _validate_pvc_spec(claim.get("spec"), f"spec.volumeClaimTemplates[{i}].spec", errs)


_STS_MUTABLE = ("replicas", "ordinals", "template", "updateStrategy", "revisionHistoryLimit",
                "persistentVolumeClaimRetentionPolicy", "minReadySeconds")


def _statefulset_update(obj: dict, old: dict, errs: Errors) -> None:
    new_spec = {k: v for k, v in normalized(obj.get("spec") or {}).items() if k not in _STS_MUTABLE}
    old_spec = {k: v for k, v in normalized(old.get("spec") or {}).items() if k not in _STS_MUTABLE}
    if new_spec != old_spec:
        errs.forbidden("spec", "updates to statefulset spec for fields other than 'replicas', 'ordinals', "
                               "'template', 'updateStrategy', 'revisionHistoryLimit', "
                               "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden")


def _selector_immutable(obj: dict, old: dict, errs: Errors) -> None:
    new_sel = (obj.get("spec") or {}).get("selector")
    old_sel = (old.get("spec") or {}).get("selector")
    if normalized(new_sel or {}) != normalized(old_sel or {}):
        errs.invalid("spec.selector", GoValue(go_label_selector(new_sel)), FIELD_IMMUTABLE)


# ---------------------------------------------------------------------------
# core: ReplicationController, Service, ConfigMap, Secret, storage
# ---------------------------------------------------------------------------


def _validate_rc(obj: dict, errs: Errors) -> None:
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    non_negative(spec.get("minReadySeconds"), "spec.minReadySeconds", errs)
    sel = spec.get("selector") or {}
    if not sel:
        errs.required("spec.selector")
    non_negative(spec.get("replicas"), "spec.replicas", errs)
    _template_for_controller(spec, {"matchLabels": sel} if sel else None, errs, kind_name="ReplicationController")


def _validate_pod_template(obj: dict, errs: Errors) -> None:
    validate_pod_template_spec(obj.get("template"), "template", errs)


SERVICE_TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]  # sets.List: sorted
NODE_PORT_RANGE = (30000, 32767)


def _go_service_port(port: dict) -> str:
    target = port.get("targetPort")
    if isinstance(target, str):
        target_repr = f'intstr.IntOrString{{Type:1, IntVal:0, StrVal:"{target}"}}'
    else:
        target_repr = f'intstr.IntOrString{{Type:0, IntVal:{target or 0}, StrVal:""}}'
    app = port.get("appProtocol")
    app_repr = "(*string)(nil)" if app is None else "(*string)(0xc000000000)"
    return (f'core.ServicePort{{Name:"{port.get("name") or ""}", Protocol:"{port.get("protocol") or "TCP"}", '
            f'AppProtocol:{app_repr}, Port:{port.get("port") or 0}, TargetPort:{target_repr}, '
            f'NodePort:{port.get("nodePort") or 0}}}')


def _validate_service(obj: dict, errs: Errors) -> None:
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    stype = spec.get("type") or "ClusterIP"
    ports = [p for p in (spec.get("ports") or []) if isinstance(p, dict)]
    headless = spec.get("clusterIP") == "None"
    if not ports and not headless and stype != "ExternalName":
        errs.required("spec.ports")
    if stype in ("LoadBalancer", "NodePort") and headless:
        errs.invalid("spec.clusterIPs[0]", "None", f"may not be set to 'None' for {stype} services")
    if stype == "ExternalName":
        if spec.get("clusterIP") and spec.get("clusterIP") != "":
            errs.forbidden("spec.clusterIPs", "may not be set for ExternalName services")
        cname = (spec.get("externalName") or "").removesuffix(".")
        if cname:
            errs.invalid_each("spec.externalName", cname, is_dns1123_subdomain(cname))
        else:
            errs.required("spec.externalName")
    names: set[str] = set()
    for i, port in enumerate(ports):
        ppath = f"spec.ports[{i}]"
        name = port.get("name") or ""
        if len(ports) > 1 and not name:
            errs.required(f"{ppath}.name")
        elif name:
            errs.invalid_each(f"{ppath}.name", name, is_dns1123_label(name))
            if name in names:
                errs.duplicate(f"{ppath}.name", name)
            names.add(name)
        errs.invalid_each(f"{ppath}.port", port.get("port") or 0, is_valid_port_num(port.get("port") or 0))
        proto = port.get("protocol")
        if proto is not None and proto not in ("SCTP", "TCP", "UDP"):
            errs.not_supported(f"{ppath}.protocol", proto, ["SCTP", "TCP", "UDP"])
        target = port.get("targetPort")
        if isinstance(target, str):
            errs.invalid_each(f"{ppath}.targetPort", target, is_valid_port_name(target))
        elif isinstance(target, int):
            errs.invalid_each(f"{ppath}.targetPort", target, is_valid_port_num(target))
        app = port.get("appProtocol")
        if app:
            errs.invalid_each(f"{ppath}.appProtocol", app, is_qualified_name(app))
    if spec.get("selector") is not None:
        validate_labels(spec.get("selector"), "spec.selector", errs)
    affinity = spec.get("sessionAffinity")
    if affinity is not None and affinity not in ("ClientIP", "None"):
        errs.not_supported("spec.sessionAffinity", affinity, ["ClientIP", "None"])
    if stype not in SERVICE_TYPES:
        errs.not_supported("spec.type", stype, SERVICE_TYPES)
    for i, port in enumerate(ports):
        node_port = port.get("nodePort") or 0
        if not node_port:
            continue
        if stype == "ClusterIP":
            errs.forbidden(f"spec.ports[{i}].nodePort", "may not be used when `type` is 'ClusterIP'")
        elif not NODE_PORT_RANGE[0] <= node_port <= NODE_PORT_RANGE[1]:
            # the allocator's answer (registry/core/service/portallocator)
            errs.invalid(f"spec.ports[{i}].nodePort", node_port,
                         "provided port is not in the valid range. The range of valid ports is 30000-32767")
    seen_node_ports: set[tuple] = set()
    for i, port in enumerate(ports):
        node_port = port.get("nodePort") or 0
        if node_port:
            key = (port.get("protocol") or "TCP", node_port)
            if key in seen_node_ports:
                errs.duplicate(f"spec.ports[{i}].nodePort", node_port)
            seen_node_ports.add(key)
    seen_ports: set[tuple] = set()
    for i, port in enumerate(ports):
        key = (port.get("protocol") or "TCP", port.get("port") or 0)
        if key in seen_ports:
            errs.duplicate(f"spec.ports[{i}]", GoValue(_go_service_port(
                {"protocol": key[0], "port": key[1]})))
        seen_ports.add(key)
    ranges = spec.get("loadBalancerSourceRanges") or []
    if ranges and stype != "LoadBalancer":
        errs.forbidden("spec.LoadBalancerSourceRanges", "may only be used when `type` is 'LoadBalancer'")
    etp = spec.get("externalTrafficPolicy")
    if etp and stype not in ("NodePort", "LoadBalancer") and not spec.get("externalIPs"):
        errs.invalid("spec.externalTrafficPolicy", etp, "may only be set for externally-accessible services")
    elif etp and etp not in ("Cluster", "Local"):
        errs.not_supported("spec.externalTrafficPolicy", etp, ["Cluster", "Local"])
    itp = spec.get("internalTrafficPolicy")
    if itp is not None and itp not in ("Cluster", "Local"):
        errs.not_supported("spec.internalTrafficPolicy", itp, ["Cluster", "Local"])


def _service_update(obj: dict, old: dict, errs: Errors) -> None:
    new_spec, old_spec = obj.get("spec") or {}, old.get("spec") or {}
    if "ExternalName" in (new_spec.get("type"), old_spec.get("type")):
        return  # changing to/from ExternalName may drop or allocate the IP
    old_ip = old_spec.get("clusterIP") or ((old_spec.get("clusterIPs") or [None])[0])
    new_ips = new_spec.get("clusterIPs") or ([new_spec["clusterIP"]] if new_spec.get("clusterIP") else [])
    if old_ip and new_ips and new_ips[0] != old_ip:
        errs.invalid("spec.clusterIPs[0]", GoValue(go_string_slice(new_ips)), "may not change once set")


MAX_SECRET_SIZE = 1024 * 1024


def _validate_configmap(obj: dict, errs: Errors) -> None:
    total = 0
    data = obj.get("data") or {}
    binary = obj.get("binaryData") or {}
    for key, value in data.items():
        errs.invalid_each(f"data[{key}]", key, is_config_map_key(key))
        if key in binary:
            errs.invalid(f"data[{key}]", key, "duplicate of key present in binaryData")
        total += len(str(value or "").encode())
    for key, value in binary.items():
        errs.invalid_each(f"binaryData[{key}]", key, is_config_map_key(key))
        total += len(_b64_bytes(value))
    if total > MAX_SECRET_SIZE:
        errs.too_long("", MAX_SECRET_SIZE)


def _b64_bytes(value: Any) -> bytes:
    import base64
    try:
        return base64.b64decode(value or "")
    except Exception:  # decode already refused malformed data
        return b""


def _validate_secret(obj: dict, errs: Errors) -> None:
    data = dict(obj.get("data") or {})
    # stringData is merged into data by the strategy before validation
    for key, _value in (obj.get("stringData") or {}).items():
        data[key] = None
    total = 0
    for key, value in data.items():
        errs.invalid_each(f"data[{key}]", key, is_config_map_key(key))
        total += len(_b64_bytes(value)) if value is not None else \
            len(str((obj.get("stringData") or {}).get(key) or "").encode())
    if total > MAX_SECRET_SIZE:
        errs.too_long("data", MAX_SECRET_SIZE)
    stype = obj.get("type") or "Opaque"
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    if stype == "kubernetes.io/service-account-token":
        if not annotations.get("kubernetes.io/service-account.name"):
            errs.required("metadata.annotations[kubernetes.io/service-account.name]")
    elif stype == "kubernetes.io/dockercfg":
        if ".dockercfg" not in data:
            errs.required("data[.dockercfg]")
        else:
            _json_payload(obj, data, ".dockercfg", errs)
    elif stype == "kubernetes.io/dockerconfigjson":
        if ".dockerconfigjson" not in data:
            errs.required("data[.dockerconfigjson]")
        else:
            _json_payload(obj, data, ".dockerconfigjson", errs)
    elif stype == "kubernetes.io/basic-auth":
        if "username" not in data and "password" not in data:
            errs.required("data[username]")
            errs.required("data[password]")
    elif stype == "kubernetes.io/ssh-auth":
        if not data.get("ssh-privatekey") and not (obj.get("stringData") or {}).get("ssh-privatekey"):
            errs.required("data[ssh-privatekey]")
    elif stype == "kubernetes.io/tls":
        if "tls.crt" not in data:
            errs.required("data[tls.crt]")
        if "tls.key" not in data:
            errs.required("data[tls.key]")


def _json_payload(obj: dict, data: dict, key: str, errs: Errors) -> None:
    import json
    raw = data[key]
    text = _b64_bytes(raw) if raw is not None else str((obj.get("stringData") or {}).get(key) or "").encode()
    try:
        value = json.loads(text or b"")
        if not isinstance(value, dict):
            raise ValueError("json: cannot unmarshal into Go value of type map[string]interface {}")
    except ValueError as exc:
        message = str(exc) if "Go value" in str(exc) else "unexpected end of JSON input" if not text \
            else "invalid character looking for beginning of value"
        errs.invalid(f"data[{key}]", "<secret contents redacted>", message)


def _immutable_data_update(obj: dict, old: dict, errs: Errors, keys: tuple[str, ...]) -> None:
    if not old.get("immutable"):
        return
    if not obj.get("immutable"):
        errs.forbidden("immutable", "field is immutable when `immutable` is set")
    for key in keys:
        if (obj.get(key) or {}) != (old.get(key) or {}):
            errs.forbidden(key, "field is immutable when `immutable` is set")


ACCESS_MODES = ["ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"]  # sorted


def _validate_pvc_spec(spec: Any, path: str, errs: Errors) -> None:
    spec = spec if isinstance(spec, dict) else {}
    modes = spec.get("accessModes") or []
    if not modes:
        errs.required(f"{path}.accessModes", "at least 1 access mode is required")
    for mode in modes:
        if mode not in ACCESS_MODES:
            errs.not_supported(f"{path}.accessModes", mode, ACCESS_MODES)
    if "ReadWriteOncePod" in modes and len(modes) > 1:
        errs.forbidden(f"{path}.accessModes", "may not use ReadWriteOncePod with other access modes")
    _validate_label_selector(spec.get("selector"), f"{path}.selector", errs)
    requests = (spec.get("resources") or {}).get("requests") or {}
    if "storage" not in requests:
        errs.required(f"{path}.resources[storage]")
    else:
        try:
            qty = parse_quantity(requests["storage"])
            if qty.value <= 0:
                errs.invalid(f"{path}.resources[storage]", str(qty), "must be greater than zero")
        except QuantityError:
            pass
    mode = spec.get("volumeMode")
    if mode is not None and mode not in ("Block", "Filesystem"):
        errs.not_supported(f"{path}.volumeMode", mode, ["Block", "Filesystem"])


def _pvc_update(obj: dict, old: dict, errs: Errors) -> None:
    new_spec = normalized(obj.get("spec") or {})
    old_spec = normalized(old.get("spec") or {})
    # resources.requests (and volumeAttributesClassName) may change; the binder fills volumeName
    def stripped(spec: dict, other: dict) -> dict:
        out = dict(spec)
        out["resources"] = {**(out.get("resources") or {}), "requests": None}
        out.pop("volumeAttributesClassName", None)
        if not out.get("volumeName") and other.get("volumeName"):
            out["volumeName"] = other["volumeName"]
        return normalized(out)
    if stripped(new_spec, old_spec) != stripped(old_spec, new_spec):
        errs.forbidden("spec", "spec is immutable after creation except resources.requests and "
                               "volumeAttributesClassName for bound claims\n" + _diff_text(old_spec, new_spec))
    try:
        new_size = parse_quantity(((new_spec.get("resources") or {}).get("requests") or {}).get("storage", 0))
        old_size = parse_quantity(((old_spec.get("resources") or {}).get("requests") or {}).get("storage", 0))
        if new_size.value < old_size.value:
            errs.forbidden("spec.resources.requests.storage", "field can not be less than status.capacity")
    except QuantityError:
        pass


def _diff_text(old: dict, new: dict) -> str:
    import json
    lines = ["  core.PersistentVolumeClaimSpec{"]
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            if key in old:
                lines.append(f"- \t{key[:1].upper() + key[1:]}: {json.dumps(old[key], sort_keys=True)},")
            if key in new:
                lines.append(f"+ \t{key[:1].upper() + key[1:]}: {json.dumps(new[key], sort_keys=True)},")
    lines.append("  }")
    return "\n".join(lines) + "\n"


PV_SOURCES = (
    "gcePersistentDisk", "awsElasticBlockStore", "hostPath", "glusterfs", "nfs", "rbd", "quobyte", "cinder",
    "cephfs", "iscsi", "fc", "flocker", "flexVolume", "azureFile", "vsphereVolume", "azureDisk",
    "photonPersistentDisk", "portworxVolume", "scaleIO", "local", "storageos", "csi",
)


def _validate_pv(obj: dict, errs: Errors) -> None:
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    modes = spec.get("accessModes") or []
    if not modes:
        errs.required("spec.accessModes")
    for mode in modes:
        if mode not in ACCESS_MODES:
            errs.not_supported("spec.accessModes", mode, ACCESS_MODES)
    capacity = spec.get("capacity") or {}
    if not capacity:
        errs.required("spec.capacity")
    if "storage" not in capacity or len(capacity) > 1:
        errs.not_supported("spec.capacity", GoValue("core.ResourceList{...}"), ["storage"])
    else:
        try:
            if parse_quantity(capacity["storage"]).value <= 0:
                errs.invalid("spec.capacity[storage]", str(parse_quantity(capacity["storage"])),
                             "must be greater than zero")
        except QuantityError:
            pass
    policy = spec.get("persistentVolumeReclaimPolicy")
    if policy is not None and policy not in ("Delete", "Recycle", "Retain"):
        errs.not_supported("spec.persistentVolumeReclaimPolicy", policy, ["Delete", "Recycle", "Retain"])
    sources = [key for key in PV_SOURCES if spec.get(key) is not None]
    if not sources:
        errs.required("spec", "must specify a volume type")
    for extra in sources[1:]:
        errs.forbidden(f"spec.{extra}", "may not specify more than 1 volume type")
    host = spec.get("hostPath")
    if isinstance(host, dict) and not host.get("path"):
        errs.required("spec.hostPath.path")
    sc = spec.get("storageClassName") or ""
    if sc:
        errs.invalid_each("spec.storageClassName", sc, is_dns1123_subdomain(sc))


# ---------------------------------------------------------------------------
# batch
# ---------------------------------------------------------------------------


def _validate_job_spec(spec: Any, path: str, errs: Errors, *, in_cronjob: bool) -> None:
    spec = spec if isinstance(spec, dict) else {}
    for key in ("parallelism", "completions", "activeDeadlineSeconds", "backoffLimit", "ttlSecondsAfterFinished"):
        non_negative(spec.get(key), f"{path}.{key}", errs)
    sel = spec.get("selector")
    if sel is None:
        if spec.get("manualSelector") is True and not in_cronjob:
            errs.required(f"{path}.selector")
    else:
        _validate_label_selector(sel, f"{path}.selector", errs)
    template = spec.get("template")
    tpath = f"{path}.template"
    if not isinstance(template, dict):
        errs.required(tpath)
        return
    if sel is not None and not _selector_empty(sel) and not selector_matches(sel, _template_labels(template)):
        errs.invalid(f"{tpath}.metadata.labels", GoValue(go_string_map(_template_labels(template))),
                     "`selector` does not match template `labels`")
    validate_pod_template_spec(template, tpath, errs)
    restart = (template.get("spec") or {}).get("restartPolicy") or ""
    if not restart:
        errs.required(f"{tpath}.spec.restartPolicy", 'valid values: "OnFailure", "Never"')
    elif restart not in ("OnFailure", "Never"):
        errs.not_supported(f"{tpath}.spec.restartPolicy", restart, ["OnFailure", "Never"])
    mode = spec.get("completionMode")
    if mode is not None and mode not in ("NonIndexed", "Indexed"):
        errs.not_supported(f"{path}.completionMode", mode, ["NonIndexed", "Indexed"])
    if mode == "Indexed" and spec.get("completions") is None:
        errs.required(f"{path}.completions", "when completion mode is Indexed")


def _job_update(obj: dict, old: dict, errs: Errors) -> None:
    new_spec, old_spec = obj.get("spec") or {}, old.get("spec") or {}
    if normalized(new_spec.get("selector") or {}) != normalized(old_spec.get("selector") or {}):
        errs.invalid("spec.selector", GoValue(go_label_selector(new_spec.get("selector"))), FIELD_IMMUTABLE)
    elastic = new_spec.get("completionMode") == "Indexed" and new_spec.get("completions") == new_spec.get("parallelism")
    if new_spec.get("completions") != old_spec.get("completions") and not elastic:
        errs.invalid("spec.completions", new_spec.get("completions"), FIELD_IMMUTABLE)
    if normalized(new_spec.get("template") or {}) != normalized(old_spec.get("template") or {}):
        errs.invalid("spec.template", GoValue("core.PodTemplateSpec{...}"), FIELD_IMMUTABLE)


_CRON_RANGES = [("minute", 0, 59), ("hour", 0, 23), ("dom", 1, 31), ("month", 1, 12), ("dow", 0, 6)]
_CRON_NAMES = [
    {}, {},
    {},
    {n: i + 1 for i, n in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split())},
    {n: i for i, n in enumerate("sun mon tue wed thu fri sat".split())},
]
_DESCRIPTORS = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}


def cron_error(schedule: str) -> str | None:
    """robfig/cron/v3 ParseStandard's error text, or None when the schedule parses."""
    text = schedule.strip()
    if text.startswith("TZ=") or text.startswith("CRON_TZ="):
        _, _, text = text.partition(" ")
        text = text.strip()
    if text.startswith("@"):
        if text in _DESCRIPTORS or text.startswith("@every "):
            return None
        return f"unrecognized descriptor: {text}"
    fields = text.split()
    if len(fields) != 5:
        return f"expected exactly 5 fields, found {len(fields)}: [{' '.join(fields)}]"
    for (_, low, high), names, field in zip(_CRON_RANGES, _CRON_NAMES, fields):
        for expr in field.split(","):
            err = _cron_range(expr, low, high, names)
            if err:
                return err
    return None


def _cron_range(expr: str, low: int, high: int, names: dict[str, int]) -> str | None:
    range_and_step = expr.split("/")
    low_high = range_and_step[0].split("-")
    if low_high[0] in ("*", "?"):
        start, end = low, high
    else:
        start = _cron_int(low_high[0], names)
        if isinstance(start, str):
            return start
        end = start
        if len(low_high) == 2:
            end = _cron_int(low_high[1], names)
            if isinstance(end, str):
                return end
        elif len(low_high) > 2:
            return f"too many hyphens: {expr}"
    if len(range_and_step) == 2:
        step = _cron_int(range_and_step[1], {})
        if isinstance(step, str):
            return step
        if step == 0:
            return f"step of range should be a positive number: {expr}"
    elif len(range_and_step) > 2:
        return f"too many slashes: {expr}"
    if start < low:
        return f"beginning of range ({start}) below minimum ({low}): {expr}"
    if end > high:
        return f"end of range ({end}) above maximum ({high}): {expr}"
    if start > end:
        return f"beginning of range ({start}) beyond end of range ({end}): {expr}"
    return None


def _cron_int(text: str, names: dict[str, int]) -> int | str:
    if text.lower() in names:
        return names[text.lower()]
    if not re.fullmatch(r"-?[0-9]+", text):
        return f'failed to parse int from {text}: strconv.Atoi: parsing "{text}": invalid syntax'
    value = int(text)
    if value < 0:
        return f"negative number ({value}) not allowed: {text}"
    return value


def _validate_cronjob(obj: dict, errs: Errors) -> None:
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    schedule = spec.get("schedule") or ""
    if not schedule:
        errs.required("spec.schedule")
    else:
        if "TZ=" in schedule:
            errs.invalid("spec.schedule", schedule, "cannot use TZ or CRON_TZ in schedule, use timeZone field instead")
        err = cron_error(schedule)
        if err:
            errs.invalid("spec.schedule", schedule, err)
    policy = spec.get("concurrencyPolicy")
    if policy is not None and policy not in ("Allow", "Forbid", "Replace"):
        errs.not_supported("spec.concurrencyPolicy", policy, ["Allow", "Forbid", "Replace"])
    for key in ("startingDeadlineSeconds", "successfulJobsHistoryLimit", "failedJobsHistoryLimit"):
        non_negative(spec.get(key), f"spec.{key}", errs)
    job_template = spec.get("jobTemplate")
    if not isinstance(job_template, dict):
        errs.required("spec.jobTemplate")
        return
    jmeta = job_template.get("metadata") or {}
    validate_labels(jmeta.get("labels"), "spec.jobTemplate.metadata.labels", errs)
    validate_annotations(jmeta.get("annotations"), "spec.jobTemplate.metadata.annotations", errs)
    _validate_job_spec(job_template.get("spec"), "spec.jobTemplate.spec", errs, in_cronjob=True)


# ---------------------------------------------------------------------------
# autoscaling
# ---------------------------------------------------------------------------


def _validate_hpa(obj: dict, errs: Errors) -> None:
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    min_replicas = spec.get("minReplicas")
    max_replicas = spec.get("maxReplicas") or 0
    if min_replicas is not None and min_replicas < 1:
        errs.invalid("spec.minReplicas", min_replicas, "must be greater than or equal to 1")
    if max_replicas < 1:
        errs.invalid("spec.maxReplicas", max_replicas, "must be greater than 0")
    if min_replicas is not None and max_replicas < min_replicas:
        errs.invalid("spec.maxReplicas", max_replicas, "must be greater than or equal to `minReplicas`")
    ref = spec.get("scaleTargetRef") or {}
    kind, name = ref.get("kind") or "", ref.get("name") or ""
    if not kind:
        errs.required("spec.scaleTargetRef.kind")
    else:
        for msg in _path_segment_messages(kind):
            errs.invalid("spec.scaleTargetRef.kind", kind, msg)
    if not name:
        errs.required("spec.scaleTargetRef.name")
    else:
        for msg in _path_segment_messages(name):
            errs.invalid("spec.scaleTargetRef.name", name, msg)
    cpu = spec.get("targetCPUUtilizationPercentage")  # autoscaling/v1
    if cpu is not None and cpu < 1:
        errs.invalid("spec.targetCPUUtilizationPercentage", cpu, "must be greater than 0")
    for i, metric in enumerate(spec.get("metrics") or []):
        mtype = (metric or {}).get("type")
        if mtype not in ("ContainerResource", "External", "Object", "Pods", "Resource"):
            if not mtype:
                errs.required(f"spec.metrics[{i}].type", "must specify a metric source type")
            else:
                errs.invalid(f"spec.metrics[{i}].type", mtype,
                             "must be either External, Object, Pods, Resource or ContainerResource")


def _path_segment_messages(name: str) -> list[str]:
    if name in (".", ".."):
        return [f"may not be '{name}'"]
    for bad in ("/", "%"):
        if bad in name:
            return [f"may not contain '{bad}'"]
    return []


# ---------------------------------------------------------------------------
# dispatch
# ---------------------------------------------------------------------------

_CREATE: dict[str, Callable[[dict, Errors], None]] = {
    "Pod": lambda obj, errs: validate_pod_spec(obj.get("spec"), "spec", errs, is_pod=True),
    "PodTemplate": _validate_pod_template,
    "ReplicationController": _validate_rc,
    "Service": _validate_service,
    "ConfigMap": _validate_configmap,
    "Secret": _validate_secret,
    "PersistentVolumeClaim": lambda obj, errs: _validate_pvc_spec(obj.get("spec"), "spec", errs),
    "PersistentVolume": _validate_pv,
    "Deployment": _validate_deployment,
    "ReplicaSet": _validate_replicaset,
    "DaemonSet": _validate_daemonset,
    "StatefulSet": _validate_statefulset,
    "Job": lambda obj, errs: _validate_job_spec(obj.get("spec"), "spec", errs, in_cronjob=False),
    "CronJob": _validate_cronjob,
    "HorizontalPodAutoscaler": _validate_hpa,
}


def _update_rules(obj: dict, old: dict, kind: str, errs: Errors) -> None:
    if kind == "Pod":
        validate_pod_update(obj.get("spec") or {}, old.get("spec") or {}, errs)
    elif kind in ("Deployment", "ReplicaSet", "DaemonSet"):
        _selector_immutable(obj, old, errs)
    elif kind == "StatefulSet":
        _statefulset_update(obj, old, errs)
    elif kind == "Job":
        _job_update(obj, old, errs)
    elif kind == "Service":
        _service_update(obj, old, errs)
    elif kind == "PersistentVolumeClaim":
        _pvc_update(obj, old, errs)
    elif kind == "ConfigMap":
        _immutable_data_update(obj, old, errs, ("data", "binaryData"))
    elif kind == "Secret":
        if (obj.get("type") or "Opaque") != (old.get("type") or "Opaque"):
            errs.invalid("type", obj.get("type") or "Opaque", FIELD_IMMUTABLE)
        _immutable_data_update(obj, old, errs, ("data",))


def validate_object(obj: dict, rt: ResourceType, *, old: dict | None = None) -> None:
    """Raise 422 Invalid listing every problem, as the real registry strategies do."""
    errs = Errors()
    # Upstream order: ValidateObjectMetaUpdate, then the new object as on create,
    # then the kind's update rules (immutability).
    if old is not None:
        _validate_meta_update(obj, old, errs)
    _validate_meta(obj, rt, errs)
    check = _CREATE.get(rt.kind)
    if check is not None:
        check(obj, errs)
    if old is not None:
        _update_rules(obj, old, rt.kind, errs)
    if errs:
        name = ((obj.get("metadata") or {}).get("name")) or ""
        raise errors.invalid(rt.kind, rt.group, name, errs.deduplicated())


__all__ = ["check_decoding", "validate_object", "validate_name", "cron_error", "selector_matches"]

# keep helpers referenced for linters that flag unused imports
_ = (go_repr, is_dns1123_label, NON_NEGATIVE)
