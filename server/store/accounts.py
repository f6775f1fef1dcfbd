"""SQL for staff accounts, server-side sessions and login-failure counters."""

from __future__ import annotations

import sqlalchemy as sa

from server.records import LoginFailures, Staff, StoredSession
from server.store.db import Connection
from server.store.query import insert_new, record, records, values_of
from server.store.schema import login_failures, sessions, staff


async def insert_staff(
    conn: Connection,
    *,
    username: str,
    display_name: str,
    password_hash: str,
    role: str,
    zone_scope: list[int] | None,
    now: int,
) -> Staff:
    """Add an active account that must change its (one-time) password; returns it."""
    fields = Staff(
        id=0,
        username=username,
        display_name=display_name,
        password_hash=password_hash,
        role=role,
        zone_scope=zone_scope,
        active=True,
        must_change_password=True,
        generation=0,
        created_at=now,
        updated_at=now,
    )
    return await insert_new(conn, staff, fields)


async def get_staff(conn: Connection, *, staff_id: int) -> Staff | None:
    """One account by id."""
    row = (await conn.execute(sa.select(staff).where(staff.c.id == staff_id))).first()
    return record(Staff, row)


async def find_staff(conn: Connection, *, username: str) -> Staff | None:
    """One account by user name."""
    row = (await conn.execute(sa.select(staff).where(staff.c.username == username))).first()
    return record(Staff, row)


async def list_staff(conn: Connection) -> list[Staff]:
    """Every account, by id."""
    return records(Staff, await conn.execute(sa.select(staff).order_by(staff.c.id)))


async def save_staff(conn: Connection, account: Staff) -> None:
    """Write an account's changed fields (read, ``replace``d, written in one transaction)."""
    values = values_of(account, staff, without=("id",))
    await conn.execute(sa.update(staff).where(staff.c.id == account.id).values(values))


async def count_admins(conn: Connection) -> int:
    """Active admin accounts (the last one cannot be removed or demoted)."""
    query = sa.select(sa.func.count()).where(staff.c.role == "admin", staff.c.active.is_(True))
    return int(await conn.scalar(query) or 0)


async def insert_session(conn: Connection, session: StoredSession) -> None:
    """Store a new session (its id only as a hash)."""
    await conn.execute(sa.insert(sessions).values(values_of(session, sessions)))


async def get_session(conn: Connection, *, id_hash: str) -> StoredSession | None:
    """A session by id hash."""
    row = (await conn.execute(sa.select(sessions).where(sessions.c.id_hash == id_hash))).first()
    return record(StoredSession, row)


async def touch_session(conn: Connection, *, id_hash: str, at: int) -> None:
    """Record activity (the idle timeout counts from here)."""
    query = sa.update(sessions).where(sessions.c.id_hash == id_hash).values(last_seen=at)
    await conn.execute(query)


async def delete_session(conn: Connection, *, id_hash: str) -> None:
    """End one session."""
    await conn.execute(sa.delete(sessions).where(sessions.c.id_hash == id_hash))


async def delete_sessions_of(conn: Connection, *, staff_id: int) -> None:
    """End every session of an account (password, role or scope change, deactivation)."""
    await conn.execute(sa.delete(sessions).where(sessions.c.staff_id == staff_id))


async def delete_expired_sessions(
    conn: Connection, *, idle_before: int, created_before: int
) -> int:
    """Drop sessions past their idle or absolute timeout."""
    query = sa.delete(sessions).where(
        sa.or_(sessions.c.last_seen < idle_before, sessions.c.created_at < created_before)
    )
    return (await conn.execute(query)).rowcount


async def get_failures(conn: Connection, *, key: str) -> LoginFailures | None:
    """The failure counter for a throttling key."""
    query = sa.select(login_failures).where(login_failures.c.key == key)
    row = (await conn.execute(query)).first()
    return record(LoginFailures, row)


async def set_failures(conn: Connection, *, key: str, count: int, window_start: int) -> None:
    """Write a failure counter (insert or replace)."""
    await conn.execute(sa.delete(login_failures).where(login_failures.c.key == key))
    await conn.execute(
        sa.insert(login_failures).values(key=key, count=count, window_start=window_start)
    )


async def clear_failures(conn: Connection, *, key: str) -> None:
    """Forget failures after a successful login."""
    await conn.execute(sa.delete(login_failures).where(login_failures.c.key == key))
