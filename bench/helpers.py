"""What the live benchmarks share: percentiles, a process's CPU and memory from /proc, signing a learner in
(over HTTP, or a session made server side), and opening a page's WebSocket as the browser does (the session
cookie and the page's Origin, with the page's back-off when a handshake fails).

Used by bench/live_fanout.py, bench/classroom_grid.py, bench/lessons.py and bench/classroom.py.
"""
from __future__ import annotations

import asyncio
import base64
import http.cookiejar
import json
import os
import random
import re
import resource
import statistics
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path

CONNECT_ATTEMPTS = 8
PASSWORD = "a-Long-pass-phrase-42"


# ------------------------------------------------------------------------------------------ figures

def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] if ordered else float("nan")


def figures(values: list[float]) -> str:
    """p50/p95/p99/max of durations in seconds, in ms."""
    if not values:
        return "none"
    return (f"p50 {statistics.median(values) * 1000:.0f} ms, p95 {percentile(values, 0.95) * 1000:.0f} ms, "
            f"p99 {percentile(values, 0.99) * 1000:.0f} ms, max {max(values) * 1000:.0f} ms")


# ---------------------------------------------------------------------------------------- processes

def _stat_fields(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def group_pids(root: int) -> list[int]:
    """A process and its descendants (Celery's pool processes, the terminal's kubectl)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int(_stat_fields(int(entry.name))[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of processes and of their reaped children (cutime + cstime), from /proc/<pid>/stat."""
    total = 0
    for pid in pids:
        try:
            total += sum(int(v) for v in _stat_fields(pid)[11:15])
        except (OSError, ValueError):
            continue
    return total / os.sysconf("SC_CLK_TCK")


def rss_mb(pids: list[int]) -> float:
    """VmRSS summed over processes (shared pages counted in each)."""
    total = 0.0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
                    break
        except OSError:
            pass
    return total


def process_name(pid: int) -> str:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat[stat.index("(") + 1:stat.rindex(")")]


def postmaster_pid() -> int | None:
    """PostgreSQL's postmaster (its CPU includes its reaped backends'): a postgres whose parent is not one."""
    names: dict[int, tuple[str, int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                names[int(entry.name)] = (process_name(int(entry.name)), int(_stat_fields(int(entry.name))[1]))
            except (OSError, IndexError, ValueError):
                continue
    for pid, (name, ppid) in names.items():
        if name.startswith("postgres") and not names.get(ppid, ("", 0))[0].startswith("postgres"):
            return pid
    return None


def pids_named(prefix: str) -> list[int]:
    return [int(e.name) for e in Path("/proc").iterdir() if e.name.isdigit() and
            process_name(int(e.name)).startswith(prefix)]


def machine_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def busiest_others(exclude: set[int], seconds: float = 2.0, top: int = 5) -> list[str]:
    """The other processes that used the most CPU over a short sample (what else shares the cores)."""
    def sample() -> dict[int, tuple[str, float]]:
        out = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and int(entry.name) not in exclude:
                try:
                    stat = (entry / "stat").read_text()
                    name = stat[stat.index("(") + 1:stat.rindex(")")]
                    fields = stat.rsplit(")", 1)[1].split()
                    out[int(entry.name)] = (name, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"))
                except (OSError, ValueError):
                    continue
        return out
    before = sample()
    time.sleep(seconds)
    after = sample()
    used = sorted(((after[pid][1] - before[pid][1], after[pid][0]) for pid in after if pid in before), reverse=True)
    return [f"{name} {cpu / seconds * 100:.0f}%" for cpu, name in used[:top] if cpu > 0]


def own_cpu() -> float:
    """This process's CPU seconds (user + system)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def open_files_limit(pid: int) -> str:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            soft, hard = line.split()[3:5]
            return f"soft {soft}, hard {hard}"
    return "?"


def raise_open_files_limit() -> None:
    """The soft RLIMIT_NOFILE up to the hard limit: hundreds of sockets here, and the server started from here
    inherits it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


# ------------------------------------------------------------------------------------------ signing in

def signup(base: str, prefix: str = "learner") -> tuple[str, str]:
    """Sign a new learner up with the page's own form; their user name and the session cookie."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    html = opener.open(f"{base}/accounts/signup/", timeout=30).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    user = f"{prefix}-{uuid.uuid4().hex[:6]}"
    body = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "username": user, "password1": PASSWORD,
                                   "password2": PASSWORD}).encode()
    opener.open(urllib.request.Request(f"{base}/accounts/signup/", data=body,
                                       headers={"Referer": f"{base}/accounts/signup/"}), timeout=30).read()
    session = {c.name: c.value for c in jar}.get("sessionid")
    if not session:
        raise RuntimeError("signup did not log the learner in")
    return user, session


def login(base: str, user: str, password: str):
    """Sign an existing user in with the login form: a requests.Session holding the session cookie."""
    import requests

    session = requests.Session()
    session.get(f"{base}/accounts/login/").raise_for_status()
    answer = session.post(f"{base}/accounts/login/", data={
        "username": user, "password": password, "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        allow_redirects=False)
    if answer.status_code != 302 or "sessionid" not in session.cookies:
        raise RuntimeError(f"login of {user} failed: {answer.status_code}")
    return session


# For server-side setup scripts (`manage.py shell -c`): `session(user)` stores what signing in stores and
# returns the session key (the browser's `sessionid` cookie). Prepend it to the script (it has no braces).
SESSION_FUNCTION = '''
from importlib import import_module as _import_module
from django.conf import settings as _settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

def session(user):
    store = _import_module(_settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return store.session_key
'''


def cluster_access(kubeconfig: str) -> dict:
    """The API URL, bearer token and CA (PEM) of a kubeconfig's first cluster and user."""
    import yaml

    config = yaml.safe_load(kubeconfig)
    cluster, user = config["clusters"][0]["cluster"], config["users"][0]["user"]
    return {"server": cluster["server"], "token": user["token"],
            "ca": base64.b64decode(cluster["certificate-authority-data"]).decode()}


# ------------------------------------------------------------------------------------------ the sockets

def ws_base(http_url: str) -> str:
    return http_url.replace("http://", "ws://", 1).replace("https://", "wss://", 1)


async def connect(url: str, session: str, origin: str, *, gate: asyncio.Semaphore | None = None,
                  attempts: int = CONNECT_ATTEMPTS, on_retry: Callable[[Exception], None] | None = None):
    """A page's WebSocket (websockets' asyncio client) with the session cookie and the page's Origin. A refused
    or dropped handshake is tried again with the page's own back-off (frontend live.js); `gate` bounds the
    handshakes in flight (not the waits between them)."""
    from websockets.asyncio.client import connect as ws_connect
    from websockets.exceptions import InvalidHandshake, InvalidMessage

    for attempt in range(attempts):
        try:
            if gate is None:
                return await ws_connect(url, additional_headers={"Cookie": f"sessionid={session}"}, origin=origin,
                                        max_size=None, ping_interval=None, compression=None, open_timeout=120)
            async with gate:
                return await ws_connect(url, additional_headers={"Cookie": f"sessionid={session}"}, origin=origin,
                                        max_size=None, ping_interval=None, compression=None, open_timeout=120)
        except (OSError, InvalidHandshake, InvalidMessage, TimeoutError) as error:
            if attempt == attempts - 1:
                raise
            if on_retry is not None:
                on_retry(error)
            await asyncio.sleep(min(30.0, 0.5 * 2 ** attempt) * (0.75 + random.random() / 2))
    raise AssertionError("unreachable")


def connect_blocking(url: str, session: str, origin: str, timeout: float = 30):
    """The same socket with websocket-client, for a benchmark that drives one page from a thread."""
    import websocket

    return websocket.create_connection(url, cookie=f"sessionid={session}", origin=origin, timeout=timeout)


async def texts_until(socket, stop: asyncio.Event):
    """A socket's messages as (time received, text as sent) until `stop` is set or the socket closes."""
    stopper = asyncio.ensure_future(stop.wait())
    try:
        while True:
            receive = asyncio.ensure_future(socket.recv())
            done, _ = await asyncio.wait({receive, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if receive not in done:
                receive.cancel()
                return
            yield time.monotonic(), receive.result()
    finally:
        stopper.cancel()


async def messages_until(socket, stop: asyncio.Event):
    """A socket's messages as (time received, decoded JSON) until `stop` is set or the socket closes."""
    async for now, text in texts_until(socket, stop):
        yield now, json.loads(text)
