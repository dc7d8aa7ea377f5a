"""Classroom mode end to end: the real kubectl → API server → Redis → a real Celery worker (and beat)
→ PostgreSQL, and what happens when that worker is killed half-way through a reconcile pass.

DESIGN.md: "a worker killed half-way leaves the database as it was (one transaction), and the
sweeper picks the cluster up again". The database is read directly (psycopg), not through the API,
so a half-written pass could not hide behind the API's own views.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import psycopg
import pytest

from tests import live_server
from tests.fixtures import as_yaml, nginx_deployment

KUBECTL = Path(sys.executable).parent / "kubectl"
LEASE_SECONDS = 3   # PLAYGROUND_LEASE_SECONDS: a killed worker's cluster is handed out again this soon
SCALE_TO = 150      # a scale-up big enough that its reconcile pass takes a while (hundreds of writes)

# The docs' nginx Deployment (2 replicas) as `web`, labelled app=web.
NGINX = as_yaml(nginx_deployment(name="web", app="web", image="nginx:1.27", labels={"app": "web"}))


@pytest.fixture(scope="module")
def classroom(tmp_path_factory) -> live_server.LiveServer:
    server = live_server.start(tmp_path_factory.mktemp("classroom"), backend="postgres", celery=True, extra_env={
        "PLAYGROUND_START_DELAYS": "0", "PLAYGROUND_LEASE_SECONDS": str(LEASE_SECONDS),
        "PLAYGROUND_MAX_REPLICAS": "300", "PLAYGROUND_MAX_PODS": "500", "PLAYGROUND_MAX_OBJECTS": "5000"})
    try:
        yield server
    finally:
        server.stop()


def kubectl(server: live_server.LiveServer, kubeconfig: Path, *args: str, input: str | None = None) -> str:
    result = subprocess.run([str(KUBECTL), "--kubeconfig", str(kubeconfig), *args], input=input, text=True,
                            capture_output=True, env=server.env, timeout=60)
    assert result.returncode == 0, f"kubectl {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def running_ready(pods: list[dict]) -> int:
    def ready(pod: dict) -> bool:
        return any(c.get("type") == "Ready" and c.get("status") == "True"
                   for c in pod.get("status", {}).get("conditions") or [])

    return sum(1 for p in pods if p.get("status", {}).get("phase") == "Running" and ready(p)
               and not p["metadata"].get("deletionTimestamp"))


def wait_running(server, kubeconfig: Path, want: int, timeout: float) -> float:
    """Seconds until `want` pods labelled app=web are Running and Ready (fails after `timeout`)."""
    started = time.time()
    pods: list[dict] = []
    while time.time() - started < timeout:
        pods = json.loads(kubectl(server, kubeconfig, "get", "pods", "-l", "app=web", "-o", "json"))["items"]
        if running_ready(pods) == want and len(pods) == want:
            return time.time() - started
        time.sleep(0.25)
    phases = Counter(p.get("status", {}).get("phase") for p in pods)
    pytest.fail(f"{want} pods not Running/Ready within {timeout}s: {len(pods)} pods, phases {dict(phases)}; "
                f"worker log: {server.root / 'worker.log'}")


def db_url(server) -> str:
    return server.env["DATABASE_URL"]


def cluster_locked(server, cluster_id: str) -> bool:
    """Is the cluster's row lock (the per-cluster reconcile lock) held by some transaction right now?"""
    with psycopg.connect(db_url(server), autocommit=False) as conn:
        try:
            conn.execute("SELECT 1 FROM clusters_cluster WHERE id = %s FOR UPDATE NOWAIT", (cluster_id,))
            return False
        except psycopg.errors.LockNotAvailable:
            return True
        finally:
            conn.rollback()


def check_consistent(server, cluster_id: str) -> dict:
    """No half-written pass: owners exist, counts agree, resourceVersions strictly increase."""
    with psycopg.connect(db_url(server)) as conn:
        cluster_rv, compacted = conn.execute(
            "SELECT resource_version, compacted_resource_version FROM clusters_cluster WHERE id = %s",
            (cluster_id,)).fetchone()
        rows = conn.execute("SELECT kind, namespace, name, resource_version, data FROM clusters_apiobject "
                            "WHERE cluster_id = %s", (cluster_id,)).fetchall()
        log = [rv for (rv,) in conn.execute("SELECT resource_version FROM clusters_change WHERE cluster_id = %s "
                                            "ORDER BY id", (cluster_id,))]
    objects = {(kind, ns, name): (rv, json.loads(data)) for kind, ns, name, rv, data in rows}

    # resourceVersions: the change log is written in rv order, without duplicates, up to the cluster's rv.
    assert len(log) == len(set(log)), "duplicate resourceVersions in the change log"
    assert all(a < b for a, b in zip(log, log[1:])), "change log resourceVersions not strictly increasing"
    assert log and log[-1] == cluster_rv, f"newest change {log[-1] if log else None} != cluster rv {cluster_rv}"
    assert all(rv > compacted for rv in log)
    seen_rvs = Counter(rv for rv, _ in objects.values())
    assert max(seen_rvs.values()) == 1, "two objects share a resourceVersion"
    for key, (rv, obj) in objects.items():
        assert rv <= cluster_rv, f"{key} at rv {rv} beyond the cluster's {cluster_rv}"
        assert obj["metadata"]["resourceVersion"] == str(rv), f"{key}: row rv {rv} != object's"

    # Ownership and counts of the Deployment's ReplicaSets and pods.
    by_uid = {obj["metadata"]["uid"]: obj for _, obj in objects.values()}
    pods = [obj for (kind, ns, _), (_, obj) in objects.items() if kind == "Pod" and ns == "default"]
    sets = [obj for (kind, ns, _), (_, obj) in objects.items() if kind == "ReplicaSet" and ns == "default"]
    deployment = objects[("Deployment", "default", "web")][1]
    owned: Counter = Counter()
    for pod in pods:
        refs = [r for r in pod["metadata"].get("ownerReferences") or [] if r.get("controller")]
        assert len(refs) == 1 and refs[0]["kind"] == "ReplicaSet", f"pod {pod['metadata']['name']} has no RS owner"
        owner = by_uid.get(refs[0]["uid"])
        assert owner is not None and owner["kind"] == "ReplicaSet", \
            f"pod {pod['metadata']['name']} owned by a ReplicaSet that does not exist"
        owned[refs[0]["uid"]] += 1
    for rs in sets:
        uid, name = rs["metadata"]["uid"], rs["metadata"]["name"]
        refs = rs["metadata"].get("ownerReferences") or []
        assert any(r["uid"] == deployment["metadata"]["uid"] for r in refs), f"RS {name} not owned by web"
        assert rs.get("status", {}).get("replicas", 0) == owned[uid], \
            f"RS {name}: status.replicas {rs.get('status', {}).get('replicas')} but {owned[uid]} pods"
        assert owned[uid] <= rs["spec"]["replicas"] or rs["spec"]["replicas"] == 0 and owned[uid] == 0, \
            f"RS {name}: {owned[uid]} pods for spec.replicas {rs['spec']['replicas']}"
    status_replicas = deployment.get("status", {}).get("replicas", 0)
    assert status_replicas == sum(owned.values()), \
        f"Deployment status.replicas {status_replicas} but its ReplicaSets own {sum(owned.values())} pods"
    return {"pods": len(pods), "resource_version": cluster_rv, "changes": len(log)}


def test_apply_runs_pods_through_the_worker(classroom):
    kubeconfig = classroom.new_cluster("alice", "celery-apply")
    assert "deployment.apps/web created" in kubectl(classroom, kubeconfig, "apply", "-f", "-", input=NGINX)
    wait_running(classroom, kubeconfig, 2, timeout=30)
    out = kubectl(classroom, kubeconfig, "get", "deployment", "web")
    assert "2/2" in out, out
    check_consistent(classroom, classroom.cluster_id(kubeconfig))


def test_killed_worker_leaves_no_half_written_pass_and_the_cluster_recovers(classroom):
    kubeconfig = classroom.new_cluster("bob", "celery-fault", nodes=3)
    cluster_id = classroom.cluster_id(kubeconfig)
    kubectl(classroom, kubeconfig, "apply", "-f", "-", input=NGINX)
    wait_running(classroom, kubeconfig, 2, timeout=30)
    before = check_consistent(classroom, cluster_id)

    # The scale's API transaction has committed when kubectl returns; from then on whoever holds the
    # cluster's row lock is the worker, in the middle of a reconcile pass. Kill it right there.
    kubectl(classroom, kubeconfig, "scale", "deployment", "web", f"--replicas={SCALE_TO}")
    deadline, caught = time.time() + 10, False
    while time.time() < deadline and not caught:
        caught = cluster_locked(classroom, cluster_id)
    classroom.kill_worker()
    assert caught, "never saw the worker inside a reconcile pass of the scale-up"

    # The killed transaction is rolled back by PostgreSQL when the connection drops.
    deadline = time.time() + 10
    while cluster_locked(classroom, cluster_id):
        assert time.time() < deadline, "the killed worker's transaction still holds the cluster lock"
        time.sleep(0.05)
    after_kill = check_consistent(classroom, cluster_id)
    assert after_kill["resource_version"] >= before["resource_version"]

    # A new worker: the sweeper hands the cluster out again (its lease expires after LEASE_SECONDS).
    classroom.start_worker()
    seconds = wait_running(classroom, kubeconfig, SCALE_TO, timeout=LEASE_SECONDS + 60)
    final = check_consistent(classroom, cluster_id)
    assert final["pods"] == SCALE_TO
    print(f"killed with {after_kill['pods']} pods committed; {SCALE_TO} Running {seconds:.1f}s after the restart")
