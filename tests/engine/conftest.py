"""Engine tests: a cluster's state on a fake clock, no database.

`new_state()` gives the objects of a fresh cluster (1 control-plane + N workers) with the
API server's defaulting wired in, so objects the controllers create look as they would on a
real cluster; `run(state, until)` steps the engine forward, honouring its wake-up requests,
like the Celery runner does.
"""
from __future__ import annotations

import contextlib
import gc
import random

import pytest

from clusters.apiserver.bootstrap import cluster_objects
from clusters.apiserver.pipeline import engine_state, prepare_for_create
from clusters.apiserver.registry import storage_type
from clusters.engine.loop import step
from clusters.engine.state import ClusterState

T0 = 1_800_000_000.0  # a fixed simulated epoch: 2027-01-15T08:00:00Z


@contextlib.contextmanager
def collector_held():
    """For a test that times the engine: Python's cyclic collector waits until the timing is over. A full
    collection of the whole suite's heap (hundreds of ms late in a run) that a timed call happens to set off
    is not the engine's cost, and once made a guard of a few milliseconds fail in CI."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def new_state(*, workers: int = 2, now: float = T0, seed: int = 7, objects: list[dict] = ()) -> ClusterState:
    rng = random.Random(f"engine:{seed}")  # not the bootstrap stream: uids must never coincide
    state = engine_state(cluster_objects(workers=workers, now=now, seed=seed), now=now, seed=seed, rng=rng)
    for obj in objects:
        state.create(obj)
    state.commit()
    return state


def apply(state: ClusterState, obj: dict) -> dict:
    """Create an object as a client would through the API (defaults, uid, timestamps)."""
    return state.create(obj)


def run(state: ClusterState, until: float, *, max_steps: int = 10_000) -> list:
    """Step at every requested wake-up up to `until` (simulated seconds); returns the StepResults."""
    results = []
    result = step(state, state.now)
    results.append(result)
    state.commit()
    for _ in range(max_steps):
        wake = result.next_wake
        if wake is None or wake > until:
            break
        result = step(state, max(wake, state.now))
        results.append(result)
        state.commit()
    state.now = max(state.now, until)
    return results


@pytest.fixture
def cluster() -> ClusterState:
    return new_state()


__all__ = ["T0", "apply", "new_state", "prepare_for_create", "run", "storage_type"]


def events_expiry(state: ClusterState) -> float | None:
    """The wake-up a settled cluster still asks for: its oldest Event's expiry (controllers/event_ttl.py)."""
    from clusters.engine.controllers.event_ttl import EVENT_TTL, last_written

    return min((last_written(e) + EVENT_TTL for e in state.list("Event")), default=None)
