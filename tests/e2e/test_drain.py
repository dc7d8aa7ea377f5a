"""kubernetes.io "Safely Drain a Node" (tasks/administer-cluster/safely-drain-node), its commands as written,
with the real kubectl against the playground.

A Deployment spread over the two workers and a DaemonSet on each; `kubectl drain worker-1
--ignore-daemonsets` evicts the Deployment's pods (kubectl POSTs pods/<name>/eviction, policy/v1) and prints
what it prints against a real cluster:

    node/worker-1 cordoned
    Warning: ignoring DaemonSet-managed Pods: default/node-agent-…, kube-system/kindnet-…, kube-system/kube-proxy-…
    evicting pod default/web-…
    pod/web-… evicted
    node/worker-1 drained

(the Warning on stderr, the rest on stdout; system pods that happen to run on worker-1 are evicted with
the learner's). A pod with an emptyDir stops the drain without `--delete-emptydir-data` — kubectl's own
refusal, "cannot delete Pods with local storage". The evicted pods come back on worker-2, `kubectl get nodes`
shows worker-1 `Ready,SchedulingDisabled` until `kubectl uncordon worker-1`.

A PodDisruptionBudget with minAvailable equal to the replicas blocks the eviction: the server answers 429
and kubectl prints "error when evicting pods/"…" -n "default" (will retry after 5s): Cannot evict pod as it
would violate the pod's disruption budget." every 5 s until --timeout ends it; once the budget allows one
disruption the drain goes through. `--disable-eviction` deletes the pods instead (a protobuf DeleteOptions
body: `pod/… deleted`), and the page's Eviction API example (POST an Eviction, 201 Success) works with
`kubectl create --raw`.
"""
from __future__ import annotations

import json
import re

import pytest

from .conftest import instant_server
from .tutorial import HASH, SUFFIX, Page, eventually, table

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from instant_server(tmp_path_factory, "drain")


def deployment(name: str, replicas: int, *, prefer: str | None = None, empty_dir: bool = False) -> dict:
    spec: dict = {"containers": [{"name": "nginx", "image": "nginx:1.27"}]}
    if prefer:
        spec["affinity"] = {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{
            "weight": 100, "preference": {"matchExpressions": [
                {"key": "kubernetes.io/hostname", "operator": "In", "values": [prefer]}]}}]}}
    if empty_dir:
        spec["containers"][0]["volumeMounts"] = [{"name": "cache", "mountPath": "/cache"}]
        spec["volumes"] = [{"name": "cache", "emptyDir": {}}]
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": spec}}}


DAEMONSET = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "node-agent"},
             "spec": {"selector": {"matchLabels": {"app": "node-agent"}},
                      "template": {"metadata": {"labels": {"app": "node-agent"}},
                                   "spec": {"containers": [{"name": "agent", "image": "busybox:1.36",
                                                            "command": ["sleep", "infinity"]}]}}}}


def nodes_of(page: Page, *selector: str) -> dict[str, str]:
    """Pod name → node of the pods of `kubectl get pods -o wide`."""
    rows = table(page("get", "pods", "-o", "wide", *selector))
    assert rows[0][:7] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE"], rows[0]
    return {row[0]: row[6] for row in rows[1:]}


def drained(out: str, node: str = "worker-1") -> list[str]:
    """The pods a drain's stdout says it evicted, checked line by line against kubectl's wording."""
    lines = out.rstrip("\n").split("\n")
    assert lines[0] in (f"node/{node} cordoned", f"node/{node} already cordoned"), out
    assert lines[-1] == f"node/{node} drained", out
    evicting = [m[1] for line in lines if (m := re.fullmatch(r"evicting pod ([a-z0-9-]+/[a-z0-9-]+)", line))]
    evicted = [m[1] for line in lines if (m := re.fullmatch(r"pod/([a-z0-9-]+) evicted", line))]
    assert len(evicting) + len(evicted) == len(lines) - 2, out
    assert sorted(name.split("/")[1] for name in evicting) == sorted(evicted), out
    return evicting


def test_the_page(server):
    page = Page(server, "drain")
    page.apply_yaml(deployment("web", 4))
    page.apply_yaml(DAEMONSET)
    page.apply_yaml(deployment("cache", 1, prefer="worker-1", empty_dir=True))
    page.running(4, "-l", "app=web", timeout=60)
    page.running(2, "-l", "app=node-agent", timeout=60)
    page.running(1, "-l", "app=cache", timeout=60)
    before = nodes_of(page, "-l", "app=web")
    on_worker_1 = sorted(name for name, node in before.items() if node == "worker-1")
    assert on_worker_1 and len(on_worker_1) < 4, before       # spread over both workers
    (cache,) = nodes_of(page, "-l", "app=cache")
    assert nodes_of(page, "-l", "app=cache")[cache] == "worker-1"

    # Without --delete-emptydir-data, kubectl refuses (it checks the pods itself; the node stays cordoned).
    refused = page.run("drain", "worker-1", "--ignore-daemonsets", check=False)
    assert refused.returncode == 1
    assert refused.stdout == "node/worker-1 cordoned\n"
    assert re.search(r"^error: unable to drain node \"worker-1\" due to error: cannot delete Pods with local "
                     rf"storage \(use --delete-emptydir-data to override\): (?:[a-z-]+/[a-z0-9-]+, )*default/{cache}"
                     r"(?:, [a-z-]+/[a-z0-9-]+)*, continuing command\.\.\.$", refused.stderr, re.M), refused.stderr

    result = page.run("drain", "worker-1", "--ignore-daemonsets", "--delete-emptydir-data")
    evicting = drained(result.stdout)
    assert {f"default/{name}" for name in on_worker_1} | {f"default/{cache}"} <= set(evicting), result.stdout
    assert not any(name.startswith(("default/node-agent-", "kube-system/kindnet-", "kube-system/kube-proxy-"))
                   for name in evicting)
    warning = re.fullmatch(r"Warning: ignoring DaemonSet-managed Pods: (.*)\n", result.stderr)
    assert warning, result.stderr
    ignored = warning[1].split(", ")
    assert any(re.fullmatch(rf"default/node-agent-{SUFFIX}", name) for name in ignored), ignored
    assert any(re.fullmatch(rf"kube-system/kindnet-{SUFFIX}", name) for name in ignored), ignored
    assert any(re.fullmatch(rf"kube-system/kube-proxy-{SUFFIX}", name) for name in ignored), ignored

    # The Deployments' pods come back on worker-2; the DaemonSet's stays on worker-1.
    page.running(4, "-l", "app=web", timeout=60)
    assert set(nodes_of(page, "-l", "app=web").values()) == {"worker-2"}
    assert not set(nodes_of(page, "-l", "app=web")) & set(on_worker_1)
    page.running(1, "-l", "app=cache", timeout=60)
    assert set(nodes_of(page, "-l", "app=cache").values()) == {"worker-2"}
    assert sorted(nodes_of(page, "-l", "app=node-agent").values()) == ["worker-1", "worker-2"]
    assert re.search(r"^worker-1\s+Ready,SchedulingDisabled\s+<none>\s", page("get", "nodes"), re.M)

    # Draining again: nothing left to evict.
    again = page.run("drain", "worker-1", "--ignore-daemonsets", "--delete-emptydir-data")
    assert again.stdout == "node/worker-1 already cordoned\nnode/worker-1 drained\n"

    assert page("uncordon", "worker-1") == "node/worker-1 uncordoned\n"
    assert re.search(r"^worker-1\s+Ready\s+<none>\s", page("get", "nodes"), re.M)


def test_a_disruption_budget_blocks_the_drain_until_it_allows_one(server):
    page = Page(server, "budget", user="operator")
    page.apply_yaml(deployment("zk", 2, prefer="worker-1"))
    page.running(2, "-l", "app=zk", timeout=60)
    on_worker_1 = sorted(name for name, node in nodes_of(page, "-l", "app=zk").items() if node == "worker-1")
    assert on_worker_1
    assert page("create", "pdb", "zk-pdb", "--selector=app=zk", "--min-available=2") == (
        "poddisruptionbudget.policy/zk-pdb created\n")

    def budget() -> list[str]:
        rows = table(page("get", "pdb", "zk-pdb"))
        assert rows[0] == ["NAME", "MIN", "AVAILABLE", "MAX", "UNAVAILABLE", "ALLOWED", "DISRUPTIONS", "AGE"]
        return rows[1]
    assert eventually(budget)[:4] == ["zk-pdb", "2", "N/A", "0"]

    blocked = page.run("drain", "worker-1", "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=12s",
                       check=False)
    assert blocked.returncode == 1
    retry = re.compile(rf'^error when evicting pods/"(zk-{HASH}-{SUFFIX})" -n "default" \(will retry after 5s\): '
                       r"Cannot evict pod as it would violate the pod's disruption budget\.$", re.M)
    assert sorted({m[1] for m in retry.finditer(blocked.stderr)}) == on_worker_1, blocked.stderr
    assert len(retry.findall(blocked.stderr)) >= 2 * len(on_worker_1), blocked.stderr   # retried every 5 s
    assert re.search(r'^error when evicting pods/"zk-[a-z0-9-]+" -n "default": global timeout reached: 12s$',
                     blocked.stderr, re.M), blocked.stderr
    assert "There are pending nodes to be drained:\n worker-1\n" in blocked.stderr
    assert set(on_worker_1) <= set(nodes_of(page, "-l", "app=zk"))     # nothing was evicted

    # The eviction's answer as the page's curl example shows it: 429 with the budget's cause.
    pod = on_worker_1[0]
    raw = page.run("create", "--raw", f"/api/v1/namespaces/default/pods/{pod}/eviction", "-f", "-", check=False,
                   input=json.dumps({"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": pod}}))
    assert raw.returncode == 1
    assert raw.stderr == ("Error from server (TooManyRequests): Cannot evict pod as it would violate the pod's "
                          "disruption budget.\n")

    # One disruption allowed: the pods go one at a time, each after its replacement is Ready.
    page("patch", "pdb", "zk-pdb", "--type=merge", "-p", '{"spec":{"minAvailable":1}}')
    assert eventually(budget)[:4] == ["zk-pdb", "1", "N/A", "1"]
    result = page.run("drain", "worker-1", "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=60s",
                      timeout=90)
    assert result.stdout.startswith("node/worker-1 already cordoned\n") and result.stdout.endswith(
        "node/worker-1 drained\n"), result.stdout
    page.running(2, "-l", "app=zk", timeout=60)
    assert set(nodes_of(page, "-l", "app=zk").values()) == {"worker-2"}
    page("uncordon", "worker-1")


def test_disable_eviction_deletes_and_the_eviction_api_by_hand(server):
    page = Page(server, "deletion", user="maintainer")
    page.apply_yaml(deployment("web", 2, prefer="worker-1"))
    page.running(2, "-l", "app=web", timeout=60)
    pods = sorted(nodes_of(page, "-l", "app=web"))
    on_worker_1 = sorted(name for name, node in nodes_of(page, "-l", "app=web").items() if node == "worker-1")
    assert on_worker_1

    # --dry-run=server: the DELETE's protobuf DeleteOptions carries dryRun, and nothing goes.
    dry = page.run("drain", "worker-1", "--ignore-daemonsets", "--delete-emptydir-data", "--disable-eviction",
                   "--dry-run=server")
    assert dry.stdout.startswith("node/worker-1 cordoned (server dry run)\n"), dry.stdout
    assert sorted(nodes_of(page, "-l", "app=web")) == pods
    assert re.search(r"^worker-1\s+Ready\s", page("get", "nodes"), re.M)

    result = page.run("drain", "worker-1", "--ignore-daemonsets", "--delete-emptydir-data", "--disable-eviction",
                      "--grace-period=5")
    lines = result.stdout.rstrip("\n").split("\n")
    assert lines[0] == "node/worker-1 cordoned" and lines[-1] == "node/worker-1 drained", result.stdout
    assert {f"pod/{name} deleted" for name in on_worker_1} <= set(lines), result.stdout
    assert all(re.fullmatch(r"pod/[a-z0-9-]+ deleted", line) for line in lines[1:-1]), result.stdout
    page.running(2, "-l", "app=web", timeout=60)
    assert set(nodes_of(page, "-l", "app=web").values()) == {"worker-2"}
    page("uncordon", "worker-1")

    # The page's "Eviction API" section: POST an Eviction for a pod; 201 and a Success Status.
    page("run", "quux", "--image=nginx:1.27")
    page.running(1, "quux", timeout=60)
    body = '{"apiVersion":"policy/v1","kind":"Eviction","metadata":{"name":"quux","namespace":"default"}}'
    answer = page("create", "--raw", "/api/v1/namespaces/default/pods/quux/eviction", "-f", "-", input=body)
    assert answer == '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Success","code":201}'
    page.gone("pod", "quux", timeout=60)
    missing = page.run("create", "--raw", "/api/v1/namespaces/default/pods/quux/eviction", "-f", "-", input=body,
                       check=False)
    assert missing.stderr == 'Error from server (NotFound): pods "quux" not found\n'
