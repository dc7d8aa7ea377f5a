"""Which pods the kubelet leaves alone (lifecycle.reconcile's quiet marks), and that it never leaves one that has
something to do: a pod nobody wrote since it synced it, with nothing due, is skipped; one whose programs asked
the network is skipped only while the same questions get the same answers.

The two tutorials that wait on the network: the init-containers page (`until nslookup myservice…`, also in
test_network_dns.py) and the HorizontalPodAutoscaler walkthrough's load generator
(`while sleep 0.01; do wget -q -O- http://php-apache; done`).
"""
from __future__ import annotations

import pytest

from clusters.engine.kubelet import lifecycle
from tests.engine.conftest import apply, run
from tests.engine.network_helpers import cluster, deployment, run_pod, service

LOAD = ["/bin/sh", "-c", "while sleep 0.01; do wget -q -O- http://web; done"]


@pytest.fixture
def syncs(monkeypatch) -> list[str]:
    """The names of the pods the kubelet syncs, in order."""
    calls: list[str] = []
    original = lifecycle.PodWorker.sync

    def counted(worker):
        calls.append(worker.pod["metadata"]["name"])
        return original(worker)

    monkeypatch.setattr(lifecycle.PodWorker, "sync", counted)
    return calls


def web(replicas: int = 2) -> list[dict]:
    return [deployment("web", "nginx", replicas), service("web", "10.96.40.1", [{"port": 80}])]


def test_a_pod_synced_once_per_step_however_many_passes_it_takes(syncs):
    """A step's later passes run the kubelet again for what the other controllers wrote (EndpointSlices,
    the ReplicaSet's status): the pods it has just synced are not synced again."""
    state = cluster(until=1)
    syncs.clear()
    apply(state, deployment("web", "nginx", 3))
    results = run(state, state.now)   # one step: the pods created, scheduled and started at this instant
    assert sum(result.passes for result in results) > 2
    web_pods = [name for name in syncs if name.startswith("web-")]
    assert len(web_pods) == len(set(web_pods)) == 3
    assert all(p["status"]["phase"] == "Running" for p in state.list("Pod", "default"))


def test_a_request_loop_is_not_replayed_while_its_answers_stay_the_same(syncs):
    state = cluster(*web(), run_pod("load-generator", "busybox:1.28", LOAD), until=20)
    mark = state.sim(state.get("Pod", "default", "load-generator"))["quiet"]
    assert [question[0] for question in mark[2]] == ["lookup", "request"]   # `web` resolved, then asked
    # Its mark was made when nginx was starting (connection refused until it listens): the next time the
    # kubelet runs, the answers it met then have changed, and it is replayed once.
    apply(state, run_pod("first", "busybox:1.28", ["sleep", "3600"]))
    run(state, state.now + 30)
    assert "load-generator" in syncs
    syncs.clear()
    # The kubelet runs again (a pod comes), and the loop meets the same network: it is not replayed.
    apply(state, run_pod("other", "busybox:1.28", ["sleep", "3600"]))
    run(state, state.now + 30)
    assert "other" in syncs and "load-generator" not in syncs
    # Its answers change (the Service goes: `wget: bad address 'web'`): it is synced again.
    state.delete(state.get("Service", "default", "web"))
    run(state, state.now + 1)
    assert "load-generator" in syncs


@pytest.mark.parametrize("meanwhile", [False, True], ids=["alone", "another-pod-meanwhile"])
def test_a_loop_waiting_for_a_service_ends_when_it_answers(meanwhile):
    """`until wget …; do sleep 1; done`, as a Job's pod waits for a dependency: it ends when the Service has
    a ready backend, however long it has been left alone before."""
    waiter = run_pod("waiter", "busybox:1.28", ["/bin/sh", "-c", "until wget -q -O- http://web; do sleep 1; done"])
    state = cluster(waiter, until=20)
    if meanwhile:
        apply(state, run_pod("other", "busybox:1.28", ["sleep", "3600"]))
        run(state, state.now + 20)
    assert state.get("Pod", "default", "waiter")["status"]["phase"] == "Running"
    for obj in web():
        apply(state, obj)
    run(state, state.now + 30)
    assert state.get("Pod", "default", "waiter")["status"]["phase"] == "Succeeded"


def test_a_program_asking_too_many_questions_is_synced_at_every_run(syncs):
    """More distinct questions than a mark keeps (a loop over many names): no mark, so every kubelet run
    replays it, as before marks knew about the network."""
    script = "for i in $(seq 1 40); do nslookup name-$i; done; sleep 3600"
    state = cluster(run_pod("many", "busybox:1.28", ["/bin/sh", "-c", script]), until=20)
    assert "quiet" not in state.sim(state.get("Pod", "default", "many"))
    syncs.clear()
    apply(state, run_pod("other", "busybox:1.28", ["sleep", "3600"]))
    run(state, state.now + 5)
    assert "many" in syncs
