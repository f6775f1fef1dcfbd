"""CLI subcommands for staff accounts: ``staff list|add|reset-password|caller``.

The way back in when the only admin has forgotten the password (the web UI needs an admin to
reset one), and a way to script accounts. ``add`` needs ``--zone`` (repeatable) or
``--all-zones``: an account's reach is always said, never a default. Registered in
server.cli.run; they run as the CLI actor (audited as ``cli``) and print a one-time password
once: the account must change it at its first login, and a reset ends the account's sessions.
``caller USERNAME --zone Z`` (repeatable) marks an account a follow-up caller in those of its
zones (it then sees the full numbers on its call list); ``--none`` unmarks it.
"""

from __future__ import annotations

import argparse

from server.cli.messages import say
from server.records import Staff
from server.services.context import CLI_ACTOR, Env
from server.services.errors import Invalid, NotFound
from server.services.registry import places as registry
from server.services.staff import accounts as staff
from server.services.staff import callers


async def _zone_ids(env: Env, names: list[str] | None) -> list[int] | None:
    """Zone names (or ids) to ids; None when none is given (the service then asks for them)."""
    if not names:
        return None
    zones = await registry.list_zones(env, CLI_ACTOR)
    by_name = {z.name: z.id for z in zones} | {str(z.id): z.id for z in zones}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        known = ", ".join(sorted(z.name for z in zones))
        raise Invalid(f"no zone {', '.join(unknown)} (zones: {known})")
    return sorted({by_name[n] for n in names})


async def _account(env: Env, username: str) -> Staff:
    for row in await staff.list_all(env, CLI_ACTOR):
        if row.username == username:
            return row
    raise NotFound(f"no staff account {username}")


def _line(row: Staff, zones: dict[int, str], calls_in: list[int]) -> str:
    scope = row.zone_scope
    where = "all zones" if scope is None else ", ".join(zones.get(z, str(z)) for z in scope)
    state = "active" if row.active else "disabled"
    line = f"{row.username:16} {row.role:6} {state:8} {where}"
    if calls_in:
        names = ", ".join(zones.get(z, str(z)) for z in calls_in)
        line += " · " + say("desk.cli.calls_in", zones=names)
    return line


async def _caller(env: Env, args: argparse.Namespace) -> None:
    """``staff caller USERNAME --zone Z ... | --none``."""
    if bool(args.zones) == args.none:
        raise Invalid("say the zones (--zone, repeatable) or --none", code="desk.zones_or_none")
    row = await _account(env, args.username)
    ids = [] if args.none else await _zone_ids(env, args.zones) or []
    zones = await callers.set_zones(env, CLI_ACTOR, row.id, ids)
    if not zones:
        print(say("desk.cli.caller_none", user=row.username))
        return
    names = {z.id: z.name for z in await registry.list_zones(env, CLI_ACTOR)}
    where = ", ".join(names.get(z, str(z)) for z in zones)
    print(say("desk.cli.caller_set", user=row.username, zones=where))


async def staff_command(env: Env, args: argparse.Namespace) -> int:
    """``gatepass-server staff list|add|reset-password|caller``."""
    if args.action == "caller":
        await _caller(env, args)
    elif args.action == "add":
        row, password = await staff.create(
            env,
            CLI_ACTOR,
            username=args.username,
            display_name=args.name or args.username,
            role=args.role,
            zone_scope=await _zone_ids(env, args.zones),
            all_zones=args.all_zones,
        )
        print(f"staff account {row.username} ({row.role}) created")
        print(f"one-time password (shown once, change it at first login): {password}")
    elif args.action == "reset-password":
        row = await _account(env, args.username)
        password = await staff.reset_password(env, CLI_ACTOR, row.id)
        print(f"{row.username}: every session ended")
        print(f"one-time password (shown once, change it at first login): {password}")
    else:
        zones = {z.id: z.name for z in await registry.list_zones(env, CLI_ACTOR)}
        for row in await staff.list_all(env, CLI_ACTOR):
            print(_line(row, zones, await callers.get_zones(env, CLI_ACTOR, row.id)))
    return 0
