"""`kubectl logs` / `kubectl exec` against simulated containers: pure replays on the fake clock."""
from __future__ import annotations

import pytest

from clusters.engine.kubelet import logs
from clusters.engine.kubelet.logs import ContainerError, ContainerNotFound, container_logs, exec_in_container

from .conftest import T0, new_state, run


def pod(name: str, containers: list[dict], **spec) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
            "spec": {"containers": containers, "nodeName": "worker-1", **spec}}


def busybox(name: str, script: str, **extra) -> dict:
    return {"name": name, "image": "busybox", "command": ["sh", "-c", script], **extra}


def fast_state():
    state = new_state()
    state.config["start_delays"] = False
    return state


def texts(log: logs.ContainerLog) -> list[str]:
    return [line.text for line in log.lines]


def get(state, name: str) -> dict:
    return state.get("Pod", "default", name)


def test_lines_of_the_running_container_grow_with_time():
    state = fast_state()
    state.create(pod("web", [busybox("c", "echo one; echo two; sleep 10; echo three; sleep 3600")]))
    run(state, T0 + 1)
    log = container_logs(state, get(state, "web"), None)
    assert texts(log) == ["one", "two"]
    assert log.running and not log.ended and log.attempt == 0
    assert all(line.stream == "stdout" for line in log.lines)
    state.now = T0 + 20  # no kubelet pass needed: the output is a replay up to now
    assert texts(container_logs(state, get(state, "web"), "c")) == ["one", "two", "three"]


def test_stderr_lines_are_marked():
    state = fast_state()
    state.create(pod("err", [busybox("c", "echo out; echo bad >&2; sleep 3600")]))
    run(state, T0 + 1)
    log = container_logs(state, get(state, "err"), None)
    assert [(line.stream, line.text) for line in log.lines] == [("stdout", "out"), ("stderr", "bad")]


def test_waiting_container_has_the_kubelet_message():
    state = new_state()  # with start delays: the image is still being pulled
    state.create(pod("web", [{"name": "nginx", "image": "nginx:1.27"}]))
    run(state, T0)
    with pytest.raises(ContainerError) as error:
        container_logs(state, get(state, "web"), "nginx")
    assert str(error.value) == 'container "nginx" in pod "web" is waiting to start: ContainerCreating'
    with pytest.raises(ContainerError) as error:
        container_logs(state, get(state, "web"), "nginx", previous=True)
    assert str(error.value) == 'previous terminated container "nginx" in pod "web" not found'


def test_image_pull_failures_have_their_own_messages():
    state = fast_state()
    state.create(pod("bad", [{"name": "app", "image": "does-not-exist.example/nope:1"}]))
    run(state, T0 + 2)
    with pytest.raises(ContainerError) as error:
        container_logs(state, get(state, "bad"), None)
    assert str(error.value).startswith('container "app" in pod "bad" is waiting to start: ')
    assert str(error.value).endswith(("image can't be pulled", "trying and failing to pull image"))


def test_container_name_checks():
    state = fast_state()
    state.create(pod("two", [busybox("a", "sleep 3600"), busybox("b", "sleep 3600")],
                     initContainers=[busybox("init", "true")]))
    run(state, T0 + 1)
    with pytest.raises(ContainerError) as error:
        container_logs(state, get(state, "two"), None)
    assert str(error.value) == "a container name must be specified for pod two, choose one of: [init a b]"
    with pytest.raises(ContainerError) as error:
        container_logs(state, get(state, "two"), "x")
    assert str(error.value) == "container x is not valid for pod two"


def test_previous_attempt_after_a_crash():
    state = fast_state()
    state.create(pod("crash", [busybox("c", "echo starting; sleep 2; echo dying >&2; exit 1")]))
    run(state, T0 + 3)  # exited at T0+2, restarted at once
    current = container_logs(state, get(state, "crash"), None)
    previous = container_logs(state, get(state, "crash"), None, previous=True)
    assert current.attempt == 1 and texts(current) == ["starting"]
    assert previous.attempt == 0 and texts(previous) == ["starting", "dying"] and previous.ended
    assert previous.lines[0].time < current.lines[0].time


def test_crash_loop_back_off_serves_the_last_terminated_attempt():
    state = fast_state()
    state.create(pod("loop", [busybox("c", "echo hello; exit 2")]))
    run(state, T0 + 5)  # two quick exits: waiting in CrashLoopBackOff
    status = get(state, "loop")["status"]["containerStatuses"][0]
    assert status["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    log = container_logs(state, get(state, "loop"), None)
    assert texts(log) == ["hello"] and log.ended and not log.running
    assert texts(container_logs(state, get(state, "loop"), None, previous=True)) == ["hello"]


def test_completed_container_keeps_its_logs():
    state = fast_state()
    state.create(pod("job", [busybox("c", "echo done")], restartPolicy="Never"))
    run(state, T0 + 5)
    assert get(state, "job")["status"]["phase"] == "Succeeded"
    log = container_logs(state, get(state, "job"), None)
    assert texts(log) == ["done"] and log.ended
    with pytest.raises(ContainerError):
        container_logs(state, get(state, "job"), None, previous=True)


def test_unscheduled_pod_has_empty_logs():
    state = fast_state()
    unbound = pod("pending", [busybox("c", "echo hi")])
    del unbound["spec"]["nodeName"]
    state.create(unbound)
    log = container_logs(state, get(state, "pending"), None)
    assert log.lines == [] and log.ended


def test_server_image_startup_logs():
    state = fast_state()
    state.create(pod("web", [{"name": "nginx", "image": "nginx:1.27"}]))
    run(state, T0 + 2)
    log = container_logs(state, get(state, "web"), None)
    assert log.lines, "nginx prints its startup lines"
    assert log.running


def test_exec_sees_env_and_files():
    state = fast_state()
    state.create(pod("envars", [busybox("c", "touch /tmp/healthy; sleep 3600",
                                        env=[{"name": "DEMO_GREETING", "value": "Hello from the environment"}])]))
    run(state, T0 + 2)
    code, out, err = exec_in_container(state, get(state, "envars"), None, ["printenv", "DEMO_GREETING"])
    assert (code, out, err) == (0, "Hello from the environment\n", "")
    code, out, _ = exec_in_container(state, get(state, "envars"), "c", ["cat", "/tmp/healthy"])
    assert code == 0 and out == ""
    code, out, err = exec_in_container(state, get(state, "envars"), "c", ["cat", "/tmp/nope"])
    assert code == 1 and err.startswith("cat: can't open '/tmp/nope'")
    code, out, _ = exec_in_container(state, get(state, "envars"), "c", ["sh", "-c", "echo hi; exit 3"])
    assert (code, out) == (3, "hi\n")


def test_exec_refused_when_not_running():
    state = new_state()
    state.create(pod("web", [{"name": "nginx", "image": "nginx:1.27"}]))
    run(state, T0)
    with pytest.raises(ContainerNotFound) as error:
        exec_in_container(state, get(state, "web"), None, ["ls"])
    assert str(error.value) == 'container not found ("nginx")'
    state = fast_state()
    unbound = pod("pending", [busybox("c", "sleep 3600")])
    del unbound["spec"]["nodeName"]
    state.create(unbound)
    with pytest.raises(ContainerError) as error:
        exec_in_container(state, get(state, "pending"), None, ["ls"])
    assert str(error.value) == "pod pending does not have a host assigned"


def test_exec_into_an_exited_container_is_refused():
    state = fast_state()
    state.create(pod("job", [busybox("c", "echo done")], restartPolicy="Never"))
    run(state, T0 + 5)
    with pytest.raises(ContainerNotFound):
        exec_in_container(state, get(state, "job"), None, ["ls"])
