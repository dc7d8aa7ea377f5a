"""Interactive sessions with the real kubectl on a real terminal (a PTY made here, as a learner's shell has).

`kubectl exec -it POD -- sh`, `kubectl run -it --rm … -- sh`, `kubectl attach -it` and the autoscaling
walkthrough's load generator: kubectl puts the PTY in raw mode and streams the keys over WebSocket
(v5.channel.k8s.io) to clusters/kubeapi/remotecommand.py, which runs each typed command in the simulated
shell with the state the earlier ones left. The server runs with PLAYGROUND_START_DELAYS=0, so pods run
within a reconcile pass or two.
"""
from __future__ import annotations

import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import termios
import time

import pytest
import yaml

from .conftest import KUBECTL, Kubectl, instant_server

pytestmark = pytest.mark.e2e

PROMPT = "/ # "


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from instant_server(tmp_path_factory, "interactive")


@pytest.fixture(scope="module")
def k(server) -> Kubectl:
    return Kubectl(server.new_cluster("alice", "interactive"), server.env)


def _controlling_terminal() -> None:
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Terminal:
    """kubectl on a pseudo-terminal: keys in, what the terminal shows out (as bytes decoded, CR LF and all)."""

    def __init__(self, k: Kubectl, *args: str, cols: int = 100, rows: int = 30):
        self.master, slave = os.openpty()
        fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.process = subprocess.Popen([str(KUBECTL), "--kubeconfig", str(k.kubeconfig), *args], env=k.env,
                                        stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
                                        preexec_fn=_controlling_terminal)
        os.close(slave)
        self.screen = ""
        self.ended = False

    def _read(self, timeout: float) -> None:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return
        try:
            data = os.read(self.master, 65536)
        except OSError:    # EIO: kubectl exited and closed the terminal
            data = b""
        if not data:
            self.ended = True
        self.screen += data.decode("utf-8", "replace")

    def until(self, pattern: str, timeout: float = 30) -> str:
        """Read until the screen, from the mark on, matches `pattern` (a regex); answers that part."""
        mark = len(self.screen)
        deadline = time.monotonic() + timeout
        while not re.search(pattern, self.screen[mark:]):
            assert not self.ended, f"kubectl ended before {pattern!r}:\n{self.screen}"
            assert time.monotonic() < deadline, f"no {pattern!r} within {timeout} s:\n{self.screen}"
            self._read(0.2)
        return self.screen[mark:]

    def type(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def line(self, text: str, prompt: str = PROMPT) -> str:
        """Type a line and Enter; answers what the shell printed for it, up to its next prompt."""
        self.type(text + "\r")
        shown = self.until(re.escape(prompt) + "$")
        assert shown.startswith(text + "\r\n"), shown
        return shown[len(text) + 2:-len(prompt)]

    def resize(self, cols: int, rows: int) -> None:
        fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        os.killpg(self.process.pid, signal.SIGWINCH)   # as the terminal driver tells its foreground group

    def wait(self, timeout: float = 60) -> int:
        deadline = time.monotonic() + timeout
        while self.process.poll() is None or not self.ended:
            assert time.monotonic() < deadline, f"kubectl still running:\n{self.screen}"
            self._read(0.2)
            if self.process.poll() is not None and not self.ended:
                self._read(0.2)
                if not select.select([self.master], [], [], 0)[0]:
                    break
        os.close(self.master)
        return self.process.wait()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        try:
            os.close(self.master)
        except OSError:
            pass


def wait_for(k: Kubectl, pod: str, condition: str = "Running", timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while condition not in k("get", "pod", pod, "--no-headers", check=False):
        assert time.time() < deadline, k("get", "pod", pod, check=False)
        time.sleep(0.3)


def gone(k: Kubectl, pod: str, timeout: float = 30) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if "NotFound" in k.run("get", "pod", pod, check=False).stderr:
            return True
        time.sleep(0.3)
    return False


@pytest.fixture(scope="module")
def busybox(k) -> str:
    k("run", "web", "--image=busybox:1.28", "--", "sleep", "3600")
    wait_for(k, "web")
    return "web"


# ------------------------------------------------------------------------------------ exec -it
def test_exec_it_sh_keeps_its_state_and_exits_with_the_code(k, busybox):
    term = Terminal(k, "exec", "-it", busybox, "--", "sh")
    try:
        assert term.until(re.escape(PROMPT) + "$") == PROMPT
        assert term.line("echo $HOSTNAME") == "web\r\n"
        assert term.line("cd /tmp; pwd", prompt="/tmp # ") == "/tmp\r\n"
        assert term.line("pwd", prompt="/tmp # ") == "/tmp\r\n"          # the shell stayed in /tmp
        assert term.line("GREETING=hi; export NAME=kube", prompt="/tmp # ") == ""
        assert term.line("echo $GREETING $NAME; printenv NAME", prompt="/tmp # ") == "hi kube\r\nkube\r\n"
        assert term.line("echo saved > note; cat /tmp/note", prompt="/tmp # ") == "saved\r\n"
        assert term.line("cat note; cd; pwd", prompt="~ # ") == "saved\r\n/root\r\n"
        assert term.line("nosuchcommand", prompt="~ # ") == "sh: nosuchcommand: not found\r\n"
        assert term.line("echo $?", prompt="~ # ") == "127\r\n"
        # A command that is not finished yet: the shell asks for the rest.
        term.type("for i in 1 2\r")
        term.until("> $")
        assert term.line("do echo n$i; done", prompt="~ # ") == "n1\r\nn2\r\n"
        term.resize(120, 40)                                   # kubectl sends the new size (channel 4)
        assert term.line("echo still here", prompt="~ # ") == "still here\r\n"
        term.type("exit 3\r")
        assert term.wait() == 3
        assert term.screen.endswith("exit 3\r\ncommand terminated with exit code 3\r\n")
    finally:
        term.close()
    # What the session wrote stays in the container, as a one-shot exec's writes do.
    assert k("exec", busybox, "--", "cat", "/tmp/note") == "saved\n"


def test_exec_it_line_editing_history_and_ctrl_c(k, busybox):
    term = Terminal(k, "exec", "-it", busybox, "--", "sh")
    try:
        term.until(re.escape(PROMPT) + "$")
        term.type("echo helo\x1b[D\x1b[Dl\r")          # ← ← and an l typed in the middle: "echo hello"
        assert term.until(re.escape(PROMPT) + "$").endswith("\r\nhello\r\n" + PROMPT)
        term.type("\x1b[A\r")                          # ↑: the line again
        assert term.until(re.escape(PROMPT) + "$").endswith("\r\nhello\r\n" + PROMPT)
        term.type("echo a; sleep 2; echo b\r")         # paced by the simulated clock
        started = time.monotonic()
        term.until("\r\nb\r\n" + re.escape(PROMPT) + "$")
        assert 1.5 < time.monotonic() - started < 6
        term.type("while true; do echo tick; sleep 1; done\r")
        term.until("tick\r\ntick\r\n")
        term.type("\x03")                              # Ctrl-C stops the loop, not the session
        assert term.until(re.escape(PROMPT) + "$").endswith("^C\r\n" + PROMPT)
        assert term.line("echo $?") == "130\r\n"
        term.type("half a line\x03")                   # Ctrl-C at the prompt drops the line
        assert term.until(re.escape(PROMPT) + "$").endswith("half a line^C\r\n" + PROMPT)
        term.type("\x04")                              # Ctrl-D: end of input, the last status
        assert term.wait() == 0
    finally:
        term.close()


def test_exec_it_bash_prompt(k):
    k("run", "deb", "--image=ubuntu:22.04", "--", "sleep", "3600")
    wait_for(k, "deb")
    term = Terminal(k, "exec", "-it", "deb", "--", "bash")
    try:
        assert term.until(r"# $") == "root@deb:/# "
        assert term.line("cd /etc && pwd", prompt="root@deb:/etc# ") == "/etc\r\n"
        term.type("exit\r")
        assert term.wait() == 0
        assert term.screen.endswith("root@deb:/etc# exit\r\nexit\r\n")   # interactive bash says so
    finally:
        term.close()


def test_exec_i_reads_a_script_line_by_line(k, busybox):
    script = "cd /tmp\nX=from-stdin\nif true; then\n  echo $X in $(pwd)\nfi\nexit 4\necho never\n"
    result = k.run("exec", "-i", busybox, "--", "sh", input=script, check=False)
    assert (result.returncode, result.stdout) == (4, "from-stdin in /tmp\n")
    assert result.stderr.strip() == "command terminated with exit code 4"


# ------------------------------------------------------------------------------------ run -it --rm
def test_run_it_rm_shell_is_deleted_after_exit(k):
    term = Terminal(k, "run", "-it", "--rm", "box", "--image=busybox:1.28", "--restart=Never", "--", "sh")
    try:
        shown = term.until(re.escape(PROMPT) + "$", timeout=60)
        assert "If you don't see a command prompt, try pressing enter.\r\n" in shown
        assert term.line("echo $HOSTNAME") == "box\r\n"
        assert term.line("cd /tmp; pwd", prompt="/tmp # ") == "/tmp\r\n"
        term.type("exit 3\r")
        code = term.wait()
        assert code == 3, term.screen
        tail = term.screen.split("/tmp # exit 3\r\n", 1)[1]
        assert tail.rstrip("\r\n").split("\r\n") == [
            "Session ended, resume using 'kubectl attach box -c box -n default -i -t' command",
            'pod "box" deleted from default namespace',
            "pod default/box terminated (Error)"]      # kubectl's: the exit code from the pod's status
    finally:
        term.close()
    assert gone(k, "box"), "--rm deleted the pod"


def test_run_it_rm_exit_zero(k):
    term = Terminal(k, "run", "-it", "--rm", "zero", "--image=busybox:1.28", "--restart=Never", "--", "sh")
    try:
        term.until(re.escape(PROMPT) + "$", timeout=60)
        assert term.line("hostname") == "zero\r\n"
        term.type("exit\r")
        assert term.wait() == 0
        assert term.screen.endswith('pod "zero" deleted from default namespace\r\n')
    finally:
        term.close()
    assert gone(k, "zero")


def test_load_generator_streams_until_ctrl_c(k):
    """The autoscaling walkthrough's load generator: wget's answers (`OK!`, no newline) stream as they come,
    until Ctrl-C ends the loop."""
    k("create", "deployment", "php-apache", "--image=registry.k8s.io/hpa-example", "--port=80")
    k("expose", "deployment", "php-apache", "--port=80")
    deadline = time.time() + 30
    while "1/1" not in k("get", "deployment", "php-apache", "--no-headers"):
        assert time.time() < deadline
        time.sleep(0.3)
    term = Terminal(k, "run", "-i", "--tty", "load-generator", "--rm", "--image=busybox:1.28", "--restart=Never",
                    "--", "/bin/sh", "-c", "while sleep 0.01; do wget -q -O- http://php-apache; done")
    try:
        term.until(r"try pressing enter\.\r\n", timeout=60)
        term.until(r"(OK!){50}")                 # a line still being written shows as it grows
        term.type("\x03")
        assert term.wait() == 0                  # the loop ends with its interrupted condition: exit 0
        assert re.search(r"OK!\^C\r\n", term.screen)
        assert term.screen.endswith('pod "load-generator" deleted from default namespace\r\n')
    finally:
        term.close()
    assert gone(k, "load-generator")


# ------------------------------------------------------------------------------------ attach -it
def test_attach_it_to_a_stdin_tty_container(k):
    manifest = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "console"},
                "spec": {"containers": [{"name": "console", "image": "busybox:1.28", "command": ["sh"],
                                         "stdin": True, "tty": True}]}}
    k("apply", "-f", "-", input=yaml.safe_dump(manifest))
    wait_for(k, "console")
    time.sleep(2)
    assert "Running" in k("get", "pod", "console", "--no-headers")   # sh waits on its stdin; it has not exited
    term = Terminal(k, "attach", "-it", "console")
    try:
        term.until(re.escape(PROMPT) + "$")
        assert term.line("cd /tmp; X=1", prompt="/tmp # ") == ""
        term.type("exit 5\r")
        assert term.wait() == 0
        assert "Session ended, resume using 'kubectl attach console -c console -n default -i -t' command" \
            in term.screen
    finally:
        term.close()
    # The shell was the container's program: it exited with 5, and restartPolicy Always restarts it.
    deadline = time.time() + 30
    while time.time() < deadline:
        status = k.json("get", "pod", "console")["status"]["containerStatuses"][0]
        if status["restartCount"] == 1 and "running" in status["state"]:
            break
        time.sleep(0.3)
    assert status["lastState"]["terminated"]["exitCode"] == 5, status
    assert status["restartCount"] == 1 and "running" in status["state"], status
    # A fresh shell: back in / and without the variable.
    term = Terminal(k, "attach", "-it", "console")
    try:
        term.until(re.escape(PROMPT) + "$")
        assert term.line("echo x${X}x") == "xx\r\n"
    finally:
        term.close()


def test_a_shell_ends_when_its_pod_goes(k):
    k("run", "doomed", "--image=busybox:1.28", "--", "sleep", "3600")
    wait_for(k, "doomed")
    term = Terminal(k, "exec", "-it", "doomed", "--", "sh")
    try:
        term.until(re.escape(PROMPT) + "$")
        k("delete", "pod", "doomed", "--grace-period=0", "--force")
        assert term.wait(30) == 137          # the shell is killed with its container
        assert term.screen.endswith("command terminated with exit code 137\r\n")
    finally:
        term.close()
