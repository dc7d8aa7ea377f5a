"""The objects of a fresh cluster, as a new kubeadm/kind cluster of the served version holds them.

Pure: given names, a seed and the simulated time, returns plain dicts. The
storage layer writes them; `namespace_defaults` is also what every namespace
created later receives (the ServiceAccount and root-CA ConfigMap controllers'
work).
"""
from __future__ import annotations

import random
import uuid

from clusters.engine.state import timestamp

from .registry import KUBERNETES_VERSION

NODE_CPU = "4"
NODE_MEMORY = "8Gi"
NODE_PODS = "110"
CONTAINER_RUNTIME = "containerd://2.1.4"
OS_IMAGE = "Debian GNU/Linux 12 (bookworm)"
KERNEL = "6.8.0-48-generic"
SYSTEM_NAMESPACES = ("default", "kube-node-lease", "kube-public", "kube-system")
CONTROL_PLANE_TAINT = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}
CLUSTER_DNS_IP = "10.96.0.10"
KUBERNETES_SERVICE_IP = "10.96.0.1"


def _uid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _meta(name: str, now: float, rng: random.Random, namespace: str | None = None, **extra) -> dict:
    meta: dict = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    meta.update(extra)
    meta["uid"] = _uid(rng)
    meta["creationTimestamp"] = timestamp(now)
    return meta


def node_names(workers: int) -> list[str]:
    return ["control-plane"] + [f"worker-{i}" for i in range(1, workers + 1)]


def namespace_object(name: str, now: float, rng: random.Random) -> dict:
    return {
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": _meta(name, now, rng, labels={"kubernetes.io/metadata.name": name}),
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    }


def namespace_defaults(namespace: str, now: float, rng: random.Random, ca_pem: str = "") -> list[dict]:
    """The `default` ServiceAccount and the `kube-root-ca.crt` ConfigMap every namespace gets."""
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount",
         "metadata": _meta("default", now, rng, namespace)},
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": _meta("kube-root-ca.crt", now, rng, namespace,
                           annotations={"kubernetes.io/description":
                                        "Contains a CA bundle that can be used to verify the kube-apiserver "
                                        "when using internal endpoints such as the internal service IP or "
                                        "kubernetes.default.svc. No other usage is guaranteed across "
                                        "distributions of Kubernetes clusters."}),
         "data": {"ca.crt": ca_pem}},
    ]


def node_object(name: str, index: int, now: float, rng: random.Random) -> dict:
    control_plane = name == "control-plane"
    labels = {
        "beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64", "kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
    }
    if control_plane:
        labels["node-role.kubernetes.io/control-plane"] = ""
        labels["node.kubernetes.io/exclude-from-external-load-balancers"] = ""
    resources = {"cpu": NODE_CPU, "ephemeral-storage": "100Gi", "hugepages-1Gi": "0", "hugepages-2Mi": "0",
                 "memory": NODE_MEMORY, "pods": NODE_PODS}
    spec: dict = {"podCIDR": f"10.244.{index}.0/24", "podCIDRs": [f"10.244.{index}.0/24"],
                  "providerID": f"playground://{name}"}
    if control_plane:
        spec["taints"] = [dict(CONTROL_PLANE_TAINT)]
    stamp = timestamp(now)

    def condition(kind: str, status: str, reason: str, message: str) -> dict:
        return {"type": kind, "status": status, "lastHeartbeatTime": stamp, "lastTransitionTime": stamp,
                "reason": reason, "message": message}

    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": _meta(name, now, rng, labels=labels, annotations={
            "node.alpha.kubernetes.io/ttl": "0",
            "volumes.kubernetes.io/controller-managed-attach-detach": "true",
        }),
        "spec": spec,
        "status": {
            "addresses": [{"type": "InternalIP", "address": f"172.18.0.{index + 2}"},
                          {"type": "Hostname", "address": name}],
            "allocatable": dict(resources), "capacity": dict(resources),
            "conditions": [
                condition("MemoryPressure", "False", "KubeletHasSufficientMemory",
                          "kubelet has sufficient memory available"),
                condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                condition("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "architecture": "amd64", "bootID": _uid(rng), "containerRuntimeVersion": CONTAINER_RUNTIME,
                "kernelVersion": KERNEL, "kubeProxyVersion": "", "kubeletVersion": KUBERNETES_VERSION,
                "machineID": uuid.UUID(int=rng.getrandbits(128)).hex, "operatingSystem": "linux",
                "osImage": OS_IMAGE, "systemUUID": _uid(rng),
            },
        },
    }


def lease_object(node: str, now: float, rng: random.Random) -> dict:
    return {
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": _meta(node, now, rng, "kube-node-lease"),
        "spec": {"holderIdentity": node, "leaseDurationSeconds": 40,
                 "renewTime": timestamp(now).replace("Z", ".000000Z")},
    }


def cluster_objects(*, workers: int, now: float, seed: int, ca_pem: str = "") -> list[dict]:
    """Everything a fresh cluster with one control-plane node and `workers` workers holds."""
    rng = random.Random(f"bootstrap:{seed}")
    objects: list[dict] = []
    for ns in SYSTEM_NAMESPACES:
        objects.append(namespace_object(ns, now, rng))
        objects.extend(namespace_defaults(ns, now, rng, ca_pem))
    for index, name in enumerate(node_names(workers)):
        objects.append(node_object(name, index, now, rng))
        objects.append(lease_object(name, now, rng))
    objects.append({
        "apiVersion": "v1", "kind": "Service",
        "metadata": _meta("kubernetes", now, rng, "default",
                          labels={"component": "apiserver", "provider": "kubernetes"}),
        "spec": {"clusterIP": KUBERNETES_SERVICE_IP, "clusterIPs": [KUBERNETES_SERVICE_IP],
                 "internalTrafficPolicy": "Cluster", "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
                 "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}],
                 "sessionAffinity": "None", "type": "ClusterIP"},
        "status": {"loadBalancer": {}},
    })
    objects.append({
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": _meta("kubernetes", now, rng, "default", labels={
            "kubernetes.io/service-name": "kubernetes",
            "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"}),
        "addressType": "IPv4",
        "endpoints": [{"addresses": ["172.18.0.2"], "conditions": {"ready": True}}],
        "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}],
    })
    objects.append({
        "apiVersion": "v1", "kind": "Service",
        "metadata": _meta("kube-dns", now, rng, "kube-system", labels={
            "k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true", "kubernetes.io/name": "CoreDNS"},
            annotations={"prometheus.io/port": "9153", "prometheus.io/scrape": "true"}),
        "spec": {"clusterIP": CLUSTER_DNS_IP, "clusterIPs": [CLUSTER_DNS_IP], "internalTrafficPolicy": "Cluster",
                 "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
                 "ports": [{"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                           {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
                           {"name": "metrics", "port": 9153, "protocol": "TCP", "targetPort": 9153}],
                 "selector": {"k8s-app": "kube-dns"}, "sessionAffinity": "None", "type": "ClusterIP"},
        "status": {"loadBalancer": {}},
    })
    objects.append({
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
        "metadata": _meta("standard", now, rng,
                          annotations={"storageclass.kubernetes.io/is-default-class": "true"}),
        "provisioner": "rancher.io/local-path", "reclaimPolicy": "Delete",
        "volumeBindingMode": "WaitForFirstConsumer",
    })
    return objects
