"""ClusterState's create hook: objects controllers create pass through the API server's preparation."""
from __future__ import annotations

from clusters.engine.state import ClusterState, timestamp

from .conftest import T0, new_state


def test_the_preparer_sees_the_state_clock_at_each_create():
    state = new_state()
    state.now = T0 + 90
    pod = state.create({"apiVersion": "v1", "kind": "Pod",
                        "metadata": {"generateName": "web-", "namespace": "default"},
                        "spec": {"containers": [{"name": "web", "image": "nginx"}]}})
    assert pod["metadata"]["name"].startswith("web-") and len(pod["metadata"]["name"]) == len("web-") + 5
    assert pod["metadata"]["creationTimestamp"] == timestamp(T0 + 90)
    assert pod["spec"]["restartPolicy"] == "Always"  # the API server's defaulting ran


def test_without_a_preparer_objects_are_stored_as_given_with_identity_added():
    state = ClusterState([], now=T0)
    calls = []
    state.use_preparer(lambda obj: calls.append(obj["metadata"]["name"]) or obj)
    state.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "default"}})
    state.use_preparer(None)
    plain = state.create({"apiVersion": "v1", "kind": "ConfigMap",
                          "metadata": {"name": "b", "namespace": "default"}})
    assert calls == ["a"]
    assert set(plain["metadata"]) == {"name", "namespace", "uid", "creationTimestamp"}
    assert plain["metadata"]["creationTimestamp"] == timestamp(T0)
