"""The three console scripts are installed and answer --help (so installers can discover them)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


@pytest.mark.parametrize(
    ("script", "words"),
    [
        ("gatepass-gate", "gate unit"),
        ("gatepass-server", "pass registry"),
        ("gatepass-sim", "pseudo-terminal"),
    ],
)
def test_console_script_help(script: str, words: str) -> None:
    result = subprocess.run(
        [str(BIN / script), "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: {script}")
    assert words in result.stdout
