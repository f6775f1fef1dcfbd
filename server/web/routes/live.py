"""Server-sent event streams for the live pages.

The console stream sends each new event of its lane as a rendered card (``event: scan``, with
the event's row id as the SSE id, so a reconnecting browser resumes from Last-Event-ID) and the
lane's health panel when gate statuses change. The dashboard stream sends its panels again
after changes, at most once every DASHBOARD_MIN_S. Streams wake on the in-process notifier
(server.services.live) and also look again every POLL_S on their own (one indexed query), so
events written by another process (a second server, a CLI) still appear within about a
second. A comment line every KEEPALIVE_S keeps proxies from closing an idle stream. Streams end
after STREAM_S so that sessions are re-checked and the server can stop; EventSource reconnects
by itself.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse

from server.http.deps import EnvDep
from server.services.context import Actor, Env
from server.services.gates import commands, health
from server.services.incidents import overrides
from server.services.reports import log as reports
from server.web.guard import PageRoute, StaffPage
from server.web.render import render
from server.web.routes.dashboard import dashboard_context

router = APIRouter(route_class=PageRoute, include_in_schema=False)
POLL_S = 1.0
KEEPALIVE_S = 15.0
STREAM_S = 300.0
DASHBOARD_MIN_S = 2.0
DASHBOARD_POLL_S = 3.0
RETRY_MS = 1000
HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}


def sse(data: str, *, event: str | None = None, event_id: int | None = None) -> str:
    """One server-sent event; multi-line data becomes several data lines."""
    lines = [f"event: {event}"] if event else []
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines += [f"data: {line}" for line in data.splitlines() or [""]]
    return "\n".join(lines) + "\n\n"


def _after(request: Request, default: int) -> int:
    raw = request.headers.get("last-event-id") or request.query_params.get("after") or ""
    return int(raw) if raw.isdigit() and len(raw) < 16 else default


async def _console_stream(
    request: Request, env: Env, actor: Actor, gate_id: str, after: int
) -> AsyncIterator[str]:
    deadline = time.monotonic() + STREAM_S
    quiet_since = time.monotonic()
    yield f"retry: {RETRY_MS}\n\n"
    with env.hub.listen(frozenset({"events", "gates"})) as subscription:
        woken = True
        while time.monotonic() < deadline and not await request.is_disconnected():
            for row in await reports.new_events(env, actor, after_id=after, gate=gate_id):
                after, quiet_since = row.id, time.monotonic()
                linked = await overrides.linked_scans(env, actor, [row])
                card = render(request, "_scan_one.html", e=row, after=linked.get(row.event_id))
                yield sse(card, event="scan", event_id=after)
            if woken:  # a gate status or a command's answer (server.services.live)
                lane = await health.lane(env, actor, gate_id)
                sent = await commands.recent(env, actor, gate_id)
                panels = render(request, "_console_panels.html", h=lane, recent_commands=sent)
                yield sse(panels, event="panels")
            woken = await subscription.wait(POLL_S)
            if time.monotonic() - quiet_since > KEEPALIVE_S:
                quiet_since = time.monotonic()
                yield ": still here\n\n"


@router.get("/ui/live/console/{gate_id}")
async def console_stream(
    *, request: Request, env: EnvDep, actor: StaffPage, gate_id: str
) -> Response:
    """The live feed of one lane (403/404 before the stream starts if not allowed)."""
    await health.lane(env, actor, gate_id)
    after = _after(request, await reports.latest_event_id(env))
    return StreamingResponse(
        _console_stream(request, env, actor, gate_id, after),
        media_type="text/event-stream",
        headers=HEADERS,
    )


async def _dashboard_stream(request: Request, env: Env, actor: Actor) -> AsyncIterator[str]:
    deadline = time.monotonic() + STREAM_S
    quiet_since = time.monotonic()
    last = await reports.latest_event_id(env)
    yield f"retry: {RETRY_MS}\n\n"
    with env.hub.listen(frozenset({"events", "gates", "alerts"})) as subscription:
        while time.monotonic() < deadline and not await request.is_disconnected():
            woken = await subscription.wait(DASHBOARD_POLL_S)
            newest = await reports.latest_event_id(env)
            if woken or newest != last:
                last, quiet_since = newest, time.monotonic()
                context = await dashboard_context(env, actor)
                yield sse(render(request, "_dashboard_panels.html", **context), event="panels")
                await asyncio.sleep(DASHBOARD_MIN_S)  # coalesce bursts of events
            elif time.monotonic() - quiet_since > KEEPALIVE_S:
                quiet_since = time.monotonic()
                yield ": still here\n\n"


@router.get("/ui/live/dashboard")
async def dashboard_stream(*, request: Request, env: EnvDep, actor: StaffPage) -> Response:
    """The dashboard's panels, again after each change."""
    return StreamingResponse(
        _dashboard_stream(request, env, actor), media_type="text/event-stream", headers=HEADERS
    )
