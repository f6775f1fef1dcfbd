"""Import and purity rules of design.md section 3 that import-linter cannot see.

import-linter (``make imports``) checks packages against packages and third-party libraries.
It does not track the standard library, so this test holds ``protocol`` and ``device.core`` to a
standard-library allow-list, and checks that neither reads the clock or draws randomness: they
take ``now`` and random values as arguments, which keeps them pure and testable.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
THIRD_PARTY_ALLOWED = {
    "protocol": {"cbor2", "cryptography", "msgspec"},
    "device/core": set(),
}
STDLIB_ALLOWED = {
    "__future__",
    "abc",
    "bisect",
    "collections",
    "dataclasses",
    "datetime",
    "enum",
    "functools",
    "hashlib",
    "hmac",
    "importlib",  # importlib.resources: protocol/wording reads its own catalogs (package data)
    "io",
    "itertools",
    "math",
    "operator",
    "re",
    "tomllib",  # the catalogs' format
    "types",
    "typing",
    "zlib",
}
OWN_ALLOWED = {"protocol": {"protocol"}, "device/core": {"protocol", "device"}}
CLOCK_CALLS = {"now", "utcnow", "today", "time", "monotonic", "perf_counter", "time_ns"}
RANDOM_CALLS = {"uuid4", "urandom", "token_bytes", "token_hex", "randbytes", "random", "generate"}
# Entry points are the boundary: they may read files and argv.
EXEMPT = {"protocol/__main__.py"}
# Key generation is randomness by definition, asked for explicitly by the issuer.
RANDOM_EXEMPT = {("protocol/keys.py", "generate")}


def _modules(package: str) -> list[Path]:
    return sorted(
        p for p in (ROOT / package).rglob("*.py") if str(p.relative_to(ROOT)) not in EXEMPT
    )


def _imports(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def _calls(tree: ast.AST) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute):
                out.add(func.attr)
            elif isinstance(func, ast.Name):
                out.add(func.id)
    return out


@pytest.mark.parametrize("package", sorted(THIRD_PARTY_ALLOWED))
def test_imports_stay_on_the_allow_list(package: str) -> None:
    allowed = STDLIB_ALLOWED | THIRD_PARTY_ALLOWED[package] | OWN_ALLOWED[package]
    for path in _modules(package):
        bad = _imports(ast.parse(path.read_text())) - allowed
        assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


def test_device_core_imports_no_other_device_module() -> None:
    for path in _modules("device/core"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and node.module.startswith("device")
            ):
                assert node.module.startswith("device.core"), f"{path} imports {node.module}"


@pytest.mark.parametrize("package", sorted(THIRD_PARTY_ALLOWED))
def test_no_clock_reads_or_randomness(package: str) -> None:
    for path in _modules(package):
        rel = str(path.relative_to(ROOT))
        calls = _calls(ast.parse(path.read_text()))
        assert not calls & CLOCK_CALLS, f"{rel} reads the clock: {sorted(calls & CLOCK_CALLS)}"
        random = {c for c in calls & RANDOM_CALLS if (rel, c) not in RANDOM_EXEMPT}
        assert not random, f"{rel} draws randomness: {sorted(random)}"


def test_the_checks_catch_a_violation(tmp_path: Path) -> None:
    """Guard against a vacuous test: a forbidden import and a clock read are detected."""
    tree = ast.parse("import asyncio\nimport time\nx = time.time()\n")
    assert _imports(tree) - STDLIB_ALLOWED == {"asyncio", "time"}
    assert _calls(tree) & CLOCK_CALLS == {"time"}
