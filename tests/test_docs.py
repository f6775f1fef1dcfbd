"""docs/architecture.md's module maps match the tree: every module is named by its file name,
every path it spells out exists (a renamed or new module the map misses fails here, not in a
reader's hands)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "architecture.md"
PACKAGES = ("protocol", "device", "server")


def _modules() -> list[Path]:
    return sorted(
        p
        for package in PACKAGES
        for p in (ROOT / package).rglob("*.py")
        if p.name != "__init__.py" and "migrations" not in p.parts
    )


def test_every_module_is_named_in_the_architecture_map() -> None:
    text = DOC.read_text()
    missing = [str(p.relative_to(ROOT)) for p in _modules() if p.name not in text]
    assert missing == [], f"docs/architecture.md does not name: {missing}"


def test_every_path_the_map_names_exists() -> None:
    text = DOC.read_text()
    named = set(
        re.findall(r"`((?:protocol|device|server|tests|bench|deploy)/[\w/]+(?:\.py)?)`", text)
    )
    gone = sorted(n for n in named if not (ROOT / n).exists())
    assert gone == [], f"docs/architecture.md names paths that do not exist: {gone}"
