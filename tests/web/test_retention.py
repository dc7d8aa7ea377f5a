"""Retention: idle clusters are stopped (skipped by the sweeper and request_reconcile, their clock frozen), the
learner's next use starts them where they stood, long-idle ones are deleted; `manage.py cluster idle|purge`."""
from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from clusters import actions
from clusters.models import Cluster
from clusters.sim import reconcile, runner, tasks

from .test_live import _communicator, _session_cookie

HOUR = 3600.0


class Recorder:
    """Stands in for the embedded runner: which clusters were asked for a reconcile pass."""

    def __init__(self) -> None:
        self.requested: list[str] = []

    def request(self, cluster_id: str) -> None:
        self.requested.append(str(cluster_id))


@pytest.fixture(autouse=True)
def rules(settings):
    settings.PLAYGROUND = {**settings.PLAYGROUND, "STOP_IDLE_AFTER": 2 * HOUR, "DELETE_IDLE_AFTER": 30 * 24 * HOUR}


@pytest.fixture
def recorder(monkeypatch):
    found = Recorder()
    monkeypatch.setattr(runner, "_embedded", found)
    monkeypatch.setattr(runner, "celery_mode", lambda: False)
    return found


def _make(owner_name: str, name: str, idle_hours: float = 0.0) -> Cluster:
    owner = get_user_model().objects.filter(username=owner_name).first() or \
        get_user_model().objects.create_user(owner_name)
    cluster = actions.cluster_create(owner=owner, name=name, workers=0)
    if idle_hours:
        Cluster.objects.filter(pk=cluster.pk).update(last_activity=timezone.now() - timedelta(hours=idle_hours))
    cluster.refresh_from_db()
    return cluster


def _api_get(cluster: Cluster, token: str):
    return Client().get(f"/clusters/{cluster.pk}/api/v1/namespaces", HTTP_AUTHORIZATION=f"Bearer {token}")


@pytest.mark.django_db(transaction=True)
def test_an_idle_cluster_is_stopped_and_skipped(recorder):
    idle = _make("alice", "idle", idle_hours=3)
    busy = _make("bob", "busy", idle_hours=1)
    done = actions.clusters_purge()
    assert [c.pk for c in done.stopped] == [idle.pk] and done.deleted == []
    idle.refresh_from_db()
    busy.refresh_from_db()
    assert idle.stopped is not None and idle.paused and idle.stopped_clock_running and idle.next_wake is None
    assert busy.stopped is None
    # Its clock is frozen: it stands still however long it stays stopped.
    assert idle.sim_now(idle.wall_base + 5 * HOUR) == idle.sim_base

    # The sweeper skips it even when something set a wake-up meanwhile (an operator's reset, a clock change).
    Cluster.objects.filter(pk__in=[idle.pk, busy.pk]).update(next_wake=0.0)
    assert runner.skip_stopped(reconcile.clusters_due()) == [str(busy.pk)]
    assert Cluster.objects.get(pk=idle.pk).next_wake is None
    # So does request_reconcile, and beat's sweep task.
    recorder.requested.clear()
    runner.request_reconcile(idle.pk)
    runner.request_reconcile(busy.pk)
    assert recorder.requested == [str(busy.pk)]


@pytest.mark.django_db(transaction=True)
def test_the_celery_sweep_skips_stopped_clusters(recorder, monkeypatch):
    idle, busy = _make("alice", "idle"), _make("bob", "busy")
    actions.cluster_stop(cluster=idle)
    Cluster.objects.filter(pk__in=[idle.pk, busy.pk]).update(next_wake=0.0)
    sent: list[str] = []
    monkeypatch.setattr(tasks.reconcile_cluster, "delay", sent.append)
    tasks.sweep()
    assert sent == [str(busy.pk)]


@pytest.mark.django_db(transaction=True)
def test_an_api_request_starts_it_as_it_was_left(recorder):
    cluster = _make("alice", "lab", idle_hours=3)
    token = actions.token_issue(cluster=cluster)
    actions.clusters_purge()
    cluster.refresh_from_db()
    frozen = cluster.sim_base
    # Hours pass while it is stopped: none of them happen to the cluster.
    Cluster.objects.filter(pk=cluster.pk).update(wall_base=cluster.wall_base - 5 * HOUR)
    recorder.requested.clear()

    assert _api_get(cluster, token).status_code == 200
    cluster.refresh_from_db()
    assert cluster.stopped is None and not cluster.paused and not cluster.stopped_clock_running
    assert cluster.sim_now() == pytest.approx(frozen, abs=5.0)   # time goes on from where it stood
    assert timezone.now() - cluster.last_activity < timedelta(seconds=5)
    assert recorder.requested == [str(cluster.pk)]               # and a pass catches up what was due
    report = reconcile.cluster_reconcile(cluster.pk)
    assert report.next_wake is not None


@pytest.mark.django_db(transaction=True)
def test_a_paused_clock_stays_paused_over_a_stop(recorder):
    cluster = _make("alice", "lab")
    actions.cluster_clock(cluster=cluster, pause=True)
    actions.cluster_stop(cluster=cluster)
    actions.cluster_touch(cluster=Cluster.objects.get(pk=cluster.pk))
    cluster.refresh_from_db()
    assert cluster.stopped is None and cluster.paused   # the learner's own pause is theirs to lift


@pytest.mark.django_db(transaction=True)
def test_opening_the_page_starts_it(recorder):
    cluster = _make("alice", "lab")
    actions.cluster_stop(cluster=cluster)
    cookie = _session_cookie(cluster.owner)

    async def open_page():
        communicator = _communicator("/clusters/lab/live", cookie)
        connected, _ = await communicator.connect()
        assert connected
        snapshot = await communicator.receive_json_from(timeout=8)
        await communicator.disconnect()
        return snapshot

    snapshot = async_to_sync(open_page)()
    assert snapshot["type"] == "snapshot" and snapshot["clock"]["paused"] is False
    assert Cluster.objects.get(pk=cluster.pk).stopped is None


@pytest.mark.django_db(transaction=True)
def test_last_activity_is_written_at_most_once_a_minute(recorder, django_assert_num_queries):
    cluster = _make("alice", "lab")
    with django_assert_num_queries(0):
        actions.cluster_touch(cluster=cluster)          # just created: nothing to write
    an_hour_ago = timezone.now() - timedelta(hours=1)
    Cluster.objects.filter(pk=cluster.pk).update(last_activity=an_hour_ago)
    cluster.refresh_from_db()
    with django_assert_num_queries(1):
        actions.cluster_touch(cluster=cluster)
    assert Cluster.objects.get(pk=cluster.pk).last_activity > an_hour_ago
    with django_assert_num_queries(0):
        actions.cluster_touch(cluster=cluster)


@pytest.mark.django_db(transaction=True)
def test_purge_deletes_past_the_delete_limit_only(recorder):
    gone = _make("alice", "ancient", idle_hours=31 * 24)
    stopped = _make("alice", "idle", idle_hours=3)
    fresh = _make("bob", "fresh")
    out = StringIO()
    call_command("cluster", "purge", stdout=out)
    assert set(Cluster.objects.values_list("name", flat=True)) == {"idle", "fresh"}
    assert Cluster.objects.get(pk=stopped.pk).stopped is not None
    assert Cluster.objects.get(pk=fresh.pk).stopped is None
    assert "alice/ancient: deleted" in out.getvalue() and "alice/idle: stopped" in out.getvalue()
    assert not Cluster.objects.filter(pk=gone.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_zero_means_never(recorder, settings):
    settings.PLAYGROUND = {**settings.PLAYGROUND, "STOP_IDLE_AFTER": 0, "DELETE_IDLE_AFTER": 0}
    _make("alice", "ancient", idle_hours=400 * 24)
    done = actions.clusters_purge()
    assert (done.stopped, done.deleted) == ([], [])
    assert Cluster.objects.get(name="ancient").stopped is None


@pytest.mark.django_db(transaction=True)
def test_the_dry_run_changes_nothing(recorder):
    _make("alice", "ancient", idle_hours=31 * 24)
    _make("alice", "idle", idle_hours=3)
    before = list(Cluster.objects.order_by("name").values())
    out = StringIO()
    call_command("cluster", "purge", "--dry-run", stdout=out)
    assert list(Cluster.objects.order_by("name").values()) == before
    assert "alice/ancient: would be deleted" in out.getvalue()
    assert "1 cluster(s) would be stopped, 1 would be deleted" in out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_idle_lists_clusters_by_last_activity(recorder):
    _make("alice", "lab")
    _make("bob", "old", idle_hours=3)
    actions.clusters_purge()
    out = StringIO()
    call_command("cluster", "idle", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["USER", "NAME", "STATE", "LAST", "ACTIVITY", "IDLE"]
    assert lines[1].split()[:3] == ["bob", "old", "stopped"] and lines[1].split()[-1] == "3h"
    assert lines[2].split()[:3] == ["alice", "lab", "running"]
