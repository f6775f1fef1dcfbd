"""The dashboard's figures: people inside per zone, entries per hour, today's temperatures, and
each gate's last contact. Everything is read in the actor's zone scope. Temperatures are health
data: only the counts of a distribution leave this module.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from server.services.context import Actor, Env
from server.store import reports as store

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
TEMP_BINS = (35.0, 39.0, 0.1)  # from, to, width (°C): readings outside fall in the end bins


async def last_contact(env: Env, actor: Actor) -> dict[str, int]:
    """Each visible gate's newest event time in ms."""
    async with env.db.read() as conn:
        return await store.last_contact(conn, scope=actor.scope)


async def inside_by_zone(env: Env, actor: Actor) -> dict[int, int]:
    """People inside per zone, from entry and exit lanes."""
    async with env.db.read() as conn:
        return await store.inside_by_zone(conn, scope=actor.scope)


async def entries_today(
    env: Env, actor: Actor, *, day_start: int, utc_offset_min: int
) -> tuple[list[int], list[int]]:
    """Entries per local hour (24 values) for today and for yesterday."""
    start_ms, offset_ms = day_start * 1000, utc_offset_min * 60_000
    async with env.db.read() as conn:
        today = await store.entries_by_hour(
            conn,
            scope=actor.scope,
            since_ms=start_ms,
            until_ms=start_ms + DAY_MS,
            offset_ms=offset_ms,
        )
        yesterday = await store.entries_by_hour(
            conn,
            scope=actor.scope,
            since_ms=start_ms - DAY_MS,
            until_ms=start_ms,
            offset_ms=offset_ms,
        )
    return [today.get(h, 0) for h in range(24)], [yesterday.get(h, 0) for h in range(24)]


@dataclass(frozen=True, slots=True)
class Histogram:
    """Counts of readings per bin; ``edges[i]`` is the lower edge of bin i."""

    edges: list[float]
    counts: list[int]
    total: int
    fever: int


def histogram(values: list[float], fever_c: float) -> Histogram:
    """Bin readings into TEMP_BINS; below the first and above the last edge go to the ends."""
    low, high, width = TEMP_BINS
    n = round((high - low) / width)
    counts = [0] * n
    for v in values:
        if math.isfinite(v):
            counts[min(n - 1, max(0, math.floor(round((v - low) / width, 6))))] += 1
    edges = [round(low + i * width, 1) for i in range(n)]
    return Histogram(edges, counts, sum(counts), sum(1 for v in values if v >= fever_c))


async def temperatures_today(
    env: Env, actor: Actor, *, day_start: int, fever_c: float
) -> Histogram:
    """The distribution of today's body temperature readings."""
    async with env.db.read() as conn:
        values = await store.temperatures(conn, scope=actor.scope, since_ms=day_start * 1000)
    return histogram(values, fever_c)
