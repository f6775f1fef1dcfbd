"""Text rules for everything people type: names, notes, labels and phone numbers.

Names and notes are stored verbatim after NFC normalisation and trimming of outer whitespace:
SQL metacharacters, HTML, emoji and bidirectional marks round-trip unchanged (output escaping is
the renderer's job), while control characters (NUL, CR, LF, ESC: log injection) are refused and
length is capped (9.2 item 8). What a pass prints obeys the claims' text rule
(``protocol.claims.printable``) at the edge, so nothing accepted here fails at issue time: a
name's first and last characters (its masked display form) and every character of a building,
unit or room label. Phone numbers are normalised to E.164 and shown masked everywhere
except an audited reveal (D-03).
"""

from __future__ import annotations

import re
import unicodedata

from protocol.claims import printable

NAME_MAX = 64
NOTE_MAX = 500
LABEL_MAX = 32
_CN_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_E164 = re.compile(r"^\+[1-9]\d{7,14}$")
_SEPARATORS = re.compile(r"[\s\-().]")


NAME_EDGE = "name_edge_text"  # codes of refusals by the claims' text rule
LABEL_TEXT = "label_text"


class TextError(ValueError):
    """A typed value breaks a text rule; the message says which, without echoing the value;
    ``code`` names the rule for the edges (see server.services.errors)."""

    def __init__(self, message: str, *, code: str | None = None, **values: int | str) -> None:
        super().__init__(message)
        self.code = code
        self.values = values


def clean_text(value: str, *, field: str, max_length: int, required: bool = True) -> str:
    """NFC-normalise and trim ``value``; refuse control characters and over-long text."""
    text = unicodedata.normalize("NFC", value).strip()
    if required and not text:
        raise TextError(f"{field} is empty")
    if len(text) > max_length:
        raise TextError(f"{field} is longer than {max_length} characters")
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        raise TextError(f"{field} contains control characters")
    return text


def clean_name(value: str, field: str = "name") -> str:
    """A person's name: verbatim apart from NFC and outer whitespace, at most NAME_MAX long, and
    printable on a pass (its first and last characters, the ones the masked form keeps)."""
    text = clean_text(value, field=field, max_length=NAME_MAX)
    if not printable(display_name(text)):
        raise TextError(
            f"{field} begins or ends with a character a pass cannot print "
            "(a bidi control or a line separator)",
            code=NAME_EDGE,
        )
    return text


def clean_label(value: str, field: str, *, required: bool = True) -> str:
    """A building, unit or room label: printed on the pass whole, so printable throughout."""
    text = clean_text(value, field=field, max_length=LABEL_MAX, required=required)
    if not printable(text):
        raise TextError(
            f"{field} contains a character a pass cannot print "
            "(a bidi control or a line separator)",
            code=LABEL_TEXT,
        )
    return text


def normalise_phone(value: str) -> str:
    """E.164 form of a phone number: Chinese mobiles with or without +86/0086, or +E.164."""
    text = unicodedata.normalize("NFKC", value)  # full-width digits and plus become ASCII
    text = _SEPARATORS.sub("", text)
    if text.startswith("00"):
        text = "+" + text[2:]
    if _CN_MOBILE.fullmatch(text):
        return "+86" + text
    if text.startswith("86") and _CN_MOBILE.fullmatch(text[2:]):
        return "+" + text
    if _E164.fullmatch(text) and (not text.startswith("+86") or _CN_MOBILE.fullmatch(text[3:])):
        return text
    raise TextError("phone is not a valid mobile number (11 digits, or + and country code)")


def last4(phone: str) -> str:
    """The last four digits, as typed on a gate's keypad."""
    return phone[-4:]


def mask_phone(phone: str | None) -> str | None:
    """``138****8000`` for a Chinese mobile, ``+44****1234`` otherwise; None stays None."""
    if phone is None:
        return None
    if phone.startswith("+86") and len(phone) == 14:
        return phone[3:6] + "****" + phone[-4:]
    return phone[:3] + "****" + phone[-4:]


def mask_name(name: str | None) -> str:
    """A name for screens that only need to recognise a person, not to read their name: a
    two-character name keeps its first character (张*), longer ones the first and last (张*明)."""
    if not name:
        return ""
    if len(name) <= 2:
        return name[0] + "*" * (len(name) - 1)
    return name[0] + "*" * min(len(name) - 2, 4) + name[-1]


def display_name(name: str, limit: int = 16) -> str:
    """The name printed into a pass claim, masked as the staff screens show it: anyone can read
    a QR code with a phone, so a lost card gives no full name away (and the QR stays a size
    smaller). Nothing on the gate needs more; the protocol allows 16 characters."""
    return mask_name(name)[:limit]
