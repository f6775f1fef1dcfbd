"""The services' error tree; the API turns each branch into one HTTP status at its boundary::

ServiceError
├── NotFound       the object does not exist or is outside the caller's zone scope (404)
├── Conflict       the request clashes with the registry's state (409)
│   └── LinkDown   a command cannot reach the gates: no broker link right now (409)
├── Invalid        a value breaks a rule the request model could not express (422)
├── Forbidden      the caller's role may not do this (403)
└── Unavailable    the database cannot serve right now; nothing was written, try again

An error may carry a ``code`` (``password.common``): a stable name of the rule it breaks, which
the API returns beside the message and the pages and the CLI translate from their catalogs.
"""

from __future__ import annotations


class ServiceError(Exception):
    """Root of every error a service raises on purpose."""

    code: str | None = None

    def __init__(self, *args: object, code: str | None = None) -> None:
        super().__init__(*args)
        if code is not None:
            self.code = code


class NotFound(ServiceError):
    """No such object in the caller's scope (out-of-scope objects are indistinguishable)."""


class Conflict(ServiceError):
    """The registry's current state does not allow this."""


class LinkDown(Conflict):
    """The server's broker link is not up, so a command to a gate was not sent."""


class Invalid(ServiceError, ValueError):
    """A value is not acceptable."""


class Forbidden(ServiceError):
    """The caller may not do this."""


class Unavailable(ServiceError):
    """The database cannot commit right now (locked, disk full, I/O): nothing was written."""
