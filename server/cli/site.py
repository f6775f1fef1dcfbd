"""CLI subcommands of the site: ``init``, ``keys`` and ``retention`` (``import`` is in
server.cli.imports).

Registered in server.cli.run; they run with the database opened (and, but for ``init``,
migrated), as the CLI actor, and raise service errors the dispatcher turns into a message and
exit status 1.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import TextIO

from server.cli import passphrase
from server.services.context import CLI_ACTOR, Env

PROGRESS_WIDTH = 30


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


async def init(env: Env, args: argparse.Namespace) -> int:
    from server.services.registry.site import initialise, refuse_existing

    refuse_existing(env.settings.data_dir)
    secret = passphrase.new(args.passphrase_fd, env_allowed=True)
    env.settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    result = await initialise(
        env,
        site=args.site,
        name=args.name or args.site,
        zones=args.zones or ["main"],
        admin=args.admin,
        root_passphrase=secret,
    )
    print(f"site {result.site} created in {env.settings.data_dir}")
    print(f"key manifest seq {result.manifest.seq} with {len(result.manifest.keys)} keys")
    print(
        "the root key is encrypted under your passphrase: keep it safe, off this machine; "
        "only the keys commands ask for it"
    )
    print(f"admin user: {result.admin}")
    print(f"one-time password (shown once, change it at first login): {result.password}")
    return 0


async def keys(env: Env, args: argparse.Namespace) -> int:
    """``keys list|rotate|retire|passphrase|rotate-phone``; the root key's passphrase is asked
    only when a new manifest is signed (and only if the root key has one)."""
    from server.services.passes import key_admin

    protected = key_admin.root_key_protected(env)
    secret = None
    if protected and args.action not in ("list", "rotate-phone"):  # those sign no manifest
        secret = passphrase.current(args.passphrase_fd)
    if args.action == "rotate":
        row = await key_admin.rotate_key(env, CLI_ACTOR, args.use, secret)
        print(f"new {args.use} key {row.kid} signs from {row.sign_from}")
    elif args.action == "rotate-phone":
        versions = await key_admin.rotate_phone_keys(env, CLI_ACTOR, args.zone)
        for zone, version in versions.items():
            owner = "the site" if zone is None else f"zone {zone}"
            print(f"new phone-tag key v{version} for {owner}")
    elif args.action == "retire":
        killed = await key_admin.retire_key(env, CLI_ACTOR, args.kid, secret)
        print(
            f"key {args.kid} retired; {killed} live passes it signed are now invalid: reissue them"
        )
    elif args.action == "passphrase":
        fd = args.new_passphrase_fd
        if fd is None and not protected:
            fd = args.passphrase_fd
        new = passphrase.new(fd, env_allowed=not protected)
        await key_admin.set_root_passphrase(env, CLI_ACTOR, secret, new)
        protected = True
        print("the root key is now encrypted under the new passphrase")
    for row in await key_admin.list_keys(env, CLI_ACTOR):
        state = "retired" if row.retired_at else "active"
        window = f"sign {row.sign_from}..{row.sign_until} verify until {row.verify_until}"
        print(f"{row.kid} {row.use:8} {state:8} {window}")
    if protected:
        print("root key: encrypted (passphrase)")
    else:
        print(
            "warning: the root key is not encrypted: run `gatepass-server keys passphrase`",
            file=sys.stderr,
        )
    for phone in await key_admin.list_phone_keys(env, CLI_ACTOR):
        state = "retired" if phone.retired_at else "active"
        held_by = "every gate" if phone.zone_id is None else f"zone {phone.zone_id} gates"
        print(f"phone-v{phone.version} {state:8} held by {held_by}")
    return 0


async def retention(env: Env, _args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from server.services.privacy.retention import run_retention

    print(json.dumps(asdict(await run_retention(env, CLI_ACTOR))))
    return 0
