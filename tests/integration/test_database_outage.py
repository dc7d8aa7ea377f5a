"""PostgreSQL goes away and comes back, under a live server in classroom mode.

Every Kubernetes API request during the outage answers a 503 Status within seconds (kubectl prints
`Error from server (ServiceUnavailable): …`), a page a 503 page, a page's JSON endpoint `{"error": …}`;
once the database is back the same commands work, without restarting the server, the worker or beat.
What was open when it went away carries on: a running watch (kubectl's, the Python client's) stays open
and, once the database is back, gets the changes made since, once each; the page's live socket likewise.

The machine's PostgreSQL serves other tests, so the outage is this server's alone: its DATABASE_URL
points at a TCP proxy run here (`TcpProxy`), which is closed (listener and every open connection) and
reopened. tests/integration/test_redis_outage.py puts the same proxy in front of Redis.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from clusters.web.live import KINDS as PAGE_KINDS
from tests import live_server
from tests.integration import faults

KUBECTL = Path(sys.executable).parent / "kubectl"
MESSAGE = "the playground's database is unavailable: try again in a moment"
OUTAGE_ANSWER_SECONDS = 8   # how soon kubectl must print the 503 during the outage
CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: late\ndata:\n  a: b\n"


class TcpProxy:
    """A forwarder from 127.0.0.1:<port> to a target: `down()` drops every connection and refuses new
    ones (a service that went away), `up()` listens again on the same port."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = live_server.free_port()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server: asyncio.base_events.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()
        self.up()

    def _call(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(10)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            target_reader, target_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self.writers.update((writer, target_writer))
        try:
            await asyncio.gather(self._pipe(reader, target_writer), self._pipe(target_reader, writer))
        finally:
            self.writers.difference_update((writer, target_writer))

    async def _up(self) -> None:
        if self.server is None:
            self.server = await asyncio.start_server(self._client, "127.0.0.1", self.port, reuse_address=True)

    async def _down(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
        for writer in list(self.writers):
            writer.transport.abort()   # a reset, as when the server's machine goes away
        self.writers.clear()

    def up(self) -> None:
        self._call(self._up())

    def down(self) -> None:
        self._call(self._down())

    def close(self) -> None:
        self.down()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@contextlib.contextmanager
def proxied(monkeypatch: pytest.MonkeyPatch, url_maker: str, host: str, port: int, direct: str):
    """live_server's `url_maker` (database_url, claim_redis_db: a (url, release) pair) made to name a TcpProxy
    (yielded) in front of host:port instead, so that an outage can be this server's alone. `direct`: the part
    of the URL that names host:port, which the URL must hold."""
    proxy = TcpProxy(host, port)
    real = getattr(live_server, url_maker)

    def through_proxy(*args, **kwargs):
        url, release = real(*args, **kwargs)
        assert direct in url, url
        return url.replace(direct, direct.replace(f"{host}:{port}", f"127.0.0.1:{proxy.port}")), release

    monkeypatch.setattr(live_server, url_maker, through_proxy)
    try:
        yield proxy
    finally:
        proxy.close()


def outage_server(tmp_path_factory, name: str, url_maker: str, host: str, port: int, direct: str):
    """A module's live server in classroom mode (Celery, beat) with one service behind a proxy: yields
    (server, proxy), as the outage fixtures do."""
    with pytest.MonkeyPatch.context() as monkeypatch, proxied(monkeypatch, url_maker, host, port, direct) as proxy:
        server = live_server.start(tmp_path_factory.mktemp(name), backend="postgres", celery=True,
                                   extra_env={"PLAYGROUND_START_DELAYS": "0", "PLAYGROUND_LEASE_SECONDS": "3"})
        try:
            yield server, proxy
        finally:
            proxy.up()   # the server drops its own database at stop
            server.stop()


@pytest.fixture(scope="module")
def outage(tmp_path_factory):
    yield from outage_server(tmp_path_factory, "db-outage", "database_url", "127.0.0.1", 5432, "@127.0.0.1:5432/")


def kubectl(server, kubeconfig: Path, *args: str, input: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(KUBECTL), "--kubeconfig", str(kubeconfig), "--request-timeout", "30s", *args],
                          input=input, text=True, capture_output=True, env=server.env, timeout=60)


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, f"{result.args} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def http_get(server, path: str, **headers: str) -> tuple[int, dict, str]:
    request = urllib.request.Request(server.http_url + path, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def wait_running(server, kubeconfig: Path, want: int, timeout: float) -> None:
    deadline = time.time() + timeout
    out = ""
    while time.time() < deadline:
        result = kubectl(server, kubeconfig, "get", "pods", "-l", "app=web", "--no-headers")
        out = result.stdout
        lines = [line for line in out.splitlines() if line.strip()]
        if result.returncode == 0 and len(lines) == want and all(" Running " in line for line in lines):
            return
        time.sleep(0.3)
    pytest.fail(f"{want} pods not Running within {timeout}s:\n{out}\nworker log: {server.root / 'worker.log'}")


def test_database_outage_answers_503_and_service_resumes(outage):
    server, proxy = outage
    kubeconfig = server.new_cluster("dora", "outage")
    ok(kubectl(server, kubeconfig, "create", "deployment", "web", "--image=nginx:1.27", "--replicas=2"))
    wait_running(server, kubeconfig, 2, timeout=30)

    proxy.down()
    try:
        # `create -f` names the file, `create deployment` words it its own way, and `create -f` only gets
        # as far as that with --validate=false: it validates against the OpenAPI document first.
        unavailable = "Error from server (ServiceUnavailable): "
        for args, printed in ((("get", "pods"), unavailable + MESSAGE),
                              (("create", "--validate=false", "-f", "-"),
                               f'{unavailable}error when creating "STDIN": {MESSAGE}'),
                              (("create", "deployment", "late", "--image=nginx:1.27"),
                               f"error: failed to create deployment: {MESSAGE}"),
                              (("get", "deployments", "web", "-o", "json"), unavailable + MESSAGE)):
            started = time.time()
            result = kubectl(server, kubeconfig, *args, input=CONFIGMAP)
            seconds = time.time() - started
            assert result.returncode != 0, result.stdout
            assert printed in result.stderr, result.stderr
            assert seconds < OUTAGE_ANSWER_SECONDS, f"kubectl {' '.join(args)} took {seconds:.1f}s"

        # The pages: a 503 page (a session cookie makes the home page ask the database who this is), and
        # a page's JSON endpoint an {"error": …}.
        status, headers, body = http_get(server, "/", Cookie="sessionid=abcdefghijklmnopqrstuvwxyz012345")
        assert status == 503 and headers.get("Retry-After"), (status, headers)
        assert "Back in a moment" in body and "Traceback" not in body
        status, headers, body = http_get(server, "/clusters/outage/files", Accept="application/json",
                                         Cookie="sessionid=abcdefghijklmnopqrstuvwxyz012345")
        assert status == 503 and json.loads(body) == {"error": MESSAGE}, (status, body)
    finally:
        proxy.up()

    # Back: the same commands work with nothing restarted (the first may still meet a dead connection).
    deadline = time.time() + 20
    while (result := kubectl(server, kubeconfig, "get", "pods")).returncode != 0:
        assert time.time() < deadline, f"the API did not recover:\n{result.stderr}"
        time.sleep(0.5)
    assert "late" not in ok(kubectl(server, kubeconfig, "get", "deployments,configmaps"))
    ok(kubectl(server, kubeconfig, "scale", "deployment", "web", "--replicas=3"))
    wait_running(server, kubeconfig, 3, timeout=30)   # the worker and beat came back by themselves
    ok(kubectl(server, kubeconfig, "create", "deployment", "late", "--image=nginx:1.27"))
    ok(kubectl(server, kubeconfig, "create", "-f", "-", input=CONFIGMAP))
    assert http_get(server, "/")[0] == 200


def test_database_outage_running_watches_and_the_page_carry_on_once_it_is_back(outage, tmp_path):
    """What was already open when the database went away: a watch (the Python client's way, and a running
    `kubectl get configmaps -w`) stays open, a new watch request meanwhile is answered with the 503 Status,
    the cluster page's live socket stays up, and so does `kubectl logs -f`. Once PostgreSQL is back, each
    sees the changes made since, once and in order, without reconnecting (clusters/kubeapi/watch.py and
    logstream.py retry their reads; the page's consumer re-checks on its timer), and the log goes on."""
    server, proxy = outage
    kubeconfig = server.new_cluster("wade", "outage")
    cluster_id = server.cluster_id(kubeconfig)
    api = faults.Api(kubeconfig, tmp_path)
    faults.set_passwords(server, ["wade"])
    page = faults.PageSocket(server, faults.login(server, "wade"), "outage")
    page.start()
    assert page.opened.wait(30), "the page socket sent no snapshot"
    configmaps = "/api/v1/namespaces/default/configmaps"
    watcher = faults.start_watch(api, configmaps, timeout_seconds=300)
    kubectl_watch = subprocess.Popen([str(KUBECTL), "--kubeconfig", str(kubeconfig), "get", "configmaps", "-w",
                                      "--output-watch-events", "-o", "json"], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=server.env)
    printed: list[str] = []
    reader = threading.Thread(target=lambda: printed.extend(iter(kubectl_watch.stdout.readline, "")), daemon=True)
    reader.start()
    ok(kubectl(server, kubeconfig, "run", "ticker", "--image=busybox:1.36", "--", "sh", "-c",
               "while true; do echo tick; sleep 1; done"))
    faults.wait_until(lambda: "Running" in kubectl(server, kubeconfig, "get", "pod", "ticker").stdout, 30,
                      "the ticker pod is not Running")
    follow = subprocess.Popen([str(KUBECTL), "--kubeconfig", str(kubeconfig), "logs", "-f", "ticker"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=server.env)
    ticks: list[str] = []
    follower = threading.Thread(target=lambda: ticks.extend(iter(follow.stdout.readline, "")), daemon=True)
    follower.start()
    try:
        faults.wait_until(lambda: len(ticks) >= 2, 30, "kubectl logs -f printed no tick")
        ok(kubectl(server, kubeconfig, "create", "configmap", "before", "--from-literal=a=b"))
        faults.wait_until(lambda: any(name == "before" for _, _, name in watcher.seen()), 30, "no ADDED before")
        faults.wait_until(lambda: any('"before"' in line for line in printed), 30, "kubectl printed no before")

        proxy.down()
        try:
            started = time.time()
            response = api.request("GET", configmaps, params={"watch": "true", "resourceVersion": "0"}, timeout=30)
            assert response.status_code == 503 and response.json()["reason"] == "ServiceUnavailable", \
                (response.status_code, response.text[:300])
            assert time.time() - started < OUTAGE_ANSWER_SECONDS
            # A wake-up for a write committed just before the outage (a node's lease renewal, say): the page's
            # read of the change log fails, and its socket must stay open all the same.
            faults.wake_pages(server, cluster_id, (page.rv or 0) + 1)
            time.sleep(3)   # a few re-checks of the running watches and the page meet the outage
        finally:
            proxy.up()
        faults.wait_until(lambda: kubectl(server, kubeconfig, "get", "configmaps").returncode == 0, 20,
                          "the API did not recover")
        recovered = len(ticks)
        ok(kubectl(server, kubeconfig, "create", "configmap", "after", "--from-literal=a=b"))
        ok(kubectl(server, kubeconfig, "label", "configmap", "before", "changed=yes"))
        rv, compacted, log = faults.change_log(server, cluster_id)
        last = max(row[0] for row in log if row[2] == "ConfigMap")
        faults.wait_until(lambda: watcher.since >= last, 30, lambda: f"the watch stayed at {watcher.since}")
        faults.wait_until(lambda: (page.rv or 0) >= rv, 30, lambda: f"the page stayed at {page.rv} < {rv}")
        faults.wait_until(lambda: any('"changed":"yes"' in line.replace(' ', '') for line in printed), 30,
                          lambda: f"kubectl printed nothing after the outage: {''.join(printed)[-1500:]}")
        faults.wait_until(lambda: len(ticks) >= recovered + 2, 30,
                          lambda: f"kubectl logs -f printed nothing after the outage ({len(ticks)} lines)")
        following = follow.poll() is None
    finally:
        page.finish()
        watcher.stop.set()
        follow.terminate()
        follow.communicate(timeout=10)
        alive = kubectl_watch.poll() is None
        kubectl_watch.terminate()
        _, err = kubectl_watch.communicate(timeout=10)
        reader.join(10)
    assert alive, f"kubectl get -w ended:\n{err}"
    assert following, "kubectl logs -f ended"
    assert set(ticks) == {"tick\n"}, ticks[:5]
    assert watcher.streams == 1, f"the watch was opened {watcher.streams} times: {watcher.errors}"
    faults.check_watch(watcher, log, "ConfigMap", rv)
    faults.check_page(page, log, PAGE_KINDS, rv)
    events = [(e["type"], e["object"]["metadata"]["name"]) for e in watch_objects("".join(printed))]
    assert events.count(("ADDED", "after")) == 1 and events.count(("MODIFIED", "before")) == 1, events
    assert events.index(("ADDED", "before")) < events.index(("ADDED", "after")) < \
        events.index(("MODIFIED", "before")), events
    assert page.connections == 1, \
        f"the page's socket was opened {page.connections} times: {page.drops}; see {server.root / 'server.log'}"


def watch_objects(text: str) -> list[dict]:
    """The events `kubectl get -w --output-watch-events -o json` printed, whole."""
    decoder, events, at = json.JSONDecoder(), [], 0
    while (at := text.find("{", at)) != -1:
        event, at = decoder.raw_decode(text, at)
        events.append(event)
    return events


class _Terminal:
    """The cluster page's terminal socket: one command at a time."""

    def __init__(self, server, session, cluster: str) -> None:
        import websocket

        url = server.http_url.replace("http://", "ws://") + f"/clusters/{cluster}/terminal"
        self.ws = websocket.create_connection(url, cookie=f"sessionid={session.cookies['sessionid']}",
                                              origin=server.http_url, timeout=60)
        self.runs = 0

    def run(self, line: str) -> tuple[str, dict]:
        """(the command's output, its exit message)."""
        self.runs += 1
        self.ws.send(json.dumps({"type": "run", "id": self.runs, "line": line}))
        output = []
        while True:
            message = json.loads(self.ws.recv())
            if message["type"] == "exit":
                return "".join(output), message
            output.append(message.get("data", ""))


def test_database_outage_the_terminal_works_again_once_it_is_back(outage):
    """The terminal's database calls (the files it hands kubectl, the history it records) run on Channels'
    one shared thread. A connection of that thread that the outage broke must not stay in use for ever: once
    PostgreSQL is back, the terminal that stayed open works again."""
    server, proxy = outage
    server.new_cluster("tara", "shell")
    faults.set_passwords(server, ["tara"])
    terminal = _Terminal(server, faults.login(server, "tara"), "shell")
    try:
        output, exit = terminal.run("kubectl get nodes")
        assert exit["code"] == 0 and "control-plane" in output, (exit, output)
        proxy.down()
        try:
            time.sleep(2)
        finally:
            proxy.up()
        faults.wait_until(lambda: kubectl(server, server.kubeconfigs["tara/shell"], "get", "ns").returncode == 0,
                          20, "the API did not recover")
        output, exit = terminal.run("kubectl get nodes")
        assert exit["code"] == 0 and "control-plane" in output, (exit, output)
    finally:
        terminal.ws.close()
