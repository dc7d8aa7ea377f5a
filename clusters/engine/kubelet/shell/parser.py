"""The shell's parser: recursive descent over POSIX sh's grammar, building the tree in syntax.py.

The subset is what container commands use: lists with `;`, `&` and newlines, `&&`/`||`, pipelines with `!`,
if/elif/else, while/until, for, case, `{ …; }`, `( … )`, `name() …` functions, assignments before a command,
and redirections. Here-documents are refused with a ParseError that names the construct, so the kubelet can
report it. parse() caches trees by script text, because a container's script is replayed on every step.
"""
from __future__ import annotations

import re

from .lexer import _NAME_RE, _Lexer
from .syntax import (
    AndOr,
    Case,
    For,
    FuncDef,
    Group,
    If,
    Lit,
    Loop,
    Node,
    ParseError,
    Pipeline,
    Redir,
    Seq,
    Simple,
    Word,
)

_RESERVED = {"if", "then", "elif", "else", "fi", "while", "until", "do", "done", "for", "in", "case", "esac",
             "{", "}", "!"}
_ASSIGN_RE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=")


class _Parser(_Lexer):
    """Recursive descent over the source with an on-demand lexer (so `$(…)` can recurse into it)."""

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
