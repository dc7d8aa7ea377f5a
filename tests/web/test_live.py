"""The cluster page's live feed: clusters/web/live.py's summaries and the owner-only WebSocket consumer."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

from clusters import actions
from clusters.apiserver import registry
from clusters.models import Cluster
from clusters.store import version_poll
from clusters.web import consumer, live
from playground.asgi import application

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def _pod(**status) -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web-abc-1", "namespace": "default", "uid": "u1",
                         "creationTimestamp": "2026-01-01T11:59:00Z",
                         "ownerReferences": [{"kind": "ReplicaSet", "name": "web-abc", "controller": True}]},
            "spec": {"nodeName": "lab-worker", "containers": [{"name": "web", "image": "nginx"}]},
            "status": status}


# ----------------------------------------------------------------------------------------- summaries

def test_running_pod_summary():
    pod = _pod(phase="Running", conditions=[{"type": "Ready", "status": "True"}],
               containerStatuses=[{"name": "web", "ready": True, "restartCount": 0,
                                   "state": {"running": {"startedAt": "2026-01-01T11:59:05Z"}}}])
    s = live.summarize("Pod", pod, now=NOW)
    assert (s["kind"], s["namespace"], s["name"], s["uid"]) == ("Pod", "default", "web-abc-1", "u1")
    assert (s["node"], s["phase"], s["ready"], s["restarts"], s["reason"]) == (
        "lab-worker", "Running", "1/1", 0, "Running")
    assert s["owner"] == {"kind": "ReplicaSet", "name": "web-abc"}
    assert s["cells"] == ["web-abc-1", "1/1", "Running", "0", "60s"]
    assert live.columns("Pod") == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]


def test_crashing_and_pending_pods():
    crashing = _pod(phase="Running", containerStatuses=[{
        "name": "web", "ready": False, "restartCount": 4,
        "lastState": {"terminated": {"exitCode": 1, "finishedAt": "2026-01-01T11:59:50Z"}},
        "state": {"waiting": {"reason": "CrashLoopBackOff"}}}])
    s = live.summarize("Pod", crashing, now=NOW, event="MODIFIED")
    assert (s["ready"], s["restarts"], s["reason"], s["event"]) == ("0/1", 4, "CrashLoopBackOff", "MODIFIED")
    assert s["cells"][3] == "4 (10s ago)"
    pending = _pod(phase="Pending")
    pending["spec"].pop("nodeName")
    s = live.summarize("Pod", pending, now=NOW)
    assert (s["node"], s["phase"], s["reason"], s["unschedulable"]) == ("", "Pending", "Pending", "")
    pending["status"]["conditions"] = [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                                        "message": "0/3 nodes are available: 1 node(s) had untolerated taint "
                                                   "{node-role.kubernetes.io/control-plane: }, 2 Insufficient "
                                                   "cpu. preemption: 0/3 nodes are available."}]
    assert live.summarize("Pod", pending, now=NOW)["unschedulable"] == "Insufficient cpu"


def test_workload_service_slice_and_event_summaries():
    rs = {"kind": "ReplicaSet", "metadata": {"name": "web-abc", "namespace": "default", "uid": "r",
                                             "ownerReferences": [{"kind": "Deployment", "name": "web",
                                                                  "controller": True}]},
          "spec": {"replicas": 3}, "status": {"replicas": 3, "readyReplicas": 2}}
    s = live.summarize("ReplicaSet", rs, now=NOW)
    assert (s["owner"], s["replicas"], s["readyReplicas"]) == ({"kind": "Deployment", "name": "web"}, 3, 2)
    assert live.columns("ReplicaSet") == ["NAME", "DESIRED", "CURRENT", "READY", "AGE"]

    svc = {"kind": "Service", "metadata": {"name": "web", "namespace": "default", "uid": "s"},
           "spec": {"selector": {"app": "web"}, "type": "ClusterIP", "clusterIP": "10.96.0.10",
                    "ports": [{"port": 80, "protocol": "TCP"}]}}
    s = live.summarize("Service", svc, now=NOW)
    assert s["selector"] == {"app": "web"} and s["cells"][:4] == ["web", "ClusterIP", "10.96.0.10", "<none>"]

    eps = {"kind": "EndpointSlice", "addressType": "IPv4",
           "metadata": {"name": "web-x1", "namespace": "default", "uid": "e",
                        "labels": {"kubernetes.io/service-name": "web"}},
           "endpoints": [{"addresses": ["10.244.1.2"], "conditions": {"ready": True},
                          "targetRef": {"kind": "Pod", "name": "web-abc-1"}},
                         {"addresses": ["10.244.1.3"], "conditions": {"ready": False},
                          "targetRef": {"kind": "Pod", "name": "web-abc-2"}}]}
    s = live.summarize("EndpointSlice", eps, now=NOW)
    assert (s["service"], s["pods"], s["ready"]) == ("web", ["web-abc-1", "web-abc-2"], ["web-abc-1"])

    event = {"kind": "Event", "metadata": {"name": "web-abc-1.1", "namespace": "default", "uid": "v"},
             "involvedObject": {"kind": "Pod", "name": "web-abc-1", "namespace": "default"},
             "reason": "BackOff", "message": "Back-off restarting failed container", "type": "Warning",
             "count": 3, "lastTimestamp": "2026-01-01T11:59:30Z"}
    s = live.summarize("Event", event, now=NOW)
    assert (s["reason"], s["type"], s["count"], s["lastTimestamp"]) == ("BackOff", "Warning", 3,
                                                                        "2026-01-01T11:59:30Z")
    assert s["involvedObject"] == {"kind": "Pod", "name": "web-abc-1", "namespace": "default"}


def test_claim_volume_and_pod_summaries_link_up():
    claim = {"kind": "PersistentVolumeClaim",
             "metadata": {"name": "data", "namespace": "default", "uid": "c"},
             "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "standard", "volumeName": "pvc-c",
                      "resources": {"requests": {"storage": "1Gi"}}},
             "status": {"phase": "Bound", "capacity": {"storage": "1Gi"}}}
    s = live.summarize("PersistentVolumeClaim", claim, now=NOW)
    assert (s["phase"], s["volume"], s["capacity"], s["storageClass"]) == ("Bound", "pvc-c", "1Gi", "standard")
    volume = {"kind": "PersistentVolume", "metadata": {"name": "pvc-c", "uid": "v"},
              "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                       "claimRef": {"namespace": "default", "name": "data"}, "storageClassName": "standard",
                       "persistentVolumeReclaimPolicy": "Delete"},
              "status": {"phase": "Bound"}}
    s = live.summarize("PersistentVolume", volume, now=NOW)
    assert (s["phase"], s["claim"], s["capacity"], s["namespace"]) == ("Bound", "default/data", "1Gi", "")
    assert live.columns("PersistentVolume")[:3] == ["NAME", "CAPACITY", "ACCESS MODES"]
    pod = _pod(phase="Pending")
    pod["spec"]["volumes"] = [{"name": "d", "persistentVolumeClaim": {"claimName": "data"}},
                              {"name": "tmp", "emptyDir": {}}]
    assert live.summarize("Pod", pod, now=NOW)["claims"] == ["data"]


def test_snapshot_and_changes_messages():
    events = [{"kind": "Event", "metadata": {"name": f"e{i}", "namespace": "default", "uid": str(i)},
               "involvedObject": {}, "lastTimestamp": f"2026-01-01T10:{i // 60:02d}:{i % 60:02d}Z"}
              for i in range(live.EVENT_LIMIT + 5)]
    message = live.snapshot([("Event", e) for e in events] + [("ClusterRole", {"metadata": {"name": "x"}})],
                            rv=42, now=NOW)
    assert message["type"] == "snapshot" and message["rv"] == 42
    assert len(message["objects"]) == live.EVENT_LIMIT   # the newest Events; kinds the page ignores left out
    assert {o["name"] for o in message["objects"]} == {f"e{i}" for i in range(5, live.EVENT_LIMIT + 5)}
    assert message["columns"]["Node"] == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]

    assert live.changes([], since=7, now=NOW) is None
    cm = {"kind": "ConfigMap", "metadata": {"name": "x", "namespace": "default", "uid": "c"}, "data": {"a": "1"}}
    message = live.changes([(8, "ADDED", "ConfigMap", cm), (9, "MODIFIED", "ClusterRole", {"metadata": {}})],
                           since=7, now=NOW)
    assert (message["from"], message["to"]) == (7, 9)
    assert [(c["kind"], c["name"], c["event"], c["rv"]) for c in message["changes"]] == [
        ("ConfigMap", "x", "ADDED", 8)]


# ------------------------------------------------------------------------------------------ consumer

def _session_cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode()


def _communicator(path: str, cookie: bytes | None = None) -> WebsocketCommunicator:
    headers = [(b"origin", b"http://testserver"), (b"host", b"testserver")]
    if cookie:
        headers.append((b"cookie", cookie))
    return WebsocketCommunicator(application, path, headers=headers)


@pytest.fixture
def lab(transactional_db):
    owner = get_user_model().objects.create_user("alice")
    return actions.cluster_create(owner=owner, name="lab", workers=2)


def _create_configmap(cluster: Cluster, name: str) -> None:
    actions.api_call(cluster=cluster, operation=lambda api: api.create(
        registry.by_path("", "v1", "configmaps"), "default",
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}))


async def _receive_until(communicator, predicate, timeout: float = 8.0) -> dict:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        message = await communicator.receive_json_from(timeout=max(0.1, deadline - loop.time()))
        if predicate(message):
            return message


@pytest.mark.django_db(transaction=True)
def test_owner_gets_snapshot_then_changes(lab):
    cookie = _session_cookie(lab.owner)

    async def body():
        communicator = _communicator("/clusters/lab/live", cookie)
        connected, _ = await communicator.connect()
        assert connected
        snapshot = await communicator.receive_json_from(timeout=5)
        assert snapshot["type"] == "snapshot"
        nodes = sorted(o["name"] for o in snapshot["objects"] if o["kind"] == "Node")
        assert nodes == ["control-plane", "worker-1", "worker-2"]
        node = next(o for o in snapshot["objects"] if o["kind"] == "Node")
        assert node["cells"][0] == node["name"]

        await sync_to_async(_create_configmap)(lab, "settings")
        message = await _receive_until(communicator, lambda m: m["type"] == "changes" and any(
            c["kind"] == "ConfigMap" and c["name"] == "settings" for c in m["changes"]))
        assert message["from"] >= snapshot["rv"] and message["to"] > message["from"]
        change = next(c for c in message["changes"] if c["name"] == "settings")
        assert change["event"] == "ADDED" and change["namespace"] == "default"
        await communicator.disconnect()

    async_to_sync(body)()


@pytest.mark.django_db(transaction=True)
def test_resume_continues_or_resyncs(lab):
    cookie = _session_cookie(lab.owner)
    lab.refresh_from_db()
    before = lab.resource_version
    _create_configmap(lab, "missed")

    async def body():
        # Reconnecting with the last rv seen: only what was missed, no snapshot.
        communicator = _communicator(f"/clusters/lab/live?rv={before}", cookie)
        assert (await communicator.connect())[0]
        message = await communicator.receive_json_from(timeout=5)
        assert message["type"] == "changes" and message["from"] == before
        assert [c["name"] for c in message["changes"] if c["kind"] == "ConfigMap"] == ["missed"]
        await communicator.disconnect()

    async_to_sync(body)()

    Cluster.objects.filter(pk=lab.pk).update(compacted_resource_version=before + 1)
    consumer.shared_reads.clear()  # the answer read for `before` a moment ago no longer holds

    async def too_old():
        communicator = _communicator("/clusters/lab/live", cookie)
        assert (await communicator.connect())[0]
        assert (await communicator.receive_json_from(timeout=5))["type"] == "snapshot"
        await communicator.send_json_to({"type": "resume", "rv": before})
        message = await communicator.receive_json_from(timeout=5)
        assert message["type"] == "snapshot" and message["rv"] > before
        assert "missed" in {o["name"] for o in message["objects"] if o["kind"] == "ConfigMap"}
        await communicator.disconnect()

    async_to_sync(too_old)()


@pytest.mark.django_db(transaction=True)
def test_only_the_owner_connects(lab):
    mallory = get_user_model().objects.create_user("mallory")
    actions.cluster_create(owner=mallory, name="other", workers=0)
    cookie = _session_cookie(mallory)

    async def body():
        for path, cookie_header in [("/clusters/lab/live", cookie),      # someone else's cluster
                                    ("/clusters/nope/live", cookie),     # no such cluster: the same answer
                                    ("/clusters/lab/live", None)]:       # anonymous
            # Accepted only to be closed with 4403 (what the page can read), before anything is sent.
            communicator = _communicator(path, cookie_header)
            await communicator.connect()
            assert await communicator.receive_output(timeout=5) == {"type": "websocket.close", "code": 4403}, path
            await communicator.disconnect()
        # The owner of "other" does reach their own.
        communicator = _communicator("/clusters/other/live", cookie)
        assert (await communicator.connect())[0]
        assert (await communicator.receive_json_from(timeout=5))["type"] == "snapshot"
        await communicator.disconnect()

    async_to_sync(body)()


@pytest.mark.django_db(transaction=True)
def test_pages_of_one_cluster_share_one_read_per_write(lab, monkeypatch):
    cookie = _session_cookie(lab.owner)
    reads = []
    changes_after = consumer.selectors.changes_after
    monkeypatch.setattr(consumer.selectors, "changes_after",
                        lambda *args, **kwargs: reads.append(args) or changes_after(*args, **kwargs))

    async def body():
        pages = [_communicator("/clusters/lab/live", cookie) for _ in range(20)]
        for page in pages:
            assert (await page.connect())[0]
            assert (await page.receive_json_from(timeout=5))["type"] == "snapshot"
        reads.clear()
        await sync_to_async(_create_configmap)(lab, "shared")
        texts = []
        for page in pages:
            message = await _receive_until(page, lambda m: m["type"] == "changes")
            texts.append(message)
        assert all(t == texts[0] for t in texts)
        assert "shared" in {c["name"] for c in texts[0]["changes"]}
        # Twenty pages at one resourceVersion: the log was read once (or twice if a write raced a read).
        assert 1 <= len(reads) <= 2, reads
        for page in pages:
            await page.disconnect()

    async_to_sync(body)()


@pytest.mark.django_db(transaction=True)
def test_a_page_given_a_shared_snapshot_catches_up_at_once(lab, monkeypatch):
    monkeypatch.setattr(version_poll, "POLL_SECONDS", 60.0)   # no look at the cluster comes to the rescue
    cookie = _session_cookie(lab.owner)

    async def body():
        first = _communicator("/clusters/lab/live", cookie)
        assert (await first.connect())[0]
        snapshot = await first.receive_json_from(timeout=5)
        await sync_to_async(_create_configmap)(lab, "between")
        # The second page gets the snapshot read for the first (under a second old, without "between"),
        # and must not wait for the periodic re-check to learn about the write it missed.
        second = _communicator("/clusters/lab/live", cookie)
        assert (await second.connect())[0]
        shared = await second.receive_json_from(timeout=5)
        assert shared["type"] == "snapshot" and shared["rv"] == snapshot["rv"]
        caught_up = await _receive_until(second, lambda m: m["type"] == "changes" and any(
            c["name"] == "between" for c in m["changes"]), timeout=10)
        assert caught_up["from"] == snapshot["rv"]
        await first.disconnect()
        await second.disconnect()

    async_to_sync(body)()
