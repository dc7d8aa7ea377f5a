"""The Celery app: reconcile loops per cluster run here (classroom mode: REDIS_URL set)."""
import os

from celery import Celery
from celery.signals import task_postrun, worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")

# The reconcile and sweep tasks live in the engine runner's room, not in an app's tasks.py.
app = Celery("playground", include=["clusters.sim.tasks"])
app.config_from_object("django.conf:settings", namespace="CELERY")


@task_postrun.connect
def _connections_as_django_keeps_them(**_) -> None:
    """After each task, what Django does after each request: the connection is closed if it broke or is
    older than DB_CONN_MAX_AGE, else the next task reuses it (settings.CELERY_DB_REUSE_MAX)."""
    from django.db import close_old_connections

    close_old_connections()


@worker_init.connect
def _collect_rarely(**_) -> None:
    """In the worker's main process, before it forks its pool: the children inherit the settings, and the
    frozen objects' pages stay shared with them (playground/gc_tuning.py)."""
    from playground.gc_tuning import tune_garbage_collector

    tune_garbage_collector()
