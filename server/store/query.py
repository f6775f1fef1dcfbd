"""Shared query pieces: pages, allow-listed sorting, escaped LIKE and zone scoping.

Sort keys come from a per-listing allow-list, never from the request text itself, and LIKE
patterns escape ``%`` and ``_`` so a search for ``50%`` finds exactly that (9.2 items 5, 14).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

MAX_PAGE_SIZE = 100
_ESCAPE = "\\"


@dataclass(frozen=True, slots=True)
class Page:
    """A validated page request: 1-based page, clamped size, and an allow-listed sort key."""

    page: int = 1
    size: int = 50
    sort: str = "id"
    descending: bool = False

    @property
    def offset(self) -> int:
        """Rows to skip."""
        return (self.page - 1) * self.size


def clamp_size(size: int) -> int:
    """Page sizes outside 1..MAX_PAGE_SIZE are clamped, not refused."""
    return max(1, min(size, MAX_PAGE_SIZE))


def like_contains(column: sa.ColumnElement[Any], text: str) -> sa.ColumnElement[bool]:
    """``column`` contains ``text`` literally (wildcards and the escape character escaped)."""
    escaped = text.replace(_ESCAPE, _ESCAPE * 2).replace("%", _ESCAPE + "%")
    escaped = escaped.replace("_", _ESCAPE + "_")
    return column.like(f"%{escaped}%", escape=_ESCAPE)


def in_scope(column: sa.ColumnElement[Any], zones: frozenset[int] | None) -> sa.ColumnElement[bool]:
    """Zone scoping: every zone when ``zones`` is None, else only those listed."""
    return sa.true() if zones is None else column.in_(sorted(zones))


async def fetch_page(
    conn: AsyncConnection,
    query: sa.Select[Any],
    page: Page,
    sortable: Mapping[str, sa.ColumnElement[Any]],
) -> tuple[list[dict[str, Any]], int]:
    """Run ``query`` for one page and count all matches; sort keys come from ``sortable``."""
    column = sortable[page.sort]  # KeyError is a programming error: the API validated the key
    order = column.desc() if page.descending else column.asc()
    tie = sortable["id"].desc() if page.descending else sortable["id"].asc()  # ties keep the order
    total = await conn.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    rows = await conn.execute(query.order_by(order, tie).limit(page.size).offset(page.offset))
    return [dict(r._mapping) for r in rows], int(total or 0)


def as_dicts(rows: Sequence[Any]) -> list[dict[str, Any]]:
    """Plain dicts of result rows."""
    return [dict(r._mapping) for r in rows]
