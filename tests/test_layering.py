"""The pure layers stay pure: the engine and the apiserver semantics import nothing from Django,
Celery or Channels (DESIGN.md: dependencies point down), checked on the source's imports."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = ("django", "celery", "channels", "clusters.models", "clusters.actions", "clusters.store.database",
             "clusters.kubeapi", "lessons")
PURE_PACKAGES = ["clusters/engine", "clusters/apiserver"]


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


@pytest.mark.parametrize("path", sorted(p for pkg in PURE_PACKAGES for p in (ROOT / pkg).rglob("*.py")),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_pure_module_imports(path):
    # The engine is the bottom layer: not even the apiserver semantics (they are injected).
    forbidden = FORBIDDEN + (("clusters.apiserver",) if "clusters/engine" in str(path) else ())
    bad = {m for m in imported_modules(path) if any(m == f or m.startswith(f + ".") for f in forbidden)}
    assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"
