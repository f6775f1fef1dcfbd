"""Pass locks (issue 14 item 1): a lane's ``pass_locked`` report becomes a server lock that the
signed revocation list spreads; staff of the pass's zone unlock it (audited), by API or CLI."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from protocol import messages
from protocol.messages import AlarmKind, EventKind, GateEvent, LaneDirection
from protocol.reasons import ReasonCode
from protocol.revocation import RefTime
from protocol.topics import TopicKind, gate_topic
from server.cli.main import main
from server.services.context import CLI_ACTOR, Env
from server.services.ingest.classify import classify
from server.services.ingest.commit import commit_batch
from server.services.ingest.model import Message
from server.services.passes import locks
from server.services.passes.revocations import build_full
from server.store import passes as pass_store
from server.store.schema import audit_log, pass_locks
from server.store.schema_gates import alerts
from tests.server.conftest import Api, Site, seed

SEQ = pass_store.REVOCATION_SEQ
WHY = {"reason": "ID card checked at the desk"}


class Lane:
    """A registered gate whose events go through the server's real classify and commit."""

    def __init__(self, site: Site, gate: str) -> None:
        self.site, self.gate, self.seq = site, gate, 0

    def report(self, ref: str, *, at: int | None = None, **fields: Any) -> dict[str, Any]:
        """Store one decision event (default: refused as locked) and return the batch result."""
        self.seq += 1
        event = GateEvent(
            kind=EventKind.DECISION,
            event_id=str(uuid.uuid4()),
            site="gw01",
            gate=self.gate,
            seq=fields.pop("seq", self.seq),
            boot_id="ab" * 16,
            at=(self.site.clock.now() if at is None else at) * 1000,
            clock_trusted=True,
            lane=LaneDirection.IN,
            offline=False,
            granted=False,
            reason=ReasonCode.PASS_LOCKED,
            pass_ref=ref,
        )
        event = msgspec_replace(event, **fields)
        topic = str(gate_topic("gw01", self.gate, TopicKind.EVENTS))
        now_ms = self.site.clock.now() * 1000
        item = classify("gw01", Message(topic, messages.encode(event)), now_ms=now_ms, oldest_ms=0)

        async def go(env: Env) -> Any:
            return await commit_batch(env, [item])

        result = self.site.run(go)
        return {"changed": result.revocations_changed, "stored": result.stored}


def msgspec_replace(event: GateEvent, **fields: Any) -> GateEvent:
    import msgspec

    return msgspec.structs.replace(event, **fields)


def _rows(site: Site, query: Any) -> list[dict[str, Any]]:
    async def go(env: Env) -> list[dict[str, Any]]:
        async with env.db.read() as conn:
            return [dict(r._mapping) for r in await conn.execute(query)]

    return site.run(go)  # type: ignore[no-any-return]


def _seq(site: Site) -> int:
    async def go(env: Env) -> int:
        async with env.db.read() as conn:
            return await pass_store.read_counter(conn, name=SEQ)

    return site.run(go)  # type: ignore[no-any-return]


def _listed(site: Site) -> tuple[list[RefTime], list[RefTime]]:
    async def go(env: Env) -> tuple[list[RefTime], list[RefTime]]:
        async with env.db.read() as conn:
            full = await build_full(conn, now=env.clock.now(), next_update_s=3600)
        return full.locks, full.unlocks

    return site.run(go)  # type: ignore[no-any-return]


@pytest.fixture
def locked(api: Api) -> dict[str, Any]:
    """Gates east-in (zone 1) and west-in (zone 2), a zone-1 pass and its lock from east-in."""
    ids = seed(api)
    api.use("admin")
    for gate, zone in (("east-in", 1), ("west-in", 2)):
        body = {"id": gate, "zone_id": zone, "name": gate, "direction": "in"}
        assert api.post("/api/v1/gates", json=body).status_code == 201
    ref = api.post("/api/v1/passes", json={"resident_id": ids["r1"]}).json()["ref"]
    before = _seq(api.site)
    east = Lane(api.site, "east-in")
    assert east.report(ref) == {"changed": True, "stored": 1}
    west = Lane(api.site, "west-in")
    return {"ref": ref, "before": before, "east": east, "west": west, "resident": ids["r1"]}


def test_a_reported_lock_is_recorded_once_listed_and_bumps_the_seq(
    api: Api, locked: dict[str, Any]
) -> None:
    ref, site = locked["ref"], api.site
    (row,) = _rows(site, sa.select(pass_locks))
    assert (row["ref"], row["gate"], row["cleared_at"]) == (ref, "east-in", None)
    assert _seq(site) == locked["before"] + 1
    assert _listed(site) == ([RefTime(bytes.fromhex(ref), row["locked_at"])], [])
    audits = _rows(site, sa.select(audit_log).where(audit_log.c.action == "pass.lock"))
    assert [a["target"] for a in audits] == [f"pass:{ref}"]
    # the same pass refused again (the lane's own lock): no second lock, no new list
    site.clock.advance(5)
    assert locked["east"].report(ref) == {"changed": False, "stored": 1}
    assert len(_rows(site, sa.select(pass_locks))) == 1
    assert _seq(site) == locked["before"] + 1
    api.use("east-desk")
    listed = api.get("/api/v1/passes/locks").json()
    assert [(x["ref"], x["gate"]) for x in listed] == [(ref, "east-in")]
    api.use("west-desk")
    assert api.get("/api/v1/passes/locks").json() == []  # another zone's lock is not theirs


def test_reports_that_cannot_lock(api: Api, locked: dict[str, Any]) -> None:
    ids_before = len(_rows(api.site, sa.select(pass_locks)))
    api.use("admin")
    other = api.post("/api/v1/passes", json={"resident_id": 1}).json()["ref"]
    west, east = locked["west"], locked["east"]
    assert west.report(other)["changed"] is False  # a lane of another zone never asks its digits
    assert east.report("ffffffffffffffff")["changed"] is False  # no such pass
    assert east.report(other, reason=ReasonCode.PHONE_MISMATCH)["changed"] is False
    alarm = {"kind": EventKind.ALARM, "granted": None, "reason": None}
    assert east.report(other, alarm=AlarmKind.SUSPECTED_LENDING, **alarm)["changed"] is False
    assert east.report(other, seq=1)["changed"] is False  # a replayed seq is flagged, not trusted
    assert len(_rows(api.site, sa.select(pass_locks))) == ids_before


def test_unlock_clears_audits_lists_and_refuses_a_second_time(
    api: Api, locked: dict[str, Any]
) -> None:
    ref, site = locked["ref"], api.site
    site.clock.advance(60)
    api.use("east-desk")
    r = api.post(f"/api/v1/passes/{ref}/unlock", json={"note": "holder checked at the desk"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["cleared_by"], body["clear_note"]) == ("east-desk", "holder checked at the desk")
    assert _seq(site) == locked["before"] + 2
    assert _listed(site) == ([], [RefTime(bytes.fromhex(ref), site.clock.now())])
    audits = _rows(site, sa.select(audit_log).where(audit_log.c.action == "pass.unlock"))
    assert [(a["actor"], a["target"]) for a in audits] == [("east-desk", f"pass:{ref}")]
    again = api.post(f"/api/v1/passes/{ref}/unlock", json=WHY)
    assert again.status_code == 409
    assert again.json()["code"] == locks.NOT_LOCKED
    assert api.get("/api/v1/passes/locks").json() == []
    # a lane that refused the pass before it heard of the unlock does not lock it again
    assert locked["east"].report(ref, at=site.clock.now() - 30)["changed"] is False
    site.clock.advance(60)
    assert locked["east"].report(ref)["changed"] is True  # wrong digits again, later: a new lock
    assert [x["ref"] for x in api.get("/api/v1/passes/locks").json()] == [ref]


def test_unlock_access(api: Api, locked: dict[str, Any]) -> None:
    ref = locked["ref"]
    api.use("west-desk")  # staff of another zone: the pass is not theirs to see
    assert api.post(f"/api/v1/passes/{ref}/unlock", json=WHY).status_code == 404
    api.use("east-desk")
    no_csrf = api.client.post(f"/api/v1/passes/{ref}/unlock", json=WHY)
    assert no_csrf.status_code == 403
    cross = api.post(f"/api/v1/passes/{ref}/unlock", json=WHY, headers={"origin": "http://evil"})
    assert cross.status_code == 403
    api.use(None)
    assert api.post(f"/api/v1/passes/{ref}/unlock", json=WHY).status_code == 401
    assert len(_rows(api.site, sa.select(pass_locks).where(pass_locks.c.cleared_at.is_(None)))) == 1


@pytest.mark.parametrize(
    "ref",
    [
        "0123",
        "0123456789abcdef0",
        "0123456789ABCDEF",
        "0123456789abcdeg",
        "%2e%2e%2f%2e%2e%2fetc",
        "0123456789abcde%00",
        "０１２３４５６７８９ａｂｃｄｅｆ",
        "x" * 5000,
    ],
)
def test_malformed_refs_are_refused(api: Api, locked: dict[str, Any], ref: str) -> None:
    api.use("east-desk")
    r = api.post(f"/api/v1/passes/{ref}/unlock", json=WHY)
    assert r.status_code in (404, 422), r.text


@pytest.mark.parametrize(
    "body",
    [
        {"note": 5},
        {"note": ["x"]},
        {"note": "x" * 501},
        b'{"note": "\\ud800"}',  # a lone surrogate, as JSON may carry it
        {"note": "n", "cleared_by": "admin"},
        [],
        "note",
        None,
    ],
)
def test_malformed_bodies_are_refused(api: Api, locked: dict[str, Any], body: Any) -> None:
    api.use("east-desk")
    url = f"/api/v1/passes/{locked['ref']}/unlock"
    if isinstance(body, bytes):
        r = api.post(url, content=body, headers={"content-type": "application/json"})
    else:
        r = api.post(url, json=body)
    assert r.status_code == 422, r.text
    assert "x" * 50 not in r.text  # the input is not echoed back
    r = api.post(
        f"/api/v1/passes/{locked['ref']}/unlock",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 422
    big = b'{"note": "' + b"x" * (api.site.settings.max_body_bytes + 10) + b'"}'
    r = api.post(
        f"/api/v1/passes/{locked['ref']}/unlock",
        content=big,
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 413
    assert api.get("/api/v1/passes/locks").json()[0]["cleared_at"] is None


def test_cli_lists_and_unlocks(
    api: Api, locked: dict[str, Any], capsys: pytest.CaptureFixture[str], monkeypatch: Any
) -> None:
    monkeypatch.setenv("GATEPASS_LANG", "en")
    data = str(api.site.settings.data_dir)
    assert main(["passes", "locks", "--data", data]) == 0
    assert locked["ref"] in capsys.readouterr().out
    assert main(["passes", "unlock", locked["ref"], "--note", "checked", "--data", data]) == 0
    assert f"Pass {locked['ref']} unlocked" in capsys.readouterr().out
    assert main(["passes", "unlock", locked["ref"], "--reason", "ID", "--data", data]) == 1
    assert "is not locked" in capsys.readouterr().err
    monkeypatch.setenv("GATEPASS_LANG", "zh-CN")
    assert main(["passes", "locks", "--data", data]) == 0
    assert "没有被锁定" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["passes", "unlock", "not-a-ref", "--data", data])
    audits = _rows(api.site, sa.select(audit_log).where(audit_log.c.action == "pass.unlock"))
    assert [a["actor"] for a in audits] == [CLI_ACTOR.name]
    assert audits[0]["detail"]["reason"] == "checked"


def test_one_lane_cannot_lock_a_zone_out_one_pass_after_another(
    api: Api, locked: dict[str, Any]
) -> None:
    """A stolen gate's password reporting locks: past the hourly cap they lock nothing more."""
    api.use("admin")
    refs = [
        api.post("/api/v1/passes", json={"resident_id": locked["resident"]}).json()["ref"]
        for _ in range(locks.LOCKS_PER_LANE_HOUR)
    ]
    results = [locked["east"].report(ref) for ref in refs]
    assert [r["changed"] for r in results] == [True] * (locks.LOCKS_PER_LANE_HOUR - 1) + [False]
    assert len(_rows(api.site, sa.select(pass_locks))) == locks.LOCKS_PER_LANE_HOUR
    flood = _rows(api.site, sa.select(alerts).where(alerts.c.kind == "lock_flood"))
    assert [(a["gate"], a["severity"]) for a in flood] == [("east-in", "high")]
    api.site.clock.advance(3601)  # an hour later the lane's reports lock again
    assert locked["east"].report(refs[-1])["changed"] is True


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "   \t"}, {"note": " "}])
def test_an_unlock_needs_a_reason(api: Api, locked: dict[str, Any], body: Any) -> None:
    """Issue 16 item 7: no unlock without saying which ID check was made (localised refusal)."""
    api.use("east-desk")
    url = f"/api/v1/passes/{locked['ref']}/unlock"
    r = api.post(url, json=body)
    assert r.status_code == 422, r.text
    assert r.json()["code"] == locks.REASON_REQUIRED
    assert api.get("/api/v1/passes/locks").json()[0]["cleared_at"] is None
    assert not _rows(api.site, sa.select(audit_log).where(audit_log.c.action == "pass.unlock"))
    r = api.post(url, json={"reason": "  身份证已核验  "})
    assert r.status_code == 200, r.text
    assert r.json()["clear_note"] == "身份证已核验"
    (audit,) = _rows(api.site, sa.select(audit_log).where(audit_log.c.action == "pass.unlock"))
    assert audit["detail"]["reason"] == "身份证已核验"


def test_the_cli_and_the_page_refuse_an_unlock_without_a_reason(
    api: Api, locked: dict[str, Any], capsys: pytest.CaptureFixture[str], monkeypatch: Any
) -> None:
    data = str(api.site.settings.data_dir)
    monkeypatch.delenv("GATEPASS_LANG", raising=False)
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    assert main(["passes", "unlock", locked["ref"], "--data", data]) == 1
    assert "请填写解锁原因" in capsys.readouterr().err
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    assert main(["passes", "unlock", locked["ref"], "--reason", " ", "--data", data]) == 1
    assert "the reason is required" in capsys.readouterr().err
    api.use("east-desk")
    page = api.post(f"/ui/passes/{locked['ref']}/unlock", data={"note": "  "})
    assert page.status_code == 422
    assert "the reason is required" in page.text or "原因为必填项" in page.text
    assert api.get("/api/v1/passes/locks").json()[0]["cleared_at"] is None
    done = api.post(
        f"/ui/passes/{locked['ref']}/unlock", data={"note": "ID seen"}, follow_redirects=False
    )
    assert done.status_code == 303
    assert api.get("/api/v1/passes/locks").json() == []
