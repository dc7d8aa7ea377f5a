"""(Contract for engine modules: clusters/engine/README.md — read it first.)

One simulation step: run the control loops over a cluster's state until nothing changes.

`step(state, now)` is the whole engine as the runner sees it: pure and
deterministic (same objects + same now + same seed = same result). Each
controller is a module with `reconcile(state)`: level-based, it looks at the
whole desired and observed state and moves one step toward the desired one, so
running it twice is harmless. A pass runs every controller once, in the order a
real cluster's components would typically react; passes repeat until one writes
nothing (bounded, so a controller bug cannot spin forever).
"""
from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .state import ClusterState

Controller = Callable[[ClusterState], None]
MAX_PASSES = 25

# In reaction order: lifecycle and cleanup first, then workload controllers create pods, the
# scheduler binds them, the kubelets run them, and the service/volume controllers follow.
CONTROLLER_MODULES = (
    "clusters.engine.controllers.node",
    "clusters.engine.controllers.namespace",
    "clusters.engine.controllers.gc",
    "clusters.engine.controllers.deployment",
    "clusters.engine.controllers.replicaset",
    "clusters.engine.controllers.statefulset",
    "clusters.engine.controllers.daemonset",
    "clusters.engine.controllers.cronjob",
    "clusters.engine.controllers.job",
    "clusters.engine.controllers.volumes",
    "clusters.engine.scheduler.framework",
    "clusters.engine.kubelet.lifecycle",
    "clusters.engine.controllers.endpoints",
)


@dataclass
class StepResult:
    changes: list[tuple[str, dict]]
    sim_changes: dict[str, dict | None]
    events: list[dict]
    next_wake: float | None
    passes: int
    notes: list[str] = field(default_factory=list)


def default_controllers() -> list[Controller]:
    """The reconcile functions of the controller modules that exist (the engine grows module by module)."""
    found: list[Controller] = []
    for name in CONTROLLER_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as missing:
            if missing.name == name:
                continue
            raise
        found.append(module.reconcile)
    return found


def step(state: ClusterState, now: float | None = None, *,
         controllers: Sequence[Controller] | None = None) -> StepResult:
    if now is not None:
        state.now = now
    state.reset_wake()
    controllers = default_controllers() if controllers is None else controllers
    notes: list[str] = []
    passes = 0
    for passes in range(1, MAX_PASSES + 1):
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
