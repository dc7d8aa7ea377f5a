"""What a simulated container runs, and what that program has done by a given time.

A container runs either its image's own program (nginx serving, redis
listening, agnhost's `liveness` server with its args) or, when the pod gives a
shell command, the shell interpreter. Both are pure functions of the pod spec,
the container's start time and the simulated time asked about, so the kubelet,
probes, `kubectl logs` and `kubectl exec` all see the same story without
storing it.
"""
from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import unquote, urlsplit

from ..resources import memory_bytes as parse_memory
from . import images, shell
from .environment import ContainerWorld, expand
from .shell.load import CORE, parse_stress

_DOCUMENT_ROOTS = {"nginx": "/usr/share/nginx/html", "httpd": "/usr/local/apache2/htdocs"}
OOM_AFTER = 1.0          # seconds after start at which an app over its memory limit is OOM-killed
MISSING_ENV_EXIT = 1.0   # seconds an image that needs env (mysql, postgres) runs before it gives up
SHELL_MEMORY_BYTES = 400 * 1024          # a busybox shell and its loop
VISH_STRESS_MEMORY_BYTES = 1024 * 1024   # vish/stress before it allocates anything


@dataclass(frozen=True)
class Load:
    """What a running program uses, as its container's cgroup accounts it, before any limit bites.

    CPU in millicores (what it would burn unthrottled: `stress --cpu 2` asks 2000), memory in bytes at its
    start, growing by `memory_rate` bytes a second up to `memory_max` (vish/stress's `-mem-total`, allocated
    in chunks with a sleep between them). The kubelet notes it per container run (lifecycle.running_load);
    the resource model (clusters/engine/metrics.py) and the eviction manager (eviction.py) read it there."""
    cpu_millis: float = 0.0
    memory_bytes: int = 0
    memory_rate: float = 0.0
    memory_max: int = 0

    def memory_at(self, elapsed: float) -> int:
        if self.memory_rate <= 0 or elapsed <= 0:
            return self.memory_bytes
        return int(min(self.memory_max, self.memory_bytes + self.memory_rate * elapsed))

    def exceeds_after(self, limit: int | None) -> float | None:
        """Seconds after the start at which the memory passes `limit`, or None if it never does."""
        if limit is None:
            return None
        if self.memory_bytes > limit:
            return 0.0
        if self.memory_rate > 0 and self.memory_max > limit:
            return (limit - self.memory_bytes) / self.memory_rate
        return None

    def note(self) -> list:
        """The compact form kept in the kubelet's notes (JSON)."""
        return [round(self.cpu_millis, 3), int(self.memory_bytes), round(self.memory_rate, 3), int(self.memory_max)]

    @classmethod
    def from_note(cls, note: list) -> Load:
        return cls(float(note[0]), int(note[1]), float(note[2]), int(note[3]))


@dataclass
class ProgramRun:
    exited: bool = False
    exit_code: int | None = None
    exit_time: float | None = None
    reason: str = ""                         # Completed | Error | OOMKilled
    logs: list[tuple[float, str, str]] = field(default_factory=list)
    next_event: float | None = None
    unsupported: list[str] = field(default_factory=list)
    shell_run: object | None = None          # the shell's Run, for files and exec


@dataclass
class Program:
    image: images.Image
    argv: list[str]
    mode: str                      # "server" | "exit" | "shell" (images.run_mode)
    image_args: list[str] | None   # the arguments the image's own program runs with
    world: ContainerWorld
    start: float
    memory_limit: int | None
    # A shell that reads its commands from an open stdin (`stdin: true`, e.g. `kubectl run -it … -- sh`): it
    # waits for a terminal instead of exiting at once; the attached terminal ends it (kubelet/streams.py).
    interactive: bool = False
    # The pod's handle on the cluster network (clusters.engine.network.client.PodNetwork), which fills the
    # shell's http/resolve/reverse; None: no network model (every connection refused, names are addresses).
    net: object | None = None

    @property
    def uses_shell(self) -> bool:
        return self.mode == "shell"

    def _logs(self, lines) -> list[tuple[float, str, str]]:
        started = datetime.fromtimestamp(self.start, UTC)
        rendered = images.render_logs(lines, started, self.world.env.get("HOSTNAME", ""))
        return [(self.start, "stdout", line) for line in rendered]

    def run(self, until: float) -> ProgramRun:
        if self.interactive:
            return ProgramRun()
        if self.uses_shell:
            run = shell.run_program(self.argv, self.shell_world(self.world.files), start=self.start, until=until)
            # Wake on exits and file changes only (next_change): a log line alone needs no pass.
            reason = ("OOMKilled" if run.oom_killed else "Completed" if run.exit_code == 0 else "Error") \
                if run.exited else ""
            return ProgramRun(run.exited, run.exit_code, run.exit_time, reason,
                              list(run.logs), run.next_change, list(run.unsupported), run)
        stress = self._stress()
        if stress is not None and stress.error is not None:
            at = self.start + max(self.image.start_seconds, 0.0)
            if until >= at:
                return ProgramRun(True, 1, at, "Error", [(self.start, "stderr", stress.error)])
            return ProgramRun(next_event=at)
        # The kernel's OOM killer: the program's memory passes its limit (OOM_AFTER at the earliest, the time
        # it takes to touch that much), and the whole container goes (cgroup v2 memory.oom.group).
        over = self.own_load().exceeds_after(self.memory_limit)
        if over is not None:
            at = self.start + max(OOM_AFTER, over)
            if until >= at:
                return ProgramRun(True, 137, at, "OOMKilled", self._own_logs(at))
            return ProgramRun(next_event=at, logs=self._own_logs(until))
        failing = images.missing_env(self.image, self.world.env)
        if failing is not None:
            at = self.start + MISSING_ENV_EXIT
            if until >= at:
                return ProgramRun(True, 1, at, "Error", self._logs(failing))
            return ProgramRun(next_event=at)
        logs = self._own_logs(until)
        if self.mode == "exit":
            at = self.start + max(self.image.start_seconds, 0.0)
            if until >= at:
                code = self.image.exit_code
                return ProgramRun(True, code, at, "Completed" if code == 0 else "Error", logs)
            return ProgramRun(next_event=at)
        return ProgramRun(logs=logs)

    def _own_logs(self, until: float) -> list[tuple[float, str, str]]:
        """What the image's own program has logged by `until`."""
        if self.image.kind == "vish-stress":
            return _vish_logs(_vish_args(self.image_args or []), self.start, until)
        stress = self._stress()
        if stress is not None:
            return [(self.start, "stdout", stress.dispatch_line(1))]
        return self._logs(images.program_logs(self.image, self.image_args) or self.image.startup_logs)

    def _stress(self):
        """polinux/stress's own program, read from its arguments (None for any other image)."""
        if self.image.kind != "stress" or self.uses_shell:
            return None
        return parse_stress("stress", list(self.image_args or []))

    def own_load(self) -> Load:
        """What the image's own program uses: its catalog baseline, or what stress's arguments ask."""
        if self.image.kind == "vish-stress":
            args = _vish_args(self.image_args or [])
            return Load(args.cpus * CORE, VISH_STRESS_MEMORY_BYTES, args.rate if args.total else 0.0,
                        VISH_STRESS_MEMORY_BYTES + args.total)
        stress = self._stress()
        if stress is not None and stress.error is None:
            return Load(stress.cpu_millis, stress.memory_bytes)
        return Load(float(self.image.cpu_millis_idle), self.image.memory_bytes)

    def load(self, run: ProgramRun) -> Load:
        """What the program uses at the time `run` was replayed to (a shell: its loop or its load command)."""
        if self.uses_shell:
            shell_run = run.shell_run
            cpu = getattr(shell_run, "cpu_millis", 0.0) or 0.0
            return Load(cpu, SHELL_MEMORY_BYTES + (getattr(shell_run, "memory_bytes", 0) or 0))
        if self.interactive:
            return Load(0.0, SHELL_MEMORY_BYTES)
        return self.own_load()

    def shell_world(self, files: dict[str, str]) -> shell.ShellWorld:
        """What the shell reaches in this container: its environment, these files, the pod's network."""
        net = self.net
        return shell.ShellWorld(
            env=self.world.env, files=files, hostname=self.world.env.get("HOSTNAME", ""),
            binaries=self.image.binaries or None,
            http=getattr(net, "http", None), resolve=getattr(net, "resolve", None),
            reverse=getattr(net, "reverse", None), net=net, variants=tool_variants(self.image),
            memory_limit=self.memory_limit)

    # What probes and Services reach -------------------------------------------------------------
    def http(self, port: int, path: str, when: float) -> tuple[int, str] | None:
        if self.uses_shell or when < self.start:
            return None
        files = self.world.files
        root = _DOCUMENT_ROOTS.get(self.image.kind)
        if root is not None and hasattr(files, "at") and files.is_dir(root):
            # The container's file system as of `when` (a ContainerFiles): nginx and httpd serve their
            # document roots from it, so what `kubectl exec` or a volume put there is what they answer.
            # Without the root in the files, the image's own pages (its welcome page) stand for them.
            return images.http_response(self.image, self.image_args, port, path, when - self.start,
                                        self.world.env.get("HOSTNAME", ""), now=when, files=files.at(when))
        if root is not None and self.listens(port, when):
            page = _static_page(files, root, path)
            if page is not None:
                return 200, page
        return images.http_response(self.image, self.image_args, port, path, when - self.start,
                                    self.world.env.get("HOSTNAME", ""), now=when)

    def listens(self, port: int, when: float) -> bool:
        if self.uses_shell or when < self.start:
            return False
        return images.listens(self.image, self.image_args, port, "TCP", when - self.start)

    def exec_world(self, when: float, run: ProgramRun | None = None) -> shell.ShellWorld:
        """What a command exec'd in the container at `when` reaches (files as the program left them)."""
        files = self.world.files
        if run is not None and run.shell_run is not None:
            files = shell.files_at(run.shell_run, self.world.files, when)
        return self.shell_world(files)

    def exec(self, argv: list[str], when: float, run: ProgramRun | None = None) -> tuple[int, str, str]:
        """Run a command in the container at `when` (files as the program left them)."""
        return shell.exec_command(argv, self.exec_world(when, run), now=when)


def program_for(image: images.Image, container: dict, world: ContainerWorld, start: float,
                memory_limit: int | None, net: object | None = None) -> Program:
    """The program a container runs: its command through the shell, or the image's own program.
    `net` is the pod's network client (Program.net)."""
    command = [expand(str(part), world.env) for part in container.get("command") or []] or None
    args = [expand(str(part), world.env) for part in container.get("args") or []] or None
    argv = images.effective_argv(image, command, args)
    interactive = bool(container.get("stdin")) and shell.reads_commands(argv, image.binaries or None)
    return Program(image, argv, images.run_mode(image, command, args), images.program_args(image, command, args),
                   world, start, memory_limit, interactive, net=net)


@dataclass(frozen=True)
class _VishArgs:
    """vish/stress's Go flags (-cpus, -mem-total, -mem-alloc-size, -mem-alloc-sleep), as it reads them."""
    cpus: int = 0
    total: int = 0                 # bytes to allocate in all
    total_text: str = "0"
    size_text: str = "4Ki"
    sleep: float = 0.001           # seconds between allocations

    @property
    def rate(self) -> float:
        """Bytes allocated a second."""
        try:
            size = parse_memory(self.size_text)
        except ValueError:
            size = 4096
        return size / self.sleep if self.sleep > 0 else float(size) * 1e6


def _vish_args(args: list[str]) -> _VishArgs:
    values = {"cpus": "0", "mem-total": "0", "mem-alloc-size": "4Ki", "mem-alloc-sleep": "1ms"}
    i = 0
    while i < len(args):
        name, eq, value = args[i].lstrip("-").partition("=")
        if name in values:
            if not eq:
                i += 1
                value = args[i] if i < len(args) else ""
            values[name] = value
        i += 1
    try:
        cpus, total = max(0, int(values["cpus"])), parse_memory(values["mem-total"])
    except ValueError:
        cpus, total = 0, 0
    return _VishArgs(cpus, total, values["mem-total"], values["mem-alloc-size"], _go_seconds(values["mem-alloc-sleep"]))


def _go_seconds(text: str) -> float:
    """A Go duration (1ms, 500us, 2s) in seconds; 1 ms when it cannot be read."""
    units = (("ms", 1e-3), ("us", 1e-6), ("µs", 1e-6), ("ns", 1e-9), ("s", 1.0), ("m", 60.0), ("h", 3600.0))
    for suffix, scale in units:
        if text.endswith(suffix):
            try:
                return float(text[:-len(suffix)]) * scale
            except ValueError:
                break
    return 1e-3


def _vish_logs(args: _VishArgs, start: float, until: float) -> list[tuple[float, str, str]]:
    """vish/stress's glog lines: what it allocates and one line per CPU thread; "Allocated" once done."""
    def glog(at: float, line: int, text: str) -> tuple[float, str, str]:
        stamp = datetime.fromtimestamp(at, UTC).strftime("%m%d %H:%M:%S.%f")
        return (at, "stderr", f"I{stamp}       1 main.go:{line}] {text}")

    sleep_text = f"{args.sleep * 1000:g}ms" if args.sleep < 1 else f"{args.sleep:g}s"
    logs = [glog(start, 26, f'Allocating "{args.total_text}" memory, in "{args.size_text}" chunks, with a '
                            f'{sleep_text} sleep between allocations')]
    logs += [glog(start, 39, "Spawning a thread to consume CPU") for _ in range(args.cpus)]
    done = start + (args.total / args.rate if args.total else 0.0)
    if done <= until:
        logs.append(glog(done, 29, f'Allocated "{args.total_text}" memory'))
    return logs


def tool_variants(image: images.Image) -> dict[str, str]:
    """Which nslookup, nc and dig the image ships (ShellWorld.variants).

    Images with BIND's tools (dnsutils, netshoot, agnhost: `dig` is there) run BIND's nslookup and the
    OpenBSD netcat; busybox before 1.29 has the old getaddrinfo nslookup (busybox:1.28, the tutorials'
    pin; radial/busyboxplus; the google_containers busybox); any other busybox (the current images,
    Alpine's) has the new one, which asks each search domain itself."""
    binaries = image.binaries
    if "dig" in binaries:
        jessie = image.kind == "dnsutils" and "bash" in binaries
        return {"nslookup": "bind", "nc": "openbsd", "dig": "9.9.5-9+deb8u19-Debian" if jessie else "9.18.33"}
    legacy = False
    if image.kind == "busybox":
        parts = (image.ref.tag or "").split("-")[0].split(".")
        if parts[0] == "1" and len(parts) > 1 and parts[1].isdigit():
            legacy = int(parts[1]) < 29
        elif image.ref.name != "docker.io/library/busybox":
            legacy = True          # radial/busyboxplus and gcr.io/google_containers/busybox: busybox 1.2x
    return {"nslookup": "busybox-1.28" if legacy else "busybox", "nc": "busybox"}


def _static_page(files: dict[str, str], root: str, path: str) -> str | None:
    """A file a web server's document root holds in plain container files (a volume mounted there):
    the path itself, or a directory's index.html. None: the image's own pages answer."""
    route = urlsplit(path if path.startswith("/") else "/" + path).path or "/"
    target = posixpath.normpath(root + "/" + unquote(route).lstrip("/"))
    if route.endswith("/") or target == root:
        target += "/index.html"
    return files.get(target) if target.startswith(root + "/") else None
