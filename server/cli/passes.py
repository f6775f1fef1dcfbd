"""CLI subcommands for pass locks: ``passes locks`` and ``passes unlock REF [--note ...]``.

A pass locked after wrong phone digits at one lane is refused at every lane until staff clear
it; this is the way to do that from the server's shell (audited as ``cli``). What it prints
comes from the staff UI's catalogs, in the operator's language (server.cli.messages).
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from server.cli.messages import say
from server.services.context import CLI_ACTOR, Env
from server.services.passes import locks as pass_locks


def _when(at: int) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M UTC")


async def passes_command(env: Env, args: argparse.Namespace) -> int:
    """``gatepass-server passes locks|unlock``."""
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
