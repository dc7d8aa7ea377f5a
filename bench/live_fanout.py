r"""Live-feed fan-out: N open cluster pages on ONE server process, a steady stream of writes, every page
gets every change exactly once and in order.

A live playground (tests/live_server.py, one `manage.py serve` process; embedded mode: SQLite and the
in-memory channel layer unless --postgres). This client signs a learner up over HTTP once (the
session cookie), gives them a cluster (the management command), then opens N live sockets
(`/clusters/<name>/live`, the session cookie and the page's Origin, exactly what the browser sends)
with asyncio + websockets, and waits until every one has its snapshot. Then a writer thread drives
the API over HTTPS with the cluster's bearer token (the way kubectl does): it creates K ConfigMaps
and patches them round-robin (merge patch) at a steady rate for --seconds, noting each write's
resourceVersion and when it started and was answered.

Checks, per page, from the "changes" messages: each message's `from` equals the previous `to` (the
snapshot's rv for the first); within the change lists every resourceVersion is new and larger than
the last (order), and every write's resourceVersion arrives — lost = writes a page never got,
duplicated = resourceVersions a page got twice, out of order = one not above the last. Delivery
latency = the page's receipt − the write's start (also − the API's answer), on this process's
monotonic clock (the pages and the writer are in this one process). The server's RSS is sampled
from /proc every 0.25 s. Targets: ≥ 500 pages held, zero lost. Never fails on figures.

The open-files limit: this process raises its soft RLIMIT_NOFILE to the hard limit before starting
the server, which inherits it (both are printed).

    .venv/bin/python bench/live_fanout.py [--pages 500] [--rate 10] [--seconds 30] [--configmaps 20] \
        [--idle 10] [--postgres]
"""
from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import re
import resource
import ssl
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import helpers  # noqa: E402
from bench.helpers import open_files_limit, percentile  # noqa: E402
from tests import live_server  # noqa: E402

TARGET_PAGES = 500
TARGET_LOST = 0


@dataclass
class Page:
    index: int
    rv: int | None = None            # the snapshot's, then the last message's `to`
    last_change: int = 0              # the last change resourceVersion applied
    seen: dict[int, int] = field(default_factory=dict)     # change rv -> times received
    arrived: dict[int, float] = field(default_factory=dict)  # change rv -> first receipt (monotonic)
    messages: int = 0
    gaps: int = 0                     # a message whose `from` is past the last `to`
    overlaps: int = 0                 # a message whose `from` is before the last `to`
    out_of_order: int = 0
    snapshots: int = 0
    closed: str | None = None
    retries: int = 0                  # handshakes that failed and were tried again
    last_error: str | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)


async def hold_page(page: Page, url: str, session: str, origin: str, stop: asyncio.Event,
                    connect_gate: asyncio.Semaphore) -> None:
    def retried(error: Exception) -> None:
        page.retries += 1
        page.last_error = f"{type(error).__name__}: {error}"

    try:
        # A refused or dropped handshake is retried with the page's own back-off (frontend live.js).
        socket = await helpers.connect(url, session, origin, gate=connect_gate, on_retry=retried)
        async with socket:
            async for now, message in helpers.messages_until(socket, stop):
                page.messages += 1
                if message["type"] == "snapshot":
                    page.snapshots += 1
                    page.rv = message["rv"]
                    page.last_change = max(page.last_change, message["rv"])
                    page.ready.set()
                elif message["type"] == "changes":
                    if page.rv is not None and message["from"] > page.rv:
                        page.gaps += 1
                    elif page.rv is not None and message["from"] < page.rv:
                        page.overlaps += 1
                    for change in message["changes"]:
                        rv = change["rv"]
                        page.seen[rv] = page.seen.get(rv, 0) + 1
                        if page.seen[rv] == 1:
                            page.arrived[rv] = now
                        if rv <= page.last_change:
                            page.out_of_order += 1
                        page.last_change = max(page.last_change, rv)
                    page.rv = max(page.rv or 0, message["to"])
    except Exception as error:
        page.closed = f"{type(error).__name__}: {error}"
        page.ready.set()


class Writer(threading.Thread):
    """Creates then merge-patches ConfigMaps over HTTPS at a steady rate; notes (rv, start, answered)."""

    def __init__(self, server_url: str, token: str, ca: str, rate: float, seconds: float, configmaps: int):
        super().__init__(daemon=True)
        parts = urllib.parse.urlsplit(server_url)
        self.host, self.port, self.prefix = parts.hostname, parts.port, parts.path
        self.token, self.ca, self.rate, self.seconds, self.configmaps = token, ca, rate, seconds, configmaps
        self.writes: list[tuple[int, float, float]] = []
        self.errors: list[str] = []

    def run(self) -> None:
        conn = http.client.HTTPSConnection(self.host, self.port, context=ssl.create_default_context(cafile=self.ca),
                                           timeout=60)
        base = f"{self.prefix}/api/v1/namespaces/default/configmaps"
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        total = int(self.rate * self.seconds)
        begin = time.monotonic()
        for n in range(total):
            due = begin + n / self.rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            name = f"cm-{n % self.configmaps}"
            if n < self.configmaps:
                method, path, body, kind = "POST", base, {"apiVersion": "v1", "kind": "ConfigMap",
                                                          "metadata": {"name": name}, "data": {"n": str(n)}}, \
                    "application/json"
            else:
                method, path, body, kind = "PATCH", f"{base}/{name}", {"data": {"n": str(n)}}, \
                    "application/merge-patch+json"
            start = time.monotonic()
            try:
                conn.request(method, path, body=json.dumps(body), headers={**headers, "Content-Type": kind})
                response = conn.getresponse()
                answer = json.loads(response.read())
            except (OSError, http.client.HTTPException) as error:
                self.errors.append(f"{method} {name}: {error}")
                conn.close()
                continue
            answered = time.monotonic()
            if response.status >= 300:
                self.errors.append(f"{method} {name}: {response.status} {answer.get('message')}")
                continue
            self.writes.append((int(answer["metadata"]["resourceVersion"]), start, answered))
        conn.close()


async def sample_rss(pid: int, samples: list[tuple[float, float]], stop: asyncio.Event) -> None:
    while not stop.is_set():
        samples.append((time.monotonic(), helpers.rss_mb([pid])))
        try:
            await asyncio.wait_for(stop.wait(), 0.25)
        except TimeoutError:
            pass


async def run(args, server: live_server.LiveServer, user: str, session: str, cluster: dict) -> None:
    pid = server.process.pid
    rss: list[tuple[float, float]] = []
    stop_rss = asyncio.Event()
    sampler = asyncio.ensure_future(sample_rss(pid, rss, stop_rss))
    rss_idle = helpers.rss_mb([pid])

    url = f"ws://127.0.0.1:{server.http_port}/clusters/fanout/live"
    pages = [Page(i) for i in range(args.pages)]
    stop = asyncio.Event()
    gate = asyncio.Semaphore(args.connect_concurrency)
    began = time.monotonic()
    tasks = [asyncio.ensure_future(hold_page(p, url, session, server.http_url, stop, gate)) for p in pages]
    await asyncio.wait_for(asyncio.gather(*(p.ready.wait() for p in pages)), timeout=600)
    opened = time.monotonic() - began
    held = [p for p in pages if p.closed is None and p.snapshots]
    retried = [p for p in pages if p.retries]
    print(f"pages: {len(held)}/{args.pages} open with their snapshot in {opened:.1f} s "
          f"({len(held) / opened:.0f} pages/s); failed: {args.pages - len(held)}; "
          f"{len(retried)} needed {sum(p.retries for p in retried)} handshake retries"
          f"{f' (first error: {retried[0].last_error})' if retried else ''}")
    for p in pages:
        if p.closed:
            print(f"  page {p.index}: {p.closed}")
            log = (server.root / "server.log").read_text(errors="replace").splitlines()
            errors = [line for line in log if re.search(r"Error|Exception|Traceback|refused", line)]
            print(f"  server.log: {len(errors)} error lines" + "".join(f"\n    {line[:300]}" for line in errors[-5:]))
            break
    await asyncio.sleep(1)
    rss_open = helpers.rss_mb([pid])
    # The cost of holding the pages with nothing happening (each page's consumer re-checks every 5 s).
    idle_before = helpers.cpu_seconds([pid])
    await asyncio.sleep(args.idle)
    idle_cpu = (helpers.cpu_seconds([pid]) - idle_before) / max(0.001, args.idle)
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    server_cpu_before = helpers.cpu_seconds([pid])

    writer = Writer(cluster["server"], cluster["token"], cluster["ca"], args.rate, args.seconds, args.configmaps)
    stream_began = time.monotonic()
    writer.start()
    while writer.is_alive():
        await asyncio.sleep(0.2)
    written = time.monotonic() - stream_began
    expected = [rv for rv, _, _ in writer.writes]
    last = max(expected) if expected else 0
    # Wait for every page to reach the last write (the consumers' re-check runs every 5 s anyway).
    deadline = time.monotonic() + args.drain
    while time.monotonic() < deadline and any(p.closed is None and p.last_change < last for p in held):
        await asyncio.sleep(0.1)
    drained = time.monotonic() - stream_began - written
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    server_cpu = helpers.cpu_seconds([pid]) - server_cpu_before
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    stop_rss.set()
    await sampler

    lost = duplicated = out_of_order = gaps = overlaps = resyncs = 0
    delivered = 0
    pages_complete = 0
    latency_start: list[float] = []
    latency_answer: list[float] = []
    for page in held:
        missing = [rv for rv in expected if rv not in page.seen]
        lost += len(missing)
        duplicated += sum(n - 1 for n in page.seen.values() if n > 1)
        out_of_order += page.out_of_order
        gaps += page.gaps
        overlaps += page.overlaps
        resyncs += page.snapshots - 1
        delivered += len(expected) - len(missing)
        pages_complete += not missing
        for rv, start, answered in writer.writes:
            if rv in page.arrived:
                latency_start.append(page.arrived[rv] - start)
                latency_answer.append(page.arrived[rv] - answered)
    peak = max((mb for _, mb in rss if mb == mb), default=float("nan"))
    stream_rss = [mb for t, mb in rss if stream_began <= t]
    client_cpu = (cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime)

    api = [answered - start for _, start, answered in writer.writes]
    print(f"\nLive fan-out on one server process ({'PostgreSQL' if args.postgres else 'SQLite'}, embedded mode, "
          f"in-memory channel layer)")
    print(f"  writes: {len(expected)} ConfigMap creates/patches asked at {args.rate:g}/s, done in {written:.1f} s "
          f"({len(expected) / max(0.001, written):.1f}/s; errors: {len(writer.errors)}"
          f"{'; first: ' + writer.errors[0] if writer.errors else ''}); "
          f"pages caught up {drained:.1f} s after the last write")
    if api:
        print(f"  API write time       : p50 {statistics.median(api) * 1000:.0f} ms, "
              f"p95 {percentile(api, 0.95) * 1000:.0f} ms (while the pages are fed)")
    print(f"  pages held           : {len(held)}   (target ≥ {TARGET_PAGES}: "
          f"{len(held) / TARGET_PAGES:.2f}× the target)")
    print(f"  updates delivered    : {delivered} of {len(expected) * len(held)} (pages × writes); "
          f"{pages_complete}/{len(held)} pages got every write")
    print(f"  lost                 : {lost}   (target {TARGET_LOST}: {'met' if lost == TARGET_LOST else 'NOT met'})")
    print(f"  duplicated           : {duplicated}   out of order: {out_of_order}   "
          f"message gaps (from > last to): {gaps}   overlaps: {overlaps}   resync snapshots: {resyncs}")
    print(f"  delivery latency     : from the write's start p50 {statistics.median(latency_start) * 1000:.0f} ms, "
          f"p95 {percentile(latency_start, 0.95) * 1000:.0f} ms, max {max(latency_start) * 1000:.0f} ms; "
          f"from the API's answer p50 {statistics.median(latency_answer) * 1000:.0f} ms, "
          f"p95 {percentile(latency_answer, 0.95) * 1000:.0f} ms" if latency_start else
          "  delivery latency     : nothing delivered")
    print(f"  server RSS           : {rss_idle:.0f} MB before the pages, {rss_open:.0f} MB with {len(held)} pages open "
          f"({(rss_open - rss_idle) * 1024 / max(1, len(held)):.0f} KB per page), peak {peak:.0f} MB"
          f"{f', {statistics.median(stream_rss):.0f} MB median during the stream' if stream_rss else ''}")
    print(f"  open files           : this client {open_files_limit(os.getpid())}; "
          f"server {open_files_limit(pid)}")
    print(f"  server CPU, idle     : {idle_cpu * 100:.0f}% of one core with {len(held)} pages open and no writes "
          f"({args.idle:g} s)")
    print(f"  CPU during the stream: server {server_cpu:.1f} s "
          f"({server_cpu / max(0.001, written + drained) * 100:.0f}% of one core), this client {client_cpu:.1f} s "
          f"({client_cpu / max(0.001, written + drained) * 100:.0f}%)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=500)
    parser.add_argument("--rate", type=float, default=10.0, help="writes per second")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--configmaps", type=int, default=20)
    parser.add_argument("--drain", type=float, default=60.0, help="seconds to wait for pages after the last write")
    parser.add_argument("--connect-concurrency", type=int, default=50)
    parser.add_argument("--idle", type=float, default=10.0, help="seconds of no writes, to measure the idle cost")
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()

    helpers.raise_open_files_limit()   # the server subprocess inherits it
    with tempfile.TemporaryDirectory(prefix="bench-fanout-") as tmp:
        server = live_server.start(Path(tmp), backend="postgres" if args.postgres else "sqlite")
        try:
            user, session = helpers.signup(server.http_url, "fanout")
            kubeconfig = server.new_cluster(user, "fanout")
            access = helpers.cluster_access(kubeconfig.read_text())
            ca = Path(tmp) / "ca.crt"
            ca.write_text(access["ca"])
            cluster = {"server": access["server"], "token": access["token"], "ca": str(ca)}
            asyncio.run(run(args, server, user, session, cluster))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
