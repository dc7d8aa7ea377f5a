"""The endpoints controller's memo across states.

The runner steps a new ClusterState, built from the stored objects and notes, on every reconcile. The
controller keeps, in each Service's notes, a digest of everything that Service's EndpointSlices and
Endpoints were last found current for; a fresh state whose digest matches skips the Service. Each test
here stores a settled cluster, changes one thing the endpoints depend on in the stored form (as a write
through the API server would), and checks that a fresh state sees it: the same writes as a fresh state
without any memo, and the change itself in the slice and the Endpoints.
"""
from __future__ import annotations

import json
import random

import pytest

from clusters.apiserver.pipeline import engine_preparer
from clusters.engine.controllers import endpoints
from clusters.engine.loop import step
from clusters.engine.state import ClusterState, object_text

from .conftest import apply, new_state
from .test_gc import make_pod, run_housekeeping

LABELS = {"app": "web"}


class Stored:
    """A cluster as the store keeps it: every object's JSON and the notes, by uid."""

    def __init__(self, state: ClusterState) -> None:
        self.now = state.now
        self.texts = [object_text(o) for o in state.all_objects()]
        self.sims = {uid: json.dumps(notes) for uid, notes in state._sims.items()}

    def load(self, *, memo: bool = True) -> ClusterState:
        """A fresh state, as clusters/sim/reconcile.load_state builds one (memo=False: the notes without
        the endpoints controller's digests)."""
        sims = {uid: json.loads(text) for uid, text in self.sims.items()}
        if not memo:
            for notes in sims.values():
                notes.pop(endpoints.MEMO, None)
        rng = random.Random(f"engine:{self.now}")
        state = ClusterState([json.loads(t) for t in self.texts], now=self.now, seed=rng.getrandbits(64),
                             sims=sims, texts=self.texts)
        state.use_preparer(engine_preparer(now_source=lambda: state.now, rng=rng, objects=state))
        return state

    def edit(self, kind: str, name: str, change) -> None:
        """A client's write through the API: the stored object changes, its notes do not."""
        for i, text in enumerate(self.texts):
            obj = json.loads(text)
            found = obj["metadata"]["name"]
            if obj["kind"] == kind and (found == name or kind == "EndpointSlice" and found.startswith(name)):
                if change(obj) == "delete":
                    del self.texts[i]
                else:
                    self.texts[i] = object_text(obj)
                return
        raise KeyError((kind, name))

    def find(self, kind: str, name: str | None = None) -> dict:
        """The first stored object of a kind whose name starts with `name`."""
        return next(json.loads(t) for t in self.texts
                    if json.loads(t)["kind"] == kind and json.loads(t)["metadata"]["name"].startswith(name or ""))


def sync_calls(monkeypatch) -> list[str]:
    """The Services whose endpoints the controller recomputes."""
    calls: list[str] = []
    original = endpoints._sync_slices

    def counting(state, svc, pods, existing):
        calls.append(svc["metadata"]["name"])
        return original(state, svc, pods, existing)

    monkeypatch.setattr(endpoints, "_sync_slices", counting)
    return calls


def only_endpoints(state: ClusterState):
    return step(state, state.now, controllers=[endpoints.reconcile])


@pytest.fixture
def stored() -> Stored:
    """A Service in front of two ready pods (one with a named port), settled, with the memo in the notes."""
    state = new_state()
    apply(state, {"apiVersion": "v1", "kind": "Service",
                  "metadata": {"name": "web", "namespace": "default", "labels": {"tier": "front"}},
                  "spec": {"selector": LABELS, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}})
    ports = [{"name": "http", "containerPort": 8080}]
    make_pod(state, "web-1", labels=LABELS, ip="10.244.1.2", ports=ports)
    make_pod(state, "web-2", labels=LABELS, node_name="worker-2", ip="10.244.2.2", ports=ports)
    state.commit()
    run_housekeeping(state)
    stored = Stored(state)
    fresh = stored.load()
    only_endpoints(fresh)   # the first fresh state finds everything current and notes it
    fresh.commit()
    return Stored(fresh)


def the_slice(state: ClusterState) -> dict:
    [slc] = [s for s in state.list("EndpointSlice", "default")
             if s["metadata"]["labels"]["kubernetes.io/service-name"] == "web"]
    return slc


def test_a_settled_service_is_skipped_by_a_fresh_state(stored, monkeypatch):
    calls = sync_calls(monkeypatch)
    svc = stored.find("Service", "web")
    assert endpoints.MEMO in json.loads(stored.sims[svc["metadata"]["uid"]])
    result = only_endpoints(stored.load())
    assert result.changes == [] and result.sim_changes == {}
    assert "web" not in calls
    only_endpoints(stored.load(memo=False))
    assert "web" in calls   # without the memo it is recomputed (and found current)


def _unready(pod: dict) -> None:
    for cond in pod["status"]["conditions"]:
        if cond["type"] in ("Ready", "ContainersReady"):
            cond["status"] = "False"


def _port(svc: dict) -> None:
    svc["spec"]["ports"][0]["name"] = "web"   # the port number is the Service's own; its endpoints carry the name


def _named_port(svc: dict) -> None:
    svc["spec"]["ports"][0]["targetPort"] = 9090


def _service_label(svc: dict) -> None:
    svc["metadata"]["labels"]["tier"] = "back"


def _pod_label(pod: dict) -> None:
    pod["metadata"]["labels"] = {"app": "other"}


def _pod_ip(pod: dict) -> None:
    pod["status"]["podIP"] = "10.244.1.99"
    pod["status"]["podIPs"] = [{"ip": "10.244.1.99"}]


def _terminating(pod: dict) -> None:
    pod["metadata"]["deletionTimestamp"] = "2027-01-15T08:00:30Z"


def _slice_emptied(slc: dict) -> None:
    slc["endpoints"] = []


CHANGES = {
    "a pod turning unready": (
        "Pod", "web-1", _unready,
        lambda s, e: [ep["conditions"]["ready"] for ep in s["endpoints"]] == [False, True]
        and [a["ip"] for a in e["subsets"][0]["notReadyAddresses"]] == ["10.244.1.2"]),
    "a pod IP change": (
        "Pod", "web-1", _pod_ip,
        lambda s, e: [ep["addresses"] for ep in s["endpoints"]] == [["10.244.1.99"], ["10.244.2.2"]]
        and [a["ip"] for a in e["subsets"][0]["addresses"]] == ["10.244.1.99", "10.244.2.2"]),
    "a pod deleted": (
        "Pod", "web-2", lambda pod: "delete",
        lambda s, e: [ep["targetRef"]["name"] for ep in s["endpoints"]] == ["web-1"]),
    "a pod being deleted": (
        "Pod", "web-2", _terminating,
        lambda s, e: s["endpoints"][1]["conditions"] == {"ready": False, "serving": True, "terminating": True}
        and [a["ip"] for a in e["subsets"][0]["addresses"]] == ["10.244.1.2"]),
    "a pod's labels no longer selected": (
        "Pod", "web-1", _pod_label,
        lambda s, e: [ep["targetRef"]["name"] for ep in s["endpoints"]] == ["web-2"]),
    "a Service port change": (
        "Service", "web", _port,
        lambda s, e: s["ports"] == [{"name": "web", "port": 8080, "protocol": "TCP"}]
        and e["subsets"][0]["ports"] == [{"name": "web", "port": 8080, "protocol": "TCP"}]),
    "a Service targetPort change": (
        "Service", "web", _named_port,
        lambda s, e: s["ports"] == [{"name": "http", "port": 9090, "protocol": "TCP"}]),
    "a Service label change": (
        "Service", "web", _service_label,
        lambda s, e: s["metadata"]["labels"]["tier"] == "back" and e["metadata"]["labels"]["tier"] == "back"),
    "a slice edited by hand": (
        "EndpointSlice", "web-", _slice_emptied,
        lambda s, e: [ep["targetRef"]["name"] for ep in s["endpoints"]] == ["web-1", "web-2"]),
    "the Endpoints deleted by hand": (
        "Endpoints", "web", lambda ep: "delete",
        lambda s, e: e is not None and len(e["subsets"][0]["addresses"]) == 2),
}


@pytest.mark.parametrize("what", list(CHANGES))
def test_a_fresh_state_sees_a_change_the_endpoints_depend_on(stored, what):
    kind, name, change, check = CHANGES[what]
    stored.edit(kind, name, change)
    with_memo, without = stored.load(), stored.load(memo=False)
    result = only_endpoints(with_memo)
    expected = only_endpoints(without)
    assert result.changes, "the change was not seen"
    assert [(e, o["kind"], o["metadata"]["name"]) for e, o in result.changes] == \
        [(e, o["kind"], o["metadata"]["name"]) for e, o in expected.changes]
    slc, ep = the_slice(with_memo), with_memo.get("Endpoints", "default", "web")
    assert check(slc, ep), what
    assert object_text(slc) == object_text(the_slice(without))


def test_the_memo_is_noted_only_for_objects_as_stored(stored):
    """A slice written in this step has no stored form yet: the digest is noted by the next state."""
    stored.edit("Pod", "web-1", _unready)
    state = stored.load()
    result = only_endpoints(state)
    svc = state.get("Service", "default", "web")
    assert endpoints.MEMO not in state.sim(svc)
    assert svc["metadata"]["uid"] in result.sim_changes   # the stale digest is forgotten
    state.commit()
    after = Stored(state)
    fresh = after.load()
    result = only_endpoints(fresh)
    assert result.changes == [] and endpoints.MEMO in fresh.sim(fresh.get("Service", "default", "web"))
    fresh.commit()
    assert only_endpoints(Stored(fresh).load()).sim_changes == {}
