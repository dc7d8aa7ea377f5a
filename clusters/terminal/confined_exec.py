"""The confined process's first moments: what runs in the child between the fork and kubectl's exec.

`apply()` is the confinement itself (confine.py explains it): drop to the unprivileged user, lower the
rlimits, set no_new_privs, enter the Landlock domain. confine.Prepared.preexec runs it in a forked child
(`run_confined`, tools and tests). The terminal instead starts this file as a small program,

    python -I -S confined_exec.py IDS LIMITS RULESET TTY PROGRAM [ARG...]

(IDS "uid:gid" or "-"; LIMITS "resource=soft:hard,…"; RULESET a Landlock rule set's fd or -1; TTY "1" to take
stdin as controlling terminal first), which applies them and then execs PROGRAM (spec() writes the four
fields). Why a program: a preexec function (or a user switch) makes `subprocess` fork the whole server, page
tables and all, while the server holds the GIL and its event loop waits — about 20 ms for a 300 MB server,
55 ms for 900 MB, on every terminal command. Without them it uses vfork, a fraction of a millisecond
whatever the server's size, and this program's own start (~12 ms of CPU, in its own process) is all that is
left. It imports nothing but what the confinement needs (not even json: its import alone took 15 ms).
"""
from __future__ import annotations

import ctypes
import os
import resource
import sys

SYS_LANDLOCK_RESTRICT_SELF = 446
PR_SET_NO_NEW_PRIVS = 38


def apply(ids: tuple[int, int] | list[int] | None, limits, ruleset: int, *, switch_user: bool) -> None:
    """Confine this process. `switch_user`: drop to `ids` here (subprocess did it already for a preexec).
    Any failure raises: the caller must then not exec the program (never unconfined)."""
    if switch_user and ids is not None:
        uid, gid = ids
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
    for limit, values in limits:
        hard = resource.getrlimit(limit)[1]   # an unprivileged process can only lower it
        resource.setrlimit(limit, tuple(v if hard == resource.RLIM_INFINITY else min(v, hard) for v in values))
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    libc.syscall.restype = ctypes.c_long
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
    if ruleset >= 0 and libc.syscall(SYS_LANDLOCK_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0)) < 0:
        code = ctypes.get_errno()
        raise OSError(code, f"landlock_restrict_self: {os.strerror(code)}")


def spec(ids: tuple[int, int] | None, limits, ruleset: int, tty: bool) -> list[str]:
    """The four fields main() reads, for this confinement."""
    return ["-" if ids is None else f"{ids[0]}:{ids[1]}",
            ",".join(f"{limit}={soft}:{hard}" for limit, (soft, hard) in limits), str(ruleset), "1" if tty else "0"]


def main(argv: list[str]) -> None:
    ids_field, limits_field, ruleset_field, tty_field, program = argv[1:6]
    args = argv[5:]
    try:
        if tty_field == "1":   # after setsid (start_new_session): stdin, the PTY, becomes the controlling terminal
            import fcntl
            import termios
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)
        ids = None if ids_field == "-" else tuple(int(part) for part in ids_field.split(":"))
        limits = []
        for item in filter(None, limits_field.split(",")):
            limit, values = item.split("=")
            limits.append((int(limit), tuple(int(value) for value in values.split(":"))))
        ruleset = int(ruleset_field)
        apply(ids, limits, ruleset, switch_user=True)
        if ruleset >= 0:
            os.close(ruleset)   # the domain is entered; the program has no use for the rule set
        os.execve(program, args, os.environ)
    except (OSError, ValueError) as error:
        os.write(2, f"terminal: {os.path.basename(program)} could not be started confined: {error}\n".encode())
        os._exit(126)


if __name__ == "__main__":
    main(sys.argv)
