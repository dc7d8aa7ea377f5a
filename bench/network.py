"""The cluster network's cost, in-process (the pure engine, no database): reconcile passes and single requests
on a cluster with traffic, and how both grow with the cluster.

The cluster, at each size (pods = 50, 100, 200, 400 by default): S = pods / 4 Services `svc-0` … each in
front of a 4-replica nginx Deployment (so 48 pods at 50); S / 5 busybox client pods, each looping over its
share of the Services (every Service gets traffic):

    while true; do wget -q -O- http://svc-0; wget -q -O- http://svc-10; …; sleep 1; done

and a few busybox:1.28 pods looping `nslookup svc-N; sleep 5`. One worker node per 50 pods, start delays
off, run until every pod is Running and every Service answers.

(a) idle pass: a reconcile step with nothing to do, at the simulated time of the last one.
(b) traffic pass: a reconcile step a few simulated seconds later (3 s apart), the client loops running.
    The kubelet leaves a pod whose loop is steady alone (its quiet mark), so the loops' requests are not
    replayed in a pass; what replaying them costs is shown apart (the load replay, below).
    Both step a fresh ClusterState built from the stored objects and notes, as the runner builds one for
    every reconcile (clusters/sim/reconcile.load_state), so per-state caches start cold; building it is
    timed apart, and a step over the same state again (caches warm) is shown beside it.
(c) one request: `PodNetwork(state, client).request("http://svc-N", t)` (search path, routing, nginx's
    answer) with the network index warm.
(d) one DNS lookup: `PodNetwork.lookup("svc-N", t)` through the pod's search path.

Also shown: the load replay, every client's loop replayed for its request rates (client_request_rates and
pod_request_rates, what a metrics pipeline would ask once per pass). Targets at 50 Services / 200 pods: a
pass ≤ 10 ms and a request ≤ 1 ms; the pass should grow at most linearly with the pods. Times are wall
clock (time.perf_counter), with the passes' CPU time beside them: on a busy machine the CPU time is the
steadier figure. Prints figures and the ratio to each target; never fails on time. `--profile` adds each
controller's CPU time per pass at every size, and cProfile's top functions of the traffic passes at the
target size.

    .venv/bin/python bench/network.py [--sizes 50,100,200,400] [--passes 40] [--requests 2000] [--profile]
"""
from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import math
import os
import platform
import pstats
import random
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from clusters.apiserver.bootstrap import cluster_objects  # noqa: E402
from clusters.apiserver.pipeline import engine_state  # noqa: E402
from clusters.engine.loop import CONTROLLERS, step  # noqa: E402
from clusters.engine.network import PodNetwork, client_request_rates, get_index, pod_request_rates  # noqa: E402
from clusters.engine.state import ClusterState, object_text  # noqa: E402

T0 = 1_800_000_000.0           # a fixed simulated epoch (2027-01-15T08:00:00Z)
SETTLE = 10.0                  # the fresh cluster's own pods (CoreDNS) get ready before the workload comes
RUN_IN = 40.0                  # then the workload runs this long before anything is measured
TRAFFIC_STEP = 3.0             # simulated seconds between the traffic passes
REPLICAS = 4                   # pods per Service
TARGET_SIZE = 200              # the target's cluster: 50 Services, 200 pods
TARGET_PASS_MS = 10.0
TARGET_REQUEST_US = 1000.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


# ------------------------------------------------------------------------------------------- the cluster
def deployment(name: str) -> dict:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "default"},
            "spec": {"replicas": REPLICAS, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27",
                                                           "ports": [{"containerPort": 80}]}]}}}}


def service(name: str, n: int) -> dict:
    # The clusterIP the API server's allocator would give (the engine's preparer allocates no addresses).
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "default"},
            "spec": {"clusterIP": f"10.96.{100 + n // 250}.{n % 250 + 1}", "selector": {"app": name},
                     "ports": [{"port": 80, "protocol": "TCP"}]}}


def shell_pod(name: str, image: str, script: str) -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "labels": {"run": name}},
            "spec": {"restartPolicy": "Always",
                     "containers": [{"name": name, "image": image, "command": ["/bin/sh", "-c", script]}]}}


@dataclass
class Cluster:
    pods: int
    services: int
    clients: list[str]         # the wget loops' pods
    resolvers: list[str]       # the nslookup loops' pods
    workers: int
    state: ClusterState        # settled, committed
    texts: list[str]           # the stored form: every object's JSON …
    sims: dict[str, str]       # … and the simulation's notes, as the runner loads them
    setup_seconds: float
    answering: int             # Services that answered a client's request with 200


def new_state(workers: int, seed: int) -> ClusterState:
    rng = random.Random(f"engine:{seed}")
    state = engine_state(cluster_objects(workers=workers, now=T0, seed=seed), now=T0, seed=seed, rng=rng)
    state.config["start_delays"] = False
    state.commit()
    return state


def run_until(state: ClusterState, until: float) -> None:
    """Step at every wake-up the engine asks for, up to `until`, as the runner would."""
    result = step(state, state.now)
    state.commit()
    for _ in range(10_000):
        if result.next_wake is None or result.next_wake > until:
            break
        result = step(state, max(result.next_wake, state.now))
        state.commit()
    state.now = max(state.now, until)


def build_cluster(pods: int, seed: int = 1) -> Cluster:
    started = time.perf_counter()
    services = max(1, pods // REPLICAS)
    workers = max(1, pods // 50)
    state = new_state(workers, seed)
    run_until(state, T0 + SETTLE)
    for n in range(services):
        state.create(service(f"svc-{n}", n))
        state.create(deployment(f"svc-{n}"))
    count = max(1, services // 5)
    clients = [f"client-{c}" for c in range(count)]
    for c, name in enumerate(clients):
        fetches = "; ".join(f"wget -q -O- http://svc-{n}" for n in range(c, services, count))
        state.create(shell_pod(name, "busybox:1.36", f"while true; do {fetches}; sleep 1; done"))
    resolvers = [f"dns-{r}" for r in range(max(2, services // 25))]
    for r, name in enumerate(resolvers):
        state.create(shell_pod(name, "busybox:1.28", f"while true; do nslookup svc-{r * 7 % services}; sleep 5; done"))
    state.commit()
    run_until(state, T0 + SETTLE + RUN_IN)
    step(state, state.now)          # the settled cluster's first pass at its now: from here on, nothing to do
    state.commit()
    running = [p for p in state.list("Pod", "default") if (p.get("status") or {}).get("phase") == "Running"]
    expected = services * REPLICAS + len(clients) + len(resolvers)
    if len(running) != expected:
        print(f"    warning: {len(running)} of {expected} pods Running at {pods} pods", file=sys.stderr)
    net = PodNetwork(state, state.get("Pod", "default", clients[0]))
    answering = sum(1 for n in range(services) if net.request(f"http://svc-{n}", state.now).status == 200)
    texts = [object_text(o) for o in state.all_objects()]
    sims = {uid: json.dumps(notes, separators=(",", ":")) for uid, notes in state._sims.items()}
    return Cluster(services * REPLICAS, services, clients, resolvers, workers, state, texts, sims,
                   time.perf_counter() - started, answering)


def load_state(cluster: Cluster, now: float) -> ClusterState:
    """A fresh state from the stored objects and notes, as clusters/sim/reconcile.load_state builds one."""
    rng = random.Random(f"engine:{now}")
    state = engine_state([json.loads(t) for t in cluster.texts], now=now, seed=rng.getrandbits(64), rng=rng,
                         sims={uid: json.loads(t) for uid, t in cluster.sims.items()}, texts=cluster.texts)
    state.config["start_delays"] = False
    return state


def store(cluster: Cluster, state: ClusterState) -> None:
    """What a pass wrote becomes the stored form the next pass loads (the runner persists it)."""
    cluster.texts = [object_text(o) for o in state.all_objects()]
    cluster.sims = {uid: json.dumps(notes, separators=(",", ":")) for uid, notes in state._sims.items()}


# ------------------------------------------------------------------------------------------- measurements
def time_passes(cluster: Cluster, passes: int, advance: float, *, profiler: cProfile.Profile | None = None,
                by_controller: dict[str, list[float]] | None = None) -> dict:
    """`passes` reconcile steps, each over a fresh state, `advance` simulated seconds after the previous one.

    `by_controller` collects each controller's own CPU time per pass (and the step's bookkeeping after them):
    CPU time, so that a busy machine shifts the shares less."""
    now = cluster.state.now
    steps, cpus, builds, counts, writes = [], [], [], [], 0
    for _ in range(passes):
        now += advance
        t0 = time.perf_counter()
        state = load_state(cluster, now)
        c1 = time.process_time()
        t1 = time.perf_counter()
        if by_controller is not None:
            spent = dict.fromkeys(by_controller, 0.0)
            result = step(state, now, controllers=[timed(c, spent) for c in CONTROLLERS])
            t2 = time.perf_counter()
            spent[BOOKKEEPING] = (time.process_time() - c1) * 1e3 - sum(spent.values())
            for name, ms in spent.items():
                by_controller[name].append(ms)
        else:
            if profiler is not None:
                profiler.enable()
            result = step(state, now)
            if profiler is not None:
                profiler.disable()
            t2 = time.perf_counter()
        cpus.append((time.process_time() - c1) * 1e3)
        builds.append((t1 - t0) * 1e3)
        steps.append((t2 - t1) * 1e3)
        counts.append(result.passes)
        if result.changes or result.sim_changes:
            writes += len(result.changes) + len(result.sim_changes)
            store(cluster, state)
    return {"ms": steps, "cpu_ms": cpus, "build_ms": builds, "passes": counts, "writes": writes}


BOOKKEEPING = "step's own bookkeeping (changes, sim_changes)"


def controller_name(controller) -> str:
    return controller.__module__.removeprefix("clusters.engine.") + "." + controller.__name__


def timed(controller, spent: dict[str, float]):
    name = controller_name(controller)

    def run(state: ClusterState) -> None:
        t0 = time.process_time()
        controller(state)
        spent[name] += (time.process_time() - t0) * 1e3

    return run


def time_warm_passes(cluster: Cluster, passes: int) -> list[float]:
    """A step over the settled state again, index, programs and notes as the previous step left them (CPU ms)."""
    state = cluster.state
    step(state, state.now)
    times = []
    for _ in range(passes):
        t0 = time.process_time()
        step(state, state.now)
        times.append((time.process_time() - t0) * 1e3)
    return times


def time_requests(cluster: Cluster, count: int) -> dict:
    """Requests and lookups from the client pods to the Services, through PodNetwork, the index warm."""
    state = cluster.state
    nets = [PodNetwork(state, state.get("Pod", "default", name)) for name in cluster.clients]
    get_index(state)
    for n in range(cluster.services):          # warm: index built, every answering program made
        nets[n % len(nets)].request(f"http://svc-{n}", state.now)
    requests, lookups, statuses = [], [], {}
    for i in range(count):
        net, name, when = nets[i % len(nets)], f"svc-{i * 7 % cluster.services}", state.now + (i % 100) * 0.01
        t0 = time.perf_counter()
        response = net.request(f"http://{name}", when)
        t1 = time.perf_counter()
        resolution = net.lookup(name, when)
        t2 = time.perf_counter()
        requests.append((t1 - t0) * 1e6)
        lookups.append((t2 - t1) * 1e6)
        statuses[response.status] = statuses.get(response.status, 0) + 1
        assert resolution.addresses, name
    return {"request_us": requests, "lookup_us": lookups, "statuses": statuses}


def time_load_replay(cluster: Cluster, rounds: int = 3) -> dict:
    """Every client loop replayed for its request rates, spread over the backends, on a fresh state (CPU ms)."""
    times, backends = [], 0
    for r in range(rounds):
        now = cluster.state.now + TRAFFIC_STEP * (r + 1)
        state = load_state(cluster, now)
        t0 = time.process_time()
        rates = pod_request_rates(state, client_request_rates(state, now), now)
        times.append((time.process_time() - t0) * 1e3)
        backends = len(rates)
    return {"ms": times, "backends": backends}


def measure(pods: int, args: argparse.Namespace, profiled: bool, by_controller: bool) -> dict:
    """Every figure of one size. The settled cluster is frozen out of the garbage collector's sight while
    passes run (a worker process does not hold it), so a pass pays for collecting what it allocates only."""
    cluster = build_cluster(pods)
    gc.collect()
    gc.freeze()
    try:
        row = {"pods": cluster.pods, "services": cluster.services, "clients": len(cluster.clients),
               "resolvers": len(cluster.resolvers), "workers": cluster.workers,
               "objects": len(cluster.state.all_objects()), "setup_s": cluster.setup_seconds,
               "answering": cluster.answering}
        row["idle"] = time_passes(cluster, args.passes, 0.0)
        row["traffic"] = time_passes(cluster, args.passes, TRAFFIC_STEP)
        row["warm"] = time_warm_passes(cluster, args.passes)
        row["calls"] = time_requests(cluster, args.requests)
        row["replay"] = time_load_replay(cluster)
        if by_controller:
            names = [controller_name(c) for c in CONTROLLERS] + [BOOKKEEPING]
            row["by_controller"] = {name: [] for name in names}
            time_passes(cluster, args.passes, TRAFFIC_STEP, by_controller=row["by_controller"])
        if profiled:
            row["profiler"] = cProfile.Profile()
            time_passes(cluster, args.passes, TRAFFIC_STEP, profiler=row["profiler"])
    finally:
        gc.unfreeze()
    del cluster
    gc.collect()
    return row


# ------------------------------------------------------------------------------------------- report
def exponent(sizes: list[int], values: list[float]) -> float:
    """The least-squares slope of log(value) over log(size): 1 is linear."""
    xs, ys = [math.log(s) for s in sizes], [math.log(max(v, 1e-9)) for v in values]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den if den else float("nan")


def growth_word(k: float) -> str:
    if k < 0.85:
        return "sub-linear"
    if k <= 1.15:
        return "linear"
    return "super-linear"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="50,100,200,400", help="pod counts, comma-separated")
    parser.add_argument("--passes", type=int, default=40, help="passes timed per kind and size")
    parser.add_argument("--requests", type=int, default=2000, help="requests (and lookups) timed per size")
    parser.add_argument("--profile", action="store_true",
                        help=f"time each controller and cProfile the traffic passes at {TARGET_SIZE} pods "
                             "(or the largest size below it)")
    args = parser.parse_args()
    sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()})
    profiled = max([s for s in sizes if s <= TARGET_SIZE] or sizes[:1])

    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"Network benchmark: the pure engine in-process, start delays off; {os.cpu_count()} CPUs "
          f"({usable} usable; the benchmark uses one), load average {os.getloadavg()[0]:.2f}, "
          f"Python {platform.python_version()}")
    rows = [measure(pods, args, args.profile and pods == profiled, args.profile) for pods in sizes]

    print(f"\nMedians and p95 of {args.passes} passes and {args.requests} requests and lookups per size. A pass is one "
          "engine.step over a fresh state\n(built from the stored objects and notes as the runner builds one; "
          "the build is not in the pass). Clients: wget loops + nslookup loops.")
    header = (f"{'pods':>5} {'svcs':>5} {'clients':>7} | {'idle pass ms':>14} | {'traffic pass ms':>15} | "
              f"{'request µs':>13} | {'DNS µs':>6}")
    print(header)
    print(f"{'':>5} {'':>5} {'':>7} | {'median':>6} {'p95':>7} | {'median':>6} {'p95':>8} | {'median':>6} {'p95':>6} | "
          f"{'median':>6}")
    print("-" * len(header))
    for row in rows:
        idle, traffic, calls = row["idle"]["ms"], row["traffic"]["ms"], row["calls"]
        clients = f"{row['clients']}+{row['resolvers']}"
        print(f"{row['pods']:>5} {row['services']:>5} {clients:>7} | "
              f"{statistics.median(idle):>6.2f} {percentile(idle, 0.95):>7.2f} | "
              f"{statistics.median(traffic):>6.2f} {percentile(traffic, 0.95):>8.2f} | "
              f"{statistics.median(calls['request_us']):>6.0f} {percentile(calls['request_us'], 0.95):>6.0f} | "
              f"{statistics.median(calls['lookup_us']):>6.1f}")

    wall = sum(sum(row[k]["ms"]) for row in rows for k in ("idle", "traffic"))
    cpu = sum(sum(row[k]["cpu_ms"]) for row in rows for k in ("idle", "traffic"))
    print(f"CPU share of the timed passes: {cpu / wall:.2f} (CPU time over wall time)" + (
        "; below 0.9 other processes took the CPU: the wall times above are inflated, the CPU times "
        "below are the steadier figures" if cpu / wall < 0.9 else ""))

    print("\nPer size:")
    for row in rows:
        statuses = ", ".join(f"{n}× {s}" for s, n in sorted(row["calls"]["statuses"].items(), key=str))
        print(f"  {row['pods']:>4} pods: {row['workers']} workers, {row['objects']} objects, settled in "
              f"{row['setup_s']:.1f} s; {row['answering']}/{row['services']} Services answer 200; "
              f"timed requests: {statuses}")
        print(f"        pass CPU time median {statistics.median(row['idle']['cpu_ms']):.2f} ms idle, "
              f"{statistics.median(row['traffic']['cpu_ms']):.2f} ms traffic; "
              f"state build {statistics.median(row['traffic']['build_ms']):.2f} ms (before each pass); "
              f"the same state stepped again, caches warm: {statistics.median(row['warm']):.2f} ms CPU; "
              f"engine passes per step {max(row['idle']['passes'])} idle, {max(row['traffic']['passes'])} traffic; "
              f"{row['traffic']['writes']} writes in the traffic passes")
        print(f"        DNS lookup p95 {percentile(row['calls']['lookup_us'], 0.95):.0f} µs; "
              "every client loop replayed for its request rates "
              f"(client_request_rates + pod_request_rates, fresh state): "
              f"{statistics.median(row['replay']['ms']):.1f} ms CPU, {row['replay']['backends']} backends loaded")

    if len(rows) > 1:
        pods = [row["pods"] for row in rows]
        print("\nGrowth with the pods (target: doubling the pods at most doubles the pass; exponent 1 = linear, "
              "0 = flat)")
        series = {
            "idle pass": [statistics.median(row["idle"]["ms"]) for row in rows],
            "traffic pass": [statistics.median(row["traffic"]["ms"]) for row in rows],
            "pass CPU time": [statistics.median(row["idle"]["cpu_ms"] + row["traffic"]["cpu_ms"]) for row in rows],
            "warm pass CPU": [statistics.median(row["warm"]) for row in rows],
            "request": [statistics.median(row["calls"]["request_us"]) for row in rows],
            "DNS lookup": [statistics.median(row["calls"]["lookup_us"]) for row in rows],
            "replay CPU": [statistics.median(row["replay"]["ms"]) for row in rows],
        }
        for name, values in series.items():
            steps = ", ".join(f"{a}→{b} ×{vb / va:.2f}" for a, b, va, vb in zip(pods, pods[1:], values, values[1:]))
            k = exponent(pods, values)
            print(f"  {name:<13} {steps}   exponent {k:.2f}: {growth_word(k)}")
        basis = "traffic pass" if cpu / wall >= 0.9 else "pass CPU time"
        k = exponent(pods, series[basis])
        print(f"  Verdict: the pass grows {growth_word(k)}ly with the pods (exponent {k:.2f}, from the {basis} "
              "medians)")

    target = next((row for row in rows if row["pods"] == TARGET_SIZE), None)
    if target is not None:
        print(f"\nTargets at {target['services']} Services / {TARGET_SIZE} pods (ratio ≤ 1 meets it)")
        for name, values in (("idle pass", target["idle"]["ms"]), ("traffic pass", target["traffic"]["ms"]),
                             ("pass CPU time", target["idle"]["cpu_ms"] + target["traffic"]["cpu_ms"])):
            median, p95 = statistics.median(values), percentile(values, 0.95)
            print(f"  {name:<13} median {median:.2f} ms, p95 {p95:.2f} ms (target ≤ {TARGET_PASS_MS:.0f} ms)   "
                  f"ratio {median / TARGET_PASS_MS:.2f} (p95 {p95 / TARGET_PASS_MS:.2f})")
        values = target["calls"]["request_us"]
        median, p95 = statistics.median(values), percentile(values, 0.95)
        print(f"  {'request':<13} median {median:.0f} µs, p95 {p95:.0f} µs (target ≤ {TARGET_REQUEST_US:.0f} µs)   "
              f"ratio {median / TARGET_REQUEST_US:.2f} (p95 {p95 / TARGET_REQUEST_US:.2f})")
    else:
        print(f"\n(no {TARGET_SIZE}-pod size measured: no ratios to the targets)")

    if any("by_controller" in row for row in rows):
        timed_rows = [row for row in rows if "by_controller" in row]
        names = list(timed_rows[0]["by_controller"])
        medians = {name: [statistics.median(row["by_controller"][name]) for row in timed_rows] for name in names}
        order = sorted(names, key=lambda name: -medians[name][-1])
        print(f"\nWhere a traffic pass goes, per controller (median CPU ms of {args.passes} passes; growth exponent "
              "over the sizes)")
        print(f"  {'':<48}" + "".join(f"{row['pods']:>7} pods" for row in timed_rows) + "   exponent")
        for name in order:
            values = medians[name]
            if max(values) < 0.05:
                continue
            k = exponent([row["pods"] for row in timed_rows], values) if len(values) > 1 else float("nan")
            print(f"  {name:<48}" + "".join(f"{v:>12.2f}" for v in values) + f"   {k:>6.2f}")
        totals = [sum(medians[name][i] for name in names) for i in range(len(timed_rows))]
        print(f"  {'sum':<48}" + "".join(f"{v:>12.2f}" for v in totals))

    for row in rows:
        if "profiler" not in row:
            continue
        out = io.StringIO()
        pstats.Stats(row["profiler"], stream=out).sort_stats("cumulative").print_stats(10)
        text = out.getvalue().replace(str(ROOT) + "/", "").replace(sys.base_prefix + "/", "")
        print(f"\ncProfile of {args.passes} traffic passes at {row['pods']} pods, top 10 by cumulative time:")
        print("\n".join("  " + line for line in text.strip().splitlines()))


if __name__ == "__main__":
    main()
