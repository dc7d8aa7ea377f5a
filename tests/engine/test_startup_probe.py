"""A startup probe holds the liveness and readiness probes back until it succeeds (pkg/kubelet/prober/worker.go
doProbe: the other probes are skipped while the container has not started), and they never probe the past.

The thresholds are those of kubernetes.io "Configure Liveness, Readiness and Startup Probes", "Protect
slow starting containers with startup probes": startupProbe failureThreshold 30 × periodSeconds 10 (5 minutes
to start), livenessProbe failureThreshold 1, periodSeconds 10 on the same check. After the startup probe's
success, the liveness worker probes at its next tick (a period later); the readiness probe is triggered at
once by the status update that marks the container started (prober_manager.go UpdatePodStatus).
"""
from __future__ import annotations

from clusters.engine.state import parse_timestamp

from .conftest import T0, new_state
from .test_kubelet import container_state, events_of, kubelet_only, pod

STARTED = {"exec": {"command": ["cat", "/tmp/started"]}}
SLOW_APP = ["sh", "-c", "sleep 60; touch /tmp/started; sleep 3600"]     # ready to serve a minute after its start


def slow_pod(**probes) -> dict:
    return pod("slow", [{"name": "app", "image": "busybox", "command": SLOW_APP,
                         "startupProbe": {**STARTED, "failureThreshold": 30, "periodSeconds": 10}, **probes}])


def unhealthy(state, label: str) -> list[dict]:
    return [e for e in state.list("Event", "default")
            if e["reason"] == "Unhealthy" and e["message"].startswith(f"{label} probe failed")]


def test_a_slow_starting_container_is_not_killed_by_its_liveness_probe():
    state = new_state()
    state.config["start_delays"] = False
    state.create(slow_pod(livenessProbe={**STARTED, "failureThreshold": 1, "periodSeconds": 10}))
    kubelet_only(state, T0 + 600)
    status = container_state(state, "slow")
    assert status["restartCount"] == 0 and status["started"] is True and status["ready"] is True
    # Six startup checks failed (1, 11, … 51 s), the seventh (61 s) succeeded; the liveness probe never failed.
    assert [e["count"] for e in unhealthy(state, "Startup")] == [6]
    assert unhealthy(state, "Liveness") == []
    assert "Killing" not in [reason for reason, _ in events_of(state, "slow")]
    record = state.sim(state.get("Pod", "default", "slow"))["c"]["app"]
    assert record["probes"]["startupProbe"]["at"] == T0 + 61
    assert record["probes"]["livenessProbe"]["next"] > state.now - 10     # probed every period since 71 s


def test_the_liveness_probe_takes_over_a_period_after_the_start():
    # Once started, the app stops answering at 100 s: the liveness probe (first at 71 s, then every 10 s)
    # kills it at its first failure, 101 s.
    state = new_state()
    state.config["start_delays"] = False
    app = ["sh", "-c", "sleep 60; touch /tmp/started; sleep 40; rm /tmp/started; sleep 3600"]
    spec = slow_pod(livenessProbe={**STARTED, "failureThreshold": 1, "periodSeconds": 10})
    spec["spec"]["containers"][0]["command"] = app
    state.create(spec)
    kubelet_only(state, T0 + 100.5)
    assert unhealthy(state, "Liveness") == []
    kubelet_only(state, T0 + 102)
    [failed] = unhealthy(state, "Liveness")
    assert parse_timestamp(failed["firstTimestamp"]) == T0 + 101
    assert ("Killing", "Container app failed liveness probe, will be restarted") in events_of(state, "slow")


def test_the_readiness_probe_runs_once_the_container_has_started_never_before():
    state = new_state()
    state.config["start_delays"] = False
    state.create(slow_pod(readinessProbe={**STARTED, "periodSeconds": 10}))
    kubelet_only(state, T0 + 60)
    assert container_state(state, "slow")["ready"] is False
    kubelet_only(state, T0 + 62)
    assert container_state(state, "slow")["ready"] is True                 # at the startup probe's success
    ready = next(c for c in state.get("Pod", "default", "slow")["status"]["conditions"] if c["type"] == "Ready")
    assert parse_timestamp(ready["lastTransitionTime"]) == T0 + 61
    assert unhealthy(state, "Readiness") == []                              # no check while it was starting
