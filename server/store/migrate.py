"""Run the Alembic migrations to head, on the app's own engine, at ``init`` and at start.

Alembic's environment (migrations/env.py) receives the live connection through
``config.attributes``, so the same code migrates SQLite and PostgreSQL and no alembic.ini is
needed at run time.
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from server.store.db import Database

logger = logging.getLogger(__name__)

SCRIPT_LOCATION = Path(__file__).resolve().parent / "migrations"


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest migration this build knows."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    if head is None:
        raise RuntimeError("no migrations found")
    return head


def _upgrade(connection: Connection) -> str | None:
    before = MigrationContext.configure(connection).get_current_revision()
    command.upgrade(_config(connection), "head")
    return before


async def upgrade(db: Database) -> None:
    """Bring the schema to head; a no-op when it is already there."""
    async with db.write() as conn:
        before = await conn.run_sync(_upgrade)
    head = head_revision()
    if before != head:
        logger.info("database migrated from %s to %s", before or "empty", head)


async def current_revision(db: Database) -> str | None:
    """The schema revision stored in the database (None for an empty database)."""
    async with db.read() as conn:
        return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())
