"""The raising path's side of the group chat: one row in the caller's transaction, nothing else.

No network I/O and no routing here (ingest must never wait for a robot): the worker
(server.services.alerts.channels.courier) reads the rows after the commit, routes them to
channels and sends. A kind routed nowhere costs this one insert.
"""

from __future__ import annotations

from server.records import Alert
from server.store import chat as chat_store
from server.store.db import Connection


async def enqueue(conn: Connection, alert: Alert, *, now: int) -> None:
    """``alert`` was raised or counted again: tell the worker (after the caller commits)."""
    await chat_store.enqueue(conn, alert_id=alert.id, kind=alert.kind, gate=alert.gate, at=now)
