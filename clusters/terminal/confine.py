"""Confining a process at the OS level: the browser terminal's kubectl (no Django here).

The argv policy (policy.py) decides what kubectl is asked to do; this module bounds what the process can
do whatever it is asked, so that a flag the policy misses cannot read the server's files:

* **an unprivileged user**: a server running as root starts the child as `nobody` (uid/gid 65534, no
  supplementary groups); an unprivileged server's child keeps its user.
* **Landlock** (Linux ≥ 5.13; the rules used need ABI 4, Linux 6.7): the child reads, writes and lists
  only its sandbox directory, executes only the files it is given (kubectl; `diff` for `kubectl diff`)
  and reads only those, their libraries and /dev/null; it connects over TCP only to the given ports and binds
  none; from ABI 6 it can neither signal processes outside its domain nor reach abstract UNIX sockets.
  The rule set is made in the parent (`Confinement.prepare`) and applied in the child just before exec
  (confined_exec.apply, with `no_new_privs`), through ctypes syscalls: no compiled extension. The
  terminal's child is confined_exec.py run as a small program (`Prepared.command`: no fork of the server);
  tools and tests may use `Prepared.preexec` instead.
* **rlimits**: CPU seconds, data (the heap) and address space, processes (the target user's tasks now,
  plus an allowance: Go's threads count), file size and open files.

Without Landlock (an older kernel, a seccomp profile that denies it) `landlock_abi()` is 0, the caller
logs a warning and the child gets the user and the rlimits only.
"""
from __future__ import annotations

import ctypes
import os
import pwd
import resource
import shutil
import struct
import subprocess
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from clusters.terminal import confined_exec

# Landlock's syscalls (the same numbers on every architecture since they were added) and constants
# (include/uapi/linux/landlock.h).
SYS_LANDLOCK_CREATE_RULESET, SYS_LANDLOCK_ADD_RULE = 444, 445
LANDLOCK_CREATE_RULESET_VERSION = 1
LANDLOCK_RULE_PATH_BENEATH, LANDLOCK_RULE_NET_PORT = 1, 2

FS_EXECUTE, FS_WRITE_FILE, FS_READ_FILE, FS_READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
FS_REMOVE_DIR, FS_REMOVE_FILE, FS_MAKE_CHAR, FS_MAKE_DIR = 1 << 4, 1 << 5, 1 << 6, 1 << 7
FS_MAKE_REG, FS_MAKE_SOCK, FS_MAKE_FIFO, FS_MAKE_BLOCK = 1 << 8, 1 << 9, 1 << 10, 1 << 11
FS_MAKE_SYM, FS_REFER, FS_TRUNCATE, FS_IOCTL_DEV = 1 << 12, 1 << 13, 1 << 14, 1 << 15
NET_BIND_TCP, NET_CONNECT_TCP = 1 << 0, 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1

# The filesystem rights each ABI knows (a ruleset handles them all: what no rule allows is denied).
_FS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 4: (1 << 15) - 1, 5: (1 << 16) - 1}
# In the sandbox directory: everything but executing, devices, sockets, FIFOs and symlinks.
SANDBOX_RIGHTS = (FS_WRITE_FILE | FS_READ_FILE | FS_READ_DIR | FS_REMOVE_DIR | FS_REMOVE_FILE | FS_MAKE_DIR
                  | FS_MAKE_REG | FS_REFER | FS_TRUNCATE)
FILE_RIGHTS = FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_TRUNCATE | FS_IOCTL_DEV   # valid on a file

NOBODY = 65534

_libc = ctypes.CDLL(None, use_errno=True)
_syscall = _libc.syscall
_syscall.restype = ctypes.c_long


def landlock_abi() -> int:
    """The kernel's Landlock ABI version, 0 when it has none (or it is disabled)."""
    abi = _syscall(SYS_LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0),
                   ctypes.c_uint32(LANDLOCK_CREATE_RULESET_VERSION))
    return max(int(abi), 0)


def _check(result: int, what: str) -> int:
    if result < 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}")
    return result


def unprivileged_ids() -> tuple[int, int] | None:
    """(uid, gid) the child drops to: nobody's when this process is root, None when it isn't."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam("nobody")
        return entry.pw_uid, entry.pw_gid
    except KeyError:
        return NOBODY, NOBODY


def tasks_of(uid: int) -> int:
    """How many tasks (processes and threads: RLIMIT_NPROC counts both) the user has now."""
    count = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/status", "rb") as status:
                fields = dict(line.split(b":", 1) for line in status.read().splitlines() if b":" in line)
        except OSError:
            continue
        if int(fields.get(b"Uid", b"-1").split()[0]) == uid:
            count += int(fields.get(b"Threads", b"1"))
    return count


def elf_needs(program: str) -> list[str]:
    """The files a dynamically linked program loads (its interpreter and libraries, via ldd); [] if static."""
    ldd = shutil.which("ldd", path="/usr/bin:/bin")
    if not ldd:
        return []
    try:
        out = subprocess.run([ldd, program], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    needs = []
    for line in out.splitlines():
        for word in line.replace("=>", " ").split():
            if word.startswith("/"):
                needs.append(os.path.realpath(word))
    return needs


# The tasks (threads) one confined kubectl may need: Go starts a thread per blocked system call, a dozen or
# two in practice.
TASKS_PER_PROCESS = 128


@dataclass(frozen=True)
class Confinement:
    """What one confined process may touch and use."""

    sandbox: Path                            # read, write, list, create and remove beneath it
    executables: tuple[str, ...]             # may be executed (and read)
    readable: tuple[str, ...] = ()           # may be read (libraries an executable needs, /etc/ld.so.cache)
    connect_ports: tuple[int, ...] = ()      # TCP ports it may connect to
    ids: tuple[int, int] | None = field(default_factory=unprivileged_ids)   # (uid, gid) to drop to
    cpu_seconds: int = 120                   # RLIMIT_CPU (SIGXCPU, then SIGKILL 5 s later)
    data_bytes: int = 512 << 20              # RLIMIT_DATA: the heap (Go's arenas, malloc)
    address_space_bytes: int = 4 << 30       # RLIMIT_AS: Go reserves ~1 GiB of address space at start
    task_allowance: int = TASKS_PER_PROCESS  # RLIMIT_NPROC: the user's tasks now, plus this many
    tasks_now: int | None = None             # the user's tasks as the caller counted them lately (else counted)
    file_bytes: int = 64 << 20               # RLIMIT_FSIZE: kubectl's cache files
    open_files: int = 256                    # RLIMIT_NOFILE
    landlock: bool = True                    # False: user and rlimits only (tests, a kernel without it)

    def prepare(self) -> Prepared:
        """In the parent: the Landlock rule set (an fd the child applies) and the limits' values."""
        abi = landlock_abi() if self.landlock else 0
        ruleset = _ruleset(self, abi) if abi else -1
        uid = self.ids[0] if self.ids else os.getuid()
        limits = [(resource.RLIMIT_CPU, (self.cpu_seconds, self.cpu_seconds + 5)),
                  (resource.RLIMIT_DATA, (self.data_bytes, self.data_bytes)),
                  (resource.RLIMIT_AS, (self.address_space_bytes, self.address_space_bytes)),
                  (resource.RLIMIT_NPROC, ((tasks_of(uid) if self.tasks_now is None else self.tasks_now)
                                            + self.task_allowance,) * 2),
                  (resource.RLIMIT_FSIZE, (self.file_bytes, self.file_bytes)),
                  (resource.RLIMIT_NOFILE, (self.open_files, self.open_files)),
                  (resource.RLIMIT_CORE, (0, 0))]
        return Prepared(ruleset=ruleset, limits=limits, ids=self.ids, abi=abi)


@dataclass
class Prepared:
    """A confinement ready to apply in a child. Either start the program through `command()` (with
    `pass_fds`; no preexec function, no user switch: subprocess then uses vfork), or give subprocess
    `popen_kwargs()` and `preexec` (a fork of the whole parent: fine for tools and tests)."""

    ruleset: int
    limits: list[tuple[int, tuple[int, int]]]
    ids: tuple[int, int] | None
    abi: int

    def command(self, program: str, args: Sequence[str], *, tty: bool = False) -> list[str]:
        """The argv that runs `program` with `args` confined (confined_exec.py applies the confinement, then
        execs it). `tty`: it takes its stdin as controlling terminal first (a session of its own needed)."""
        return [sys.executable, "-I", "-S", confined_exec.__file__,
                *confined_exec.spec(self.ids, self.limits, self.ruleset, tty), program, *args]

    @property
    def pass_fds(self) -> tuple[int, ...]:
        """The descriptors `command()`'s process must inherit: the Landlock rule set it enters."""
        return (self.ruleset,) if self.ruleset >= 0 else ()

    def popen_kwargs(self) -> dict:
        """subprocess's own privilege drop (done in C after fork, before preexec_fn)."""
        if self.ids is None:
            return {}
        uid, gid = self.ids
        return {"user": uid, "group": gid, "extra_groups": []}

    def preexec(self) -> None:
        """In the child (after fork, already as the unprivileged user): limits, no_new_privs, Landlock.
        Any failure raises, and subprocess then refuses to run the program: never unconfined."""
        confined_exec.apply(self.ids, self.limits, self.ruleset, switch_user=False)

    def close(self) -> None:
        if self.ruleset >= 0:
            os.close(self.ruleset)
            self.ruleset = -1

    def __enter__(self) -> Prepared:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _ruleset(conf: Confinement, abi: int) -> int:
    """A Landlock rule set for `conf` (an fd, close-on-exec)."""
    handled_fs = _FS_BY_ABI.get(abi, _FS_BY_ABI[5])
    handled_net = NET_BIND_TCP | NET_CONNECT_TCP if abi >= 4 else 0
    scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if abi >= 6 else 0
    attr = struct.pack("QQQ", handled_fs, handled_net, scoped)
    size = 8 if abi < 4 else 16 if abi < 6 else 24
    fd = _check(_syscall(SYS_LANDLOCK_CREATE_RULESET, ctypes.c_char_p(attr[:size]), ctypes.c_size_t(size),
                         ctypes.c_uint32(0)), "landlock_create_ruleset")
    try:
        _allow_path(fd, conf.sandbox, SANDBOX_RIGHTS & handled_fs)
        for path in conf.executables:
            _allow_path(fd, path, (FS_EXECUTE | FS_READ_FILE) & handled_fs)
        for path in conf.readable:
            _allow_path(fd, path, FS_READ_FILE & handled_fs, missing_ok=True)
        # /dev/null: Go's os/exec (kubectl diff's diff) and sh's background jobs open it.
        _allow_path(fd, "/dev/null", (FS_READ_FILE | FS_WRITE_FILE) & handled_fs, missing_ok=True)
        if handled_net:
            for port in conf.connect_ports:
                rule = struct.pack("QQ", NET_CONNECT_TCP, port)
                _check(_syscall(SYS_LANDLOCK_ADD_RULE, ctypes.c_int(fd), ctypes.c_int(LANDLOCK_RULE_NET_PORT),
                                ctypes.c_char_p(rule), ctypes.c_uint32(0)), "landlock_add_rule (port)")
    except BaseException:
        os.close(fd)
        raise
    return fd


def _allow_path(ruleset: int, path: str | Path, rights: int, missing_ok: bool = False) -> None:
    try:
        target = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except FileNotFoundError:
        if missing_ok:
            return
        raise
    try:
        if not os.path.isdir(path):
            rights &= FILE_RIGHTS
        rule = struct.pack("=Qi", rights, target)   # struct landlock_path_beneath_attr is packed
        _check(_syscall(SYS_LANDLOCK_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(LANDLOCK_RULE_PATH_BENEATH),
                        ctypes.c_char_p(rule), ctypes.c_uint32(0)), f"landlock_add_rule ({path})")
    finally:
        os.close(target)


def support_files(programs: Iterable[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(executables, readable) for these programs: their real paths, and what dynamic ones load."""
    executables, readable = [], []
    for program in programs:
        real = os.path.realpath(program)
        if not os.path.exists(real):
            continue
        executables.append(real)
        needs = elf_needs(real)
        if needs:
            readable += [*needs, "/etc/ld.so.cache"]
            executables += needs[-1:] if "ld-linux" in needs[-1] else []   # the ELF interpreter: opened for exec
    return tuple(dict.fromkeys(executables)), tuple(dict.fromkeys(readable))


def run_confined(argv: list[str], conf: Confinement, *, env: dict[str, str] | None = None,
                 timeout: float = 30, extra_preexec: Callable[[], None] | None = None,
                 **kwargs) -> subprocess.CompletedProcess:
    """Run a program confined, synchronously (tests and tools; the terminal uses sandbox.KubectlRun)."""
    with conf.prepare() as prepared:
        def preexec() -> None:
            if extra_preexec:
                extra_preexec()
            prepared.preexec()
        return subprocess.run(argv, cwd=conf.sandbox, env=env or {}, timeout=timeout, preexec_fn=preexec,
                              capture_output=True, text=True, **prepared.popen_kwargs(), **kwargs)


def describe(abi: int | None = None) -> str:
    """One line on what the confinement will be on this machine (logged at start)."""
    abi = landlock_abi() if abi is None else abi
    user = "as nobody" if os.geteuid() == 0 else f"as this server's user (uid {os.getuid()})"
    if abi >= 4:
        return f"Landlock ABI {abi}: sandbox directory only, TCP to the API port only; {user}; rlimits"
    if abi:
        return (f"Landlock ABI {abi}: sandbox directory only, but no TCP rules (they need ABI 4, Linux 6.7); "
                f"{user}; rlimits")
    return f"no Landlock on this kernel: {user} and rlimits only"

