"""An interactive shell: what `kubectl exec -it POD -- sh` and an attached `stdin: true` container talk to.

A container has no live process (interpreter.py tells why), so an interactive shell is a series of
replays: each complete command typed is run on its own at the simulated time it was entered, starting
from the state the earlier ones left. A `ShellSession` keeps that state between commands — the working
directory, variables and which are exported, functions, `set -e`/`-x`, positional parameters, `$?` and
the files the session wrote — and `run` answers a `LineRun`: the output with the simulated time of each
piece (so a terminal can show `sleep 2; echo done` as it happens), whether the command finished by the
time asked about, and whether the shell exited (`exit 3`, `set -e`, `exec`). `run` changes nothing;
`commit` takes the run's state on, so a command can be replayed further (a loop still printing) before it
counts.

`LineEditor` is the shell's own line editing on a terminal (busybox ash's and bash's, which put the
terminal in raw mode and edit the line themselves): echo, ←/→, Home/End, ↑/↓ history, Backspace/Delete,
Ctrl-A/E/U/K/W/L, Ctrl-C (drop the line) and Ctrl-D (end of input on an empty line).

`reads_commands(argv)`: does this command line start a shell that reads its commands from stdin (`sh`,
`/bin/bash -i`), i.e. one that waits for a terminal rather than running a script and exiting?

`prompt(shell, hostname, cwd, busybox, ps1)` is the prompt each image's shell prints for root: busybox ash's
`\\w \\$ ` (`/ # `, `~ # `), Debian's bash `\\u@\\h:\\w\\$ ` (`root@web:/# `), dash's `# `; or the shell's PS1
when the image's startup file (radial/busyboxplus's `[ \\u@\\H:\\w ]$ `) or the learner set one.
"""
from __future__ import annotations

import dataclasses
import posixpath
import re
from dataclasses import dataclass, field

from .interpreter import _Shell
from .parser import parse
from .runtime import _FS_KINDS, _IO, _Exit, _Stop
from .syntax import Loop, Node, ParseError, Seq
from .world import MAX_STEPS, SHELLS, US, ShellWorld, _apply_fs

HOME = "/root"
CONTINUATION_PROMPT = "> "
_OUTPUT_KINDS = {"out": ("stdout", "\n"), "outp": ("stdout", ""), "err": ("stderr", "\n"), "errp": ("stderr", "")}
# What the parser says about a command that is not finished yet (the shell then asks for more with "> ").
_INCOMPLETE = ("end of file", "unterminated", "missing '))'", "missing '}'")


def shell_name(argv: list[str]) -> str:
    """The shell an argv starts: `sh` for ["/bin/sh"], `sh` for ["busybox", "sh"]."""
    if not argv:
        return "sh"
    name = posixpath.basename(argv[0])
    if name == "busybox" and len(argv) > 1:
        name = posixpath.basename(argv[1])
    return name


def reads_commands(argv: list[str], binaries: frozenset[str] | None = None) -> bool:
    """Whether argv starts a shell that takes its commands from stdin: no `-c` script and no script file.
    `binaries`: what the image has (None: busybox's applets), so a shell the image lacks never starts."""
    if not argv or posixpath.basename(argv[0]) not in (binaries if binaries is not None else SHELLS):
        return False
    args = list(argv[1:])
    if posixpath.basename(argv[0]) == "busybox":
        if not args:
            return False
        args = args[1:]
    if shell_name(argv) not in SHELLS - {"busybox"}:
        return False
    from_stdin = False
    while args and args[0].startswith(("-", "+")) and args[0] not in ("-", "--"):
        option = args.pop(0)
        if "c" in option[1:]:
            return False
        from_stdin = from_stdin or "s" in option[1:]
    if args and args[0] in ("-", "--"):
        args.pop(0)
    return from_stdin or not args      # `sh -s a b`: commands from stdin, a and b as $1 $2; `sh x.sh`: a file


_PS1_ESCAPE = re.compile(r"\\(\d{1,3}|.)", re.S)


def render_ps1(ps1: str, hostname: str, cwd: str) -> str:
    """A PS1 as busybox ash's and bash's line editors print it for root: \\u, \\h, \\H, \\w, \\W, \\$, octal
    escapes like \\033, \\e, \\n, \\\\; \\[ and \\] (the marks around invisible text) print nothing."""
    shown = "~" + cwd[len(HOME):] if cwd == HOME or cwd.startswith(HOME + "/") else cwd

    def escape(match: re.Match) -> str:
        code = match[1]
        if code.isdigit():
            return chr(int(code, 8) & 0xFF) if set(code) <= set("01234567") else code
        return {"u": "root", "h": hostname.split(".")[0], "H": hostname, "w": shown,
                "W": posixpath.basename(cwd) or "/", "$": "#", "e": "\x1b", "n": "\n", "\\": "\\",
                "[": "", "]": ""}.get(code, match[0])
    return _PS1_ESCAPE.sub(escape, ps1)


def prompt(shell: str, hostname: str, cwd: str, busybox: bool, ps1: str | None = None) -> str:
    """The shell's prompt for root in this working directory; `ps1`: the shell's PS1, when something set one."""
    if ps1 is not None:
        return render_ps1(ps1, hostname, cwd)
    shown = "~" + cwd[len(HOME):] if cwd == HOME or cwd.startswith(HOME + "/") else cwd
    if shell == "bash":
        return f"root@{hostname}:{shown}# "
    if busybox or shell == "ash":
        return f"{shown} # "
    return "# "


def interrupted_exit_code(argv: list[str]) -> int:
    """The exit status of a container's script when Ctrl-C reaches it through an attached terminal.

    The terminal sends SIGINT to its foreground processes: the running command dies. The shell is the
    container's PID 1, which the kernel does not let SIGINT kill, so it carries on with its script; a
    script that is one `while`/`until` loop (the autoscaling walkthrough's `while sleep 0.01; do wget …;
    done`) sees its condition command killed and ends with status 0. Any other program ends with 130
    (128 + SIGINT), as a shell reports a command killed by Ctrl-C.
    """
    script = None
    args = list(argv[1:])
    while args:
        option = args.pop(0)
        if option.startswith("-") and "c" in option[1:] and args:
            script = args[0]
            break
    if script is not None:
        try:
            tree = parse(script)
        except ParseError:
            return 130
        last = tree.items[-1][0] if isinstance(tree, Seq) and tree.items else tree
        if isinstance(last, Loop):
            return 0
    return 130


@dataclass
class ShellState:
    """What an interactive shell remembers between two commands."""
    cwd: str = "/"
    vars: dict[str, str] | None = None          # None: not started yet (the container's environment)
    exported: set[str] | None = None
    functions: dict[str, Node] = field(default_factory=dict)
    status: int = 0
    errexit: bool = False
    xtrace: bool = False
    positional: list[str] = field(default_factory=list)
    # The session's own file changes not kept by the container yet, in order: (kind, path, content) as in
    # Run.fs_events. The container's files are read afresh for each command; these go on top.
    fs_events: list[tuple[str, str, str | None]] = field(default_factory=list)


@dataclass
class LineRun:
    """One command's replay up to the time asked about."""
    chunks: list[tuple[float, str, str]]        # (time, "stdout" | "stderr", text), in order
    finished: bool                              # it ended by then (or the shell exited)
    end: float | None                           # when it ended
    exit_code: int | None                       # the shell itself exited, with this status
    state: ShellState                           # the shell after it (after the part replayed, if unfinished)
    fs_events: list[tuple[float, str, str, str | None]] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)


class ShellSession:
    """One interactive shell's state between the commands typed into it (see the module docstring)."""

    def __init__(self, argv: list[str] | None = None, *, tty: bool = False,
                 startup_env: tuple[tuple[str, str], ...] = ()) -> None:
        self.shell = shell_name(argv or ["sh"])
        self.tty = tty
        # Exported when the shell starts: an interactive shell (on a terminal) reads the file $ENV names.
        self.startup_env = dict(startup_env) if tty else {}
        self.state = ShellState()
        self.exited: int | None = None        # the shell's exit status once it has exited

    def complete(self, text: str) -> bool:
        """Whether `text` is a whole command; False while a quote, `if`, loop or `|`/`&&` is still open."""
        if text.endswith("\\") and not text.endswith("\\\\"):
            return False
        try:
            parse(text)
        except ParseError as error:
            return not any(marker in str(error) for marker in _INCOMPLETE)
        return True

    def files(self, initial: dict[str, str]) -> dict[str, str]:
        """The container's files with this session's changes on top."""
        files = initial.copy()      # a ContainerFiles stays one (the image's tree, mounts, changes from outside)
        for kind, path, content in self.state.fs_events:
            _apply_fs(files, kind, path, content)
        return files

    def run(self, text: str, world: ShellWorld, *, now: float, until: float) -> LineRun:
        """Replay `text` typed at `now`, up to `until`, from the session's state (which it does not change)."""
        world = dataclasses.replace(world, files=self.files(world.files))
        sh = _Shell(world, start=now, until=until, max_steps=MAX_STEPS)
        self._restore(sh)
        exit_code: int | None = None
        finished = True
        try:
            try:
                tree = parse(text)
            except ParseError as error:
                if error.unsupported:
                    sh.note_unsupported(error.unsupported)
                sh.stderr.write(f"{self.shell}: {error}\n")
                sh.status = 2
            else:
                try:
                    sh.run(tree, _IO(None, sh.stdout, sh.stderr))
                except _Exit as exited:
                    exit_code = exited.code
                    sh.status = exited.code
            if sh.now > sh.until:
                finished = False
        except _Stop:
            if sh.stop_note and sh.now <= sh.until:
                # Out of statements before the horizon: replaying further would stop at the same point.
                sh.stderr.write(f"{self.shell}: {sh.stop_note}\n")
                sh.status = 1
            else:
                finished = False
        chunks = []
        fs_events = []
        for t, kind, a, b in sh.journal:
            if t > sh.until:
                continue
            if kind in _OUTPUT_KINDS:
                stream, end = _OUTPUT_KINDS[kind]
                chunks.append((now + t / US, stream, a + end))
            elif kind in _FS_KINDS:
                fs_events.append((now + t / US, kind, a, b))
        state = ShellState(
            cwd=sh.cwd, vars=dict(sh.vars), exported=set(sh.exported), functions=dict(sh.functions),
            status=sh.status, errexit=sh.errexit, xtrace=sh.xtrace, positional=list(sh.positional),
            fs_events=self.state.fs_events + [(kind, path, content) for _t, kind, path, content in fs_events])
        return LineRun(chunks, finished, now + min(sh.now, sh.until) / US if finished else None,
                       exit_code if finished else None, state, fs_events, list(sh.unsupported))

    def _restore(self, sh: _Shell) -> None:
        state = self.state
        sh.use_shell(self.shell)
        sh.interactive = self.tty
        if state.vars is None:
            sh.vars.setdefault("PWD", "/")
            if self.tty:                         # the runtime gives a process on a terminal TERM=xterm
                sh.vars.setdefault("TERM", "xterm")
                sh.exported.add("TERM")
            sh.vars.update(self.startup_env)
            sh.exported.update(self.startup_env)
            return
        sh.vars, sh.exported = dict(state.vars), set(state.exported or ())
        sh.cwd, sh.functions, sh.status = state.cwd, dict(state.functions), state.status
        sh.errexit, sh.xtrace, sh.positional = state.errexit, state.xtrace, list(state.positional)

    def commit(self, line: LineRun, *, upto: float | None = None) -> None:
        """Take on the state a command left. `upto`: it was interrupted then — only its file changes up to
        that time count, and `$?` is 130 (the shell's status for a command killed by Ctrl-C)."""
        if upto is None:
            self.state = line.state
            if line.exit_code is not None:
                self.exited = line.exit_code
            return
        kept = [(kind, path, content) for t, kind, path, content in line.fs_events if t <= upto]
        self.state = dataclasses.replace(self.state, status=130, fs_events=self.state.fs_events + kept,
                                         vars=self.state.vars if self.state.vars is not None else line.state.vars,
                                         exported=self.state.exported if self.state.exported is not None
                                         else line.state.exported)

    def prompt(self, hostname: str, busybox: bool) -> str:
        variables = self.state.vars if self.state.vars is not None else self.startup_env
        return prompt(self.shell, hostname, self.state.cwd, busybox, variables.get("PS1"))

    def files_kept(self) -> None:
        """The container now holds the session's file changes itself (the caller persisted them): later
        commands read them from the container's files, with what anyone else wrote since."""
        self.state.fs_events = []


# ------------------------------------------------------------------------------------------ line editing
ERASE_TO_END = "\x1b[K"
BELL = "\x07"


class LineEditor:
    """The shell's line editing on a terminal. `feed(text)` takes what the terminal sent and answers events:
    ("echo", text to write back), ("line", the finished line), ("interrupt", "") for Ctrl-C,
    ("eof", "") for Ctrl-D on an empty line, ("clear", "") for Ctrl-L."""

    def __init__(self, history_limit: int = 500) -> None:
        self.text = ""
        self.cursor = 0
        self.history: list[str] = []
        self.history_limit = history_limit
        self._browse: int | None = None     # index into history while browsing with ↑/↓
        self._draft = ""
        self._escape = ""                   # an escape sequence still arriving
        self._after_cr = False

    # -------------------------------------------------------------- drawing helpers
    def _redraw_tail(self, start: int) -> str:
        """The terminal's cursor is at `start`: rewrite the line from there and put the cursor back."""
        tail = self.text[start:]
        return tail + ERASE_TO_END + "\b" * (len(self.text) - self.cursor)

    def _replace(self, text: str) -> str:
        back = "\b" * self.cursor
        self.text, self.cursor = text, len(text)
        return back + text + ERASE_TO_END

    def _move(self, cursor: int) -> str:
        cursor = max(0, min(len(self.text), cursor))
        if cursor < self.cursor:
            out = "\b" * (self.cursor - cursor)
        else:
            out = self.text[self.cursor:cursor]
        self.cursor = cursor
        return out

    def _word_start(self) -> int:
        i = self.cursor
        while i > 0 and self.text[i - 1] == " ":
            i -= 1
        while i > 0 and self.text[i - 1] != " ":
            i -= 1
        return i

    def _word_end(self) -> int:
        i = self.cursor
        while i < len(self.text) and self.text[i] == " ":
            i += 1
        while i < len(self.text) and self.text[i] != " ":
            i += 1
        return i

    # -------------------------------------------------------------- editing
    def _insert(self, chars: str) -> str:
        start = self.cursor
        self.text = self.text[:start] + chars + self.text[start:]
        self.cursor += len(chars)
        if self.cursor == len(self.text):
            return chars
        return chars + self._redraw_tail(self.cursor)

    def _delete_back(self, count: int = 1) -> str:
        count = min(count, self.cursor)
        if not count:
            return BELL
        start = self.cursor - count
        self.text = self.text[:start] + self.text[self.cursor:]
        self.cursor = start
        return "\b" * count + self._redraw_tail(start)

    def _delete_forward(self) -> str:
        if self.cursor >= len(self.text):
            return ""
        self.text = self.text[:self.cursor] + self.text[self.cursor + 1:]
        return self._redraw_tail(self.cursor)

    def _history(self, step: int) -> str:
        if not self.history:
            return BELL
        if self._browse is None:
            if step > 0:
                return BELL
            self._draft, self._browse = self.text, len(self.history)
        index = self._browse + step
        if index < 0:
            return BELL
        if index >= len(self.history):
            self._browse = None
            return self._replace(self._draft)
        self._browse = index
        return self._replace(self.history[index])

    def _finish(self) -> str:
        line = self.text
        if line.strip() and (not self.history or self.history[-1] != line):
            self.history.append(line)
            del self.history[:-self.history_limit]
        self.text, self.cursor, self._browse = "", 0, None
        return line

    def _sequence(self, seq: str) -> str:
        """An escape sequence: the cursor and editing keys; anything else is ignored."""
        if seq in ("\x1b[A", "\x1bOA"):
            return self._history(-1)
        if seq in ("\x1b[B", "\x1bOB"):
            return self._history(1)
        if seq in ("\x1b[C", "\x1bOC"):
            return self._move(self.cursor + 1)
        if seq in ("\x1b[D", "\x1bOD"):
            return self._move(self.cursor - 1)
        if seq in ("\x1b[H", "\x1bOH", "\x1b[1~", "\x1b[7~"):
            return self._move(0)
        if seq in ("\x1b[F", "\x1bOF", "\x1b[4~", "\x1b[8~"):
            return self._move(len(self.text))
        if seq == "\x1b[3~":
            return self._delete_forward()
        if seq in ("\x1bb", "\x1b[1;5D", "\x1b[1;3D"):
            return self._move(self._word_start())
        if seq in ("\x1bf", "\x1b[1;5C", "\x1b[1;3C"):
            return self._move(self._word_end())
        return ""

    def feed(self, data: str) -> list[tuple[str, str]]:
        events: list[tuple[str, str]] = []
        echo: list[str] = []

        def flush() -> None:
            if echo:
                events.append(("echo", "".join(echo)))
                echo.clear()

        for char in data:
            after_cr, self._after_cr = self._after_cr, False
            if self._escape:
                self._escape += char
                seq = self._escape
                # ESC x (Alt-x), ESC O x (SS3), ESC [ params final (CSI)
                if len(seq) == 2 and char not in "[O":
                    self._escape = ""
                    echo.append(self._sequence(seq))
                elif len(seq) == 3 and seq[1] == "O" or len(seq) > 2 and seq[1] == "[" and "\x40" <= char <= "\x7e":
                    self._escape = ""
                    echo.append(self._sequence(seq))
                elif len(seq) > 16:
                    self._escape = ""
                continue
            if char == "\x1b":
                self._escape = char
            elif char == "\r" or char == "\n":
                if char == "\n" and after_cr:
                    continue
                self._after_cr = char == "\r"
                echo.append("\r\n")
                flush()
                events.append(("line", self._finish()))
            elif char == "\x03":
                echo.append("^C\r\n")
                flush()
                self.text, self.cursor, self._browse = "", 0, None
                events.append(("interrupt", ""))
            elif char == "\x04":
                if not self.text:
                    flush()
                    events.append(("eof", ""))
                else:
                    echo.append(self._delete_forward())
            elif char in "\x7f\b":
                echo.append(self._delete_back())
            elif char == "\x01":
                echo.append(self._move(0))
            elif char == "\x05":
                echo.append(self._move(len(self.text)))
            elif char == "\x02":
                echo.append(self._move(self.cursor - 1))
            elif char == "\x06":
                echo.append(self._move(self.cursor + 1))
            elif char == "\x15":
                echo.append(self._delete_back(self.cursor))
            elif char == "\x0b":
                self.text = self.text[:self.cursor]
                echo.append(ERASE_TO_END)
            elif char == "\x17":
                echo.append(self._delete_back(self.cursor - self._word_start()))
            elif char == "\x10":
                echo.append(self._history(-1))
            elif char == "\x0e":
                echo.append(self._history(1))
            elif char == "\x0c":
                flush()
                events.append(("clear", ""))
            elif char == "\t":
                echo.append(BELL)           # no completion in the simulated shell
            elif char >= " ":
                echo.append(self._insert(char))
        flush()
        return [(kind, text) for kind, text in events if kind != "echo" or text]

    def redraw(self) -> str:
        """The line being typed with the cursor where it is (after a prompt is printed again)."""
        return self.text + "\b" * (len(self.text) - self.cursor)
