"""One browser terminal: one command at a time, a sandbox made on the first command.

The consumer hands each "run" and "interrupt" message to a `TerminalSession`, which checks the line
against the policy, prepares the sandbox and streams the real kubectl's output back as messages
(protocol: clusters/web/PAGE.md, "Terminal"). An interactive command (`kubectl exec -it …`) is announced
with a "terminal" message; until it exits, "input" messages carry the keys to it and "resize" the
widget's size.
"""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from channels.db import database_sync_to_async
from django.conf import settings

from clusters import actions, selectors
from clusters.terminal.policy import Refusal, parse_command
from clusters.terminal.sandbox import (
    Busy,
    KubectlRun,
    Limits,
    Sandbox,
    limits,
    process_slot,
)

if TYPE_CHECKING:
    from clusters.models import Cluster

Send = Callable[[dict], Awaitable[None]]
MAX_LINE = 4096
MAX_INPUT = 64 * 1024                  # characters in one "input" message (a paste)
DEFAULT_SIZE = (80, 24)


def terminal_size(cols, rows) -> tuple[int, int] | None:
    """A size the widget sent, when it is a sensible one."""
    if type(cols) is not int or type(rows) is not int or not (2 <= cols <= 1000 and 2 <= rows <= 500):
        return None
    return cols, rows


@dataclass
class TerminalSession:
    """One browser terminal: one command at a time, a sandbox made on the first command."""

    cluster: Cluster
    user_id: int
    send: Send
    sandbox: Sandbox | None = None
    current: KubectlRun | None = None
    task: asyncio.Task | None = None
    interrupt_pending: bool = False   # Ctrl-C before the command's process exists
    limits: Limits = field(default_factory=limits)
    size: tuple[int, int] = DEFAULT_SIZE   # the widget's terminal size (cols, rows), for commands on a terminal
    running_id: object = None

    def start(self, message: dict) -> None:
        """Handle a "run" message; the command runs in a task so interrupts are heard meanwhile."""
        run_id, line, stdin = message.get("id"), message.get("line"), message.get("stdin")
        self.size = terminal_size(message.get("cols"), message.get("rows")) or self.size
        if self.task is not None and not self.task.done():
            asyncio.ensure_future(self._refuse(run_id, "a command is already running: wait for it or press "
                                                       "Ctrl-C to stop it"))
            return
        self.interrupt_pending = False
        self.task = asyncio.ensure_future(self._run(run_id, line, stdin))

    async def _refuse(self, run_id, message: str, line: str | None = None) -> None:
        await self.send({"type": "output", "id": run_id, "data": message + "\n"})
        if line:
            await self._record(line, None, message)
        await self.send({"type": "exit", "id": run_id, "code": 1, "reason": "refused"})

    async def _record(self, line: str, code: int | None, output: str) -> None:
        """Into the cluster's terminal history (lessons' command checks, the instructor's view)."""
        await database_sync_to_async(actions.terminal_record)(cluster=self.cluster, line=line, exit_code=code,
                                                     output=output)

    async def _run(self, run_id, line, stdin) -> None:
        if not isinstance(line, str) or len(line) > MAX_LINE:
            await self._refuse(run_id, "the command line is missing or too long")
            return
        if stdin is not None and (not isinstance(stdin, str) or
                                  len(stdin) > settings.PLAYGROUND["MAX_REQUEST_BYTES"]):
            await self._refuse(run_id, "the text for stdin is not a string or is too long")
            return
        if not line.strip():
            await self.send({"type": "exit", "id": run_id, "code": 0, "reason": None})
            return
        files = await database_sync_to_async(selectors.editor_files)(cluster=self.cluster)
        decision = parse_command(line, files=files, stdin_given=stdin is not None)
        if isinstance(decision, Refusal):
            await self._refuse(run_id, decision.message, line)
            return
        # Made before the sandbox so that a Ctrl-C pressed meanwhile is not lost.
        self.current = run = KubectlRun(decision, None, self.limits, stdin, self.size)
        self.running_id = run_id
        if self.interrupt_pending:
            run.interrupt()
        try:
            with process_slot(self.user_id, self.limits.processes_per_user):
                if self.sandbox is None:
                    self.sandbox = await Sandbox.open(self.cluster)
                await asyncio.to_thread(self.sandbox.write_files, files)
                run.sandbox = self.sandbox
                if decision.tty:   # the widget passes keys from now on, and writes the output as it comes
                    await self.send({"type": "terminal", "id": run_id})
                captured: list[str] = []

                def output(text: str) -> Awaitable[None]:
                    if sum(map(len, captured)) < actions.TERMINAL_OUTPUT:
                        captured.append(text)
                    return self.send({"type": "output", "id": run_id, "data": text})

                outcome = await run.run(output)
        except Busy as busy:
            await self._refuse(run_id, str(busy))
            return
        finally:
            self.current = None
            self.running_id = None
        # Recorded before the exit is sent: the next line the widget sends once it has the exit must find this
        # command over (not "already running"), and a lesson checking the history after it must find it there.
        await self._record(line, outcome.code, "".join(captured))
        await self.send({"type": "exit", "id": run_id, "code": outcome.code, "reason": outcome.reason})

    def input(self, message: dict) -> None:
        """Keys for the running command, when it runs on a terminal and the message names it."""
        data = message.get("data")
        if self.current is None or message.get("id") != self.running_id or not isinstance(data, str) \
                or len(data) > MAX_INPUT:
            return
        self.current.send_input(data)

    def resize(self, message: dict) -> None:
        size = terminal_size(message.get("cols"), message.get("rows"))
        if size is None:
            return
        self.size = size
        if self.current is not None:
            self.current.resize(*size)

    def interrupt(self) -> None:
        if self.current is not None:
            self.current.interrupt()
        elif self.task is not None and not self.task.done():
            self.interrupt_pending = True   # still reading the editor's files: the run will see it

    async def close(self) -> None:
        """The terminal went away: kill what runs, revoke the token, remove the directory."""
        if self.current is not None:
            self.current.kill()
        if self.task is not None and not self.task.done():
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task
        if self.sandbox is not None:
            await self.sandbox.close()
            self.sandbox = None
