"""Volumes hold data, with the real kubectl against a live playground.

The PV tutorial's steps (a hostPath PersistentVolume, a claim, an nginx pod; the page written through
`kubectl exec`; the pod deleted and created again on the same node, and the page still there), a StatefulSet pod's data
surviving `kubectl delete pod`, and the docs' two-container pod sharing an emptyDir. The server runs with
PLAYGROUND_START_DELAYS=0 (pulls and starts are instant).
"""
from __future__ import annotations

import time

import pytest
import yaml

from tests.fixtures import corpus_path

from .conftest import Kubectl, instant_server

TWO_CONTAINERS = """\
apiVersion: v1
kind: Pod
metadata:
  name: two-containers
spec:
  restartPolicy: Never
  volumes:
  - name: shared-data
    emptyDir: {}
  containers:
  - name: nginx-container
    image: nginx
    volumeMounts:
    - name: shared-data
      mountPath: /usr/share/nginx/html
  - name: debian-container
    image: debian
    volumeMounts:
    - name: shared-data
      mountPath: /pod-data
    command: ["/bin/sh"]
    args: ["-c", "echo Hello from the debian container > /pod-data/index.html"]
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from instant_server(tmp_path_factory, "volumes-data")


@pytest.fixture(scope="module")
def k(server) -> Kubectl:
    return Kubectl(server.new_cluster("alice", "volumes"), server.env)


def wait_running(k: Kubectl, pod: str, uid_not: str | None = None, timeout: float = 60) -> dict:
    """The pod once Running (a new one, when uid_not names the one it replaces)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        result = k.run("get", "pod", pod, "-o", "json", check=False)
        if result.returncode == 0:
            found = yaml.safe_load(result.stdout)
            if found["status"].get("phase") == "Running" and found["metadata"]["uid"] != uid_not:
                return found
        time.sleep(0.3)
    raise AssertionError(f"pod {pod} not Running: {k('get', 'pod', pod, check=False)}")


def test_the_pv_tutorial(k):
    for name in ("pods__storage__pv-volume.yaml", "pods__storage__pv-claim.yaml"):
        k("apply", "-f", str(corpus_path(name)))
    k("apply", "-f", str(corpus_path("pods__storage__pv-pod.yaml")))
    first = wait_running(k, "task-pv-pod")
    assert "Bound" in k("get", "pvc", "task-pv-claim")
    assert k("exec", "task-pv-pod", "--", "ls", "/usr/share/nginx/html") == ""    # the volume covers the image's
    k("exec", "task-pv-pod", "--", "sh", "-c",
      "echo 'Hello from Kubernetes storage' > /usr/share/nginx/html/index.html")
    assert k("exec", "task-pv-pod", "--", "cat", "/usr/share/nginx/html/index.html") == \
        "Hello from Kubernetes storage\n"
    assert k("exec", "task-pv-pod", "--", "curl", "-s", "http://localhost/") == "Hello from Kubernetes storage\n"
    k("delete", "pod", "task-pv-pod")
    # The tutorial's cluster has one node; here the pod comes back to the node whose /mnt/data holds the page
    # (a hostPath PV is a directory of one node: on another node the pod would find that node's, empty).
    again = yaml.safe_load(corpus_path("pods__storage__pv-pod.yaml").read_text())
    again["spec"]["nodeName"] = first["spec"]["nodeName"]
    k("apply", "-f", "-", input=yaml.safe_dump(again))
    wait_running(k, "task-pv-pod", uid_not=first["metadata"]["uid"])
    assert k("exec", "task-pv-pod", "--", "cat", "/usr/share/nginx/html/index.html") == \
        "Hello from Kubernetes storage\n"
    assert k("exec", "task-pv-pod", "--", "curl", "-s", "http://localhost/") == "Hello from Kubernetes storage\n"
    k("delete", "pod", "task-pv-pod")


def test_a_statefulset_pod_keeps_its_data_through_kubectl_delete_pod(k):
    k("apply", "-f", str(corpus_path("application__web__web.yaml")))
    for i in (0, 1):
        wait_running(k, f"web-{i}")
    for i in (0, 1):
        k("exec", f"web-{i}", "--", "sh", "-c", 'echo "$(hostname)" > /usr/share/nginx/html/index.html')
    assert [k("exec", f"web-{i}", "--", "curl", "-s", "http://localhost/") for i in (0, 1)] == ["web-0\n", "web-1\n"]
    old = yaml.safe_load(k("get", "pod", "web-0", "-o", "json"))["metadata"]["uid"]
    k("delete", "pod", "web-0")
    wait_running(k, "web-0", uid_not=old)
    assert k("exec", "web-0", "--", "cat", "/usr/share/nginx/html/index.html") == "web-0\n"
    assert k("exec", "web-0", "--", "curl", "-s", "http://localhost/") == "web-0\n"


def test_the_two_container_pod_shares_an_empty_dir(k):
    k("apply", "-f", "-", input=TWO_CONTAINERS)
    deadline = time.time() + 60
    while "Hello" not in k("exec", "two-containers", "-c", "nginx-container", "--", "cat",
                           "/usr/share/nginx/html/index.html", check=False) and time.time() < deadline:
        time.sleep(0.3)
    assert k("exec", "two-containers", "-c", "nginx-container", "--", "cat", "/usr/share/nginx/html/index.html") == \
        "Hello from the debian container\n"
    assert k("exec", "two-containers", "-c", "nginx-container", "--", "curl", "-s", "localhost") == \
        "Hello from the debian container\n"


def test_writes_outside_volumes_stay_in_the_container_and_projections_are_read_only(k):
    k("create", "configmap", "settings", "--from-literal=color=blue")
    k("run", "box", "--image=busybox", "--overrides",
      '{"spec": {"volumes": [{"name": "c", "configMap": {"name": "settings"}}], "containers": [{"name": "box", '
      '"image": "busybox", "command": ["sleep", "3600"], '
      '"volumeMounts": [{"name": "c", "mountPath": "/etc/config"}]}]}}')
    wait_running(k, "box")
    k("exec", "box", "--", "sh", "-c", "echo note > /tmp/note")
    assert k("exec", "box", "--", "cat", "/tmp/note") == "note\n"
    assert k("exec", "box", "--", "cat", "/etc/config/color") == "blue"
    result = k.run("exec", "box", "--", "sh", "-c", "echo x > /etc/config/x", check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("sh: can't create /etc/config/x: Read-only file system\n")
    result = k.run("exec", "box", "--", "sh", "-c", "curl http://box", check=False)
    assert result.returncode == 127 and result.stderr.startswith("sh: curl: not found\n")
