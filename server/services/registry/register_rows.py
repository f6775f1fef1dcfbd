"""One register row as the office wrote it, checked into a ``Person`` or a coded ``RowError``.

The office's words are taken as they come: 是/否, 1/0, Y/N, yes/no, true/false for home
observation; dates as 2026-12-01, 2026/12/1, 2026.12.1, 2026年12月1日 or an Excel date cell;
phone numbers with full-width digits, +86/0086, spaces and dashes. A row error names a column
and a stable reason code (``import.reason.<code>`` in the catalogs), never the cell's value, so
no personal data reaches a log or a report line.

Pure: no I/O, no clock (the caller gives the import day).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from server.services.text import (
    LABEL_TEXT,
    NAME_EDGE,
    NOTE_MAX,
    TextError,
    clean_label,
    clean_name,
    clean_text,
    normalise_phone,
)

ROLE_WORDS = {
    "owner": ("业主", "户主", "产权人", "本人", "owner", "householder", "self"),
    "tenant": ("租户", "租客", "承租人", "tenant", "renter"),
    "family": (
        "家属",
        "家庭成员",
        "成员",
        "亲属",
        "其他",
        "配偶",
        "妻子",
        "丈夫",
        "子女",
        "儿子",
        "女儿",
        "父亲",
        "母亲",
        "父母",
        "孙子",
        "孙女",
        "family",
        "member",
        "relative",
        "spouse",
        "child",
        "parent",
        "",
    ),
}
_ROLES = {word: role for role, words in ROLE_WORDS.items() for word in words}
YES = frozenset({"是", "1", "y", "yes", "true", "t", "√", "✓", "✔"})
NO = frozenset({"否", "0", "n", "no", "false", "f", "", "不是", "无"})
_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T].*)?$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_EXCEL_EPOCH = dt.date(1899, 12, 30)
_EXCEL_SERIAL = re.compile(r"^\d{5}(?:\.0+)?$")  # a date cell saved as its serial number


class Reason:
    """The stable reason codes of a row error (the report's ``reason``)."""

    REQUIRED = "required"
    BAD_TEXT = "bad_text"
    NAME_EDGE = "name_edge"
    LABEL_TEXT = "label_text"
    BAD_PHONE = "bad_phone"
    BAD_ROLE = "bad_role"
    BAD_OBSERVATION = "bad_observation"
    BAD_DATE = "bad_date"
    DUPLICATE = "duplicate"
    UNKNOWN_ZONE = "unknown_zone"
    NO_ZONE = "no_zone"
    ERASED = "erased_person"


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem in one row: the spreadsheet's row number, the column (a field name) and a
    reason code; ``other`` is the earlier row of a duplicate."""

    row: int
    column: str
    reason: str
    other: int | None = None


@dataclass(frozen=True, slots=True)
class Person:
    """A checked row. ``observed`` is None when the file has no observation column; ``start``
    is the explicit observation start the row gives (local date), if any."""

    row: int
    address: tuple[str, str, str]
    zone: str | None
    name: str
    phone: str | None
    role: str
    note: str | None
    observed: bool | None
    start: dt.date | None


def parse_date(text: str) -> dt.date | None:
    """A date as offices write it, None for an empty cell; ValueError if unreadable."""
    text = unicodedata.normalize("NFKC", text).strip()
    if not text:
        return None
    if match := _DATE.match(text) or _COMPACT.match(text):
        year, month, day = (int(g) for g in match.groups())
        return dt.date(year, month, day)
    if _EXCEL_SERIAL.match(text):
        return _EXCEL_EPOCH + dt.timedelta(days=int(float(text)))
    raise ValueError("not a date")


def parse_flag(text: str) -> bool:
    """是/否 and its equivalents; ValueError for anything else (也许)."""
    word = unicodedata.normalize("NFKC", text).strip().casefold()
    if word in YES:
        return True
    if word in NO:
        return False
    raise ValueError("not a yes or no")


def parse_role(text: str) -> str | None:
    """owner, tenant or family from the office's word; None if unknown."""
    return _ROLES.get(unicodedata.normalize("NFKC", text).strip().casefold())


def _text(cells: dict[str, str], name: str) -> str:
    return cells.get(name, "")


def _text_reason(exc: TextError) -> str:
    """The most specific reason a text rule gives: empty, an unprintable edge or label, else
    control characters or length."""
    if "empty" in str(exc):
        return Reason.REQUIRED
    return {NAME_EDGE: Reason.NAME_EDGE, LABEL_TEXT: Reason.LABEL_TEXT}.get(
        exc.code or "", Reason.BAD_TEXT
    )


def _address(cells: dict[str, str]) -> tuple[str, str, str] | RowError:
    column = "building"
    try:
        building = clean_label(_text(cells, "building"), "building")
        column = "unit"
        unit = clean_label(_text(cells, "unit"), "unit", required=False)
        column = "room"
        room = clean_label(_text(cells, "room"), "room")
    except TextError as exc:
        return RowError(0, column, _text_reason(exc))
    return building, unit, room


def _observation(cells: dict[str, str]) -> tuple[bool | None, dt.date | None] | RowError:
    observed = None
    if "observation" in cells:
        try:
            observed = parse_flag(cells["observation"])
        except ValueError:
            return RowError(0, "observation", Reason.BAD_OBSERVATION)
    start = None
    for column in ("observation_start", "returned"):  # the explicit start wins over the return
        try:
            start = start or parse_date(_text(cells, column))
        except ValueError:
            return RowError(0, column, Reason.BAD_DATE)
    return observed, start


def _person(cells: dict[str, str]) -> tuple[str, str | None, str, str | None] | RowError:
    """Name, phone, role and note of a row."""
    try:
        name = clean_name(_text(cells, "name"))
    except TextError as exc:
        return RowError(0, "name", _text_reason(exc))
    phone_text = _text(cells, "phone").strip()
    try:
        phone = normalise_phone(phone_text) if phone_text else None
    except TextError:
        return RowError(0, "phone", Reason.BAD_PHONE)
    role = parse_role(_text(cells, "role"))
    if role is None:
        return RowError(0, "role", Reason.BAD_ROLE)
    try:
        note = clean_text(_text(cells, "note"), field="note", max_length=NOTE_MAX, required=False)
    except TextError:
        return RowError(0, "note", Reason.BAD_TEXT)
    return name, phone, role, note or None


def parse_row(number: int, cells: dict[str, str]) -> Person | RowError:
    """Check one row (cells by field name) into a Person, or its first RowError."""
    address = _address(cells)
    person = _person(cells) if not isinstance(address, RowError) else address
    observation = _observation(cells) if not isinstance(person, RowError) else person
    if isinstance(observation, RowError):
        return RowError(number, observation.column, observation.reason)
    assert not isinstance(address, RowError)
    assert not isinstance(person, RowError)
    zone = unicodedata.normalize("NFKC", _text(cells, "zone")).strip() or None
    return Person(number, address, zone, *person, *observation)


def loose_key(cells: dict[str, str]) -> tuple[str, str, str, str]:
    """The (building, unit, room, name) a row names, however broken the rest of it is: a
    rejected row still protects its person from being taken for gone."""
    return tuple(  # type: ignore[return-value]
        unicodedata.normalize("NFC", _text(cells, f)).strip()
        for f in ("building", "unit", "room", "name")
    )
