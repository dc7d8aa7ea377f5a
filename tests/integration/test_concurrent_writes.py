"""Classroom mode under writes that never pause: the real API server, Redis, PostgreSQL and a real Celery
worker with two processes, each keeping cluster states and committing its passes optimistically
(clusters/sim/reconcile.py), so the two race each other and the API's writes on one cluster.

Whatever the interleaving, the change log has every resourceVersion once and in order, a watch sees every
change once and in order and ends where a list ends, and the cluster settles to what was asked.
"""
from __future__ import annotations

import base64
import json
import threading
import time
from pathlib import Path

import psycopg
import pytest
import requests
import yaml

from tests import live_server

SCALES = (6, 2, 9, 4, 7, 3)


@pytest.fixture(scope="module")
def classroom(tmp_path_factory) -> live_server.LiveServer:
    server = live_server.start(tmp_path_factory.mktemp("concurrent"), backend="postgres", celery=True, extra_env={
        "PLAYGROUND_START_DELAYS": "0", "PLAYGROUND_LEASE_SECONDS": "3"})
    try:
        yield server
    finally:
        server.stop()


class Api:
    def __init__(self, kubeconfig: Path, tmp: Path) -> None:
        conf = yaml.safe_load(kubeconfig.read_text())
        self.base = conf["clusters"][0]["cluster"]["server"]
        ca = tmp / "ca.crt"
        ca.write_bytes(base64.b64decode(conf["clusters"][0]["cluster"]["certificate-authority-data"]))
        self.session = requests.Session()
        self.session.headers["Authorization"] = "Bearer " + conf["users"][0]["user"]["token"]
        self.session.verify = str(ca)
        self.session.trust_env = False

    def call(self, method: str, path: str, **kwargs) -> dict:
        response = self.session.request(method, self.base + path, timeout=30, **kwargs)
        response.raise_for_status()
        return response.json()


def watch(api: Api, path: str, since: str, events: list, stop: threading.Event) -> None:
    try:
        with api.session.get(api.base + path, stream=True, timeout=(10, 120), params={
                "watch": "true", "resourceVersion": since, "timeoutSeconds": "120"}) as response:
            response.raise_for_status()
            for line in response.iter_lines():
                if stop.is_set():
                    return
                if line:
                    events.append(json.loads(line))
    except requests.RequestException:
        if not stop.is_set():   # the stream ended before the test had read what it needs
            events.append({"type": "STREAM ENDED", "object": {"metadata": {"resourceVersion": "0"}}})


def test_two_workers_and_the_api_writing_at_once_lose_and_repeat_nothing(classroom, tmp_path):
    kubeconfig = classroom.new_cluster("carol", "concurrent", nodes=2)
    cluster_id = classroom.cluster_id(kubeconfig)
    api = Api(kubeconfig, tmp_path)
    pods_path = "/api/v1/namespaces/default/pods"
    since = api.call("GET", pods_path)["metadata"]["resourceVersion"]
    events: list[dict] = []
    stop = threading.Event()
    watcher = threading.Thread(target=watch, args=(api, pods_path, since, events, stop), daemon=True)
    watcher.start()

    api.call("POST", "/apis/apps/v1/namespaces/default/deployments", json={
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}}, "template": {
            "metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}}}})
    written = []
    for i, replicas in enumerate(SCALES):   # no pause between writes: every pass races the next write
        for j in range(5):
            api.call("POST", "/api/v1/namespaces/default/configmaps",
                     json={"metadata": {"name": f"cm-{i}-{j}"}, "data": {"n": str(j)}})
        api.call("PATCH", "/apis/apps/v1/namespaces/default/deployments/web", json={"spec": {"replicas": replicas}},
                 headers={"Content-Type": "application/merge-patch+json"})
        written.append(replicas)

    deadline = time.time() + 60
    while True:
        listed = api.call("GET", pods_path)
        running = [p for p in listed["items"] if p.get("status", {}).get("phase") == "Running"
                   and not p["metadata"].get("deletionTimestamp")]
        if len(running) == written[-1] and len(listed["items"]) == written[-1]:
            break
        assert time.time() < deadline, f"{len(running)}/{len(listed['items'])} pods, want {written[-1]}"
        time.sleep(0.3)
    time.sleep(1.0)
    listed = api.call("GET", pods_path)
    stop.set()

    # The watch: resourceVersions strictly increase (each change once, in order) ...
    rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in events if e["type"] != "BOOKMARK"]
    assert all(e["type"] in ("ADDED", "MODIFIED", "DELETED") for e in events), events[-1:]
    assert rvs == sorted(set(rvs)), "a watch saw a change twice or out of order"
    # ... and replaying it gives what a list gives.
    seen: dict[str, str] = {}
    for event in events:
        meta = event["object"]["metadata"]
        if int(meta["resourceVersion"]) > int(listed["metadata"]["resourceVersion"]):
            break
        if event["type"] == "DELETED":
            seen.pop(meta["name"], None)
        else:
            seen[meta["name"]] = meta["resourceVersion"]
    assert seen == {p["metadata"]["name"]: p["metadata"]["resourceVersion"] for p in listed["items"]}

    with psycopg.connect(classroom.env["DATABASE_URL"]) as conn:
        cluster_rv, compacted = conn.execute("SELECT resource_version, compacted_resource_version FROM "
                                             "clusters_cluster WHERE id = %s", (cluster_id,)).fetchone()
        log = [rv for (rv,) in conn.execute("SELECT resource_version FROM clusters_change WHERE cluster_id = %s "
                                            "ORDER BY resource_version", (cluster_id,))]
        rows = conn.execute("SELECT resource_version, data FROM clusters_apiobject WHERE cluster_id = %s",
                            (cluster_id,)).fetchall()
    assert log[0] > compacted and log == list(range(log[0], cluster_rv + 1)), "the change log has a gap or a duplicate"
    assert all(json.loads(data)["metadata"]["resourceVersion"] == str(rv) for rv, data in rows)
    configmaps = api.call("GET", "/api/v1/namespaces/default/configmaps")["items"]
    assert len([c for c in configmaps if c["metadata"]["name"].startswith("cm-")]) == 5 * len(SCALES)


def test_concurrent_patches_of_one_object_lose_nothing(classroom, tmp_path):
    """Merge patches of one ConfigMap from several clients at once, each adding its own keys: every key is
    there at the end. A patch is read, merged and written under the cluster's write lock
    (clusters/apiserver/pipeline.py _lock_for_write): were it read before the lock, two patches merged into
    the same stored object would each write their own result, and the second would drop the first's key."""
    api = Api(classroom.new_cluster("dave", "patches"), tmp_path)
    path = "/api/v1/namespaces/default/configmaps"
    api.call("POST", path, json={"metadata": {"name": "shared"}, "data": {}})
    clients, patches = 4, 15
    failures: list[str] = []

    def patcher(index: int) -> None:
        mine = Api.__new__(Api)   # a session of its own, same server and token
        mine.base, mine.session = api.base, requests.Session()
        mine.session.headers.update(api.session.headers)
        mine.session.verify, mine.session.trust_env = api.session.verify, False
        for j in range(patches):
            try:
                mine.call("PATCH", f"{path}/shared", json={"data": {f"k-{index}-{j}": "v"}},
                          headers={"Content-Type": "application/merge-patch+json"})
            except requests.RequestException as error:
                failures.append(repr(error))

    threads = [threading.Thread(target=patcher, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not failures, failures[:3]
    data = api.call("GET", f"{path}/shared")["data"]
    missing = {f"k-{i}-{j}" for i in range(clients) for j in range(patches)} - set(data)
    assert not missing, f"{len(missing)} patches lost: {sorted(missing)[:10]}"
