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
import contextlib
import json
import re
import secrets
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import yaml
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import F

from clusters.apiserver import errors
from clusters.apiserver.bootstrap import cluster_objects
from clusters.apiserver.decode import load_manifests
from clusters.apiserver.errors import ApiError
from clusters.apiserver.kubectl_apply import KUBECTL_APPLY_MANAGER, annotated
from clusters.apiserver.pipeline import ApiServer
from clusters.apiserver.registry import by_gvk, storage_type
from clusters.config import api_server_url, ca_pem, limits, max_request_bytes
from clusters.engine import jsontext
from clusters.models import (
    ApiObject,
    Change,
    Cluster,
    ClusterToken,
    ManifestFile,
    TerminalCommand,
    _new_seed,
    hash_token,
)
from clusters.sim.reconcile import BOOT_SECONDS, cluster_boot
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


def cluster_create(*, owner, name: str, workers: int = DEFAULT_WORKERS, speed: float = 1.0,
                   booted: bool = True) -> Cluster:
    """A new cluster holding what a fresh kind cluster holds, with `workers` worker nodes. `booted=False`: the
    objects as bootstrap makes them, before any control loop ran (no system pod started yet: tests)."""
    _validate_cluster_name(name)
    if not MIN_SPEED <= speed <= MAX_SPEED:
        raise ClusterError(f"speed must be between {MIN_SPEED:g} and {MAX_SPEED:g}, not {speed:g}")
    if not 0 <= workers <= MAX_WORKERS:
        raise ClusterError(f"a cluster has 0 to {MAX_WORKERS} worker nodes, not {workers}")
    if Cluster.objects.filter(owner=owner, name=name).exists():
        raise ClusterError(f'{owner} already has a cluster named "{name}"')
    cluster = Cluster(owner=owner, name=name, speed=speed, next_wake=time.time())
    if booted:   # before the transaction
        objects, notes = _booted(workers=workers, now=cluster.sim_now(), seed=cluster.seed)
    else:
        objects, notes = cluster_objects(workers=workers, now=cluster.sim_now(), seed=cluster.seed,
                                         ca_pem=ca_pem()), {}
    with transaction.atomic():
        cluster.save(force_insert=True)
        store = DbStore(cluster)
        store.bulk_add(objects, notes)
        store.finish()
    request_reconcile(cluster.pk)
    return cluster


def _booted(*, workers: int, now: float, seed: int) -> tuple[list[dict], dict[str, dict]]:
    """A fresh cluster's objects and notes, as `kind create cluster` leaves one: made BOOT_SECONDS before `now`
    and booted (nodes Ready, the system pods running), so the page shows it ready at once."""
    start = now - BOOT_SECONDS
    return cluster_boot(cluster_objects(workers=workers, now=start, seed=seed, ca_pem=ca_pem()), seed=seed,
                        start=start, until=now)


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
        objects = [jsontext.loads(data) for data in
                   ApiObject.objects.filter(cluster_id=cluster.pk).values_list("data", flat=True)]
        objects.sort(key=lambda o: (_RESET_DELETE_ORDER.get(o["kind"], 1), o["kind"],
                                    o["metadata"].get("namespace", ""), o["metadata"]["name"]))
        for obj in objects:
            store.write(Change.DELETED, obj)
        current.seed = _new_seed()
        Cluster.objects.filter(pk=cluster.pk).update(seed=current.seed, next_wake=time.time())
        store.bulk_add(*_booted(workers=workers, now=current.sim_now(), seed=current.seed))

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
    return yaml.safe_dump(cluster_kubeconfig_document(cluster=cluster, server=server), sort_keys=False)


def cluster_kubeconfig_document(*, cluster: Cluster, server: str | None = None) -> dict:
    """cluster_kubeconfig's document, not yet written out (the terminal writes it as JSON, which kubectl
    reads as well: PyYAML's pure-Python emitter and parser cost a terminal's start more than the rest)."""
    context = f"playground-{cluster.name}"
    user = f"{cluster.owner.username}@{cluster.name}"
    return {
        "apiVersion": "v1", "kind": "Config", "preferences": {},
        "clusters": [{"name": context, "cluster": {
            "server": f"{api_server_url(server)}/clusters/{cluster.pk}",
            "certificate-authority-data": base64.b64encode(ca_pem().encode()).decode(),
        }}],
        "users": [{"name": user, "user": {"token": token_issue(cluster=cluster)}}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": user, "namespace": "default"}}],
        "current-context": context,
    }


def api_read(*, cluster: Cluster, operation: Callable[[ApiServer], T]) -> T:
    """Run one API read (get, list) outside a transaction: one statement needs none (PostgreSQL reads each
    statement's own snapshot anyway), and BEGIN and COMMIT were two of a get's four round trips."""
    server = ApiServer(DbStore(cluster), now=cluster.sim_now(), limits=limits(), seed=cluster.seed, ca_pem=ca_pem(),
                       graceful_pod_deletion=True)
    return operation(server)


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
            store.finish_updates["next_wake"] = time.time() + TRIGGER_GRACE_SECONDS
        return result

    def committed(rv: int) -> None:
        into = getattr(_after_commit, "into", None)

        def publish() -> None:
            notify.cluster_changed(cluster.pk, rv)
            # The API's door authenticated the request with cluster_touch, which starts a stopped cluster.
            request_reconcile(cluster.pk, running=into is not None and cluster.stopped is None)

        if into is None:
            publish()
        else:
            into.append(publish)

    return in_transaction(cluster, work, committed)  # type: ignore[return-value]


_after_commit = threading.local()


@contextlib.contextmanager
def after_commit_into(callbacks: list[Callable[[], None]]):
    """Within it, api_call does not publish its committed change nor ask for a reconcile pass itself: it puts
    that work in `callbacks`, for the caller to run once it has answered (the API's door: clusters/kubeapi)."""
    previous = getattr(_after_commit, "into", None)
    _after_commit.into = callbacks
    try:
        yield
    finally:
        _after_commit.into = previous


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
        locked = Cluster.objects.select_for_update().get(pk=cluster.pk)
        row = ApiObject.objects.filter(cluster=cluster, kind="Node", namespace="", name=node).first()
        if row is None:
            raise ClusterError(f'node "{node}" not found')
        notes = jsontext.loads(row.sim)
        notes["failed"] = failed
        row.sim = json.dumps(notes)
        row.notes_version = locked.notes_version + 1   # as DbStore stamps the notes it writes
        row.save(update_fields=["sim", "notes_version"])
        # notes_version: a reconcile pass that read the cluster before this must not commit over it
        Cluster.objects.filter(pk=cluster.pk).update(next_wake=time.time(), notes_version=F("notes_version") + 1)
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


__all__ = ["ApiError", "ClusterError", "FileError", "api_call", "api_read", "cluster_clock", "cluster_create",
           "cluster_delete", "cluster_kubeconfig", "cluster_kubeconfig_document", "cluster_reset", "file_delete",
           "file_save", "node_set_failed", "token_issue", "token_revoke", "user_get_or_create"]


# ====================================================================== the terminal's history

TERMINAL_HISTORY = 500      # lines kept per cluster (the oldest go first)
TERMINAL_OUTPUT = 4000      # characters of a line's output kept


def terminal_record(*, cluster: Cluster, line: str, exit_code: int | None, output: str) -> TerminalCommand:
    """Keep a line the browser terminal ran (exit_code None: refused) and tell the cluster's group."""
    entry = TerminalCommand.objects.create(cluster=cluster, line=line[:4096], exit_code=exit_code,
                                           output=output[:TERMINAL_OUTPUT])
    stale = TerminalCommand.objects.filter(cluster=cluster).order_by("-at", "-id")[
        TERMINAL_HISTORY:TERMINAL_HISTORY + 50]
    if stale:
        TerminalCommand.objects.filter(pk__in=[row.pk for row in stale]).delete()
    notify.terminal_ran(cluster.pk, entry.pk)
    return entry


# ================================================================= objects made for the learner

def manifests_apply(*, cluster: Cluster, text: str) -> list[str]:
    """Create every object of a manifest text as `kubectl apply -f` creates new ones (with its
    last-applied annotation, so the learner's own apply of the same file patches it cleanly), in one
    transaction: all or nothing. Returns "kind/name" of each; raises ApiError (the API's message)."""
    manifests = load_manifests(text, max_bytes=max_request_bytes())

    def create_all(server: ApiServer) -> list[str]:
        made = []
        for manifest in manifests:
            obj = manifest.obj
            rt = by_gvk(str(obj.get("apiVersion", "")), str(obj.get("kind", "")))
            if rt is None:
                raise errors.bad_request(f'no kind "{obj.get("kind")}" is registered for version '
                                         f'"{obj.get("apiVersion")}"')
            namespace = ((obj.get("metadata") or {}).get("namespace") or "default") if rt.namespaced else ""
            result = server.create(rt, namespace, annotated(obj), field_validation="Strict",
                                   field_manager=KUBECTL_APPLY_MANAGER)
            made.append(f'{rt.kind.lower()}/{result.body["metadata"]["name"]}')
        return made

    return api_call(cluster=cluster, operation=create_all)


def object_merge_patch(*, cluster: Cluster, kind: str, namespace: str, name: str, patch: dict) -> None:
    """A JSON merge patch of one object, as `kubectl patch --type=merge` sends it."""
    rt = storage_type(kind)
    api_call(cluster=cluster, operation=lambda server: server.patch(
        rt, namespace if rt.namespaced else "", name, patch, "merge", field_manager="kubectl-patch"))


def files_replace(*, cluster: Cluster, files: list[tuple[str, str]]) -> None:
    """The editor holds exactly these files (a lesson's starting point)."""
    for name, text in files:
        _check_file(name, text)
    with transaction.atomic():
        ManifestFile.objects.filter(cluster=cluster).delete()
        ManifestFile.objects.bulk_create([ManifestFile(cluster=cluster, name=name, text=text, position=i)
                                          for i, (name, text) in enumerate(files)])


# ============================================= retention: last activity, stopped clusters, purge
# The rule and what "stopped" means for the clock are in clusters/sim/runner.py (the sweeper and the
# Celery task apply it there too); these are the doors' and operators' entries.

ACTIVITY_EVERY_SECONDS = 60   # last_activity is written at most this often per cluster


def cluster_touch(*, cluster: Cluster | None) -> None:
    """The learner used the cluster (an API request with its token, the page's feed, the terminal): note it,
    at most once a minute (usually no query at all), and start it if retention stopped it. `cluster` (a row
    just read) is updated in place, its clock included, so the caller serves it as it now is."""
    from datetime import timedelta

    from django.utils import timezone

    from clusters.sim import runner

    if cluster is None:   # the door refuses the request itself
        return
    now = timezone.now()
    every = timedelta(seconds=ACTIVITY_EVERY_SECONDS)
    if cluster.stopped is None:
        if cluster.last_activity is not None and now - cluster.last_activity < every:
            return
        rows = Cluster.objects.filter(pk=cluster.pk, stopped__isnull=True, last_activity__lt=now - every)
        if rows.update(last_activity=now) or not runner.stopped_among([cluster.pk]):
            cluster.last_activity = now   # noted (here or by another request within the minute)
            return
    started = runner.cluster_start(cluster.pk)   # stopped, maybe just now by the retention sweep
    if started is not None:
        for name in ("sim_base", "wall_base", "paused", "stopped", "stopped_clock_running", "last_activity",
                     "next_wake"):
            setattr(cluster, name, getattr(started, name))


def cluster_stop(*, cluster: Cluster) -> bool:
    """Stop a cluster now, as retention does to an idle one: no reconcile passes, its clock frozen, until its
    learner's next use. False when it was already stopped (or is gone)."""
    from clusters.sim import runner

    return runner.cluster_stop(cluster.pk)


def cluster_start(*, cluster: Cluster) -> Cluster | None:
    """Start a stopped cluster (its clock goes on from where it stood); a running one is left as it is."""
    from clusters.sim import runner

    return runner.cluster_start(cluster.pk)


def clusters_purge(*, dry_run: bool = False):
    """Apply the retention rule now: stop clusters idle past PLAYGROUND_STOP_IDLE_AFTER, delete those idle
    past PLAYGROUND_DELETE_IDLE_AFTER. Returns what it did (`.stopped`, `.deleted`: cluster rows); a dry
    run changes nothing and returns what it would do."""
    from clusters.sim import runner

    return runner.clusters_retire(dry_run=dry_run)
