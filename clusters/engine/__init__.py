"""The pure simulation engine. READ clusters/engine/README.md FIRST: it is the contract every
engine module follows (ClusterState API, reconcile(state) controllers, simulated time and
wake_at, state.sim() private notes, real event messages, purity: no Django and no
clusters.apiserver imports, tests on the fake clock in tests/engine/conftest.py, git rules:
touch and commit only your own files)."""
