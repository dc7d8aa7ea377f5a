r"""A class-sized load test: N learners, each with a cluster of their own, working at once against the
classroom processes of one machine.

Classroom mode, all started here (tests/live_server.py): `manage.py serve`, --workers Celery worker
processes (a pool of two each), beat, on PostgreSQL and Redis. One server-side script (`manage.py shell -c`)
makes N learners, a cluster `lab` each (clusters.actions.cluster_create), a bearer token per cluster and a
session per learner; the clusters' first reconcile passes are let settle (the Celery queue empty).

Then every learner, driven by one asyncio loop in this process (aiohttp for HTTP, websockets for the page's
sockets), follows a session for --seconds with a think time of 2–8 s (seeded) between actions:

* opens the cluster page (a GET of /clusters/lab/) and keeps its live WebSocket open (/clusters/lab/live);
* lists pods and keeps a `watch=true` request on pods open from that list's resourceVersion (as
  `kubectl get pods -w` and informers do; it is resumed from its last resourceVersion if it ends);
* keeps the terminal's WebSocket open (/clusters/lab/terminal) and runs `kubectl get pods` there about every
  --terminal-every seconds (the real kubectl, run by the server; the first one at a random moment);
* works through the Kubernetes API with the cluster's bearer token as kubectl does, round after round:
  server-side apply (PATCH application/apply-patch+yaml, fieldManager=kubectl) of a Deployment, GET, a
  table of pods (Accept: application/json;as=Table;v=v1;g=meta.k8s.io), POST of a ConfigMap, LIST, a scale
  (PATCH of deployments/web/scale), apply of a Service, POST of a bare Pod, a table of Deployments, the logs
  of a Running pod, an image change (a rollout, by apply), GET of the Pod, DELETE of the Pod and of the
  ConfigMap, LIST of pods.

Measured, on this process's monotonic clock: the latency of each request by kind (get, list, create, apply,
patch/scale, delete, table, logs, and the page's GET); the watch-event delay (a Pod write's API answer → the
event carrying its resourceVersion on the learner's watch); the page update delay (every write's API answer →
the page socket's "changes" message carrying its resourceVersion, or the DELETED of a ConfigMap); the
terminal's round trip (`run` sent → `exit`). Errors: every non-2xx or unexpected answer (a wrong kind, a watch
ERROR, a socket closed, a command exiting non-zero), with a few examples. Lost and duplicated live updates:
on the pages, every write's resourceVersion must arrive exactly once (and no resourceVersion twice); on the
watches, every Pod the learner created must be ADDED exactly once, no pod ADDED twice, and after a drain the
watch's view must match a final LIST. CPU seconds and peak RSS of serve (with the terminal's kubectl, its
children), of each Celery worker (with its pool), of beat, of Redis and of PostgreSQL (the backends of this
run's database; RSS summed over them counts shared buffers in each), and of this process.

Targets: p95 ≤ 300 ms per kind, errors 0, lost/duplicated 0, N ≥ 200. The verdict (does N hold?) takes
every kind but the terminal's round trip, which starts a kubectl process per command: it is printed with its
ratio. --find-n runs shorter runs at growing N (--steps) and prints the largest N that holds p95 ≤ 300 ms
with no errors and nothing lost or duplicated; --compare-workers runs the same class with one worker
process and with two and prints them side by side. Prints figures and ratios; never fails on them (exit 1
only if the benchmark itself broke).

    .venv/bin/python bench/classroom.py [--learners 200] [--seconds 180 | --minutes 3] [--workers 1] \
        [--think 2 8] [--terminal-every 30] [--seed 1] [--find-n [--steps 50,100,150,200,250]] \
        [--compare-workers] [--serve-processes 1] [--postgres postgresql://postgres@127.0.0.1:5433/postgres]

`serve` takes its PostgreSQL connections from a pool (DB_POOL_SIZE, README "Running a bigger class"), so
the connections do not grow with N: the report prints the most the run's database had at once, and
--postgres makes the runs' databases on another PostgreSQL server.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import helpers  # noqa: E402
from bench.helpers import percentile  # noqa: E402
from tests import live_server  # noqa: E402

TARGET_P95 = 0.300
TARGET_LEARNERS = 200
KINDS = ("page", "get", "list", "create", "apply", "patch/scale", "delete", "table", "logs",
         "watch-event delay", "page update delay", "terminal round trip")
TABLE_ACCEPT = ("application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;"
                "g=meta.k8s.io,application/json")
# The verdict's kinds: the terminal's round trip is a new kubectl process per command (its start alone is
# ~100 ms of CPU), so it is printed with its ratio but does not decide the largest N.
VERDICT_KINDS = KINDS[:-1]
CLUSTER = "lab"
EXAMPLES = 6

SETUP = r'''
import json, time
from django.contrib.auth import get_user_model
from clusters import actions
from clusters.config import ca_pem

began, out = time.perf_counter(), []
users = get_user_model().objects
for i in range({learners}):
    user = users.create_user(f"learner-{{i:04d}}", password=None)
    cluster = actions.cluster_create(owner=user, name="{cluster}")
    out.append({{"user": user.username, "cluster": str(cluster.pk), "token": actions.token_issue(cluster=cluster),
                "session": session(user)}})
print("CLASS-SETUP " + json.dumps({{"learners": out, "ca": ca_pem(), "seconds": time.perf_counter() - began}}))
'''


# ------------------------------------------------------------------------------------------ measures

@dataclass
class Measures:
    latency: dict[str, list[float]] = field(default_factory=lambda: {kind: [] for kind in KINDS})
    errors: list[str] = field(default_factory=list)
    terminal_first: list[float] = field(default_factory=list)   # each terminal's first command (discovery)
    # the page's and the watch's delays counted from the write's answer instead of its start (< 0: first)
    after_answer: dict[str, list[float]] = field(default_factory=lambda: {"page": [], "watch": []})
    logs_skipped: int = 0          # no Running pod seen yet: a GET of the pod instead

    def error(self, text: str) -> None:
        self.errors.append(text[:300])


@dataclass
class Expected:
    """A write the learner's page (and, for pods, its watch) must show: by resourceVersion, or a DELETED."""
    rv: int | None
    kind: str
    name: str
    started: float        # the request sent
    answered: float       # its answer read
    on_watch: bool = False


@dataclass
class Learner:
    index: int
    user: str
    cluster: str
    token: str
    session: str
    rng: random.Random
    # the page's socket
    page_rv: int | None = None
    page_seen: dict[int, int] = field(default_factory=dict)          # rv -> times received
    page_arrived: dict[int, float] = field(default_factory=dict)     # rv -> first receipt
    page_deleted: dict[tuple[str, str], float] = field(default_factory=dict)   # (kind, name) DELETED -> receipt
    page_gaps: int = 0
    page_overlaps: int = 0
    page_snapshots: int = 0
    page_open: bool = False
    page_snapshot: tuple[int, float] | None = None   # the first snapshot's rv and receipt
    # the watch on pods
    watch_rv: int = 0
    watch_events: list[tuple[str, str, int, float]] = field(default_factory=list)   # (type, uid, rv, receipt)
    watch_arrived: dict[int, float] = field(default_factory=dict)
    watch_visible: dict[str, dict] = field(default_factory=dict)   # uid -> the pod as last seen
    watch_out_of_order: int = 0
    watch_restarts: int = 0
    # the learner's own writes
    expected: list[Expected] = field(default_factory=list)
    pods_created: list[str] = field(default_factory=list)    # uids
    round: int = 0
    replicas: int = 1
    image: str = "nginx:1.27"
    terminal_commands: int = 0
    tasks: list = field(default_factory=list)   # its page socket, watch and terminal, held until the drain ends


# ------------------------------------------------------------------------------------------ setup

def run_setup(server: live_server.LiveServer, learners: int) -> dict:
    script = helpers.SESSION_FUNCTION + SETUP.format(learners=learners, cluster=CLUSTER)
    done = subprocess.run([sys.executable, "manage.py", "shell", "-c", script], cwd=ROOT, env=server.env,
                          text=True, capture_output=True, timeout=3600)
    if done.returncode != 0:
        raise RuntimeError(f"the setup script failed:\n{done.stderr[-3000:]}")
    line = next(line for line in done.stdout.splitlines() if line.startswith("CLASS-SETUP "))
    return json.loads(line.split(" ", 1)[1])


def settle(server: live_server.LiveServer, timeout: float = 180) -> float:
    """Wait until the Celery queue has stayed empty for 3 s (the new clusters' first passes done)."""
    import redis

    conn = redis.Redis.from_url(server.env["REDIS_URL"])
    began = time.monotonic()
    quiet_since = None
    try:
        while time.monotonic() - began < timeout:
            if conn.llen("celery") == 0:
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since >= 3:
                    break
            else:
                quiet_since = None
            time.sleep(0.2)
    finally:
        conn.close()
    return time.monotonic() - began


# ------------------------------------------------------------------------------------------ processes

class Processes:
    """CPU and peak memory of the classroom processes, from one scan of /proc every --sample seconds.

    serve, each worker and beat are process groups (the process and its descendants: the terminal's kubectl,
    Celery's pool, the other processes of `serve --processes K` and their kubectl); their CPU is utime + stime
    plus what each reaped (cutime + cstime), summed over the live members, read at the window's start and
    end (a member that ends passes its own to its reaper's). PostgreSQL's backends of this run's database are
    not our children: each one's CPU is followed from its first to its last sample (a backend that ends loses
    its last interval). Memory: the peak of the group's summed RSS; for PostgreSQL the summed PSS (proportional set
    size: the shared buffers split between the backends instead of counted in each).
    """

    SERVE = "serve (+ terminal kubectl)"
    POSTGRES = "postgres (this database)"

    def __init__(self, server: live_server.LiveServer, database: str, admin: str, interval: float = 2.0) -> None:
        self.roots: dict[str, int] = {self.SERVE: server.process.pid}
        for i, worker in enumerate(server.workers):
            self.roots[f"celery worker {i + 1} (+ pool)"] = worker.pid
        if server.beat is not None:
            self.roots["celery beat"] = server.beat.pid
        self.database = database.encode()
        self.interval = interval
        self.tick = os.sysconf("SC_CLK_TCK")
        self.page_mb = os.sysconf("SC_PAGE_SIZE") / 1024 / 1024
        self.ours: dict[int, bool] = {}                 # postgres pid -> a backend of this run's database
        self.backend_cpu: dict[int, list[float]] = {}   # pid -> [first, last] CPU seconds seen in the window
        self.peak: dict[str, float] = {}
        self.cpu_before: dict[str, float] = {}
        self.cpu_after: dict[str, float] = {}
        self.sampling = False
        self.started_with: set[int] = set()
        self.connections = 0          # the most backends of this run's database seen at once
        self.max_connections = self._max_connections(admin)

    def scan(self) -> dict[int, tuple[str, int, float, float]]:
        """pid -> (name, ppid, own CPU s, own + reaped children's CPU s)."""
        out = {}
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/stat", "rb") as stat:
                    text = stat.read().decode(errors="replace")
            except OSError:
                continue
            name = text[text.index("(") + 1:text.rindex(")")]
            fields = text.rsplit(")", 1)[1].split()
            own = (int(fields[11]) + int(fields[12])) / self.tick
            out[int(entry.name)] = (name, int(fields[1]), own, own + (int(fields[13]) + int(fields[14])) / self.tick)
        return out

    @staticmethod
    def _max_connections(admin: str) -> str:
        try:
            import psycopg

            with psycopg.connect(admin, connect_timeout=5) as conn:
                return conn.execute("SHOW max_connections").fetchone()[0]
        except Exception as error:
            return f"? ({type(error).__name__})"

    def _rss(self, pids: list[int]) -> float:
        total = 0.0
        for pid in pids:
            try:
                with open(f"/proc/{pid}/statm", "rb") as statm:
                    total += int(statm.read().split()[1]) * self.page_mb
            except (OSError, IndexError, ValueError):
                pass
        return total

    @staticmethod
    def _pss(pids: list[int]) -> float:
        total = 0.0
        for pid in pids:
            try:
                for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                    if line.startswith("Pss:"):
                        total += int(line.split()[1]) / 1024
                        break
            except OSError:
                pass
        return total

    def _backends(self, procs: dict) -> list[int]:
        out = []
        for pid, (name, _, _, _) in procs.items():
            if not name.startswith("postgres"):
                continue
            if pid not in self.ours:
                try:
                    self.ours[pid] = self.database in Path(f"/proc/{pid}/cmdline").read_bytes()
                except OSError:
                    continue
            if self.ours[pid]:
                out.append(pid)
        return out

    @staticmethod
    def _group(procs: dict, root: int) -> list[int]:
        """The root and its live descendants."""
        children: dict[int, list[int]] = {}
        for pid, (_, ppid, _, _) in procs.items():
            children.setdefault(ppid, []).append(pid)
        group, todo = [], [root]
        while todo:
            pid = todo.pop()
            if pid in procs:
                group.append(pid)
                todo.extend(children.get(pid, []))
        return group

    def sample(self) -> dict[str, float]:
        procs = self.scan()
        cpu = {}
        for label, root in self.roots.items():
            group = self._group(procs, root)
            # Each live member with what it reaped: a second serve's ended kubectl processes are in its own
            # cutime, not in the first serve's (which reaps that serve only when it ends).
            cpu[label] = sum(procs[pid][3] for pid in group)
            self.peak[label] = max(self.peak.get(label, 0.0), self._rss(group))
        redis = [pid for pid, (name, *_) in procs.items() if name.startswith("redis-server")]
        cpu["redis-server (shared)"] = sum(procs[pid][3] for pid in redis)
        self.peak["redis-server (shared)"] = max(self.peak.get("redis-server (shared)", 0.0), self._rss(redis))
        backends = self._backends(procs)
        self.connections = max(self.connections, len(backends))
        if self.sampling:
            for pid in backends:
                self.backend_cpu.setdefault(pid, [procs[pid][2], procs[pid][2]])[1] = procs[pid][2]
        self.peak[self.POSTGRES] = max(self.peak.get(self.POSTGRES, 0.0), self._pss(backends))
        me = os.getpid()
        cpu["this benchmark"] = procs[me][2] if me in procs else helpers.own_cpu()
        self.peak["this benchmark"] = max(self.peak.get("this benchmark", 0.0), self._rss([me]))
        return cpu

    def start(self) -> None:
        self.sampling = True
        procs = self.scan()
        for pid in self._backends(procs):   # backends alive at the start count from here; new ones from 0
            self.backend_cpu[pid] = [procs[pid][2], procs[pid][2]]
            self.started_with.add(pid)
        self.cpu_before = self.sample()
        self.machine_before = helpers.machine_cpu()
        self.kubectl_before = self._reaped_children()

    def stop(self) -> None:
        self.cpu_after = self.sample()
        self.sampling = False
        self.machine_after = helpers.machine_cpu()
        self.kubectl_after = self._reaped_children()

    def _reaped_children(self) -> float:
        """What the serve processes reaped (cutime + cstime of each): the terminal's kubectl processes that ended."""
        procs = self.scan()
        return sum(procs[pid][3] - procs[pid][2] for pid in self._group(procs, self.roots[self.SERVE])
                   if procs[pid][0] != "kubectl")

    async def run(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), self.interval)
            except TimeoutError:
                pass
            if self.sampling:
                await loop.run_in_executor(None, self.sample)

    def cpu(self) -> dict[str, float]:
        out = {name: self.cpu_after.get(name, 0.0) - self.cpu_before.get(name, 0.0) for name in self.cpu_after}
        # A backend first seen during the window counts from 0 (it started then).
        out[self.POSTGRES] = sum(last - (first if pid in self.started_with else 0.0)
                                 for pid, (first, last) in self.backend_cpu.items())
        return out


# ------------------------------------------------------------------------------------------ the client

class Client:
    """The Kubernetes API (aiohttp, keep-alive HTTPS) and the page's sockets for every learner."""

    def __init__(self, server: live_server.LiveServer, ca: str, measures: Measures) -> None:
        import aiohttp

        self.aiohttp = aiohttp
        self.api = server.api_url
        self.http = server.http_url
        self.ws = helpers.ws_base(server.http_url)
        self.measures = measures
        context = ssl.create_default_context(cadata=ca)
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=context, limit=0, keepalive_timeout=60),
            cookie_jar=aiohttp.DummyCookieJar(), timeout=aiohttp.ClientTimeout(total=120))
        self.gate = asyncio.Semaphore(25)   # handshakes in flight (sockets, watches)

    async def close(self) -> None:
        await self.session.close()

    async def call(self, learner: Learner, kind: str, method: str, path: str, *, body: dict | None = None,
                   content_type: str = "application/json", accept: str = "application/json",
                   expect: tuple[int, ...] = (200,), text: bool = False, timed: bool = True) -> dict | str | None:
        """One API request as kubectl sends it; its latency under `kind` (unless not `timed`); None (and an
        error) if it failed."""
        headers = {"Authorization": f"Bearer {learner.token}", "Accept": accept,
                   "User-Agent": "kubectl/v1.37.1 (linux/amd64) kubernetes/bench"}
        data = None
        if body is not None:
            headers["Content-Type"] = content_type
            data = json.dumps(body)
        url = f"{self.api}/clusters/{learner.cluster}{path}"
        began = time.monotonic()
        try:
            async with self.session.request(method, url, data=data, headers=headers) as response:
                raw = await response.read()
                status = response.status
        except (self.aiohttp.ClientError, TimeoutError, OSError) as error:
            self.measures.error(f"{kind} {method} {path}: {type(error).__name__}: {error}")
            return None
        if timed:
            self.measures.latency[kind].append(time.monotonic() - began)
        if status not in expect:
            self.measures.error(f"{kind} {method} {path}: {status} {raw[:200].decode(errors='replace')}")
            return None
        if text:
            return raw.decode(errors="replace")
        try:
            return json.loads(raw)
        except ValueError:
            self.measures.error(f"{kind} {method} {path}: {status} not JSON: {raw[:100]!r}")
            return None

    # The page ------------------------------------------------------------------------------------------

    async def open_page(self, learner: Learner) -> None:
        began = time.monotonic()
        try:
            async with self.session.get(f"{self.http}/clusters/{CLUSTER}/",
                                        headers={"Cookie": f"sessionid={learner.session}"}) as response:
                html = await response.read()
                status = response.status
        except (self.aiohttp.ClientError, TimeoutError, OSError) as error:
            self.measures.error(f"page GET: {type(error).__name__}: {error}")
            return
        self.measures.latency["page"].append(time.monotonic() - began)
        if status != 200 or b'id="live"' not in html:
            self.measures.error(f"page GET: {status} {html[:120]!r}")

    async def hold_page(self, learner: Learner, stop: asyncio.Event, ready: asyncio.Event) -> None:
        try:
            socket = await helpers.connect(f"{self.ws}/clusters/{CLUSTER}/live", learner.session, self.http,
                                           gate=self.gate)
        except Exception as error:
            self.measures.error(f"page socket of {learner.user}: {type(error).__name__}: {error}")
            ready.set()
            return
        async with socket:
            try:
                async for now, message in helpers.messages_until(socket, stop):
                    kind = message.get("type")
                    if kind == "snapshot":
                        learner.page_snapshots += 1
                        learner.page_snapshot = learner.page_snapshot or (message["rv"], now)
                        learner.page_rv = message["rv"]
                        learner.page_open = True
                        ready.set()
                    elif kind == "changes":
                        if learner.page_rv is not None and message["from"] > learner.page_rv:
                            learner.page_gaps += 1
                        elif learner.page_rv is not None and message["from"] < learner.page_rv:
                            learner.page_overlaps += 1
                        for change in message["changes"]:
                            rv = change["rv"]
                            learner.page_seen[rv] = learner.page_seen.get(rv, 0) + 1
                            learner.page_arrived.setdefault(rv, now)
                            if change.get("event") == "DELETED":
                                learner.page_deleted.setdefault((change["kind"], change["name"]), now)
                        learner.page_rv = max(learner.page_rv or 0, message["to"])
                    elif kind == "gone":
                        self.measures.error(f"page socket of {learner.user}: gone")
            except Exception as error:
                if not stop.is_set():
                    self.measures.error(f"page socket of {learner.user} closed: {type(error).__name__}: {error}")
                ready.set()

    # The watch -----------------------------------------------------------------------------------------

    async def hold_watch(self, learner: Learner, since: int, stop: asyncio.Event) -> None:
        learner.watch_rv = since
        headers = {"Authorization": f"Bearer {learner.token}", "Accept": "application/json",
                   "User-Agent": "kubectl/v1.37.1 (linux/amd64) kubernetes/bench"}
        while not stop.is_set():
            url = (f"{self.api}/clusters/{learner.cluster}/api/v1/namespaces/default/pods?watch=true"
                   f"&allowWatchBookmarks=true&resourceVersion={learner.watch_rv}&timeoutSeconds=1800")
            try:
                async with self.gate:
                    response = await self.session.get(url, headers=headers,
                                                      timeout=self.aiohttp.ClientTimeout(total=None))
                async with response:
                    if response.status != 200:
                        self.measures.error(f"watch of {learner.user}: {response.status} "
                                            f"{(await response.read())[:200]!r}")
                        return
                    stopper = asyncio.ensure_future(stop.wait())
                    try:
                        while True:
                            line = asyncio.ensure_future(response.content.readline())
                            done, _ = await asyncio.wait({line, stopper}, return_when=asyncio.FIRST_COMPLETED)
                            if line not in done:
                                line.cancel()
                                return
                            raw = line.result()
                            if not raw:
                                break     # the server ended the watch: resume from the last resourceVersion
                            if raw.strip():
                                self.watch_event(learner, json.loads(raw), time.monotonic())
                    finally:
                        stopper.cancel()
            except (self.aiohttp.ClientError, TimeoutError, OSError) as error:
                if stop.is_set():
                    return
                self.measures.error(f"watch of {learner.user}: {type(error).__name__}: {error}")
                await asyncio.sleep(1)
            learner.watch_restarts += 1

    def watch_event(self, learner: Learner, event: dict, now: float) -> None:
        kind, obj = event.get("type"), event.get("object") or {}
        meta = obj.get("metadata") or {}
        rv = int(meta.get("resourceVersion") or 0)
        if kind == "BOOKMARK":
            learner.watch_rv = max(learner.watch_rv, rv)
            return
        if kind == "ERROR":
            self.measures.error(f"watch of {learner.user}: ERROR {obj.get('message')}")
            return
        if rv <= learner.watch_rv:
            learner.watch_out_of_order += 1
        learner.watch_rv = max(learner.watch_rv, rv)
        uid = meta.get("uid", "")
        learner.watch_events.append((kind, uid, rv, now))
        learner.watch_arrived.setdefault(rv, now)
        if kind == "DELETED":
            learner.watch_visible.pop(uid, None)
        else:
            learner.watch_visible[uid] = obj

    # The terminal --------------------------------------------------------------------------------------

    async def hold_terminal(self, learner: Learner, every: float, stop: asyncio.Event) -> None:
        if every <= 0:
            return
        try:
            socket = await helpers.connect(f"{self.ws}/clusters/{CLUSTER}/terminal", learner.session, self.http,
                                           gate=self.gate)
        except Exception as error:
            self.measures.error(f"terminal socket of {learner.user}: {type(error).__name__}: {error}")
            return
        async with socket:
            await socket.send(json.dumps({"type": "resize", "cols": 120, "rows": 30}))
            delay = learner.rng.uniform(0, every)
            while not stop.is_set():
                try:
                    await asyncio.wait_for(stop.wait(), delay)
                    return
                except TimeoutError:
                    pass
                learner.terminal_commands += 1
                run_id = learner.terminal_commands
                began = time.monotonic()
                try:
                    await socket.send(json.dumps({"type": "run", "id": run_id, "line": "kubectl get pods",
                                                  "cols": 120, "rows": 30}))
                    output = []
                    while True:
                        message = json.loads(await asyncio.wait_for(socket.recv(), 120))
                        if message.get("type") == "exit":
                            break
                        output.append(message.get("data", ""))
                except Exception as error:
                    self.measures.error(f"terminal of {learner.user}: {type(error).__name__}: {error}")
                    return
                took = time.monotonic() - began
                self.measures.latency["terminal round trip"].append(took)
                if run_id == 1:
                    self.measures.terminal_first.append(took)
                text = "".join(output)
                if message.get("code") != 0 or message.get("reason") is not None or (
                        "NAME" not in text and "No resources found" not in text):
                    self.measures.error(f"terminal of {learner.user}: exit {message.get('code')} "
                                        f"{message.get('reason')}: {text[-200:]!r}")
                delay = every * learner.rng.uniform(0.5, 1.5)


# ------------------------------------------------------------------------------------------ a learner's session

def deployment(image: str) -> dict:
    # No replicas: `kubectl scale` owns them (an apply that set them would conflict with its field manager).
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": {"selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "nginx", "image": image,
                                                           "ports": [{"containerPort": 80}]}]}}}}


def service(round_: int) -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "labels": {"round": str(round_)}},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 80}]}}


APPLY = "?fieldManager=kubectl&fieldValidation=Strict"
NS = "/api/v1/namespaces/default"
APPS = "/apis/apps/v1/namespaces/default"


async def action(client: Client, learner: Learner, step: str) -> None:
    """One of the session's steps, as kubectl would send it."""
    k = learner.round
    began = time.monotonic()   # an action makes at most one write: this is when it was sent

    def note(answer, kind: str, name: str, on_watch: bool = False) -> None:
        if isinstance(answer, dict):
            rv = int((answer.get("metadata") or {}).get("resourceVersion") or 0) or None
            learner.expected.append(Expected(rv, kind, name, began, time.monotonic(), on_watch))

    if step == "apply deployment":
        note(await client.call(learner, "apply", "PATCH", f"{APPS}/deployments/web{APPLY}",
                               body=deployment(learner.image), content_type="application/apply-patch+yaml",
                               expect=(200, 201)), "Deployment", "web")
    elif step == "get deployment":
        answer = await client.call(learner, "get", "GET", f"{APPS}/deployments/web")
        if isinstance(answer, dict) and answer.get("kind") != "Deployment":
            client.measures.error(f"get deployment: kind {answer.get('kind')}")
    elif step in ("table pods", "table deployments"):
        path = f"{NS}/pods?limit=500" if step == "table pods" else f"{APPS}/deployments?limit=500"
        answer = await client.call(learner, "table", "GET", path, accept=TABLE_ACCEPT)
        if isinstance(answer, dict) and answer.get("kind") != "Table":
            client.measures.error(f"{step}: kind {answer.get('kind')}")
    elif step == "create configmap":
        note(await client.call(learner, "create", "POST", f"{NS}/configmaps?fieldManager=kubectl-create"
                               "&fieldValidation=Strict", expect=(201,),
                               body={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cm-{k}"},
                                     "data": {"round": str(k), "greeting": "hello"}}), "ConfigMap", f"cm-{k}")
    elif step == "list configmaps":
        answer = await client.call(learner, "list", "GET", f"{NS}/configmaps?limit=500")
        if isinstance(answer, dict) and answer.get("kind") != "ConfigMapList":
            client.measures.error(f"list configmaps: kind {answer.get('kind')}")
    elif step == "scale":
        learner.replicas = learner.rng.choice([r for r in (1, 2, 3) if r != learner.replicas])
        note(await client.call(learner, "patch/scale", "PATCH", f"{APPS}/deployments/web/scale"
                               "?fieldManager=kubectl-scale", body={"spec": {"replicas": learner.replicas}},
                               content_type="application/merge-patch+json"), "Deployment", "web")
    elif step == "apply service":
        note(await client.call(learner, "apply", "PATCH", f"{NS}/services/web{APPLY}", body=service(k),
                               content_type="application/apply-patch+yaml", expect=(200, 201)), "Service", "web")
    elif step == "create pod":
        answer = await client.call(learner, "create", "POST", f"{NS}/pods?fieldManager=kubectl-run", expect=(201,),
                                   body={"apiVersion": "v1", "kind": "Pod",
                                         "metadata": {"name": f"tool-{k}", "labels": {"run": f"tool-{k}"}},
                                         "spec": {"containers": [{"name": f"tool-{k}", "image": "nginx:1.27"}]}})
        note(answer, "Pod", f"tool-{k}", on_watch=True)
        if isinstance(answer, dict):
            learner.pods_created.append(answer["metadata"]["uid"])
    elif step == "logs":
        running = [pod["metadata"]["name"] for pod in learner.watch_visible.values()
                   if (pod.get("status") or {}).get("phase") == "Running"
                   and not pod["metadata"].get("deletionTimestamp")
                   and all((s.get("state") or {}).get("running") for s in
                           (pod.get("status") or {}).get("containerStatuses") or [{}])]
        if running:
            await client.call(learner, "logs", "GET", f"{NS}/pods/{learner.rng.choice(sorted(running))}/log",
                              accept="application/json, */*", text=True)
        else:
            client.measures.logs_skipped += 1
            await client.call(learner, "get", "GET", f"{NS}/pods/tool-{k}")
    elif step == "rollout":
        learner.image = "nginx:1.28" if learner.image == "nginx:1.27" else "nginx:1.27"
        note(await client.call(learner, "apply", "PATCH", f"{APPS}/deployments/web{APPLY}",
                               body=deployment(learner.image), content_type="application/apply-patch+yaml"),
             "Deployment", "web")
    elif step == "get pod":
        await client.call(learner, "get", "GET", f"{NS}/pods/tool-{k}")
    elif step == "delete pod":
        note(await client.call(learner, "delete", "DELETE", f"{NS}/pods/tool-{k}",
                               body={"propagationPolicy": "Background"}, expect=(200, 202)),
             "Pod", f"tool-{k}", on_watch=True)
    elif step == "delete configmap":
        answer = await client.call(learner, "delete", "DELETE", f"{NS}/configmaps/cm-{k}",
                                   body={"propagationPolicy": "Background"}, expect=(200, 202))
        if isinstance(answer, dict):
            # A Status (the ConfigMap is gone at once): the page must show its DELETED.
            learner.expected.append(Expected(None, "ConfigMap", f"cm-{k}", began, time.monotonic()))
    elif step == "list pods":
        answer = await client.call(learner, "list", "GET", f"{NS}/pods?limit=500")
        if isinstance(answer, dict) and answer.get("kind") != "PodList":
            client.measures.error(f"list pods: kind {answer.get('kind')}")
    else:
        raise AssertionError(step)


ROUND = ("apply deployment", "get deployment", "table pods", "create configmap", "list configmaps", "scale",
         "apply service", "create pod", "table deployments", "logs", "rollout", "get pod", "delete pod",
         "delete configmap", "list pods")


async def learner_session(client: Client, learner: Learner, args, stop: asyncio.Event, end: float,
                          opened: list[int]) -> None:
    await asyncio.sleep(learner.rng.uniform(0, args.ramp))
    await client.open_page(learner)
    ready = asyncio.Event()
    tasks = [asyncio.ensure_future(client.hold_page(learner, stop, ready))]
    answer = await client.call(learner, "list", "GET", f"{NS}/pods?limit=500")
    since = int((answer or {}).get("metadata", {}).get("resourceVersion") or 0)
    for pod in (answer or {}).get("items", []):
        learner.watch_visible[pod["metadata"]["uid"]] = pod
    tasks.append(asyncio.ensure_future(client.hold_watch(learner, since, stop)))
    tasks.append(asyncio.ensure_future(client.hold_terminal(learner, args.terminal_every, stop)))
    try:
        await asyncio.wait_for(ready.wait(), 120)
    except TimeoutError:
        client.measures.error(f"page socket of {learner.user}: no snapshot within 120 s")
    opened[0] += learner.page_open
    step = 0
    while time.monotonic() < end:
        # Never past the session's end: a think time longer than the session (--think 1000 1000) is a class
        # that only looks (pages and watches open, nobody acting).
        await asyncio.sleep(min(learner.rng.uniform(*args.think), max(0.0, end - time.monotonic())))
        if time.monotonic() >= end:
            break
        await action(client, learner, ROUND[step])
        step += 1
        if step == len(ROUND):
            step, learner.round = 0, learner.round + 1
    learner.tasks = tasks


# ------------------------------------------------------------------------------------------ checks

def pending(learner: Learner) -> int:
    """Writes the page or the watch has not shown yet."""
    out = 0
    for e in learner.expected:
        if e.rv is not None:
            out += learner.page_open and e.rv > learner.page_snapshot[0] and e.rv not in learner.page_seen
            out += e.on_watch and e.rv not in learner.watch_arrived
        else:
            out += learner.page_open and (e.kind, e.name) not in learner.page_deleted
    return out


async def final_lists(client: Client, learners: list[Learner], drain: float) -> dict[int, int]:
    """Per learner, the pods a final LIST and the watch's view disagree on: 0 as soon as they agree (the
    controllers may still be finishing a rollout: LISTed again every second until the drain is over)."""
    deadline = time.monotonic() + drain
    out: dict[int, int] = {}

    async def one(learner: Learner) -> None:
        while True:
            answer = await client.call(learner, "list", "GET", f"{NS}/pods?limit=500", timed=False)
            uids = {p["metadata"]["uid"] for p in (answer or {}).get("items", [])}
            out[learner.index] = len(uids ^ set(learner.watch_visible))
            if not out[learner.index] or time.monotonic() >= deadline:
                return
            await asyncio.sleep(1)

    await asyncio.gather(*(one(learner) for learner in learners))
    return out


def check(learners: list[Learner], listed: dict[int, int], measures: Measures) -> dict:
    page_delay, watch_delay = measures.latency["page update delay"], measures.latency["watch-event delay"]
    out = {"page expected": 0, "page lost": 0, "page duplicated": 0, "page gaps": 0, "page overlaps": 0,
           "page resyncs": 0, "watch expected": 0, "watch lost": 0, "watch duplicated": 0,
           "watch out of order": 0, "watch view ≠ LIST": 0, "watch restarts": 0, "pods created": 0,
           "page updates": 0, "watch events": 0, "writes without a page": 0}
    for learner in learners:
        out["page duplicated"] += sum(n - 1 for n in learner.page_seen.values() if n > 1)
        out["page gaps"] += learner.page_gaps
        out["page overlaps"] += learner.page_overlaps
        out["page resyncs"] += max(0, learner.page_snapshots - 1)
        out["page updates"] += sum(learner.page_seen.values())
        out["watch events"] += len(learner.watch_events)
        for e in learner.expected:
            if not learner.page_open or (
                    # a write its page's late first snapshot already held (the page opened after it)
                    e.rv <= learner.page_snapshot[0] if e.rv is not None else e.answered <= learner.page_snapshot[1]):
                out["writes without a page"] += 1
                shown = None
            else:
                out["page expected"] += 1
                shown = learner.page_deleted.get((e.kind, e.name)) if e.rv is None else learner.page_arrived.get(e.rv)
                if shown is None:
                    out["page lost"] += 1
            if shown is not None:
                page_delay.append(shown - e.started)
                measures.after_answer["page"].append(shown - e.answered)
            if e.on_watch and e.rv is not None:
                out["watch expected"] += 1
                if e.rv in learner.watch_arrived:
                    watch_delay.append(learner.watch_arrived[e.rv] - e.started)
                    measures.after_answer["watch"].append(learner.watch_arrived[e.rv] - e.answered)
                else:
                    out["watch lost"] += 1
        added: dict[str, int] = {}
        for kind, uid, _, _ in learner.watch_events:
            if kind == "ADDED":
                added[uid] = added.get(uid, 0) + 1
        out["watch duplicated"] += sum(n - 1 for n in added.values() if n > 1)
        out["pods created"] += len(learner.pods_created)
        out["watch lost"] += sum(1 for uid in learner.pods_created if uid not in added)
        out["watch out of order"] += learner.watch_out_of_order
        out["watch restarts"] += learner.watch_restarts
        out["watch view ≠ LIST"] += listed.get(learner.index, 0)
    return out


# ------------------------------------------------------------------------------------------ one run

async def drive(args, server: live_server.LiveServer, setup: dict, processes: Processes) -> dict:
    measures = Measures()
    client = Client(server, setup["ca"], measures)
    rng = random.Random(args.seed)
    learners = [Learner(i, e["user"], e["cluster"], e["token"], e["session"], random.Random(rng.random()))
                for i, e in enumerate(setup["learners"])]
    stop, sampler_stop = asyncio.Event(), asyncio.Event()
    processes.start()
    sampler = asyncio.ensure_future(processes.run(sampler_stop))
    began = time.monotonic()
    end = began + args.seconds
    opened = [0]
    sessions = [asyncio.ensure_future(learner_session(client, learner, args, stop, end, opened))
                for learner in learners]
    results = await asyncio.gather(*sessions, return_exceptions=True)
    window = time.monotonic() - began
    processes.stop()
    for result in results:
        if isinstance(result, BaseException):
            raise result
    drain_began = time.monotonic()
    while time.monotonic() - drain_began < args.drain and sum(pending(learner) for learner in learners):
        await asyncio.sleep(0.2)
    listed = await final_lists(client, learners, max(30.0, args.drain - (time.monotonic() - drain_began)))
    drained = time.monotonic() - drain_began
    stop.set()
    await asyncio.gather(*(t for learner in learners for t in learner.tasks), return_exceptions=True)
    sampler_stop.set()
    await sampler
    await client.close()
    live = check(learners, listed, measures)
    return {"measures": measures, "live": live, "window": window, "drained": drained, "opened": opened[0],
            "learners": learners, "processes": processes}


DEFAULT_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"   # tests/live_server.py's


def use_postgres(admin: str) -> None:
    """Make the runs' databases on another PostgreSQL server (--postgres): tests/live_server.py's
    database_url with that server's admin URL instead of the local one's."""
    import uuid

    import psycopg

    def database_url(tmp: Path, backend: str | None = None):
        name = f"kpg_classroom_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')

        def drop() -> None:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

        return admin.rsplit("/", 1)[0] + f"/{name}", drop

    live_server.database_url = database_url


def log_exceptions(root: Path) -> list[str]:
    """The exceptions the server, workers and beat logged (the line that names each), most frequent first."""
    import collections
    import re

    counts: collections.Counter = collections.Counter()
    for log in root.glob("*.log"):
        for line in log.read_text(errors="replace").splitlines():
            if re.match(r"^[\w.]+(Error|Exception|Timeout|Refused)\b.*:", line):
                counts[f"{log.name}: {line[:160]}"] += 1
    return [f"{n}× {line}" for line, n in counts.most_common(5)]


def run_class(args, learners: int, workers: int) -> dict:
    """A fresh classroom (server, workers, beat, database), the class made and let settle, then the session."""
    with tempfile.TemporaryDirectory(prefix="bench-classroom-") as tmp:
        began = time.monotonic()
        server = live_server.start(Path(tmp), backend="postgres", celery=True, workers=workers,
                                   serve_processes=args.serve_processes)
        try:
            setup = run_setup(server, learners)
            settled = settle(server)
            print(f"  {learners} learners and clusters made in {setup['seconds']:.1f} s (server side), first "
                  f"passes settled in {settled:.1f} s; {time.monotonic() - began:.0f} s with the processes' start",
                  flush=True)
            database = server.env["DATABASE_URL"].rsplit("/", 1)[-1]
            processes = Processes(server, database, args.postgres or DEFAULT_ADMIN)
            result = asyncio.run(drive(args, server, setup, processes))
            result.update(learners_n=learners, workers=workers)
            result["server_log_errors"] = log_exceptions(Path(tmp))
            return result
        finally:
            server.stop()


# ------------------------------------------------------------------------------------------ the report

def holds(result: dict) -> tuple[bool, str, float]:
    """Whether the run held the targets; the kind with the worst p95 and that p95."""
    worst, worst_p95 = "", 0.0
    for kind in VERDICT_KINDS:
        values = result["measures"].latency[kind]
        if values and percentile(values, 0.95) > worst_p95:
            worst, worst_p95 = kind, percentile(values, 0.95)
    live = result["live"]
    clean = (not result["measures"].errors and live["page lost"] == 0 and live["page duplicated"] == 0
             and live["watch lost"] == 0 and live["watch duplicated"] == 0 and live["watch view ≠ LIST"] == 0)
    return clean and worst_p95 <= TARGET_P95, worst, worst_p95


def met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def report(args, result: dict) -> None:
    measures, live, window = result["measures"], result["live"], result["window"]
    n = result["learners_n"]
    terminal = measures.latency["terminal round trip"]
    requests = sum(len(measures.latency[k]) for k in KINDS[:9])
    served = "serve" if args.serve_processes == 1 else f"serve ({args.serve_processes} processes)"
    print(f"\nA class of {n} learners for {window:.0f} s: {served}, {result['workers']} Celery worker "
          f"process{'es' if result['workers'] > 1 else ''} (a pool of 2 each), beat, Redis, PostgreSQL; think "
          f"time {args.think[0]:g}–{args.think[1]:g} s; {result['opened']}/{n} pages open")
    print(f"  load: {requests} API and page requests ({requests / window:.1f}/s), "
          f"{len(terminal)} terminal commands ({len(terminal) / window:.2f}/s across the class, one per learner "
          f"every ~{args.terminal_every:g} s); {live['page updates']} page updates and {live['watch events']} "
          f"watch events received")
    print(f"  {'kind':<22}{'count':>7}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}   p95/target (300 ms)")
    for kind in KINDS:
        values = measures.latency[kind]
        if not values:
            print(f"  {kind:<22}{0:>7}")
            continue
        p95 = percentile(values, 0.95)
        print(f"  {kind:<22}{len(values):>7}{statistics.median(values) * 1000:>9.0f}{p95 * 1000:>9.0f}"
              f"{percentile(values, 0.99) * 1000:>9.0f}{max(values) * 1000:>9.0f}   {p95 / TARGET_P95:.2f} "
              f"({met(p95 <= TARGET_P95)}{'' if kind in VERDICT_KINDS else '; not in the verdict'})")
    for what in ("page", "watch"):
        values = measures.after_answer[what]
        if values:
            early = sum(1 for v in values if v < 0)
            print(f"  ({what} delays above are from the write's start; from its answer: p50 "
                  f"{statistics.median(values) * 1000:.0f} ms, p95 {percentile(values, 0.95) * 1000:.0f} ms; "
                  f"{early} of {len(values)} arrived before the answer was read)")
    if measures.terminal_first:
        print(f"  (terminal: each terminal's first command, kubectl's discovery included: "
              f"{helpers.figures(measures.terminal_first)}; logs asked before any pod ran, a GET instead: "
              f"{measures.logs_skipped})")
    print(f"  errors: {len(measures.errors)} (target 0: {met(not measures.errors)})")
    for example in measures.errors[:EXAMPLES]:
        print(f"      {example}")
    page_bad = live["page lost"] + live["page duplicated"]
    watch_bad = live["watch lost"] + live["watch duplicated"] + live["watch view ≠ LIST"]
    print(f"  live updates on the pages: {live['page expected']} writes expected, lost {live['page lost']}, "
          f"duplicated {live['page duplicated']} (target 0: {met(page_bad == 0)}); message gaps "
          f"{live['page gaps']}, overlaps {live['page overlaps']}, resync snapshots {live['page resyncs']}"
          + (f"; {live['writes without a page']} writes made before their page opened (not counted)"
             if live["writes without a page"] else ""))
    print(f"  on the watches: {live['pods created']} pods created, {live['watch expected']} pod writes expected, "
          f"lost {live['watch lost']}, ADDED twice {live['watch duplicated']}, out of order "
          f"{live['watch out of order']}, watch's view ≠ final LIST {live['watch view ≠ LIST']} pods "
          f"(target 0: {met(watch_bad == 0)}); watches resumed {live['watch restarts']}; drained "
          f"{result['drained']:.1f} s after the last action")
    processes = result["processes"]
    cpu = processes.cpu()
    busy0, total0 = processes.machine_before
    busy1, total1 = processes.machine_after
    cores = os.cpu_count() or 1
    print(f"  processes over the {window:.0f} s (CPU s, % of one core, peak RSS summed over the group); the whole "
          f"machine {(busy1 - busy0) / max(1, total1 - total0) * 100:.0f}% busy ({cores} cores):")
    for name in cpu:
        print(f"      {name:<30}{cpu[name]:>8.1f} s {cpu[name] / window * 100:>5.0f}%   "
              f"{processes.peak.get(name, 0):>7.0f} MB")
    machine = (busy1 - busy0) / os.sysconf("SC_CLK_TCK")
    others = machine - sum(v for k, v in cpu.items() if not k.startswith("redis"))
    print(f"      {'everything else on the machine':<30}{others:>8.1f} s {others / window * 100:>5.0f}%   "
          f"(other work sharing the cores, and Redis's other users)")
    print(f"      (PostgreSQL: at most {processes.connections} connections to this run's database at once; "
          f"the server's max_connections is {processes.max_connections}, for every database on it)")
    kubectl = processes.kubectl_after - processes.kubectl_before
    print(f"      (of serve's: the terminal's kubectl processes {kubectl:.1f} s, "
          f"{kubectl / max(1, len(terminal)) * 1000:.0f} ms each)")
    ok, worst, worst_p95 = holds(result)
    print(f"  verdict: {'holds' if ok else 'does NOT hold'} p95 ≤ 300 ms (every kind but the terminal's) with no "
          f"errors and nothing lost (worst p95: {worst} {worst_p95 * 1000:.0f} ms, ratio "
          f"{worst_p95 / TARGET_P95:.2f}); "
          f"N = {n} vs target N ≥ {TARGET_LEARNERS}: {n / TARGET_LEARNERS:.2f}×")
    if result["server_log_errors"]:
        print("  exceptions in the processes' logs (most frequent first):")
        for line in result["server_log_errors"]:
            print(f"      {line}")


def compare(args, results: list[dict]) -> None:
    a, b = results
    print(f"\nOne worker process vs two, {a['learners_n']} learners, {a['window']:.0f} s each:")
    print(f"  {'':<22}{'p95 ms, 1 worker':>18}{'p95 ms, 2 workers':>19}{'ratio 2/1':>11}")
    for kind in KINDS:
        va, vb = a["measures"].latency[kind], b["measures"].latency[kind]
        if va and vb:
            pa, pb = percentile(va, 0.95) * 1000, percentile(vb, 0.95) * 1000
            print(f"  {kind:<22}{pa:>18.0f}{pb:>19.0f}{pb / max(pa, 0.001):>11.2f}")
    for label, key in (("errors", None), ("page lost", "page lost"), ("page duplicated", "page duplicated"),
                       ("watch lost", "watch lost"), ("watch ADDED twice", "watch duplicated")):
        va = len(a["measures"].errors) if key is None else a["live"][key]
        vb = len(b["measures"].errors) if key is None else b["live"][key]
        print(f"  {label:<22}{va:>18}{vb:>19}")
    ca, cb = a["processes"].cpu(), b["processes"].cpu()

    def workers_cpu(cpu: dict) -> float:
        return sum(v for k, v in cpu.items() if k.startswith("celery worker"))

    serve = "serve (+ terminal kubectl)"
    for label, fa, fb in (("serve CPU s", ca.get(serve, 0), cb.get(serve, 0)),
                          ("workers CPU s", workers_cpu(ca), workers_cpu(cb)),
                          ("postgres CPU s", ca.get("postgres (this database)", 0),
                           cb.get("postgres (this database)", 0))):
        print(f"  {label:<22}{fa:>18.1f}{fb:>19.1f}")
    for result in results:
        ok, worst, p95 = holds(result)
        print(f"  {result['workers']} worker(s): {'holds' if ok else 'does NOT hold'} (worst p95 {worst} "
              f"{p95 * 1000:.0f} ms)")


def find_n(args) -> None:
    rows = []
    for n in args.steps:
        print(f"\n--find-n: N = {n}, {args.seconds:.0f} s, {args.workers} worker(s)", flush=True)
        result = run_class(args, n, args.workers)
        report(args, result)
        ok, worst, p95 = holds(result)
        live = result["live"]
        rows.append((n, ok, worst, p95, len(result["measures"].errors),
                     live["page lost"] + live["watch lost"], live["page duplicated"] + live["watch duplicated"]))
        if len(rows) >= 2 and not rows[-1][1] and not rows[-2][1] and not args.all_steps:
            break   # two steps in a row did not hold: larger classes will not either
    print(f"\nThe largest class that holds p95 ≤ 300 ms for every kind, no errors, nothing lost "
          f"({args.seconds:.0f} s runs, {args.workers} worker process(es)):")
    print(f"  {'N':>5}  {'worst p95':>10}  {'of':<20}{'errors':>7}{'lost':>6}{'dup':>5}  holds")
    for n, ok, worst, p95, errors, lost, dup in rows:
        print(f"  {n:>5}  {p95 * 1000:>7.0f} ms  {worst:<20}{errors:>7}{lost:>6}{dup:>5}  {'yes' if ok else 'no'}")
    best = 0
    for n, ok, *_ in rows:
        if not ok:
            break
        best = n
    print(f"  largest N held: {best or 'none of the steps'} — target N ≥ {TARGET_LEARNERS}: "
          f"{best / TARGET_LEARNERS:.2f}×")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--learners", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=None, help="length of the session (default 180)")
    parser.add_argument("--minutes", type=float, default=None)
    parser.add_argument("--workers", type=int, default=1, help="Celery worker processes (a pool of two each)")
    parser.add_argument("--serve-processes", type=int, default=1,
                        help="server processes sharing the ports (manage.py serve --processes)")
    parser.add_argument("--think", type=float, nargs=2, default=(2.0, 8.0), metavar=("MIN", "MAX"),
                        help="seconds between a learner's actions, uniformly random")
    parser.add_argument("--terminal-every", type=float, default=30.0,
                        help="seconds between a learner's terminal commands, on average (0: no terminal)")
    parser.add_argument("--ramp", type=float, default=10.0, help="learners open their pages over these seconds")
    parser.add_argument("--drain", type=float, default=30.0,
                        help="seconds to wait after the last action for the pages and watches to catch up")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--postgres", metavar="ADMIN_URL",
                        help="make the run's database on this PostgreSQL server (an admin URL, e.g. "
                             "postgresql://postgres@127.0.0.1:5433/postgres) instead of the local one on 5432 "
                             "(the report prints the most connections the run used)")
    parser.add_argument("--find-n", action="store_true", help="step N up (--steps) with shorter runs")
    parser.add_argument("--steps", type=lambda text: [int(v) for v in text.split(",")],
                        default=[25, 50, 100, 150, 200, 250, 300])
    parser.add_argument("--all-steps", action="store_true",
                        help="with --find-n, run every step (by default it stops after two that do not hold)")
    parser.add_argument("--compare-workers", action="store_true", help="the same class with 1 and with 2 workers")
    args = parser.parse_args()
    if args.seconds is None:
        args.seconds = args.minutes * 60 if args.minutes is not None else (60.0 if args.find_n else 180.0)
    helpers.raise_open_files_limit()
    if args.postgres:
        use_postgres(args.postgres)
    others = helpers.busiest_others({os.getpid()})
    if others:
        print(f"other processes busy before the run (2 s sample): {', '.join(others)}")
    if args.find_n:
        find_n(args)
    elif args.compare_workers:
        results = []
        for workers in (1, 2):
            print(f"\n{args.learners} learners, {workers} worker process(es), {args.seconds:.0f} s", flush=True)
            results.append(run_class(args, args.learners, workers))
            report(args, results[-1])
        compare(args, results)
    else:
        print(f"{args.learners} learners, {args.workers} worker process(es), {args.seconds:.0f} s", flush=True)
        report(args, run_class(args, args.learners, args.workers))


if __name__ == "__main__":
    main()
