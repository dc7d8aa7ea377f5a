"""One simulation step: run the control loops over a cluster's state until nothing changes.

`step(state, now)` is the whole engine as the runner sees it: pure and
deterministic (same objects + same now + same seed = same result). Each
controller is a module with `reconcile(state)`, imported here and listed in
CONTROLLERS: level-based, it looks at the whole desired and observed state and
moves one step toward the desired one, so running it twice is harmless. A pass
runs every controller once, in the order a real cluster's components would
typically react; passes repeat until one writes nothing (bounded, so a
controller bug cannot spin forever).

How engine modules are written: clusters/engine/README.md.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .controllers import (
    cronjob,
    daemonset,
    deployment,
    endpoints,
    gc,
    hpa,
    ingress_status,
    job,
    loadbalancer,
    namespace,
    node,
    replicaset,
    statefulset,
    volumes,
)
from .kubelet import eviction, lifecycle
from .scheduler import framework
from .state import ClusterState

Controller = Callable[[ClusterState], None]
MAX_PASSES = 25

# In reaction order: lifecycle and cleanup first, then workload controllers create pods, the
# scheduler binds them, the kubelets run them, and the service/volume controllers follow.
CONTROLLERS: tuple[Controller, ...] = (
    node.reconcile,
    namespace.reconcile,
    gc.reconcile,
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


def step(state: ClusterState, now: float | None = None, *,
         controllers: Sequence[Controller] | None = None) -> StepResult:
    """Run passes at simulated time `now` (the state's own now if None) until one writes nothing.

    `controllers` replaces CONTROLLERS, so a test can watch one controller (or a few) at work.
    """
    if now is not None:
        state.now = now
    state.reset_wake()
    controllers = CONTROLLERS if controllers is None else controllers
    notes: list[str] = []
    passes = 0
    while passes < MAX_PASSES:
        passes += 1
        before = state.writes
        for controller in controllers:
            controller(state)
        if state.writes == before:
            break
    else:
        notes.append(f"control loops still writing after {MAX_PASSES} passes; continuing next wake-up")
        state.wake_at(state.now)
    if state.next_wake is not None and state.next_wake < state.now:
        state.wake_at(state.now)
    return StepResult(state.changes(), state.sim_changes(), list(state.events), state.next_wake, passes, notes)
