"""`kubectl logs`, `kubectl exec` and `kubectl attach` against the simulated containers.

Nothing is stored: a container's output is a pure replay of its program from
the start time the kubelet noted (state.sim(pod)["c"][name]) up to state.now
(or the attempt's exit), and an exec runs against the container's virtual files
as of state.now. The choice of attempt and the refusals follow the kubelet
(pkg/kubelet/kubelet_pods.go validateContainerLogStatus) and the API server
(pkg/registry/core/pod/strategy.go validateContainer, streamLocation), with
their messages.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..network.client import PodNetwork
from ..state import ClusterState
from . import images, shell, volumedata
from .environment import ConfigError, ContainerWorld, container_environment, container_files
from .lifecycle import _memory_limit
from .program import Program, ProgramRun, program_for

RUNNING_STATES = ("run",)


class ContainerError(Exception):
    """A request about a container that the API answers with 400 BadRequest and this message."""


class ContainerNotFound(Exception):
    """exec/attach into a container that is not running: the kubelet refuses the stream upgrade (404)."""

    def __init__(self, container: str) -> None:
        super().__init__(f'container not found ("{container}")')
        self.container = container


@dataclass
class LogLine:
    time: float      # simulated seconds since the epoch
    stream: str      # "stdout" | "stderr"
    text: str


@dataclass
class ContainerLog:
    """One attempt's output as of state.now."""
    container: str
    attempt: int                 # restartCount of the attempt the lines belong to
    start: float
    lines: list[LogLine] = field(default_factory=list)
    ended: bool = False          # the attempt has exited: a follow stream ends after these lines
    running: bool = False        # this is the container's current, running attempt


# ------------------------------------------------------------------------------ containers
def all_container_names(pod: dict) -> list[str]:
    spec = pod.get("spec") or {}
    return [c["name"] for key in ("initContainers", "containers", "ephemeralContainers")
            for c in spec.get(key) or [] if c.get("name")]


def resolve_container(pod: dict, name: str | None) -> str:
    """The API server's validateContainer: the container asked for, or the only one."""
    pod_name = pod["metadata"]["name"]
    containers = (pod.get("spec") or {}).get("containers") or []
    if not name:
        if len(containers) == 1:
            return containers[0]["name"]
        if not containers:
            raise ContainerError(f"a container name must be specified for pod {pod_name}")
        raise ContainerError(f"a container name must be specified for pod {pod_name}, choose one of: "
                             f"[{' '.join(all_container_names(pod))}]")
    if name not in all_container_names(pod):
        raise ContainerError(f"container {name} is not valid for pod {pod_name}")
    return name


def program_at(state: ClusterState, pod: dict, container: dict, start: float, attempt: int | None = None, *,
               cluster_room: int | None = None, siblings: bool = True) -> Program | None:
    """The program the kubelet runs for this container when started at `start` (see PodWorker._program);
    `attempt`: which run of the container that is (None: the current one)."""
    image = images.lookup(container.get("image", ""))
    if isinstance(image, images.PullError):
        return None
    node = state.get("Node", "", (pod.get("spec") or {}).get("nodeName") or "")
    try:
        env = container_environment(state, pod, container, node, started=start)
    except ConfigError:
        env = {}
    if attempt is None:
        attempt = int((state.sim(pod).get("c", {}).get(container.get("name", "")) or {}).get("attempt", 0))
    world = ContainerWorld(env, build=lambda: container_files(state, pod, container, image=image, start=start,
                                                              attempt=attempt, cluster_room=cluster_room,
                                                              siblings=siblings))
    # The pod's network, as the kubelet's programs have it (`kubectl exec … -- curl http://localhost/`).
    return program_for(image, container, world, start, _memory_limit(container), net=PodNetwork(state, pod))


def _waiting_reason(pod: dict, name: str, record: dict | None) -> str:
    """The reason `kubectl get pod` shows for a container that has not started."""
    status = pod.get("status") or {}
    for entry in (status.get("containerStatuses") or []) + (status.get("initContainerStatuses") or []):
        if entry.get("name") == name:
            waiting = (entry.get("state") or {}).get("waiting")
            if waiting and waiting.get("reason"):
                return waiting["reason"]
    if record and record.get("waiting"):
        return record["waiting"][0]
    return "PodInitializing" if (pod.get("spec") or {}).get("initContainers") else "ContainerCreating"


# ---------------------------------------------------------------------------- attempts
@dataclass
class _Attempt:
    attempt: int
    start: float
    end: float | None        # exit time, None while running
    current: bool


def _current_start(record: dict, now: float) -> float | None:
    """Start of the attempt that is running (or stopping) now, if any."""
    st = record.get("st")
    start = record.get("start")
    if start is None or start > now:
        return None
    if st == "run" or st == "creating":
        return start
    if st == "exit" and record["exit"][1] > now:
        return start       # being stopped: still running until it exits
    return None


def _attempts(record: dict, now: float) -> tuple[_Attempt | None, _Attempt | None]:
    """(the attempt `kubectl logs` shows, the previous terminated one), from the kubelet's notes."""
    attempt = int(record.get("attempt", 0))
    st = record.get("st")
    last = record.get("last")
    running_start = _current_start(record, now)
    if st == "exit" and running_start is None:
        code, at, _reason = record["exit"]
        exited = _Attempt(attempt, record["start"], at, True)
        if record.get("waiting_restart"):
            # CrashLoopBackOff: the state is waiting, lastState the attempt that just exited (kubelet: the
            # "lastState.Terminated" case serves it for both the current and the previous logs).
            return exited, exited
        previous = None
        if last:
            # The previous attempt's start was overwritten when this one exited; the program is the same
            # replay, so it ran for as long as this one did.
            ran = max(0.0, at - record["start"])
            previous = _Attempt(attempt - 1, max(0.0, last[1] - ran), last[1], False)
        return exited, previous
    previous = None
    if last:
        previous = _Attempt(attempt - 1, record.get("prev_start") or last[1], last[1], False)
    if running_start is not None:
        return _Attempt(attempt, running_start, None, True), previous
    # Waiting (pulling, creating, back-off): the last terminated container's logs, if there is one.
    return previous, previous


def _replay(state: ClusterState, pod: dict, container: dict, attempt: _Attempt) -> tuple[list[LogLine], bool]:
    until = state.now if attempt.end is None else min(attempt.end, state.now)
    program = program_at(state, pod, container, attempt.start, attempt.attempt)
    if program is None:
        return [], True
    run = program.run(until)
    lines = [LogLine(t, stream, text) for t, stream, text in run.logs if t <= until]
    ended = attempt.end is not None or (run.exited and (run.exit_time or 0) <= state.now)
    return lines, ended


def container_logs(state: ClusterState, pod: dict, container: str | None, *,
                   previous: bool = False) -> ContainerLog:
    """The lines of the container's current attempt (or the previous one), as the kubelet serves them.

    Raises ContainerError with the API server's or the kubelet's message when there is nothing to show.
    A pod not bound to a node has no logs yet: an empty ContainerLog (the API server answers 200, empty).
    """
    pod_name = pod["metadata"]["name"]
    name = resolve_container(pod, container)
    spec = volumedata.container_spec(pod, name) or {"name": name}
    if not (pod.get("spec") or {}).get("nodeName"):
        return ContainerLog(name, 0, state.now, ended=True)
    record = state.sim(pod).get("c", {}).get(name)
    if record is None:
        if previous:
            raise ContainerError(f'previous terminated container "{name}" in pod "{pod_name}" not found')
        raise ContainerError(f'container "{name}" in pod "{pod_name}" is waiting to start: '
                             f"{_waiting_message(_waiting_reason(pod, name, None))}")
    current, last = _attempts(record, state.now)
    chosen = last if previous else current
    if chosen is None:
        if previous:
            raise ContainerError(f'previous terminated container "{name}" in pod "{pod_name}" not found')
        raise ContainerError(f'container "{name}" in pod "{pod_name}" is waiting to start: '
                             f"{_waiting_message(_waiting_reason(pod, name, record))}")
    lines, ended = _replay(state, pod, spec, chosen)
    running = chosen.current and chosen.end is None and not ended
    return ContainerLog(name, chosen.attempt, chosen.start, lines, ended=ended or not chosen.current,
                        running=running)


def _waiting_message(reason: str) -> str:
    if reason == "ErrImagePull":
        return "image can't be pulled"
    if reason == "ImagePullBackOff":
        return "trying and failing to pull image"
    return reason


# --------------------------------------------------------------------------------- exec
def running_program(state: ClusterState, pod: dict, container: str | None, *,
                    cluster_room: int | None = None) -> tuple[str, Program, ProgramRun]:
    """The running container's program and its run up to now; ContainerNotFound if it is not running.
    `cluster_room`: the bytes the cluster's stores may still grow by, when the caller will write."""
    name = resolve_container(pod, container)
    if not (pod.get("spec") or {}).get("nodeName"):
        raise ContainerError(f"pod {pod['metadata']['name']} does not have a host assigned")
    record = state.sim(pod).get("c", {}).get(name)
    start = _current_start(record, state.now) if record else None
    spec = volumedata.container_spec(pod, name)
    program = program_at(state, pod, spec, start, cluster_room=cluster_room) \
        if start is not None and spec is not None else None
    if program is None:
        raise ContainerNotFound(name)
    run = program.run(state.now)
    if run.exited and (run.exit_time or 0) <= state.now and record.get("st") != "exit":
        raise ContainerNotFound(name)  # exited since the kubelet's last pass
    return name, program, run


def exec_in_container(state: ClusterState, pod: dict, container: str | None,
                      argv: list[str]) -> tuple[int, str, str]:
    """`kubectl exec`: run argv in the running container at state.now → (exit code, stdout, stderr)."""
    _name, program, run = running_program(state, pod, container)
    return program.exec(list(argv), state.now, run)


def exec_and_keep(state: ClusterState, pod: dict, container: str | None,
                  argv: list[str]) -> tuple[int, str, str]:
    """`kubectl exec` that keeps what the command wrote: into the volumes it wrote under, or the container's
    own layer (volumedata.record_writes), in `state`'s notes, for the caller to persist. Capacities are the
    exact ones (the cluster's room counted), so a write past them fails as it would on a full disk."""
    room = volumedata.CLUSTER_CAPACITY - volumedata.cluster_used(state)
    name, program, run = running_program(state, pod, container, cluster_room=room)
    code, out, err, done = shell.exec_run(list(argv), program.exec_world(state.now, run), now=state.now)
    if done.fs_events and volumedata.record_writes(state, pod, name, done.fs_events):
        state.sim(pod).pop("quiet", None)    # the kubelet looks at the pod again: probes, scripts read files
    return code, out, err


def keep_writes(state: ClusterState, pod: dict, container: str | None, events) -> int:
    """Keep file changes made in a running container from outside its program — (time, kind, path, content),
    e.g. the commands typed into `kubectl exec -it … sh` — as exec_and_keep does. Returns how many were kept."""
    name = resolve_container(pod, container)
    kept = volumedata.record_writes(state, pod, name, events)
    if kept:
        state.sim(pod).pop("quiet", None)
    return kept


__all__ = ["ContainerError", "ContainerLog", "ContainerNotFound", "LogLine", "all_container_names",
           "container_logs", "exec_and_keep", "exec_in_container", "keep_writes", "resolve_container",
           "running_program"]
