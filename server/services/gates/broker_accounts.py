"""The broker's accounts: the server's own and one per gate, kept as mosquitto_passwd hashes.

A password is generated here and never stored in plain text on the server, apart from the
server's own in a 0600 file of its data directory (``broker/server.password``), which the link
reads to log in. ``mosquitto_passwd -U`` hashes a plain-text file in a private temporary
directory, so a password never appears on a command line. When a broker directory was
configured (``broker-config``), its password file and ACL (each gate's peers) are rewritten
after every change; the broker applies them on its next reload (SIGHUP, ``systemctl reload
mosquitto``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from server.services.context import Env
from server.services.errors import Conflict
from server.services.gates.broker_files import render_acl, write_password_file, write_same_group
from server.services.gates.peers import peers_of
from server.store import broker_accounts as account_store
from server.store import registry
from server.store import settings as settings_store

logger = logging.getLogger(__name__)

SERVER_ACCOUNT = "server"
PASSWORD_FILE = "server.password"  # noqa: S105 - a file name, not a password
PASSWD_TIMEOUT_S = 20
BROKER_DIR_SETTING = "broker.config_dir"


class ProvisioningError(Conflict):
    """A gate could not be provisioned (mosquitto_passwd missing or failing, file problems)."""


@dataclass(frozen=True, slots=True)
class Accounts:
    """What the broker's password file and ACL are written from."""

    site: str
    hash_lines: list[str]
    peers: dict[str, list[str]]  # gate -> the gates whose presence it may read


def hash_line(username: str, password: str) -> str:
    """``username:$7$...`` as mosquitto_passwd writes it (the password never on a command line)."""
    with tempfile.TemporaryDirectory(prefix="gatepass-passwd-") as tmp:
        path = Path(tmp) / "passwd"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(f"{username}:{password}\n")
        tool = shutil.which("mosquitto_passwd")
        if tool is None:
            raise ProvisioningError("mosquitto_passwd not found: install mosquitto")
        try:
            subprocess.run(  # noqa: S603 - a fixed argv without a shell; the path is ours
                [tool, "-U", str(path)],
                check=True,
                capture_output=True,
                timeout=PASSWD_TIMEOUT_S,
            )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            raise ProvisioningError(f"mosquitto_passwd failed: {exc}") from None
        line = path.read_text().strip()
    if not line.startswith(f"{username}:$") or "\n" in line:
        raise ProvisioningError("mosquitto_passwd wrote an unexpected line")
    return line


def new_password() -> str:
    """A random broker password (192 bits, URL-safe characters only)."""
    return secrets.token_urlsafe(24)


async def ensure_server_account(env: Env) -> None:
    """Create the server's broker account and its 0600 password file once."""
    directory = env.settings.broker_dir
    path = directory / PASSWORD_FILE
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    async with env.db.read() as conn:
        account = await account_store.get_account(conn, username=SERVER_ACCOUNT)
    if account is not None and path.exists():
        return
    if path.exists():
        password = path.read_text().strip()
    else:
        password = new_password()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(password + "\n")
    line = await asyncio.to_thread(hash_line, SERVER_ACCOUNT, password)
    async with env.db.write() as conn:
        await account_store.put_account(
            conn, username=SERVER_ACCOUNT, role="server", hash_line=line, now=env.clock.now()
        )


async def broker_accounts(env: Env) -> Accounts:
    """The site and every account's hash line (the server's account is made first if new)."""
    await ensure_server_account(env)
    async with env.db.read() as conn:
        site = await registry.get_site(conn)
        accounts = await account_store.list_accounts(conn)
        gates = await registry.list_gates(conn, scope=None)
    if site is None:
        raise Conflict("the database holds no site: run gatepass-server init")
    return Accounts(site=site.id, hash_lines=[a.hash_line for a in accounts], peers=peers_of(gates))


async def remember_broker_dir(env: Env, directory: Path) -> None:
    """Where ``broker-config`` wrote the files, so later changes rewrite the password file."""
    value = str(await asyncio.to_thread(directory.resolve))
    async with env.db.write() as conn:
        await settings_store.put_setting(conn, key=BROKER_DIR_SETTING, value=value)


async def refresh_broker_files(env: Env) -> Path | None:
    """Rewrite the configured broker directory's password file and ACL (a gate added or
    removed changes its zone's peers) from the stored hashes and gates."""
    async with env.db.read() as conn:
        directory = await settings_store.get_setting(conn, key=BROKER_DIR_SETTING)
    if directory is None:
        return None
    accounts = await broker_accounts(env)
    path = Path(directory) / "passwd"
    write_password_file(path, accounts.hash_lines)
    acl = path.with_name("acl")
    write_same_group(acl, render_acl(accounts.site, accounts.peers, server=SERVER_ACCOUNT))
    logger.info("rewrote %s and %s: reload the broker (SIGHUP) to apply", path, acl)
    return path
