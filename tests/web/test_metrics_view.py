"""The cluster page's Metrics panel: GET /clusters/<name>/metrics (clusters/web/PAGE.md).

A cluster run forward by reconcile passes until metrics-server has scraped; php-apache (hpa-example, cpu
request 200m, limit 500m) and an HPA on it whose status is set through the API's status subresource, as
the HPA controller writes it. Only the owner reads the figures; before metrics-server's first scrape there
are none, and the answer says so with a null scrape time.
"""
from __future__ import annotations

from datetime import datetime

import pytest
import yaml
from django.contrib.auth import get_user_model
from django.test import Client

from clusters import actions
from clusters.apiserver import registry
from clusters.models import Cluster
from clusters.sim.reconcile import cluster_reconcile
from tests.fixtures import CORPUS

from .helpers import client_of

pytestmark = pytest.mark.django_db

HPA = {
    "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "php-apache"},
    "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "php-apache"},
             "minReplicas": 1, "maxReplicas": 10,
             "metrics": [{"type": "Resource", "resource": {
                 "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}]},
}
HPA_STATUS = {"currentReplicas": 1, "desiredReplicas": 5,
              "currentMetrics": [{"type": "Resource", "resource": {"name": "cpu", "current": {
                  "averageUtilization": 250, "averageValue": "500m"}}}],
              "conditions": [{"type": "AbleToScale", "status": "True", "reason": "SucceededRescale",
                              "message": "the HPA controller was able to update the target scale to 5",
                              "lastTransitionTime": "2026-01-01T00:00:00Z"}]}


def _api(cluster: Cluster, operation):
    return actions.api_call(cluster=cluster, operation=operation)


def _create(cluster: Cluster, obj: dict) -> dict:
    group, _, version = obj["apiVersion"].rpartition("/")
    resource = {"Deployment": "deployments", "Service": "services",
                "HorizontalPodAutoscaler": "horizontalpodautoscalers"}[obj["kind"]]
    return _api(cluster, lambda api: api.create(registry.by_path(group, version, resource), "default", obj)).body


def _run(cluster: Cluster, seconds: int) -> Cluster:
    for _ in range(seconds // 15):
        actions.cluster_clock(cluster=cluster, advance=15)
        cluster_reconcile(cluster.pk)
    cluster.refresh_from_db()
    return cluster


@pytest.fixture
def fresh():
    owner = get_user_model().objects.create_user("tess")
    return actions.cluster_create(owner=owner, name="lab", workers=2)


@pytest.fixture
def lab(fresh):
    for obj in yaml.safe_load_all((CORPUS / "application__php-apache.yaml").read_text()):
        _create(fresh, obj)
    return _run(fresh, 120)


def _get(client: Client, cluster: str = "lab"):
    return client.get(f"/clusters/{cluster}/metrics")


def test_the_figures_of_the_last_scrape_per_node_and_pod(lab):
    response = _get(client_of(lab.owner))
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"now", "scrape", "window", "speed", "paused", "nodes", "pods", "autoscalers"}
    now, scrape = (datetime.fromisoformat(body[k].replace("Z", "+00:00")).timestamp() for k in ("now", "scrape"))
    assert 0 <= now - scrape < 15 and scrape % 15 == 0 and body["window"] == 15
    assert [n["name"] for n in body["nodes"]] == ["control-plane", "worker-1", "worker-2"]
    for node in body["nodes"]:
        assert set(node) == {"name", "cpu", "memory", "allocatable"}
        assert 0 < node["cpu"] <= node["allocatable"]["cpu"] and 0 < node["memory"] <= node["allocatable"]["memory"]
    pods = {(p["namespace"], p["name"].rsplit("-", 2)[0] if p["namespace"] == "default" else p["name"]): p
            for p in body["pods"]}
    assert ("kube-system", "kube-apiserver-control-plane") in pods
    php = pods["default", "php-apache"]
    assert set(php) == {"namespace", "name", "node", "cpu", "memory", "requests", "limits"}
    assert php["node"].startswith("worker-") and php["cpu"] >= 0 and php["memory"] > 0
    assert php["requests"] == {"cpu": 200, "memory": None} and php["limits"] == {"cpu": 500, "memory": None}
    assert body["autoscalers"] == [] and body["paused"] is False and body["speed"] == 1
    # The same figures `kubectl top` prints (metrics.k8s.io), per pod.
    assert [(p["namespace"], p["name"]) for p in body["pods"]] == sorted((p["namespace"], p["name"])
                                                                          for p in body["pods"])


def test_an_autoscaler_with_its_replicas_and_utilisation(lab):
    stored = _create(lab, HPA)
    _api(lab, lambda api: api.update(registry.by_path("autoscaling", "v2", "horizontalpodautoscalers"), "default",
                                     "php-apache", {**stored, "status": HPA_STATUS}, subresource="status"))
    body = _get(client_of(lab.owner)).json()
    assert len(body["autoscalers"]) == 1
    hpa = body["autoscalers"][0]
    assert hpa["namespace"] == "default" and hpa["name"] == "php-apache"
    assert hpa["target"] == "Deployment/php-apache" and (hpa["minReplicas"], hpa["maxReplicas"]) == (1, 10)
    assert hpa["metrics"] == [{"type": "Resource", "name": "cpu", "target": 50, "current": 250, "unit": "%"}]
    assert (hpa["currentReplicas"], hpa["desiredReplicas"]) == (1, 5)
    assert hpa["conditions"][0]["type"] == "AbleToScale" and "to 5" in hpa["conditions"][0]["message"]


def test_before_the_first_scrape_there_are_no_figures():
    # Not booted: metrics-server's pod has not started (a booted cluster's may have scraped already).
    fresh = actions.cluster_create(owner=get_user_model().objects.create_user("tess"), name="lab", workers=2,
                                   booted=False)
    body = _get(client_of(fresh.owner)).json()
    assert body["scrape"] is None and body["window"] is None
    assert body["nodes"] == [] and body["pods"] == [] and body["autoscalers"] == []
    assert body["now"].endswith("Z")


def test_only_the_owner_reads_the_figures(lab):
    other = get_user_model().objects.create_user("mallory")
    response = _get(client_of(other))
    assert response.status_code == 404 and response.json() == {"error": 'cluster "lab" not found'}
    signed_out = _get(Client())
    assert signed_out.status_code == 401 and "sign in" in signed_out.json()["error"]
    assert client_of(lab.owner).post("/clusters/lab/metrics").status_code == 405
