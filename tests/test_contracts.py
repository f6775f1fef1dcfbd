"""The import contracts can fail: a deliberately wrong import breaks each one.

``make imports`` runs import-linter over the tree and every contract must hold there. A contract
that could never fail (a typo in a module name, a package import-linter cannot see, as
``device/store/`` once was without its ``__init__.py``) would hold for nothing, so this test
copies the packages into a temporary directory, adds one wrong import for one contract and checks
that ``lint-imports`` then reports that contract broken, for every contract.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
PACKAGES = ("protocol", "device", "server", "deploy/demo")

# contract name (start) -> (module file, the wrong import added to it)
VIOLATIONS = {
    "protocol is pure": ("protocol/base45.py", "import server.config"),
    "device and server meet only through protocol": (
        "device/store/outbox.py",
        "import server.config",
    ),
    "device.core imports only protocol": ("device/core/clock.py", "import msgspec"),
    "server layers": ("server/services/audit.py", "import server.web"),
    "the edges reach data only through the services": (
        "server/api/routes/system.py",
        "import server.store.db",
    ),
    "services and store know no web framework": ("server/store/query.py", "import fastapi"),
    "the broker link is no HTTP edge": ("server/link/session.py", "import server.http.deps"),
    "the demo orchestrator": ("deploy/demo/cli.py", "import server.config"),
    "the gate's codecs are pure": ("device/hardware/codecs/modbus.py", "import serial"),
    "the gate's serial drivers, GPIO adapters and fakes": (
        "device/hardware/fakes/drivers.py",
        "import device.hardware.gpio.pins",
    ),
    "the gate's hardware sits below device.ports": (
        "device/hardware/readings.py",
        "import device.lane",
    ),
    "the gate's store imports no link": ("device/store/outbox.py", "import device.link.mqtt"),
    "the gate's MQTT link is an adapter": ("device/link/mqtt.py", "import device.store.db"),
}


def _contracts() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return [c["name"] for c in config["tool"]["importlinter"]["contracts"]]


def _copy(tmp_path: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"PYTHONPATH": str(root)}  # the copies, not the installed project
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _broken(output: str) -> set[str]:
    flat = re.sub(r"\s*\n\s*", " ", output)  # lint-imports wraps long names
    return {name for name in _contracts() if re.search(re.escape(name) + r"\s*BROKEN", flat)}


def test_every_contract_has_a_violation_here() -> None:
    names = _contracts()
    for start in VIOLATIONS:
        assert any(n.startswith(start) for n in names), f"no contract named {start!r}"
    for name in names:
        assert any(name.startswith(start) for start in VIOLATIONS), f"untested contract {name!r}"


def test_the_copy_is_clean(tmp_path: Path) -> None:
    result = _lint(_copy(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert _broken(result.stdout) == set()


@pytest.mark.parametrize("start", sorted(VIOLATIONS))
def test_a_wrong_import_breaks_its_contract(tmp_path: Path, start: str) -> None:
    root = _copy(tmp_path)
    path, line = VIOLATIONS[start]
    module = root / path
    module.write_text(module.read_text() + f"\n{line}  # a deliberate violation\n")
    result = _lint(root)
    assert result.returncode != 0, result.stdout
    broken = _broken(result.stdout)
    assert any(name.startswith(start) for name in broken), result.stdout
