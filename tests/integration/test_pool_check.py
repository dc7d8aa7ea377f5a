"""The check `serve`'s connection pool makes before it lends a PostgreSQL connection
(clusters/config.py pool_check): a round trip for one that has been idle, none for one lent a moment ago."""
from __future__ import annotations

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from clusters import config

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


@pytest.fixture
def pool():
    pool = ConnectionPool(ADMIN, min_size=1, max_size=1, check=config.pool_check,
                          kwargs={"autocommit": True}, open=True, timeout=5)
    try:
        yield pool
    finally:
        pool.close()


def _backend_pid(pool) -> int:
    with pool.connection() as conn:
        return conn.info.backend_pid


def _terminate(pid: int) -> None:
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(%s)", (pid,))


def test_a_connection_lent_a_moment_ago_is_lent_again_without_a_round_trip(pool):
    pid = _backend_pid(pool)
    _terminate(pid)    # behind the pool's back, right after the connection was used
    with pytest.raises(psycopg.OperationalError):
        with pool.connection() as conn:    # not checked: the request's own query finds it broken
            conn.execute("SELECT 1")
    # The pool dropped the broken one when it came back: the next connection works.
    assert _backend_pid(pool) != pid


def test_a_connection_idle_for_a_while_is_checked_and_replaced_when_broken(pool):
    with pool.connection() as conn:
        pid = conn.info.backend_pid
    conn._playground_lent -= config.POOL_CHECK_AFTER_SECONDS + 1   # as if lent a while ago
    _terminate(pid)
    with pool.connection() as conn:        # checked: the broken one is replaced before it is lent
        assert conn.execute("SELECT 1").fetchone() == (1,)
        assert conn.info.backend_pid != pid
