"""Passes for everyone, once, and revoking a building's or unit's passes (issue 16 item 5).

Through the API on a real SQLite site (the API's own conftest), through the services run twice
at once, and through the real ``gatepass-server`` CLI in a subprocess on a site it initialised
and imported itself.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from server.services.context import CLI_ACTOR, Env
from server.services.passes import everyone
from server.store import passes as pass_store
from server.store.schema import audit_log, passes, residents
from tests.server.conftest import Api, Site
from tests.server.registers import HEADERS_ZH, people, write_xlsx

# (zone, building, unit, room, [names]) of the households the tests make
PLACES = [
    (1, "1", "1", "101", ["甲一", "甲二"]),
    (1, "1", "1", "102", ["乙一"]),
    (1, "1", "2", "201", ["丙一", "丙二", "丙三"]),
    (1, "2", "1", "101", ["丁一"]),
    (2, "9", "1", "101", ["戊一", "戊二"]),
]


def _make(api: Api) -> dict[str, int]:
    """The households of PLACES with their residents (every third without a phone)."""
    api.use("admin")
    ids: dict[str, int] = {}
    n = 0
    for zone, building, unit, room, names in PLACES:
        body = {"zone_id": zone, "building": building, "unit": unit, "room": room}
        h = api.post("/api/v1/households", json=body)
        assert h.status_code == 201, h.text
        for name in names:
            n += 1
            person: dict[str, Any] = {
                "household_id": h.json()["id"],
                "name": name,
                "role": "family",
            }
            if n % 3:
                person["phone"] = f"1380013{n:04d}"
            r = api.post("/api/v1/residents", json=person)
            assert r.status_code == 201, r.text
            ids[name] = r.json()["id"]
    return ids


def _rows(site: Site, query: Any) -> list[dict[str, Any]]:
    async def go(env: Env) -> list[dict[str, Any]]:
        async with env.db.read() as conn:
            return [dict(r._mapping) for r in await conn.execute(query)]

    return site.run(go)  # type: ignore[no-any-return]


def _live_per_resident(site: Site) -> dict[int, int]:
    now = site.clock.now()
    query = (
        sa.select(passes.c.resident_id, sa.func.count())
        .where(
            passes.c.resident_id.is_not(None), passes.c.revoked_at.is_(None), passes.c.expires > now
        )
        .group_by(passes.c.resident_id)
    )
    return {r["resident_id"]: r["count_1"] for r in _rows(site, query)}


def _move_out(site: Site, resident_id: int) -> None:
    async def go(env: Env) -> None:
        async with env.db.write() as conn:
            await conn.execute(
                sa.update(residents)
                .where(residents.c.id == resident_id)
                .values(status=everyone.MOVED_OUT)
            )

    site.run(go)


def test_passes_for_everyone_once_through_the_api(api: Api) -> None:
    ids = _make(api)
    api.post("/api/v1/passes", json={"resident_id": ids["甲一"]})  # one had a pass already
    _move_out(api.site, ids["丁一"])
    r = api.post("/api/v1/passes/everyone", json={})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["issued"], body["already_had"]) == (7, 1)
    assert body["skipped"] == [
        {"resident_id": ids["丁一"], "household_id": body["skipped"][0]["household_id"],
         "reason": "moved_out"}
    ]  # fmt: skip
    live = _live_per_resident(api.site)
    assert set(live) == set(ids.values()) - {ids["丁一"]}
    assert set(live.values()) == {1}
    again = api.post("/api/v1/passes/everyone", json={}).json()
    assert (again["issued"], again["already_had"], len(again["skipped"])) == (0, 8, 1)
    assert _live_per_resident(api.site) == live
    audits = _rows(
        api.site, sa.select(audit_log).where(audit_log.c.action == "pass.issue_everyone")
    )
    assert [(a["target"], a["detail"]["issued"]) for a in audits] == [("site", 7), ("site", 0)]
    # a revoked pass is not live: its holder gets a new one, nobody else does
    first = api.get("/api/v1/passes", params={"resident_id": ids["乙一"]}).json()["items"][0]
    api.post(f"/api/v1/passes/{first['id']}/revoke", json={"reason": "card lost"})
    third = api.post("/api/v1/passes/everyone", json={}).json()
    assert (third["issued"], third["already_had"]) == (1, 7)


def test_a_place_narrows_who_is_issued(api: Api) -> None:
    ids = _make(api)
    unit = api.post("/api/v1/passes/everyone", json={"building": "1", "unit": "2"}).json()
    assert (unit["issued"], unit["already_had"]) == (3, 0)
    building = api.post("/api/v1/passes/everyone", json={"building": "1"}).json()
    assert (building["issued"], building["already_had"]) == (3, 3)
    zone = api.post("/api/v1/passes/everyone", json={"zone_id": 2}).json()
    assert (zone["issued"], zone["already_had"]) == (2, 0)
    assert set(_live_per_resident(api.site)) == set(ids.values()) - {ids["丁一"]}
    api.use("east-desk")  # staff do not issue residents' passes
    assert api.post("/api/v1/passes/everyone", json={}).status_code == 403


def test_two_runs_at_once_issue_each_pass_once(api: Api) -> None:
    ids = _make(api)
    site = api.site

    async def twice(env: Env) -> list[everyone.Everyone]:
        other = Env(db=type(env.db)(site.settings.db_url), settings=env.settings, clock=env.clock)
        try:
            place = everyone.Place()
            return list(
                await asyncio.gather(
                    everyone.issue_everyone(env, CLI_ACTOR, place),
                    everyone.issue_everyone(other, CLI_ACTOR, place),
                )
            )
        finally:
            await other.db.close()

    a, b = site.run(twice)
    assert sorted([len(a.issued), len(b.issued)]) == [0, len(ids)]
    assert sorted([a.already_had, b.already_had]) == [0, len(ids)]
    assert set(_live_per_resident(site).values()) == {1}


def test_revoke_a_unit_or_a_building_with_a_reason(api: Api) -> None:
    ids = _make(api)
    api.post("/api/v1/passes/everyone", json={})

    def seq() -> int:
        async def go(env: Env) -> int:
            async with env.db.read() as conn:
                return await pass_store.read_counter(conn, name=pass_store.REVOCATION_SEQ)

        return api.site.run(go)  # type: ignore[no-any-return]

    before = seq()
    for body in (
        {"building": "1", "unit": "1"},
        {"building": "1", "unit": "1", "reason": "   "},
        {"building": "1", "unit": "1", "reason": ""},
    ):
        r = api.post("/api/v1/passes/revoke-place", json=body)
        assert r.status_code == 422, r.text
        assert r.json()["code"] == everyone.REASON_REQUIRED
    r = api.post("/api/v1/passes/revoke-place", json={"unit": "1", "reason": "x"})
    assert r.status_code == 422  # no building
    assert seq() == before
    r = api.post(
        "/api/v1/passes/revoke-place", json={"building": "1", "unit": "1", "reason": "门禁卡更换"}
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"count": 3}
    assert seq() == before + 1
    live = _live_per_resident(api.site)
    assert not {ids["甲一"], ids["甲二"], ids["乙一"]} & set(live)
    assert {ids["丙一"], ids["丁一"], ids["戊一"]} <= set(live)
    audits = _rows(api.site, sa.select(audit_log).where(audit_log.c.action == "pass.revoke"))
    assert len(audits) == 3
    assert {a["detail"]["reason"] for a in audits} == {"门禁卡更换"}
    (place,) = _rows(
        api.site, sa.select(audit_log).where(audit_log.c.action == "pass.revoke_place")
    )
    assert (place["target"], place["detail"]["passes"]) == ("building:1/unit:1", 3)
    r = api.post("/api/v1/passes/revoke-place", json={"building": "1", "reason": "楼栋封闭"})
    assert r.json() == {"count": 3}  # the rest of building 1
    assert api.post("/api/v1/passes/revoke-place", json={"building": "1", "reason": "again"}).json() == {
        "count": 0
    }  # fmt: skip
    api.use("east-desk")
    body = {"building": "9", "reason": "x"}
    assert api.post("/api/v1/passes/revoke-place", json=body).status_code == 403


@pytest.mark.parametrize(
    ("url", "body"),
    [
        ("/api/v1/passes/everyone", {"zone_id": 0}),
        ("/api/v1/passes/everyone", {"zone_id": "1; DROP TABLE passes"}),
        ("/api/v1/passes/everyone", {"building": "x" * 33}),
        ("/api/v1/passes/everyone", {"building": ["1"]}),
        ("/api/v1/passes/everyone", {"unit": "1"}),  # a unit without its building
        ("/api/v1/passes/everyone", {"building": "1\u202e", "unit": "1"}),
        ("/api/v1/passes/everyone", {"days": 0}),
        ("/api/v1/passes/everyone", {"days": 10**30}),
        ("/api/v1/passes/everyone", {"resident_ids": [1]}),
        ("/api/v1/passes/everyone", []),
        ("/api/v1/passes/everyone", "everyone"),
        ("/api/v1/passes/revoke-place", {"building": "", "reason": "x"}),
        ("/api/v1/passes/revoke-place", {"building": "1", "reason": "x" * 501}),
        ("/api/v1/passes/revoke-place", {"building": "1", "reason": "\x00"}),
        ("/api/v1/passes/revoke-place", {"building": "1", "reason": 5}),
        ("/api/v1/passes/revoke-place", {"building": "1", "reason": "x", "pass_ids": [1]}),
        ("/api/v1/passes/revoke-place", None),
    ],
)
def test_malformed_bodies_change_nothing(api: Api, url: str, body: Any) -> None:
    _make(api)
    r = api.post(url, json=body)
    assert r.status_code == 422, r.text
    assert "x" * 33 not in r.text
    assert _live_per_resident(api.site) == {}
    raw = b'{"building": "\\ud800"}'
    r = api.post(url, content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 422
    big = b'{"building": "' + b"x" * (api.site.settings.max_body_bytes + 10) + b'"}'
    r = api.post(url, content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413


ROOT_PASSPHRASE = "lantern by the north gate"


def _cli(*args: str, lang: str = "en_US.UTF-8") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("GATEPASS_LANG", "LC_ALL")}
    env |= {"LANG": lang, "GATEPASS_ROOT_PASSPHRASE": ROOT_PASSPHRASE}
    return subprocess.run(
        [sys.executable, "-m", "server", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )


def _cli_site(tmp_path: Path) -> Path:
    """A site made by ``gatepass-server init`` with 24 residents imported (6 households of
    building 1, unit 1; every fifth resident without a phone)."""
    data = tmp_path / "site"
    assert _cli("init", "--data", str(data), "--site", "gw01", "--zone", "east").returncode == 0
    rows = people(24)
    for row in rows[::5]:
        row[4] = ""  # no phone
    register = write_xlsx(tmp_path / "register.xlsx", HEADERS_ZH, rows)
    done = _cli("import", "residents", str(register), "--data", str(data))
    assert done.returncode == 0, done.stderr
    return data


@pytest.fixture
def cli_site(tmp_path: Path) -> Path:
    return _cli_site(tmp_path)


@pytest.fixture(scope="module")
def untouched_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One site for the refusals: none of them may write a pass."""
    return _cli_site(tmp_path_factory.mktemp("refusals"))


def _pass_count(data: Path) -> int:
    with sqlite3.connect(data / "registry.db") as db:
        return int(db.execute("SELECT count(*) FROM passes").fetchone()[0])


def test_the_cli_issues_once_in_the_operators_language(cli_site: Path) -> None:
    data = str(cli_site)
    first = _cli(
        "passes",
        "issue",
        "--building",
        "1",
        "--unit",
        "1",
        "--json",
        "--data",
        data,
        lang="zh_CN.UTF-8",
    )
    assert first.returncode == 0, first.stderr
    lines = first.stdout.strip().splitlines()
    assert "1 号楼 1 单元：新发 24 张，0 人已有有效通行证，跳过 0 人。" in lines[0]
    assert json.loads(lines[-1]) == {"issued": 24, "already_had": 0, "skipped": []}
    again = _cli("passes", "issue", "--json", "--data", data)
    assert again.returncode == 0, again.stderr
    lines = again.stdout.strip().splitlines()
    assert lines[0] == (
        "Passes for the whole site: 0 issued, 24 already had a live pass, 0 skipped."
    )
    assert "nothing new was issued" in lines[1]
    assert json.loads(lines[-1]) == {"issued": 0, "already_had": 24, "skipped": []}
    revoked = _cli(
        "passes", "revoke", "--building", "1", "--unit", "1", "--reason", "换卡", "--json",
        "--data", data,
    )  # fmt: skip
    assert revoked.returncode == 0, revoked.stderr
    assert json.loads(revoked.stdout.strip().splitlines()[-1]) == {"revoked": 24}
    assert "24 passes of building 1 unit 1 revoked." in revoked.stdout


@pytest.mark.parametrize(
    ("args", "status", "words"),
    [
        (["issue", "--unit", "1"], 1, "Name the building of the unit."),
        (["issue", "--zone", "nowhere"], 1, "There is no zone nowhere"),
        (["issue", "--zone", "9"], 1, "There is no zone 9"),
        (["issue", "--building", "1\x1b[2J"], 2, "no control characters"),
        (["issue", "--building", "x" * 33], 2, "1 to 32 characters"),
        (["issue", "--building", ""], 2, "1 to 32 characters"),
        (["issue", "--days", "0"], 2, "from 1 to 366"),
        (["issue", "--days", "１２"], 2, "from 1 to 366"),
        (["issue", "--days", "9" * 5000], 2, "from 1 to 366"),
        (["revoke", "--building", "1"], 2, "--reason"),
        (["revoke", "--building", "1", "--reason", "  "], 1, "Give the reason"),
        (["revoke", "--reason", "x"], 1, "Name the building"),
        (["revoke", "--building", "1", "--reason", "a\nb"], 2, "no control characters"),
    ],
)
def test_the_cli_refuses_bad_arguments(
    untouched_site: Path, args: list[str], status: int, words: str
) -> None:
    done = _cli("passes", *args, "--data", str(untouched_site))
    assert done.returncode == status, (done.stdout, done.stderr)
    assert words in done.stderr
    assert "Traceback" not in done.stderr
    assert _pass_count(untouched_site) == 0


@pytest.mark.parametrize(
    ("url", "form"),
    [
        ("/ui/passes/everyone", {"unit": "1"}),
        ("/ui/passes/everyone", {"zone": "nowhere"}),
        ("/ui/passes/everyone", {"zone": "1; DROP TABLE passes"}),
        ("/ui/passes/everyone", {"building": "x" * 65}),
        ("/ui/passes/everyone", {"building": "1\u20282"}),
        ("/ui/passes/revoke-place", {"building": "1", "reason": " "}),
        ("/ui/passes/revoke-place", {"building": "", "reason": "x"}),
        ("/ui/passes/revoke-place", {"building": "1", "reason": "x" * 201}),
        ("/ui/passes/revoke-place", {"building": "1", "reason": "a\x00b"}),
    ],
)
def test_the_page_refuses_malformed_forms(api: Api, url: str, form: dict[str, str]) -> None:
    from tests.ui.conftest import form_post

    _make(api)
    api.post("/api/v1/passes", json={"resident_id": 1})
    before = _live_per_resident(api.site)
    r = form_post(api, url, form)
    assert r.status_code == 422, r.text[:300]
    assert "<html" in r.text  # an error page in the reader's language, not a traceback
    assert "x" * 65 not in r.text
    assert _live_per_resident(api.site) == before
