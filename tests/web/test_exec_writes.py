"""What `kubectl exec` writes is kept: clusters.sim.replay persists it beside the objects, not in the API.

container_exec runs its command and keeps the file changes in one transaction under the cluster's lock;
container_keep_writes does the same for changes made otherwise (an interactive shell's commands). The
notes change, no resourceVersion does: a watch sees nothing, as for a real file write.
"""
from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from clusters import actions
from clusters.apiserver import registry
from clusters.models import ApiObject, Cluster
from clusters.sim import replay
from clusters.sim.reconcile import cluster_reconcile

pytestmark = pytest.mark.django_db


@pytest.fixture
def web():
    owner = get_user_model().objects.create_user("erin")
    cluster = actions.cluster_create(owner=owner, name="lab", workers=1)
    actions.api_call(cluster=cluster, operation=lambda api: api.create(
        registry.by_path("", "v1", "pods"), "default",
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
         "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}))
    for _ in range(3):
        actions.cluster_clock(cluster=cluster, advance=30)
        cluster_reconcile(cluster.pk)
    cluster.refresh_from_db()
    return cluster


def exec_(cluster: Cluster, *argv: str) -> tuple[int, str, str]:
    return replay.container_exec(cluster=Cluster.objects.get(pk=cluster.pk), namespace="default", pod="web",
                                 container=None, argv=list(argv))


def test_an_exec_write_is_kept_without_a_new_resource_version(web):
    before = Cluster.objects.get(pk=web.pk).resource_version
    assert exec_(web, "sh", "-c", "echo hi > /usr/share/nginx/html/index.html") == (0, "", "")
    assert exec_(web, "cat", "/usr/share/nginx/html/index.html") == (0, "hi\n", "")
    assert Cluster.objects.get(pk=web.pk).resource_version == before
    stored = ApiObject.objects.get(cluster=web, kind="Pod", name="web")
    assert "/usr/share/nginx/html/index.html" in stored.sim and "/usr/share/nginx/html/index.html" not in stored.data


def test_changes_made_otherwise_are_kept_the_same_way(web):
    assert replay.container_keep_writes(cluster=web, namespace="default", pod="web", container=None,
                                        events=[(Cluster.objects.get(pk=web.pk).sim_now(), "write", "/tmp/typed",
                                                 "typed\n")])
    assert exec_(web, "cat", "/tmp/typed") == (0, "typed\n", "")
    assert not replay.container_keep_writes(cluster=web, namespace="default", pod="gone", container=None,
                                            events=[(0.0, "write", "/tmp/x", "x")])
