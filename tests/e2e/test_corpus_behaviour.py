"""The kubernetes.io example manifests (tests/fixtures/corpus) do on the playground what they do on a real cluster.

Each scenario applies the files with the real kubectl to a fresh cluster of a live server and checks
what a learner following the matching kubernetes.io page sees with `kubectl get/describe/rollout/
logs/exec`. tests/fixtures/corpus/README.md says what a real cluster shows; where it and a real cluster
disagree, the assertions follow the real cluster (and say why).

Two servers: one with instant pulls and starts (PLAYGROUND_START_DELAYS=0) for the scenarios whose
timing does not matter, one with the real delays for the probe scenarios, whose clusters run on a
paused clock that the tests move with `manage.py cluster clock --advance` (the control loops run
asynchronously after each write or clock change, so every check polls for a bounded wall time).
"""
from __future__ import annotations

import itertools
import json
import re
import time
from collections.abc import Callable
from datetime import datetime

import pytest

from tests import live_server
from tests.fixtures import corpus_path

from .conftest import Kubectl, instant_server

WAIT = 15.0  # wall-clock seconds a check may take to come true


# ----------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def fast_server(tmp_path_factory):
    yield from instant_server(tmp_path_factory, "corpus-fast")


@pytest.fixture(scope="module")
def timed_server(tmp_path_factory):
    server = live_server.start(tmp_path_factory.mktemp("corpus-timed"))
    try:
        yield server
    finally:
        server.stop()


_numbers = itertools.count(1)


class Scenario:
    """A fresh cluster, the real kubectl against it, and its simulated clock."""

    def __init__(self, server: live_server.LiveServer, name: str) -> None:
        self.server = server
        self.user = "corpus"
        self.name = f"{name}-{next(_numbers)}"
        self.kubectl = Kubectl(server.new_cluster(self.user, self.name), server.env)

    def __call__(self, *args: str, **kwargs) -> str:
        return self.kubectl(*args, **kwargs)

    def apply(self, *files: str) -> str:
        args = []
        for name in files:
            args += ["-f", str(corpus_path(name))]
        return self.kubectl("apply", *args)

    def clock(self, *args: str) -> None:
        self.server.manage("cluster", "clock", self.user, self.name, *args)

    def advance(self, seconds: float) -> None:
        self.clock("--advance", str(seconds))

    def json(self, *args: str) -> dict:
        return self.kubectl.json(*args)

    def rows(self, *args: str) -> list[list[str]]:
        """`kubectl get … --no-headers` split into columns (RESTARTS like `1 (4s ago)` stays one column)."""
        out = self.kubectl("get", *args, "--no-headers")
        glued = (re.sub(r"(\d+) \(([^)]*)\)", lambda m: f"{m[1]}({m[2].replace(' ', '_')})", line)
                 for line in out.splitlines() if line.strip())
        return [line.split() for line in glued]


def eventually(check: Callable[[], object], timeout: float = WAIT, interval: float = 0.25):
    """Retry `check` until it stops raising AssertionError (and returns its value), for at most `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
        time.sleep(interval)


def pods_by_name(s: Scenario, *args: str) -> dict[str, list[str]]:
    """NAME → [READY, STATUS, RESTARTS, AGE] from `kubectl get pods`."""
    return {row[0]: row[1:] for row in s.rows("pods", *args)}


def all_running(s: Scenario, count: int, *args: str) -> dict[str, list[str]]:
    pods = pods_by_name(s, *args)
    assert len(pods) == count, pods
    for name, (ready, status, *_) in pods.items():
        assert status == "Running" and ready.split("/")[0] == ready.split("/")[1], (name, ready, status)
    return pods


def restarts(column: str) -> int:
    return int(column.split("(")[0])


def events_of(s: Scenario, name: str) -> str:
    """The Events section of `kubectl describe pod NAME`."""
    out = s("describe", "pod", name)
    return out[out.index("Events:"):]


def fast(fast_server, name: str) -> Scenario:
    return Scenario(fast_server, name)


# ------------------------------------------------------------------------------------- deployments
def rollout_status(s: Scenario, name: str = "nginx-deployment") -> str:
    return s("rollout", "status", f"deployment/{name}", "--timeout=30s", timeout=45)


def test_deployment_runs_two_nginx_pods(fast_server):
    s = fast(fast_server, "deployment")
    assert "deployment.apps/nginx-deployment created" in s.apply("application__deployment.yaml")
    assert 'deployment "nginx-deployment" successfully rolled out' in rollout_status(s)
    pods = eventually(lambda: all_running(s, 2, "-l", "app=nginx"))
    assert all(restarts(p[2]) == 0 for p in pods.values())
    assert s.rows("deployment", "nginx-deployment")[0][1:4] == ["2/2", "2", "2"]
    rs = s.rows("replicasets", "-l", "app=nginx")
    assert len(rs) == 1 and rs[0][1:4] == ["2", "2", "2"]
    described = s("describe", "deployment", "nginx-deployment")
    assert re.search(rf"NewReplicaSet:\s+{rs[0][0]} \(2/2 replicas created\)", described), described
    assert re.search(rf"ScalingReplicaSet\s.*Scaled up replica set {rs[0][0]} from 0 to 2", described), described
    assert "Image:         nginx:1.15" in described


def test_deployment_update_rolls_out_and_undo_goes_back(fast_server):
    s = fast(fast_server, "deployment-update")
    s.apply("application__deployment.yaml")
    rollout_status(s)
    old_rs = s.rows("replicasets", "-l", "app=nginx")[0][0]

    assert "deployment.apps/nginx-deployment configured" in s.apply("application__deployment-update.yaml")
    assert 'deployment "nginx-deployment" successfully rolled out' in rollout_status(s)
    rs = {row[0]: row[1:4] for row in s.rows("replicasets", "-l", "app=nginx")}
    assert len(rs) == 2 and rs[old_rs] == ["0", "0", "0"], rs
    new_rs = next(name for name in rs if name != old_rs)
    assert rs[new_rs] == ["2", "2", "2"]
    pods = eventually(lambda: all_running(s, 2, "-l", "app=nginx"))
    assert all(name.startswith(new_rs + "-") for name in pods)
    images = s("get", "pods", "-l", "app=nginx", "-o", "jsonpath={.items[*].spec.containers[0].image}").split()
    assert images == ["nginx:1.16.1", "nginx:1.16.1"]
    described = s("describe", "deployment", "nginx-deployment")
    assert f"NewReplicaSet:   {new_rs} (2/2 replicas created)" in described
    assert f"Scaled up replica set {new_rs} from 0 to 1" in described
    assert f"Scaled down replica set {old_rs} from 2 to" in described

    history = s("rollout", "history", "deployment/nginx-deployment")
    assert [line.split()[0] for line in history.splitlines()[2:] if line.strip()] == ["1", "2"], history

    assert "deployment.apps/nginx-deployment rolled back" in s("rollout", "undo", "deployment/nginx-deployment")
    assert 'deployment "nginx-deployment" successfully rolled out' in rollout_status(s)
    rs = {row[0]: row[1:4] for row in s.rows("replicasets", "-l", "app=nginx")}
    assert rs == {old_rs: ["2", "2", "2"], new_rs: ["0", "0", "0"]}
    eventually(lambda: all_running(s, 2, "-l", "app=nginx"))
    images = s("get", "deployment", "nginx-deployment", "-o", "jsonpath={.spec.template.spec.containers[0].image}")
    assert images == "nginx:1.15"
    # Revision 1 became revision 3, as on a real cluster.
    history = s("rollout", "history", "deployment/nginx-deployment")
    assert [line.split()[0] for line in history.splitlines()[2:] if line.strip()] == ["2", "3"], history


def test_deployment_scale(fast_server):
    # A real cluster: deployment-scale.yaml selects `app.kubernetes.io/name: nginx` while deployment.yaml
    # and deployment-update.yaml select `app: nginx`; applied over them, the apps/v1 API server refuses the
    # changed selector (spec.selector is immutable) and nothing changes.
    s = fast(fast_server, "deployment-scale")
    s.apply("application__deployment.yaml")
    rollout_status(s)
    error = s.kubectl.fails("apply", "-f", str(corpus_path("application__deployment-scale.yaml")))
    assert 'The Deployment "nginx-deployment" is invalid: spec.selector: Invalid value' in error
    assert "field is immutable" in error
    assert s.rows("deployment", "nginx-deployment")[0][1] == "2/2"
    # `kubectl scale` is what gets it to 4 on that Deployment ...
    assert "deployment.apps/nginx-deployment scaled" in s("scale", "deployment/nginx-deployment", "--replicas=4")
    rollout_status(s)
    eventually(lambda: all_running(s, 4, "-l", "app=nginx"))

    # ... and the file on its own (a fresh cluster) runs 4 replicas of nginx:1.16.1.
    fresh = fast(fast_server, "deployment-scale")
    assert "deployment.apps/nginx-deployment created" in fresh.apply("application__deployment-scale.yaml")
    assert 'successfully rolled out' in rollout_status(fresh)
    pods = eventually(lambda: all_running(fresh, 4, "-l", "app.kubernetes.io/name=nginx"))
    assert len(pods) == 4
    assert fresh.rows("deployment", "nginx-deployment")[0][1:4] == ["4/4", "4", "4"]


# ---------------------------------------------------------------------------------------- services
def test_my_nginx_service_endpointslice_lists_both_pods(fast_server):
    s = fast(fast_server, "my-nginx")
    out = s.apply("service__networking__run-my-nginx.yaml", "service__networking__nginx-svc.yaml")
    assert "deployment.apps/my-nginx created" in out and "service/my-nginx created" in out
    eventually(lambda: all_running(s, 2, "-l", "run=my-nginx"))
    ips = sorted(s("get", "pods", "-l", "run=my-nginx", "-o", "jsonpath={.items[*].status.podIP}").split())
    assert len(ips) == 2 and all(ip.startswith("10.244.") for ip in ips)
    svc = s.rows("service", "my-nginx")[0]
    assert svc[1] == "ClusterIP" and re.fullmatch(r"10\.\d+\.\d+\.\d+", svc[2]) and svc[4] == "80/TCP", svc

    def slice_lists_both():
        rows = s.rows("endpointslices", "-l", "kubernetes.io/service-name=my-nginx")
        assert len(rows) == 1, rows
        name, address_type, ports, endpoints = rows[0][:4]
        assert name.startswith("my-nginx-") and address_type == "IPv4" and ports == "80"
        assert sorted(endpoints.split(",")) == ips, rows
    eventually(slice_lists_both)


def test_php_apache_deployment_and_service_come_up(fast_server):
    # HPA scaling (kubectl autoscale + load) belongs to a later issue: here only what the file creates.
    s = fast(fast_server, "php-apache")
    out = s.apply("application__php-apache.yaml")
    assert "deployment.apps/php-apache created" in out and "service/php-apache created" in out
    assert "successfully rolled out" in rollout_status(s, "php-apache")
    pods = eventually(lambda: all_running(s, 1, "-l", "app.kubernetes.io/name=php-apache"))
    svc = s.rows("service", "php-apache")[0]
    assert svc[1] == "ClusterIP" and svc[4] == "80/TCP"
    ip = s("get", "pod", *pods, "-o", "jsonpath={.status.podIP}")

    def endpoint():
        rows = s.rows("endpointslices", "-l", "kubernetes.io/service-name=php-apache")
        assert len(rows) == 1 and rows[0][2:4] == ["80", ip], rows
    eventually(endpoint)
    requests = s("get", "deployment", "php-apache", "-o", "jsonpath={.spec.template.spec.containers[0].resources}")
    assert json.loads(requests) == {"limits": {"cpu": "500m"}, "requests": {"cpu": "200m"}}


def test_guestbook_services_and_honest_endpoints(fast_server):
    s = fast(fast_server, "guestbook")
    files = ["redis-leader-deployment", "redis-leader-service", "redis-follower-deployment",
             "redis-follower-service", "frontend-deployment", "frontend-service"]
    out = s.apply(*(f"application__guestbook__{name}.yaml" for name in files))
    for created in ("deployment.apps/redis-leader", "service/redis-leader", "deployment.apps/redis-follower",
                    "service/redis-follower", "deployment.apps/frontend", "service/frontend"):
        assert f"{created} created" in out
    eventually(lambda: all_running(s, 1, "-l", "role=leader"))
    eventually(lambda: all_running(s, 2, "-l", "role=follower"))
    frontends = eventually(lambda: all_running(s, 3, "-l", "app=guestbook,tier=frontend"))
    deployments = {row[0]: row[1] for row in s.rows("deployments")}
    assert deployments == {"redis-leader": "1/1", "redis-follower": "2/2", "frontend": "3/3"}
    services = {row[0]: row for row in s.rows("services")}
    assert services["redis-leader"][4] == "6379/TCP" and services["redis-follower"][4] == "6379/TCP"
    assert services["frontend"][4] == "80/TCP" and services["frontend"][1] == "ClusterIP"

    def ips(selector: str) -> list[str]:
        return sorted(s("get", "pods", "-l", selector, "-o", "jsonpath={.items[*].status.podIP}").split())

    def slices() -> dict[str, list[str]]:
        return {row[0].rsplit("-", 1)[0]: row[2:4] for row in s.rows("endpointslices")}

    def endpoints_settled():
        found = slices()
        assert found["redis-leader"] == ["6379", ",".join(ips("role=leader"))], found
        assert sorted(found["redis-follower"][1].split(",")) == ips("role=follower"), found
        assert found["redis-follower"][0] == "6379"
        # The frontend Service selects app.kubernetes.io/name=guestbook, but the frontend pods are labelled
        # app=guestbook: a real cluster gives it no endpoints at all.
        assert found["frontend"] == ["<unset>", "<unset>"], found
    eventually(endpoints_settled)
    described = s("describe", "service", "frontend")
    assert re.search(r"^Selector:\s+app\.kubernetes\.io/name=guestbook,tier=frontend$", described, re.M)
    assert re.search(r"^Endpoints:\s*$", described, re.M), described
    assert len(frontends) == 3


# ----------------------------------------------------------------------------------------- storage
def test_pv_claim_pod(fast_server):
    s = fast(fast_server, "storage")
    assert "persistentvolume/task-pv-volume created" in s.apply("pods__storage__pv-volume.yaml")
    pv = s.rows("pv", "task-pv-volume")[0]
    assert pv[1:5] == ["10Gi", "RWO", "Retain", "Available"] and pv[5] == "manual", pv
    assert "persistentvolumeclaim/task-pv-claim created" in s.apply("pods__storage__pv-claim.yaml")

    def bound():
        pv = s.rows("pv", "task-pv-volume")[0]
        assert pv[1:7] == ["10Gi", "RWO", "Retain", "Bound", "default/task-pv-claim", "manual"], pv
        pvc = s.rows("pvc", "task-pv-claim")[0]
        assert pvc[1:6] == ["Bound", "task-pv-volume", "10Gi", "RWO", "manual"], pvc
    eventually(bound)
    assert "pod/task-pv-pod created" in s.apply("pods__storage__pv-pod.yaml")
    eventually(lambda: all_running(s, 1, "task-pv-pod"))
    described = s("describe", "pod", "task-pv-pod")
    assert re.search(r"/usr/share/nginx/html from task-pv-storage \(rw\)", described)
    assert re.search(r"ClaimName:\s+task-pv-claim", described)


# -------------------------------------------------------------------------------------- controllers
def test_frontend_replicaset_replaces_a_deleted_pod(fast_server):
    s = fast(fast_server, "frontend")
    assert "replicaset.apps/frontend created" in s.apply("controllers__frontend.yaml")
    pods = eventually(lambda: all_running(s, 3, "-l", "tier=frontend"))
    assert s.rows("rs", "frontend")[0][1:4] == ["3", "3", "3"]
    victim = sorted(pods)[0]
    assert f'pod "{victim}" deleted' in s("delete", "pod", victim, timeout=60)

    def replaced():
        now = all_running(s, 3, "-l", "tier=frontend")
        assert victim not in now and len(set(now) - set(pods)) == 1, now
    eventually(replaced)
    assert s.rows("rs", "frontend")[0][1:4] == ["3", "3", "3"]
    assert "SuccessfulCreate" in s("describe", "rs", "frontend")


def test_daemonset_runs_where_its_tolerations_allow(fast_server):
    # The file tolerates node-role.kubernetes.io/master, which no v1.37 node carries; the control-plane
    # node's taint is node-role.kubernetes.io/control-plane:NoSchedule, so only the 2 workers get a pod.
    s = fast(fast_server, "daemonset")
    assert "Taints:             node-role.kubernetes.io/control-plane:NoSchedule" in s("describe", "node",
                                                                                     "control-plane")
    assert "daemonset.apps/fluentd-elasticsearch created" in s.apply("controllers__daemonset.yaml")

    def settled():
        ds = s.rows("daemonset", "fluentd-elasticsearch", "-n", "kube-system")[0]
        assert ds[1:6] == ["2", "2", "2", "2", "2"], ds
        pods = all_running(s, 2, "-n", "kube-system", "-l", "name=fluentd-elasticsearch")
        nodes = s("get", "pods", "-n", "kube-system", "-l", "name=fluentd-elasticsearch",
                  "-o", "jsonpath={.items[*].spec.nodeName}").split()
        assert sorted(nodes) == ["worker-1", "worker-2"], nodes
        return pods
    eventually(settled)


# -------------------------------------------------------------------------------------------- pods
def test_envars_printed_by_exec(fast_server):
    s = fast(fast_server, "envars")
    assert "pod/envar-demo created" in s.apply("pods__inject__envars.yaml")
    eventually(lambda: all_running(s, 1, "envar-demo"))
    result = s.kubectl.run("exec", "envar-demo", "--", "printenv", check=False)
    if result.returncode != 0 and "WebSocket" in result.stderr + result.stdout and "upgrade" in result.stderr:
        pytest.xfail(f"kubectl exec not served yet: {result.stderr.strip()}")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "DEMO_GREETING=Hello from the environment" in lines
    assert "DEMO_FAREWELL=Such a sweet sorrow" in lines
    assert "HOSTNAME=envar-demo" in lines


def test_envfrom_waits_for_its_configmap(fast_server):
    s = fast(fast_server, "envfrom")
    assert "pod/dapi-test-pod created" in s.apply("pods__pod-configmap-envFrom.yaml")

    def config_error():
        row = s.rows("pod", "dapi-test-pod")[0]
        assert row[1:3] == ["0/1", "CreateContainerConfigError"], row
        assert 'Error: configmap "special-config" not found' in events_of(s, "dapi-test-pod")
    eventually(config_error)
    assert re.search(r"Reason:\s+CreateContainerConfigError", s("describe", "pod", "dapi-test-pod"))

    s("create", "configmap", "special-config", "--from-literal=SPECIAL_LEVEL=very",
      "--from-literal=SPECIAL_TYPE=charm")

    # restartPolicy Never and `env` exits 0: it runs once and completes.
    def completed():
        row = s.rows("pod", "dapi-test-pod")[0]
        assert row[1:4] == ["0/1", "Completed", "0"], row
    eventually(completed)
    logs = s("logs", "dapi-test-pod").splitlines()
    assert "SPECIAL_LEVEL=very" in logs and "SPECIAL_TYPE=charm" in logs
    assert "Started container test-container" in events_of(s, "dapi-test-pod")


def test_pod_nginx_waits_for_a_node_with_disktype_ssd(fast_server):
    s = fast(fast_server, "pod-nginx")
    assert "pod/nginx created" in s.apply("pods__pod-nginx.yaml")

    def unschedulable():
        row = s.rows("pod", "nginx")[0]
        assert row[1:3] == ["0/1", "Pending"], row
        events = events_of(s, "nginx")
        assert "FailedScheduling" in events and "default-scheduler" in events, events
        return events
    events = " ".join(eventually(unschedulable).split())
    # kube-scheduler's reasons, sorted, with the control-plane node's taint first (filters stop at the first).
    assert ("0/3 nodes are available: 1 node(s) had untolerated taint(s), "
            "2 node(s) didn't match Pod's node affinity/selector.") in events, events
    assert "preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling." in events
    assert "Node-Selectors:              disktype=ssd" in s("describe", "pod", "nginx")

    assert "node/worker-1 labeled" in s("label", "node", "worker-1", "disktype=ssd")

    def running_on_worker_1():
        all_running(s, 1, "nginx")
        assert s("get", "pod", "nginx", "-o", "jsonpath={.spec.nodeName}") == "worker-1"
    eventually(running_on_worker_1)
    assert "Successfully assigned default/nginx to worker-1" in events_of(s, "nginx")


# --------------------------------------------------------------------------- probes (real timing)
def timed(timed_server, name: str, *files: str) -> Scenario:
    """A cluster on a paused clock, with the files applied at its simulated time 0."""
    s = Scenario(timed_server, name)
    s.clock("--pause")
    s.apply(*files)
    return s


def pod_row(s: Scenario, name: str) -> list[str]:
    return s.rows("pod", name)[0][1:4]  # READY, STATUS, RESTARTS


def _seconds(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def test_exec_liveness_restarts_after_the_grace_period(timed_server):
    s = timed(timed_server, "exec-liveness", "pods__probe__exec-liveness.yaml")
    s.advance(25)

    def healthy():
        assert pod_row(s, "liveness-exec") == ["1/1", "Running", "0"]
    eventually(healthy)
    assert "Unhealthy" not in events_of(s, "liveness-exec")  # /tmp/healthy exists for the first 30 s

    # 30 s after the start `rm -f /tmp/healthy`; three failed probes (period 5 s) later the kubelet kills it.
    s.advance(25)  # t = 50 s

    def killing():
        events = events_of(s, "liveness-exec")
        assert "Liveness probe failed: cat: can't open '/tmp/healthy': No such file or directory" in events
        assert "Container liveness failed liveness probe, will be restarted" in events
        assert re.search(r"Unhealthy\s+\S+ \(x3 over \S+\)", events), events
        return events
    eventually(killing)
    # A real cluster: sh is PID 1 and ignores SIGTERM, so the container keeps running (and Ready: it has no
    # readiness probe) through the 30 s termination grace period until SIGKILL; RESTARTS is still 0.
    assert pod_row(s, "liveness-exec") == ["1/1", "Running", "0"]

    s.advance(30)  # t = 80 s

    def restarted():
        ready, status, count = pod_row(s, "liveness-exec")
        assert restarts(count) == 1 and status == "Running", (ready, status, count)
    eventually(restarted)
    status = s.json("get", "pod", "liveness-exec")["status"]["containerStatuses"][0]
    last = status["lastState"]["terminated"]
    assert (last["exitCode"], last["reason"]) == (137, "Error")   # SIGKILL
    ran = _seconds(last["finishedAt"]) - _seconds(last["startedAt"])
    assert 65 <= ran <= 80, ran  # ~35-45 s to the kill, then the 30 s grace period
    described = s("describe", "pod", "liveness-exec")
    assert re.search(r"Last State:\s+Terminated\s+Reason:\s+Error\s+Exit Code:\s+137", described), described
    assert re.search(r"Restart Count:\s+1", described)

    # ... and it keeps failing and restarting.
    s.advance(160)

    def restarted_again():
        assert restarts(pod_row(s, "liveness-exec")[2]) >= 2
    eventually(restarted_again)


def test_http_liveness_restarts_on_status_500(timed_server):
    s = timed(timed_server, "http-liveness", "pods__probe__http-liveness.yaml")
    s.advance(9)

    def healthy():
        assert pod_row(s, "liveness-http") == ["1/1", "Running", "0"]
    eventually(healthy)
    assert "Unhealthy" not in events_of(s, "liveness-http")  # /healthz answers 200 for the first 10 s

    s.advance(21)  # t = 30 s: failures at ~12, 15, 18 s after the start, then the restart

    def restarted():
        events = events_of(s, "liveness-http")
        assert "Liveness probe failed: HTTP probe failed with statuscode: 500" in events, events
        assert "Container liveness failed liveness probe, will be restarted" in events
        assert restarts(pod_row(s, "liveness-http")[2]) >= 1
    eventually(restarted)
    assert re.search(r"Restart Count:\s+[1-9]", s("describe", "pod", "liveness-http"))


def test_tcp_readiness_after_fifteen_seconds(timed_server):
    s = timed(timed_server, "tcp-probes", "pods__probe__tcp-liveness-readiness.yaml")
    s.advance(10)

    def running_not_ready():
        assert pod_row(s, "goproxy") == ["0/1", "Running", "0"]
    eventually(running_not_ready)  # readiness' initialDelaySeconds is 15

    s.advance(5)  # t = 15 s: the container started a second or two after the apply (pull, create)
    assert pod_row(s, "goproxy") == ["0/1", "Running", "0"]
    s.advance(3)  # t = 18 s

    def ready():
        assert pod_row(s, "goproxy") == ["1/1", "Running", "0"]
    eventually(ready)
    status = s.json("get", "pod", "goproxy")["status"]
    ready_at = _seconds(next(c["lastTransitionTime"] for c in status["conditions"] if c["type"] == "Ready"))
    started = _seconds(status["containerStatuses"][0]["state"]["running"]["startedAt"])
    assert 14 <= ready_at - started <= 18, ready_at - started

    s.advance(120)
    time.sleep(1)
    eventually(ready)
    events = events_of(s, "goproxy")
    assert "Unhealthy" not in events and "Killing" not in events
