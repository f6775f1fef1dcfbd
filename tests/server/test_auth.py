"""Sessions, CSRF, throttling and passwords (S-01..S-04, 9.2 item 12)."""

from __future__ import annotations

import asyncio

from server.services.staff.passwords import hash_password
from server.store.db import Database
from tests.server.conftest import STRONG, Api

LOGIN = "/api/v1/auth/login"


def test_password_hash_is_argon2id_with_owasp_parameters() -> None:
    assert hash_password("a long passphrase").startswith("$argon2id$v=19$m=19456,t=2,p=1$")


def test_session_cookie_flags_and_rotation_at_login(api: Api) -> None:
    api.client.cookies.clear()
    r = api.client.post(LOGIN, json={"username": "admin", "password": STRONG})
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    assert "path=/" in cookie
    first = api.client.cookies["gatepass_session"]
    assert len(first) >= 43  # 256 random bits, base64url
    api.client.post(LOGIN, json={"username": "admin", "password": STRONG})
    second = api.client.cookies["gatepass_session"]
    assert second != first
    api.set_cookie(first)
    assert api.client.get("/api/v1/zones").status_code == 401  # the pre-login session was ended


def test_fixated_session_id_is_not_adopted(api: Api) -> None:
    api.set_cookie("attacker-chosen-id")
    api.client.post(LOGIN, json={"username": "admin", "password": STRONG})
    assert api.client.cookies["gatepass_session"] != "attacker-chosen-id"


def test_logout_invalidates_the_cookie(api: Api) -> None:
    api.use("admin")
    token = api.client.cookies["gatepass_session"]
    assert api.post("/api/v1/auth/logout").status_code == 204
    api.set_cookie(token)
    assert api.get("/api/v1/zones").status_code == 401


def test_idle_and_absolute_timeouts(api: Api) -> None:
    api.use("admin")
    clock = api.site.clock
    clock.advance(api.site.settings.session_idle_s + 1)
    assert api.get("/api/v1/zones").status_code == 401
    api.remember("admin", "admin", STRONG)
    for _ in range(api.site.settings.session_absolute_s // 600 + 1):
        clock.advance(600)  # active every ten minutes: never idle, but the absolute limit comes
        status = api.get("/api/v1/zones").status_code
        if status == 401:
            break
    assert status == 401
    assert clock.t - 1_800_000_000 >= api.site.settings.session_absolute_s


def test_state_change_without_csrf_token_is_refused(api: Api) -> None:
    api.use("admin")
    r = api.client.post("/api/v1/zones", json={"id": 7, "name": "north"})
    assert r.status_code == 403
    r = api.post(
        "/api/v1/zones", json={"id": 7, "name": "north"}, headers={"X-CSRF-Token": "wrong"}
    )
    assert r.status_code == 403
    assert api.post("/api/v1/zones", json={"id": 7, "name": "north"}).status_code == 201


def test_csrf_token_from_an_html_form_field(api: Api) -> None:
    api.use("admin")
    token = api.sessions["admin"][1]
    r = api.client.post("/api/v1/auth/logout", data={"csrf_token": token})
    assert r.status_code == 204


def test_cross_site_requests_are_refused_even_with_the_token(api: Api) -> None:
    api.use("admin")
    for headers in (
        {"Origin": "https://evil.example"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Origin": "null"},
    ):
        r = api.post("/api/v1/zones", json={"id": 8, "name": "x"}, headers=headers)
        assert r.status_code == 403, headers
    r = api.client.post(
        LOGIN,
        json={"username": "admin", "password": STRONG},
        headers={"Origin": "https://evil.example"},
    )
    assert r.status_code == 403


def test_unknown_and_known_users_get_the_same_answer(api: Api) -> None:
    api.client.cookies.clear()
    a = api.client.post(LOGIN, json={"username": "admin", "password": "wrong password!"})
    b = api.client.post(LOGIN, json={"username": "nobody-here", "password": "wrong password!"})
    assert (
        (a.status_code, a.json())
        == (b.status_code, b.json())
        == (401, {"detail": "wrong user name or password"})
    )


def test_login_is_throttled_per_account(api: Api) -> None:
    api.client.cookies.clear()
    limit = api.site.settings.login_user_failures
    for _ in range(limit):
        assert (
            api.client.post(
                LOGIN, json={"username": "east-desk", "password": "nope nope nope"}
            ).status_code
            == 401
        )
    r = api.client.post(LOGIN, json={"username": "east-desk", "password": STRONG})
    assert r.status_code == 429
    assert int(r.headers["retry-after"]) > 0
    api.site.clock.advance(api.site.settings.login_window_s)
    assert (
        api.client.post(LOGIN, json={"username": "east-desk", "password": STRONG}).status_code
        == 200
    )


def test_login_is_throttled_per_address(api: Api) -> None:
    api.client.cookies.clear()
    for i in range(api.site.settings.login_address_failures):
        api.client.post(LOGIN, json={"username": f"user{i}", "password": "nope nope nope"})
    assert api.client.post(LOGIN, json={"username": "admin", "password": STRONG}).status_code == 429


def test_one_time_password_must_be_changed_first(api: Api) -> None:
    api.use("admin")
    otp = api.post(
        "/api/v1/staff",
        json={"username": "new-one", "display_name": "N", "role": "staff", "all_zones": True},
    ).json()["one_time_password"]
    body = api.login("new-one", otp)
    csrf = {"X-CSRF-Token": body["csrf_token"]}
    assert api.client.get("/api/v1/zones").status_code == 403
    assert api.client.get("/api/v1/auth/session").status_code == 200
    r = api.client.post(
        "/api/v1/auth/password", json={"old_password": otp, "new_password": "short"}, headers=csrf
    )
    assert r.status_code == 422
    r = api.client.post(
        "/api/v1/auth/password",
        json={"old_password": otp, "new_password": "1234567890"},
        headers=csrf,
    )
    assert r.status_code == 422  # too common
    r = api.client.post(
        "/api/v1/auth/password",
        json={"old_password": otp, "new_password": "🔑 ünïcødé pass phrase"},
        headers=csrf,
    )
    assert r.status_code == 204
    api.login("new-one", "🔑 ünïcødé pass phrase")
    assert api.client.get("/api/v1/zones").status_code == 200


def test_role_change_ends_sessions(api: Api) -> None:
    api.use("admin")
    staff = {s["username"]: s["id"] for s in api.get("/api/v1/staff").json()}
    assert (
        api.patch(f"/api/v1/staff/{staff['east-desk']}", json={"zone_scope": [1, 2]}).status_code
        == 200
    )
    api.use("east-desk")
    assert api.get("/api/v1/zones").status_code == 401


def test_store_keeps_only_session_hashes(api: Api) -> None:
    api.use("admin")
    token = api.client.cookies["gatepass_session"]

    async def ids() -> list[str]:
        db = Database(api.site.settings.db_url)
        async with db.read() as conn:
            rows = (await conn.exec_driver_sql("SELECT id_hash FROM sessions")).all()
        await db.close()
        return [r[0] for r in rows]

    stored = asyncio.run(ids())
    assert token not in stored
    assert all(len(s) == 64 for s in stored)
