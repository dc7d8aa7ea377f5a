"""The layers of DESIGN.md hold: `lint-imports` checks the contracts in pyproject.toml over every import
(relative ones and those inside functions included; type-only imports under TYPE_CHECKING excluded).

The contracts: the rooms of `clusters` are layered (doors → actions/selectors → sim → store → config,
models → apiserver → engine); the doors never reach the models, the database store or the engine
themselves; the engine and the apiserver import nothing from Django, Celery or Channels, even
indirectly; `clusters` never imports the apps built on it.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept():
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout
