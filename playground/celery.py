"""The Celery app: reconcile loops per cluster run here (classroom mode: REDIS_URL set)."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")

# The reconcile and sweep tasks live in the engine runner's room, not in an app's tasks.py.
app = Celery("playground", include=["clusters.sim.tasks"])
app.config_from_object("django.conf:settings", namespace="CELERY")
