"""Client ids bound to accounts (issue 14, item 2): one gate's password cannot take the server's
or another gate's session; a takeover with an account's own password is counted and alerted.

Everything runs against a real mosquitto with the project's generated configuration (auth, ACL,
``use_username_as_clientid``), the server's real link and the gate's real MQTT adapter.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from msgspec.structs import replace as msgspec_replace

from protocol import messages, topics
from protocol.messages import GateStatus, Lifecycle, Mode
from protocol.takeovers import Takeovers
from protocol.topics import TopicKind
from server.link.broker_config import BrokerOptions, render_conf
from server.services.alerts import rules as alert_rules
from server.services.alerts.kinds import AlertKind
from server.store.schema_gates import alerts as alerts_table
from tests.faults.harness import SITE, LinkSite, build, running_gates, running_link
from tests.support.mqtt import TestClient

pytestmark = pytest.mark.broker


def _client(site: LinkSite, user: str, client_id: str) -> TestClient:
    """A connection with ``user``'s credentials that asks for ``client_id``."""
    password = site.passwords[user]
    made = TestClient(site.broker.host, site.broker.port, user, password, client_id)
    assert made.connect() == "Success"
    return made


def _server_client(site: LinkSite) -> TestClient:
    password = (site.settings.broker_dir / "server.password").read_text().strip()
    made = TestClient(site.broker.host, site.broker.port, "server", password, "server")
    assert made.connect() == "Success"
    return made


async def _alerts(site: LinkSite) -> list[dict[str, Any]]:
    env = site.env()
    try:
        async with env.db.read() as conn:
            query = sa.select(alerts_table).where(alerts_table.c.kind == "session_takeover")
            return [dict(r._mapping) for r in await conn.execute(query)]
    finally:
        await env.db.close()


async def _until(check: Any, within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while not await check():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.1)


def test_the_generated_config_binds_client_ids_under_every_listener(tmp_path: Path) -> None:
    options = BrokerOptions(
        out=tmp_path, tls_port=8883, tls_cert=tmp_path / "c.pem", tls_key=tmp_path / "k.pem"
    )
    lines = render_conf(SITE, options).splitlines()
    listeners = [i for i, line in enumerate(lines) if line.startswith("listener ")]
    assert len(listeners) == 2
    for i in listeners:
        assert lines[i + 1] == "use_username_as_clientid true"
    assert lines.count("use_username_as_clientid true") == 2


async def test_a_real_broker_runs_the_generated_config(tmp_path: Path) -> None:
    site = await build(tmp_path)
    assert "use_username_as_clientid true" in (site.config_dir / "mosquitto.conf").read_text()
    site.broker.start()
    try:
        assert "Error" not in site.broker.log()
        assert ":1883" not in site.broker.log()  # no default listener opened by a stray option
    finally:
        site.broker.kill()


async def test_one_gates_password_cannot_take_the_server_or_another_gate(tmp_path: Path) -> None:
    """Fails on the old config: a client id of its choice took the victims' sessions."""
    site = await build(tmp_path)
    site.broker.start()
    victims: list[TestClient] = []
    try:
        server = _server_client(site)
        server.subscribe(topics.all_gates(SITE, TopicKind.STATUS))
        gate_b = _client(site, "east-out", "east-out")
        gate_b.subscribe(str(topics.site_topic(SITE, TopicKind.SERVER_STATUS)))
        victims += [server, gate_b]
        attackers = [_client(site, "east-in", "server"), _client(site, "east-in", "east-out")]
        victims += attackers
        await asyncio.sleep(0.5)
        # both still connected: each still receives what is published after the attack
        gate_b.publish(str(topics.gate_topic(SITE, "east-out", TopicKind.STATUS)), b"b-alive")
        assert server.get().payload == b"b-alive"
        server.publish(str(topics.site_topic(SITE, TopicKind.SERVER_STATUS)), b"s-alive")
        assert gate_b.get().payload == b"s-alive"
        assert (server.drops, gate_b.drops) == (0, 0)
        assert site.broker.log().count("already connected, closing old connection") == 1
    finally:
        for c in victims:
            c.close()
        site.broker.kill()


async def test_a_takeover_with_the_gates_own_password_is_counted_and_alerted(
    tmp_path: Path,
) -> None:
    site = await build(tmp_path)
    site.broker.start()
    try:
        async with running_link(site), running_gates(site, "east-in") as (gate,):
            takeovers = gate.link.takeovers
            # the same account, twice: the real gate and the copy take the session from
            # each other (paho reconnects both); each time the gate loses it, it is counted
            thief = _client(site, "east-in", "anything")
            try:
                await _until(lambda: _async(takeovers.count(time.monotonic()) >= 2), 30)
            finally:
                thief.close()
            await asyncio.wait_for(gate.link.connected.wait(), 10)
            count = takeovers.count(time.monotonic())
            body = GateStatus(
                site=SITE,
                gate="east-in",
                state=Lifecycle.ONLINE,
                at=int(time.time() * 1000),
                boot_id=gate.boot_id,
                software="emulator",
                mode=Mode.NORMAL,
                clock_trusted=True,
                outbox_depth=0,
                takeovers=count,
            )
            topic = str(topics.gate_topic(SITE, "east-in", TopicKind.STATUS))
            assert await gate.link.publish_wait(topic, messages.encode(body), retain=True)
            await _until(lambda: _has_alert(site, "east-in"), 20)
        found = await _alerts(site)
        assert found[0]["severity"] == "high"
        assert found[0]["detail"]["takeovers"] >= 2
    finally:
        site.broker.kill()


async def _async(value: bool) -> bool:
    return value


async def _has_alert(site: LinkSite, gate: str | None) -> bool:
    return any(a["gate"] == gate for a in await _alerts(site))


async def test_the_servers_own_session_taken_over_raises_the_alert(tmp_path: Path) -> None:
    site = await build(tmp_path)
    site.broker.start()
    try:
        async with running_link(site) as link:
            thief = _server_client(site)
            try:
                await _until(lambda: _async(link.mqtt.recent_takeovers() >= 2), 30)
            finally:
                thief.close()
            await _until(lambda: _has_alert(site, None), 20)
        alert = next(a for a in await _alerts(site) if a["gate"] is None)
        assert (alert["subject"], alert["severity"]) == ("server", "high")
    finally:
        site.broker.kill()


async def test_the_rule_holds_and_ends_the_condition(tmp_path: Path) -> None:
    site = await build(tmp_path)
    env = site.env()
    try:
        async with env.db.write() as conn:
            assert (
                await alert_rules.on_takeovers(conn, 1, gate="east-in", subject="", now=1) is None
            )
            raised = await alert_rules.on_takeovers(conn, 2, gate="east-in", subject="", now=2)
            assert raised is not None
            assert raised.kind == AlertKind.SESSION_TAKEOVER.value
            await alert_rules.on_takeovers(conn, 0, gate="east-in", subject="", now=3)
    finally:
        await env.db.close()
    (alert,) = await _alerts(site)
    assert alert["resolved_at"] == 3


def test_takeovers_are_counted_from_drops_and_quick_reconnects() -> None:
    t = Takeovers()
    assert t.dropped(0x8E, said_by_broker=True, at=0.0)  # what mosquitto >= 2.0.15 says
    assert not t.dropped(0x80, said_by_broker=False, at=10.0)  # 2.0.11: closed without a word
    assert t.connected(12.0)  # ... and the broker took us back at once
    assert not t.dropped(0x80, said_by_broker=False, at=20.0)
    t.failed()  # the broker (or the network) was down: not a takeover
    assert not t.connected(25.0)
    assert not t.dropped(0x8D, said_by_broker=False, at=30.0)  # keepalive timeout
    assert not t.connected(31.0)
    assert t.count(12.0) == 2
    assert t.count(605.0) == 1
    assert t.count(700.0) == 0


def test_a_status_without_takeovers_leaves_the_field_out() -> None:
    """A server of the previous version refuses unknown fields: 0 is not sent."""
    body = GateStatus(
        site=SITE,
        gate="east-in",
        state=Lifecycle.ONLINE,
        at=1,
        boot_id="cd" * 16,
        software="t",
        mode=Mode.NORMAL,
        clock_trusted=True,
        outbox_depth=0,
    )
    assert b"takeovers" not in messages.encode(body)
    payload = messages.encode(msgspec_replace(body, takeovers=3))
    decoded = messages.decode(TopicKind.STATUS, payload, GateStatus)
    assert decoded.takeovers == 3
