"""The pure simulation engine: controllers, scheduler and kubelets over one cluster's objects.

`loop.step(state, now)` runs the control loops over a `state.ClusterState` and returns what
changed, the Events and the next wake-up. Standard library only; how engine modules are
written (the state API, simulated time, real events, tests, speed): clusters/engine/README.md.
"""
