"""An interactive command's pseudo-terminal (clusters/terminal/sandbox.py: Pty, KubectlRun with Command.tty).

A stand-in for kubectl (a small Python program, configured as PLAYGROUND["KUBECTL"]) reports what it sees:
whether its stdin and stdout are a terminal, the terminal's size, SIGWINCH after a resize, the keys it
reads in raw mode, and SIGINT from the terminal's line discipline (Ctrl-C before raw mode), which only
reaches it when the PTY is its controlling terminal.
"""
from __future__ import annotations

import asyncio
import sys
import textwrap

import pytest

from clusters.terminal import sandbox as sandbox_module
from clusters.terminal.confine import Confinement
from clusters.terminal.policy import Command
from clusters.terminal.sandbox import KubectlRun, Limits, Sandbox

FAKE_KUBECTL = textwrap.dedent('''\
    #!{python}
    import fcntl, os, signal, struct, sys, termios, tty

    def size():
        rows, cols, _, _ = struct.unpack("HHHH", fcntl.ioctl(1, termios.TIOCGWINSZ, b"\\0" * 8))
        return f"{{cols}}x{{rows}}"

    out = lambda text: (os.write(1, text.encode()), None)
    signal.signal(signal.SIGWINCH, lambda *_: out(f"[winch {{size()}}]\\r\\n"))
    mode = sys.argv[1]
    out(f"tty={{os.isatty(0)}},{{os.isatty(1)}} size={{size()}} env={{sorted(os.environ)}}\\n")
    if mode == "cooked":        # before raw mode: Ctrl-C is the terminal's, SIGINT
        signal.signal(signal.SIGINT, lambda *_: (out("[SIGINT]\\n"), sys.exit(130)))
        out("waiting\\n")
        signal.pause()
    tty.setraw(0)
    out("raw\\r\\n")
    while True:
        keys = os.read(0, 1024)
        if not keys or b"q" in keys:
            break
        out(f"[{{keys!r}}]\\r\\n")
    out("bye\\r\\n")
''')


@pytest.fixture
def fake_kubectl(tmp_path, settings, monkeypatch):
    path = tmp_path / "kubectl"
    path.write_text(FAKE_KUBECTL.format(python=sys.executable))
    path.chmod(0o755)
    settings.PLAYGROUND = {**settings.PLAYGROUND, "KUBECTL": str(path)}
    # A Python stand-in needs the interpreter and its library: only the rlimits of the confinement
    # (tests/web/test_terminal_confinement.py confines the real kubectl).
    monkeypatch.setattr(sandbox_module, "confinement", lambda sandbox: Confinement(
        sandbox=sandbox.root, executables=(), ids=None, landlock=False))
    sandbox = Sandbox(tmp_path, "token")
    return sandbox


LIMITS = Limits(one_shot_seconds=10, streaming_seconds=10, output_bytes=64 * 1024, processes_per_user=4,
                interrupt_grace_seconds=1)


async def session(sandbox, mode: str, script, *, size=(100, 30), lim: Limits = LIMITS) -> tuple[str, object]:
    """Start the fake kubectl on a PTY; `script(run, seen)` drives it (seen(text) waits for output)."""
    run = KubectlRun(Command((mode,), streaming=True, tty=True), sandbox, lim, size=size)
    output: list[str] = []
    changed = asyncio.Event()

    async def on_output(text: str) -> None:
        output.append(text)
        changed.set()

    async def seen(text: str) -> None:
        while text not in "".join(output):
            changed.clear()
            await asyncio.wait_for(changed.wait(), 5)

    task = asyncio.ensure_future(run.run(on_output))
    await script(run, seen)
    outcome = await asyncio.wait_for(task, 10)
    return "".join(output), outcome


def test_keys_reach_a_program_in_raw_mode_and_it_sees_a_terminal(fake_kubectl):
    async def script(run, seen):
        await seen("raw\r\n")
        run.send_input("ab\x03\x04")       # raw: Ctrl-C and Ctrl-D are plain bytes for the program
        await seen("[b'ab\\x03\\x04']")
        run.resize(120, 40)
        await seen("[winch 120x40]")
        run.send_input("q")

    output, outcome = asyncio.run(session(fake_kubectl, "raw", script))
    # the sandbox's environment, exactly
    assert output.startswith("tty=True,True size=100x30 env=['GOGC', 'GOMEMLIMIT', 'HOME', "
                             "'KUBECACHEDIR', 'KUBECONFIG', 'LANG', 'PATH', 'TMPDIR']\r\n")
    assert output.endswith("bye\r\n")
    assert (outcome.code, outcome.reason) == (0, None)


def test_ctrl_c_before_raw_mode_is_sigint_from_the_terminal(fake_kubectl):
    async def script(run, seen):
        await seen("waiting")
        run.send_input("\x03")

    output, outcome = asyncio.run(session(fake_kubectl, "cooked", script))
    assert "[SIGINT]" in output and (outcome.code, outcome.reason) == (130, None)


def test_the_time_limit_holds_for_a_session(fake_kubectl):
    async def script(run, seen):
        await seen("raw\r\n")

    quick = Limits(one_shot_seconds=1, streaming_seconds=1, output_bytes=64 * 1024, processes_per_user=4)
    output, outcome = asyncio.run(session(fake_kubectl, "raw", script, lim=quick))
    assert outcome.reason == "timeout"
    assert output.endswith("\r\n[stopped after 1 s: the terminal's time limit for an interactive session]\r\n")


def test_input_and_resize_without_a_terminal_go_nowhere(fake_kubectl):
    run = KubectlRun(Command(("raw",), tty=True), fake_kubectl, LIMITS)
    run.send_input("ignored")        # not started: nothing to write to, and no error
    run.resize(90, 20)               # kept: the size the terminal will start with
    assert run.size == (90, 20)

    async def script(run, seen):
        await seen("raw\r\n")
        run.send_input("q")

    output, outcome = asyncio.run(session(fake_kubectl, "raw", script, size=run.size))
    assert "size=90x20" in output and outcome.code == 0
