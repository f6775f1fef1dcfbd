"""Group chat and ingest through a real broker (issue 17 item 5): while the worker is stuck
posting to a robot that hangs 10 s, fevers published by a gate are still stored, alerted and
acked at once: the raising path only inserts a row for the worker."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
import sqlalchemy as sa

from protocol import messages
from protocol.messages import Ack
from protocol.reasons import ReasonCode
from protocol.topics import TopicKind, gate_topic
from server.services.alerts.channels import setup
from server.services.alerts.channels.courier import Courier
from server.services.context import CLI_ACTOR, Env
from server.services.live import Hub
from server.store.schema_gates import alerts, chat_notices
from server.web.i18n import Translator
from tests.faults.harness import SITE, LinkSite, running_link
from tests.server.link.test_ingest import client, event, rows
from tests.support.chat_sink import ChatSink

pytestmark = pytest.mark.broker
FEVERS = 30


def words(language: str, key: str, **values: Any) -> str:
    return Translator(language)(key, **values)


async def _publish_and_ack(gate: Any, topic: str, site: LinkSite, seq: int) -> int:
    fever = event(
        "east-in",
        seq,
        at=site.clock.now() * 1000,
        granted=False,
        reason=ReasonCode.FEVER,
        pass_ref=f"{seq:016x}",
    )
    await asyncio.to_thread(gate.publish, topic, messages.encode(fever))
    got = await asyncio.to_thread(gate.get, 10)
    return messages.decode(TopicKind.ACKS, got.payload, Ack).seq


async def test_fevers_are_acked_at_once_while_the_robot_hangs(link_site: LinkSite) -> None:
    hub = Hub()
    base = link_site.env(hub)
    env = Env(
        db=base.db,
        settings=base.settings.model_copy(update={"chat_timeout_s": 10}),
        clock=base.clock,
        hub=hub,
    )
    topic = str(gate_topic(SITE, "east-in", TopicKind.EVENTS))
    with ChatSink(answers=[(200, {"errcode": 0})], delay_s=10) as robot:
        fields = setup.ChannelFields(
            name="duty",
            vendor="wecom",
            url=robot.url(),
            secret=None,
            clear_secret=False,
            language="zh-CN",
            enabled=True,
            kinds=["fever"],
        )
        await setup.create(env, CLI_ACTOR, fields)
        worker = asyncio.create_task(Courier(env, words).run())
        gate = await asyncio.to_thread(client, link_site, "east-in")
        try:
            acks = str(gate_topic(SITE, "east-in", TopicKind.ACKS))
            assert await asyncio.to_thread(gate.subscribe, acks) == [1]
            async with running_link(link_site, hub):
                assert await _publish_and_ack(gate, topic, link_site, 1) == 1
                assert await asyncio.to_thread(robot.arrived.wait, 10)  # the worker is stuck
                started = time.monotonic()
                acked = [
                    await _publish_and_ack(gate, topic, link_site, seq)
                    for seq in range(2, FEVERS + 2)
                ]
                took = time.monotonic() - started
                posted = len(robot.received)
        finally:
            gate.close()
            worker.cancel()
            await asyncio.gather(worker, return_exceptions=True)
            await env.db.close()
    assert acked == list(range(2, FEVERS + 2))
    assert took < 5  # each a broker round trip and a commit; the robot answers after 10 s
    assert posted == 1  # the worker was still waiting on the first post all along
    raised = await rows(link_site, sa.select(alerts).where(alerts.c.kind == "fever"))
    assert len(raised) == FEVERS + 1
    waiting = await rows(link_site, sa.select(chat_notices))
    assert len(waiting) == FEVERS  # queued for the worker, not sent by ingest
