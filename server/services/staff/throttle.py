"""Counting attempts at guarded secrets (sign-in, password change) before they are checked.

An attempt is counted *before* the secret is verified, in the same write transaction that checks
the limits, so parallel attempts cannot all pass the check first (they queue on the write lock;
past the limit they are refused without a verification). A success hands the attempt back.

Sign-in counts three keys a window long (``login_window_s``):

* ``pair:NAME|ADDRESS``: ``login_user_failures`` (5): one place guessing one account;
* ``user:NAME``: ``login_name_failures`` (50): everyone guessing one account, so a stranger's five
  wrong tries cannot lock ``admin`` out of every other desk;
* ``ip:ADDRESS``: ``login_address_failures`` (50): one place guessing many accounts.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.services.context import Env
from server.services.errors import ServiceError
from server.store import accounts
from server.store.db import Connection


class Throttled(ServiceError):
    """Too many failed attempts for this account or address; try again later."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed attempts; retry in {retry_after} s")
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Limit:
    """A throttling key and how many attempts its window allows."""

    key: str
    allowed: int


def login_limits(env: Env, name: str, address: str | None) -> list[Limit]:
    """The keys a sign-in as ``name`` from ``address`` counts against."""
    s, where = env.settings, address or "unknown"
    return [
        Limit(f"pair:{name}|{where}", s.login_user_failures),
        Limit(f"user:{name}", s.login_name_failures),
        Limit(f"ip:{where}", s.login_address_failures),
    ]


async def count_attempt(conn: Connection, env: Env, limits: list[Limit], now: int) -> None:
    """Refuse (Throttled) if any limit is reached, else count one attempt against each."""
    window = env.settings.login_window_s
    current = []
    for limit in limits:
        row = await accounts.get_failures(conn, key=limit.key)
        fresh = row is None or row.window_start + window <= now
        count, start = (0, now) if fresh or row is None else (row.count, row.window_start)
        if count >= limit.allowed:
            raise Throttled(start + window - now)
        current.append((limit.key, count, start))
    for key, count, start in current:
        await accounts.set_failures(conn, key=key, count=count + 1, window_start=start)


async def hand_back(conn: Connection, limits: list[Limit], *, forget: int) -> None:
    """A success: forget the first ``forget`` keys' attempts, take this one back from the rest."""
    for i, limit in enumerate(limits):
        row = await accounts.get_failures(conn, key=limit.key)
        if row is None:
            continue
        if i < forget or row.count <= 1:
            await accounts.clear_failures(conn, key=limit.key)
        else:
            await accounts.set_failures(
                conn, key=limit.key, count=row.count - 1, window_start=row.window_start
            )
