"""Running the CLI's subcommands: ``run`` serves the app; every other subcommand gets a database
opened and migrated for it and runs over the same services the API uses (actor ``cli``).

The subcommands themselves live beside this module: ``site`` (init, import, keys, retention),
``gates`` (gate add|remove|rekey, broker-config), ``staff``, ``passes`` (locks, unlock) and
``cards`` (the delivery PDF)."""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Mapping

from server.cli.errors import CommandError
from server.cli.messages import explain
from server.cli.passphrase import PASSPHRASE_ENV
from server.clock import SystemClock
from server.config import ServerSettings
from server.services.context import Env
from server.services.errors import ServiceError
from server.services.text import TextError
from server.store.db import Database

PROGRESS_WIDTH = 30


def describe(settings: ServerSettings) -> str:
    """The effective settings, redacted, one per line."""
    return "\n".join(f"{k} = {v}" for k, v in settings.redacted().items())


def warnings(settings: ServerSettings) -> list[str]:
    """What ``check-config`` tells an older site to fix: secrets its data directory should not
    hold as they are (an unencrypted root key, gate files with plain broker passwords)."""
    from server.services.gates.provisioning import leftover_gate_files
    from server.services.passes.keys import unprotected_root_keys

    found = [
        f"the root key {path} is not encrypted: run `gatepass-server keys passphrase` "
        "to protect it with a passphrase (docs/server.md, Passes and keys)"
        for path in unprotected_root_keys(settings.keys_dir)
    ]
    found += [
        f"{path} holds a gate's broker password: make sure the gate has its copy, then "
        "delete it (docs/operations.md, Provisioning gates)"
        for path in leftover_gate_files(settings.data_dir)
    ]
    return found


def refuse_root_passphrase(environ: Mapping[str, str]) -> None:
    """The running server never holds the root key's passphrase: refuse to start with it."""
    if PASSPHRASE_ENV in environ:
        raise CommandError(
            f"{PASSPHRASE_ENV} is for the keys commands only: remove it from the server's "
            "environment (the running server needs no root key)"
        )


def serve(settings: ServerSettings) -> int:
    """Run the API with uvicorn until SIGTERM or SIGINT (a graceful stop: 0)."""
    from server.app import create_app
    from server.http.serving import Server, uvicorn_config

    if not (settings.data_dir / "keys").exists() and settings.database_url is None:
        raise CommandError(f"{settings.data_dir} holds no site: run gatepass-server init first")
    Server(uvicorn_config(create_app(settings, settle_heap=True), settings)).run()
    return 0


# subcommand -> (module in server.cli, function): imported when run, so a command loads only
# what it needs (the cards command's PDF library, the import's spreadsheet readers)
_COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("site", "init"),
    "import": ("imports", "import_register"),
    "keys": ("site", "keys"),
    "retention": ("site", "retention"),
    "gate": ("gates", "gate"),
    "broker-config": ("gates", "broker_config"),
    "staff": ("staff", "staff_command"),
    "passes": ("passes", "passes_command"),
    "cards": ("cards", "cards_command"),
}


async def dispatch(args: argparse.Namespace, settings: ServerSettings) -> int:
    """Run one subcommand with a database opened (and migrated) for it."""
    db = Database(settings.db_url)
    env = Env(db=db, settings=settings, clock=SystemClock())
    try:
        if args.command != "init":
            if not (settings.data_dir / "keys").exists():
                raise CommandError(
                    f"{settings.data_dir} holds no site: run gatepass-server init first"
                )
            from server.store.migrate import upgrade

            await upgrade(db)
        module, name = _COMMANDS[args.command]
        command = getattr(importlib.import_module(f"server.cli.{module}"), name)
        return int(await command(env, args))
    except (ServiceError, TextError) as exc:
        raise CommandError(explain(exc)) from None
    finally:
        await db.close()
