"""Changing a password (issue 14 items 11, 12): a one-time password cannot be "changed" to
itself, and wrong guesses of the current password are limited and audited."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from server.store.schema import audit_log
from tests.server.conftest import STRONG, Api

CHANGE = "/api/v1/auth/password"


def test_a_one_time_password_cannot_be_changed_to_itself(api: Api) -> None:
    """The attack: keep the one-time password an admin handed out by setting it again."""
    api.use("admin")
    created = api.post(
        "/api/v1/staff",
        json={"username": "volunteer", "display_name": "V", "role": "staff", "zone_scope": [1]},
    ).json()
    otp = created["one_time_password"]
    csrf = {"X-CSRF-Token": api.login("volunteer", otp)["csrf_token"]}
    same = api.client.post(CHANGE, json={"old_password": otp, "new_password": otp}, headers=csrf)
    assert same.status_code == 422
    assert api.client.get("/api/v1/zones").status_code == 403  # still must change it


def test_wrong_current_passwords_are_limited_and_audited(api: Api) -> None:
    """The attack: a stolen session guesses the account's password through the change form."""
    limit = api.site.settings.login_user_failures
    csrf = {"X-CSRF-Token": api.login("east-desk", STRONG)["csrf_token"]}
    codes = [
        api.client.post(
            CHANGE,
            json={"old_password": f"guess {i:04d} of it", "new_password": "a brand new one 42"},
            headers=csrf,
        ).status_code
        for i in range(limit + 2)
    ]
    assert codes == [422] * limit + [429, 429]

    async def failures(env: Any) -> int:
        async with env.db.read() as conn:
            query = sa.select(sa.func.count()).where(
                audit_log.c.action == "staff.change_password_failed"
            )
            return int(await conn.scalar(query) or 0)

    assert api.site.run(failures) == limit
