"""Storage, like etcd: a cluster, its objects as whole JSON documents, its change log.

Nothing clever lives here. Objects are stored as JSON text (not a JSON column)
because the API reads and writes whole documents: text keeps key order and
costs one json.loads, on SQLite and PostgreSQL alike.
"""
from __future__ import annotations

import hashlib
import secrets
import time
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


def _new_seed() -> int:
    return secrets.randbelow(2**62)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _object_key(namespace: str, name: str) -> str:
    """namespace/name, or the bare name of a cluster-scoped object (the way kubectl and the logs write it)."""
    return f"{namespace}/{name}" if namespace else name


class Cluster(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="clusters")
    name = models.CharField(max_length=63)
    created = models.DateTimeField(auto_now_add=True)
    # etcd's revision: every write to any object of the cluster takes the next value.
    resource_version = models.BigIntegerField(default=1)
    # Watches from a resourceVersion at or below this get 410 Gone (the log was trimmed there).
    compacted_resource_version = models.BigIntegerField(default=0)
    # The resourceVersion at the last round of compaction (clusters/store/compaction.py): the next round
    # compacts the change log up to it.
    compaction_mark = models.BigIntegerField(default=0, db_default=0)
    # Moves with every write of the simulation's private notes (ApiObject.sim) and of a node's switch, which
    # change what a reconcile pass reads without moving resource_version: a pass commits only if neither moved
    # since it read the cluster, and a worker's kept state is valid for one (resource_version, notes_version).
    notes_version = models.BigIntegerField(default=0)
    seed = models.BigIntegerField(default=_new_seed)
    # Simulated clock: sim_now = sim_base + (wall - wall_base) * speed, frozen while paused.
    sim_base = models.FloatField(default=time.time)
    wall_base = models.FloatField(default=time.time)
    speed = models.FloatField(default=1.0)
    paused = models.BooleanField(default=False)
    # Wall-clock time (epoch seconds) when the simulation next needs to run (None: idle). The
    # sweeper enqueues clusters whose time has come.
    next_wake = models.FloatField(null=True, blank=True, db_index=True)
    # Retention (actions.clusters_retire): the learner's last use of the cluster (API requests, the page's
    # feed, the terminal), written at most once a minute; when an idle cluster was stopped (None: running)
    # and whether its clock was running then (starting it resumes the clock; a stop freezes it like a pause).
    last_activity = models.DateTimeField(default=timezone.now, db_index=True)
    stopped = models.DateTimeField(null=True, blank=True)
    stopped_clock_running = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="cluster_owner_name")]
        ordering = ["owner_id", "name"]

    def __str__(self) -> str:
        return f"{self.owner} / {self.name}"

    def wall_time(self, sim: float) -> float | None:
        """The wall-clock instant at which simulated time reaches `sim` (None while paused)."""
        if self.paused:
            return None
        return self.wall_base + (sim - self.sim_base) / self.speed

    def sim_now(self, wall: float | None = None) -> float:
        """The cluster's simulated time, in seconds since the epoch."""
        if self.paused:
            return self.sim_base
        wall = time.time() if wall is None else wall
        return self.sim_base + (wall - self.wall_base) * self.speed

    def served_offset(self, wall: float | None = None) -> float:
        """sim_now - wall, in whole seconds: how far the API moves the times it serves back (and those
        it receives forward) so that the cluster's now, as served, is the wall clock
        (clusters/apiserver/served_time.py). 0 for a clock never sped up, advanced or paused."""
        wall = time.time() if wall is None else wall
        return float(round(self.sim_now(wall) - wall))


class ClusterToken(models.Model):
    """A bearer token for one cluster's API; shown once (in a kubeconfig), kept only as a hash."""

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"token of cluster {self.cluster.name}"


class ApiObject(models.Model):
    """One Kubernetes object of one cluster, in its storage version (the group's preferred one)."""

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="api_objects")
    kind = models.CharField(max_length=63)
    namespace = models.CharField(max_length=63, blank=True, default="")
    name = models.CharField(max_length=253)
    uid = models.UUIDField()
    resource_version = models.BigIntegerField()
    data = models.TextField()  # the whole object as JSON
    # The simulation's private notes about this object (engine state.sim): never served by the API.
    sim = models.TextField(default="{}")
    # The cluster's notes_version that the write of `sim` moved it to (0: not written since the object was
    # created): a worker's kept state reads only the notes written since its own (clusters/sim/reconcile.py).
    notes_version = models.BigIntegerField(default=0, db_default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["cluster", "kind", "namespace", "name"], name="object_key"),
        ]
        indexes = [models.Index(fields=["cluster", "kind", "namespace"], name="object_kind_ns")]

    def __str__(self) -> str:
        return f"{self.kind} {_object_key(self.namespace, self.name)}"


class Change(models.Model):
    """The watch log: one row per write, trimmed to the newest N per cluster (etcd compaction)."""

    ADDED, MODIFIED, DELETED = "ADDED", "MODIFIED", "DELETED"

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="changes")
    resource_version = models.BigIntegerField()
    type = models.CharField(max_length=8)
    kind = models.CharField(max_length=63)
    namespace = models.CharField(max_length=63, blank=True, default="")
    name = models.CharField(max_length=253)
    data = models.TextField()  # the object after the write (before it, for DELETED)

    class Meta:
        indexes = [models.Index(fields=["cluster", "resource_version"], name="change_cluster_rv")]

    def __str__(self) -> str:
        return f"{self.resource_version} {self.type} {self.kind} {_object_key(self.namespace, self.name)}"


class ManifestFile(models.Model):
    """A file of the cluster page's manifest editor (one tab), kept for its learner per cluster.

    The terminal's `kubectl … -f NAME` reads these too, so the editor and kubectl share one set of files.
    """

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="files")
    name = models.CharField(max_length=100)
    text = models.TextField(blank=True, default="")
    position = models.PositiveIntegerField(default=0)  # the tab order
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["cluster", "name"], name="file_name")]
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return f"{self.cluster.name}/{self.name}"


class TerminalCommand(models.Model):
    """A line run in the cluster's browser terminal, with how it ended and the start of its output.

    Kept per cluster (the newest TERMINAL_HISTORY): lessons check "a command was run" on it, and it is
    the learner's terminal history an instructor can read.
    """

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="terminal_commands")
    at = models.DateTimeField(auto_now_add=True)
    line = models.TextField()
    exit_code = models.IntegerField(null=True)   # None: refused or killed before it ran
    output = models.TextField(blank=True, default="")   # the first TERMINAL_OUTPUT characters

    class Meta:
        indexes = [models.Index(fields=["cluster", "at"], name="terminal_cluster_at")]
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.cluster.name}: {self.line[:60]}"
