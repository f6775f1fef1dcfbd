"""Searching residents by phone (issue 14 item 4): staff cannot read a masked number by trying
longer and longer suffixes; a whole number is a reveal (admins only, audited, limited)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from server.store.schema import audit_log
from tests.server.conftest import Api

NUMBER = "13800138001"  # shown to staff as 138****8001


def _resident(api: Api) -> int:
    """One zone-1 resident whose phone is NUMBER."""
    api.use("admin")
    home = api.post(
        "/api/v1/households", json={"zone_id": 1, "building": "5", "unit": "1", "room": "302"}
    ).json()
    person = {"household_id": home["id"], "name": "王五", "phone": NUMBER, "role": "owner"}
    return int(api.post("/api/v1/residents", json=person).json()["id"])


def _found(api: Api, text: str) -> bool:
    """Whether the staff UI's search box finds the resident for ``text``."""
    return "王五" in api.get("/ui/residents", params={"q": text}).text


async def _searches(env: Any) -> list[dict[str, Any]]:
    async with env.db.read() as conn:
        query = sa.select(audit_log.c.actor, audit_log.c.detail).where(
            audit_log.c.action == "resident.search_phone"
        )
        return [{"actor": r.actor, **r.detail} for r in await conn.execute(query)]


def test_staff_cannot_unmask_a_phone_digit_by_digit(api: Api) -> None:
    """The attack: from ``138****8001``, search suffix ``x8001`` for x in 0..9, keep the one
    that finds the resident, and go on until the whole number is known."""
    _resident(api)
    api.use("east-desk")
    assert _found(api, "8001")  # the last four digits, as on the keypad: allowed
    assert _found(api, "138****8001")  # what staff see: allowed
    for length in range(5, len(NUMBER)):
        hits = [d for d in "0123456789" if _found(api, d + NUMBER[-length + 1 :])]
        assert hits == [], f"a {length}-digit suffix told the next digit"


def test_a_whole_number_is_an_admin_reveal(api: Api) -> None:
    """Staff typing the whole number are refused (UI and API); an admin's search is audited."""
    rid = _resident(api)
    api.use("east-desk")
    page = api.get("/ui/residents", params={"q": NUMBER})
    assert page.status_code == 403
    assert "王五" not in page.text
    assert "只有管理员可以按完整手机号查找" in page.text
    assert api.get("/api/v1/residents", params={"phone": NUMBER}).status_code == 403
    assert api.site.run(_searches) == []

    api.use("admin")
    assert _found(api, "138 0013 8001")
    listed = api.get("/api/v1/residents", params={"phone": "+86" + NUMBER}).json()
    assert [r["id"] for r in listed["items"]] == [rid]
    assert api.site.run(_searches) == [{"actor": "admin", "last4": "8001"}] * 2


def test_whole_number_searches_are_limited(api: Api) -> None:
    """Even an admin account (or whoever holds its session) cannot walk the number space."""
    _resident(api)
    api.use("admin")
    limit = api.site.settings.phone_search_limit
    codes = [
        api.get("/api/v1/residents", params={"phone": f"1390000{i:04d}"}).status_code
        for i in range(limit + 1)
    ]
    assert codes == [200] * limit + [429]
    assert api.get("/ui/residents", params={"q": NUMBER}).status_code == 429
    assert len(api.site.run(_searches)) == limit


def test_digits_that_are_no_phone_still_find_unit_labels(api: Api) -> None:
    """Refusing suffixes must not break the desk's everyday search by unit label."""
    _resident(api)
    api.use("east-desk")
    assert _found(api, "5-1-302")
    assert _found(api, "302")
    bad = api.get("/ui/residents", params={"q": "1380013800199"})
    assert bad.status_code == 422
    assert "请输入手机号后4位" in bad.text
