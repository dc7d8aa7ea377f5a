"""Clients for the fault tests (test_worker_kill.py, test_redis_outage.py, test_quota_hammer.py): they record
what a learner's tools would have seen, so a test can hold it against the change log in the database.

* `Api`: plain requests with a cluster's token (as the Python client sends them).
* `Watcher`: a `watch=true` stream that, like kubectl and client-go's reflector, reconnects from the last
  resourceVersion it saw when the server ends the stream (`timeoutSeconds`) or the connection breaks.
* `PageSocket`: the cluster page's live socket (/clusters/<name>/live), resuming with `?rv=` after a drop as
  the page does.
* `change_log`: the cluster's change log read straight from PostgreSQL, and the checks that a watch and a
  page saw exactly that: every change once, in order.
"""
from __future__ import annotations

import base64
import json
import threading
import time
from pathlib import Path

import psycopg
import requests
import websocket
import yaml


class Api:
    """The Kubernetes API of one cluster over HTTPS with its bearer token (one session per thread)."""

    def __init__(self, kubeconfig: Path, tmp: Path) -> None:
        conf = yaml.safe_load(kubeconfig.read_text())
        self.base = conf["clusters"][0]["cluster"]["server"]
        self.ca = tmp / f"ca-{kubeconfig.stem}.crt"
        self.ca.write_bytes(base64.b64decode(conf["clusters"][0]["cluster"]["certificate-authority-data"]))
        self.token = conf["users"][0]["user"]["token"]
        self._local = threading.local()

    @property
    def session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            session.headers["Authorization"] = "Bearer " + self.token
            session.verify = str(self.ca)
            session.trust_env = False
        return session

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", 60)
        return self.session.request(method, self.base + path, **kwargs)

    def call(self, method: str, path: str, **kwargs) -> dict:
        response = self.request(method, path, **kwargs)
        assert response.ok, f"{method} {path}: {response.status_code} {response.text[:500]}"
        return response.json()

    def patch(self, path: str, body: dict) -> dict:
        return self.call("PATCH", path, json=body, headers={"Content-Type": "application/merge-patch+json"})


class Watcher(threading.Thread):
    """`GET <path>?watch=true` from `since`, reconnecting from the last resourceVersion seen (an event's or a
    BOOKMARK's) whenever the stream ends, as kubectl does after its request timeout. `events` holds every
    ADDED/MODIFIED/DELETED event received; `errors` what should never happen (an ERROR event, a 410)."""

    def __init__(self, api: Api, path: str, since: str, *, timeout_seconds: int = 8) -> None:
        super().__init__(daemon=True)
        self.api, self.path, self.since = api, path, int(since)
        self.start_rv = int(since)
        self.timeout_seconds = timeout_seconds
        self.events: list[dict] = []
        self.errors: list[str] = []
        self.streams = 0        # how many times the watch was (re)opened
        self.stop = threading.Event()

    def run(self) -> None:
        session = requests.Session()
        session.headers["Authorization"] = "Bearer " + self.api.token
        session.verify, session.trust_env = str(self.api.ca), False
        while not self.stop.is_set():
            self.streams += 1
            try:
                with session.get(self.api.base + self.path, stream=True, timeout=(10, self.timeout_seconds + 30),
                                 params={"watch": "true", "resourceVersion": str(self.since),
                                         "allowWatchBookmarks": "true",
                                         "timeoutSeconds": str(self.timeout_seconds)}) as response:
                    if response.status_code != 200:
                        self.errors.append(f"watch answered {response.status_code}: {response.text[:300]}")
                        time.sleep(1)
                        continue
                    for line in response.iter_lines():
                        if not line:
                            continue
                        event = json.loads(line)
                        if event["type"] == "ERROR":
                            self.errors.append(f"ERROR event: {event['object']}")
                            time.sleep(1)
                            break
                        self.since = int(event["object"]["metadata"]["resourceVersion"])
                        if event["type"] != "BOOKMARK":
                            self.events.append(event)
                        if self.stop.is_set():
                            return
            except requests.RequestException:
                time.sleep(0.5)   # the connection broke (a server or proxy outage): reconnect from self.since

    def finish(self) -> None:
        self.stop.set()
        self.join(self.timeout_seconds + 45)

    def seen(self) -> list[tuple[int, str, str]]:
        """(resourceVersion, type, name) of every event received, in order."""
        return [(int(e["object"]["metadata"]["resourceVersion"]), e["type"], e["object"]["metadata"]["name"])
                for e in self.events]


def set_passwords(server, users: list[str]) -> None:
    """Give each user the password pw-<user> (the page socket needs a logged-in session)."""
    server.manage("shell", "-c", "from django.contrib.auth import get_user_model as m\n"
                  f"for name in {users!r}:\n"
                  "    u = m().objects.get(username=name); u.set_password('pw-' + name); u.save()")


def login(server, user: str) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.get(f"{server.http_url}/accounts/login/", timeout=30).raise_for_status()
    answer = session.post(f"{server.http_url}/accounts/login/", timeout=30, allow_redirects=False, data={
        "username": user, "password": f"pw-{user}", "csrfmiddlewaretoken": session.cookies["csrftoken"]})
    assert answer.status_code == 302, answer.text
    return session


def wake_pages(server, cluster_id: str, rv: int) -> None:
    """Say "cluster changed at rv" to the cluster's pages, as a committed write does (clusters/store/notify.py),
    through the server's own channel layer."""
    from asgiref.sync import async_to_sync
    from channels_redis.pubsub import RedisPubSubChannelLayer

    from clusters.store.notify import group_name

    layer = RedisPubSubChannelLayer(hosts=[server.env["REDIS_URL"]])
    async_to_sync(layer.group_send)(group_name(cluster_id), {"type": "cluster.changed", "rv": rv})


class PageSocket(threading.Thread):
    """The cluster page's live socket. Records every message; after a dropped connection it reconnects with
    `?rv=<last rv it had>`, as the page does, so `changes` must continue exactly where it was."""

    def __init__(self, server, session: requests.Session, cluster: str) -> None:
        super().__init__(daemon=True)
        self.url = server.http_url.replace("http://", "ws://") + f"/clusters/{cluster}/live"
        self.origin = server.http_url
        self.cookie = f"sessionid={session.cookies['sessionid']}"
        self.messages: list[dict] = []
        self.rv: int | None = None
        self.connections = 0
        self.drops: list[str] = []   # why each connection ended before finish(): for a failure's message
        self.stop = threading.Event()
        self.opened = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            url = self.url if self.rv is None else f"{self.url}?rv={self.rv}"
            try:
                ws = websocket.create_connection(url, cookie=self.cookie, origin=self.origin, timeout=10)
            except (OSError, websocket.WebSocketException):
                time.sleep(0.5)
                continue
            self.connections += 1
            ws.settimeout(1)
            try:
                while not self.stop.is_set():
                    try:
                        text = ws.recv()
                    except websocket.WebSocketTimeoutException:
                        continue
                    if not text:
                        self.drops.append("closed by the server")
                        break
                    message = json.loads(text)
                    self.messages.append(message)
                    if message["type"] == "snapshot":
                        self.rv = message["rv"]
                    elif message["type"] == "changes":
                        self.rv = message["to"]
                    self.opened.set()
            except (OSError, websocket.WebSocketException) as exc:
                self.drops.append(repr(exc))
                time.sleep(0.5)   # dropped: reconnect with ?rv=
            finally:
                ws.close()

    def finish(self) -> None:
        self.stop.set()
        self.join(20)

    def changes(self) -> tuple[int, list[tuple[int, str, str, str]], list[str]]:
        """(the first snapshot's rv, every change received as (rv, event, kind, name), problems): a message
        that does not start where the previous ended, or a second snapshot, is a problem."""
        problems: list[str] = []
        start = None
        at = None
        seen: list[tuple[int, str, str, str]] = []
        for message in self.messages:
            if message["type"] == "snapshot":
                if start is not None:
                    problems.append(f"a second snapshot at rv {message['rv']} (after {at})")
                start = at = message["rv"]
            elif message["type"] == "changes":
                if message["from"] != at:
                    problems.append(f"changes from {message['from']} after the page was at {at}")
                at = message["to"]
                seen += [(c["rv"], c["event"], c["kind"], c["name"]) for c in message["changes"]]
            elif message["type"] not in ("controls",):
                problems.append(f"unexpected message {message['type']}")
        return start if start is not None else -1, seen, problems


def change_log(server, cluster_id: str) -> tuple[int, int, list[tuple[int, str, str, str, str]]]:
    """(resourceVersion, compacted resourceVersion, [(rv, type, kind, namespace, name) …] oldest first) of a
    cluster."""
    with psycopg.connect(server.env["DATABASE_URL"]) as conn:
        rv, compacted = conn.execute("SELECT resource_version, compacted_resource_version FROM clusters_cluster "
                                     "WHERE id = %s", (cluster_id,)).fetchone()
        rows = conn.execute("SELECT resource_version, type, kind, namespace, name FROM clusters_change "
                            "WHERE cluster_id = %s ORDER BY resource_version", (cluster_id,)).fetchall()
    return rv, compacted, [tuple(row) for row in rows]


def check_log_contiguous(rv: int, compacted: int, log: list[tuple]) -> None:
    """Every resourceVersion after the compaction horizon is in the log once, up to the cluster's."""
    rvs = [row[0] for row in log]
    assert rvs, "the change log is empty"
    # A new cluster's log starts after its first resourceVersion; a trimmed one right after the horizon.
    assert rvs[0] > compacted and (compacted == 0 or rvs[0] == compacted + 1), \
        f"the log starts at {rvs[0]}, compacted up to {compacted}"
    assert rvs == list(range(rvs[0], rv + 1)), "the change log has a gap or a duplicate"


def check_watch(watcher: Watcher, log: list[tuple], kind: str, upto: int) -> int:
    """The watch saw exactly the log's changes of `kind` after where it started, up to `upto`, in order,
    with the log's event types. Returns how many."""
    first = watcher.start_rv
    want = [(rv, event, name) for rv, event, k, _, name in log if k == kind and first < rv <= upto]
    got = [entry for entry in watcher.seen() if entry[0] <= upto]
    assert not watcher.errors, watcher.errors
    if got != want:
        missing = sorted(set(want) - set(got))[:10]
        extra = sorted(set(got) - set(want))[:10]
        twice = sorted({e for e in got if got.count(e) > 1})[:10]
        raise AssertionError(f"the watch of {kind} differs from the change log: {len(got)} events for "
                             f"{len(want)} changes; missing {missing}, extra {extra}, twice {twice}")
    return len(want)


def start_watch(api: Api, path: str, **kwargs) -> Watcher:
    """A Watcher from the resourceVersion of a list of `path` (as kubectl get -w starts)."""
    since = api.call("GET", path)["metadata"]["resourceVersion"]
    watcher = Watcher(api, path, since, **kwargs)
    watcher.start()
    return watcher


def check_page(page: PageSocket, log: list[tuple], kinds: tuple[str, ...], upto: int) -> int:
    """The page got one snapshot, then every logged change of the page's kinds, once and in order."""
    start, seen, problems = page.changes()
    assert not problems, problems
    want = [(rv, event, kind, name) for rv, event, kind, _, name in log if kind in kinds and start < rv <= upto]
    got = [entry for entry in seen if entry[0] <= upto]
    if got != want:
        missing = sorted(set(want) - set(got))[:10]
        extra = sorted(set(got) - set(want))[:10]
        raise AssertionError(f"the page's changes differ from the change log: {len(got)} for {len(want)}; "
                             f"missing {missing}, extra {extra}")
    return len(want)


def wait_until(check, timeout: float, message: str, interval: float = 0.3):
    """Poll `check()` until it returns something true; fail with `message` (called if callable) after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(message() if callable(message) else message)
        time.sleep(interval)
