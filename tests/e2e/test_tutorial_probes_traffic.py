"""Readiness against liveness, seen in the traffic to a Service (kubernetes.io "Configure Liveness,
Readiness and Startup Probes": "a Pod is considered ready when all of its containers are ready … When a
Pod is not ready, it is removed from Service load balancers"; a failing liveness probe restarts the
container).

Three nginx pods behind the Service `web`, each with a readiness probe (GET /) and a liveness probe (GET
/50x.html), each serving its own hostname. Then one pod loses its index.html: / answers 403, its
readiness fails, it stays Running with 0 restarts but 0/1, and the answers to requests sent to the
Service come from the other two only; `kubectl describe svc` leaves it out of Endpoints and its
EndpointSlice endpoint turns `ready: false` (`kubectl get endpointslices` lists every address, ready or
not, as kubectl prints them). Another pod loses its 50x.html: its liveness fails, the kubelet restarts the
container (RESTARTS 1, then 2 when it happens again) and, a new container from the image, it serves nginx's
welcome page again. The first pod gets its page back and comes back into the answers.

The pods start instantly (PLAYGROUND_START_DELAYS=0) and the cluster's clock is paused and moved on by the
probes' periods, so each step happens at a known simulated time without waiting for it.
"""
from __future__ import annotations

import re

import pytest

from .tutorial import AGE, HASH, POD_IP, SUFFIX, Page, classroom_server, eventually, lines_match, table

pytestmark = pytest.mark.e2e

WEB = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: nginx
        image: nginx
        ports:
        - containerPort: 80
        readinessProbe:
          httpGet:
            path: /
            port: 80
          periodSeconds: 5
        livenessProbe:
          httpGet:
            path: /50x.html
            port: 80
          periodSeconds: 5
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector:
    app: web
  ports:
  - port: 80
"""

HTML = "/usr/share/nginx/html"
REQUESTS = 30


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from classroom_server(tmp_path_factory, "tutorial-probes", PLAYGROUND_START_DELAYS="0")


@pytest.fixture(scope="module")
def page(server) -> Page:
    page = Page(server, "probes-traffic")
    page.clock("--pause")
    return page


def answers(page: Page) -> list[str]:
    """The first line of each answer to REQUESTS requests sent to the Service from the client pod."""
    out = page("exec", "client", "--", "sh", "-c",
               f"for i in $(seq {REQUESTS}); do curl -s web | head -1; done")
    return out.splitlines()


def pods(page: Page) -> dict[str, list[str]]:
    return page.pods("-l", "app=web")


def endpoint_readiness(page: Page) -> dict[str, bool]:
    out = page("get", "endpointslices", "-l", "kubernetes.io/service-name=web", "-o",
               r'jsonpath={range .items[*].endpoints[*]}{.targetRef.name} {.conditions.ready}{"\n"}{end}')
    return {name: ready == "true" for name, ready in (line.split() for line in out.splitlines())}


def restarts(column: str) -> int:
    return int(column.split("(")[0])


def test_readiness_takes_a_pod_out_of_the_traffic_liveness_restarts_it(page):
    assert page.apply_yaml(WEB) == "deployment.apps/web created\nservice/web created\n"
    page("run", "client", "--image=radial/busyboxplus:curl", "--", "sleep", "3600")
    page.advance(6)                                     # the first readiness probes
    found = page.running(3, "-l", "app=web")
    unready, dying, healthy = sorted(found)
    ips = {name: page("get", "pod", name, "-o", "jsonpath={.status.podIP}") for name in found}
    page.running(1, "client")
    for name in found:
        page("exec", name, "--", "sh", "-c", f'echo "$(hostname)" > {HTML}/index.html')
    assert set(answers(page)) == set(found)             # every pod answers its share
    assert endpoint_readiness(page) == dict.fromkeys(found, True)

    # One pod's readiness fails (no index.html: / is 403), another's liveness (no 50x.html: 404).
    page("exec", unready, "--", "rm", f"{HTML}/index.html")
    page("exec", dying, "--", "rm", f"{HTML}/50x.html")
    page.advance(22)                # three failed probes 5 s apart, and the restarted container's first probe

    def settled() -> dict[str, list[str]]:
        now = pods(page)
        assert now[unready][:3] == ["0/1", "Running", "0"], now
        assert now[dying][:2] == ["1/1", "Running"] and restarts(now[dying][2]) == 1, now
        assert now[healthy][:3] == ["1/1", "Running", "0"], now
        return now
    eventually(settled)
    restarted = rf"1 \({AGE} ago\)"
    lines_match(page("get", "pods", "-l", "app=web"), [
        r"NAME +READY +STATUS +RESTARTS +AGE",
        *(rf"{name} +{'0/1' if name == unready else '1/1'} +Running +{restarted if name == dying else '0'} +{AGE}"
          for name in sorted(found))])
    assert all(re.fullmatch(rf"web-{HASH}-{SUFFIX}", name) for name in found)

    # Only the ready pods answer: the healthy one its hostname, the restarted one nginx's welcome page again
    # (a new container from the image); never the unready one.
    seen = answers(page)
    assert set(seen) == {healthy, "<!DOCTYPE html>"}, seen
    described = page("describe", "svc", "web")
    endpoints = re.search(r"^Endpoints: +(\S+)$", described, re.M)[1]
    assert set(endpoints.split(",")) == {f"{ips[dying]}:80", f"{ips[healthy]}:80"}, described
    assert endpoint_readiness(page) == {unready: False, dying: True, healthy: True}
    slices = page("get", "endpointslices", "-l", "kubernetes.io/service-name=web")
    lines_match(slices, [r"NAME +ADDRESSTYPE +PORTS +ENDPOINTS +AGE",
                         rf"web-{SUFFIX} +IPv4 +80 +{POD_IP},{POD_IP},{POD_IP} +{AGE}"])
    assert set(table(slices)[1][3].split(",")) == set(ips.values())    # kubectl prints ready or not

    events = page("describe", "pod", unready)
    assert re.search(r"Warning +Unhealthy +.*Readiness probe failed: HTTP probe failed with statuscode: 403", events)
    assert "Liveness probe failed" not in events
    events = page("describe", "pod", dying)
    assert re.search(r"Warning +Unhealthy +.*Liveness probe failed: HTTP probe failed with statuscode: 404", events)
    assert re.search(r"Normal +Killing +.*Container nginx failed liveness probe, will be restarted", events)

    # RESTARTS grows each time the liveness probe fails again (the second restart after the kubelet's 10 s
    # crash-loop back-off).
    page("exec", dying, "--", "rm", f"{HTML}/50x.html")
    page.advance(36)

    def restarted_again() -> None:
        now = pods(page)[dying]
        assert now[:2] == ["1/1", "Running"] and restarts(now[2]) == 2, now
    eventually(restarted_again)

    # The unready pod gets its page back: it passes its readiness probe and answers again.
    page("exec", unready, "--", "sh", "-c", f'echo "$(hostname)" > {HTML}/index.html')
    page.advance(6)

    def ready_again() -> None:
        assert pods(page)[unready][:3] == ["1/1", "Running", "0"]
        assert endpoint_readiness(page) == dict.fromkeys(found, True)
    eventually(ready_again)
    assert set(answers(page)) == {unready, healthy, "<!DOCTYPE html>"}
