"""The simulated container's shell: runs the small scripts tutorials put in `command`/`args`.

Pure standard-library Python. The simulation is persisted as JSON between
steps, so nothing here keeps live state: `run_program` is a pure function of
(argv, world, start, until) that REPLAYS the script from its start on a virtual
clock every time it is asked and stops at `until`. Two consequences shape the
code:

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
  jumped span so a Service that gains endpoints changes the loop's output.

Wording follows busybox (the image most tutorials use): `cat: can't open
'/tmp/healthy': No such file or directory` appears verbatim in the exec-liveness
tutorial's `kubectl describe`, `wget: bad address 'x'`, `sh: foo: not found`.
"""
from __future__ import annotations

import fnmatch
import posixpath
import re
import time as _time
from dataclasses import dataclass, field
from typing import Callable, Iterator

# ====================================================================== public API

LOG_KEEP = 5000          # log lines a Run keeps (the latest); older ones are counted in logs_dropped
REQUEST_KEEP = 1000      # requests a Run keeps (the latest); the rest are counted, the rate is in request_rate
MAX_STEPS = 20_000       # statements per call before giving up on a script that never settles (~0.15 s)
LOOKAHEAD_STEPS = 2_000  # statements spent past `until` looking for next_event / next_change
REPLAY_KEEP = 1000       # log lines re-created by really running when a steady loop's lines vary (counters, date)
NET_LATENCY = 0.001      # seconds a wget/curl/nslookup takes: a busy request loop cannot run at infinite speed
BUSY_ITERATION = 0.001   # seconds charged to a while/until iteration that took no simulated time (see _run_loop)
EXEC_TIMEOUT_EXIT = -1   # exec_command's exit code on timeout: a real timed-out exec probe has no exit code
SHELLS = frozenset({"sh", "ash", "bash", "dash", "zsh", "busybox"})

US = 1_000_000
_INFINITY = 1 << 62      # µs: "never" (sleep infinity)


@dataclass
class ShellWorld:
    """What the script can reach; the kubelet fills it."""
    env: dict[str, str]
    files: dict[str, str]          # path -> content; a key ending in "/" is an (empty) directory
    hostname: str
    # url, time -> (status, body), or None for connection refused; None callable = no network model (refused)
    http: Callable[[str, float], tuple[int, str] | None] | None = None
    # DNS name, time -> IP or None (NXDOMAIN). Time-aware, unlike the first sketch, because a replay asks
    # about the past: the init-containers tutorial's `until nslookup myservice` must fail before the
    # Service existed even when replayed after it was created. None = no DNS model: names resolve to themselves.
    resolve: Callable[[str, float], str | None] | None = None
    binaries: frozenset[str] | None = None     # commands the image has; None = busybox
    reverse: Callable[[str], str | None] | None = None   # IP -> DNS name, for nslookup's "Address 1: ip name"


@dataclass
class Run:
    """The program's story from its start up to `until` (all times absolute, in seconds)."""
    exited: bool
    exit_code: int | None
    exit_time: float | None
    logs: list[tuple[float, str, str]]                      # (time, "stdout"|"stderr", line), the latest LOG_KEEP
    fs_events: list[tuple[float, str, str, str | None]]    # (time, "write"|"remove"|"mkdir", path, content)
    requests: list[tuple[float, str]]                       # (time, url) of each wget/curl, the latest REQUEST_KEEP
    next_event: float | None     # next observable thing after `until` (exit, file change, log line); None = never
    unsupported: list[str]       # commands/constructs it could not run, each once: the kubelet reports them
    # --- additions to the first sketch -------------------------------------------------------------
    next_change: float | None = None    # next exit or file change after `until` (log lines excluded): what
    #                                     probes and the pod status depend on, so the kubelet can sleep through
    #                                     a chatty loop instead of waking for each line
    logs_dropped: int = 0               # log lines before the kept ones
    requests_dropped: int = 0
    request_rate: tuple[str, float] | None = None   # (url, requests/second) of a steady loop running at `until`
    request_rates: dict[str, float] = field(default_factory=dict)   # every url of that loop
    # Steady loops that write files were jumped over: (from, to, period, events relative to an iteration's
    # start). files_at uses them; the file state inside such a span repeats with the period.
    fs_cycles: list[tuple[float, float, float, list[tuple[float, str, str, str | None]]]] = field(default_factory=list)
    start_error: str | None = None      # argv could not be started at all (binary missing): the runtime's message


def run_program(argv: list[str], world: ShellWorld, *, start: float, until: float,
                max_steps: int = MAX_STEPS) -> Run:
    """Replay the container's program from `start` up to `until` (see the module docstring)."""
    sh = _Shell(world, start=start, until=until, max_steps=max_steps)
    return sh.main(argv)


def files_at(run: Run, initial: dict[str, str], when: float) -> dict[str, str]:
    """The container's filesystem as of `when` (directories made by mkdir are keys ending in "/")."""
    files = dict(initial)
    for t, kind, path, content in run.fs_events:
        if t > when:
            break
        _apply_fs(files, kind, path, content)
    for t0, t1, period, pattern in run.fs_cycles:
        # Inside a jumped steady span the state repeats with the period: replay the pattern up to the phase
        # (file operations set absolute values, so applying them again over the true state is harmless).
        if t0 <= when < t1 and period > 0:
            phase = (when - t0) % period
            for rel, kind, path, content in pattern:
                if rel <= phase + 1e-9:
                    _apply_fs(files, kind, path, content)
    return files


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


def _apply_fs(files: dict[str, str], kind: str, path: str, content: str | None) -> None:
    if kind == "write":
        files[path] = content or ""
    elif kind == "mkdir":
        files[path.rstrip("/") + "/"] = ""
    elif kind == "remove":
        files.pop(path, None)
        prefix = path.rstrip("/") + "/"
        for key in [k for k in files if k.startswith(prefix)]:
            del files[key]


# ====================================================================== parser

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


_META = set(" \t\n;&|()<>")
_RESERVED = {"if", "then", "elif", "else", "fi", "while", "until", "do", "done", "for", "in", "case", "esac",
             "{", "}", "!"}
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ASSIGN_RE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=")
_OPS = ["&&", "||", ";;", ">>", ">&", "<&", ">|", "<<", ";", "&", "|", "(", ")", "<", ">", "\n"]


class _Parser:
    """Recursive descent over the source with an on-demand lexer (so `$(…)` can recurse into it)."""

    def __init__(self, src: str, pos: int = 0):
        self.src = src
        self.pos = pos
        self._peeked: tuple | None = None

    # ---- lexer
    def peek(self) -> tuple:
        if self._peeked is None:
            self._peeked = self._lex()
        return self._peeked

    def take(self) -> tuple:
        tok = self.peek()
        self._peeked = None
        return tok

    def _lex(self) -> tuple:
        src, n = self.src, len(self.src)
        while True:
            while self.pos < n and src[self.pos] in " \t":
                self.pos += 1
            if src.startswith("\\\n", self.pos):
                self.pos += 2
                continue
            if self.pos < n and src[self.pos] == "#":
                while self.pos < n and src[self.pos] != "\n":
                    self.pos += 1
            break
        if self.pos >= n:
            return ("EOF", None)
        # An IO number: digits directly before < or >.
        m = re.match(r"\d+(?=[<>])", src[self.pos:self.pos + 12])
        if m:
            self.pos += m.end()
            return ("IONUM", int(m.group()))
        for op in _OPS:
            if src.startswith(op, self.pos):
                self.pos += len(op)
                if op == "<<":
                    raise ParseError("here-documents are not simulated", "here-document (<<)")
                return ("OP", op)
        return ("WORD", self._word(stop=_META))

    def _word(self, stop: set[str]) -> Word:
        src, n = self.src, len(self.src)
        parts: list = []

        def lit(text: str, quoted: bool) -> None:
            if parts and isinstance(parts[-1], Lit) and parts[-1].quoted == quoted:
                parts[-1] = Lit(parts[-1].text + text, quoted)
            else:
                parts.append(Lit(text, quoted))

        while self.pos < n and src[self.pos] not in stop:
            c = src[self.pos]
            if c == "\\":
                if self.pos + 1 < n:
                    if src[self.pos + 1] != "\n":
                        lit(src[self.pos + 1], True)
                    self.pos += 2
                else:
                    lit("\\", False)
                    self.pos += 1
            elif c == "'":
                end = src.find("'", self.pos + 1)
                if end < 0:
                    raise ParseError("syntax error: unterminated quoted string")
                lit(src[self.pos + 1:end], True)
                self.pos = end + 1
            elif c == '"':
                self.pos += 1
                lit("", True)          # "" is an (empty) argument of its own
                while True:
                    if self.pos >= n:
                        raise ParseError("syntax error: unterminated quoted string")
                    c = src[self.pos]
                    if c == '"':
                        self.pos += 1
                        break
                    if c == "\\" and self.pos + 1 < n and src[self.pos + 1] in '$`"\\\n':
                        if src[self.pos + 1] != "\n":
                            lit(src[self.pos + 1], True)
                        self.pos += 2
                    elif c == "$":
                        parts.append(self._dollar(True) or Lit("$", True))
                    elif c == "`":
                        parts.append(self._backtick(True))
                    else:
                        lit(c, True)
                        self.pos += 1
            elif c == "$":
                part = self._dollar(False)
                if part is None:
                    lit("$", False)
                else:
                    parts.append(part)
            elif c == "`":
                parts.append(self._backtick(False))
            else:
                lit(c, False)
                self.pos += 1
        return Word(parts)

    def _dollar(self, quoted: bool):
        src = self.src
        p = self.pos + 1
        if src.startswith("((", p):
            # $(( arithmetic )): find the matching "))" counting parentheses.
            depth, q = 0, p + 2
            while q < len(src):
                if src[q] == "(":
                    depth += 1
                elif src[q] == ")":
                    if depth == 0 and src.startswith("))", q):
                        inner = _Parser(src[p + 2:q])
                        self.pos = q + 2
                        return Arith(inner._word_until_end(), quoted)
                    depth -= 1
                q += 1
            raise ParseError("syntax error: missing '))'")
        if src.startswith("(", p):
            sub = _Parser(src, p + 1)
            body = sub.parse_list(stop_words=set())
            tok = sub.take()
            if tok != ("OP", ")"):
                raise ParseError("syntax error: unterminated $(…)")
            self.pos = sub.pos
            return CmdSub(body, quoted)
        if src.startswith("{", p):
            return self._brace_param(p + 1, quoted)
        if p < len(src) and (src[p] in "?$#@*!-0123456789"):
            self.pos = p + 1
            return Param(src[p], quoted)
        m = _NAME_RE.match(src, p)
        if m:
            self.pos = m.end()
            return Param(m.group(), quoted)
        self.pos = p
        return None

    def _brace_param(self, p: int, quoted: bool) -> Param:
        src = self.src
        length = src.startswith("#", p) and not src.startswith("#}", p)
        if length:
            p += 1
        m = _NAME_RE.match(src, p) or re.compile(r"[?$#@*!0-9]").match(src, p)
        if not m:
            raise ParseError("syntax error: bad substitution")
        name, p = m.group(), m.end()
        if length:
            if not src.startswith("}", p):
                raise ParseError("syntax error: bad substitution")
            self.pos = p + 1
            return Param(name, quoted, "len")
        if src.startswith("}", p):
            self.pos = p + 1
            return Param(name, quoted)
        for op in (":-", ":=", ":+", ":?", "##", "%%", "-", "=", "+", "?", "#", "%"):
            if src.startswith(op, p):
                sub = _Parser(src, p + len(op))
                arg = sub._word_in_brace()
                self.pos = sub.pos + 1
                return Param(name, quoted, op, arg)
        raise ParseError("syntax error: bad substitution", "${…} form")

    def _word_in_brace(self) -> Word:
        """The argument of ${VAR:-arg}: up to the matching '}', spaces included."""
        src, n = self.src, len(self.src)
        parts: list = []
        while self.pos < n and src[self.pos] != "}":
            start = self.pos
            w = self._word(stop={"}", " ", "\t"})
            parts.extend(w.parts)
            while self.pos < n and src[self.pos] in " \t":
                parts.append(Lit(src[self.pos], True))
                self.pos += 1
            if self.pos == start:
                break
        if self.pos >= n:
            raise ParseError("syntax error: missing '}'")
        return Word(parts)

    def _word_until_end(self) -> Word:
        """Arithmetic text: expansions are done, everything else kept literally (quoted: no splitting)."""
        src, n = self.src, len(self.src)
        parts: list = []
        while self.pos < n:
            c = src[self.pos]
            if c == "$":
                part = self._dollar(True)
                parts.append(part if part is not None else Lit("$", True))
                if part is None:
                    self.pos += 1
            else:
                parts.append(Lit(c, True))
                self.pos += 1
        return Word(parts)

    def _backtick(self, quoted: bool) -> CmdSub:
        src = self.src
        q = self.pos + 1
        text = []
        while q < len(src) and src[q] != "`":
            if src[q] == "\\" and q + 1 < len(src) and src[q + 1] in "`\\$":
                text.append(src[q + 1])
                q += 2
            else:
                text.append(src[q])
                q += 1
        if q >= len(src):
            raise ParseError("syntax error: unterminated `…`")
        self.pos = q + 1
        return CmdSub(_Parser("".join(text)).parse_program(), quoted)

    # ---- grammar
    def parse_program(self) -> Node:
        body = self.parse_list(stop_words=set())
        tok = self.peek()
        if tok[0] != "EOF":
            raise ParseError(f'syntax error: unexpected "{tok[1] if tok[0] == "OP" else self._text(tok)}"')
        return body

    @staticmethod
    def _text(tok: tuple) -> str:
        if tok[0] == "WORD":
            return tok[1].literal() or "word"
        return str(tok[1])

    def _skip_newlines(self) -> None:
        while self.peek() == ("OP", "\n"):
            self.take()

    def _at_stop(self, stop_words: set[str]) -> bool:
        tok = self.peek()
        if tok[0] == "EOF" or tok in (("OP", ")"), ("OP", ";;")):
            return True
        return tok[0] == "WORD" and tok[1].literal() in stop_words

    def parse_list(self, stop_words: set[str]) -> Seq:
        items: list[tuple[Node, bool]] = []
        self._skip_newlines()
        while not self._at_stop(stop_words):
            node = self.parse_and_or()
            tok = self.peek()
            background = False
            if tok in (("OP", ";"), ("OP", "&"), ("OP", "\n")):
                background = tok[1] == "&"
                self.take()
                items.append((node, background))
                self._skip_newlines()
                continue
            items.append((node, background))
            break
        return Seq(items)

    def parse_and_or(self) -> Node:
        first = self.parse_pipeline()
        rest: list[tuple[str, Node]] = []
        while self.peek() in (("OP", "&&"), ("OP", "||")):
            op = self.take()[1]
            self._skip_newlines()
            rest.append((op, self.parse_pipeline()))
        return AndOr(first, rest) if rest else first

    def parse_pipeline(self) -> Node:
        negate = False
        tok = self.peek()
        if tok[0] == "WORD" and tok[1].literal() == "!":
            self.take()
            negate = True
        cmds = [self.parse_command()]
        while self.peek() == ("OP", "|"):
            self.take()
            self._skip_newlines()
            cmds.append(self.parse_command())
        return Pipeline(cmds, negate) if negate or len(cmds) > 1 else cmds[0]

    def _expect_word(self, word: str) -> None:
        self._skip_newlines()
        tok = self.take()
        if not (tok[0] == "WORD" and tok[1].literal() == word):
            found = "end of file" if tok[0] == "EOF" else f'"{self._text(tok)}"'
            raise ParseError(f"syntax error: unexpected {found} (expecting \"{word}\")")

    def parse_command(self) -> Node:
        tok = self.peek()
        if tok == ("OP", "("):
            self.take()
            body = self.parse_list(stop_words=set())
            if self.take() != ("OP", ")"):
                raise ParseError('syntax error: unexpected end of file (expecting ")")')
            return self._redirs_after(Group(body, True))
        if tok[0] == "WORD":
            word = tok[1].literal()
            if word == "if":
                self.take()
                clauses = []
                cond = self.parse_list({"then"})
                self._expect_word("then")
                body = self.parse_list({"elif", "else", "fi"})
                clauses.append((cond, body))
                else_body = None
                while True:
                    t = self.take()
                    w = t[1].literal() if t[0] == "WORD" else None
                    if w == "elif":
                        cond = self.parse_list({"then"})
                        self._expect_word("then")
                        clauses.append((cond, self.parse_list({"elif", "else", "fi"})))
                    elif w == "else":
                        else_body = self.parse_list({"fi"})
                        self._expect_word("fi")
                        break
                    elif w == "fi":
                        break
                    else:
                        raise ParseError('syntax error: unexpected end of file (expecting "fi")')
                return self._redirs_after(If(clauses, else_body))
            if word in ("while", "until"):
                self.take()
                cond = self.parse_list({"do"})
                self._expect_word("do")
                body = self.parse_list({"done"})
                self._expect_word("done")
                return self._redirs_after(Loop(cond, body, word == "until"))
            if word == "for":
                self.take()
                name_tok = self.take()
                name = name_tok[1].literal() if name_tok[0] == "WORD" else None
                if not name or not _NAME_RE.fullmatch(name):
                    raise ParseError("syntax error: bad for loop variable")
                words: list[Word] | None = None
                self._skip_newlines()
                t = self.peek()
                if t[0] == "WORD" and t[1].literal() == "in":
                    self.take()
                    words = []
                    while self.peek()[0] == "WORD":
                        words.append(self.take()[1])
                    if self.peek() in (("OP", ";"), ("OP", "\n")):
                        self.take()
                elif t == ("OP", ";"):
                    self.take()
                self._expect_word("do")
                body = self.parse_list({"done"})
                self._expect_word("done")
                return self._redirs_after(For(name, words, body))
            if word == "case":
                self.take()
                subject = self.take()
                if subject[0] != "WORD":
                    raise ParseError("syntax error: bad case")
                self._expect_word("in")
                items = []
                self._skip_newlines()
                while not (self.peek()[0] == "WORD" and self.peek()[1].literal() == "esac"):
                    if self.peek() == ("OP", "("):
                        self.take()
                    pats = []
                    while True:
                        t = self.take()
                        if t[0] != "WORD":
                            raise ParseError("syntax error: bad case pattern")
                        pats.append(t[1])
                        t = self.take()
                        if t == ("OP", ")"):
                            break
                        if t != ("OP", "|"):
                            raise ParseError("syntax error: bad case pattern")
                    body = self.parse_list({"esac"})
                    items.append((pats, body))
                    if self.peek() == ("OP", ";;"):
                        self.take()
                    self._skip_newlines()
                    if self.peek()[0] == "EOF":
                        raise ParseError('syntax error: unexpected end of file (expecting "esac")')
                self.take()
                return self._redirs_after(Case(subject[1], items))
            if word == "{":
                self.take()
                body = self.parse_list({"}"})
                self._expect_word("}")
                return self._redirs_after(Group(body, False))
            if word in ("then", "elif", "else", "fi", "do", "done", "esac", "}", "in"):
                raise ParseError(f'syntax error: unexpected "{word}"')
            if word and _NAME_RE.fullmatch(word):
                # name() { …; } — a function definition.
                save = (self.pos, self._peeked)
                self.take()
                if self.peek() == ("OP", "("):
                    self.take()
                    if self.take() == ("OP", ")"):
                        self._skip_newlines()
                        return FuncDef(word, self.parse_command())
                self.pos, self._peeked = save
        return self.parse_simple()

    def _redirs_after(self, node):
        while True:
            r = self._maybe_redir()
            if r is None:
                return node
            node.redirs.append(r)

    def _maybe_redir(self) -> Redir | None:
        tok = self.peek()
        fd = None
        if tok[0] == "IONUM":
            self.take()
            fd = tok[1]
            tok = self.peek()
        if tok[0] == "OP" and tok[1] in (">", ">>", "<", ">&", "<&", ">|"):
            self.take()
            target = self.take()
            if target[0] != "WORD":
                raise ParseError("syntax error: unexpected redirection")
            op = tok[1]
            return Redir(fd if fd is not None else (0 if op.startswith("<") else 1), op, target[1])
        if fd is not None:
            raise ParseError("syntax error: bad redirection")
        return None

    def parse_simple(self) -> Node:
        assigns: list[tuple[str, Word]] = []
        words: list[Word] = []
        redirs: list[Redir] = []
        while True:
            r = self._maybe_redir()
            if r is not None:
                redirs.append(r)
                continue
            tok = self.peek()
            if tok[0] != "WORD":
                break
            self.take()
            w = tok[1]
            if not words and w.parts and isinstance(w.parts[0], Lit) and not w.parts[0].quoted:
                m = _ASSIGN_RE.match(w.parts[0].text)
                if m:
                    rest = w.parts[0].text[m.end():]
                    value = Word(([Lit(rest, False)] if rest else []) + w.parts[1:])
                    assigns.append((m.group(1), value))
                    continue
            words.append(w)
        if not assigns and not words and not redirs:
            tok = self.peek()
            found = "end of file" if tok[0] == "EOF" else f'"{self._text(tok)}"'
            raise ParseError(f"syntax error: unexpected {found}")
        return Simple(assigns, words, redirs)


_parse_cache: dict[str, Node] = {}


def parse(script: str) -> Node:
    """Parse a script (cached: the same script is replayed on every step)."""
    node = _parse_cache.get(script)
    if node is None:
        node = _Parser(script).parse_program()
        if len(_parse_cache) > 512:
            _parse_cache.clear()
        _parse_cache[script] = node
    return node


# ====================================================================== arithmetic

_ARITH_TOKEN = re.compile(r"\s*(?:(0[xX][0-9a-fA-F]+|\d+)|([A-Za-z_][A-Za-z0-9_]*)|"
                          r"(\+\+|--|\*\*|<<=|>>=|<<|>>|<=|>=|==|!=|&&|\|\||[-+*/%&|^]=|[-+*/%()<>=!~?:&|^,]))")


class _ArithError(Exception):
    pass


_ARITH_OPS: dict[str, Callable[[int, int], int]] = {
    "||": lambda a, b: int(bool(a) or bool(b)), "&&": lambda a, b: int(bool(a) and bool(b)),
    "|": lambda a, b: a | b, "^": lambda a, b: a ^ b, "&": lambda a, b: a & b, "==": lambda a, b: int(a == b),
    "!=": lambda a, b: int(a != b), "<": lambda a, b: int(a < b), "<=": lambda a, b: int(a <= b),
    ">": lambda a, b: int(a > b), ">=": lambda a, b: int(a >= b), "<<": lambda a, b: a << min(b, 4096),
    ">>": lambda a, b: a >> b, "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
    "**": lambda a, b: a ** b}
_arith_cache: dict[str, list[tuple[str, str]]] = {}


def _arith_tokens(text: str) -> list[tuple[str, str]]:
    tokens = _arith_cache.get(text)
    if tokens is not None:
        return tokens
    tokens = []
    pos = 0
    stripped = text.strip()
    while pos < len(stripped):
        m = _ARITH_TOKEN.match(stripped, pos)
        if not m or m.end() == pos:
            raise _ArithError("arithmetic syntax error")
        pos = m.end()
        if m.group(1):
            tokens.append(("num", m.group(1)))
        elif m.group(2):
            tokens.append(("name", m.group(2)))
        elif m.group(3):
            tokens.append(("op", m.group(3)))
    if len(_arith_cache) > 1024:
        _arith_cache.clear()
    _arith_cache[text] = tokens
    return tokens


def _arith(text: str, get: Callable[[str], str], put: Callable[[str, str], None]) -> int:
    """Shell arithmetic ($((…))): C integer semantics, variables by bare name."""
    tokens = _arith_tokens(text)
    i = 0

    def peek() -> tuple[str, str] | None:
        return tokens[i] if i < len(tokens) else None

    def value_of(name: str) -> int:
        raw = get(name).strip()
        if not raw:
            return 0
        try:
            return int(raw, 0) if not re.fullmatch(r"0\d+", raw) else int(raw, 8)
        except ValueError:
            raise _ArithError("arithmetic syntax error")

    def num(tok: str) -> int:
        if tok.lower().startswith("0x"):
            return int(tok, 16)
        if len(tok) > 1 and tok.startswith("0"):
            return int(tok, 8)
        return int(tok)

    binary = [["||"], ["&&"], ["|"], ["^"], ["&"], ["==", "!="], ["<", "<=", ">", ">="], ["<<", ">>"],
              ["+", "-"], ["*", "/", "%"]]

    def apply(op: str, a: int, b: int) -> int:
        if op in ("/", "%"):
            if b == 0:
                raise _ArithError("divide by zero")
            q = abs(a) // abs(b) * (1 if (a >= 0) == (b >= 0) else -1)   # C truncation
            return q if op == "/" else a - q * b
        if op == "**" and b > 4096:
            raise _ArithError("arithmetic overflow")
        return _ARITH_OPS[op](a, b)

    def expr() -> int:          # assignment and ternary (lowest precedence)
        nonlocal i
        if i + 1 < len(tokens) and tokens[i][0] == "name" and tokens[i + 1][0] == "op" and \
                tokens[i + 1][1] in ("=", "+=", "-=", "*=", "/=", "%="):
            name, op = tokens[i][1], tokens[i + 1][1]
            i += 2
            rhs = expr()
            result = rhs if op == "=" else apply(op[0], value_of(name), rhs)
            put(name, str(result))
            return result
        cond = level(0)
        if peek() == ("op", "?"):
            i += 1
            a = expr()
            if peek() != ("op", ":"):
                raise _ArithError("arithmetic syntax error")
            i += 1
            b = expr()
            return a if cond else b
        return cond

    def level(n: int) -> int:
        nonlocal i
        if n == len(binary):
            return power()
        left = level(n + 1)
        while peek() is not None and peek()[0] == "op" and peek()[1] in binary[n]:
            op = tokens[i][1]
            i += 1
            left = apply(op, left, level(n + 1))
        return left

    def power() -> int:
        nonlocal i
        base = unary()
        if peek() == ("op", "**"):
            i += 1
            return apply("**", base, power())
        return base

    def unary() -> int:
        nonlocal i
        tok = peek()
        if tok is None:
            raise _ArithError("arithmetic syntax error")
        if tok[0] == "op" and tok[1] in ("-", "+", "!", "~"):
            i += 1
            v = unary()
            return {"-": -v, "+": v, "!": int(not v), "~": ~v}[tok[1]]
        if tok[0] == "op" and tok[1] in ("++", "--") and i + 1 < len(tokens) and tokens[i + 1][0] == "name":
            name = tokens[i + 1][1]
            i += 2
            v = value_of(name) + (1 if tok[1] == "++" else -1)
            put(name, str(v))
            return v
        if tok == ("op", "("):
            i += 1
            v = expr()
            if peek() != ("op", ")"):
                raise _ArithError("arithmetic syntax error")
            i += 1
            return v
        if tok[0] == "num":
            i += 1
            return num(tok[1])
        if tok[0] == "name":
            i += 1
            v = value_of(tok[1])
            if peek() in (("op", "++"), ("op", "--")):
                put(tok[1], str(v + (1 if tokens[i][1] == "++" else -1)))
                i += 1
            return v
        raise _ArithError("arithmetic syntax error")

    if not tokens:
        return 0
    result = expr()
    if i != len(tokens):
        raise _ArithError("arithmetic syntax error")
    return result


# ====================================================================== interpreter plumbing

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
    """`> file` / `>> file`: the file gets its content when the command finishes (one write event)."""

    def __init__(self, shell: _Shell, path: str, append: bool):
        self.shell, self.path, self.append = shell, path, append
        self.parts: list[str] = []

    def write(self, text: str) -> None:
        self.parts.append(text)

    def close(self) -> None:
        old = self.shell.files.get(self.path, "") if self.append else ""
        self.shell.write_file(self.path, old + "".join(self.parts))


@dataclass
class _IO:
    stdin: _Input | None
    out: _Sink
    err: _Sink


@dataclass
class _Snap:
    t: int
    steps: int
    journal: int
    cond_log: int
    vars: dict[str, str]
    extra: tuple          # cwd, positional params, stdin position, $? — must stay equal


_LOG_KINDS = ("out", "err", "outp", "errp")
_LINE_MAX = 16 * 1024     # containerd splits log lines at 16 KiB; also bounds a never-ending partial line
_FS_KINDS = ("write", "remove", "mkdir")
_QUERY_KINDS = ("req", "dns")
def _looks_like_glob(text: str) -> bool:
    # `[` alone (the test command) or `a]` are no patterns; only try the filesystem for real ones.
    return "*" in text or "?" in text or ("[" in text and "]" in text[text.index("["):])
_DEFAULT_DIRS = ("/", "/bin", "/dev", "/etc", "/home", "/proc", "/root", "/sys", "/tmp", "/usr", "/usr/bin",
                 "/usr/local", "/var", "/var/run", "/run", "/var/log", "/var/tmp", "/lib", "/sbin", "/opt")
_BUSYBOX_BINARIES = frozenset("""
sh ash [ [[ awk basename cat chmod chown cp cut date dd df dirname du echo egrep env expr false fgrep find
grep head hostname id kill ln ls mkdir mktemp mv nc nslookup ping printenv printf ps pwd readlink rm rmdir
sed seq sleep sort stat tail tar tee test timeout top touch tr true uname uniq wc wget which whoami xargs yes
usleep busybox
""".split())


# ====================================================================== the shell

class _Shell:
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
        self.status = 0
        self.cwd = "/"
        self.functions: dict[str, Node] = {}
        self.errexit = False
        self.xtrace = False
        self.files: dict[str, str] = {}
        self.dirs: set[str] = set(_DEFAULT_DIRS)
        for path, content in world.files.items():
            if path.endswith("/"):
                self._add_dirs(path.rstrip("/") or "/")
            else:
                self.files[path] = content
                self._add_dirs(posixpath.dirname(path))
        self.journal: list[tuple[int, str, str, str | None]] = []
        self.cond_depth = 0
        self.cond_log: list[str] = []           # variables read (and "$clock") while deciding control flow
        self.unsupported: list[str] = []
        self.logs_dropped = 0
        self.requests_dropped = 0
        self.cycles: list[tuple[int, int, int, list]] = []
        self.steady_rates: dict[str, float] | None = None
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

    def abspath(self, path: str) -> str:
        return posixpath.normpath(posixpath.join(self.cwd, path)) if path else self.cwd

    def write_file(self, path: str, content: str) -> None:
        if path in ("/dev/null",):
            return
        if path in ("/dev/stdout", "/proc/self/fd/1"):
            self.stdout.write(content)
            return
        if path in ("/dev/stderr", "/proc/self/fd/2"):
            self.stderr.write(content)
            return
        self.files[path] = content
        self.emit("write", path, content)

    def remove_path(self, path: str) -> None:
        self.files.pop(path, None)
        prefix = path.rstrip("/") + "/"
        for key in [k for k in self.files if k.startswith(prefix)]:
            del self.files[key]
        for d in [d for d in self.dirs if d == path or d.startswith(prefix)]:
            self.dirs.discard(d)
        self.emit("remove", path, None)

    def make_dir(self, path: str) -> None:
        self.dirs.add(path)
        self.emit("mkdir", path, None)

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
            exit_code = None
        return self._build(exit_code, start_error)

    def _build(self, exit_code: int | None, start_error: str | None) -> Run:
        sec = lambda us: self.start + us / US          # noqa: E731 — one conversion, in one place
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

    def _run_shell_argv(self, argv: list[str], io: _IO) -> int:
        args = argv[1:]
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
                self.stderr.write(f"sh: can't open '{args[0]}': No such file or directory\n")
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
                raise _Break(b.n - 1)
            return status, True
        except _Continue as c:
            if c.n > 1:
                raise _Continue(c.n - 1)
            return status, False

    def _snap(self, io: _IO) -> _Snap:
        stdin_pos = io.stdin.pos if io.stdin is not None else -1
        return _Snap(self.now, self.steps, len(self.journal), len(self.cond_log), dict(self.vars),
                     (self.cwd, tuple(self.positional), stdin_pos, self.status, len(self.functions)))

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
                # roughly a thousand such iterations a second.
                self.advance(round(BUSY_ITERATION * US))
        self.steady_rates = None         # the loop ended: whatever it requested, it no longer does
        return status

    # ---- steady loops
    def _steady(self, h: list[_Snap], io: _IO) -> bool:
        """If the last two iterations repeat exactly, jump ahead. Returns True when history must restart."""
        a, b, c = h
        period = c.t - b.t
        if period <= 0 or b.t - a.t != period or a.extra != b.extra or b.extra != c.extra:
            self.steady_rates = None
            return False
        if a.vars.keys() != b.vars.keys() or b.vars.keys() != c.vars.keys():
            self.steady_rates = None
            return False
        deltas: dict[str, int] = {}
        for name, v1 in b.vars.items():
            v0, v2 = a.vars[name], c.vars[name]
            if v0 == v1 == v2:
                continue
            try:
                d1, d2 = int(v1) - int(v0), int(v2) - int(v1)
            except ValueError:
                self.steady_rates = None
                return False
            if d1 != d2 or str(int(v2)) != v2:
                self.steady_rates = None
                return False
            deltas[name] = d1
        decided_by = set(self.cond_log[a.cond_log:c.cond_log])
        if "$clock" in decided_by or decided_by & deltas.keys():
            # A condition read the clock or a counter: the loop will behave differently later.
            self.steady_rates = None
            return False
        first, second = self.journal[a.journal:b.journal], self.journal[b.journal:c.journal]
        if len(first) != len(second):
            self.steady_rates = None
            return False
        shape = []
        same_text = True
        for (t1, k1, x1, y1), (t2, k2, x2, y2) in zip(first, second):
            if t1 - a.t != t2 - b.t or k1 != k2:
                self.steady_rates = None
                return False
            if k1 in _LOG_KINDS:
                same_text = same_text and x1 == x2
            elif (x1, y1) != (x2, y2):
                self.steady_rates = None
                return False
            shape.append((t2 - b.t, k2, x2, y2))
        n_logs = sum(1 for e in shape if e[1] in _LOG_KINDS)
        n_lines = sum(1 for e in shape if e[1] in ("out", "err"))     # partial chunks are not lines
        n_reqs = [e for e in shape if e[1] == "req"]
        has_fs = any(e[1] in _FS_KINDS for e in shape)
        rates: dict[str, float] = {}
        for e in n_reqs:
            rates[e[2]] = rates.get(e[2], 0.0) + US / period
        self.steady_rates = rates or None
        queries = [e for e in shape if e[1] in _QUERY_KINDS]

        if c.t > self.until:
            # Looking past the horizon. The next iteration repeats this one, so the next log line is known;
            # without file effects nothing else will ever change (unless the world's answers do).
            first_log = next((rel for rel, k, _x, _y in shape if k in _LOG_KINDS), None)
            if self.next_event is None and first_log is not None:
                self.next_event = c.t + first_log
            if not has_fs:
                raise _Stop()
            return False
        if not n_logs and not has_fs and not queries:
            # An idle loop (`while true; do sleep 5; done`): nothing observable ever again.
            raise _Stop()

        jump = (self.until - c.t) // period         # whole iterations that start at or before `until`
        keep_iters = 0
        if n_logs:
            keep_iters = -(-LOG_KEEP // n_logs)
        if n_reqs:
            keep_iters = max(keep_iters, -(-REQUEST_KEEP // len(n_reqs)))
        if not same_text:
            # Log lines depend on a counter or the clock: jump to a point from which the last lines are
            # re-created by really running, fewer of them and bounded by the remaining budget.
            per_iter = max(1, c.steps - b.steps)
            keep_iters = min(-(-REPLAY_KEEP // max(1, n_logs)),
                             max(2, (self.max_steps - self.steps - LOOKAHEAD_STEPS) // per_iter // 2))
            jump -= keep_iters
        if jump < 1:
            return False
        jump = self._world_stable(queries, c.t, period, jump)
        if jump < 1:
            return False
        # Apply: the clock, counters and (in synthesis mode) the last iterations' effects.
        base = c.t
        if same_text:
            synth = min(jump, keep_iters)
            dropped_iters = jump - synth
            for q in range(jump - synth, jump):
                t0 = base + q * period
                for rel, kind, x, y in second_abs(second, b.t):
                    self.journal.append((t0 + rel, kind, x, y))
        else:
            dropped_iters = jump
        self.logs_dropped += dropped_iters * n_lines
        self.requests_dropped += dropped_iters * len(n_reqs)
        if has_fs:
            self.cycles.append((base, base + jump * period, period,
                                [(rel, k, x, y) for rel, k, x, y in shape if k in _FS_KINDS]))
        self.now = base + jump * period
        for name, d in deltas.items():
            self.vars[name] = str(int(self.vars[name]) + d * jump)
        self.steps += 1
        return True

    def _world_stable(self, queries: list, base: int, period: int, jump: int) -> int:
        """How many of `jump` iterations see the same HTTP/DNS answers, sampling along the span."""
        if not queries:
            return jump
        def same(q: int) -> bool:            # does iteration q (0 = the one starting at base) get the same?
            t0 = base + q * period
            return all(self._ask(kind, x, t0 + rel) == y for rel, kind, x, y in queries)

        # Sample about 500 iterations along the span, then bisect to the first that differs: exact when the
        # world changes once in between (a Service gaining endpoints), at worst `stride` iterations late.
        stride = max(1, jump // 500)
        samples = list(range(stride - 1, jump, stride))
        if not samples or samples[-1] != jump - 1:
            samples.append(jump - 1)
        good = -1
        for q in samples:
            if not same(q):
                lo, hi = good + 1, q
                while lo < hi:
                    mid = (lo + hi) // 2
                    if same(mid):
                        lo = mid + 1
                    else:
                        hi = mid
                return lo
            good = q
        return jump

    def _ask(self, kind: str, x: str, t: int) -> str | None:
        at = self.start + t / US
        if kind == "dns":
            return self._resolve(x, at)
        answer = self.world.http(x, at) if self.world.http else None
        return None if answer is None else f"{answer[0]} {answer[1]}"

    def _resolve(self, name: str, at: float) -> str | None:
        if re.fullmatch(r"\d+\.\d+\.\d+\.\d+", name):
            return name
        if name == "localhost":
            return "127.0.0.1"
        if self.world.resolve is None:
            return name          # no DNS model: the name stands for its address
        return self.world.resolve(name, at)

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
                    io.err.write(f"sh: can't open '{target}': No such file or directory\n")
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
            io.err.write(f"sh: can't create {target}: nonexistent directory\n")
            return None
        if path in self.dirs:
            io.err.write(f"sh: can't create {target}: Is a directory\n")
            return None
        return _FileSink(self, path, append)

    def close_io(self, new: _IO, old: _IO) -> None:
        closed = set()
        for sink in (new.out, new.err):
            if sink is not old.out and sink is not old.err and id(sink) not in closed:
                closed.add(id(sink))
                sink.close()

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

    # ---- expansion
    def expand_part(self, part) -> str:
        kind = type(part)
        if kind is Param:
            return self.expand_param(part)
        if kind is CmdSub:
            return self.command_substitution(part.body)
        if kind is Arith:
            text = "".join(self.expand_word(part.expr, split=False)) if part.expr.parts else ""
            try:
                return str(_arith(text, self.get_var, self._set_var))
            except _ArithError as e:
                self.stderr.write(f"sh: {e}\n")
                raise _Exit(2)
        raise TypeError(kind)  # pragma: no cover

    def _set_var(self, name: str, value: str) -> None:
        self.vars[name] = value

    def expand_param(self, p: Param) -> str:
        name, op = p.name, p.op
        if op == "len":
            return str(len(self.get_var(name)))
        value = self.get_var(name)
        if not op:
            return value
        unset = not self.is_set(name)
        empty = unset or value == ""
        if op in (":-", "-"):
            return self.expand_one(p.arg) if (empty if op == ":-" else unset) else value
        if op in (":=", "="):
            if empty if op == ":=" else unset:
                value = self.expand_one(p.arg)
                self.vars[name] = value
            return value
        if op in (":+", "+"):
            return self.expand_one(p.arg) if not (empty if op == ":+" else unset) else ""
        if op in (":?", "?"):
            if empty if op == ":?" else unset:
                msg = self.expand_one(p.arg) or "parameter not set"
                self.stderr.write(f"sh: {name}: {msg}\n")
                raise _Exit(2)
            return value
        pattern = self.expand_pattern(p.arg) if p.arg else ""
        if op in ("#", "##"):
            rng = range(len(value) + 1) if op == "#" else range(len(value), -1, -1)
            for i in rng:
                if fnmatch.fnmatchcase(value[:i], pattern):
                    return value[i:]
            return value
        if op in ("%", "%%"):
            rng = range(len(value), -1, -1) if op == "%" else range(len(value) + 1)
            for i in rng:
                if fnmatch.fnmatchcase(value[i:], pattern):
                    return value[:i]
            return value
        return value

    def expand_pattern(self, w: Word) -> str:
        # Quoted parts of a pattern match literally.
        out = []
        for part in w.parts:
            if isinstance(part, Lit):
                out.append("".join(f"[{c}]" if c in "*?[" else c for c in part.text) if part.quoted else part.text)
            else:
                out.append(self.expand_part(part))
        return "".join(out)

    def command_substitution(self, body: Node) -> str:
        buf = _Buffer()
        io = _IO(None, buf, self.stderr)
        self.status = self.subshell(lambda: self.run(body, io))
        return buf.text().rstrip("\n")

    def expand_one(self, w: Word) -> str:
        return "".join(self.expand_word(w, split=False))

    def expand_word(self, w: Word, split: bool = True) -> list[str]:
        parts = w.parts
        if len(parts) == 1 and type(parts[0]) is Lit:
            # Fast path: most words are plain text.
            text = parts[0].text
            if parts[0].quoted:
                return [text]
            if not text:
                return []
            if not split or not _looks_like_glob(text):
                return [text]
        fields: list[str] = []
        cur: list[str] = []
        started = False          # the current field exists (even if empty: "")
        glob = False

        def finish() -> None:
            nonlocal cur, started, glob
            if started:
                text = "".join(cur)
                if glob and split:
                    matches = self.glob(text)
                    fields.extend(matches if matches else [text])
                else:
                    fields.append(text)
            cur, started, glob = [], False, False

        for part in w.parts:
            if type(part) is Lit:
                cur.append(part.text)
                started = started or part.quoted or bool(part.text)
                if not part.quoted and _looks_like_glob(part.text):
                    glob = True
                continue
            if type(part) is Param and part.name == "@" and part.quoted and not part.op:
                if self.cond_depth:
                    self.cond_log.append("@")
                for i, arg in enumerate(self.positional):
                    if i:
                        finish()
                    cur.append(arg)
                    started = True
                continue
            value = self.expand_part(part)
            if part.quoted or not split:
                cur.append(value)
                started = started or part.quoted or bool(value)
                continue
            pieces = value.split()
            if not pieces:
                if value and started:
                    finish()
                continue
            if value[0].isspace():
                finish()
            for i, piece in enumerate(pieces):
                if i:
                    finish()
                cur.append(piece)
                started = True
            if value[-1].isspace():
                finish()
        finish()
        return fields

    def glob(self, pattern: str) -> list[str]:
        absolute = pattern.startswith("/")
        base = pattern if absolute else posixpath.join(self.cwd, pattern)
        candidates = set(self.files) | self.dirs
        found = sorted(p for p in candidates if p != "/" and fnmatch.fnmatchcase(p, base)
                       and p.count("/") == base.count("/"))
        if absolute:
            return found
        prefix = self.cwd.rstrip("/") + "/"
        return [p[len(prefix):] if p.startswith(prefix) else p for p in found]

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
        try:
            return self.run_command(argv, new_io, dict(assigns))
        finally:
            if node.redirs:
                self.close_io(new_io, io)

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
            io.err.write(f"sh: {name}: not found\n")
            self.note_unsupported(base)
            return 127
        if base in _BUILTINS:      # /bin/echo and friends, run directly
            return _BUILTINS[base](self, [base] + argv[1:], io)
        env = {k: self.vars[k] for k in self.vars if k in self.exported}
        env.update(assigns)
        return _COMMANDS[base](self, argv, io, env)


class _StartError(Exception):
    pass


def second_abs(entries: list, origin: int) -> Iterator[tuple[int, str, str, str | None]]:
    """Journal entries of one iteration, with times relative to its start."""
    for t, kind, x, y in entries:
        yield t - origin, kind, x, y


# ====================================================================== builtins

def _parse_duration(text: str) -> int | None:
    """busybox sleep: N[.frac] with optional s/m/h/d suffix, or 'infinity'. In µs; None if invalid."""
    if text in ("inf", "infinity"):
        return _INFINITY
    m = re.fullmatch(r"(\d*\.?\d*)([smhd]?)", text)
    if not m or m.group(1) in ("", "."):
        return None
    return round(float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)] * US)


def _b_true(sh: _Shell, argv: list[str], io: _IO) -> int:
    return 0


def _b_false(sh: _Shell, argv: list[str], io: _IO) -> int:
    return 1


def _b_exit(sh: _Shell, argv: list[str], io: _IO) -> int:
    if len(argv) > 1:
        try:
            code = int(argv[1]) & 0xFF
        except ValueError:
            io.err.write(f"sh: exit: Illegal number: {argv[1]}\n")
            code = 2
    else:
        code = sh.status
    raise _Exit(code)


def _b_return(sh: _Shell, argv: list[str], io: _IO) -> int:
    raise _Return(int(argv[1]) & 0xFF if len(argv) > 1 and argv[1].isdigit() else sh.status)


def _b_break(sh: _Shell, argv: list[str], io: _IO) -> int:
    raise _Break(int(argv[1]) if len(argv) > 1 and argv[1].isdigit() else 1)


def _b_continue(sh: _Shell, argv: list[str], io: _IO) -> int:
    raise _Continue(int(argv[1]) if len(argv) > 1 and argv[1].isdigit() else 1)


_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", "a": "\a", "b": "\b", "r": "\r", "v": "\v", "f": "\f", "e": "\x1b"}


def _unescape(text: str) -> tuple[str, bool]:
    """echo -e / printf escapes; the bool says output stops here (\\c)."""
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt == "c":
                return "".join(out), True
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
                i += 2
                continue
            if nxt == "0" or nxt in "1234567":
                m = re.match(r"0?[0-7]{1,3}", text[i + 1:])
                if m:
                    out.append(chr(int(m.group(), 8) & 0xFF))
                    i += 1 + m.end()
                    continue
        out.append(c)
        i += 1
    return "".join(out), False


def _b_echo(sh: _Shell, argv: list[str], io: _IO) -> int:
    args = argv[1:]
    newline, escapes = True, False
    while args and re.fullmatch(r"-[neE]+", args[0]):
        flags = args.pop(0)
        newline = newline and "n" not in flags
        escapes = ("e" in flags) or (escapes and "E" not in flags)
    text = " ".join(args)
    if escapes:
        text, stop = _unescape(text)
        if stop:
            newline = False
    io.out.write(text + ("\n" if newline else ""))
    return 0


def _b_printf(sh: _Shell, argv: list[str], io: _IO) -> int:
    if len(argv) < 2:
        io.err.write("printf: usage: printf FORMAT [ARGUMENT...]\n")
        return 1
    fmt, args = argv[1], argv[2:]
    out: list[str] = []
    status = 0
    spec = re.compile(r"%([-+ 0#]*)(\d*)(?:\.(\d+))?([sdibxXoucf%])")
    while True:
        consumed = 0
        pos = 0
        for m in spec.finditer(fmt):
            out.append(_unescape(fmt[pos:m.start()])[0])
            pos = m.end()
            flags, width, prec, conv = m.groups()
            if conv == "%":
                out.append("%")
                continue
            arg = args[consumed] if consumed < len(args) else ""
            consumed += 1
            if conv in "diuxXo":
                try:
                    n = int(arg, 0) if arg else 0
                except ValueError:
                    io.err.write(f"printf: invalid number '{arg}'\n")
                    n, status = 0, 1
                out.append(("%" + flags + width + conv.replace("i", "d").replace("u", "d")) % n)
            elif conv == "f":
                try:
                    out.append(("%" + flags + width + (f".{prec}" if prec else "") + "f") % float(arg or 0))
                except ValueError:
                    io.err.write(f"printf: invalid number '{arg}'\n")
                    status = 1
            elif conv == "c":
                out.append(arg[:1])
            elif conv == "b":
                out.append(_unescape(arg)[0])
            else:
                s = arg[:int(prec)] if prec else arg
                out.append(("%" + flags + width + "s") % s)
        out.append(_unescape(fmt[pos:])[0])
        if consumed == 0 or consumed >= len(args):
            break
        args = args[consumed:]
    io.out.write("".join(out))
    return status


def _b_cd(sh: _Shell, argv: list[str], io: _IO) -> int:
    target = argv[1] if len(argv) > 1 else sh.vars.get("HOME", "/root")
    path = sh.abspath(target)
    if path not in sh.dirs:
        io.err.write(f"sh: cd: can't cd to {target}: No such file or directory\n")
        return 2
    sh.cwd = path
    sh.vars["PWD"] = path
    return 0


def _b_pwd(sh: _Shell, argv: list[str], io: _IO) -> int:
    io.out.write(sh.cwd + "\n")
    return 0


def _b_export(sh: _Shell, argv: list[str], io: _IO) -> int:
    for arg in argv[1:]:
        if arg.startswith("-"):
            continue
        name, eq, value = arg.partition("=")
        if eq:
            sh.vars[name] = value
        sh.exported.add(name)
    return 0


def _b_unset(sh: _Shell, argv: list[str], io: _IO) -> int:
    for name in argv[1:]:
        if name.startswith("-"):
            continue
        sh.vars.pop(name, None)
        sh.functions.pop(name, None)
        sh.exported.discard(name)
    return 0


def _b_set(sh: _Shell, argv: list[str], io: _IO) -> int:
    args = argv[1:]
    while args and args[0][:1] in "-+" and args[0] not in ("-", "--"):
        opt = args.pop(0)
        on = opt[0] == "-"
        if opt[1:] == "o" and args:
            name = args.pop(0)
            if name == "errexit":
                sh.errexit = on
            elif name == "xtrace":
                sh.xtrace = on
            elif name != "pipefail" and name != "nounset":
                sh.note_unsupported(f"set -o {name}")
            continue
        for letter in opt[1:]:
            if letter == "e":
                sh.errexit = on
            elif letter == "x":
                sh.xtrace = on
            elif letter not in "uo":
                sh.note_unsupported(f"set {opt[0]}{letter}")
    if args and args[0] in ("-", "--"):
        args.pop(0)
        sh.positional = args
    elif args:
        sh.positional = args
    elif len(argv) == 1:
        for k in sorted(sh.vars):
            io.out.write(f"{k}='{sh.vars[k]}'\n")
    return 0


def _b_shift(sh: _Shell, argv: list[str], io: _IO) -> int:
    n = int(argv[1]) if len(argv) > 1 and argv[1].isdigit() else 1
    if n > len(sh.positional):
        return 1
    sh.positional = sh.positional[n:]
    return 0


def _b_read(sh: _Shell, argv: list[str], io: _IO) -> int:
    names = [a for a in argv[1:] if not a.startswith("-")] or ["REPLY"]
    line = io.stdin.read_line() if io.stdin is not None else None
    if line is None:
        for name in names:
            sh.vars[name] = ""
        return 1
    fields = line.split(None, len(names) - 1) if len(names) > 1 else [line.strip()]
    for i, name in enumerate(names):
        sh.vars[name] = fields[i] if i < len(fields) else ""
    return 0


def _b_test(sh: _Shell, argv: list[str], io: _IO) -> int:
    args = argv[1:]
    if argv[0] == "[":
        if not args or args[-1] != "]":
            io.err.write("sh: [: missing ]\n")
            return 2
        args = args[:-1]
    try:
        return 0 if _test_expr(sh, args) else 1
    except ValueError as e:
        io.err.write(f"sh: {argv[0]}: {e}\n")
        return 2


def _test_expr(sh: _Shell, args: list[str]) -> bool:
    # -o binds looser than -a, both looser than !, as in POSIX test.
    if "-o" in args[1:-1]:
        i = args.index("-o", 1)
        return _test_expr(sh, args[:i]) or _test_expr(sh, args[i + 1:])
    if "-a" in args[1:-1]:
        i = args.index("-a", 1)
        return _test_expr(sh, args[:i]) and _test_expr(sh, args[i + 1:])
    if not args:
        return False
    if args[0] == "!" and len(args) > 1:
        return not _test_expr(sh, args[1:])
    if args[0] == "(" and args[-1] == ")" and len(args) > 2:
        return _test_expr(sh, args[1:-1])
    if len(args) == 1:
        return args[0] != ""
    if len(args) == 2:
        op, x = args
        path = sh.abspath(x) if x else ""
        if op == "-z":
            return x == ""
        if op == "-n":
            return x != ""
        if op in ("-e", "-a"):
            return path in sh.files or path in sh.dirs
        if op == "-f":
            return path in sh.files
        if op == "-d":
            return path in sh.dirs
        if op == "-s":
            return bool(sh.files.get(path))
        if op in ("-r", "-w"):
            return path in sh.files or path in sh.dirs
        if op == "-x":
            return path in sh.dirs or posixpath.basename(path) in sh.binaries
        if op in ("-L", "-h", "-p", "-S", "-b", "-c", "-t"):
            return False
        raise ValueError(f"{op}: unknown operand")
    if len(args) == 3:
        a, op, b = args
        if op in ("=", "=="):
            return a == b
        if op == "!=":
            return a != b
        if op in ("-eq", "-ne", "-lt", "-gt", "-le", "-ge"):
            x, y = _int_arg(a), _int_arg(b)
            return {"-eq": x == y, "-ne": x != y, "-lt": x < y, "-gt": x > y, "-le": x <= y, "-ge": x >= y}[op]
        if op in ("<", ">"):
            return a < b if op == "<" else a > b
        raise ValueError(f"{op}: unknown operand")
    raise ValueError("syntax error")


def _int_arg(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise ValueError(f"invalid number '{text}'")


def _b_trap(sh: _Shell, argv: list[str], io: _IO) -> int:
    # Signals are never delivered to a simulated script (the kubelet stops containers itself).
    sh.note_unsupported("trap")
    return 0


def _b_wait(sh: _Shell, argv: list[str], io: _IO) -> int:
    return 0     # background jobs already ran in the foreground


def _b_eval(sh: _Shell, argv: list[str], io: _IO) -> int:
    try:
        tree = parse(" ".join(argv[1:]))
    except ParseError as e:
        io.err.write(f"sh: eval: {e}\n")
        return 2
    return sh.run(tree, io)


def _b_source(sh: _Shell, argv: list[str], io: _IO) -> int:
    if len(argv) < 2:
        return 0
    path = sh.abspath(argv[1])
    if path not in sh.files:
        io.err.write(f"sh: .: can't open '{argv[1]}': No such file or directory\n")
        raise _Exit(2)
    try:
        return sh.run(parse(sh.files[path]), io)
    except ParseError as e:
        io.err.write(f"sh: {argv[1]}: {e}\n")
        return 2


def _b_command(sh: _Shell, argv: list[str], io: _IO) -> int:
    args = argv[1:]
    if args and args[0] in ("-v", "-V"):
        names = args[1:]
        ok = True
        for n in names:
            if n in _BUILTINS or n in sh.functions:
                io.out.write(n + "\n")
            elif n in sh.binaries:
                io.out.write(f"/bin/{n}\n")
            else:
                ok = False
        return 0 if ok else 1
    return sh.run_command(args, io, {}) if args else 0


def _b_exec(sh: _Shell, argv: list[str], io: _IO) -> int:
    if len(argv) == 1:
        return 0
    raise _Exit(sh.run_command(argv[1:], io, {}))


_BUILTINS: dict[str, Callable[[_Shell, list[str], _IO], int]] = {
    ":": _b_true, "true": _b_true, "false": _b_false, "exit": _b_exit, "return": _b_return,
    "break": _b_break, "continue": _b_continue, "echo": _b_echo, "printf": _b_printf, "cd": _b_cd,
    "pwd": _b_pwd, "export": _b_export, "unset": _b_unset, "set": _b_set, "shift": _b_shift, "read": _b_read,
    "test": _b_test, "[": _b_test, "trap": _b_trap, "wait": _b_wait, "eval": _b_eval, ".": _b_source,
    "source": _b_source, "command": _b_command, "exec": _b_exec, "local": _b_export, "readonly": _b_export,
}


# ====================================================================== simulated commands

def _split_opts(args: list[str], with_value: str = "") -> tuple[dict[str, str | bool], list[str]]:
    """getopt-ish: single-letter flags, those in with_value take an argument (attached or next)."""
    opts: dict[str, str | bool] = {}
    rest: list[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--":
            rest.extend(args[i + 1:])
            break
        if a.startswith("-") and len(a) > 1 and not a[1].isdigit():
            j = 1
            while j < len(a):
                letter = a[j]
                if letter in with_value:
                    if j + 1 < len(a):
                        opts[letter] = a[j + 1:]
                    else:
                        i += 1
                        opts[letter] = args[i] if i < len(args) else ""
                    break
                opts[letter] = True
                j += 1
        else:
            rest.append(a)
        i += 1
    return opts, rest


def _c_sleep(sh: _Shell, argv: list[str], io: _IO, env: dict[str, str]) -> int:
    if len(argv) < 2:
        io.err.write("BusyBox v1.36.1 (2023-05-18 22:34:17 UTC) multi-call binary.\n\nUsage: sleep [N]...\n")
        return 1
    total = 0
    for arg in argv[1:]:
        d = _parse_duration(arg)
        if d is None:
            io.err.write(f"sleep: invalid number '{arg}'\n")
            return 1
        total += d
    if total >= _INFINITY:
        raise _Stop()            # blocked for good: nothing observable will ever happen again
    sh.advance(total)
    return 0


def _c_usleep(sh: _Shell, argv: list[str], io: _IO, env: dict[str, str]) -> int:
    sh.advance(int(argv[1]) if len(argv) > 1 and argv[1].isdigit() else 0)
    return 0


def _read_inputs(sh: _Shell, files: list[str], io: _IO, cmd: str) -> tuple[list[tuple[str, str]], int]:
    """(name, content) of each input (stdin when none), and the exit status so far."""
    if not files:
        return [("-", io.stdin.read_all() if io.stdin is not None else "")], 0
    out, status = [], 0
    for f in files:
        if f == "-":
            out.append(("-", io.stdin.read_all() if io.stdin is not None else ""))
            continue
        path = sh.abspath(f)
        if path in sh.files:
            out.append((f, sh.files[path]))
        elif path in sh.dirs:
            io.err.write(f"{cmd}: read error: Is a directory\n")
            status = 1
        else:
            io.err.write(f"{cmd}: can't open '{f}': No such file or directory\n")
            status = 1
    return out, status


def _c_cat(sh: _Shell, argv: list[str], io: _IO, env: dict[str, str]) -> int:
    _opts, files = _split_opts(argv[1:])
    inputs, status = _read_inputs(sh, files, io, "cat")
    for _name, content in inputs:
        io.out.write(content)
    return status


def _c_touch(sh: _Shell, argv: list[str], io: _IO, env: dict[str, str]) -> int:
    _opts, files = _split_opts(argv[1:])
    status = 0
    for f in files:
        path = sh.abspath(f)
        if path in sh.files or path in sh.dirs:
            continue            # only the mtime changes, which nothing here models
        if posixpath.dirname(path) not in sh.dirs:
            io.err.write(f"touch: {f}: No such file or directory\n")
            status = 1
            continue
        sh.write_file(path, "")
    return status


def _c_rm(sh: _Shell, argv: list[str], io: _IO, env: dict[str, str]) -> int:
    opts, files = _split_opts(argv[1:])
    force, recursive = "f" in opts, "r" in opts or "R" in opts
    status = 0
    for f in files:
        path = sh.abspath(f)
        if path in sh.dirs:
            if not recursive:
                io.err.write(f"rm: '{f}' is a directory\n")
                status = 1
                continue
            sh.remove_path(path)
        elif path in sh.files:
            sh.remove_path(path)
        elif not force:
            io.err.write(f"rm: can't remove '{f}': No such file or directory\n")
            status = 1
    return status


def _c_mkdir(sh: _Shell, argv: list[str], io: _IO, env: dict[str, str]) -> int:
    opts, dirs = _split_opts(argv[1:], with_value="m")
    status = 0
    for d in dirs:
        path = sh.abspath(d)
        if path in sh.dirs or path in sh.files:
            if "p" not in opts or path in sh.files:
                io.err.write(f"mkdir: can't create directory '{d}': File exists\n")
                status = 1
            continue
        missing = []
        p = path
        while p not in sh.dirs:
            missing.append(p)
            p = posixpath.dirname(p)
        if len(missing) > 1 and "p" not in opts:
            io.err.write(f"mkdir: can't create directory '{d}': No such file or directory\n")
            status = 1
            continue
        for m in reversed(missing):
            sh.make_dir(m)
    return status


def _c_ls(sh: _Shell, argv: list[str], io: _IO, env: dict[str, str]) -> int:
    opts, targets = _split_opts(argv[1:])
    status = 0
    targets = targets or ["."]
    for n, t in enumerate(targets):
        path = sh.abspath(t)
        if path in sh.files:
            io.out.write(t + "\n")
            continue
        if path not in sh.dirs:
            io.err.write(f"ls: {t}: No such file or directory\n")
            status = 1
            continue
        prefix = path.rstrip("/") + "/"
        names = sorted({p[len(prefix):].split("/")[0] for p in list(sh.files) + list(sh.dirs)
                        if p.startswith(prefix) and p != prefix})
        if "a" not in opts:
            names = [x for x in names if not x.startswith(".")]
        else:
            names = [".", ".."] + names
        if len(targets) > 1:
            io.out.write(("\n" if n else "") + f"{t}:\n")
        for name in names:
            io.out.write(name + "\n")
    return status


_DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def _c_date(sh: _Shell, argv: list[str], io: _IO, env: dict[str, str]) -> int:
    if sh.cond_depth:
        sh.cond_log.append("$clock")     # a condition on the clock: the loop cannot be extrapolated
    now = sh.start + sh.now / US
    tm = _time.gmtime(now)
    fmt = next((a[1:] for a in argv[1:] if a.startswith("+")), None)
    if fmt is None:
        io.out.write(f"{_DAYS[tm.tm_wday]} {_MONTHS[tm.tm_mon - 1]} {tm.tm_mday:2d} "
                     f"{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d} UTC {tm.tm_year}\n")
        return 0
    fmt = fmt.replace("%s", str(int(now))).replace("%N", f"{int(round((now % 1) * 1e9)):09d}")
    fmt = fmt.replace("%Z", "UTC").replace("%z", "+0000")
    io.out.write(_time.strftime(fmt, tm) + "\n")
    return 0


def _c_env(sh: _Shell, argv: list[str], io: _IO, env: dict[str, str]) -> int:
    args = argv[1:]
    extra = {}
    while args and "=" in args[0]:
        k, _, v = args.pop(0).partition("=")
        extra[k] = v
    if args:
        saved = sh.vars
        sh.vars = {**sh.vars, **extra}
        sh.exported |= set(extra)
        try:
            return sh.run_command(args, io, {})
        finally:
            sh.vars = saved
    for k, v in {**env, **extra}.items():
        io.out.write(f"{k}={v}\n")
    return 0


def _c_printenv(sh: _Shell, argv: list[str], io: _IO, env: dict[str, str]) -> int:
    if len(argv) == 1:
        for k, v in env.items():
            io.out.write(f"{k}={v}\n")
        return 0
    status = 0
    for name in argv[1:]:
        if name in env:
            io.out.write(env[name] + "\n")
        else:
            status = 1
    return status


def _c_hostname(sh: _Shell, argv: list[str], io: _IO, env: dict[str, str]) -> int:
    if "-i" in argv[1:]:
        ip = sh.vars.get("POD_IP") or (sh.world.resolve(sh.world.hostname, sh.start + sh.now / US)
                                       if sh.world.resolve else None)
        io.out.write((ip or "127.0.0.1") + "\n")
        return 0
    io.out.write(sh.world.hostname + "\n")
    return 0


def _c_whoami(sh: _Shell, argv: list[str], io: _IO, env: dict[str, str]) -> int:
    io.out.write("root\n")
    return 0


def _c_uname(sh: _Shell, argv: list[str], io: _IO, env: dict[str, str]) -> int:
    io.out.write(("Linux " + sh.world.hostname + " 6.8.0 #1 SMP x86_64 GNU/Linux" if "-a" in argv else "Linux") + "\n")
    return 0


def _parse_url(url: str) -> tuple[str, str, int, str]:
    """(full url, host, port, path) with http:// assumed, as wget and curl do."""
    if "://" not in url:
        url = "http://" + url
    scheme, _, rest = url.partition("://")
    hostport, slash, path = rest.partition("/")
    host, colon, port = hostport.rpartition(":") if ":" in hostport else (hostport, "", "")
    default = 443 if scheme == "https" else 80
    return url, host, int(port) if colon and port.isdigit() else default, "/" + path if slash else "/"


def _http(sh: _Shell, url: str) -> tuple[str, tuple[int, str] | None, str | None]:
    """One request on the simulated network: ('ok'|'badhost', answer, ip). Records it for the network model."""
    full, host, _port, _path = _parse_url(url)
    at = sh.start + sh.now / US
    ip = sh._resolve(host, at)
    sh.emit("dns", host, ip)
    if ip is None:
        sh.advance(round(NET_LATENCY * US))
        return "badhost", None, None
    answer = sh.world.http(full, at) if sh.world.http else None
    sh.emit("req", full, None if answer is None else f"{answer[0]} {answer[1]}")
    sh.advance(round(NET_LATENCY * US))
    return "ok", answer, ip


_REASONS = {200: "OK", 201: "Created", 204: "No Content", 301: "Moved Permanently", 302: "Found",
            400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
            500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
            504: "Gateway Timeout"}


def _c_wget(sh: _Shell, argv: list[str], io: _IO, env: dict[str, str]) -> int:
    opts, urls = _split_opts(argv[1:], with_value="OoTUYtPOh")
    long_opts = [a for a in argv[1:] if a.startswith("--")]
    for lo in long_opts:
        if lo == "--spider":
            opts["spider"] = True
        elif lo.startswith("--timeout="):
            opts["T"] = lo.split("=", 1)[1]
        elif lo in ("--quiet",):
            opts["q"] = True
        elif lo.startswith("--output-document="):
            opts["O"] = lo.split("=", 1)[1]
    urls = [u for u in urls if not u.startswith("--")]
    if not urls:
        io.err.write("BusyBox v1.36.1 (2023-05-18 22:34:17 UTC) multi-call binary.\n\nUsage: wget [-cqS] URL\n")
        return 1
    quiet = "q" in opts
    status = 0
    for url in urls:
        full, host, port, path = _parse_url(url)
        kind, answer, ip = _http(sh, url)
        if kind == "badhost":
            io.err.write(f"wget: bad address '{host}'\n")
            status = 1
            continue
        if not quiet:
            io.err.write(f"Connecting to {host} ({ip}:{port})\n")
        if answer is None:
            io.err.write(f"wget: can't connect to remote host ({ip}): Connection refused\n")
            status = 1
            continue
        code, body = answer
        if code >= 400:
            io.err.write(f"wget: server returned error: HTTP/1.1 {code} {_REASONS.get(code, '')}".rstrip()
                         + "\n")
            status = 1
            continue
        if "spider" in opts:
            if not quiet:
                io.err.write("remote file exists\n")
            continue
        target = opts.get("O")
        if target is None:
            target = posixpath.basename(path) or "index.html"
        if target == "-":
            if not quiet:
                io.err.write("writing to stdout\n")
            io.out.write(body)
            if not quiet:
                io.err.write(f"-                    100% |********************************| {len(body):>5}  "
                             "0:00:00 ETA\nwritten to stdout\n")
        else:
            dest = sh.abspath(str(target))
            if posixpath.dirname(dest) not in sh.dirs:
                io.err.write(f"wget: can't open '{target}': No such file or directory\n")
                status = 1
                continue
            if not quiet:
                io.err.write(f"saving to '{target}'\n")
            sh.write_file(dest, body)
            if not quiet:
                io.err.write(f"{str(target)[:20]:<20} 100% |********************************| {len(body):>5}  "
                             f"0:00:00 ETA\n'{target}' saved\n")
    return status


def _c_curl(sh: _Shell, argv: list[str], io: _IO, env: dict[str, str]) -> int:
    args = []
    long_map = {"--silent": "-s", "--fail": "-f", "--output": "-o", "--show-error": "-S", "--location": "-L",
                "--head": "-I", "--include": "-i", "--max-time": "-m", "--connect-timeout": "-m",
                "--verbose": "-v", "--request": "-X", "--header": "-H", "--data": "-d", "--write-out": "-w"}
    for a in argv[1:]:
        args.append(long_map.get(a, a))
    opts, urls = _split_opts(args, with_value="oXHdmwuA")
    silent, show_error = "s" in opts, "S" in opts
    if not urls:
        io.err.write("curl: try 'curl --help' or 'curl --manual' for more information\n")
        return 2
    status = 0
    for url in urls:
        full, host, port, _path = _parse_url(url)
        kind, answer, ip = _http(sh, url)
        if kind == "badhost":
            if not silent or show_error:
                io.err.write(f"curl: (6) Could not resolve host: {host}\n")
            status = 6
            continue
        if answer is None:
            if not silent or show_error:
                io.err.write(f"curl: (7) Failed to connect to {host} port {port} after 0 ms: "
                             "Couldn't connect to server\n")
            status = 7
            continue
        code, body = answer
        if "f" in opts and code >= 400:
            if not silent or show_error:
                io.err.write(f"curl: (22) The requested URL returned error: {code}\n")
            status = 22
            continue
        text = body
        if "I" in opts or "i" in opts:
            head = f"HTTP/1.1 {code} {_REASONS.get(code, '')}".rstrip() + "\r\n\r\n"
            text = head if "I" in opts else head + body
        if "w" in opts:
            text += str(opts["w"]).replace("%{http_code}", str(code)).replace("\\n", "\n")
        out = opts.get("o")
        if out and out != "-":
            if out == "/dev/null":
                continue
            dest = sh.abspath(str(out))
            if posixpath.dirname(dest) not in sh.dirs:
                io.err.write("curl: (23) Failure writing output to destination\n")
                status = 23
                continue
            sh.write_file(dest, text)
        else:
            io.out.write(text)
    return status


def _c_nslookup(sh: _Shell, argv: list[str], io: _IO, env: dict[str, str]) -> int:
    # busybox 1.28's format (the version the init-containers and DNS tutorials pin).
    _opts, args = _split_opts(argv[1:])
    if not args:
        io.err.write("BusyBox v1.28.4 (2018-05-22 17:00:17 UTC) multi-call binary.\n\n"
                     "Usage: nslookup [HOST] [SERVER]\n")
        return 1
    name = args[0]
    server = None
    for line in sh.files.get("/etc/resolv.conf", "").splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "nameserver":
            server = parts[1]
            break
    server = server or "10.96.0.10"
    rname = sh.world.reverse(server) if sh.world.reverse else "kube-dns.kube-system.svc.cluster.local"
    at = sh.start + sh.now / US
    ip = sh._resolve(name, at) if sh.world.resolve or re.fullmatch(r"[\d.]+", name) else None
    sh.emit("dns", name, ip)
    sh.advance(round(NET_LATENCY * US))
    io.out.write(f"Server:    {server}\nAddress 1: {server}{' ' + rname if rname else ''}\n\n")
    if ip is None:
        io.err.write(f"nslookup: can't resolve '{name}'\n")
        return 1
    host = sh.world.reverse(ip) if sh.world.reverse else None
    io.out.write(f"Name:      {name}\nAddress 1: {ip}{' ' + host if host else ''}\n")
    return 0


def _grep_regex(pattern: str, extended: bool, fixed: bool, icase: bool) -> re.Pattern:
    if fixed:
        rx = re.escape(pattern)
    elif extended:
        rx = pattern
    else:
        # Basic regular expressions: \( \) \{ \} \| are the operators, bare ( ) { } | + ? are literals.
        out, i = [], 0
        while i < len(pattern):
            c = pattern[i]
            if c == "\\" and i + 1 < len(pattern):
                n = pattern[i + 1]
                out.append(n if n in "(){}|+?" else "\\" + n)
                i += 2
                continue
            out.append("\\" + c if c in "(){}|+?" else c)
            i += 1
        rx = "".join(out)
    try:
        return re.compile(rx, re.IGNORECASE if icase else 0)
    except re.error:
        return re.compile(re.escape(pattern), re.IGNORECASE if icase else 0)


def _c_grep(sh: _Shell, argv: list[str], io: _IO, env: dict[str, str]) -> int:
    opts, rest = _split_opts(argv[1:], with_value="em")
    if argv[0].endswith("egrep"):
        opts["E"] = True
    if "e" in opts:
        pattern = str(opts["e"])
    elif rest:
        pattern = rest.pop(0)
    else:
        io.err.write("BusyBox v1.36.1 (2023-05-18 22:34:17 UTC) multi-call binary.\n\nUsage: grep [-HhnlLoqvsrRiwFE] [-m N] [-A|B|C N] { PATTERN | -e PATTERN... | -f FILE... } [FILE]...\n")
        return 2
    rx = _grep_regex(pattern, "E" in opts, "F" in opts, "i" in opts)
    inputs, status = _read_inputs(sh, rest, io, "grep")
    many = len(rest) > 1
    found = 0
    for name, content in inputs:
        count = 0
        lines = content.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        for n, line in enumerate(lines, 1):
            hit = bool(rx.search(line)) if "x" not in opts else bool(rx.fullmatch(line))
            if "v" in opts:
                hit = not hit
            if not hit:
                continue
            count += 1
            found += 1
            if "q" in opts:
                return 0
            if "c" in opts or "l" in opts:
                continue
            prefix = (f"{name}:" if many else "") + (f"{n}:" if "n" in opts else "")
            if "o" in opts and "v" not in opts:
                for m in rx.finditer(line):
                    io.out.write(prefix + m.group() + "\n")
            else:
                io.out.write(prefix + line + "\n")
        if "c" in opts:
            io.out.write((f"{name}:" if many else "") + f"{count}\n")
        if "l" in opts and count:
            io.out.write(name + "\n")
    if status and "s" in opts:
        pass
    return 2 if status and not found else (0 if found else 1)


def _c_wc(sh: _Shell, argv: list[str], io: _IO, env: dict[str, str]) -> int:
    opts, files = _split_opts(argv[1:])
    inputs, status = _read_inputs(sh, files, io, "wc")
    which = [k for k in "lwc" if k in opts] or ["l", "w", "c"]
    for name, content in inputs:
        counts = {"l": content.count("\n"), "w": len(content.split()), "c": len(content.encode())}
        values = [counts[k] for k in which]
        if len(values) == 1:
            text = str(values[0])
        else:
            text = " ".join(f"{v:>7}" for v in values)
        io.out.write(text + (f" {name}" if name != "-" else "") + "\n")
    return status


def _head_tail(sh: _Shell, argv: list[str], io: _IO, tail: bool) -> int:
    args = argv[1:]
    n = 10
    files = []
    i = 0
    from_start = False
    while i < len(args):
        a = args[i]
        if a == "-n" and i + 1 < len(args):
            i += 1
            a = args[i]
            from_start = tail and a.startswith("+")
            n = int(a.lstrip("+-") or 0)
        elif re.fullmatch(r"-n[+-]?\d+", a):
            from_start = tail and a[2:].startswith("+")
            n = int(a[2:].lstrip("+-"))
        elif re.fullmatch(r"-\d+", a):
            n = int(a[1:])
        elif a.startswith("-") and a != "-":
            pass
        else:
            files.append(a)
        i += 1
    inputs, status = _read_inputs(sh, files, io, "tail" if tail else "head")
    for name, content in inputs:
        lines = content.splitlines(keepends=True)
        if tail:
            chosen = lines[n - 1:] if from_start else (lines[-n:] if n else [])
        else:
            chosen = lines[:n]
        io.out.write("".join(chosen))
    return status


def _c_head(sh: _Shell, argv: list[str], io: _IO, env: dict[str, str]) -> int:
    return _head_tail(sh, argv, io, tail=False)


def _c_tail(sh: _Shell, argv: list[str], io: _IO, env: dict[str, str]) -> int:
    if "-f" in argv[1:] or "-F" in argv[1:]:
        # Follows forever: after printing, it blocks (files never change behind its back here).
        _head_tail(sh, [a for a in argv if a not in ("-f", "-F")], io, tail=True)
        raise _Stop()
    return _head_tail(sh, argv, io, tail=True)


def _c_seq(sh: _Shell, argv: list[str], io: _IO, env: dict[str, str]) -> int:
    nums = argv[1:]
    try:
        vals = [float(x) if "." in x else int(x) for x in nums]
    except ValueError:
        io.err.write(f"seq: invalid number '{next(x for x in nums if not re.fullmatch(r'-?[0-9.]+', x))}'\n")
        return 1
    if len(vals) == 1:
        first, inc, last = 1, 1, vals[0]
    elif len(vals) == 2:
        first, inc, last = vals[0], 1, vals[1]
    elif len(vals) == 3:
        first, inc, last = vals
    else:
        io.err.write("seq: missing operand\n")
        return 1
    if inc == 0:
        return 1
    count = int((last - first) // inc) + 1 if (last - first) * inc >= 0 else 0
    count = min(count, 100_000)         # bounded: output beyond this is never shown anyway
    out = [str(first + k * inc) for k in range(count)]
    io.out.write("".join(x + "\n" for x in out))
    return 0


def _c_expr(sh: _Shell, argv: list[str], io: _IO, env: dict[str, str]) -> int:
    args = argv[1:]

    def num(x: str) -> int:
        try:
            return int(x)
        except ValueError:
            raise ValueError("non-integer argument")

    try:
        if len(args) == 1:
            result: str | int = args[0]
        elif len(args) == 2 and args[0] == "length":
            result = len(args[1])
        elif len(args) == 3:
            a, op, b = args
            if op in ("+", "-", "*", "/", "%"):
                x, y = num(a), num(b)
                if op in ("/", "%") and y == 0:
                    raise ValueError("division by zero")
                q = abs(x) // abs(y) * (1 if (x >= 0) == (y >= 0) else -1) if op in "/%" else 0
                result = {"+": x + y, "-": x - y, "*": x * y, "/": q, "%": x - q * y if y else 0}[op]
            elif op in ("=", "!=", "<", ">", "<=", ">="):
                try:
                    x2, y2 = int(a), int(b)
                    cmp = {"=": x2 == y2, "!=": x2 != y2, "<": x2 < y2, ">": x2 > y2, "<=": x2 <= y2,
                           ">=": x2 >= y2}[op]
                except ValueError:
                    cmp = {"=": a == b, "!=": a != b, "<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]
                result = int(cmp)
            elif op == ":":
                m = re.match(_grep_regex(b, False, False, False).pattern, a)
                result = (m.group(1) if m.groups() else len(m.group())) if m else (0 if not re.compile(
                    _grep_regex(b, False, False, False).pattern).groups else "")
            elif op == "|":
                result = a if a not in ("", "0") else b
            elif op == "&":
                result = a if a not in ("", "0") and b not in ("", "0") else 0
            else:
                raise ValueError("syntax error")
        else:
            sh.note_unsupported("expr with more than one operator")
            raise ValueError("syntax error")
    except ValueError as e:
        io.err.write(f"expr: {e}\n")
        return 2
    io.out.write(f"{result}\n")
    return 0 if result not in ("", 0, "0") else 1


def _c_basename(sh: _Shell, argv: list[str], io: _IO, env: dict[str, str]) -> int:
    if len(argv) < 2:
        return 1
    name = posixpath.basename(argv[1].rstrip("/")) or "/"
    if len(argv) > 2 and name.endswith(argv[2]) and name != argv[2]:
        name = name[:-len(argv[2])]
    io.out.write(name + "\n")
    return 0


def _c_dirname(sh: _Shell, argv: list[str], io: _IO, env: dict[str, str]) -> int:
    if len(argv) < 2:
        return 1
    io.out.write((posixpath.dirname(argv[1].rstrip("/")) or ".") + "\n")
    return 0


def _c_tee(sh: _Shell, argv: list[str], io: _IO, env: dict[str, str]) -> int:
    opts, files = _split_opts(argv[1:])
    data = io.stdin.read_all() if io.stdin is not None else ""
    io.out.write(data)
    for f in files:
        path = sh.abspath(f)
        old = sh.files.get(path, "") if "a" in opts else ""
        sh.write_file(path, old + data)
    return 0


def _c_sort(sh: _Shell, argv: list[str], io: _IO, env: dict[str, str]) -> int:
    opts, files = _split_opts(argv[1:])
    inputs, status = _read_inputs(sh, files, io, "sort")
    lines = [line for _n, c in inputs for line in c.splitlines()]

    def key(line: str):
        if "n" in opts:
            m = re.match(r"\s*-?\d+(\.\d+)?", line)
            return (float(m.group()) if m else 0.0, line)
        return (0.0, line)

    lines.sort(key=key, reverse="r" in opts)
    if "u" in opts:
        lines = list(dict.fromkeys(lines))
    io.out.write("".join(x + "\n" for x in lines))
    return status


def _c_uniq(sh: _Shell, argv: list[str], io: _IO, env: dict[str, str]) -> int:
    opts, files = _split_opts(argv[1:])
    inputs, status = _read_inputs(sh, files[:1], io, "uniq")
    out: list[tuple[str, int]] = []
    for _n, content in inputs:
        for line in content.splitlines():
            if out and out[-1][0] == line:
                out[-1] = (line, out[-1][1] + 1)
            else:
                out.append((line, 1))
    for line, n in out:
        io.out.write((f"{n:>7} " if "c" in opts else "") + line + "\n")
    return status


def _c_true(sh: _Shell, argv: list[str], io: _IO, env: dict[str, str]) -> int:
    return 0


_COMMANDS: dict[str, Callable[[_Shell, list[str], _IO, dict[str, str]], int]] = {
    "sleep": _c_sleep, "usleep": _c_usleep, "cat": _c_cat, "touch": _c_touch, "rm": _c_rm, "mkdir": _c_mkdir,
    "ls": _c_ls, "date": _c_date, "env": _c_env, "printenv": _c_printenv, "hostname": _c_hostname,
    "whoami": _c_whoami, "uname": _c_uname, "wget": _c_wget, "curl": _c_curl, "nslookup": _c_nslookup,
    "grep": _c_grep, "egrep": _c_grep, "wc": _c_wc, "head": _c_head, "tail": _c_tail, "seq": _c_seq,
    "expr": _c_expr, "basename": _c_basename, "dirname": _c_dirname, "tee": _c_tee, "sort": _c_sort,
    "uniq": _c_uniq,
}
