"""Home-observation follow-up: who is on today's list, due and overdue, recording calls, and
that calls (health data) leave with the resident and with the retention job."""

from __future__ import annotations

from typing import Any

import pytest

from server.services.context import CLI_ACTOR, Env
from server.services.errors import Invalid, NotFound
from server.services.privacy import retention
from server.services.privacy import subjects as privacy
from server.services.registry import followup
from server.store.followup import calls_of
from server.web.format import Clockface
from tests.server.conftest import Api, seed
from tests.ui.conftest import form_post

DAY = 86400


def _day(env: Env) -> int:
    return Clockface(480).day_start(env.clock.now())


@pytest.fixture
def observed(api: Api) -> dict[str, Any]:
    """张三 (zone 1) under observation from two days ago for a week; 李四's household on hold."""
    ids = seed(api)
    now = api.site.clock.now()
    api.use("admin")
    body = {"status": "home_observation", "start": now - 2 * DAY, "end": now + 5 * DAY}
    assert api.put(f"/api/v1/residents/{ids['r1']}/observation", json=body).status_code == 200
    hold = api.put(f"/api/v1/households/{ids['h2']}/hold", json={"until": now + 3 * DAY + 10})
    assert hold.status_code == 200
    return ids


def test_call_list_due_overdue_and_done(api: Api, observed: dict[str, Any]) -> None:
    async def work(env: Env) -> list[followup.CallItem]:
        return await followup.call_list(env, CLI_ACTOR, day_start=_day(env))

    items = api.site.run(work)
    by_name = {i.resident.name: i for i in items}
    assert set(by_name) == {"张三", "李四"}
    assert by_name["张三"].days_left == 5
    assert by_name["李四"].days_left == 4
    assert by_name["张三"].overdue  # observed for two days and never reached
    assert by_name["李四"].due
    assert not by_name["李四"].overdue
    assert items[0].resident.name == "张三"  # overdue first

    async def call(env: Env) -> None:
        await followup.record_call(
            env,
            CLI_ACTOR,
            observed["r1"],
            reached=True,
            temperature_c=36.8,
            symptoms=["cough"],
            note="咳嗽轻微",
        )

    api.site.run(call)
    zhang = {i.resident.name: i for i in api.site.run(work)}["张三"]
    assert not zhang.due
    assert not zhang.overdue
    assert zhang.calls_today[0].symptoms == ["cough"]
    api.site.clock.advance(DAY)
    zhang = {i.resident.name: i for i in api.site.run(work)}["张三"]
    assert zhang.due
    assert not zhang.overdue
    api.site.clock.advance(3600)
    zhang = {i.resident.name: i for i in api.site.run(work)}["张三"]
    assert zhang.overdue


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"reached": True, "temperature_c": float("nan"), "symptoms": [], "note": None},
            "temperature",
        ),
        ({"reached": True, "temperature_c": 45.0, "symptoms": [], "note": None}, "temperature"),
        ({"reached": True, "temperature_c": None, "symptoms": ["rash"], "note": None}, "symptom"),
        ({"reached": False, "temperature_c": 36.5, "symptoms": [], "note": None}, "did not reach"),
        ({"reached": True, "temperature_c": None, "symptoms": [], "note": "a\r\nb"}, "control"),
    ],
)
def test_bad_calls_are_refused(fields: dict[str, Any], message: str) -> None:
    with pytest.raises((Invalid, ValueError), match=message):
        followup.clean_call(**fields)


def test_calls_are_scoped_exported_erased_and_expire(api: Api, observed: dict[str, Any]) -> None:
    api.use("west-desk")
    outside = form_post(api, f"/ui/followup/{observed['r1']}", {"outcome": "not_reached"})
    assert outside.status_code == 404
    api.use("east-desk")
    page = api.get("/ui/followup").text
    assert "张三" in page
    assert "李四" not in page
    assert "超时未回访" in page
    recorded = form_post(
        api,
        f"/ui/followup/{observed['r1']}",
        {"outcome": "reached", "temperature": "36,9", "symptoms": ["fatigue"]},
    )
    assert recorded.status_code == 303
    assert "今天已回访" in api.get("/ui/followup").text
    api.use("admin")
    exported = api.get(f"/api/v1/residents/{observed['r1']}/export").json()
    assert [c["temperature_c"] for c in exported["followup_calls"]] == [36.9]

    async def expire(env: Env) -> Any:
        env.clock.advance(env.settings.retention_health_days * DAY + 1)  # type: ignore[attr-defined]
        await retention.run_retention(env, CLI_ACTOR)
        return await privacy.export_resident(env, CLI_ACTOR, observed["r1"])

    assert api.site.run(expire).followup_calls == []


def test_erasure_removes_the_calls(api: Api, observed: dict[str, Any]) -> None:
    async def call_then_erase(env: Env) -> Any:
        await followup.record_call(
            env,
            CLI_ACTOR,
            observed["r1"],
            reached=False,
            temperature_c=None,
            symptoms=[],
            note=None,
        )
        await privacy.erase_resident(env, CLI_ACTOR, observed["r1"])
        async with env.db.read() as conn:
            return await calls_of(conn, resident_id=observed["r1"])

    assert api.site.run(call_then_erase) == []

    async def call_erased(env: Env) -> None:
        await followup.record_call(
            env,
            CLI_ACTOR,
            observed["r1"],
            reached=False,
            temperature_c=None,
            symptoms=[],
            note=None,
        )

    with pytest.raises(NotFound):
        api.site.run(call_erased)
