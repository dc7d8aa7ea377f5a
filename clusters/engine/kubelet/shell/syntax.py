"""The shell's syntax tree: what the lexer and the parser build and the interpreter walks.

A word is a list of parts (literal text, parameter, command substitution, arithmetic), each remembering
whether it came from quotes, because quoting decides field splitting and pattern matching only at
expansion time. Commands are the nodes of POSIX sh's grammar that the simulation runs: simple commands,
pipelines, and-or lists, sequences, if/while/until/for/case, groups and subshells, function definitions.
Compound commands carry their own redirections (`done > file`). Data only (Word.literal is the one
helper): the lexer, the parser and the interpreter depend on this module, and it depends on none of them.
"""
from __future__ import annotations

from dataclasses import dataclass, field


class ParseError(Exception):
    def __init__(self, message: str, unsupported: str | None = None):
        super().__init__(message)
        self.unsupported = unsupported


# Word parts. A word is a list of parts; `quoted` says whether the part came from quotes (no splitting).
@dataclass
class Lit:
    text: str
    quoted: bool


@dataclass
class Param:
    name: str
    quoted: bool
    op: str = ""                 # "", ":-", "-", ":=", "=", ":+", "+", ":?", "?", "#", "##", "%", "%%", "len"
    arg: Word | None = None


@dataclass
class CmdSub:
    body: Node
    quoted: bool


@dataclass
class Arith:
    expr: Word
    quoted: bool


@dataclass
class Word:
    parts: list

    def literal(self) -> str | None:
        """The plain text if the word is one unquoted literal (reserved words, names)."""
        if len(self.parts) == 1 and isinstance(self.parts[0], Lit) and not self.parts[0].quoted:
            return self.parts[0].text
        return None


@dataclass
class Redir:
    fd: int
    op: str                     # > >> < >& <& >|
    target: Word


class Node:
    pass


@dataclass
class Simple(Node):
    assigns: list[tuple[str, Word]]
    words: list[Word]
    redirs: list[Redir]


@dataclass
class Pipeline(Node):
    cmds: list[Node]
    negate: bool


@dataclass
class AndOr(Node):
    first: Node
    rest: list[tuple[str, Node]]


@dataclass
class Seq(Node):
    items: list[tuple[Node, bool]]       # (and-or list, run in background)


@dataclass
class If(Node):
    clauses: list[tuple[Node, Node]]
    else_body: Node | None
    redirs: list[Redir] = field(default_factory=list)


@dataclass
class Loop(Node):
    cond: Node
    body: Node
    until: bool
    redirs: list[Redir] = field(default_factory=list)


@dataclass
class For(Node):
    var: str
    words: list[Word] | None
    body: Node
    redirs: list[Redir] = field(default_factory=list)


@dataclass
class Case(Node):
    word: Word
    items: list[tuple[list[Word], Node]]
    redirs: list[Redir] = field(default_factory=list)


@dataclass
class Group(Node):
    body: Node
    subshell: bool
    redirs: list[Redir] = field(default_factory=list)


@dataclass
class FuncDef(Node):
    name: str
    body: Node
