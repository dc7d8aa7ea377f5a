"""A cluster's state is freed by reference counting alone, the moment nothing holds it.

The Celery worker and serve run the cyclic collector rarely (playground/gc_tuning.py). A state held in a
reference cycle (a closure over itself, a pod's program building its files through its kubelet worker) would
wait for that collector, and the states a worker drops (evicted, reloaded) would pile up until then: a
worker's memory grew from 0.7 to 1.1–1.5 GB in the class benchmark before these cycles were broken.
"""
from __future__ import annotations

import gc
import weakref

from clusters.engine.loop import step

from .conftest import T0, apply, new_state, run


def nginx_deployment(replicas: int) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{
                                      "name": "web", "image": "nginx:1.27", "ports": [{"containerPort": 80}],
                                      "readinessProbe": {"httpGet": {"path": "/", "port": 80}}}]}}}}


def test_a_stepped_state_with_running_pods_is_freed_without_the_cyclic_collector():
    enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        state = new_state()
        apply(state, nginx_deployment(3))
        run(state, T0 + 60)
        assert sum(p["status"].get("phase") == "Running" for p in state.list("Pod", "default")) == 3
        step(state, T0 + 90)   # the kubelets' workers run their containers' programs (files, probes)
        gone = weakref.ref(state)
        del state
        assert gone() is None
        gc.set_debug(gc.DEBUG_SAVEALL)   # what only the cyclic collector would have freed, kept to be seen
        gc.collect()
        left = sorted({type(o).__qualname__ for o in gc.garbage if type(o).__module__.startswith("clusters.")})
        assert left == []   # no kubelet worker, program or network view of it in a cycle either
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        if enabled:
            gc.enable()
