"""The simulated container shell: replayed scripts, busybox wording, steady loops extrapolated."""
from __future__ import annotations

import time

import pytest

from clusters.engine.kubelet.shell import EXEC_TIMEOUT_EXIT, ShellWorld, exec_command, exec_run, files_at, run_program

NS_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"


def world(**kw) -> ShellWorld:
    kw.setdefault("env", {"HOSTNAME": "pod-1", "GREETING": "Hello"})
    kw.setdefault("files", {"/etc/hostname": "pod-1\n", NS_FILE: "default"})
    kw.setdefault("hostname", "pod-1")
    return ShellWorld(**kw)


def sh(script: str, until: float = 1000, start: float = 0.0, w: ShellWorld | None = None):
    return run_program(["/bin/sh", "-c", script], w or world(), start=start, until=until)


def out(run) -> list[str]:
    return [line for _t, _s, line in run.logs]


# ---------------------------------------------------------------- the exec-liveness tutorial

LIVENESS = ["/bin/sh", "-c", "touch /tmp/healthy; sleep 30; rm -f /tmp/healthy; sleep 600"]


def test_exec_liveness_file_exists_for_30_seconds():
    w = world()
    run = run_program(LIVENESS, w, start=100.0, until=110.0)
    assert not run.exited and run.exit_code is None
    assert run.fs_events == [(100.0, "write", "/tmp/healthy", "")]
    assert run.next_event == 130.0 and run.next_change == 130.0      # the rm
    run = run_program(LIVENESS, w, start=100.0, until=200.0)
    assert [e[:3] for e in run.fs_events] == [(100.0, "write", "/tmp/healthy"), (130.0, "remove", "/tmp/healthy")]
    assert run.next_event == 730.0                                    # the shell exits after sleep 600
    assert "/tmp/healthy" in files_at(run, w.files, 129.0)
    assert "/tmp/healthy" not in files_at(run, w.files, 131.0)
    assert files_at(run, w.files, 131.0)[NS_FILE] == "default"
    run = run_program(LIVENESS, w, start=100.0, until=730.0)
    assert run.exited and run.exit_code == 0 and run.exit_time == 730.0 and run.next_event is None


def test_exec_probe_cat_healthy():
    w = world()
    run = run_program(LIVENESS, w, start=0.0, until=40.0)
    live = world(files=files_at(run, w.files, 10.0))
    assert exec_command(["cat", "/tmp/healthy"], live, now=10.0) == (0, "", "")
    dead = world(files=files_at(run, w.files, 35.0))
    assert exec_command(["cat", "/tmp/healthy"], dead, now=35.0) == (
        1, "", "cat: can't open '/tmp/healthy': No such file or directory\n")


def test_exec_command_output_and_timeout():
    w = world(files={"/config/app.properties": "a=1\nb=2\n"})
    assert exec_command(["sh", "-c", "cat /config/app.properties | wc -l"], w, now=5.0) == (0, "2\n", "")
    assert exec_command(["printenv", "GREETING"], w, now=5.0) == (0, "Hello\n", "")
    code, stdout, stderr = exec_command(["sleep", "100"], w, now=5.0, timeout=1)
    assert code == EXEC_TIMEOUT_EXIT and stderr == 'command "sleep 100" timed out'
    code, _o, stderr = exec_command(["nosuch"], w, now=5.0)
    assert code == 126 and 'exec: "nosuch": executable file not found in $PATH' in stderr
    code, _o, _e, run = exec_run(["touch", "/tmp/x"], w, now=5.0)
    assert code == 0 and run.fs_events == [(5.0, "write", "/tmp/x", "")]


# ---------------------------------------------------------------- language

def test_echo_and_exit_code():
    run = sh("echo Hello; sleep 3600", until=10)
    assert out(run) == ["Hello"] and not run.exited and run.next_event == 3600.0
    run = sh("for i in 1 2 3; do echo $i; done; exit 3")
    assert out(run) == ["1", "2", "3"] and run.exited and run.exit_code == 3 and run.exit_time == 0.0
    run = sh("echo The app is running! && sleep 3600", until=4000)
    assert out(run) == ["The app is running!"] and run.exit_code == 0 and run.exit_time == 3600.0
    assert out(sh("echo -n a; echo b; echo -e 'x\\ty'")) == ["ab", "x\ty"]
    assert out(sh("printf '%s-%d\\n' a 5 b 6")) == ["a-5", "b-6"]
    assert sh("false").exit_code == 1 and sh("true").exit_code == 0 and sh("exit 300").exit_code == 44


def test_control_flow():
    script = """
    n=0
    while [ $n -lt 3 ]; do n=$((n+1)); done
    until [ $n -eq 5 ]; do n=$((n + 1)); done
    if [ $n -gt 10 ]; then echo big; elif [ $n -eq 5 ]; then echo five; else echo other; fi
    for w in a "b c" d; do echo "[$w]"; done
    case $n in 1|2) echo low;; 5) echo exact;; *) echo high;; esac
    f() { echo "fn $1 $#"; return 4; }
    f x y; echo "status $?"
    [ -z "$UNSET" ] && echo empty || echo full
    test -n "$GREETING" -a "$GREETING" = Hello && echo greet
    for i in 1 2 3 4; do [ $i -eq 2 ] && continue; [ $i -eq 4 ] && break; echo i$i; done
    """
    assert out(sh(script)) == ["five", "[a]", "[b c]", "[d]", "exact", "fn x 2", "status 4", "empty", "greet",
                               "i1", "i3"]


def test_expansions():
    script = """
    x=5; y="a  b"
    echo $((x * 2 + 1)) $(( (x + 3) / 2 )) $((x % 3)) $((x > 3 && x < 10))
    echo "$(echo inner $(echo nested))" `echo back`
    echo ${x} ${UNSET:-dflt} ${#y} "${y}" $y
    h=web-2; echo ${h##*-} ${h%-*}
    echo '$x' "\\$x" a\\ b
    set -- p q r; echo $# $2 "$@"
    echo "$(cat /var/run/secrets/kubernetes.io/serviceaccount/namespace)"
    """
    assert out(sh(script)) == ["11 4 2 1", "inner nested back", "5 dflt 4 a  b a b", "2 web", "$x $x a b",
                               "3 q p q r", "default"]


def test_pipes_redirections_and_files():
    script = """
    mkdir -p /data/logs
    echo one > /data/f; echo two >> /data/f; echo three >> /data/f
    cat /data/f | grep -v two | wc -l
    grep -c o /data/f
    head -n 1 /data/f; tail -1 /data/f
    ls /data
    cat /missing 2>&1 | grep -q "can't open" && echo redirected
    cat /missing 2>/dev/null || echo failed $?
    seq 3 | sort -r | tr -d x 2>/dev/null; seq 2 4
    cd /data && pwd && ls
    rm -r /data; ls /data
    """
    run = sh(script)
    assert out(run) == ["2", "2", "one", "three", "f", "logs", "redirected", "failed 1",
                        "2", "3", "4", "/data", "f", "logs", "ls: /data: No such file or directory"]
    assert ("stderr", "ls: /data: No such file or directory") in [(stream, line) for _t, stream, line in run.logs]
    assert "tr" in run.unsupported
    assert files_at(run, {}, 0.0).get("/data/f") is None
    mid = run_program(["sh", "-c", "echo hi > /tmp/a; sleep 5; echo bye > /tmp/a"], world(), start=0, until=10)
    assert files_at(mid, {}, 2)["/tmp/a"] == "hi\n" and files_at(mid, {}, 6)["/tmp/a"] == "bye\n"
    assert sh("echo x > /nodir/f").exit_code == 1
    assert out(sh("echo x > /nodir/f")) == ["/bin/sh: can't create /nodir/f: nonexistent directory"]


def test_date_hostname_env():
    run = sh("date; date +%Y-%m-%dT%H:%M:%S; date +%s; hostname", start=1795317454.0, until=1795317455.0)
    assert out(run) == ["Sun Nov 22 03:17:34 UTC 2026", "2026-11-22T03:17:34", "1795317454", "pod-1"]
    run = run_program(["printenv"], world(), start=0, until=1)
    assert out(run) == ["HOSTNAME=pod-1", "GREETING=Hello"] and run.exit_code == 0
    assert out(run_program(["sleep", "3600"], world(), start=0, until=1)) == []
    assert run_program(["sleep", "3600"], world(), start=0, until=1).next_event == 3600.0
    assert out(run_program(["echo", "hi"], world(), start=0, until=1)) == ["hi"]
    assert out(sh("export NEW=1; env | grep NEW; FOO=bar printenv FOO")) == ["NEW=1", "bar"]


def test_unknown_commands_and_syntax_errors():
    run = sh("foo --bar; echo after $?")
    assert out(run) == ["/bin/sh: foo: not found", "after 127"] and run.unsupported == ["foo"]
    run = sh("awk '{print $1}' /etc/hostname; exit")
    assert run.exit_code == 127 and run.unsupported == ["awk"]
    run = sh("curl -s http://x")        # busybox has no curl
    assert out(run) == ["/bin/sh: curl: not found"] and run.exit_code == 127
    run = sh("if true; then echo x")
    assert run.exit_code == 2 and out(run) == ['sh: syntax error: unexpected end of file (expecting "fi")']
    run = sh("cat <<EOF\nhi\nEOF\n")
    assert run.exit_code == 2 and "here-document (<<)" in run.unsupported
    # An image without a shell cannot start a shell script at all.
    run = run_program(["/bin/sh", "-c", "echo hi"], world(binaries=frozenset({"server"})), start=0, until=5)
    assert run.exited and run.exit_code == 128 and "executable file not found" in run.start_error


# ---------------------------------------------------------------- network

def fake_http(url: str, t: float):
    if "missing" in url:
        return (404, "not found")
    if "php-apache" in url:
        return (200, "OK!")
    return None


def fake_resolve(name: str, t: float):
    return {"php-apache": "10.96.1.2", "web": "10.96.0.50", "dead": "10.96.9.9"}.get(name.split(".")[0])


def test_wget_and_curl():
    w = world(http=fake_http, resolve=fake_resolve, binaries=frozenset({"sh", "wget", "curl", "echo", "cat"}))
    run = sh("wget -q -O- http://php-apache; echo", w=w)
    assert out(run) == ["OK!"] and run.requests == [(0.0, "http://php-apache")]
    run = sh("wget -O- http://dead:8080/x; echo code $?", w=w)
    assert out(run) == ["Connecting to dead (10.96.9.9:8080)",
                        "wget: can't connect to remote host (10.96.9.9): Connection refused", "code 1"]
    assert out(sh("wget -q -O- http://nope; echo code $?", w=w)) == ["wget: bad address 'nope'", "code 1"]
    assert out(sh("wget -q -O- http://php-apache/missing", w=w)) == [
        "wget: server returned error: HTTP/1.1 404 Not Found"]
    run = sh("wget -q -O /tmp/page http://php-apache && cat /tmp/page", w=w)
    assert out(run) == ["OK!"] and run.fs_events[0][1:] == ("write", "/tmp/page", "OK!")
    assert out(sh("curl -s http://php-apache; echo", w=w)) == ["OK!"]
    assert out(sh("curl http://dead; echo code $?", w=w)) == [
        "curl: (7) Failed to connect to dead port 80 after 0 ms: Couldn't connect to server", "code 7"]
    assert out(sh("curl -sS http://nope; echo code $?", w=w)) == ["curl: (6) Could not resolve host: nope",
                                                                  "code 6"]
    assert out(sh("curl -sf http://php-apache/missing; echo code $?", w=w)) == ["code 22"]
    # No network model at all: every connection is refused, in busybox's words.
    bare = world()
    assert out(sh("wget -q -O- http://web; echo $?", w=bare)) == [
        "wget: can't connect to remote host (web): Connection refused", "1"]


def test_nslookup():
    w = world(resolve=fake_resolve, files={"/etc/resolv.conf": "nameserver 10.96.0.10\n", NS_FILE: "default"})
    run = sh("nslookup web.default.svc.cluster.local", w=w)
    assert out(run) == ["Server:    10.96.0.10", "Address 1: 10.96.0.10 kube-dns.kube-system.svc.cluster.local",
                        "", "Name:      web.default.svc.cluster.local", "Address 1: 10.96.0.50"]
    run = sh("nslookup myservice.default.svc.cluster.local", w=w)
    assert out(run)[-1] == "nslookup: can't resolve 'myservice.default.svc.cluster.local'" and run.exit_code == 1


def test_init_container_waits_until_the_service_exists():
    created = 50.0

    def resolve(name: str, t: float):
        return "10.96.3.3" if name.startswith("myservice.") and t >= created else None

    w = world(resolve=resolve)
    script = ("until nslookup myservice.$(cat /var/run/secrets/kubernetes.io/serviceaccount/namespace)"
              ".svc.cluster.local; do echo waiting for myservice; sleep 2; done")
    early = sh(script, until=40, w=w)
    assert not early.exited and out(early).count("waiting for myservice") == 20
    done = sh(script, until=10_000, w=w)
    assert done.exited and done.exit_code == 0 and 50.0 <= done.exit_time <= 52.1
    assert out(done)[-1] == "Address 1: 10.96.3.3"


# ---------------------------------------------------------------- steady loops, limits, determinism

def best_of_3(fn):
    """(fastest wall time, result): single timings are noisy on a shared machine."""
    timings, result = [], None
    for _ in range(3):
        t0 = time.perf_counter()
        result = fn()
        timings.append(time.perf_counter() - t0)
    return min(timings), result


def test_long_tick_loop_is_fast_and_exact():
    took, run = best_of_3(lambda: sh("while true; do echo tick; sleep 5; done", start=1000.0, until=1000.0 + 86400))
    assert took < 0.05
    assert not run.exited and len(run.logs) == 5000 and run.logs_dropped == 86400 // 5 + 1 - 5000
    assert run.logs[-1] == (87400.0, "stdout", "tick") and run.logs[0][0] == 87400.0 - 4999 * 5
    assert run.next_event == 87405.0 and run.next_change is None


def test_load_generator_rate_and_world_changes():
    up_at = 300.0

    def http(url: str, t: float):
        return (200, "OK!") if t >= up_at else None

    w = world(http=http, resolve=fake_resolve)
    took, run = best_of_3(lambda: sh("while sleep 0.01; do wget -q -O- http://php-apache; done", until=600, w=w))
    assert took < 0.1
    url, rate = run.request_rate
    assert url == "http://php-apache" and rate == pytest.approx(1 / 0.011)
    assert len(run.requests) == 1000 and run.requests_dropped + 1000 == pytest.approx(600 / 0.011, abs=2)
    # Before the Service answered, each attempt printed busybox's refusal; after, "OK!" without newlines.
    lines = out(sh("while sleep 0.01; do wget -q -O- http://php-apache; done", until=400, w=w))
    assert "wget: can't connect to remote host (10.96.1.2): Connection refused" in lines
    assert lines[-1].startswith("OK!OK!")
    refused = [t for t, s, _l in sh("while sleep 0.01; do wget -q -O- http://php-apache; done", until=400,
                                    w=w).logs if s == "stderr"]
    assert max(refused) < up_at <= max(refused) + 0.011 + 1e-6


def test_counter_loop_with_changing_lines():
    script = 'i=0; while true; do echo "$i: $(date +%s)"; i=$((i+1)); sleep 1; done'
    took, run = best_of_3(lambda: sh(script, start=0.0, until=86400))
    assert took < 1.5   # generous: a guard against runaway replay, not a benchmark
    assert run.logs[-1] == (86400.0, "stdout", "86400: 86400")
    assert run.logs_dropped + len(run.logs) == 86401


def test_loop_writing_files_is_extrapolated_with_cycles():
    script = "while true; do touch /tmp/ready; sleep 10; rm /tmp/ready; sleep 5; done"
    run = sh(script, until=100_000)
    assert run.fs_cycles
    assert "/tmp/ready" in files_at(run, {}, 15 * 3333 + 3.0)     # 3 s into an iteration
    assert "/tmp/ready" not in files_at(run, {}, 15 * 3000 + 12.0)    # 12 s into one
    assert run.next_change is not None and run.next_change > 100_000


def test_busy_loop_is_capped_and_reported():
    t0 = time.perf_counter()
    run = sh("i=0; while [ $i -lt 10000000 ]; do i=$((i+1)); done; echo $i", until=1e6)
    assert time.perf_counter() - t0 < 5.0   # generous: a guard, not a benchmark
    assert not run.exited and run.next_event is None
    assert any("too busy" in u for u in run.unsupported)
    # A bounded counting loop that fits the budget runs to the end.
    assert out(sh("i=0; while [ $i -lt 100 ]; do i=$((i+1)); done; echo $i")) == ["100"]


def test_idle_and_infinite_sleep():
    run = sh("echo start; while true; do sleep 5; done", until=1e9)
    assert out(run) == ["start"] and run.next_event is None and not run.exited
    run = sh("sleep infinity", until=10)
    assert run.next_event is None and not run.exited


def test_determinism():
    w = world(http=fake_http, resolve=fake_resolve)
    script = "n=0; while sleep 0.5; do n=$((n+1)); wget -q -O- http://php-apache; echo \" $n $(date +%s)\"; done"
    a = sh(script, start=10.0, until=4000, w=w)
    b = sh(script, start=10.0, until=4000, w=w)
    assert a == b
    # Asking about an earlier moment tells the same story up to that moment.
    shorter = sh(script, start=10.0, until=3900, w=w)
    common = {e[0] for e in a.logs} & {e[0] for e in shorter.logs}
    assert len(common) > 200
    assert [e for e in a.logs if e[0] in common] == [e for e in shorter.logs if e[0] in common]
