"""CLI subcommands for passes: ``passes issue`` (passes for everyone, once), ``passes revoke``
(every live pass of a building or unit, with a reason), ``passes locks`` and ``passes unlock REF
--reason ...``.

A pass locked after wrong phone digits at one lane is refused at every lane until staff clear
it; ``unlock`` is the way to do that from the server's shell (audited as ``cli``). What each
command prints comes from the staff UI's catalogs, in the operator's language
(server.cli.messages); ``--json`` adds one JSON object as the last line for scripts.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import Any

from server.cli.messages import say
from server.services.context import CLI_ACTOR, Env
from server.services.passes import everyone
from server.services.passes import locks as pass_locks


def _when(at: int) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M UTC")


async def passes_command(env: Env, args: argparse.Namespace) -> int:
    """``gatepass-server passes issue|revoke|locks|unlock``."""
    if args.action in ("issue", "revoke"):
        zone = await everyone.zone_id(env, CLI_ACTOR, args.zone) if args.zone else None
        place = everyone.place_of(zone, args.building, args.unit)
        if args.action == "issue":
            return await _issue(env, place, args)
        count = await everyone.revoke_place(env, CLI_ACTOR, place, args.reason)
        print(say("everyone.revoked", count=count, place=_place(place)))
        if args.json:
            print(json.dumps({"revoked": count}))
        return 0
    if args.action == "unlock":
        lock = await pass_locks.unlock(env, CLI_ACTOR, args.ref, args.reason or args.note)
        print(say("passes.unlocked", ref=lock.ref))
        return 0
    held = await pass_locks.active(env, CLI_ACTOR)
    if not held:
        print(say("passes.no_locks"))
    for lock in held:
        print(f"{lock.ref}  {lock.gate:16} {_when(lock.locked_at)}")
    return 0


def _place(place: everyone.Place) -> str:
    """The place in the operator's words (the whole site when nothing narrows it)."""
    parts = []
    if place.zone is not None:
        parts.append(say("everyone.zone", zone=place.zone))
    if place.building is not None:
        parts.append(say("everyone.building", building=place.building))
    if place.unit is not None:
        parts.append(say("everyone.unit", unit=place.unit))
    return " ".join(parts) or say("everyone.site")


async def _issue(env: Env, place: everyone.Place, args: argparse.Namespace) -> int:
    result = await everyone.issue_everyone(env, CLI_ACTOR, place, days=args.days)
    print(
        say(
            "everyone.done",
            place=_place(place),
            issued=len(result.issued),
            already=result.already_had,
            skipped=len(result.skipped),
        )
    )
    if not result.issued:
        print(say("everyone.nothing_new"))
    for row in result.skipped:
        reason = say(f"everyone.reason.{row.reason}")
        print(say("everyone.skipped_one", resident=row.resident_id, reason=reason))
    if args.json:
        out: dict[str, Any] = {
            "issued": len(result.issued),
            "already_had": result.already_had,
            "skipped": [
                {"resident_id": r.resident_id, "household_id": r.household_id, "reason": r.reason}
                for r in result.skipped
            ],
        }
        print(json.dumps(out, ensure_ascii=False))
    return 0
