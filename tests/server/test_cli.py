"""``gatepass-server`` from the command line: init, import, keys, retention, check-config."""

from __future__ import annotations

import asyncio
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from server.cli.main import main
from server.store.db import Database, sqlite_url
from tests.server.registers import HEADERS_ZH, people, write_xlsx


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


ROOT_PASSPHRASE = "lantern by the north gate"


@pytest.fixture(autouse=True)
def _root_passphrase(monkeypatch: pytest.MonkeyPatch) -> None:
    """``init`` and ``keys`` read the root key's passphrase from the environment here."""
    monkeypatch.setenv("GATEPASS_ROOT_PASSPHRASE", ROOT_PASSPHRASE)


def test_init_creates_a_site_and_refuses_to_overwrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "site"
    assert (
        main(["init", "--data", str(data), "--site", "gw01", "--zone", "东区", "--zone", "西区"])
        == 0
    )
    out = capsys.readouterr().out
    assert "one-time password" in out
    assert "manifest seq 1" in out
    keys = sorted(p.name.split("-")[0] for p in (data / "keys").iterdir())
    phone = ["phone"] * 3  # the site's and one per zone
    assert keys == ["control", "pass", *phone, "revlist", "root"]
    for path in (data / "keys").iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((data / "keys").stat().st_mode) == 0o700
    before = {p.name: p.read_bytes() for p in (data / "keys").iterdir()}
    assert main(["init", "--data", str(data), "--site", "gw01"]) == 1
    assert "already holds a site" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in (data / "keys").iterdir()} == before


def test_import_keys_and_retention_commands(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "site"
    monkeypatch.setenv("GATEPASS_DATA", str(data))
    assert main(["init", "--site", "gw01", "--zone", "east"]) == 0
    rows = people(40)
    rows[3][4] = "not a phone"
    register = write_xlsx(tmp_path / "r.xlsx", HEADERS_ZH, rows)
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    monkeypatch.delenv("GATEPASS_LANG", raising=False)
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    assert main(["import", "residents", str(register)]) == 1
    out = capsys.readouterr()
    assert "row 5, Phone (联系电话): is not a mobile number" in out.out
    assert "Nothing was written" in out.out
    assert "check [" in out.err
    assert main(["import", "residents", str(register), "--skip-invalid"]) == 1  # one rejected
    assert "40 rows: 39 new" in capsys.readouterr().out
    assert main(["keys", "rotate", "pass"]) == 0
    listing = capsys.readouterr().out
    assert listing.startswith("new pass key")
    assert listing.count(" pass     active") == 2
    assert main(["retention"]) == 0
    assert "temperatures_cleared" in capsys.readouterr().out

    async def count() -> int:
        db = Database(sqlite_url(data / "registry.db"))
        async with db.read() as conn:
            n = await conn.scalar(sa.text("SELECT count(*) FROM residents"))
        await db.close()
        return int(n or 0)

    assert asyncio.run(count()) == 39


def test_check_config_reports_every_problem(tmp_path: Path) -> None:
    env = {
        "GATEPASS_DATA": str(tmp_path),
        "GATEPASS_PORT": "99999",
        "GATEPASS_NOPE": "1",
        "PATH": "/usr/bin",
    }
    result = _cli("check-config", env=env)
    assert result.returncode == 2
    assert "GATEPASS_NOPE: unknown setting" in result.stderr
    assert "port" in result.stderr
    ok = _cli("--check-config", env={"GATEPASS_DATA": str(tmp_path), "PATH": "/usr/bin"})
    assert ok.returncode == 0
    assert "session_idle_s = 900" in ok.stdout
    assert _cli("run", env={"PATH": "/usr/bin"}).returncode == 2  # no --data
    assert _cli("run", "--data", str(tmp_path / "empty"), env={"PATH": "/usr/bin"}).returncode == 1


def test_staff_accounts_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The way back in when the only admin forgot the password, and accounts by script."""
    from server.services.staff.passwords import verify_password

    def password(out: str) -> str:
        return out.strip().splitlines()[-1].rsplit(": ", 1)[1]

    monkeypatch.setenv("GATEPASS_DATA", str(tmp_path / "site"))
    assert main(["init", "--site", "gw01", "--zone", "east", "--zone", "west"]) == 0
    first = password(capsys.readouterr().out)
    assert main(["staff", "add", "east-desk", "--zone", "east", "--name", "东门值班"]) == 0
    desk = password(capsys.readouterr().out)
    assert main(["staff", "add", "x-desk", "--zone", "north"]) == 1
    assert "no zone north (zones: east, west)" in capsys.readouterr().err
    assert main(["staff", "add", "east-desk", "--zone", "west"]) == 1
    assert "exists" in capsys.readouterr().err
    assert main(["staff", "list"]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert [line.split() for line in listing] == [
        ["admin", "admin", "active", "all", "zones"],
        ["east-desk", "staff", "active", "east"],
    ]
    assert main(["staff", "reset-password", "admin"]) == 0
    out = capsys.readouterr().out
    assert "every session ended" in out
    fresh = password(out)
    assert main(["staff", "reset-password", "nobody"]) == 1

    async def accounts() -> tuple[dict[str, str], list[str]]:
        db = Database(sqlite_url(tmp_path / "site" / "registry.db"))
        async with db.read() as conn:
            rows = await conn.execute(sa.text("SELECT username, password_hash FROM staff"))
            hashes = {r.username: r.password_hash for r in rows}
            audit = await conn.execute(sa.text("SELECT actor, action FROM audit_log"))
            actions = [f"{r.actor} {r.action}" for r in audit]
        await db.close()
        return hashes, actions

    hashes, actions = asyncio.run(accounts())
    assert verify_password(hashes["east-desk"], desk)
    assert verify_password(hashes["admin"], fresh)
    assert not verify_password(hashes["admin"], first)
    assert {"cli staff.create", "cli staff.reset_password"} <= set(actions)
