"""The shell's lexer: tokens (operators, IO numbers, words) read on demand from the source.

Words are the hard part of lexing sh: quotes, backslashes, `$name`, `${…}`, `$(…)`, `$((…))` and backticks
all nest inside one word, and a command substitution holds a whole command list. So the lexer is not a
separate pass but the base class of the parser: the parser peeks and takes tokens as its grammar needs
them, and when a word contains `$(…)` or backticks the lexer starts a sub-parser at that point in the
source. Sub-lexers are made with `type(self)(…)`, so they are parsers whenever the lexer is one, and the
lexer needs nothing from the grammar but the two entry points declared at the end of _Lexer.
"""
from __future__ import annotations

import re

from .syntax import Arith, CmdSub, Lit, Node, Param, ParseError, Seq, Word

_META = set(" \t\n;&|()<>")
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPS = ["&&", "||", ";;", ">>", ">&", "<&", ">|", "<<", ";", "&", "|", "(", ")", "<", ">", "\n"]


class _Lexer:
    """On-demand tokens and words over `src` from `pos`; _Parser adds the grammar on top."""

    def __init__(self, src: str, pos: int = 0):
        self.src = src
        self.pos = pos
        self._peeked: tuple | None = None

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
                        inner = type(self)(src[p + 2:q])
                        self.pos = q + 2
                        return Arith(inner._word_until_end(), quoted)
                    depth -= 1
                q += 1
            raise ParseError("syntax error: missing '))'")
        if src.startswith("(", p):
            sub = type(self)(src, p + 1)
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
                sub = type(self)(src, p + len(op))
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
        return CmdSub(type(self)("".join(text)).parse_program(), quoted)

    # ---- the grammar's entry points, which command substitutions recurse into (defined by _Parser)
    def parse_list(self, stop_words: set[str]) -> Seq:
        raise NotImplementedError

    def parse_program(self) -> Node:
        raise NotImplementedError
