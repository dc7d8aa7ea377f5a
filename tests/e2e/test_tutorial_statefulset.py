"""kubernetes.io "StatefulSet Basics" (tutorials/stateful-application/basic-stateful-set), its commands in
order with the real kubectl, against what the page shows a real cluster printing.

web.yaml's headless Service and StatefulSet, `kubectl get pods -w -l app=nginx` in a first terminal while
the pods are created in order (web-1 only once web-0 is Running and Ready), the pods' hostnames, their
DNS names from `kubectl run -i --tty --image busybox:1.28 dns-test --restart=Never --rm`, `kubectl delete
pod -l app=nginx` and the pods back under the same names, their claims, and the hostname each writes
into its volume served by its nginx, still there after the pods were deleted again. The page's timing is
its point here (the order of creation), so the server keeps the real pull and start delays and the
cluster's clock runs faster than the wall clock.

Where the page shows an older cluster, the assertions follow a current one (kind, kubectl 1.3x): `get
statefulset` has the READY column; `kubectl delete` says `deleted from default namespace`; the claims
are provisioned by kind's local-path `standard` class and `get pvc` has VOLUMEATTRIBUTESCLASS; CoreDNS
answers busybox's reverse lookups, so each address carries its name (web-0.nginx.default.svc.cluster.local).
"""
from __future__ import annotations

import re

import pytest

from tests.fixtures import corpus_path

from .tutorial import AGE, POD_IP, Page, classroom_server, eventually, lines_match, table

pytestmark = pytest.mark.e2e

SPEED = "10"  # simulated seconds per wall-clock second


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from classroom_server(tmp_path_factory, "tutorial-statefulset")


@pytest.fixture(scope="module")
def page(server) -> Page:
    page = Page(server, "statefulset-basics")
    page.clock("--speed", SPEED)
    return page


def created_in_order(lines: list[str]) -> None:
    """web-1 appears only after web-0 is Running and Ready, and both end Running and Ready."""
    rows = [line.split() for line in lines]
    assert rows[0] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"], lines
    web0_ready = next(i for i, row in enumerate(rows) if row[:3] == ["web-0", "1/1", "Running"])
    first_web1 = next(i for i, row in enumerate(rows) if row[0] == "web-1")
    assert web0_ready < first_web1, "\n".join(lines)
    for line in lines[1:]:
        assert re.fullmatch(rf"web-[01] +(0/1 +(Pending|ContainerCreating)|1/1 +Running) +0 +{AGE}", line), lines
    assert rows[-1][:3] == ["web-1", "1/1", "Running"], lines


def hostnames(page: Page) -> None:
    shown = page.shell("""for i in 0 1; do kubectl exec "web-$i" -- sh -c 'hostname'; done""")
    assert shown.stdout == "web-0\nweb-1\n"


def dns_names(page: Page) -> None:
    ips = {name: page("get", "pod", name, "-o", "jsonpath={.status.podIP}") for name in ("web-0", "web-1")}
    with page.terminal("run", "-i", "--tty", "--image", "busybox:1.28", "dns-test", "--restart=Never",
                       "--rm") as shell:
        for name, ip in ips.items():
            assert shell.line(f"nslookup {name}.nginx") == (
                "Server:    10.96.0.10\n"
                "Address 1: 10.96.0.10 kube-dns.kube-system.svc.cluster.local\n"
                "\n"
                f"Name:      {name}.nginx\n"
                f"Address 1: {ip} {name}.nginx.default.svc.cluster.local\n")
        code, after = shell.exit()
    assert code == 0, after
    assert after.endswith('pod "dns-test" deleted from default namespace\n'), after


def delete_and_wait(page: Page) -> None:
    with page.watch("pod", "-l", "app=nginx") as watch:
        watch.until(r"^web-1 +1/1 +Running")
        mark = len(watch.lines)
        assert page("delete", "pod", "-l", "app=nginx") == (
            'pod "web-0" deleted from default namespace\npod "web-1" deleted from default namespace\n')
        back = watch.until(r"^web-1 +1/1 +Running", timeout=30, since=mark)
    # The old pods terminate (the page leaves those lines out) and both come back under their names, web-1
    # after web-0 is Running and Ready again: as at creation.
    new = back[next(i for i, line in enumerate(back) if re.match(r"web-0 +0/1 ", line)):]
    created_in_order(["NAME READY STATUS RESTARTS AGE", *(line for line in new if " Terminating " not in line)])
    page.running(2, "-l", "app=nginx")


def test_statefulset_basics(page):
    # Creating a StatefulSet, watched from a first terminal.
    with page.watch("pods", "-l", "app=nginx") as watch:
        assert page.apply(corpus_path("application__web__web.yaml")) == (
            "service/nginx created\nstatefulset.apps/web created\n")
        lines_match(page("get", "service", "nginx"), [r"NAME +TYPE +CLUSTER-IP +EXTERNAL-IP +PORT\(S\) +AGE",
                                                      rf"nginx +ClusterIP +None +<none> +80/TCP +{AGE}"])
        lines_match(page("get", "statefulset", "web"), [r"NAME +READY +AGE", rf"web +[012]/2 +{AGE}"])
        created_in_order(watch.until(r"^web-1 +1/1 +Running", timeout=30))

    # Pods in a StatefulSet: ordinal index, stable network identities.
    lines_match(page("get", "pods", "-l", "app=nginx"), [r"NAME +READY +STATUS +RESTARTS +AGE",
                                                         rf"web-0 +1/1 +Running +0 +{AGE}",
                                                         rf"web-1 +1/1 +Running +0 +{AGE}"])
    hostnames(page)
    dns_names(page)
    delete_and_wait(page)
    hostnames(page)
    dns_names(page)

    # Writing to stable storage.
    claims = page("get", "pvc", "-l", "app=nginx")
    lines_match(claims, [r"NAME +STATUS +VOLUME +CAPACITY +ACCESS MODES +STORAGECLASS +VOLUMEATTRIBUTESCLASS +AGE"]
                + [rf"www-web-{i} +Bound +pvc-[0-9a-f]{{8}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{12}} "
                   rf"+1Gi +RWO +standard +<unset> +{AGE}" for i in (0, 1)])
    volumes = [row[2] for row in table(claims)[1:]]
    page.shell("""for i in 0 1; do kubectl exec "web-$i" -- sh -c 'echo "$(hostname)" > """
               """/usr/share/nginx/html/index.html'; done""")
    served = page.shell("""for i in 0 1; do kubectl exec -i -t "web-$i" -- curl http://localhost/; done""")
    assert served.stdout == "web-0\nweb-1\n"
    # kubectl's own word on -t without a terminal (the page's reader has one).
    assert served.stderr == "Unable to use a TTY - input is not a terminal or the right kind of file\n" * 2

    delete_and_wait(page)

    def served_again() -> None:
        # Retried: nginx listens 0.1 s after its container starts, and web-1 has only just turned Running.
        served = page.shell("""for i in 0 1; do kubectl exec -i -t "web-$i" -- curl http://localhost/; done""")
        assert served.stdout == "web-0\nweb-1\n"       # the claims were mounted again, data and all
    eventually(served_again)
    assert [row[2] for row in table(page("get", "pvc", "-l", "app=nginx"))[1:]] == volumes
    ips = page("get", "pods", "-l", "app=nginx", "-o", "jsonpath={.items[*].status.podIP}").split()
    assert len(ips) == 2 and all(re.fullmatch(POD_IP, ip) for ip in ips)
