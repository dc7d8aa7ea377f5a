"""What the kubernetes.io walk-through tests share (tests/e2e/test_tutorial_*.py).

Each of those files follows one page of the Kubernetes documentation: it runs the page's commands in
the page's order with the real kubectl against a classroom-mode playground (`manage.py serve` beside a
Celery worker and beat, on PostgreSQL and Redis) and compares what kubectl prints with what the page
shows a real cluster printing. Names with hashes, IPs and ages vary from run to run and are matched
with patterns; everything else (columns, wording, order) is compared as the page has it. Where the page
and a current real cluster differ (the page was written against an older one), the assertion follows
the real cluster and says so.

`Page` is one fresh cluster of the page's server: kubectl, the cluster's clock (`manage.py cluster
clock`: pause, advance, speed) and a pseudo-terminal for the interactive steps (`kubectl run -it`,
`kubectl exec -it`), which kubectl drives as a learner's terminal would (test_interactive.Terminal).
"""
from __future__ import annotations

import re
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml

from tests import live_server

from .conftest import KUBECTL, Kubectl
from .test_interactive import Terminal

WAIT = 20.0   # wall-clock seconds a check may take to come true (the control loops run after each write)

# Patterns for what varies between runs.
POD_IP = r"10\.244\.\d+\.\d+"
CLUSTER_IP = r"10\.\d+\.\d+\.\d+"
AGE = r"\d+(?:\.\d+)?[smhd](?:\d+[smh])?"
HASH = r"[a-z0-9]{8,10}"          # a ReplicaSet's pod-template-hash
SUFFIX = r"[a-z0-9]{5}"           # generateName's random suffix


def classroom_server(tmp_path_factory, name: str, **env: str) -> Iterator[live_server.LiveServer]:
    """A classroom-mode live server (Celery worker and beat, PostgreSQL, Redis) for one module."""
    server = live_server.start(tmp_path_factory.mktemp(name), backend="postgres", celery=True, extra_env=env)
    try:
        yield server
    finally:
        server.stop()


def eventually(check: Callable[[], object], timeout: float = WAIT, interval: float = 0.25):
    """Retry `check` until it stops raising AssertionError (and returns its value), for at most `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
        time.sleep(interval)


def table(text: str) -> list[list[str]]:
    """A kubectl table's rows (header included) split into columns; `<none>` and `1 (4s ago)` stay one column."""
    glued = (re.sub(r"(\d+) \(([^)]*)\)", lambda m: f"{m[1]}({m[2].replace(' ', '_')})", line)
             for line in text.splitlines() if line.strip())
    return [line.split() for line in glued]


def lines_match(text: str, patterns: list[str]) -> None:
    """Each line of `text` matches its pattern (a regex matched against the whole line), in order."""
    lines = text.rstrip("\n").split("\n")
    assert len(lines) == len(patterns), f"{len(lines)} lines, expected {len(patterns)}:\n{text}"
    for line, pattern in zip(lines, patterns):
        assert re.fullmatch(pattern, line), f"{line!r} does not match {pattern!r}:\n{text}"


class Page:
    """One fresh cluster for a page: kubectl, the cluster's clock, interactive sessions."""

    def __init__(self, server: live_server.LiveServer, name: str, user: str = "learner", nodes: int = 2) -> None:
        self.server, self.user, self.name = server, user, name
        self.kubectl = Kubectl(server.new_cluster(user, name, nodes=nodes), server.env)

    def __call__(self, *args: str, **kwargs) -> str:
        return self.kubectl(*args, **kwargs)

    def run(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        return self.kubectl.run(*args, **kwargs)

    def raw(self, *args: str) -> str:
        """kubectl's stdout exactly as written (CR LF kept: `curl -i`'s headers), which must succeed."""
        result = subprocess.run([str(KUBECTL), "--kubeconfig", str(self.kubectl.kubeconfig), *args],
                                capture_output=True, env=self.kubectl.env, timeout=60)
        assert result.returncode == 0, result.stderr.decode()
        return result.stdout.decode()

    def json(self, *args: str) -> dict:
        return self.kubectl.json(*args)

    def apply(self, path: Path | str, input: str | None = None) -> str:
        return self("apply", "-f", str(path), input=input)

    def apply_yaml(self, obj: dict | str) -> str:
        return self("apply", "-f", "-", input=obj if isinstance(obj, str) else yaml.safe_dump(obj, sort_keys=False))

    def shell(self, line: str, check: bool = True) -> subprocess.CompletedProcess:
        """A command line of the page as written, run by bash with this cluster's kubectl on the PATH."""
        env = {**self.kubectl.env, "KUBECONFIG": str(self.kubectl.kubeconfig),
               "PATH": f"{KUBECTL.parent}:{self.kubectl.env.get('PATH', '/usr/bin:/bin')}"}
        result = subprocess.run(["bash", "-c", line], text=True, capture_output=True, env=env, timeout=120,
                                stdin=subprocess.DEVNULL)
        if check and result.returncode != 0:
            raise AssertionError(f"{line} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        return result

    @contextmanager
    def watch(self, *args: str) -> Iterator[Watch]:
        """`kubectl get … -w` running beside the test (the page's first terminal): its lines as they come."""
        process = subprocess.Popen([str(KUBECTL), "--kubeconfig", str(self.kubectl.kubeconfig), "get", *args, "-w"],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=self.kubectl.env)
        watch = Watch(process)
        try:
            yield watch
        finally:
            process.terminate()
            process.wait(10)

    # -- the cluster's clock (manage.py cluster clock)
    def clock(self, *args: str) -> None:
        self.server.manage("cluster", "clock", self.user, self.name, *args)

    def advance(self, seconds: float) -> None:
        self.clock("--advance", str(seconds))

    # -- what the page waits for
    def pods(self, *selector: str) -> dict[str, list[str]]:
        """NAME → the other columns of `kubectl get pods` (READY, STATUS, RESTARTS, AGE, …)."""
        return {row[0]: row[1:] for row in table(self("get", "pods", *selector, "--no-headers"))}

    def running(self, count: int, *selector: str, timeout: float = WAIT) -> dict[str, list[str]]:
        """Once `count` pods match, all Running and Ready: NAME → columns."""
        def check() -> dict[str, list[str]]:
            found = self.pods(*selector)
            assert len(found) == count, found
            for name, (ready, status, *_rest) in found.items():
                have, want = ready.split("/")
                assert status == "Running" and have == want, (name, ready, status)
            return found
        return eventually(check, timeout)

    def gone(self, kind: str, name: str, timeout: float = WAIT) -> None:
        def check() -> None:
            result = self.run("get", kind, name, check=False)
            assert "NotFound" in result.stderr, result.stdout
        eventually(check, timeout)

    # -- interactive sessions on a pseudo-terminal
    @contextmanager
    def terminal(self, *args: str, prompt: str = r"/ # ") -> Iterator[Shell]:
        term = Terminal(self.kubectl, *args)
        try:
            shell = Shell(term, prompt)
            shell.banner = term.until(prompt + "$", timeout=60)
            yield shell
        finally:
            term.close()


class Watch:
    """The lines a `kubectl get -w` printed so far, read by a thread of its own."""

    def __init__(self, process: subprocess.Popen) -> None:
        self.process, self.lines = process, []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def until(self, pattern: str, timeout: float = WAIT, since: int = 0) -> list[str]:
        """The lines from `since` up to the first after it that matches `pattern` (a regex searched in each)."""
        def seen() -> list[str]:
            for i, line in enumerate(self.lines[since:], since):
                if re.search(pattern, line):
                    return self.lines[since:i + 1]
            raise AssertionError(f"no line matching {pattern!r} yet:\n" + "\n".join(self.lines))
        return eventually(seen, timeout)


class Shell:
    """A shell on a terminal: `line` types a command and answers what it printed up to the next prompt."""

    def __init__(self, term: Terminal, prompt: str) -> None:
        self.term, self.prompt, self.banner = term, prompt, ""

    def line(self, text: str, prompt: str | None = None) -> str:
        self.term.type(text + "\r")
        shown = self.term.until((prompt or self.prompt) + "$")
        assert shown.startswith(text + "\r\n"), shown
        shown = shown[len(text) + 2:]
        return re.sub((prompt or self.prompt) + "$", "", shown).replace("\r\n", "\n")

    def exit(self, text: str = "exit") -> tuple[int, str]:
        """Type `exit`: kubectl's exit status, and what the terminal showed after the line."""
        mark = len(self.term.screen)
        self.term.type(text + "\r")
        code = self.term.wait()
        return code, self.term.screen[mark:].replace("\r\n", "\n")
