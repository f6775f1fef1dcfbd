"""Service errors become HTTP statuses here, and nothing else leaks: no traceback, no SQL, no input.

Validation errors keep their location and message but drop the offending input, so a phone
number or a password typed into a wrong field is never echoed back (D-03).
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from server.services.errors import (
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    ServiceError,
    TooLarge,
)
from server.services.staff.auth import BadCredentials, NoSession
from server.services.staff.throttle import Throttled
from server.services.text import TextError

logger = logging.getLogger(__name__)

_STATUS: list[tuple[type[Exception], int]] = [
    (NotFound, 404),
    (Conflict, 409),
    (TooLarge, 413),
    (Invalid, 422),
    (TextError, 422),
    (Forbidden, 403),
    (NoSession, 401),
    (BadCredentials, 401),
    (Throttled, 429),
]


def _json(
    status: int, detail: object, headers: dict[str, str] | None = None, **extra: object
) -> JSONResponse:
    return JSONResponse({"detail": detail, **extra}, status_code=status, headers=headers)


async def service_error(request: Request, exc: Exception) -> JSONResponse:
    """Map a service error to its status, with the service's own message and, when the error
    names one, its code (``code``)."""
    status = next((code for kind, code in _STATUS if isinstance(exc, kind)), 400)
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, Throttled) else None
    if status in (401, 403):
        logger.info("%s %s refused: %s", request.method, request.url.path, exc)
    code = getattr(exc, "code", None)
    return _json(status, str(exc), headers, **({"code": code} if code else {}))


async def validation_error(_request: Request, exc: Exception) -> JSONResponse:
    """422 with where and what, never the input value itself."""
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in exc.errors()
    ]
    return _json(422, errors)


async def http_error(_request: Request, exc: Exception) -> JSONResponse:
    """Framework HTTP errors (404 route, 405 method) as JSON."""
    assert isinstance(exc, HTTPException)
    return _json(exc.status_code, exc.detail, dict(exc.headers or {}))


async def unexpected(request: Request, exc: Exception) -> JSONResponse:
    """A bug: log it with the route, answer a generic 500 (ASVS 16.5.1)."""
    logger.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _json(500, "internal error")


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(ServiceError, service_error)
    app.add_exception_handler(TextError, service_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)
