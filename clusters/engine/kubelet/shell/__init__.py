"""The simulated container's shell: runs the small scripts tutorials put in `command`/`args`.

Pure standard-library Python. Nothing here keeps live state: a container's
program is REPLAYED from its start on a virtual clock whenever the kubelet asks
about it, up to the time asked about, with long steady loops jumped over
arithmetically (interpreter.py and steady.py tell how).

Wording follows busybox (the image most tutorials use): `cat: can't open
'/tmp/healthy': No such file or directory` appears verbatim in the exec-liveness
tutorial's `kubectl describe`, `wget: bad address 'x'`, `sh: foo: not found`.

The modules:

* world.py        what a script can reach (ShellWorld), what its replay reports (Run), files_at, the limits
* filesystem.py   the container's file system in layers: the image's Tree (shared), the kubelet's
                  ContainerFiles over it (mounts: read-only, capacities; changes made from outside)
* syntax.py       the syntax tree: words and their parts, commands, ParseError
* lexer.py        tokens and words: quoting and the `$…` substitutions, read on demand by the parser
* parser.py       the grammar (recursive descent) and the cached parse()
* arithmetic.py   `$((…))`
* runtime.py      what the interpreter shares with the commands it runs: unwinding exceptions, stdin and
                  output sinks, the journal's entry kinds
* expansion.py    word expansion: parameters, substitutions, field splitting, globbing (a mixin of _Shell)
* steady.py       steady-loop detection and the jump ahead (a mixin of _Shell)
* builtins.py     the shell's builtins (echo, printf, test, read, set, cd, exit, eval, …)
* commands.py     busybox applets simulated on the virtual filesystem, clock and network (sleep, cat, wget, …)
* load.py         what stress and stress-ng ask of the machine, by their arguments (commands.py, kubelet/program.py)
* interpreter.py  _Shell, which runs a tree and journals its effects, and the entry points run_program,
                  exec_command and exec_run
* session.py      an interactive shell (`kubectl exec -it … sh`, an attached `stdin: true` container): the
                  state kept between the commands typed, each run as its own replay; the shell's line editing

Imports point one way, towards the interpreter: filesystem, syntax, arithmetic and runtime import nothing
from the package, world only filesystem; the lexer builds on syntax, the parser on the lexer, the builtins
on the parser; the interpreter imports the rest, the builtin and command tables included, and nothing but
this file imports the interpreter (builtins and commands name _Shell in annotations only). Names with a
leading underscore are private to the package, shared between its modules; the names below are its public
interface.
"""
from __future__ import annotations

from .interpreter import exec_command, exec_run, run_program
from .session import (
    CONTINUATION_PROMPT,
    LineEditor,
    LineRun,
    ShellSession,
    interrupted_exit_code,
    prompt,
    reads_commands,
)
from .world import EXEC_TIMEOUT_EXIT, ShellWorld, files_at

__all__ = ["CONTINUATION_PROMPT", "EXEC_TIMEOUT_EXIT", "LineEditor", "LineRun", "ShellSession", "ShellWorld",
           "exec_command", "exec_run", "files_at", "interrupted_exit_code", "prompt", "reads_commands",
           "run_program"]
