"""The objects of a fresh cluster, as a new kubeadm/kind cluster of the served version holds them.

Pure: given names, a seed and the simulated time, returns plain dicts. The
storage layer writes them; `namespace_defaults` is also what every namespace
created later receives (the ServiceAccount and root-CA ConfigMap controllers'
work).

A fresh kind cluster is more than its nodes: `kubectl get pods -A` lists what
kubeadm, kind's node image and the ingress add-on installed. The cluster holds
their objects as the API server stores them after `kubeadm init` and the
manifests' `kubectl apply` — the kube-system Deployment, DaemonSets and
ConfigMaps, local-path-storage, ingress-nginx — and the engine's controllers
make their pods like any workload's (ReplicaSets, pod-template hashes, events).
The control plane's static pods are the exception: the kubelet runs them from
/etc/kubernetes/manifests and the API shows their mirror pods, which are here
from the start, bound to the control-plane node and owned by it.

Sources, followed field by field:
* kubeadm (cmd/kubeadm/app): phases/controlplane/manifests.go and phases/etcd/local.go (the static
  pods' commands, probes via util/staticpod: liveness 10s/10s/15s ×8, readiness 1s/15s ×3, startup
  10s/10s/15s ×24; requests 250m / 200m / 100m, etcd 100m + 100Mi; labels component and
  tier=control-plane; priority system-node-critical, hostNetwork, seccomp RuntimeDefault),
  phases/addons/dns/manifests.go (CoreDNS: 2 replicas, requests 100m/70Mi, limit 170Mi, probes
  /health and /ready), phases/addons/proxy/manifests.go (kube-proxy), the kubeadm-config and
  kubelet-config ConfigMaps; kind's v1beta4 ClusterConfiguration (pkg/cluster/internal/kubeadm:
  --runtime-config=, --enable-hostpath-provisioner=true, podSubnet 10.244.0.0/16).
* kind's node image (pkg/build/nodeimage): const_cni.go (the kindnet DaemonSet, 100m/50Mi),
  const_storage.go (local-path-storage and the `standard` StorageClass).
* ingress-nginx as kind's ingress guide applies it (kind.sigs.k8s.io/examples/ingress/
  deploy-ingress-nginx.yaml, controller v1.12.1: a LoadBalancer Service, hostPorts 80/443, the
  admission Jobs and IngressClass `nginx`), the IngressClass marked default as minikube's add-on
  does. One flag differs: kind's file publishes `--publish-status-address=localhost` for the port
  mapping of a docker host; the playground has none, and the controller publishes its Service's
  load-balancer address instead (`--publish-service`, as the cloud manifest does), which is where
  its Ingresses are reached.
* the mirror pods' annotations (kubernetes.io/config.hash, .mirror, .seen, .source: file) and owner
  reference to the Node: pkg/kubelet/pod/mirror_client.go.
"""
from __future__ import annotations

import base64
import copy
import hashlib
import ipaddress
import json
import random
import uuid
from collections.abc import Iterable

from clusters.engine.kubelet import images as image_catalog
from clusters.engine.kubelet import system_images
from clusters.engine.state import micro_timestamp, timestamp

from .registry import KUBERNETES_VERSION, storage_type

NODE_CPU = "4"
NODE_MEMORY = "8Gi"
NODE_PODS = "110"
CONTAINER_RUNTIME = "containerd://2.1.4"
OS_IMAGE = "Debian GNU/Linux 12 (bookworm)"
KERNEL = "6.8.0-48-generic"
SYSTEM_NAMESPACES = ("default", "kube-node-lease", "kube-public", "kube-system")
CONTROL_PLANE = "control-plane"
CONTROL_PLANE_TAINT = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}
CLUSTER_DNS_IP = "10.96.0.10"
KUBERNETES_SERVICE_IP = "10.96.0.1"
SERVICE_SUBNET = "10.96.0.0/12"      # kubeadm's default serviceSubnet, the range the API server allocates from
POD_SUBNET = "10.244.0.0/16"         # kind's podSubnet
CLUSTER_NAME = "kubernetes"          # kubeadm's default clusterName
API_SERVER_PORT = 6443
BOOTSTRAP_TOKEN_ID = "abcdef"        # kind's well-known bootstrap token, abcdef.0123456789abcdef
NODE_CRITICAL, CLUSTER_CRITICAL = "system-node-critical", "system-cluster-critical"
# kubeadm's, CoreDNS's and ingress-nginx's liveness, readiness and startup probes. The engine's kubelet wakes
# the cluster at every probe period, as prober workers tick (pkg/kubelet/prober/worker.go); kubeadm's readiness
# probes tick every second, so with them an idle cluster would be reconciled twice a second, forever. The
# system pods go without their probes until the kubelet skips the ticks of a probe whose answer cannot change.
SYSTEM_POD_PROBES = False
INGRESS_NGINX_LABELS = {"app.kubernetes.io/instance": "ingress-nginx", "app.kubernetes.io/name": "ingress-nginx",
                        "app.kubernetes.io/part-of": "ingress-nginx",
                        "app.kubernetes.io/version": system_images.INGRESS_NGINX_VERSION}


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
    return [CONTROL_PLANE] + [f"worker-{i}" for i in range(1, workers + 1)]


def node_ip(index: int) -> str:
    """The address of the index-th node on the cluster's network (the control plane is 172.18.0.2)."""
    return f"172.18.0.{index + 2}"


def namespace_object(name: str, now: float, rng: random.Random, labels: dict | None = None) -> dict:
    return {
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": _meta(name, now, rng, labels={**(labels or {}), "kubernetes.io/metadata.name": name}),
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


def _preloaded_images() -> list[dict]:
    """The images kind's node image ships (imported at build time, never pulled), largest first as the
    kubelet reports them in status.images."""
    names = [system_images.KINDNETD_IMAGE, f"registry.k8s.io/coredns/coredns:{system_images.COREDNS_TAG}",
             f"registry.k8s.io/etcd:{system_images.ETCD_TAG}", f"registry.k8s.io/pause:{system_images.PAUSE_TAG}",
             system_images.LOCAL_PATH_HELPER_IMAGE, system_images.LOCAL_PATH_PROVISIONER_IMAGE]
    names += [f"registry.k8s.io/{component}:{KUBERNETES_VERSION}"
              for component in ("kube-apiserver", "kube-controller-manager", "kube-proxy", "kube-scheduler")]
    found = []
    for name in names:
        image = image_catalog.lookup(name)
        size = image.size_bytes if isinstance(image, image_catalog.Image) else 0
        found.append({"names": [name], "sizeBytes": size})
    found.sort(key=lambda entry: -entry["sizeBytes"])
    return found


def node_object(name: str, index: int, now: float, rng: random.Random) -> dict:
    control_plane = name == CONTROL_PLANE
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
            "addresses": [{"type": "InternalIP", "address": node_ip(index)},
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
            "images": _preloaded_images(),
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
    nodes = []
    for index, name in enumerate(node_names(workers)):
        nodes.append(node_object(name, index, now, rng))
        objects.append(nodes[-1])
        objects.append(lease_object(name, now, rng))
    objects.append({
        "apiVersion": "v1", "kind": "Service",
        "metadata": _meta("kubernetes", now, rng, "default",
                          labels={"component": "apiserver", "provider": "kubernetes"}),
        "spec": {"clusterIP": KUBERNETES_SERVICE_IP, "clusterIPs": [KUBERNETES_SERVICE_IP],
                 "internalTrafficPolicy": "Cluster", "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
                 "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": API_SERVER_PORT}],
                 "sessionAffinity": "None", "type": "ClusterIP"},
        "status": {"loadBalancer": {}},
    })
    objects.append({
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": _meta("kubernetes", now, rng, "default", labels={
            "kubernetes.io/service-name": "kubernetes",
            "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"}),
        "addressType": "IPv4",
        "endpoints": [{"addresses": [node_ip(0)], "conditions": {"ready": True}}],
        "ports": [{"name": "https", "port": API_SERVER_PORT, "protocol": "TCP"}],
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
    objects.extend(_Installer(now, rng, ca_pem).install(nodes))
    return objects


# =========================================================================== what kubeadm and kind install


class _Installer:
    """The add-ons' objects, prepared as the API server stores what a client creates (identity,
    generation, defaults, admission, initial status) and with the Services' addresses allocated."""

    def __init__(self, now: float, rng: random.Random, ca_pem: str) -> None:
        self.now = now
        self.rng = rng
        self.ca_pem = ca_pem
        self.cluster_ips = {KUBERNETES_SERVICE_IP, CLUSTER_DNS_IP}
        self.node_ports: set[int] = set()

    def install(self, nodes: list[dict]) -> list[dict]:
        control_plane = next(node for node in nodes if node["metadata"]["name"] == CONTROL_PLANE)
        found = list(self._static_pods(control_plane))
        found += self._kube_system()
        found += self._local_path_storage()
        found += self._ingress_nginx()
        found += self._metrics_server()   # last: the objects before it keep their uids and addresses
        return found

    # ------------------------------------------------------------------ preparation
    def _created(self, obj: dict) -> dict:
        from .pipeline import prepare_for_create  # pipeline imports this module for namespace_defaults

        if not SYSTEM_POD_PROBES:
            _drop_probes(obj)
        return prepare_for_create(obj, storage_type(obj["kind"]), now=self.now, rng=self.rng)

    def _namespace(self, name: str, labels: dict | None = None) -> list[dict]:
        return [namespace_object(name, self.now, self.rng, labels)] + \
            namespace_defaults(name, self.now, self.rng, self.ca_pem)

    def _cluster_ip(self) -> str:
        network = ipaddress.ip_network(SERVICE_SUBNET)
        while True:   # the allocator's random pick from the range (its first 16 addresses are for static IPs)
            candidate = str(network.network_address + self.rng.randrange(16, network.num_addresses - 1))
            if candidate not in self.cluster_ips:
                self.cluster_ips.add(candidate)
                return candidate

    def _node_port(self) -> int:
        while True:
            port = self.rng.randrange(30000, 32768)
            if port not in self.node_ports:
                self.node_ports.add(port)
                return port

    def _service(self, obj: dict) -> dict:
        svc = self._created(obj)
        spec = svc["spec"]
        ip = self._cluster_ip()
        spec["clusterIP"], spec["clusterIPs"] = ip, [ip]
        if spec.get("type") in ("NodePort", "LoadBalancer"):
            for port in spec.get("ports") or ():
                port["nodePort"] = self._node_port()
        return svc

    # ------------------------------------------------------------------ the static pods
    def _static_pods(self, node: dict) -> Iterable[dict]:
        """kubeadm's manifests in /etc/kubernetes/manifests, as their mirror pods."""
        address = node_ip(0)
        for component, container, volumes, kubeadm_annotations in _control_plane_manifests(address):
            yield self._mirror_pod(node, component, container, volumes, kubeadm_annotations)

    def _mirror_pod(self, node: dict, component: str, container: dict, volumes: list[dict],
                    annotations: dict) -> dict:
        node_name = node["metadata"]["name"]
        manifest = {"containers": [container], "hostNetwork": True, "priority": 2000001000,
                    "priorityClassName": NODE_CRITICAL,
                    "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}}, "volumes": volumes}
        config_hash = hashlib.md5(json.dumps([component, manifest], sort_keys=True).encode(),
                                  usedforsecurity=False).hexdigest()
        seen = micro_timestamp(self.now - 30 + self.rng.random()).replace("Z", f"{self.rng.randrange(1000):03d}Z")
        spec = copy.deepcopy(manifest)
        spec.update({"nodeName": node_name, "tolerations": [{"effect": "NoExecute", "operator": "Exists"}]})
        return self._created({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {
                "name": f"{component}-{node_name}", "namespace": "kube-system",
                "labels": {"component": component, "tier": "control-plane"},
                "annotations": {**annotations, "kubernetes.io/config.hash": config_hash,
                                "kubernetes.io/config.mirror": config_hash, "kubernetes.io/config.seen": seen,
                                "kubernetes.io/config.source": "file"},
                "ownerReferences": [{"apiVersion": "v1", "controller": True, "kind": "Node", "name": node_name,
                                     "uid": node["metadata"]["uid"]}],
            },
            "spec": spec,
        })

    # ------------------------------------------------------------------ kube-system
    def _kube_system(self) -> list[dict]:
        ns = "kube-system"
        found = [self._created(obj) for obj in (
            _service_account("coredns", ns), _service_account("kube-proxy", ns), _service_account("kindnet", ns),
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "coredns", "namespace": ns},
             "data": {"Corefile": system_images.COREFILE}},
            {"apiVersion": "v1", "kind": "ConfigMap",
             "metadata": {"name": "kube-proxy", "namespace": ns, "labels": {"app": "kube-proxy"}},
             "data": {"config.conf": _KUBE_PROXY_CONFIG, "kubeconfig.conf": _KUBE_PROXY_KUBECONFIG}},
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kubeadm-config", "namespace": ns},
             "data": {"ClusterConfiguration": _CLUSTER_CONFIGURATION}},
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kubelet-config", "namespace": ns},
             "data": {"kubelet": _KUBELET_CONFIGURATION}},
            # What kube-apiserver publishes for aggregated servers and for its legacy token tracking.
            {"apiVersion": "v1", "kind": "ConfigMap",
             "metadata": {"name": "extension-apiserver-authentication", "namespace": ns},
             "data": {"client-ca-file": self.ca_pem, "requestheader-allowed-names": '["front-proxy-client"]',
                      "requestheader-client-ca-file": self.ca_pem,
                      "requestheader-extra-headers-prefix": '["X-Remote-Extra-"]',
                      "requestheader-group-headers": '["X-Remote-Group"]', "requestheader-uid-headers": "[]",
                      "requestheader-username-headers": '["X-Remote-User"]'}},
            {"apiVersion": "v1", "kind": "ConfigMap",
             "metadata": {"name": "kube-apiserver-legacy-service-account-token-tracking", "namespace": ns},
             "data": {"since": timestamp(self.now)[:10]}},
            # kubeadm's discovery document for `kubeadm join`, signed for its bootstrap token.
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cluster-info", "namespace": "kube-public"},
             "data": {"kubeconfig": _cluster_info(self.ca_pem),
                      f"jws-kubeconfig-{BOOTSTRAP_TOKEN_ID}": _jws(self.rng)}},
            _coredns_deployment(), _kube_proxy_daemonset(), _kindnet_daemonset(),
        )]
        for name in ("kube-controller-manager", "kube-scheduler"):   # their leader elections, each won at once
            found.append(self._created({
                "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": name, "namespace": ns},
                "spec": {"holderIdentity": f"{CONTROL_PLANE}_{_uid(self.rng)}", "leaseDurationSeconds": 15,
                         "acquireTime": micro_timestamp(self.now), "renewTime": micro_timestamp(self.now),
                         "leaseTransitions": 0},
            }))
        return found

    # ------------------------------------------------------------------ metrics-server
    def _metrics_server(self) -> list[dict]:
        ns, labels = "kube-system", {"k8s-app": "metrics-server"}
        found = [self._created(_service_account("metrics-server", ns, labels))]
        found.append(self._service({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "metrics-server", "namespace": ns, "labels": dict(labels)},
            "spec": {"ports": [{"appProtocol": "https", "name": "https", "port": 443, "protocol": "TCP",
                                "targetPort": "https"}],
                     "selector": dict(labels), "type": "ClusterIP"},
        }))
        found.append(self._created(_metrics_server_deployment(labels)))
        return found

    # ------------------------------------------------------------------ local-path-storage
    def _local_path_storage(self) -> list[dict]:
        ns = "local-path-storage"
        found = self._namespace(ns)
        found += [self._created(obj) for obj in (
            _service_account("local-path-provisioner-service-account", ns),
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "local-path-config", "namespace": ns},
             "data": _LOCAL_PATH_CONFIG},
            _local_path_deployment(),
        )]
        return found

    # ------------------------------------------------------------------ ingress-nginx
    def _ingress_nginx(self) -> list[dict]:
        ns = "ingress-nginx"
        found = self._namespace(ns, {"app.kubernetes.io/instance": "ingress-nginx",
                                     "app.kubernetes.io/name": "ingress-nginx"})
        controller = {**INGRESS_NGINX_LABELS, "app.kubernetes.io/component": "controller"}
        webhook = {**INGRESS_NGINX_LABELS, "app.kubernetes.io/component": "admission-webhook"}
        selector = {key: controller[key] for key in ("app.kubernetes.io/component", "app.kubernetes.io/instance",
                                                     "app.kubernetes.io/name")}
        found += [self._created(obj) for obj in (
            _service_account("ingress-nginx", ns, controller, automount=True),
            _service_account("ingress-nginx-admission", ns, webhook, automount=True),
            {"apiVersion": "v1", "kind": "ConfigMap",
             "metadata": {"name": "ingress-nginx-controller", "namespace": ns, "labels": controller}},
            # What the admission-create Job's kube-webhook-certgen writes: the webhook's CA, certificate and key.
            {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
             "metadata": {"name": "ingress-nginx-admission", "namespace": ns},
             "data": {"ca": _pem("CERTIFICATE", self.rng, 560), "cert": _pem("CERTIFICATE", self.rng, 620),
                      "key": _pem("EC PRIVATE KEY", self.rng, 121)}},
        )]
        found.append(self._service({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "ingress-nginx-controller", "namespace": ns, "labels": controller},
            "spec": {"ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
                     "ports": [{"appProtocol": "http", "name": "http", "port": 80, "protocol": "TCP",
                                "targetPort": "http"},
                               {"appProtocol": "https", "name": "https", "port": 443, "protocol": "TCP",
                                "targetPort": "https"}],
                     "selector": selector, "type": "LoadBalancer"},
        }))
        found.append(self._service({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "ingress-nginx-controller-admission", "namespace": ns, "labels": controller},
            "spec": {"ports": [{"appProtocol": "https", "name": "https-webhook", "port": 443, "targetPort": "webhook"}],
                     "selector": selector, "type": "ClusterIP"},
        }))
        found += [self._created(obj) for obj in (
            _ingress_nginx_deployment(controller, selector),
            _certgen_job("create", webhook, ["create",
                                             "--host=ingress-nginx-controller-admission,"
                                             "ingress-nginx-controller-admission.$(POD_NAMESPACE).svc",
                                             "--namespace=$(POD_NAMESPACE)", "--secret-name=ingress-nginx-admission"]),
            _certgen_job("patch", webhook, ["patch", "--webhook-name=ingress-nginx-admission",
                                            "--namespace=$(POD_NAMESPACE)", "--patch-mutating=false",
                                            "--secret-name=ingress-nginx-admission",
                                            "--patch-failure-policy=Fail"]),
            {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
             "metadata": {"name": "nginx", "labels": controller,
                          "annotations": {"ingressclass.kubernetes.io/is-default-class": "true"}},
             "spec": {"controller": "k8s.io/ingress-nginx"}},
        )]
        return found


def _drop_probes(obj: dict) -> None:
    """A pod's or a pod template's containers without their probes (see SYSTEM_POD_PROBES)."""
    spec = obj.get("spec") or {}
    pod_spec = spec if obj["kind"] == "Pod" else (spec.get("template") or {}).get("spec") or {}
    for container in pod_spec.get("containers") or ():
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            container.pop(probe, None)


def _cluster_info(ca_pem: str) -> str:
    ca = base64.b64encode(ca_pem.encode()).decode()
    return (f"apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: {ca}\n"
            f"    server: https://{CONTROL_PLANE}:{API_SERVER_PORT}\n  name: \"\"\ncontexts: null\n"
            "current-context: \"\"\nkind: Config\npreferences: {}\nusers: null\n")


def _jws(rng: random.Random) -> str:
    """A detached JWS (header..signature), as the bootstrap signer writes it: HS256 with the token's key id."""
    header = base64.urlsafe_b64encode(json.dumps({"alg": "HS256", "kid": BOOTSTRAP_TOKEN_ID},
                                                 separators=(",", ":")).encode()).decode().rstrip("=")
    signature = base64.urlsafe_b64encode(bytes(rng.getrandbits(8) for _ in range(32))).decode().rstrip("=")
    return f"{header}..{signature}"


def _pem(label: str, rng: random.Random, size: int) -> str:
    """A base64 Secret value holding one PEM block of `size` random bytes (deterministic per cluster)."""
    body = base64.b64encode(bytes(rng.getrandbits(8) for _ in range(size))).decode()
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    text = f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----\n"
    return base64.b64encode(text.encode()).decode()


def _service_account(name: str, namespace: str, labels: dict | None = None, automount: bool | None = None) -> dict:
    sa: dict = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": namespace}}
    if labels:
        sa["metadata"]["labels"] = dict(labels)
    if automount is not None:
        sa["automountServiceAccountToken"] = automount
    return sa


def _env_field(name: str, path: str) -> dict:
    return {"name": name, "valueFrom": {"fieldRef": {"fieldPath": path}}}


def _host_path(name: str, path: str, kind: str | None = "DirectoryOrCreate") -> dict:
    source: dict = {"path": path}
    if kind:
        source["type"] = kind
    return {"name": name, "hostPath": source}


def _mount(name: str, path: str, read_only: bool | None = None) -> dict:
    mount: dict = {"mountPath": path, "name": name}
    if read_only is not None:
        mount["readOnly"] = read_only
    return mount


# ------------------------------------------------------------------ kubeadm's static pods

def _probe(host: str, path: str, port: int, scheme: str, *, kind: str) -> dict:
    """util/staticpod LivenessProbe / ReadinessProbe / StartupProbe."""
    handler = {"host": host, "path": path, "port": port, "scheme": scheme}
    if kind == "liveness":
        return {"failureThreshold": 8, "httpGet": handler, "initialDelaySeconds": 10, "periodSeconds": 10,
                "timeoutSeconds": 15}
    if kind == "readiness":
        return {"failureThreshold": 3, "httpGet": handler, "periodSeconds": 1, "timeoutSeconds": 15}
    return {"failureThreshold": 24, "httpGet": handler, "initialDelaySeconds": 10, "periodSeconds": 10,
            "timeoutSeconds": 15}


def _component(name: str, command: list[str], cpu: str, mounts: list[dict], probes: dict,
               memory: str | None = None) -> dict:
    requests = {"cpu": cpu}
    if memory:
        requests["memory"] = memory
    image = f"registry.k8s.io/etcd:{system_images.ETCD_TAG}" if name == "etcd" else \
        f"registry.k8s.io/{name}:{KUBERNETES_VERSION}"
    return {"name": name, "image": image, "imagePullPolicy": "IfNotPresent", "command": command,
            **probes, "resources": {"requests": requests}, "volumeMounts": mounts}


_CA_MOUNTS = (("ca-certs", "/etc/ssl/certs"), ("etc-ca-certificates", "/etc/ca-certificates"),
              ("usr-local-share-ca-certificates", "/usr/local/share/ca-certificates"),
              ("usr-share-ca-certificates", "/usr/share/ca-certificates"))


def _control_plane_manifests(address: str) -> list[tuple[str, dict, list[dict], dict]]:
    """(component, container, volumes, annotations) of etcd, kube-apiserver, kube-controller-manager and
    kube-scheduler as kubeadm writes them for a node advertising `address`."""
    pki = "/etc/kubernetes/pki"
    etcd_command = [
        "etcd", f"--advertise-client-urls=https://{address}:2379", f"--cert-file={pki}/etcd/server.crt",
        "--client-cert-auth=true", "--data-dir=/var/lib/etcd", "--feature-gates=InitialCorruptCheck=true",
        f"--initial-advertise-peer-urls=https://{address}:2380",
        f"--initial-cluster={CONTROL_PLANE}=https://{address}:2380", f"--key-file={pki}/etcd/server.key",
        f"--listen-client-urls=https://127.0.0.1:2379,https://{address}:2379",
        "--listen-metrics-urls=http://127.0.0.1:2381", f"--listen-peer-urls=https://{address}:2380",
        f"--name={CONTROL_PLANE}", f"--peer-cert-file={pki}/etcd/peer.crt", "--peer-client-cert-auth=true",
        f"--peer-key-file={pki}/etcd/peer.key", f"--peer-trusted-ca-file={pki}/etcd/ca.crt",
        "--snapshot-count=10000", f"--trusted-ca-file={pki}/etcd/ca.crt", "--watch-progress-notify-interval=5s",
    ]
    etcd = _component("etcd", etcd_command, "100m", [_mount("etcd-data", "/var/lib/etcd"),
                                                     _mount("etcd-certs", f"{pki}/etcd")], {
        "livenessProbe": _probe("127.0.0.1", "/livez", 2381, "HTTP", kind="liveness"),
        "readinessProbe": _probe("127.0.0.1", "/readyz", 2381, "HTTP", kind="readiness"),
        "startupProbe": _probe("127.0.0.1", "/readyz", 2381, "HTTP", kind="startup"),
    }, memory="100Mi")
    etcd_volumes = [_host_path("etcd-certs", f"{pki}/etcd"), _host_path("etcd-data", "/var/lib/etcd")]

    apiserver_command = [
        "kube-apiserver", f"--advertise-address={address}", "--allow-privileged=true",
        "--authorization-mode=Node,RBAC", f"--client-ca-file={pki}/ca.crt",
        "--enable-admission-plugins=NodeRestriction", "--enable-bootstrap-token-auth=true",
        f"--etcd-cafile={pki}/etcd/ca.crt", f"--etcd-certfile={pki}/apiserver-etcd-client.crt",
        f"--etcd-keyfile={pki}/apiserver-etcd-client.key", "--etcd-servers=https://127.0.0.1:2379",
        f"--kubelet-client-certificate={pki}/apiserver-kubelet-client.crt",
        f"--kubelet-client-key={pki}/apiserver-kubelet-client.key",
        "--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname",
        f"--proxy-client-cert-file={pki}/front-proxy-client.crt",
        f"--proxy-client-key-file={pki}/front-proxy-client.key",
        "--requestheader-allowed-names=front-proxy-client", f"--requestheader-client-ca-file={pki}/front-proxy-ca.crt",
        "--requestheader-extra-headers-prefix=X-Remote-Extra-", "--requestheader-group-headers=X-Remote-Group",
        "--requestheader-username-headers=X-Remote-User", "--runtime-config=", f"--secure-port={API_SERVER_PORT}",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        f"--service-account-key-file={pki}/sa.pub", f"--service-account-signing-key-file={pki}/sa.key",
        f"--service-cluster-ip-range={SERVICE_SUBNET}", f"--tls-cert-file={pki}/apiserver.crt",
        f"--tls-private-key-file={pki}/apiserver.key",
    ]
    ca_mounts = [_mount(name, path, True) for name, path in _CA_MOUNTS]
    apiserver = _component("kube-apiserver", apiserver_command, "250m",
                           ca_mounts[:2] + [_mount("k8s-certs", pki, True)] + ca_mounts[2:], {
        "livenessProbe": _probe(address, "/livez", API_SERVER_PORT, "HTTPS", kind="liveness"),
        "readinessProbe": _probe(address, "/readyz", API_SERVER_PORT, "HTTPS", kind="readiness"),
        "startupProbe": _probe(address, "/livez", API_SERVER_PORT, "HTTPS", kind="startup"),
    })
    ca_volumes = [_host_path(name, path) for name, path in _CA_MOUNTS]
    apiserver_volumes = ca_volumes[:2] + [_host_path("k8s-certs", pki)] + ca_volumes[2:]

    kubeconfig = "/etc/kubernetes/controller-manager.conf"
    manager_command = [
        "kube-controller-manager", "--allocate-node-cidrs=true", f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}", "--bind-address=127.0.0.1", f"--client-ca-file={pki}/ca.crt",
        f"--cluster-cidr={POD_SUBNET}", f"--cluster-name={CLUSTER_NAME}",
        f"--cluster-signing-cert-file={pki}/ca.crt", f"--cluster-signing-key-file={pki}/ca.key",
        "--controllers=*,bootstrapsigner,tokencleaner", "--enable-hostpath-provisioner=true",
        f"--kubeconfig={kubeconfig}", "--leader-elect=true", f"--requestheader-client-ca-file={pki}/front-proxy-ca.crt",
        f"--root-ca-file={pki}/ca.crt", f"--service-account-private-key-file={pki}/sa.key",
        f"--service-cluster-ip-range={SERVICE_SUBNET}", "--use-service-account-credentials=true",
    ]
    flexvolume = "/usr/libexec/kubernetes/kubelet-plugins/volume/exec"
    manager = _component("kube-controller-manager", manager_command, "200m",
                         ca_mounts[:2] + [_mount("flexvolume-dir", flexvolume), _mount("k8s-certs", pki, True),
                                          _mount("kubeconfig", kubeconfig, True)] + ca_mounts[2:], {
        "livenessProbe": _probe("127.0.0.1", "/healthz", 10257, "HTTPS", kind="liveness"),
        "startupProbe": _probe("127.0.0.1", "/healthz", 10257, "HTTPS", kind="startup"),
    })
    manager_volumes = ca_volumes[:2] + [_host_path("flexvolume-dir", flexvolume), _host_path("k8s-certs", pki),
                                        _host_path("kubeconfig", kubeconfig, "FileOrCreate")] + ca_volumes[2:]

    scheduler_conf = "/etc/kubernetes/scheduler.conf"
    scheduler = _component("kube-scheduler", [
        "kube-scheduler", f"--authentication-kubeconfig={scheduler_conf}",
        f"--authorization-kubeconfig={scheduler_conf}", "--bind-address=127.0.0.1",
        f"--kubeconfig={scheduler_conf}", "--leader-elect=true",
    ], "100m", [_mount("kubeconfig", scheduler_conf, True)], {
        "livenessProbe": _probe("127.0.0.1", "/healthz", 10259, "HTTPS", kind="liveness"),
        "startupProbe": _probe("127.0.0.1", "/healthz", 10259, "HTTPS", kind="startup"),
    })
    scheduler_volumes = [_host_path("kubeconfig", scheduler_conf, "FileOrCreate")]

    return [
        ("etcd", etcd, etcd_volumes, {"kubeadm.kubernetes.io/etcd.advertise-client-urls": f"https://{address}:2379"}),
        ("kube-apiserver", apiserver, apiserver_volumes,
         {"kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint": f"{address}:{API_SERVER_PORT}"}),
        ("kube-controller-manager", manager, manager_volumes, {}),
        ("kube-scheduler", scheduler, scheduler_volumes, {}),
    ]


# ------------------------------------------------------------------ kubeadm's add-ons and kind's CNI

def _coredns_deployment() -> dict:
    labels = {"k8s-app": "kube-dns"}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "coredns", "namespace": "kube-system", "labels": dict(labels)},
        "spec": {
            "replicas": 2,
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
            "selector": {"matchLabels": dict(labels)},
            "template": {"metadata": {"labels": dict(labels)}, "spec": {
                "priorityClassName": CLUSTER_CRITICAL, "serviceAccountName": "coredns",
                "affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{
                    "weight": 100, "podAffinityTerm": {
                        "labelSelector": {"matchExpressions": [{"key": "k8s-app", "operator": "In",
                                                                "values": ["kube-dns"]}]},
                        "topologyKey": "kubernetes.io/hostname"}}]}},
                "tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists"},
                                {"key": CONTROL_PLANE_TAINT["key"], "effect": "NoSchedule"}],
                "nodeSelector": {"kubernetes.io/os": "linux"},
                "containers": [{
                    "name": "coredns", "image": f"registry.k8s.io/coredns/coredns:{system_images.COREDNS_TAG}",
                    "imagePullPolicy": "IfNotPresent",
                    "resources": {"limits": {"memory": "170Mi"}, "requests": {"cpu": "100m", "memory": "70Mi"}},
                    "args": ["-conf", "/etc/coredns/Corefile"],
                    "volumeMounts": [_mount("config-volume", "/etc/coredns", True)],
                    "ports": [{"containerPort": 53, "name": "dns", "protocol": "UDP"},
                              {"containerPort": 53, "name": "dns-tcp", "protocol": "TCP"},
                              {"containerPort": 9153, "name": "metrics", "protocol": "TCP"},
                              {"containerPort": 8080, "name": "liveness-probe", "protocol": "TCP"},
                              {"containerPort": 8181, "name": "readiness-probe", "protocol": "TCP"}],
                    "livenessProbe": {"httpGet": {"path": "/health", "port": "liveness-probe", "scheme": "HTTP"},
                                      "initialDelaySeconds": 60, "timeoutSeconds": 5, "successThreshold": 1,
                                      "failureThreshold": 5},
                    "readinessProbe": {"httpGet": {"path": "/ready", "port": "readiness-probe", "scheme": "HTTP"}},
                    "securityContext": {"allowPrivilegeEscalation": False,
                                        "capabilities": {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]},
                                        "readOnlyRootFilesystem": True},
                }],
                "dnsPolicy": "Default",
                "volumes": [{"name": "config-volume", "configMap": {
                    "name": "coredns", "items": [{"key": "Corefile", "path": "Corefile"}]}}],
            }},
        },
    }


def _kube_proxy_daemonset() -> dict:
    labels = {"k8s-app": "kube-proxy"}
    return {
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": "kube-proxy", "namespace": "kube-system", "labels": dict(labels)},
        "spec": {
            "selector": {"matchLabels": dict(labels)},
            "updateStrategy": {"type": "RollingUpdate"},
            "template": {"metadata": {"labels": dict(labels)}, "spec": {
                "priorityClassName": NODE_CRITICAL,
                "containers": [{
                    "name": "kube-proxy", "image": f"registry.k8s.io/kube-proxy:{KUBERNETES_VERSION}",
                    "imagePullPolicy": "IfNotPresent",
                    "command": ["/usr/local/bin/kube-proxy", "--config=/var/lib/kube-proxy/config.conf",
                                "--hostname-override=$(NODE_NAME)"],
                    "securityContext": {"privileged": True},
                    "volumeMounts": [_mount("kube-proxy", "/var/lib/kube-proxy"),
                                     _mount("xtables-lock", "/run/xtables.lock", False),
                                     _mount("lib-modules", "/lib/modules", True)],
                    "env": [_env_field("NODE_NAME", "spec.nodeName")],
                }],
                "hostNetwork": True, "serviceAccountName": "kube-proxy",
                "volumes": [{"name": "kube-proxy", "configMap": {"name": "kube-proxy"}},
                            _host_path("xtables-lock", "/run/xtables.lock", "FileOrCreate"),
                            _host_path("lib-modules", "/lib/modules", None)],
                "tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists"}, {"operator": "Exists"}],
                "nodeSelector": {"kubernetes.io/os": "linux"},
            }},
        },
    }


def _kindnet_daemonset() -> dict:
    labels = {"tier": "node", "app": "kindnet", "k8s-app": "kindnet"}
    return {
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": "kindnet", "namespace": "kube-system", "labels": dict(labels)},
        "spec": {
            "selector": {"matchLabels": {"app": "kindnet"}},
            "template": {"metadata": {"labels": dict(labels)}, "spec": {
                "hostNetwork": True, "nodeSelector": {"kubernetes.io/os": "linux"},
                "tolerations": [{"operator": "Exists"}], "priorityClassName": NODE_CRITICAL,
                "serviceAccountName": "kindnet",
                "containers": [{
                    "name": "kindnet-cni", "image": system_images.KINDNETD_IMAGE,
                    "env": [_env_field("HOST_IP", "status.hostIP"), _env_field("POD_IP", "status.podIP"),
                            {"name": "POD_SUBNET", "value": POD_SUBNET}],
                    "volumeMounts": [_mount("cni-cfg", "/etc/cni/net.d"),
                                     _mount("xtables-lock", "/run/xtables.lock", False),
                                     _mount("lib-modules", "/lib/modules", True),
                                     _mount("nri-plugin", "/var/run/nri")],
                    "resources": {"requests": {"cpu": "100m", "memory": "50Mi"}},
                    "securityContext": {"privileged": False, "capabilities": {"add": ["NET_RAW", "NET_ADMIN"]}},
                }],
                "volumes": [_host_path("cni-cfg", "/etc/cni/net.d", None),
                            _host_path("xtables-lock", "/run/xtables.lock", "FileOrCreate"),
                            _host_path("lib-modules", "/lib/modules", None),
                            _host_path("nri-plugin", "/var/run/nri", None)],
            }},
        },
    }


def _local_path_deployment() -> dict:
    labels = {"app": "local-path-provisioner"}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "local-path-provisioner", "namespace": "local-path-storage"},
        "spec": {
            "replicas": 1, "selector": {"matchLabels": dict(labels)},
            "template": {"metadata": {"labels": dict(labels)}, "spec": {
                "nodeSelector": {"kubernetes.io/os": "linux"},
                "tolerations": [{"key": "node-role.kubernetes.io/control-plane", "operator": "Equal",
                                 "effect": "NoSchedule"},
                                {"key": "node-role.kubernetes.io/master", "operator": "Equal",
                                 "effect": "NoSchedule"}],
                "serviceAccountName": "local-path-provisioner-service-account",
                "containers": [{
                    "name": "local-path-provisioner", "image": system_images.LOCAL_PATH_PROVISIONER_IMAGE,
                    "imagePullPolicy": "IfNotPresent",
                    "command": ["local-path-provisioner", "--debug", "start", "--helper-image",
                                system_images.LOCAL_PATH_HELPER_IMAGE, "--config", "/etc/config/config.json"],
                    "volumeMounts": [_mount("config-volume", "/etc/config/")],
                    "env": [_env_field("POD_NAMESPACE", "metadata.namespace"),
                            {"name": "CONFIG_MOUNT_PATH", "value": "/etc/config/"}],
                }],
                "volumes": [{"name": "config-volume", "configMap": {"name": "local-path-config"}}],
            }},
        },
    }


def _metrics_server_deployment(labels: dict) -> dict:
    """metrics-server's components.yaml Deployment (v0.8), with the --kubelet-insecure-tls kind clusters need."""
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "metrics-server", "namespace": "kube-system", "labels": dict(labels)},
        "spec": {
            "selector": {"matchLabels": dict(labels)},
            "strategy": {"rollingUpdate": {"maxUnavailable": 0}},
            "template": {"metadata": {"labels": dict(labels)}, "spec": {
                "containers": [{
                    "name": "metrics-server", "image": system_images.METRICS_SERVER_IMAGE,
                    "imagePullPolicy": "IfNotPresent",
                    "args": ["--cert-dir=/tmp", "--secure-port=10250",
                             "--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname",
                             "--kubelet-use-node-status-port", "--metric-resolution=15s",
                             "--kubelet-insecure-tls"],
                    "ports": [{"containerPort": 10250, "name": "https", "protocol": "TCP"}],
                    "livenessProbe": {"httpGet": {"path": "/livez", "port": "https", "scheme": "HTTPS"},
                                      "periodSeconds": 10, "failureThreshold": 3},
                    "readinessProbe": {"httpGet": {"path": "/readyz", "port": "https", "scheme": "HTTPS"},
                                       "initialDelaySeconds": 20, "periodSeconds": 10, "failureThreshold": 3},
                    "resources": {"requests": {"cpu": "100m", "memory": "200Mi"}},
                    "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                                        "readOnlyRootFilesystem": True, "runAsNonRoot": True, "runAsUser": 1000,
                                        "seccompProfile": {"type": "RuntimeDefault"}},
                    "volumeMounts": [_mount("tmp-dir", "/tmp")],
                }],
                "nodeSelector": {"kubernetes.io/os": "linux"},
                "priorityClassName": CLUSTER_CRITICAL,
                "serviceAccountName": "metrics-server",
                "volumes": [{"name": "tmp-dir", "emptyDir": {}}],
            }},
        },
    }


def _ingress_nginx_deployment(labels: dict, selector: dict) -> dict:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "ingress-nginx-controller", "namespace": "ingress-nginx", "labels": dict(labels)},
        "spec": {
            "minReadySeconds": 0, "revisionHistoryLimit": 10, "selector": {"matchLabels": dict(selector)},
            "strategy": {"rollingUpdate": {"maxUnavailable": 1}, "type": "RollingUpdate"},
            "template": {"metadata": {"labels": dict(labels)}, "spec": {
                "containers": [{
                    "args": ["/nginx-ingress-controller", "--election-id=ingress-nginx-leader",
                             "--controller-class=k8s.io/ingress-nginx", "--ingress-class=nginx",
                             "--configmap=$(POD_NAMESPACE)/ingress-nginx-controller",
                             "--validating-webhook=:8443",
                             "--validating-webhook-certificate=/usr/local/certificates/cert",
                             "--validating-webhook-key=/usr/local/certificates/key",
                             "--watch-ingress-without-class=true",
                             "--publish-service=$(POD_NAMESPACE)/ingress-nginx-controller"],
                    "env": [_env_field("POD_NAME", "metadata.name"), _env_field("POD_NAMESPACE", "metadata.namespace"),
                            {"name": "LD_PRELOAD", "value": "/usr/local/lib/libmimalloc.so"}],
                    "image": system_images.INGRESS_NGINX_CONTROLLER_IMAGE, "imagePullPolicy": "IfNotPresent",
                    "lifecycle": {"preStop": {"exec": {"command": ["/wait-shutdown"]}}},
                    "livenessProbe": {"failureThreshold": 5, "httpGet": {"path": "/healthz", "port": 10254,
                                                                         "scheme": "HTTP"},
                                      "initialDelaySeconds": 10, "periodSeconds": 10, "successThreshold": 1,
                                      "timeoutSeconds": 1},
                    "name": "controller",
                    "ports": [{"containerPort": 80, "hostPort": 80, "name": "http", "protocol": "TCP"},
                              {"containerPort": 443, "hostPort": 443, "name": "https", "protocol": "TCP"},
                              {"containerPort": 8443, "name": "webhook", "protocol": "TCP"}],
                    "readinessProbe": {"failureThreshold": 3, "httpGet": {"path": "/healthz", "port": 10254,
                                                                          "scheme": "HTTP"},
                                       "initialDelaySeconds": 10, "periodSeconds": 10, "successThreshold": 1,
                                       "timeoutSeconds": 1},
                    "resources": {"requests": {"cpu": "100m", "memory": "90Mi"}},
                    "securityContext": {"allowPrivilegeEscalation": False,
                                        "capabilities": {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]},
                                        "readOnlyRootFilesystem": False, "runAsGroup": 82, "runAsNonRoot": True,
                                        "runAsUser": 101, "seccompProfile": {"type": "RuntimeDefault"}},
                    "volumeMounts": [_mount("webhook-cert", "/usr/local/certificates/", True)],
                }],
                "dnsPolicy": "ClusterFirst", "nodeSelector": {"kubernetes.io/os": "linux"},
                "serviceAccountName": "ingress-nginx", "terminationGracePeriodSeconds": 0,
                "tolerations": [{"effect": "NoSchedule", "key": "node-role.kubernetes.io/master", "operator": "Equal"},
                                {"effect": "NoSchedule", "key": "node-role.kubernetes.io/control-plane",
                                 "operator": "Equal"}],
                "volumes": [{"name": "webhook-cert", "secret": {"secretName": "ingress-nginx-admission"}}],
            }},
        },
    }


def _certgen_job(action: str, labels: dict, args: list[str]) -> dict:
    name = f"ingress-nginx-admission-{action}"
    return {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": name, "namespace": "ingress-nginx", "labels": dict(labels)},
        "spec": {"template": {"metadata": {"labels": dict(labels), "name": name}, "spec": {
            "containers": [{
                "args": args, "env": [_env_field("POD_NAMESPACE", "metadata.namespace")],
                "image": system_images.INGRESS_NGINX_CERTGEN_IMAGE, "imagePullPolicy": "IfNotPresent",
                "name": action,
                "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                                    "readOnlyRootFilesystem": True, "runAsGroup": 65532, "runAsNonRoot": True,
                                    "runAsUser": 65532, "seccompProfile": {"type": "RuntimeDefault"}},
            }],
            "nodeSelector": {"kubernetes.io/os": "linux"}, "restartPolicy": "OnFailure",
            "serviceAccountName": "ingress-nginx-admission",
        }}},
    }


# ------------------------------------------------------------------ configuration files

_LOCAL_PATH_CONFIG = {
    "config.json": '{\n        "nodePathMap":[\n        {\n'
                   '                "node":"DEFAULT_PATH_FOR_NON_LISTED_NODES",\n'
                   '                "paths":["/var/local-path-provisioner"]\n        }\n        ]\n}',
    "setup": '#!/bin/sh\nset -eu\nmkdir -m 0777 -p "$VOL_DIR"',
    "teardown": '#!/bin/sh\nset -eu\nrm -rf "$VOL_DIR"',
    "helperPod.yaml": "apiVersion: v1\nkind: Pod\nmetadata:\n  name: helper-pod\nspec:\n"
                      "  priorityClassName: system-node-critical\n  tolerations:\n    - operator: Exists\n"
                      "      effect: NoSchedule\n    - operator: Exists\n      effect: NoExecute\n  containers:\n"
                      f"  - name: helper-pod\n    image: {system_images.LOCAL_PATH_HELPER_IMAGE}\n"
                      "    imagePullPolicy: IfNotPresent",
}

_KUBE_PROXY_KUBECONFIG = f"""apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority: /var/run/secrets/kubernetes.io/serviceaccount/ca.crt
    server: https://{CONTROL_PLANE}:{API_SERVER_PORT}
  name: default
contexts:
- context:
    cluster: default
    namespace: default
    user: default
  name: default
current-context: default
users:
- name: default
  user:
    tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token"""

_KUBE_PROXY_CONFIG = f"""apiVersion: kubeproxy.config.k8s.io/v1alpha1
bindAddress: 0.0.0.0
bindAddressHardFail: false
clientConnection:
  acceptContentTypes: ""
  burst: 0
  contentType: ""
  kubeconfig: /var/lib/kube-proxy/kubeconfig.conf
  qps: 0
clusterCIDR: {POD_SUBNET}
configSyncPeriod: 0s
conntrack:
  maxPerCore: 0
  min: null
  tcpBeLiberal: false
  tcpCloseWaitTimeout: null
  tcpEstablishedTimeout: null
  udpStreamTimeout: 0s
  udpTimeout: 0s
detectLocal:
  bridgeInterface: ""
  interfaceNamePrefix: ""
detectLocalMode: ""
enableProfiling: false
healthzBindAddress: ""
hostnameOverride: ""
iptables:
  localhostNodePorts: null
  masqueradeAll: false
  masqueradeBit: null
  minSyncPeriod: 1s
  syncPeriod: 0s
ipvs:
  excludeCIDRs: null
  minSyncPeriod: 0s
  scheduler: ""
  strictARP: false
  syncPeriod: 0s
  tcpFinTimeout: 0s
  tcpTimeout: 0s
  udpTimeout: 0s
kind: KubeProxyConfiguration
logging:
  flushFrequency: 0
  options:
    json:
      infoBufferSize: "0"
    text:
      infoBufferSize: "0"
  verbosity: 0
metricsBindAddress: ""
mode: iptables
nftables:
  masqueradeAll: false
  masqueradeBit: null
  minSyncPeriod: 0s
  syncPeriod: 0s
nodePortAddresses: null
oomScoreAdj: null
portRange: ""
showHiddenMetricsForVersion: ""
winkernel:
  enableDSR: false
  forwardHealthCheckVip: false
  networkName: ""
  rootHnsEndpointName: ""
  sourceVip: \"\""""

_CLUSTER_CONFIGURATION = f"""apiServer:
  certSANs:
  - localhost
  - 127.0.0.1
  extraArgs:
  - name: runtime-config
    value: ""
apiVersion: kubeadm.k8s.io/v1beta4
caCertificateValidityPeriod: 87600h0m0s
certificateValidityPeriod: 8760h0m0s
certificatesDir: /etc/kubernetes/pki
clusterName: {CLUSTER_NAME}
controlPlaneEndpoint: {CONTROL_PLANE}:{API_SERVER_PORT}
controllerManager:
  extraArgs:
  - name: enable-hostpath-provisioner
    value: "true"
dns: {{}}
encryptionAlgorithm: RSA-2048
etcd:
  local:
    dataDir: /var/lib/etcd
imageRepository: registry.k8s.io
kind: ClusterConfiguration
kubernetesVersion: {KUBERNETES_VERSION}
networking:
  dnsDomain: cluster.local
  podSubnet: {POD_SUBNET}
  serviceSubnet: {SERVICE_SUBNET}
proxy: {{}}
scheduler: {{}}
"""

_KUBELET_CONFIGURATION = f"""apiVersion: kubelet.config.k8s.io/v1beta1
authentication:
  anonymous:
    enabled: false
  webhook:
    cacheTTL: 0s
    enabled: true
  x509:
    clientCAFile: /etc/kubernetes/pki/ca.crt
authorization:
  mode: Webhook
  webhook:
    cacheAuthorizedTTL: 0s
    cacheUnauthorizedTTL: 0s
cgroupDriver: systemd
cgroupRoot: /kubelet
clusterDNS:
- {CLUSTER_DNS_IP}
clusterDomain: cluster.local
containerRuntimeEndpoint: ""
cpuManagerReconcilePeriod: 0s
crashLoopBackOff: {{}}
evictionHard:
  imagefs.available: 0%
  nodefs.available: 0%
  nodefs.inodesFree: 0%
evictionPressureTransitionPeriod: 0s
failSwapOn: false
fileCheckFrequency: 0s
healthzBindAddress: 127.0.0.1
healthzPort: 10248
httpCheckFrequency: 0s
imageGCHighThresholdPercent: 100
imageMaximumGCAge: 0s
imageMinimumGCAge: 0s
kind: KubeletConfiguration
logging:
  flushFrequency: 0
  options:
    json:
      infoBufferSize: "0"
    text:
      infoBufferSize: "0"
  verbosity: 0
memorySwap: {{}}
nodeStatusReportFrequency: 0s
nodeStatusUpdateFrequency: 0s
rotateCertificates: true
runtimeRequestTimeout: 0s
shutdownGracePeriod: 0s
shutdownGracePeriodCriticalPods: 0s
staticPodPath: /etc/kubernetes/manifests
streamingConnectionIdleTimeout: 0s
syncFrequency: 0s
volumeStatsAggPeriod: 0s
"""
