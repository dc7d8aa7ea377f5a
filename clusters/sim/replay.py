"""Reading the simulated containers: `kubectl logs`, `exec` and `attach` (never writes).

Each call loads the cluster's snapshot at its current simulated time (the same
way a reconcile pass does, clusters.sim.reconcile.load_state) and asks the pure
engine (clusters.engine.kubelet.logs) to replay the container. Learner-caused
failures come back as the API's Status errors, or ContainerNotFound for a
stream into a container that is not running (the kubelet's 404).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from clusters.apiserver import errors
from clusters.engine.kubelet import logs
from clusters.engine.kubelet.logs import ContainerLog, ContainerNotFound, LogLine
from clusters.engine.state import ClusterState, parse_timestamp
from clusters.models import Cluster
from clusters.sim.reconcile import load_state
from clusters.store.database import DbStore

__all__ = ["ContainerLog", "ContainerNotFound", "LogLine", "LogOptions", "parse_since_time", "container_exec",
           "container_logs", "container_stream_check", "container_stream_info",
           "format_lines"]


@dataclass
class LogOptions:
    container: str | None = None
    previous: bool = False
    timestamps: bool = False
    tail_lines: int | None = None
    since_seconds: int | None = None
    since_time: float | None = None
    limit_bytes: int | None = None


def parse_since_time(text: str) -> float | None:
    """PodLogOptions.sinceTime (RFC 3339) as seconds since the epoch, or None when it is not one."""
    return parse_timestamp(text)


def _state(cluster: Cluster) -> ClusterState:
    return load_state(cluster, DbStore(cluster))


def _pod(state: ClusterState, namespace: str, name: str) -> dict:
    pod = state.get("Pod", namespace, name)
    if pod is None:
        raise errors.not_found("pods", "", name)
    return pod


def container_logs(*, cluster: Cluster, namespace: str, pod: str, options: LogOptions) -> ContainerLog:
    """The container's log lines now (the whole attempt: format_lines applies the options)."""
    state = _state(cluster)
    try:
        return logs.container_logs(state, _pod(state, namespace, pod), options.container, previous=options.previous)
    except logs.ContainerError as error:
        raise errors.bad_request(str(error)) from None


def container_exec(*, cluster: Cluster, namespace: str, pod: str, container: str | None,
                   argv: list[str]) -> tuple[int, str, str]:
    """Run a command in a running container at the cluster's simulated now → (exit code, stdout, stderr)."""
    state = _state(cluster)
    try:
        return logs.exec_in_container(state, _pod(state, namespace, pod), container, argv)
    except logs.ContainerError as error:
        raise errors.bad_request(str(error)) from None


@dataclass
class StreamInfo:
    """What an exec/attach session needs to know about its container."""
    container: str
    hostname: str
    busybox: bool        # an ash prompt (`/ # `) rather than bash's or dash's


def container_stream_info(*, cluster: Cluster, namespace: str, pod: str, container: str | None) -> StreamInfo:
    """May exec/attach open a stream to this container? Its details, or ApiError / ContainerNotFound."""
    state = _state(cluster)
    found = _pod(state, namespace, pod)
    try:
        name, program, _run = logs.running_program(state, found, container)
    except logs.ContainerError as error:
        raise errors.bad_request(str(error)) from None
    return StreamInfo(name, program.world.env.get("HOSTNAME", pod), "ash" in (program.image.binaries or {"ash"}))


def container_stream_check(*, cluster: Cluster, namespace: str, pod: str, container: str | None) -> str:
    """container_stream_info's checks only: the container's name."""
    return container_stream_info(cluster=cluster, namespace=namespace, pod=pod, container=container).container


def _rfc3339_nano(seconds: float) -> str:
    """The kubelet's RFC3339NanoFixed: always nine fractional digits."""
    micros = round(seconds * 1_000_000)
    whole, frac = divmod(micros, 1_000_000)
    return datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{frac:06d}000Z"


def format_line(line: logs.LogLine, timestamps: bool) -> bytes:
    text = line.text + "\n"
    return ((_rfc3339_nano(line.time) + " " + text) if timestamps else text).encode()


def format_lines(log: ContainerLog, options: LogOptions, now: float) -> bytes:
    """The kubelet's log options: sinceSeconds/sinceTime, then tailLines, then limitBytes."""
    lines = log.lines
    since = None
    if options.since_seconds is not None:
        since = now - options.since_seconds
    if options.since_time is not None:
        since = options.since_time if since is None else max(since, options.since_time)
    if since is not None:
        lines = [line for line in lines if line.time >= since]
    if options.tail_lines is not None:
        lines = lines[-options.tail_lines:] if options.tail_lines > 0 else []
    body = b"".join(format_line(line, options.timestamps) for line in lines)
    if options.limit_bytes is not None:
        body = body[:options.limit_bytes]
    return body
