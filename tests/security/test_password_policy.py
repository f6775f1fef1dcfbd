"""Weak passwords are refused, and the refusal says which rule (issue 14 item 10): `aaaaaaaaaa`,
a password from the top of the leaked-password lists, the account's own user name or display
name, and `abcdefgh12345678`-style sequences were all accepted by a 22-entry deny list."""

from __future__ import annotations

import re

import pytest
from msgspec.structs import replace
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from server.services.context import Env
from server.services.staff.passwords import hash_password
from server.store import accounts
from tests.server.conftest import STRONG, Api

CHANGE = "/api/v1/auth/password"
DESK_NAME = "东门值班"
TOP = [p for p in FREQUENCY_LISTS["passwords"] if len(p) >= 10][:20]


def _volunteer(api: Api) -> tuple[str, dict[str, str]]:
    """A new staff account signed in with its one-time password: the password and the CSRF
    header for its API calls."""
    api.use("admin")
    created = api.post(
        "/api/v1/staff",
        json={
            "username": "north-desk",
            "display_name": DESK_NAME,
            "role": "staff",
            "zone_scope": [1],
        },
    ).json()
    otp = created["one_time_password"]
    return otp, {"X-CSRF-Token": api.login("north-desk", otp)["csrf_token"]}


def _change(api: Api, otp: str, csrf: dict[str, str], new: str) -> tuple[int, str | None]:
    answer = api.client.post(CHANGE, json={"old_password": otp, "new_password": new}, headers=csrf)
    return answer.status_code, answer.json().get("code") if answer.content else None


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("aaaaaaaaaa", "password.repeated"),
        ("abcabcabcabcabc", "password.repeated"),
        ("abcdefgh12345678", "password.sequence"),
        ("asdfghjkl;'", "password.sequence"),  # along the keyboard
        ("sunshine1234", "password.common"),
        ("woaini1314520", "password.common"),  # common in Chinese leaks
        ("northdesk2026!", "password.user_name"),
        ("North-Desk-is-mine", "password.user_name"),
        (DESK_NAME + "2026abc", "password.user_name"),  # the display name
        ("short", "password.too_short"),
    ],
)
def test_a_weak_new_password_is_refused_with_the_rule_it_breaks(
    api: Api, password: str, code: str
) -> None:
    """The attack: whoever holds the one-time password sets a guessable one."""
    otp, csrf = _volunteer(api)
    assert _change(api, otp, csrf, password) == (422, code)
    assert api.client.get("/api/v1/zones").status_code == 403  # still on the one-time password


def test_the_top_of_the_leaked_password_list_is_refused(api: Api) -> None:
    """The attack: the twenty most common passwords of ten characters or more, one by one."""
    assert len(FREQUENCY_LISTS["passwords"]) >= 30_000  # not a short deny list
    otp, csrf = _volunteer(api)
    assert [_change(api, otp, csrf, p) for p in TOP] == [(422, "password.common")] * len(TOP)


def test_the_page_says_which_rule_in_each_language(api: Api) -> None:
    """The refusal is explained to the volunteer in zh-CN (the default) and in English."""
    otp, _ = _volunteer(api)
    page = api.client.get("/ui/password").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    form = {"old_password": otp, "csrf_token": token}
    zh = api.client.post("/ui/password", data=form | {"new_password": "aaaaaaaaaa"})
    assert zh.status_code == 422
    assert "重复的字符" in zh.text
    api.client.cookies.set("gatepass_lang", "en", domain="testserver.local")
    en = api.client.post("/ui/password", data=form | {"new_password": "northdesk-2026"})
    assert en.status_code == 422
    assert "It contains your user name" in en.text


def test_a_good_password_passes_and_existing_weak_ones_still_sign_in(api: Api) -> None:
    """The rule applies to new passwords only: an account that has a weak one is not locked out
    or forced to change it."""
    otp, csrf = _volunteer(api)
    assert _change(api, otp, csrf, STRONG + " 42") == (204, None)

    async def weaken(env: Env) -> None:
        async with env.db.write() as conn:
            row = await accounts.find_staff(conn, username="east-desk")
            assert row is not None
            await accounts.save_staff(conn, replace(row, password_hash=hash_password("aaaaaaaaaa")))

    api.site.run(weaken)
    api.login("east-desk", "aaaaaaaaaa")
    assert api.client.get("/api/v1/zones").status_code == 200
