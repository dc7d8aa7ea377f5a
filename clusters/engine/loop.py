"""One simulation step: run the control loops over a cluster's state until nothing changes.

`step(state, now)` is the whole engine as the runner sees it: pure and
deterministic (same objects + same now + same seed = same result). Each
controller is a module with `reconcile(state)`, imported here and listed in
CONTROLLERS: level-based, it looks at the whole desired and observed state and
moves one step toward the desired one, so running it twice is harmless. A pass
runs every controller once, in the order a real cluster's components would
typically react; passes repeat until one writes nothing (bounded, so a
controller bug cannot spin forever).

Only the controllers with something to do run. A state stepped before (the runner keeps a cluster's state
between passes) remembers, per controller, the kinds it read at its runs (ClusterState records every
get/list/owned_by; "*" for reads of any kind) and the wake-up it asked for. A controller runs when an object
of a kind it read was written since its last run began (by another controller, or by the API through
take_stored), when its wake-up is due, or when the state is new to it: as an informer-driven controller
reacts to the events of what it watches and to its requeue timers. A skipped controller would have written
nothing: it is level-based, and it found nothing to do in the same inputs, at an earlier instant before any
wake-up it asked for. So a pass costs what changed, and a step with nothing written and nothing due since
the last one (an idle cluster's) costs nothing at all. Notes (`sim(obj)`) changed in a step count as writes
of their objects' kinds at the next; notes handed out between steps (a test, a tool) make every controller
run at the next. `verify_skips(True)` (every in-process test: tests/conftest.py) runs every controller once
more after each step and fails if one the loop skipped would have written.

How engine modules are written: clusters/engine/README.md.
"""
from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .controllers import (
    cronjob,
    daemonset,
    deployment,
    disruption,
    endpoints,
    event_ttl,
    gc,
    hpa,
    ingress_status,
    job,
    loadbalancer,
    namespace,
    node,
    replicaset,
    resourcequota,
    statefulset,
    volumes,
)
from .kubelet import eviction, lifecycle
from .scheduler import framework
from .state import ClusterState

Controller = Callable[[ClusterState], None]
MAX_PASSES = 25

# In reaction order: lifecycle and cleanup first, then workload controllers create pods, the
# scheduler binds them, the kubelets run them, the disruption controller counts the healthy pods of each
# PodDisruptionBudget, the quota controller sums the namespaces' usage, and the service/volume controllers
# follow.
CONTROLLERS: tuple[Controller, ...] = (
    node.reconcile,
    namespace.reconcile,
    gc.reconcile,
    event_ttl.reconcile,
    hpa.reconcile,
    deployment.reconcile,
    replicaset.reconcile,
    statefulset.reconcile,
    daemonset.reconcile,
    cronjob.reconcile,
    job.reconcile,
    volumes.reconcile,
    framework.reconcile,
    lifecycle.reconcile,
    eviction.reconcile,
    disruption.reconcile,
    resourcequota.reconcile,
    endpoints.reconcile,
    loadbalancer.reconcile,
    ingress_status.reconcile,
)


@dataclass
class StepResult:
    changes: list[tuple[str, dict]]
    sim_changes: dict[str, dict | None]
    events: list[dict]
    next_wake: float | None
    passes: int
    notes: list[str] = field(default_factory=list)


@dataclass
class _Watched:
    """What one controller read on a state, from its first run on (reads only grow), and what it asked."""
    reads: set[str] = field(default_factory=set)
    seen: int = 0                  # the state's write_seq when its last run began
    wake: float | None = None      # the wake-up its last run asked for


@dataclass
class _Book:
    """The loop's memory of one state between steps."""
    controllers: dict[Controller, _Watched] = field(default_factory=dict)
    all_next: bool = True          # run every controller at the next step (a new state, notes changed, …)
    quiet_seq: int | None = None   # write_seq after a step that left nothing to do, if it did
    quiet_for: tuple = ()          # the controllers of that step
    wake: float | None = None      # their next wake-up


_books: weakref.WeakKeyDictionary[ClusterState, _Book] = weakref.WeakKeyDictionary()
_verify = False


def verify_skips(on: bool) -> None:
    """Check every step's skips: after it, run every controller once more; any write fails the step."""
    global _verify
    _verify = on


def forget(state: ClusterState) -> None:
    """Run every controller at the state's next step (a state changed behind the loop's back)."""
    _books.pop(state, None)


def step(state: ClusterState, now: float | None = None, *,
         controllers: Sequence[Controller] | None = None,
         between: Callable[[], None] | None = None) -> StepResult:
    """Run passes at simulated time `now` (the state's own now if None) until one writes nothing.

    `controllers` replaces CONTROLLERS, so a test can watch one controller (or a few) at work. `between` is
    called before each controller runs: the runner's chance to let other work of its process go first.
    """
    if now is not None:
        state.now = now
    controllers = tuple(CONTROLLERS if controllers is None else controllers)
    book = _books.get(state)
    if book is None:
        book = _books[state] = _Book()
    if state.notes_handed_out:   # notes read (and maybe changed) between steps: not watched, so run all
        book.all_next, state.notes_handed_out = True, False
    if (book.quiet_seq == state.write_seq and not book.all_next and not state.has_changes
            and (book.wake is None or state.now < book.wake) and book.quiet_for == controllers):
        return StepResult([], {}, [], book.wake, 0)   # nothing written, nothing due: nothing to do
    book.quiet_seq = None
    run_all, book.all_next = book.all_next, False
    state.reset_wake()
    wake: float | None = None
    notes: list[str] = []
    passes = 0
    while passes < MAX_PASSES:
        passes += 1
        before = state.writes
        for controller in controllers:
            watched = book.controllers.get(controller)
            due = watched is not None and watched.wake is not None and watched.wake <= state.now
            if watched is None:
                watched = book.controllers[controller] = _Watched()
                state.run_scope = None
            elif run_all or due:
                state.run_scope = None
            elif state.written_since(watched.reads, watched.seen):
                # What it may narrow its work to (state.narrowed_changes), unless a wake-up it asked for is
                # pending: a narrowed run would ask again only for what it looked at.
                state.run_scope = watched.seen if watched.wake is None else None
            else:
                continue
            if between is not None:
                between()
            watched.seen = state.write_seq
            outer = state.next_wake
            state.reset_wake()
            with state.recording_reads() as reads:
                controller(state)
            state.run_scope = None
            watched.reads |= reads
            watched.wake = state.next_wake
            state.reset_wake()
            state.wake_at(outer)
        run_all = False
        if state.writes == before:
            break
    else:
        notes.append(f"control loops still writing after {MAX_PASSES} passes; continuing next wake-up")
        state.wake_at(state.now)
        book.all_next = True
    for controller in controllers:
        wake = _earliest(wake, book.controllers[controller].wake)
    state.wake_at(wake)
    if state.next_wake is not None and state.next_wake < state.now:
        state.wake_at(state.now)
    if _verify and not notes:   # a step cut short is still writing: nothing to check
        _verify_skips(state, controllers)
    sim_changes = state.sim_changes()
    state.notes_changed(sim_changes)   # the next step runs the controllers that read these objects' kinds
    # Counted as quiet all the same: a step's closing check (verify_skips) found that nobody writes on what
    # these notes say at this instant, so only a write or a wake-up makes the next step worth running.
    if not book.all_next:
        book.quiet_seq, book.quiet_for, book.wake = state.write_seq, controllers, state.next_wake
    return StepResult(state.changes(), sim_changes, list(state.events), state.next_wake, passes, notes)


def _earliest(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else min(a, b)


def _verify_skips(state: ClusterState, controllers: Sequence[Controller]) -> None:
    wake, writes = state.next_wake, state.writes
    with state.notes_restored(), state.recording_reads():
        for controller in controllers:
            controller(state)
            if state.writes != writes:
                name = f"{controller.__module__}.{controller.__qualname__}"
                raise AssertionError(f"{name} had work the loop skipped (at {state.now})")
    state.reset_wake()
    state.wake_at(wake)
