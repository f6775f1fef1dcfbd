"""SQL for alerts to the group chat: channels and their routes, the notice outbox, deliveries."""

from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa

from server.records.chat import ChatChannel, ChatDelivery, ChatNotice
from server.store.db import Connection
from server.store.query import PageRequest, fetch_page, insert_new, record, records, values_of
from server.store.schema import gates, zones
from server.store.schema_gates import chat_channels, chat_deliveries, chat_notices, chat_routes

DELIVERY_SORT = {"id": chat_deliveries.c.id, "last_at": chat_deliveries.c.last_at}


async def list_channels(conn: Connection) -> list[ChatChannel]:
    """Every channel, by name."""
    rows = await conn.execute(sa.select(chat_channels).order_by(chat_channels.c.name))
    return records(ChatChannel, rows)


async def get_channel(conn: Connection, channel_id: int) -> ChatChannel | None:
    """One channel."""
    query = sa.select(chat_channels).where(chat_channels.c.id == channel_id)
    return record(ChatChannel, (await conn.execute(query)).first())


async def name_taken(conn: Connection, name: str, *, other_than: int | None) -> bool:
    """Whether another channel has this name."""
    query = sa.select(chat_channels.c.id).where(chat_channels.c.name == name)
    if other_than is not None:
        query = query.where(chat_channels.c.id != other_than)
    return (await conn.execute(query)).first() is not None


async def insert_channel(conn: Connection, channel: ChatChannel) -> ChatChannel:
    """A new channel."""
    return await insert_new(conn, chat_channels, channel)


async def update_channel(conn: Connection, channel: ChatChannel) -> None:
    """Save a channel's fields."""
    values = values_of(channel, chat_channels, without=("id", "created_at"))
    await conn.execute(
        sa.update(chat_channels).where(chat_channels.c.id == channel.id).values(values)
    )


async def delete_channel(conn: Connection, channel_id: int) -> None:
    """Remove a channel, its routes and its unsent messages (sent and failed ones stay)."""
    await conn.execute(sa.delete(chat_routes).where(chat_routes.c.channel_id == channel_id))
    await conn.execute(
        sa.delete(chat_deliveries).where(
            chat_deliveries.c.channel_id == channel_id, chat_deliveries.c.state == "pending"
        )
    )
    await conn.execute(sa.delete(chat_channels).where(chat_channels.c.id == channel_id))


async def routes(conn: Connection) -> dict[int, set[str]]:
    """The alert kinds routed to each channel."""
    out: dict[int, set[str]] = defaultdict(set)
    for channel_id, kind in await conn.execute(sa.select(chat_routes)):
        out[int(channel_id)].add(str(kind))
    return dict(out)


async def set_routes(conn: Connection, channel_id: int, kinds: set[str]) -> None:
    """Route exactly ``kinds`` to the channel."""
    await conn.execute(sa.delete(chat_routes).where(chat_routes.c.channel_id == channel_id))
    if kinds:
        rows = [{"channel_id": channel_id, "kind": k} for k in sorted(kinds)]
        await conn.execute(sa.insert(chat_routes), rows)


async def enqueue(conn: Connection, *, alert_id: int, kind: str, gate: str | None, at: int) -> None:
    """An alert was raised or counted again: one row for the worker (no network here)."""
    await conn.execute(
        sa.insert(chat_notices).values(alert_id=alert_id, kind=kind, gate=gate, at=at)
    )


async def notices(conn: Connection, *, limit: int) -> list[ChatNotice]:
    """The oldest notices not yet folded into deliveries."""
    query = sa.select(chat_notices).order_by(chat_notices.c.id).limit(limit)
    return records(ChatNotice, await conn.execute(query))


async def drop_notices(conn: Connection, *, up_to: int) -> None:
    """Forget the notices folded (ids up to ``up_to``)."""
    await conn.execute(sa.delete(chat_notices).where(chat_notices.c.id <= up_to))


async def gathering(conn: Connection, *, channel_id: int, kind: str) -> ChatDelivery | None:
    """The channel's unsent, never-tried message of this kind, which new occurrences join."""
    query = sa.select(chat_deliveries).where(
        chat_deliveries.c.channel_id == channel_id,
        chat_deliveries.c.kind == kind,
        chat_deliveries.c.state == "pending",
        chat_deliveries.c.attempts == 0,
    )
    return record(ChatDelivery, (await conn.execute(query.limit(1))).first())


async def last_slot(conn: Connection, *, channel_id: int, kind: str) -> int | None:
    """When the channel's latest message of this kind was due (its storm window starts there)."""
    query = sa.select(sa.func.max(chat_deliveries.c.not_before)).where(
        chat_deliveries.c.channel_id == channel_id, chat_deliveries.c.kind == kind
    )
    value = await conn.scalar(query)
    return None if value is None else int(value)


async def insert_delivery(conn: Connection, delivery: ChatDelivery) -> ChatDelivery:
    """A new message to send."""
    return await insert_new(conn, chat_deliveries, delivery)


async def fold(
    conn: Connection, *, delivery_id: int, count: int, alert_id: int, gates: list[str], last_at: int
) -> None:
    """More occurrences join a message not yet sent."""
    await conn.execute(
        sa.update(chat_deliveries)
        .where(chat_deliveries.c.id == delivery_id)
        .values(
            count=chat_deliveries.c.count + count, alert_id=alert_id, gates=gates, last_at=last_at
        )
    )


async def due(conn: Connection, *, now: int, limit: int) -> list[ChatDelivery]:
    """Messages to send now: pending, their window open, their retry time come."""
    query = (
        sa.select(chat_deliveries)
        .where(
            chat_deliveries.c.state == "pending",
            chat_deliveries.c.not_before <= now,
            chat_deliveries.c.next_at <= now,
        )
        .order_by(chat_deliveries.c.next_at, chat_deliveries.c.id)
        .limit(limit)
    )
    return records(ChatDelivery, await conn.execute(query))


async def outcome(
    conn: Connection,
    *,
    delivery_id: int,
    state: str,
    attempts: int,
    next_at: int,
    sent_at: int | None,
    error: str | None,
) -> None:
    """Record what one attempt gave: sent, to be retried at ``next_at``, or failed."""
    await conn.execute(
        sa.update(chat_deliveries)
        .where(chat_deliveries.c.id == delivery_id)
        .values(state=state, attempts=attempts, next_at=next_at, sent_at=sent_at, error=error)
    )


async def prune_sent(conn: Connection, *, before: int) -> int:
    """Forget messages sent before ``before`` (failed ones stay until sent again)."""
    query = sa.delete(chat_deliveries).where(
        chat_deliveries.c.state == "sent", chat_deliveries.c.sent_at < before
    )
    return (await conn.execute(query)).rowcount


async def get_delivery(conn: Connection, delivery_id: int) -> ChatDelivery | None:
    """One delivery."""
    query = sa.select(chat_deliveries).where(chat_deliveries.c.id == delivery_id)
    return record(ChatDelivery, (await conn.execute(query)).first())


async def retry(conn: Connection, *, delivery_id: int, now: int) -> int:
    """Send a failed message again from its first attempt; 0 if it is not failed."""
    query = (
        sa.update(chat_deliveries)
        .where(chat_deliveries.c.id == delivery_id, chat_deliveries.c.state == "failed")
        .values(state="pending", attempts=0, not_before=now, next_at=now)
    )
    return (await conn.execute(query)).rowcount


async def search(
    conn: Connection, *, state: str, page: PageRequest
) -> tuple[list[ChatDelivery], int]:
    """Deliveries in ``state``, one page."""
    query = sa.select(chat_deliveries).where(chat_deliveries.c.state == state)
    return await fetch_page(conn, query, page, DELIVERY_SORT, ChatDelivery)


async def lanes(conn: Connection, gate_ids: list[str]) -> dict[str, tuple[str, str]]:
    """Each lane's name and its zone's name."""
    if not gate_ids:
        return {}
    query = (
        sa.select(gates.c.id, gates.c.name, zones.c.name.label("zone"))
        .join(zones, zones.c.id == gates.c.zone_id)
        .where(gates.c.id.in_(sorted(set(gate_ids))))
    )
    return {str(r.id): (str(r.name), str(r.zone)) for r in await conn.execute(query)}
