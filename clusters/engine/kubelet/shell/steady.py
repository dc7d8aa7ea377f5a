"""Steady loops: detecting a loop that repeats itself exactly, and jumping ahead instead of running it.

A container's `while true; do …; sleep 5; done` runs for hours, and the replay starts from the script's
start every time it is asked, so the interpreter cannot afford to run it iteration by iteration. Before
each iteration _Shell._run_loop takes a snapshot (_Snap); once the last two iterations took the same time,
journalled the same effects (same file writes, same requests and answers), left the same state behind
except for counters stepping by a constant that no condition read, the loop is steady and _steady jumps
the clock ahead by whole iterations: counters advance arithmetically, the last few thousand log lines are
re-created (or, when they vary, really run again), and file effects become a repeating cycle that files_at
replays. Answers from the world (HTTP, DNS) are sampled along the jumped span (_world_stable), so a Service
that gains endpoints mid-span still changes the loop's output at the right iteration.

_SteadyLoops is a mixin of the interpreter's _Shell: it reads and moves the shell's clock and budget (now,
until, steps, max_steps), reads its journal, cond_log and state (variables, cwd, positional parameters,
status, functions), records what the Run reports about steady loops (steady_rates, cycles, logs_dropped,
requests_dropped, next_event) and its load (steady_cpu), and asks the world (world.http, _resolve) along a jumped span.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from .runtime import _FS_KINDS, _IO, _LOG_KINDS, _QUERY_KINDS, _Stop
from .world import LOG_KEEP, LOOKAHEAD_STEPS, REPLAY_KEEP, REQUEST_KEEP, US


@dataclass
class _Snap:
    t: int
    steps: int
    journal: int
    cond_log: int
    vars: dict[str, str]
    extra: tuple          # cwd, positional params, stdin position, $? — must stay equal
    busy: int = 0         # µs of CPU the script had used (_Shell.busy): the loop's load per iteration


class _SteadyLoops:
    """Snapshots of loop iterations and the jump over steady ones (mixed into _Shell)."""

    def _snap(self, io: _IO) -> _Snap:
        stdin_pos = io.stdin.pos if io.stdin is not None else -1
        return _Snap(self.now, self.steps, len(self.journal), len(self.cond_log), dict(self.vars),
                     (self.cwd, tuple(self.positional), stdin_pos, self.status, len(self.functions)), self.busy)

    def _steady(self, h: list[_Snap], io: _IO) -> bool:
        """If the last two iterations repeat exactly, jump ahead. Returns True when history must restart."""
        a, b, c = h
        period = c.t - b.t
        if period <= 0 or b.t - a.t != period or a.extra != b.extra or b.extra != c.extra:
            self.steady_rates = None
            return False
        if a.vars.keys() != b.vars.keys() or b.vars.keys() != c.vars.keys():
            self.steady_rates = None
            return False
        deltas: dict[str, int] = {}
        for name, v1 in b.vars.items():
            v0, v2 = a.vars[name], c.vars[name]
            if v0 == v1 == v2:
                continue
            try:
                d1, d2 = int(v1) - int(v0), int(v2) - int(v1)
            except ValueError:
                self.steady_rates = None
                return False
            if d1 != d2 or str(int(v2)) != v2:
                self.steady_rates = None
                return False
            deltas[name] = d1
        decided_by = set(self.cond_log[a.cond_log:c.cond_log])
        if "$clock" in decided_by or decided_by & deltas.keys():
            # A condition read the clock or a counter: the loop will behave differently later.
            self.steady_rates = None
            return False
        first, second = self.journal[a.journal:b.journal], self.journal[b.journal:c.journal]
        if len(first) != len(second):
            self.steady_rates = None
            return False
        shape = []
        same_text = True
        for (t1, k1, x1, y1), (t2, k2, x2, y2) in zip(first, second):
            if t1 - a.t != t2 - b.t or k1 != k2:
                self.steady_rates = None
                return False
            if k1 in _LOG_KINDS:
                same_text = same_text and x1 == x2
            elif (x1, y1) != (x2, y2):
                self.steady_rates = None
                return False
            shape.append((t2 - b.t, k2, x2, y2))
        n_logs = sum(1 for e in shape if e[1] in _LOG_KINDS)
        n_lines = sum(1 for e in shape if e[1] in ("out", "err"))     # partial chunks are not lines
        n_reqs = [e for e in shape if e[1] == "req"]
        has_fs = any(e[1] in _FS_KINDS for e in shape)
        rates: dict[str, float] = {}
        for e in n_reqs:
            rates[e[2]] = rates.get(e[2], 0.0) + US / period
        self.steady_rates = rates or None
        self.steady_cpu = 1000.0 * (c.busy - b.busy) / period     # millicores: CPU time per iteration's time
        queries = [e for e in shape if e[1] in _QUERY_KINDS]

        # A change from outside (kubectl exec, a ConfigMap update) lands at `outside`: the loop may behave
        # differently from then on, so no jump goes past it.
        outside = self.pending[0][0] if self.pending else None
        if c.t > self.until:
            # Looking past the horizon. The next iteration repeats this one, so the next log line is known;
            # without file effects nothing else will ever change (unless the world's answers do).
            first_log = next((rel for rel, k, _x, _y in shape if k in _LOG_KINDS), None)
            if self.next_event is None and first_log is not None:
                self.next_event = c.t + first_log
            if not has_fs:
                if outside is None:
                    raise _Stop()
                return self._skip(c, period, (outside - c.t) // period, deltas)
            return False
        if not n_logs and not has_fs and not queries:
            # An idle loop (`while true; do sleep 5; done`): nothing observable ever again, unless a change
            # from outside lands (a file it waits for): then it idles until just before that.
            if outside is None:
                raise _Stop()
            return self._skip(c, period, (outside - c.t) // period, deltas)

        jump = (self.until - c.t) // period         # whole iterations that start at or before `until`
        keep_iters = 0
        if n_logs:
            keep_iters = -(-LOG_KEEP // n_logs)
        if n_reqs:
            keep_iters = max(keep_iters, -(-REQUEST_KEEP // len(n_reqs)))
        if not same_text:
            # Log lines depend on a counter or the clock: jump to a point from which the last lines are
            # re-created by really running, fewer of them and bounded by the remaining budget.
            per_iter = max(1, c.steps - b.steps)
            keep_iters = min(-(-REPLAY_KEEP // max(1, n_logs)),
                             max(2, (self.max_steps - self.steps - LOOKAHEAD_STEPS) // per_iter // 2))
            jump -= keep_iters
        if outside is not None:
            jump = min(jump, (outside - c.t) // period)
        if jump < 1:
            return False
        jump = self._world_stable(queries, c.t, period, jump)
        if jump < 1:
            return False
        # Apply: the clock, counters and (in synthesis mode) the last iterations' effects.
        base = c.t
        if same_text:
            synth = min(jump, keep_iters)
            dropped_iters = jump - synth
            for q in range(jump - synth, jump):
                t0 = base + q * period
                for rel, kind, x, y in second_abs(second, b.t):
                    self.journal.append((t0 + rel, kind, x, y))
        else:
            dropped_iters = jump
        self.logs_dropped += dropped_iters * n_lines
        self.requests_dropped += dropped_iters * len(n_reqs)
        if has_fs:
            self.cycles.append((base, base + jump * period, period,
                                [(rel, k, x, y) for rel, k, x, y in shape if k in _FS_KINDS]))
        self.now = base + jump * period
        for name, d in deltas.items():
            self.vars[name] = str(int(self.vars[name]) + d * jump)
        self.steps += 1
        return True

    def _skip(self, c: _Snap, period: int, iterations: int, deltas: dict[str, int]) -> bool:
        """Jump over iterations that have no effect at all (an idle loop waiting for a change from outside)."""
        if iterations < 1:
            return False
        self.now = c.t + iterations * period
        for name, d in deltas.items():
            self.vars[name] = str(int(self.vars[name]) + d * iterations)
        self.steps += 1
        return True

    def _world_stable(self, queries: list, base: int, period: int, jump: int) -> int:
        """How many of `jump` iterations see the same HTTP/DNS answers, sampling along the span."""
        if not queries:
            return jump
        def same(q: int) -> bool:            # does iteration q (0 = the one starting at base) get the same?
            t0 = base + q * period
            return all(self._ask(kind, x, t0 + rel) == y for rel, kind, x, y in queries)

        # Sample about 500 iterations along the span, then bisect to the first that differs: exact when the
        # world changes once in between (a Service gaining endpoints), at worst `stride` iterations late.
        stride = max(1, jump // 500)
        samples = list(range(stride - 1, jump, stride))
        if not samples or samples[-1] != jump - 1:
            samples.append(jump - 1)
        good = -1
        for q in samples:
            if not same(q):
                lo, hi = good + 1, q
                while lo < hi:
                    mid = (lo + hi) // 2
                    if same(mid):
                        lo = mid + 1
                    else:
                        hi = mid
                return lo
            good = q
        return jump

    def _ask(self, kind: str, x: str, t: int) -> str | None:
        at = self.start + t / US
        if kind == "dns":
            return self._resolve(x, at)
        answer = self.world.http(x, at) if self.world.http else None
        return None if answer is None else f"{answer[0]} {answer[1]}"


def second_abs(entries: list, origin: int) -> Iterator[tuple[int, str, str, str | None]]:
    """Journal entries of one iteration, with times relative to its start."""
    for t, kind, x, y in entries:
        yield t - origin, kind, x, y
