"""Finding people and households from the staff UI's search boxes.

One box for residents: text matches names and unit labels; digits match phones. Staff see
phones masked, so they may type what they see (``138****8000``) or the last four digits; a
whole number (what a resident tells the desk) is a reveal: admins only, audited and limited
(server.services.registry.residents.phone_reveal).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from server.records import HouseholdMatch, Resident, Visitor
from server.services.context import Actor, Env
from server.services.errors import Invalid, NotFound
from server.services.paging import Page
from server.services.registry import residents
from server.services.text import TextError, normalise_phone
from server.store import lookup

_MASKED = re.compile(r"^(\d{3})\*+(\d{4})$")
_SEPARATORS = re.compile(r"[\s\-()]")
LAST_DIGITS = 4  # what staff may type: the same four digits the gate's keypad knows
WHOLE_DIGITS = 11  # a Chinese mobile; with a leading + any length is a whole number


@dataclass(frozen=True, slots=True)
class PhoneQuery:
    """How the search box matches a phone: by what staff see (``138****8000``, the last four
    digits), or by a whole number, which is a reveal (``full``)."""

    prefix: str = ""
    suffix: str = ""
    full: str | None = None


def phone_query(text: str) -> PhoneQuery | None:
    """The phone a search box text names, or None when it does not name one.

    Only the masked form, exactly the last four digits or a whole number match a phone; other
    digits (``3-2-201``, ``20101``) are names and unit labels, never a phone suffix, since a
    longer suffix would let staff read a masked number digit by digit."""
    text = unicodedata.normalize("NFKC", text).strip()
    masked = _MASKED.fullmatch(text)
    if masked:
        return PhoneQuery(prefix=masked.group(1), suffix=masked.group(2))
    if text.isascii() and text.isdigit() and len(text) == LAST_DIGITS:
        return PhoneQuery(suffix=text)
    digits = _SEPARATORS.sub("", text)
    whole = digits.startswith("+") or len(digits) >= WHOLE_DIGITS
    if not (digits.isascii() and digits.lstrip("+").isdigit() and whole):
        return None
    try:
        return PhoneQuery(full=normalise_phone(digits))
    except TextError:
        raise Invalid("type the last four digits of the phone, or the whole number") from None


async def find_residents(
    env: Env, actor: Actor, page: Page, text: str, *, status: str | None = None
) -> tuple[list[Resident], int]:
    """Residents in scope matching the search box (a whole number: an audited reveal)."""
    text = unicodedata.normalize("NFC", text).strip()
    phone = phone_query(text) if text else None
    if phone is not None and phone.full is not None:
        return await residents.search(env, actor, page, phone=phone.full, status=status)
    async with env.db.read() as conn:
        return await lookup.find_residents(
            conn,
            scope=actor.scope,
            page=page,
            text=None if phone and phone.prefix else text or None,  # 4 digits: labels too
            phone=None if phone is None else (phone.prefix, phone.suffix),
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
