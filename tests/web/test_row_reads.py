"""The hot reads of a cluster's row (clusters/store/rows.py) give what the querysets they replace give, on the
test database's backend (SQLite, or PostgreSQL with DATABASE_URL): every field, converted alike."""
from __future__ import annotations

import json
import threading
import time
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction

from clusters import actions, selectors
from clusters.models import Cluster
from clusters.store.database import DbStore

pytestmark = pytest.mark.django_db


def fields(cluster: Cluster) -> dict:
    return {name: value for name, value in vars(cluster).items() if not name.startswith("_")}


@pytest.fixture
def cluster() -> Cluster:
    owner = get_user_model().objects.create_user("rhea")
    created = actions.cluster_create(owner=owner, name="rows", workers=1)
    Cluster.objects.filter(pk=created.pk).update(paused=True, speed=2.5)   # a boolean and a float too
    return created


def test_cluster_by_id_is_the_querysets_row(cluster):
    read = selectors.cluster_by_id(cluster.pk)
    expected = Cluster.objects.get(pk=cluster.pk)
    assert fields(read) == fields(expected)
    assert isinstance(read.pk, uuid.UUID) and read.paused is True and read.created == expected.created
    assert read.owner.username == "rhea"            # the owner is read when asked for
    assert selectors.cluster_by_id(str(cluster.pk)) == expected   # the id as text, as URLs give it
    assert selectors.cluster_by_id(uuid.uuid4()) is None
    assert read._state.adding is False and read._state.db == "default"   # saved as a loaded row is
    read.name = "renamed"
    read.save(update_fields=["name"])
    assert Cluster.objects.get(pk=cluster.pk).name == "renamed"


def test_cluster_for_token_reads_the_row_only_with_a_token_of_that_cluster(cluster):
    token = actions.token_issue(cluster=cluster)
    other = actions.cluster_create(owner=cluster.owner, name="other", workers=1)
    other_token = actions.token_issue(cluster=other)
    assert fields(selectors.cluster_for_token(token, cluster.pk)) == fields(Cluster.objects.get(pk=cluster.pk))
    assert selectors.cluster_for_token(other_token, cluster.pk) is None
    assert selectors.cluster_for_token(token, other.pk) is None
    assert selectors.cluster_for_token("not-a-token", cluster.pk) is None
    assert selectors.cluster_for_token(token, uuid.uuid4()) is None


def test_cluster_of_user_is_the_owners_row_and_nobody_elses(cluster):
    owner = cluster.owner
    read = selectors.cluster_of_user(owner, "rows")
    assert fields(read) == fields(Cluster.objects.get(pk=cluster.pk))
    assert read.owner is owner                      # the user at hand, no second read
    assert selectors.cluster_of_user(owner, "nope") is None
    stranger = get_user_model().objects.create_user("mallory")
    assert selectors.cluster_of_user(stranger, "rows") is None
    actions.cluster_create(owner=stranger, name="rows", workers=1)
    assert selectors.cluster_of_user(stranger, "rows").owner == stranger
    assert selectors.cluster_of_user(owner, "rows").pk == cluster.pk


@pytest.mark.django_db(transaction=True)
def test_the_clusters_write_lock_holds_another_writer_until_commit():
    """DbStore.lock(): the cluster's row, read FOR UPDATE by plain SQL (PostgreSQL; SQLite has no row locks:
    a writing transaction holds the whole database there)."""
    if not connection.features.has_select_for_update:
        pytest.skip("SQLite: no FOR UPDATE")
    cluster = actions.cluster_create(owner=get_user_model().objects.create_user("lock"), name="lock", workers=1)
    held, release, order = threading.Event(), threading.Event(), []

    def writer(name: str, first: bool) -> None:
        try:
            if not first:
                held.wait(5)
            with transaction.atomic():
                store = DbStore(cluster)
                store.lock()
                order.append(f"{name} locked at {store.resource_version}")
                if first:
                    held.set()
                    release.wait(5)
                    order.append(f"{name} commits")
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=("first", True)),
               threading.Thread(target=writer, args=("second", False))]
    for thread in threads:
        thread.start()
    held.wait(5)
    time.sleep(0.3)
    order.append("released")
    release.set()
    for thread in threads:
        thread.join(10)
    rv = cluster.resource_version
    assert order == [f"first locked at {rv}", "released", "first commits", f"second locked at {rv}"]


def test_objects_of_kinds_and_failed_nodes_are_the_querysets_rows(cluster):
    from clusters.models import ApiObject
    kinds = ("Pod", "Node", "ConfigMap")
    expected = [(kind, json.loads(data)) for kind, data in ApiObject.objects.filter(
        cluster_id=cluster.pk, kind__in=kinds).order_by("kind", "namespace", "name").values_list("kind", "data")]
    assert selectors.objects_of_kinds(cluster.pk, kinds) == expected and len(expected) > 3
    assert selectors.objects_of_kinds(cluster.pk, ("Node",)) == [o for o in expected if o[0] == "Node"]
    assert selectors.objects_of_kinds(cluster.pk, ()) == []
    assert selectors.failed_nodes(cluster.pk) == []
    node = expected[[kind for kind, _ in expected].index("Node")][1]["metadata"]["name"]
    actions.node_set_failed(cluster=cluster, node=node, failed=True)
    assert selectors.failed_nodes(cluster.pk) == [node]
