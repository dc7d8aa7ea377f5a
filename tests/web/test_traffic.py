"""The Service cards' "Send traffic": POST /clusters/<name>/services/<namespace>/<service>/traffic.

A Deployment of 3 nginx pods behind a Service, run forward by reconcile passes; the network model answers
the requests from the cluster's state (clusters/sim/traffic.py) and nothing in the cluster changes.
"""
from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from clusters import actions
from clusters.apiserver import registry
from clusters.models import Cluster
from clusters.sim.reconcile import cluster_reconcile

from .helpers import client_of

pytestmark = pytest.mark.django_db

LABELS = {"app": "web"}


def _create(cluster: Cluster, resource: tuple[str, str, str], obj: dict) -> None:
    actions.api_call(cluster=cluster, operation=lambda api: api.create(registry.by_path(*resource), "default", obj))


def _service(name: str, selector: dict, **spec) -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"selector": selector, "ports": [{"port": 80, "targetPort": 80}], **spec}}


def _run(cluster: Cluster, seconds: int = 90) -> Cluster:
    for _ in range(seconds // 30):
        actions.cluster_clock(cluster=cluster, advance=30)
        cluster_reconcile(cluster.pk)
    cluster.refresh_from_db()
    return cluster


@pytest.fixture
def lab():
    owner = get_user_model().objects.create_user("tess")
    cluster = actions.cluster_create(owner=owner, name="lab", workers=2)
    _create(cluster, ("apps", "v1", "deployments"), {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 3, "selector": {"matchLabels": LABELS},
                 "template": {"metadata": {"labels": LABELS},
                              "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27",
                                                       "ports": [{"containerPort": 80}]}]}}}})
    _create(cluster, ("", "v1", "services"), _service("web", LABELS, type="NodePort"))
    _create(cluster, ("", "v1", "services"), _service("nobody", {"app": "missing"}))
    return _run(cluster)


def _send(client: Client, service: str = "web", body: dict | str | None = None, *, namespace: str = "default",
          cluster: str = "lab"):
    data = body if isinstance(body, str) else json.dumps({} if body is None else body)
    return client.post(f"/clusters/{cluster}/services/{namespace}/{service}/traffic", data,
                       content_type="application/json")


def _pods(cluster: Cluster) -> set[str]:
    return set(cluster.api_objects.filter(kind="Pod", namespace="default").values_list("name", flat=True))


def test_three_nginx_pods_answer_the_service_in_turn(lab):
    client = client_of(lab.owner)
    before = Cluster.objects.get(pk=lab.pk).resource_version
    response = _send(client, body={"requests": 30, "path": "/", "from": "cluster"})
    assert response.status_code == 200, response.content
    answer = response.json()
    assert {a["pod"] for a in answer["answers"]} == _pods(lab) and len(answer["answers"]) == 3
    assert sum(a["count"] for a in answer["answers"]) == 30 and answer["failures"] == []
    assert all(a["namespace"] == "default" and a["node"] and a["statuses"] == {"200": a["count"]}
               for a in answer["answers"])
    assert [a["count"] for a in answer["answers"]] == sorted((a["count"] for a in answer["answers"]), reverse=True)
    assert answer["first"]["status"] == 200 and "Welcome to nginx!" in answer["first"]["body"]
    assert answer["first"]["pod"] in _pods(lab)
    assert (answer["url"], answer["from"], answer["requests"]) == ("http://web:80/", "cluster", 30)
    # A read: nothing in the cluster was written.
    assert Cluster.objects.get(pk=lab.pk).resource_version == before


def test_defaults_paths_and_repeated_sends(lab):
    client = client_of(lab.owner)
    answer = _send(client).json()
    assert answer["requests"] == 10 and sum(a["count"] for a in answer["answers"]) == 10
    missing = _send(client, body={"requests": 3, "path": "/nothing-here"}).json()
    assert missing["first"]["status"] == 404 and missing["url"] == "http://web:80/nothing-here"
    # A paused clock: every send is at the same simulated instant, and still they spread over the endpoints.
    actions.cluster_clock(cluster=lab, pause=True)
    firsts = {_send(client, body={"requests": 1}).json()["answers"][0]["pod"] for _ in range(12)}
    assert len(firsts) > 1


def test_from_outside_through_the_node_port(lab):
    answer = _send(client_of(lab.owner), body={"requests": 30, "from": "outside"}).json()
    assert answer["from"] == "outside" and answer["url"].startswith("http://172.18.")
    assert {a["pod"] for a in answer["answers"]} == _pods(lab)
    # A ClusterIP Service is not reachable from outside: the learner's mistake, said as such.
    refused = _send(client_of(lab.owner), "nobody", {"from": "outside"})
    assert refused.status_code == 400 and "reachable from inside the cluster only" in refused.json()["error"]


def test_a_service_without_ready_endpoints_refuses_connections(lab):
    answer = _send(client_of(lab.owner), "nobody", {"requests": 5}).json()
    assert answer["answers"] == [] and answer["first"] is None
    assert answer["failures"] == [{"reason": "connection refused", "count": 5}]


@pytest.mark.parametrize("body, message", [
    ({"requests": 0}, "requests must be a whole number from 1 to 100"),
    ({"requests": 101}, "requests must be a whole number from 1 to 100"),
    ({"requests": "10"}, "requests must be a whole number from 1 to 100"),
    ({"requests": True}, "requests must be a whole number from 1 to 100"),
    ({"requests": 2.5}, "requests must be a whole number from 1 to 100"),
    ({"path": "index.html"}, 'path must start with "/"'),
    ({"path": "/a b"}, 'path must start with "/"'),
    ({"path": ["/"]}, 'path must start with "/"'),
    ({"from": "space"}, 'from must be "cluster" or "outside"'),
    ({"port": 8080}, 'service "web" has no TCP port 8080 (its ports: 80)'),
    ({"port": 0}, "port must be a whole number from 1 to 65535"),
    ("[10]", "the request body must be a JSON object"),
    ("{nope", "the request body must be a JSON object"),
])
def test_bad_bodies_are_400s(lab, body, message):
    response = _send(client_of(lab.owner), body=body)
    assert response.status_code == 400 and message in response.json()["error"]


def test_missing_service_other_learner_and_signed_out(lab):
    client = client_of(lab.owner)
    missing = _send(client, "ghost")
    assert missing.status_code == 404
    assert missing.json() == {"error": 'service "ghost" not found in namespace "default"'}
    assert _send(client, namespace="elsewhere").status_code == 404

    intruder = client_of(get_user_model().objects.create_user("mallory"))
    other = _send(intruder)
    assert other.status_code == 404 and other.json() == {"error": 'cluster "lab" not found'}

    signed_out = _send(Client())
    assert signed_out.status_code == 401 and "error" in signed_out.json()
    assert Client().get("/clusters/lab/services/default/web/traffic").status_code == 405


def test_csrf_is_required(lab):
    response = _send(client_of(lab.owner, csrf=True))
    assert response.status_code == 403
