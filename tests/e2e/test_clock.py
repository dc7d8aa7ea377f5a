"""A cluster whose clock ran fast, jumped ahead and stopped, seen by the real kubectl and the Python client.

The API serves times so that the cluster's now is the client's wall clock (clusters/apiserver/served_time.py):
the ages kubectl computes itself (`describe`'s Events, `get -w` rows) agree with the ones the server
computes (`get`'s AGE) and are never `<invalid>`, and they stand still while the clock is paused.
"""
from __future__ import annotations

import re
import subprocess
import time
from datetime import UTC, datetime, timedelta

import pytest
from kubernetes import client, config

from .conftest import KUBECTL, Kubectl

MANIFESTS = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: nginx
        image: nginx:1.27
---
apiVersion: batch/v1
kind: CronJob
metadata:
  name: tick
spec:
  schedule: "*/1 * * * *"
  successfulJobsHistoryLimit: 50
  failedJobsHistoryLimit: 50
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers:
          - name: tick
            image: busybox:1.36
            command: ["sh", "-c", "date"]
"""
FAST_WALL_SECONDS = 10.0   # at 60×: about ten simulated minutes


def seconds_of(age: str) -> int:
    """kubectl's HumanDuration ("12m", "9m50s", "2d3h") back to seconds."""
    assert age != "<invalid>" and re.fullmatch(r"(\d+[dhms])+", age), f"not an age: {age!r}"
    units = {"d": 86400, "h": 3600, "m": 60, "s": 1}
    return sum(int(n) * units[u] for n, u in re.findall(r"(\d+)([dhms])", age))


def event_ages(describe: str) -> list[tuple[str, str]]:
    """(reason, age) of each row of `kubectl describe`'s Events section; the age as first seen
    ("12m (x2 over 12m)" → the "over" part)."""
    section = describe.split("\nEvents:", 1)[1]
    rows = []
    for line in section.splitlines()[3:]:
        if not line.strip():
            break
        columns = re.split(r"\s{2,}", line.strip())
        age = columns[2]
        over = re.search(r"over (\S+)\)", age)
        rows.append((columns[1], over.group(1) if over else age))
    return rows


def served_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


@pytest.fixture(scope="module")
def aged(playground, kubectl: Kubectl):
    """The Deployment and the CronJob applied, then ~10 simulated minutes at 60×, two `+1 min` jumps and a pause."""
    def clock(*args: str) -> str:
        return playground.manage("cluster", "clock", "alice", "test-clock", *args).stdout

    kubectl("apply", "-f", "-", input=MANIFESTS)
    started = time.monotonic()
    assert "running at 60x" in clock("--speed", "60")
    time.sleep(max(0.0, FAST_WALL_SECONDS - (time.monotonic() - started)))
    clock("--speed", "1")
    clock("--advance", "60")
    clock("--advance", "60")
    assert "paused" in clock("--pause")
    # Whole-second times put a second's jitter on the ages kubectl computes: move the paused clock so that
    # none of the web pods' ages is near a minute's edge, and two looks at it print the same minutes.
    pods = kubectl.json("get", "pods", "-l", "app=web")["items"]
    names = {pod["metadata"]["name"] for pod in pods}
    stamps = [pod["metadata"]["creationTimestamp"] for pod in pods] + [
        event[key] for event in kubectl.json("get", "events")["items"]
        if event["involvedObject"]["name"] in names for key in ("firstTimestamp", "lastTimestamp")]
    now = datetime.now(UTC)
    remainders = [(now - served_time(stamp)).total_seconds() % 60 for stamp in stamps if stamp]
    jump = next((a for a in range(60) if all(3 <= (r + a) % 60 <= 55 for r in remainders)), 0)
    if jump:
        clock("--advance", str(jump))
    return clock


def pod_names(kubectl: Kubectl) -> list[str]:
    return kubectl("get", "pods", "-l", "app=web", "-o", "jsonpath={.items[*].metadata.name}").split()


def test_describe_ages_agree_with_get_and_are_never_invalid(aged, kubectl: Kubectl):
    pods = pod_names(kubectl)
    assert len(pods) == 2
    for pod in pods:
        get_age = seconds_of(kubectl("get", "pod", pod, "--no-headers").split()[-1])
        assert get_age >= 10 * 60, "the pod lived through the fast run and the jumps"
        describe = kubectl("describe", "pod", pod)
        assert "<invalid>" not in describe
        ages = event_ages(describe)
        assert {"Scheduled", "Pulled", "Started"} <= {reason for reason, _ in ages}, describe
        for reason, age in ages:
            assert abs(seconds_of(age) - get_age) <= 60, (reason, age, get_age)
    deployment_age = seconds_of(kubectl("get", "deployment", "web", "--no-headers").split()[-1])
    describe = kubectl("describe", "deployment", "web")
    assert "<invalid>" not in describe
    ages = event_ages(describe)
    assert [reason for reason, _ in ages] == ["ScalingReplicaSet"], describe
    assert abs(seconds_of(ages[0][1]) - deployment_age) <= 60


def test_ages_stand_still_while_paused(aged, kubectl: Kubectl):
    pod = pod_names(kubectl)[0]
    before = event_ages(kubectl("describe", "pod", pod))
    listed = kubectl("get", "pods", "-l", "app=web", "--no-headers")
    time.sleep(2)
    assert event_ages(kubectl("describe", "pod", pod)) == before
    assert kubectl("get", "pods", "-l", "app=web", "--no-headers") == listed


def test_watch_rows_show_sane_ages(aged, kubectl: Kubectl):
    expected = {line.split()[0]: seconds_of(line.split()[-1])
                for line in kubectl("get", "pods", "-l", "app=web", "--no-headers").splitlines()}
    process = subprocess.Popen([str(KUBECTL), "--kubeconfig", str(kubectl.kubeconfig), "get", "pods", "-l",
                                "app=web", "-w", "--no-headers"], env=kubectl.env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, _ = process.communicate(timeout=2.5)
    except subprocess.TimeoutExpired:
        process.terminate()
        out, _ = process.communicate(timeout=10)
    rows = [line.split() for line in out.splitlines() if line.strip()]
    assert {row[0] for row in rows} == set(expected), out
    for row in rows:
        assert abs(seconds_of(row[-1]) - expected[row[0]]) <= 60, (row, expected)


def test_the_cronjob_fired_once_per_simulated_minute(aged, kubectl: Kubectl):
    created = served_time(kubectl("get", "cronjob", "tick", "-o", "jsonpath={.metadata.creationTimestamp}"))
    minutes = (datetime.now(UTC) - created).total_seconds() / 60   # served now is the wall clock
    jobs = [name for name in kubectl("get", "jobs", "-o", "jsonpath={.items[*].metadata.name}").split()
            if name.startswith("tick-")]
    assert minutes >= 11
    assert minutes - 2 <= len(jobs) <= minutes + 1, (len(jobs), minutes)
    last = served_time(kubectl("get", "cronjob", "tick", "-o", "jsonpath={.status.lastScheduleTime}"))
    assert last <= datetime.now(UTC)
    assert "<invalid>" not in kubectl("describe", "cronjob", "tick")


def test_logs_timestamps_and_since_time_are_served_times(aged, kubectl: Kubectl):
    pod = pod_names(kubectl)[0]
    lines = kubectl("logs", pod, "--timestamps").splitlines()
    assert lines
    stamps = [datetime.strptime(line.split()[0][:26] + "Z", "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
              for line in lines]
    created = served_time(kubectl("get", "pod", pod, "-o", "jsonpath={.metadata.creationTimestamp}"))
    now = datetime.now(UTC)
    assert all(created - timedelta(seconds=1) <= stamp <= now for stamp in stamps), (created, stamps, now)
    # Paused, the served times move on with the wall clock between two calls: forward, by seconds.
    first = lines[0].split()[0]
    assert len(kubectl("logs", pod, "--timestamps", f"--since-time={first}").splitlines()) == len(lines)
    later = (stamps[-1] + timedelta(seconds=60)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert kubectl("logs", pod, f"--since-time={later}") == ""


def test_the_python_client_sees_times_in_its_past(aged, kubectl: Kubectl):
    core = client.CoreV1Api(config.new_client_from_config(config_file=str(kubectl.kubeconfig)))
    now = datetime.now(UTC)
    pods = core.list_namespaced_pod("default", label_selector="app=web").items
    assert pods
    for pod in pods:
        assert now - timedelta(minutes=30) < pod.metadata.creation_timestamp <= now
        assert pod.status.start_time <= now
        assert all(c.last_transition_time <= now for c in pod.status.conditions)
    events = core.list_namespaced_event("default").items
    assert events and all(e.last_timestamp is None or e.last_timestamp <= now for e in events)


def test_a_round_trip_keeps_the_stored_times(aged, kubectl: Kubectl):
    before = kubectl.json("get", "deployment", "web")
    kubectl("replace", "-f", "-", input=kubectl("get", "deployment", "web", "-o", "json"))
    after = kubectl.json("get", "deployment", "web")
    # paused: the served times move with the wall clock, but by the same amount for every field
    shift = (served_time(after["metadata"]["creationTimestamp"])
             - served_time(before["metadata"]["creationTimestamp"])).total_seconds()
    assert 0 <= shift <= 10
    for old, new in zip(before["status"]["conditions"], after["status"]["conditions"], strict=True):
        assert (served_time(new["lastUpdateTime"]) - served_time(old["lastUpdateTime"])).total_seconds() == shift
