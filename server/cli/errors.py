"""The CLI's one error, and service errors said in the operator's language."""

from __future__ import annotations

import os

from server.web.i18n import Translator


class CommandError(Exception):
    """A subcommand failed for a reason the operator can act on (exit status 1)."""


def language() -> str:
    """The operator's language from the locale (LC_ALL, LC_MESSAGES, LANG): zh-CN for any
    Chinese locale, English otherwise, as the rest of the CLI speaks."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name)
        if value:
            return "zh-CN" if value.lower().startswith("zh") else "en"
    return "en"


def explain(exc: Exception) -> str:
    """An error's one line for the operator: a coded reason from the catalogs
    (``refused.<code>``), otherwise the service's own message."""
    code = getattr(exc, "code", None)
    if code is None:
        return str(exc)
    return Translator(language())(f"refused.{code}", **getattr(exc, "values", {}))
