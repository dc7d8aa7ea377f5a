"""kubernetes.io "HorizontalPodAutoscaler Walkthrough" (tasks/run-application/horizontal-pod-autoscale-walkthrough),
its commands as written, with the real kubectl against a classroom-mode playground.

php-apache (the page's php-apache.yaml: hpa-example, CPU request 200m, limit 500m) and its Service;
`kubectl autoscale deployment php-apache --cpu-percent=50 --min=1 --max=10`; `kubectl get hpa` first shows
`cpu: <unknown>/50%` and then `cpu: 0%/50%`; the busybox load generator in an interactive `kubectl run -i
--tty … --rm` drives the one pod far above its target (the page shows about 250%), the HPA's watch climbs,
the Deployment grows to several replicas (the page: 5–7) and settles near 50%; Ctrl-C ends the load (and
`--rm` deletes the pod), and the HPA goes back to 1 replica only after the 5-minute scale-down stabilization
window. The cluster runs at 60× so the page's minutes are seconds: the windows are simulated time.

Where the page's output is older than a current cluster's (`Deployment/php-apache/scale   305% / 50%`,
TARGET), the assertions follow kubectl 1.37 against a real 1.37 cluster (`Deployment/php-apache   cpu:
250%/50%`, TARGETS).

Also here, on the same server: `kubectl top` (nodes, pods, --containers, -A, --sort-by) following the load;
a v2 HPA whose behavior policy limits each step; an HPA on a StatefulSet; the missing-request failure.
"""
from __future__ import annotations

import re
import time

import pytest

from tests.fixtures import CORPUS

from .tutorial import HASH, SUFFIX, Page, classroom_server, eventually, table

pytestmark = pytest.mark.e2e

LOAD = ("run", "-i", "--tty", "load-generator", "--rm", "--image=busybox:1.28", "--restart=Never", "--",
        "/bin/sh", "-c", "while sleep 0.01; do wget -q -O- http://php-apache; done")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from classroom_server(tmp_path_factory, "tutorial-hpa", PLAYGROUND_START_DELAYS="0")


@pytest.fixture(scope="module")
def page(server) -> Page:
    return Page(server, "hpa")


def hpa_row(page: Page, name: str = "php-apache") -> list[str]:
    rows = table(page("get", "hpa", name))
    assert rows[0] == ["NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS", "AGE"], rows
    return rows[1]


def utilisation(row: list[str]) -> int | None:
    """The TARGETS column's current value: `cpu: 250%/50%` → 250, `cpu: <unknown>/50%` → None."""
    found = re.fullmatch(r"(\d+)%/50%", row[3])
    return int(found[1]) if found else None


def replicas(page: Page, name: str = "php-apache") -> int:
    return int(page.json("get", "deployment", name)["spec"]["replicas"])


def test_the_walkthrough(page: Page):
    assert page.apply(CORPUS / "application__php-apache.yaml") == (
        "deployment.apps/php-apache created\nservice/php-apache created\n")
    page.running(1, "-l", "app.kubernetes.io/name=php-apache", timeout=60)
    assert page("autoscale", "deployment", "php-apache", "--cpu-percent=50", "--min=1", "--max=10") == (
        "horizontalpodautoscaler.autoscaling/php-apache autoscaled\n")
    page.clock("--speed", "60")

    # Before the first sync the controller has nothing; then metrics-server's figures: about 0% at rest.
    def at_rest() -> list[str]:
        row = hpa_row(page)
        assert row[:3] == ["php-apache", "Deployment/php-apache", "cpu:"] and row[4:7] == ["1", "10", "1"], row
        assert utilisation(row) is not None and utilisation(row) < 10, row
        return row
    eventually(at_rest, timeout=60)

    with page.watch("hpa", "php-apache") as watch, page.terminal(*LOAD, prompt="") as load:
        watch.until(r"^php-apache\s+Deployment/php-apache\s+cpu: \d+%/50%\s+1\s+10\s+1\s")
        # The load generator's wget prints each answer, OK!, with no newline.
        load.term.until("OK!OK!OK!", timeout=30)

        # At 60× the climb and the first scale-up are a second apart: the watch keeps every row it printed.
        climbed = watch.until(r"^php-apache\s+Deployment/php-apache\s+cpu: (1[5-9]\d|2\d\d)%/50%\s+1\s+10\s+1\s",
                              timeout=60)[-1]
        peak = int(re.search(r"cpu: (\d+)%", climbed)[1])
        assert peak <= 260     # one pod is throttled at its 500m limit: at most 250% of its 200m request

        def grown() -> int:
            count = replicas(page)
            assert 3 <= count <= 8, count     # the page: 5–7 (see the module docstring)
            row = hpa_row(page)
            assert utilisation(row) is not None and 30 <= utilisation(row) <= 60, row
            return count
        settled = eventually(grown, timeout=90)
        watch.until(rf"^php-apache\s+Deployment/php-apache\s+cpu: \d+%/50%\s+1\s+10\s+{settled}\s")
        # At 60× one more sync (a quarter of a second) may still add a replica: the Deployment shows whatever
        # the autoscaler settled on, every replica ready.
        def ready() -> list[str]:
            deployment = table(page("get", "deployment", "php-apache"))
            assert deployment[0] == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
            count = int(deployment[1][2])
            assert 3 <= count <= 8 and abs(count - settled) <= 1, (settled, deployment[1])
            assert deployment[1][:4] == ["php-apache", f"{count}/{count}", str(count), str(count)], deployment[1]
            return deployment[1]
        settled = int(eventually(ready, timeout=60)[2])

        described = page("describe", "hpa", "php-apache")
        assert re.search(r"New size: \d+; reason: cpu resource utilization \(percentage of request\) above target",
                         described), described
        assert "<invalid>" not in described
        load.term.type("\x03")     # Ctrl-C: the shell loop ends, kubectl deletes the pod (--rm)
        load.term.until(r'pod "load-generator" deleted', timeout=30)

    page.gone("pod", "load-generator", timeout=30)
    # The load is gone: the figures drop at once, the replica count only after the 300 s window.
    stopped = time.monotonic()

    def idle() -> None:
        row = hpa_row(page)
        assert utilisation(row) is not None and utilisation(row) < 10, row
    eventually(idle, timeout=30)
    assert replicas(page) >= settled     # still inside the scale-down stabilization window: nothing removed
    eventually(lambda: _assert_equal(replicas(page), 1), timeout=60)
    assert time.monotonic() - stopped >= 300 / 60 - 1    # not before 5 simulated minutes
    described = page("describe", "hpa", "php-apache")
    assert "New size: 1; reason: All metrics below target" in described, described
    page.clock("--speed", "1")


def _assert_equal(value, expected) -> None:
    assert value == expected, value


def test_kubectl_top_follows_the_load(page: Page):
    nodes = table(page("top", "nodes"))
    assert nodes[0] == ["NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)", "MEMORY(%)"]
    assert sorted(row[0] for row in nodes[1:]) == ["control-plane", "worker-1", "worker-2"]
    for row in nodes[1:]:
        assert re.fullmatch(r"\d+m", row[1]) and re.fullmatch(r"\d+%", row[2]), row
        assert re.fullmatch(r"\d+Mi", row[3]) and re.fullmatch(r"\d+%", row[4]), row
    pods = table(page("top", "pods", "-A", "--sort-by=memory"))
    assert pods[0] == ["NAMESPACE", "NAME", "CPU(cores)", "MEMORY(bytes)"]
    memory = [int(row[3].rstrip("Mi")) for row in pods[1:]]
    assert memory == sorted(memory, reverse=True) and pods[1][1] == "kube-apiserver-control-plane"
    containers = table(page("top", "pods", "-n", "kube-system", "--containers", "-l", "k8s-app=kube-dns"))
    assert containers[0] == ["POD", "NAME", "CPU(cores)", "MEMORY(bytes)"]
    assert [row[1] for row in containers[1:]] == ["coredns", "coredns"]
    missing = page.run("top", "pod", "no-such-pod", check=False)
    assert missing.returncode != 0 and 'podmetrics.metrics.k8s.io "default/no-such-pod" not found' in missing.stderr


def test_a_pod_without_a_cpu_request_cannot_be_autoscaled(page: Page):
    page.apply_yaml({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "norequest"},
        "spec": {"selector": {"matchLabels": {"app": "norequest"}},
                 "template": {"metadata": {"labels": {"app": "norequest"}},
                              "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}})
    page.running(1, "-l", "app=norequest", timeout=60)
    page("autoscale", "deployment", "norequest", "--cpu-percent=50", "--max=3")
    page.clock("--speed", "60")
    try:
        def failing() -> str:
            described = page("describe", "hpa", "norequest")
            assert re.search(r"ScalingActive\s+False\s+FailedGetResourceMetric\s+the HPA was unable to compute "
                             r"the replica count: failed to get cpu utilization: missing request for cpu in "
                             rf"container web of Pod norequest-{HASH}-{SUFFIX}", described), described
            assert "FailedGetResourceMetric" in described
            return described
        eventually(failing, timeout=60)
        row = table(page("get", "hpa", "norequest"))[1]
        assert row[2:4] == ["cpu:", "<unknown>/50%"], row
    finally:
        page.clock("--speed", "1")


def test_a_behavior_policy_limits_each_step_and_a_statefulset_scales(page: Page):
    """A v2 HPA whose scaleUp policy allows one pod a minute (and no scale-down), on a StatefulSet of
    hpa-example under the same load generator as the walkthrough (kubectl run without a terminal)."""
    page.apply_yaml("""\
apiVersion: v1
kind: Service
metadata:
  name: busy
spec:
  clusterIP: None
  selector:
    app: busy
  ports:
  - port: 80
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: busy
spec:
  serviceName: busy
  replicas: 1
  selector:
    matchLabels:
      app: busy
  template:
    metadata:
      labels:
        app: busy
    spec:
      containers:
      - name: php
        image: registry.k8s.io/hpa-example
        ports:
        - containerPort: 80
        resources:
          requests:
            cpu: 200m
          limits:
            cpu: 500m
---
apiVersion: v1
kind: Service
metadata:
  name: busy-front
spec:
  selector:
    app: busy
  ports:
  - port: 80
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: busy
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: StatefulSet
    name: busy
  minReplicas: 1
  maxReplicas: 6
  metrics:
  - type: Resource
    resource:
      name: cpu
      target:
        type: Utilization
        averageUtilization: 50
  behavior:
    scaleUp:
      policies:
      - type: Pods
        value: 1
        periodSeconds: 60
    scaleDown:
      selectPolicy: Disabled
""")
    page.running(1, "-l", "app=busy", timeout=60)
    page("run", "busy-load", "--image=busybox:1.28", "--restart=Never", "--",
         "/bin/sh", "-c", "while sleep 0.01; do wget -q -O- http://busy-front; done")
    page.clock("--speed", "60")
    try:
        def two() -> None:
            assert int(page.json("get", "statefulset", "busy")["spec"]["replicas"]) >= 2
        eventually(two, timeout=60)
        # One pod a minute: the scale events in the HPA's events are one apart, never a jump.
        page.clock("--pause")
        hpa = page.json("get", "hpa", "busy")
        conditions = {c["type"]: c for c in hpa["status"]["conditions"]}
        assert conditions["AbleToScale"]["status"] == "True"
        events = page("get", "events", "--field-selector", "involvedObject.name=busy,reason=SuccessfulRescale",
                      "-o", "jsonpath={range .items[*]}{.message}{'\\n'}{end}")
        sizes = sorted(int(m.split(";")[0].removeprefix("New size: ")) for m in events.splitlines() if m)
        assert sizes and sizes == list(range(2, 2 + len(sizes))), events
        pods = page.pods("-l", "app=busy")
        assert sorted(pods)[:2] == ["busy-0", "busy-1"]       # a StatefulSet's ordinal names
        if hpa["status"]["desiredReplicas"] > hpa["status"]["currentReplicas"]:
            assert conditions["ScalingLimited"]["reason"] == "ScaleUpLimit", conditions
    finally:
        page.clock("--resume")
        page.clock("--speed", "1")
        page("delete", "pod", "busy-load", "--wait=false")


def test_a_container_over_its_memory_limit_is_oom_killed(page: Page):
    """kubernetes.io "Assign Memory Resources to Containers and Pods": memory-request-limit-2.yaml."""
    page.apply_yaml("""\
apiVersion: v1
kind: Pod
metadata:
  name: memory-demo-2
spec:
  containers:
  - name: memory-demo-2-ctr
    image: polinux/stress
    resources:
      requests:
        memory: "50Mi"
      limits:
        memory: "100Mi"
    command: ["stress"]
    args: ["--vm", "1", "--vm-bytes", "250M", "--vm-hang", "1"]
""")

    def killed() -> dict:
        pod = page.json("get", "pod", "memory-demo-2")
        status = pod["status"]["containerStatuses"][0]
        terminated = (status.get("lastState") or {}).get("terminated") or (status.get("state") or {}).get(
            "terminated")
        assert terminated and terminated["reason"] == "OOMKilled" and terminated["exitCode"] == 137, status
        return pod
    eventually(killed, timeout=60)
    described = page("describe", "pod", "memory-demo-2")
    assert re.search(r"Reason:\s+OOMKilled", described) and re.search(r"Exit Code:\s+137", described), described
    page("delete", "pod", "memory-demo-2", "--wait=false")
