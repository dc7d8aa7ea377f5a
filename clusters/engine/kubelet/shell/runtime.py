"""What the interpreter shares with the commands it runs: unwinding, standard streams, journal kinds.

Control flow that crosses Python frames (exit, return, break, continue, and stopping the whole replay)
travels as exceptions, raised by builtins and commands and caught by the interpreter. A command sees its
stdin, stdout and stderr as an _IO: an _Input it reads from, and sinks it writes to (the sinks that journal
into the container's log or a file belong to the interpreter, which owns the journal). The journal kinds name
the effects the interpreter records (log output, file changes, network queries) so that building the Run
and detecting steady loops agree on them.
"""
from __future__ import annotations

from dataclasses import dataclass


class _Stop(Exception):
    """Unwinds the whole replay: we are past `until` (or out of budget, or blocked forever)."""


class _Exit(Exception):
    def __init__(self, code: int):
        self.code = code


class _Break(Exception):
    def __init__(self, n: int):
        self.n = n


class _Continue(Exception):
    def __init__(self, n: int):
        self.n = n


class _Return(Exception):
    def __init__(self, code: int):
        self.code = code


class _Input:
    """A command's stdin: text consumed by `read` across a loop's iterations."""
    __slots__ = ("data", "pos")

    def __init__(self, data: str):
        self.data = data
        self.pos = 0

    def read_all(self) -> str:
        text = self.data[self.pos:]
        self.pos = len(self.data)
        return text

    def read_line(self) -> str | None:
        if self.pos >= len(self.data):
            return None
        end = self.data.find("\n", self.pos)
        if end < 0:
            line, self.pos = self.data[self.pos:], len(self.data)
        else:
            line, self.pos = self.data[self.pos:end], end + 1
        return line


class _Sink:
    def write(self, text: str) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass


class _Null(_Sink):
    def write(self, text: str) -> None:
        pass


class _Buffer(_Sink):
    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> None:
        self.parts.append(text)

    def text(self) -> str:
        return "".join(self.parts)


@dataclass
class _IO:
    stdin: _Input | None
    out: _Sink
    err: _Sink


_LOG_KINDS = ("out", "err", "outp", "errp")
_FS_KINDS = ("write", "remove", "mkdir")
_QUERY_KINDS = ("req", "dns")
