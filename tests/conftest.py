"""Every in-process test checks the engine's skips (clusters/engine/loop.py): after each step, every
controller runs once more, and a write from one the loop skipped fails the test that stepped."""
from __future__ import annotations

import pytest

from clusters.engine import loop


@pytest.fixture(autouse=True)
def _engine_checks_its_skips():
    loop.verify_skips(True)
    yield
    loop.verify_skips(False)
