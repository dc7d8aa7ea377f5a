"""kubernetes.io "Set up Ingress on Minikube with the NGINX Ingress Controller"
(tasks/access-application-cluster/ingress-minikube), its commands in order with the real kubectl,
against what the page shows a real cluster printing.

The ingress-nginx controller running, hello-app's Deployment `web` exposed on a NodePort and reached
through it, example-ingress.yaml and its ADDRESS, requests for hello-world.example through the
controller, `web2` added under /v2, and ingress-nginx's 404 page for a host no rule names. A fresh
playground cluster has the add-on already (as kind's ingress guide installs it), so `minikube addons
enable ingress` has nothing to do. Where the page runs curl on the learner's machine against `minikube
ip`, the requests here go from a pod of the cluster (radial/busyboxplus:curl) to the node's address for
the NodePort and to the controller's address, the one `kubectl get ingress` shows, for the Ingress
(`curl --resolve "hello-world.example:80:$ADDRESS" -i http://hello-world.example`). The controller
publishes that address at its next status sync (up to a minute, "This can take a couple of minutes"):
the cluster's clock is moved on rather than waited for. Pulls and starts are instant.

Where the page shows minikube, the assertions follow the playground's kind-like cluster: the controller
publishes its LoadBalancer Service's address (172.18.255.200, from kind's MetalLB-style pool) rather than
the minikube node's; the admission patch Job's pod ran once.
"""
from __future__ import annotations

import re

import pytest

from tests.fixtures import corpus_path, corpus_text

from .tutorial import AGE, CLUSTER_IP, HASH, SUFFIX, Page, classroom_server, eventually, lines_match, table

pytestmark = pytest.mark.e2e

V2_PATH = """\
          - path: /v2
            pathType: Prefix
            backend:
              service:
                name: web2
                port:
                  number: 8080
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from classroom_server(tmp_path_factory, "tutorial-ingress", PLAYGROUND_START_DELAYS="0")


@pytest.fixture(scope="module")
def page(server) -> Page:
    return Page(server, "ingress-minikube")


def hello(version: str, deployment: str) -> str:
    return rf"Hello, world!\nVersion: {re.escape(version)}\nHostname: {deployment}-{HASH}-{SUFFIX}\n"


def test_ingress_with_the_nginx_ingress_controller(page, tmp_path):
    # Enable the Ingress controller: "It can take up to a minute before you see these pods running OK."
    controller = page.running(1, "-n", "ingress-nginx", "-l", "app.kubernetes.io/component=controller")
    eventually(lambda: lines_match(page("get", "pods", "-n", "ingress-nginx"), [
        r"NAME +READY +STATUS +RESTARTS +AGE",
        rf"ingress-nginx-admission-create-{SUFFIX} +0/1 +Completed +0 +{AGE}",
        rf"ingress-nginx-admission-patch-{SUFFIX} +0/1 +Completed +[01] +{AGE}",
        rf"ingress-nginx-controller-{HASH}-{SUFFIX} +1/1 +Running +0 +{AGE}"]), timeout=60)
    assert list(controller) == [table(page("get", "pods", "-n", "ingress-nginx"))[3][0]]

    # Deploy a hello, world app
    assert page("create", "deployment", "web", "--image=gcr.io/google-samples/hello-app:1.0") == (
        "deployment.apps/web created\n")
    eventually(lambda: lines_match(page("get", "deployment", "web"), [
        r"NAME +READY +UP-TO-DATE +AVAILABLE +AGE", rf"web +1/1 +1 +1 +{AGE}"]))
    assert page("expose", "deployment", "web", "--type=NodePort", "--port=8080") == "service/web exposed\n"
    service = page("get", "service", "web")
    lines_match(service, [r"NAME +TYPE +CLUSTER-IP +EXTERNAL-IP +PORT\(S\) +AGE",
                          rf"web +NodePort +{CLUSTER_IP} +<none> +8080:3\d{{4}}/TCP +{AGE}"])
    node_port = table(service)[1][4].split(":")[1].split("/")[0]

    # The page's curl runs on the learner's machine; here on a pod of the cluster.
    page("run", "curl", "--image=radial/busyboxplus:curl", "--", "sleep", "3600")
    page.running(1, "curl")

    def curl(*args: str) -> str:
        return page.raw("exec", "curl", "--", "curl", "-s", *args)

    node_ip = page("get", "node", "worker-1", "-o", "jsonpath={.status.addresses[?(@.type=='InternalIP')].address}")
    assert re.fullmatch(hello("1.0.0", "web"), curl(f"http://{node_ip}:{node_port}"))

    # Create an Ingress
    assert page.apply(corpus_path("service__networking__example-ingress.yaml")) == (
        "ingress.networking.k8s.io/example-ingress created\n")
    page.advance(60)                 # "This can take a couple of minutes": the controller's next status sync

    def address_set() -> str:
        shown = page("get", "ingress")
        lines_match(shown, [r"NAME +CLASS +HOSTS +ADDRESS +PORTS +AGE",
                            rf"example-ingress +nginx +hello-world\.example +172\.18\.255\.\d+ +80 +{AGE}"])
        return table(shown)[1][3]
    address = eventually(address_set)
    lb = page("get", "service", "-n", "ingress-nginx", "ingress-nginx-controller",
              "-o", "jsonpath={.status.loadBalancer.ingress[0].ip}")
    assert address == lb

    # Verify that the Ingress controller is directing traffic: the status line, the headers, the app's answer.
    answer = curl("--resolve", f"hello-world.example:80:{address}", "-i", "http://hello-world.example")
    assert answer.startswith("HTTP/1.1 200 OK\r\n"), answer
    assert re.search(r"\r\n\r\n" + hello("1.0.0", "web") + r"\Z", answer), answer

    # Create a second Deployment
    assert page("create", "deployment", "web2", "--image=gcr.io/google-samples/hello-app:2.0") == (
        "deployment.apps/web2 created\n")
    eventually(lambda: lines_match(page("get", "deployment", "web2"), [
        r"NAME +READY +UP-TO-DATE +AVAILABLE +AGE", rf"web2 +1/1 +1 +1 +{AGE}"]))
    assert page("expose", "deployment", "web2", "--port=8080", "--type=NodePort") == "service/web2 exposed\n"

    # Edit the existing Ingress: /v2 to web2, at the end of the paths.
    edited = tmp_path / "example-ingress.yaml"
    edited.write_text(corpus_text("service__networking__example-ingress.yaml").rstrip("\n") + "\n" + V2_PATH)
    assert page.apply(edited) == "ingress.networking.k8s.io/example-ingress configured\n"

    # Test your Ingress
    def routed() -> None:
        v1 = curl("--resolve", f"hello-world.example:80:{address}", "-i", "http://hello-world.example")
        v2 = curl("--resolve", f"hello-world.example:80:{address}", "-i", "http://hello-world.example/v2")
        assert v1.startswith("HTTP/1.1 200 OK\r\n") and re.search(r"\r\n\r\n" + hello("1.0.0", "web") + r"\Z", v1)
        assert v2.startswith("HTTP/1.1 200 OK\r\n") and re.search(r"\r\n\r\n" + hello("2.0.0", "web2") + r"\Z", v2)
    eventually(routed)

    # A host no rule names: ingress-nginx's default backend answers 404.
    missing = curl("--resolve", f"other.example:80:{address}", "-i", "http://other.example")
    assert missing.startswith("HTTP/1.1 404 Not Found\r\n"), missing
    assert missing.endswith("\r\n\r\n<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n"
                            "<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx</center>\r\n"
                            "</body>\r\n</html>\r\n"), missing
