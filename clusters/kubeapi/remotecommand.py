"""`kubectl exec` and `kubectl attach` over WebSocket: the channel.k8s.io stream protocols.

kubectl 1.30+ opens `GET …/pods/P/exec?command=…&container=c&stdout=true&stderr=true[&stdin=true&tty=true]`
(or `…/attach?…`) as a WebSocket with subprotocol `v5.channel.k8s.io`
(k8s.io/apimachinery/pkg/util/remotecommand/constants.go). Every binary message
starts with a channel byte: 0 stdin, 1 stdout, 2 stderr, 3 error (one JSON
metav1.Status when the command ends), 4 resize (terminal size JSON); v5 adds
255 = close, `[255, n]` meaning "stream n is finished" (the client closes
stdin that way). v4.channel.k8s.io is the same framing without 255.

A refused handshake (bad token, no such pod, container not running) is
answered with a WebSocket denial (HTTP 403): kubectl then falls back to SPDY,
a plain HTTP request that clusters.kubeapi.views answers with the real error
(401/403/404 Status, `container not found ("c")`), so kubectl prints exactly
what a real cluster makes it print.

The simulated container has no live process: exec runs the command with the
simulated shell against the container's files at the cluster's simulated now.
A shell that reads its commands from stdin — `exec -it POD -- sh`, `exec -i POD
-- sh < script`, or `attach -it` to a container started with `stdin: true`
running `sh` (`kubectl run -it --rm … -- sh`) — is a conversation: each
complete command typed runs as its own replay from the state the earlier ones
left (clusters.engine.kubelet.shell.session: cwd, variables, functions, files),
its output paced by the simulated clock (`sleep 2; echo done` takes two
seconds), Ctrl-C stops it. On a terminal (tty=true) the shell does its own line
editing and prints its prompt (busybox `/ # `, bash `root@POD:/# `), as busybox
ash and bash do. `exit N` (or end of input) ends it: exec answers the exit
status, kubectl prints `command terminated with exit code N`; an attached
container's program ends with it (replay.container_end_attached), so the kubelet
terminates the container and `kubectl run --rm` can delete the pod.

Attach to any other program streams its output as simulated time passes; on a
terminal, Ctrl-C interrupts the program (the autoscaling walkthrough's load
generator) and typed keys are echoed as a terminal does. Resize messages are
accepted; the simulated terminal has no size to honour.
"""
from __future__ import annotations

import asyncio
import codecs
import hashlib
import json
import logging
import re
import time
import uuid
from collections import OrderedDict
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from clusters.apiserver.errors import ApiError
from clusters.sim import replay
from clusters.store import notify
from playground.sockets import DirectDispatch

from . import logstream
from .views import authenticate_token

log = logging.getLogger(__name__)

V5, V4 = "v5.channel.k8s.io", "v4.channel.k8s.io"
STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255
SUCCESS = {"metadata": {}, "status": "Success"}
STDIN_LIMIT = 1 << 20          # an unfinished command typed or piped in: longer is refused
FIRST_HORIZON = 30.0           # simulated seconds a typed command is replayed over at first
MAX_COMMAND_SECONDS = 3600.0   # a typed command still running after this much simulated time is stopped
ATTACHED_SHELLS = 256          # attached containers' shells remembered between attach sessions
CONTAINER_RECHECK = 5.0        # seconds between looks at a shell's container (sooner when the cluster changes)
KILLED = 137                   # a process killed with its container (128 + SIGKILL)
CLEAR_SCREEN = "\x1b[H\x1b[J"

# The shell of each container attached to with stdin (its program reads commands from it): a later
# `kubectl attach -it` finds the same shell, as on a real container. By (cluster, namespace, pod,
# container, start of this run of the container).
_attached_shells: OrderedDict[tuple, replay.ShellSession] = OrderedDict()


def exit_status(code: int, argv: list[str]) -> dict:
    """The kubelet's status for a finished command (cri/streaming/remotecommand: NonZeroExitCode)."""
    if code == 0:
        return SUCCESS
    return {"metadata": {}, "status": "Failure",
            "message": f"command terminated with non-zero exit code: error executing command "
                       f"[{' '.join(argv)}], exit code {code}",
            "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]}}


def failure_status(message: str) -> dict:
    return {"metadata": {}, "status": "Failure", "message": message, "reason": "InternalError", "code": 500}


def _header(scope: dict, name: bytes) -> str:
    for key, value in scope.get("headers") or []:
        if key.lower() == name:
            return value.decode("latin-1")
    return ""


def _flag(query: dict[str, list[str]], name: str) -> bool:
    return (query.get(name) or [""])[-1].lower() in ("true", "1")


class RemoteCommandConsumer(DirectDispatch, AsyncWebsocketConsumer):
    """One exec or attach session."""

    async def connect(self) -> None:
        route = self.scope["url_route"]["kwargs"]
        self.action = route["action"]
        self.namespace, self.pod = route["namespace"], route["name"]
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        self.argv = query.get("command") or []
        self.stdin = _flag(query, "stdin")
        self.stdout = _flag(query, "stdout")
        self.stderr = _flag(query, "stderr")
        self.tty = _flag(query, "tty")
        offered = self.scope.get("subprotocols") or []
        self.protocol = next((p for p in offered if p in (V5, V4)), None)
        self.task: asyncio.Task | None = None
        self.stdin_queue: asyncio.Queue = asyncio.Queue()
        self.finished = False
        self.running: asyncio.Task | None = None     # a typed command being played (Ctrl-C cancels it)
        self.attached_shell: replay.ShellSession | None = None
        if self.protocol is None or (self.action == "exec" and not self.argv):
            await self.close()   # refused handshake: kubectl falls back to SPDY and gets the HTTP answer
            return
        scheme, _, token = _header(self.scope, b"authorization").partition(" ")
        try:
            cluster_id = uuid.UUID(route["cluster_id"])
            self.cluster = await database_sync_to_async(authenticate_token)(
                token.strip() if scheme.lower() == "bearer" else "", cluster_id)
            self.info = await database_sync_to_async(replay.container_stream_info)(
                cluster=self.cluster, namespace=self.namespace, pod=self.pod,
                container=(query.get("container") or [""])[-1] or None)
        except (ApiError, replay.ContainerNotFound, ValueError):
            await self.close()
            return
        await self.accept(subprotocol=self.protocol)
        if self.action == "attach":
            runner = self.attach
        elif self.stdin and replay.reads_commands(self.argv, self.info.binaries):
            runner = self.exec_shell        # exec -it POD -- sh, exec -i POD -- sh < script
        else:
            runner = self.exec
        self.task = asyncio.ensure_future(self._run(runner))

    async def disconnect(self, code: int) -> None:
        self.finished = True
        for task in (self.running, self.task):
            if task is not None and not task.done():
                task.cancel()
        shell = self.attached_shell
        if shell is not None and shell.exited is None and self.info.stdin_once:
            # stdinOnce: the runtime closes the container's stdin when the first attach ends, and the
            # shell reading it exits at end of file.
            await self.end_attached(shell, shell.state.status)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        data = bytes_data if bytes_data is not None else (text_data or "").encode()
        if not data:
            return
        channel, payload = data[0], data[1:]
        if channel == STDIN:
            if self.tty and b"\x03" in payload and self.running is not None and not self.running.done():
                # Ctrl-C on the terminal while a command runs: it is interrupted, typed-ahead input dropped.
                payload = payload.rpartition(b"\x03")[2]
                self.running.cancel()
            await self.stdin_queue.put(payload)
        elif channel == CLOSE and self.protocol == V5 and payload[:1] == bytes([STDIN]):
            await self.stdin_queue.put(None)   # the client closed stdin
        # RESIZE: accepted; the simulated terminal has no size to honour.

    # ------------------------------------------------------------------ output
    async def out(self, channel: int, data: str | bytes) -> None:
        if self.finished or not data:
            return
        raw = data.encode() if isinstance(data, str) else data
        if self.tty and channel in (STDOUT, STDERR):
            channel = STDOUT   # a terminal has one output stream
            raw = re.sub(rb"(?<!\r)\n", b"\r\n", raw)
        if channel == STDOUT and not self.stdout or channel == STDERR and not self.stderr and not self.tty:
            return
        await self.send(bytes_data=bytes([channel]) + raw)

    async def finish(self, status: dict) -> None:
        if self.finished:
            return
        await self.send(bytes_data=bytes([ERROR]) + json.dumps(status, separators=(",", ":")).encode())
        self.finished = True
        await self.close(code=1000)

    async def _run(self, runner) -> None:
        try:
            await runner()
        except asyncio.CancelledError:
            raise
        except ApiError as error:
            await self.finish(failure_status(error.message if hasattr(error, "message") else str(error)))
        except replay.ContainerNotFound as missing:
            await self.finish(failure_status(str(missing)))
        except Exception as exc:  # a bug of ours: end the session with a Status rather than hang it
            log.exception("exec/attach session failed")
            await self.finish(failure_status(f"Internal error occurred: {type(exc).__name__}: {exc}"))

    async def run_command(self, argv: list[str]) -> tuple[int, str, str]:
        from clusters import selectors

        cluster = await database_sync_to_async(selectors.cluster_by_id)(self.cluster.pk) or self.cluster
        return await database_sync_to_async(replay.container_exec)(
            cluster=cluster, namespace=self.namespace, pod=self.pod, container=self.info.container, argv=argv)

    def start_failure(self, argv: list[str], err: str) -> dict:
        """containerd's refusal to start the exec'd process, as the API server relays it."""
        exec_id = hashlib.sha256(f"{self.pod}/{' '.join(argv)}".encode()).hexdigest()
        return failure_status(f"Internal error occurred: error executing command in container: failed to exec in "
                              f'container: failed to start exec "{exec_id}": {err}')

    # -------------------------------------------------------------------- exec
    async def exec(self) -> None:
        argv = list(self.argv)
        code, out, err = await self.run_command(argv)
        if code == 126 and err.startswith("OCI runtime exec failed"):
            await self.finish(self.start_failure(argv, err))
            return
        await self.out(STDOUT, out)
        await self.out(STDERR, err)
        if code < 0:   # still running at the simulated exec timeout
            await self.finish(failure_status(err.splitlines()[-1] if err else "command timed out"))
            return
        await self.finish(exit_status(code, self.argv))

    # ------------------------------------------------------- interactive shell
    async def exec_shell(self) -> None:
        """`kubectl exec -it POD -- sh` (or -i with a script on stdin): a shell of its own in the container."""
        session = replay.ShellSession(self.argv, tty=self.tty, startup_env=self.info.shell_env)
        code = await self.while_running(self.converse(session))
        await self.finish(exit_status(KILLED if code is None else code, self.argv))

    async def while_running(self, conversation) -> int | None:
        """The conversation's answer, or None when the container stopped first (deleted, exited,
        restarted): a process in it is killed with it."""
        talk = asyncio.ensure_future(conversation)
        watch = asyncio.ensure_future(self.container_stops())
        try:
            await asyncio.wait({talk, watch}, return_when=asyncio.FIRST_COMPLETED)
            if talk.done():
                return talk.result()
            return None
        finally:
            for task in (talk, watch):
                if not task.done():
                    task.cancel()

    async def container_stops(self) -> None:
        """Returns once the container this stream is in no longer runs the same program."""
        from clusters import selectors

        async with notify.wakeups(self.cluster.pk) as wait_for_change:
            while True:
                await wait_for_change(CONTAINER_RECHECK)
                cluster = await database_sync_to_async(selectors.cluster_by_id)(self.cluster.pk)
                if cluster is None:
                    return
                try:
                    info = await database_sync_to_async(replay.container_stream_info)(
                        cluster=cluster, namespace=self.namespace, pod=self.pod, container=self.info.container)
                except (ApiError, replay.ContainerNotFound):
                    return
                if info.start != self.info.start:
                    return
                await asyncio.sleep(1.0)   # a busy cluster changes often: look at most once a second

    def prompt(self, session: replay.ShellSession) -> str:
        return session.prompt(self.info.hostname, self.info.busybox)

    async def converse(self, session: replay.ShellSession) -> int:
        """Hand what arrives on stdin to the shell, a complete command at a time, until the shell exits
        (`exit`, `set -e`, end of input); its exit status. On a terminal the shell edits the line and
        prompts; without one it reads lines as they come, silently."""
        editor = replay.LineEditor() if self.tty else None
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        unfinished = ""   # a command still open (a quote, `if`, a loop): the shell asks for more with "> "
        partial = ""      # without a terminal: a line not ended yet
        if self.tty:
            await self.out(STDOUT, self.prompt(session))

        async def line_done(line: str) -> int | None:
            nonlocal unfinished
            unfinished = f"{unfinished}\n{line}" if unfinished else line
            if len(unfinished) > STDIN_LIMIT:
                unfinished = ""
                await self.out(STDERR, f"{session.shell}: input line too long\n")
            elif not session.complete(unfinished):
                if self.tty:
                    await self.out(STDOUT, replay.CONTINUATION_PROMPT)
                return None
            command, unfinished = unfinished, ""
            if command.strip():
                await self.play(session, command)
            if session.exited is not None:
                return session.exited
            if self.tty:
                await self.out(STDOUT, self.prompt(session))
            return None

        while True:
            data = await self.stdin_queue.get()
            if data is None:   # end of input: what is left runs, then the shell exits with the last status
                rest = (partial + decoder.decode(b"", final=True)).strip("\r")
                if rest or unfinished:
                    if rest and await line_done(rest) is not None:
                        return session.exited
                    if unfinished:
                        await self.out(STDERR, f"{session.shell}: syntax error: unexpected end of file\n")
                return self.shell_exits(session, session.state.status)
            text = decoder.decode(data)
            if editor is None:
                partial += text
                while "\n" in partial:
                    line, partial = partial.split("\n", 1)
                    if await line_done(line.rstrip("\r")) is not None:
                        return session.exited
                if len(partial) > STDIN_LIMIT:
                    partial = ""
                continue
            for kind, value in editor.feed(text):
                if kind == "echo":
                    await self.out(STDOUT, value)
                elif kind == "line":
                    if await line_done(value) is not None:
                        await self.say_exit(session)
                        return session.exited
                elif kind == "interrupt":
                    unfinished = ""
                    await self.out(STDOUT, self.prompt(session))
                elif kind == "clear":
                    await self.out(STDOUT, CLEAR_SCREEN + self.prompt(session) + editor.redraw())
                elif kind == "eof":
                    if unfinished:
                        unfinished = ""
                        await self.out(STDOUT, f"\r\n{session.shell}: syntax error: unexpected end of file\r\n"
                                       + self.prompt(session))
                        continue
                    await self.out(STDOUT, "\r\n")
                    code = self.shell_exits(session, session.state.status)
                    await self.say_exit(session)
                    return code

    @staticmethod
    def shell_exits(session: replay.ShellSession, code: int) -> int:
        session.exited = code
        return code

    async def say_exit(self, session: replay.ShellSession) -> None:
        if session.shell == "bash":   # an interactive bash says so as it leaves
            await self.out(STDOUT, "exit\n")

    async def play(self, session: replay.ShellSession, command: str) -> None:
        """Run one command typed into the shell; Ctrl-C on the terminal (receive) interrupts it."""
        progress: dict = {}
        self.running = asyncio.ensure_future(self.play_command(session, command, progress))
        try:
            await asyncio.wait({self.running})
        finally:
            task, self.running = self.running, None
            if not task.done():
                task.cancel()
        if task.cancelled():
            line = progress.get("line")
            if line is not None:
                upto = progress.get("reached", line.chunks[0][0] if line.chunks else 0.0)
                session.commit(line, upto=upto)
                await self.keep_files(session, [event for event in line.fs_events if event[0] <= upto])
            else:
                session.state.status = 130
            await self.out(STDOUT, "^C\n")
            return
        line = task.result()
        await self.keep_files(session, line.fs_events)

    async def keep_files(self, session: replay.ShellSession, events: list) -> None:
        """What the command wrote stays in the container, as a one-shot exec's does (replay.container_keep_writes):
        `kubectl exec POD -- cat` sees it, and so does the session's next command."""
        if not events:
            return
        try:
            kept = await database_sync_to_async(replay.container_keep_writes)(
                cluster=self.cluster, namespace=self.namespace, pod=self.pod, container=self.info.container,
                events=events)
        except ApiError:
            kept = False
        if kept:
            session.files_kept()    # else they stay on top of the container's files for this session only

    async def play_command(self, session: replay.ShellSession, command: str, progress: dict) -> replay.LineRun:
        """Replay the command from the simulated time it was typed, its output paced by the simulated clock;
        a command still running at the horizon is replayed further (a loop that keeps printing)."""
        from clusters import selectors

        cluster = await database_sync_to_async(selectors.cluster_by_id)(self.cluster.pk) or self.cluster
        start = cluster.sim_now()
        progress["reached"] = start
        horizon = FIRST_HORIZON
        position = None
        while True:
            line = await database_sync_to_async(replay.container_shell_line)(
                cluster=cluster, namespace=self.namespace, pod=self.pod, container=self.info.container,
                session=session, text=command, now=start, until=start + horizon)
            progress["line"] = line
            keys = _chunk_keys(line.chunks)
            for key, (when, stream, text) in zip(keys, line.chunks):
                if position is not None and key <= position:
                    continue
                await _until(cluster, when)
                progress["reached"] = when
                await self.out(STDOUT if stream == "stdout" else STDERR, text)
                position = key
            if line.finished:
                await _until(cluster, line.end)
                session.commit(line)
                return line
            if horizon >= MAX_COMMAND_SECONDS:
                await _until(cluster, start + horizon)
                session.commit(line, upto=start + horizon)
                await self.out(STDERR, f"{session.shell}: stopped after {MAX_COMMAND_SECONDS / 3600:g} h of "
                                       "simulated time (the playground's limit for one command)\n")
                line.fs_events = [event for event in line.fs_events if event[0] <= start + horizon]
                return line
            await _until(cluster, start + horizon)
            horizon = min(horizon * 4, MAX_COMMAND_SECONDS)

    # ------------------------------------------------------------------ attach
    async def attach(self) -> None:
        """Attach to the container's program: its shell when it reads commands from stdin, else its output
        from now on, until it exits (`kubectl run -i` shows the earlier output itself, with a log request
        before it attaches)."""
        if self.info.interactive and self.stdin:
            await self.attach_shell()
            return
        from clusters import selectors

        cluster = await database_sync_to_async(selectors.cluster_by_id)(self.cluster.pk) or self.cluster
        options = replay.LogOptions(container=self.info.container)
        first = await database_sync_to_async(replay.container_logs)(
            cluster=cluster, namespace=self.namespace, pod=self.pod, options=options)
        output = asyncio.ensure_future(self.follow_output(first))
        keys = asyncio.ensure_future(self.keys_to_program()) if self.stdin else None
        try:
            await asyncio.wait({output} if keys is None else {output, keys}, return_when=asyncio.FIRST_COMPLETED)
            if keys is not None and keys.done() and keys.result():
                output.cancel()   # interrupted: the program has ended now, so has its output
            else:
                await output
        finally:
            for task in (output, keys):
                if task is not None and not task.done():
                    task.cancel()
        await self.finish(SUCCESS)

    async def follow_output(self, first) -> None:
        async for stream, text in logstream.follow_text(self.cluster.pk, self.namespace, self.pod, first):
            await self.out(STDOUT if stream == "stdout" else STDERR, text)

    async def keys_to_program(self) -> bool:
        """A terminal attached to a program that does not read it: keys are echoed; Ctrl-C interrupts the
        program (replay.interrupted_exit_code says how it ends) and answers True."""
        while (data := await self.stdin_queue.get()) is not None:
            if not self.tty:
                continue   # nothing reads it
            text = data.decode("utf-8", "replace")
            if "\x03" in text:
                await self.out(STDOUT, "^C\n")
                await self.end_attached(None, replay.interrupted_exit_code(self.info.argv))
                return True
            await self.out(STDOUT, re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", "", text.replace("\r", "\n")))
        return False

    async def attach_shell(self) -> None:
        """The container's own shell (`kubectl run -it … -- sh`, `kubectl attach -it`): when it exits, the
        container's program has ended."""
        key = (str(self.cluster.pk), self.namespace, self.pod, self.info.container, self.info.start)
        session = _attached_shells.pop(key, None) or replay.ShellSession(self.info.argv, tty=self.tty,
                                                                          startup_env=self.info.shell_env)
        _attached_shells[key] = session
        while len(_attached_shells) > ATTACHED_SHELLS:
            _attached_shells.popitem(last=False)
        self.attached_shell = session
        code = await self.while_running(self.converse(session))
        _attached_shells.pop(key, None)
        if code is None:        # the container stopped under the shell
            session.exited = KILLED
        else:
            await self.end_attached(session, code)
        await self.finish(SUCCESS)

    async def end_attached(self, session: replay.ShellSession | None, code: int) -> None:
        if session is not None:
            session.exited = code
        try:
            await database_sync_to_async(replay.container_end_attached)(
                cluster=self.cluster, namespace=self.namespace, pod=self.pod, container=self.info.container,
                code=code)
        except ApiError:
            pass   # the pod is gone already


def _chunk_keys(chunks: list[tuple[float, str, str]]) -> list[tuple[float, int]]:
    """A position for each piece of output that survives a longer replay: (time, n-th at that time)."""
    keys, previous, count = [], None, 0
    for when, _stream, _text in chunks:
        count = count + 1 if when == previous else 0
        previous = when
        keys.append((when, count))
    return keys


async def _until(cluster, when: float) -> None:
    """Wait for the cluster's simulated clock to reach `when` (at once while it is paused)."""
    wall = cluster.wall_time(when)
    if wall is not None and wall > time.time():
        await asyncio.sleep(wall - time.time())
