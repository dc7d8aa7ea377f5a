"""One learner hammers a full ResourceQuota; another learner on the same server does not notice.

Learner `hammer` has a ResourceQuota (pods: 10, requests.cpu: 1) filled by a Deployment of 10 pods, which is
then scaled far beyond it, so its ReplicaSet keeps failing to create pods. Meanwhile HAMMERS threads create
pods as fast as the API answers (each refused with 403 Forbidden `exceeded quota`), and one deletes a pod
now and then (no grace period), so that a slot opens and the threads and the ReplicaSet controller race for
it. Learner `calm` meanwhile writes ConfigMaps and scales a Deployment through the same server and worker.

What must hold:

* the quota is never exceeded: no more pods exist than it allows, at any sample and at the end, whatever
  won each race for a freed slot (the API's admission and its write are one transaction under the
  cluster's lock; a reconcile pass commits only if the cluster did not move since it read it);
* every refusal is the Forbidden Status with the quota's message (no 409 or 500 from the contention);
* the quota's status.used is exactly what exists once things settle;
* the ReplicaSet's FailedCreate Events stay aggregated, as upstream's event correlator makes them: at most
  10 similar ones, then one "(combined from similar events)" Event whose count grows — not yet so: a strict
  xfail until clusters/engine/state.py aggregates similar Events;
* nothing of `calm`'s is refused or lost, its Deployment converges, and its requests are not starved: its
  p95 latency is printed, with only a generous bound (STARVATION_P95_SECONDS) asserted. Timing targets
  belong to bench/, not here.
"""
from __future__ import annotations

import random
import statistics
import threading
import time
from dataclasses import dataclass

import pytest

from tests import live_server
from tests.integration import faults

HAMMERS = 3
HAMMER_SECONDS = 25
QUOTA_PODS = 10
STARVATION_P95_SECONDS = 2.0
PODS = "/api/v1/namespaces/default/pods"
DEPLOYMENTS = "/apis/apps/v1/namespaces/default/deployments"
CONFIGMAPS = "/api/v1/namespaces/default/configmaps"
CPU = {"requests": {"cpu": "100m"}}


@pytest.fixture(scope="module")
def classroom(tmp_path_factory) -> live_server.LiveServer:
    server = live_server.start(tmp_path_factory.mktemp("quota-hammer"), backend="postgres", celery=True,
                               extra_env={"PLAYGROUND_START_DELAYS": "0", "PLAYGROUND_LEASE_SECONDS": "3"})
    try:
        yield server
    finally:
        server.stop()


def deployment(name: str, replicas: int) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}}, "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": "nginx:1.27", "resources": CPU}]}}}}


def millicores(quantity: str) -> int:
    return int(quantity[:-1]) if quantity.endswith("m") else int(float(quantity) * 1000)


def live_pods(api: faults.Api, app: str | None = None) -> list[dict]:
    params = {"labelSelector": f"app={app}"} if app else {}
    return api.call("GET", PODS, params=params)["items"]


def running(api: faults.Api, app: str, want: int) -> bool:
    pods = live_pods(api, app)
    return len(pods) == want and all((p.get("status") or {}).get("phase") == "Running"
                                     and not p["metadata"].get("deletionTimestamp") for p in pods)


class Hammer(threading.Thread):
    """Creates bare pods without pause; counts answers by status."""

    def __init__(self, api: faults.Api, index: int, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.api, self.index, self.stop = api, index, stop
        self.refused = 0
        self.created: list[str] = []
        self.wrong: list[str] = []

    def run(self) -> None:
        serial = 0
        while not self.stop.is_set():
            serial += 1
            name = f"hammer-{self.index}-{serial}"
            response = self.api.request("POST", PODS, json={
                "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                "spec": {"containers": [{"name": "c", "image": "nginx:1.27", "resources": CPU}]}})
            if response.status_code == 201:
                self.created.append(name)
            elif response.status_code == 403 and response.json().get("reason") == "Forbidden" \
                    and "exceeded quota: team" in response.json().get("message", ""):
                self.refused += 1
            else:
                self.wrong.append(f"{response.status_code} {response.text[:300]}")


class Calm(threading.Thread):
    """The other learner: ConfigMaps created and changed, a Deployment scaled; every latency recorded."""

    def __init__(self, api: faults.Api, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.api, self.stop = api, stop
        self.latencies: list[float] = []
        self.failures: list[str] = []
        self.configmaps: list[str] = []
        self.replicas = 2

    def _timed(self, method: str, path: str, **kwargs) -> None:
        started = time.perf_counter()
        response = self.api.request(method, path, **kwargs)
        self.latencies.append(time.perf_counter() - started)
        if not response.ok:
            self.failures.append(f"{method} {path}: {response.status_code} {response.text[:300]}")

    def run(self) -> None:
        rng = random.Random(3)
        serial = 0
        while not self.stop.is_set():
            serial += 1
            if serial % 4 == 0:
                self.replicas = rng.randint(1, 4)
                self._timed("PATCH", f"{DEPLOYMENTS}/steady", json={"spec": {"replicas": self.replicas}},
                            headers={"Content-Type": "application/merge-patch+json"})
            elif serial % 4 == 1:
                name = f"cm-{serial}"
                self._timed("POST", CONFIGMAPS, json={"metadata": {"name": name}, "data": {"n": str(serial)}})
                self.configmaps.append(name)
            else:
                self._timed("GET", PODS)
            time.sleep(0.1)


@dataclass
class Hammered:
    """What the hammering left, for the tests below."""

    hammered: faults.Api
    calm_api: faults.Api
    hammers: list[Hammer]
    calm: Calm
    most: int
    deleted: int


@pytest.fixture(scope="module")
def hammering(classroom, tmp_path_factory) -> Hammered:
    tmp = tmp_path_factory.mktemp("quota-hammer-clients")
    hammered = faults.Api(classroom.new_cluster("hammer", "lab"), tmp)
    calm_api = faults.Api(classroom.new_cluster("calm", "lab"), tmp)
    hammered.call("POST", "/api/v1/namespaces/default/resourcequotas", json={
        "apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "team"},
        "spec": {"hard": {"pods": str(QUOTA_PODS), "requests.cpu": "1"}}})
    hammered.call("POST", DEPLOYMENTS, json=deployment("fill", QUOTA_PODS))
    calm_api.call("POST", DEPLOYMENTS, json=deployment("steady", 2))
    faults.wait_until(lambda: running(hammered, "fill", QUOTA_PODS), 60, "the quota was not filled")

    # Far beyond the quota: the ReplicaSet fails to create the other 30 pods, again and again.
    hammered.patch(f"{DEPLOYMENTS}/fill", {"spec": {"replicas": 40}})
    stop = threading.Event()
    hammers = [Hammer(hammered, i, stop) for i in range(HAMMERS)]
    calm = Calm(calm_api, stop)
    for thread in (*hammers, calm):
        thread.start()
    rng = random.Random(11)
    most, deleted = 0, 0
    deadline = time.monotonic() + HAMMER_SECONDS
    try:
        while time.monotonic() < deadline:
            pods = live_pods(hammered)
            most = max(most, len(pods))
            if pods and rng.random() < 0.5:   # a slot opens: who gets it?
                victim = rng.choice(pods)["metadata"]["name"]
                response = hammered.request("DELETE", f"{PODS}/{victim}", json={"gracePeriodSeconds": 0})
                assert response.status_code in (200, 404), response.text
                deleted += response.status_code == 200
            time.sleep(0.3)
    finally:
        stop.set()
        for thread in (*hammers, calm):
            thread.join(60)
    return Hammered(hammered, calm_api, hammers, calm, most, deleted)


def quota_status(api: faults.Api) -> dict:
    return api.call("GET", "/api/v1/namespaces/default/resourcequotas/team").get("status") or {}


def failed_creates(api: faults.Api) -> list[dict]:
    """The FailedCreate Events of the `fill` Deployment's ReplicaSet."""
    sets = [r for r in api.call("GET", "/apis/apps/v1/namespaces/default/replicasets")["items"]
            if r["metadata"]["name"].startswith("fill-")]
    assert len(sets) == 1, [r["metadata"]["name"] for r in sets]
    return [e for e in api.call("GET", "/api/v1/namespaces/default/events")["items"]
            if e["involvedObject"].get("uid") == sets[0]["metadata"]["uid"] and e["reason"] == "FailedCreate"]


def test_hammered_quota_holds_and_the_other_learner_is_not_starved(hammering):
    hammered, calm, hammers = hammering.hammered, hammering.calm, hammering.hammers
    for hammer in hammers:
        assert not hammer.wrong, hammer.wrong[:5]
    assert not calm.failures, calm.failures[:5]
    assert hammering.most <= QUOTA_PODS, f"{hammering.most} pods existed under a quota of {QUOTA_PODS}"

    # Settled: the quota full again (the ReplicaSet takes what the hammers left), its status exact.
    def settled() -> bool:
        pods = live_pods(hammered)
        used = quota_status(hammered).get("used") or {}
        cpu = sum(millicores(p["spec"]["containers"][0]["resources"]["requests"]["cpu"]) for p in pods)
        return len(pods) == QUOTA_PODS and used.get("pods") == str(len(pods)) \
            and millicores(used.get("requests.cpu", "0")) == cpu

    faults.wait_until(settled, 60, lambda: f"quota status not settled: {quota_status(hammered)}, "
                      f"{len(live_pods(hammered))} pods")
    created = {name for hammer in hammers for name in hammer.created}
    names = {p["metadata"]["name"] for p in live_pods(hammered)}
    assert len(names) == QUOTA_PODS and all(n.startswith("fill-") or n in created for n in names), names

    # The other learner: everything there, the Deployment converged.
    faults.wait_until(lambda: running(hammering.calm_api, "steady", calm.replicas), 60,
                      lambda: f"calm's Deployment did not converge to {calm.replicas}")
    configmaps = {c["metadata"]["name"] for c in hammering.calm_api.call("GET", CONFIGMAPS)["items"]}
    assert set(calm.configmaps) <= configmaps
    latencies = sorted(calm.latencies)
    p95 = latencies[int(0.95 * (len(latencies) - 1))]
    events = failed_creates(hammered)
    print(f"{sum(h.refused for h in hammers)} creates refused, {len(created)} accepted in {hammering.deleted} "
          f"freed slots, at most {hammering.most} pods; {len(events)} FailedCreate Event(s) for "
          f"{sum(int(e.get('count') or 1) for e in events)} refusals; the other learner: {len(latencies)} requests, "
          f"median {statistics.median(latencies) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
          f"max {latencies[-1] * 1000:.0f} ms")
    assert p95 < STARVATION_P95_SECONDS, f"the other learner's p95 {p95:.2f}s: starved"


def test_refused_creates_are_aggregated_into_few_events(hammering):
    """Upstream's EventCorrelator combines similar events (same object, type and reason) after 10 within
    10 minutes into one '(combined from similar events): …' Event whose count grows."""
    events = failed_creates(hammering.hammered)
    refusals = sum(int(e.get("count") or 1) for e in events)
    assert refusals > 11, f"only {refusals} refusals: too few to tell"
    assert events and len(events) <= 11 and refusals > len(events), \
        f"{len(events)} FailedCreate Events for {refusals} refusals: {[e['message'] for e in events[:3]]}"
