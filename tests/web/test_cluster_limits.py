"""The playground's own limits per cluster (PLAYGROUND_MAX_PODS, PLAYGROUND_MAX_OBJECTS): counted by the store
without reading the objects, on the test database's backend, and in a dry run with what it would add."""
from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from clusters import actions
from clusters.apiserver import errors, registry
from clusters.apiserver.store import DryRunStore, MemoryStore
from clusters.store.database import DbStore

pytestmark = pytest.mark.django_db
PODS = registry.by_path("", "v1", "pods")
CONFIGMAPS = registry.by_path("", "v1", "configmaps")


def _pod(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]}}


@pytest.fixture
def cluster():
    return actions.cluster_create(owner=get_user_model().objects.create_user("iris"), name="lab", workers=1)


def test_the_store_counts_all_objects_and_one_kind(cluster):
    store = DbStore(cluster)
    pods, everything = len(store.list("Pod")), store.count()
    assert store.count("Pod") == pods and everything > pods > 0
    actions.api_call(cluster=cluster, operation=lambda api: api.create(PODS, "default", _pod("one")))
    assert (store.count("Pod"), store.count()) == (pods + 1, everything + 1)
    assert store.count("NoSuchKind") == 0


def test_the_pod_limit_refuses_the_pod_beyond_it(cluster, settings):
    system_pods = DbStore(cluster).count("Pod")
    settings.PLAYGROUND = {**settings.PLAYGROUND, "MAX_PODS": system_pods + 1}
    actions.api_call(cluster=cluster, operation=lambda api: api.create(PODS, "default", _pod("fits")))
    with pytest.raises(errors.ApiError) as refused:
        actions.api_call(cluster=cluster, operation=lambda api: api.create(PODS, "default", _pod("beyond")))
    assert refused.value.code == 403 and str(refused.value).endswith(
        f"requested: pods=1, used: pods={system_pods + 1}, limited: pods={system_pods + 1}")
    # Other kinds are not pods: a ConfigMap still fits.
    actions.api_call(cluster=cluster, operation=lambda api: api.create(
        CONFIGMAPS, "default", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}))


def test_a_dry_run_counts_what_it_would_add_per_kind():
    base = MemoryStore([_pod("a") | {"metadata": {"name": "a", "namespace": "default"}}])
    dry = DryRunStore(base)
    dry.remember({"kind": "Pod", "metadata": {"name": "b", "namespace": "default"}})
    dry.remember({"kind": "Pod", "metadata": {"name": "b", "namespace": "default"}})   # the same one again
    dry.remember({"kind": "ConfigMap", "metadata": {"name": "c", "namespace": "default"}})
    dry.remember({"kind": "Pod", "metadata": {"name": "a", "namespace": "default"}})   # already stored
    assert (dry.count("Pod"), dry.count("ConfigMap"), dry.count()) == (2, 1, 3)
