"""Interactive shells (clusters/engine/kubelet/shell/session.py) and the kubelet's side of an attached
terminal (clusters/engine/kubelet/streams.py): state kept between typed commands, the line editor, a
`stdin: true` shell waiting for its terminal, and the terminal ending the container's program."""
from __future__ import annotations

import pytest

from clusters.engine.kubelet import images, streams
from clusters.engine.kubelet.shell import (
    LineEditor,
    ShellSession,
    ShellWorld,
    interrupted_exit_code,
    prompt,
    reads_commands,
)

from .conftest import T0, new_state, run

WORLD = ShellWorld(env={"HOSTNAME": "web", "HOME": "/root", "PATH": "/bin"}, files={"/etc/motd": "hi\n"},
                   hostname="web")


def typed(session: ShellSession, line: str, now: float = T0, horizon: float = 60) -> tuple[str, int | None]:
    """Run one typed line, commit it; (stdout + stderr in order, the shell's exit status if it exited)."""
    result = session.run(line, WORLD, now=now, until=now + horizon)
    assert result.finished, line
    session.commit(result)
    return "".join(text for _t, _stream, text in result.chunks), result.exit_code


# ---------------------------------------------------------------------------- the session's state
def test_working_directory_variables_and_functions_are_kept_between_lines():
    shell = ShellSession(["sh"], tty=True)
    assert typed(shell, "echo $HOSTNAME $PWD") == ("web /\n", None)
    assert typed(shell, "cd /tmp; pwd") == ("/tmp\n", None)
    assert typed(shell, "pwd") == ("/tmp\n", None)
    assert typed(shell, "X=5; export Y=6") == ("", None)
    assert typed(shell, "echo $X $Y; printenv Y; printenv X") == ("5 6\n6\n", None)
    assert typed(shell, "greet() { echo hello $1; }") == ("", None)
    assert typed(shell, "greet you") == ("hello you\n", None)
    assert typed(shell, "false") == ("", None)
    assert typed(shell, "echo $?") == ("1\n", None)
    assert typed(shell, "echo $TERM") == ("xterm\n", None)   # a process on a terminal gets TERM=xterm


def test_files_written_by_one_line_are_there_for_the_next():
    shell = ShellSession(["sh"])
    typed(shell, "mkdir -p /data && echo saved > /data/note")
    assert typed(shell, "cat /data/note; ls /data") == ("saved\nnote\n", None)
    assert typed(shell, "cat /etc/motd") == ("hi\n", None)
    typed(shell, "rm /etc/motd")
    assert typed(shell, "cat /etc/motd")[0] == "cat: can't open '/etc/motd': No such file or directory\n"


def test_files_kept_by_the_container_are_read_from_it():
    shell = ShellSession(["sh"])
    typed(shell, "echo mine > /tmp/x")
    shell.files_kept()                            # the caller persisted them: the container has them now
    kept = ShellWorld(env=WORLD.env, files={**WORLD.files, "/tmp/x": "changed since\n"}, hostname="web")
    result = shell.run("cat /tmp/x", kept, now=T0, until=T0 + 60)
    assert [text for _t, _s, text in result.chunks] == ["changed since\n"]


def test_a_run_changes_nothing_until_it_is_committed():
    shell = ShellSession(["sh"])
    result = shell.run("cd /tmp; Z=1", WORLD, now=T0, until=T0 + 60)
    assert shell.state.cwd == "/" and shell.state.vars is None
    shell.commit(result)
    assert shell.state.cwd == "/tmp" and shell.state.vars["Z"] == "1"


def test_exit_ends_the_shell_with_its_status():
    shell = ShellSession(["sh"])
    assert typed(shell, "echo bye; exit 3") == ("bye\n", 3)
    assert shell.exited == 3
    other = ShellSession(["sh"])
    typed(other, "false")
    assert typed(other, "exit") == ("", 1)          # `exit` alone: the last command's status
    errexit = ShellSession(["sh"])
    typed(errexit, "set -e")
    assert typed(errexit, "echo before; false; echo after") == ("before\n", 1)
    subshell = ShellSession(["sh"])
    assert typed(subshell, "(exit 4); echo $?") == ("4\n", None)


def test_output_carries_the_simulated_time_it_was_written():
    shell = ShellSession(["sh"])
    result = shell.run("echo a; sleep 2; echo b >&2; sleep 1", WORLD, now=T0, until=T0 + 60)
    assert result.chunks == [(T0, "stdout", "a\n"), (T0 + 2, "stderr", "b\n")]
    assert result.finished and result.end == T0 + 3


def test_a_command_still_running_at_the_horizon_is_unfinished():
    shell = ShellSession(["sh"])
    result = shell.run("while true; do date +%s; sleep 1; done", WORLD, now=T0, until=T0 + 4.5)
    assert not result.finished and result.end is None and result.exit_code is None
    assert [text for _t, _s, text in result.chunks] == [f"{int(T0) + i}\n" for i in range(5)]
    # Ctrl-C at T0 + 2: the status says so, nothing else of the command counts.
    shell.commit(result, upto=T0 + 2)
    assert shell.state.status == 130


def test_syntax_errors_are_reported_and_the_shell_goes_on():
    shell = ShellSession(["sh"])
    assert typed(shell, "echo a; fi") == ('sh: syntax error: unexpected "fi"\n', None)
    assert typed(shell, "echo $?") == ("2\n", None)


def test_complete_tells_an_unfinished_command_from_a_whole_one():
    shell = ShellSession(["sh"])
    for whole in ("echo a", "if true; then echo y; fi", "echo a; fi", "for i in 1 2\ndo echo $i; done"):
        assert shell.complete(whole), whole
    for open_ in ("if true; then", 'echo "abc', "for i in 1 2; do", "echo a |", "echo a &&", "echo $(ls",
                  "echo a \\"):
        assert not shell.complete(open_), open_


def test_prompts_as_each_image_shell_prints_them():
    assert prompt("sh", "web", "/", busybox=True) == "/ # "
    assert prompt("sh", "web", "/tmp", busybox=True) == "/tmp # "
    assert prompt("sh", "web", "/root", busybox=True) == "~ # "
    assert prompt("bash", "web", "/", busybox=False) == "root@web:/# "
    assert prompt("bash", "web", "/root/x", busybox=False) == "root@web:~/x# "
    assert prompt("sh", "web", "/", busybox=False) == "# "   # dash


def test_a_shell_with_a_ps1_prints_it():
    # radial/busyboxplus: its $ENV file exports a coloured PS1, the `[ root@curl:/ ]$ ` of its tutorials.
    plus = images.lookup("radial/busyboxplus:curl")
    shell = ShellSession(["sh"], tty=True, startup_env=plus.shell_env)
    colours = "\x1b[40m\x1b[34m[ \x1b[33mroot@curl:\x1b[32m{}\x1b[34m ]$\x1b[0m "
    assert shell.prompt("curl", busybox=True) == colours.format("/")
    assert typed(shell, "cd; printenv CLICOLOR") == ("1\n", None)      # exported, as the .bashrc does
    assert shell.prompt("curl", busybox=True) == colours.format("~")
    typed(shell, "PS1='\\h \\W> '")                  # the learner's own
    assert shell.prompt("curl", busybox=True) == "curl root> "
    assert ShellSession(["sh"], tty=True).prompt("web", busybox=True) == "/ # "


def test_an_interactive_bash_words_its_errors_without_a_line_number():
    world = ShellWorld(env={"HOSTNAME": "web", "PATH": "/bin"}, files={}, hostname="web",
                       binaries=frozenset({"bash", "sh", "ls"}))
    shell = ShellSession(["/bin/bash"], tty=True)
    result = shell.run("nosuch", world, now=T0, until=T0 + 5)
    assert "".join(text for _t, _s, text in result.chunks) == "bash: nosuch: command not found\n"
    script = ShellSession(["bash"])                   # `kubectl exec -i … -- bash` with a script: line numbers
    result = script.run("nosuch", world, now=T0, until=T0 + 5)
    assert "".join(text for _t, _s, text in result.chunks) == "bash: line 1: nosuch: command not found\n"


@pytest.mark.parametrize(("argv", "reads"), [
    (["sh"], True), (["/bin/sh", "-i"], True), (["busybox", "sh"], True), (["bash"], True), (["sh", "-s", "a"], True),
    (["sh", "-c", "echo"], False), (["bash", "script.sh"], False), (["busybox"], False), (["ls"], False), ([], False),
])
def test_reads_commands(argv, reads):
    assert reads_commands(argv) is reads


def test_reads_commands_needs_the_shell_in_the_image():
    assert not reads_commands(["bash"], frozenset({"sh", "ls"}))
    assert reads_commands(["bash"], frozenset({"bash", "sh"}))


def test_ctrl_c_ends_a_request_loop_cleanly_and_anything_else_with_130():
    assert interrupted_exit_code(["/bin/sh", "-c", "while sleep 0.01; do wget -q -O- http://php-apache; done"]) == 0
    assert interrupted_exit_code(["sh", "-c", "sleep 3600"]) == 130
    assert interrupted_exit_code(["nginx"]) == 130


# ---------------------------------------------------------------------------- line editing
def echoed(events) -> str:
    return "".join(text for kind, text in events if kind == "echo")


def test_editor_echoes_and_finishes_lines():
    editor = LineEditor()
    events = editor.feed("ls /\r")
    assert events == [("echo", "ls /\r\n"), ("line", "ls /")]
    assert editor.feed("a\r\nb\n") == [("echo", "a\r\n"), ("line", "a"), ("echo", "b\r\n"), ("line", "b")]


def test_editor_cursor_keys_and_deletions():
    editor = LineEditor()
    editor.feed("echo wrld")
    editor.feed("\x1b[D\x1b[D\x1b[D")          # ← ← ←: before "rld"
    assert editor.cursor == 6
    echo = echoed(editor.feed("o"))
    assert echo == "orld\x1b[K\b\b\b" and editor.text == "echo world"
    editor.feed("\x01")                          # Ctrl-A
    assert editor.cursor == 0
    editor.feed("\x1b[3~")                       # Delete
    assert editor.text == "cho world"
    editor.feed("\x05\x17")                      # Ctrl-E, Ctrl-W
    assert editor.text == "cho "
    editor.feed("\x7f\x7f")
    assert editor.text == "ch"
    editor.feed("\x15")                          # Ctrl-U
    assert editor.text == "" and editor.cursor == 0


def test_editor_history_and_control_keys():
    editor = LineEditor()
    editor.feed("one\rtwo\r")
    editor.feed("dra")
    assert echoed(editor.feed("\x1b[A")) == "\b\b\btwo\x1b[K"
    editor.feed("\x1b[A")
    assert editor.text == "one"
    editor.feed("\x1b[B\x1b[B")
    assert editor.text == "dra"                  # back to the draft
    assert editor.feed("\x03") == [("echo", "^C\r\n"), ("interrupt", "")]
    assert editor.text == ""
    assert editor.feed("\x04") == [("eof", "")]  # Ctrl-D on an empty line: end of input
    editor.feed("ab\x01")
    editor.feed("\x04")                          # on a line: delete under the cursor
    assert editor.text == "b"
    assert ("clear", "") in editor.feed("\x0c")


def test_editor_takes_an_escape_sequence_split_across_messages():
    editor = LineEditor()
    editor.feed("ab")
    editor.feed("\x1b")
    editor.feed("[")
    assert echoed(editor.feed("D")) == "\b"
    assert editor.cursor == 1


# ---------------------------------------------------------------------------- the kubelet's side
def interactive_pod(name: str, restart: str = "Never", **container) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
            "spec": {"restartPolicy": restart, "nodeName": "worker-1", "containers": [
                {"name": name, "image": "busybox:1.28", "args": ["sh"], "stdin": True, "stdinOnce": True,
                 "tty": True, **container}]}}


def fast_state():
    state = new_state()
    state.config["start_delays"] = False
    return state


def status_of(state, name: str) -> dict:
    return state.get("Pod", "default", name)["status"]


def test_a_shell_with_stdin_waits_for_its_terminal():
    state = fast_state()
    state.create(interactive_pod("box"))
    state.create({**interactive_pod("plain"), "spec": {**interactive_pod("plain")["spec"], "containers": [
        {"name": "plain", "image": "busybox:1.28", "args": ["sh"]}]}})
    run(state, T0 + 600)
    assert status_of(state, "box")["phase"] == "Running"
    assert status_of(state, "plain")["phase"] == "Succeeded"   # no stdin: sh reads end of file, exits 0
    target = streams.stream_target(state, state.get("Pod", "default", "box"), None)
    assert (target.interactive, target.stdin_once, target.tty, target.argv) == (True, True, True, ["sh"])


def test_the_terminal_ends_the_program_and_the_kubelet_terminates_the_container():
    state = fast_state()
    state.create(interactive_pod("box"))
    run(state, T0 + 5)
    assert streams.end_attached(state, state.get("Pod", "default", "box"), None, 3)
    run(state, T0 + 6)
    status = status_of(state, "box")
    assert status["phase"] == "Failed"
    terminated = status["containerStatuses"][0]["state"]["terminated"]
    assert (terminated["exitCode"], terminated["reason"]) == (3, "Error")
    assert not streams.end_attached(state, state.get("Pod", "default", "box"), None, 0)   # not running any more


def test_an_ended_shell_restarts_under_restart_policy_always():
    state = fast_state()
    state.create(interactive_pod("again", restart="Always"))
    run(state, T0 + 5)
    streams.end_attached(state, state.get("Pod", "default", "again"), None, 0)
    run(state, T0 + 10)
    container = status_of(state, "again")["containerStatuses"][0]
    assert container["restartCount"] == 1 and "running" in container["state"]
    assert container["lastState"]["terminated"]["exitCode"] == 0
    # The note belonged to the first run: the new shell waits for its terminal again.
    run(state, T0 + 600)
    assert status_of(state, "again")["containerStatuses"][0]["restartCount"] == 1


def test_ctrl_c_ends_a_looping_program_at_that_moment():
    state = fast_state()
    state.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "load", "namespace": "default"},
                  "spec": {"restartPolicy": "Never", "nodeName": "worker-1", "containers": [
                      {"name": "load", "image": "busybox:1.28", "stdin": True, "tty": True,
                       "command": ["/bin/sh", "-c", "while true; do echo tick; sleep 1; done"]}]}})
    run(state, T0 + 5)
    found = state.get("Pod", "default", "load")
    assert not streams.stream_target(state, found, None).interactive
    streams.end_attached(state, found, None, 0)
    run(state, T0 + 30)
    terminated = status_of(state, "load")["containerStatuses"][0]["state"]["terminated"]
    assert (terminated["exitCode"], terminated["reason"]) == (0, "Completed")
    assert status_of(state, "load")["phase"] == "Succeeded"
