"""What the load generators of the resource tasks ask of a machine: stress and stress-ng, by their arguments.

The tutorials load containers with `stress` (polinux/stress: `stress --vm 1 --vm-bytes 150M --vm-hang 1`),
`stress-ng` and busybox's own burners (`yes > /dev/null`, `dd if=/dev/zero of=/dev/null`). This module reads
their arguments the way the programs do and says what they use while they run; the shell's commands
(commands.py) and the kubelet's model of an image's own program (kubelet/program.py, for an image whose
entrypoint is stress) both ask here, so a stress run looks the same either way.

Pure: no clock, no world. Figures are what `kubectl top` shows of a real run: a `--vm` worker holds its
`--vm-bytes` (stress's sizes are binary: 150M is 150 MiB) and spins a core unless `--vm-hang` parks it
between allocations; a `--cpu` worker spins a core; the stress process itself holds ~5 MiB.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

MIB = 1024 * 1024
STRESS_BASE_MEMORY = 5440 * 1024       # the stress parent and its workers' own pages: 162856960 - 150Mi
STRESS_DEFAULT_VM_BYTES = 256 * MIB    # stress's and stress-ng's default --vm-bytes
TOUCH_BYTES_PER_SECOND = 3e9           # how fast a --vm worker dirties its pages (one core)
CORE = 1000.0                          # millicores
NODE_MEMORY = 8 * 1024 * MIB           # what stress-ng's `--vm-bytes 5%` is a share of: a kind node's memory


@dataclass(frozen=True)
class StressRun:
    """One stress/stress-ng invocation: what it dispatches and what that uses while it runs."""
    program: str                       # "stress" | "stress-ng"
    cpu: int = 0
    io: int = 0
    vm: int = 0
    hdd: int = 0
    vm_bytes: int = STRESS_DEFAULT_VM_BYTES
    vm_hang: float | None = None       # None: never parks (malloc, touch, free, again); 0: parks forever
    timeout: float | None = None       # seconds; None: runs until killed
    error: str | None = None           # a usage error (stress prints it and exits 1)

    @property
    def memory_bytes(self) -> int:
        return STRESS_BASE_MEMORY + self.vm * self.vm_bytes

    @property
    def cpu_millis(self) -> float:
        """The CPU the workers ask for, in millicores (before any limit throttles them)."""
        busy = self.cpu * CORE
        if self.vm:
            touch = self.vm_bytes / TOUCH_BYTES_PER_SECOND          # seconds to dirty the pages once
            if self.vm_hang is None:
                busy += self.vm * CORE
            elif self.vm_hang > 0:
                busy += self.vm * CORE * touch / (touch + self.vm_hang)
        return busy

    def dispatch_line(self, pid: int) -> str:
        if self.program == "stress-ng":
            parts = [f"{n} {name}" for name, n in (("cpu", self.cpu), ("io", self.io), ("vm", self.vm),
                                                   ("hdd", self.hdd)) if n]
            return f"stress-ng: info:  [{pid}] dispatching hogs: {', '.join(parts)}"
        return f"stress: info: [{pid}] dispatching hogs: {self.cpu} cpu, {self.io} io, {self.vm} vm, {self.hdd} hdd"

    def completed_line(self, pid: int) -> str:
        seconds = int(self.timeout or 0)
        if self.program == "stress-ng":
            return f"stress-ng: info:  [{pid}] successful run completed in {seconds}.00s"
        return f"stress: info: [{pid}] successful run completed in {seconds}s"


_SIZE = re.compile(r"(\d+)([bBkKmMgG]?)")
_DURATION = re.compile(r"(\d+)([smhdy]?)")
_UNITS = {"": 1, "b": 1, "k": 1024, "m": MIB, "g": 1024 * MIB}
_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "y": 31536000}
_STRESS_OPTS = {"-c": "cpu", "--cpu": "cpu", "-i": "io", "--io": "io", "-m": "vm", "--vm": "vm",
                "-d": "hdd", "--hdd": "hdd", "--vm-bytes": "vm_bytes", "--vm-hang": "vm_hang",
                "-t": "timeout", "--timeout": "timeout"}
_FLAGS = {"-v", "--verbose", "-q", "--quiet", "-n", "--dry-run", "--vm-keep", "--metrics-brief", "--metrics",
          "--times", "--aggressive", "--oomable", "--keep-name"}


def parse_stress(program: str, args: list[str]) -> StressRun:
    """stress's (or stress-ng's) reading of its arguments: `--vm 1`, `--vm=1`, `-m 1`, sizes 150M/1G, times 30s."""
    values: dict[str, object] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        name, eq, inline = arg.partition("=")
        key = _STRESS_OPTS.get(name)
        if key is None:
            if arg not in _FLAGS and arg.startswith("-") and program == "stress":
                return StressRun(program, error=f"stress: FAIL: [1] (244) unrecognized option '{arg}'")
            # stress-ng has hundreds of options; one it is not modelled on takes the next word as its value.
            takes_value = program == "stress-ng" and arg not in _FLAGS and not eq and i + 1 < len(args) \
                and not args[i + 1].startswith("-")
            i += 2 if takes_value else 1
            continue
        if eq:
            value = inline
        else:
            i += 1
            value = args[i] if i < len(args) else ""
        i += 1
        if key in ("cpu", "io", "vm", "hdd"):
            if not value.isdigit():
                return StressRun(program, error=f"{program}: FAIL: [1] (400) invalid number '{value}'")
            count = int(value)
            if program == "stress-ng" and key == "cpu" and count == 0:
                count = 64       # every online CPU: throttled to the node's (or the limit) by the kubelet anyway
            values[key] = count
        elif key == "vm_bytes":
            size = _size(value)
            if size is None:
                return StressRun(program, error=f"{program}: FAIL: [1] (400) invalid size '{value}'")
            values[key] = size
        else:
            seconds = _duration(value)
            if seconds is None:
                return StressRun(program, error=f"{program}: FAIL: [1] (400) invalid time '{value}'")
            values[key] = seconds
    if program == "stress" and not any(values.get(k) for k in ("cpu", "io", "vm", "hdd")):
        return StressRun(program, error="`stress' imposes certain types of compute stress on your system\n\n"
                                        "Usage: stress [OPTION [ARG]] ...")
    if program == "stress-ng" and values.get("vm") and "vm_hang" not in values:
        values["vm_hang"] = None
    return StressRun(program, **values)     # type: ignore[arg-type]


def _size(text: str) -> int | None:
    if text.endswith("%") and text[:-1].isdigit():
        return NODE_MEMORY * int(text[:-1]) // 100     # stress-ng: a share of the machine's memory
    m = _SIZE.fullmatch(text)
    return int(m.group(1)) * _UNITS[m.group(2).lower()] if m else None


def _duration(text: str) -> float | None:
    m = _DURATION.fullmatch(text)
    return float(int(m.group(1)) * _SECONDS[m.group(2)]) if m else None
