"""Container probes (startup, liveness, readiness) evaluated against the simulated container.

A probe runs at `started + initialDelaySeconds + k × periodSeconds`; with a
startup probe, the liveness and readiness probes only from its success on (the
liveness probe a period later, the readiness probe at once). Each result moves
the consecutive success/failure counters, and thresholds decide
(pkg/kubelet/prober/worker.go). The handlers' failure messages are the real
ones, because they appear verbatim in `kubectl describe pod` events:
`Liveness probe failed: HTTP probe failed with statuscode: 500`,
`… dial tcp 10.244.1.5:8080: connect: connection refused`, or the output of an
exec command.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

PROBE_KINDS = ("startupProbe", "livenessProbe", "readinessProbe")
LABEL = {"startupProbe": "Startup", "livenessProbe": "Liveness", "readinessProbe": "Readiness"}


@dataclass
class Outcome:
    ok: bool
    message: str = ""


@dataclass
class ProbeTarget:
    """How a probe reaches the container at a given instant (built by the kubelet)."""

    pod_ip: str
    container_ports: dict[str, int]
    exec: Callable[[list[str], float], tuple[int, str]]      # argv, time -> (exit code, output)
    http: Callable[[int, str, float], tuple[int, str] | None]  # port, path, time -> (status, body) | None: refused
    tcp: Callable[[int, float], bool]                        # port, time -> something listens


def timing(probe: dict) -> tuple[float, float, int, int, float]:
    return (float(probe.get("initialDelaySeconds", 0)), float(probe.get("periodSeconds", 10) or 10),
            int(probe.get("successThreshold", 1) or 1), int(probe.get("failureThreshold", 3) or 3),
            float(probe.get("timeoutSeconds", 1) or 1))


def _port(value, target: ProbeTarget) -> int | None:
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return target.container_ports.get(value)


def run_probe(probe: dict, target: ProbeTarget, when: float) -> Outcome:
    """One execution of the probe's handler at simulated time `when`."""
    timeout = timing(probe)[4]
    if "exec" in probe:
        code, output = target.exec(list((probe["exec"] or {}).get("command") or []), when)
        return Outcome(code == 0, output.rstrip("\n"))
    if "httpGet" in probe:
        handler = probe["httpGet"]
        port = _port(handler.get("port"), target)
        scheme = (handler.get("scheme") or "HTTP").lower()
        host = handler.get("host") or target.pod_ip
        path = handler.get("path") or "/"
        url = f"{scheme}://{host}:{port}{path}"
        answer = target.http(port, path, when) if port is not None else None
        if answer is None:
            return Outcome(False, f'Get "{url}": dial tcp {host}:{port}: connect: connection refused')
        status, _ = answer
        if status == 0:  # something listens but does not speak HTTP (redis, mysql …)
            return Outcome(False, f'Get "{url}": EOF')
        if 200 <= status < 400:
            return Outcome(True)
        return Outcome(False, f"HTTP probe failed with statuscode: {status}")
    if "tcpSocket" in probe:
        handler = probe["tcpSocket"]
        port = _port(handler.get("port"), target)
        host = handler.get("host") or target.pod_ip
        if port is not None and target.tcp(port, when):
            return Outcome(True)
        return Outcome(False, f"dial tcp {host}:{port}: connect: connection refused")
    if "grpc" in probe:
        port = int((probe["grpc"] or {}).get("port", 0))
        if target.tcp(port, when):
            return Outcome(True)
        return Outcome(False, f'timeout: failed to connect service "{target.pod_ip}:{port}" within '
                              f'{timeout:g}s: context deadline exceeded')
    return Outcome(True)
