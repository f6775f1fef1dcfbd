"""The one crossing from an adapter's threads into the event loop, and a reconnect back-off.

Adapters own threads (a serial reader, gpiozero's callback threads); everything they produce
goes through ``EventBridge.put_threadsafe``, which is nothing but
``loop.call_soon_threadsafe``. After that, everything runs on the loop. The queue is bounded:
when a consumer falls behind, the oldest item is dropped and counted, so a chatty device can
never grow memory without limit.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import Generic, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")


class EventBridge(Generic[T]):
    """A bounded queue fed from foreign threads and read on the event loop."""

    def __init__(self, maxsize: int = 256, on_item: Callable[[T], None] | None = None) -> None:
        self._queue: asyncio.Queue[T] = asyncio.Queue(maxsize)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._on_item = on_item
        self.dropped = 0

    def bind(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Remember the loop (default: the running one) before any thread starts."""
        self._loop = loop or asyncio.get_running_loop()

    def put_threadsafe(self, item: T) -> None:
        """Hand ``item`` to the loop; safe from any thread, never blocks."""
        loop = self._loop
        if loop is None or loop.is_closed():
            logger.debug("event after the loop went away: %s", type(item).__name__)
            return
        try:
            loop.call_soon_threadsafe(self.put_nowait, item)
        except RuntimeError:  # the loop closed between the check and the call
            logger.debug("event after the loop closed: %s", type(item).__name__)

    def put_nowait(self, item: T) -> None:
        """Loop side: run the hook, then enqueue, dropping the oldest item when full."""
        if self._on_item is not None:
            self._on_item(item)
        if self._queue.full():
            self._queue.get_nowait()
            self.dropped += 1
        self._queue.put_nowait(item)

    async def get(self) -> T:
        """The next item, waiting as long as it takes."""
        return await self._queue.get()

    async def get_within(self, within: float | None) -> T | None:
        """The next item, or None after ``within`` seconds."""
        try:
            return await asyncio.wait_for(self._queue.get(), within)
        except TimeoutError:
            return None

    def clear(self) -> None:
        """Drop everything queued (e.g. keys pressed before a new prompt)."""
        while not self._queue.empty():
            self._queue.get_nowait()

    async def stream(self) -> AsyncIterator[T]:
        """Every item, forever."""
        while True:
            yield await self._queue.get()


class Backoff:
    """Capped exponential back-off for reopening a port: 0.2 s, 0.4 s, ... up to ``maximum``."""

    def __init__(self, initial: float = 0.2, maximum: float = 5.0) -> None:
        self._initial = initial
        self._maximum = maximum
        self._next = initial

    def next(self) -> float:
        """The delay to wait now; doubles for the next call."""
        delay = self._next
        self._next = min(self._next * 2, self._maximum)
        return delay

    def reset(self) -> None:
        """Start again from the initial delay (after a session that worked)."""
        self._next = self._initial
