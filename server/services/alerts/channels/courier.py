"""The background worker: notices become messages, messages are sent, retried, or failed.

Started and stopped by the app's lifespan (server.app); nothing runs at import. Each round:

1. *fold*: the notices the raising path left (server.services.alerts.channels.outbox) are routed
   to the channels their kind goes to. Per channel and kind at most one message a window
   (``chat_window_s``, a minute): a notice joins that channel's message of its kind not yet
   tried, or starts one due a window after the previous one (now, after a quiet window). A
   hundred fevers in a minute are one message that says 100.
2. *deliver*: the messages due are posted, concurrently, each in a worker thread with the
   post's timeout; a refusal (non-2xx, or a 200 whose errcode/code is not 0) is retried after
   ``chat_retry_s`` doubling each time, and after ``chat_attempts`` the message is ``failed``:
   listed on the failed-deliveries page, where an admin can send it again.

The worker wakes when an alert is committed (the live hub's ``alerts`` topic) and looks again
every ``POLL_S`` on its own, so alerts committed by another process are sent too. Sent
messages are kept as long as gate events (``retention_event_days``), then forgotten.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass

from server.records.chat import ChatChannel, ChatDelivery, ChatNotice
from server.services.alerts.channels import sending
from server.services.alerts.channels.vendors import request_for
from server.services.alerts.channels.wording import Facts, Words, compose, link_of
from server.services.context import Env
from server.store import chat as chat_store
from server.store.db import Connection

logger = logging.getLogger(__name__)

POLL_S = 1.0
PRUNE_EVERY_S = 3600  # sent messages older than the event retention are forgotten hourly
DAY = 86400
NOTICES_PER_ROUND = 1000
SENDS_PER_ROUND = 20


@dataclass(frozen=True, slots=True)
class Courier:
    """Sends the alerts routed to group-chat channels, for one process's ``env``."""

    env: Env
    words: Words

    async def run(self) -> None:
        """Fold and deliver until cancelled (the lifespan cancels it at shutdown)."""
        pruned_at = 0
        with self.env.hub.listen(frozenset({"alerts"})) as listener:
            while True:
                try:
                    if self.env.clock.now() - pruned_at >= PRUNE_EVERY_S:
                        pruned_at = self.env.clock.now()
                        await self.prune()
                    await self.round()
                except Exception:  # a failed round is logged; the next one tries again
                    logger.exception("group-chat round failed; trying again")
                await listener.wait(POLL_S)

    async def round(self) -> int:
        """One fold and one delivery pass; how many messages were posted."""
        await fold(self.env)
        return await self.deliver()

    async def prune(self) -> int:
        """Forget sent messages older than ``retention_event_days``; how many."""
        before = self.env.clock.now() - self.env.settings.retention_event_days * DAY
        async with self.env.db.write() as conn:
            return await chat_store.prune_sent(conn, before=before)

    async def deliver(self) -> int:
        """Post the messages due now."""
        now = self.env.clock.now()
        async with self.env.db.read() as conn:
            rows = await chat_store.due(conn, now=now, limit=SENDS_PER_ROUND)
            channels = {c.id: c for c in await chat_store.list_channels(conn)}
            lanes = await chat_store.lanes(conn, [g for r in rows for g in r.gates])
        await asyncio.gather(*(self._send(r, channels.get(r.channel_id), lanes) for r in rows))
        return len(rows)

    async def _send(
        self,
        row: ChatDelivery,
        channel: ChatChannel | None,
        lanes: dict[str, tuple[str, str]],
    ) -> None:
        if channel is None or not channel.enabled:
            await self._outcome(row, "disabled", final=True)
            return
        settings = self.env.settings
        facts = Facts(
            kind=row.kind,
            count=row.count,
            lanes=[lanes.get(g, (g, "")) for g in row.gates],
            first_at=row.first_at,
            last_at=row.last_at,
            alert_id=row.alert_id,
        )
        link = link_of(settings.public_url, row.alert_id)
        text = compose(
            self.words, channel.language, facts, link=link, offset_min=settings.card_utc_offset_min
        )
        now_ms = self.env.clock.now() * 1000
        body = facts.as_json(link)
        secret = channel.secret
        request = request_for(channel.vendor, channel.url, secret, text, facts=body, now_ms=now_ms)
        error = await sending.post(channel.vendor, request, timeout_s=settings.chat_timeout_s)
        await self._outcome(row, error, final=False)

    async def _outcome(self, row: ChatDelivery, error: str | None, *, final: bool) -> None:
        settings = self.env.settings
        now = self.env.clock.now()
        attempts = row.attempts + 1
        if error is None:
            state, next_at, sent_at = "sent", now, now
        elif final or attempts >= settings.chat_attempts:
            state, next_at, sent_at = "failed", now, None
            logger.warning("group-chat message %d failed: %s", row.id, error)
        else:
            delay = settings.chat_retry_s * 2 ** (attempts - 1)
            state, next_at, sent_at = "pending", now + delay, None
            logger.info("group-chat message %d refused (%s); retry at %d", row.id, error, next_at)
        async with self.env.db.write() as conn:
            await chat_store.outcome(
                conn,
                delivery_id=row.id,
                state=state,
                attempts=attempts,
                next_at=next_at,
                sent_at=sent_at,
                error=None if error is None else error[:200],
            )


async def fold(env: Env) -> int:
    """Route the waiting notices into messages (one write transaction); how many were read."""
    async with env.db.read() as conn:
        if not await chat_store.notices(conn, limit=1):
            return 0  # the usual case: no write transaction a second on an idle server
    now = env.clock.now()
    async with env.db.write() as conn:
        waiting = await chat_store.notices(conn, limit=NOTICES_PER_ROUND)
        if not waiting:
            return 0
        enabled = {c.id for c in await chat_store.list_channels(conn) if c.enabled}
        groups: dict[tuple[int, str], list[ChatNotice]] = defaultdict(list)
        for channel_id, kinds in (await chat_store.routes(conn)).items():
            if channel_id not in enabled:
                continue
            for notice in waiting:
                if notice.kind in kinds:
                    groups[(channel_id, notice.kind)].append(notice)
        for key, notices in groups.items():
            await _gather(conn, env, key, notices, now=now)
        await chat_store.drop_notices(conn, up_to=waiting[-1].id)
    return len(waiting)


async def _gather(
    conn: Connection, env: Env, key: tuple[int, str], notices: list[ChatNotice], *, now: int
) -> None:
    """Join the channel's message of this kind not yet tried, or start the next one."""
    channel_id, kind = key
    latest = notices[-1]
    open_one = await chat_store.gathering(conn, channel_id=channel_id, kind=kind)
    if open_one is not None:
        gates = sorted(set(open_one.gates) | {n.gate for n in notices if n.gate})
        await chat_store.fold(
            conn,
            delivery_id=open_one.id,
            count=len(notices),
            alert_id=latest.alert_id,
            gates=gates,
            last_at=max(latest.at, open_one.last_at),
        )
        return
    slot = await chat_store.last_slot(conn, channel_id=channel_id, kind=kind)
    due = now if slot is None else max(now, slot + env.settings.chat_window_s)
    await chat_store.insert_delivery(
        conn,
        ChatDelivery(
            id=0,
            channel_id=channel_id,
            kind=kind,
            state="pending",
            count=len(notices),
            alert_id=latest.alert_id,
            gates=sorted({n.gate for n in notices if n.gate}),
            first_at=min(n.at for n in notices),
            last_at=latest.at,
            not_before=due,
            attempts=0,
            next_at=due,
            sent_at=None,
            error=None,
        ),
    )
