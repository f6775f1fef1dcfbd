"""The one live hub: what was just committed, for the staff UI's live views and for tests.

A notice is a small dict with a ``type``: ``event`` (a stored gate event), ``alert`` (raised or
counted again), ``gate`` (a status arrived), ``gap``, ``command`` (a gate answered),
``dead_letter`` and ``link`` (broker link up/down). Writers publish notices only after their
commit. Two ways to hear them:

* a *listener* (``listen(topics)``, what the SSE streams use) is woken when a notice of one of
  its topics (``events``, ``gates``, ``alerts``) arrives and then reads the database again: the
  database is the truth, so a coalesced wake-up loses nothing, and the streams also look again
  every few seconds on their own, so writers in another process (a CLI) show up too;
* a *subscriber* (``subscribe()``) gets every notice itself in a bounded queue; a slow one loses
  its oldest notice, never slows the writer.

One hub per process lives on ``Env``; ``publish`` may be called from any thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

logger = logging.getLogger(__name__)

QUEUE_SIZE = 1000
TOPICS = ("events", "gates", "alerts")
TOPIC_OF = {"event": "events", "alert": "alerts", "gate": "gates", "command": "gates"}
Notice = dict[str, Any]


def _call_on(loop: asyncio.AbstractEventLoop, callback: Any, *args: Any) -> None:
    """Run ``callback`` on ``loop``: now if this thread runs it, else through its queue."""
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        callback(*args)
    elif not loop.is_closed():
        loop.call_soon_threadsafe(callback, *args)


class Listener:
    """One live view: an event that is set when any of its topics is notified."""

    def __init__(self, topics: frozenset[str]) -> None:
        self.topics = topics
        self.loop = asyncio.get_running_loop()
        self.woken = asyncio.Event()

    def wake(self) -> None:
        """Set the event on the listener's own loop, from whatever thread is calling."""
        _call_on(self.loop, self.woken.set)

    async def wait(self, seconds: float) -> bool:
        """Wait for a notification (True) or ``seconds`` (False); re-arms itself."""
        try:
            async with asyncio.timeout(seconds):
                await self.woken.wait()
        except TimeoutError:
            return False
        self.woken.clear()
        return True


class _Subscriber:
    """A bounded queue of notices on its own loop; full, it drops its oldest notice."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue[Notice] = asyncio.Queue(QUEUE_SIZE)

    def put(self, notice: Notice) -> None:
        if self.queue.full():
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()
                self.hub.dropped += 1
        self.queue.put_nowait(notice)


class Hub:
    """Fan-out of notices to listeners and subscribers; thread-safe."""

    def __init__(self) -> None:
        self._listeners: set[Listener] = set()
        self._subscribers: set[_Subscriber] = set()
        self._lock = threading.Lock()  # publishers may run in another thread
        self.dropped = 0

    def publish(self, notice: Notice) -> None:
        """Give ``notice`` to every subscriber and wake the listeners of its topic."""
        if not self._subscribers and not self._listeners:
            return  # nobody listens (a burst of ingest with no page open): nothing to do
        with self._lock:
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            _call_on(subscriber.loop, subscriber.put, notice)
        topic = TOPIC_OF.get(str(notice.get("type")))
        if topic is not None:
            self.notify(topic)

    def notify(self, topic: str) -> None:
        """Wake every listener of ``topic`` (``events``, ``gates`` or ``alerts``)."""
        if topic not in TOPICS:
            raise ValueError(f"unknown topic {topic!r}")
        with self._lock:
            listeners = [listener for listener in self._listeners if topic in listener.topics]
        for listener in listeners:
            listener.wake()

    @contextlib.contextmanager
    def listen(self, topics: frozenset[str]) -> Iterator[Listener]:
        """Be woken for ``topics`` while the block runs."""
        listener = Listener(topics)
        with self._lock:
            self._listeners.add(listener)
        try:
            yield listener
        finally:
            with self._lock:
                self._listeners.discard(listener)

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[Notice]]:
        """A queue of notices from now on, for as long as the ``async with`` lasts."""
        subscriber = _Subscriber(self)
        with self._lock:
            self._subscribers.add(subscriber)
        try:
            yield subscriber.queue
        finally:
            with self._lock:
                self._subscribers.discard(subscriber)

    @property
    def subscribers(self) -> int:
        """How many live views and subscribers listen now."""
        with self._lock:
            return len(self._listeners) + len(self._subscribers)
