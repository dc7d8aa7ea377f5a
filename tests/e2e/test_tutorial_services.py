"""kubernetes.io "Connecting Applications with Services" (tutorials/services/connect-applications-service),
its commands in order with the real kubectl, against what the page shows a real cluster printing.

run-my-nginx.yaml's two nginx pods and their IPs, `kubectl expose deployment/my-nginx`, the Service,
its endpoints in `describe` and in the EndpointSlice, the Service's environment variables only in the
pods created after it, kube-dns, and from a pod on a terminal: `nslookup my-nginx` and curl to the
Service. The server makes pulls and starts instant (PLAYGROUND_START_DELAYS=0): the page's timing is
not its point.

Where the page shows an older cluster, the assertions follow a current one (kind, kubectl 1.3x): `-o
wide` has the NOMINATED NODE and READINESS GATES columns; the Service made by `kubectl expose` takes the
Deployment's labels, and run-my-nginx.yaml's Deployment has none (`Labels: <none>`); describe shows
`Internal Traffic Policy: Cluster`; kind's kube-dns also serves metrics on 9153/TCP; CoreDNS answers the
reverse lookups busybox's nslookup makes, so the addresses carry their names; `kubectl run` makes a
pod named `curl` (the page's `curl-131556218-9fnch` was a Deployment's pod); printenv's order is the
kubelet's (a Go map's, in no particular order), so the variables are compared as a set.
"""
from __future__ import annotations

import re

import pytest

from tests.fixtures import corpus_path

from .tutorial import AGE, CLUSTER_IP, HASH, POD_IP, SUFFIX, Page, classroom_server, eventually, lines_match, table

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from classroom_server(tmp_path_factory, "tutorial-services", PLAYGROUND_START_DELAYS="0")


@pytest.fixture(scope="module")
def page(server) -> Page:
    return Page(server, "connect-applications-service")


def service_variables(page: Page, pod: str) -> set[str]:
    """`kubectl exec POD -- printenv | grep SERVICE`"""
    return {line for line in page("exec", pod, "--", "printenv").splitlines() if "SERVICE" in line}


def test_connecting_applications_with_services(page):
    # Exposing pods to the cluster
    assert page.apply(corpus_path("service__networking__run-my-nginx.yaml")) == "deployment.apps/my-nginx created\n"
    page.running(2, "-l", "run=my-nginx")
    wide = page("get", "pods", "-l", "run=my-nginx", "-o", "wide")
    rows = table(wide)
    assert rows[0] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED", "NODE",
                       "READINESS", "GATES"]
    lines_match(wide, [r"NAME +READY +STATUS +RESTARTS +AGE +IP +NODE +NOMINATED NODE +READINESS GATES"]
                + [rf"my-nginx-{HASH}-{SUFFIX} +1/1 +Running +0 +{AGE} +{POD_IP} +worker-\d +<none> +<none>"] * 2)
    ips = {row[0]: row[5] for row in rows[1:]}
    assert len({row[6] for row in rows[1:]}) == 2, wide          # one pod on each worker, as the page shows

    columns = page("get", "pods", "-l", "run=my-nginx", "-o", "custom-columns=POD_IP:.status.podIPs")
    assert columns == "POD_IP\n" + "".join(f"[map[ip:{ip}]]\n" for ip in ips.values())

    # Creating a Service
    assert page("expose", "deployment/my-nginx") == "service/my-nginx exposed\n"
    svc = page("get", "svc", "my-nginx")
    lines_match(svc, [r"NAME +TYPE +CLUSTER-IP +EXTERNAL-IP +PORT\(S\) +AGE",
                      rf"my-nginx +ClusterIP +{CLUSTER_IP} +<none> +80/TCP +{AGE}"])
    cluster_ip = table(svc)[1][2]

    def endpoints_published() -> str:
        described = page("describe", "svc", "my-nginx")
        assert re.search(r"^Endpoints: +\S+:80,\S+:80$", described, re.M), described
        return described
    described = eventually(endpoints_published)
    lines_match(described, [
        r"Name: +my-nginx", r"Namespace: +default", r"Labels: +<none>", r"Annotations: +<none>",
        r"Selector: +run=my-nginx", r"Type: +ClusterIP", r"IP Family Policy: +SingleStack", r"IP Families: +IPv4",
        rf"IP: +{re.escape(cluster_ip)}", rf"IPs: +{re.escape(cluster_ip)}", r"Port: +<unset>  80/TCP",
        r"TargetPort: +80/TCP", r"Endpoints: +\S+", r"Session Affinity: +None",
        r"Internal Traffic Policy: +Cluster", r"Events: +<none>"])
    endpoints = re.search(r"^Endpoints: +(\S+)$", described, re.M)[1]
    assert set(endpoints.split(",")) == {f"{ip}:80" for ip in ips.values()}   # the pods' IPs

    slices = page("get", "endpointslices", "-l", "kubernetes.io/service-name=my-nginx")
    lines_match(slices, [r"NAME +ADDRESSTYPE +PORTS +ENDPOINTS +AGE",
                         rf"my-nginx-{SUFFIX} +IPv4 +80 +{POD_IP},{POD_IP} +{AGE}"])
    assert set(table(slices)[1][3].split(",")) == set(ips.values())

    # Accessing the Service: environment variables. The pods were created before the Service ...
    first = next(iter(ips))
    assert service_variables(page, first) == {
        "KUBERNETES_SERVICE_HOST=10.96.0.1", "KUBERNETES_SERVICE_PORT=443", "KUBERNETES_SERVICE_PORT_HTTPS=443"}
    # ... so kill them and let the Deployment recreate them, this time after the Service.
    assert page("scale", "deployment", "my-nginx", "--replicas=0") == "deployment.apps/my-nginx scaled\n"
    assert page("scale", "deployment", "my-nginx", "--replicas=2") == "deployment.apps/my-nginx scaled\n"

    def recreated() -> dict[str, list[str]]:
        pods = page.running(2, "-l", "run=my-nginx", timeout=0)
        assert not set(pods) & set(ips), pods      # different names: killed and recreated
        return pods
    eventually(recreated, timeout=30)
    wide = page("get", "pods", "-l", "run=my-nginx", "-o", "wide")
    lines_match(wide, [r"NAME +READY +STATUS +RESTARTS +AGE +IP +NODE +NOMINATED NODE +READINESS GATES"]
                + [rf"my-nginx-{HASH}-{SUFFIX} +1/1 +Running +0 +{AGE} +{POD_IP} +worker-\d +<none> +<none>"] * 2)
    second = table(wide)[1][0]
    assert service_variables(page, second) == {
        "KUBERNETES_SERVICE_PORT=443", f"MY_NGINX_SERVICE_HOST={cluster_ip}", "KUBERNETES_SERVICE_HOST=10.96.0.1",
        "MY_NGINX_SERVICE_PORT=80", "KUBERNETES_SERVICE_PORT_HTTPS=443"}

    # DNS
    lines_match(page("get", "services", "kube-dns", "--namespace=kube-system"), [
        r"NAME +TYPE +CLUSTER-IP +EXTERNAL-IP +PORT\(S\) +AGE",
        rf"kube-dns +ClusterIP +10\.96\.0\.10 +<none> +53/UDP,53/TCP,9153/TCP +{AGE}"])

    # radial/busyboxplus's shell prompt is its .bashrc's PS1 (colours around `[ \u@\H:\w ]$ `).
    prompt = r"\x1b\[40m\x1b\[34m\[ \x1b\[33mroot@curl:\x1b\[32m/\x1b\[34m \]\$\x1b\[0m "
    with page.terminal("run", "curl", "--image=radial/busyboxplus:curl", "-i", "--tty", "--rm",
                       prompt=prompt) as shell:
        assert "If you don't see a command prompt, try pressing enter.\r\n" in shell.banner
        assert shell.line("nslookup my-nginx") == (
            "Server:    10.96.0.10\n"
            "Address 1: 10.96.0.10 kube-dns.kube-system.svc.cluster.local\n"
            "\n"
            "Name:      my-nginx\n"
            f"Address 1: {cluster_ip} my-nginx.default.svc.cluster.local\n")
        # The Service answers from any pod, by name and by its clusterIP and port.
        for url in ("my-nginx", f"http://{cluster_ip}:80/"):
            answer = shell.line(f"curl {url}")
            assert answer.startswith("<!DOCTYPE html>\n<html>\n<head>\n<title>Welcome to nginx!</title>"), answer
            assert "<h1>Welcome to nginx!</h1>" in answer
        code, after = shell.exit()
    assert code == 0
    assert after == ("exit\nSession ended, resume using 'kubectl attach curl -c curl -n default -i -t' command\n"
                     'pod "curl" deleted from default namespace\n')
