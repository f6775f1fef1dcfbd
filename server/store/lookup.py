"""SQL for the staff UI's finders: one search box for residents (name, unit label or phone
digits), households by label, and the visitors registered since a time.

Text matches literally (LIKE wildcards escaped). Phone digits match the stored E.164 number by
its last digits or by the masked form staff see (``138****8000``: prefix and suffix).
"""

from __future__ import annotations

import sqlalchemy as sa

from server.records import HouseholdMatch, Resident, Visitor
from server.store.db import Connection
from server.store.people import RESIDENT_SORT
from server.store.query import PageRequest, fetch_page, in_scope, like_contains, records
from server.store.schema import households, residents, visitors

_ESCAPE = "\\"


def _literal(text: str) -> str:
    return (
        text.replace(_ESCAPE, _ESCAPE * 2).replace("%", _ESCAPE + "%").replace("_", _ESCAPE + "_")
    )


def phone_like(prefix: str, suffix: str) -> sa.ColumnElement[bool]:
    """Stored phone starts (after +86) with ``prefix`` and ends with ``suffix`` (digits only)."""
    pattern = f"%{_literal(prefix)}%{_literal(suffix)}" if prefix else f"%{_literal(suffix)}"
    return residents.c.phone.like(pattern, escape=_ESCAPE)


async def find_residents(
    conn: Connection,
    *,
    scope: frozenset[int] | None,
    page: PageRequest,
    text: str | None,
    phone: tuple[str, str] | None,
    status: str | None = None,
) -> tuple[list[Resident], int]:
    """Residents whose name or unit label contains ``text``, or whose phone matches."""
    joined = residents.join(households, residents.c.household_id == households.c.id)
    query = (
        sa.select(*residents.c, households.c.zone_id, households.c.label)
        .select_from(joined)
        .where(in_scope(households.c.zone_id, scope))
    )
    matches: list[sa.ColumnElement[bool]] = []
    if text:
        matches += [like_contains(residents.c.name, text), like_contains(households.c.label, text)]
    if phone is not None:
        matches.append(phone_like(*phone))
    if matches:
        query = query.where(sa.or_(*matches))
    if status is not None:
        query = query.where(residents.c.status == status)
    return await fetch_page(conn, query, page, RESIDENT_SORT, Resident)


async def households_by_label(
    conn: Connection, *, scope: frozenset[int] | None, label: str, limit: int = 10
) -> list[HouseholdMatch]:
    """Households whose label equals ``label`` first, then those containing it."""
    exact = (households.c.label == label).label("exact")
    query = (
        sa.select(*households.c, exact)
        .where(in_scope(households.c.zone_id, scope), like_contains(households.c.label, label))
        .order_by(exact.desc(), households.c.label)
        .limit(limit)
    )
    return records(HouseholdMatch, await conn.execute(query))


async def visitors_since(
    conn: Connection, *, scope: frozenset[int] | None, since: int, limit: int = 200
) -> list[Visitor]:
    """Visitors registered at or after ``since`` whose host is in scope, newest first."""
    joined = visitors.join(households, visitors.c.host_household_id == households.c.id)
    query = (
        sa.select(*visitors.c, households.c.label, households.c.zone_id)
        .select_from(joined)
        .where(in_scope(households.c.zone_id, scope), visitors.c.created_at >= since)
        .order_by(visitors.c.created_at.desc(), visitors.c.id.desc())
        .limit(limit)
    )
    return records(Visitor, await conn.execute(query))
