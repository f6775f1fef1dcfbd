"""Every deploy script passes shellcheck and answers --help."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.deploy.conftest import DEPLOY, run

SCRIPTS = sorted(DEPLOY.rglob("*.sh"))


def test_there_are_scripts() -> None:
    names = {p.relative_to(DEPLOY).as_posix() for p in SCRIPTS}
    assert {
        "lib.sh",
        "gate/install.sh",
        "server/install.sh",
        "server/tls.sh",
        "server/backup.sh",
        "server/restore.sh",
    } <= names


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.relative_to(DEPLOY).as_posix())
def test_shellcheck(script: Path) -> None:
    shellcheck = shutil.which("shellcheck")
    assert shellcheck is not None, "shellcheck is missing: make sysdeps installs it"
    proc = run(shellcheck, "--external-sources", "--source-path=SCRIPTDIR", script, check=False)
    assert proc.returncode == 0, proc.stdout


@pytest.mark.parametrize(
    "script",
    [s for s in SCRIPTS if s.name != "lib.sh"],
    ids=lambda p: p.relative_to(DEPLOY).as_posix(),
)
def test_help_and_strict_mode(script: Path) -> None:
    text = script.read_text()
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in text
    assert script.stat().st_mode & 0o111
    assert "usage" in run(script, "--help").stdout


@pytest.mark.parametrize("unit", ["gate/gatepass-gate.service", "server/gatepass-server.service"])
def test_units_are_hardened(unit: str, tmp_path: Path) -> None:
    """systemd's own exposure score (0 safe .. 10 unsafe) stays at 'OK' (below 3)."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.fail("systemd-analyze is missing: make sysdeps installs it (package systemd)")
    copy = tmp_path / Path(unit).name
    copy.write_text((DEPLOY / unit).read_text())
    proc = run(analyze, "security", "--offline=yes", "--threshold=30", copy, check=False)
    assert proc.returncode == 0, proc.stdout[-400:]
