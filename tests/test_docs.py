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


def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_every_test_docs_security_names_exists_and_every_link_resolves() -> None:
    """docs/security.md says which test shows each control: each must be a real test."""
    text = (ROOT / "docs" / "security.md").read_text()
    missing = []
    for row in text.splitlines():
        files = re.findall(r"`((?:tests/[\w/]+/)?(?:test_\w+\.py))(?:::(\w+))?`", row)
        base = re.search(r"`(tests/[\w/]+/)?test_\w+\.py", row)
        home = "tests/security/"
        if base and base.group(1):
            home = base.group(1)
        for path, name in files:
            file = ROOT / (path if path.startswith("tests/") else home + path)
            if not file.exists() or (name and f"def {name}(" not in file.read_text()):
                missing.append(f"{path}::{name}")
        for name in re.findall(r"`::(\w+)`", row):
            if not any(f"def {name}(" in p.read_text() for p in (ROOT / "tests").rglob("*.py")):
                missing.append(name)
    assert missing == [], f"docs/security.md names tests that do not exist: {missing}"
    anchors = {_anchor(h) for h in re.findall(r"^#+ (.+)$", text, flags=re.M)}
    broken = [a for a in re.findall(r"\]\(#([\w\-]+)\)", text) if a not in anchors]
    assert broken == [], f"docs/security.md links to no heading: {broken}"


def test_the_lane_words_in_docs_are_the_catalogs() -> None:
    """docs/lane.md's table of the lane's lines says what protocol/wording says, every line."""
    from protocol.wording import lines

    text = (ROOT / "docs" / "lane.md").read_text()
    rows = {
        m.group(1): tuple(c.strip() for c in m.group(2).split(" | "))
        for m in re.finditer(r"^\| `((?:reason|step|staff)\.[\w.]+)` \| (.*) \|$", text, re.M)
    }
    zh, en = lines("zh-CN"), lines("en")
    assert set(rows) == set(zh)
    for key, cells in rows.items():
        assert cells == (zh[key].screen, zh[key].spoken, en[key].spoken), key
