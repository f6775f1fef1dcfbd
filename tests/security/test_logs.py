"""Nothing personal in the server's log (issue 14 item 5): searches carry phone numbers and
names in their query strings, and the access log writes paths only."""

from __future__ import annotations

import asyncio

import httpx2 as httpx

from tests.security.conftest import STRONG, Live


def test_searches_leave_no_phone_number_or_name_in_the_access_log(live: Live) -> None:
    """The attack: read the server's log after staff searched for a person."""

    async def search() -> int:
        async with httpx.AsyncClient(base_url=live.url, timeout=30) as client:
            login = await client.post(
                "/api/v1/auth/login", json={"username": "admin", "password": STRONG}
            )
            assert login.status_code == 200
            response = await client.get(
                "/api/v1/residents", params={"phone": "13800138000", "q": "张三丰"}
            )
            return response.status_code

    assert asyncio.run(search()) == 200
    logged = "\n".join(live.access_log)
    assert "/api/v1/residents" in logged  # the request is logged
    for secret in ("13800138000", "138", "%E5%BC%A0", "张三丰", "phone=", "q="):
        assert secret not in logged
