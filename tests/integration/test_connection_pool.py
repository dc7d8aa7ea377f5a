"""A class's worth of open watches and API requests on a handful of PostgreSQL connections.

Under ASGI every request, and every open watch, runs in a thread of its own; with a connection per thread,
each API request opened a PostgreSQL connection and each open watch held one for as long as it was open,
so a class ran out of PostgreSQL's default `max_connections` (100) at 40 learners. `serve` takes its
connections from one pool (clusters/config.py pool_database_connections): the watches let theirs go
between reads, and requests reuse the pool's.
"""
from __future__ import annotations

import psycopg
import pytest

from tests import live_server
from tests.integration import faults

WATCHES = 40
REQUESTS = 60
POOL = 6


@pytest.fixture(scope="module")
def pooled(tmp_path_factory):
    server = live_server.start(tmp_path_factory.mktemp("pool"), backend="postgres", celery=True,
                               extra_env={"PLAYGROUND_START_DELAYS": "0", "DB_POOL_SIZE": str(POOL)})
    try:
        yield server
    finally:
        server.stop()


def _database(server) -> tuple[int, int]:
    """(connections to the server's database now, sessions ever opened to it) from another connection."""
    with psycopg.connect(server.env["DATABASE_URL"]) as conn:
        name = conn.info.dbname
        now = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                           (name,)).fetchone()[0]
        sessions = conn.execute("SELECT sessions FROM pg_stat_database WHERE datname = %s", (name,)).fetchone()[0]
    return now, sessions


def test_open_watches_and_requests_share_the_pool(pooled, tmp_path):
    kubeconfig = pooled.new_cluster("paula", "pool")
    api = faults.Api(kubeconfig, tmp_path)
    configmaps = "/api/v1/namespaces/default/configmaps"
    watchers = [faults.start_watch(api, configmaps, timeout_seconds=120) for _ in range(WATCHES)]
    try:
        faults.wait_until(lambda: all(w.streams for w in watchers), 30, "the watches did not open")
        _, sessions_before = _database(pooled)
        for i in range(REQUESTS):
            if i % 3 == 0:
                api.call("POST", configmaps, json={"metadata": {"name": f"cm-{i}"}, "data": {"n": str(i)}})
            else:
                api.call("GET", configmaps)
        faults.wait_until(lambda: all(any(e["object"]["metadata"]["name"] == f"cm-{REQUESTS - 3}" for e in w.events)
                                      for w in watchers), 30, "a watch missed the last ConfigMap")
        connections, sessions_after = _database(pooled)
    finally:
        for watcher in watchers:
            watcher.stop.set()
    # The server's pool, and the Celery worker's two pool processes with a connection each, and its main
    # process; beat keeps none. Without the pool: one per watch, at least.
    assert connections <= POOL + 4, f"{connections} connections for {WATCHES} open watches"
    # Requests (and the watches' reads, woken by each create) reuse pooled connections: without the pool,
    # each of the 60 requests opened its own.
    assert sessions_after - sessions_before <= POOL + 4, \
        f"{sessions_after - sessions_before} connections opened for {REQUESTS} requests"
    assert not any(w.errors for w in watchers), [w.errors for w in watchers if w.errors][:2]
