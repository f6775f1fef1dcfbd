"""Shared query pieces: pages, allow-listed sorting, escaped LIKE and zone scoping.

A page request is anything shaped like ``PageRequest`` (server.services.paging.Page is).

Sort keys come from a per-listing allow-list, never from the request text itself, and LIKE
patterns escape ``%`` and ``_`` so a search for ``50%`` finds exactly that (9.2 items 5, 14).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import sqlalchemy as sa

from server.store.db import Connection

_ESCAPE = "\\"


class PageRequest(Protocol):
    """What a listing needs to know to serve one page."""

    @property
    def size(self) -> int:
        """Rows per page."""

    @property
    def sort(self) -> str:
        """A key of the listing's allow-list."""

    @property
    def descending(self) -> bool:
        """Newest or largest first."""

    @property
    def offset(self) -> int:
        """Rows to skip."""


def like_contains(column: sa.ColumnElement[Any], text: str) -> sa.ColumnElement[bool]:
    """``column`` contains ``text`` literally (wildcards and the escape character escaped)."""
    escaped = text.replace(_ESCAPE, _ESCAPE * 2).replace("%", _ESCAPE + "%")
    escaped = escaped.replace("_", _ESCAPE + "_")
    return column.like(f"%{escaped}%", escape=_ESCAPE)


def in_scope(column: sa.ColumnElement[Any], zones: frozenset[int] | None) -> sa.ColumnElement[bool]:
    """Zone scoping: every zone when ``zones`` is None, else only those listed."""
    return sa.true() if zones is None else column.in_(sorted(zones))


async def fetch_page(
    conn: Connection,
    query: sa.Select[Any],
    page: PageRequest,
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
