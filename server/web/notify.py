"""A small in-process publish/subscribe notifier that wakes the live pages.

The database is the truth: a notification only says "look again", and the live streams read
what is new from the database (by row id), so a missed or coalesced notification loses
nothing, and a reconnecting browser catches up from its Last-Event-ID. The streams also look
again every few seconds on their own, so writers in another process (a CLI) show up too.

The hooks for writers (thread-safe: paho's network thread may call them):

* ``notify_event(env, event_row)`` after an ingested gate event is committed;
* ``notify_change(env, topic)`` after a gate status (``"gates"``) or an alert (``"alerts"``)
  changed;
* or ``follow_notices(env, queue)``, a task that turns a queue of notice dicts with a ``type``
  (``event``, ``alert``, ``gate``, ``command``; others are ignored) into those calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import weakref
from collections.abc import Iterator, Mapping
from typing import Any

from server.services.context import Env
from server.store.db import Database

TOPICS = ("events", "gates", "alerts")


class Subscription:
    """One listener: an event that is set when any of its topics is notified."""

    def __init__(self, topics: frozenset[str]) -> None:
        self.topics = topics
        self.loop = asyncio.get_running_loop()
        self.woken = asyncio.Event()

    def wake(self) -> None:
        """Set the event on the listener's own loop, from whatever thread is calling."""
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            self.woken.set()
        elif not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.woken.set)

    async def wait(self, seconds: float) -> bool:
        """Wait for a notification (True) or ``seconds`` (False); re-arms itself."""
        try:
            await asyncio.wait_for(self.woken.wait(), seconds)
        except TimeoutError:
            return False
        self.woken.clear()
        return True


class Hub:
    """The listeners of one database."""

    def __init__(self) -> None:
        self.subscriptions: set[Subscription] = set()
        self.lock = threading.Lock()  # publishers may run in another thread

    @contextlib.contextmanager
    def subscribe(self, topics: frozenset[str]) -> Iterator[Subscription]:
        """Listen for ``topics`` while the block runs."""
        subscription = Subscription(topics)
        with self.lock:
            self.subscriptions.add(subscription)
        try:
            yield subscription
        finally:
            with self.lock:
                self.subscriptions.discard(subscription)

    def publish(self, topic: str) -> None:
        """Wake every listener of ``topic``."""
        with self.lock:
            listeners = list(self.subscriptions)
        for subscription in listeners:
            if topic in subscription.topics:
                subscription.wake()


_HUBS: weakref.WeakKeyDictionary[Database, Hub] = weakref.WeakKeyDictionary()


def hub_for(env: Env) -> Hub:
    """The hub of ``env``'s database (one per process and database)."""
    hub = _HUBS.get(env.db)
    if hub is None:
        hub = _HUBS[env.db] = Hub()
    return hub


def notify_event(env: Env, event_row: Mapping[str, Any] | None = None) -> None:
    """Tell the live pages that a gate event was committed (call after the commit)."""
    del event_row  # the streams read the event from the database; the row is not needed
    hub_for(env).publish("events")


NOTICE_TOPICS = {"event": "events", "alert": "alerts", "gate": "gates", "command": "gates"}


async def follow_notices(env: Env, queue: asyncio.Queue[dict[str, Any]]) -> None:
    """Relay a writer's notices (``{"type": "event", ...}``) to the live pages until cancelled."""
    while True:
        notice = await queue.get()
        topic = NOTICE_TOPICS.get(str(notice.get("type")))
        if topic is not None:
            hub_for(env).publish(topic)


def notify_change(env: Env, topic: str) -> None:
    """Tell the live pages that gate statuses (``"gates"``) or alerts (``"alerts"``) changed."""
    if topic not in TOPICS:
        raise ValueError(f"unknown topic {topic!r}")
    hub_for(env).publish(topic)
