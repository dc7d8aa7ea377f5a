"""The simulated commands: busybox applets run against the virtual filesystem, clock and network.

A command is `(sh, argv, io, env) -> exit status`, with env the exported variables it was started with.
They cover what container scripts and `kubectl exec` use: sleep, file tools (cat, touch, rm, mkdir, ls,
tee), text tools (grep, wc, head, tail, sort, uniq, seq, expr, basename, dirname), the environment (env,
printenv, hostname, whoami, uname, date), the load generators of the resource tasks (stress, stress-ng,
`yes > /dev/null`, `dd if=/dev/zero of=/dev/null`: load.py, _Shell.hold); the network commands (wget,
curl, nslookup, dig, host, getent, nc, ping) are in netcommands.py, which reuses _parse_url and _REASONS
from here. _COMMANDS is the table the interpreter looks names up in (for names the image has). Messages
follow busybox word for word, because tutorials show them in `kubectl logs` and `kubectl describe`.
"""
from __future__ import annotations

import posixpath
import re
import time as _time
from collections.abc import Callable
from typing import TYPE_CHECKING

from .load import CORE, parse_stress
from .netcommands import NETWORK_COMMANDS, hosts_address
from .runtime import _IO, _Buffer, _Null, _Stop
from .world import _INFINITY, US

if TYPE_CHECKING:        # annotations only: the interpreter imports this module, not the other way round
    from .interpreter import _Shell


def _parse_duration(text: str) -> int | None:
    """busybox sleep: N[.frac] with optional s/m/h/d suffix, or 'infinity'. In µs; None if invalid."""
    if text in ("inf", "infinity"):
        return _INFINITY
    m = re.fullmatch(r"(\d*\.?\d*)([smhd]?)", text)
    if not m or m.group(1) in ("", "."):
        return None
    return round(float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)] * US)


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


def _gnu(sh: _Shell) -> bool:
    """Debian/Ubuntu images have GNU coreutils, whose messages differ from busybox's."""
    return "ash" not in sh.binaries


def _missing(sh: _Shell, cmd: str, name: str, why: str = "No such file or directory") -> str:
    """The message of a file tool that cannot open `name`, as busybox or GNU coreutils word it."""
    if not _gnu(sh):
        return f"{cmd}: can't open '{name}': {why}\n"
    if cmd in ("head", "tail"):
        return f"{cmd}: cannot open '{name}' for reading: {why}\n"
    return f"{cmd}: {name}: {why}\n"


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
            io.err.write(f"{cmd}: {f}: Is a directory\n" if _gnu(sh) else f"{cmd}: read error: Is a directory\n")
            status = 1
        else:
            io.err.write(_missing(sh, cmd, f))
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
        why = "No such file or directory" if posixpath.dirname(path) not in sh.dirs else sh.write_file(path, "")
        if why:
            io.err.write(f"touch: cannot touch '{f}': {why}\n" if _gnu(sh) else f"touch: {f}: {why}\n")
            status = 1
    return status


def _c_rm(sh: _Shell, argv: list[str], io: _IO, env: dict[str, str]) -> int:
    opts, files = _split_opts(argv[1:])
    force, recursive = "f" in opts, "r" in opts or "R" in opts
    status = 0
    for f in files:
        path = sh.abspath(f)
        why = None
        if path in sh.dirs:
            if not recursive:
                io.err.write(f"rm: cannot remove '{f}': Is a directory\n" if _gnu(sh)
                             else f"rm: '{f}' is a directory\n")
                status = 1
                continue
            why = sh.remove_path(path)
        elif path in sh.files:
            why = sh.remove_path(path)
        elif not force:
            why = "No such file or directory"
        if why:
            io.err.write(f"rm: cannot remove '{f}': {why}\n" if _gnu(sh) else f"rm: can't remove '{f}': {why}\n")
            status = 1
    return status


def _c_mkdir(sh: _Shell, argv: list[str], io: _IO, env: dict[str, str]) -> int:
    opts, dirs = _split_opts(argv[1:], with_value="m")
    status = 0
    for d in dirs:
        path = sh.abspath(d)
        cant = f"mkdir: cannot create directory '{d}': " if _gnu(sh) else f"mkdir: can't create directory '{d}': "
        if path in sh.dirs or path in sh.files:
            if "p" not in opts or path in sh.files:
                io.err.write(cant + "File exists\n")
                status = 1
            continue
        missing = []
        p = path
        while p not in sh.dirs:
            missing.append(p)
            p = posixpath.dirname(p)
        if len(missing) > 1 and "p" not in opts:
            io.err.write(cant + "No such file or directory\n")
            status = 1
            continue
        for m in reversed(missing):
            why = sh.make_dir(m)
            if why:
                io.err.write(cant + why + "\n")
                status = 1
                break
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
            io.err.write(f"ls: cannot access '{t}': No such file or directory\n" if _gnu(sh)
                         else f"ls: {t}: No such file or directory\n")
            status = 2 if _gnu(sh) else 1        # GNU ls: 2, "serious trouble"
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
        # gethostbyname(hostname): the kubelet's /etc/hosts names the pod's own IP
        entry = hosts_address(sh.files, sh.world.hostname)
        ip = entry[0] if entry else sh.vars.get("POD_IP") or (
            sh.world.resolve(sh.world.hostname, sh.start + sh.now / US) if sh.world.resolve else None)
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
    """(full url, host, port, path) with http:// assumed, as wget and curl do. The authority ends at the
    first "/", "?" or "#" (RFC 3986 3.2); a URL without a path asks for "/" (`http://svc?q` is `GET /?q`)."""
    if "://" not in url:
        url = "http://" + url
    scheme, _, rest = url.partition("://")
    end = next((i for i, c in enumerate(rest) if c in "/?#"), len(rest))
    hostport, tail = rest[:end], rest[end:]
    host, colon, port = hostport.rpartition(":") if ":" in hostport else (hostport, "", "")
    default = 443 if scheme == "https" else 80
    return url, host, int(port) if colon and port.isdigit() else default, tail if tail.startswith("/") else "/" + tail


_REASONS = {200: "OK", 201: "Created", 204: "No Content", 301: "Moved Permanently", 302: "Found",
            400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
            500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
            504: "Gateway Timeout"}


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
        io.err.write("BusyBox v1.36.1 (2023-05-18 22:34:17 UTC) multi-call binary.\n\n"
                     "Usage: grep [-HhnlLoqvsrRiwFE] [-m N] [-A|B|C N] { PATTERN | -e PATTERN... | -f FILE... } "
                     "[FILE]...\n")
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
    for _name, content in inputs:
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
        args = [a for a in argv if a not in ("-f", "-F")]
        status = _head_tail(sh, args, io, tail=True)
        names = [a for i, a in enumerate(args[1:], 1) if not a.startswith("-") and args[i - 1] != "-n"]
        if len(names) == 1 and (status == 0 or "-F" in argv[1:]):
            _follow(sh, names[0], io, retry="-F" in argv[1:])
        raise _Stop()                    # follows for good: blocked once nothing more is known to come
    return _head_tail(sh, argv, io, tail=True)


def _follow(sh: _Shell, name: str, io: _IO, *, retry: bool) -> None:
    """`tail -f`/`-F`: print what is added to the file as it is written from outside (another container
    writing into a shared volume, `kubectl exec`), at the instant it is (busybox's messages for -F)."""
    path = sh.abspath(name)
    last = sh.files.get(path)
    for when, _kind, changed, _content in list(sh.pending):
        if changed != path and not path.startswith(changed.rstrip("/") + "/"):
            continue
        if when > sh.now:
            sh.advance(when - sh.now)    # applies the change (and any before it)
        now = sh.files.get(path)
        if now == last:
            continue
        if now is None:
            if retry:
                io.err.write(f"tail: {name} has become inaccessible: No such file or directory\n")
        elif last is None:
            if not retry:
                continue
            io.err.write(f"tail: {name} has appeared; following end of new file\n")
            io.out.write(now)
        elif now.startswith(last):
            io.out.write(now[len(last):])
        else:
            io.err.write(f"tail: {name}: file truncated\n")
            io.out.write(now)
        last = now


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
            raise ValueError("non-integer argument") from None

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
    status = 0
    for f in files:
        path = sh.abspath(f)
        old = sh.files.get(path, "") if "a" in opts else ""
        why = "No such file or directory" if posixpath.dirname(path) not in sh.dirs else sh.write_file(path, old + data)
        if why:
            io.err.write(f"tee: {f}: {why}\n")
            status = 1
    return status


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


def _c_which(sh: _Shell, argv: list[str], io: _IO, env: dict[str, str]) -> int:
    """The first file of that name along $PATH (the image's tree has its binaries where they live)."""
    status = 0
    path_dirs = (env.get("PATH") or sh.vars.get("PATH") or "/usr/sbin:/usr/bin:/sbin:/bin").split(":")
    for name in [a for a in argv[1:] if not a.startswith("-")]:
        candidates = [name] if "/" in name else [posixpath.join(d or ".", name) for d in path_dirs]
        found = next((c for c in candidates if sh.abspath(c) in sh.files), None)
        if found is None:
            status = 1
        else:
            io.out.write(found + "\n")
    return status


def _c_true(sh: _Shell, argv: list[str], io: _IO, env: dict[str, str]) -> int:
    return 0


# ------------------------------------------------------------------ load generators (load.py, _Shell.hold)

_STRESS_PID = 7          # stress started by the container's shell (PID 1) is a child of it


def _c_stress(sh: _Shell, argv: list[str], io: _IO, env: dict[str, str]) -> int:
    """stress / stress-ng: dispatch the hogs, hold the machine until --timeout (or for good)."""
    run = parse_stress(posixpath.basename(argv[0]), argv[1:])
    if run.error is not None:
        io.err.write(run.error + "\n")
        return 1
    io.out.write(run.dispatch_line(_STRESS_PID) + "\n")
    sh.hold(run.cpu_millis, run.memory_bytes, run.timeout)
    io.out.write(run.completed_line(_STRESS_PID) + "\n")
    return 0


def _c_yes(sh: _Shell, argv: list[str], io: _IO, env: dict[str, str]) -> int:
    """yes: its line forever. Into a pipe, as much as the next command reads; anywhere else it spins a core."""
    line = (" ".join(argv[1:]) if len(argv) > 1 else "y") + "\n"
    if isinstance(io.out, _Buffer):
        io.out.write(line * 1000)           # the reader takes what it needs; yes dies of SIGPIPE
        return 0
    if not isinstance(io.out, _Null):
        io.out.write(line * 1000)
    sh.hold(CORE, 0, None)
    return 0


_ENDLESS_SOURCES = ("/dev/zero", "/dev/urandom", "/dev/random")


def _c_dd(sh: _Shell, argv: list[str], io: _IO, env: dict[str, str]) -> int:
    """dd from an endless source to /dev/null, without count=: copies forever, a core busy. Other copies
    are not simulated (reported like any command the shell lacks)."""
    operands = dict(a.split("=", 1) for a in argv[1:] if "=" in a)
    sink_null = operands.get("of") == "/dev/null" or ("of" not in operands and isinstance(io.out, _Null))
    if operands.get("if") in _ENDLESS_SOURCES and sink_null and "count" not in operands:
        sh.hold(CORE, 0, None)
        return 0
    io.err.write(sh.not_found(argv[0]))
    sh.note_unsupported("dd")
    return 127


_COMMANDS: dict[str, Callable[[_Shell, list[str], _IO, dict[str, str]], int]] = {
    "sleep": _c_sleep, "usleep": _c_usleep, "cat": _c_cat, "touch": _c_touch, "rm": _c_rm, "mkdir": _c_mkdir,
    "ls": _c_ls, "date": _c_date, "env": _c_env, "printenv": _c_printenv, "hostname": _c_hostname,
    "whoami": _c_whoami, "uname": _c_uname,
    "grep": _c_grep, "egrep": _c_grep, "wc": _c_wc, "head": _c_head, "tail": _c_tail, "seq": _c_seq,
    "expr": _c_expr, "basename": _c_basename, "dirname": _c_dirname, "tee": _c_tee, "sort": _c_sort,
    "uniq": _c_uniq, "which": _c_which, "stress": _c_stress, "stress-ng": _c_stress, "yes": _c_yes, "dd": _c_dd,
    **NETWORK_COMMANDS,
}
