"""A live playground for end-to-end tests: `manage.py serve` in a subprocess, real kubectl against it.

The server gets its own database (PostgreSQL when PLAYGROUND_TEST_DATABASE=postgres, as `make
test` sets; else a SQLite file), its own CA and ports. Clusters are created with the real
management command, so the kubeconfigs are exactly what an operator would hand out.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KUBECTL = Path(sys.executable).parent / "kubectl"


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


def _database_url(tmp: Path) -> tuple[str, callable]:
    if os.environ.get("PLAYGROUND_TEST_DATABASE") != "postgres":
        return f"sqlite:///{tmp / 'playground.sqlite3'}", lambda: None
    import psycopg

    name = f"kpg_e2e_{uuid.uuid4().hex[:10]}"
    admin = "postgresql://postgres@127.0.0.1:5432/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return f"postgresql://postgres@127.0.0.1:5432/{name}", drop


@dataclass
class Playground:
    root: Path
    env: dict
    api_port: int
    http_port: int
    kubeconfigs: dict[str, Path] = field(default_factory=dict)

    @property
    def api_url(self) -> str:
        return f"https://127.0.0.1:{self.api_port}"

    def manage(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, text=True,
                              capture_output=True, check=check, timeout=120)

    def new_cluster(self, user: str, name: str, nodes: int = 2) -> Path:
        path = self.root / f"{user}-{name}.kubeconfig"
        self.manage("cluster", "create", user, name, "--nodes", str(nodes), "--kubeconfig", str(path),
                    "--server", self.api_url)
        self.kubeconfigs[f"{user}/{name}"] = path
        return path

    def cluster_id(self, kubeconfig: Path) -> str:
        import yaml

        server = yaml.safe_load(kubeconfig.read_text())["clusters"][0]["cluster"]["server"]
        return server.rsplit("/", 1)[-1]


@pytest.fixture(scope="session")
def playground(tmp_path_factory) -> Playground:
    tmp = tmp_path_factory.mktemp("playground")
    database_url, drop_database = _database_url(tmp)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBE")}
    env.update({
        "DATABASE_URL": database_url,
        "PLAYGROUND_VAR_DIR": str(tmp / "var"),
        "DJANGO_SETTINGS_MODULE": "playground.settings",
        "HOME": str(tmp / "home"),  # kubectl's discovery cache stays inside the test
        "PLAYGROUND_MAX_REPLICAS": "50",
    })
    env.pop("REDIS_URL", None)
    (tmp / "home").mkdir()
    api_port, http_port = free_port(), free_port()
    pg = Playground(tmp, env, api_port, http_port)
    pg.manage("migrate", "--noinput")
    log = open(tmp / "server.log", "w")
    server = subprocess.Popen([sys.executable, "manage.py", "serve", "--api-port", str(api_port),
                               "--http-port", str(http_port)], cwd=ROOT, env=env, stdout=log,
                              stderr=subprocess.STDOUT)
    try:
        wait_for_port(api_port, server)
        yield pg
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
        drop_database()


@dataclass
class Kubectl:
    kubeconfig: Path
    env: dict

    def run(self, *args: str, input: str | None = None, check: bool = True,
            timeout: float = 60) -> subprocess.CompletedProcess:
        result = subprocess.run([str(KUBECTL), "--kubeconfig", str(self.kubeconfig), *args], input=input,
                                text=True, capture_output=True, env=self.env, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({result.returncode}):\n"
                                 f"{result.stdout}\n{result.stderr}")
        return result

    def __call__(self, *args: str, **kwargs) -> str:
        return self.run(*args, **kwargs).stdout

    def json(self, *args: str) -> dict:
        return json.loads(self(*args, "-o", "json"))

    def fails(self, *args: str, input: str | None = None) -> str:
        result = self.run(*args, input=input, check=False)
        assert result.returncode != 0, f"kubectl {' '.join(args)} unexpectedly succeeded:\n{result.stdout}"
        return result.stderr


@pytest.fixture(scope="module")
def kubectl(playground, request) -> Kubectl:
    """kubectl for a fresh cluster per test module."""
    name = request.module.__name__.rsplit(".", 1)[-1].replace("_", "-")[:40].strip("-")
    path = playground.new_cluster("alice", name)
    return Kubectl(path, playground.env)
