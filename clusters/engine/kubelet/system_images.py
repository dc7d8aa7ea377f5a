"""The cluster's own images: what kube-system, local-path-storage and ingress-nginx run.

A fresh playground cluster holds what a fresh kind cluster holds (clusters/apiserver/bootstrap.py):
kubeadm's static control-plane pods (etcd, kube-apiserver, kube-controller-manager, kube-scheduler),
the CoreDNS Deployment, the kube-proxy and kindnet DaemonSets, kind's local-path-provisioner, and the
ingress-nginx add-on with its admission-webhook Jobs. This module models their images like images.py
models the tutorials' ones: size, the program and its flags, the ports it listens on, what it answers
on its health endpoints (the probes of the real manifests hit them) and its first log lines, as
`kubectl logs -n kube-system …` prints them on a kind cluster.

images.py imports this module at its end; this module then adds its repositories to images.CATALOG
and its programs to images._OWN_PROGRAMS, and answers first, for its own kinds, in images'
`http_response`, `program_logs` and `serving_ports` (etcd's listeners follow its --listen-* flags).

Sources:
* image names and tags: kubeadm's constants (cmd/kubeadm/app/constants: DefaultEtcdVersion 3.6.9-0,
  CoreDNS v1.13.1, pause 3.10.1), kind's node image (pkg/build/nodeimage/const_cni.go kindnetd,
  const_storage.go local-path-provisioner and helper), ingress-nginx's kind manifest
  (kind's examples/ingress/deploy-ingress-nginx.yaml: controller v1.12.1, kube-webhook-certgen v1.4.4).
* CoreDNS's banner: coremain/run.go showVersion (`CoreDNS-1.13.1`, `linux/amd64, go1.25.2, 1db4568`),
  core/dnsserver (`.:53`), plugin/reload (`Running configuration SHA512 = …` of the Corefile).
* klog's header (`I0115 08:00:00.000000       1 file.go:123] msg`) and the components' first lines as a
  kind cluster prints them; etcd's JSON lines (etcdmain/etcd.go `Running: `, embed/etcd.go).
* health endpoints: CoreDNS health (:8080/health "OK") and ready (:8181/ready "OK"), kube-proxy's
  healthz server (:10256, JSON), the control plane's /livez /readyz /healthz ("ok") and the
  apiserver's 403 for anonymous requests elsewhere, ingress-nginx's :10254/healthz and its default
  backend's 404 page.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from urllib.parse import urlsplit

from . import images
from .images import _BUSYBOX, _MIB, Image, ImageRef, _image, _repo

# ---------------------------------------------------------------------- versions

# What a kubeadm v1.37 control plane runs next to the kubelet of the same version (the tag of the
# control-plane images and kube-proxy is the cluster's version, chosen by the caller).
ETCD_TAG = "3.6.9-0"
COREDNS_TAG = "v1.13.1"
PAUSE_TAG = "3.10.1"
KUBE_TAGS = frozenset(f"v1.{minor}.{patch}" for minor in range(20, 38) for patch in range(0, 25))
# kind's node image (v0.31, kindest/node:v1.37): its CNI and its storage provisioner.
KINDNETD_IMAGE = "docker.io/kindest/kindnetd:v20260820-69b56db7"
LOCAL_PATH_PROVISIONER_IMAGE = "docker.io/kindest/local-path-provisioner:v20260820-69b56db7"
LOCAL_PATH_HELPER_IMAGE = "docker.io/kindest/local-path-helper:v20260131-7181c60a"
# ingress-nginx as kind's ingress guide installs it (kind.sigs.k8s.io/examples/ingress/deploy-ingress-nginx.yaml),
# its images pinned by digest.
# metrics-server as its release's components.yaml installs it (with --kubelet-insecure-tls, as kind needs).
METRICS_SERVER_IMAGE = "registry.k8s.io/metrics-server/metrics-server:v0.8.0"
INGRESS_NGINX_VERSION = "1.12.1"
INGRESS_NGINX_CONTROLLER_IMAGE = ("registry.k8s.io/ingress-nginx/controller:v1.12.1@sha256:"
                                  "9724476b928967173d501040631b23ba07f47073999e80e34b120e8db5f234d5")
INGRESS_NGINX_CERTGEN_IMAGE = ("registry.k8s.io/ingress-nginx/kube-webhook-certgen:v1.4.4@sha256:"
                               "a9f03b34a3cbfbb26d103a14046ab2c5130a80c3d69d526ff8063d2b37b9fd3f")

# kubeadm's Corefile for cluster.local (cmd/kubeadm/app/phases/addons/dns/manifests.go CoreDNSConfigMap).
COREFILE = """.:53 {
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    forward . /etc/resolv.conf {
       max_concurrent 1000
    }
    cache 30 {
       disable success cluster.local
       disable denial cluster.local
    }
    loop
    reload
    loadbalance
}
"""

_COREDNS_BUILD = {"v1.13.1": ("go1.25.2", "1db4568"), "v1.12.1": ("go1.24.1", "707c7c1"),
                  "v1.11.3": ("go1.21.11", "a6338e9"), "v1.11.1": ("go1.20.7", "ae2bbc2")}
_ETCD_BUILD = ("go1.24.13", "linux", "amd64")

# ---------------------------------------------------------------------- log lines

# klog's header: Lmmdd hh:mm:ss.uuuuuu threadid file:line]. render_logs fills `{iso}` with the
# container's start as 2027-01-15T08:00:00.000000Z; the month, day and time are taken from it by index.
_KLOG_TIME = "".join(f"{{iso[{i}]}}" for i in (5, 6, 8, 9)) + " " + "".join(f"{{iso[{i}]}}" for i in range(11, 26))
_SECONDS_TIME = "{iso:.19}Z"   # RFC 3339 in whole seconds (logrus' and kube-webhook-certgen's "time")


def _literal(text: str) -> str:
    """Text that goes through render_logs' str.format unchanged."""
    return text.replace("{", "{{").replace("}", "}}")


def _klog(source: str, message: str, level: str = "I") -> str:
    return f"{level}{_KLOG_TIME}       1 {source}] {_literal(message)}"


def _etcd_line(caller: str, msg: str, level: str = "info", **fields: object) -> str:
    """One line of etcd's zap JSON logger: level, ts, caller, msg, then the fields in order."""
    body = json.dumps({"msg": msg, **fields}, separators=(",", ":"))[1:]
    return f'{{{{"level":"{level}","ts":"{{iso}}","caller":"{caller}",' + _literal(body)


def _flags(args: Iterable[str] | None) -> dict[str, str]:
    """The --name=value and --name value flags of a command line, the last one winning as in pflag (a
    bare --name followed by another flag is a boolean: "")."""
    found: dict[str, str] = {}
    words = list(args or ())
    for index, arg in enumerate(words):
        if not arg.startswith("--") or arg == "--":
            continue
        name, equals, value = arg[2:].partition("=")
        if not equals and index + 1 < len(words) and not words[index + 1].startswith("-"):
            value = words[index + 1]
        found[name] = value
    return found


def _version(image: Image) -> str:
    return image.ref.tag or image.version


# ---------------------------------------------------------------------- kube-system


def _coredns_logs(image: Image, args: list[str] | None) -> list[str]:
    go, commit = _COREDNS_BUILD.get(image.ref.tag or "", ("go1.25.2", "1db4568"))
    sha = hashlib.sha512(COREFILE.encode()).hexdigest()
    return [".:53", f"[INFO] plugin/reload: Running configuration SHA512 = {sha}",
            f"CoreDNS-{(image.ref.tag or COREDNS_TAG).lstrip('v')}", f"linux/amd64, {go}, {commit}"]


def _coredns(ref: ImageRef, tag: str) -> Image:
    # FROM distroless static; ENTRYPOINT ["/coredns"]; kubeadm runs it with -conf /etc/coredns/Corefile.
    return _image(ref, size=22_384_805, start=0.2, shell=None, binaries={"coredns"}, argv=["/coredns"],
                  entrypoint=("/coredns",), behaviour="server",
                  ports=[(53, "UDP"), (53, "TCP"), (9153, "TCP"), (8080, "TCP"), (8181, "TCP")],
                  memory=14 * _MIB, cpu_idle=2, cpu_request=0.05, kind="coredns", version=tag.lstrip("v"))


def _kube_proxy_logs(image: Image, args: list[str] | None) -> list[str]:
    version = _version(image)
    mode = "iptables"
    return [
        _klog("server_linux.go:53", f'"Using {mode} proxy"'),
        _klog("conntrack.go:121", '"Set sysctl" entry="net/netfilter/nf_conntrack_tcp_timeout_established" '
                                  'value=86400'),
        _klog("conntrack.go:121", '"Set sysctl" entry="net/netfilter/nf_conntrack_tcp_timeout_close_wait" value=3600'),
        _klog("server.go:244", '"Kube-proxy configuration may be incomplete or incorrect" err="nodePortAddresses is '
                               'unset; NodePort connections will be accepted on all local IPs. Consider using '
                               '`--nodeport-addresses primary`"', "E"),
        _klog("server.go:253", '"kube-proxy running in dual-stack mode" primary ipFamily="IPv4"'),
        _klog("server_linux.go:147", '"No iptables support for family" ipFamily="IPv6"'),
        _klog("server.go:483", f'"Version info" version="{version}"'),
        _klog("server.go:485", '"Golang settings" GOGC="" GOMAXPROCS="" GOTRACEBACK=""'),
        _klog("config.go:199", '"Starting service config controller"'),
        _klog("shared_informer.go:349", '"Waiting for caches to sync" controller="service config"'),
        _klog("config.go:105", '"Starting endpoint slice config controller"'),
        _klog("shared_informer.go:349", '"Waiting for caches to sync" controller="endpoint slice config"'),
        _klog("config.go:329", '"Starting node config controller"'),
        _klog("shared_informer.go:349", '"Waiting for caches to sync" controller="node config"'),
        _klog("shared_informer.go:356", '"Caches are synced" controller="node config"'),
        _klog("shared_informer.go:356", '"Caches are synced" controller="service config"'),
        _klog("shared_informer.go:356", '"Caches are synced" controller="endpoint slice config"'),
    ]


def _kube_proxy(ref: ImageRef, tag: str) -> Image:
    # distroless-iptables with the kube-proxy binary; kubeadm's DaemonSet runs /usr/local/bin/kube-proxy.
    return _image(ref, size=31_026_417, start=0.3, shell=None,
                  binaries={"kube-proxy", "iptables", "ip6tables", "iptables-save", "iptables-restore", "ipset",
                            "conntrack", "nft"},
                  argv=["/usr/local/bin/kube-proxy"], entrypoint=("/usr/local/bin/kube-proxy",),
                  behaviour="server", ports=[(10256, "TCP"), (10249, "TCP")], memory=18 * _MIB, cpu_idle=1,
                  kind="kube-proxy", version=tag)


def _kindnetd_logs(image: Image, args: list[str] | None) -> list[str]:
    return [
        _klog("main.go:109", "connected to apiserver: https://10.96.0.1:443"),
        _klog("main.go:148", "setting mtu 1500 for CNI "),
        _klog("main.go:178", 'kindnetd IP family: "ipv4"'),
        _klog("main.go:182", "noMask IPv4 subnets: [10.244.0.0/16]"),
    ]


def _kindnetd(ref: ImageRef, tag: str) -> Image:
    return _image(ref, size=38_634_206, start=0.2, shell=None, binaries={"kindnetd", "iptables", "ip"},
                  argv=["/bin/kindnetd"], entrypoint=("/bin/kindnetd",), behaviour="server", memory=9 * _MIB,
                  cpu_idle=1, kind="kindnetd", version=tag)


_CONTROL_PLANE_BINARIES = {"kube-apiserver", "kube-controller-manager", "kube-scheduler"}


def _control_plane(binary: str, size: int, port: int, memory: int, start: float) -> Callable[[ImageRef, str], Image]:
    """registry.k8s.io/<component>: distroless with the component's binary; kubeadm's static pod runs it
    by name with its flags (command: [kube-apiserver, --advertise-address=…, …])."""
    def build(ref: ImageRef, tag: str) -> Image:
        return _image(ref, size=size, start=start, shell=None, binaries={binary}, argv=[f"/usr/local/bin/{binary}"],
                      entrypoint=(f"/usr/local/bin/{binary}",), behaviour="server", ports=[(port, "TCP")],
                      memory=memory, cpu_idle=5, kind=binary, version=tag)
    return build


_ADMISSION_MUTATING = ("NamespaceLifecycle,LimitRanger,ServiceAccount,NodeRestriction,TaintNodesByCondition,"
                       "Priority,DefaultTolerationSeconds,DefaultStorageClass,StorageObjectInUseProtection,"
                       "RuntimeClass,DefaultIngressClass,PodTopologyLabels,MutatingAdmissionPolicy,"
                       "MutatingAdmissionWebhook")
_ADMISSION_VALIDATING = ("LimitRanger,ServiceAccount,PodSecurity,Priority,PersistentVolumeClaimResize,RuntimeClass,"
                         "CertificateApproval,CertificateSigning,ClusterTrustBundleAttest,"
                         "CertificateSubjectRestriction,ValidatingAdmissionPolicy,ValidatingAdmissionWebhook,"
                         "ResourceQuota")


def _apiserver_logs(image: Image, args: list[str] | None) -> list[str]:
    flags = _flags(args)
    advertise = flags.get("advertise-address", "")
    port = flags.get("secure-port", "6443")
    lines = []
    if advertise:
        lines.append(_klog("options.go:263", f"external host was not specified, using {advertise}"))
    lines += [
        _klog("server.go:150", f"Version: {_version(image)}"),
        _klog("server.go:152", '"Golang settings" GOGC="" GOMAXPROCS="" GOTRACEBACK=""'),
        _klog("shared_informer.go:349", '"Waiting for caches to sync" controller="node_authorizer"'),
        _klog("plugins.go:157", f"Loaded {_ADMISSION_MUTATING.count(',') + 1} mutating admission controller(s) "
                                f"successfully in the following order: {_ADMISSION_MUTATING}."),
        _klog("plugins.go:160", f"Loaded {_ADMISSION_VALIDATING.count(',') + 1} validating admission controller(s) "
                                f"successfully in the following order: {_ADMISSION_VALIDATING}."),
        _klog("instance.go:239", "Using reconciler: lease"),
        _klog("handler.go:286", "Adding GroupVersion apiextensions.k8s.io v1 to ResourceManager"),
        _klog("handler.go:286", "Adding GroupVersion v1 to ResourceManager"),
        _klog("handler.go:286", "Adding GroupVersion apps v1 to ResourceManager"),
        _klog("handler.go:286", "Adding GroupVersion batch v1 to ResourceManager"),
        _klog("handler.go:286", "Adding GroupVersion networking.k8s.io v1 to ResourceManager"),
        _klog("dynamic_cafile_content.go:161", '"Starting controller" name="request-header::'
                                               '/etc/kubernetes/pki/front-proxy-ca.crt"'),
        _klog("dynamic_cafile_content.go:161", '"Starting controller" name="client-ca-bundle::'
                                               '/etc/kubernetes/pki/ca.crt"'),
        _klog("dynamic_serving_content.go:135", '"Starting controller" name="serving-cert::'
                                                '/etc/kubernetes/pki/apiserver.crt::/etc/kubernetes/pki/apiserver.key"'),
        _klog("secure_serving.go:211", f"Serving securely on [::]:{port}"),
        _klog("tlsconfig.go:243", '"Starting DynamicServingCertificateController"'),
        _klog("controller.go:667", "quota admission added evaluator for: namespaces"),
        _klog("controller.go:667", "quota admission added evaluator for: serviceaccounts"),
        _klog("controller.go:667", "quota admission added evaluator for: deployments.apps"),
        _klog("alloc.go:328", '"allocated clusterIPs" service="kube-system/kube-dns" clusterIPs={"IPv4":"10.96.0.10"}'),
        _klog("controller.go:667", "quota admission added evaluator for: daemonsets.apps"),
        _klog("controller.go:667", "quota admission added evaluator for: controllerrevisions.apps"),
        _klog("controller.go:667", "quota admission added evaluator for: replicasets.apps"),
    ]
    return lines


def _controller_manager_logs(image: Image, args: list[str] | None) -> list[str]:
    flags = _flags(args)
    bind = flags.get("bind-address", "127.0.0.1")
    lines = [
        _klog("serving.go:386", "Generated self-signed cert in-memory"),
        _klog("controllermanager.go:191", f'"Starting" version="{_version(image)}"'),
        _klog("controllermanager.go:193", '"Golang settings" GOGC="" GOMAXPROCS="" GOTRACEBACK=""'),
        _klog("dynamic_cafile_content.go:161", '"Starting controller" name="request-header::'
                                               '/etc/kubernetes/pki/front-proxy-ca.crt"'),
        _klog("dynamic_cafile_content.go:161", '"Starting controller" name="client-ca-bundle::'
                                               '/etc/kubernetes/pki/ca.crt"'),
        _klog("secure_serving.go:211", f"Serving securely on {bind}:10257"),
        _klog("tlsconfig.go:243", '"Starting DynamicServingCertificateController"'),
    ]
    if flags.get("leader-elect", "true") != "false":
        lines += [_klog("leaderelection.go:257",
                        "attempting to acquire leader lease kube-system/kube-controller-manager..."),
                  _klog("leaderelection.go:271", "successfully acquired lease kube-system/kube-controller-manager")]
    lines += [
        _klog("controllermanager.go:815", '"Started controller" controller="serviceaccount-token-controller"'),
        _klog("controllermanager.go:815", '"Started controller" controller="endpoints-controller"'),
        _klog("controllermanager.go:815", '"Started controller" controller="replicaset-controller"'),
        _klog("controllermanager.go:815", '"Started controller" controller="deployment-controller"'),
        _klog("controllermanager.go:815", '"Started controller" controller="daemonset-controller"'),
        _klog("controllermanager.go:815", '"Started controller" controller="job-controller"'),
        _klog("controllermanager.go:815", '"Started controller" controller="garbage-collector-controller"'),
        _klog("shared_informer.go:356", '"Caches are synced" controller="garbage collector"'),
    ]
    return lines


def _scheduler_logs(image: Image, args: list[str] | None) -> list[str]:
    flags = _flags(args)
    bind = flags.get("bind-address", "127.0.0.1")
    lines = [
        _klog("serving.go:386", "Generated self-signed cert in-memory"),
        _klog("authentication.go:397",
              'Error looking up in-cluster authentication configuration: configmaps '
              '"extension-apiserver-authentication" is forbidden: User "system:kube-scheduler" cannot get resource '
              '"configmaps" in API group "" in the namespace "kube-system"', "W"),
        _klog("authentication.go:398", "Continuing without authentication configuration. This may treat all requests "
                                       "as anonymous.", "W"),
        _klog("authentication.go:399", "To require authentication configuration lookup to succeed, set "
                                       "--authentication-tolerate-lookup-failure=false", "W"),
        _klog("server.go:177", f'"Starting Kubernetes Scheduler" version="{_version(image)}"'),
        _klog("server.go:179", '"Golang settings" GOGC="" GOMAXPROCS="" GOTRACEBACK=""'),
        _klog("secure_serving.go:211", f"Serving securely on {bind}:10259"),
        _klog("tlsconfig.go:243", '"Starting DynamicServingCertificateController"'),
    ]
    if flags.get("leader-elect", "true") != "false":
        lines += [_klog("leaderelection.go:257", "attempting to acquire leader lease kube-system/kube-scheduler..."),
                  _klog("leaderelection.go:271", "successfully acquired lease kube-system/kube-scheduler")]
    return lines


def _url_ports(value: str) -> list[int]:
    return [int(port) for port in re.findall(r":(\d+)(?:/|,|$)", value)]


def _etcd_ports(args: list[str] | None) -> tuple[tuple[int, str], ...]:
    """etcd listens where its --listen-*-urls flags say (the defaults: 2379 for clients, 2380 for peers)."""
    flags = _flags(args)
    ports: list[int] = []
    for name, default in (("listen-client-urls", "http://localhost:2379"), ("listen-peer-urls", "http://localhost:2380"),
                          ("listen-metrics-urls", "")):
        for port in _url_ports(flags.get(name, default)):
            if port not in ports:
                ports.append(port)
    return tuple((port, "TCP") for port in ports)


def _etcd_logs(image: Image, args: list[str] | None) -> list[str]:
    flags = _flags(args)
    name = flags.get("name", "default")
    data_dir = flags.get("data-dir", f"{name}.etcd")
    client_urls = flags.get("listen-client-urls", "http://localhost:2379").split(",")
    peer_urls = flags.get("listen-peer-urls", "http://localhost:2380").split(",")
    go, goos, arch = _ETCD_BUILD
    lines = [
        _etcd_line("etcdmain/etcd.go:64", "Running: ", args=["etcd", *(args or [])]),
        _etcd_line("embed/etcd.go:138", "configuring socket options", **{"reuse-address": True, "reuse-port": True}),
        _etcd_line("embed/etcd.go:144", "configuring peer listeners", **{"listen-peer-urls": peer_urls}),
    ]
    if flags.get("peer-cert-file"):
        lines.append(_etcd_line(
            "embed/etcd.go:528", "starting with peer TLS",
            **{"tls-info": f"cert = {flags['peer-cert-file']}, key = {flags.get('peer-key-file', '')}, client-cert=, "
                           f"client-key=, trusted-ca = {flags.get('peer-trusted-ca-file', '')}, client-cert-auth = "
                           f"{flags.get('peer-client-cert-auth', 'false')}, crl-file = ",
               "cipher-suites": []}))
    lines += [
        _etcd_line("embed/etcd.go:152", "configuring client listeners", **{"listen-client-urls": client_urls}),
        _etcd_line("embed/etcd.go:323", "starting an etcd server", **{
            "etcd-version": image.version, "git-sha": "ba6ebba", "go-version": go, "go-os": goos, "go-arch": arch,
            "max-cpu-set": 4, "max-cpu-available": 4, "member-initialized": False, "name": name,
            "data-dir": data_dir, "wal-dir": "", "wal-dir-dedicated": "", "member-dir": f"{data_dir}/member",
            "force-new-cluster": False, "heartbeat-interval": "100ms", "election-timeout": "1s",
            "initial-election-tick-advance": True, "snapshot-count": int(flags.get("snapshot-count", "10000")),
            "max-wals": 5, "max-snapshots": 5, "snapshot-catchup-entries": 5000,
            "initial-advertise-peer-urls": flags.get("initial-advertise-peer-urls", "http://localhost:2380").split(","),
            "listen-peer-urls": peer_urls,
            "advertise-client-urls": flags.get("advertise-client-urls", "http://localhost:2379").split(","),
            "listen-client-urls": client_urls,
            "listen-metrics-urls": [u for u in flags.get("listen-metrics-urls", "").split(",") if u],
            "initial-cluster": flags.get("initial-cluster", f"{name}=http://localhost:2380"),
            "initial-cluster-state": flags.get("initial-cluster-state", "new"),
            "initial-cluster-token": flags.get("initial-cluster-token", "etcd-cluster")}),
        _etcd_line("etcdserver/bootstrap.go:94", "bootstrapping storage"),
        _etcd_line("membership/cluster.go:424", "added member", **{
            "cluster-id": "6f20f2c4b2fb5f8a", "local-member-id": "aec36adc501070cc",
            "added-peer-id": "aec36adc501070cc", "added-peer-peer-urls": peer_urls, "added-peer-is-learner": False}),
        _etcd_line("etcdserver/zap_raft.go:77", "aec36adc501070cc became leader at term 2"),
        _etcd_line("etcdserver/server.go:1843", "published local member to cluster through raft", **{
            "local-member-id": "aec36adc501070cc", "local-member-attributes":
                f"{{Name:{name} ClientURLs:[{flags.get('advertise-client-urls', 'http://localhost:2379')}]}}",
            "cluster-id": "6f20f2c4b2fb5f8a", "publish-timeout": "7s"}),
        _etcd_line("embed/serve.go:138", "ready to serve client requests"),
    ]
    for url in client_urls:
        secure = url.startswith("https")
        lines.append(_etcd_line("embed/serve.go:262" if secure else "embed/serve.go:210",
                                "serving client traffic securely" if secure else "serving client traffic insecurely; "
                                "this is strongly discouraged!",
                                traffic="grpc+http", address=url.split("://", 1)[-1]))
    return lines


# ---------------------------------------------------------------------- metrics-server


def _metrics_server_logs(image: Image, args: list[str] | None) -> list[str]:
    port = _flags(args).get("secure-port", "10250")
    return [
        _klog("serving.go:380", "Generated self-signed cert (/tmp/apiserver.crt, /tmp/apiserver.key)"),
        _klog("handler.go:288", "Adding GroupVersion metrics.k8s.io v1beta1 to ResourceManager"),
        _klog("requestheader_controller.go:180", "Starting RequestHeaderAuthRequestController"),
        _klog("configmap_cafile_content.go:205",
              '"Starting controller" '
              'name="client-ca::kube-system::extension-apiserver-authentication::client-ca-file"'),
        _klog("dynamic_serving_content.go:135",
              '"Starting controller" name="serving-cert::/tmp/apiserver.crt::/tmp/apiserver.key"'),
        _klog("secure_serving.go:211", f"Serving securely on [::]:{port}"),
        _klog("tlsconfig.go:243", '"Starting DynamicServingCertificateController"'),
    ]


def _metrics_server(ref: ImageRef, tag: str) -> Image:
    # FROM distroless static; ENTRYPOINT ["/metrics-server"]; serves metrics.k8s.io on --secure-port (HTTPS).
    return _image(ref, size=19_517_424, start=0.5, shell=None, binaries={"metrics-server"},
                  argv=["/metrics-server"], entrypoint=("/metrics-server",), behaviour="server",
                  ports=[(10250, "TCP")], memory=19 * _MIB, cpu_idle=3, kind="metrics-server",
                  version=tag.lstrip("v"))


# ---------------------------------------------------------------------- local-path-storage


def _local_path_logs(image: Image, args: list[str] | None) -> list[str]:
    config = '{"nodePathMap":[{"node":"DEFAULT_PATH_FOR_NON_LISTED_NODES","paths":["/var/local-path-provisioner"]}]}'
    applied = _literal(json.dumps(config)[1:-1])
    return [
        f'time="{_SECONDS_TIME}" level=debug msg="Applied config: {applied}" ',
        f'time="{_SECONDS_TIME}" level=debug msg="Provisioner started" ',
        _klog("controller.go:824", "Starting provisioner controller rancher.io/local-path_") + "{hostname}"
        + _literal("_6f9c3b52-79a0-4c8e-9e2f-2a5c0d4b8e71!"),
        _klog("controller.go:873", "Started provisioner controller rancher.io/local-path_") + "{hostname}"
        + _literal("_6f9c3b52-79a0-4c8e-9e2f-2a5c0d4b8e71!"),
    ]


def _local_path_provisioner(ref: ImageRef, tag: str) -> Image:
    # kind's build of rancher/local-path-provisioner; the Deployment runs `local-path-provisioner --debug start …`.
    return _image(ref, size=21_847_136, start=0.3, shell=None, binaries={"local-path-provisioner"},
                  argv=["local-path-provisioner"], entrypoint=("local-path-provisioner",), behaviour="server",
                  memory=11 * _MIB, cpu_idle=1, kind="local-path-provisioner", version=tag)


def _local_path_helper(ref: ImageRef, tag: str) -> Image:
    # The helper pods' image: busybox's shell and tools (the setup/teardown scripts run in it).
    return _image(ref, size=3_128_459, start=0.0, shell="/bin/sh", binaries=_BUSYBOX, argv=["/bin/sh"],
                  behaviour="exit", memory=1 * _MIB, kind="local-path-helper", version=tag)


# ---------------------------------------------------------------------- ingress-nginx


def _ingress_nginx_logs(image: Image, args: list[str] | None) -> list[str]:
    flags = _flags(args)
    version = (image.ref.tag or f"v{INGRESS_NGINX_VERSION}")
    election = flags.get("election-id", "ingress-controller-leader")
    namespace, _, configmap = flags.get("configmap", "ingress-nginx/ingress-nginx-controller").partition("/")
    lines = [
        "-------------------------------------------------------------------------------",
        "NGINX Ingress controller",
        f"  Release:       {version}",
        "  Build:         51c2b819690bbf1709b844dbf321a9acf6eda5a7",
        "  Repository:    https://github.com/kubernetes/ingress-nginx",
        "  nginx version: nginx/1.25.5",
        "",
        "-------------------------------------------------------------------------------",
        "",
        _klog("client_config.go:667", "Neither --kubeconfig nor --master was specified.  Using the inClusterConfig.  "
                                      "This might not work.", "W"),
        _klog("main.go:205", '"Creating API client" host="https://10.96.0.1:443"'),
        _klog("main.go:248", '"Running in Kubernetes cluster" major="1" minor="37" git="v1.37.0" state="clean" '
                             'commit="4e9b1a0f3c2d5e6f7a8b9c0d1e2f3a4b5c6d7e8f" platform="linux/amd64"'),
        _klog("main.go:101",
              '"SSL fake certificate created" file="/etc/ingress-controller/ssl/default-fake-certificate.pem"'),
    ]
    if flags.get("validating-webhook-certificate"):
        lines.append(_klog("ssl.go:535", f'"loading tls certificate" path="{flags["validating-webhook-certificate"]}" '
                                         f'key="{flags.get("validating-webhook-key", "")}"'))
    lines += [
        _klog("nginx.go:273", '"Starting NGINX Ingress controller"'),
        _klog("event.go:377", f'Event(v1.ObjectReference{{Kind:"ConfigMap", Namespace:"{namespace}", '
                              f'Name:"{configmap}", UID:"", APIVersion:"v1", ResourceVersion:"", '
                              f'FieldPath:""}}): type: \'Normal\' reason: \'CREATE\' ConfigMap '
                              f'{namespace}/{configmap}'),
        _klog("nginx.go:319", '"Starting NGINX process"'),
        _klog("leaderelection.go:257", f"attempting to acquire leader lease {namespace}/{election}..."),
    ]
    if flags.get("validating-webhook"):
        lines.append(_klog("nginx.go:339", f'"Starting validation webhook" address="{flags["validating-webhook"]}" '
                                           f'certPath="{flags.get("validating-webhook-certificate", "")}" '
                                           f'keyPath="{flags.get("validating-webhook-key", "")}"'))
    lines += [
        _klog("controller.go:196", '"Configuration changes detected, backend reload required"'),
        _klog("leaderelection.go:271", f"successfully acquired lease {namespace}/{election}"),
        _klog("status.go:85", '"New leader elected" identity="') + "{hostname}" + '"',
        _klog("controller.go:216", '"Backend successfully reloaded"'),
        _klog("controller.go:227", '"Initial sync, sleeping for 1 second"'),
        _klog("event.go:377", 'Event(v1.ObjectReference{Kind:"Pod", Namespace:"' + namespace + '", Name:"')
        + "{hostname}" + _literal('", UID:"", APIVersion:"v1", ResourceVersion:"", FieldPath:""}): type: \'Normal\' '
                                  "reason: 'RELOAD' NGINX reload triggered due to a change in configuration"),
    ]
    return lines


def _ingress_nginx_controller(ref: ImageRef, tag: str) -> Image:
    # ENTRYPOINT ["/usr/bin/dumb-init", "--"], CMD ["/nginx-ingress-controller"]; Alpine underneath.
    return _image(ref, size=107_412_893, start=1.0, shell="/bin/sh",
                  binaries=_BUSYBOX | {"nginx", "nginx-ingress-controller", "dumb-init", "dbg", "wait-shutdown",
                                       "curl", "bash"},
                  argv=["/usr/bin/dumb-init", "--", "/nginx-ingress-controller"],
                  entrypoint=("/usr/bin/dumb-init", "--"), behaviour="server",
                  ports=[(80, "TCP"), (443, "TCP"), (8443, "TCP"), (10254, "TCP")], memory=95 * _MIB, cpu_idle=3,
                  cpu_request=0.3, kind="ingress-nginx", version=tag.lstrip("v"))


def _certgen_logs(image: Image, args: list[str] | None) -> list[str]:
    flags = _flags(args)
    command = next((a for a in args or () if not a.startswith("-")), "")
    secret = flags.get("secret-name", "")
    namespace = flags.get("namespace", "")

    def line(msg: str, source: str, **extra: str) -> str:
        fields = {**extra, "level": "info", "msg": msg, "source": source}
        return _literal(json.dumps(fields, separators=(",", ":"))[:-1]) + f',"time":"{_SECONDS_TIME}"' + "}}"

    if command == "create":
        return [line("no secret found", "k8s/k8s.go:229", err=f'secrets "{secret}" not found'),
                line("creating new secret", "cmd/create.go:28")]
    if command == "patch":
        webhook = flags.get("webhook-name", "")
        mutating = flags.get("patch-mutating", "true")
        validating = flags.get("patch-validating", "true")
        policy = flags.get("patch-failure-policy", "")
        return [line(f"patching webhook configurations '{webhook}' mutating={mutating}, validating={validating}, "
                     f"failurePolicy={policy}", "k8s/k8s.go:118"),
                line("Patched hook(s)", "k8s/k8s.go:138")]
    return [line(f"secret {namespace}/{secret}", "cmd/root.go:42")] if secret else []


def _certgen(ref: ImageRef, tag: str) -> Image:
    # FROM distroless; ENTRYPOINT ["/kube-webhook-certgen"]: makes the webhook's certificate, or patches it in.
    return _image(ref, size=27_204_113, start=0.6, shell=None, binaries={"kube-webhook-certgen"},
                  argv=["/kube-webhook-certgen"], entrypoint=("/kube-webhook-certgen",), behaviour="exit",
                  memory=8 * _MIB, kind="kube-webhook-certgen", version=tag.lstrip("v"))


# ---------------------------------------------------------------------- HTTP answers

_GO_404 = (404, "404 page not found\n")
_OK = (200, "ok")


def _forbidden(path: str) -> tuple[int, str]:
    """What an authenticating Kubernetes server answers an anonymous GET outside its public paths."""
    status = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
              "message": f'forbidden: User "system:anonymous" cannot get path "{path}"', "reason": "Forbidden",
              "details": {}, "code": 403}
    return 403, json.dumps(status, indent=2) + "\n"


def _coredns_http(image: Image, args: list[str] | None, port: int, route: str, elapsed: float,
                  hostname: str, now: float) -> tuple[int, str] | None:
    if port == 8080:
        return (200, "OK") if route == "/health" else _GO_404
    if port == 8181:
        return (200, "OK") if route == "/ready" else _GO_404
    if port == 9153:
        if route == "/metrics":
            go, commit = _COREDNS_BUILD.get(image.ref.tag or "", ("go1.25.2", "1db4568"))
            return 200, ("# HELP coredns_build_info A metric with a constant '1' value labeled by version, revision, "
                         "and goversion from which CoreDNS was built.\n# TYPE coredns_build_info gauge\n"
                         f'coredns_build_info{{goversion="{go}",revision="{commit}",version="{image.version}"}} 1\n')
        return _GO_404
    return 0, ""   # 53/TCP speaks DNS, not HTTP


def _kube_proxy_http(image: Image, args: list[str] | None, port: int, route: str, elapsed: float,
                     hostname: str, now: float) -> tuple[int, str] | None:
    if port == 10256 and route in ("/healthz", "/livez"):
        stamp = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d %H:%M:%S.%f000 +0000 UTC")
        body = {"lastUpdated": stamp, "currentTime": stamp, "nodeEligible": True}
        return 200, json.dumps(body, separators=(",", ":"))
    if port == 10249 and route == "/metrics":
        return 200, "# HELP kubeproxy_sync_proxy_rules_duration_seconds SyncProxyRules latency in seconds\n"
    return _GO_404


def _control_plane_http(image: Image, args: list[str] | None, port: int, route: str, elapsed: float,
                        hostname: str, now: float) -> tuple[int, str] | None:
    if route in ("/livez", "/readyz", "/healthz"):
        return _OK
    if image.kind == "kube-apiserver" and route == "/version":
        version = _version(image)
        minor = version.split(".")[1] if version.count(".") >= 2 else ""
        body = {"major": "1", "minor": minor, "emulationMajor": "1", "emulationMinor": minor,
                "minCompatibilityMajor": "1", "minCompatibilityMinor": str(max(0, int(minor or 1) - 1)),
                "gitVersion": version, "gitCommit": "4e9b1a0f3c2d5e6f7a8b9c0d1e2f3a4b5c6d7e8f",
                "gitTreeState": "clean", "buildDate": "2026-08-26T16:21:47Z", "goVersion": "go1.25.5",
                "compiler": "gc", "platform": "linux/amd64"}
        return 200, json.dumps(body, indent=2)
    return _forbidden(route)


_NGINX_DEFAULT_BACKEND_404 = ("<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n"
                              "<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx</center>\r\n"
                              "</body>\r\n</html>\r\n")


def _ingress_nginx_http(image: Image, args: list[str] | None, port: int, route: str, elapsed: float,
                        hostname: str, now: float) -> tuple[int, str] | None:
    if port == 10254:
        if route == "/healthz":
            return _OK
        if route == "/metrics":
            return 200, ("# HELP nginx_ingress_controller_nginx_process_connections current number of client "
                         "connections with state {active, reading, writing, waiting}\n")
        return _GO_404
    if port == 8443:
        return 400, "Client sent an HTTP request to an HTTPS server.\n"
    return 404, _NGINX_DEFAULT_BACKEND_404   # no Ingress rule matched: the default backend


_HTTP: dict[str, Callable[..., tuple[int, str] | None]] = {
    "coredns": _coredns_http,
    "kube-proxy": _kube_proxy_http,
    "kube-apiserver": _control_plane_http,
    "kube-controller-manager": _control_plane_http,
    "kube-scheduler": _control_plane_http,
    "ingress-nginx": _ingress_nginx_http,
    "metrics-server": _control_plane_http,   # the same apiserver library: /livez, /readyz, 403 elsewhere
}

_LOGS: dict[str, Callable[[Image, list[str] | None], list[str]]] = {
    "coredns": _coredns_logs,
    "kube-proxy": _kube_proxy_logs,
    "kindnetd": _kindnetd_logs,
    "kube-apiserver": _apiserver_logs,
    "kube-controller-manager": _controller_manager_logs,
    "kube-scheduler": _scheduler_logs,
    "etcd": _etcd_logs,
    "local-path-provisioner": _local_path_logs,
    "ingress-nginx": _ingress_nginx_logs,
    "kube-webhook-certgen": _certgen_logs,
    "metrics-server": _metrics_server_logs,
}

# ---------------------------------------------------------------------- the catalog

_COREDNS_TAGS = {f"v1.{m}.{p}" for m in range(8, 15) for p in range(0, 8)} | {"1.6.7", "1.7.0", "1.8.0"}
_KINDEST_TAGS = {KINDNETD_IMAGE.rsplit(":", 1)[1], LOCAL_PATH_HELPER_IMAGE.rsplit(":", 1)[1], "v20250512-df8de77b",
                 "v20241108-5c6d2daf", "v20240813-c6f155d6", "v20240202-8f1494ea", "v20230809-80a64d96",
                 "v20230510-486859a6", "v20230330-48f316cd"}
_INGRESS_NGINX_TAGS = {f"v1.{m}.{p}" for m in range(0, 16) for p in range(0, 10)}
_CERTGEN_TAGS = {f"v1.{m}.{p}" for m in range(0, 7) for p in range(0, 10)} | {"v20231011-8b53cabe0",
                                                                             "v20230407", "v20220916-gd32f8c343"}

_METRICS_SERVER_TAGS = {f"v0.{m}.{p}" for m in range(5, 9) for p in range(0, 5)}

CATALOG: dict[str, images._Repo] = {
    "docker.io/kindest/kindnetd": _repo(_KINDEST_TAGS, _kindnetd),
    "docker.io/kindest/local-path-provisioner": _repo(_KINDEST_TAGS | {"v0.0.22-kind.0"}, _local_path_provisioner),
    "docker.io/kindest/local-path-helper": _repo(_KINDEST_TAGS | {"v20220607-9a4d8d2a"}, _local_path_helper),
    "docker.io/rancher/local-path-provisioner": _repo({f"v0.0.{p}" for p in range(20, 33)}, _local_path_provisioner),
}
for _registry in ("registry.k8s.io", "k8s.gcr.io"):
    CATALOG.update({
        f"{_registry}/coredns/coredns": _repo(_COREDNS_TAGS, _coredns),
        f"{_registry}/kube-proxy": _repo(KUBE_TAGS, _kube_proxy),
        f"{_registry}/kube-apiserver": _repo(KUBE_TAGS, _control_plane("kube-apiserver", 28_594_110, 6443,
                                                                         280 * _MIB, 3.0)),
        f"{_registry}/kube-controller-manager": _repo(KUBE_TAGS, _control_plane("kube-controller-manager", 26_133_572,
                                                                                  10257, 60 * _MIB, 1.0)),
        f"{_registry}/kube-scheduler": _repo(KUBE_TAGS, _control_plane("kube-scheduler", 20_307_912, 10259,
                                                                         25 * _MIB, 1.0)),
        f"{_registry}/ingress-nginx/controller": _repo(_INGRESS_NGINX_TAGS, _ingress_nginx_controller),
        f"{_registry}/ingress-nginx/kube-webhook-certgen": _repo(_CERTGEN_TAGS, _certgen),
        f"{_registry}/metrics-server/metrics-server": _repo(_METRICS_SERVER_TAGS, _metrics_server),
    })

# basenames that are the image's own program (kubeadm runs its static pods' binaries by name)
OWN_PROGRAMS: dict[str, tuple[str, ...]] = {
    "coredns": ("coredns",),
    "kube-proxy": ("kube-proxy",),
    "kindnetd": ("kindnetd",),
    "kube-apiserver": ("kube-apiserver",),
    "kube-controller-manager": ("kube-controller-manager",),
    "kube-scheduler": ("kube-scheduler",),
    "local-path-provisioner": ("local-path-provisioner",),
    "ingress-nginx": ("nginx-ingress-controller", "dumb-init"),
    "kube-webhook-certgen": ("kube-webhook-certgen",),
    "metrics-server": ("metrics-server",),
}


# ---------------------------------------------------------------------- joining images.py

def _answering(original: Callable[..., tuple[int, str] | None]) -> Callable[..., tuple[int, str] | None]:
    def http_response(image: Image, args: list[str] | None, port: int, path: str, seconds_since_start: float,
                      hostname: str = "", *, now: float = 0.0, files=None) -> tuple[int, str] | None:
        handler = _HTTP.get(image.kind)
        if handler is None:
            return original(image, args, port, path, seconds_since_start, hostname, now=now, files=files)
        if not images.listens(image, args, port, "TCP", seconds_since_start):
            return None
        route = urlsplit(path if path.startswith("/") else "/" + path).path or "/"
        return handler(image, args, port, route, seconds_since_start, hostname, now)
    http_response.__doc__ = original.__doc__
    return http_response


def _printing(original: Callable[[Image, list[str] | None], tuple[str, ...] | None]
              ) -> Callable[[Image, list[str] | None], tuple[str, ...] | None]:
    def program_logs(image: Image, args: list[str] | None) -> tuple[str, ...] | None:
        builder = _LOGS.get(image.kind)
        if builder is None:
            return original(image, args)
        return tuple(builder(image, args))
    program_logs.__doc__ = original.__doc__
    return program_logs


def _listening(original: Callable[[Image, list[str] | None], tuple[tuple[int, str], ...]]
               ) -> Callable[[Image, list[str] | None], tuple[tuple[int, str], ...]]:
    def serving_ports(image: Image, args: list[str] | None = None) -> tuple[tuple[int, str], ...]:
        if image.kind == "etcd" and args:
            return _etcd_ports(args)
        return original(image, args)
    serving_ports.__doc__ = original.__doc__
    return serving_ports


def _register() -> None:
    images.CATALOG.update(CATALOG)
    images._OWN_PROGRAMS.update(OWN_PROGRAMS)
    images.http_response = _answering(images.http_response)
    images.program_logs = _printing(images.program_logs)
    images.serving_ports = _listening(images.serving_ports)


_register()

__all__ = ["CATALOG", "COREDNS_TAG", "COREFILE", "ETCD_TAG", "INGRESS_NGINX_CERTGEN_IMAGE",
           "INGRESS_NGINX_CONTROLLER_IMAGE", "INGRESS_NGINX_VERSION", "KINDNETD_IMAGE", "KUBE_TAGS",
           "LOCAL_PATH_HELPER_IMAGE", "LOCAL_PATH_PROVISIONER_IMAGE", "OWN_PROGRAMS", "PAUSE_TAG"]
