"""A live playground for end-to-end tests (tests/live_server.py), and the real kubectl against it.

Clusters are created with the real management command, so the kubeconfigs are exactly what an
operator would hand out.
"""
from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests import live_server

KUBECTL = Path(sys.executable).parent / "kubectl"


@pytest.fixture(scope="session")
def playground(tmp_path_factory) -> live_server.LiveServer:
    server = live_server.start(tmp_path_factory.mktemp("playground"))
    try:
        yield server
    finally:
        server.stop()


def instant_server(tmp_path_factory, name: str) -> Iterator[live_server.LiveServer]:
    """A module's own live server whose image pulls and container starts are instant
    (PLAYGROUND_START_DELAYS=0), stopped when the fixture that `yield from`s it ends."""
    server = live_server.start(tmp_path_factory.mktemp(name), extra_env={"PLAYGROUND_START_DELAYS": "0"})
    try:
        yield server
    finally:
        server.stop()


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
