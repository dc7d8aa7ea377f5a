"""The only writers: create/reset/delete clusters, issue tokens, run API operations in a transaction.

Views, consumers, tasks and management commands parse their input and call one
of these. An API operation runs the apiserver pipeline over a DbStore inside one
transaction: if the pipeline raises (a Status error), nothing is written.
"""
from __future__ import annotations

import base64
import functools
import json
import secrets
import time
import uuid
from collections.abc import Callable
from typing import TypeVar

import yaml
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from . import notify
from .apiserver.bootstrap import cluster_objects
from .apiserver.errors import ApiError
from .apiserver.pipeline import ApiServer, Limits
from .models import ApiObject, Change, Cluster, ClusterToken, _new_seed, hash_token
from .runner import request_reconcile
from .storage import DbStore, in_transaction
from .tls import ensure_serving_files

T = TypeVar("T")
DEFAULT_WORKERS = 2
MAX_WORKERS = 10
MIN_SPEED, MAX_SPEED = 1.0, 60.0
TRIGGER_GRACE_SECONDS = 2.0


class ClusterError(ValueError):
    """A request about clusters that cannot be honoured (duplicate name, bad size, …)."""


@functools.cache
def serving_files():
    """The CA and serving certificate (made once per process: the settings do not change)."""
    conf = settings.PLAYGROUND
    return ensure_serving_files(conf["CA_DIR"], conf["PUBLIC_HOSTS"])


@functools.cache
def ca_pem() -> str:
    return serving_files().ca_pem()


def limits() -> Limits:
    conf = settings.PLAYGROUND
    return Limits(max_objects=conf["MAX_OBJECTS"], max_pods=conf["MAX_PODS"], max_replicas=conf["MAX_REPLICAS"])


def _validate_cluster_name(name: str) -> None:
    import re

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


def token_cluster_id(token: str) -> uuid.UUID | None:
    """The id of the cluster a bearer token opens, or None for an unknown or malformed token."""
    if not token or len(token) > 200 or not token.isascii():
        return None
    return ClusterToken.objects.filter(token_hash=hash_token(token)).values_list("cluster_id", flat=True).first()


def api_server_url(server: str | None = None) -> str:
    conf = settings.PLAYGROUND
    if server:
        return server.rstrip("/")
    if conf["API_SERVER_URL"]:
        return conf["API_SERVER_URL"].rstrip("/")
    host = conf["PUBLIC_HOSTS"][0] if conf["PUBLIC_HOSTS"] else "127.0.0.1"
    return f"https://{host}:{conf['API_PORT']}"


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


__all__ = ["ApiError", "ClusterError", "api_call", "cluster_create", "cluster_delete", "cluster_kubeconfig",
           "cluster_reset", "token_cluster_id", "token_issue", "user_get_or_create"]
