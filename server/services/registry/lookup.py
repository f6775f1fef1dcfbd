"""Finding people and households from the staff UI's search boxes.

One box for residents: text matches names and unit labels; digits match phones. Staff see
phones masked, so they may type what they see (``138****8000``), the last four digits, or the
whole number a resident tells them.
"""

from __future__ import annotations

import re
import unicodedata

from server.records import HouseholdMatch, Resident, Visitor
from server.services.context import Actor, Env
from server.services.errors import NotFound
from server.services.paging import Page
from server.store import lookup

_MASKED = re.compile(r"^(\d{3})\*+(\d{4})$")
_DIGITS = re.compile(r"^\+?\d{4,15}$")


def phone_pattern(text: str) -> tuple[str, str] | None:
    """(prefix, suffix) digits to match a phone by, or None when ``text`` is not phone-like."""
    text = re.sub(r"[\s\-]", "", unicodedata.normalize("NFKC", text))
    masked = _MASKED.fullmatch(text)
    if masked:
        return masked.group(1), masked.group(2)
    if _DIGITS.fullmatch(text):
        digits = text.lstrip("+")
        return ("", digits) if len(digits) < 11 else ("", digits[-11:])
    return None


async def find_residents(
    env: Env, actor: Actor, page: Page, text: str, *, status: str | None = None
) -> tuple[list[Resident], int]:
    """Residents in scope matching the search box."""
    text = unicodedata.normalize("NFC", text).strip()
    phone = phone_pattern(text) if text else None
    async with env.db.read() as conn:
        return await lookup.find_residents(
            conn,
            scope=actor.scope,
            page=page,
            text=None if phone else text or None,
            phone=phone,
            status=status,
        )


async def household_by_label(env: Env, actor: Actor, label: str) -> HouseholdMatch:
    """The household whose label is ``label`` (exactly, or the only one containing it)."""
    label = unicodedata.normalize("NFC", label).strip()
    async with env.db.read() as conn:
        rows = (
            await lookup.households_by_label(conn, scope=actor.scope, label=label) if label else []
        )
    exact = [r for r in rows if r.exact]
    if len(exact) == 1 or len(rows) == 1:
        return exact[0] if exact else rows[0]
    raise NotFound(f"no single household labelled {label!r}")


async def visitors_since(env: Env, actor: Actor, since: int) -> list[Visitor]:
    """Visitors registered since ``since`` (today's visitors on the desk)."""
    async with env.db.read() as conn:
        return await lookup.visitors_since(conn, scope=actor.scope, since=since)
