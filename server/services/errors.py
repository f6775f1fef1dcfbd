"""The services' error tree; the API turns each branch into one HTTP status at its boundary::

ServiceError
├── NotFound       the object does not exist or is outside the caller's zone scope (404)
├── Conflict       the request clashes with the registry's state (409)
│   └── LinkDown   a command cannot reach the gates: no broker link right now (409)
├── Invalid        a value breaks a rule the request model could not express (422)
│   └── TooLarge   an input would cost more work than the limits allow (413)
├── Forbidden      the caller's role may not do this (403)
└── Unavailable    the database cannot serve right now; nothing was written, try again

An error may name the rule it breaks with a stable ``code`` (``password.common``,
``xml_dtd``) and the ``values`` its message needs: the API answers the code as ``code``
beside the message; the pages and the CLI say it in the reader's language from the catalogs
(``code.<code>`` in server/web/messages).
"""

from __future__ import annotations


class ServiceError(Exception):
    """Root of every error a service raises on purpose."""

    def __init__(self, message: str = "", *, code: str | None = None, **values: int | str) -> None:
        super().__init__(message)
        self.code = code
        self.values = values


class NotFound(ServiceError):
    """No such object in the caller's scope (out-of-scope objects are indistinguishable)."""


class Conflict(ServiceError):
    """The registry's current state does not allow this."""


class LinkDown(Conflict):
    """The server's broker link is not up, so a command to a gate was not sent."""


class Invalid(ServiceError, ValueError):
    """A value is not acceptable."""


class TooLarge(Invalid):
    """An input (an uploaded register) would take more memory or time than the limits allow."""


class Forbidden(ServiceError):
    """The caller may not do this."""


class Unavailable(ServiceError):
    """The database cannot commit right now (locked, disk full, I/O): nothing was written."""
