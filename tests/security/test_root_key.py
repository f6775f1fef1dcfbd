"""The manifest's root key is not online (issue 14, design notes): it sat unencrypted in
``keys/`` next to the pass keys, so whoever read the data directory could sign a manifest that
every gate trusts. It is now encrypted under a passphrase only the ``keys`` commands ask for;
the running server signs passes without it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from protocol.keys import load_pem_private
from server.app import create_app
from server.services.context import Env
from server.services.registry.site import initialise
from tests.server.conftest import STRONG, FakeClock, Site, make_settings, ready_accounts

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
    )


def _root_file(data: Path) -> Path:
    [root] = (data / "keys").glob("root-*.pem")
    return root


def test_the_root_key_file_is_encrypted_and_the_server_runs_without_it(tmp_path: Path) -> None:
    """The attack: copy ``keys/root-*.pem`` off the server and sign a manifest with it."""
    data = tmp_path / "site"
    made = _server(
        "init", "--site", "gw01", "--zone", "east", data=data, GATEPASS_ROOT_PASSPHRASE=PASSPHRASE
    )
    assert made.returncode == 0, made.stderr
    stolen = _root_file(data).read_bytes()
    assert stolen.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    with pytest.raises(ValueError, match="passphrase"):
        load_pem_private(stolen)
    with pytest.raises(ValueError, match="passphrase does not decrypt"):
        load_pem_private(stolen, b"a guessed passphrase")
    assert load_pem_private(stolen, PASSPHRASE.encode())  # the operator can

    # The server, without the passphrase anywhere, signs passes; the manifest it cannot change.
    site = Site(make_settings(data), FakeClock(int(time.time())), "", None)
    site.run(ready_accounts)
    with TestClient(create_app(site.settings, clock=site.clock), base_url="http://testserver") as c:
        csrf = {
            "X-CSRF-Token": c.post(
                "/api/v1/auth/login", json={"username": "admin", "password": STRONG}
            ).json()["csrf_token"]
        }
        house = c.post(
            "/api/v1/households",
            json={"zone_id": 1, "building": "3", "unit": "2", "room": "201"},
            headers=csrf,
        ).json()
        person = {
            "household_id": house["id"],
            "name": "张三",
            "phone": "13800138000",
            "role": "owner",
        }
        resident = c.post("/api/v1/residents", json=person, headers=csrf).json()
        issued = c.post("/api/v1/passes", json={"resident_id": resident["id"]}, headers=csrf)
        assert issued.status_code == 201
        assert issued.json()["text"].startswith("PG1:")
        rotate = c.post("/api/v1/keys/rotate", json={"use": "pass"}, headers=csrf)
        assert rotate.status_code == 409
        assert rotate.json()["code"] == "keys.root_locked"

    # `run` refuses to hold the passphrase; the keys commands need it, and only the right one.
    refused = _server("run", data=data, GATEPASS_ROOT_PASSPHRASE=PASSPHRASE)
    assert refused.returncode == 1
    assert "GATEPASS_ROOT_PASSPHRASE is for the keys commands only" in refused.stderr
    wrong = _server(
        "keys", "rotate", "pass", data=data, GATEPASS_ROOT_PASSPHRASE="not the one at all"
    )
    assert wrong.returncode == 1
    assert "Wrong passphrase for the root key" in wrong.stderr
    assert _server("keys", "rotate", "pass", data=data).returncode == 1  # no terminal, no secret
    right = _server("keys", "rotate", "pass", data=data, GATEPASS_ROOT_PASSPHRASE=PASSPHRASE)
    assert right.returncode == 0, right.stderr
    assert "root key: encrypted" in right.stdout


def test_an_older_sites_plain_root_key_is_flagged_and_can_be_encrypted(tmp_path: Path) -> None:
    """A site made before passphrases keeps working, is told, and encrypts its key in place."""
    data = tmp_path / "site"
    site = Site(make_settings(data), FakeClock(int(time.time())), "", None)
    data.mkdir()

    async def old_init(env: Env) -> object:
        return await initialise(
            env, site="gw01", name="Garden", zones=["east"], admin="admin", root_passphrase=None
        )

    site.run(old_init)
    assert b"ENCRYPTED" not in _root_file(data).read_bytes()
    checked = _server("check-config", data=data)
    assert checked.returncode == 0
    assert "is not encrypted: run `gatepass-server keys passphrase`" in checked.stderr
    listed = _server("keys", "list", data=data)
    assert "warning: the root key is not encrypted" in listed.stderr
    weak = _server("keys", "passphrase", data=data, GATEPASS_ROOT_PASSPHRASE="gw01gw01gw01")
    assert weak.returncode == 1  # the password rule: it contains the site's name
    assert b"ENCRYPTED" not in _root_file(data).read_bytes()
    read_end, write_end = os.pipe()
    os.write(write_end, PASSPHRASE.encode() + b"\n")
    os.close(write_end)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GATEPASS_")}
    done = subprocess.run(
        [sys.executable, "-m", "server", "keys", "passphrase", "--passphrase-fd", str(read_end)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        pass_fds=(read_end,),
        env=clean | {"GATEPASS_DATA": str(data)},
    )
    os.close(read_end)
    assert done.returncode == 0, done.stderr
    assert _root_file(data).read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert "not encrypted" not in _server("check-config", data=data).stderr
    rotated = _server("keys", "retire", "nope", data=data, GATEPASS_ROOT_PASSPHRASE=PASSPHRASE)
    assert "no retirable key nope" in rotated.stderr  # unlocked, then refused for the kid
