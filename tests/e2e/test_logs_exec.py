"""`kubectl logs`, `exec`, `attach` and `run -i` with the real kubectl against a live playground.

The server runs with PLAYGROUND_START_DELAYS=0 (pulls and starts are instant), so pods run within
a reconcile pass or two; simulated time is moved with the real `cluster clock --advance` command.
"""
from __future__ import annotations

import re
import ssl
import subprocess
import threading
import time

import pytest
import yaml

from tests.fixtures import corpus_object

from .conftest import KUBECTL, Kubectl, instant_server


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from instant_server(tmp_path_factory, "logs-exec")


@pytest.fixture(scope="module")
def k(server) -> Kubectl:
    return Kubectl(server.new_cluster("alice", "logs"), server.env)


def wait_for(k: Kubectl, pod: str, condition: str = "Running", timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        shown = k("get", "pod", pod, "--no-headers", check=False)
        if condition in shown:
            return
        time.sleep(0.3)
    raise AssertionError(f"pod {pod} not {condition}: {k('get', 'pod', pod, check=False)}")


@pytest.fixture(scope="module")
def chatty(k) -> str:
    k("run", "chatty", "--image=busybox", "--", "sh", "-c", "echo one; echo two; sleep 3600")
    wait_for(k, "chatty")
    return "chatty"


def test_logs_of_a_running_busybox(k, chatty):
    assert k("logs", chatty) == "one\ntwo\n"
    assert k("logs", chatty, "--tail=1") == "two\n"
    stamped = k("logs", chatty, "--timestamps").splitlines()
    assert len(stamped) == 2
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (one|two)", line) for line in stamped)
    assert k("logs", chatty, "--limit-bytes=5") == "one\nt"


def test_logs_errors(k, chatty):
    assert k.fails("logs", chatty, "--previous").strip() == \
        f'Error from server (BadRequest): previous terminated container "{chatty}" in pod "{chatty}" not found'
    k("run", "unpullable", "--image=registry.example/none/nope:1")
    time.sleep(2)
    error = k.fails("logs", "unpullable").strip()
    assert error.startswith('Error from server (BadRequest): container "unpullable" in pod "unpullable" is '
                            "waiting to start: ")


def test_previous_logs_after_a_crash(k):
    k("run", "crashy", "--image=busybox", "--", "sh", "-c", "echo attempt; sleep 1; echo failing >&2; exit 1")
    deadline = time.time() + 30
    while time.time() < deadline and "CrashLoopBackOff" not in k("get", "pod", "crashy", check=False):
        time.sleep(0.3)
    assert k("logs", "crashy", "--previous") == "attempt\nfailing\n"
    assert k("logs", "crashy").startswith("attempt\n")


def test_follow_receives_a_line_printed_later(k, server):
    k("run", "later", "--image=busybox", "--", "sh", "-c", "echo first; sleep 20; echo second; sleep 5")
    wait_for(k, "later")
    follower = subprocess.Popen([str(KUBECTL), "--kubeconfig", str(k.kubeconfig), "logs", "-f", "later"],
                                env=k.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(follower.stdout), daemon=True)
    reader.start()
    try:
        deadline = time.time() + 10
        while time.time() < deadline and not lines:
            time.sleep(0.1)
        assert lines == ["first\n"]
        server.manage("cluster", "clock", "alice", "logs", "--advance", "30")
        follower.wait(15)   # the container exited: the stream ends, as on a real cluster
        reader.join(5)
    finally:
        follower.kill()
    assert lines == ["first\n", "second\n"]
    assert follower.returncode == 0


def test_logs_of_a_deployment(k):
    k("create", "deployment", "talker", "--image=busybox", "--", "sh", "-c", "echo deployed; sleep 3600")
    deadline = time.time() + 30
    while time.time() < deadline:
        if k("get", "pods", "-l", "app=talker", "--no-headers", check=False).count("Running") == 1:
            break
        time.sleep(0.3)
    assert k("logs", "deploy/talker") == "deployed\n"


@pytest.fixture(scope="module")
def envars(k) -> str:
    manifest = corpus_object("pods__inject__envars.yaml")
    k("apply", "-f", "-", input=yaml.safe_dump(manifest))
    name = manifest["metadata"]["name"]
    wait_for(k, name)
    return name


def test_exec_printenv_shows_the_pod_env(k, envars):
    printed = k("exec", envars, "--", "printenv").splitlines()
    assert "DEMO_GREETING=Hello from the environment" in printed
    assert "DEMO_FAREWELL=Such a sweet sorrow" in printed
    assert f"HOSTNAME={envars}" in printed
    assert k("exec", envars, "--", "printenv", "DEMO_GREETING") == "Hello from the environment\n"


def test_exec_output_and_exit_codes(k, chatty):
    assert "tmp" in k("exec", chatty, "--", "ls", "/").split()
    result = k.run("exec", chatty, "--", "sh", "-c", "echo hi; exit 3", check=False)
    assert (result.returncode, result.stdout) == (3, "hi\n")
    assert result.stderr.strip() == "command terminated with exit code 3"
    result = k.run("exec", chatty, "--", "cat", "/tmp/healthy", check=False)
    assert result.returncode == 1
    assert result.stderr.splitlines() == ["cat: can't open '/tmp/healthy': No such file or directory",
                                          "command terminated with exit code 1"]
    result = k.run("exec", "-i", chatty, "--", "sh", input="echo from stdin\nexit 4\n", check=False)
    assert (result.returncode, result.stdout) == (4, "from stdin\n")


def test_exec_into_a_container_that_is_not_running(k):
    k("run", "waiting", "--image=registry.example/none/nope:1")
    time.sleep(1)
    assert k.fails("exec", "waiting", "--", "ls").strip() == \
        'error: unable to upgrade connection: container not found ("waiting")'
    k("run", "finished", "--restart=Never", "--image=busybox", "--", "sh", "-c", "echo done")
    wait_for(k, "finished", "Completed")
    assert k.fails("exec", "finished", "--", "ls").strip() == \
        "error: cannot exec into a container in a completed pod; current phase is Succeeded"


def test_another_learners_token_is_refused(k, server, chatty):
    bob = yaml.safe_load(server.new_cluster("bob", "own").read_text())
    mine = yaml.safe_load(k.kubeconfig.read_text())
    mine["users"][0]["user"]["token"] = bob["users"][0]["user"]["token"]
    stolen = k.kubeconfig.parent / "stolen.kubeconfig"
    stolen.write_text(yaml.safe_dump(mine))
    thief = Kubectl(stolen, k.env)
    assert "Forbidden" in thief.fails("exec", chatty, "--", "printenv")
    assert "Forbidden" in thief.fails("logs", chatty)
    # The WebSocket itself refuses the handshake (kubectl would then fall back to SPDY and get the Status).
    import websocket

    cluster_id = server.cluster_id(k.kubeconfig)
    url = (f"wss://127.0.0.1:{server.api_port}/clusters/{cluster_id}/api/v1/namespaces/default/pods/{chatty}"
           "/exec?command=printenv&stdout=true")
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(url, subprotocols=["v5.channel.k8s.io"], sslopt={"cert_reqs": ssl.CERT_NONE},
                                    header=[f"Authorization: Bearer {bob['users'][0]['user']['token']}"])
    assert refused.value.status_code == 403
    token = mine and yaml.safe_load(k.kubeconfig.read_text())["users"][0]["user"]["token"]
    socket = websocket.create_connection(url, subprotocols=["v5.channel.k8s.io"],
                                         sslopt={"cert_reqs": ssl.CERT_NONE},
                                         header=[f"Authorization: Bearer {token}"])
    frames = []
    try:
        while True:
            frame = socket.recv()
            if not frame:
                break
            frames.append(frame)
    except websocket.WebSocketConnectionClosedException:
        pass
    assert socket.subprotocol == "v5.channel.k8s.io"
    assert frames[0][:1] == b"\x01" and b"HOSTNAME=chatty" in frames[0]
    assert frames[-1] == b'\x03{"metadata":{},"status":"Success"}'


def test_attach_and_run_interactive(k):
    result = k.run("run", "-i", "--rm", "oneshot", "--restart=Never", "--image=busybox", "--",
                   "sh", "-c", "echo hi", timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "hi"
    result = k.run("run", "-i", "--rm", "twoshot", "--image=busybox", "--",
                   "sh", "-c", "echo hi; sleep 2; echo bye", timeout=60)
    assert result.returncode == 0, result.stderr
    assert "hi" in result.stdout and "bye" in result.stdout
    k("run", "ticker", "--image=busybox", "--", "sh", "-c", "echo a; sleep 2; echo b; sleep 2; echo c")
    wait_for(k, "ticker")
    attached = k.run("attach", "ticker", timeout=30, check=False)
    assert attached.stdout.splitlines()[-1] == "c"
