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

from . import images, shell
from .environment import ContainerWorld, expand

_DOCUMENT_ROOTS = {"nginx": "/usr/share/nginx/html", "httpd": "/usr/local/apache2/htdocs"}
OOM_AFTER = 1.0          # seconds after start at which an app over its memory limit is OOM-killed
MISSING_ENV_EXIT = 1.0   # seconds an image that needs env (mysql, postgres) runs before it gives up


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
        if self.memory_limit is not None and self.image.memory_bytes > self.memory_limit:
            at = self.start + OOM_AFTER
            if until >= at:
                return ProgramRun(True, 137, at, "OOMKilled")
            return ProgramRun(next_event=at)
        if self.interactive:
            return ProgramRun()
        if self.uses_shell:
            run = shell.run_program(self.argv, self.shell_world(self.world.files), start=self.start, until=until)
            # Wake on exits and file changes only (next_change): a log line alone needs no pass.
            return ProgramRun(run.exited, run.exit_code, run.exit_time,
                              ("Completed" if run.exit_code == 0 else "Error") if run.exited else "",
                              list(run.logs), run.next_change, list(run.unsupported), run)
        failing = images.missing_env(self.image, self.world.env)
        if failing is not None:
            at = self.start + MISSING_ENV_EXIT
            if until >= at:
                return ProgramRun(True, 1, at, "Error", self._logs(failing))
            return ProgramRun(next_event=at)
        logs = self._logs(images.program_logs(self.image, self.image_args) or self.image.startup_logs)
        if self.mode == "exit":
            at = self.start + max(self.image.start_seconds, 0.0)
            if until >= at:
                code = self.image.exit_code
                return ProgramRun(True, code, at, "Completed" if code == 0 else "Error", logs)
            return ProgramRun(next_event=at)
        return ProgramRun(logs=logs)

    def shell_world(self, files: dict[str, str]) -> shell.ShellWorld:
        """What the shell reaches in this container: its environment, these files, the pod's network."""
        net = self.net
        return shell.ShellWorld(
            env=self.world.env, files=files, hostname=self.world.env.get("HOSTNAME", ""),
            binaries=self.image.binaries or None,
            http=getattr(net, "http", None), resolve=getattr(net, "resolve", None),
            reverse=getattr(net, "reverse", None), net=net, variants=tool_variants(self.image))

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
