"""The cyclic garbage collector's settings for the long-running processes (serve, the Celery worker).

Both allocate dicts by the hundred thousand: the engine's objects, Events and notes in a reconcile pass; parsed
bodies, querysets and answers in the API. With CPython's default thresholds (700, 10, 10) a young-generation
collection runs every 700 net allocations of containers, and each one walks every young object; the older
generations follow, and a full collection walks the whole heap, Django's and the kept cluster states included.
On the pure engine (bench/engine.py (a), 300 pods on a 10-node cluster, 8 rounds on the 2-core machine), in
pods/s per core: the defaults 1,402–1,908 (a round slows by a quarter when a full collection lands in it),
these settings 1,823–1,887, no collector 1,966–2,010. In the class benchmark (100 learners, one serve) the
worst p95 went from 632–637 ms to 354–457 ms and the worker's CPU from 24–26 s to 20–22 s.

Almost nothing these processes allocate forms cycles (JSON-shaped dicts and lists are freed by reference
counting), so collecting rarely costs little memory; the engine's states must stay free of cycles for that
(tests/engine/test_state_freed.py: a state in a cycle would wait for the rare full collection, and a worker's
dropped states piled up to twice its memory). What was made at start (modules, settings, URL
patterns) is moved out of the collector's sight for good (gc.freeze): no collection walks it again, and a
forked pool child does not touch those pages (they stay shared with the parent).
"""
from __future__ import annotations

import gc

# gen0: net container allocations before a young collection; gen1/gen2: collections of the generation below
# before one of this generation (CPython runs a full one only once the long-lived objects grew by 25% too).
THRESHOLDS = (50_000, 10, 10)


def tune_garbage_collector() -> None:
    """Freeze what exists now and collect less often: call once a process has made its long-lived objects."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
