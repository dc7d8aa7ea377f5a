"""The terminal's kubectl is confined at the OS level (clusters/terminal/confine.py, used by sandbox.py),
whatever argv it is given: these tests bypass the policy and hand the terminal's runner (KubectlRun)
commands the policy would refuse, and check that the OS stops them.

* the server's files: `create secret generic x --from-file=/etc/shadow` (or a CA key, or a world-readable
  file outside the sandbox) fails with "permission denied" and nothing reaches the API;
* the network: `--server=https://127.0.0.1:PORT` for any port but the API's gets "permission denied"
  from connect(2), and nothing arrives on that port;
* the process: runs as nobody (uid 65534) when the tests run as root, with no_new_privs and the rlimits,
  on the one-shot path and on the terminal (PTY) path;
* the limits bite: a fork loop stops at RLIMIT_NPROC, an allocation at RLIMIT_DATA (kubectl itself cannot
  start with too little), a busy loop at RLIMIT_CPU, a large file at RLIMIT_FSIZE (shown with /bin/sh,
  run through the same confinement);
* without Landlock the server warns, and the user and the rlimits still hold.

The "API" is a TCP listener of the test's own that counts connections (no playground server needed).
Landlock-only assertions are skipped on a kernel without Landlock (ABI < 4 for the network rules);
assertions that rely on the user drop are skipped when the tests do not run as root.
"""
from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from clusters.terminal import confine
from clusters.terminal import sandbox as sandbox_module
from clusters.terminal.policy import Command, parse_command
from clusters.terminal.sandbox import KubectlRun, Limits, Sandbox, kubectl_path

ABI = confine.landlock_abi()
ROOT = os.geteuid() == 0
needs_landlock = pytest.mark.skipif(ABI < 1, reason="this kernel has no Landlock")
needs_landlock_net = pytest.mark.skipif(ABI < 4, reason="Landlock's TCP rules need ABI 4 (Linux 6.7)")
needs_root = pytest.mark.skipif(not ROOT, reason="the drop to nobody happens when the server runs as root")
pytestmark = pytest.mark.skipif(not Path(kubectl_path()).exists() if os.sep in kubectl_path() else
                                not shutil.which(kubectl_path()), reason="kubectl is not installed")

LIMITS = Limits(one_shot_seconds=20, streaming_seconds=20, output_bytes=256 * 1024, processes_per_user=4,
                interrupt_grace_seconds=0.5)
KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters: [{{name: c, cluster: {{server: "https://127.0.0.1:{port}", insecure-skip-tls-verify: true}}}}]
users: [{{name: u, user: {{token: not-a-real-token}}}}]
contexts: [{{name: c, context: {{cluster: c, user: u}}}}]
current-context: c
"""


class Listener:
    """A TCP port that accepts and counts connections, and says nothing (kubectl then waits or fails)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.accepted: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = self.sock.accept()
                self.connections += 1
                self.accepted.append(conn)

    def close(self) -> None:
        for conn in self.accepted:
            conn.close()
        self.sock.close()


@pytest.fixture
def api():
    listener = Listener()
    yield listener
    listener.close()


@pytest.fixture
def sandbox(api):
    box = Sandbox.make(KUBECONFIG.format(port=api.port), "not-a-real-token")
    box.write_files({"app.properties": "color=blue\n"})
    yield box
    shutil.rmtree(box.root, ignore_errors=True)


def run(sandbox: Sandbox, *args: str, tty: bool = False) -> tuple[str, int]:
    """kubectl ARGS through the terminal's runner, as the terminal runs it (policy bypassed)."""
    output: list[str] = []

    async def collect(text: str) -> None:
        output.append(text)

    outcome = asyncio.run(KubectlRun(Command(args, tty=tty, streaming=tty), sandbox, LIMITS).run(collect))
    return "".join(output), outcome.code


@pytest.fixture
def outside_file():
    """A world-readable file outside the sandbox (only Landlock keeps kubectl from it), with a secret."""
    directory = Path(tempfile.mkdtemp(prefix="kpg-outside-"))
    directory.chmod(0o755)
    path = directory / "ca.key"
    path.write_text("-----BEGIN PRIVATE KEY-----\nnot-really\n-----END PRIVATE KEY-----\n")
    path.chmod(0o644)
    yield path
    shutil.rmtree(directory)


def test_kubectl_works_confined_with_the_sandboxs_files(sandbox, api):
    output, code = run(sandbox, "version", "--client")
    assert code == 0 and "Client Version" in output
    output, code = run(sandbox, "create", "configmap", "x", "--from-file=app.properties", "--dry-run=client",
                       "-o", "yaml")
    assert code == 0 and "color=blue" in output, output


@pytest.mark.parametrize("path", ["/etc/shadow", "/etc/passwd", "ca-key", "/proc/1/environ"])
def test_reading_the_servers_files_is_denied(sandbox, api, outside_file, settings, path):
    if path == "ca-key":
        ca_key = Path(settings.PLAYGROUND["CA_DIR"]) / "ca.key"
        path = str(ca_key if ca_key.exists() else outside_file)
    if path in ("/etc/passwd", str(outside_file)) and ABI < 1:
        pytest.skip("world-readable: only Landlock denies it")
    if path == "/etc/shadow" and ABI < 1 and not ROOT:
        pytest.skip("neither Landlock nor the drop to nobody")
    assert parse_command(f"kubectl create secret generic x --from-file={path}", files=set()).__class__.__name__ \
        == "Refusal"   # the policy would refuse it; the OS must too
    output, code = run(sandbox, "create", "secret", "generic", "x", f"--from-file={path}")
    assert code == 1 and "permission denied" in output, output
    assert api.connections == 0   # kubectl failed before sending anything: no secret was created


@needs_landlock
def test_other_kubeconfigs_and_manifests_outside_the_sandbox_are_unreadable(sandbox, api, outside_file):
    output, code = run(sandbox, "apply", "-f", str(outside_file))
    assert code == 1 and "permission denied" in output, output
    output, code = run(sandbox, "get", "pods", f"--kubeconfig={outside_file}")
    assert code == 1 and "permission denied" in output, output
    assert api.connections == 0


@needs_landlock_net
def test_only_the_api_port_is_reachable(sandbox, api):
    other = Listener()
    try:
        for server in (f"https://127.0.0.1:{other.port}", "https://127.0.0.1:1", f"https://[::1]:{other.port}"):
            output, code = run(sandbox, "get", "pods", f"--server={server}", "--request-timeout=5s")
            assert code == 1 and "permission denied" in output, output   # connect(2): EACCES from Landlock
        assert other.connections == 0
        assert api.connections == 0
        run(sandbox, "get", "pods", "--request-timeout=1s")   # the API's port: the connection is made
        assert api.connections >= 1
    finally:
        other.close()


@needs_landlock
def test_nothing_but_kubectl_is_executed(tmp_path):
    """The rule set allows executing the given programs only (kubectl and diff for the terminal)."""
    box = Path(tempfile.mkdtemp(prefix="kpg-confine-"))
    try:
        sh_exec, sh_read = confine.support_files(["/bin/sh"])
        conf = confine.Confinement(sandbox=box, executables=sh_exec, readable=sh_read)
        result = confine.run_confined(["/bin/sh", "-c", "/bin/cat /etc/hostname; echo rc=$?"], conf)
        assert "Permission denied" in result.stderr and "rc=126" in result.stdout
    finally:
        shutil.rmtree(box)


def _status(pid: int) -> dict[str, str]:
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return {key: value.strip() for key, _, value in (line.partition(":") for line in lines)}


@pytest.mark.parametrize("tty", [False, True], ids=["one-shot", "terminal"])
def test_the_process_runs_unprivileged_with_limits(sandbox, api, tty):
    """Seen from outside, while kubectl waits for the silent API: its user, no_new_privs, its limits."""
    seen: dict = {}

    async def main() -> None:
        run = KubectlRun(Command(("get", "pods", "-w"), streaming=True, tty=tty), sandbox, LIMITS)

        async def collect(text: str) -> None:
            pass

        task = asyncio.ensure_future(run.run(collect))
        for _ in range(200):
            if run.process is not None and api.connections:
                break
            await asyncio.sleep(0.05)
        pid = run.process.pid
        seen["status"] = _status(pid)
        seen["limits"] = Path(f"/proc/{pid}/limits").read_text()
        run.interrupt()
        await asyncio.wait_for(task, 10)

    asyncio.run(main())
    uid = seen["status"]["Uid"].split()
    assert seen["status"]["NoNewPrivs"] == "1"
    if ROOT:
        assert uid == ["65534"] * 4 and seen["status"]["Gid"].split() == ["65534"] * 4
        assert seen["status"]["Groups"] == ""
    else:
        assert uid[0] == str(os.getuid())
    limits = {line[:26].strip(): line[26:].split() for line in seen["limits"].splitlines()[1:]}
    conf = sandbox_module.confinement(sandbox)
    assert limits["Max cpu time"][:2] == [str(conf.cpu_seconds), str(conf.cpu_seconds + 5)]
    assert limits["Max data size"][0] == str(conf.data_bytes)
    assert limits["Max file size"][0] == str(conf.file_bytes)
    assert limits["Max open files"][0] == str(conf.open_files)
    assert limits["Max processes"][0] != "unlimited"


@pytest.fixture
def shell_box():
    """A directory for /bin/sh to run confined in (nobody's, as the terminal's sandboxes are)."""
    box = Path(tempfile.mkdtemp(prefix="kpg-confine-"))
    if ids := confine.unprivileged_ids():
        os.chown(box, *ids)
    yield box
    shutil.rmtree(box, ignore_errors=True)


def _shell(box: Path, **limits) -> confine.Confinement:
    executables, readable = confine.support_files(["/bin/sh"])
    return confine.Confinement(sandbox=box, executables=executables, readable=readable, **limits)


def test_a_fork_loop_stops_at_the_process_limit(shell_box):
    """Each child blocks reading a pipe the test holds; forks fail once the user's tasks reach the limit."""
    read_end, write_end = os.pipe()
    conf = _shell(shell_box, task_allowance=16)
    script = ("exec 3<&0; i=0; while [ $i -lt 300 ]; do { read x <&3; } >/dev/null 2>&1 & "
              "i=$((i+1)); echo $i; done; echo all-forked")
    with conf.prepare() as prepared:
        process = subprocess.Popen(["/bin/sh", "-c", script], cwd=shell_box, env={}, stdin=read_end,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   start_new_session=True, preexec_fn=prepared.preexec, **prepared.popen_kwargs())
    os.close(read_end)
    try:
        out, err = process.communicate(timeout=30)
    finally:
        os.close(write_end)   # the children read EOF and exit
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    forked = int(out.split()[-1]) if out.split() and out.split()[-1].isdigit() else 0
    assert "all-forked" not in out and forked <= 16, (out[-200:], err)
    assert "fork" in err.lower(), err


def test_memory_is_limited(shell_box):
    script = 'x=$(printf "%0100000000d" 0); echo ${#x}'
    limited = confine.run_confined(["/bin/sh", "-c", script], _shell(shell_box, data_bytes=32 << 20))
    assert "Out of space" in limited.stderr and "100000000" not in limited.stdout
    control = confine.run_confined(["/bin/sh", "-c", script], _shell(shell_box))
    assert control.stdout.strip() == "100000000"


def test_kubectl_cannot_start_with_too_little_memory(sandbox, api, monkeypatch):
    confinement = sandbox_module.confinement
    monkeypatch.setattr(sandbox_module, "confinement",
                        lambda box: dataclasses.replace(confinement(box), data_bytes=24 << 20))
    output, code = run(sandbox, "version", "--client")
    assert code != 0 and "Client Version" not in output


def test_cpu_time_is_limited(shell_box):
    started = time.monotonic()
    result = confine.run_confined(["/bin/sh", "-c", "while :; do :; done"], _shell(shell_box, cpu_seconds=1))
    assert result.returncode in (-signal.SIGXCPU, -signal.SIGKILL)
    assert time.monotonic() - started < 15


def test_file_size_is_limited(shell_box):
    result = confine.run_confined(["/bin/sh", "-c", 'printf "%0100000d" 0 > big; echo wrote'],
                                  _shell(shell_box, file_bytes=4096))
    assert result.returncode == -signal.SIGXFSZ
    assert (shell_box / "big").stat().st_size <= 4096


def test_without_landlock_the_server_warns(monkeypatch, caplog):
    monkeypatch.setattr(confine, "landlock_abi", lambda: 0)
    with caplog.at_level(logging.WARNING, logger="clusters.terminal.sandbox"):
        assert sandbox_module._announce_confinement() == 0
    assert "no Landlock on this kernel" in caplog.text and "runs less confined" in caplog.text


@needs_root
def test_without_landlock_the_user_and_limits_still_hold(sandbox, api, monkeypatch):
    confinement = sandbox_module.confinement
    monkeypatch.setattr(sandbox_module, "confinement",
                        lambda box: dataclasses.replace(confinement(box), landlock=False))
    output, code = run(sandbox, "create", "secret", "generic", "x", "--from-file=/etc/shadow")
    assert code == 1 and "permission denied" in output, output
    assert api.connections == 0


def test_the_sandbox_never_writes_through_a_link(sandbox, tmp_path):
    """kubectl's user owns the directory: a link it left where an editor file goes is replaced, not followed."""
    target = tmp_path / "target"
    target.write_text("untouched")
    (sandbox.root / "web.yaml").symlink_to(target)
    sandbox.write_files({"web.yaml": "kind: Pod\n"})
    assert target.read_text() == "untouched"
    assert not (sandbox.root / "web.yaml").is_symlink()
    assert (sandbox.root / "web.yaml").read_text() == "kind: Pod\n"


def _through_confined_exec(box: Path, conf: confine.Confinement, script: str) -> subprocess.CompletedProcess:
    """As the terminal starts kubectl: confined_exec.py as the program, no preexec function, no user switch."""
    with conf.prepare() as prepared:
        return subprocess.run(prepared.command("/bin/sh", ["-c", script]), cwd=box, env={"PATH": "/bin"},
                              capture_output=True, text=True, timeout=30, start_new_session=True,
                              pass_fds=prepared.pass_fds)


def test_the_terminals_way_of_starting_applies_the_same_confinement(shell_box):
    done = _through_confined_exec(shell_box, _shell(shell_box, open_files=123),
                                  "ulimit -n; echo made > made; cat /etc/hostname")
    assert done.stdout.split()[0] == "123", (done.stdout, done.stderr)
    assert (shell_box / "made").read_text() == "made\n"   # its sandbox directory: writable
    if confine.unprivileged_ids():
        assert (shell_box / "made").stat().st_uid == confine.unprivileged_ids()[0]
    if sandbox_module.LANDLOCK_ABI >= 1:   # the server's files stay out of reach
        assert "Permission denied" in done.stderr and len(done.stdout.split()) == 1


def test_a_confinement_that_cannot_be_applied_never_runs_the_program(shell_box):
    conf = _shell(shell_box)
    with conf.prepare() as prepared:
        broken = dataclasses.replace(prepared, ruleset=987)   # not a rule set: landlock_restrict_self fails
        done = subprocess.run(broken.command("/bin/sh", ["-c", "echo ran > ran"]), cwd=shell_box, env={},
                              capture_output=True, text=True, timeout=30)
    assert done.returncode == 126 and "sh could not be started confined" in done.stderr, done.stderr
    assert not (shell_box / "ran").exists()
