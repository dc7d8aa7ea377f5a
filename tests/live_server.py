"""Start a real playground server (`manage.py serve`) in a subprocess: for e2e tests and benchmarks.

It gets its own database (PostgreSQL when PLAYGROUND_TEST_DATABASE=postgres, else SQLite), its
own CA and var dir, and free ports. Clusters are made with the real management command.
"""
from __future__ import annotations

import os
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


@dataclass
class LiveServer:
    root: Path
    env: dict
    api_port: int
    http_port: int
    process: subprocess.Popen | None = None
    kubeconfigs: dict[str, Path] = field(default_factory=dict)
    _drop: Callable[[], None] = lambda: None

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

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
            self.process = None
        self._drop()


def start(tmp: Path, *, backend: str | None = None, extra_env: dict | None = None) -> LiveServer:
    url, drop = database_url(tmp, backend)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBE")}
    env.update({"DATABASE_URL": url, "PLAYGROUND_VAR_DIR": str(tmp / "var"),
                "DJANGO_SETTINGS_MODULE": "playground.settings",
                "HOME": str(tmp / "home")})  # kubectl's discovery cache stays with this server
    env.pop("REDIS_URL", None)
    env.update(extra_env or {})
    (tmp / "home").mkdir(exist_ok=True)
    server = LiveServer(tmp, env, free_port(), free_port(), _drop=drop)
    server.manage("migrate", "--noinput")
    log = open(tmp / "server.log", "w")
    server.process = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--api-port", str(server.api_port), "--http-port",
         str(server.http_port)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(server.api_port, server.process)
    except Exception:
        server.stop()
        raise
    return server
