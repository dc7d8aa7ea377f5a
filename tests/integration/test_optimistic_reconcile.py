"""Reconcile passes step without the cluster's lock and commit only if nothing they read moved
(clusters/sim/reconcile.py), and a worker keeps each cluster's state between passes.

Each writer that can come between a pass's read and its commit is made to write in the middle of the
pass's stepping (the engine's step is wrapped): an API write, a node's switch, a write of the simulation's
notes (`kubectl exec`'s path), the clock. The pass must not commit over it: it redoes its work from the new
read, and what the other writer wrote stays. These run on the test database (SQLite, or PostgreSQL with
DATABASE_URL); tests/integration/test_celery_loop.py and test_concurrent_writes.py run the real worker.
"""
from __future__ import annotations

import copy
import gc
import json

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clusters import actions
from clusters.apiserver import registry
from clusters.engine.state import ClusterState, object_text
from clusters.models import ApiObject, Change, Cluster
from clusters.sim import reconcile
from clusters.store.database import DbStore, dumps, in_transaction

pytestmark = pytest.mark.django_db(transaction=True)   # no test-wide transaction: passes commit for real


@pytest.fixture(autouse=True)
def fresh_cache():
    reconcile.forget_states()
    yield
    reconcile.forget_states()


@pytest.fixture
def cluster() -> Cluster:
    owner = get_user_model().objects.create_user("olga")
    created = actions.cluster_create(owner=owner, name="busy", workers=1)
    settle(created)
    return Cluster.objects.get(pk=created.pk)


def settle(cluster: Cluster) -> None:
    for _ in range(10):
        report = reconcile.cluster_reconcile(cluster.pk)
        if not report.changes and not report.sim_changes:
            return


def configmap(cluster: Cluster, name: str) -> None:
    actions.api_call(cluster=Cluster.objects.get(pk=cluster.pk), operation=lambda api: api.create(
        registry.by_path("", "v1", "configmaps"), "default", {"metadata": {"name": name}, "data": {"k": "v"}}))


def deployment(cluster: Cluster, name: str, replicas: int) -> None:
    actions.api_call(cluster=Cluster.objects.get(pk=cluster.pk), operation=lambda api: api.create(
        registry.by_path("apps", "v1", "deployments"), "default",
        {"metadata": {"name": name}, "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                                              "template": {"metadata": {"labels": {"app": name}}, "spec": {
                                                  "containers": [{"name": "c", "image": "nginx"}]}}}}))


def during_step(monkeypatch, write, *, times: int = 1) -> list[bool]:
    """Run `write()` inside the next `times` optimistic steps; returns, per step, whether a transaction was open."""
    real = reconcile.step
    seen: list[bool] = []

    def stepping(state, now, **options):
        in_transaction_now = connection.in_atomic_block
        seen.append(in_transaction_now)
        if not in_transaction_now and len(seen) <= times:
            write()
        return real(state, now, **options)

    monkeypatch.setattr(reconcile, "step", stepping)
    return seen


def log_is_contiguous(cluster: Cluster) -> None:
    cluster.refresh_from_db()
    rvs = list(Change.objects.filter(cluster=cluster).order_by("resource_version")
               .values_list("resource_version", flat=True))
    assert rvs == list(range(rvs[0], rvs[0] + len(rvs))) and rvs[-1] == cluster.resource_version
    for rv, data in ApiObject.objects.filter(cluster=cluster).values_list("resource_version", "data"):
        assert json.loads(data)["metadata"]["resourceVersion"] == str(rv)


def test_a_pass_steps_without_a_transaction_or_lock(cluster, monkeypatch):
    deployment(cluster, "web", 2)
    seen = during_step(monkeypatch, lambda: None)
    report = reconcile.cluster_reconcile(cluster.pk)
    assert report.changes > 0 and seen and not any(seen)


def label(cluster: Cluster, kind_path: tuple[str, str, str], name: str, value: str) -> None:
    actions.api_call(cluster=Cluster.objects.get(pk=cluster.pk), operation=lambda api: api.patch(
        registry.by_path(*kind_path), "default", name, {"metadata": {"labels": {"touched": value}}}, "merge"))


def test_an_api_write_to_another_object_during_the_step_is_committed_over(cluster, monkeypatch):
    """The pass commits what it did after the API's write (as a controller acting on its lagging cache does) and
    the next pass, from the state it kept, takes that write on: no step is thrown away."""
    deployment(cluster, "web", 2)
    during_step(monkeypatch, lambda: configmap(cluster, "meanwhile"))
    report = reconcile.cluster_reconcile(cluster.pk)
    assert report.conflicts == 0 and report.locked == 0 and report.absorbed == 1
    assert report.states[:2] == ["log", "kept"]   # the API's write was taken into the kept state
    assert ApiObject.objects.filter(cluster=cluster, kind="ConfigMap", name="meanwhile").exists()
    assert ApiObject.objects.filter(cluster=cluster, kind="Pod", namespace="default").count() == 2
    log_is_contiguous(cluster)
    kept_is_stored(cluster)
    settle(cluster)
    kept_is_stored(cluster)


def test_an_api_write_to_an_object_the_pass_writes_is_kept_and_the_pass_redone(cluster, monkeypatch):
    deployment(cluster, "web", 2)   # the pass writes the Deployment's status
    during_step(monkeypatch, lambda: label(cluster, ("apps", "v1", "deployments"), "web", "meanwhile"))
    report = reconcile.cluster_reconcile(cluster.pk)
    assert report.conflicts == 1 and report.locked == 0
    assert report.states[:2] == ["log", "loaded"]   # the stepped state was thrown away, not committed
    web = json.loads(ApiObject.objects.get(cluster=cluster, kind="Deployment", name="web").data)
    assert web["metadata"]["labels"]["touched"] == "meanwhile"
    assert ApiObject.objects.filter(cluster=cluster, kind="Pod", namespace="default").count() == 2
    log_is_contiguous(cluster)


def test_a_pass_committed_by_another_worker_during_the_step_is_not_committed_over(cluster, monkeypatch):
    """Two workers' passes over one cluster: the one that commits second redoes its work rather than create
    the Deployment's pods a second time."""
    deployment(cluster, "web", 2)

    def other_worker() -> None:
        configmap(cluster, "first")   # the other pass reads another resourceVersion, so other pod names
        reconcile.forget_states()
        reconcile.cluster_reconcile(cluster.pk)

    during_step(monkeypatch, other_worker)
    report = reconcile.cluster_reconcile(cluster.pk)
    assert report.conflicts >= 1
    assert ApiObject.objects.filter(cluster=cluster, kind="Pod", namespace="default").count() == 2
    assert ApiObject.objects.filter(cluster=cluster, kind="ReplicaSet", namespace="default").count() == 1
    log_is_contiguous(cluster)


def test_a_node_switch_during_the_step_is_not_overwritten(cluster, monkeypatch):
    deployment(cluster, "web", 1)   # so that the pass has something to commit (an idle one writes nothing)
    during_step(monkeypatch, lambda: actions.node_set_failed(cluster=cluster, node="worker-1", failed=True))
    report = reconcile.cluster_reconcile(cluster.pk)
    assert report.conflicts == 1
    node = ApiObject.objects.get(cluster=cluster, kind="Node", name="worker-1")
    assert json.loads(node.sim)["failed"] is True


def test_a_notes_write_during_the_step_is_not_overwritten(cluster, monkeypatch):
    """`kubectl exec`'s path (clusters/sim/replay.py): notes saved through the store, no resourceVersion."""
    def exec_like() -> None:
        def work(store: DbStore) -> None:
            store.lock()
            row = ApiObject.objects.get(cluster=cluster, kind="Node", name="worker-1")
            store.set_sim("Node", "", "worker-1", dumps({**json.loads(row.sim), "written": "by exec"}))
        in_transaction(Cluster.objects.get(pk=cluster.pk), work)

    before = Cluster.objects.get(pk=cluster.pk)
    deployment(cluster, "web", 1)   # so that the pass has something to commit
    during_step(monkeypatch, exec_like)
    report = reconcile.cluster_reconcile(cluster.pk)
    after = Cluster.objects.get(pk=cluster.pk)
    assert report.conflicts == 1 and after.notes_version > before.notes_version
    node = ApiObject.objects.get(cluster=cluster, kind="Node", name="worker-1")
    assert json.loads(node.sim)["written"] == "by exec"


def test_a_clock_change_during_the_step_is_not_overwritten(cluster, monkeypatch):
    deployment(cluster, "web", 1)
    during_step(monkeypatch, lambda: actions.cluster_clock(cluster=cluster, pause=True))
    report = reconcile.cluster_reconcile(cluster.pk)
    after = Cluster.objects.get(pk=cluster.pk)
    assert report.conflicts == 1
    assert after.paused and after.next_wake is None   # the redone pass ran on the paused clock


def test_a_cluster_written_during_every_step_is_reconciled_under_the_lock(cluster, monkeypatch):
    deployment(cluster, "web", 2)
    values = iter(range(100))
    seen = during_step(monkeypatch, lambda: label(cluster, ("apps", "v1", "deployments"), "web", str(next(values))),
                       times=reconcile.OPTIMISTIC_TRIES)
    report = reconcile.cluster_reconcile(cluster.pk)
    assert report.conflicts == reconcile.OPTIMISTIC_TRIES and report.locked == 1
    assert seen[reconcile.OPTIMISTIC_TRIES] is True   # the fallback stepped inside its transaction
    assert ApiObject.objects.filter(cluster=cluster, kind="Pod", namespace="default").count() == 2
    log_is_contiguous(cluster)


def test_an_idle_pass_reads_the_row_and_nothing_else(cluster):
    reconcile.cluster_reconcile(cluster.pk)
    with CaptureQueriesContext(connection) as queries:
        report = reconcile.cluster_reconcile(cluster.pk)
    assert report.states == ["kept"] and report.changes == 0
    assert len(queries) == 1, [q["sql"] for q in queries]


def test_the_apis_writes_are_taken_from_the_change_log_and_the_kept_state_is_the_stored_one(cluster):
    deployment(cluster, "web", 2)
    configmap(cluster, "one")
    report = reconcile.cluster_reconcile(cluster.pk)
    assert report.states[0] == "log"
    actions.api_call(cluster=Cluster.objects.get(pk=cluster.pk), operation=lambda api: api.delete(
        registry.by_path("", "v1", "configmaps"), "default", "one"))
    settle(cluster)
    kept_is_stored(cluster)


def kept_is_stored(cluster: Cluster) -> None:
    """The state a worker kept is what a load would give, at the cluster's resourceVersion and notes_version."""
    kept = reconcile._kept[str(cluster.pk)]
    stored = {(k, ns, n): data for k, ns, n, data in
              ApiObject.objects.filter(cluster=cluster).values_list("kind", "namespace", "name", "data")}
    assert {(o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]): object_text(o)
            for o in kept.state.all_objects()} == stored
    notes = {str(uid): json.loads(sim) for uid, sim in
             ApiObject.objects.filter(cluster=cluster).exclude(sim="{}").values_list("uid", "sim")}
    assert {uid: n for uid, n in kept.state._sims.items() if n} == notes   # types too: lists, not tuples
    cluster.refresh_from_db()
    assert (kept.resource_version, kept.notes_version) == (cluster.resource_version, cluster.notes_version)


def test_notes_written_by_others_are_read_back_from_the_rows_stamped_since(cluster):
    """A node's switch and `kubectl exec`'s notes move notes_version: the kept state takes the notes written
    since from the rows they stamped (ApiObject.notes_version), not from a whole load."""
    reconcile.cluster_reconcile(cluster.pk)
    actions.node_set_failed(cluster=cluster, node="worker-1", failed=True)
    report = reconcile.cluster_reconcile(cluster.pk)
    assert report.states[0] == "notes"
    node = ApiObject.objects.get(cluster=cluster, kind="Node", name="worker-1")
    settle(cluster)
    kept_is_stored(cluster)
    assert reconcile._kept[str(cluster.pk)].state._sims[str(node.uid)]["failed"] is True

    def exec_like(store: DbStore) -> None:
        store.lock()
        row = ApiObject.objects.get(cluster=cluster, kind="Node", name="worker-1")
        store.set_sim("Node", "", "worker-1", dumps({**json.loads(row.sim), "written": "by exec"}))
    in_transaction(Cluster.objects.get(pk=cluster.pk), exec_like)
    assert reconcile.cluster_reconcile(cluster.pk).states[0] == "notes"
    settle(cluster)
    kept_is_stored(cluster)


def test_a_state_kept_by_another_process_catches_up_with_this_ones_passes(cluster):
    """A worker's pool processes take a cluster's tasks in turn: each pass moves notes_version, and the state
    the other process kept is brought up to date from the change log and the notes stamped since."""
    reconcile.cluster_reconcile(cluster.pk)
    other_process = copy.deepcopy(reconcile._kept[str(cluster.pk)])
    deployment(cluster, "web", 3)
    settle(cluster)   # this process's passes: the ReplicaSet, its pods, their notes
    with reconcile._kept_lock:
        reconcile._kept[str(cluster.pk)] = other_process   # the next task lands on the other process
    report = reconcile.cluster_reconcile(cluster.pk)
    assert report.states[0] == "notes" and report.changes == 0   # nothing to redo: it was all done
    kept_is_stored(cluster)
    assert ApiObject.objects.filter(cluster=cluster, kind="Pod", namespace="default").count() == 3
    log_is_contiguous(cluster)


def test_a_reset_means_a_load(cluster):
    reconcile.cluster_reconcile(cluster.pk)
    actions.cluster_reset(cluster=Cluster.objects.get(pk=cluster.pk))
    assert reconcile.cluster_reconcile(cluster.pk).states[0] == "loaded"


def test_a_failed_pass_leaves_the_database_as_it_was_and_drops_the_kept_state(cluster, monkeypatch):
    reconcile.cluster_reconcile(cluster.pk)
    deployment(cluster, "web", 2)
    before = Cluster.objects.get(pk=cluster.pk)
    changes = Change.objects.filter(cluster=cluster).count()

    def killed(store, state, result):
        store.write_many([(event, obj, None) for event, obj in result.changes][:1])
        raise RuntimeError("worker killed mid-commit")

    monkeypatch.setattr(reconcile, "_persist", killed)
    with pytest.raises(RuntimeError):
        reconcile.cluster_reconcile(cluster.pk)
    after = Cluster.objects.get(pk=cluster.pk)
    assert after.resource_version == before.resource_version
    assert Change.objects.filter(cluster=cluster).count() == changes
    assert str(cluster.pk) not in reconcile.kept_states()
    monkeypatch.undo()
    report = reconcile.cluster_reconcile(cluster.pk)
    assert report.states[0] == "loaded" and report.changes > 0
    log_is_contiguous(cluster)


def test_kept_states_are_bounded(monkeypatch, cluster):
    other = actions.cluster_create(owner=cluster.owner, name="other", workers=1)
    monkeypatch.setenv("PLAYGROUND_KEEP_STATES", "1")
    reconcile.cluster_reconcile(cluster.pk)
    reconcile.cluster_reconcile(other.pk)
    assert list(reconcile.kept_states()) == [str(other.pk)]
    monkeypatch.setenv("PLAYGROUND_KEEP_STATES", "10")
    monkeypatch.setenv("PLAYGROUND_KEEP_OBJECTS", "10")
    reconcile.cluster_reconcile(cluster.pk)
    assert reconcile.kept_states() == {}   # a cluster bigger than the whole allowance is not kept


def test_a_state_no_pass_used_for_a_while_is_dropped(monkeypatch, cluster):
    """An idle cluster costs a worker no memory: its state goes after PLAYGROUND_KEEP_SECONDS unused."""
    other = actions.cluster_create(owner=cluster.owner, name="other", workers=1)
    reconcile.cluster_reconcile(cluster.pk)
    assert str(cluster.pk) in reconcile.kept_states()
    monkeypatch.setenv("PLAYGROUND_KEEP_SECONDS", "0")
    reconcile.cluster_reconcile(other.pk)   # any pass drops what is idle (here: everything but its own state)
    assert list(reconcile.kept_states()) == [str(other.pk)]
    report = reconcile.cluster_reconcile(cluster.pk)
    assert report.states[0] == "loaded"


def test_a_state_no_pass_used_for_a_little_while_is_frozen_and_thawed_by_the_next(monkeypatch, cluster):
    """A learner reading a lesson: the state stays, as texts (ClusterState.freeze), after
    PLAYGROUND_KEEP_HOT_SECONDS unused; the next pass takes the API's writes over it and decodes what it reads."""
    deployment(cluster, "web", 2)
    settle(cluster)
    monkeypatch.setenv("PLAYGROUND_KEEP_HOT_SECONDS", "0")
    reconcile.tidy_kept_states()
    kept = reconcile._kept[str(cluster.pk)]
    assert kept.frozen and kept.state.frozen == kept.state.object_count()
    reconcile.cluster_reconcile(cluster.pk)   # an idle pass reads nothing: nothing is thawed
    assert reconcile._kept[str(cluster.pk)].state.frozen == kept.state.object_count()
    monkeypatch.delenv("PLAYGROUND_KEEP_HOT_SECONDS")
    deployment(cluster, "api", 1)
    configmap(cluster, "one")
    report = reconcile.cluster_reconcile(cluster.pk)
    assert report.states[0] == "log" and report.changes > 0
    settle(cluster)
    assert ApiObject.objects.filter(cluster=cluster, kind="Pod", name__startswith="api-").count() == 1
    kept_is_stored(cluster)


def test_a_state_the_worker_lets_go_is_freed_without_the_cyclic_collector(cluster):
    """Loaded, stepped, kept and then dropped (evicted, forgotten): reference counting frees it at once, as the
    worker's rarely run collector (playground/gc_tuning.py) would otherwise leave it for a long while."""
    def states() -> int:
        return sum(isinstance(o, ClusterState) for o in gc.get_objects())

    enabled = gc.isenabled()
    reconcile.forget_states()   # the fixture's settling kept one
    gc.collect()
    gc.disable()
    try:
        before = states()
        deployment(cluster, "web", 3)
        settle(cluster)
        reconcile.forget_states()
        reconcile.cluster_reconcile(cluster.pk)   # a state loaded afresh, kept, then forgotten
        reconcile.forget_states()
        assert states() == before
    finally:
        if enabled:
            gc.enable()
