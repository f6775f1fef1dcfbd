"""Rendering pages: one Jinja environment with autoescaping for everything, and the context
every page gets (translator, language, signed-in staff, CSRF token, time formatting).

Autoescaping is on for every template, whatever its name: names, notes and other typed text
always reach the browser as text (reliability-security.md 9.2 items 5-6); no template uses
``|safe``. Strict undefined: a template that names a missing value fails loudly in the tests.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse

from server.web import format as fmt
from server.web.i18n import LANG_COOKIE, LANGUAGES, Translator, choose


@functools.cache
def environment() -> jinja2.Environment:
    """The template environment (built once per process)."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("server.web", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["mask_name"] = fmt.mask_name
    env.filters["mask_phone"] = fmt.mask_phone
    env.filters["temp"] = fmt.temperature
    env.filters["json_text"] = lambda value: json.dumps(value, ensure_ascii=False, sort_keys=True)
    env.globals["FEVER_C"] = fmt.FEVER_C
    return env


def language_of(request: Request) -> str:
    """The language this request is rendered in."""
    return choose(request.cookies.get(LANG_COOKIE))


def base_context(request: Request) -> dict[str, Any]:
    """What every template may use."""
    session = getattr(request.state, "session", None)
    env = request.state.env
    language = language_of(request)
    return {
        "t": Translator(language),
        "lang": language,
        "languages": LANGUAGES,
        "me": None if session is None else session.staff,
        "csrf": None if session is None else session.csrf,
        "clock": fmt.Clockface(env.settings.card_utc_offset_min),
        "now": env.clock.now(),
        "path": request.url.path,
        "query": request.url.query,
    }


def render(request: Request, template: str, **context: Any) -> str:
    """The HTML of ``template`` with the base context and ``context``."""
    return environment().get_template(template).render(base_context(request) | context)


# The API's "no-referrer" makes browsers send "Origin: null" on form posts, which the CSRF
# origin check must refuse; "same-origin" keeps referrers from other sites and lets pages'
# own forms carry their real origin.
PAGE_HEADERS = {"Referrer-Policy": "same-origin"}


def page(request: Request, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    """A full HTML response."""
    return HTMLResponse(
        render(request, template, **context), status_code=status, headers=PAGE_HEADERS
    )
