"""What the CLI subcommands do, over the same services the API uses (actor ``cli``)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any, TextIO

from server.cli import gates as commands_link
from server.cli import staff as commands_staff
from server.clock import SystemClock
from server.config import ServerSettings
from server.services.context import CLI_ACTOR, Env
from server.services.errors import ServiceError
from server.store.db import Database

PROGRESS_WIDTH = 30


class CommandError(Exception):
    """A subcommand failed for a reason the operator can act on."""


def describe(settings: ServerSettings) -> str:
    """The effective settings, redacted, one per line."""
    return "\n".join(f"{k} = {v}" for k, v in settings.redacted().items())


def serve(settings: ServerSettings) -> int:
    """Run the API with uvicorn until interrupted."""
    import uvicorn

    from server.app import create_app

    if not (settings.data_dir / "keys").exists() and settings.database_url is None:
        raise CommandError(f"{settings.data_dir} holds no site: run gatepass-server init first")
    uvicorn.run(
        create_app(settings, settle_heap=True),
        host=settings.bind,
        port=settings.port,
        log_level="info",
        server_header=False,
    )
    return 0


class ProgressBar:
    """A one-line progress bar on stderr (redrawn at most ten times a second)."""

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stderr
        self.last = 0.0

    def __call__(self, stage: str, done: int, total: int) -> None:
        """Draw ``done`` of ``total`` for ``stage``."""
        now = time.monotonic()
        if done < total and now - self.last < 0.1:
            return
        self.last = now
        filled = PROGRESS_WIDTH * done // max(total, 1)
        bar = "#" * filled + "." * (PROGRESS_WIDTH - filled)
        self.out.write(f"\r{stage:>8} [{bar}] {done}/{total}")
        if done >= total:
            self.out.write("\n")
        self.out.flush()


async def _init(env: Env, args: argparse.Namespace) -> int:
    from server.services.registry.site import initialise, refuse_existing

    refuse_existing(env.settings.data_dir)
    env.settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    result = await initialise(
        env,
        site=args.site,
        name=args.name or args.site,
        zones=args.zones or ["main"],
        admin=args.admin,
    )
    print(f"site {result.site} created in {env.settings.data_dir}")
    print(f"key manifest seq {result.manifest.seq} with {len(result.manifest.keys)} keys")
    print(f"admin user: {result.admin}")
    print(f"one-time password (shown once, change it at first login): {result.password}")
    return 0


async def _import(env: Env, args: argparse.Namespace) -> int:
    from server.services.registry.imports import import_residents

    if not args.file.is_file():
        raise CommandError(f"{args.file} is not a file")
    report = await import_residents(
        env, CLI_ACTOR, args.file, skip_invalid=args.skip_invalid, progress=ProgressBar()
    )
    for error in report.errors:
        print(f"row {error.row}: {error.column}: {error.message}")
    print(
        f"{report.rows} rows: {report.created} created, {report.updated} updated, "
        f"{report.unchanged} unchanged, {report.households_created} households created, "
        f"{len(report.errors)} invalid"
    )
    if not report.written:
        print("nothing was written: fix the rows above, or use --skip-invalid")
        return 1
    return 0


async def _keys(env: Env, args: argparse.Namespace) -> int:
    from server.services.passes import admin as pass_admin

    if args.action == "rotate":
        row = await pass_admin.rotate_key(env, CLI_ACTOR, args.use)
        print(f"new {args.use} key {row['kid']} signs from {row['sign_from']}")
    elif args.action == "retire":
        killed = await pass_admin.retire_key(env, CLI_ACTOR, args.kid)
        print(
            f"key {args.kid} retired; {killed} live passes it signed are now invalid: reissue them"
        )
    for row in await pass_admin.list_keys(env, CLI_ACTOR):
        state = "retired" if row["retired_at"] else "active"
        window = f"sign {row['sign_from']}..{row['sign_until']} verify until {row['verify_until']}"
        print(f"{row['kid']} {row['use']:8} {state:8} {window}")
    return 0


async def _retention(env: Env, _args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from server.services.privacy.subjects import run_retention

    print(json.dumps(asdict(await run_retention(env, CLI_ACTOR))))
    return 0


_COMMANDS: dict[str, Any] = {
    "init": _init,
    "import": _import,
    "keys": _keys,
    "retention": _retention,
    "gate": commands_link.gate,  # issue 6
    "broker-config": commands_link.broker_config,  # issue 6
    "staff": commands_staff.staff_command,
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
        return int(await _COMMANDS[args.command](env, args))
    except ServiceError as exc:
        raise CommandError(str(exc)) from None
    finally:
        await db.close()
