"""kubernetes.io "Configure a Pod to Use a PersistentVolume for Storage"
(tasks/configure-pod-container/configure-persistent-volume-storage), its commands in order with the real
kubectl, against what the page shows a real cluster printing.

pv-volume.yaml (a hostPath PersistentVolume on /mnt/data, StorageClass `manual`), pv-claim.yaml bound to
it, pv-pod.yaml's nginx serving the volume, `curl http://localhost/` in `kubectl exec -it task-pv-pod --
/bin/bash` answering the page's index.html, a second pod on the claim seeing the same file, and the
page's clean-up. The page asks for a cluster with one node (a hostPath volume is a directory of the node
the pod runs on), so the cluster has one worker beside its tainted control plane. The page writes
index.html from a shell on the node (`minikube ssh`); the learner here writes it through the pod,
into the same hostPath directory. Pulls and starts are instant (PLAYGROUND_START_DELAYS=0).

Where the page shows an older cluster, the assertions follow a current one (kubectl 1.3x): `get pv` and
`get pvc` have the ACCESS MODES, RECLAIM POLICY and VOLUMEATTRIBUTESCLASS columns; `kubectl delete`
names the namespace.
"""
from __future__ import annotations

import pytest

from tests.fixtures import corpus_path

from .tutorial import AGE, Page, classroom_server, eventually, lines_match

pytestmark = pytest.mark.e2e

SECOND_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: task-pv-reader
spec:
  containers:
  - name: reader
    image: nginx
    volumeMounts:
    - mountPath: /usr/share/nginx/html
      name: task-pv-storage
  volumes:
  - name: task-pv-storage
    persistentVolumeClaim:
      claimName: task-pv-claim
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from classroom_server(tmp_path_factory, "tutorial-pv", PLAYGROUND_START_DELAYS="0")


@pytest.fixture(scope="module")
def page(server) -> Page:
    return Page(server, "configure-persistent-volume-storage", nodes=1)


PV_HEADER = (r"NAME +CAPACITY +ACCESS MODES +RECLAIM POLICY +STATUS +CLAIM +STORAGECLASS +VOLUMEATTRIBUTESCLASS "
             r"+REASON +AGE")


def test_configure_a_pod_to_use_a_persistent_volume(page):
    # Create a PersistentVolume
    assert page.apply(corpus_path("pods__storage__pv-volume.yaml")) == "persistentvolume/task-pv-volume created\n"
    # Pending as created, Available once the PersistentVolume controller has seen it (at once).
    eventually(lambda: lines_match(page("get", "pv", "task-pv-volume"), [
        PV_HEADER, rf"task-pv-volume +10Gi +RWO +Retain +Available +manual +<unset> +{AGE}"]))

    # Create a PersistentVolumeClaim: the control plane binds it to the volume.
    assert page.apply(corpus_path("pods__storage__pv-claim.yaml")) == (
        "persistentvolumeclaim/task-pv-claim created\n")

    def bound() -> None:
        lines_match(page("get", "pv", "task-pv-volume"), [
            PV_HEADER, rf"task-pv-volume +10Gi +RWO +Retain +Bound +default/task-pv-claim +manual +<unset> +{AGE}"])
    eventually(bound)
    lines_match(page("get", "pvc", "task-pv-claim"), [
        r"NAME +STATUS +VOLUME +CAPACITY +ACCESS MODES +STORAGECLASS +VOLUMEATTRIBUTESCLASS +AGE",
        rf"task-pv-claim +Bound +task-pv-volume +10Gi +RWO +manual +<unset> +{AGE}"])

    # Create a Pod
    assert page.apply(corpus_path("pods__storage__pv-pod.yaml")) == "pod/task-pv-pod created\n"
    page.running(1, "task-pv-pod")
    lines_match(page("get", "pod", "task-pv-pod"), [r"NAME +READY +STATUS +RESTARTS +AGE",
                                                    rf"task-pv-pod +1/1 +Running +0 +{AGE}"])
    # The page's index.html, written into the hostPath directory (here through the pod that mounts it).
    page("exec", "task-pv-pod", "--", "sh", "-c",
         "echo 'Hello from Kubernetes storage' > /usr/share/nginx/html/index.html")

    with page.terminal("exec", "-it", "task-pv-pod", "--", "/bin/bash", prompt=r"root@task-pv-pod:/# ") as shell:
        assert shell.banner == "root@task-pv-pod:/# "
        assert shell.line("curl http://localhost/") == "Hello from Kubernetes storage\n"
        code, after = shell.exit()
    assert (code, after) == (0, "exit\nexit\n")

    # Another pod on the same claim sees the same file.
    assert page.apply_yaml(SECOND_POD) == "pod/task-pv-reader created\n"
    page.running(1, "task-pv-reader")
    # nginx listens a moment (0.1 s) after its container starts, as a real one does; the pod shows Running from
    # the start, so a curl at once can meet a refused connection (curl exits 7) on a real cluster too.
    def served() -> None:
        assert page("exec", "task-pv-reader", "--", "curl", "-s", "http://localhost/") == (
            "Hello from Kubernetes storage\n")
    eventually(served)
    assert page("delete", "pod", "task-pv-reader") == 'pod "task-pv-reader" deleted from default namespace\n'

    # Clean up
    assert page("delete", "pod", "task-pv-pod") == 'pod "task-pv-pod" deleted from default namespace\n'
    assert page("delete", "pvc", "task-pv-claim") == (
        'persistentvolumeclaim "task-pv-claim" deleted from default namespace\n')
    assert page("delete", "pv", "task-pv-volume") == 'persistentvolume "task-pv-volume" deleted\n'
