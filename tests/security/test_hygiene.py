"""Secrets and reach stay where they belong (issue 14, design notes): ``staff add`` without a zone
made an account for every zone; the gate daemon started outside its unit left ``gate.db``
world-readable; a gate's plain broker password stayed in the server's data directory after
provisioning."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from device.sim.scanner import ScannerSim
from device.sim.thermometer import ThermometerSim
from protocol.keys import generate_ed25519, raw_public
from server.cli.main import main
from tests.server.conftest import Api
from tests.support.gate_toml import sim_lane_sections, write_gate_toml
from tests.support.mosquitto import free_port

GATE_CLI = Path(sys.executable).with_name("gatepass-gate")
PASSPHRASE = "a lantern by the north gate"


def _server(*args: str | Path, data: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``gatepass-server ARGS`` as an operator runs it, on the site in ``data``."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GATEPASS_")}
    return subprocess.run(
        [sys.executable, "-m", "server", *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env=clean | {"GATEPASS_DATA": str(data), "GATEPASS_LANG": "en"} | env,
        umask=0o022,  # as a shell's: the server's files must be private all the same
    )


def test_staff_add_without_a_zone_is_refused_in_the_operators_language(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The attack (a slip, really): ``staff add night-desk`` quietly made an all-zones account."""
    monkeypatch.setenv("GATEPASS_DATA", str(tmp_path / "site"))
    monkeypatch.setenv("GATEPASS_ROOT_PASSPHRASE", PASSPHRASE)
    assert main(["init", "--site", "gw01", "--zone", "east", "--zone", "west"]) == 0
    capsys.readouterr()
    monkeypatch.setenv("GATEPASS_LANG", "zh-CN")
    assert main(["staff", "add", "night-desk"]) == 1
    assert "请指定该账号可以管理的片区" in capsys.readouterr().err
    monkeypatch.setenv("GATEPASS_LANG", "en")
    assert main(["staff", "add", "night-desk", "--zone", "east", "--all-zones"]) == 1
    assert "Say which zones the account may act in" in capsys.readouterr().err
    assert main(["staff", "list"]) == 0
    assert "night-desk" not in capsys.readouterr().out  # nothing was written
    assert main(["staff", "add", "night-desk", "--all-zones"]) == 0
    assert main(["staff", "add", "east-desk", "--zone", "east"]) == 0
    capsys.readouterr()
    assert main(["staff", "list"]) == 0
    listing = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert ["night-desk", "staff", "active", "all", "zones"] in listing
    assert ["east-desk", "staff", "active", "east"] in listing


def test_the_api_also_wants_the_zones_said(api: Api) -> None:
    """The same slip through the API: no zone_scope used to mean every zone."""
    api.use("admin")
    body = {"username": "night-desk", "display_name": "夜班", "role": "staff"}
    refused = api.post("/api/v1/staff", json=body)
    assert refused.status_code == 422
    assert refused.json()["code"] == "staff.zone_required"
    both = api.post("/api/v1/staff", json=body | {"zone_scope": [1], "all_zones": True})
    assert both.status_code == 422
    every = api.post("/api/v1/staff", json=body | {"all_zones": True})
    assert every.status_code == 201
    assert every.json()["staff"]["zone_scope"] is None


def test_the_gate_daemon_keeps_its_files_private_under_umask_022(tmp_path: Path) -> None:
    """The attack: another user of the Pi reads ``gate.db`` (events, temperatures, the signed
    config with its phone-tag keys) after the daemon was started by hand with umask 022."""
    raw = sim_lane_sections(
        tmp_path,
        site="gw01",
        gate="east-in",
        root_key=raw_public(generate_ed25519()).hex(),
        host="127.0.0.1",
        port=free_port(),  # no broker: the gate starts and decides offline
        password="p" * 32,
    )
    config = write_gate_toml(tmp_path / "gate.toml", raw)
    scanner = ScannerSim("grow-gm65", link=tmp_path / "scanner")
    thermo = ThermometerSim("gy-mcu90614", link=tmp_path / "thermo")
    scanner.start()
    thermo.start()
    proc = subprocess.Popen(
        [str(GATE_CLI), "run", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        umask=0o022,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "READY"
        data = tmp_path / "gate-data"
        made = [data, *data.iterdir()]
        assert data / "gate.db" in made
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in made}
        assert {name: mode & 0o077 for name, mode in modes.items()} == dict.fromkeys(modes, 0)
    finally:
        proc.terminate()
        proc.wait(20)
        assert proc.stdout is not None
        proc.stdout.close()
        scanner.stop()
        thermo.stop()


def _holds(root: Path, secret: str) -> list[Path]:
    """Every file under ``root`` whose bytes contain ``secret`` (SQLite files and WAL too)."""
    needle = secret.encode()
    return [p for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


def test_no_gate_password_stays_in_the_data_directory(tmp_path: Path) -> None:
    """The attack: read a gate's broker password out of the server's data directory (or a
    backup of it) after the gate was provisioned."""
    data, handed = tmp_path / "site", tmp_path / "handed-out"
    assert (
        _server(
            "init",
            "--site",
            "gw01",
            "--zone",
            "east",
            data=data,
            GATEPASS_ROOT_PASSPHRASE=PASSPHRASE,
        ).returncode
        == 0
    )
    assert _server("broker-config", "--out", tmp_path / "broker", data=data).returncode == 0
    add = ("gate", "add", "east-in", "--zone", "east", "--direction", "in", "--broker-host", "h")
    as_before = _server(*add, data=data)  # the old default wrote DATA/gates/east-in.toml
    assert as_before.returncode == 2
    assert "--out" in as_before.stderr
    inside = _server(*add, "--out", data / "gates" / "east-in.toml", data=data)
    assert inside.returncode == 1
    assert "write it outside the server's data directory" in inside.stderr
    assert _server(*add, "--out", handed / "east-in.toml", data=data).returncode == 0
    first = tomllib.loads((handed / "east-in.toml").read_text())["broker"]["password"]
    assert stat.S_IMODE((handed / "east-in.toml").stat().st_mode) == 0o600
    # an older version kept a copy: check-config says so, and a re-key removes it
    (data / "gates").mkdir(mode=0o700)
    (data / "gates" / "east-in.toml").write_text((handed / "east-in.toml").read_text())
    checked = _server("check-config", data=data)
    assert checked.returncode == 0
    assert "holds a gate's broker password" in checked.stderr
    rekey = ("gate", "rekey", "east-in", "--broker-host", "h", "--out", handed / "east-in.toml")
    assert _server(*rekey, data=data).returncode == 0
    second = tomllib.loads((handed / "east-in.toml").read_text())["broker"]["password"]
    assert second != first  # re-provisioning issues a new password
    assert _holds(data, first) == []
    assert _holds(data, second) == []
    hashes = (tmp_path / "broker" / "passwd").read_text()
    assert "east-in:$7$" in hashes  # what the broker needs: the hash
    assert "holds a gate's" not in _server("check-config", data=data).stderr
    modes = {p: stat.S_IMODE(p.stat().st_mode) for p in [data, *data.rglob("*")]}
    assert {p: mode & 0o077 for p, mode in modes.items()} == dict.fromkeys(modes, 0)
