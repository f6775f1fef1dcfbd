"""Health and authentication: /healthz and login (public), session, logout, password change."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from server.api.models.staff import LoginIn, PasswordChangeIn, SessionOut, StaffOut
from server.http.deps import EnvDep, SelfDep, check_origin, client_address, cookie_name, session_of
from server.services.registry.site import schema_revision
from server.services.staff import accounts as staff
from server.services.staff import auth

router = APIRouter()


@router.get("/healthz", tags=["system"])
async def healthz(env: EnvDep) -> dict[str, str]:
    """Liveness and schema revision; public, says nothing about the registry's content."""
    return {"status": "ok", "schema": await schema_revision(env) or "none"}


@router.post("/api/v1/auth/login", tags=["auth"], responses={401: {}, 429: {}})
async def login(body: LoginIn, request: Request, response: Response, env: EnvDep) -> SessionOut:
    """Open a session: sets the HttpOnly cookie and returns the CSRF token."""
    check_origin(request)
    old = request.cookies.get(cookie_name(env))
    token, session = await auth.login(
        env, body.username, body.password, client_address(request), old
    )
    response.set_cookie(
        cookie_name(env),
        token,
        httponly=True,
        secure=env.settings.cookie_secure,
        samesite="strict",
        path="/",
        max_age=env.settings.session_absolute_s,
    )
    return SessionOut(staff=StaffOut.model_validate(session.staff), csrf_token=session.csrf)


@router.get("/api/v1/auth/session", tags=["auth"])
async def get_session(request: Request, actor: SelfDep) -> SessionOut:
    """Who is signed in, and the CSRF token for changes."""
    session = session_of(request)
    return SessionOut(staff=StaffOut.model_validate(session.staff), csrf_token=session.csrf)


@router.post("/api/v1/auth/logout", tags=["auth"], status_code=204)
async def logout(request: Request, response: Response, env: EnvDep, actor: SelfDep) -> None:
    """End the session and clear the cookie."""
    await auth.logout(env, session_of(request), actor)
    response.delete_cookie(
        cookie_name(env), path="/", secure=env.settings.cookie_secure, httponly=True
    )


@router.post("/api/v1/auth/password", tags=["auth"], status_code=204)
async def change_password(
    body: PasswordChangeIn, request: Request, response: Response, env: EnvDep, actor: SelfDep
) -> None:
    """Change one's own password; all sessions of the account end (sign in again)."""
    await staff.change_password(
        env, session_of(request), actor, body.old_password, body.new_password
    )
    response.delete_cookie(
        cookie_name(env), path="/", secure=env.settings.cookie_secure, httponly=True
    )
