"""Message catalogs for the staff UI: every visible string comes from here (zh-CN default, en).

Catalogs are TOML files in ``server/web/messages/``, one per language, with dotted keys
(``console.open_lane``) and ``{name}`` placeholders. A page asks ``t("key", n=3)``; a key
missing from the catalog is a bug and raises, so the tests that render every page in both
languages catch it. The output goes through Jinja's autoescaping like any other value, so a
placeholder filled with user text can never become markup.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Mapping
from importlib import resources
from typing import Any

from protocol import wording

LANGUAGES = ("zh-CN", "en")
DEFAULT_LANGUAGE = "zh-CN"
LANG_COOKIE = "gatepass_lang"


class MissingMessage(KeyError):
    """A template asked for a key that the catalog does not have."""


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out |= _flatten(value, name + ".")
        else:
            out[name] = str(value)
    return out


@functools.cache
def catalog(language: str) -> dict[str, str]:
    """The flattened catalog of ``language`` (read once per process)."""
    if language not in LANGUAGES:
        raise MissingMessage(language)
    text = resources.files("server.web").joinpath("messages", f"{language}.toml").read_text("utf-8")
    return _flatten(tomllib.loads(text)) | _reason_lines(language)


def _reason_lines(language: str) -> dict[str, str]:
    """``reasons.<code>``: the short line the lane display shows for each reason code, from the
    one catalog the voice, the display and the console share (protocol/wording)."""
    return {
        f"reasons.{key.removeprefix('reason.')}": entry.screen
        for key, entry in wording.lines(language).items()
        if key.startswith("reason.")
    }


class Translator:
    """``t(key, **values)`` for one language; callable from templates."""

    def __init__(self, language: str) -> None:
        self.language = language if language in LANGUAGES else DEFAULT_LANGUAGE
        self.messages = catalog(self.language)

    def __call__(self, key: str, **values: Any) -> str:
        """The message for ``key`` with its placeholders filled in."""
        try:
            message = self.messages[key]
        except KeyError:
            raise MissingMessage(key) from None
        return message.format_map(values) if values else message

    def has(self, key: str) -> bool:
        """Whether the catalog knows ``key`` (for optional labels such as reason codes)."""
        return key in self.messages


def choose(cookie: str | None) -> str:
    """The language for a request: the cookie's if it names a known one, else zh-CN."""
    return cookie if cookie in LANGUAGES else DEFAULT_LANGUAGE
