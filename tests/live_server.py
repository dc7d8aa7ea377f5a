"""Start a real playground server (`manage.py serve`) in a subprocess: for e2e tests and benchmarks.

It gets its own database (PostgreSQL when PLAYGROUND_TEST_DATABASE=postgres, else SQLite), its
own CA and var dir, and free ports. Clusters are made with the real management command.

With `celery=True` it runs in classroom mode: a real Celery worker and beat run beside the server
(same environment), on a Redis database index of their own (claimed, and flushed at start and
stop) so parallel runs never share queues. `kill_worker()` / `start_worker()` are for fault tests;
`workers=K` starts K worker processes (benchmarks comparing one worker with more).
"""
from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server did not listen on {port} within {timeout}s")


def database_url(tmp: Path, backend: str | None = None) -> tuple[str, Callable[[], None]]:
    """A fresh database for one server, and how to drop it."""
    backend = backend or os.environ.get("PLAYGROUND_TEST_DATABASE", "sqlite")
    if backend != "postgres":
        return f"sqlite:///{tmp / 'playground.sqlite3'}", lambda: None
    import psycopg

    name = f"kpg_live_{uuid.uuid4().hex[:10]}"
    admin = "postgresql://postgres@127.0.0.1:5432/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return f"postgresql://postgres@127.0.0.1:5432/{name}", drop


REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
REDIS_CLAIM_KEY = "kpg-live-server-claim"  # marks a Redis database index as taken by one live server
REDIS_CLAIM_SECONDS = 6 * 3600             # a crashed run's claim expires


def claim_redis_db() -> tuple[str, Callable[[], None]]:
    """A Redis URL on a database index (1-15) no other live server uses, emptied; and how to release it."""
    import redis

    for index in random.sample(range(1, 16), 15):
        conn = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=index)
        if not conn.set(REDIS_CLAIM_KEY, f"{os.getpid()}:{uuid.uuid4().hex}", nx=True, ex=REDIS_CLAIM_SECONDS):
            conn.close()
            continue
        # Flush what an earlier, crashed run left behind, but keep the claim.
        for key in conn.scan_iter(count=1000):
            if key != REDIS_CLAIM_KEY.encode():
                conn.delete(key)

        def release(conn=conn) -> None:
            try:
                conn.flushdb()  # drops the claim too
            finally:
                conn.close()

        return f"redis://{REDIS_HOST}:{REDIS_PORT}/{index}", release
    raise RuntimeError("every Redis database index 1-15 is claimed by another live server")


def _stop_group(process: subprocess.Popen | None, sig: int = signal.SIGTERM, timeout: float = 10) -> None:
    """Stop a process started in its own session, with its children (Celery's pool processes)."""
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(10)


@dataclass
class LiveServer:
    root: Path
    env: dict
    api_port: int
    http_port: int
    process: subprocess.Popen | None = None
    kubeconfigs: dict[str, Path] = field(default_factory=dict)
    _drop: Callable[[], None] = lambda: None
    celery: bool = False
    worker: subprocess.Popen | None = None        # the worker started last
    workers: list[subprocess.Popen] = field(default_factory=list)   # every worker process running
    beat: subprocess.Popen | None = None
    _release_redis: Callable[[], None] = lambda: None
    _workers_started: int = 0

    @property
    def api_url(self) -> str:
        return f"https://127.0.0.1:{self.api_port}"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def manage(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, text=True,
                              capture_output=True, check=check, timeout=120)

    def new_cluster(self, user: str, name: str, nodes: int = 2) -> Path:
        path = self.root / f"{user}-{name}.kubeconfig"
        self.manage("cluster", "create", user, name, "--nodes", str(nodes), "--kubeconfig", str(path),
                    "--server", self.api_url)
        self.kubeconfigs[f"{user}/{name}"] = path
        return path

    @staticmethod
    def cluster_id(kubeconfig: Path) -> str:
        import yaml

        server = yaml.safe_load(kubeconfig.read_text())["clusters"][0]["cluster"]["server"]
        return server.rsplit("/", 1)[-1]

    # Classroom mode: the Celery worker and beat.
    def _spawn(self, name: str, *args: str) -> subprocess.Popen:
        log = open(self.root / f"{name}.log", "a")
        # A session of its own: signals reach the whole process group (the worker's pool processes).
        return subprocess.Popen([sys.executable, "-m", "celery", "-A", "playground", *args], cwd=ROOT, env=self.env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def start_worker(self, wait: float = 60) -> None:
        """Start a Celery worker (after kill_worker, or a second one) and wait until it answers a ping."""
        self._workers_started += 1
        name = f"live{self._workers_started}-{uuid.uuid4().hex[:8]}"
        self.worker = self._spawn("worker", "worker", "-l", "warning", "--concurrency", "2", "--without-gossip",
                                  "--without-mingle", "-n", f"{name}@%h")
        self.workers.append(self.worker)
        self.wait_worker(wait, name=name)

    def wait_worker(self, timeout: float = 60, name: str | None = None) -> None:
        """Wait until a worker (the one called `name`, if given) answers a ping."""
        from celery import Celery

        app = Celery("live-server-ping", broker=self.env["REDIS_URL"])
        deadline = time.time() + timeout
        try:
            while time.time() < deadline:
                if self.worker is not None and self.worker.poll() is not None:
                    raise RuntimeError(f"celery worker exited with {self.worker.returncode}; "
                                       f"see {self.root / 'worker.log'}")
                replies = app.control.ping(timeout=0.5)
                if replies and (name is None or any(key.startswith(f"{name}@") for reply in replies
                                                    for key in reply)):
                    return
            raise RuntimeError(f"celery worker did not answer within {timeout}s; see {self.root / 'worker.log'}")
        finally:
            app.close()

    def kill_worker(self) -> None:
        """SIGKILL the worker started last and its pool processes, as if its machine went away mid-task."""
        _stop_group(self.worker, signal.SIGKILL)
        if self.worker in self.workers:
            self.workers.remove(self.worker)
        self.worker = self.workers[-1] if self.workers else None

    def start_beat(self) -> None:
        self.beat = self._spawn("beat", "beat", "-l", "warning", "--max-interval", "1",
                                "-s", str(self.root / "beat-schedule"))

    def stop_beat(self) -> None:
        _stop_group(self.beat)
        self.beat = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
            self.process = None
        self.stop_beat()
        for worker in {id(w): w for w in [*self.workers, self.worker] if w is not None}.values():
            _stop_group(worker)
        self.workers = []
        self.worker = None
        try:
            self._release_redis()
        finally:
            self._release_redis = lambda: None
            self._drop()
            self._drop = lambda: None


def start(tmp: Path, *, backend: str | None = None, extra_env: dict | None = None,
          celery: bool = False, workers: int = 1, serve_processes: int = 1) -> LiveServer:
    """A live server; with celery=True (classroom mode; use backend="postgres") also beat and `workers` Celery
    worker processes (each with a pool of two), and `serve_processes` server processes sharing the ports."""
    url, drop = database_url(tmp, backend)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBE")}
    env.update({"DATABASE_URL": url, "PLAYGROUND_VAR_DIR": str(tmp / "var"),
                "DJANGO_SETTINGS_MODULE": "playground.settings",
                "HOME": str(tmp / "home")})  # kubectl's discovery cache stays with this server
    env.pop("REDIS_URL", None)
    env.pop("PLAYGROUND_EMBEDDED_LOOP", None)
    release_redis: Callable[[], None] = lambda: None
    if celery:
        try:
            env["REDIS_URL"], release_redis = claim_redis_db()
        except Exception:
            drop()
            raise
    env.update(extra_env or {})
    (tmp / "home").mkdir(exist_ok=True)
    server = LiveServer(tmp, env, free_port(), free_port(), _drop=drop, celery=celery, _release_redis=release_redis)
    try:
        server.manage("migrate", "--noinput")
        log = open(tmp / "server.log", "w")
        server.process = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--api-port", str(server.api_port), "--http-port",
             str(server.http_port), "--processes", str(serve_processes)], cwd=ROOT, env=env, stdout=log,
            stderr=subprocess.STDOUT)
        if celery:
            server.start_beat()
            for _ in range(max(1, workers)):
                server.start_worker()
        wait_for_port(server.api_port, server.process)
    except Exception:
        server.stop()
        raise
    return server
