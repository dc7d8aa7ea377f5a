"""What a simulated script can reach, and what replaying it reports: the shell's contract with the kubelet.

The kubelet fills a ShellWorld (environment, files, hostname, and callables into the network model) and
gets back a Run, the program's story from its start up to the time it asked about. files_at rebuilds the
container's filesystem from a Run at any moment, also inside the steady loops the interpreter jumped over.
The constants bound what a Run keeps and how much work one replay may do; the interpreter, the steady-loop
jump and the simulated commands all read them from here.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .filesystem import ContainerFiles

LOG_KEEP = 5000          # log lines a Run keeps (the latest); older ones are counted in logs_dropped
REQUEST_KEEP = 1000      # requests a Run keeps (the latest); the rest are counted, the rate is in request_rate
MAX_STEPS = 20_000       # statements per call before giving up on a script that never settles (~0.15 s)
LOOKAHEAD_STEPS = 2_000  # statements spent past `until` looking for next_event / next_change
REPLAY_KEEP = 1000       # log lines re-created by really running when a steady loop's lines vary (counters, date)
NET_LATENCY = 0.001      # seconds a wget/curl/nslookup takes: a busy request loop cannot run at infinite speed
BUSY_ITERATION = 0.001   # seconds charged to a while/until iteration that took no simulated time (see _run_loop)
EXEC_CPU = 0.00004       # CPU seconds a simulated command costs to start (fork, exec): a loop's load (Run.cpu_millis)
OOM_KILL_SECONDS = 0.5   # a program asking more memory than the container's limit is OOM-killed this long after
EXEC_TIMEOUT_EXIT = -1   # exec_command's exit code on timeout: a real timed-out exec probe has no exit code
SHELLS = frozenset({"sh", "ash", "bash", "dash", "zsh", "busybox"})

US = 1_000_000
_INFINITY = 1 << 62      # µs: "never" (sleep infinity)


@dataclass
class ShellWorld:
    """What the script can reach; the kubelet fills it."""
    env: dict[str, str]
    files: dict[str, str]          # path -> content; a key ending in "/" is an (empty) directory. A
    #                                ContainerFiles (filesystem.py) adds the image's layer, mounts and
    #                                changes from outside.
    hostname: str
    # url, time -> (status, body), or None for connection refused; None callable = no network model (refused).
    # Status 0: connected, but the server does not speak HTTP; a negative status is a failed connect, -errno:
    # -110 (ETIMEDOUT, the SYN went unanswered), -113 (EHOSTUNREACH). A "tcp://host:port" url asks only
    # whether a connection opens ((0, "") when it does): nc.
    http: Callable[[str, float], tuple[int, str] | None] | None = None
    # DNS name, time -> IP or None (NXDOMAIN). Time-aware, unlike the first sketch, because a replay asks
    # about the past: the init-containers tutorial's `until nslookup myservice` must fail before the
    # Service existed even when replayed after it was created. None = no DNS model: names resolve to themselves.
    resolve: Callable[[str, float], str | None] | None = None
    binaries: frozenset[str] | None = None     # commands the image has; None = busybox
    reverse: Callable[[str], str | None] | None = None   # IP -> DNS name, for nslookup's "Address 1: ip name"
    # The network model's client for this pod (clusters.engine.network.client.PodNetwork), for what the three
    # callables above cannot say: every address of a name, single DNS questions (nslookup, dig), PTR names at
    # a time. None: the commands make do with http/resolve/reverse.
    net: object | None = None
    # Which implementation of a tool the image ships, where their output differs: "nslookup" is
    # "busybox-1.28" (getaddrinfo, "Address 1:" lines), "busybox" (1.29+, its own queries) or "bind";
    # "nc" is "busybox" or "openbsd"; "dig" is the BIND version it prints.
    variants: dict[str, str] = field(default_factory=dict)
    # The container's memory limit in bytes (None: none): a command asking more is OOM-killed with the container.
    memory_limit: int | None = None


@dataclass
class Run:
    """The program's story from its start up to `until` (all times absolute, in seconds)."""
    exited: bool
    exit_code: int | None
    exit_time: float | None
    logs: list[tuple[float, str, str]]                      # (time, "stdout"|"stderr", line), the latest LOG_KEEP
    fs_events: list[tuple[float, str, str, str | None]]    # (time, "write"|"remove"|"mkdir", path, content)
    requests: list[tuple[float, str]]                       # (time, url) of each wget/curl, the latest REQUEST_KEEP
    next_event: float | None     # next observable thing after `until` (exit, file change, log line); None = never
    unsupported: list[str]       # commands/constructs it could not run, each once: the kubelet reports them
    # --- additions to the first sketch -------------------------------------------------------------
    next_change: float | None = None    # next exit or file change after `until` (log lines excluded): what
    #                                     probes and the pod status depend on, so the kubelet can sleep through
    #                                     a chatty loop instead of waking for each line
    logs_dropped: int = 0               # log lines before the kept ones
    requests_dropped: int = 0
    request_rate: tuple[str, float] | None = None   # (url, requests/second) of a steady loop running at `until`
    request_rates: dict[str, float] = field(default_factory=dict)   # every url of that loop
    # Steady loops that write files were jumped over: (from, to, period, events relative to an iteration's
    # start). files_at uses them; the file state inside such a span repeats with the period.
    fs_cycles: list[tuple[float, float, float, list[tuple[float, str, str, str | None]]]] = field(default_factory=list)
    start_error: str | None = None      # argv could not be started at all (binary missing): the runtime's message
    # What the program uses at `until` (the resource model, clusters/engine/metrics.py): the CPU it asks for
    # (millicores, before throttling: a loop without sleep spins a core, `while sleep 0.01; do wget …` a few
    # millicores, `stress --cpu 2` two cores) and the memory its commands hold beyond the shell's own.
    cpu_millis: float = 0.0
    memory_bytes: int = 0
    oom_killed: bool = False            # ended by the kernel's OOM killer (exit 137): more memory than its limit


def files_at(run: Run | None, initial: dict[str, str], when: float) -> dict[str, str]:
    """The container's filesystem as of `when` (directories made by mkdir are keys ending in "/").

    With a ContainerFiles, the changes made from outside up to `when` are merged in time order with the
    script's own (the later write of a file wins), and the result is a ContainerFiles again."""
    if isinstance(initial, ContainerFiles):
        files: dict[str, str] = initial.copy()
        events = [e for e in run.fs_events if e[0] <= when] if run is not None else []
        if initial.pending:
            files.pending = tuple(e for e in initial.pending if e[0] > when)
            events += [e for e in initial.pending if e[0] <= when]
            events.sort(key=lambda e: e[0])       # stable: at the same instant the script's own come first
    else:
        files = dict(initial)
        events = [e for e in run.fs_events if e[0] <= when] if run is not None else []
    for _t, kind, path, content in events:
        _apply_fs(files, kind, path, content)
    if run is None:
        return files
    for t0, t1, period, pattern in run.fs_cycles:
        # Inside a jumped steady span the state repeats with the period: replay the pattern up to the phase
        # (file operations set absolute values, so applying them again over the true state is harmless).
        if t0 <= when < t1 and period > 0:
            phase = (when - t0) % period
            for rel, kind, path, content in pattern:
                if rel <= phase + 1e-9:
                    _apply_fs(files, kind, path, content)
    return files


def _apply_fs(files: dict[str, str], kind: str, path: str, content: str | None) -> None:
    if isinstance(files, ContainerFiles):
        files.apply(kind, path, content)
        return
    if kind == "write":
        files[path] = content or ""
    elif kind == "mkdir":
        files[path.rstrip("/") + "/"] = ""
    elif kind == "remove":
        files.pop(path, None)
        prefix = path.rstrip("/") + "/"
        for key in [k for k in files if k.startswith(prefix)]:
            del files[key]
