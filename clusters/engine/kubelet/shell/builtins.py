"""The shell's builtins: commands the shell runs itself (echo, printf, test, read, set, cd, exit, eval, …).

A builtin is `(sh, argv, io) -> exit status`; it may change the shell's state (variables, positional
parameters, cwd, options) and raise the unwinding exceptions of runtime.py for exit/return/break/continue.
_BUILTINS is the table the interpreter looks names up in. Their messages follow busybox ash, the shell of
the images most tutorials use.
"""
from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from .parser import parse
from .runtime import _IO, _Break, _Continue, _Exit, _Return
from .syntax import ParseError

if TYPE_CHECKING:        # annotations only: the interpreter imports this module, not the other way round
    from .interpreter import _Shell


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
        raise ValueError(f"invalid number '{text}'") from None


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
