"""The interpreter: runs a parsed script against a ShellWorld on a virtual clock, and the entry points.

The simulation is persisted as JSON between steps, so nothing here keeps live state: `run_program` is a
pure function of (argv, world, start, until) that REPLAYS the script from its start on a virtual clock
every time it is asked and stops at `until`. Two consequences shape the code:

* Time is an integer count of microseconds since the program's start inside
  the interpreter, so that loop iterations compare exactly (float sums drift)
  and steady loops can be extrapolated arithmetically.
* Long-lived loops (`while true; do echo tick; sleep 5; done`, the HPA
  tutorial's `while sleep 0.01; do wget -q -O- http://php-apache; done`) are
  not run iteration by iteration for hours: once an iteration repeats exactly
  (same duration, same file effects, same requests and answers, variables
  constant or counting by a constant step that no condition reads) the loop is
  *steady* and the interpreter jumps ahead, re-creating only the last few
  thousand log lines. Answers from the world (HTTP, DNS) are sampled along the
  jumped span so a Service that gains endpoints changes the loop's output
  (steady.py).

Every effect (output, file change, request) is journalled at its virtual time; _Shell._build turns the
journal into the Run. `exec_command`/`exec_run` run a short command (kubectl exec, an exec probe) the same
way, with its output captured instead of logged.
"""
from __future__ import annotations

import fnmatch
import posixpath
import re
from collections.abc import Callable

from .builtins import _BUILTINS
from .commands import _COMMANDS
from .expansion import _Expansion
from .filesystem import EMPTY_TREE, NO_SPACE, READ_ONLY, Mount, Tree, _Dirs, _Files, resolve, size_of
from .netcommands import CLUSTER_DNS, hosts_address, resolv_conf
from .parser import parse
from .runtime import (
    _FS_KINDS,
    _IO,
    _LOG_KINDS,
    _QUERY_KINDS,
    _Break,
    _Buffer,
    _Continue,
    _Exit,
    _Input,
    _Null,
    _Return,
    _Sink,
    _Stop,
)
from .steady import _Snap, _SteadyLoops
from .syntax import (
    AndOr,
    Case,
    CmdSub,
    For,
    FuncDef,
    Group,
    If,
    Loop,
    Node,
    ParseError,
    Pipeline,
    Redir,
    Seq,
    Simple,
    Word,
)
from .world import (
    BUSY_ITERATION,
    EXEC_CPU,
    EXEC_TIMEOUT_EXIT,
    LOG_KEEP,
    LOOKAHEAD_STEPS,
    MAX_STEPS,
    OOM_KILL_SECONDS,
    REQUEST_KEEP,
    SHELLS,
    US,
    Run,
    ShellWorld,
)


def run_program(argv: list[str], world: ShellWorld, *, start: float, until: float,
                max_steps: int = MAX_STEPS) -> Run:
    """Replay the container's program from `start` up to `until` (see the module docstring)."""
    sh = _Shell(world, start=start, until=until, max_steps=max_steps)
    return sh.main(argv)


def exec_command(argv: list[str], world: ShellWorld, *, now: float, timeout: float = 60) -> tuple[int, str, str]:
    """`kubectl exec POD -- …` or an exec probe: run a short command against the world as of `now`.

    Returns (exit code, stdout, stderr). A command still running at `timeout` gives EXEC_TIMEOUT_EXIT and
    stderr `command "…" timed out`: what the kubelet reports for a timed-out exec probe (the CRI's
    DeadlineExceeded becomes that TimeoutError; there is no exit code). Use exec_run to also get the
    file changes the command made.
    """
    code, out, err, _run = exec_run(argv, world, now=now, timeout=timeout)
    return code, out, err


def exec_run(argv: list[str], world: ShellWorld, *, now: float, timeout: float = 60) -> tuple[int, str, str, Run]:
    """exec_command plus the Run (file events of e.g. `kubectl exec pod -- touch /tmp/x`)."""
    sh = _Shell(world, start=now, until=now + timeout, max_steps=MAX_STEPS, capture=True)
    run = sh.main(argv)
    out, err = sh.captured_out.text(), sh.captured_err.text()
    if run.start_error:
        # The CRI refuses the exec; kubectl reports the runtime's error (exit 126 like `command not executable`).
        return 126, "", ("OCI runtime exec failed: exec failed: unable to start container process: exec: "
                         f'"{argv[0] if argv else ""}": executable file not found in $PATH: unknown'), run
    if not run.exited:
        return EXEC_TIMEOUT_EXIT, out, err + f'command "{" ".join(argv)}" timed out', run
    return int(run.exit_code or 0), out, err, run


_LINE_MAX = 16 * 1024     # containerd splits log lines at 16 KiB; also bounds a never-ending partial line
_DEFAULT_DIRS = ("/", "/bin", "/dev", "/etc", "/home", "/proc", "/root", "/sys", "/tmp", "/usr", "/usr/bin",
                 "/usr/local", "/var", "/var/run", "/run", "/var/log", "/var/tmp", "/lib", "/sbin", "/opt")
_BUSYBOX_BINARIES = frozenset("""
sh ash [ [[ awk basename cat chmod chown cp cut date dd df dirname du echo egrep env expr false fgrep find
grep head hostname id kill ln ls mkdir mktemp mv nc nslookup ping printenv printf ps pwd readlink rm rmdir
sed seq sleep sort stat tail tar tee test timeout top touch tr true uname uniq wc wget which whoami xargs yes
usleep busybox
""".split())


class _LogSink(_Sink):
    """The container's stdout/stderr, as the runtime's log file records it.

    Output is journalled at the time it is written: complete lines as "out"/"err", text without a newline
    as a partial chunk "outp"/"errp" (CRI logs tag those P) that _build joins to the line it belongs to.
    Keeping chunks as events (rather than a buffer in the sink) keeps the shell's state free of growing
    buffers, so `wget -q -O- …` printing "OK!" without a newline still forms a steady loop.
    """

    def __init__(self, shell: _Shell, stream: str):
        self.shell = shell
        self.full, self.part = ("out", "outp") if stream == "stdout" else ("err", "errp")

    def write(self, text: str) -> None:
        lines = text.split("\n")
        tail = lines.pop()
        for line in lines:
            self.shell.emit(self.full, line, None)
        if tail:
            self.shell.emit(self.part, tail, None)


class _FileSink(_Sink):
    """`> file` / `>> file`: the file gets its content when the command finishes (one write event).

    A full volume truncates the file and the writing command reports it on the stderr it had when the
    redirection was opened (`sh: write error: No space left on device`)."""

    def __init__(self, shell: _Shell, path: str, append: bool, err: _Sink | None = None):
        self.shell, self.path, self.append, self.err = shell, path, append, err
        self.parts: list[str] = []
        self.command = "echo"

    def write(self, text: str) -> None:
        self.parts.append(text)

    def close(self) -> bool:
        old = self.shell.files.get(self.path, "") if self.append else ""
        error = self.shell.write_file(self.path, old + "".join(self.parts))
        if error and self.err is not None:
            self.err.write(self.shell.write_error(self.command, error))
        return bool(error)


class _Shell(_Expansion, _SteadyLoops):
    """One replay of a script: the shell's state, the virtual clock and the journal of effects.

    Word expansion and the steady-loop jump live in their own modules (expansion.py, steady.py) as mixins;
    builtins and simulated commands are looked up in the tables of builtins.py and commands.py.
    """

    def __init__(self, world: ShellWorld, *, start: float, until: float, max_steps: int, capture: bool = False):
        self.world = world
        self.start = start
        self.until = max(0, round((until - start) * US))     # µs since start
        self.max_steps = max_steps
        self.binaries = world.binaries if world.binaries is not None else _BUSYBOX_BINARIES
        self.now = 0
        self.steps = 0
        self.vars: dict[str, str] = dict(world.env)
        self.exported: set[str] = set(world.env)
        self.positional: list[str] = []
        self.arg0 = "sh"
        self.flavour = "ash"         # which shell's wording: "ash" (busybox), "dash" or "bash"
        self.interactive = False     # reading commands from a terminal: bash's messages name no line
        self.status = 0
        self.cwd = "/"
        self.functions: dict[str, Node] = {}
        self.errexit = False
        self.xtrace = False
        # The image's layer stays shared (filesystem.py); this replay's changes go on top of it.
        given = world.files
        tree = getattr(given, "tree", None)
        hidden = set(getattr(given, "hidden", ()))
        self.tree: Tree = tree if tree is not None else EMPTY_TREE
        self.files: _Files = _Files(self.tree.files, hidden)
        self.dirs: _Dirs = _Dirs(self.tree.dirs if tree is not None else frozenset(_DEFAULT_DIRS), hidden)
        for path, content in given.items():
            if path.endswith("/"):
                self._add_dirs(path.rstrip("/") or "/")
            else:
                self.files[path] = content
                self._add_dirs(posixpath.dirname(path))
        if tree is not None:
            self.cwd = tree.workdir
        # Mount rules (read-only, capacity) and the bytes each mount holds as this replay goes.
        self.mounts: tuple[Mount, ...] = tuple(getattr(given, "mounts", ()))
        self.mount_used: dict[str, int] = {m.path: m.used for m in self.mounts}
        # Changes made from outside after the start (kubectl exec, a ConfigMap update): µs since start.
        self.pending: list[tuple[int, str, str, str | None]] = [
            (max(0, round((t - start) * US)), kind, path, content)
            for t, kind, path, content in getattr(given, "pending", ())]
        self._apply_pending()
        self.journal: list[tuple[int, str, str, str | None]] = []
        self.cond_depth = 0
        self.cond_log: list[str] = []           # variables read (and "$clock") while deciding control flow
        self.unsupported: list[str] = []
        self.logs_dropped = 0
        self.requests_dropped = 0
        self.cycles: list[tuple[int, int, int, list]] = []
        self.steady_rates: dict[str, float] | None = None
        # The load: µs of CPU used so far (busy iterations, command starts), the running steady loop's
        # millicores, and what a command holding the machine (stress, yes) uses at `until` (see hold()).
        self.busy = 0
        self.steady_cpu: float | None = None
        self.load_now: tuple[float, int] | None = None
        self.oom_killed = False
        self.next_event: int | None = None
        self.next_change: int | None = None
        self.stop_note: str | None = None
        self.lookahead_from: int | None = None
        self.capture = capture
        self.captured_out = _Buffer()
        self.captured_err = _Buffer()
        if capture:
            self.stdout: _Sink = self.captured_out
            self.stderr: _Sink = self.captured_err
        else:
            self.stdout = _LogSink(self, "stdout")
            self.stderr = _LogSink(self, "stderr")

    # ---- bookkeeping
    def _add_dirs(self, path: str) -> None:
        while path not in self.dirs:
            self.dirs.add(path)
            path = posixpath.dirname(path)

    def note_unsupported(self, what: str) -> None:
        if what not in self.unsupported:
            self.unsupported.append(what)

    def step(self) -> None:
        self.steps += 1
        if self.pending and self.pending[0][0] <= self.now:
            self._apply_pending()
        if self.now > self.until:
            # Looking past the horizon for next_event/next_change only: a small budget of its own, and
            # running out of it is no failure (the kubelet just wakes at the point reached and asks again).
            if self.lookahead_from is None:
                self.lookahead_from = self.steps
            elif self.steps - self.lookahead_from > LOOKAHEAD_STEPS:
                if self.next_event is None:
                    self.next_event = self.now
                if self.next_change is None:
                    self.next_change = self.now
                raise _Stop()
            return
        if self.steps > self.max_steps:
            self.stop_note = (f"script too busy to simulate: more than {self.max_steps} statements without "
                              f"settling into a steady loop (stopped at {self.now / US:g}s)")
            raise _Stop()

    def emit(self, kind: str, a: str, b: str | None) -> None:
        """Record an effect at the current time; past `until` it becomes next_event/next_change instead."""
        if self.now > self.until:
            if kind in _QUERY_KINDS:
                self.journal.append((self.now, kind, a, b))    # kept for steady detection, trimmed from the Run
                return
            if self.next_event is None:
                self.next_event = self.now
            if kind in _LOG_KINDS:
                return
            self.next_change = self.now
            raise _Stop()
        self.journal.append((self.now, kind, a, b))

    def advance(self, us: int) -> None:
        self.now += us
        if self.pending and self.pending[0][0] <= self.now:
            self._apply_pending()

    def hold(self, cpu_millis: float, memory_bytes: int, seconds: float | None) -> None:
        """A command that keeps the machine busy for `seconds` (None: until the container is stopped),
        asking `cpu_millis` and holding `memory_bytes`: stress, `yes > /dev/null`, `dd if=/dev/zero …`.

        Past the horizon its start is the next change (what the container uses changes then); spanning the
        horizon it is the load at `until` (Run.cpu_millis, Run.memory_bytes). Asking more memory than the
        container's limit, it is OOM-killed with the whole container (the kubelet's cgroup v2 memory.oom.group),
        OOM_KILL_SECONDS after its start: exit 137."""
        start = self.now
        if start > self.until:
            if self.next_event is None:
                self.next_event = start
            self.next_change = start
            raise _Stop()
        limit = self.world.memory_limit
        if limit is not None and memory_bytes > limit:
            killed = start + round(OOM_KILL_SECONDS * US)
            if killed > self.until:
                self.load_now = (cpu_millis, limit)
                self.next_event = self.next_change = killed
                raise _Stop()
            self.advance(killed - start)
            self.oom_killed = True       # the whole container goes, whatever subshell the command ran in
            raise _Stop()
        end = None if seconds is None else start + round(seconds * US)
        if end is None or end > self.until:
            self.load_now = (cpu_millis, memory_bytes)
            if end is not None:
                self.next_event = self.next_change = end
            raise _Stop()
        self.advance(end - start)

    def _apply_pending(self) -> None:
        """Changes made from outside (kubectl exec, another container, a ConfigMap update) up to now."""
        while self.pending and self.pending[0][0] <= self.now:
            _t, kind, path, content = self.pending.pop(0)
            if kind == "write":
                self._account(path, content)
                self.files[path] = content or ""
                self._add_dirs(posixpath.dirname(path))
            elif kind == "mkdir":
                self._add_dirs(path)
            elif kind == "remove":
                self._drop(path)

    def abspath(self, path: str) -> str:
        full = posixpath.normpath(posixpath.join(self.cwd, path)) if path else self.cwd
        if full.startswith("//"):
            full = full[1:]
        return resolve(self.tree, full) if self.tree.aliases else full

    # ---- the file system's rules: read-only mounts and capacities (filesystem.py)
    def mount_of(self, path: str) -> Mount | None:
        for mount in self.mounts:        # longest mount path first
            if path == mount.path or path.startswith(mount.path.rstrip("/") + "/"):
                return mount
        return None

    def writable(self, path: str) -> str | None:
        """Why `path` cannot be written (READ_ONLY), or None."""
        mount = self.mount_of(path) if self.mounts else None
        return READ_ONLY if mount is not None and mount.read_only else None

    def _cost(self, path: str, content: str | None) -> int:
        """The bytes a file takes on its mount: its content and its name (as the stores count them)."""
        return 0 if content is None else len(path) + size_of(content)

    def _account(self, path: str, content: str | None) -> None:
        mount = self.mount_of(path) if self.mounts else None
        if mount is not None:
            self.mount_used[mount.path] += self._cost(path, content) - self._cost(path, self.files.get(path))

    def write_file(self, path: str, content: str) -> str | None:
        """Write a whole file; the error (READ_ONLY, NO_SPACE: then as much as fits was written) or None."""
        if path in ("/dev/null",):
            return None
        if path in ("/dev/stdout", "/proc/self/fd/1"):
            self.stdout.write(content)
            return None
        if path in ("/dev/stderr", "/proc/self/fd/2"):
            self.stderr.write(content)
            return None
        error = None
        mount = self.mount_of(path) if self.mounts else None
        if mount is not None:
            if mount.read_only:
                return READ_ONLY
            used = self.mount_used[mount.path] - self._cost(path, self.files.get(path))
            if mount.capacity is not None and used + self._cost(path, content) > mount.capacity:
                room = max(0, mount.capacity - used - len(path))
                content = content.encode()[:room].decode("utf-8", "ignore")
                error = NO_SPACE
            self.mount_used[mount.path] = used + self._cost(path, content)
        self.files[path] = content
        self.emit("write", path, content)
        return error

    def _drop(self, path: str) -> None:
        prefix = path.rstrip("/") + "/"
        for key in [path] + [k for k in self.files if k.startswith(prefix)]:
            if key in self.files:
                self._account(key, None)
                del self.files[key]
        for d in [d for d in self.dirs if d == path or d.startswith(prefix)]:
            self.dirs.discard(d)

    def remove_path(self, path: str) -> str | None:
        if self.writable(path):
            return READ_ONLY
        self._drop(path)
        self.emit("remove", path, None)
        return None

    def make_dir(self, path: str) -> str | None:
        if self.writable(path):
            return READ_ONLY
        self.dirs.add(path)
        self.emit("mkdir", path, None)
        return None

    def get_var(self, name: str) -> str:
        if self.cond_depth:
            self.cond_log.append(name)
        if name in self.vars:
            return self.vars[name]
        if name == "?":
            return str(self.status)
        if name == "$":
            return "1"                    # the shell is the container's PID 1
        if name == "#":
            return str(len(self.positional))
        if name in ("@", "*"):
            return " ".join(self.positional)
        if name == "0":
            return self.arg0
        if name.isdigit():
            i = int(name)
            return self.positional[i - 1] if i <= len(self.positional) else ""
        if name == "!":
            return ""
        if name == "-":
            return ("e" if self.errexit else "") + ("x" if self.xtrace else "")
        return ""

    def is_set(self, name: str) -> bool:
        if name in self.vars or name in "?$#@*0-!":
            return True
        return name.isdigit() and int(name) <= len(self.positional)

    # ---- main
    def main(self, argv: list[str]) -> Run:
        exit_code: int | None = None
        start_error = None
        try:
            try:
                exit_code = self._start(argv)
            except _Exit as e:
                exit_code = e.code
            if exit_code is not None and self.now > self.until:
                # The exit itself lies beyond the horizon: it is the next event.
                if self.next_event is None:
                    self.next_event = self.now
                self.next_change = self.now
                exit_code = None
        except _StartError as e:
            start_error = str(e)
            exit_code = 128
        except _Stop:
            exit_code = 137 if self.oom_killed else None
        return self._build(exit_code, start_error)

    def _build(self, exit_code: int | None, start_error: str | None) -> Run:
        sec = lambda us: self.start + us / US
        logs: list[tuple[int, str, str]] = []
        fs, reqs = [], []
        pending: dict[str, tuple[int, list[str], int]] = {}     # stream -> (first chunk time, chunks, length)
        for t, kind, a, b in self.journal:
            if t > self.until:
                continue
            if kind in _LOG_KINDS:
                stream = "stdout" if kind[0] == "o" else "stderr"
                t0, chunks, size = pending.pop(stream, (t, [], 0))
                chunks.append(a)
                size += len(a)
                if kind in ("outp", "errp") and size < _LINE_MAX:
                    pending[stream] = (t0, chunks, size)
                    continue
                line = "".join(chunks)
                while len(line) > _LINE_MAX:
                    logs.append((t0, stream, line[:_LINE_MAX]))
                    line = line[_LINE_MAX:]
                if kind in ("outp", "errp") and line:
                    pending[stream] = (t, [line], len(line))
                else:
                    logs.append((t0, stream, line))
            elif kind in _FS_KINDS:
                fs.append((sec(t), kind, a, b))
            elif kind == "req":
                reqs.append((t, a))
        # A line still being written shows as it stands, as `kubectl logs` shows it.
        logs.extend((t0, stream, "".join(chunks)) for stream, (t0, chunks, _n) in pending.items())
        logs.sort(key=lambda entry: entry[0])
        logs_dropped = self.logs_dropped + max(0, len(logs) - LOG_KEEP)
        logs = logs[-LOG_KEEP:]
        requests_dropped = self.requests_dropped + max(0, len(reqs) - REQUEST_KEEP)
        reqs = reqs[-REQUEST_KEEP:]
        if self.stop_note:
            self.note_unsupported(self.stop_note)
        if self.stop_note and self.now <= self.until:
            # Out of budget before the horizon: replaying later would stop at the same point, so there is
            # nothing to wake up for.
            next_event = next_change = None
        else:
            next_event, next_change = self.next_event, self.next_change
            if self.stop_note:
                next_event = next_event if next_event is not None else self.now
                next_change = next_change if next_change is not None else self.now
        rates = self.steady_rates or {}
        exited = exit_code is not None
        return Run(
            exited=exited, exit_code=exit_code, exit_time=sec(self.now) if exited else None,
            logs=[(sec(t), stream, line) for t, stream, line in logs],
            fs_events=fs,
            requests=[(sec(t), url) for t, url in reqs],
            next_event=None if exited or next_event is None else sec(next_event),
            unsupported=list(self.unsupported),
            next_change=None if exited or next_change is None else sec(next_change),
            logs_dropped=logs_dropped, requests_dropped=requests_dropped,
            cpu_millis=0.0 if exited else self.load_now[0] if self.load_now else self.steady_cpu or 0.0,
            memory_bytes=0 if exited or not self.load_now else self.load_now[1], oom_killed=self.oom_killed,
            request_rate=next(iter(rates.items())) if rates else None,
            request_rates=dict(rates),
            fs_cycles=[(sec(a), sec(b), p / US, [(r / US, k, path, c) for r, k, path, c in pat])
                       for a, b, p, pat in self.cycles],
            start_error=start_error)

    def _start(self, argv: list[str]) -> int:
        if not argv:
            raise _StartError("no command specified")
        name = posixpath.basename(argv[0])
        if name not in self.binaries:
            # What containerd reports in the container's terminated state (reason StartError, exit 128).
            raise _StartError("failed to create containerd task: failed to create shim task: OCI runtime create "
                              "failed: runc create failed: unable to start container process: exec: "
                              f'"{argv[0]}": executable file not found in $PATH: unknown')
        io = _IO(None, self.stdout, self.stderr)
        if name in SHELLS and name != "busybox":
            return self._run_shell_argv(argv, io)
        if name == "busybox" and len(argv) > 1:
            argv = argv[1:]
            if posixpath.basename(argv[0]) in SHELLS:
                return self._run_shell_argv(argv, io)
        # Not a shell: the runtime starts the command directly (no expansion, no builtins beyond ours).
        return self.run_command(list(argv), io, {})

    def use_shell(self, arg0: str) -> None:
        """Word messages as the shell `arg0` (sh, /bin/bash, dash …) of this image does."""
        self.arg0 = arg0
        name = posixpath.basename(arg0)
        if name == "bash":
            self.flavour = "bash"
        elif name == "dash" or (name == "sh" and "dash" in self.binaries and "ash" not in self.binaries):
            self.flavour = "dash"     # Debian's and Ubuntu's /bin/sh

    def _run_shell_argv(self, argv: list[str], io: _IO) -> int:
        args = argv[1:]
        self.use_shell(argv[0])
        script: str | None = None
        while args and args[0].startswith("-") and args[0] != "-":
            opt = args.pop(0)
            if opt == "--":
                break
            if "c" in opt[1:]:
                if not args:
                    self.stderr.write(f"{posixpath.basename(argv[0])}: -c requires an argument\n")
                    return 2
                script = args.pop(0)
            for letter in opt[1:]:
                if letter == "e":
                    self.errexit = True
                elif letter == "x":
                    self.xtrace = True
        if script is None:
            if not args:
                return 0        # no script and no stdin (no tty): the shell reads EOF and exits at once
            path = self.abspath(args[0])
            if path not in self.files:
                self.stderr.write(f"{self.arg0}: can't open '{args[0]}': No such file or directory\n")
                return 127
            script, self.arg0, self.positional = self.files[path], args[0], args[1:]
        else:
            if args:
                self.arg0, self.positional = args[0], args[1:]
        try:
            tree = parse(script)
        except ParseError as e:
            if e.unsupported:
                self.note_unsupported(e.unsupported)
            self.stderr.write(f"sh: {e}\n")
            return 2
        return self.run(tree, io)

    # ---- execution of nodes
    def run(self, node: Node, io: _IO) -> int:
        kind = type(node)
        if kind is Simple:
            status = self.run_simple(node, io)
        elif kind is Seq:
            status = self.status
            for item, background in node.items:
                if background:
                    # No job control in the simulation: the job runs in the foreground (flagged).
                    self.note_unsupported("background job (&)")
                status = self.run(item, io)
            return status
        elif kind is AndOr:
            status = self._run_cond(node.first, io) if node.rest else self.run(node.first, io)
            for i, (op, pipe) in enumerate(node.rest):
                if (op == "&&") == (status == 0):
                    last = i == len(node.rest) - 1
                    status = self.run(pipe, io) if last else self._run_cond(pipe, io)
            self.status = status
            return status
        elif kind is Pipeline:
            status = self.run_pipeline(node, io)
        elif kind is If:
            status = self.with_redirs(node.redirs, io, self._run_if, node)
        elif kind is Loop:
            status = self.with_redirs(node.redirs, io, self._run_loop, node)
        elif kind is For:
            status = self.with_redirs(node.redirs, io, self._run_for, node)
        elif kind is Case:
            status = self.with_redirs(node.redirs, io, self._run_case, node)
        elif kind is Group:
            if node.subshell:
                status = self.with_redirs(node.redirs, io, lambda n, i: self.subshell(lambda: self.run(n.body, i)),
                                          node)
            else:
                status = self.with_redirs(node.redirs, io, lambda n, i: self.run(n.body, i), node)
        elif kind is FuncDef:
            self.functions[node.name] = node.body
            status = 0
        else:  # pragma: no cover — the parser makes no other nodes
            raise TypeError(kind)
        self.status = status
        if status and self.errexit and not self.cond_depth and kind in (Simple, Pipeline):
            raise _Exit(status)
        return status

    def _run_cond(self, node: Node, io: _IO) -> int:
        # A status that decides control flow: variables read here make a loop non-extrapolable (see _steady).
        self.cond_depth += 1
        try:
            return self.run(node, io)
        finally:
            self.cond_depth -= 1

    def _run_if(self, node: If, io: _IO) -> int:
        for cond, body in node.clauses:
            if self._run_cond(cond, io) == 0:
                return self.run(body, io)
        if node.else_body is not None:
            return self.run(node.else_body, io)
        return 0

    def _run_case(self, node: Case, io: _IO) -> int:
        self.cond_depth += 1
        try:
            subject = self.expand_one(node.word)
            chosen = None
            for pats, body in node.items:
                if any(fnmatch.fnmatchcase(subject, self.expand_pattern(p)) for p in pats):
                    chosen = body
                    break
        finally:
            self.cond_depth -= 1
        return self.run(chosen, io) if chosen is not None else 0

    def _run_for(self, node: For, io: _IO) -> int:
        if node.words is None:
            items = list(self.positional)
        else:
            self.cond_depth += 1            # the list decides how many iterations run
            try:
                items = [f for w in node.words for f in self.expand_word(w)]
            finally:
                self.cond_depth -= 1
        status = 0
        for item in items:
            self.step()
            self.vars[node.var] = item
            status, broke = self._run_body(node.body, io, status)
            if broke:
                break
        return status

    def _run_body(self, body, io: _IO, status: int) -> tuple[int, bool]:
        """One pass of a loop's body: its status (the last one when `break`/`continue` cut it short) and
        whether `break` ended this loop; `break N` / `continue N` reaching further go on outwards."""
        try:
            return self.run(body, io), False
        except _Break as b:
            if b.n > 1:
                raise _Break(b.n - 1) from None
            return status, True
        except _Continue as c:
            if c.n > 1:
                raise _Continue(c.n - 1) from None
            return status, False

    def _run_loop(self, node: Loop, io: _IO) -> int:
        status = 0
        history: list[_Snap] = []
        # No try/finally around the loop: a _Stop/_Exit leaves the steady-loop request rate standing.
        while True:
            self.step()
            snap = self._snap(io)
            history.append(snap)
            if len(history) > 3:
                history.pop(0)
            if len(history) == 3 and self._steady(history, io):
                history.clear()
            c = self._run_cond(node.cond, io)
            if (c == 0) == node.until:
                break
            status, broke = self._run_body(node.body, io, status)
            if broke:
                break
            if self.now == snap.t:
                # An iteration that took no simulated time (no sleep, no network) would otherwise let a
                # busy loop produce unboundedly many events in one instant; a real shell manages very
                # roughly a thousand such iterations a second, spinning a core meanwhile.
                self.advance(round(BUSY_ITERATION * US))
                self.busy += round(BUSY_ITERATION * US)
        self.steady_rates = None         # the loop ended: whatever it requested, it no longer does
        self.steady_cpu = None
        return status

    # ---- names on the simulated network (the network commands and steady-loop sampling ask here)
    def _resolve(self, name: str, at: float) -> str | None:
        """getaddrinfo: an address as it is, /etc/hosts, then DNS through the container's resolv.conf."""
        if re.fullmatch(r"\d+\.\d+\.\d+\.\d+", name):
            return name
        if name == "localhost":
            return "127.0.0.1"
        entry = hosts_address(self.files, name)
        if entry is not None:
            return entry[0]
        if self.world.resolve is None:
            return name          # no DNS model: the name stands for its address
        net = self.world.net
        if net is not None:
            server, search, ndots = resolv_conf(self.files)
            if server != CLUSTER_DNS:
                return None      # only the cluster DNS is modelled: another nameserver never answers
            found = net.lookup(name, at, search, ndots).addresses
            return found[0] if found else None
        return self.world.resolve(name, at)

    # ---- the shell's own messages: busybox ash, dash (Debian's /bin/sh) and bash word them differently
    def _prefix(self) -> str:
        if self.flavour == "dash":
            return f"{self.arg0}: 1: "
        if self.flavour == "bash":
            return f"{self.arg0}: " if self.interactive else f"{self.arg0}: line 1: "
        return f"{self.arg0}: "

    def not_found(self, name: str) -> str:
        return f"{self._prefix()}{name}: {'command not found' if self.flavour == 'bash' else 'not found'}\n"

    def create_error(self, target: str, why: str) -> str:
        """A redirection's file cannot be opened: why is "nonexistent", "Is a directory" or an errno text."""
        if self.flavour == "bash":
            return f"{self._prefix()}{target}: {'No such file or directory' if why == 'nonexistent' else why}\n"
        if self.flavour == "dash":
            reason = "Directory nonexistent" if why == "nonexistent" else why
            return f"{self._prefix()}cannot create {target}: {reason}\n"
        return f"{self.arg0}: can't create {target}: {'nonexistent directory' if why == 'nonexistent' else why}\n"

    def open_error(self, target: str) -> str:
        """`< file` of a file that does not exist."""
        if self.flavour == "dash":
            return f"{self._prefix()}cannot open {target}: No such file\n"
        if self.flavour == "bash":
            return f"{self._prefix()}{target}: No such file or directory\n"
        return f"{self.arg0}: can't open '{target}': No such file or directory\n"

    def write_error(self, command: str, error: str) -> str:
        """A command's output could not be written (a full volume): what the command, or the shell, says."""
        if command in ("echo", "printf") and command in _BUILTINS:
            if self.flavour == "dash":
                return f"{self._prefix()}{command}: {command}: I/O error\n"
            if self.flavour == "bash":
                return f"{self._prefix()}{command}: write error: {error}\n"
            return f"{posixpath.basename(self.arg0)}: write error: {error}\n"
        return f"{posixpath.basename(command)}: write error: {error}\n"

    # ---- subshells, redirections, pipelines
    def subshell(self, fn: Callable[[], int]) -> int:
        saved = (dict(self.vars), set(self.exported), self.cwd, list(self.positional), dict(self.functions),
                 self.errexit)
        try:
            return fn()
        except _Exit as e:
            return e.code
        finally:
            self.vars, self.exported, self.cwd, self.positional, self.functions, self.errexit = saved

    def with_redirs(self, redirs: list[Redir], io: _IO, fn, node) -> int:
        if not redirs:
            return fn(node, io)
        new_io = self.open_redirs(redirs, io)
        if new_io is None:
            return 1
        try:
            return fn(node, new_io)
        finally:
            self.close_io(new_io, io)

    def open_redirs(self, redirs: list[Redir], io: _IO) -> _IO | None:
        new = _IO(io.stdin, io.out, io.err)
        for r in redirs:
            target = self.expand_one(r.target)
            if r.op in (">&", "<&"):
                if target in ("1", "2"):
                    src = new.out if target == "1" else new.err
                    if r.fd == 1:
                        new.out = src
                    elif r.fd == 2:
                        new.err = src
                    continue
                if target == "-":
                    if r.fd == 1:
                        new.out = _Null()
                    elif r.fd == 2:
                        new.err = _Null()
                    continue
                if r.op == ">&" and r.fd == 1 and not target.isdigit():
                    # `>& file` (bash): both streams to the file.
                    sink = self._open_file_sink(target, False, io)
                    if sink is None:
                        return None
                    new.out = new.err = sink
                    continue
                self.note_unsupported(f"redirection {r.fd}{r.op}{target}")
                continue
            if r.op == "<":
                path = self.abspath(target)
                if path not in self.files:
                    io.err.write(self.open_error(target))
                    return None
                if r.fd == 0:
                    new.stdin = _Input(self.files[path])
                continue
            sink = self._open_file_sink(target, r.op == ">>", io)
            if sink is None:
                return None
            if r.fd == 1:
                new.out = sink
            elif r.fd == 2:
                new.err = sink
        return new

    def _open_file_sink(self, target: str, append: bool, io: _IO) -> _Sink | None:
        if target == "/dev/null":
            return _Null()
        if target in ("/dev/stdout", "/proc/self/fd/1"):
            return io.out
        if target in ("/dev/stderr", "/proc/self/fd/2"):
            return io.err
        path = self.abspath(target)
        if posixpath.dirname(path) not in self.dirs:
            io.err.write(self.create_error(target, "nonexistent"))
            return None
        if path in self.dirs:
            io.err.write(self.create_error(target, "Is a directory"))
            return None
        if self.writable(path):
            io.err.write(self.create_error(target, READ_ONLY))
            return None
        return _FileSink(self, path, append, io.err)

    def close_io(self, new: _IO, old: _IO) -> bool:
        """Close the redirections' files; True if one could not be written whole."""
        closed = set()
        failed = False
        for sink in (new.out, new.err):
            if sink is not old.out and sink is not old.err and id(sink) not in closed:
                closed.add(id(sink))
                failed = bool(sink.close()) or failed
        return failed

    def run_pipeline(self, node: Pipeline, io: _IO) -> int:
        # Commands run one after the other on the virtual clock, each reading the previous one's output
        # (busybox runs every part in a subshell, so variables set inside do not survive).
        status = 0
        stdin = io.stdin
        n = len(node.cmds)
        for i, cmd in enumerate(node.cmds):
            last = i == n - 1
            out = io.out if last else _Buffer()
            sub_io = _IO(stdin, out, io.err)
            if n > 1:
                status = self.subshell(lambda c=cmd, s=sub_io: self.run(c, s))
            else:
                status = self.run(cmd, sub_io)
            if not last:
                stdin = _Input(out.text())
        if node.negate:
            status = 0 if status else 1
        return status

    # ---- simple commands
    def run_simple(self, node: Simple, io: _IO) -> int:
        self.step()
        argv: list[str] = []
        for w in node.words:
            argv.extend(self.expand_word(w))
        assigns = [(name, self.expand_one(value)) for name, value in node.assigns]
        if not argv:
            for name, value in assigns:
                self.vars[name] = value
            if node.redirs:
                new_io = self.open_redirs(node.redirs, io)
                if new_io is None:
                    return 1
                self.close_io(new_io, io)
            return self.status if any(self._has_subst(v) for _, v in node.assigns) else 0
        if self.xtrace:
            io.err.write("+ " + " ".join(argv) + "\n")
        new_io = self.open_redirs(node.redirs, io) if node.redirs else io
        if new_io is None:
            return 1
        if node.redirs:
            for sink in (new_io.out, new_io.err):
                if isinstance(sink, _FileSink):
                    sink.command = argv[0]
        try:
            status = self.run_command(argv, new_io, dict(assigns))
        except BaseException:
            if node.redirs:
                self.close_io(new_io, io)
            raise
        if node.redirs and self.close_io(new_io, io):
            return 1            # its output could not all be written (a full volume): the command failed
        return status

    @staticmethod
    def _has_subst(w: Word) -> bool:
        return any(isinstance(p, CmdSub) for p in w.parts)

    def run_command(self, argv: list[str], io: _IO, assigns: dict[str, str]) -> int:
        name = argv[0]
        if name in self.functions:
            saved = self.positional
            self.positional = argv[1:]
            try:
                return self.run(self.functions[name], io)
            except _Return as r:
                return r.code
            finally:
                self.positional = saved
        builtin = _BUILTINS.get(name)
        if builtin is not None:
            for k, v in assigns.items():
                self.vars[k] = v
            return builtin(self, argv, io)
        base = posixpath.basename(name)
        if base not in self.binaries or (base not in _COMMANDS and base not in _BUILTINS):
            # Missing from the image (the real outcome) or present but not simulated (awk, sed, nc …): both
            # print busybox's message and are listed, so the kubelet can say so in an Event.
            io.err.write(self.not_found(name))
            self.note_unsupported(base)
            return 127
        if base in _BUILTINS:      # /bin/echo and friends, run directly
            return _BUILTINS[base](self, [base] + argv[1:], io)
        env = {k: self.vars[k] for k in self.vars if k in self.exported}
        env.update(assigns)
        self.busy += round(EXEC_CPU * US)
        return _COMMANDS[base](self, argv, io, env)


class _StartError(Exception):
    pass
