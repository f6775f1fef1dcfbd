"""A full disk on the server: no event is acknowledged before its commit (issue 15 item 7).

The server's database is held at its current size with SQLite's own page limit
(``PRAGMA max_page_count`` on every connection), which fails a growing write with "database or
disk is full" exactly as a full filesystem does. The real ingest then holds the batch: no ack
to the gate, no PUBACK to the broker (so the broker and the gate both keep the events). Once
there is room again, the same batch is committed and acknowledged, each event once.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from protocol import messages
from protocol.messages import Ack
from protocol.topics import TopicKind, gate_topic
from server.link.ingest import Ingest
from server.link.mqtt import Inbound
from server.services.context import Env
from server.store.schema import events
from tests.faults.harness import SITE, LinkSite, build

GATE = "east-in"
TOPIC = str(gate_topic(SITE, GATE, TopicKind.EVENTS))
ACKS = str(gate_topic(SITE, GATE, TopicKind.ACKS))
UNLIMITED = 2**30


class Recorder:
    """The broker side of ingest: what it publishes and which messages it PUBACKs."""

    def __init__(self) -> None:
        self.acks: list[Ack] = []
        self.pubacks: list[int] = []

    def ack(self, message: Inbound) -> None:
        self.pubacks.append(message.mid)

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> bool:
        if topic == ACKS:
            self.acks.append(messages.decode(TopicKind.ACKS, payload, Ack))
        return True


def _event(seq: int, at_ms: int) -> Inbound:
    body = {
        "schema": 1,
        "kind": "decision",
        "event_id": str(uuid.uuid4()),
        "site": SITE,
        "gate": GATE,
        "seq": seq,
        "boot_id": "cd" * 16,
        "at": at_ms,
        "clock_trusted": True,
        "lane": "in",
        "offline": False,
        "granted": True,
        "reason": "ok",
        "note": "x" * 200,  # rows big enough that a few of them need new pages
    }
    return Inbound(TOPIC, json.dumps(body).encode(), seq, 1, False, 1, ())


class PageLimit:
    """``max_page_count`` on every new connection of an engine; ``set`` reconnects."""

    def __init__(self, env: Env) -> None:
        self.env, self.pages = env, UNLIMITED
        event.listen(env.db.engine.sync_engine, "connect", self._on_connect)

    def _on_connect(self, dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA max_page_count = {self.pages}")
        cursor.close()

    async def set(self, pages: int) -> None:
        self.pages = pages
        await self.env.db.engine.dispose()  # pooled connections reopen with the new limit

    async def current(self) -> int:
        async with self.env.db.read() as conn:
            return int((await conn.exec_driver_sql("PRAGMA page_count")).scalar_one())


@pytest.fixture
async def site_env(tmp_path: Path) -> AsyncIterator[tuple[LinkSite, Env]]:
    site = await build(tmp_path)  # ingest is driven directly: no broker needed
    env = site.env()
    try:
        yield site, env
    finally:
        await env.db.close()


async def test_a_full_disk_means_no_ack_until_the_events_are_committed(
    site_env: tuple[LinkSite, Env],
) -> None:
    site, env = site_env
    recorder = Recorder()
    ingest = Ingest(env, SITE, recorder)
    limit = PageLimit(env)
    at = site.clock.now() * 1000
    first = await ingest.handle([_event(1, at)])
    assert [a.seq for a in recorder.acks] == [1]
    await limit.set(await limit.current())  # the disk is full: not one page more
    batch = [_event(seq, at + seq) for seq in range(2, 42)]
    held = asyncio.create_task(ingest.handle(batch))
    for _ in range(400):  # the batch is tried, refused and held again, up to 20 s
        if ingest.stats.retries >= 3:
            break
        await asyncio.sleep(0.05)
    assert ingest.stats.retries >= 3
    assert not held.done()
    assert [a.seq for a in recorder.acks] == [1]  # nothing acknowledged past the commit
    assert recorder.pubacks == [1]  # and the broker keeps the batch too
    async with env.db.read() as conn:
        stored = (await conn.execute(sa.select(sa.func.count()).select_from(events))).scalar()
    assert stored == 1
    await limit.set(UNLIMITED)  # room again
    async with asyncio.timeout(20):
        result = await held
    assert result.stored == len(batch)
    assert recorder.acks[-1].seq == 41
    assert sorted(recorder.pubacks) == sorted([1, *range(2, 42)])
    async with env.db.read() as conn:
        seqs = (await conn.execute(sa.select(events.c.seq).order_by(events.c.seq))).scalars()
        assert list(seqs) == list(range(1, 42))  # each once
    assert first.stored == 1
