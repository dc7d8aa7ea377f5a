"""The simulated kubelet on a fake clock: states, events, probes, restarts, deletion."""
from __future__ import annotations

from clusters.engine.kubelet import lifecycle
from clusters.engine.loop import step
from clusters.engine.state import timestamp
from tests.fixtures import corpus_object

from .conftest import T0, new_state, run


def pod(name: str, containers: list[dict], **spec) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
            "spec": {"containers": containers, "nodeName": "worker-1", **spec}}


def corpus_pod(file: str) -> dict:
    found = corpus_object(file)
    found["metadata"].setdefault("namespace", "default")
    found["spec"]["nodeName"] = "worker-1"
    found["spec"].pop("nodeSelector", None)
    return found


def kubelet_only(state, until):
    """Step just the kubelet (other controllers are tested on their own)."""
    results = []
    result = step(state, state.now, controllers=[lifecycle.reconcile])
    state.commit()
    results.append(result)
    for _ in range(5000):
        if result.next_wake is None or result.next_wake > until:
            break
        result = step(state, max(result.next_wake, state.now), controllers=[lifecycle.reconcile])
        state.commit()
        results.append(result)
    state.now = max(state.now, until)
    return results


def events_of(state, name: str) -> list[tuple[str, str]]:
    return [(e["reason"], e["message"]) for e in state.list("Event", "default")
            if e["involvedObject"]["name"] == name]


def container_state(state, name: str) -> dict:
    return state.get("Pod", "default", name)["status"]["containerStatuses"][0]


def test_nginx_pulls_then_runs_and_is_ready():
    state = new_state()
    state.create(pod("web", [{"name": "nginx", "image": "nginx:1.27", "ports": [{"containerPort": 80}]}]))
    kubelet_only(state, T0)
    created = state.get("Pod", "default", "web")
    assert created["status"]["phase"] == "Pending"
    assert container_state(state, "web")["state"] == {"waiting": {"reason": "ContainerCreating"}}
    assert created["status"]["podIP"].startswith("10.244.1.")
    kubelet_only(state, T0 + 30)
    running = state.get("Pod", "default", "web")
    assert running["status"]["phase"] == "Running"
    assert container_state(state, "web")["ready"] is True
    assert {c["type"]: c["status"] for c in running["status"]["conditions"]}["Ready"] == "True"
    reasons = [r for r, _ in events_of(state, "web")]
    assert reasons == ["Pulling", "Pulled", "Created", "Started"]
    assert dict(events_of(state, "web"))["Created"] == "Created container: nginx"


def test_zero_start_delays_run_in_one_pass():
    state = new_state()
    state.config["start_delays"] = False
    state.create(pod("fast", [{"name": "nginx", "image": "nginx:1.27"}]))
    kubelet_only(state, T0)
    assert state.get("Pod", "default", "fast")["status"]["phase"] == "Running"


def test_probes_without_initial_delay_wait_for_the_kubelet_to_see_the_container_running():
    # nginx listens a moment after its container starts; the kubelet probes it only once its relist has seen
    # the container running, so a probe without initialDelaySeconds does not fail with connection refused.
    state = new_state()
    state.config["start_delays"] = False
    probe = {"httpGet": {"path": "/", "port": 80}, "periodSeconds": 5}
    state.create(pod("web", [{"name": "nginx", "image": "nginx:1.27", "readinessProbe": probe,
                              "livenessProbe": {**probe, "httpGet": {"path": "/50x.html", "port": 80}}}]))
    kubelet_only(state, T0)
    started = lifecycle.parse_timestamp(container_state(state, "web")["state"]["running"]["startedAt"])
    assert container_state(state, "web")["ready"] is False
    kubelet_only(state, T0 + 1)
    assert container_state(state, "web")["ready"] is True
    ready = next(c for c in state.get("Pod", "default", "web")["status"]["conditions"] if c["type"] == "Ready")
    assert lifecycle.parse_timestamp(ready["lastTransitionTime"]) - started <= 1
    kubelet_only(state, T0 + 30)
    assert [r for r, _ in events_of(state, "web")] == ["Pulling", "Pulled", "Created", "Started"]  # no Unhealthy


def test_unknown_tag_err_image_pull_then_back_off():
    state = new_state()
    state.create(pod("bad", [{"name": "nginx", "image": "nginx:doesnotexist"}]))
    kubelet_only(state, T0)
    assert container_state(state, "bad")["state"]["waiting"]["reason"] == "ErrImagePull"
    kubelet_only(state, T0 + 5)
    assert container_state(state, "bad")["state"]["waiting"]["reason"] == "ImagePullBackOff"
    messages = [m for _, m in events_of(state, "bad")]
    assert any(m.startswith('Failed to pull image "nginx:doesnotexist"') for m in messages)
    assert 'Back-off pulling image "nginx:doesnotexist"' in messages


def test_missing_configmap_is_create_container_config_error():
    state = new_state()
    state.create(corpus_pod("pods__pod-configmap-envFrom.yaml"))
    kubelet_only(state, T0 + 60)
    name = state.list("Pod", "default")[0]["metadata"]["name"]
    waiting = container_state(state, name)["state"]["waiting"]
    assert waiting["reason"] == "CreateContainerConfigError"
    assert waiting["message"].startswith('configmap "') and waiting["message"].endswith('" not found')


def test_exec_liveness_is_restarted_like_on_a_real_cluster():
    state = new_state()
    state.config["start_delays"] = False
    state.create(corpus_pod("pods__probe__exec-liveness.yaml"))
    # /tmp/healthy exists for the first 30 s; probes every 5 s after an initial 5 s delay.
    kubelet_only(state, T0 + 29)
    assert container_state(state, "liveness-exec")["restartCount"] == 0
    assert not [r for r, _ in events_of(state, "liveness-exec") if r == "Unhealthy"]
    kubelet_only(state, T0 + 41)  # the third consecutive failure (30, 35, 40 s) decides
    events = events_of(state, "liveness-exec")
    assert ("Unhealthy", "Liveness probe failed: cat: can't open '/tmp/healthy': No such file or directory") in events
    assert ("Killing", "Container liveness failed liveness probe, will be restarted") in events
    # sh as PID 1 ignores SIGTERM: the container stops at the end of the 30 s grace period.
    kubelet_only(state, T0 + 69)
    assert container_state(state, "liveness-exec")["restartCount"] == 0
    # Meanwhile it still runs and, having no readiness probe, stays Ready (kubectl: 1/1 Running 0).
    assert container_state(state, "liveness-exec")["ready"] is True
    assert "running" in container_state(state, "liveness-exec")["state"]
    kubelet_only(state, T0 + 71)
    assert container_state(state, "liveness-exec")["restartCount"] == 1
    assert container_state(state, "liveness-exec")["lastState"]["terminated"]["exitCode"] == 137


def test_a_late_pass_replays_the_restart_at_its_instant():
    """The clock jumped (`cluster clock --advance`): the restart happened when it was due, not at the pass."""
    state = new_state()
    state.config["start_delays"] = False
    state.create(corpus_pod("pods__probe__exec-liveness.yaml"))
    kubelet_only(state, T0 + 50)   # killed at 40 s; SIGKILL at 70 s
    step(state, T0 + 80, controllers=[lifecycle.reconcile])
    status = container_state(state, "liveness-exec")
    assert status["restartCount"] == 1
    assert status["state"]["running"]["startedAt"] == timestamp(T0 + 70)
    assert status["lastState"]["terminated"]["finishedAt"] == timestamp(T0 + 70)


def test_http_liveness_agnhost_restarts():
    state = new_state()
    state.config["start_delays"] = False
    state.create(corpus_pod("pods__probe__http-liveness.yaml"))
    kubelet_only(state, T0 + 30)
    name = state.list("Pod", "default")[0]["metadata"]["name"]
    events = events_of(state, name)
    assert ("Unhealthy", "Liveness probe failed: HTTP probe failed with statuscode: 500") in events
    assert container_state(state, name)["restartCount"] >= 1


def test_exit_code_and_never_restart():
    state = new_state()
    state.config["start_delays"] = False
    state.create(pod("once", [{"name": "job", "image": "busybox:1.36", "command": ["sh", "-c", "echo hi; exit 3"]}],
                     restartPolicy="Never"))
    kubelet_only(state, T0 + 5)
    done = state.get("Pod", "default", "once")
    assert done["status"]["phase"] == "Failed"
    assert container_state(state, "once")["state"]["terminated"]["exitCode"] == 3
    assert container_state(state, "once")["state"]["terminated"]["reason"] == "Error"


def test_crash_loop_back_off_doubles():
    state = new_state()
    state.config["start_delays"] = False
    state.create(pod("crash", [{"name": "c", "image": "busybox:1.36", "command": ["sh", "-c", "exit 1"]}]))
    kubelet_only(state, T0 + 1)
    assert container_state(state, "crash")["restartCount"] == 1
    kubelet_only(state, T0 + 9)
    status = container_state(state, "crash")
    assert status["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert status["restartCount"] == 1
    kubelet_only(state, T0 + 11)
    assert container_state(state, "crash")["restartCount"] == 2
    kubelet_only(state, T0 + 29)
    assert container_state(state, "crash")["restartCount"] == 2
    kubelet_only(state, T0 + 32)
    assert container_state(state, "crash")["restartCount"] == 3


def test_graceful_deletion_removes_the_pod_after_its_containers_stop():
    state = new_state()
    state.config["start_delays"] = False
    state.create(pod("bye", [{"name": "nginx", "image": "nginx:1.27"}]))
    kubelet_only(state, T0 + 1)
    doomed = state.get("Pod", "default", "bye")
    doomed["metadata"]["deletionTimestamp"] = timestamp(T0 + 31)
    doomed["metadata"]["deletionGracePeriodSeconds"] = 30
    state.update(doomed)
    state.commit()
    kubelet_only(state, T0 + 3)
    assert state.get("Pod", "default", "bye") is None
    assert ("Killing", "Stopping container nginx") in events_of(state, "bye")


def test_init_containers_run_in_order():
    state = new_state()
    state.config["start_delays"] = False
    state.create(pod("init", [{"name": "app", "image": "nginx:1.27"}], initContainers=[
        {"name": "first", "image": "busybox:1.36", "command": ["sh", "-c", "sleep 5"]},
        {"name": "second", "image": "busybox:1.36", "command": ["sh", "-c", "sleep 5"]}]))
    kubelet_only(state, T0 + 1)
    status = state.get("Pod", "default", "init")["status"]
    assert status["phase"] == "Pending"
    assert "running" in status["initContainerStatuses"][0]["state"]
    assert "waiting" in status["initContainerStatuses"][1]["state"]
    kubelet_only(state, T0 + 12)
    status = state.get("Pod", "default", "init")["status"]
    assert status["phase"] == "Running"
    assert all(s["state"]["terminated"]["exitCode"] == 0 for s in status["initContainerStatuses"])


def test_full_loop_runs_kubelet_with_others():
    state = new_state()
    state.config["start_delays"] = False
    state.create(pod("all", [{"name": "nginx", "image": "nginx:1.27"}]))
    run(state, T0 + 1)
    assert state.get("Pod", "default", "all")["status"]["phase"] == "Running"
