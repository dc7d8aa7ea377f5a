"""`manage.py serve --processes 2`: two server processes share the ports (SO_REUSEPORT), and whichever
one a connection lands on, the learner sees one cluster: a watch held by one process sees the writes made
through the other, and the processes end with the `serve` that started them."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
import requests

from tests import live_server
from tests.integration import faults

WATCHES = 16   # the chance that all land on one process: 2 in 65,536
WRITES = 12


def _serve_processes(root_pid: int) -> list[int]:
    """The serve process and the siblings it started (its children running `serve`), from /proc."""
    found = [root_pid]
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = open(f"/proc/{pid}/stat").read()
            cmdline = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == root_pid and b"serve" in cmdline:
            found.append(int(pid))
    return found


def _socket_pids(port: int, state: str) -> set[int]:
    """The processes with a socket on the local port in that state ("0A" listening, "01" connected), from
    /proc: the sockets' inodes, then each process's descriptors."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in open(table).read().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == state:
                inodes.add(fields[9])
    pids = set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            links = {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
        except OSError:
            continue
        if any(f"socket:[{inode}]" in links for inode in inodes):
            pids.add(int(pid))
    return pids


@pytest.fixture(scope="module")
def two(tmp_path_factory):
    server = live_server.start(tmp_path_factory.mktemp("two"), backend="postgres", celery=True, serve_processes=2,
                               extra_env={"PLAYGROUND_START_DELAYS": "0"})
    try:
        yield server
    finally:
        server.stop()


def test_two_processes_share_the_ports_and_the_clusters(two, tmp_path):
    processes = faults.wait_until(lambda: (found := _serve_processes(two.process.pid)) and len(found) == 2 and found,
                                  30, "serve did not start its second process")
    for port in (two.api_port, two.http_port):
        faults.wait_until(lambda port=port: _socket_pids(port, "0A") == set(processes), 30,
                          lambda port=port: f"port {port}: listening {_socket_pids(port, '0A')}, serve {processes}")
    api = faults.Api(two.new_cluster("sam", "lab"), tmp_path)
    configmaps = "/api/v1/namespaces/default/configmaps"
    # Each watcher has a connection of its own: the kernel spreads them over the two processes.
    watchers = [faults.start_watch(api, configmaps, timeout_seconds=60) for _ in range(WATCHES)]
    try:
        faults.wait_until(lambda: all(w.streams for w in watchers), 30, "the watches did not open")
        assert _socket_pids(two.api_port, "01") == set(processes), "the watches all went to one process"
        for i in range(WRITES):
            with requests.Session() as session:   # a new connection each: either process may take it
                session.headers["Authorization"] = "Bearer " + api.token
                session.verify, session.trust_env = str(api.ca), False
                session.post(api.base + configmaps, json={"metadata": {"name": f"cm-{i}"}}, timeout=30) \
                    .raise_for_status()
        names = {f"cm-{i}" for i in range(WRITES)}
        faults.wait_until(lambda: all(names <= {e["object"]["metadata"]["name"] for e in w.events} for w in watchers),
                          30, lambda: f"a watch missed writes: {[len(w.events) for w in watchers]}")
    finally:
        for watcher in watchers:
            watcher.stop.set()
    assert not any(w.errors for w in watchers), [w.errors for w in watchers if w.errors][:2]


def test_the_second_process_ends_with_serve(tmp_path):
    server = live_server.start(tmp_path, backend="postgres", celery=True, serve_processes=2)
    try:
        processes = faults.wait_until(lambda: (found := _serve_processes(server.process.pid)) and len(found) == 2
                                      and found, 30, "serve did not start its second process")
    finally:
        server.stop()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(os.path.exists(f"/proc/{pid}") for pid in processes):
        time.sleep(0.1)
    assert not any(os.path.exists(f"/proc/{pid}") for pid in processes), processes


def test_embedded_mode_runs_one_process(tmp_path):
    server_env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    server_env["PLAYGROUND_VAR_DIR"] = str(tmp_path)
    result = subprocess.run([sys.executable, "manage.py", "serve", "--processes", "2"], cwd=live_server.ROOT,
                            env=server_env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "--processes above 1 needs classroom mode" in result.stderr, result.stderr
