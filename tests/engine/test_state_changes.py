"""What a state reports as changed notes (sim_changes) and its object fingerprints, on a state built
as the runner builds one: objects and notes as loaded from the store."""
from __future__ import annotations

import json
import zlib

import pytest

from clusters.engine.state import ClusterState, object_text

T0 = 1_800_000_000.0


def pod(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}"},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]}}


NOTES = {"quiet": [1800000060.5, 123456], "records": {"c": {"st": "run", "start": 1800000000.0, "attempt": 0}},
         "flag": True, "count": 1, "name": "é"}


def loaded(notes: dict | None = None) -> ClusterState:
    objects = [pod("a"), pod("b")]
    stored = json.dumps({"uid-a": notes if notes is not None else NOTES})
    return ClusterState(objects, now=T0, sims=json.loads(stored), texts=[object_text(o) for o in objects])


CHANGES = {
    "a value": lambda n: n["records"]["c"].update(attempt=1),
    "a key added": lambda n: n.update(extra=None),
    "a key removed": lambda n: n.pop("flag"),
    "an int turned float": lambda n: n.update(count=1.0),
    "a bool turned int": lambda n: n.update(flag=1),
    "a float": lambda n: n["quiet"].__setitem__(0, 1800000060.25),
    "a list shortened": lambda n: n["quiet"].pop(),
    "a tuple for a list": lambda n: n.update(quiet=(1800000060.5, 123456, 0)),
}


@pytest.mark.parametrize("what", list(CHANGES))
def test_a_change_to_the_notes_is_reported(what):
    state = loaded()
    CHANGES[what](state.sim(state.get("Pod", "default", "a")))
    assert list(state.sim_changes()) == ["uid-a"]


UNCHANGED = {
    "read only": lambda n: n.get("quiet"),
    "the same value written": lambda n: n.update(count=1, name="é", quiet=[1800000060.5, 123456]),
    "rewritten in another order": lambda n: [n.update({k: n.pop(k)}) for k in sorted(n, reverse=True)],
    "an equal string from elsewhere": lambda n: n.update(name="".join(["\u00e9"])),
    "a tuple for an equal list": lambda n: n.update(quiet=(1800000060.5, 123456)),
}


@pytest.mark.parametrize("what", list(UNCHANGED))
def test_notes_that_serialise_the_same_are_no_change(what):
    state = loaded()
    UNCHANGED[what](state.sim(state.get("Pod", "default", "a")))
    state.sim(state.get("Pod", "default", "b"))   # an untouched sim() is no change either
    assert state.sim_changes() == {}


def test_new_and_forgotten_notes():
    state = loaded()
    state.sim(state.get("Pod", "default", "b"))["x"] = 1
    state.delete(state.get("Pod", "default", "a"))
    assert state.sim_changes() == {"uid-b": {"x": 1}, "uid-a": None}
    state.commit()
    assert state.sim_changes() == {}


def test_a_fingerprint_holds_until_the_object_is_written_and_follows_commit():
    state = loaded()
    a = state.get("Pod", "default", "a")
    first = state.fingerprint(a)
    assert first is not None and state.fingerprint(a) == first
    a["metadata"]["labels"] = {"x": "y"}
    state.update(a)
    assert state.fingerprint(a) is None
    state.commit()
    assert state.fingerprint(a) not in (None, first)
    assert state.fingerprint(state.get("Pod", "default", "b")) is not None


def test_a_fingerprint_is_the_crc32_of_the_stored_text():
    """Controllers keep fingerprints in notes, read by other processes: the same on every load, anywhere."""
    state = loaded()
    a = state.get("Pod", "default", "a")
    assert state.fingerprint(a) == zlib.crc32(object_text(a).encode())


def test_a_write_that_serialises_the_same_is_no_change():
    state = loaded()
    a, b = state.get("Pod", "default", "a"), state.get("Pod", "default", "b")
    state.update(a)
    b["metadata"]["labels"] = {"x": "y"}
    state.update(b)
    assert [(event, obj["metadata"]["name"]) for event, obj in state.changes()] == [("MODIFIED", "b")]
