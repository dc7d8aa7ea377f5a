"""Server-side defaults, checked against what a real v1.37 cluster returns (`kubectl get -o yaml`)."""
from __future__ import annotations

import copy
import re

import pytest

from clusters.apiserver import registry
from clusters.apiserver.decode import load_manifests
from clusters.apiserver.defaults import (
    apply_defaults,
    canonical_quantity,
    image_tag,
    job_selector_and_labels,
    pod_qos_class,
)
from tests.fixtures import corpus_files, nginx_deployment


def rt_of(obj: dict) -> registry.ResourceType:
    rt = registry.by_gvk(obj["apiVersion"], obj["kind"])
    assert rt is not None
    return rt


def defaulted(obj: dict, **kw) -> dict:
    obj = copy.deepcopy(obj)
    apply_defaults(obj, rt_of(obj), **kw)
    return obj


def corpus_objects() -> list[tuple[str, dict]]:
    found = []
    for path in corpus_files():
        for manifest in load_manifests(path.read_text(), max_bytes=3 << 20):
            found.append((f"{path.name}#{manifest.index}", manifest.obj))
    return found


CONTAINER_DEFAULTS = {"imagePullPolicy", "resources", "terminationMessagePath", "terminationMessagePolicy"}
POD_SPEC_DEFAULTS = {"dnsPolicy": "ClusterFirst", "schedulerName": "default-scheduler",
                     "securityContext": {}, "terminationGracePeriodSeconds": 30}


def pod_specs(obj: dict) -> list[tuple[dict, bool]]:
    kind, spec = obj["kind"], obj["spec"]
    if kind == "Pod":
        return [(spec, True)]
    if kind == "CronJob":
        return [(spec["jobTemplate"]["spec"]["template"]["spec"], False)]
    if "template" in spec:
        return [(spec["template"]["spec"], False)]
    return []


@pytest.mark.parametrize("name,obj", corpus_objects())
def test_corpus_manifest_defaults(name: str, obj: dict) -> None:
    out = defaulted(obj)
    for spec, is_pod in pod_specs(out):
        for key, value in POD_SPEC_DEFAULTS.items():
            assert key in spec, (name, key)
            if key not in obj.get("spec", {}):
                assert spec[key] == value
        assert spec["restartPolicy"] in ("Always", "Never", "OnFailure")
        given = {c["name"]: c for original, _ in pod_specs(obj) for c in original.get("containers", [])}
        for c in spec["containers"]:
            assert CONTAINER_DEFAULTS <= set(c), (name, c)
            for port in c.get("ports", []):
                assert port["protocol"] == "TCP"
            if "imagePullPolicy" not in given[c["name"]]:
                assert c["imagePullPolicy"] == ("Always" if image_tag(c["image"]) == "latest" else "IfNotPresent")
        assert ("enableServiceLinks" in spec) == is_pod
        assert ("serviceAccountName" in spec) == is_pod or "serviceAccountName" in obj["spec"]
    # Defaulting twice changes nothing more (the apiserver defaults again on every read).
    again = copy.deepcopy(out)
    apply_defaults(again, rt_of(again), create=False)
    assert again == out


def test_nginx_deployment_exactly_as_a_real_server_returns_it() -> None:
    # application/deployment.yaml at the tag the docs gave it when the real server's answer was taken.
    obj = nginx_deployment(image="nginx:1.14.2")
    assert defaulted(obj)["spec"] == {
        "progressDeadlineSeconds": 600,
        "replicas": 2,
        "revisionHistoryLimit": 10,
        "selector": {"matchLabels": {"app": "nginx"}},
        "strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}, "type": "RollingUpdate"},
        "template": {
            "metadata": {"labels": {"app": "nginx"}},
            "spec": {
                "containers": [{
                    "image": "nginx:1.14.2", "imagePullPolicy": "IfNotPresent", "name": "nginx",
                    "ports": [{"containerPort": 80, "protocol": "TCP"}], "resources": {},
                    "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
                }],
                "dnsPolicy": "ClusterFirst", "restartPolicy": "Always", "schedulerName": "default-scheduler",
                "securityContext": {}, "terminationGracePeriodSeconds": 30,
            },
        },
    }
    assert defaulted(obj)["status"] == {}


def test_recreate_strategy_gets_no_rolling_update() -> None:
    obj = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
           "spec": {"strategy": {"type": "Recreate"}, "template": {"spec": {"containers": []}}}}
    out = defaulted(obj)
    assert out["spec"]["strategy"] == {"type": "Recreate"}
    assert out["spec"]["replicas"] == 1


def test_pod_create_admission_and_status() -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"},
           "spec": {"containers": [{"name": "c", "image": "busybox",
                                    "resources": {"limits": {"cpu": "0.5", "memory": "1024Mi"}}}]}}
    out = defaulted(pod)
    spec = out["spec"]
    c = spec["containers"][0]
    assert c["imagePullPolicy"] == "Always"
    assert c["resources"] == {"limits": {"cpu": "500m", "memory": "1Gi"},
                              "requests": {"cpu": "500m", "memory": "1Gi"}}
    assert spec["serviceAccountName"] == spec["serviceAccount"] == "default"
    assert spec["enableServiceLinks"] is True
    assert spec["priority"] == 0 and spec["preemptionPolicy"] == "PreemptLowerPriority"
    assert spec["tolerations"] == [
        {"effect": "NoExecute", "key": "node.kubernetes.io/not-ready", "operator": "Exists", "tolerationSeconds": 300},
        {"effect": "NoExecute", "key": "node.kubernetes.io/unreachable", "operator": "Exists",
         "tolerationSeconds": 300},
    ]
    volume = spec["volumes"][-1]
    assert re.fullmatch(r"kube-api-access-[bcdfghjklmnpqrstvwxz2456789]{5}", volume["name"])
    assert volume["projected"]["sources"][0] == {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}}
    assert c["volumeMounts"] == [{"mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                                  "name": volume["name"], "readOnly": True}]
    assert out["status"] == {"phase": "Pending", "qosClass": "Guaranteed"}
    # Updates do not run admission again.
    update = defaulted(pod, create=False)
    assert "tolerations" not in update["spec"] and "status" not in update


def test_pod_admission_respects_existing_choices() -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
           "spec": {"automountServiceAccountToken": False, "serviceAccountName": "builder",
                    "priorityClassName": "system-node-critical",
                    "tolerations": [{"operator": "Exists"}],
                    "containers": [{"name": "c", "image": "nginx@sha256:" + "a" * 64}]}}
    spec = defaulted(pod)["spec"]
    assert spec["serviceAccount"] == "builder"
    assert "volumes" not in spec and "volumeMounts" not in spec["containers"][0]
    assert spec["priority"] == 2000001000
    assert spec["tolerations"] == [{"operator": "Exists"}]
    assert spec["containers"][0]["imagePullPolicy"] == "IfNotPresent"  # digest, no tag


def test_templates_get_no_pod_only_defaults() -> None:
    rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "r"},
          "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "x:1",
                                                         "resources": {"limits": {"cpu": "1"}}}]}}}}
    spec = defaulted(rs)["spec"]
    assert spec["replicas"] == 1
    tspec = spec["template"]["spec"]
    assert tspec["containers"][0]["resources"] == {"limits": {"cpu": "1"}}  # no requests-from-limits
    for key in ("enableServiceLinks", "serviceAccountName", "priority", "tolerations"):
        assert key not in tspec


def test_probes_volumes_env() -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {
        "containers": [{"name": "c", "image": "x:latest",
                        "livenessProbe": {"httpGet": {"port": 8080}},
                        "readinessProbe": {"grpc": {"port": 9000}, "periodSeconds": 5},
                        "env": [{"name": "N", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]}],
        "volumes": [{"name": "a", "configMap": {"name": "cm"}}, {"name": "b", "secret": {"secretName": "s"}},
                    {"name": "c"}, {"name": "d", "hostPath": {"path": "/x"}},
                    {"name": "e", "emptyDir": {"sizeLimit": "1024Mi"}}]}}
    spec = defaulted(pod)["spec"]
    c = spec["containers"][0]
    assert c["imagePullPolicy"] == "Always"
    assert c["livenessProbe"] == {"httpGet": {"port": 8080, "path": "/", "scheme": "HTTP"}, "timeoutSeconds": 1,
                                  "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3}
    assert c["readinessProbe"]["periodSeconds"] == 5 and c["readinessProbe"]["grpc"]["service"] == ""
    assert c["env"][0]["valueFrom"]["fieldRef"]["apiVersion"] == "v1"
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert volumes["a"]["configMap"]["defaultMode"] == 420
    assert volumes["b"]["secret"]["defaultMode"] == 420
    assert volumes["c"]["emptyDir"] == {}
    assert volumes["d"]["hostPath"]["type"] == ""
    assert volumes["e"]["emptyDir"]["sizeLimit"] == "1Gi"


def test_service_defaults() -> None:
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
           "spec": {"type": "NodePort", "selector": {"a": "b"}, "ports": [{"port": 80, "targetPort": "http"}]}}
    spec = defaulted(svc)["spec"]
    assert spec["ports"] == [{"port": 80, "targetPort": "http", "protocol": "TCP"}]
    assert spec["externalTrafficPolicy"] == "Cluster" and spec["internalTrafficPolicy"] == "Cluster"
    assert spec["ipFamilies"] == ["IPv4"] and spec["ipFamilyPolicy"] == "SingleStack"
    lb = defaulted({**svc, "spec": {"type": "LoadBalancer", "ports": [{"port": 443}]}})["spec"]
    assert lb["allocateLoadBalancerNodePorts"] is True and lb["ports"][0]["targetPort"] == 443
    headless = defaulted({**svc, "spec": {"clusterIP": "None", "ports": [{"port": 1}]}})["spec"]
    assert headless["clusterIPs"] == ["None"]
    assert headless["ipFamilyPolicy"] == "RequireDualStack" and headless["ipFamilies"] == ["IPv4", "IPv6"]
    ext = defaulted({**svc, "spec": {"type": "ExternalName", "externalName": "example.com"}})["spec"]
    assert "ipFamilies" not in ext and "internalTrafficPolicy" not in ext
    assert ext["sessionAffinity"] == "None"
    sticky = defaulted({**svc, "spec": {"sessionAffinity": "ClientIP", "ports": [{"port": 1}]}})["spec"]
    assert sticky["sessionAffinityConfig"] == {"clientIP": {"timeoutSeconds": 10800}}


def test_statefulset_daemonset() -> None:
    sts = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "web"},
           "spec": {"serviceName": "nginx", "selector": {"matchLabels": {"app": "nginx"}},
                    "template": {"metadata": {"labels": {"app": "nginx"}},
                                 "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}]}},
                    "volumeClaimTemplates": [{"metadata": {"name": "www"},
                                              "spec": {"accessModes": ["ReadWriteOnce"],
                                                       "resources": {"requests": {"storage": "1024Mi"}}}}]}}
    spec = defaulted(sts)["spec"]
    assert spec["podManagementPolicy"] == "OrderedReady"
    assert spec["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
    assert spec["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}
    assert spec["replicas"] == 1 and spec["revisionHistoryLimit"] == 10
    assert spec["volumeClaimTemplates"][0] == {
        "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "www"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}},
                 "volumeMode": "Filesystem"},
        "status": {"phase": "Pending"}}
    assert defaulted(sts)["status"] == {"replicas": 0}
    ds = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "d"},
          "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "x"}]}}}}
    out = defaulted(ds)
    assert out["spec"]["updateStrategy"] == {"type": "RollingUpdate",
                                             "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}
    assert out["spec"]["revisionHistoryLimit"] == 10
    assert out["status"] == {"currentNumberScheduled": 0, "desiredNumberScheduled": 0,
                             "numberMisscheduled": 0, "numberReady": 0}


def test_job_and_generated_selector() -> None:
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "pi", "uid": "u-1"},
           "spec": {"template": {"spec": {"restartPolicy": "Never",
                                          "containers": [{"name": "pi", "image": "perl:5.34.0"}]}}}}
    out = defaulted(job)
    job_selector_and_labels(out)
    spec = out["spec"]
    for key, value in {"backoffLimit": 6, "completionMode": "NonIndexed", "completions": 1, "manualSelector": False,
                       "parallelism": 1, "podReplacementPolicy": "TerminatingOrFailed", "suspend": False}.items():
        assert spec[key] == value
    labels = {"batch.kubernetes.io/controller-uid": "u-1", "batch.kubernetes.io/job-name": "pi",
              "controller-uid": "u-1", "job-name": "pi"}
    assert spec["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": "u-1"}}
    assert spec["template"]["metadata"]["labels"] == labels
    assert out["metadata"]["labels"] == labels
    parallel = defaulted({**job, "spec": {**job["spec"], "parallelism": 3}})["spec"]
    assert parallel["parallelism"] == 3 and "completions" not in parallel
    manual = defaulted({**job, "spec": {**job["spec"], "manualSelector": True,
                                        "selector": {"matchLabels": {"a": "b"}}}})
    job_selector_and_labels(manual, "u-2")
    assert manual["spec"]["selector"] == {"matchLabels": {"a": "b"}}


def test_cronjob_job_template_gets_no_job_defaults() -> None:
    cj = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "hello"},
          "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": {"spec": {
              "restartPolicy": "OnFailure", "containers": [{"name": "hello", "image": "busybox:1.28"}]}}}}}}
    spec = defaulted(cj)["spec"]
    assert spec["concurrencyPolicy"] == "Allow" and spec["suspend"] is False
    assert spec["successfulJobsHistoryLimit"] == 3 and spec["failedJobsHistoryLimit"] == 1
    job_spec = spec["jobTemplate"]["spec"]
    assert set(job_spec) == {"template"}  # SetDefaults_Job is for Job objects only
    assert job_spec["template"]["spec"]["dnsPolicy"] == "ClusterFirst"


def test_small_kinds() -> None:
    ns = defaulted({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "dev"}})
    assert ns == {"apiVersion": "v1", "kind": "Namespace",
                  "metadata": {"name": "dev", "labels": {"kubernetes.io/metadata.name": "dev"}},
                  "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}
    assert defaulted({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}})["type"] == "Opaque"
    cm = defaulted({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "b"}})
    assert cm == {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "b"}}
    sc = defaulted({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "x"},
                    "provisioner": "p"})
    assert sc["reclaimPolicy"] == "Delete" and sc["volumeBindingMode"] == "Immediate"
    np_ = defaulted({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "n"},
                     "spec": {"podSelector": {}, "egress": [{"ports": [{"port": 53}]}]}})
    assert np_["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert np_["spec"]["egress"][0]["ports"][0]["protocol"] == "TCP"
    ing = defaulted({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "i"},
                     "spec": {}})
    assert ing["spec"] == {} and ing["status"] == {"loadBalancer": {}}
    eps = defaulted({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "metadata": {"name": "e"},
                     "addressType": "IPv4", "endpoints": [], "ports": [{"port": 80}]})
    assert eps["ports"] == [{"port": 80, "name": "", "protocol": "TCP"}]
    rc = defaulted({"apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": "r"},
                    "spec": {"template": {"metadata": {"labels": {"app": "x"}},
                                          "spec": {"containers": [{"name": "c", "image": "x"}]}}}})
    assert rc["spec"]["selector"] == {"app": "x"} and rc["metadata"]["labels"] == {"app": "x"}
    assert rc["spec"]["replicas"] == 1


def test_hpa_v2_and_v1() -> None:
    hpa = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "h"},
           "spec": {"maxReplicas": 10, "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                                           "name": "php-apache"}}}
    spec = defaulted(hpa)["spec"]
    assert spec["minReplicas"] == 1
    assert spec["metrics"] == [{"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]
    assert "behavior" not in spec
    with_behavior = defaulted({**hpa, "spec": {**hpa["spec"], "behavior": {
        "scaleDown": {"stabilizationWindowSeconds": 60}}}})["spec"]["behavior"]
    assert with_behavior["scaleDown"] == {"policies": [{"periodSeconds": 15, "type": "Percent", "value": 100}],
                                          "selectPolicy": "Max", "stabilizationWindowSeconds": 60}
    assert with_behavior["scaleUp"]["stabilizationWindowSeconds"] == 0
    assert len(with_behavior["scaleUp"]["policies"]) == 2
    v1 = defaulted({**hpa, "apiVersion": "autoscaling/v1"})["spec"]
    assert v1["minReplicas"] == 1 and v1["targetCPUUtilizationPercentage"] == 80


def test_limit_range_and_quota_quantities() -> None:
    lr = defaulted({"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "l"},
                    "spec": {"limits": [{"type": "Container", "max": {"cpu": "2000m", "memory": "1Gi"},
                                         "min": {"cpu": "0.1"}}]}})
    item = lr["spec"]["limits"][0]
    assert item["default"] == {"cpu": "2", "memory": "1Gi"}
    assert item["defaultRequest"] == {"cpu": "2", "memory": "1Gi"}
    assert item["min"] == {"cpu": "100m"}
    rq = defaulted({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "q"},
                    "spec": {"hard": {"requests.memory": "2048Mi", "pods": "10", "requests.cpu": "0.0001"}}})
    assert rq["spec"]["hard"] == {"requests.memory": "2Gi", "pods": "10", "requests.cpu": "1m"}


@pytest.mark.parametrize("given,expected", [
    ("0.5", "500m"), ("1024Mi", "1Gi"), ("1.5Gi", "1536Mi"), ("1000m", "1"), ("100Mi", "100Mi"),
    ("128974848", "128974848"), ("129e6", "129e6"), ("12e2", "1200"), ("15000", "15k"), ("0Mi", "0"),
    ("1000Ki", "1000Ki"), ("1024", "1024"), ("+1", "1"), ("-1.5Gi", "-1536Mi"), (".5", "500m"),
    ("1.0000000001", "1000000001n"), ("1e-3", "1e-3"), ("100u", "100u"), ("10G", "10G"),
    ("abc", "abc"), ("1Gi ", "1Gi "), ("1KB", "1KB"), ("", ""),
])
def test_canonical_quantity(given: str, expected: str) -> None:
    assert canonical_quantity(given) == expected


@pytest.mark.parametrize("image,tag", [
    ("nginx", "latest"), ("nginx:latest", "latest"), ("nginx:1.27", "1.27"), ("localhost:5000/app", "latest"),
    ("localhost:5000/app:v2", "v2"), ("nginx@sha256:" + "0" * 64, ""), ("Nginx", ""),
])
def test_image_tag(image: str, tag: str) -> None:
    assert image_tag(image) == tag


def test_qos_classes() -> None:
    assert pod_qos_class({"containers": [{"resources": {}}]}) == "BestEffort"
    assert pod_qos_class({"containers": [{"resources": {"requests": {"cpu": "100m"}}}]}) == "Burstable"
    assert pod_qos_class({"containers": [{"resources": {
        "limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "1000m", "memory": "1024Mi"}}}]}) == "Guaranteed"
