"""Login, logout, the one-time password change and the language switch.

Login answers like the JSON login (same throttling, same refusal for unknown and known names,
cross-site posts refused by Fetch Metadata and Origin); the session cookie is the API's, so the
pages and the JSON API share one session. The language switch only sets a preference cookie;
it is a POST like every change, checked for origin, and for the CSRF token when signed in.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from server.http.deps import EnvDep, check_origin, client_address, cookie_name, session_of
from server.services.errors import Forbidden, Invalid
from server.services.staff import accounts as staff
from server.services.staff import auth
from server.services.staff.auth import BadCredentials, NoSession, csrf_ok
from server.services.staff.throttle import Throttled
from server.services.text import TextError
from server.web.guard import PageRoute, SelfPage
from server.web.i18n import LANG_COOKIE, LANGUAGES
from server.web.render import page

router = APIRouter(route_class=PageRoute, include_in_schema=False)
YEAR_S = 366 * 86400
Text = Annotated[str, Form(max_length=256)]


def local_path(target: str | None, default: str = "/ui/") -> str:
    """``target`` if it is a path inside the staff UI, else ``default`` (no open redirect)."""
    if target and target.startswith("/ui/") and "//" not in target and "\\" not in target:
        return target
    return default


@router.get("/")
async def root() -> Response:
    """The site's front door leads to the staff UI."""
    return RedirectResponse("/ui/", status_code=303)


@router.get("/ui/login")
async def login_form(*, request: Request, next: str = "/ui/", notice: str = "") -> Response:
    """The sign-in form."""
    notice_key = "login.password_changed" if notice == "password" else None
    return page(
        request,
        "login.html",
        next=local_path(next),
        username="",
        message_key=None,
        seconds=0,
        notice_key=notice_key,
    )


@router.post("/ui/login")
async def login(
    *, request: Request, env: EnvDep, username: Text, password: Text, next: Text = "/ui/"
) -> Response:
    """Check the credentials, set the session cookie and go where the user was going."""
    check_origin(request)
    old = request.cookies.get(cookie_name(env))
    try:
        token, _ = await auth.login(env, username, password, client_address(request), old)
    except (BadCredentials, Throttled) as exc:
        throttled = isinstance(exc, Throttled)
        return page(
            request,
            "login.html",
            status=429 if throttled else 401,
            next=local_path(next),
            username=username[:64],
            seconds=exc.retry_after if isinstance(exc, Throttled) else 0,
            message_key="login.throttled" if throttled else "login.failed",
            notice_key=None,
        )
    response = RedirectResponse(local_path(next), status_code=303)
    response.set_cookie(
        cookie_name(env),
        token,
        httponly=True,
        secure=env.settings.cookie_secure,
        samesite="strict",
        path="/",
        max_age=env.settings.session_absolute_s,
    )
    return response


def _clear_session_cookie(response: Response, request: Request) -> None:
    env = request.state.env
    response.delete_cookie(
        cookie_name(env), path="/", secure=env.settings.cookie_secure, httponly=True
    )


@router.post("/ui/logout")
async def logout(*, request: Request, env: EnvDep, actor: SelfPage) -> Response:
    """End the session."""
    await auth.logout(env, session_of(request), actor)
    response = RedirectResponse("/ui/login", status_code=303)
    _clear_session_cookie(response, request)
    return response


@router.get("/ui/password")
async def password_form(*, request: Request, actor: SelfPage) -> Response:
    """Change one's own password (required after a one-time password)."""
    return page(request, "password.html", detail=None, reason_key=None)


def _refusal(exc: Exception) -> dict[str, str | None]:
    """The catalog key of a refused password's rule, or the error's own text if it has none."""
    code = getattr(exc, "code", None)
    if code is not None:
        return {"detail": None, "reason_key": f"code.{code}"}
    return {"detail": str(exc), "reason_key": None}


@router.post("/ui/password")
async def change_password(
    *, request: Request, env: EnvDep, actor: SelfPage, old_password: Text, new_password: Text
) -> Response:
    """Set a new password; every session of the account ends, so sign in again."""
    try:
        await staff.change_password(env, session_of(request), actor, old_password, new_password)
    except (Invalid, TextError) as exc:
        return page(request, "password.html", status=422, **_refusal(exc))
    response = RedirectResponse("/ui/login?notice=password", status_code=303)
    _clear_session_cookie(response, request)
    return response


async def _check_token_if_signed_in(request: Request, env: EnvDep, token: str | None) -> None:
    try:
        session = await auth.resume(env, request.cookies.get(cookie_name(env)))
    except NoSession:
        return
    if not csrf_ok(session, token):
        raise Forbidden("missing or wrong CSRF token")


@router.post("/ui/lang")
async def set_language(
    *,
    request: Request,
    env: EnvDep,
    lang: Annotated[str, Form(max_length=8)],
    back: Text = "/ui/",
    csrf_token: Annotated[str | None, Form(max_length=100)] = None,
) -> Response:
    """Remember the chosen language for a year and return to the page."""
    check_origin(request)
    await _check_token_if_signed_in(request, env, csrf_token)
    if lang not in LANGUAGES:
        raise Invalid("unknown language")
    response = RedirectResponse(local_path(back, "/ui/login"), status_code=303)
    response.set_cookie(
        LANG_COOKIE,
        lang,
        max_age=YEAR_S,
        path="/",
        samesite="strict",
        httponly=True,
        secure=env.settings.cookie_secure,
    )
    return response
