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
simulated shell against the container's files at the cluster's simulated now;
`exec -it … sh` is a line-oriented shell (each line is run the same way);
attach streams the container's output as simulated time passes.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import uuid
from urllib.parse import parse_qs

from asgiref.sync import sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from clusters.apiserver.errors import ApiError
from clusters.sim import replay

from . import logstream
from .views import authenticate_token

log = logging.getLogger(__name__)

V5, V4 = "v5.channel.k8s.io", "v4.channel.k8s.io"
STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255
SUCCESS = {"metadata": {}, "status": "Success"}
SHELLS = {"sh", "ash", "bash", "dash", "zsh"}
STDIN_LIMIT = 1 << 20


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


class RemoteCommandConsumer(AsyncWebsocketConsumer):
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
        if self.protocol is None or (self.action == "exec" and not self.argv):
            await self.close()   # refused handshake: kubectl falls back to SPDY and gets the HTTP answer
            return
        scheme, _, token = _header(self.scope, b"authorization").partition(" ")
        try:
            cluster_id = uuid.UUID(route["cluster_id"])
            self.cluster = await sync_to_async(authenticate_token)(
                token.strip() if scheme.lower() == "bearer" else "", cluster_id)
            self.info = await sync_to_async(replay.container_stream_info)(
                cluster=self.cluster, namespace=self.namespace, pod=self.pod,
                container=(query.get("container") or [""])[-1] or None)
        except (ApiError, replay.ContainerNotFound, ValueError):
            await self.close()
            return
        await self.accept(subprotocol=self.protocol)
        runner = self.attach if self.action == "attach" else (self.shell if self.tty and self.stdin else self.exec)
        self.task = asyncio.ensure_future(self._run(runner))

    async def disconnect(self, code: int) -> None:
        self.finished = True
        if self.task is not None and not self.task.done():
            self.task.cancel()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        data = bytes_data if bytes_data is not None else (text_data or "").encode()
        if not data:
            return
        channel, payload = data[0], data[1:]
        if channel == STDIN:
            await self.stdin_queue.put(payload)
        elif channel == CLOSE and self.protocol == V5 and payload[:1] == bytes([STDIN]):
            await self.stdin_queue.put(None)   # the client closed stdin
        # RESIZE: the simulated terminal has no size to honour.

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

        cluster = await sync_to_async(selectors.cluster_by_id)(self.cluster.pk) or self.cluster
        return await sync_to_async(replay.container_exec)(
            cluster=cluster, namespace=self.namespace, pod=self.pod, container=self.info.container, argv=argv)

    def start_failure(self, argv: list[str], err: str) -> dict:
        """containerd's refusal to start the exec'd process, as the API server relays it."""
        exec_id = hashlib.sha256(f"{self.pod}/{' '.join(argv)}".encode()).hexdigest()
        return failure_status(f"Internal error occurred: error executing command in container: failed to exec in "
                              f'container: failed to start exec "{exec_id}": {err}')

    # -------------------------------------------------------------------- exec
    async def exec(self) -> None:
        argv = list(self.argv)
        if self.stdin and len(argv) == 1 and argv[0].rsplit("/", 1)[-1] in SHELLS and self.protocol == V5:
            # `kubectl exec -i pod -- sh < script`: the script arrives on stdin, closed with [255, 0].
            script = await self.read_stdin()
            argv = [argv[0], "-c", script]
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

    async def read_stdin(self) -> str:
        chunks, size = [], 0
        while True:
            data = await self.stdin_queue.get()
            if data is None:
                break
            chunks.append(data)
            size += len(data)
            if size > STDIN_LIMIT:
                break
        return b"".join(chunks).decode("utf-8", "replace")

    # ------------------------------------------------------------- -it shell
    def prompt(self, cwd: str) -> str:
        shell = self.argv[0].rsplit("/", 1)[-1] if self.argv else "sh"
        if shell == "bash":
            return f"root@{self.info.hostname}:{cwd}# "
        if self.info.busybox:
            return f"{cwd} # "
        return "# "

    async def shell(self) -> None:
        """`kubectl exec -it pod -- sh`: a line-oriented terminal over the simulated shell."""
        shell = self.argv[0]
        if shell.rsplit("/", 1)[-1] not in SHELLS or len(self.argv) > 1:
            await self.exec()   # `exec -it pod -- ls`: just the command, on a terminal
            return
        cwd = "/"
        await self.out(STDOUT, self.prompt(cwd))
        line, escape = "", False
        while True:
            data = await self.stdin_queue.get()
            if data is None:
                await self.finish(SUCCESS)
                return
            for char in data.decode("utf-8", "replace"):
                if escape:   # arrow keys and the like: ESC [ … letter, ignored
                    escape = not (char.isalpha() or char == "~")
                    continue
                if char == "\x1b":
                    escape = True
                elif char in "\r\n":
                    await self.out(STDOUT, "\r\n")
                    command = line.strip()
                    line = ""
                    done, cwd = await self.shell_line(shell, command, cwd)
                    if done is not None:
                        await self.finish(exit_status(done, self.argv))
                        return
                    await self.out(STDOUT, self.prompt(cwd))
                elif char in "\x7f\x08":
                    if line:
                        line = line[:-1]
                        await self.out(STDOUT, "\b \b")
                elif char == "\x03":
                    line = ""
                    await self.out(STDOUT, "^C\r\n" + self.prompt(cwd))
                elif char == "\x04":
                    if not line:
                        await self.out(STDOUT, "\r\n")
                        await self.finish(SUCCESS)
                        return
                elif char == "\x15":
                    await self.out(STDOUT, "\b \b" * len(line))
                    line = ""
                elif char >= " " or char == "\t":
                    line += char
                    await self.out(STDOUT, char)

    async def shell_line(self, shell: str, command: str, cwd: str) -> tuple[int | None, str]:
        """Run one typed line; (exit code if the shell exits, the new working directory)."""
        if not command:
            return None, cwd
        words = command.split()
        if words[0] == "exit" and len(words) <= 2:
            try:
                return (int(words[1]) & 0xFF if len(words) == 2 else 0), cwd
            except ValueError:
                return 2, cwd
        if words[0] == "cd" and len(words) <= 2:
            target = words[1] if len(words) == 2 else "/root"
            code, out, err = await self.run_command([shell, "-c", f"cd {cwd} && cd {target} && pwd"])
            if code == 0 and out.strip():
                return None, out.strip()
            await self.out(STDOUT, err or f"sh: cd: can't cd to {target}: No such file or directory\n")
            return None, cwd
        script = command if cwd == "/" else f"cd {cwd}; {command}"
        code, out, err = await self.run_command([shell, "-c", script])
        if code == 126 and err.startswith("OCI runtime exec failed"):
            err = f"sh: {words[0]}: not found\n"
        await self.out(STDOUT, out)
        await self.out(STDERR, err)
        return None, cwd

    # ------------------------------------------------------------------ attach
    async def attach(self) -> None:
        """The container's output from now on, until it exits (`kubectl run -i` shows the earlier
        output itself, with a log request before it attaches)."""
        from clusters import selectors

        cluster = await sync_to_async(selectors.cluster_by_id)(self.cluster.pk) or self.cluster
        options = replay.LogOptions(container=self.info.container)
        first = await sync_to_async(replay.container_logs)(
            cluster=cluster, namespace=self.namespace, pod=self.pod, options=options)
        async for line in logstream.follow(self.cluster.pk, self.namespace, self.pod, first,
                                           logstream.position_of(first)):
            await self.out(STDOUT if line.stream == "stdout" else STDERR, line.text + "\n")
        await self.finish(SUCCESS)
