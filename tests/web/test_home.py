"""A learner's home and cluster pages: create, list, kubeconfig, reset, delete — and nobody else's."""
from __future__ import annotations

import html
import json

import pytest
import yaml
from django.contrib.auth import get_user_model
from django.test import Client

from clusters import actions
from clusters.apiserver import registry
from clusters.models import ApiObject, Change, Cluster, ClusterToken

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery-9"


def _learner(username: str) -> Client:
    client = Client()
    response = client.post("/accounts/signup/", {"username": username, "password1": PASSWORD,
                                                 "password2": PASSWORD})
    assert response.status_code == 302
    return client


@pytest.fixture
def alice() -> Client:
    return _learner("alice")


@pytest.fixture
def mallory() -> Client:
    return _learner("mallory")


def _kinds(cluster: Cluster, namespace: str) -> list[tuple[str, str]]:
    """(kind, name) of the namespace's objects; an Event's name is its object's and the time's, so only "Event"."""
    return sorted((kind, "" if kind == "Event" else name) for kind, name in
                  ApiObject.objects.filter(cluster=cluster, namespace=namespace).values_list("kind", "name"))


def test_learner_journey(alice):
    # Log out and back in: the account persists.
    alice.post("/accounts/logout/")
    assert alice.post("/accounts/login/", {"username": "alice", "password": PASSWORD})["Location"] == "/"

    home = alice.get("/")
    assert b"No clusters yet" in home.content

    response = alice.post("/clusters/new", {"name": "lab", "workers": "3"})
    assert response.status_code == 302 and response["Location"] == "/#cluster-lab"
    cluster = Cluster.objects.get(owner__username="alice", name="lab")

    home = alice.get("/")
    listed = list(home.context["clusters"])
    # Booted, as kind leaves a new cluster, before any reconcile pass ran: the control plane's 4 static pods,
    # and the add-ons' pods their Deployments, DaemonSets and Jobs made (coredns 2, kindnet and kube-proxy one
    # per node, local-path, ingress-nginx with its 2 admission Jobs, metrics-server).
    assert [(c.name, c.node_count, c.pod_count) for c in listed] == [("lab", 4, 19)]
    assert b'href="/clusters/lab/"' in home.content
    assert b"KUBECONFIG=~/Downloads/lab.kubeconfig kubectl get nodes" in home.content
    assert 'Cluster "lab" is ready.' in html.unescape(home.content.decode())

    # The kubeconfig: an attachment, a valid kubeconfig for this cluster's API.
    response = alice.post("/clusters/lab/kubeconfig", HTTP_HOST="class.example:8000")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="lab.kubeconfig"'
    config = yaml.safe_load(response.content)
    assert config["kind"] == "Config" and config["current-context"] == "playground-lab"
    server = config["clusters"][0]["cluster"]["server"]
    assert server.endswith(f"/clusters/{cluster.pk}")
    assert server == f"https://class.example:6443/clusters/{cluster.pk}"
    assert config["clusters"][0]["cluster"]["certificate-authority-data"]
    token = config["users"][0]["user"]["token"]

    # With that token, the learner creates something through the Kubernetes API.
    api = f"/clusters/{cluster.pk}/api/v1/namespaces/default/configmaps"
    created = alice.post(api, json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"},
                                          "data": {"color": "blue"}}),
                         content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert created.status_code == 201, created.content
    assert ("ConfigMap", "settings") in _kinds(cluster, "default")
    fresh_default = [k for k in _kinds(cluster, "default") if k != ("ConfigMap", "settings")]
    nodes_before = sorted(ApiObject.objects.filter(cluster=cluster, kind="Node").values_list("name", flat=True))
    rv_before = Cluster.objects.get(pk=cluster.pk).resource_version

    # The cluster page shows nodes and pods as kubectl prints them.
    page = alice.get("/clusters/lab/")
    assert page.status_code == 200
    assert page.context["nodes"].columns == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert [row[0] for row in page.context["nodes"].rows] == nodes_before
    assert page.context["pods"].columns[:2] == ["NAMESPACE", "NAME"]

    # Reset asks first (without JavaScript: a page), then empties the namespace but keeps the nodes.
    confirm = alice.get("/clusters/lab/reset")
    assert confirm.status_code == 200 and b"Reset cluster" in confirm.content
    response = alice.post("/clusters/lab/reset")
    assert response.status_code == 302 and response["Location"] == "/"
    assert _kinds(cluster, "default") == fresh_default
    assert sorted(ApiObject.objects.filter(cluster=cluster, kind="Node").values_list("name", flat=True)) \
        == nodes_before
    after = Cluster.objects.get(pk=cluster.pk)
    assert (after.pk, after.owner.username, after.name) == (cluster.pk, "alice", "lab")
    assert after.resource_version > rv_before
    # The token still works after a reset.
    listed = alice.get(api, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert listed.status_code == 200
    assert [item["metadata"]["name"] for item in listed.json()["items"]] == ["kube-root-ca.crt"]

    response = alice.post("/clusters/lab/delete")
    assert response.status_code == 302 and response["Location"] == "/"
    assert not Cluster.objects.filter(pk=cluster.pk).exists()
    assert alice.get("/clusters/lab/").status_code == 404
    assert b"No clusters yet" in alice.get("/").content


def test_reset_is_a_consistent_watch_stream():
    owner = get_user_model().objects.create_user("erin")
    cluster = actions.cluster_create(owner=owner, name="lab", workers=1)
    actions.api_call(cluster=cluster, operation=lambda api: api.create(
        registry.by_path("", "v1", "configmaps"), "default",
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}))
    cluster.refresh_from_db()
    before = cluster.resource_version
    uids_before = set(ApiObject.objects.filter(cluster=cluster).values_list("uid", flat=True))
    count_before = ApiObject.objects.filter(cluster=cluster).count()

    actions.cluster_reset(cluster=cluster)
    cluster.refresh_from_db()
    changes = list(Change.objects.filter(cluster=cluster).order_by("resource_version")
                   .values_list("resource_version", "type"))
    # The old history is gone; the new one starts right after it: every old object DELETED, then ADDED.
    assert cluster.compacted_resource_version >= before
    assert changes[0][0] == before + 1
    assert [rv for rv, _ in changes] == list(range(before + 1, cluster.resource_version + 1))
    types = [t for _, t in changes]
    assert types == ["DELETED"] * count_before + ["ADDED"] * (len(types) - count_before)
    uids_after = set(ApiObject.objects.filter(cluster=cluster).values_list("uid", flat=True))
    assert uids_after and not uids_after & uids_before
    assert not ApiObject.objects.filter(cluster=cluster, kind="ConfigMap", name="x").exists()
    assert sorted(ApiObject.objects.filter(cluster=cluster, kind="Node").values_list("name", flat=True)) \
        == ["control-plane", "worker-1"]


def test_create_errors_are_shown_inline(alice):
    alice.post("/clusters/new", {"name": "lab", "workers": "2"})
    for data, message in [({"name": "lab", "workers": "2"}, 'already has a cluster named "lab"'),
                          ({"name": "Bad_Name", "workers": "2"}, 'invalid cluster name'),
                          ({"name": "big", "workers": "11"}, "less than or equal to 10")]:
        response = alice.post("/clusters/new", data)
        assert response.status_code == 400
        assert message in html.unescape(response.content.decode())
        assert b'aria-invalid="true"' in response.content
    assert Cluster.objects.filter(owner__username="alice").count() == 1


def test_kubeconfig_uses_the_configured_api_url(alice, settings):
    settings.PLAYGROUND = {**settings.PLAYGROUND, "API_SERVER_URL": "https://k8s.school.example:6443/"}
    alice.post("/clusters/new", {"name": "lab", "workers": "0"})
    cluster = Cluster.objects.get(name="lab")
    config = yaml.safe_load(alice.post("/clusters/lab/kubeconfig").content)
    assert config["clusters"][0]["cluster"]["server"] == f"https://k8s.school.example:6443/clusters/{cluster.pk}"


def test_kubeconfig_is_not_issued_by_get(alice):
    alice.post("/clusters/new", {"name": "lab", "workers": "0"})
    assert alice.get("/clusters/lab/kubeconfig").status_code == 405
    assert ClusterToken.objects.count() == 0


def test_other_users_get_404_and_cannot_write(alice, mallory):
    alice.post("/clusters/new", {"name": "lab", "workers": "1"})
    cluster = Cluster.objects.get(owner__username="alice", name="lab")
    objects = ApiObject.objects.filter(cluster=cluster).count()

    assert mallory.get("/clusters/lab/").status_code == 404
    assert mallory.post("/clusters/lab/kubeconfig").status_code == 404
    assert mallory.get("/clusters/lab/reset").status_code == 404
    assert mallory.post("/clusters/lab/reset").status_code == 404
    assert mallory.post("/clusters/lab/delete").status_code == 404
    assert mallory.get(f"/clusters/{cluster.pk}/").status_code == 404   # by id: no such page either
    assert not ClusterToken.objects.filter(cluster=cluster).exists()
    assert ApiObject.objects.filter(cluster=cluster).count() == objects
    assert list(mallory.get("/").context["clusters"]) == []

    # Mallory may have a "lab" of her own: it is hers, and alice's is untouched.
    assert mallory.post("/clusters/new", {"name": "lab", "workers": "0"}).status_code == 302
    mallory.post("/clusters/lab/delete")
    assert Cluster.objects.filter(pk=cluster.pk).exists()


def test_writes_need_the_csrf_token(alice):
    alice.post("/clusters/new", {"name": "lab", "workers": "0"})
    strict = Client(enforce_csrf_checks=True)
    strict.cookies = alice.cookies
    for path in ("/clusters/new", "/clusters/lab/kubeconfig", "/clusters/lab/reset", "/clusters/lab/delete",
                 "/accounts/logout/"):
        assert strict.post(path, {"name": "other", "workers": "0"}).status_code == 403, path
    assert Cluster.objects.filter(owner__username="alice").count() == 1
    assert not ClusterToken.objects.exists()

    page = strict.get("/")
    token = page.cookies.get("csrftoken") or strict.cookies["csrftoken"]
    response = strict.post("/clusters/lab/reset", {"csrfmiddlewaretoken": token.value})
    assert response.status_code == 302


def test_cluster_page_tables(alice):
    alice.post("/clusters/new", {"name": "lab", "workers": "2"})
    page = alice.get("/clusters/lab/")
    text = page.content.decode()
    assert "kubectl get nodes" in text and "kubectl get pods -A" in text
    assert "control-plane" in text and "worker-2" in text
    # Before the control loops run, the pods are the control plane's static pods.
    for pod in ("etcd-control-plane", "kube-apiserver-control-plane", "kube-controller-manager-control-plane",
                "kube-scheduler-control-plane"):
        assert pod in text
    assert 'action="/clusters/lab/kubeconfig"' in text
    # The workspace the bundle fills in: editor, terminal and the two sockets of this cluster only.
    assert 'id="editor"' in text and 'id="terminal"' in text
    assert 'data-socket="/clusters/lab/live"' in text and 'data-terminal-socket="/clusters/lab/terminal"' in text
    assert "dist/playground.js" in text


def test_another_learners_cluster_is_a_friendly_404(alice, settings):
    settings.DEBUG = False
    alice.post("/clusters/new", {"name": "lab", "workers": "0"})
    bob = get_user_model().objects.create_user("bob", password="pw-bob-12345")
    client = Client()
    client.force_login(bob)
    page = client.get("/clusters/lab/")
    assert page.status_code == 404
    text = page.content.decode()
    assert "Clusters are private" in text and 'href="/"' in text and "/clusters/lab" not in text
