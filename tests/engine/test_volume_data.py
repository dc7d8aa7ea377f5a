"""Volumes hold data: what containers write lives as long as the volume it was written into.

An emptyDir lives and dies with its pod and is shared by the pod's containers (the docs' two-container
pod); a PersistentVolumeClaim's data survives the pod and is there for the next pod of the claim (the PV
tutorial's second pod, a StatefulSet's pod recreated); a hostPath is the node's; anything else is the
container's own layer, gone when it restarts. `kubectl exec` writes stay (logs.exec_and_keep, as the API's
exec keeps them); a program's writes into a volume stay when it ends. Every store is bounded:
`No space left on device` past it.
"""
from __future__ import annotations

import pytest

from clusters.engine.controllers.podutil import delete_pod
from clusters.engine.kubelet import logs, volumedata
from tests.engine.conftest import T0, apply, new_state, run
from tests.fixtures import corpus_documents, corpus_object

TWO_CONTAINERS = {  # kubernetes/website content/en/examples/pods/two-container-pod.yaml
    "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "two-containers", "namespace": "default"},
    "spec": {"restartPolicy": "Never", "volumes": [{"name": "shared-data", "emptyDir": {}}],
             "containers": [{"name": "nginx-container", "image": "nginx",
                             "volumeMounts": [{"name": "shared-data", "mountPath": "/usr/share/nginx/html"}]},
                            {"name": "debian-container", "image": "debian",
                             "volumeMounts": [{"name": "shared-data", "mountPath": "/pod-data"}],
                             "command": ["/bin/sh"],
                             "args": ["-c", "echo Hello from the debian container > /pod-data/index.html"]}]}}


def fresh():
    state = new_state()
    state.config["start_delays"] = False
    return state


def ex(state, name: str, *argv: str, container: str | None = None) -> tuple[int, str, str]:
    answer = logs.exec_and_keep(state, state.get("Pod", "default", name), container, list(argv))
    state.commit()
    return answer


def page(state, name: str, path: str = "/", container: str | None = None):
    _name, program, _run = logs.running_program(state, state.get("Pod", "default", name), container)
    return program.http(80, path, state.now)


def log_lines(state, name: str, container: str | None = None, previous: bool = False) -> list[str]:
    found = logs.container_logs(state, state.get("Pod", "default", name), container, previous=previous)
    return [line.text for line in found.lines]


def remove(state, name: str, until: float = 40) -> None:
    """`kubectl delete pod`: graceful deletion, the kubelet stops it and it goes."""
    delete_pod(state, state.get("Pod", "default", name))
    run(state, state.now + until)
    assert state.get("Pod", "default", name) is None or state.get("Pod", "default", name)["metadata"].get(
        "uid") is not None


def busybox(name: str, script: str, mounts: list[dict], volumes: list[dict], **spec) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
            "spec": {"containers": [{"name": "box", "image": "busybox", "command": ["sh", "-c", script],
                                     "volumeMounts": mounts}], "volumes": volumes, **spec}}


# ----------------------------------------------------------------------------------------- emptyDir
def test_the_two_container_pod_shares_its_empty_dir():
    state = fresh()
    apply(state, TWO_CONTAINERS)
    run(state, T0 + 10)
    pod = state.get("Pod", "default", "two-containers")
    states = {c["name"]: next(iter(c["state"])) for c in pod["status"]["containerStatuses"]}
    assert states == {"nginx-container": "running", "debian-container": "terminated"}
    assert ex(state, "two-containers", "cat", "/usr/share/nginx/html/index.html", container="nginx-container") == \
        (0, "Hello from the debian container\n", "")
    assert page(state, "two-containers", container="nginx-container") == (200, "Hello from the debian container\n")


SIDECAR = {  # the "Sidecar containers" concept page's example, as a Pod
    "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "myapp", "namespace": "default"},
    "spec": {"containers": [{"name": "myapp", "image": "alpine:latest",
                             "command": ["sh", "-c", 'while true; do echo "logging" >> /opt/logs.txt; sleep 1; done'],
                             "volumeMounts": [{"name": "data", "mountPath": "/opt"}]}],
             "initContainers": [{"name": "logshipper", "image": "alpine:latest", "restartPolicy": "Always",
                                 "command": ["sh", "-c", "tail -F /opt/logs.txt"],
                                 "volumeMounts": [{"name": "data", "mountPath": "/opt"}]}],
             "volumes": [{"name": "data", "emptyDir": {}}]}}


def test_a_sidecar_follows_what_the_app_container_is_writing():
    state = fresh()
    apply(state, SIDECAR)
    run(state, T0 + 30)
    assert ex(state, "myapp", "wc", "-l", "/opt/logs.txt", container="logshipper") == (0, "31 /opt/logs.txt\n", "")
    lines = logs.container_logs(state, state.get("Pod", "default", "myapp"), "logshipper").lines
    assert [line.text for line in lines] == ["logging"] * 31
    assert [round(line.time - T0) for line in lines[:3]] == [0, 1, 2]      # each as it was written


def test_an_empty_dir_lives_and_dies_with_its_pod():
    state = fresh()
    pod = busybox("scratch", "sleep 3600", [{"name": "tmp", "mountPath": "/cache"}], [{"name": "tmp", "emptyDir": {}}])
    apply(state, pod)
    run(state, T0 + 5)
    assert ex(state, "scratch", "sh", "-c", "echo kept > /cache/f; cat /cache/f") == (0, "kept\n", "")
    assert ex(state, "scratch", "cat", "/cache/f") == (0, "kept\n", "")
    remove(state, "scratch")
    assert state.get("Pod", "default", "scratch") is None
    apply(state, busybox("scratch", "sleep 3600", [{"name": "tmp", "mountPath": "/cache"}],
                         [{"name": "tmp", "emptyDir": {}}]))
    run(state, state.now + 5)
    assert ex(state, "scratch", "ls", "/cache") == (0, "", "")


# ----------------------------------------------------------------------------------------- claims
def pv_tutorial(state) -> None:
    for name in ("pods__storage__pv-volume.yaml", "pods__storage__pv-claim.yaml", "pods__storage__pv-pod.yaml"):
        obj = corpus_object(name)
        if obj["kind"] != "PersistentVolume":
            obj["metadata"]["namespace"] = "default"
        apply(state, obj)
    run(state, state.now + 10)


def test_the_pv_tutorial_second_pod_sees_the_first_ones_page():
    state = fresh()
    pv_tutorial(state)
    assert state.get("Pod", "default", "task-pv-pod")["status"]["phase"] == "Running"
    assert page(state, "task-pv-pod")[0] == 403                        # an empty volume: no index.html yet
    assert ex(state, "task-pv-pod", "sh", "-c",
              "echo 'Hello from Kubernetes storage' > /usr/share/nginx/html/index.html") == (0, "", "")
    assert page(state, "task-pv-pod") == (200, "Hello from Kubernetes storage\n")
    remove(state, "task-pv-pod")
    pod = corpus_object("pods__storage__pv-pod.yaml")
    pod["metadata"]["namespace"] = "default"
    apply(state, pod)
    run(state, state.now + 10)
    assert ex(state, "task-pv-pod", "cat", "/usr/share/nginx/html/index.html") == \
        (0, "Hello from Kubernetes storage\n", "")
    assert page(state, "task-pv-pod") == (200, "Hello from Kubernetes storage\n")
    pv = state.get("PersistentVolume", "", "task-pv-volume")
    node = state.get("Node", "", state.get("Pod", "default", "task-pv-pod")["spec"]["nodeName"])
    # Kept beside the node whose /mnt/data it is (the tutorial's one node), not in the API.
    assert [k for k in state.sim(node)["host"] if k.startswith("/mnt/data/")] == ["/mnt/data/index.html"]
    assert "Hello" not in str(pv) and "Hello" not in str(node)


def test_a_statefulset_pod_keeps_its_data_through_kubectl_delete_pod():
    state = fresh()
    for obj in corpus_documents("application__web__web.yaml"):
        obj["metadata"]["namespace"] = "default"
        apply(state, obj)
    run(state, T0 + 60)
    for i in (0, 1):
        assert ex(state, f"web-{i}", "sh", "-c", 'echo "$(hostname)" > /usr/share/nginx/html/index.html')[0] == 0
    old = state.get("Pod", "default", "web-0")["metadata"]["uid"]
    remove(state, "web-0", until=60)
    again = state.get("Pod", "default", "web-0")
    assert again["metadata"]["uid"] != old and again["status"]["phase"] == "Running"
    assert page(state, "web-0") == (200, "web-0\n")
    assert page(state, "web-1") == (200, "web-1\n")


def test_what_a_program_writes_into_a_claim_stays_when_its_pod_goes():
    state = fresh()
    pv_tutorial(state)
    writer = busybox("writer", "date > /data/started; echo written >> /data/log; sleep 3600",
                     [{"name": "d", "mountPath": "/data"}],
                     [{"name": "d", "persistentVolumeClaim": {"claimName": "task-pv-claim"}}])
    remove(state, "task-pv-pod")
    apply(state, writer)
    run(state, state.now + 5)
    remove(state, "writer")
    apply(state, busybox("reader", "sleep 3600", [{"name": "d", "mountPath": "/data"}],
                         [{"name": "d", "persistentVolumeClaim": {"claimName": "task-pv-claim"}}]))
    run(state, state.now + 5)
    assert ex(state, "reader", "cat", "/data/log") == (0, "written\n", "")
    assert ex(state, "reader", "ls", "/data") == (0, "log\nstarted\n", "")


def test_a_read_only_claim_mount_refuses_writes():
    state = fresh()
    pv_tutorial(state)
    apply(state, busybox("ro", "sleep 3600", [{"name": "d", "mountPath": "/data", "readOnly": True}],
                         [{"name": "d", "persistentVolumeClaim": {"claimName": "task-pv-claim"}}]))
    run(state, state.now + 5)
    assert ex(state, "ro", "sh", "-c", "echo x > /data/x") == \
        (1, "", "sh: can't create /data/x: Read-only file system\n")


# ----------------------------------------------------------------------------------------- hostPath
def test_a_host_path_is_the_nodes():
    state = fresh()
    volumes = [{"name": "h", "hostPath": {"path": "/srv/shared", "type": "DirectoryOrCreate"}}]
    mounts = [{"name": "h", "mountPath": "/shared"}]
    apply(state, busybox("one", "sleep 3600", mounts, volumes, nodeName="worker-1"))
    apply(state, busybox("two", "sleep 3600", mounts, volumes, nodeName="worker-2"))
    apply(state, busybox("three", "sleep 3600", mounts, volumes, nodeName="worker-1"))
    run(state, T0 + 5)
    ex(state, "one", "sh", "-c", "echo from-one > /shared/note")
    assert ex(state, "three", "cat", "/shared/note") == (0, "from-one\n", "")
    assert ex(state, "two", "cat", "/shared/note")[0] == 1
    assert volumedata.Store(state.get("Node", "", "worker-1"), ("host",), "/srv/shared").used(state) > 0


def test_a_host_path_persistent_volume_is_a_directory_of_each_node():
    # A hostPath PV without node affinity (the PV tutorial's, on a cluster of more than one node): the pod
    # that mounts it uses the directory of the node it runs on.
    state = fresh()
    for name in ("pods__storage__pv-volume.yaml", "pods__storage__pv-claim.yaml"):
        obj = corpus_object(name)
        if obj["kind"] != "PersistentVolume":
            obj["metadata"]["namespace"] = "default"
        apply(state, obj)
    claim = [{"name": "d", "persistentVolumeClaim": {"claimName": "task-pv-claim"}}]
    mounts = [{"name": "d", "mountPath": "/data"}]
    apply(state, busybox("one", "sleep 3600", mounts, claim, nodeName="worker-1"))
    apply(state, busybox("two", "sleep 3600", mounts, claim, nodeName="worker-2"))
    run(state, T0 + 10)
    assert ex(state, "one", "sh", "-c", "echo from-worker-1 > /data/note") == (0, "", "")
    assert ex(state, "two", "ls", "/data") == (0, "", "")                # worker-2's /mnt/data: empty
    assert ex(state, "two", "sh", "-c", "echo from-worker-2 > /data/note") == (0, "", "")
    assert ex(state, "one", "cat", "/data/note") == (0, "from-worker-1\n", "")
    remove(state, "one")
    apply(state, busybox("again", "sleep 3600", mounts, claim, nodeName="worker-1"))
    # The same directory mounted as a plain hostPath volume on that node.
    apply(state, busybox("plain", "sleep 3600", mounts, [{"name": "d", "hostPath": {"path": "/mnt/data"}}],
                         nodeName="worker-1"))
    run(state, state.now + 10)
    assert ex(state, "again", "cat", "/data/note") == (0, "from-worker-1\n", "")
    assert ex(state, "plain", "cat", "/data/note") == (0, "from-worker-1\n", "")


# ----------------------------------------------------------------------------------------- the container's layer
def test_writes_outside_volumes_last_until_the_container_restarts():
    state = fresh()
    apply(state, busybox("crashy", "sleep 30; exit 1", [], []))
    run(state, T0 + 5)
    assert ex(state, "crashy", "sh", "-c", "echo mine > /tmp/mine; mkdir /home/d") == (0, "", "")
    assert ex(state, "crashy", "cat", "/tmp/mine") == (0, "mine\n", "")
    assert ex(state, "crashy", "ls", "/home") == (0, "d\n", "")
    run(state, T0 + 40)                                                  # exited at 30 s, restarted at once
    pod = state.get("Pod", "default", "crashy")
    assert pod["status"]["containerStatuses"][0]["restartCount"] == 1
    assert ex(state, "crashy", "cat", "/tmp/mine") == \
        (1, "", "cat: can't open '/tmp/mine': No such file or directory\n")


def test_a_running_script_sees_what_kubectl_exec_wrote():
    state = fresh()
    apply(state, busybox("waiter", "until [ -f /tmp/go ]; do sleep 1; done; echo going; exit 3", [], [],
                         restartPolicy="Never"))
    run(state, T0 + 30)
    assert state.get("Pod", "default", "waiter")["status"]["phase"] == "Running"
    ex(state, "waiter", "touch", "/tmp/go")
    run(state, state.now + 5)
    pod = state.get("Pod", "default", "waiter")
    assert pod["status"]["phase"] == "Failed"
    assert pod["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 3
    assert log_lines(state, "waiter") == ["going"]


def test_a_restarted_program_reads_what_its_last_run_left_in_the_volume():
    state = fresh()
    script = "n=$(cat /data/n 2>/dev/null || echo 0); n=$((n + 1)); echo $n > /data/n; echo run $n; sleep 5; exit 1"
    apply(state, busybox("counter", script, [{"name": "d", "mountPath": "/data"}], [{"name": "d", "emptyDir": {}}]))
    run(state, T0 + 22)          # runs at 0 s, 5 s (exits at 5 and 10 s), then after a 10 s back-off at 20 s
    pod = state.get("Pod", "default", "counter")
    assert pod["status"]["containerStatuses"][0]["restartCount"] == 2
    assert log_lines(state, "counter") == ["run 3"]
    assert log_lines(state, "counter", previous=True) == ["run 2"]       # its replay finds what run 1 left


# ----------------------------------------------------------------------------------------- bounds
BIG = "x=0123456789abcdef; for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16; do x=$x$x; done; "   # 1 MiB of text


def test_a_full_volume_says_no_space_left_on_device():
    state = fresh()
    apply(state, busybox("filler", "sleep 3600", [{"name": "d", "mountPath": "/data"}],
                         [{"name": "d", "emptyDir": {}}]))
    run(state, T0 + 5)
    code, _out, err = ex(state, "filler", "sh", "-c", BIG + "echo $x > /data/big")
    assert (code, err) == (1, "sh: write error: No space left on device\n")
    size = int(ex(state, "filler", "wc", "-c", "/data/big")[1].split()[0])
    assert volumedata.CAPACITY - 64 < size <= volumedata.CAPACITY
    assert ex(state, "filler", "sh", "-c", "echo more > /data/more")[2] == "sh: write error: No space left on device\n"
    assert ex(state, "filler", "sh", "-c", "rm /data/big; echo more > /data/more; cat /data/more") == (0, "more\n", "")


def test_the_container_layer_and_the_cluster_are_bounded_too(monkeypatch):
    state = fresh()
    apply(state, busybox("a", "sleep 3600", [], []))
    apply(state, busybox("b", "sleep 3600", [], []))
    run(state, T0 + 5)
    assert ex(state, "a", "sh", "-c", BIG + "echo $x > /tmp/big")[2] == "sh: write error: No space left on device\n"
    bound = volumedata.cluster_used(state) + 30
    monkeypatch.setattr(volumedata, "CLUSTER_CAPACITY", bound)
    assert ex(state, "b", "sh", "-c", "echo 0123456789 > /tmp/one; echo 0123456789 > /tmp/two")[2] == \
        "sh: write error: No space left on device\n"
    assert volumedata.cluster_used(state) <= bound


@pytest.mark.parametrize(("image", "message"), [
    ("debian", "sh: 1: echo: echo: I/O error\n"),
    ("nginx:alpine", "sh: write error: No space left on device\n"),
])
def test_the_write_error_is_the_images_shells(image, message):
    state = fresh()
    pod = busybox("full", "sleep 3600", [{"name": "d", "mountPath": "/data"}],
                  [{"name": "d", "emptyDir": {"medium": "Memory", "sizeLimit": "1Ki"}}])
    pod["spec"]["containers"][0]["image"] = image
    apply(state, pod)
    run(state, T0 + 5)
    assert ex(state, "full", "sh", "-c", BIG + "echo $x > /data/big")[2] == message
