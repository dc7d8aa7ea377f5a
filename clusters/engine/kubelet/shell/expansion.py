"""Word expansion: what a parsed word becomes before a command sees it.

Parameters (`$x`, `${x:-default}`, `${x#prefix}` and the other forms), command substitution, arithmetic,
then field splitting of unquoted results and pathname expansion (globbing against the virtual filesystem).
Case patterns and `${x#pattern}` keep quoted characters literal (expand_pattern).

_Expansion is a mixin of the interpreter's _Shell: it uses the shell's variables (get_var, is_set, vars,
positional), its condition bookkeeping (cond_depth, cond_log), its filesystem (files, dirs, cwd), stderr,
and run/subshell/status for command substitution.
"""
from __future__ import annotations

import fnmatch
import posixpath

from .arithmetic import _arith, _ArithError
from .runtime import _IO, _Buffer, _Exit
from .syntax import Arith, CmdSub, Lit, Node, Param, Word


def _looks_like_glob(text: str) -> bool:
    # `[` alone (the test command) or `a]` are no patterns; only try the filesystem for real ones.
    return "*" in text or "?" in text or ("[" in text and "]" in text[text.index("["):])


class _Expansion:
    """Expanding words into fields (mixed into _Shell)."""

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
                raise _Exit(2) from e
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
