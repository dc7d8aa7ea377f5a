"""Operator controls of a live cluster: the simulated clock and failing/recovering a node."""
from __future__ import annotations

import time

import pytest

from .conftest import Kubectl


def wait_for(check, timeout: float = 20.0, interval: float = 0.3):
    """Poll until check() returns a truthy value: the control loops run after each write, asynchronously."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last: {last!r})")


@pytest.fixture(scope="module")
def controls(playground) -> tuple[Kubectl, callable]:
    path = playground.new_cluster("carol", "controls")
    kubectl = Kubectl(path, playground.env)

    def clock(*args: str) -> str:
        return playground.manage("cluster", "clock", "carol", "controls", *args).stdout

    return kubectl, clock, playground


def test_clock_advance_and_pause(controls):
    kubectl, clock, _ = controls
    kubectl("create", "configmap", "marker")
    out = clock("--advance", "3600")
    assert "clock running at 1x" in out
    age = kubectl("get", "configmap", "marker", "--no-headers").split()[-1]
    assert age in ("60m", "61m"), age
    assert "paused" in clock("--pause")
    frozen = kubectl("get", "configmap", "marker", "--no-headers").split()[-1]
    time.sleep(1.2)
    assert kubectl("get", "configmap", "marker", "--no-headers").split()[-1] == frozen
    assert "running at 60x" in clock("--resume") + clock("--speed", "60")
    failed = controls[2].manage("cluster", "clock", "carol", "controls", "--speed", "500", check=False)
    assert failed.returncode != 0 and "speed must be between 1 and 60" in failed.stderr
    clock("--speed", "1")


def test_pods_start_and_a_failed_node_goes_not_ready_and_loses_its_pods(controls):
    kubectl, clock, playground = controls
    kubectl("create", "deployment", "spread", "--image=nginx:1.27", "--replicas=4")
    wait_for(lambda: kubectl("get", "deploy", "spread", "-o", "jsonpath={.status.readyReplicas}") == "4")
    on_worker1 = [line.split()[0] for line in kubectl("get", "pods", "-o", "wide", "--no-headers").splitlines()
                  if line.split()[6] == "worker-1"]
    assert on_worker1, "the scheduler spreads replicas over both workers"
    playground.manage("cluster", "node", "carol", "controls", "worker-1", "--fail")
    clock("--advance", "60")  # past the node monitor grace period
    wait_for(lambda: "NotReady" in kubectl("get", "node", "worker-1", "--no-headers"))
    taints = kubectl("get", "node", "worker-1", "-o", "jsonpath={.spec.taints[*].key}")
    assert "node.kubernetes.io/unreachable" in taints
    clock("--advance", "320")  # past the default 300 s toleration: the pods are evicted and replaced
    wait_for(lambda: all(name not in kubectl("get", "pods", "--no-headers") for name in on_worker1)
             or "Terminating" in kubectl("get", "pods", "--no-headers"))
    wait_for(lambda: kubectl("get", "deploy", "spread", "-o", "jsonpath={.status.readyReplicas}") == "4")
    playground.manage("cluster", "node", "carol", "controls", "worker-1", "--recover")
    wait_for(lambda: kubectl("get", "node", "worker-1", "--no-headers").split()[1] == "Ready")
