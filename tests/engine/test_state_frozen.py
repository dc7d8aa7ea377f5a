"""A frozen state (ClusterState.freeze: what the runner does to a state kept while its cluster is idle) holds
its objects as their stored texts and gives each back, decoded, at the first read, where it stands: reads
see the same objects as before, a read thaws only what it reads, and writes over frozen objects work as over
the others."""
from __future__ import annotations

import json

import pytest

from clusters.engine.state import key_of, object_text

from .conftest import new_state


def configmap(name: str, namespace: str = "default", owner: dict | None = None) -> dict:
    meta = {"name": name, "namespace": namespace}
    if owner is not None:
        meta["ownerReferences"] = [{"apiVersion": "v1", "kind": owner["kind"], "name": owner["metadata"]["name"],
                                    "uid": owner["metadata"]["uid"]}]
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"k": name}}


@pytest.fixture
def state():
    state = new_state()
    owner = state.create(configmap("owner"))
    for name in ("a", "b"):
        state.create(configmap(name, owner=owner))
    state.create(configmap("c", namespace="kube-system"))
    state.commit()
    return state


def texts(state) -> dict:
    return {key_of(o): object_text(o) for o in state.all_objects()}


def test_every_object_is_frozen_and_reads_back_the_same(state):
    before = texts(state)
    state.freeze()
    assert state.frozen == state.object_count() == len(before)
    assert state.changes() == [] and not state.has_changes
    assert texts(state) == before
    assert state.frozen == 0


def test_a_read_thaws_only_what_it_reads(state):
    state.freeze()
    frozen = state.frozen
    assert state.get("ConfigMap", "default", "a")["data"] == {"k": "a"}
    assert state.get("ConfigMap", "default", "nothing") is None
    assert state.frozen == frozen - 1
    assert [o["metadata"]["name"] for o in state.list("ConfigMap", "default")] == [
        "a", "b", "kube-root-ca.crt", "owner"]
    assert state.frozen == frozen - 4   # (the other namespaces' ConfigMaps stay frozen)
    assert state.get("ConfigMap", "default", "a") is state.list("ConfigMap", "default")[0]   # one dict per object
    node = state.list("Node")[0]
    assert state.by_uid(node["metadata"]["uid"]) is node


def test_owned_by_and_by_uid_thaw_what_they_find(state):
    owner_uid = state.get("ConfigMap", "default", "owner")["metadata"]["uid"]
    state.freeze()
    owned = state.owned_by({"metadata": {"uid": owner_uid}}, "ConfigMap")
    assert [o["metadata"]["name"] for o in owned] == ["a", "b"]
    assert state.by_uid(owner_uid)["metadata"]["name"] == "owner"
    assert state.fingerprint(owned[0]) is not None   # unwritten since it was stored


def test_writes_over_frozen_objects(state):
    owner = state.get("ConfigMap", "default", "owner")
    stale = state.get("ConfigMap", "default", "a")   # a dict read before the freeze (a controller's memo)
    state.freeze()
    stale["data"] = {"k": "changed"}
    state.update(stale)   # replaces the frozen object
    state.delete(state.get("ConfigMap", "kube-system", "c"))
    assert [(event, obj["metadata"]["name"]) for event, obj in state.changes()] == [("MODIFIED", "a"),
                                                                                    ("DELETED", "c")]
    state.commit_written([])
    assert [o["metadata"]["name"] for o in state.owned_by(owner)] == ["a", "b"]
    assert state.get("ConfigMap", "kube-system", "c") is None


def test_take_stored_replaces_and_deletes_frozen_objects(state):
    changed = json.loads(texts(state)[("ConfigMap", "default", "b")])
    changed["data"] = {"k": "new"}
    gone = json.loads(texts(state)[("ConfigMap", "kube-system", "c")])
    state.freeze()
    state.take_stored([("MODIFIED", changed, object_text(changed)), ("DELETED", gone, object_text(gone))])
    assert state.get("ConfigMap", "default", "b")["data"] == {"k": "new"}
    assert state.get("ConfigMap", "kube-system", "c") is None
    assert state.changes() == []


def test_a_state_with_unpersisted_changes_cannot_be_frozen(state):
    state.create(configmap("d"))
    with pytest.raises(RuntimeError):
        state.freeze()


def test_the_texts_are_packed_until_a_read_and_packed_again_by_the_next_freeze(state):
    before = texts(state)
    state.freeze()
    assert state._packed is not None and all(type(o) is int for o in state._objects.values())
    state.get("ConfigMap", "default", "a")
    assert state._packed is None   # every text is back; one object is decoded
    assert sum(type(o) is dict for o in state._objects.values()) == 1
    state.commit()   # a frozen object keeps its digest: no change to report
    assert state.changes() == []
    state.freeze()
    assert state._packed is not None and state.frozen == len(before)
    assert texts(state) == before
