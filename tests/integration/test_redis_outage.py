"""Redis goes away and comes back, under a live server in classroom mode.

Redis carries the channel layer (wake-ups of watches and pages) and Celery's queue; PostgreSQL holds
everything else. So during the outage the API still answers and writes, a watch started before it
still sees every change exactly once (it re-reads the change log on a timer: clusters/kubeapi/watch.py),
and a reconcile requested meanwhile is not forgotten: the write set the cluster's next_wake, and once
Redis is back beat's sweeper hands the cluster to a worker, so a Deployment created during the outage
gets its pods Running.

The cluster page's live socket and a running `kubectl get pods -w` likewise see every change once and in
order, those made during the outage included (held against the change log in the database).

The machine's Redis serves other tests: the outage is this server's alone, a TcpProxy (test_database_outage.py's
outage_server) in front of the Redis database index the live server claimed.
"""
from __future__ import annotations

import json
import subprocess
import threading
import time

import pytest

from clusters.web.live import KINDS as PAGE_KINDS
from tests import live_server
from tests.integration import faults
from tests.integration.test_database_outage import KUBECTL, kubectl, ok, outage_server, wait_running

NAMES = [f"during-{i}" for i in range(5)]


@pytest.fixture(scope="module")
def outage(tmp_path_factory):
    host, port = live_server.REDIS_HOST, live_server.REDIS_PORT
    yield from outage_server(tmp_path_factory, "redis-outage", "claim_redis_db", host, port,
                             f"redis://{host}:{port}/")


def watch_events(text: str) -> list[tuple[str, str]]:
    """(type, name) of each event `kubectl get -w --output-watch-events -o json` printed."""
    decoder, events, at = json.JSONDecoder(), [], 0
    while (at := text.find("{", at)) != -1:
        event, at = decoder.raw_decode(text, at)
        events.append((event["type"], event["object"]["metadata"]["name"]))
    return events


def watch_objects(text: str) -> list[dict]:
    """The events `kubectl get -w --output-watch-events -o json` printed, whole."""
    decoder, events, at = json.JSONDecoder(), [], 0
    while (at := text.find("{", at)) != -1:
        event, at = decoder.raw_decode(text, at)
        events.append(event)
    return events


def test_redis_outage_loses_no_watch_event_and_no_reconcile(outage):
    server, proxy = outage
    kubeconfig = server.new_cluster("rhea", "outage")
    ok(kubectl(server, kubeconfig, "create", "configmap", "before", "--from-literal=a=b"))
    watcher = subprocess.Popen([str(KUBECTL),
                                "--kubeconfig", str(kubeconfig), "get", "configmaps", "-w", "--output-watch-events",
                                "-o", "json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=server.env)
    try:
        time.sleep(2)   # the watch is open (its initial ADDED events are out)
        proxy.down()
        try:
            for name in NAMES:
                ok(kubectl(server, kubeconfig, "create", "configmap", name, "--from-literal=a=b"))
            ok(kubectl(server, kubeconfig, "label", "configmap", NAMES[0], "changed=yes"))
            ok(kubectl(server, kubeconfig, "create", "deployment", "web", "--image=nginx:1.27", "--replicas=2"))
            time.sleep(2)
        finally:
            proxy.up()
        ok(kubectl(server, kubeconfig, "create", "configmap", "after", "--from-literal=a=b"))
        wait_running(server, kubeconfig, 2, timeout=40)   # the reconcile requested during the outage ran
        time.sleep(6)   # a few of serve's looks at its clusters (version_poll.POLL_SECONDS) for the last events
    finally:
        watcher.terminate()
        out, err = watcher.communicate(timeout=10)

    events = watch_events(out)
    names = [name for _, name in events]
    for name in ["before", *NAMES, "after"]:
        assert events.count(("ADDED", name)) == 1, f"{name}: {events}\n{err}"
    assert events.count(("MODIFIED", NAMES[0])) == 1, events
    assert names.index("before") < names.index(NAMES[0]) < names.index("after"), events
    assert not [e for e in events if e[0] not in ("ADDED", "MODIFIED")], events



def test_redis_outage_page_socket_and_kubectl_pods_watch_see_every_change_once(outage):
    """The cluster page's live socket and a running `kubectl get pods -w` (real kubectl), both opened before
    the outage: whatever they do while Redis is away (the page's socket may drop and come back with ?rv=, a
    watch falls back on its re-check timer), once Redis is back each has seen every change once and in order,
    the ones made during the outage included: the page every logged change of the kinds it shows, kubectl
    every change of the default namespace's pods, held against the change log in the database."""
    server, proxy = outage
    kubeconfig = server.new_cluster("rosa", "outage")
    cluster_id = server.cluster_id(kubeconfig)
    faults.set_passwords(server, ["rosa"])
    page = faults.PageSocket(server, faults.login(server, "rosa"), "outage")
    page.start()
    assert page.opened.wait(30), "the page socket sent no snapshot"
    watcher = subprocess.Popen([str(KUBECTL), "--kubeconfig", str(kubeconfig), "get", "pods", "-w",
                                "--output-watch-events", "-o", "json"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=server.env)
    printed: list[str] = []
    reader = threading.Thread(target=lambda: printed.extend(iter(watcher.stdout.readline, "")), daemon=True)
    reader.start()
    try:
        ok(kubectl(server, kubeconfig, "create", "deployment", "web", "--image=nginx:1.27", "--replicas=2"))
        wait_running(server, kubeconfig, 2, timeout=40)
        proxy.down()
        try:
            ok(kubectl(server, kubeconfig, "scale", "deployment", "web", "--replicas=4"))
            ok(kubectl(server, kubeconfig, "create", "configmap", "during", "--from-literal=a=b"))
            ok(kubectl(server, kubeconfig, "delete", "pod", "-l", "app=web", "--wait=false"))
            time.sleep(2)   # the outage lasts a little while
        finally:
            proxy.up()
        ok(kubectl(server, kubeconfig, "scale", "deployment", "web", "--replicas=3"))
        ok(kubectl(server, kubeconfig, "create", "configmap", "after", "--from-literal=a=b"))
        wait_running(server, kubeconfig, 3, timeout=60)
        rv, compacted, log = faults.change_log(server, cluster_id)
        pod_rows = [(r, event, name) for r, event, kind, namespace, name in log
                    if kind == "Pod" and namespace == "default"]
        faults.wait_until(lambda: (page.rv or 0) >= rv, 30, lambda: f"the page stayed at {page.rv} < {rv}")
        last = f'"resourceVersion":"{pod_rows[-1][0]}"'
        faults.wait_until(lambda: watcher.poll() is not None or any(last in line.replace(" ", "") for line in printed),
                          30, "kubectl did not print the last pod change")
    finally:
        page.finish()
        alive = watcher.poll() is None
        watcher.terminate()
        _, err = watcher.communicate(timeout=10)
        reader.join(10)
    out = "".join(printed)
    assert alive, f"kubectl get pods -w ended during the outage:\n{err}"

    faults.check_log_contiguous(rv, compacted, log)
    paged = faults.check_page(page, log, PAGE_KINDS, rv)
    seen = [(int(e["object"]["metadata"]["resourceVersion"]), e["type"], e["object"]["metadata"]["name"])
            for e in watch_objects(out)]
    seen = [entry for entry in seen if entry[0] <= rv]
    assert seen == pod_rows, f"kubectl's pod events differ from the log:\n{seen}\n{pod_rows}\n{err}"
    print(f"the page: {paged} changes over {page.connections} connection(s); kubectl: {len(seen)} pod events")
