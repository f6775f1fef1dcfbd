"""The live channel's parts: the one hub wakes listeners at once (also from another thread, as
paho's network thread would) and feeds subscribers every notice, and the SSE framing."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest

from server.config import load_settings
from server.services.context import Env
from server.store.db import Database
from server.web.routes.live import sse
from tests.server.conftest import FakeClock


def _env(tmp_path: Path) -> Env:
    settings = load_settings(tmp_path, env={})
    return Env(db=Database(settings.db_url), settings=settings, clock=FakeClock())


async def test_notices_wake_listeners_of_their_topic_only(tmp_path: Path) -> None:
    env = _env(tmp_path)
    hub = env.hub
    with (
        hub.listen(frozenset({"events"})) as scans,
        hub.listen(frozenset({"alerts"})) as alerts,
    ):
        started = time.monotonic()
        hub.publish({"type": "event", "event": {"id": 1}})
        assert await scans.wait(5)
        assert time.monotonic() - started < 0.5
        assert not await alerts.wait(0.05)
        hub.notify("alerts")
        assert await alerts.wait(5)
        assert not await scans.wait(0.05)  # re-armed after the first wake
        assert hub.subscribers == 2
    assert hub.subscribers == 0
    with pytest.raises(ValueError, match="topic"):
        hub.notify("weather")
    await env.db.close()


async def test_publish_from_another_thread(tmp_path: Path) -> None:
    env = _env(tmp_path)
    async with env.hub.subscribe() as inbox:
        with env.hub.listen(frozenset({"events"})) as listener:
            notice = {"type": "event", "event": {"id": 2}}
            thread = threading.Thread(target=env.hub.publish, args=(notice,))
            thread.start()
            assert await listener.wait(5)
            thread.join()
        assert await asyncio.wait_for(inbox.get(), 5) == notice
    await env.db.close()


async def test_one_hub_per_env(tmp_path: Path) -> None:
    first, second = _env(tmp_path / "a"), _env(tmp_path / "b")
    assert first.hub is not second.hub
    with second.hub.listen(frozenset({"events"})) as listener:
        first.hub.publish({"type": "event"})
        assert not await asyncio.wait_for(listener.wait(0.05), 1)
    await first.db.close()
    await second.db.close()


def test_sse_framing() -> None:
    assert sse("a\nb", event="scan", event_id=7) == "event: scan\nid: 7\ndata: a\ndata: b\n\n"
    assert sse("") == "data: \n\n"


async def test_subscribers_get_every_notice_and_listeners_their_topics(tmp_path: Path) -> None:
    env = _env(tmp_path)
    async with env.hub.subscribe() as inbox:
        with env.hub.listen(frozenset({"gates"})) as gates:
            env.hub.publish({"type": "dead_letter"})
            assert not await gates.wait(0.05)  # a dead letter wakes no page
            env.hub.publish({"type": "command", "gate": "east-in"})
            assert await gates.wait(5)  # a gate's answer refreshes its console's panels
    assert [inbox.get_nowait()["type"] for _ in range(2)] == ["dead_letter", "command"]
    await env.db.close()


async def test_a_slow_subscriber_loses_its_oldest_notice(tmp_path: Path) -> None:
    from server.services.live import QUEUE_SIZE

    env = _env(tmp_path)
    async with env.hub.subscribe() as inbox:
        for n in range(QUEUE_SIZE + 1):
            env.hub.publish({"type": "event", "n": n})
        assert inbox.qsize() == QUEUE_SIZE
        assert inbox.get_nowait()["n"] == 1
    assert env.hub.dropped == 1
    await env.db.close()
