"""Sign-in cannot be abused (issue 14 items 3, 13, 15): parallel guesses get no more tries than
the limit, a stranger cannot lock an account out of other desks, and a forged
``X-Forwarded-For`` neither changes the audited address nor dodges the per-address limit."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx2 as httpx
import sqlalchemy as sa

from server.store.schema import audit_log
from tests.security.conftest import STRONG, Live

LOGIN = "/api/v1/auth/login"


def _client(live: Live, address: str = "127.0.0.1") -> httpx.AsyncClient:
    """A browser on this machine at ``address`` (any 127.x.y.z is this machine on Linux)."""
    transport = httpx.AsyncHTTPTransport(local_address=address)
    return httpx.AsyncClient(base_url=live.url, transport=transport, timeout=30)


async def _login(client: httpx.AsyncClient, name: str, password: str, **kw: Any) -> int:
    response = await client.post(LOGIN, json={"username": name, "password": password}, **kw)
    return response.status_code


def test_eighty_parallel_guesses_get_only_the_limits_worth_of_answers(live: Live) -> None:
    """The attack: 80 logins for one account at once, each with another guess."""
    limit = live.site.settings.login_user_failures

    async def attack() -> list[int]:
        async with _client(live) as client:
            guesses = [_login(client, "east-desk", f"guess number {i:04d}") for i in range(80)]
            return await asyncio.gather(*guesses)

    codes = asyncio.run(attack())
    assert codes.count(401) <= limit  # the password was checked at most `limit` times
    assert codes.count(429) >= 80 - limit
    assert set(codes) <= {401, 429}


def test_a_strangers_wrong_logins_do_not_lock_admin_out_of_another_desk(live: Live) -> None:
    """The attack: five wrong logins as admin from one place, to lock the admin out."""
    limit = live.site.settings.login_user_failures

    async def attack() -> tuple[list[int], int, int]:
        async with _client(live, "127.0.0.2") as stranger, _client(live, "127.0.0.3") as desk:
            tries = [await _login(stranger, "admin", "not the password") for _ in range(limit)]
            stranger_again = await _login(stranger, "admin", STRONG)
            admin_elsewhere = await _login(desk, "admin", STRONG)
            return tries, stranger_again, admin_elsewhere

    tries, stranger_again, admin_elsewhere = asyncio.run(attack())
    assert tries == [401] * limit
    assert stranger_again == 429  # that place is throttled for this account
    assert admin_elsewhere == 200  # the admin at another desk is not


def test_a_forged_forwarded_for_is_not_believed(live: Live) -> None:
    """The attack: a client on the server's own machine claims to be somewhere else."""
    limit = live.site.settings.login_user_failures

    async def attack() -> list[int]:
        async with _client(live) as client:
            codes = []
            for i in range(limit + 1):
                forged = {"X-Forwarded-For": f"203.0.113.{i + 1}"}  # a new address every try
                codes.append(await _login(client, "west-desk", "not the password", headers=forged))
            return codes

    codes = asyncio.run(attack())
    assert codes == [401] * limit + [429]  # the limit counted the real address

    async def audited(env: Any) -> set[str | None]:
        async with env.db.read() as conn:
            query = sa.select(audit_log.c.address).where(audit_log.c.action == "auth.login_failed")
            return {r[0] for r in await conn.execute(query)}

    assert live.site.run(audited) == {"127.0.0.1"}
