"""Every check kind on snapshots of a cluster run by the engine (no database): holds when it should, and
says why in plain words when it does not (lessons/README.md, "Check kinds")."""
from __future__ import annotations

import copy

import pytest

from clusters.engine.kubelet import logs
from clusters.sim.traffic import TrafficError, send
from lessons import checks
from tests.engine.conftest import T0, apply, new_state, run


def deployment(name: str = "web", replicas: int = 3, image: str = "nginx:1.27", **spec) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "default"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "web", "image": image}], **spec}}}}


def service(name: str = "web", selector: dict | None = None, ip: str = "10.96.10.10", **spec) -> dict:
    # The clusterIP as the API server's allocator would give it (the engine allocates none).
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "default"},
            "spec": {"selector": selector or {"app": name}, "clusterIP": ip,
                     "ports": [{"port": 80, "targetPort": 80, "protocol": "TCP"}], **spec}}


def snapshot(state, commands: tuple[str, ...] = ()) -> checks.Snapshot:
    """The checks' view of an engine state, with readers answered by the engine itself (as the server does)."""
    def traffic(namespace, name, from_outside, path, requests):
        try:
            report = send(state, namespace, name, requests=requests, path=path, from_outside=from_outside)
        except TrafficError as error:
            return str(error)
        answered = {a.pod: a.count for a in report.answers if a.pod}
        return answered or ", ".join(reason for reason, _ in report.failures)

    def read_file(namespace, pod, container, path):
        found = state.get("Pod", namespace, pod)
        code, out, _ = logs.exec_and_keep(copy.deepcopy(state), found, container, ["cat", path])
        return out if code == 0 else None

    return checks.Snapshot.of(((obj["kind"], obj) for obj in state.all_objects()), commands=commands,
                              traffic=traffic, read_file=read_file)


def judge(raw: dict, snap: checks.Snapshot) -> checks.Result:
    return checks.evaluate(checks.parse(raw), snap)


@pytest.fixture(scope="module")
def running():
    """A Deployment of three nginx pods, its Service, a busy-box pod writing a file; everything settled."""
    state = new_state()
    apply(state, deployment())
    apply(state, service())
    apply(state, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "writer", "namespace": "default",
                                                                  "labels": {"app": "writer"}},
                  "spec": {"containers": [{"name": "box", "image": "busybox:1.36",
                                           "command": ["sh", "-c", "echo hello > /tmp/greeting; sleep 3600"]}]}})
    state.commit()
    run(state, T0 + 300)   # CoreDNS too: Services resolve
    return state


# ------------------------------------------------------------------------------------------ objects

def test_exists_and_gone(running):
    snap = snapshot(running)
    assert judge({"exists": {"kind": "Deployment", "name": "web"}}, snap).ok
    assert judge({"exists": {"kind": "Pod", "selector": "app=web"}}, snap).ok
    assert judge({"exists": {"kind": "Node", "name": "worker-1"}}, snap).ok
    missing = judge({"exists": {"kind": "Deployment", "name": "api", "namespace": "shop"}}, snap)
    assert missing == checks.Result(False, "There is no Deployment named api in namespace shop yet.")
    assert judge({"gone": {"kind": "Pod", "name": "nope"}}, snap).ok
    still = judge({"gone": {"kind": "Service", "name": "web"}}, snap)
    assert still == checks.Result(False, "Service web still exists in namespace default.")


def test_an_object_being_deleted_is_gone_and_does_not_exist(running):
    state = copy.deepcopy(running)
    pod = state.list("Pod", "default")[0]
    pod["metadata"]["deletionTimestamp"] = "2027-01-15T08:05:00Z"
    snap = snapshot(state)
    name = pod["metadata"]["name"]
    assert judge({"gone": {"kind": "Pod", "name": name}}, snap).ok
    assert judge({"exists": {"kind": "Pod", "name": name}}, snap).reason == f"Pod {name} is being deleted."
    assert judge({"pods": {"selector": "app=web", "state": "Terminating", "count": 1}}, snap).ok


def test_count(running):
    snap = snapshot(running)
    assert judge({"count": {"kind": "Pod", "selector": "app=web", "count": 3}}, snap).ok
    assert judge({"count": {"kind": "ReplicaSet", "count": 1, "op": ">="}}, snap).ok
    wrong = judge({"count": {"kind": "Deployment", "count": 2}}, snap)
    assert wrong == checks.Result(False, "There is 1 Deployment in namespace default: web; expected 2.")


def test_field_paths_and_operators(running):
    snap = snapshot(running)
    assert judge({"field": {"kind": "Deployment", "name": "web", "path": "spec.replicas", "value": 3}}, snap).ok
    assert judge({"field": {"kind": "Deployment", "name": "web", "path": "status.readyReplicas", "op": ">=",
                            "value": 3}}, snap).ok
    assert judge({"field": {"kind": "Deployment", "name": "web", "op": "matches", "value": r"^nginx:1\.2\d$",
                            "path": "spec.template.spec.containers[name=web].image"}}, snap).ok
    assert judge({"field": {"kind": "Deployment", "name": "web", "path": "spec.template.spec.containers[0].name",
                            "value": "web"}}, snap).ok
    assert judge({"field": {"kind": "Deployment", "name": "web", "op": "exists",
                            "path": 'metadata.annotations["deployment.kubernetes.io/revision"]'}}, snap).ok
    assert judge({"field": {"kind": "Service", "name": "web", "path": "spec.ports[0].port", "op": "<",
                            "value": "1Ki"}}, snap).ok   # quantities compare as numbers
    assert judge({"field": {"kind": "Node", "name": "worker-1", "path": "spec.unschedulable", "op": "absent"}},
                 snap).ok
    differs = judge({"field": {"kind": "Deployment", "name": "web", "path": "spec.replicas", "op": ">=",
                               "value": 5}}, snap)
    assert differs == checks.Result(False, "Deployment web: spec.replicas is 3, not >= 5.")
    unset = judge({"field": {"kind": "Deployment", "name": "web", "path": "spec.template.spec.nodeSelector.disk",
                             "value": "ssd"}}, snap)
    assert unset.reason == 'Deployment web: spec.template.spec.nodeSelector.disk is not set (expected "ssd").'


def test_quantities_compare_by_value():
    assert checks.compare("500m", "==", "0.5")
    assert checks.compare("1Gi", ">", "1G")
    assert checks.compare(["a", "b"], "contains", "b")
    assert not checks.compare(None, ">=", 1)


# ---------------------------------------------------------------------------------------------- pods

def test_pods_ready_running_and_spread(running):
    snap = snapshot(running)
    assert judge({"pods": {"selector": "app=web", "state": "Ready", "count": 3}}, snap).ok
    assert judge({"pods": {"selector": "app=web"}}, snap).ok   # all of them Running
    assert judge({"pods": {"selector": "app=web", "count": 2, "distinct_nodes": True}}, snap).ok
    crowded = judge({"pods": {"selector": "app=web", "count": 3, "distinct_nodes": True}}, snap)
    assert not crowded.ok and "expected 3 different nodes" in crowded.reason


def test_a_pod_that_cannot_pull_is_named_with_its_status():
    state = new_state()
    apply(state, deployment("api", 1, image="nginx:no-such-tag"))
    state.commit()
    run(state, T0 + 60)
    result = judge({"pods": {"selector": "app=api", "state": "Ready", "count": 1}}, snapshot(state))
    assert not result.ok
    assert result.reason.startswith("0 of 1 pods matching app=api is Ready (expected at least 1) — api-")
    assert result.reason.endswith(("is ImagePullBackOff.", "is ErrImagePull."))
    assert judge({"pods": {"selector": "app=api", "state": "ImagePullBackOff", "count": 1}},
                 snapshot(run_more(state, 30))).ok


def run_more(state, seconds: float):
    run(state, state.now + seconds)
    return state


def test_a_pod_the_scheduler_cannot_place_says_why():
    state = new_state()
    apply(state, deployment("big", 1, resources={}) | {})
    big = state.get("Deployment", "default", "big")
    big["spec"]["template"]["spec"]["containers"][0]["resources"] = {"requests": {"cpu": "64"}}
    state.commit()
    run(state, T0 + 30)
    result = judge({"pods": {"selector": "app=big", "count": 1}}, snapshot(state))
    assert not result.ok and "Pending — not scheduled: 0/3 nodes are available" in result.reason
    assert "Insufficient cpu" in result.reason
    assert judge({"pods": {"selector": "app=nobody"}}, snapshot(state)).reason == \
        "No pod matches app=nobody in namespace default yet."


# ----------------------------------------------------------------------------- events, history, endpoints

def test_events(running):
    snap = snapshot(running)
    assert judge({"event": {"reason": "Scheduled", "kind": "Pod", "name": "web-"}}, snap).ok
    assert judge({"event": {"reason": "ScalingReplicaSet"}}, snap).ok
    assert judge({"event": {"reason": "Killing", "name": "web"}}, snap) == \
        checks.Result(False, "No Killing event has been reported for an object web yet.")


def test_rollout_history_counts_revisions():
    state = new_state()
    apply(state, deployment())
    state.commit()
    run(state, T0 + 60)
    assert judge({"rollout": {"deployment": "web", "revisions": 1}}, snapshot(state)).ok
    web = state.get("Deployment", "default", "web")
    web["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.28"
    state.update(web)
    state.commit()
    run(state, T0 + 180)
    assert judge({"rollout": {"deployment": "web", "revisions": 2}}, snapshot(state)).ok
    wrong = judge({"rollout": {"deployment": "web", "revisions": 3, "op": ">="}}, snapshot(state))
    assert wrong.reason == "Deployment web has 2 revisions in its history (1, 2); expected at least 3."


def test_endpoints(running):
    state = copy.deepcopy(running)
    apply(state, service("lonely", {"app": "nobody"}, ip="10.96.10.11"))
    state.commit()
    run(state, state.now + 5)
    snap = snapshot(state)
    assert judge({"endpoints": {"service": "web", "count": 3}}, snap).ok
    assert judge({"endpoints": {"service": "lonely", "count": 1, "op": ">="}}, snap) == checks.Result(
        False, "Service lonely has no endpoints: its selector app=nobody matches no pod.")


# ----------------------------------------------------------------------- commands, traffic, files

def test_command():
    snap = checks.Snapshot({}, commands=("kubectl get pods", "kubectl logs web-1 --previous"))
    assert judge({"command": {"matches": r"^kubectl logs\b.*--previous"}}, snap).ok
    assert judge({"command": {"matches": r"^kubectl describe"}}, snap) == checks.Result(
        False, "Not run successfully in the terminal during this step yet.")


def test_traffic_is_answered_by_the_ready_pods(running):
    snap = snapshot(running)
    assert judge({"traffic": {"service": "web", "distinct_pods": 3}}, snap).ok
    outside = judge({"traffic": {"service": "web", "from_outside": True}}, snap)
    assert not outside.ok and "reachable from inside the cluster only" in outside.reason
    state = copy.deepcopy(running)
    apply(state, service("lonely", {"app": "nobody"}, ip="10.96.10.11"))
    state.commit()
    refused = judge({"traffic": {"service": "lonely"}}, snapshot(state))
    assert refused == checks.Result(False, "Requests to Service lonely fail: connection refused.")


def test_file_in_a_container(running):
    snap = snapshot(running)
    assert judge({"file": {"pod": "writer", "path": "/tmp/greeting", "contains": "hello"}}, snap).ok
    assert judge({"file": {"selector": "app=writer", "path": "/tmp/greeting"}}, snap).ok
    assert judge({"file": {"pod": "writer", "path": "/tmp/greeting", "contains": "bye"}}, snap).reason == \
        "/tmp/greeting in pod writer does not contain 'bye'."
    assert judge({"file": {"pod": "writer", "path": "/data/x"}}, snap).reason == \
        "There is no file /data/x in pod writer."


# ------------------------------------------------------------------------------------ parsing

@pytest.mark.parametrize(("raw", "message"), [
    ({"exist": {"kind": "Pod"}}, 'unknown check kind "exist"'),
    ({"exists": {"kind": "Pod"}, "gone": {"kind": "Pod", "name": "x"}}, "a check has exactly one kind"),
    ({"exists": {"kind": "Pod", "nmae": "x"}}, 'exists: unknown field "nmae"'),
    ({"field": {"kind": "Pod", "name": "x"}}, 'field: needs "path"'),
    ({"field": {"kind": "Pod", "name": "x", "path": "spec..x", "value": 1}}, 'path "spec..x": cannot read it'),
    ({"field": {"kind": "Pod", "name": "x", "path": "spec.x", "op": ">="}}, 'field: op ">=" needs a value'),
    ({"pods": {"selector": "app in (a"}}, 'pods: selector "app in (a"'),
    ({"command": {"matches": "kubectl ("}}, "is not a regular expression"),
    ({"count": {"kind": "Pod", "count": -1}}, "count must be a whole number"),
    ({"file": {"path": "data/x", "pod": "p"}}, "file: path is absolute"),
    ({"endpoints": {"service": "web", "count": 1, "op": "~"}}, 'endpoints: op "~" is not one of'),
])
def test_a_wrong_check_is_refused_with_a_clear_message(raw, message):
    with pytest.raises(checks.CheckError, match=None) as error:
        checks.parse(raw)
    assert message in str(error.value)


def test_default_texts_read_as_sentences():
    assert checks.parse({"pods": {"selector": "app=web", "state": "Ready", "count": 3}}).text == \
        "At least 3 pods matching app=web are Ready"
    assert checks.parse({"pods": {"selector": "run=web", "state": "Ready", "count": 1}}).text == \
        "At least 1 pod matching run=web is Ready"
    assert checks.parse({"exists": {"kind": "Service", "name": "web"}}).text == "Service web exists"
    assert checks.parse({"endpoints": {"service": "web", "count": 3}}).text == "Service web has 3 ready endpoints"
    assert checks.parse({"exists": {"kind": "Pod", "name": "x"}, "text": "Mine"}).text == "Mine"
