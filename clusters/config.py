"""The playground's settings as the layers below the pages need them: the API pipeline's quotas, the
CA and serving certificate, the URL kubeconfigs point at, and when idle clusters are stopped and deleted.

Read from `settings.PLAYGROUND` (the environment, see the README's table); the certificate files are
made once per process because the settings do not change while it runs.
"""
from __future__ import annotations

import functools
import time

from django.conf import settings

from clusters.apiserver.pipeline import Limits
from clusters.tls import ServingFiles, ensure_serving_files


@functools.cache
def serving_files() -> ServingFiles:
    """The CA and serving certificate (made once per process: the settings do not change)."""
    conf = settings.PLAYGROUND
    return ensure_serving_files(conf["CA_DIR"], conf["PUBLIC_HOSTS"])


@functools.cache
def ca_pem() -> str:
    return serving_files().ca_pem()


def limits() -> Limits:
    """The per-cluster quotas the API pipeline enforces."""
    conf = settings.PLAYGROUND
    return Limits(max_objects=conf["MAX_OBJECTS"], max_pods=conf["MAX_PODS"], max_replicas=conf["MAX_REPLICAS"])


def max_request_bytes() -> int:
    """The largest request body, and so the largest editor file or validated text."""
    return settings.PLAYGROUND["MAX_REQUEST_BYTES"]


def api_server_url(server: str | None = None) -> str:
    """The API's URL for kubeconfigs: `server` if given, else the configured or first public host."""
    conf = settings.PLAYGROUND
    if server:
        return server.rstrip("/")
    if conf["API_SERVER_URL"]:
        return conf["API_SERVER_URL"].rstrip("/")
    host = conf["PUBLIC_HOSTS"][0] if conf["PUBLIC_HOSTS"] else "127.0.0.1"
    return f"https://{host}:{conf['API_PORT']}"


def stop_idle_after() -> float:
    """Seconds without activity after which a cluster is stopped (0: never)."""
    return float(settings.PLAYGROUND.get("STOP_IDLE_AFTER", 0) or 0)


def delete_idle_after() -> float:
    """Seconds without activity after which a cluster is deleted (0: never)."""
    return float(settings.PLAYGROUND.get("DELETE_IDLE_AFTER", 0) or 0)


def compaction_seconds() -> float:
    """How often the change logs are compacted (beat's "compaction" task, the embedded loop; 0: never)."""
    return float(settings.PLAYGROUND.get("COMPACTION_SECONDS", 300) or 0)


def retention_seconds() -> float:
    """How often the retention rule is applied (beat's "retention" task, the embedded loop)."""
    return float(settings.PLAYGROUND.get("RETENTION_SECONDS", 60) or 60)


@functools.cache
def database_threads() -> dict:
    """How the consumers (the pages' live sockets) run their database work: `database_sync_to_async(fn,
    **database_threads())`. With PostgreSQL (classroom mode) in the thread pool, not on Channels' one shared
    thread, where a class's pages queued one behind the other (bench/classroom.py: at 200 learners most
    pages had no snapshot within two minutes); each socket's own work is serialised by its lock. SQLite
    (embedded mode, one learner or a few) keeps the one thread: its connections in other threads would
    contend for its locks."""
    return {"thread_sensitive": settings.DATABASES["default"]["ENGINE"].endswith("sqlite3")}


def pool_database_connections() -> bool:
    """Make this process take its PostgreSQL connections from one pool (settings.DB_POOL), before it opens
    any: `serve` calls it. Whether it did (not with SQLite, nor with DB_POOL_SIZE=0).

    Under ASGI each request runs in a thread of its own, and so does each open watch and `logs -f`: with a
    connection per thread, every API request opened a PostgreSQL connection and every watch held one while
    open (a class of 40 learners ran out of PostgreSQL's default 100 connections). Pooled, Django hands the
    connection back when a request ends, and the watches, log streams and pages' sockets after each read.
    Celery's pool processes keep their one connection each (DB_CONN_MAX_AGE, playground/celery.py): they
    run a task at a time, so a pool would hold the same one."""
    database = settings.DATABASES["default"]
    size = settings.DB_POOL["max_size"]
    if size <= 0 or not database["ENGINE"].endswith("postgresql"):
        return False
    database["CONN_MAX_AGE"] = 0   # the pool keeps them open; Django's own reuse and a pool exclude each other
    # The pool checks a connection before lending it with pool_check, not with Django's check (a round trip
    # every time). Django passes the pool its `check` itself, None without health checks: the pool is made
    # now (Django opens it at the first query) and given ours.
    database["CONN_HEALTH_CHECKS"] = False
    database.setdefault("OPTIONS", {})["pool"] = {"min_size": min(2, size), "max_size": size, "max_idle": 60,
                                                  "timeout": settings.DB_POOL["timeout"]}
    from django.db import connections
    connections["default"].pool._check = pool_check
    return True


POOL_CHECK_AFTER_SECONDS = 1.0


def pool_check(connection) -> None:
    """Before the pool lends a connection: a round trip to see that it still works (psycopg_pool's
    check_connection, which raises if not: the pool then replaces it), unless it was lent less than
    POOL_CHECK_AFTER_SECONDS ago (and so used then).

    Django's own check made that round trip before every request's and every socket read's first query, for
    a connection that had just answered. One that served a moment ago and then broke (PostgreSQL restarted in
    between) fails its next query instead: that request is answered 503, as those during the outage are, and
    the pool drops the connection when it comes back broken. (The time is noted here, not when the
    connection comes back: a `reset` callback would make the pool take every connection back through its
    worker thread.)"""
    now = time.monotonic()
    lent = getattr(connection, "_playground_lent", None)
    connection._playground_lent = now
    if lent is not None and now - lent < POOL_CHECK_AFTER_SECONDS:
        return
    from psycopg_pool import ConnectionPool
    ConnectionPool.check_connection(connection)


def database_pooled() -> bool:
    """Whether this process takes its connections from a pool (pool_database_connections)."""
    return bool(settings.DATABASES["default"].get("OPTIONS", {}).get("pool"))
