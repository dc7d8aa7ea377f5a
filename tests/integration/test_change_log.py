"""The change log (clusters/store/database.py) as watches read it: an object recreated under its name (a
StatefulSet's pod: deleted, then created again by the controller within one reconcile pass) is logged as
a DELETED of the old object and an ADDED of the new one, each at its own resourceVersion, as etcd logs a
delete and a create; a client watching sees what it would see from a real server."""
from __future__ import annotations

import json
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction

from clusters.models import ApiObject, Change, Cluster
from clusters.store.database import DbStore


def _pod(name: str, uid: str, phase: str = "Pending") -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default", "uid": uid},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]}, "status": {"phase": phase}}


@pytest.fixture
def cluster(db) -> Cluster:
    return Cluster.objects.create(owner=get_user_model().objects.create_user("alice"), name="log")


def _write(cluster: Cluster, items: list[tuple[str, dict, str | None]]) -> None:
    with transaction.atomic():
        store = DbStore(Cluster.objects.get(pk=cluster.pk))
        store.write_many(items)
        store.finish()


def _log(cluster: Cluster) -> list[tuple[int, str, str, str]]:
    return [(rv, event, name, json.loads(data)["metadata"]["uid"]) for rv, event, name, data in
            Change.objects.filter(cluster=cluster).order_by("resource_version")
            .values_list("resource_version", "type", "name", "data")]


# One item goes through write(), five through write_many's bulk statements (on PostgreSQL).
@pytest.mark.parametrize("others", [0, 4])
def test_a_name_recreated_with_another_uid_is_logged_as_deleted_then_added(cluster, others):
    old, new = str(uuid.uuid4()), str(uuid.uuid4())
    extra = [_pod(f"other-{i}", str(uuid.uuid4())) for i in range(others)]
    _write(cluster, [("ADDED", _pod("web-0", old, "Running"), json.dumps({"note": "old"}))]
           + [("ADDED", p, None) for p in extra])
    for p in extra:
        p["status"]["phase"] = "Running"
    _write(cluster, [("MODIFIED", _pod("web-0", new), None)] + [("MODIFIED", p, None) for p in extra])

    log = [entry for entry in _log(cluster) if entry[2] == "web-0"]
    assert [(event, uid) for _, event, _, uid in log] == [("ADDED", old), ("DELETED", old), ("ADDED", new)]
    deleted = json.loads(Change.objects.get(cluster=cluster, type="DELETED").data)
    assert deleted["status"]["phase"] == "Running"  # the old object as it was last stored
    assert deleted["metadata"]["resourceVersion"] == str(log[1][0])
    rvs = [rv for rv, *_ in _log(cluster)]
    assert rvs == sorted(set(rvs)), "every logged write has a resourceVersion of its own"

    row = ApiObject.objects.get(cluster=cluster, name="web-0")
    assert str(row.uid) == new and row.resource_version == log[2][0]
    assert json.loads(row.data)["metadata"]["resourceVersion"] == str(row.resource_version)
    assert row.sim == "{}"  # the old pod's simulation notes are not the new pod's
    cluster.refresh_from_db()
    assert cluster.resource_version == max(rvs)
    assert [event for _, event, name, _ in _log(cluster) if name.startswith("other-")] == \
        ["ADDED"] * others + ["MODIFIED"] * others


def test_a_modification_of_the_same_object_stays_modified(cluster):
    uid = str(uuid.uuid4())
    _write(cluster, [("ADDED", _pod("web-0", uid), None)])
    _write(cluster, [("MODIFIED", _pod("web-0", uid, "Running"), None)])
    assert [event for _, event, _, _ in _log(cluster)] == ["ADDED", "MODIFIED"]


def _configmap_call(cluster: Cluster, method: str, name: str, body: dict | None = None) -> None:
    from clusters import actions
    from clusters.apiserver import registry

    rt = registry.by_path("", "v1", "configmaps")
    if method == "create":
        operation = lambda api: api.create(rt, "default", body)
    elif method == "delete":
        operation = lambda api: api.delete(rt, "default", name)
    else:
        operation = lambda api: api.patch(rt, "default", name, body, "merge")
    actions.api_call(cluster=cluster, operation=operation)


@pytest.mark.parametrize("label_selector", ["", "app=web"])
def test_a_watch_resumed_from_a_resource_version_sees_what_happened_since(db, label_selector):
    """A client reconnecting from resourceVersion R (kubectl after its request timeout, a reflector after a
    dropped connection) gets the changes after R as a watch open since R would have: an object deleted since
    R is DELETED (not dropped because it is no longer there), one modified since R is MODIFIED (not ADDED)."""
    from clusters import actions
    from clusters.apiserver import registry
    from clusters.kubeapi import watch

    owner = get_user_model().objects.create_user("wanda")
    cluster = actions.cluster_create(owner=owner, name="lab", workers=0)
    for name in ("gone", "kept", "relabelled"):
        _configmap_call(cluster, "create", name, {"apiVersion": "v1", "kind": "ConfigMap",
                                                  "metadata": {"name": name, "labels": {"app": "web"}}})
    cluster.refresh_from_db()
    since = cluster.resource_version
    _configmap_call(cluster, "delete", "gone")
    _configmap_call(cluster, "patch", "kept", {"data": {"a": "b"}})
    _configmap_call(cluster, "patch", "relabelled", {"metadata": {"labels": {"app": "db"}}})
    _configmap_call(cluster, "create", "new", {"apiVersion": "v1", "kind": "ConfigMap",
                                               "metadata": {"name": "new", "labels": {"app": "web"}}})
    cluster.refresh_from_db()

    spec = watch.WatchSpec(cluster=cluster, rt=registry.by_path("", "v1", "configmaps"), namespace="default",
                           resource_version=str(since), label_selector=label_selector, field_selector="",
                           table=False, include_object="", timeout=10, bookmarks=False)
    watch.check_selectors(spec)
    initial, start, failure = watch._start(spec)
    assert (initial, start, failure) == ([], since, None)
    events, _ = watch._next_events(spec, start)
    seen = [(event, obj["metadata"]["name"]) for event, obj in events]
    relabelled = ("MODIFIED" if not label_selector else "DELETED", "relabelled")
    assert seen == [("DELETED", "gone"), ("MODIFIED", "kept"), relabelled, ("ADDED", "new")]


@pytest.mark.parametrize("how", ["resourceVersion=0", "sendInitialEvents"])
def test_a_write_between_a_watchs_version_and_its_list_goes_out_once(db, monkeypatch, how):
    """A watch from "now" reads the cluster's resourceVersion, then lists the objects for its initial ADDED
    events. A write committed between the two reads is in that list and in the log after that
    resourceVersion: the client gets it once (kubectl get -w printed such a pod's ADDED twice)."""
    from clusters import actions, selectors
    from clusters.apiserver import registry
    from clusters.kubeapi import watch

    owner = get_user_model().objects.create_user("willa")
    cluster = actions.cluster_create(owner=owner, name="lab", workers=0)
    _configmap_call(cluster, "create", "before", {"apiVersion": "v1", "kind": "ConfigMap",
                                                  "metadata": {"name": "before"}})
    cluster.refresh_from_db()
    read_first = selectors.cluster_versions(cluster.pk)   # what _start reads before the write lands
    _configmap_call(cluster, "create", "between", {"apiVersion": "v1", "kind": "ConfigMap",
                                                   "metadata": {"name": "between"}})
    monkeypatch.setattr(selectors, "cluster_versions", lambda cluster_id: read_first)

    spec = watch.WatchSpec(cluster=cluster, rt=registry.by_path("", "v1", "configmaps"), namespace="default",
                           resource_version="0" if how == "resourceVersion=0" else "", label_selector="",
                           field_selector="", table=False, include_object="", timeout=10, bookmarks=False,
                           initial_events=how == "sendInitialEvents")
    watch.check_selectors(spec)
    initial, start, failure = watch._start(spec)
    assert failure is None and start == read_first[0]
    assert sorted(obj["metadata"]["name"] for _, obj in initial) == ["before", "between", "kube-root-ca.crt"]
    _configmap_call(cluster, "patch", "between", {"data": {"a": "b"}})
    events, _ = watch._next_events(spec, start)
    assert [(event, obj["metadata"]["name"]) for event, obj in events] == [("MODIFIED", "between")]


def test_compaction_drops_the_history_older_than_the_previous_round(db):
    """etcd compaction as kube-apiserver runs it every --etcd-compaction-interval: a round compacts up to the
    resourceVersion of the round before, so a watch from before that gets 410 Gone, one from after it goes
    on, and an idle cluster's log is empty two rounds after its last write."""
    from clusters import actions
    from clusters.apiserver import registry
    from clusters.kubeapi import watch
    from clusters.store.compaction import compact_change_logs

    owner = get_user_model().objects.create_user("carla")
    cluster = actions.cluster_create(owner=owner, name="lab", workers=0)
    _configmap_call(cluster, "create", "one", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "one"}})
    cluster.refresh_from_db()
    early = cluster.resource_version
    assert compact_change_logs() == 0   # the first round only marks where the next one compacts to
    _configmap_call(cluster, "create", "two", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "two"}})
    cluster.refresh_from_db()
    late = cluster.resource_version
    rows = len(_log(cluster))
    assert compact_change_logs() == rows - 1   # every row up to the mark: all but the last
    cluster.refresh_from_db()
    assert cluster.compacted_resource_version == early
    assert [rv for rv, *_ in _log(cluster)] == [late]

    def watch_from(since: int):
        spec = watch.WatchSpec(cluster=cluster, rt=registry.by_path("", "v1", "configmaps"), namespace="default",
                               resource_version=str(since), label_selector="", field_selector="", table=False,
                               include_object="", timeout=10, bookmarks=False)
        watch.check_selectors(spec)
        return spec, watch._start(spec)

    _, (_, _, failure) = watch_from(early - 1)
    assert failure["code"] == 410 and failure["reason"] == "Expired"
    spec, (_, start, failure) = watch_from(early)
    assert failure is None
    assert [(e, o["metadata"]["name"]) for e, o in watch._next_events(spec, start)[0]] == [("ADDED", "two")]

    compact_change_logs()   # nothing written since the last round: the rest goes
    cluster.refresh_from_db()
    assert _log(cluster) == [] and cluster.compacted_resource_version == cluster.resource_version
    _, (_, _, failure) = watch_from(cluster.resource_version)   # a watch from now goes on
    assert failure is None


def test_trimming_never_moves_the_compacted_version_back(cluster):
    """DbStore.finish trims the log to its newest CHANGE_LOG_SIZE rows (every TRIM_EVERY writes); after a round
    of compaction went further, its trim must leave the horizon where compaction put it."""
    from django.conf import settings
    from django.test import override_settings

    from clusters.store.compaction import compact_change_logs

    for i in range(40):
        _write(cluster, [("ADDED", _pod(f"p{i}", str(uuid.uuid4())), None)])
    compact_change_logs()
    compact_change_logs()
    cluster.refresh_from_db()
    horizon = cluster.compacted_resource_version
    assert horizon == cluster.resource_version and _log(cluster) == []
    with override_settings(PLAYGROUND={**settings.PLAYGROUND, "CHANGE_LOG_SIZE": 30}):
        for i in range(20):   # past the next TRIM_EVERY boundary, whose trim horizon is below the compaction's
            _write(cluster, [("ADDED", _pod(f"q{i}", str(uuid.uuid4())), None)])
    cluster.refresh_from_db()
    assert cluster.compacted_resource_version == horizon
    assert len(_log(cluster)) == 20


def test_beat_runs_a_round_every_five_minutes(db):
    from django.conf import settings

    from clusters.sim import tasks

    entry = settings.CELERY_BEAT_SCHEDULE["compaction"]
    assert entry == {"task": tasks.compaction.name, "schedule": 300.0}
    tasks.compaction()   # a round with no cluster at all
