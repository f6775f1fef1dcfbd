"""The rule a new staff password must meet, explainable in one sentence to a volunteer.

ASVS 6.2: 10 to 128 characters, any characters, no composition rules, no rotation; refused when
it contains the account's user name or display name, or when zxcvbn (the Python port of
Dropbox's estimator: a 30,000-entry common-password list plus English words, names, dates,
repeat, sequence and keyboard matchers, MIT) estimates fewer than 10^8 guesses. A refusal
names the one rule a person can act on (``Reason``): too short, too long, contains your name,
repeated characters, a sequence, a common password; ``guessable`` is the rare rest. The API
returns it as the error's code, the pages and the CLI say it from the catalogs.

zxcvbn reads at most 72 characters (its cost grows quickly with length), so only the first 72
of a longer password are estimated. It keeps the user inputs in a module global, hence the lock.
"""

from __future__ import annotations

import threading
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum
from typing import Any

from zxcvbn import matching, zxcvbn

from server.services.errors import Invalid

MIN_LENGTH = 10
MAX_LENGTH = 128
CHECKED_LENGTH = 72
MIN_SCORE = 3  # zxcvbn's scale: 3 is "safely unguessable", about 10^8 guesses and more
MIN_NAME = 3  # shorter names (two letters, a two-character Chinese name) are too common to refuse
# Common in Chinese password leaks or particular to this software, and missing from zxcvbn's
# (largely Western) list: the previous deny list, kept as a dictionary of its own.
LOCAL_COMMON = (
    "woaini",
    "5201314",
    "1314520",
    "woaini1314",
    "woaini5201314",
    "5201314520",
    "iloveyou12",
    "1q2w3e4r5t",
    "1234qwer1234",
    "a123456789",
    "gatepass",
    "gatepass123",
    "changeme123",
    "administrator",
    "admin12345",
    "password12",
)
_LOCK = threading.Lock()
matching.add_frequency_lists({"gatepass_common": list(LOCAL_COMMON)})


class Reason(StrEnum):
    """Which rule a password broke; ``password.reason.<value>`` in the catalogs."""

    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    USER_NAME = "user_name"
    REPEATED = "repeated"
    SEQUENCE = "sequence"
    COMMON = "common"
    GUESSABLE = "guessable"


_MESSAGES = {
    Reason.TOO_SHORT: f"a password has at least {MIN_LENGTH} characters",
    Reason.TOO_LONG: f"a password has at most {MAX_LENGTH} characters",
    Reason.USER_NAME: "a password must not contain the user name or the display name",
    Reason.REPEATED: "a password must not be made of repeated characters (aaaa, abcabc)",
    Reason.SEQUENCE: "a password must not be made of sequences (1234, abcd, qwer)",
    Reason.COMMON: "this password, or most of it, is a common password, word, name or date",
    Reason.GUESSABLE: "this password is too easy to guess: make it longer",
}
# When two parts of a password are equally long, the one named first explains the refusal.
_ORDER = (Reason.USER_NAME, Reason.REPEATED, Reason.SEQUENCE, Reason.COMMON, Reason.GUESSABLE)


class PasswordRejected(Invalid):
    """A new password breaks one rule; ``reason`` says which (the error's code for the API)."""

    def __init__(self, reason: Reason) -> None:
        super().__init__(_MESSAGES[reason], code=f"password.{reason.value}")
        self.reason = reason


def _folded(text: str) -> str:
    """Lower case letters and digits only: ``East-Desk`` and ``eastdesk`` are one name."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", text).casefold() if ch.isalnum())


def _contains_name(password: str, names: Iterable[str]) -> bool:
    folded = _folded(password)
    return any(len(name) >= MIN_NAME and name in folded for name in map(_folded, names))


def _reason_of(match: Mapping[str, Any]) -> Reason | None:
    """What a person would call one part zxcvbn found (None: random characters)."""
    pattern = match["pattern"]
    if pattern == "dictionary" and match.get("dictionary_name") == "user_inputs":
        return Reason.USER_NAME
    if pattern == "repeat":
        return Reason.REPEATED
    if pattern in ("sequence", "spatial"):
        return Reason.SEQUENCE
    if pattern in ("dictionary", "date", "regex"):
        return Reason.COMMON
    return None


def weakest_part(sequence: Sequence[Mapping[str, Any]]) -> Reason:
    """The reason of the longest guessable part of a password zxcvbn scored too low."""
    found = [(len(m["token"]), r) for m in sequence if (r := _reason_of(m)) is not None]
    if not found:
        return Reason.GUESSABLE
    longest = max(length for length, _ in found)
    return min((r for length, r in found if length == longest), key=_ORDER.index)


def check_password(password: str, names: Sequence[str] = ()) -> str:
    """The NFC form of a new password, or PasswordRejected naming the rule it breaks.

    ``names`` are the account's user name and display name. Takes up to tens of milliseconds
    for a long password: async callers run it in a thread."""
    password = unicodedata.normalize("NFC", password)
    if len(password) < MIN_LENGTH:
        raise PasswordRejected(Reason.TOO_SHORT)
    if len(password) > MAX_LENGTH:
        raise PasswordRejected(Reason.TOO_LONG)
    if _contains_name(password, names):
        raise PasswordRejected(Reason.USER_NAME)
    head = password[:CHECKED_LENGTH]
    with _LOCK:
        result = zxcvbn(head, user_inputs=[n for n in names if n], max_length=CHECKED_LENGTH)
    if result["score"] < MIN_SCORE:
        raise PasswordRejected(weakest_part(result["sequence"]))
    return password
