"""Live notices for the staff UI's live views (SSE): what ingest just committed.

A notice is a small dict with a ``type``: ``event`` (a stored gate event, without
temperatures' detail), ``alert`` (raised or counted again), ``gate`` (a status arrived),
``gap``, ``command`` (a gate answered), ``dead_letter`` and ``link`` (broker link up/down).
Notices are published only after the database commit. A slow subscriber never slows ingest:
its queue is bounded and the oldest notice is dropped (it can re-read the API).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

logger = logging.getLogger(__name__)

QUEUE_SIZE = 1000


class Hub:
    """Fan-out of notices to any number of subscribers on the event loop."""

    def __init__(self) -> None:
        self._queues: set[asyncio.Queue[dict[str, Any]]] = set()
        self.dropped = 0

    def publish(self, notice: dict[str, Any]) -> None:
        """Give ``notice`` to every subscriber; drop a slow one's oldest notice to make room."""
        for queue in self._queues:
            if queue.full():
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
                    self.dropped += 1
            queue.put_nowait(notice)

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
        """A queue of notices from now on, for as long as the ``async with`` lasts."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_SIZE)
        self._queues.add(queue)
        try:
            yield queue
        finally:
            self._queues.discard(queue)

    @property
    def subscribers(self) -> int:
        """How many live views listen now."""
        return len(self._queues)
