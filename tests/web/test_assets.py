"""The committed front-end bundle (static/dist) was built from the committed sources (frontend/).

frontend/build.mjs writes a banner with a sha256 over frontend/src/** and package-lock.json into
every output file; this recomputes it the same way. A failure means someone changed the sources
(or the locked dependencies) without running `make assets` and committing static/dist.
"""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FRONTEND = ROOT / "frontend"
DIST = ROOT / "static" / "dist"
BANNER = re.compile(r"/\* playground-assets sha256:([0-9a-f]{64}) ")


def source_hash() -> str:
    """build.mjs's recipe: for each path (src/… sorted, then package-lock.json), path NUL bytes NUL."""
    digest = hashlib.sha256()
    sources = sorted(p.relative_to(FRONTEND).as_posix() for p in (FRONTEND / "src").rglob("*") if p.is_file())
    for path in [*sources, "package-lock.json"]:
        digest.update(path.encode() + b"\0")
        digest.update((FRONTEND / path).read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


@pytest.mark.parametrize("name", ["playground.js", "playground.css"])
def test_committed_bundle_is_built_from_the_committed_sources(name):
    bundle = DIST / name
    assert bundle.exists(), f"static/dist/{name} is missing: run `make assets` and commit static/dist"
    match = BANNER.match(bundle.read_text(encoding="utf-8")[:300])
    assert match, f"static/dist/{name} has no build banner: build it with `make assets`"
    assert match.group(1) == source_hash(), (
        f"static/dist/{name} is stale: frontend/src or package-lock.json changed since it was built. "
        "Run `make assets` and commit static/dist.")


def test_page_loads_the_bundle_not_loose_scripts():
    template = (ROOT / "templates" / "clusters" / "detail.html").read_text(encoding="utf-8")
    assert "dist/playground.js" in template and "dist/playground.css" in template
