"""Access rules and error boundary of the staff pages.

Pages use the same deny-by-default :class:`server.http.deps.Policy` as the JSON API (session,
role, CSRF token on every POST, origin checks), subclassed only to answer like a web page: no
session sends the browser to the login page, a one-time password to the password page.
:class:`PageRoute` is the boundary where service errors become an HTML error page in the
user's language (the API's handlers would answer JSON); nothing is swallowed: every error is
shown with its status, and unexpected ones still reach the app's generic 500 handler.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute

from server.http.deps import EnvDep, Policy
from server.services.context import Actor
from server.services.errors import (
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    ServiceError,
    TooLarge,
)
from server.services.staff.auth import NoSession
from server.services.staff.throttle import Throttled
from server.services.text import TextError
from server.web.i18n import Translator
from server.web.render import language_of, page

logger = logging.getLogger(__name__)

LOGIN_PATH = "/ui/login"
PASSWORD_PATH = "/ui/password"  # noqa: S105 - a page path, not a password


class LoginRequired(Exception):
    """The page needs a session and the request has none."""


class PasswordChangeRequired(Exception):
    """The account still has a one-time password."""


class PagePolicy(Policy):
    """A Policy whose refusals send a browser somewhere useful instead of answering JSON."""

    async def __call__(self, request: Request, env: EnvDep) -> Actor:
        """Resolve the caller as the API does; map 'no session' and 'one-time password'."""
        try:
            return await super().__call__(request, env)
        except NoSession:
            raise LoginRequired from None
        except Forbidden:
            session = getattr(request.state, "session", None)
            if session is not None and session.staff.must_change_password:
                raise PasswordChangeRequired from None
            raise


STAFF_PAGE = PagePolicy("admin", "staff")
ADMIN_PAGE = PagePolicy("admin")
SELF_PAGE = PagePolicy("admin", "staff", allow_one_time_password=True)
StaffPage = Annotated[Actor, Depends(STAFF_PAGE)]
AdminPage = Annotated[Actor, Depends(ADMIN_PAGE)]
SelfPage = Annotated[Actor, Depends(SELF_PAGE)]

_STATUS: list[tuple[type[Exception], int, str]] = [
    (NotFound, 404, "errors.not_found"),
    (Conflict, 409, "errors.conflict"),
    (TooLarge, 413, "errors.too_large"),
    (Invalid, 422, "errors.invalid"),
    (TextError, 422, "errors.invalid"),
    (Forbidden, 403, "errors.forbidden"),
    (Throttled, 429, "errors.throttled"),
    (ServiceError, 400, "errors.bad_request"),
]


def error_page(request: Request, exc: Exception) -> Response:
    """The HTML page for a refused or failed request, with the status the API would use."""
    status, key = next((s, k) for kind, s, k in _STATUS if isinstance(exc, kind))
    if status == 403:
        logger.info("%s %s refused: %s", request.method, request.url.path, exc)
    return page(request, "error.html", status=status, title_key=key, detail=_detail(request, exc))


def _detail(request: Request, exc: Exception) -> str:
    """The reason in the reader's language when the error names one (``code.<code>``)."""
    code = getattr(exc, "code", None)
    t = Translator(language_of(request))
    if code is None or not t.has(f"code.{code}"):
        return str(exc)
    return t(f"code.{code}", **getattr(exc, "values", {}))


def _login_redirect(request: Request) -> Response:
    target = request.url.path if request.method == "GET" else "/ui/"
    return RedirectResponse(f"{LOGIN_PATH}?next={quote(target, safe='/')}", status_code=303)


class PageRoute(APIRoute):
    """An APIRoute whose errors are answered as pages (the boundary of every web route)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """Wrap FastAPI's handler: dependencies and the endpoint both run inside it."""
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            finally:
                await request.close()  # uploaded files of a parsed form, even when refused

        async def answer(request: Request) -> Response:
            try:
                return await run(request)
            except LoginRequired:
                return _login_redirect(request)
            except PasswordChangeRequired:
                return RedirectResponse(PASSWORD_PATH, status_code=303)
            except (ServiceError, TextError) as exc:
                return error_page(request, exc)
            except RequestValidationError as exc:
                fields = ", ".join(".".join(map(str, e.get("loc", ()))) for e in exc.errors())
                return error_page(request, Invalid(fields))

        return answer
