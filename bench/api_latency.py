"""API latency with the official Python client against a live playground holding 500 objects.

Targets (on the 2-core machine): p99 ≤ 50 ms for get/list, ≤ 100 ms for create/patch/apply
(the Kubernetes API SLO is 1 s). Prints p50/p95/p99 and the ratio of p99 to each target; never fails
on time.

    .venv/bin/python bench/api_latency.py [--backend postgres|sqlite] [--rounds 200] [--mode classroom|embedded]

postgres: classroom mode by default (serve, a Celery worker and beat, Redis); sqlite: embedded mode (the
control loops in the server process).

This process's heap is frozen once the cluster is filled (gc.freeze, as serve and the worker do at start):
otherwise every full collection of the cyclic collector here walks the whole kubernetes package the client
imported, 60–100 ms, and lands in whichever request is running (a list, mostly: it allocates the most), so
list's p99 was this process's pause and not the server's time. The collections during the rounds are
printed.
"""
from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kubernetes import client, config

from tests import live_server

TARGETS_MS = {"get": 50, "list": 50, "create": 100, "patch": 100, "apply": 100,
              "get (raw)": 50, "list (raw)": 50}


def deployment(name: str) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": {"app": name}},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "web", "image": "nginx:1.27",
                                                           "ports": [{"containerPort": 80}]}]}}}}


def fill(api: client.ApiClient, objects: int) -> None:
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    for i in range(objects):
        if i % 3 == 0:
            apps.create_namespaced_deployment("default", deployment(f"fill-{i}"))
        elif i % 3 == 1:
            core.create_namespaced_config_map("default", {"metadata": {"name": f"fill-{i}"},
                                                          "data": {"key": "value" * 20}})
        else:
            core.create_namespaced_service("default", {"metadata": {"name": f"fill-{i}"}, "spec": {
                "selector": {"app": f"fill-{i - 2}"}, "ports": [{"port": 80}]}})


def raw_session(kubeconfig: Path, ca_file: Path):
    """A keep-alive HTTPS session with the kubeconfig's token and CA (requests, not the client's models)."""
    import base64

    import requests
    import yaml

    config_data = yaml.safe_load(kubeconfig.read_text())
    ca_file.write_bytes(base64.b64decode(config_data["clusters"][0]["cluster"]["certificate-authority-data"]))
    session = requests.Session()
    session.headers["Authorization"] = "Bearer " + config_data["users"][0]["user"]["token"]
    session.verify = str(ca_file)
    session.trust_env = False  # REQUESTS_CA_BUNDLE would replace the playground's CA
    return session


class CollectorPauses:
    """The cyclic collector's pauses in this process while installed: (generation, ms)."""

    def __init__(self) -> None:
        self.pauses: list[tuple[int, float]] = []
        self._started = 0.0

    def __enter__(self) -> CollectorPauses:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc) -> None:
        gc.callbacks.remove(self._callback)

    def _callback(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses.append((info["generation"], (time.perf_counter() - self._started) * 1000))


def timed(samples: dict[str, list[float]], name: str, call) -> None:
    started = time.perf_counter()
    call()
    samples.setdefault(name, []).append((time.perf_counter() - started) * 1000)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", default="postgres", choices=["postgres", "sqlite"])
    parser.add_argument("--objects", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=200)
    # Classroom: the control loops run in a Celery worker beside the server (as served to a class);
    # embedded: in the server process itself, so every reconcile pass of this big cluster competes with
    # the API for the same interpreter (`make run`'s setup, not meant for a class).
    # --backend sqlite alone means embedded mode (`make run`); PostgreSQL, classroom mode.
    parser.add_argument("--mode", choices=("classroom", "embedded"), default=None)
    args = parser.parse_args()
    if args.mode is None:
        args.mode = "embedded" if args.backend == "sqlite" else "classroom"

    with tempfile.TemporaryDirectory() as tmp:
        # The controllers add ReplicaSets, two pods each and their Events to every third object: room for them.
        server = live_server.start(Path(tmp), backend=args.backend,
                                   extra_env={"PLAYGROUND_MAX_OBJECTS": str(10 * args.objects + 2 * args.rounds),
                                              "PLAYGROUND_MAX_PODS": str(args.objects + 200)},
                                   celery=args.mode == "classroom")
        try:
            kubeconfig = server.new_cluster("bench", "latency")
            api = config.new_client_from_config(config_file=str(kubeconfig))
            core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
            fill(api, args.objects)
            # The creates go to a namespace of their own: in "default" they would grow the list measured
            # beside them, round after round, to twice the ~objects/3 ConfigMaps it is meant to return.
            core.create_namespace({"metadata": {"name": "created"}})
            raw = raw_session(kubeconfig, Path(tmp) / "ca.crt")
            prefix = api.configuration.host
            samples: dict[str, list[float]] = {}
            gc.collect()
            gc.freeze()
            with CollectorPauses() as collector:
                for i in range(args.rounds):
                    timed(samples, "get", lambda: apps.read_namespaced_deployment("fill-0", "default"))
                    timed(samples, "list", lambda: core.list_namespaced_config_map("default", label_selector=""))
                    timed(samples, "create", lambda i=i: core.create_namespaced_config_map(
                        "created", {"metadata": {"name": f"new-{i}"}, "data": {"n": str(i)}}))
                    timed(samples, "patch", lambda i=i: apps.patch_namespaced_deployment(
                        f"fill-{(i % 50) * 3}", "default", {"spec": {"replicas": 1 + i % 5}}))
                    timed(samples, "apply", lambda i=i: apps.patch_namespaced_deployment(
                        f"ssa-{i % 20}", "default", deployment(f"ssa-{i % 20}"), field_manager="bench",
                        _content_type="application/apply-patch+yaml"))
                    # The same reads without the client's model decoding: the server's share of the time.
                    timed(samples, "get (raw)", lambda: raw.get(
                        prefix + "/apis/apps/v1/namespaces/default/deployments/fill-0").raise_for_status())
                    timed(samples, "list (raw)", lambda: raw.get(prefix + "/api/v1/namespaces/default/configmaps")
                          .raise_for_status())
                # The client's share of "list": its model decoding of the same body, with no request at all.
                body = raw.get(prefix + "/api/v1/namespaces/default/configmaps").text
                for _ in range(args.rounds):
                    timed(samples, "list decode", lambda: api.deserialize(body, "V1ConfigMapList",
                                                                              "application/json"))
        finally:
            server.stop()

    print(f"API latency, Python client over HTTPS, {args.backend}, {args.mode} mode, "
          f"cluster of {args.objects}+ objects (plus the ReplicaSets, pods and Events its controllers make), "
          f"{args.rounds} rounds (list returns ~{args.objects // 3} ConfigMaps)")
    print(f"{'operation':<12}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}{'target':>10}{'p99/target':>12}")
    for name, target in TARGETS_MS.items():
        values = samples[name]
        p95, p99 = percentile(values, 0.95), percentile(values, 0.99)
        print(f"{name:<12}{statistics.median(values):>10.1f}{p95:>10.1f}{p99:>10.1f}{target:>10}"
              f"{p99 / target:>12.2f}")
    decode = samples["list decode"]
    print(f"(of list: the Python client's model decoding of the same answer alone, no request: p50 "
          f"{statistics.median(decode):.1f}, p95 {percentile(decode, 0.95):.1f}, "
          f"p99 {percentile(decode, 0.99):.1f} ms)")
    for generation in (0, 1, 2):
        pauses = [ms for g, ms in collector.pauses if g == generation]
        if pauses:
            print(f"(this process's collector, generation {generation}: {len(pauses)} collections, longest "
                  f"{max(pauses):.1f} ms)")


if __name__ == "__main__":
    main()
