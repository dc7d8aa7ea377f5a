r"""Lessons: how soon a step ticks on the page after the change that satisfies it, and what judging a step costs.

1. Tick delay (target p95 ≤ 1 s). A live playground (tests/live_server.py, `manage.py serve`; embedded
   mode, or classroom mode with a Celery worker and beat with --classroom) serves a lesson written for the
   benchmark (PLAYGROUND_LESSONS_DIR): its step checks that a ConfigMap `flag` exists (and one that never
   does, so the step stays open). A learner signed in over HTTP starts it and opens the panel's WebSocket
   exactly as the page does; then, --changes times, the ConfigMap is created or deleted through the
   Kubernetes API with the cluster's bearer token (as kubectl does), and the delay is from the API's answer
   to the panel's "checks" message showing the tick flipped. A --noise rate of unrelated writes (other
   ConfigMaps) runs meanwhile, so the panel also digests changes that tick nothing.
2. Judging cost (target ≤ 2 ms). The pure checks (lessons/checks.py) of a six-check step on an engine
   snapshot of a cluster with over 1,000 objects (a 120-replica Deployment, Services, ConfigMaps, their
   EndpointSlices and Events; the target is for 500): the
   snapshot built from the objects once, then evaluated --rounds times; median and p95.

    .venv/bin/python bench/lessons.py [--changes 40] [--noise 5] [--rounds 2000] [--classroom]

Prints figures and ratios to the targets; never fails on them.
"""
from __future__ import annotations

import argparse
import json
import ssl
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import os  # noqa: E402

import django  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")
django.setup()

from bench import helpers  # noqa: E402
from bench.helpers import percentile  # noqa: E402
from lessons import checks  # noqa: E402
from tests import live_server  # noqa: E402

TARGET_TICK_P95 = 1.0
TARGET_JUDGE_MS = 2.0

LESSON = {
    "bench/track.yaml": "title: Bench\nsummary: For the benchmark.\norder: 1\nlessons: [tick]\n",
    "bench/tick/lesson.yaml": "title: Tick\nsummary: A check that flips.\nminutes: 1\nsetup: {workers: 1}\n",
    "bench/tick/01-flag.md": "---\ntitle: Flag\nchecks:\n  - exists: {kind: ConfigMap, name: flag}\n"
                             "  - exists: {kind: ConfigMap, name: never}\n"
                             "solution:\n  commands: [kubectl create configmap never]\n---\nFlip it.\n",
}


class Api:
    """The Kubernetes API with the lesson cluster's bearer token, as kubectl sends requests."""

    def __init__(self, kubeconfig: str) -> None:
        access = helpers.cluster_access(kubeconfig)
        self.base = access["server"]
        self.ssl = ssl.create_default_context(cadata=access["ca"])
        self.headers = {"Authorization": f"Bearer {access['token']}", "Content-Type": "application/json"}

    def call(self, method: str, path: str, body: dict | None = None) -> int:
        request = urllib.request.Request(self.base + path, method=method, headers=self.headers,
                                         data=json.dumps(body).encode() if body is not None else None)
        try:
            with urllib.request.urlopen(request, context=self.ssl, timeout=30) as answer:
                return answer.status
        except urllib.error.HTTPError as error:
            return error.code


def configmap(name: str, n: int = 0) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"n": str(n)}}


def tick_delays(args) -> None:
    content = Path(tempfile.mkdtemp(prefix="bench-lessons-"))
    for name, text in LESSON.items():
        (content / name).parent.mkdir(parents=True, exist_ok=True)
        (content / name).write_text(text)
    extra = {"PLAYGROUND_LESSONS_DIR": str(content)}
    server = live_server.start(Path(tempfile.mkdtemp(prefix="bench-lessons-server-")), extra_env=extra,
                               backend="postgres" if args.classroom else None, celery=args.classroom)
    try:
        server.manage("shell", "-c", "from django.contrib.auth import get_user_model as m; "
                      "m().objects.create_user('learner', password='pw-learner')")
        session = helpers.login(server.http_url, "learner", "pw-learner")
        started = time.perf_counter()
        answer = session.post(f"{server.http_url}/lessons/bench/tick/start", allow_redirects=False,
                              headers={"X-CSRFToken": session.cookies["csrftoken"]})
        start_seconds = time.perf_counter() - started
        assert answer.status_code == 302, answer.text
        kubeconfig = server.manage("cluster", "kubeconfig", "learner", "bench-tick", "--server",
                                   server.api_url).stdout
        api = Api(kubeconfig)
        panel = helpers.connect_blocking(helpers.ws_base(server.http_url) + "/lessons/bench/tick/live",
                                         session.cookies["sessionid"], server.http_url)
        first = json.loads(panel.recv())
        assert first["type"] == "state", first
        stop = threading.Event()
        noise_writes = [0]

        def noise() -> None:
            n = 0
            while not stop.is_set() and args.noise > 0:
                n += 1
                api.call("PUT" if n > 10 else "POST",
                         f"/api/v1/namespaces/default/configmaps{'/noise-' + str(n % 10) if n > 10 else ''}",
                         configmap(f"noise-{n % 10}", n))
                noise_writes[0] += 1
                stop.wait(1 / args.noise)

        writer = threading.Thread(target=noise, daemon=True)
        writer.start()
        delays: list[float] = []
        present = False
        for _ in range(args.changes):
            time.sleep(0.2)
            if present:
                api.call("DELETE", "/api/v1/namespaces/default/configmaps/flag")
            else:
                api.call("POST", "/api/v1/namespaces/default/configmaps", configmap("flag"))
            answered = time.perf_counter()
            present = not present
            while True:
                message = json.loads(panel.recv())
                if message["type"] == "checks" and message["checks"][0]["ok"] == present:
                    delays.append(time.perf_counter() - answered)
                    break
        stop.set()
        writer.join(5)
        panel.close()
        p95 = percentile(delays, 0.95)
        mode = "classroom (Celery, Redis, PostgreSQL)" if args.classroom else "embedded (SQLite, in-memory layer)"
        print(f"tick delay, {mode}, {len(delays)} changes with {noise_writes[0]} unrelated writes meanwhile:")
        print(f"  median {statistics.median(delays) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
              f"max {max(delays) * 1000:.0f} ms — target p95 ≤ {TARGET_TICK_P95 * 1000:.0f} ms, "
              f"ratio {p95 / TARGET_TICK_P95:.2f}")
        print(f"  starting the lesson (its cluster with the setup), through the page: {start_seconds * 1000:.0f} ms")
    finally:
        server.stop()


def judging_cost(args) -> None:
    import random

    from clusters.apiserver.bootstrap import cluster_objects
    from clusters.apiserver.pipeline import engine_state
    from clusters.engine.loop import step

    now, seed = 1_800_000_000.0, 3
    state = engine_state(cluster_objects(workers=3, now=now, seed=seed), now=now, seed=seed,
                         rng=random.Random("bench"))
    state.config["start_delays"] = False
    state.create({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"},
                  "spec": {"replicas": 120, "selector": {"matchLabels": {"app": "web"}},
                           "template": {"metadata": {"labels": {"app": "web"}},
                                        "spec": {"containers": [{"name": "web", "image": "nginx:1.27",
                                                                 "resources": {"requests": {"cpu": "10m"}}}]}}}})
    for i in range(40):
        state.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": f"svc-{i}", "namespace": "default"},
                      "spec": {"selector": {"app": "web"}, "clusterIP": f"10.96.1.{i + 10}",
                               "ports": [{"port": 80, "protocol": "TCP"}]}})
        state.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cm-{i}", "namespace": "default"},
                      "data": {"i": str(i)}})
    state.commit()
    result = step(state, now)
    state.commit()
    for _ in range(200):
        if result.next_wake is None or result.next_wake > now + 120:
            break
        result = step(state, max(result.next_wake, state.now))
        state.commit()
    objects = [(obj["kind"], obj) for obj in state.all_objects()]
    step_checks = [checks.parse(raw) for raw in (
        {"exists": {"kind": "Deployment", "name": "web"}},
        {"field": {"kind": "Deployment", "name": "web", "path": "status.readyReplicas", "op": ">=", "value": 120}},
        {"pods": {"selector": "app=web", "state": "Ready", "count": 120, "distinct_nodes": 3}},
        {"endpoints": {"service": "svc-7", "count": 120}},
        {"rollout": {"deployment": "web", "revisions": 1}},
        {"event": {"reason": "NeverHappens"}},
    )]
    build = []
    for _ in range(20):
        started = time.perf_counter()
        snapshot = checks.Snapshot.of(objects)
        build.append(time.perf_counter() - started)
    times = []
    for _ in range(args.rounds):
        started = time.perf_counter()
        results = checks.evaluate_all(step_checks, snapshot)
        times.append(time.perf_counter() - started)
    ok = [r.ok for _, r in results]
    median, p95 = statistics.median(times) * 1000, percentile(times, 0.95) * 1000
    print(f"judging a six-check step on {len(objects)} objects ({sum(1 for k, _ in objects if k == 'Pod')} pods), "
          f"results {ok}:")
    print(f"  median {median:.2f} ms, p95 {p95:.2f} ms — target ≤ {TARGET_JUDGE_MS:.0f} ms, "
          f"ratio {median / TARGET_JUDGE_MS:.2f} (p95 {p95 / TARGET_JUDGE_MS:.2f}); "
          f"building the snapshot from the objects {statistics.median(build) * 1000:.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--changes", type=int, default=40)
    parser.add_argument("--noise", type=float, default=5.0, help="unrelated writes per second meanwhile")
    parser.add_argument("--rounds", type=int, default=2000)
    parser.add_argument("--classroom", action="store_true", help="Celery, Redis and PostgreSQL instead of embedded")
    args = parser.parse_args()
    judging_cost(args)
    tick_delays(args)


if __name__ == "__main__":
    main()
