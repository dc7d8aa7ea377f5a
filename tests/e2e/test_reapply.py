"""`kubectl apply` of the same Pod manifest twice, with the real kubectl: the second apply succeeds and
says what it says against a real cluster.

kubectl prints "unchanged" only when its three-way patch (last applied ↔ manifest ↔ live object) is
empty. Against a real cluster it is not empty, although nothing changes, when admission added to a list
of the manifest: the tolerations list is atomic, so the DefaultTolerationSeconds additions make kubectl
send the manifest's list (and the server adds them back: on update too); the ServiceAccount admission
appends a volume and a mount, so kubectl sends the order of the merge lists volumes and volumeMounts.
Either way the server stores nothing new (the resourceVersion stays).
"""
from __future__ import annotations

import pytest

from .conftest import Kubectl

OWN_TOLERATIONS = """\
apiVersion: v1
kind: Pod
metadata:
  name: tolerant
spec:
  containers:
  - name: app
    image: busybox:1.36
    command: ["sleep", "3600"]
  tolerations:
  - key: example.com/dedicated
    operator: Exists
    effect: NoSchedule
"""

EMPTY_DIR = """\
apiVersion: v1
kind: Pod
metadata:
  name: scratch
spec:
  automountServiceAccountToken: false
  containers:
  - name: app
    image: busybox:1.36
    command: ["sleep", "3600"]
    volumeMounts:
    - name: cache
      mountPath: /cache
  volumes:
  - name: cache
    emptyDir: {}
"""

EMPTY_DIR_WITH_TOKEN = EMPTY_DIR.replace("  automountServiceAccountToken: false\n", "").replace("scratch", "cached")


def _apply_twice(kubectl: Kubectl, manifest: str) -> tuple[str, dict, dict]:
    """The second apply's output, and the pod before and after it (once Ready: the kubelet is done with it)."""
    name = manifest.split("name: ", 1)[1].split("\n", 1)[0]
    assert kubectl("apply", "-f", "-", input=manifest).strip() == f"pod/{name} created"
    kubectl("wait", "--for=condition=Ready", f"pod/{name}", "--timeout=60s")
    first = kubectl.json("get", "pod", name)
    second = kubectl("apply", "-f", "-", input=manifest).strip()
    return second, first, kubectl.json("get", "pod", name)


def test_own_tolerations_reapply_without_error(kubectl):
    second, before, after = _apply_twice(kubectl, OWN_TOLERATIONS)
    assert second == "pod/tolerant configured"  # the atomic list differs from the live one, which has more
    assert [t["key"] for t in after["spec"]["tolerations"]] == [
        "example.com/dedicated", "node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"]
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]


@pytest.mark.parametrize("manifest, said", [(EMPTY_DIR, "pod/scratch unchanged"),
                                            (EMPTY_DIR_WITH_TOKEN, "pod/cached configured")],
                         ids=["without-token-volume", "with-token-volume"])
def test_empty_dir_pod_reapplies_as_on_a_real_cluster(kubectl, manifest, said):
    second, before, after = _apply_twice(kubectl, manifest)
    assert second == said
    assert after["spec"]["volumes"][0] == {"name": "cache", "emptyDir": {}}
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
