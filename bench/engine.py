"""The simulation through Celery + Redis + PostgreSQL (classroom mode), against a live playground.

(a) pods scheduled and started per second: a Deployment of N replicas (300) on a 10-node cluster,
    from the API write to every pod Running (seen on a watch); and the pure engine's figure for the
    same work in-process (engine.step, CPU time: pods per second per core). Target ≥ 1,000 pods/s/core.
(b) `kubectl apply` of a 3-replica Deployment (the real kubectl) to all 3 pods Ready, seen on a watch;
    p50/p95 over 30+ samples. Target p95 ≤ 1 s.
(c) one reconcile pass (clusters.sim.reconcile.cluster_reconcile, in-process against PostgreSQL) of an
    idle 200-object cluster, median and p95 of 100 passes, with its parts (lock + snapshot load, state
    build, engine step, persist). Target ≤ 5 ms.

Start delays are zero (PLAYGROUND_START_DELAYS=0). Prints figures and the ratio to each target;
never fails on time.

    .venv/bin/python bench/engine.py [--pods 300] [--samples 40] [--passes 100]
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import live_server  # noqa: E402

KUBECTL = Path(sys.executable).parent / "kubectl"
TARGET_PODS_PER_CORE = 1000.0
TARGET_APPLY_P95 = 1.0
TARGET_PASS_MS = 5.0


def deployment(name: str, replicas: int) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": {"app": name}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27",
                                                           "ports": [{"containerPort": 80}]}]}}}}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def pod_ready(pod: dict) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in pod.get("status", {}).get("conditions") or [])


class Api:
    """Raw HTTPS with a kubeconfig's token and CA: JSON in and out, no client model decoding."""

    def __init__(self, kubeconfig: Path, tmp: Path) -> None:
        import requests
        import yaml

        conf = yaml.safe_load(kubeconfig.read_text())
        self.base = conf["clusters"][0]["cluster"]["server"]
        ca = tmp / f"{kubeconfig.stem}.ca.crt"
        ca.write_bytes(base64.b64decode(conf["clusters"][0]["cluster"]["certificate-authority-data"]))
        self.session = requests.Session()
        self.session.headers["Authorization"] = "Bearer " + conf["users"][0]["user"]["token"]
        self.session.verify = str(ca)
        self.session.trust_env = False

    def request(self, method: str, path: str, **kwargs):
        response = self.session.request(method, self.base + path, **kwargs)
        response.raise_for_status()
        return response


class PodWatcher(threading.Thread):
    """Pods of one namespace as a watch stream reports them (re-lists after 410 Gone, resumes otherwise)."""

    def __init__(self, api: Api, namespace: str = "default") -> None:
        super().__init__(daemon=True)
        self.api, self.namespace = api, namespace
        self.pods: dict[str, dict] = {}   # name → {"app", "node", "phase", "ready", "deleting"}
        self.cond = threading.Condition()
        self.ready = threading.Event()

    @staticmethod
    def summary(pod: dict) -> dict:
        meta, status = pod["metadata"], pod.get("status", {})
        return {"app": (meta.get("labels") or {}).get("app"), "node": pod.get("spec", {}).get("nodeName"),
                "phase": status.get("phase"), "ready": pod_ready(pod), "deleting": bool(meta.get("deletionTimestamp"))}

    def run(self) -> None:
        path = f"/api/v1/namespaces/{self.namespace}/pods"
        rv = None
        while True:
            try:
                if rv is None:
                    listed = self.api.request("GET", path).json()
                    with self.cond:
                        self.pods = {p["metadata"]["name"]: self.summary(p) for p in listed["items"]}
                        self.cond.notify_all()
                    rv = listed["metadata"]["resourceVersion"]
                with self.api.session.get(self.api.base + path, stream=True, timeout=(10, 600), params={
                        "watch": "true", "resourceVersion": rv, "allowWatchBookmarks": "true",
                        "timeoutSeconds": "600"}) as response:
                    response.raise_for_status()
                    self.ready.set()
                    for line in response.iter_lines():
                        if not line:
                            continue
                        event = json.loads(line)
                        obj = event["object"]
                        if event["type"] == "ERROR":
                            rv = None  # 410 Gone: list again
                            break
                        rv = obj["metadata"].get("resourceVersion", rv)
                        if event["type"] == "BOOKMARK":
                            continue
                        with self.cond:
                            if event["type"] == "DELETED":
                                self.pods.pop(obj["metadata"]["name"], None)
                            else:
                                self.pods[obj["metadata"]["name"]] = self.summary(obj)
                            self.cond.notify_all()
            except Exception:  # the server went away (end of the benchmark) or a hiccup: retry
                time.sleep(0.2)

    def of(self, app: str) -> list[dict]:
        return [p for p in self.pods.values() if p["app"] == app]

    def wait(self, predicate: Callable[[list[dict]], bool], app: str, timeout: float) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: predicate(self.of(app)), timeout)


# ------------------------------------------------------------------------------------------- (a)
def live_throughput(server: live_server.LiveServer, tmp: Path, pods: int) -> dict:
    kubeconfig = server.new_cluster("bench", "throughput", nodes=10)
    api = Api(kubeconfig, tmp)
    watcher = PodWatcher(api)
    watcher.start()
    watcher.ready.wait(30)
    time.sleep(1.0)  # the new cluster's own first passes are done
    marks: dict[str, float] = {}
    started = time.perf_counter()
    api.request("POST", "/apis/apps/v1/namespaces/default/deployments", json=deployment("scale", pods))
    marks["API write answered"] = time.perf_counter() - started
    for name, predicate in (
            ("all pods created", lambda ps: len(ps) >= pods),
            ("all pods scheduled", lambda ps: sum(1 for p in ps if p["node"]) >= pods),
            ("all pods Running", lambda ps: sum(1 for p in ps if p["phase"] == "Running") >= pods),
            ("all pods Ready", lambda ps: sum(1 for p in ps if p["ready"]) >= pods)):
        if not watcher.wait(predicate, "scale", 120):
            marks[name] = float("nan")
            break
        marks[name] = time.perf_counter() - started
    nodes = len({p["node"] for p in watcher.of("scale")})
    return {"marks": marks, "nodes_used": nodes, "pods": pods}


def engine_throughput(pods: int, nodes: int = 10, rounds: int = 3) -> dict:
    """The pure engine, in-process: CPU seconds to take `pods` new replicas to Running."""
    from clusters.apiserver.bootstrap import cluster_objects
    from clusters.apiserver.pipeline import engine_state
    from clusters.engine.loop import step

    best = None
    for round_ in range(rounds):
        now = 1_800_000_000.0
        rng = random.Random(f"engine:{round_}")
        state = engine_state(cluster_objects(workers=nodes, now=now, seed=round_), now=now, seed=round_, rng=rng)
        state.config["start_delays"] = False
        step(state, now)
        state.commit()
        manifest = deployment("scale", pods)
        manifest["metadata"]["namespace"] = "default"  # what the API server takes from the URL
        state.create(manifest)
        state.commit()
        cpu, wall, steps, passes = time.process_time(), time.perf_counter(), 0, 0
        while True:
            result = step(state, now)
            state.commit()
            steps += 1
            passes += result.passes
            running = sum(1 for p in state.list("Pod", "default") if p.get("status", {}).get("phase") == "Running")
            if running >= pods or result.next_wake is None or steps > 1000:
                break
            now = max(now, result.next_wake)
        figure = {"cpu": time.process_time() - cpu, "wall": time.perf_counter() - wall, "steps": steps,
                  "passes": passes, "running": running}
        if best is None or figure["cpu"] < best["cpu"]:
            best = figure
    return best


# ------------------------------------------------------------------------------------------- (b)
def apply_latency(server: live_server.LiveServer, tmp: Path, samples: int) -> dict:
    kubeconfig = server.new_cluster("bench", "apply")
    api = Api(kubeconfig, tmp)
    watcher = PodWatcher(api)
    watcher.start()
    watcher.ready.wait(30)
    env = {**server.env, "KUBECONFIG": str(kubeconfig)}
    subprocess.run([str(KUBECTL), "get", "pods"], env=env, capture_output=True, check=True)  # discovery cache
    totals, kubectl_times, missed = [], [], 0
    for i in range(samples):
        name = f"web-{i}"
        manifest = tmp / f"{name}.yaml"
        manifest.write_text(json.dumps(deployment(name, 3)))
        started = time.perf_counter()
        subprocess.run([str(KUBECTL), "apply", "-f", str(manifest)], env=env, capture_output=True, check=True)
        kubectl_times.append(time.perf_counter() - started)
        if watcher.wait(lambda ps: sum(1 for p in ps if p["ready"] and not p["deleting"]) >= 3, name, 30):
            totals.append(time.perf_counter() - started)
        else:
            missed += 1
        # Keep the cluster small: remove the sample and let its pods go before the next one.
        api.request("DELETE", f"/apis/apps/v1/namespaces/default/deployments/{name}",
                    json={"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"})
        watcher.wait(lambda ps: not ps, name, 10)
    return {"totals": totals, "kubectl": kubectl_times, "missed": missed}


# ------------------------------------------------------------------------------------------- (c)
def fill_idle_cluster(server: live_server.LiveServer, tmp: Path, objects: int) -> str:
    """A cluster of about `objects` objects (a few Deployments with their pods, Services, ConfigMaps), settled."""
    kubeconfig = server.new_cluster("bench", "idle")
    api = Api(kubeconfig, tmp)
    watcher = PodWatcher(api)
    watcher.start()
    watcher.ready.wait(30)
    for i in range(4):
        api.request("POST", "/apis/apps/v1/namespaces/default/deployments", json=deployment(f"app-{i}", 3))
        api.request("POST", "/api/v1/namespaces/default/services", json={
            "metadata": {"name": f"app-{i}"}, "spec": {"selector": {"app": f"app-{i}"}, "ports": [{"port": 80}]}})
    for i in range(4):
        watcher.wait(lambda ps: sum(1 for p in ps if p["ready"]) >= 3, f"app-{i}", 60)
    time.sleep(1.0)
    cluster_id = server.cluster_id(kubeconfig)
    import psycopg

    with psycopg.connect(server.env["DATABASE_URL"]) as conn:
        count = conn.execute("SELECT count(*) FROM clusters_apiobject WHERE cluster_id = %s",
                             (cluster_id,)).fetchone()[0]
    for i in range(max(0, objects - count)):
        api.request("POST", "/api/v1/namespaces/default/configmaps", json={
            "metadata": {"name": f"fill-{i}"}, "data": {"key": "value" * 20}})
    time.sleep(2.0)
    return cluster_id


def reconcile_cost(server: live_server.LiveServer, cluster_id: str, passes: int) -> dict:
    """cluster_reconcile in this process against the server's PostgreSQL database, the worker stopped."""
    server.kill_worker()
    server.stop_beat()
    os.environ.update({"DATABASE_URL": server.env["DATABASE_URL"], "DJANGO_SETTINGS_MODULE": "playground.settings",
                       "PLAYGROUND_VAR_DIR": server.env["PLAYGROUND_VAR_DIR"], "PLAYGROUND_START_DELAYS": "0"})
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    from django.db import transaction

    from clusters.apiserver.pipeline import engine_state
    from clusters.engine.loop import step
    from clusters.models import ApiObject, Cluster
    from clusters.sim.reconcile import _persist, cluster_reconcile
    from clusters.store.database import DbStore

    objects = ApiObject.objects.filter(cluster_id=cluster_id).count()
    for _ in range(5):  # warm up: connections, imports, caches
        cluster_reconcile(cluster_id)
    times, writes = [], 0
    for _ in range(passes):
        started = time.perf_counter()
        report = cluster_reconcile(cluster_id)
        times.append((time.perf_counter() - started) * 1000)
        writes += report.changes + report.sim_changes

    # The same pass in its parts (what cluster_reconcile does, timed step by step).
    parts: dict[str, list[float]] = {k: [] for k in ("lock", "snapshot load", "state build", "engine step",
                                                     "persist", "commit")}
    for _ in range(passes):
        marks = [time.perf_counter()]
        with transaction.atomic():
            cluster = Cluster.objects.select_for_update().get(pk=cluster_id)
            marks.append(time.perf_counter())
            store = DbStore(cluster, locked=True)
            loaded, sims = store.snapshot()
            marks.append(time.perf_counter())
            now = cluster.sim_now()
            rng = random.Random(f"engine:{cluster.seed}:{cluster.resource_version}")
            state = engine_state(loaded, now=now, seed=rng.getrandbits(64), rng=rng, sims=sims)
            state.config["start_delays"] = False
            marks.append(time.perf_counter())
            result = step(state, now)
            marks.append(time.perf_counter())
            _persist(store, state, result)
            store.finish()
            wake = cluster.wall_time(max(result.next_wake, now)) if result.next_wake is not None else None
            if wake != cluster.next_wake:
                Cluster.objects.filter(pk=cluster.pk).update(next_wake=wake)
            marks.append(time.perf_counter())
        marks.append(time.perf_counter())
        for name, a, b in zip(parts, marks, marks[1:]):
            parts[name].append((b - a) * 1000)
    return {"objects": objects, "times": times, "writes": writes, "parts": parts}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pods", type=int, default=300)
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--passes", type=int, default=100)
    parser.add_argument("--objects", type=int, default=200)
    args = parser.parse_args()

    engine = engine_throughput(args.pods)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        server = live_server.start(tmp, backend="postgres", celery=True, extra_env={
            "PLAYGROUND_START_DELAYS": "0", "PLAYGROUND_MAX_REPLICAS": str(max(50, args.pods)),
            "PLAYGROUND_MAX_PODS": str(args.pods + 200), "PLAYGROUND_MAX_OBJECTS": str(4 * args.pods + 2000)})
        try:
            live = live_throughput(server, tmp, args.pods)
            applied = apply_latency(server, tmp, args.samples)
            idle_id = fill_idle_cluster(server, tmp, args.objects)
            cost = reconcile_cost(server, idle_id, args.passes)
        finally:
            server.stop()

    print("Engine benchmark: Celery worker (concurrency 2) + beat + Redis + PostgreSQL, start delays 0")
    print(f"\n(a) {args.pods} replicas on 10 worker nodes (target ≥ {TARGET_PODS_PER_CORE:,.0f} pods/s per core; "
          "ratio ≥ 1 meets it)")
    for name, seconds in live["marks"].items():
        print(f"    {name:<22}{seconds:>8.3f} s after the API write")
    running = live["marks"].get("all pods Running", float("nan"))
    live_rate = args.pods / running
    print(f"    live, end to end       {live_rate:>8.0f} pods/s   ratio {live_rate / TARGET_PODS_PER_CORE:.2f} "
          f"(wall clock; API server, worker, PostgreSQL and this watcher share the cores; "
          f"{live['nodes_used']} nodes used)")
    engine_rate = engine["running"] / engine["cpu"]
    print(f"    pure engine.step       {engine_rate:>8.0f} pods/s per core   ratio "
          f"{engine_rate / TARGET_PODS_PER_CORE:.2f} ({engine['running']} pods Running in "
          f"{engine['cpu'] * 1000:.0f} ms CPU, {engine['steps']} steps, {engine['passes']} passes)")

    totals = applied["totals"]
    print(f"\n(b) kubectl apply of a 3-replica Deployment → 3 pods Ready (target p95 ≤ {TARGET_APPLY_P95:.1f} s; "
          "ratio ≤ 1 meets it)")
    if totals:
        p50, p95 = statistics.median(totals), percentile(totals, 0.95)
        print(f"    {len(totals)} samples: p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, max "
              f"{max(totals) * 1000:.0f} ms   ratio {p95 / TARGET_APPLY_P95:.2f}")
        print(f"    of which the kubectl process itself: p50 {statistics.median(applied['kubectl']) * 1000:.0f} ms, "
              f"p95 {percentile(applied['kubectl'], 0.95) * 1000:.0f} ms")
    if applied["missed"]:
        print(f"    {applied['missed']} samples not Ready within 30 s")

    times = cost["times"]
    median, p95 = statistics.median(times), percentile(times, 0.95)
    print(f"\n(c) reconcile pass of an idle {cost['objects']}-object cluster, in-process against PostgreSQL "
          f"(target ≤ {TARGET_PASS_MS:.0f} ms; ratio ≤ 1 meets it)")
    print(f"    {len(times)} passes: median {median:.2f} ms, p95 {p95:.2f} ms   ratio {median / TARGET_PASS_MS:.2f} "
          f"(p95 {p95 / TARGET_PASS_MS:.2f}); {cost['writes']} writes in all")
    print("    its parts (median ms):  " + ", ".join(f"{name} {statistics.median(values):.2f}"
                                                    for name, values in cost["parts"].items()))


if __name__ == "__main__":
    main()
