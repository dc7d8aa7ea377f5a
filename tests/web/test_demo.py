"""`manage.py demo` (the end of `make run`): the README's demo/demo login works and a second run keeps it; the
kubeconfig it writes names the API port `make run` makes `serve` listen on."""
from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command
from django.test import Client

from clusters import selectors

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_demo_user_logs_in_with_the_readme_password(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    call_command("demo")
    call_command("demo")   # `make run` again: nothing duplicated, the password still works
    assert Client().login(username="demo", password="demo")
    cluster = selectors.cluster_by_name(username="demo", name="demo")
    assert cluster is not None
    assert f"/clusters/{cluster.pk}" in (tmp_path / "demo.kubeconfig").read_text()


def _server(path) -> str:
    return yaml.safe_load(path.read_text())["clusters"][0]["cluster"]["server"]


@pytest.mark.django_db
def test_the_kubeconfig_names_the_api_port_serve_listens_on(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    settings.PLAYGROUND = {**settings.PLAYGROUND, "API_SERVER_URL": "", "PUBLIC_HOSTS": []}
    call_command("demo", "--api-port", "7443")
    cluster = selectors.cluster_by_name(username="demo", name="demo")
    assert _server(tmp_path / "demo.kubeconfig") == f"https://127.0.0.1:7443/clusters/{cluster.pk}"
    # `make run API_PORT=…` again with another port: the kubeconfig follows it.
    call_command("demo", "--api-port", "8443")
    assert _server(tmp_path / "demo.kubeconfig") == f"https://127.0.0.1:8443/clusters/{cluster.pk}"
    written = (tmp_path / "demo.kubeconfig").read_text()
    call_command("demo", "--api-port", "8443")  # the same port: the kubeconfig (and its token) stays
    assert (tmp_path / "demo.kubeconfig").read_text() == written
    assert Client().login(username="demo", password="demo")


def _make_run(*variables: str) -> list[str]:
    """The commands `make run` would run (make -n prints them without running anything)."""
    env = {k: v for k, v in os.environ.items() if k not in ("API_PORT", "MAKEFLAGS", "MAKELEVEL")}
    out = subprocess.run(["make", "-n", "run", *variables], cwd=ROOT, env=env, capture_output=True, text=True,
                         check=True)
    return out.stdout.splitlines()


@pytest.mark.parametrize("variables, port", [((), "6443"), (("API_PORT=7443",), "7443")])
def test_make_run_gives_demo_and_serve_the_same_api_port(variables, port):
    commands = _make_run(*variables)
    demo = next(c for c in commands if "manage.py demo" in c)
    serve = next(c for c in commands if "manage.py serve" in c)
    assert re.search(rf"--api-port {port}\b", demo) and re.search(rf"--api-port {port}\b", serve), commands
