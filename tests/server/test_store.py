"""The store: SQLite pragmas, the single writer path, migrations at head (S-15)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import sqlalchemy as sa

from server.store.db import Database, sqlite_url
from server.store.migrate import current_revision, head_revision, upgrade
from server.store.schema import counters


def test_pragmas_migrations_and_concurrent_writers(tmp_path: Path) -> None:
    async def go() -> None:
        db = Database(sqlite_url(tmp_path / "r.db"))
        await upgrade(db)
        await upgrade(db)  # idempotent
        assert await current_revision(db) == head_revision()
        async with db.read() as conn:
            pragmas = {
                name: (await conn.exec_driver_sql(f"PRAGMA {name}")).scalar()
                for name in (
                    "journal_mode",
                    "busy_timeout",
                    "foreign_keys",
                    "synchronous",
                    "secure_delete",
                )
            }
        assert pragmas == {
            "journal_mode": "wal",
            "busy_timeout": 10_000,
            "foreign_keys": 1,
            "synchronous": 2,
            "secure_delete": 1,
        }

        async def bump(i: int) -> None:
            async with db.write() as conn:
                value = await conn.scalar(sa.select(counters.c.value).where(counters.c.name == "n"))
                await asyncio.sleep(0)  # yield inside the transaction: a lost update would show
                if value is None:
                    await conn.execute(sa.insert(counters).values(name="n", value=1))
                else:
                    await conn.execute(sa.update(counters).values(value=value + 1))

        await asyncio.gather(*(bump(i) for i in range(50)))
        async with db.read() as conn:
            assert await conn.scalar(sa.select(counters.c.value)) == 50
        await db.checkpoint()
        await db.close()

    asyncio.run(go())


def test_a_failed_write_rolls_back(tmp_path: Path) -> None:
    async def go() -> None:
        db = Database(sqlite_url(tmp_path / "r.db"))
        await upgrade(db)
        try:
            async with db.write() as conn:
                await conn.execute(sa.insert(counters).values(name="x", value=1))
                raise RuntimeError("boom")
        except RuntimeError:
            pass
        async with db.read() as conn:
            assert await conn.scalar(sa.select(sa.func.count()).select_from(counters)) == 0
        await db.close()

    asyncio.run(go())
