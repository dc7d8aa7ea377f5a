"""The only writers: create/reset/delete clusters, issue and revoke tokens, run API operations in a
transaction, move a cluster's clock and nodes, save the editor's files.

Views, consumers, tasks and management commands parse their input and call one
of these (reads are in clusters.selectors). An API operation runs the apiserver
pipeline over a DbStore inside one transaction: if the pipeline raises (a Status
error), nothing is written. The reconcile loop (clusters.sim) is the one other
writer: it persists what the engine did, through the same store.
"""
from __future__ import annotations

import base64
import json
import re
import secrets
import time
from collections.abc import Callable
from typing import TypeVar

import yaml
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from clusters.apiserver.bootstrap import cluster_objects
from clusters.apiserver.errors import ApiError
from clusters.apiserver.pipeline import ApiServer
from clusters.config import api_server_url, ca_pem, limits, max_request_bytes
from clusters.models import (
    ApiObject,
    Change,
    Cluster,
    ClusterToken,
    ManifestFile,
    _new_seed,
    hash_token,
)
from clusters.sim.runner import request_reconcile
from clusters.store import notify
from clusters.store.database import DbStore, in_transaction

T = TypeVar("T")
DEFAULT_WORKERS = 2
MAX_WORKERS = 10
MIN_SPEED, MAX_SPEED = 1.0, 60.0
TRIGGER_GRACE_SECONDS = 2.0


class ClusterError(ValueError):
    """A request about clusters that cannot be honoured (duplicate name, bad size, …)."""


def _validate_cluster_name(name: str) -> None:
    if not re.fullmatch(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", name or ""):
        raise ClusterError(f'invalid cluster name "{name}": use lower case letters, digits and "-", '
                           "at most 63 characters, starting and ending with a letter or digit")


def cluster_create(*, owner, name: str, workers: int = DEFAULT_WORKERS, speed: float = 1.0) -> Cluster:
    """A new cluster holding what a fresh kind cluster holds, with `workers` worker nodes."""
    _validate_cluster_name(name)
    if not MIN_SPEED <= speed <= MAX_SPEED:
        raise ClusterError(f"speed must be between {MIN_SPEED:g} and {MAX_SPEED:g}, not {speed:g}")
    if not 0 <= workers <= MAX_WORKERS:
        raise ClusterError(f"a cluster has 0 to {MAX_WORKERS} worker nodes, not {workers}")
    if Cluster.objects.filter(owner=owner, name=name).exists():
        raise ClusterError(f'{owner} already has a cluster named "{name}"')
    with transaction.atomic():
        cluster = Cluster.objects.create(owner=owner, name=name, speed=speed, next_wake=time.time())
        store = DbStore(cluster)
        store.bulk_add(cluster_objects(workers=workers, now=cluster.sim_now(), seed=cluster.seed, ca_pem=ca_pem()))
        store.finish()
    request_reconcile(cluster.pk)
    return cluster


# The order a reset deletes in: pods first, then everything else, nodes and namespaces last, so that a
# watcher never sees a pod outlive its node or an object outlive its namespace.
_RESET_DELETE_ORDER = {"Pod": 0, "Node": 2, "Namespace": 3}


def _worker_count(cluster: Cluster) -> int:
    """How many workers the cluster was made with: the highest worker-N node, even if one was deleted."""
    names = ApiObject.objects.filter(cluster=cluster, kind="Node").values_list("name", flat=True)
    numbers = [int(name[7:]) for name in names if name.startswith("worker-") and name[7:].isdigit()]
    return min(max(numbers, default=0), MAX_WORKERS)


def cluster_reset(*, cluster: Cluster) -> Cluster:
    """Back to a fresh cluster's content; id, owner, name, clock and API tokens stay.

    Watchers see one consistent stream: every object is DELETED, then the fresh ones are ADDED, at
    increasing resourceVersions. The change log from before the reset is dropped (watches that resume
    from before it get 410 Gone and relist, as after an etcd compaction). The cluster gets a new seed,
    so the fresh objects get new uids: clients that key on uids never mistake them for the old ones.
    """
    def work(store: DbStore) -> None:
        store.lock()
        current = Cluster.objects.get(pk=cluster.pk)  # the clock as it is now, under the lock
        workers = _worker_count(current)
        before = store.resource_version
        Change.objects.filter(cluster_id=cluster.pk).delete()
        Cluster.objects.filter(pk=cluster.pk).update(compacted_resource_version=before)
        objects = [json.loads(data) for data in
                   ApiObject.objects.filter(cluster_id=cluster.pk).values_list("data", flat=True)]
        objects.sort(key=lambda o: (_RESET_DELETE_ORDER.get(o["kind"], 1), o["kind"],
                                    o["metadata"].get("namespace", ""), o["metadata"]["name"]))
        for obj in objects:
            store.write(Change.DELETED, obj)
        current.seed = _new_seed()
        Cluster.objects.filter(pk=cluster.pk).update(seed=current.seed, next_wake=time.time())
        store.bulk_add(cluster_objects(workers=workers, now=current.sim_now(), seed=current.seed, ca_pem=ca_pem()))

    def committed(rv: int) -> None:
        notify.cluster_changed(cluster.pk, rv)
        request_reconcile(cluster.pk)

    in_transaction(cluster, work, committed)
    cluster.refresh_from_db()
    return cluster


def cluster_delete(*, cluster: Cluster) -> None:
    cluster.delete()


def user_get_or_create(*, username: str):
    """The user of that name; a new one has an unusable password (they log in once one is set)."""
    users = get_user_model().objects
    return users.filter(username=username).first() or users.create_user(username=username)


def token_issue(*, cluster: Cluster) -> str:
    """A new bearer token for the cluster's API (shown once; only its hash is kept)."""
    token = f"kpg_{secrets.token_urlsafe(32)}"
    ClusterToken.objects.create(cluster=cluster, token_hash=hash_token(token))
    return token


def token_revoke(*, token: str) -> None:
    """Forget a bearer token: the API answers 401 to it from now on."""
    ClusterToken.objects.filter(token_hash=hash_token(token)).delete()


def cluster_kubeconfig(*, cluster: Cluster, server: str | None = None) -> str:
    """A kubeconfig for the cluster with the playground CA and a new bearer token."""
    context = f"playground-{cluster.name}"
    user = f"{cluster.owner.username}@{cluster.name}"
    config = {
        "apiVersion": "v1", "kind": "Config", "preferences": {},
        "clusters": [{"name": context, "cluster": {
            "server": f"{api_server_url(server)}/clusters/{cluster.pk}",
            "certificate-authority-data": base64.b64encode(ca_pem().encode()).decode(),
        }}],
        "users": [{"name": user, "user": {"token": token_issue(cluster=cluster)}}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": user, "namespace": "default"}}],
        "current-context": context,
    }
    return yaml.safe_dump(config, sort_keys=False)


def api_call(*, cluster: Cluster, operation: Callable[[ApiServer], T]) -> T:
    """Run one API operation in one transaction; publish the change after it commits.

    An ApiError raised by the operation rolls back everything it wrote.
    """
    def work(store: DbStore) -> T:
        server = ApiServer(store, now=cluster.sim_now(), limits=limits(), seed=cluster.seed, ca_pem=ca_pem(),
                           graceful_pod_deletion=True)
        result = operation(server)
        if store.written:
            # The safety net: if the trigger below is lost, the sweeper runs the cluster soon anyway.
            Cluster.objects.filter(pk=cluster.pk).update(next_wake=time.time() + TRIGGER_GRACE_SECONDS)
        return result

    def committed(rv: int) -> None:
        notify.cluster_changed(cluster.pk, rv)
        request_reconcile(cluster.pk)

    return in_transaction(cluster, work, committed)  # type: ignore[return-value]


def cluster_clock(*, cluster: Cluster, speed: float | None = None, pause: bool = False, resume: bool = False,
                  advance: float = 0.0) -> Cluster:
    """Change a cluster's simulated clock: speed (1×–60×), pause/resume, or jump ahead."""
    if speed is not None and not MIN_SPEED <= speed <= MAX_SPEED:
        raise ClusterError(f"speed must be between {MIN_SPEED:g} and {MAX_SPEED:g}, not {speed:g}")
    if advance < 0:
        raise ClusterError("the clock only moves forward")
    with transaction.atomic():
        locked = Cluster.objects.select_for_update().get(pk=cluster.pk)
        wall = time.time()
        locked.sim_base = locked.sim_now(wall) + advance  # re-base: what already elapsed is kept
        locked.wall_base = wall
        if speed is not None:
            locked.speed = speed
        if pause:
            locked.paused = True
        if resume:
            locked.paused = False
        locked.next_wake = wall  # timers move with the clock: recompute them now
        locked.save(update_fields=["sim_base", "wall_base", "speed", "paused", "next_wake"])
    notify.controls_changed(cluster.pk)
    request_reconcile(cluster.pk)
    return locked


def node_set_failed(*, cluster: Cluster, node: str, failed: bool) -> None:
    """Make a node's kubelet stop (or resume) posting status, as if the machine went away."""
    with transaction.atomic():
        Cluster.objects.select_for_update().get(pk=cluster.pk)
        row = ApiObject.objects.filter(cluster=cluster, kind="Node", namespace="", name=node).first()
        if row is None:
            raise ClusterError(f'node "{node}" not found')
        notes = json.loads(row.sim)
        notes["failed"] = failed
        row.sim = json.dumps(notes)
        row.save(update_fields=["sim"])
        Cluster.objects.filter(pk=cluster.pk).update(next_wake=time.time())
    notify.controls_changed(cluster.pk)
    request_reconcile(cluster.pk)


# ============================================================================ the editor's files

MAX_FILES = 20
# No slashes, no leading dot: a file name is also a file in the terminal's sandbox (clusters/terminal).
FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


class FileError(ValueError):
    """A file request that cannot be honoured (bad name, too many files, too big); `str()` says why."""


def _check_file(name: str, text) -> None:
    if not isinstance(name, str) or not FILE_NAME.fullmatch(name):
        raise FileError(f'invalid file name "{name}": use letters, digits, ".", "_" and "-", at most 100 '
                        f"characters, starting with a letter or digit")
    if not isinstance(text, str):
        raise FileError('the file\'s "text" must be a string')
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > max_request_bytes():
        raise FileError(f'file "{name}" is too large: {size} bytes, the limit is {max_request_bytes()} bytes '
                        f"(the cluster's request size limit)")


def file_save(*, cluster: Cluster, name: str, text: str) -> tuple[ManifestFile, bool]:
    """Create or replace a file; a new file becomes the last tab. Returns (file, created)."""
    _check_file(name, text)
    try:
        with transaction.atomic():
            # The cluster row's lock serializes saves, so "at most MAX_FILES" and positions hold
            # even when two tabs save at once.
            Cluster.objects.select_for_update().only("pk").get(pk=cluster.pk)
            existing = ManifestFile.objects.filter(cluster=cluster, name=name).first()
            if existing is not None:
                existing.text = text
                existing.save(update_fields=["text", "updated"])
                return existing, False
            files = ManifestFile.objects.filter(cluster=cluster)
            if files.count() >= MAX_FILES:
                raise FileError(f'cannot create file "{name}": a cluster keeps at most {MAX_FILES} files; '
                                f"delete one first")
            last = files.order_by("-position").values_list("position", flat=True).first()
            created = ManifestFile.objects.create(cluster=cluster, name=name, text=text,
                                                  position=0 if last is None else last + 1)
            return created, True
    except IntegrityError:  # pragma: no cover - the lock above makes this a lost race with a delete
        raise FileError(f'file "{name}" changed while saving; try again') from None


def file_delete(*, cluster: Cluster, name: str) -> bool:
    """Delete a file; False when there was none of that name."""
    deleted, _ = ManifestFile.objects.filter(cluster=cluster, name=name).delete()
    return bool(deleted)


__all__ = ["ApiError", "ClusterError", "FileError", "api_call", "cluster_clock", "cluster_create", "cluster_delete",
           "cluster_kubeconfig", "cluster_reset", "file_delete", "file_save", "node_set_failed", "token_issue",
           "token_revoke", "user_get_or_create"]
