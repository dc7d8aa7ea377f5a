"""Reading the simulated containers: `kubectl logs`, `exec` and `attach`.

Each call loads the cluster's snapshot at its current simulated time (the same
way a reconcile pass does, clusters.sim.reconcile.load_state) and asks the pure
engine (clusters.engine.kubelet.logs) to replay the container. Learner-caused
failures come back as the API's Status errors, or ContainerNotFound for a
stream into a container that is not running (the kubelet's 404).

An interactive shell (`kubectl exec -it … sh`, an attached `stdin: true` container) runs each typed
command with container_shell_line (engine: kubelet/shell/session.py). Two calls write, each in one short
transaction under the cluster's lock: container_exec keeps the files its command wrote (into the volumes
or the container's layer, kubelet/volumedata.py), and container_end_attached notes that the attached
terminal ended the container's program (kubelet/streams.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from clusters.apiserver import errors
from clusters.engine.kubelet import logs, streams
from clusters.engine.kubelet.logs import ContainerLog, ContainerNotFound, LogLine
from clusters.engine.kubelet.shell import (
    CONTINUATION_PROMPT,
    LineEditor,
    LineRun,
    ShellSession,
    interrupted_exit_code,
    reads_commands,
)
from clusters.engine.state import ClusterState, parse_timestamp
from clusters.models import Cluster
from clusters.sim.reconcile import load_state
from clusters.sim.runner import request_reconcile
from clusters.store.database import DbStore, dumps, in_transaction

__all__ = ["CONTINUATION_PROMPT", "ContainerLog", "ContainerNotFound", "LineEditor", "LineRun", "LogLine",
           "LogOptions", "ShellSession", "StreamInfo", "container_end_attached", "container_exec", "container_logs",
           "container_keep_writes", "container_shell_line", "container_stream_check", "container_stream_info",
           "format_lines", "interrupted_exit_code", "parse_since_time", "reads_commands"]


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
    """Run a command in a running container at the cluster's simulated now → (exit code, stdout, stderr).

    What the command writes stays: in one short transaction under the cluster's lock (the reconcile
    pass's), the engine runs it and notes the files it changed (logs.exec_and_keep), and their notes are
    saved — private notes, so no resourceVersion moves and no watch event is sent. A pass is asked for
    after it commits: a probe or a script may read what was written."""
    def run(store: DbStore) -> tuple[tuple[int, str, str], bool]:
        store.lock()
        state = load_state(cluster, store)
        found = _pod(state, namespace, pod)
        try:
            answer = logs.exec_and_keep(state, found, container, argv)
        except logs.ContainerError as error:
            raise errors.bad_request(str(error)) from None
        return answer, _save_notes(store, state)

    answer, wrote = in_transaction(cluster, run)
    if wrote:
        request_reconcile(cluster.pk)
    return answer


def container_read(*, cluster: Cluster, namespace: str, pod: str, container: str | None, path: str) -> str | None:
    """`cat PATH` in a running container at the simulated now, kept nowhere: the file's text, or None."""
    state = _state(cluster)
    found = state.get("Pod", namespace, pod)
    if found is None:
        return None
    try:
        code, out, _ = logs.exec_and_keep(state, found, container, ["cat", path])
    except logs.ContainerError:
        return None
    return out if code == 0 else None


def container_keep_writes(*, cluster: Cluster, namespace: str, pod: str, container: str | None,
                          events: list[tuple[float, str, str, str | None]]) -> bool:
    """Keep file changes made in a running container from outside its program — (simulated time, "write" |
    "mkdir" | "remove", path, content), e.g. what the commands typed into `kubectl exec -it … sh` wrote —
    as container_exec keeps its command's. True if any was kept."""
    if not events:
        return False

    def keep(store: DbStore) -> bool:
        store.lock()
        state = load_state(cluster, store)
        found = state.get("Pod", namespace, pod)
        if found is None:
            return False
        try:
            logs.keep_writes(state, found, container, events)
        except logs.ContainerError:
            return False
        return _save_notes(store, state)

    kept = bool(in_transaction(cluster, keep))
    if kept:
        request_reconcile(cluster.pk)
    return kept


def _save_notes(store: DbStore, state: ClusterState) -> bool:
    """Persist the simulation's notes the engine changed (no API object changed). True if any did."""
    items = []
    for uid, notes in state.sim_changes().items():
        obj = state.by_uid(uid)
        if obj is not None and notes is not None:
            meta = obj["metadata"]
            items.append((obj["kind"], meta.get("namespace", ""), meta["name"], dumps(notes)))
    store.set_sims(items)
    return bool(items)


StreamInfo = streams.StreamTarget   # what an exec/attach session needs to know about its container


def container_stream_info(*, cluster: Cluster, namespace: str, pod: str, container: str | None) -> StreamInfo:
    """May exec/attach open a stream to this container? Its details, or ApiError / ContainerNotFound."""
    state = _state(cluster)
    found = _pod(state, namespace, pod)
    try:
        return streams.stream_target(state, found, container)
    except logs.ContainerError as error:
        raise errors.bad_request(str(error)) from None


def container_shell_line(*, cluster: Cluster, namespace: str, pod: str, container: str | None,
                         session: ShellSession, text: str, now: float, until: float) -> LineRun:
    """A command typed into an interactive shell in a running container at simulated `now`, replayed up to
    `until` from the session's state (session.commit takes its outcome on)."""
    state = load_state(cluster, DbStore(cluster), now=now)
    found = _pod(state, namespace, pod)
    try:
        world = streams.shell_world(state, found, container)
    except logs.ContainerError as error:
        raise errors.bad_request(str(error)) from None
    return session.run(text, world, now=now, until=until)


def container_end_attached(*, cluster: Cluster, namespace: str, pod: str, container: str | None,
                           code: int) -> bool:
    """The attached terminal ended the container's program now with `code` (its shell exited, Ctrl-C):
    noted for the kubelet, which terminates the container on the pass this asks for. False when the
    container was not running any more."""
    def note(store: DbStore) -> bool:
        store.lock()
        state = load_state(cluster, store)
        found = state.get("Pod", namespace, pod)
        if found is None or not streams.end_attached(state, found, container, code):
            return False
        store.set_sim("Pod", namespace, pod, dumps(state.sim(found)))
        return True

    ended = bool(in_transaction(cluster, note))
    if ended:
        request_reconcile(cluster.pk)
    return ended


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
