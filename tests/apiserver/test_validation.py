"""Decode checks and semantic validation, with the real kube-apiserver's messages."""
from __future__ import annotations

import copy
import time

import pytest

from clusters.apiserver import registry
from clusters.apiserver.errors import ApiError
from clusters.apiserver.validation import (
    check_decoding,
    cron_error,
    validate_name,
    validate_object,
)
from clusters.apiserver.validation_names import format_quantity, parse_quantity
from tests.fixtures import corpus_documents, corpus_files

DEPLOY = registry.by_gvk("apps/v1", "Deployment")
RS = registry.by_gvk("apps/v1", "ReplicaSet")
STS = registry.by_gvk("apps/v1", "StatefulSet")
DS = registry.by_gvk("apps/v1", "DaemonSet")
POD = registry.by_gvk("v1", "Pod")
SVC = registry.by_gvk("v1", "Service")
CM = registry.by_gvk("v1", "ConfigMap")
SECRET = registry.by_gvk("v1", "Secret")
PVC = registry.by_gvk("v1", "PersistentVolumeClaim")
PV = registry.by_gvk("v1", "PersistentVolume")
NS = registry.by_gvk("v1", "Namespace")
JOB = registry.by_gvk("batch/v1", "Job")
CRONJOB = registry.by_gvk("batch/v1", "CronJob")
HPA2 = registry.by_gvk("autoscaling/v2", "HorizontalPodAutoscaler")
HPA1 = registry.by_gvk("autoscaling/v1", "HorizontalPodAutoscaler")


# --- defaulted objects, written by hand ------------------------------------

def container(name: str = "nginx", image: str = "nginx", **extra) -> dict:
    return {"name": name, "image": image, "imagePullPolicy": "Always", "resources": {},
            "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File", **extra}


def pod_spec(**extra) -> dict:
    return {"containers": [container()], "restartPolicy": "Always", "terminationGracePeriodSeconds": 30,
            "dnsPolicy": "ClusterFirst", "securityContext": {}, "schedulerName": "default-scheduler", **extra}


def template(labels: dict | None = None, **spec_extra) -> dict:
    return {"metadata": {"labels": labels if labels is not None else {"app": "web"}}, "spec": pod_spec(**spec_extra)}


def deployment(**spec_extra) -> dict:
    spec = {"replicas": 1, "selector": {"matchLabels": {"app": "web"}}, "template": template(),
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
            "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600}
    spec.update(spec_extra)
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"},
            "spec": spec}


def pod(**spec_extra) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "default"},
            "spec": pod_spec(**spec_extra)}


def service(**spec_extra) -> dict:
    spec = {"type": "ClusterIP", "selector": {"app": "web"}, "sessionAffinity": "None",
            "internalTrafficPolicy": "Cluster",
            "ports": [{"port": 80, "targetPort": 80, "protocol": "TCP"}]}
    spec.update(spec_extra)
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "default"}, "spec": spec}


def job(**spec_extra) -> dict:
    tpl = template({"app": "batch"}, restartPolicy="Never")
    spec = {"parallelism": 1, "completions": 1, "backoffLimit": 6, "completionMode": "NonIndexed",
            "template": tpl}
    spec.update(spec_extra)
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "pi", "namespace": "default"}, "spec": spec}


def invalid(obj: dict, rt, old: dict | None = None) -> ApiError:
    with pytest.raises(ApiError) as info:
        validate_object(obj, rt, old=old)
    assert info.value.code == 422 and info.value.reason == "Invalid"
    return info.value


def bad_request(obj: dict, rt, mode: str = "Strict") -> ApiError:
    with pytest.raises(ApiError) as info:
        check_decoding(obj, rt, field_validation=mode)
    assert info.value.code == 400 and info.value.reason == "BadRequest"
    return info.value


def single(err: ApiError) -> tuple[str, str, str]:
    assert len(err.causes) == 1, err.causes
    c = err.causes[0]
    return c["field"], c["message"], c["reason"]


# --- decode -----------------------------------------------------------------

def test_typo_field_is_strict_error():
    obj = deployment(replica=3)
    err = bad_request(obj, DEPLOY)
    assert err.message == ('Deployment in version "v1" cannot be handled as a Deployment: '
                           'strict decoding error: unknown field "spec.replica"')


def test_several_unknown_fields_with_list_indices():
    obj = deployment(replica=3)
    obj["spec"]["template"]["spec"]["containers"][0]["imagePullPolice"] = "Always"
    err = bad_request(obj, DEPLOY)
    # reported in document order (spec.replica was added after spec.template)
    assert err.message.endswith('strict decoding error: '
                                'unknown field "spec.template.spec.containers[0].imagePullPolice", '
                                'unknown field "spec.replica"')


def test_warn_mode_returns_warnings_and_drops_fields():
    obj = deployment(replica=3)
    assert check_decoding(obj, DEPLOY, field_validation="Warn") == ['unknown field "spec.replica"']
    assert "replica" not in obj["spec"]


def test_ignore_mode_drops_silently():
    obj = deployment(replica=3)
    assert check_decoding(obj, DEPLOY, field_validation="Ignore") == []
    assert "replica" not in obj["spec"]


def test_free_form_maps_and_server_metadata_are_known():
    obj = deployment()
    obj["metadata"].update({"labels": {"anything": "x"}, "annotations": {"a/b": "c"}, "uid": "u",
                            "resourceVersion": "5", "creationTimestamp": "2024-01-01T00:00:00Z",
                            "managedFields": [{"manager": "kubectl", "operation": "Update",
                                               "fieldsV1": {"f:spec": {"f:replicas": {}}}}]})
    assert check_decoding(obj, DEPLOY) == []
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"whatever.key": "v"}}
    assert check_decoding(cm, CM) == []


def test_wrong_type_replicas():
    err = bad_request(deployment(replicas="three"), DEPLOY)
    assert err.message == ('Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal '
                           'string into Go struct field DeploymentSpec.spec.replicas of type int32')


def test_wrong_type_deep_in_list_has_no_indices():
    obj = deployment()
    obj["spec"]["template"]["spec"]["containers"][0]["ports"] = [{"containerPort": "80"}]
    err = bad_request(obj, DEPLOY)
    assert err.message.endswith("json: cannot unmarshal string into Go struct field "
                                "ContainerPort.spec.template.spec.containers.ports.containerPort of type int32")


def test_type_error_wins_over_unknown_fields_and_in_any_mode():
    obj = deployment(replica=1, replicas="x")
    assert "cannot unmarshal string" in bad_request(obj, DEPLOY, "Ignore").message


def test_invalid_quantity_is_a_decode_error():
    obj = pod()
    obj["spec"]["containers"][0]["resources"] = {"limits": {"memory": "lots"}}
    err = bad_request(obj, POD)
    assert err.message == ('Pod in version "v1" cannot be handled as a Pod: quantities must match the regular '
                           "expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")


def test_int_or_string_wrong_type():
    obj = service()
    obj["spec"]["ports"][0]["targetPort"] = True
    err = bad_request(obj, SVC)
    assert err.message.endswith("json: cannot unmarshal bool into Go struct field "
                                "ServicePort.spec.ports.targetPort of type int32")


def test_struct_and_list_type_errors():
    obj = deployment()
    obj["spec"]["template"]["spec"]["containers"] = {"name": "x"}
    assert bad_request(obj, DEPLOY).message.endswith(
        "json: cannot unmarshal object into Go struct field PodSpec.spec.template.spec.containers "
        "of type []v1.Container")
    obj = pod()
    obj["metadata"]["labels"] = {"a": 1}
    assert bad_request(obj, POD).message.endswith(
        "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type string")


# --- names and metadata -----------------------------------------------------

def test_name_dns_subdomain():
    causes = validate_name("My_App", DEPLOY)
    assert causes == [{"reason": "FieldValueInvalid", "field": "metadata.name", "message": (
        "Invalid value: \"My_App\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
        "characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', "
        "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")}]


def test_name_namespace_is_dns_label_and_service_dns1035():
    assert validate_name("a.b", NS)[0]["message"] == 'Invalid value: "a.b": must not contain dots'
    msg = validate_name("1web", SVC)[0]["message"]
    assert msg == ('Invalid value: "1web": a DNS-1035 label must consist of lower case alphanumeric characters or '
                   "'-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name', "
                   "or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')".replace(
                       "'my-name', or", "'my-name' or"))


def test_name_too_long():
    causes = validate_name("a" * 254, DEPLOY)
    assert causes[0]["message"] == f'Invalid value: "{"a" * 254}": must be no more than 253 characters'


def test_name_required():
    obj = deployment()
    obj["metadata"]["name"] = ""
    err = invalid(obj, DEPLOY)
    assert err.causes[0] == {"reason": "FieldValueRequired", "field": "metadata.name",
                             "message": "Required value: name or generateName is required"}


def test_label_key_and_value():
    obj = pod()
    obj["metadata"]["labels"] = {"app": "-bad-"}
    err = invalid(obj, POD)
    assert single(err)[1].startswith('Invalid value: "-bad-": a valid label must be an empty string or consist of')
    obj["metadata"]["labels"] = {"a" * 64: "x"}
    err = invalid(obj, POD)
    assert single(err) == ("metadata.labels", f'Invalid value: "{"a" * 64}": name part must be no more than 63 bytes',
                           "FieldValueInvalid")


def test_annotations_too_large():
    obj = pod()
    obj["metadata"]["annotations"] = {"big": "x" * (256 * 1024)}
    assert single(invalid(obj, POD)) == ("metadata.annotations", "Too long: must have at most 262144 bytes",
                                         "FieldValueTooLong")


# --- pod spec ---------------------------------------------------------------

def test_pod_image_required_message():
    obj = pod()
    obj["spec"]["containers"][0]["image"] = ""
    err = invalid(obj, POD)
    assert err.message == 'Pod "web" is invalid: spec.containers[0].image: Required value'
    assert err.causes == [{"reason": "FieldValueRequired", "message": "Required value",
                           "field": "spec.containers[0].image"}]


def test_pod_needs_a_container():
    obj = pod(containers=[])
    assert single(invalid(obj, POD)) == ("spec.containers", "Required value", "FieldValueRequired")


def test_container_names_label_and_unique():
    obj = pod(containers=[container("web"), container("web")])
    assert single(invalid(obj, POD)) == ("spec.containers[1].name", 'Duplicate value: "web"', "FieldValueDuplicate")
    obj = pod(containers=[container("Web")])
    assert single(invalid(obj, POD))[1].startswith(
        "Invalid value: \"Web\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters")


def test_container_ports():
    obj = pod(containers=[container(ports=[{"containerPort": 70000, "protocol": "TCP"},
                                           {"containerPort": 80, "protocol": "HTTP", "name": "http"},
                                           {"containerPort": 81, "protocol": "TCP", "name": "http"}])])
    err = invalid(obj, POD)
    assert err.causes == [
        {"reason": "FieldValueInvalid", "field": "spec.containers[0].ports[0].containerPort",
         "message": "Invalid value: 70000: must be between 1 and 65535, inclusive"},
        {"reason": "FieldValueNotSupported", "field": "spec.containers[0].ports[1].protocol",
         "message": 'Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"'},
        {"reason": "FieldValueDuplicate", "field": "spec.containers[0].ports[2].name",
         "message": 'Duplicate value: "http"'},
    ]


def test_requests_above_limits():
    obj = pod(containers=[container(resources={"limits": {"cpu": "500m"}, "requests": {"cpu": "1"}})])
    assert single(invalid(obj, POD)) == ("spec.containers[0].resources.requests",
                                         'Invalid value: "1": must be less than or equal to cpu limit of 500m',
                                         "FieldValueInvalid")


def test_restart_policy_dns_policy_pull_policy_values():
    obj = pod(restartPolicy="Sometimes", dnsPolicy="Google")
    obj["spec"]["containers"][0]["imagePullPolicy"] = "Maybe"
    causes = invalid(obj, POD).causes
    assert [c["message"] for c in causes] == [
        'Unsupported value: "Maybe": supported values: "Always", "IfNotPresent", "Never"',
        'Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
        'Unsupported value: "Google": supported values: "ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"',
    ]


def test_volume_mount_must_name_a_volume_and_volumes_unique():
    obj = pod(containers=[container(volumeMounts=[{"name": "data", "mountPath": "/data"}])])
    assert single(invalid(obj, POD)) == ("spec.containers[0].volumeMounts[0].name", 'Not found: "data"',
                                         "FieldValueNotFound")
    obj = pod(volumes=[{"name": "v", "emptyDir": {}}, {"name": "v", "emptyDir": {}}])
    assert single(invalid(obj, POD)) == ("spec.volumes[1].name", 'Duplicate value: "v"', "FieldValueDuplicate")


def test_env_var_names_relaxed():
    obj = pod(containers=[container(env=[{"name": "A=B", "value": "x"}, {"name": ""}])])
    causes = invalid(obj, POD).causes
    assert causes[0]["message"] == ('Invalid value: "A=B": a valid environment variable name must consist only of '
                                    "printable ASCII characters other than '='")
    assert causes[1] == {"reason": "FieldValueRequired", "field": "spec.containers[0].env[1].name",
                         "message": "Required value"}


def test_probe_handler_rules():
    obj = pod(containers=[container(livenessProbe={"periodSeconds": 10, "successThreshold": 1})])
    assert single(invalid(obj, POD)) == ("spec.containers[0].livenessProbe",
                                         "Required value: must specify a handler type", "FieldValueRequired")
    obj = pod(containers=[container(readinessProbe={"exec": {"command": ["true"]},
                                                    "tcpSocket": {"port": 80}})])
    assert single(invalid(obj, POD)) == ("spec.containers[0].readinessProbe.tcpSocket",
                                         "Forbidden: may not specify more than 1 handler type", "FieldValueForbidden")
    obj = pod(containers=[container(livenessProbe={"exec": {"command": ["true"]}, "successThreshold": 2})])
    assert single(invalid(obj, POD))[1] == "Invalid value: 2: must be 1"


# --- workloads --------------------------------------------------------------

def test_selector_does_not_match_template():
    obj = deployment(template=template({"app": "x"}))
    err = invalid(obj, DEPLOY)
    assert err.message == ('Deployment.apps "web" is invalid: spec.template.metadata.labels: Invalid value: '
                           'map[string]string{"app":"x"}: `selector` does not match template `labels`')


def test_selector_required_and_empty():
    obj = deployment()
    del obj["spec"]["selector"]
    assert single(invalid(obj, DEPLOY)) == ("spec.selector", "Required value", "FieldValueRequired")
    obj = deployment(selector={})
    assert single(invalid(obj, DEPLOY)) == (
        "spec.selector", "Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), "
        "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment",
        "FieldValueInvalid")


def test_negative_replicas():
    assert single(invalid(deployment(replicas=-1), DEPLOY)) == (
        "spec.replicas", "Invalid value: -1: must be greater than or equal to 0", "FieldValueInvalid")


def test_deployment_template_restart_policy_always():
    obj = deployment(template=template(restartPolicy="Never"))
    assert single(invalid(obj, DEPLOY)) == ("spec.template.spec.restartPolicy",
                                            'Unsupported value: "Never": supported values: "Always"',
                                            "FieldValueNotSupported")


def test_deployment_strategy_rules():
    obj = deployment(strategy={"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 0}})
    assert single(invalid(obj, DEPLOY)) == ("spec.strategy.rollingUpdate.maxUnavailable",
                                            "Invalid value: 0: may not be 0 when `maxSurge` is 0", "FieldValueInvalid")
    obj = deployment(strategy={"type": "Recreate", "rollingUpdate": {"maxSurge": 1}})
    assert single(invalid(obj, DEPLOY)) == ("spec.strategy.rollingUpdate",
                                            "Forbidden: may not be specified when strategy `type` is 'Recreate'",
                                            "FieldValueForbidden")


def test_template_labels_path_has_no_metadata():
    obj = deployment(template=template({"app": "web", "bad key": "x"}))
    assert single(invalid(obj, DEPLOY))[0] == "spec.template.labels"


def test_replicaset_and_daemonset_and_statefulset_selectors():
    rs = deployment()
    rs["kind"] = "ReplicaSet"
    for key in ("strategy", "revisionHistoryLimit", "progressDeadlineSeconds"):
        rs["spec"].pop(key)
    rs["spec"]["selector"] = {}
    assert "empty selector is invalid for deployment" in single(invalid(rs, RS))[1]
    ds = copy.deepcopy(rs)
    ds["kind"] = "DaemonSet"
    ds["spec"].pop("replicas")
    assert "empty selector is invalid for daemonset" in single(invalid(ds, DS))[1]
    sts = copy.deepcopy(rs)
    sts["kind"] = "StatefulSet"
    sts["spec"]["selector"] = {"matchLabels": {"app": "db"}}
    assert single(invalid(sts, STS))[1].endswith("`selector` does not match template `labels`")


def test_job_restart_policy_and_counts():
    obj = job(template=template({"app": "batch"}, restartPolicy="Always"), parallelism=-1)
    causes = invalid(obj, JOB).causes
    assert {"reason": "FieldValueInvalid", "field": "spec.parallelism",
            "message": "Invalid value: -1: must be greater than or equal to 0"} in causes
    assert {"reason": "FieldValueNotSupported", "field": "spec.template.spec.restartPolicy",
            "message": 'Unsupported value: "Always": supported values: "OnFailure", "Never"'} in causes


def test_cronjob_schedule():
    obj = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c", "namespace": "default"},
           "spec": {"schedule": "bad", "concurrencyPolicy": "Allow", "suspend": False,
                    "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 1,
                    "jobTemplate": {"spec": {"template": template({}, restartPolicy="OnFailure")}}}}
    assert single(invalid(obj, CRONJOB)) == ("spec.schedule",
                                             'Invalid value: "bad": expected exactly 5 fields, found 1: [bad]',
                                             "FieldValueInvalid")
    assert cron_error("*/5 * * * *") is None
    assert cron_error("@hourly") is None
    assert cron_error("60 * * * *") == "end of range (60) above maximum (59): 60"


def test_statefulset_service_name_optional():
    sts = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "namespace": "default"},
           "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}}, "template": template(),
                    "podManagementPolicy": "OrderedReady", "updateStrategy": {"type": "RollingUpdate",
                                                                              "rollingUpdate": {"partition": 0}},
                    "revisionHistoryLimit": 10}}
    validate_object(sts, STS)


# --- services ---------------------------------------------------------------

def test_service_rules():
    assert single(invalid(service(ports=[]), SVC)) == ("spec.ports", "Required value", "FieldValueRequired")
    obj = service(ports=[{"port": 80, "protocol": "TCP", "targetPort": 80, "nodePort": 30080}])
    assert single(invalid(obj, SVC)) == ("spec.ports[0].nodePort",
                                         "Forbidden: may not be used when `type` is 'ClusterIP'", "FieldValueForbidden")
    obj = service(type="Magic")
    assert single(invalid(obj, SVC))[1] == ('Unsupported value: "Magic": supported values: '
                                            '"ClusterIP", "ExternalName", "LoadBalancer", "NodePort"')
    obj = service(type="ExternalName", ports=[])
    assert single(invalid(obj, SVC)) == ("spec.externalName", "Required value", "FieldValueRequired")


def test_service_port_range_names_duplicates():
    obj = service(ports=[{"port": 0, "protocol": "TCP", "targetPort": 80, "name": "a"},
                         {"port": 80, "protocol": "TCP", "targetPort": "http-port-too-long", "name": "b"},
                         {"port": 80, "protocol": "TCP", "targetPort": 80}])
    causes = invalid(obj, SVC).causes
    assert causes[0] == {"reason": "FieldValueInvalid", "field": "spec.ports[0].port",
                         "message": "Invalid value: 0: must be between 1 and 65535, inclusive"}
    assert {"reason": "FieldValueInvalid", "field": "spec.ports[1].targetPort",
            "message": 'Invalid value: "http-port-too-long": must be no more than 15 characters'} in causes
    assert {"reason": "FieldValueRequired", "field": "spec.ports[2].name", "message": "Required value"} in causes
    assert causes[-1]["field"] == "spec.ports[2]" and causes[-1]["message"].startswith(
        'Duplicate value: core.ServicePort{Name:"", Protocol:"TCP"')


# --- config and storage -----------------------------------------------------

def test_configmap_keys_and_size():
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "default"},
           "data": {"bad key": "x"}}
    assert single(invalid(obj, CM)) == ("data[bad key]", (
        "Invalid value: \"bad key\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' "
        "(e.g. 'key.name', or 'KEY_NAME', or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"
    ).replace("', or '", "' or '"), "FieldValueInvalid")
    obj["data"] = {"big": "x" * (1024 * 1024 + 1)}
    assert single(invalid(obj, CM)) == ("", "Too long: must have at most 1048576 bytes", "FieldValueTooLong")


def test_secret_type_required_keys():
    obj = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "default"},
           "type": "kubernetes.io/tls", "data": {"tls.crt": "YQ=="}}
    assert single(invalid(obj, SECRET)) == ("data[tls.key]", "Required value", "FieldValueRequired")
    obj = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "default"},
           "type": "kubernetes.io/dockerconfigjson", "data": {}}
    assert single(invalid(obj, SECRET)) == ("data[.dockerconfigjson]", "Required value", "FieldValueRequired")


def test_pvc_rules():
    obj = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "c", "namespace": "default"},
           "spec": {"resources": {}, "volumeMode": "Filesystem"}}
    err = invalid(obj, PVC)
    assert err.causes == [
        {"reason": "FieldValueRequired", "field": "spec.accessModes",
         "message": "Required value: at least 1 access mode is required"},
        {"reason": "FieldValueRequired", "field": "spec.resources[storage]", "message": "Required value"},
    ]


def test_pv_rules():
    obj = {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "v"},
           "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                    "persistentVolumeReclaimPolicy": "Retain"}}
    assert single(invalid(obj, PV)) == ("spec", "Required value: must specify a volume type", "FieldValueRequired")
    obj["spec"]["hostPath"] = {"path": "/a"}
    obj["spec"]["nfs"] = {"server": "s", "path": "/"}
    assert single(invalid(obj, PV)) == ("spec.nfs", "Forbidden: may not specify more than 1 volume type",
                                        "FieldValueForbidden")


# --- autoscaling ------------------------------------------------------------

def test_hpa_rules():
    obj = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
           "metadata": {"name": "h", "namespace": "default"},
           "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": ""},
                    "minReplicas": 0, "maxReplicas": 0}}
    assert invalid(obj, HPA2).causes == [
        {"reason": "FieldValueInvalid", "field": "spec.minReplicas",
         "message": "Invalid value: 0: must be greater than or equal to 1"},
        {"reason": "FieldValueInvalid", "field": "spec.maxReplicas",
         "message": "Invalid value: 0: must be greater than 0"},
        {"reason": "FieldValueRequired", "field": "spec.scaleTargetRef.name", "message": "Required value"},
    ]
    obj["spec"].update({"minReplicas": 5, "maxReplicas": 2, "scaleTargetRef": {"kind": "Deployment", "name": "w"}})
    obj["apiVersion"] = "autoscaling/v1"
    assert single(invalid(obj, HPA1)) == ("spec.maxReplicas",
                                          "Invalid value: 2: must be greater than or equal to `minReplicas`",
                                          "FieldValueInvalid")


# --- updates ----------------------------------------------------------------

def test_deployment_selector_immutable():
    old = deployment()
    new = deployment(selector={"matchLabels": {"app": "web", "tier": "x"}},
                     template=template({"app": "web", "tier": "x"}))
    assert single(invalid(new, DEPLOY, old)) == (
        "spec.selector", 'Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"web", "tier":"x"}, '
        "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable", "FieldValueInvalid")


def test_statefulset_forbidden_update():
    old = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "namespace": "default"},
           "spec": {"replicas": 1, "serviceName": "db", "selector": {"matchLabels": {"app": "web"}},
                    "template": template()}}
    new = copy.deepcopy(old)
    new["spec"]["serviceName"] = "other"
    new["spec"]["replicas"] = 3
    assert single(invalid(new, STS, old)) == (
        "spec", "Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', "
                "'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and "
                "'minReadySeconds' are forbidden", "FieldValueForbidden")
    new["spec"]["serviceName"] = "db"
    validate_object(new, STS, old=old)


def test_pod_update_rules():
    old = pod()
    new = copy.deepcopy(old)
    new["spec"]["containers"][0]["image"] = "nginx:1.27"
    new["spec"]["activeDeadlineSeconds"] = 100
    validate_object(new, POD, old=old)
    new["spec"]["containers"][0]["ports"] = [{"containerPort": 80, "protocol": "TCP"}]
    field, message, reason = single(invalid(new, POD, old))
    assert (field, reason) == ("spec", "FieldValueForbidden")
    assert message.startswith(
        "Forbidden: pod updates may not change fields other than `spec.containers[*].image`,"
        "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing "
        "tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)\n")
    new = copy.deepcopy(old)
    new["spec"]["containers"].append(container("side"))
    assert single(invalid(new, POD, old)) == ("spec.containers",
                                              "Forbidden: pod updates may not add or remove containers",
                                              "FieldValueForbidden")


def test_job_template_immutable():
    old = job(selector={"matchLabels": {"app": "batch"}})
    new = copy.deepcopy(old)
    new["spec"]["template"]["spec"]["containers"][0]["image"] = "perl:2"
    field, message, _ = single(invalid(new, JOB, old))
    assert field == "spec.template" and message.endswith(": field is immutable")


def test_service_cluster_ip_immutable():
    old = service(clusterIP="10.96.0.10", clusterIPs=["10.96.0.10"])
    new = service(clusterIP="10.96.0.11", clusterIPs=["10.96.0.11"])
    assert single(invalid(new, SVC, old)) == ("spec.clusterIPs[0]",
                                              'Invalid value: []string{"10.96.0.11"}: may not change once set',
                                              "FieldValueInvalid")


def test_pvc_spec_immutable_except_requests():
    old = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "c", "namespace": "default"},
           "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}},
                    "volumeMode": "Filesystem"}}
    new = copy.deepcopy(old)
    new["spec"]["resources"]["requests"]["storage"] = "2Gi"
    validate_object(new, PVC, old=old)
    new["spec"]["accessModes"] = ["ReadWriteMany"]
    field, message, _ = single(invalid(new, PVC, old))
    assert field == "spec" and message.startswith(
        "Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName "
        "for bound claims\n")


def test_immutable_configmap_and_secret():
    old = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "default"},
           "data": {"a": "1"}, "immutable": True}
    new = copy.deepcopy(old)
    new["data"]["a"] = "2"
    assert single(invalid(new, CM, old)) == ("data", "Forbidden: field is immutable when `immutable` is set",
                                             "FieldValueForbidden")
    old_s = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "default"},
             "type": "Opaque", "data": {"a": "MQ=="}, "immutable": True}
    new_s = copy.deepcopy(old_s)
    new_s["data"]["a"] = "Mg=="
    assert single(invalid(new_s, SECRET, old_s))[0] == "data"


def test_metadata_name_immutable():
    old = pod()
    new = copy.deepcopy(old)
    new["metadata"]["name"] = "other"
    causes = invalid(new, POD, old).causes
    assert causes[0] == {"reason": "FieldValueInvalid", "field": "metadata.name",
                         "message": 'Invalid value: "other": field is immutable'}


def test_several_errors_are_listed_in_brackets():
    obj = pod()
    obj["spec"]["containers"][0]["image"] = ""
    obj["spec"]["containers"][0]["name"] = ""
    err = invalid(obj, POD)
    assert err.message == ('Pod "web" is invalid: [spec.containers[0].name: Required value, '
                           "spec.containers[0].image: Required value]")


# --- quantities -------------------------------------------------------------

@pytest.mark.parametrize("text,canonical", [("500m", "500m"), ("0.5", "500m"), ("1", "1"), ("1000m", "1"),
                                            ("1Gi", "1Gi"), ("1024Mi", "1Gi"), ("2000", "2k"), ("1500", "1500"),
                                            ("128974848", "128974848"), ("1e3", "1k")])
def test_quantity_canonical_form(text, canonical):
    q = parse_quantity(text)
    assert format_quantity(q.value, q.binary) == canonical


# --- corpus and speed -------------------------------------------------------

def _corpus_docs():
    for path in corpus_files():
        for doc in corpus_documents(path.name):
            yield path.name, doc


def _defaulted(doc: dict, rt) -> dict:
    try:
        from clusters.apiserver.defaults import apply_defaults
    except ImportError:  # pragma: no cover - defaults module written elsewhere
        return doc
    result = apply_defaults(doc, rt)
    return result if isinstance(result, dict) else doc


@pytest.mark.parametrize("name,doc", list(_corpus_docs()), ids=lambda v: v if isinstance(v, str) else "")
def test_corpus_manifests_pass(name, doc):
    rt = registry.by_gvk(doc["apiVersion"], doc["kind"])
    assert check_decoding(doc, rt) == []
    if rt.namespaced:
        doc.setdefault("metadata", {}).setdefault("namespace", "default")
    validate_object(_defaulted(doc, rt), rt)


def test_speed_print_only():
    obj = deployment()
    start = time.perf_counter()
    for _ in range(200):
        check_decoding(obj, DEPLOY)
        validate_object(obj, DEPLOY)
    per_call = (time.perf_counter() - start) / 200 * 1000
    print(f"decode+validate of a Deployment: {per_call:.3f} ms")


def test_named_go_string_types_in_type_errors():
    obj = pod()
    obj["spec"]["containers"][0]["ports"] = [{"containerPort": 80, "protocol": 6}]
    assert bad_request(obj, POD).message.endswith(
        "json: cannot unmarshal number into Go struct field ContainerPort.spec.containers.ports.protocol "
        "of type v1.Protocol")


# --- quantities with huge exponents: answered at once, as the real server answers ----------------

def test_huge_exponent_quantity_is_accepted_at_once_like_upstream():
    # ParseQuantity takes "1e9999999" on its int64 fast path (value 1, scale 9999999) and keeps the
    # string; SetDefaults_ResourceList's RoundUp(-3) leaves it alone: the server stores it as written.
    from clusters.apiserver.defaults import apply_defaults
    for text in ("1e9999999", "1e999999"):
        started = time.perf_counter()
        obj = deployment()
        obj["spec"]["template"]["spec"]["containers"][0]["resources"] = {"limits": {"cpu": text}}
        check_decoding(copy.deepcopy(obj), DEPLOY)
        apply_defaults(obj, DEPLOY)
        validate_object(obj, DEPLOY)
        assert obj["spec"]["template"]["spec"]["containers"][0]["resources"] == {"limits": {"cpu": text}}
        p = pod(containers=[container(resources={"limits": {"memory": text}})])
        apply_defaults(p, POD)
        validate_object(p, POD)
        assert p["spec"]["containers"][0]["resources"] == {"limits": {"memory": text}, "requests": {"memory": text}}
        assert time.perf_counter() - started < 0.5


def test_exponent_beyond_int64_is_rejected_at_once_with_the_suffix_error():
    started = time.perf_counter()
    obj = deployment()
    obj["spec"]["template"]["spec"]["containers"][0]["resources"] = {"limits": {"cpu": "1e99999999999999999999"}}
    err = bad_request(obj, DEPLOY)
    assert err.message == ('Deployment in version "v1" cannot be handled as a Deployment: '
                           "unable to parse quantity's suffix")
    assert time.perf_counter() - started < 0.5


def test_huge_request_above_huge_limit_is_reported_at_once():
    started = time.perf_counter()
    obj = pod(containers=[container(resources={"limits": {"cpu": "1e9999999"}, "requests": {"cpu": "2e9999999"}})])
    assert single(invalid(obj, POD)) == ("spec.containers[0].resources.requests",
                                         'Invalid value: "2e9999999": must be less than or equal to cpu limit of '
                                         "1e9999999", "FieldValueInvalid")
    assert time.perf_counter() - started < 0.5
