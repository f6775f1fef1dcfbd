"""The CLI's translated refusals: an error with a code is said from the staff UI's catalogs
(``code.<code>``, its ``values`` filled in), in the operator's language.

The language is ``GATEPASS_LANG`` (``zh-CN`` or ``en``) if set, else the locale's
(``LC_ALL``, ``LC_MESSAGES``, ``LANG``: ``zh_CN.UTF-8`` is zh-CN), else English. Errors without
a code keep the service's own (English) message.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

LANG_ENV = "GATEPASS_LANG"


def language(environ: Mapping[str, str] = os.environ) -> str:
    """zh-CN or en, from GATEPASS_LANG or the locale."""
    chosen = environ.get(LANG_ENV, "")
    if chosen in ("zh-CN", "en"):
        return chosen
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name, "")
        if value:
            return "zh-CN" if value.lower().startswith("zh") else "en"
    return "en"


def say(key: str, environ: Mapping[str, str] = os.environ, **values: int | str) -> str:
    """A user-facing line of the CLI from the catalogs, in the operator's language."""
    from server.web.i18n import Translator

    return Translator(language(environ))(key, **values)


def explain(exc: Exception, environ: Mapping[str, str] = os.environ) -> str:
    """The error in the operator's words: its code's catalog entry, or its own message."""
    code = getattr(exc, "code", None)
    if code is None:
        return str(exc)
    from server.web.i18n import Translator

    t = Translator(language(environ))
    key = f"code.{code}"
    return t(key, **getattr(exc, "values", {})) if t.has(key) else str(exc)
