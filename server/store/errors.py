"""The store's error tree: driver errors become these at the store's edge (server.store.db)::

StoreError              the database refused an operation; carries the driver's error as cause
├── Unavailable         it cannot serve right now (locked, busy, I/O or disk error, connection
│                       lost): nothing was written, the same work may succeed later
└── IntegrityViolation  a uniqueness or reference rule of the schema refused the change

Services catch these (never a driver's exception) and turn them into their own errors.
"""

from __future__ import annotations


class StoreError(Exception):
    """The database refused an operation; ``__cause__`` is the driver's exception."""


class Unavailable(StoreError):
    """The database cannot serve right now; nothing was written, try again later."""


class IntegrityViolation(StoreError):
    """A unique key or a reference of the schema refused the change."""
