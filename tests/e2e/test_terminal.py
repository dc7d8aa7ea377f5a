"""The browser terminal against a live server: a logged-in learner's WebSocket runs the real kubectl
against their own cluster (clusters/web/PAGE.md, "Terminal"), and the object details view prints with it.

The module has a server of its own with small limits (output, watch time), so the limits are quick to hit.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import requests
import websocket

from tests import live_server

pytestmark = pytest.mark.e2e

OUTPUT_LIMIT = 64 * 1024
STREAM_SECONDS = 6
WEB_YAML = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: nginx, image: "nginx:1.27"}]
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = live_server.start(tmp_path_factory.mktemp("terminal"), extra_env={
        "PLAYGROUND_TERMINAL_OUTPUT_BYTES": str(OUTPUT_LIMIT),
        "PLAYGROUND_TERMINAL_STREAM_SECONDS": str(STREAM_SECONDS),
        "PLAYGROUND_START_DELAYS": "0"})
    try:
        # mallory has a cluster of her own, but not one called "lab": that one is tess's.
        for user, cluster in (("tess", "lab"), ("mallory", "sandbox")):
            server.new_cluster(user, cluster)
            server.manage("shell", "-c", "from django.contrib.auth import get_user_model as m; "
                          f"u = m().objects.get(username='{user}'); u.set_password('pw-{user}'); u.save()")
        # The editor's file, as the files API would save it.
        server.manage("shell", "-c", "from clusters.models import Cluster, ManifestFile; "
                      "c = Cluster.objects.get(owner__username='tess', name='lab'); "
                      f"ManifestFile.objects.create(cluster=c, name='web.yaml', text={WEB_YAML!r})")
        yield server
    finally:
        server.stop()


def login(server, user: str) -> requests.Session:
    session = requests.Session()
    session.get(f"{server.http_url}/accounts/login/").raise_for_status()
    answer = session.post(f"{server.http_url}/accounts/login/", data={
        "username": user, "password": f"pw-{user}", "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        allow_redirects=False)
    assert answer.status_code == 302, answer.text
    return session


def kubectl_children(server) -> list[int]:
    """The server's child processes that are kubectl (the terminal's, started in sessions of their own)."""
    pids = []
    for children in Path(f"/proc/{server.process.pid}/task").glob("*/children"):
        pids += [int(pid) for pid in children.read_text().split()]
    return [pid for pid in pids if Path(f"/proc/{pid}/comm").exists()
            and Path(f"/proc/{pid}/comm").read_text().strip() == "kubectl"]


def token_count(server, user: str) -> int:
    out = server.manage("shell", "-c", "from clusters.models import ClusterToken; "
                        f"print(ClusterToken.objects.filter(cluster__owner__username='{user}').count())").stdout
    return int(out.split()[-1])


def wait_for(check, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while not (result := check()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return result


class Terminal:
    def __init__(self, server, session: requests.Session, cluster: str = "lab"):
        url = server.http_url.replace("http://", "ws://") + f"/clusters/{cluster}/terminal"
        self.ws = websocket.create_connection(url, cookie=f"sessionid={session.cookies['sessionid']}",
                                              origin=server.http_url, timeout=30)
        self.next_id = 0

    def send(self, message: dict) -> None:
        self.ws.send(json.dumps(message))

    def start(self, line: str, **extra) -> int:
        self.next_id += 1
        self.send({"type": "run", "id": self.next_id, "line": line, **extra})
        return self.next_id

    def until_exit(self, run_id: int, *, on_output=None) -> tuple[str, dict]:
        output = []
        while True:
            message = json.loads(self.ws.recv())
            assert message["id"] == run_id, message
            if message["type"] == "exit":
                return "".join(output), message
            output.append(message["data"])
            if on_output:
                on_output("".join(output))

    def run(self, line: str, **extra) -> tuple[str, dict]:
        return self.until_exit(self.start(line, **extra))

    def close(self) -> None:
        self.ws.close()


@pytest.fixture(scope="module")
def tess(server) -> requests.Session:
    return login(server, "tess")


@pytest.fixture
def terminal(server, tess):
    term = Terminal(server, tess)
    yield term
    term.close()


def test_get_nodes_prints_the_real_table(terminal):
    started = time.monotonic()
    output, exit = terminal.run("kubectl get nodes")
    assert exit == {"type": "exit", "id": 1, "code": 0, "reason": None}
    assert output.splitlines()[0].split() == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert "control-plane" in output and "worker-1" in output
    first = time.monotonic() - started
    times = []
    for _ in range(5):
        started = time.monotonic()
        output, exit = terminal.run("k get namespaces")
        times.append(time.monotonic() - started)
        assert exit["code"] == 0 and "kube-system" in output, (exit, output)
    print(f"terminal round trip: first command {first * 1000:.0f} ms (discovery), "
          f"then k get namespaces median {sorted(times)[2] * 1000:.0f} ms")


def test_apply_an_editor_file_then_watch_and_interrupt(terminal):
    output, exit = terminal.run("kubectl apply -f web.yaml")
    assert (output, exit["code"]) == ("deployment.apps/web created\n", 0)
    run_id = terminal.start("kubectl get pods -w")
    seen = []

    def interrupt_once_listed(text: str) -> None:
        if "web-" in text and not seen:
            seen.append(time.monotonic())
            terminal.send({"type": "interrupt"})

    output, exit = terminal.until_exit(run_id, on_output=interrupt_once_listed)
    assert seen, output
    assert exit["reason"] == "interrupted" and exit["code"] != 0
    assert time.monotonic() - seen[0] < 3, "Ctrl-C ends a watch within the grace period"
    # -f - reads the text sent with the command
    output, exit = terminal.run("kubectl apply -f - --dry-run=server", stdin=WEB_YAML)
    assert exit["code"] == 0 and "deployment.apps/web unchanged (server dry run)" in output


def test_refusals_say_why(terminal):
    output, exit = terminal.run("kubectl --server=https://evil get pods")
    assert exit["reason"] == "refused" and "only talks to your cluster" in output
    output, exit = terminal.run("bash")
    assert exit["reason"] == "refused" and "runs kubectl only" in output
    output, exit = terminal.run("kubectl apply -f missing.yaml")
    assert exit["reason"] == "refused" and "no such file in the editor (web.yaml)" in output


def test_output_limit_and_time_limit(terminal):
    output, exit = terminal.run("kubectl get --raw /openapi/v3/api/v1")
    assert exit["reason"] == "output-limit", (exit, output[-3000:])
    assert OUTPUT_LIMIT <= len(output.encode()) < OUTPUT_LIMIT + 1024 and "[stopped: more than 64 KiB" in output
    started = time.monotonic()
    output, exit = terminal.run("kubectl get nodes --watch-only")
    assert exit["reason"] == "timeout" and f"stopped after {STREAM_SECONDS} s" in output
    assert STREAM_SECONDS <= time.monotonic() - started < STREAM_SECONDS + 3


def test_one_command_at_a_time(terminal):
    watching = terminal.start("kubectl get nodes -w")
    second = terminal.start("kubectl get pods")
    # The second is refused at once, while the watch goes on.
    answers: dict[int, list[dict]] = {watching: [], second: []}
    while not any(m["type"] == "exit" for m in answers[second]):
        message = json.loads(terminal.ws.recv())
        answers[message["id"]].append(message)
    assert answers[second][-1] == {"type": "exit", "id": second, "code": 1, "reason": "refused"}
    assert "already running" in answers[second][0]["data"]
    terminal.send({"type": "interrupt"})
    output, exit = terminal.until_exit(watching)
    assert exit["reason"] == "interrupted"


def test_another_users_cluster_is_refused(server, tess):
    mallory = login(server, "mallory")
    url = server.http_url.replace("http://", "ws://") + "/clusters/lab/terminal"
    # Accepted only to be closed with 4403 (a code the page can read), before anything else is sent.
    for cookie in (f"sessionid={mallory.cookies['sessionid']}", None):   # tess's cluster; anonymous
        ws = websocket.create_connection(url, origin=server.http_url, cookie=cookie, timeout=10)
        opcode, frame = ws.recv_data_frame(True)
        assert opcode == websocket.ABNF.OPCODE_CLOSE
        assert int.from_bytes(frame.data[:2], "big") == 4403
        ws.close()
    own = Terminal(server, mallory, cluster="sandbox")
    output, exit = own.run("kubectl get deployments")
    assert (output, exit["code"]) == ("No resources found in default namespace.\n", 0)
    own.close()


def test_object_details(server, tess):
    mallory = login(server, "mallory")
    url = f"{server.http_url}/clusters/lab/objects/Deployment/default/web"
    terminal = Terminal(server, tess)
    terminal.run("kubectl apply -f web.yaml")
    terminal.close()
    answer = tess.get(url)
    assert answer.status_code == 200, answer.text
    details = answer.json()
    assert "kind: Deployment" in details["yaml"] and "name: web" in details["yaml"]
    assert details["describe"].startswith("Name:") and "Replicas:" in details["describe"]
    node = tess.get(f"{server.http_url}/clusters/lab/objects/Node/-/worker-1").json()
    assert "Taints:" in node["describe"]
    assert mallory.get(url).status_code == 404   # tess's cluster is not hers to see
    assert mallory.get(f"{server.http_url}/clusters/sandbox/objects/Node/-/worker-1").status_code == 200
    assert tess.get(f"{server.http_url}/clusters/lab/objects/Deployment/default/nope").status_code == 404
    assert tess.get(f"{server.http_url}/clusters/lab/objects/Gizmo/default/web").status_code == 404


def test_closing_the_terminal_kills_kubectl_and_revokes_its_token(server, tess):
    before = token_count(server, "tess")
    terminal = Terminal(server, tess)
    run_id = terminal.start("kubectl get nodes -w")
    output = ""
    while "worker-1" not in output:   # output comes in chunks as kubectl writes it, not in lines
        output += json.loads(terminal.ws.recv())["data"]
    assert token_count(server, "tess") == before + 1 and kubectl_children(server)
    terminal.close()
    assert wait_for(lambda: not kubectl_children(server)), "the watch outlived its terminal"
    assert wait_for(lambda: token_count(server, "tess") == before), "the terminal's token outlived it"
    assert run_id == 1


def test_a_users_kubectl_processes_are_capped_across_terminals(server, tess):
    terminals = [Terminal(server, tess) for _ in range(5)]
    try:
        for term in terminals[:4]:
            term.start("kubectl get nodes -w")
            assert json.loads(term.ws.recv())["type"] == "output"
        output, exit = terminals[4].run("kubectl get nodes")
        assert exit["reason"] == "refused" and "you already have 4 kubectl commands running" in output
        terminals[0].send({"type": "interrupt"})
        assert terminals[0].until_exit(1)[1]["reason"] == "interrupted"
        output, exit = terminals[4].run("kubectl get nodes")
        assert exit == {"type": "exit", "id": 2, "code": 0, "reason": None}
    finally:
        for term in terminals:
            term.close()


# ------------------------------------------------------------------------------ interactive commands
class Session:
    """One interactive command on a Terminal: what it printed so far, and keys to send it."""

    def __init__(self, terminal: Terminal, line: str, **size):
        self.terminal = terminal
        self.id = terminal.start(line, **size)
        self.output = ""
        self.exit: dict | None = None
        first = json.loads(terminal.ws.recv())
        assert first == {"type": "terminal", "id": self.id}, first

    def keys(self, data: str) -> None:
        self.terminal.send({"type": "input", "id": self.id, "data": data})

    def until(self, text: str, timeout: float = 30) -> str:
        """Read until the output (from the mark on) ends with `text`; answers that part."""
        mark = len(self.output)
        deadline = time.monotonic() + timeout
        while not self.output[mark:].endswith(text):
            assert self.exit is None, f"ended before {text!r}:\n{self.output}"
            assert time.monotonic() < deadline, f"no {text!r} within {timeout} s:\n{self.output}"
            self.terminal.ws.settimeout(max(0.1, deadline - time.monotonic()))
            message = json.loads(self.terminal.ws.recv())
            assert message["id"] == self.id, message
            if message["type"] == "exit":
                self.exit = message
            else:
                self.output += message["data"]
        return self.output[mark:]

    def wait_exit(self, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        while self.exit is None:
            assert time.monotonic() < deadline, f"still running:\n{self.output}"
            message = json.loads(self.terminal.ws.recv())
            if message["type"] == "exit":
                self.exit = message
            else:
                self.output += message["data"]
        return self.exit


def running(terminal: Terminal, pod: str) -> bool:
    return wait_for(lambda: "Running" in terminal.run(f"kubectl get pod {pod} --no-headers")[0], 30)


def test_exec_it_is_a_shell_on_a_terminal(server, tess):
    terminal = Terminal(server, tess)
    try:
        terminal.run("kubectl run shellbox --image=busybox:1.28 -- sleep 3600")
        assert running(terminal, "shellbox")
        shell = Session(terminal, "kubectl exec -it shellbox -- sh", cols=100, rows=30)
        shell.until("/ # ")
        shell.keys("echo $HOSTNAME\r")
        assert shell.until("/ # ") == "echo $HOSTNAME\r\nshellbox\r\n/ # "
        terminal.send({"type": "resize", "cols": 120, "rows": 40})
        shell.keys("cd /tmp; pwd\r")
        assert shell.until("/tmp # ") == "cd /tmp; pwd\r\n/tmp\r\n/tmp # "
        shell.keys("sleep 600\r")
        time.sleep(1)
        shell.keys("\x03")                      # Ctrl-C reaches the shell through kubectl's raw terminal
        assert shell.until("/tmp # ").endswith("^C\r\n/tmp # ")
        shell.keys("echo $?\r")
        assert shell.until("/tmp # ") == "echo $?\r\n130\r\n/tmp # "
        shell.keys("exit 3\r")
        exit = shell.wait_exit()
        assert exit == {"type": "exit", "id": shell.id, "code": 3, "reason": None}
        assert shell.output.endswith("exit 3\r\ncommand terminated with exit code 3\r\n")
        # Ctrl-D on an empty line ends a shell too, with the last status.
        shell = Session(terminal, "kubectl exec -it shellbox -- sh")
        shell.until("/ # ")
        shell.keys("\x04")
        assert shell.wait_exit()["code"] == 0
        # Input for a command that is not on a terminal, or not running, goes nowhere.
        terminal.send({"type": "input", "id": 999, "data": "echo lost\r"})
        output, exit = terminal.run("kubectl get pod shellbox -o name")
        assert (output, exit["code"]) == ("pod/shellbox\n", 0)
        assert wait_for(lambda: not kubectl_children(server))
    finally:
        terminal.close()


def test_run_it_rm_attaches_to_the_shell_and_deletes_the_pod(server, tess):
    terminal = Terminal(server, tess)
    try:
        shell = Session(terminal, "kubectl run -it --rm box --image=busybox:1.28 --restart=Never -- sh")
        assert "If you don't see a command prompt, try pressing enter." in shell.until("/ # ", timeout=60)
        shell.keys("hostname\r")
        assert shell.until("/ # ") == "hostname\r\nbox\r\n/ # "
        shell.keys("exit\r")
        exit = shell.wait_exit(60)
        assert exit["code"] == 0 and exit["reason"] is None, shell.output
        assert 'pod "box" deleted from default namespace' in shell.output
        output, _ = terminal.run("kubectl get pod box")
        assert 'pods "box" not found' in output
    finally:
        terminal.close()


def test_an_interactive_session_keeps_the_time_limit(server, tess):
    terminal = Terminal(server, tess)
    try:
        terminal.run("kubectl run idle --image=busybox:1.28 -- sleep 3600")
        assert running(terminal, "idle")
        started = time.monotonic()
        shell = Session(terminal, "kubectl exec -it idle -- sh")
        shell.until("/ # ")
        exit = shell.wait_exit(STREAM_SECONDS + 10)
        assert exit["reason"] == "timeout" and "stopped after 6 s: the terminal's time limit for an " \
            "interactive session" in shell.output
        assert STREAM_SECONDS <= time.monotonic() - started < STREAM_SECONDS + 3
    finally:
        terminal.close()
