r"""The instructor's class page on a busy class: how soon a learner's step shows on the grid, and what it costs.

A live playground in classroom mode (tests/live_server.py: `manage.py serve`, a Celery worker and beat,
Redis and PostgreSQL, all started here) serves a lesson written for the benchmark (PLAYGROUND_LESSONS_DIR):
--steps steps (default 6), step k checks that a ConfigMap `step-<k>` exists; setup workers: 0, so the
clusters stay small.

1. Setup, in one server-side script (`manage.py shell -c`, with the server's environment): an instructor
   (classroom.access.grant), a class assigned the lesson (classroom.services.class_create), --learners
   learners (default 200) created and joined (classroom.services.class_join), each one's lesson started
   (lessons.progress.start: their lesson cluster, made as the Start button makes it), a bearer token per
   lesson cluster (clusters.actions.token_issue) and a session for everyone (what signing in stores). The
   script prints them as one JSON line; its phases are timed.
2. Every learner's lesson panel open as the browser opens it (`/lessons/<track>/<lesson>/live`, the
   learner's session cookie and the page's Origin; the panel is what judges the steps on the server), and
   the instructor's class page (`/classes/<id>/live`), with asyncio + websockets in this one process.
3. For --seconds (default 60), writes through the Kubernetes API with each cluster's bearer token (as
   kubectl does, on a small pool of keep-alive HTTPS connections): --rate step completions per second
   across the class (a POST of ConfigMap `step-<k>` for a random learner not finished, preferring one whose
   previous completion the instructor has already seen) and --noise unrelated writes per second (other
   ConfigMaps created and merge-patched in random learners' clusters), each at its due time.

Measured (one monotonic clock: the writers and the sockets are in this process):
* to the instructor: for each completion, from the API's answer to the class page's first "row" message
  showing that learner at the next step or further (p50/p95/p99/max; target p95 ≤ 2 s, with the ratio);
  rows lost = completions no row ever showed (target 0; waited for up to --drain seconds after the last
  write). Completions a periodic "grid" message showed before any row are counted apart.
* to the learner: from the API's answer to their panel's "state" message with `completed` and `current`
  past that step.
* the CPU of the server process, of the Celery worker (its main process and its pool), of beat, of this
  client and of the whole machine (/proc/stat) during the measured window, as % of one core and of the
  machine's cores; the server's and the worker's RSS before and after.
* the one thread that runs every WebSocket consumer's database work in the server process (asgiref's
  single thread behind `database_sync_to_async`: the panels' judging and the class page's rows queue there):
  how busy it was, how long calls waited in its queue, and which calls took its time. For this the server
  is restarted after the setup as `manage.py serve` with that executor timed (INSTRUMENTED_SERVE below:
  two clock reads per call, nothing else changed).
* --sync-threads N (an experiment, not how the server runs): that executor gets N threads, as
  `database_sync_to_async(..., thread_sensitive=False)` in the consumers would give them.
* --profile: the server also runs under cProfile in every thread (wall-clock time: waits included), and
  the top functions by cumulative and own time are printed.
* after the run, with the server's environment: the cost of classroom.services.class_row (one learner) and
  class_grid (the whole class) on the benchmark's class, as the class page's consumer pays them.

    .venv/bin/python bench/classroom_grid.py [--learners 200] [--seconds 60] [--rate 10] [--noise 5] \
        [--steps 6] [--drain 120] [--writers 6] [--profile] [--sync-threads 1]

Prints figures and ratios to the target; never fails on them.
"""
from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import http.client
import json
import os
import random
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import helpers  # noqa: E402
from bench.helpers import (  # noqa: E402
    cpu_seconds,
    figures,
    group_pids,
    machine_cpu,
    own_cpu,
    percentile,
    postmaster_pid,
    rss_mb,
)
from tests import live_server  # noqa: E402

TARGET_ROW_P95 = 2.0
TARGET_LOST = 0
TRACK, LESSON = "grid", "steps"


def lesson_files(steps: int) -> dict[str, str]:
    files = {
        f"{TRACK}/track.yaml": f"title: Grid\nsummary: For the benchmark.\norder: 1\nlessons: [{LESSON}]\n",
        f"{TRACK}/{LESSON}/lesson.yaml": "title: Steps\nsummary: ConfigMaps, one per step.\nminutes: 5\n"
                                         "setup: {workers: 0}\n",
    }
    for k in range(steps):
        files[f"{TRACK}/{LESSON}/{k + 1:02d}-step.md"] = (
            f"---\ntitle: Step {k}\nchecks:\n  - exists: {{kind: ConfigMap, name: step-{k}}}\n"
            f"solution:\n  commands: [kubectl create configmap step-{k}]\n---\nCreate ConfigMap step-{k}.\n")
    return files


# The server-side setup: run by `manage.py shell -c` with the server's environment; prints one JSON line.
SETUP = r'''
import json, sys, time
from django.contrib.auth import get_user_model
from classroom import access, services
from clusters import actions
from lessons import progress
from clusters.config import ca_pem
from lessons.catalog import catalog

LEARNERS, LESSON_ID = {learners}, "{lesson}"
timings = {{}}

began = time.perf_counter()
users = get_user_model().objects
instructor = users.create_user("grid-instructor", password=None)
access.grant(instructor)
classroom = services.class_create(instructor=instructor, name="Grid benchmark", lessons=[LESSON_ID])
lesson = catalog().lesson(LESSON_ID)
timings["instructor and class"] = time.perf_counter() - began

learners, started = [], time.perf_counter()
for i in range(LEARNERS):
    learner = users.create_user(f"grid-{{i:04d}}", password=None)
    services.class_join(learner=learner, classroom=classroom)
    learners.append(learner)
timings["learners created and joined"] = time.perf_counter() - started

out, started, lesson_starts = [], time.perf_counter(), []
for learner in learners:
    one = time.perf_counter()
    row = progress.start(user=learner, lesson=lesson)
    lesson_starts.append(time.perf_counter() - one)
    out.append({{"user": learner.username, "id": learner.pk, "cluster": str(row.cluster_id)}})
timings["lessons started (their clusters)"] = time.perf_counter() - started

started = time.perf_counter()
for entry, learner in zip(out, learners):
    entry["token"] = actions.token_issue(cluster=learner.clusters.get(pk=entry["cluster"]))
    entry["session"] = session(learner)
timings["tokens and sessions"] = time.perf_counter() - started
timings["total"] = time.perf_counter() - began
print("GRID-SETUP " + json.dumps({{"class": classroom.pk, "instructor": session(instructor), "learners": out,
                                  "timings": timings, "lesson_starts": lesson_starts, "ca": ca_pem()}}))
'''

# The server as `manage.py serve` runs it, with two instruments (run by the server's own interpreter):
# the one thread that runs every WebSocket consumer's database work (asgiref's single_thread_executor:
# `database_sync_to_async` outside a request) records when each call was queued, started and ended; and,
# when GRID_PROFILE_OUT is set, cProfile runs in every thread. Both are written when daphne stops (SIGTERM).
INSTRUMENTED_SERVE = r'''
import cProfile, json, os, pstats, sys, threading, time
from concurrent.futures import ThreadPoolExecutor
sys.path.insert(0, os.getcwd())
import asgiref.sync

calls = []

def label(fn):
    try:
        target = fn.args[4].func          # thread_handler(loop, exc_info, task_context, func, child)
        return f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', repr(target))}"
    except (AttributeError, IndexError):
        return repr(fn)[:80]

class TracedExecutor(ThreadPoolExecutor):
    def submit(self, fn, /, *args, **kwargs):
        queued, name = time.monotonic(), label(fn)
        def run():
            started = time.monotonic()
            try:
                return fn(*args, **kwargs)
            finally:
                calls.append((name, queued, started, time.monotonic()))
        return super().submit(run)

# GRID_SYNC_THREADS > 1 (--sync-threads): an experiment, what thread_sensitive=False would give the consumers.
asgiref.sync.SyncToAsync.single_thread_executor = TracedExecutor(max_workers=int(os.environ["GRID_SYNC_THREADS"]))

profiles, lock = [], threading.Lock()
if os.environ.get("GRID_PROFILE_OUT"):
    def first_event(*args):
        profile = cProfile.Profile()
        with lock:
            profiles.append(profile)
        profile.enable()
    threading.setprofile(first_event)
    main = cProfile.Profile()
    profiles.append(main)
    main.enable()

def dump(*args):
    for profile in profiles:
        profile.disable()
    with open(os.environ["GRID_TRACE_OUT"], "w") as out:
        json.dump(list(calls), out)
    stats = None
    for profile in profiles:
        try:
            stats = pstats.Stats(profile) if stats is None else stats.add(profile)
        except TypeError:   # a thread that never ran a profiled call
            pass
    if stats is not None:
        stats.dump_stats(os.environ["GRID_PROFILE_OUT"])

sys.argv = ["manage.py", "serve", *sys.argv[1:]]
from django.core.management import execute_from_command_line
try:
    execute_from_command_line(sys.argv)   # daphne stops at SIGTERM (Twisted's handler) and returns
finally:
    dump()
'''


# --------------------------------------------------------------------------------------- setup

def run_setup(server: live_server.LiveServer, learners: int) -> dict:
    script = helpers.SESSION_FUNCTION + SETUP.format(learners=learners, lesson=f"{TRACK}/{LESSON}")
    done = subprocess.run([sys.executable, "manage.py", "shell", "-c", script], cwd=ROOT, env=server.env,
                          text=True, capture_output=True, timeout=3600)
    if done.returncode != 0:
        raise RuntimeError(f"the setup script failed:\n{done.stderr[-3000:]}")
    line = next(line for line in done.stdout.splitlines() if line.startswith("GRID-SETUP "))
    return json.loads(line.split(" ", 1)[1])


def restart_instrumented(server: live_server.LiveServer, trace: Path, profile: Path | None, threads: int) -> None:
    """Replace the server process by the same `serve` with its instruments (INSTRUMENTED_SERVE)."""
    server.process.terminate()
    server.process.wait(10)
    launcher = server.root / "instrumented_serve.py"
    launcher.write_text(INSTRUMENTED_SERVE)
    env = {**server.env, "GRID_TRACE_OUT": str(trace), "GRID_SYNC_THREADS": str(threads)}
    if profile is not None:
        env["GRID_PROFILE_OUT"] = str(profile)
    log = open(server.root / "server.log", "a")
    server.process = subprocess.Popen(
        [sys.executable, str(launcher), "--api-port", str(server.api_port), "--http-port", str(server.http_port)],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    live_server.wait_for_port(server.api_port, server.process)
    live_server.wait_for_port(server.http_port, server.process)


# ------------------------------------------------------------------------------------ the client

@dataclass
class Learner:
    index: int
    user: str
    user_id: int
    cluster: str
    token: str
    session: str
    next_step: int = 0                 # the next step-<k> ConfigMap to create
    in_flight: bool = False            # a completion whose row the instructor has not shown yet
    noise: int = 0                     # unrelated ConfigMaps created so far
    panel_states: list[tuple[float, int]] = field(default_factory=list)   # (receipt, current) with `completed`
    panel_open: bool = False
    panel_error: str | None = None
    panel_messages: int = 0


@dataclass
class Completion:
    learner: Learner
    step: int                          # the step completed (its index); the row must show step ≥ step + 1
    start: float
    answered: float
    status: int


class Grid:
    """The class page's socket: when each learner was first shown at each step, in rows and in grids."""

    def __init__(self) -> None:
        self.rows: dict[str, list[tuple[float, int]]] = {}
        self.grids: dict[str, list[tuple[float, int]]] = {}
        self.messages: dict[str, int] = {}
        self.bytes = 0
        self.ready = asyncio.Event()
        self.error: str | None = None
        self.pending: dict[str, list] = {}   # learner -> [(step, Completion)] waiting for a row

    def saw(self, learner: str, step: int, now: float, kind: str) -> None:
        (self.rows if kind == "row" else self.grids).setdefault(learner, []).append((now, step))


def first_at(seen: list[tuple[float, int]], step: int, after: float) -> float | None:
    return next((when for when, shown in seen if when >= after and shown >= step), None)


async def hold_panel(learner: Learner, url: str, origin: str, gate: asyncio.Semaphore, ready: asyncio.Event,
                     stop: asyncio.Event, opened: list[int], total: int) -> None:
    try:
        socket = await helpers.connect(url, learner.session, origin, gate=gate)
        async with socket:
            async for now, message in helpers.messages_until(socket, stop):
                learner.panel_messages += 1
                if message.get("type") == "state":
                    if not learner.panel_open:
                        learner.panel_open = True
                        opened[0] += 1
                        if opened[0] >= total:
                            ready.set()
                    if "completed" in message:
                        learner.panel_states.append((now, message["current"]))
                elif message.get("type") == "gone":
                    learner.panel_error = "gone"
    except Exception as error:
        learner.panel_error = f"{type(error).__name__}: {error}"
        opened[0] += 1
        if opened[0] >= total:
            ready.set()


async def hold_grid(grid: Grid, url: str, session: str, origin: str, stop: asyncio.Event,
                    on_row) -> None:
    try:
        socket = await helpers.connect(url, session, origin)
        async with socket:
            async for now, raw in helpers.texts_until(socket, stop):   # raw: the grid counts its bytes
                grid.bytes += len(raw)
                message = json.loads(raw)
                kind = message.get("type")
                grid.messages[kind] = grid.messages.get(kind, 0) + 1
                if kind == "grid":
                    for row in message["rows"]:
                        grid.saw(row["learner"], row["cells"][0]["step"], now, "grid")
                    grid.ready.set()
                elif kind == "row":
                    row = message["row"]
                    grid.saw(row["learner"], row["cells"][0]["step"], now, "row")
                    on_row(row["learner"], row["cells"][0]["step"])
    except Exception as error:
        grid.error = f"{type(error).__name__}: {error}"
        grid.ready.set()


class Api:
    """Keep-alive HTTPS connections to the API, one per writer thread; every learner's cluster by its path."""

    def __init__(self, host: str, port: int, ca: str) -> None:
        self.host, self.port = host, port
        self.context = ssl.create_default_context(cadata=ca)
        self.local = threading.local()

    def call(self, learner: Learner, method: str, path: str, body: dict, content_type: str) -> int:
        for attempt in (1, 2):
            conn = getattr(self.local, "conn", None)
            if conn is None:
                conn = self.local.conn = http.client.HTTPSConnection(self.host, self.port, context=self.context,
                                                                     timeout=60)
            try:
                conn.request(method, f"/clusters/{learner.cluster}{path}", body=json.dumps(body),
                             headers={"Authorization": f"Bearer {learner.token}", "Content-Type": content_type,
                                      "Accept": "application/json"})
                response = conn.getresponse()
                response.read()
                return response.status
            except (OSError, http.client.HTTPException):
                conn.close()
                self.local.conn = None
                if attempt == 2:
                    return 0
        return 0


def complete_step(api: Api, learner: Learner, step: int) -> Completion:
    start = time.monotonic()
    status = api.call(learner, "POST", "/api/v1/namespaces/default/configmaps",
                      {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"step-{step}"},
                       "data": {"step": str(step)}}, "application/json")
    return Completion(learner, step, start, time.monotonic(), status)


def noise_write(api: Api, learner: Learner, name: str, create: bool, n: int) -> int:
    """An unrelated ConfigMap: created, or merge-patched."""
    if create:
        return api.call(learner, "POST", "/api/v1/namespaces/default/configmaps",
                        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"n": str(n)}},
                        "application/json")
    return api.call(learner, "PATCH", f"/api/v1/namespaces/default/configmaps/{name}", {"data": {"n": str(n)}},
                    "application/merge-patch+json")


async def measure(args, server: live_server.LiveServer, setup: dict, ca: str) -> dict:
    loop = asyncio.get_running_loop()
    learners = [Learner(i, e["user"], e["id"], e["cluster"], e["token"], e["session"])
                for i, e in enumerate(setup["learners"])]
    by_name = {learner.user: learner for learner in learners}
    origin = server.http_url
    ws = server.http_url.replace("http://", "ws://")
    stop = asyncio.Event()

    grid = Grid()

    def on_row(name: str, step: int) -> None:
        learner = by_name.get(name)
        if learner is not None and step >= learner.next_step:
            learner.in_flight = False

    began = time.monotonic()
    grid_task = asyncio.ensure_future(hold_grid(grid, f"{ws}/classes/{setup['class']}/live", setup["instructor"],
                                                origin, stop, on_row))
    await asyncio.wait_for(grid.ready.wait(), 300)
    grid_open = time.monotonic() - began
    if grid.error:
        raise RuntimeError(f"the class page's socket failed: {grid.error}")

    ready, opened = asyncio.Event(), [0]
    gate = asyncio.Semaphore(args.connect_concurrency)
    began = time.monotonic()
    panel_tasks = [asyncio.ensure_future(hold_panel(learner, f"{ws}/lessons/{TRACK}/{LESSON}/live", origin, gate,
                                                    ready, stop, opened, len(learners)))
                   for learner in learners]
    await asyncio.wait_for(ready.wait(), 900)
    panels_open = time.monotonic() - began
    failed = [learner for learner in learners if learner.panel_error]
    print(f"sockets: the class page's grid in {grid_open * 1000:.0f} ms; {len(learners) - len(failed)}/"
          f"{len(learners)} lesson panels open with their state in {panels_open:.1f} s"
          + (f"; first failure: {failed[0].panel_error}" if failed else ""))
    await asyncio.sleep(2)   # what connecting woke up settles

    server_pids = [server.process.pid]
    worker_pids = group_pids(server.worker.pid)
    beat_pids = group_pids(server.beat.pid) if server.beat else []
    rss_before = rss_mb(server_pids), rss_mb(worker_pids)
    api = Api("127.0.0.1", server.api_port, ca)
    pool = concurrent.futures.ThreadPoolExecutor(args.writers)
    completions: list[Completion] = []
    noise_statuses: list[int] = []
    futures = []

    # The writes' timetable: completions at --rate, noise at --noise, each fired at its due time.
    schedule = [(n / args.rate, "step") for n in range(int(args.rate * args.seconds))]
    if args.noise > 0:
        schedule += [(n / args.noise + 0.5 / args.noise, "noise") for n in range(int(args.noise * args.seconds))]
    schedule.sort()
    rng = random.Random(7)

    def pick_for_step() -> Learner | None:
        open_ = [learner for learner in learners if learner.next_step < args.steps and not learner.panel_error]
        idle = [learner for learner in open_ if not learner.in_flight]
        choice = idle or open_
        return rng.choice(choice) if choice else None

    postgres = postmaster_pid()
    postgres_before = cpu_seconds(group_pids(postgres)) if postgres else float("nan")
    cpu_before = (cpu_seconds(server_pids), cpu_seconds(worker_pids), cpu_seconds(beat_pids), own_cpu(),
                  machine_cpu())
    window_start = time.monotonic()
    skipped = 0
    for n, (due, kind) in enumerate(schedule):
        delay = window_start + due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        if kind == "step":
            learner = pick_for_step()
            if learner is None:
                skipped += 1
                continue
            step, learner.next_step, learner.in_flight = learner.next_step, learner.next_step + 1, True
            futures.append(loop.run_in_executor(pool, complete_step, api, learner, step))
        else:
            learner = rng.choice(learners)
            create = learner.noise < 3      # three unrelated ConfigMaps per cluster at most, then patches
            learner.noise += create
            name = f"noise-{learner.noise if create else n % learner.noise + 1}"
            futures.append(loop.run_in_executor(pool, noise_write, api, learner, name, create, n))
    results = await asyncio.gather(*futures)
    window = time.monotonic() - window_start
    for result in results:
        if isinstance(result, Completion):
            completions.append(result)
        else:
            noise_statuses.append(result)
    cpu_after = (cpu_seconds(server_pids), cpu_seconds(worker_pids), cpu_seconds(beat_pids), own_cpu(),
                 machine_cpu())
    postgres_cpu = (cpu_seconds(group_pids(postgres)) if postgres else float("nan")) - postgres_before
    rss_after = rss_mb(server_pids), rss_mb(worker_pids)

    # Wait (up to --drain s) for the instructor's rows and the panels to show every completion.
    ok = [c for c in completions if c.status == 201]

    def outstanding() -> int:
        return sum(1 for c in ok if first_at(grid.rows.get(c.learner.user, []), c.step + 1, c.start) is None
                   or first_at(c.learner.panel_states, c.step + 1, c.start) is None)

    drain_began = time.monotonic()
    while time.monotonic() - drain_began < args.drain and outstanding():
        await asyncio.sleep(0.2)
    drained = time.monotonic() - drain_began
    window_end = time.monotonic()
    stop.set()
    await asyncio.gather(grid_task, *panel_tasks, return_exceptions=True)
    pool.shutdown()

    to_instructor, to_panel, lost_rows, lost_panel, grid_first = [], [], [], [], 0
    to_instructor_any = []   # a row or a periodic whole grid, whichever showed it first
    for c in ok:
        row = first_at(grid.rows.get(c.learner.user, []), c.step + 1, c.start)
        shown_in_grid = first_at(grid.grids.get(c.learner.user, []), c.step + 1, c.start)
        shown = [when for when in (row, shown_in_grid) if when is not None]
        if shown:
            to_instructor_any.append(max(0.0, min(shown) - c.answered))
        if row is None:
            lost_rows.append(c)
        else:
            to_instructor.append(max(0.0, row - c.answered))
            if shown_in_grid is not None and shown_in_grid < row:
                grid_first += 1
        panel = first_at(c.learner.panel_states, c.step + 1, c.start)
        if panel is None:
            lost_panel.append(c)
        else:
            to_panel.append(max(0.0, panel - c.answered))
    return {"window_start": window_start, "window_end": window_end, "to_instructor_any": to_instructor_any,
            "completions": completions, "ok": ok, "noise": noise_statuses, "window": window, "drained": drained,
            "to_instructor": to_instructor, "to_panel": to_panel, "lost_rows": lost_rows, "lost_panel": lost_panel,
            "grid_first": grid_first, "grid": grid, "skipped": skipped, "cpu_before": cpu_before,
            "cpu_after": cpu_after, "postgres_cpu": postgres_cpu, "rss_before": rss_before, "rss_after": rss_after,
            "panels_failed": len(failed), "learners": learners,
            "api": [c.answered - c.start for c in completions]}


def grid_costs(server: live_server.LiveServer, class_id: int, rounds: int) -> str:
    """class_row and class_grid timed in a process with the server's environment, on the benchmark's class."""
    script = f'''
import json, statistics, time
from django.db import connection
from classroom import services
from classroom.models import Classroom, Membership
classroom = Classroom.objects.get(pk={class_id})
ids = services.member_ids(classroom)
def timed(fn, n):
    out = []
    for i in range(n):
        began = time.perf_counter()
        fn(i)
        out.append(time.perf_counter() - began)
    return statistics.median(out) * 1000, sorted(out)[int(0.95 * (len(out) - 1))] * 1000
def queries(fn):
    count = [0]
    def counted(execute, sql, params, many, context):
        count[0] += 1
        return execute(sql, params, many, context)
    with connection.execute_wrapper(counted):
        fn()
    return count[0]
row_queries = queries(lambda: services.class_row(classroom, ids[0]))
grid_queries = queries(lambda: services.class_grid(classroom))
row = timed(lambda i: services.class_row(classroom, ids[i % len(ids)]), {rounds})
grid = timed(lambda i: services.class_grid(classroom), max(5, {rounds} // 10))
def fresh(i):
    connection.close()
    services.class_row(classroom, ids[i % len(ids)])
row_fresh = timed(fresh, {rounds})
print("GRID-COSTS " + json.dumps({{"row": row, "grid": grid, "row_fresh": row_fresh, "members": len(ids),
                                  "row_queries": row_queries, "grid_queries": grid_queries,
                                  "grid_bytes": len(json.dumps(services.class_grid(classroom)))}}))
'''
    done = subprocess.run([sys.executable, "manage.py", "shell", "-c", script], cwd=ROOT, env=server.env, text=True,
                          capture_output=True, timeout=600)
    if done.returncode != 0:
        return f"  (timing the grid failed: {done.stderr.strip().splitlines()[-1:]})"
    costs = json.loads(next(line for line in done.stdout.splitlines()
                            if line.startswith("GRID-COSTS ")).split(" ", 1)[1])
    return (f"  class_row (one learner)      : median {costs['row'][0]:.1f} ms, p95 {costs['row'][1]:.1f} ms, "
            f"{costs['row_queries']} queries; with a new database connection each time (what DB_CONN_MAX_AGE=0 "
            f"costs) median {costs['row_fresh'][0]:.1f} ms\n"
            f"  class_grid ({costs['members']} learners)    : median {costs['grid'][0]:.1f} ms, "
            f"p95 {costs['grid'][1]:.1f} ms, {costs['grid_queries']} queries, {costs['grid_bytes'] / 1024:.0f} KB "
            f"of JSON")


def report(args, setup: dict, result: dict, seconds_setup: float) -> None:
    cores = os.cpu_count() or 1
    window = result["window"]
    (s0, w0, b0, c0, (busy0, total0)), (s1, w1, b1, c1, (busy1, total1)) = result["cpu_before"], result["cpu_after"]
    machine = (busy1 - busy0) / max(1, total1 - total0) * 100   # % of the whole machine

    def cpu(used: float) -> str:
        return f"{used / window * 100:.0f}% of one core, {used / window / cores * 100:.0f}% of the machine's {cores}"

    ok, grid = result["ok"], result["grid"]
    to_i, to_p = result["to_instructor"], result["to_panel"]
    p95 = percentile(to_i, 0.95)
    timings = setup["timings"]
    starts = setup["lesson_starts"]
    print(f"\nThe class page of a {args.learners}-learner class in classroom mode (daphne, Celery worker and beat, "
          f"Redis, PostgreSQL); a {args.steps}-step lesson, every panel open")
    print(f"  setup (one server-side script): {timings['total']:.1f} s in all — "
          + ", ".join(f"{name} {value:.1f} s" for name, value in timings.items() if name != "total")
          + f"; one lesson start median {statistics.median(starts) * 1000:.0f} ms, max {max(starts) * 1000:.0f} ms "
          f"(with migrations, server and workers: {seconds_setup:.0f} s)")
    errors = [c.status for c in result["completions"] if c.status != 201]
    noise_errors = [s for s in result["noise"] if not 200 <= s < 300]
    example = f", e.g. status {(errors or noise_errors)[0]}" if errors or noise_errors else ""
    skipped = f"; {result['skipped']} not asked: every learner had finished" if result["skipped"] else ""
    print(f"  writes: {len(result['completions'])} step completions asked at {args.rate:g}/s and "
          f"{len(result['noise'])} unrelated writes at {args.noise:g}/s over {window:.1f} s "
          f"(errors: {len(errors)} + {len(noise_errors)}{example}"
          f"{skipped}); "
          f"API write time {figures(result['api'])}")
    print("  to the instructor's page (API answer → its \"row\" with the learner at the next step):")
    print(f"      {figures(to_i)} — target p95 ≤ {TARGET_ROW_P95:.0f} s, ratio {p95 / TARGET_ROW_P95:.2f}"
          f" ({'met' if p95 <= TARGET_ROW_P95 else 'NOT met'})")
    print(f"  rows lost (no row showed the completion within {args.drain:g} s of the last write): "
          f"{len(result['lost_rows'])} of {len(ok)} (target {TARGET_LOST}: "
          f"{'met' if len(result['lost_rows']) == TARGET_LOST else 'NOT met'}); "
          f"{result['grid_first']} were shown by a periodic whole grid before their row; waited "
          f"{result['drained']:.1f} s after the last write")
    print(f"  to the instructor's page by a row or a periodic grid, whichever came first: "
          f"{figures(result['to_instructor_any'])}")
    print(f"  to the learner's own panel (API answer → \"state\" with completed): {figures(to_p)}; "
          f"never shown: {len(result['lost_panel'])}")
    print(f"  the class page's socket: {', '.join(f'{n} {k}' for k, n in sorted(grid.messages.items()))} messages, "
          f"{grid.bytes / 1024 / 1024:.1f} MB")
    print(f"  CPU during the {window:.0f} s window: server {cpu(s1 - s0)}; Celery worker (main + pool) {cpu(w1 - w0)}; "
          f"beat {cpu(b1 - b0)}; PostgreSQL (every database: others' tests too) {cpu(result['postgres_cpu'])}; "
          f"this client {cpu(c1 - c0)}; the whole machine {machine:.0f}% busy")
    print(f"  RSS: server {result['rss_before'][0]:.0f} MB before the writes, {result['rss_after'][0]:.0f} MB after; "
          f"Celery worker (main + pool) {result['rss_before'][1]:.0f} → {result['rss_after'][1]:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--learners", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rate", type=float, default=10.0, help="step completions per second across the class")
    parser.add_argument("--noise", type=float, default=5.0, help="unrelated writes per second")
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--drain", type=float, default=120.0,
                        help="seconds to wait for rows after the last write (a completion not shown by then is lost)")
    parser.add_argument("--writers", type=int, default=6, help="writer threads (keep-alive API connections)")
    parser.add_argument("--connect-concurrency", type=int, default=20)
    parser.add_argument("--grid-rounds", type=int, default=200, help="rounds of class_row timed after the run")
    parser.add_argument("--sync-threads", type=int, default=1,
                        help="an experiment: the consumers' database work on N threads instead of asgiref's one "
                             "(what database_sync_to_async(..., thread_sensitive=False) would do)")
    parser.add_argument("--profile", action="store_true", help="run the server under cProfile (every thread)")
    args = parser.parse_args()

    helpers.raise_open_files_limit()
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-grid-") as tmp:
        content = Path(tmp) / "lessons"
        for name, text in lesson_files(args.steps).items():
            (content / name).parent.mkdir(parents=True, exist_ok=True)
            (content / name).write_text(text)
        (Path(tmp) / "server").mkdir()
        server = live_server.start(Path(tmp) / "server", backend="postgres", celery=True,
                                   extra_env={"PLAYGROUND_LESSONS_DIR": str(content)})
        profile_out, trace_out = Path(tmp) / "server.prof", Path(tmp) / "sync-thread.json"
        try:
            setup = run_setup(server, args.learners)
            restart_instrumented(server, trace_out, profile_out if args.profile else None, args.sync_threads)
            seconds_setup = time.monotonic() - began
            ca = setup["ca"]
            others = helpers.busiest_others({os.getpid(), server.process.pid, *group_pids(server.worker.pid)})
            print(f"other processes busy before the run (2 s sample): {', '.join(others) or 'none'}")
            result = asyncio.run(measure(args, server, setup, ca))
            report(args, setup, result, seconds_setup)
            print("  the grid's cost, timed after the run with the server's environment:")
            print(grid_costs(server, setup["class"], args.grid_rounds))
            server.process.send_signal(signal.SIGTERM)    # the instruments are written at SIGTERM
            server.process.wait(120)
            server.process = None
            print_sync_thread(trace_out, result["window_start"], result["window_end"])
            if args.profile:
                print_profile(profile_out)
        finally:
            server.stop()


def print_sync_thread(path: Path, start: float, end: float) -> None:
    """What the one thread running the consumers' database work did during the window (and the drain)."""
    if not path.exists():
        print("  (the server wrote no trace of its consumers' thread)")
        return
    calls = [c for c in json.loads(path.read_text()) if start <= c[2] <= end]
    if not calls:
        return
    busy = sum(ended - started for _, _, started, ended in calls)   # summed over its threads (--sync-threads)
    waits = [started - queued for _, queued, started, _ in calls]
    print(f"  the consumers' database thread (asgiref's single thread behind database_sync_to_async: every "
          f"socket's database work), over the {end - start:.0f} s of writes and drain:")
    print(f"      busy {busy / (end - start) * 100:.0f}% of the time (summed over its threads), {len(calls)} calls "
          f"({len(calls) / (end - start):.0f}/s); wait in its queue before running: {figures(waits)}")
    by_label: dict[str, list[float]] = {}
    for name, _, started, ended in calls:
        by_label.setdefault(name, []).append(ended - started)
    for name, runs in sorted(by_label.items(), key=lambda item: -sum(item[1]))[:8]:
        print(f"      {sum(runs):6.1f} s  {len(runs):6d} calls  mean {statistics.mean(runs) * 1000:6.1f} ms  "
              f"p95 {percentile(runs, 0.95) * 1000:6.1f} ms  {name}")


def print_profile(path: Path) -> None:
    import io
    import pstats

    if not path.exists():
        print("  (no profile was written)")
        return
    for order in ("cumulative", "tottime"):
        out = io.StringIO()
        stats = pstats.Stats(str(path), stream=out)
        stats.sort_stats(order).print_stats(30)
        lines = out.getvalue().splitlines()
        start = next((i for i, line in enumerate(lines) if line.strip().startswith("ncalls")), 0)
        print(f"\n  the server's profile, by {order} time (every thread; idle waits included):")
        print("\n".join("    " + line[:200] for line in lines[start:start + 31]))


if __name__ == "__main__":
    main()
