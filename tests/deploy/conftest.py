"""Fixtures for the deploy tests: a real site made by the server's CLI, scratch roots, and
helpers to run the install scripts and compare the trees they leave."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
BIN = Path(sys.executable).parent
SERVER_CLI = BIN / "gatepass-server"


@dataclass(frozen=True)
class Site:
    """A site made by ``gatepass-server init`` with one gate added."""

    data: Path
    gate_file: Path


def run(
    *args: str | Path, env: dict[str, str] | None = None, check: bool = True, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run a command; on failure show what it printed."""
    proc = subprocess.run(
        [str(a) for a in args],
        check=False,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"{args} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    """``init`` and ``gate add`` through the real CLI (as an installer would run them)."""
    data = tmp_path_factory.mktemp("site") / "data"
    env = {"GATEPASS_LOG_LEVEL": "WARNING", "GATEPASS_ROOT_PASSPHRASE": "a quiet north lane"}
    run(SERVER_CLI, "init", "--data", data, "--site", "gw01", "--zone", "east", env=env)
    gate_file = data.parent / "east-in.toml"  # handed to the installer, not kept in the data
    run(SERVER_CLI, "broker-config", "--data", data, "--out", data.parent / "broker", env=env)
    run(
        SERVER_CLI,
        "gate",
        "add",
        "east-in",
        "--data",
        data,
        "--zone",
        "east",
        "--direction",
        "in",
        "--broker-host",
        "127.0.0.1",
        "--out",
        gate_file,
        env=env,
    )
    return Site(data=data, gate_file=gate_file)


def snapshot(root: Path) -> dict[str, tuple[str, str]]:
    """Every path under ``root`` with its mode and content hash (or link target)."""
    tree: dict[str, tuple[str, str]] = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        mode = oct(path.lstat().st_mode)
        if path.is_symlink():
            tree[rel] = (mode, "-> " + os.readlink(path))
        elif path.is_file():
            tree[rel] = (mode, hashlib.sha256(path.read_bytes()).hexdigest())
        else:
            tree[rel] = (mode, "dir")
    return tree


def systemd_verify(root: Path, work: Path, *units: str) -> subprocess.CompletedProcess[str]:
    """``systemd-analyze verify --root`` on a copy of an installed tree, with the host's own
    units beside them (targets, mosquitto.service) and stand-ins for the venv's executables."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.fail("systemd-analyze is missing: make sysdeps installs it (package systemd)")
    shutil.copytree(root, work, symlinks=True)
    root = work
    host_units = Path("/usr/lib/systemd/system")
    shutil.copytree(host_units, root / "usr/lib/systemd/system", dirs_exist_ok=True, symlinks=True)
    for name in ("gatepass-gate", "gatepass-server"):
        stub = root / "opt/gatepass/venv/bin" / name
        stub.parent.mkdir(parents=True, exist_ok=True)
        stub.write_text("#!/bin/sh\n")
        stub.chmod(0o755)
    return run(analyze, "verify", f"--root={root}", *units, check=False)
