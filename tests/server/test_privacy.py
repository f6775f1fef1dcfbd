"""Per-resident export and erasure (with the notes written about the person on alerts and
refused checks), the retention job (with alert actions and refused checks), and the
append-only audit log (D-02, D-04, D-05, S-06)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import sqlalchemy as sa

from protocol.errors import PassRevoked
from protocol.messages import AlarmKind
from protocol.passes import Trust, verify
from protocol.reasons import ReasonCode
from protocol.revocation import apply_full
from server.services.context import CLI_ACTOR, Env
from server.services.incidents import actions, refusals
from server.services.passes.revocations import signed_full
from server.services.privacy import retention
from server.services.registry import followup
from server.store.db import Database
from server.store.errors import StoreError
from server.store.schema import audit_log, events
from server.store.schema_gates import alert_actions, alerts
from server.store.schema_gates import refusals as refusals_table
from tests.server.conftest import Api, seed
from tests.server.test_locks import Lane
from tests.ui.data import make_gates

DAY = 86400


def _db_exec(api: Api, *statements: sa.Executable) -> None:
    async def go() -> None:
        db = Database(api.site.settings.db_url)
        try:
            async with db.write() as conn:
                for statement in statements:
                    await conn.execute(statement)
        finally:
            await db.close()

    asyncio.run(go())


def _event(event_id: str, ref: str, at_s: int, body: float) -> sa.Insert:
    return sa.insert(events).values(
        event_id=event_id,
        gate="east-in",
        seq=int(event_id[-8:], 16),
        at_ms=at_s * 1000,
        kind="decision",
        granted=True,
        reason="ok",
        pass_ref=ref,
        body_c=body,
        temperatures=[{"body_c": body}],
        received_at=at_s,
    )


def test_export_contains_all_of_a_and_nothing_of_b(api: Api) -> None:
    ids = seed(api)
    pa = api.post("/api/v1/passes", json={"resident_id": ids["r1"]}).json()
    pb = api.post("/api/v1/passes", json={"resident_id": ids["r2"]}).json()
    now = api.site.clock.now()
    _db_exec(
        api,
        _event("00000000-0000-4000-8000-000000000001", pa["ref"], now, 36.5),
        _event("00000000-0000-4000-8000-000000000002", pb["ref"], now, 36.6),
    )
    export = api.get(f"/api/v1/residents/{ids['r1']}/export").json()
    assert export["resident"]["name"] == "张三"
    assert export["resident"]["phone"] == "+8613800138000"
    assert [p["ref"] for p in export["passes"]] == [pa["ref"]]
    assert [e["pass_ref"] for e in export["events"]] == [pa["ref"]]
    text = str(export)
    assert "李四" not in text
    assert pb["ref"] not in text
    assert "9000" not in text
    assert api.get("/api/v1/audit", params={"action": "resident.export"}).json()["total"] == 1


def test_erasure_removes_the_person_and_revokes_their_passes(api: Api) -> None:
    ids = seed(api)
    p = api.post("/api/v1/passes", json={"resident_id": ids["r1"]}).json()
    receipt = api.delete(f"/api/v1/residents/{ids['r1']}").json()
    assert receipt["passes_revoked"] == 1
    assert len(receipt["subject"]) == 16
    assert api.get(f"/api/v1/residents/{ids['r1']}").status_code == 404
    assert api.get("/api/v1/residents", params={"q": "张三"}).json()["total"] == 0
    kept = api.get(f"/api/v1/passes/{p['id']}").json()
    assert kept["resident_id"] is None
    assert kept["revoke_reason"] == "personal data erased"
    assert api.get(f"/api/v1/passes/{p['id']}/card.pdf").status_code == 409  # the pass text is gone
    full, _signed = api.site.run(signed_full)
    with pytest.raises(PassRevoked):
        verify(
            p["text"],
            Trust.from_manifest(api.site.manifest, apply_full(None, full)),
            api.site.clock.now(),
        )
    audit = api.get("/api/v1/audit", params={"action": "resident.erase"}).json()["items"][0]
    assert audit["target"] == f"subject:{receipt['subject']}"
    assert "张三" not in str(audit)


def test_retention_clears_old_health_data_and_visitors(api: Api) -> None:
    ids = seed(api)
    s = api.site.settings
    now = api.site.clock.now()
    api.use("east-desk")
    visitor = api.post(
        "/api/v1/visitors",
        json={
            "host_household_id": ids["h1"],
            "name": "V",
            "phone": "13700137000",
            "purpose": "p",
            "hours": 1,
        },
    ).json()
    api.put(
        f"/api/v1/residents/{ids['r1']}/observation",
        json={"status": "home_observation", "start": now, "end": now + DAY},
    )
    old_ms, new_s = (
        now - (s.retention_health_days + 1) * DAY,
        now + (s.retention_visitor_days + 2) * DAY,
    )
    _db_exec(api, _event("00000000-0000-4000-8000-000000000003", "0011223344556677", old_ms, 38.2))
    api.site.clock.t = new_s
    api.remember("admin", "admin", "correct horse battery staple")
    _db_exec(
        api, _event("00000000-0000-4000-8000-000000000004", "0011223344556677", new_s - 60, 36.4)
    )
    report = api.post("/api/v1/retention/run").json()
    assert report == {
        "temperatures_cleared": 1,
        "observations_cleared": 1,
        "visitors_deleted": 1,
        "events_deleted": 0,
        "sessions_deleted": 3,  # the fixture's three sessions idled out when the clock jumped
    }
    assert api.get(f"/api/v1/visitors/{visitor['visitor']['id']}").status_code == 404
    resident = api.get(f"/api/v1/residents/{ids['r1']}").json()
    assert (resident["status"], resident["observation_start"], resident["observation_end"]) == (
        "normal",
        None,
        None,
    )
    assert api.post("/api/v1/retention/run").json()["temperatures_cleared"] == 0  # idempotent
    assert api.get("/api/v1/audit", params={"action": "retention.run"}).json()["total"] == 2


def test_audit_log_is_append_only_in_the_database(api: Api) -> None:
    seed(api)
    with pytest.raises(StoreError, match="append-only"):
        _db_exec(api, sa.text("UPDATE audit_log SET actor = 'x'"))
    with pytest.raises(StoreError, match="append-only"):
        _db_exec(api, sa.text("DELETE FROM audit_log"))


def test_audit_entries_for_logins_failures_issue_and_revoke(api: Api) -> None:
    ids = seed(api)
    api.client.post(
        "/api/v1/auth/login",
        json={"username": "admin", "password": "not the password\r\nfake line"},
    )
    api.use("admin")
    p = api.post("/api/v1/passes", json={"resident_id": ids["r1"]}).json()
    api.post(f"/api/v1/passes/{p['id']}/revoke", json={"reason": "lost\nsecond line"})
    actions = [e["action"] for e in api.get("/api/v1/audit", params={"size": 100}).json()["items"]]
    for action in ("auth.login", "auth.login_failed", "pass.issue", "pass.revoke"):
        assert action in actions
    revoke = api.get("/api/v1/audit", params={"action": "pass.revoke"}).json()["items"][0]
    assert (
        revoke["detail"]["reason"] == "lost\nsecond line"
    )  # stored as data, one row, not a log line


def _rows(api: Api, query: Any) -> list[dict[str, Any]]:
    async def go(env: Env) -> list[dict[str, Any]]:
        async with env.db.read() as conn:
            return [dict(r._mapping) for r in await conn.execute(query)]

    return api.site.run(go)  # type: ignore[no-any-return]


def _lending_alert(api: Api, gate: str, ref: str) -> int:
    """A suspected-lending alert on ``ref`` at ``gate``, through the server's real ingest."""
    lane = Lane(api.site, gate)
    lane.report(ref, reason=ReasonCode.PHONE_MISMATCH)
    lane.report(ref, alarm=AlarmKind.SUSPECTED_LENDING)
    found = _rows(api, sa.select(alerts.c.id).where(alerts.c.subject == ref))
    if not found:  # the alert names the pass through the event that raised it
        raised = sa.select(events.c.event_id).where(events.c.pass_ref == ref)
        found = _rows(api, sa.select(alerts.c.id).where(alerts.c.event_id.in_(raised)))
    (alert,) = found
    return int(alert["id"])


def test_erasure_drops_the_notes_written_about_the_person(api: Api) -> None:
    ids = seed(api)
    make_gates(api)
    api.use("admin")
    mine = api.post("/api/v1/passes", json={"resident_id": ids["r1"]}).json()["ref"]
    theirs = api.post("/api/v1/passes", json={"resident_id": ids["r2"]}).json()["ref"]
    now = api.site.clock.now()
    body = {"status": "home_observation", "start": now - DAY, "end": now + 5 * DAY}
    assert api.put(f"/api/v1/residents/{ids['r1']}/observation", json=body).status_code == 200
    on_mine = _lending_alert(api, "east-in", mine)
    on_theirs = _lending_alert(api, "west-in", theirs)

    async def notes(env: Env) -> None:
        await actions.record_call(env, CLI_ACTOR, on_mine, "reached", "张三说借给了表弟")
        await actions.record_call(env, CLI_ACTOR, on_theirs, "reached", "李四说卡丢了")
        await refusals.record(env, CLI_ACTOR, "east-in", label="", note="张三不肯测温")
        await refusals.record(env, CLI_ACTOR, "west-in", label="", note="李四不肯测温")
        call = {"reached": False, "temperature_c": None, "symptoms": [], "note": None}
        for _ in range(2):  # the second unanswered call raises followup_unreached
            await followup.record_call(env, CLI_ACTOR, ids["r1"], **call)
        fever = {"reached": True, "temperature_c": 38.6, "symptoms": ["cough"], "note": None}
        await followup.record_call(env, CLI_ACTOR, ids["r1"], **fever)  # followup_symptoms

    api.site.run(notes)
    subject = alerts.c.subject == f"resident:{ids['r1']}"
    escalations = _rows(api, sa.select(alerts).where(subject).order_by(alerts.c.id))
    assert [a["kind"] for a in escalations] == ["followup_unreached", "followup_symptoms"]
    assert escalations[1]["detail"]["temperature_c"] == 38.6
    on_person = int(escalations[0]["id"])
    api.site.run(
        lambda env: actions.resolve(env, CLI_ACTOR, on_person, "false_alarm", "家属说他发烧了")
    )
    assert api.delete(f"/api/v1/residents/{ids['r1']}").status_code == 200

    kept = {(r["alert_id"], r["action"]): r["note"] for r in _rows(api, sa.select(alert_actions))}
    assert kept[(on_mine, "call")] is None  # the row (who did what, when) stays
    assert kept[(on_person, "outcome")] is None
    assert kept[(on_theirs, "call")] == "李四说卡丢了"  # another person's notes stay
    acks = {r["id"]: r["ack_note"] for r in _rows(api, sa.select(alerts))}
    assert acks[on_person] is None
    details = [a["detail"] for a in _rows(api, sa.select(alerts).where(subject))]
    assert [sorted(d) for d in details] == [
        ["household", "resident", "unanswered"],
        ["household", "resident"],  # the temperature and symptoms heard on the call are gone
    ]
    refused = {r["pass_ref"]: r["note"] for r in _rows(api, sa.select(refusals_table))}
    assert refused == {mine: None, theirs: "李四不肯测温"}
    dump = str(_rows(api, sa.select(alert_actions))) + str(_rows(api, sa.select(alerts)))
    for said in ("张三", "表弟", "发烧"):
        assert said not in dump + str(refused)


def test_retention_ages_out_alert_actions_and_refusals(api: Api) -> None:
    ids = seed(api)
    make_gates(api)
    api.use("admin")
    ref = api.post("/api/v1/passes", json={"resident_id": ids["r1"]}).json()["ref"]
    alert = _lending_alert(api, "east-in", ref)
    s = api.site.settings
    clock = api.site.clock
    start = clock.now()
    run_at = start + (s.retention_event_days + 1) * DAY
    times = {
        "old": start,  # past the event period: deleted
        "middle": run_at - (s.retention_health_days + 1) * DAY,  # past the health period
        "new": run_at - 60,  # kept whole
    }

    async def record(env: Env) -> None:
        for label, at in times.items():
            clock.t = at
            await actions.record_call(env, CLI_ACTOR, alert, "reached", f"note {label}")
            await refusals.record(env, CLI_ACTOR, "east-in", label="3-2-201", note=f"note {label}")
        clock.t = run_at
        await retention.run_retention(env, CLI_ACTOR)

    api.site.run(record)
    expected = [(times["middle"], None), (times["new"], "note new")]
    for table in (alert_actions, refusals_table):
        rows = _rows(api, sa.select(table.c.at, table.c.note).order_by(table.c.at))
        assert [(r["at"], r["note"]) for r in rows] == expected, table.name
    (audited,) = _rows(api, sa.select(audit_log).where(audit_log.c.action == "retention.run"))
    detail = audited["detail"]
    assert (detail["alert_actions_deleted"], detail["refusals_deleted"]) == (1, 1)
    assert detail["incident_notes_cleared"] == 2
    api.site.run(lambda env: retention.run_retention(env, CLI_ACTOR))  # idempotent
    assert len(_rows(api, sa.select(refusals_table))) == 2
