"""What `kubectl exec` and `kubectl attach` streams need from the kubelet, beyond one-shot exec (logs.py).

* `stream_target`: the running container a stream opens on — its name, hostname, shell, whether its
  program is a shell waiting on an open stdin (`stdin: true` with `sh`), `stdinOnce`, `tty`.
* `shell_world`: the world a command typed into an interactive shell reaches at state.now (the same one a
  one-shot exec gets: Program.exec_world).
* `end_attached`: the attached terminal ended the container's program — its shell ran `exit 3`, its
  stdin reached end of file, or Ctrl-C interrupted it — at state.now with an exit status. It is a note in
  the container's record (state.sim(pod)["c"][name]["ended"] = [code, at, start]); the kubelet's next pass
  sees the program exit then (`ended_by_terminal`) and the container terminates as any program's would:
  restartPolicy, phase, `kubectl run --rm` waiting for the pod to complete.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..state import ClusterState
from . import shell
from .program import ProgramRun

# logs.py builds on lifecycle.py, which uses ended_by_terminal: the stream functions import it when called.


@dataclass
class StreamTarget:
    container: str
    hostname: str
    busybox: bool          # busybox's ash prompt (`/ # `) rather than bash's or dash's
    argv: list[str]        # the program the container runs
    interactive: bool      # a shell reading its commands from the container's stdin
    stdin_once: bool
    tty: bool
    start: float           # when this run of the container started (a restart is another shell)
    binaries: frozenset[str] | None = None   # the commands its image has (None: busybox's)
    shell_env: tuple[tuple[str, str], ...] = ()   # what an interactive shell of its image sets at start (PS1)


def stream_target(state: ClusterState, pod: dict, container: str | None) -> StreamTarget:
    """The running container a stream opens on; ContainerNotFound (or logs.ContainerError) otherwise."""
    from .logs import running_program

    name, program, _run = running_program(state, pod, container)
    spec = next((c for c in (pod.get("spec") or {}).get("containers") or [] if c.get("name") == name), {})
    return StreamTarget(name, program.world.env.get("HOSTNAME", pod["metadata"]["name"]),
                        "ash" in (program.image.binaries or {"ash"}), list(program.argv), program.interactive,
                        bool(spec.get("stdinOnce")), bool(spec.get("tty")), program.start,
                        program.image.binaries or None, program.image.shell_env)


def shell_world(state: ClusterState, pod: dict, container: str | None) -> shell.ShellWorld:
    """What a command typed into a shell in this running container reaches at state.now."""
    from .logs import running_program

    _name, program, run = running_program(state, pod, container)
    return program.exec_world(state.now, run)


def end_attached(state: ClusterState, pod: dict, container: str | None, code: int) -> bool:
    """Note that the attached terminal ended the container's program at state.now with `code`.
    False when the container is not running (any more)."""
    from .logs import ContainerNotFound, running_program

    try:
        name, program, _run = running_program(state, pod, container)
    except ContainerNotFound:
        return False
    record = state.sim(pod).get("c", {}).get(name)
    if record is None or record.get("st") != "run":
        return False
    record["ended"] = [int(code) & 0xFF, state.now, program.start]
    state.sim(pod).pop("quiet", None)   # the kubelet's next pass must look at this pod (lifecycle.reconcile)
    return True


def ended_by_terminal(run: ProgramRun, record: dict) -> ProgramRun:
    """The program's run with the end an attached terminal gave it (end_attached), when that came first."""
    ended = record.get("ended")
    if not ended or ended[2] != record.get("start"):
        return run
    code, at, _start = ended
    if run.exited and run.exit_time is not None and run.exit_time <= at:
        return run
    return dataclasses.replace(run, exited=True, exit_code=code, exit_time=at,
                               reason="Completed" if code == 0 else "Error", next_event=None,
                               logs=[line for line in run.logs if line[0] <= at])
