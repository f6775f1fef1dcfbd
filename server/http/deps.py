"""Typed dependencies: the process's ``Env``, the caller's session, and route policies.

Deny by default: every route must depend on a :class:`Policy` (or be in ``PUBLIC_ROUTES``);
``create_app`` refuses to build an app with a route that has neither. A policy resolves the
session cookie, refuses callers without the role (403) or without a session (401), and on every
state-changing method checks the request's origin and the session's CSRF token, from the
``X-CSRF-Token`` header (JSON clients) or a ``csrf_token`` form field (HTML forms, issue 7).
"""

from __future__ import annotations

import logging
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant

from server.services.context import Actor, Env
from server.services.errors import Forbidden
from server.services.gates.port import RunningLink
from server.services.staff.auth import NoSession, Session, csrf_ok, require_password_current, resume

logger = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
PUBLIC_ROUTES = frozenset({"/healthz", "/api/v1/auth/login", "/openapi.json"})
_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


def cookie_name(env: Env) -> str:
    """``__Host-`` prefixed when Secure, so no subdomain can plant the cookie."""
    return "__Host-gatepass" if env.settings.cookie_secure else "gatepass_session"


def get_env(request: Request) -> Env:
    """The Env the lifespan put into the app state."""
    env: Env = request.state.env
    return env


EnvDep = Annotated[Env, Depends(get_env)]


def client_address(request: Request) -> str | None:
    """The peer address (a reverse proxy must be configured to pass the real one)."""
    return request.client.host if request.client else None


def check_origin(request: Request) -> None:
    """Refuse cross-site state changes by Fetch Metadata and Origin (CSRF defence in depth)."""
    if request.headers.get("sec-fetch-site") == "cross-site":
        raise Forbidden("cross-site request refused")
    origin = request.headers.get("origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.headers.get("host"):
        raise Forbidden("cross-origin request refused")
    if origin == "null":
        raise Forbidden("opaque-origin request refused")


async def _presented_csrf(request: Request) -> str | None:
    token = request.headers.get(CSRF_HEADER)
    if token is None and request.headers.get("content-type", "").startswith(_FORMS):
        value = (await request.form()).get(CSRF_FIELD)
        token = value if isinstance(value, str) else None
    return token


async def current_session(request: Request, env: EnvDep) -> Session:
    """The caller's live session (401 without one)."""
    session = await resume(env, request.cookies.get(cookie_name(env)))
    request.state.session = session
    return session


class Policy:
    """A route's access rule: which roles, and whether a one-time password blocks it."""

    def __init__(self, *roles: str, allow_one_time_password: bool = False) -> None:
        self.roles = frozenset(roles)
        self.allow_one_time_password = allow_one_time_password

    async def __call__(self, request: Request, env: EnvDep) -> Actor:
        """Resolve and check the caller; raises NoSession (401) or Forbidden (403)."""
        session = await current_session(request, env)
        if request.method not in SAFE_METHODS:
            check_origin(request)
            if not csrf_ok(session, await _presented_csrf(request)):
                raise Forbidden("missing or wrong CSRF token")
        if not self.allow_one_time_password:
            require_password_current(session)
        if session.staff.role not in self.roles:
            raise Forbidden("your role may not do this")
        return session.actor(client_address(request))


ADMIN = Policy("admin")
STAFF = Policy("admin", "staff")
SELF = Policy("admin", "staff", allow_one_time_password=True)

AdminDep = Annotated[Actor, Depends(ADMIN)]
StaffDep = Annotated[Actor, Depends(STAFF)]
SelfDep = Annotated[Actor, Depends(SELF)]


def session_of(request: Request) -> Session:
    """The session a Policy resolved for this request."""
    session = getattr(request.state, "session", None)
    if session is None:
        raise NoSession("no session")
    return session  # type: ignore[no-any-return]


def link_of(request: Request) -> RunningLink | None:
    """The running broker link (server.link.session), or None without a broker."""
    link: RunningLink | None = getattr(request.state, "link", None)
    return link


def has_policy(dependant: Dependant) -> bool:
    """Whether a route (or one of its dependencies) depends on a Policy: deny by default."""
    return any(isinstance(d.call, Policy) or has_policy(d) for d in dependant.dependencies)
