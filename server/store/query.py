"""Shared query pieces: pages, allow-listed sorting, escaped LIKE and zone scoping.

A page request is anything shaped like ``PageRequest`` (server.services.paging.Page is).

Sort keys come from a per-listing allow-list, never from the request text itself, and LIKE
patterns escape ``%`` and ``_`` so a search for ``50%`` finds exactly that (9.2 items 5, 14).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol, TypeVar

import msgspec
import sqlalchemy as sa

from server.records import Record
from server.store.db import Connection

R = TypeVar("R", bound=Record)

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


def values_of(record: Record, table: sa.Table, *, without: tuple[str, ...] = ()) -> dict[str, Any]:
    """A record's fields as the values of an INSERT or UPDATE of ``table`` (its columns only,
    ``without`` the ones named, such as an id the database assigns)."""
    return {c.name: getattr(record, c.name) for c in table.c if c.name not in without}


async def insert_new(conn: Connection, table: sa.Table, fields: R) -> R:
    """Insert a record whose ``id`` the database assigns; the record with that id."""
    result = await conn.execute(sa.insert(table).values(values_of(fields, table, without=("id",))))
    new_id = int(result.inserted_primary_key[0])  # type: ignore[index]
    return msgspec.structs.replace(fields, id=new_id)


def record(cls: type[R], row: Any) -> R | None:
    """The record of one result row (None for no row); the row's columns are its fields."""
    return None if row is None else cls(**row._mapping)


def records(cls: type[R], rows: Iterable[Any]) -> list[R]:
    """The records of result rows."""
    return [cls(**row._mapping) for row in rows]


async def fetch_page(
    conn: Connection,
    query: sa.Select[Any],
    page: PageRequest,
    sortable: Mapping[str, sa.ColumnElement[Any]],
    cls: type[R],
) -> tuple[list[R], int]:
    """Run ``query`` for one page and count all matches; sort keys come from ``sortable``."""
    column = sortable[page.sort]  # KeyError is a programming error: the API validated the key
    order = column.desc() if page.descending else column.asc()
    tie = sortable["id"].desc() if page.descending else sortable["id"].asc()  # ties keep the order
    total = await conn.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    rows = await conn.execute(query.order_by(order, tie).limit(page.size).offset(page.offset))
    return records(cls, rows), int(total or 0)
