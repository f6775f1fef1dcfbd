"""Alembic environment: migrate the connection handed over by server.store.migrate."""

from __future__ import annotations

from alembic import context

import server.store.schema_gates  # noqa: F401 - the MQTT link's tables join the same metadata
from server.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through server.store.migrate.upgrade")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
