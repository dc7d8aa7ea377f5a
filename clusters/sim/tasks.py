"""Celery tasks: ids in, one service call (classroom mode, REDIS_URL set).

One worker process at a time runs a given cluster. Every API write asks for a pass, and a worker has several
processes: two of them reconciling one cluster at once each threw the other's pass away (a commit moves what
the other read, clusters/sim/reconcile.py), loaded the whole cluster again because the state it kept was the
older one, and after OPTIMISTIC_TRIES stepped under the row lock, holding the API's writes behind a whole
step. So a task first notes that a pass is wanted, then takes the cluster's ownership in Redis; if another
process owns it the task ends at once, and the owner, before it lets go, runs passes as long as one is
wanted. The ownership expires after the lease (PLAYGROUND_LEASE_SECONDS) when its process died, and it only
saves work: the passes' optimistic commits keep every write correct whoever runs them.
"""
from __future__ import annotations

import logging
import os
import uuid

from celery import shared_task
from django.conf import settings

from clusters.sim import reconcile, runner
from clusters.store.compaction import compact_change_logs

log = logging.getLogger(__name__)

# Deletes the ownership only if it is still ours (it may have expired and been taken by another process).
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"
_redis: tuple[int, object] | None = None


def _client():
    """This process's Redis client (made after the fork: Celery's pool processes must not share sockets)."""
    global _redis
    if _redis is None or _redis[0] != os.getpid():
        import redis

        _redis = (os.getpid(), redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5))
    return _redis[1]


@shared_task(name="clusters.sim.reconcile", acks_late=True, ignore_result=True)
def reconcile_cluster(cluster_id: str) -> None:
    """Reconcile passes of one cluster (never one task per object), unless another process is running it."""
    try:
        client = _client()
        wanted, owner = f"reconcile:{cluster_id}:wanted", f"reconcile:{cluster_id}:owner"
        lease_ms = int(settings.PLAYGROUND.get("LEASE_SECONDS", reconcile.LEASE_SECONDS) * 1000)
        # Owned for half the sweeper's lease from the last pass started: a dead owner's cluster is free again
        # by the time the sweeper hands it out anew. A pass longer than that lets a second process in: slower,
        # never wrong.
        owned_ms = max(1000, lease_ms // 2)
        token = uuid.uuid4().hex
        with client.pipeline() as pipe:   # one round trip: wanted, then the ownership if nobody has it
            pipe.set(wanted, 1, px=max(60_000, 2 * lease_ms)).set(owner, token, nx=True, px=owned_ms)
            owned = pipe.execute()[1]
    except Exception:   # Redis unreachable after all: run the pass, as every task once did
        log.warning("no reconcile ownership for cluster %s: Redis failed", cluster_id, exc_info=True)
        reconcile.cluster_reconcile(cluster_id)
        return
    while owned:
        try:
            while client.getdel(wanted):
                client.pexpire(owner, owned_ms)
                reconcile.cluster_reconcile(cluster_id)
        finally:
            client.eval(_RELEASE, 1, owner, token)
        # A pass asked for between the last look and the release: its task found the cluster owned.
        owned = client.exists(wanted) and client.set(owner, token, nx=True, px=owned_ms)


@shared_task(name="clusters.sweep", ignore_result=True)
def sweep() -> None:
    """Hand out clusters whose next wake-up is due (run by beat every half second)."""
    for cluster_id in runner.skip_stopped(reconcile.clusters_due()):
        reconcile_cluster.delay(cluster_id)


@shared_task(name="clusters.compaction", ignore_result=True)
def compaction() -> None:
    """etcd compaction of the change logs (run by beat every PLAYGROUND_COMPACTION_INTERVAL)."""
    compact_change_logs()


@shared_task(name="clusters.retention", ignore_result=True)
def retention() -> None:
    """Stop idle clusters and delete long-idle ones (run by beat every PLAYGROUND_RETENTION_SECONDS)."""
    runner.clusters_retire()
