"""StatefulSets with the real kubectl, as kubernetes.io's StatefulSet Basics tutorial drives them
(application/web/web.yaml: a headless Service `nginx` and the StatefulSet `web`, whose pods mount the
claim template `www`)."""
from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable

import pytest

from tests.fixtures import corpus_path

from .conftest import KUBECTL, Kubectl, instant_server

WEB = "application__web__web.yaml"
WAIT = 30.0  # wall-clock seconds a check may take to come true (the control loops run after each write)


def eventually(check: Callable[[], object], what: str, timeout: float = WAIT):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f}s: {what}")
        time.sleep(0.3)


def running(kubectl: Kubectl, *names: str) -> bool:
    pods = {p["metadata"]["name"]: p for p in kubectl.json("get", "pods", "-l", "app=nginx")["items"]}
    return sorted(pods) == sorted(names) and all(
        p["status"].get("phase") == "Running" and not p["metadata"].get("deletionTimestamp") for p in pods.values())


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from instant_server(tmp_path_factory, "statefulsets")


@pytest.fixture
def kubectl(server, request) -> Kubectl:
    """A fresh cluster per test."""
    return Kubectl(server.new_cluster("alice", request.node.name.replace("_", "-")[:40].strip("-")), server.env)


def test_statefulset_basics_manifest_applies(kubectl):
    first = kubectl("apply", "-f", str(corpus_path(WEB)))
    assert first.splitlines() == ["service/nginx created", "statefulset.apps/web created"]
    template = kubectl.json("get", "statefulset", "web")["spec"]["template"]["spec"]
    assert template["containers"][0]["volumeMounts"] == [{"mountPath": "/usr/share/nginx/html", "name": "www"}]
    assert "volumes" not in template  # the claim template is not turned into a volume of the template
    # As on a real cluster: volumeClaimTemplates is an atomic list the server fills in (apiVersion, kind,
    # volumeMode, status.phase), so kubectl's three-way patch replaces it and says "configured".
    second = kubectl("apply", "-f", str(corpus_path(WEB)))
    assert second.splitlines() == ["service/nginx unchanged", "statefulset.apps/web configured"]


def test_claims_get_the_default_class_and_the_pods_run(kubectl):
    kubectl("apply", "-f", str(corpus_path(WEB)))
    eventually(lambda: running(kubectl, "web-0", "web-1"), "web-0 and web-1 Running")
    # The tutorial's `kubectl get pvc -l app=nginx`: both claims Bound, of the default class.
    claims = kubectl("get", "pvc", "-l", "app=nginx", "--no-headers").splitlines()
    assert [line.split()[:2] for line in claims] == [["www-web-0", "Bound"], ["www-web-1", "Bound"]]
    assert all(line.split()[5] == "standard" for line in claims), claims


def test_deleting_the_pods_returns_and_a_watch_sees_them_deleted_then_added(kubectl):
    """The tutorial's "kubectl delete pod -l app=nginx" while "kubectl get pod -w -l app=nginx" watches: the
    controller recreates web-0 and web-1 under the same names, and kubectl's wait for the deletion (a watch
    on each pod) must see the old pods DELETED, not their successors MODIFIED."""
    kubectl("apply", "-f", str(corpus_path(WEB)))
    eventually(lambda: running(kubectl, "web-0", "web-1"), "web-0 and web-1 Running")
    before = {p["metadata"]["name"]: p["metadata"]["uid"]
              for p in kubectl.json("get", "pods", "-l", "app=nginx")["items"]}
    watcher = subprocess.Popen([str(KUBECTL), "--kubeconfig", str(kubectl.kubeconfig), "get", "pods", "-l", "app=nginx",
                                "-w", "--output-watch-events",  # then each line is a WatchEvent
                                "-o", "custom-columns=EVENT:.type,NAME:.object.metadata.name,UID:.object.metadata.uid"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=kubectl.env)
    try:
        time.sleep(1.5)
        started = time.monotonic()
        deleted = kubectl.run("delete", "pod", "-l", "app=nginx", timeout=30)
        assert time.monotonic() - started < 20, "kubectl delete waited for the recreated pods"
        assert [line.split(" from ")[0] for line in deleted.stdout.splitlines()] == \
            ['pod "web-0" deleted', 'pod "web-1" deleted'], deleted.stderr
        eventually(lambda: running(kubectl, "web-0", "web-1"), "web-0 and web-1 Running again")
        time.sleep(1.5)
    finally:
        watcher.send_signal(signal.SIGINT)
        out, err = watcher.communicate(timeout=10)
    after = {p["metadata"]["name"]: p["metadata"]["uid"]
             for p in kubectl.json("get", "pods", "-l", "app=nginx")["items"]}
    events = [line.split()[:3] for line in out.splitlines()[1:]]
    for name in ("web-0", "web-1"):
        assert after[name] != before[name]
        seen = [(event, uid) for event, pod, uid in events if pod == name]
        old, new = before[name], after[name]
        assert seen and seen[0] == ("ADDED", old), out + err
        assert ("DELETED", old) in seen and ("ADDED", new) in seen, out + err
        assert seen.index(("DELETED", old)) < seen.index(("ADDED", new)), out + err
        assert all(uid == old for _, uid in seen[:seen.index(("DELETED", old)) + 1]), out + err
        assert all(uid == new for _, uid in seen[seen.index(("ADDED", new)):]), out + err
