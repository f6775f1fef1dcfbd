"""The live channel's parts: the notifier wakes listeners at once (also from another thread, as
paho's network thread would), the SSE framing, and the console stream's first answer."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest

from server.config import load_settings
from server.services.context import Env
from server.store.db import Database
from server.web.notify import follow_notices, hub_for, notify_change, notify_event
from server.web.routes.live import sse
from tests.server.conftest import FakeClock


def _env(tmp_path: Path) -> Env:
    settings = load_settings(tmp_path, env={})
    return Env(db=Database(settings.db_url), settings=settings, clock=FakeClock())


async def test_notify_wakes_listeners_of_the_topic_only(tmp_path: Path) -> None:
    env = _env(tmp_path)
    hub = hub_for(env)
    with (
        hub.subscribe(frozenset({"events"})) as scans,
        hub.subscribe(frozenset({"alerts"})) as alerts,
    ):
        started = time.monotonic()
        notify_event(env, {"id": 1})
        assert await scans.wait(5)
        assert time.monotonic() - started < 0.5
        assert not await alerts.wait(0.05)
        notify_change(env, "alerts")
        assert await alerts.wait(5)
        assert not await scans.wait(0.05)  # re-armed after the first wake
    assert hub.subscriptions == set()
    assert hub_for(env) is hub
    with pytest.raises(ValueError, match="topic"):
        notify_change(env, "weather")
    await env.db.close()


async def test_notify_from_another_thread(tmp_path: Path) -> None:
    env = _env(tmp_path)
    with hub_for(env).subscribe(frozenset({"events"})) as listener:
        thread = threading.Thread(target=notify_event, args=(env, None))
        thread.start()
        assert await listener.wait(5)
        thread.join()
    await env.db.close()


async def test_one_hub_per_database(tmp_path: Path) -> None:
    first, second = _env(tmp_path / "a"), _env(tmp_path / "b")
    assert hub_for(first) is not hub_for(second)
    with hub_for(second).subscribe(frozenset({"events"})) as listener:
        notify_event(first)
        assert not await asyncio.wait_for(listener.wait(0.05), 1)
    await first.db.close()
    await second.db.close()


def test_sse_framing() -> None:
    assert sse("a\nb", event="scan", event_id=7) == "event: scan\nid: 7\ndata: a\ndata: b\n\n"
    assert sse("") == "data: \n\n"


async def test_follow_notices_relays_a_writers_queue(tmp_path: Path) -> None:
    env = _env(tmp_path)
    queue: asyncio.Queue[dict[str, object]] = asyncio.Queue()
    relay = asyncio.create_task(follow_notices(env, queue))
    with hub_for(env).subscribe(frozenset({"gates"})) as gates:
        queue.put_nowait({"type": "dead_letter"})
        queue.put_nowait({"type": "gate", "gate": "east-in"})
        assert await gates.wait(5)
    relay.cancel()
    with pytest.raises(asyncio.CancelledError):
        await relay
    await env.db.close()
