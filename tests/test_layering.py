"""The layers of DESIGN.md hold.

`lint-imports` checks the contracts in pyproject.toml over every import (relative ones and those inside
functions included; type-only imports under TYPE_CHECKING excluded): the rooms of `clusters` are layered
(doors → actions/selectors → sim → store → config, models → apiserver → engine); the doors never reach the
models, the database store or the engine themselves; the engine, the apiserver and the terminal's argv
rules import nothing from Django, Celery or Channels, even indirectly; `clusters` never imports the apps
built on it.

Each pure module is also checked on its own, on the same import graph (grimp, import-linter's), so a
failure names the file and the import at once.
"""
from __future__ import annotations

import functools
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
PURE = ("clusters.engine", "clusters.apiserver", "clusters.terminal.policy")
# What a pure module may never import directly: the frameworks, and every room above the pure ones.
FORBIDDEN = ("django", "celery", "channels", "asgiref", "daphne", "redis", "clusters.models", "clusters.actions",
             "clusters.selectors", "clusters.config", "clusters.store", "clusters.sim", "clusters.kubeapi",
             "clusters.web", "clusters.terminal.sandbox", "clusters.terminal.session", "clusters.management",
             "lessons", "playground")


@functools.cache
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("clusters", "lessons", "playground", include_external_packages=True,
                             exclude_type_checking_imports=True, cache_dir=None)


def pure_modules() -> list[str]:
    found = []
    for path in sorted((ROOT / "clusters").rglob("*.py")):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        if module.startswith(PURE):
            found.append(module)
    return found


def test_import_contracts_are_kept():
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


@pytest.mark.parametrize("module", pure_modules())
def test_pure_module_imports(module):
    # The engine is the bottom layer: not even the apiserver semantics (they are injected).
    forbidden = FORBIDDEN + (("clusters.apiserver",) if module.startswith("clusters.engine") else ())
    imported = graph().find_modules_directly_imported_by(module)
    bad = sorted(m for m in imported if any(m == f or m.startswith(f + ".") for f in forbidden))
    assert not bad, f"{module} imports {bad}"
