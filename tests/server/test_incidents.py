"""Incident services (issue 17 items 3-4) on a real SQLite site: ``count_refusals`` for the
daily report (window, zone scope, per lane and per household), who a console refusal names,
and an override linked to the scan before it within the lane's own attribution window."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from protocol.reasons import ReasonCode
from server.services.context import CLI_ACTOR, Actor, Env
from server.services.errors import Invalid, NotFound
from server.services.gates import policy as gate_policy
from server.services.incidents import overrides, refusals
from server.services.paging import Page
from server.services.reports import log
from server.services.reports.log import EventFilter
from server.services.text import TextError
from server.store.schema import events
from tests.server.conftest import Api, seed
from tests.server.test_locks import Lane
from tests.ui.data import make_gates

EAST = Actor(name="east-desk", role="staff", scope=frozenset({1}))


def _setup(api: Api) -> dict[str, Any]:
    ids = seed(api)
    make_gates(api)
    api.use("admin")
    ids["ref"] = api.post("/api/v1/passes", json={"resident_id": ids["r1"]}).json()["ref"]
    ids["ref2"] = api.post("/api/v1/passes", json={"resident_id": ids["r2"]}).json()["ref"]
    return ids


def test_count_refusals_by_lane_and_household_in_a_window_and_scope(api: Api) -> None:
    ids = _setup(api)
    start = api.site.clock.now()

    async def record(env: Env) -> None:
        await refusals.record(env, CLI_ACTOR, "east-in", label="3-2-201", note="")
        await refusals.record(env, CLI_ACTOR, "east-out", label="3-2-201", note="拒绝")
        await refusals.record(env, CLI_ACTOR, "west-in", label="9-1-101", note="")

    api.site.run(record)
    api.site.clock.advance(3600)
    api.site.run(lambda env: refusals.record(env, CLI_ACTOR, "east-in", label="3-2-201", note=""))

    async def count(env: Env) -> tuple[Any, ...]:
        async with env.db.read() as conn:
            return (
                await refusals.count_refusals(conn, since=start, until=start + 3600, scope=None),
                await refusals.count_refusals(
                    conn, since=start, until=start + 7200, scope=frozenset({1})
                ),
                await refusals.count_by_household(
                    conn, since=start, until=start + 7200, scope=None
                ),
                await refusals.count_refusals(
                    conn, since=start + 1, until=start + 3600, scope=None
                ),
            )

    first_hour, east_day, households, later = api.site.run(count)
    assert first_hour == {(1, "east-in"): 1, (1, "east-out"): 1, (2, "west-in"): 1}
    assert east_day == {(1, "east-in"): 2, (1, "east-out"): 1}
    assert households == {ids["h1"]: 3, ids["h2"]: 1}
    assert later == {}  # since is inclusive, until exclusive


def test_who_a_console_refusal_names(api: Api) -> None:
    ids = _setup(api)
    lane = Lane(api.site, "east-in")

    def attempt(label: str = "", actor: Actor = EAST, gate: str = "east-in") -> Any:
        return api.site.run(lambda env: refusals.record(env, actor, gate, label=label, note=""))

    with pytest.raises(Invalid) as nobody:
        attempt()
    assert nobody.value.code == refusals.NOBODY
    lane.report(ids["ref"], reason=ReasonCode.NO_TEMPERATURE)
    opened = {"granted": True, "reason": ReasonCode.OVERRIDE, "pass_ref": None}
    lane.report("", **opened)  # an override names nobody: the scan before it still counts
    named = attempt()
    assert (named.household_id, named.pass_ref, named.zone_id) == (ids["h1"], ids["ref"], 1)
    api.site.clock.advance(refusals.LAST_SCAN_S + 1)
    with pytest.raises(Invalid):
        attempt()  # the scan is too old now
    with pytest.raises(Invalid) as elsewhere:
        attempt("9-1-101")  # a household of another zone
    assert elsewhere.value.code == refusals.UNKNOWN_HOUSEHOLD
    with pytest.raises(NotFound):
        attempt(gate="west-in")
    with pytest.raises(NotFound):
        attempt(gate="nowhere")


def _linked(api: Api) -> dict[str, Any]:
    async def go(env: Env) -> dict[str, Any]:
        rows, _ = await log.search(env, EAST, Page(1, 50, "id", True), EventFilter())
        return await overrides.linked_scans(env, EAST, rows)

    return api.site.run(go)  # type: ignore[no-any-return]


def test_an_override_follows_the_lanes_last_scan_within_its_window(api: Api) -> None:
    ids = _setup(api)
    lane = Lane(api.site, "east-in")
    opened = {"granted": True, "reason": ReasonCode.OVERRIDE, "pass_ref": None}
    now = api.site.clock.now()
    lane.report(ids["ref"], at=now, reason=ReasonCode.NO_TEMPERATURE)
    first = lane.report("", at=now + 60, **opened)  # the default window: 60 s, inclusive
    lane.report("", at=now + 61 + 60, **opened)  # 121 s after the scan: nobody
    assert first["stored"] == 1
    linked = _linked(api)
    assert [scan.pass_ref for scan in linked.values()] == [ids["ref"]]

    async def widen(env: Env) -> None:
        await gate_policy.set_policy(env, CLI_ACTOR, "east-in", {"staff_attribution_s": 300})

    api.site.run(widen)
    assert [scan.pass_ref for scan in _linked(api).values()] == [ids["ref"], ids["ref"]]
    Lane(api.site, "east-out").report(ids["ref2"], at=now + 100, reason=ReasonCode.OK, granted=True)
    assert len(_linked(api)) == 2  # another lane's scan never explains this lane's override


def test_a_refusal_names_the_scan_the_console_showed(api: Api) -> None:
    ids = _setup(api)
    lane = Lane(api.site, "east-in")
    now = api.site.clock.now()
    lane.report(ids["ref"], at=now - 10, reason=ReasonCode.NO_TEMPERATURE)
    lane.report(ids["ref2"], at=now - 5, reason=ReasonCode.WRONG_ZONE)  # a newer scan came
    Lane(api.site, "east-out").report(ids["ref"], at=now - 1, reason=ReasonCode.NO_TEMPERATURE)

    async def event_of(env: Env, ref: str, gate: str) -> str:
        async with env.db.read() as conn:
            query = sa.select(events.c.event_id).where(
                events.c.pass_ref == ref, events.c.gate == gate
            )
            return str(await conn.scalar(query))

    shown = api.site.run(lambda env: event_of(env, ids["ref"], "east-in"))
    elsewhere = api.site.run(lambda env: event_of(env, ids["ref"], "east-out"))

    def attempt(event_id: str) -> Any:
        return api.site.run(
            lambda env: refusals.record(env, EAST, "east-in", label="", note="", event_id=event_id)
        )

    assert attempt(shown).pass_ref == ids["ref"]  # not the newer scan
    assert attempt("").pass_ref == ids["ref2"]  # no scan named: the lane's last one
    for wrong in (elsewhere, "not-an-event", "x" * 36):
        with pytest.raises(Invalid):
            attempt(wrong)
    with pytest.raises(TextError):
        attempt("x" * 37)
    api.site.clock.advance(refusals.LAST_SCAN_S)
    with pytest.raises(Invalid):
        attempt(shown)  # too old by now
