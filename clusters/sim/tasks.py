"""Celery tasks: ids in, one service call, nothing else (classroom mode, REDIS_URL set)."""
from __future__ import annotations

from celery import shared_task

from clusters.sim import reconcile


@shared_task(name="clusters.sim.reconcile", acks_late=True, ignore_result=True)
def reconcile_cluster(cluster_id: str) -> None:
    """One reconcile pass of one cluster (never one task per object)."""
    reconcile.cluster_reconcile(cluster_id)


@shared_task(name="clusters.sweep", ignore_result=True)
def sweep() -> None:
    """Hand out clusters whose next wake-up is due (run by beat every half second)."""
    for cluster_id in reconcile.clusters_due():
        reconcile_cluster.delay(cluster_id)
