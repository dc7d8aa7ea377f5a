"""A Celery worker SIGKILLed again and again, mid-pass, while learners keep writing: nothing is lost.

DESIGN.md: "a worker killed half-way leaves the database as it was (one transaction), and the sweeper picks
the cluster up again". test_celery_loop.py kills a worker once, in one scale-up; here CLUSTERS clusters get a
steady stream of API writes (Deployments created, scaled and deleted, ConfigMaps created, changed and
deleted: one writer thread per cluster, plain requests with the cluster's token) while the worker (two pool
processes) is killed KILLS times, each time a moment after a write that asked for a pass, and started again.
A killed pass's cluster is handed out again by the sweeper once its lease (PLAYGROUND_LEASE_SECONDS, short
here) runs out.

Afterwards, for every cluster:

* it converges: each Deployment the writer left has its desired replicas Running and Ready, one ReplicaSet
  and status settled (observedGeneration, ready/updated/available); nothing of a deleted Deployment stays;
* nothing is lost or duplicated: the Deployments and ConfigMaps listed are exactly those the writer left;
  the change log has one ADDED per object created, one DELETED per object deleted, never an ADDED of a key
  that exists; every uid is unique;
* the change log has every resourceVersion once, up to the cluster's (compaction is off:
  PLAYGROUND_CHANGE_LOG_SIZE);
* a pods watch opened before the load (reconnecting from its last resourceVersion whenever the server ends
  the stream, as kubectl does) saw exactly the log's pod changes, once each and in order;
* the cluster page's live socket, opened before the load, got exactly the log's changes of the kinds it
  shows, once each and in order.
"""
from __future__ import annotations

import contextlib
import os
import random
import signal
import threading
import time
from collections import Counter
from pathlib import Path

import psycopg
import pytest

from clusters.web.live import KINDS as PAGE_KINDS
from tests import live_server
from tests.integration import faults

CLUSTERS = 3
KILLS = 24               # SIGKILLs: of one pool process (the pass it runs dies, the worker forks another) ...
WHOLE_WORKER_EVERY = 8   # ... and every 8th of the whole worker, started again
LEASE_SECONDS = 2
MAX_DEPLOYMENTS = 4
DEPLOYMENTS = "/apis/apps/v1/namespaces/default/deployments"
CONFIGMAPS = "/api/v1/namespaces/default/configmaps"
PODS = "/api/v1/namespaces/default/pods"


@pytest.fixture(scope="module")
def classroom(tmp_path_factory) -> live_server.LiveServer:
    server = live_server.start(tmp_path_factory.mktemp("worker-kill"), backend="postgres", celery=True, extra_env={
        "PLAYGROUND_START_DELAYS": "0", "PLAYGROUND_LEASE_SECONDS": str(LEASE_SECONDS),
        "PLAYGROUND_CHANGE_LOG_SIZE": "1000000"})
    try:
        yield server
    finally:
        server.stop()


class Writer(threading.Thread):
    """One learner writing without pause: what it created, changed and deleted, and what should be left."""

    def __init__(self, api: faults.Api, seed: int, wrote: threading.Event) -> None:
        super().__init__(daemon=True)
        self.api, self.rng, self.wrote = api, random.Random(seed), wrote
        self.deployments: dict[str, int] = {}     # what should be left: name → replicas
        self.configmaps: dict[str, str] = {}      # name → data value
        self.created: Counter = Counter()         # (kind, name) → creates answered 201
        self.deleted: Counter = Counter()
        self.failures: list[str] = []
        self.writes = 0
        self.stop = threading.Event()
        self.serial = 0

    def _new_name(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}-{self.serial}"

    def _write(self, method: str, path: str, **kwargs) -> None:
        response = self.api.request(method, path, **kwargs)
        if not response.ok:
            self.failures.append(f"{method} {path}: {response.status_code} {response.text[:300]}")
        self.writes += 1
        self.wrote.set()

    def step(self) -> None:
        rng = self.rng
        ops = ["configmap", "configmap"]
        ops += ["deployment"] * (2 if len(self.deployments) < MAX_DEPLOYMENTS else 0)
        if self.deployments:
            ops += ["scale", "scale", "delete-deployment"] * (1 if len(self.deployments) > 1 else 0) + ["scale"]
        if self.configmaps:
            ops += ["change-configmap", "delete-configmap"]
        op = rng.choice(ops)
        if op == "deployment":
            name, replicas = self._new_name("web"), rng.randint(1, 3)
            self._write("POST", DEPLOYMENTS, json={
                "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": {"app": name}},
                "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}}, "template": {
                    "metadata": {"labels": {"app": name}},
                    "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}}}})
            self.deployments[name] = replicas
            self.created["Deployment", name] += 1
        elif op == "scale":
            name = rng.choice(sorted(self.deployments))
            replicas = rng.randint(0, 3)
            self._write("PATCH", f"{DEPLOYMENTS}/{name}", json={"spec": {"replicas": replicas}},
                        headers={"Content-Type": "application/merge-patch+json"})
            self.deployments[name] = replicas
        elif op == "delete-deployment":
            name = rng.choice(sorted(self.deployments))
            self._write("DELETE", f"{DEPLOYMENTS}/{name}", json={"propagationPolicy": "Background"})
            del self.deployments[name]
            self.deleted["Deployment", name] += 1
        elif op == "configmap":
            name = self._new_name("cm")
            self._write("POST", CONFIGMAPS, json={"metadata": {"name": name}, "data": {"v": "0"}})
            self.configmaps[name] = "0"
            self.created["ConfigMap", name] += 1
        elif op == "change-configmap":
            name = rng.choice(sorted(self.configmaps))
            value = str(int(self.configmaps[name]) + 1)
            self._write("PATCH", f"{CONFIGMAPS}/{name}", json={"data": {"v": value}},
                        headers={"Content-Type": "application/merge-patch+json"})
            self.configmaps[name] = value
        else:
            name = rng.choice(sorted(self.configmaps))
            self._write("DELETE", f"{CONFIGMAPS}/{name}")
            del self.configmaps[name]
            self.deleted["ConfigMap", name] += 1

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.step()
            except Exception as error:   # a broken connection: the API server is never killed here
                self.failures.append(repr(error))
            time.sleep(self.rng.uniform(0.05, 0.3))


def _cpu_ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return -1
    return int(fields[11]) + int(fields[12])   # utime + stime


def kill_pool_process(server: live_server.LiveServer, rng: random.Random) -> bool:
    """SIGKILL one of the worker's pool processes, preferably one burning CPU now (in the middle of a pass);
    True if it was. The worker forks a new one; the killed task's cluster is handed out again by the sweeper."""
    master = server.worker.pid

    def pool() -> list[int]:
        assert server.worker.poll() is None, f"the worker exited; see {server.root / 'worker.log'}"
        return [int(pid) for path in Path(f"/proc/{master}/task").glob("*/children")
                for pid in path.read_text().split()]

    # The worker forks a new pool process a moment after one died.
    children = faults.wait_until(pool, 30, f"the worker forked no pool process; see {server.root / 'worker.log'}")
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        before = {pid: _cpu_ticks(pid) for pid in children}
        time.sleep(0.03)
        busy = [pid for pid in children if _cpu_ticks(pid) > before[pid] >= 0]
        if busy:
            os.kill(rng.choice(busy), signal.SIGKILL)
            return True
    with contextlib.suppress(ProcessLookupError):
        os.kill(rng.choice(children), signal.SIGKILL)
    return False


def _ready(obj: dict, field: str) -> int:
    return int((obj.get("status") or {}).get(field) or 0)


def converged(api: faults.Api, writer: Writer) -> str:
    """'' when the cluster is what the writer left, settled; else what is not yet."""
    deployments = {d["metadata"]["name"]: d for d in api.call("GET", DEPLOYMENTS)["items"]}
    if set(deployments) != set(writer.deployments):
        return f"deployments {sorted(deployments)} != {sorted(writer.deployments)}"
    sets = api.call("GET", "/apis/apps/v1/namespaces/default/replicasets")["items"]
    pods = api.call("GET", PODS)["items"]
    for name, want in writer.deployments.items():
        d = deployments[name]
        if d["spec"]["replicas"] != want:
            return f"{name}: spec.replicas {d['spec']['replicas']} != {want}"
        if (d.get("status") or {}).get("observedGeneration") != d["metadata"]["generation"]:
            return f"{name}: not observed yet"
        counts = [_ready(d, f) for f in ("replicas", "readyReplicas", "updatedReplicas", "availableReplicas")]
        if counts != [want] * 4:
            return f"{name}: status replicas/ready/updated/available {counts}, want {want}"
    owners = {d["metadata"]["uid"]: name for name, d in deployments.items()}
    by_rs: dict[str, int] = Counter()
    for rs in sets:
        ref = [r for r in rs["metadata"].get("ownerReferences") or [] if r.get("controller")]
        if not ref or ref[0]["uid"] not in owners:
            return f"ReplicaSet {rs['metadata']['name']} of no Deployment left"
        name = owners[ref[0]["uid"]]
        if rs["spec"]["replicas"] != writer.deployments[name] or _ready(rs, "replicas") != writer.deployments[name]:
            return f"ReplicaSet {rs['metadata']['name']}: {rs['spec']['replicas']}/{_ready(rs, 'replicas')}"
        by_rs[name] += 1
    if any(by_rs[name] != 1 for name in writer.deployments):
        return f"ReplicaSets per Deployment {dict(by_rs)}"
    rs_uids = {rs["metadata"]["uid"]: rs for rs in sets}
    per_rs: Counter = Counter()
    for pod in pods:
        meta = pod["metadata"]
        ref = [r for r in meta.get("ownerReferences") or [] if r.get("controller")]
        if not ref or ref[0]["uid"] not in rs_uids:
            return f"pod {meta['name']} of no ReplicaSet left"
        if meta.get("deletionTimestamp") or (pod.get("status") or {}).get("phase") != "Running":
            return f"pod {meta['name']} {(pod.get('status') or {}).get('phase')} {meta.get('deletionTimestamp')}"
        per_rs[ref[0]["uid"]] += 1
    for uid, rs in rs_uids.items():
        if per_rs[uid] != rs["spec"]["replicas"]:
            return f"ReplicaSet {rs['metadata']['name']} has {per_rs[uid]} pods for {rs['spec']['replicas']}"
    configmaps = {c["metadata"]["name"]: c.get("data", {}).get("v") for c in api.call("GET", CONFIGMAPS)["items"]
                  if c["metadata"]["name"].startswith("cm-")}
    if configmaps != writer.configmaps:
        return f"configmaps {configmaps} != {writer.configmaps}"
    return ""


def check_history(log: list[tuple], writer: Writer) -> None:
    """The log's story of each object: never ADDED while it exists; one ADDED per create and one DELETED per
    delete of the writer's Deployments and ConfigMaps."""
    exists: set[tuple[str, str, str]] = set()
    added: Counter = Counter()
    deleted: Counter = Counter()
    for rv, event, kind, namespace, name in log:
        key = (kind, namespace, name)
        if event == "ADDED":
            assert key not in exists, f"{kind} {name} ADDED again at rv {rv} while it exists"
            exists.add(key)
            added[key] += 1
        elif event == "DELETED":
            assert key in exists, f"{kind} {name} DELETED at rv {rv} but it does not exist"
            exists.discard(key)
            deleted[key] += 1
    for kind in ("Deployment", "ConfigMap"):
        assert {(k, name): n for (k, _, name), n in added.items() if k == kind and name.startswith(("web-", "cm-"))} \
            == {k: n for k, n in writer.created.items() if k[0] == kind}, f"{kind}s ADDED != created"
        assert {(k, name): n for (k, _, name), n in deleted.items() if k == kind and name.startswith(("web-", "cm-"))} \
            == {k: n for k, n in writer.deleted.items() if k[0] == kind}, f"{kind}s DELETED != deleted"


def test_worker_killed_again_and_again_under_load_loses_nothing(classroom, tmp_path):
    users = [f"wk{i}" for i in range(CLUSTERS)]
    kubeconfigs = [classroom.new_cluster(user, "load") for user in users]
    faults.set_passwords(classroom, users)
    apis = [faults.Api(k, tmp_path) for k in kubeconfigs]
    cluster_ids = [classroom.cluster_id(k) for k in kubeconfigs]

    watchers = [faults.start_watch(api, PODS) for api in apis]
    pages = [faults.PageSocket(classroom, faults.login(classroom, user), "load") for user in users]
    for page in pages:
        page.start()
    for page in pages:
        assert page.opened.wait(30), "the page socket sent no snapshot"

    load_started = time.monotonic()
    wrote = threading.Event()
    writers = [Writer(api, seed, wrote) for seed, api in enumerate(apis)]
    for writer in writers:
        writer.start()
    rng = random.Random(7)
    restarts: list[float] = []
    busy = 0
    try:
        for kill in range(KILLS):
            # A moment after a write: its pass (asked for on commit) is being stepped or committed.
            wrote.clear()
            assert wrote.wait(30), f"the writers stopped writing: {[(w.writes, w.failures[-2:]) for w in writers]}"
            time.sleep(rng.uniform(0.0, 0.3))
            if kill % WHOLE_WORKER_EVERY == WHOLE_WORKER_EVERY - 1:
                classroom.kill_worker()   # the worker and its pool: no worker at all until the new one is up
                killed = time.monotonic()
                classroom.start_worker()
                restarts.append(time.monotonic() - killed)
            else:
                busy += kill_pool_process(classroom, rng)
    finally:
        for writer in writers:
            writer.stop.set()
        for writer in writers:
            writer.join(60)
    load_seconds = time.monotonic() - load_started
    for writer in writers:
        assert not writer.failures, writer.failures[:5]

    # Convergence: the sweeper and the new worker finish what the killed ones left.
    for api, writer in zip(apis, writers):
        last = [""]

        def settled(api=api, writer=writer, last=last) -> bool:
            last[0] = converged(api, writer)
            return not last[0]

        faults.wait_until(settled, 90, lambda last=last: f"not converged: {last[0]}; see "
                          f"{classroom.root / 'worker.log'}")
    converge_seconds = time.monotonic() - load_started - load_seconds

    figures = []
    for cluster_id, writer, watcher, page in zip(cluster_ids, writers, watchers, pages):
        rv, compacted, log = faults.change_log(classroom, cluster_id)
        faults.check_log_contiguous(rv, compacted, log)
        check_history(log, writer)
        with psycopg.connect(classroom.env["DATABASE_URL"]) as conn:
            twice = conn.execute("SELECT uid, count(*) FROM clusters_apiobject WHERE cluster_id = %s "
                                 "GROUP BY uid HAVING count(*) > 1", (cluster_id,)).fetchall()
        assert not twice, f"uids held by two objects: {twice}"

        last_pod = max((row[0] for row in log if row[2] == "Pod"), default=0)
        faults.wait_until(lambda w=watcher, n=last_pod: w.since >= n, 30, "the watch did not catch up")
        faults.wait_until(lambda p=page, n=rv: (p.rv or 0) >= n, 30, "the page did not catch up")
        watched = faults.check_watch(watcher, log, "Pod", rv)
        paged = faults.check_page(page, log, PAGE_KINDS, rv)
        figures.append(f"rv {rv}, {writer.writes} writes, {watched} pod events over {watcher.streams} watch "
                       f"streams, {paged} page changes")
    for client in (*watchers, *pages):
        client.stop.set()
    print(f"{KILLS} kills ({len(restarts)} of the whole worker, restarted in {max(restarts):.1f}s at most; "
          f"{busy} of a pool process seen busy) in {load_seconds:.0f}s of load, "
          f"converged {converge_seconds:.1f}s later; "
          + "; ".join(figures))
