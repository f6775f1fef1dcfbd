"""Publishing, commands, alerts, gate health, gaps, and failures inside ingest (real broker)."""

from __future__ import annotations

import asyncio
import queue
import time
import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from protocol import messages
from protocol.keys import kid_for
from protocol.manifest import KeyUse
from protocol.messages import (
    Ack,
    AlarmKind,
    CommandKind,
    DeviceHealth,
    DeviceState,
    EventKind,
    GateEvent,
    GateStatus,
    LaneDirection,
    Lifecycle,
    Mode,
    OverrideReason,
)
from protocol.reasons import ReasonCode
from protocol.topics import TopicKind, gate_topic
from server.records import Gate
from server.services.alerts import desk as alerts
from server.services.alerts import rules as alert_rules
from server.services.context import CLI_ACTOR, Env
from server.services.gates import commands as gate_commands
from server.services.gates import health as gate_health
from server.services.gates import policy as gate_policy
from server.services.ingest import commit as ingesting
from server.services.ingest.model import Accepted
from server.services.live import Hub
from server.services.paging import Page
from server.services.passes.keys import signing_key
from server.store.schema import audit_log, events
from server.store.schema_gates import alerts as alerts_table
from server.store.schema_gates import dead_letters, gate_ingest, seq_gaps
from tests.faults.harness import (
    SITE,
    LinkSite,
    provision,
    read_gate_file,
    running_gates,
    running_link,
    until,
)
from tests.support.mqtt import TestClient

pytestmark = pytest.mark.broker
REF = "00112233445566aa"


async def rows(site: LinkSite, query: Any) -> list[dict[str, Any]]:
    env = site.env()
    try:
        async with env.db.read() as conn:
            return [dict(r._mapping) for r in await conn.execute(query)]
    finally:
        await env.db.close()


def status(gate: str, **fields: Any) -> bytes:
    base: dict[str, Any] = {
        "site": SITE,
        "gate": gate,
        "state": Lifecycle.ONLINE,
        "at": 1,
        "boot_id": "cd" * 16,
        "software": "t",
        "mode": Mode.NORMAL,
        "clock_trusted": True,
        "outbox_depth": 0,
    }
    return messages.encode(GateStatus(**(base | fields)))


def event(gate: str, seq: int, at: int, **fields: Any) -> bytes:
    base: dict[str, Any] = {
        "kind": EventKind.DECISION,
        "event_id": str(uuid.uuid4()),
        "site": SITE,
        "gate": gate,
        "seq": seq,
        "boot_id": "ab" * 16,
        "at": at,
        "clock_trusted": True,
        "lane": LaneDirection.IN,
        "offline": False,
        "granted": True,
        "reason": ReasonCode.OK,
    }
    return messages.encode(GateEvent(**(base | fields)))


def raw(site: LinkSite, gate: str) -> TestClient:
    client = TestClient(site.broker.host, site.broker.port, gate, site.passwords[gate])
    assert client.connect() == "Success"
    return client


async def test_gates_receive_manifest_list_and_their_config(link_site: LinkSite) -> None:
    async with running_link(link_site), running_gates(link_site, "east-in") as (gate,):
        await asyncio.wait_for(gate.applied.wait(), 10)
        await asyncio.wait_for(gate.configured.wait(), 10)
        gate.configured.clear()
        config = gate.trust.applied.config
        assert config is not None
        assert (config.gate, config.version, config.zone) == ("east-in", 1, 1)
        assert list(config.phone_keys) == [1, 2]  # the site's key and zone 1's
        assert gate.trust.applied.manifest is not None
        env = link_site.env()
        try:
            await gate_policy.set_policy(env, CLI_ACTOR, "east-in", {"apb_minutes": 3})
        finally:
            await env.db.close()
        async with asyncio.timeout(10):  # version 1 may arrive again first (retained + resync)
            while (config := gate.trust.applied.config) is None or config.version < 2:
                gate.configured.clear()
                await gate.configured.wait()
        assert (config.version, config.policy.apb_minutes) == (2, 3)


async def test_a_command_is_signed_sent_answered_and_recorded(link_site: LinkSite) -> None:
    hub = Hub()
    async with running_link(link_site, hub) as link, running_gates(link_site, "east-in") as (gate,):
        env = link_site.env()
        async with hub.subscribe() as inbox:
            try:
                sent = await gate_commands.send(
                    env,
                    link,
                    CLI_ACTOR,
                    "east-in",
                    CommandKind.OPEN_ONCE,
                    reason=OverrideReason.NO_SMARTPHONE,
                    note="elderly resident",
                )
                notice = await until(inbox, lambda n: n["type"] == "command")
                page, total = await gate_commands.list_commands(
                    env, CLI_ACTOR, Page(sort="issued_at", descending=True)
                )
            finally:
                await env.db.close()
    assert sent.sent is True
    assert (notice["request_id"], notice["outcome"]) == (sent.request_id, "done")
    assert total == 1
    assert page[0].outcome == "done"
    assert gate.results == [sent.request_id]
    audits = await rows(link_site, sa.select(audit_log).where(audit_log.c.action == "command.send"))
    assert len(audits) == 1


async def test_commands_in_the_same_second_list_newest_first(link_site: LinkSite) -> None:
    """Lockdown then back to normal within one second: the console shows "normal" on top."""
    async with running_link(link_site, Hub()) as link, running_gates(link_site, "east-in"):
        env = link_site.env()
        try:
            sent = [
                await gate_commands.send(
                    env, link, CLI_ACTOR, "east-in", CommandKind.SET_MODE, mode=mode
                )
                for mode in (Mode.LOCKDOWN, Mode.NORMAL, Mode.LOCKDOWN, Mode.NORMAL)
            ]
            for gate in (None, "east-in"):  # the query plan differs with the lane's filter
                page, _ = await gate_commands.list_commands(
                    env, CLI_ACTOR, Page(sort="issued_at", descending=True), gate=gate
                )
                assert [r.request_id for r in page] == [r.request_id for r in sent[::-1]]
        finally:
            await env.db.close()


def test_request_ids_are_uuid7_and_increase() -> None:
    ids = [gate_commands.request_id() for _ in range(1000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == 1000
    assert {(uuid.UUID(i).version, uuid.UUID(i).variant) for i in ids} == {(7, uuid.RFC_4122)}


async def test_commands_need_the_link(link_site: LinkSite) -> None:
    from server.services.errors import Conflict

    env = link_site.env()
    try:
        with pytest.raises(Conflict):
            await gate_commands.send(env, None, CLI_ACTOR, "east-in", CommandKind.RESYNC)
    finally:
        await env.db.close()


@pytest.mark.parametrize("kind", list(CommandKind))
def test_staff_command_only_their_zones_lanes_admins_every_lane(kind: CommandKind) -> None:
    from server.services.context import Actor
    from server.services.errors import NotFound

    east = Gate(id="east-in", zone_id=1, name="East in", direction="in", created_at=0)
    west = Gate(id="west-in", zone_id=2, name="West in", direction="in", created_at=0)
    staff = Actor(name="east-desk", role="staff", scope=frozenset({1}))
    gate_commands.authorize(staff, east, "east-in", kind)
    gate_commands.authorize(CLI_ACTOR, west, "west-in", kind)
    gate_commands.authorize(Actor(name="all", role="staff", scope=None), west, "west-in", kind)
    for actor, row in ((staff, west), (staff, None), (CLI_ACTOR, None)):
        with pytest.raises(NotFound):
            gate_commands.authorize(actor, row, "west-in", kind)


async def test_alarms_and_patterns_raise_alerts_acknowledged_with_a_note(
    link_site: LinkSite,
) -> None:
    hub = Hub()
    async with (
        running_link(link_site, hub),
        running_gates(link_site, "east-in") as (gate,),
        hub.subscribe() as inbox,
    ):
        await gate.decide(
            1,
            kind=EventKind.ALARM,
            alarm=AlarmKind.FEVER_CONFIRMED,
            granted=None,
            reason=None,
            pass_ref=REF,
        )
        await gate.decide(1, granted=False, reason=ReasonCode.FEVER, pass_ref=REF)
        await gate.decide(
            3, granted=False, reason=ReasonCode.NO_TEMPERATURE, pass_ref="ffeeddccbbaa9988"
        )
        await gate.decide(
            1,
            kind=EventKind.ALARM,
            alarm=AlarmKind.SUSPECTED_LENDING,
            granted=None,
            reason=None,
            pass_ref="1111111111111111",
        )
        await until(
            inbox, lambda n: n["type"] == "alert" and n["alert"].kind == "suspected_lending"
        )
    found = {
        (r["kind"], r["subject"], r["count"])
        for r in await rows(link_site, sa.select(alerts_table))
    }
    assert found == {
        ("fever", REF, 2),  # the alarm and the fever decision land on one alert
        ("repeated_refusals", "ffeeddccbbaa9988", 1),
        ("suspected_lending", "1111111111111111", 1),
    }
    env = link_site.env()
    try:
        listed, total = await alerts.list_alerts(env, CLI_ACTOR, Page(size=10))
        fever = next(a for a in listed if a.kind == "fever")
        done = await alerts.acknowledge(env, CLI_ACTOR, fever.id, "called the resident; sent home")
        still_open, _ = await alerts.list_alerts(env, CLI_ACTOR, Page(size=10))
    finally:
        await env.db.close()
    assert total == 3
    assert done.acked_by == "cli"
    assert fever.id not in [a.id for a in still_open]
    audits = await rows(link_site, sa.select(audit_log).where(audit_log.c.action == "alert.ack"))
    assert audits[0]["target"] == f"alert:{fever.id}"


async def test_status_conditions_liveness_and_the_offline_alert(link_site: LinkSite) -> None:
    hub = Hub()
    topic = str(gate_topic(SITE, "east-out", TopicKind.STATUS))
    client = await asyncio.to_thread(raw, link_site, "east-out")
    try:
        async with running_link(link_site, hub), hub.subscribe() as inbox:
            bad = DeviceHealth(name="thermometer", state=DeviceState.FAULT, detail="no frame")
            await asyncio.to_thread(
                client.publish,
                topic,
                status("east-out", clock_trusted=False, devices=[bad], outbox_depth=5000),
                1,
                True,
            )
            await until(inbox, lambda n: n["type"] == "gate")
            settling = {r["kind"] for r in await rows(link_site, sa.select(alerts_table))}
            assert "clock_untrusted" not in settling  # just online: it has not heard the time yet
            link_site.clock.advance(alert_rules.CLOCK_SETTLE_S)
            await asyncio.to_thread(  # the next heartbeat, still untrusted
                client.publish, topic, status("east-out", clock_trusted=False), 1, True
            )
            await until(
                inbox, lambda n: n["type"] == "alert" and n["alert"].kind == "clock_untrusted"
            )
            await asyncio.to_thread(
                client.publish, topic, status("east-out", state=Lifecycle.OFFLINE), 1, True
            )
            await until(inbox, lambda n: n["type"] == "gate" and n["gate"]["state"] == "offline")
            env = link_site.env()
            try:
                link_site.clock.advance(link_site.settings.gate_offline_after_s + 1)
                raised = await gate_health.monitor(env)
                health = await gate_health.gate_health(env, CLI_ACTOR, gate="east-out")
            finally:
                await env.db.close()
    finally:
        client.close()
    kinds = {(r["kind"], r["subject"]) for r in await rows(link_site, sa.select(alerts_table))}
    assert kinds == {
        ("clock_untrusted", ""),
        ("device_fault", "thermometer"),
        ("outbox_backlog", ""),
        ("gate_offline", ""),
    }
    assert [a.kind for a in raised] == ["gate_offline"]
    lane = health[0].status
    assert lane is not None
    assert lane.state == "offline"


async def test_a_declared_floor_moves_the_ack_past_a_gap(link_site: LinkSite) -> None:
    at = link_site.clock.now() * 1000
    client = await asyncio.to_thread(raw, link_site, "east-in")
    hub = Hub()
    try:
        await asyncio.to_thread(client.subscribe, str(gate_topic(SITE, "east-in", TopicKind.ACKS)))
        async with running_link(link_site, hub), hub.subscribe() as inbox:
            events_topic = str(gate_topic(SITE, "east-in", TopicKind.EVENTS))
            for seq in (1, 2, 5):
                await asyncio.to_thread(client.publish, events_topic, event("east-in", seq, at))
            status_topic = str(gate_topic(SITE, "east-in", TopicKind.STATUS))
            await asyncio.to_thread(
                client.publish, status_topic, status("east-in", outbox_floor_seq=5)
            )
            await until(inbox, lambda n: n["type"] == "gap")
            acks = []
            while not acks or acks[-1] < 5:
                got = await asyncio.to_thread(client.get, 10)
                acks.append(messages.decode(TopicKind.ACKS, got.payload, Ack).seq)
    finally:
        client.close()
    gaps = await rows(link_site, sa.select(seq_gaps))
    assert [(g["from_seq"], g["to_seq"]) for g in gaps] == [(3, 4)]
    (state,) = await rows(link_site, sa.select(gate_ingest))
    assert state["acked_seq"] == 5
    assert acks[-1] == 5


async def test_a_poison_message_is_dead_lettered_and_ingest_goes_on(
    link_site: LinkSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = ingesting.store_status

    async def broken(conn: Any, body: GateStatus, **kw: Any) -> None:
        if body.gate == "east-out":
            raise RuntimeError("a bug in the status handler")
        await original(conn, body, **kw)

    monkeypatch.setattr(ingesting, "store_status", broken)
    hub = Hub()
    async with (
        running_link(link_site, hub),
        hub.subscribe() as inbox,
        running_gates(link_site, "east-out", "east-in") as (_out_gate, in_gate),
    ):
        await until(inbox, lambda n: n["type"] == "dead_letter")
        await in_gate.decide(3)
        await in_gate.drained()
    letters = await rows(link_site, sa.select(dead_letters))
    assert {r["reason"] for r in letters} == {"handler_error"}
    assert len(await rows(link_site, sa.select(events))) == 3


async def test_a_database_error_holds_the_batch_then_stores_it_once(
    link_site: LinkSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = ingesting.commit
    failures = [sa_exc.OperationalError("INSERT", {}, Exception("database is locked"))]

    async def flaky(*args: Any, **kw: Any) -> Any:
        if failures and any(
            isinstance(i, Accepted) and i.kind == TopicKind.EVENTS for i in args[1]
        ):
            raise failures.pop()
        return await original(*args, **kw)

    monkeypatch.setattr(ingesting, "commit", flaky)
    async with running_link(link_site) as link, running_gates(link_site, "east-in") as (gate,):
        await gate.decide(5)
        await gate.drained()
        assert link.ingest.stats.retries == 1
    assert len(await rows(link_site, sa.select(events))) == 5
    assert await rows(link_site, sa.select(dead_letters)) == []


async def test_a_pass_at_two_zones_within_two_minutes_is_impossible_travel(
    link_site: LinkSite,
) -> None:
    env = link_site.env()
    try:
        path = await provision(env, link_site.root, "west-in", 2, LaneDirection.IN)
    finally:
        await env.db.close()
    link_site.passwords["west-in"] = read_gate_file(path)["broker"]["password"]
    link_site.broker.reload()
    at = link_site.clock.now() * 1000
    hub = Hub()
    east = await asyncio.to_thread(raw, link_site, "east-in")
    west = await asyncio.to_thread(raw, link_site, "west-in")
    try:
        async with running_link(link_site, hub), hub.subscribe() as inbox:
            for client, gate, when in ((east, "east-in", at), (west, "west-in", at + 30_000)):
                topic = str(gate_topic(SITE, gate, TopicKind.EVENTS))
                await asyncio.to_thread(client.publish, topic, event(gate, 1, when, pass_ref=REF))
            notice = await until(inbox, lambda n: n["type"] == "alert")
    finally:
        east.close()
        west.close()
    alert = notice["alert"]
    assert (alert.kind, alert.gate, alert.subject) == ("impossible_travel", "west-in", REF)
    assert alert.detail["other_gate"] == "east-in"


async def test_patterns_count_what_was_stored_before_the_batch(link_site: LinkSite) -> None:
    """Two refusals in one batch, the third in a later one: the third raises repeated refusals
    (counting the stored two). A second grant at the same lane is no impossible travel."""
    at, hub = link_site.clock.now() * 1000, Hub()
    gate = await asyncio.to_thread(raw, link_site, "east-in")
    topic = str(gate_topic(SITE, "east-in", TopicKind.EVENTS))
    refused = {"granted": False, "reason": ReasonCode.NO_TEMPERATURE, "pass_ref": REF}
    try:
        async with running_link(link_site, hub), hub.subscribe() as inbox:
            for seq, fields in ((1, refused), (2, refused), (3, {"pass_ref": "1" * 16})):
                await asyncio.to_thread(
                    gate.publish, topic, event("east-in", seq, at + seq, **fields)
                )
            first = [
                await until(inbox, lambda n: n["type"] in ("event", "alert")) for _ in range(3)
            ]
            for seq, fields in ((4, refused), (5, {"pass_ref": "1" * 16})):
                await asyncio.to_thread(
                    gate.publish, topic, event("east-in", seq, at + seq, **fields)
                )
            alert = await until(inbox, lambda n: n["type"] == "alert")
    finally:
        gate.close()
    assert [n["type"] for n in first] == ["event"] * 3
    assert (alert["alert"].kind, alert["alert"].subject) == ("repeated_refusals", REF)
    assert alert["alert"].detail["count"] == 3
    kinds = {r["kind"] for r in await rows(link_site, sa.select(alerts_table))}
    assert kinds == {"repeated_refusals"}


async def test_the_staff_pages_services_show_the_real_link(link_site: LinkSite) -> None:
    from server.services.alerts import desk
    from server.services.context import Actor
    from server.services.errors import NotFound

    async def console(env: Env, actor: Actor, kind: str, **fields: str) -> str:
        command, reason, mode = gate_commands.parse(kind, **fields)
        row = await gate_commands.send(
            env, link, actor, "east-in", command, reason=reason, mode=mode
        )
        return str(row.request_id)

    staff = Actor(name="east-desk", role="staff", scope=frozenset({1}))
    west = Actor(name="west-desk", role="staff", scope=frozenset({2}))
    async with running_link(link_site) as link, running_gates(link_site, "east-in") as (gate,):
        await gate.decide(
            1,
            kind=EventKind.ALARM,
            alarm=AlarmKind.FEVER_CONFIRMED,
            granted=None,
            reason=None,
            pass_ref=REF,
        )
        await gate.drained()
        env = link_site.env()
        try:
            health = {h.gate.id: h for h in await gate_health.lane_health(env, staff)}
            open_alerts = await desk.dashboard_alerts(env, staff)
            await desk.acknowledge_by_text(env, staff, open_alerts[0].id, "checked at the lane")
            request_id = await console(env, staff, "open_once", reason="no_smartphone")
            lockdown_id = await console(env, staff, "set_mode", mode="lockdown")
            with pytest.raises(NotFound):  # a lane of another zone does not exist for them
                await console(env, west, "set_mode", mode="lockdown")
            after = await desk.dashboard_alerts(env, staff, open_only=False)
        finally:
            await env.db.close()
    assert health["east-in"].state == "online"
    assert health["east-in"].last_contact_ms is not None
    assert health["east-out"].state == "unknown"
    assert [(a.kind, a.gate_name) for a in open_alerts] == [("fever", "east-in")]
    assert open_alerts[0].event.gate == "east-in"
    assert after[0].acked is True
    assert len(request_id) == 36
    assert len(lockdown_id) == 36


async def test_a_time_request_is_answered_signed_with_the_nonce_and_nothing_is_stored(
    link_site: LinkSite,
) -> None:
    env = link_site.env()
    try:
        async with env.db.read() as conn:
            _row, key = await signing_key(
                conn, env.keys_dir, use=KeyUse.CONTROL, now=env.clock.now()
            )
    finally:
        await env.db.close()
    keys = {kid_for(key): key.public_key()}
    async with running_link(link_site) as link:
        client = raw(link_site, "east-in")
        try:
            assert client.subscribe(str(gate_topic(SITE, "east-in", TopicKind.TIME))) == [1]
            nonce = uuid.uuid4().hex
            asked = messages.TimeRequest(
                site=SITE, gate="east-in", nonce=nonce, at=int(time.time() * 1000)
            )
            topic = str(gate_topic(SITE, "east-in", TopicKind.TIME_REQUESTS))
            before = time.time()
            client.publish(topic, messages.encode(asked))
            got = await asyncio.to_thread(client.get)
            answer = messages.open_time(got.payload, keys, site=SITE, gate="east-in")
            assert answer.nonce == nonce
            assert before * 1000 - 1 <= answer.at_ms <= time.time() * 1000 + 1
            assert not got.retain
            # another gate's name in the body: refused, not answered
            other = messages.TimeRequest(site=SITE, gate="east-out", nonce=nonce, at=1)
            await asyncio.sleep(0.6)  # past the per-gate interval
            client.publish(topic, messages.encode(other))
            with pytest.raises(queue.Empty):
                client.get(timeout=1.0)
        finally:
            client.close()
        assert link.times.answered == 1
    stored = await rows(link_site, sa.select(dead_letters))
    assert stored == []  # a time request is no event, not even a dead letter
