"""Staff login, server-side sessions, CSRF tokens and login throttling (S-01..S-04).

A session id is 256 random bits, kept by the browser in an HttpOnly cookie and by the store only
as its SHA-256, so a database leak gives no live sessions. Every login makes a new id (no
fixation); logout, password, role and scope changes end sessions. Each session carries its own
CSRF token (synchronizer pattern): JSON clients send it in ``X-CSRF-Token``, HTML forms in a
``csrf_token`` field. Every login attempt is counted before the password is checked, per account
and address, per account and per address (server.services.staff.throttle); past a limit the
login answers 429 without checking the password. Unknown and known names get the same answer
and cost the same time.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass

from msgspec.structs import replace

from server.records import Staff, StoredSession
from server.services import audit
from server.services.context import Actor, Env
from server.services.errors import Forbidden, ServiceError
from server.services.staff.passwords import hash_password, needs_rehash, verify_password
from server.services.staff.throttle import count_attempt, hand_back, login_limits
from server.store import accounts

logger = logging.getLogger(__name__)

TOUCH_EVERY_S = 30  # write last_seen at most this often per session


class BadCredentials(ServiceError):
    """User name or password wrong (deliberately not saying which)."""


class NoSession(ServiceError):
    """No valid session: missing, unknown, expired or ended."""


@dataclass(frozen=True, slots=True)
class Session:
    """A live session: the account, its role and scope, and the CSRF token to expect."""

    id_hash: str
    csrf: str
    staff: Staff

    def actor(self, address: str | None) -> Actor:
        """The acting identity for services and the audit log."""
        scope = self.staff.zone_scope
        return Actor(
            name=self.staff.username,
            role=self.staff.role,
            scope=None if scope is None else frozenset(scope),
            staff_id=self.staff.id,
            address=address,
        )


def hash_token(token: str) -> str:
    """How a session id is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_ok(session: Session, presented: str | None) -> bool:
    """Constant-time comparison of the presented CSRF token."""
    return presented is not None and hmac.compare_digest(session.csrf, presented)


async def login(
    env: Env, username: str, password: str, address: str | None, old_token: str | None
) -> tuple[str, Session]:
    """Check credentials and open a new session; returns (cookie token, session)."""
    now = env.clock.now()
    name = username.strip().lower()[:64]
    limits = login_limits(env, name, address)
    async with env.db.write() as conn:  # counted before the password is checked
        await count_attempt(conn, env, limits, now)
        staff = await accounts.find_staff(conn, username=name)
    ok = verify_password(staff.password_hash if staff else None, password)
    anonymous = Actor(name=name or "-", role="none", scope=frozenset(), address=address)
    if not ok or staff is None or not staff.active:
        async with env.db.write() as conn:  # committed before the refusal is raised
            await audit.record(conn, anonymous, "auth.login_failed", at=now, target=f"user:{name}")
        raise BadCredentials("wrong user name or password")
    async with env.db.write() as conn:
        await hand_back(conn, limits, forget=2)  # the account starts again; the address's goes back
        if old_token:
            await accounts.delete_session(conn, id_hash=hash_token(old_token))
        if needs_rehash(staff.password_hash):
            staff = replace(staff, password_hash=hash_password(password))
            await accounts.save_staff(conn, staff)
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        stored = StoredSession(
            id_hash=hash_token(token),
            staff_id=staff.id,
            generation=staff.generation,
            csrf=csrf,
            created_at=now,
            last_seen=now,
        )
        await accounts.insert_session(conn, stored)
        await audit.record(conn, anonymous, "auth.login", at=now, target=f"staff:{staff.id}")
    return token, Session(stored.id_hash, csrf, staff)


async def resume(env: Env, token: str | None) -> Session:
    """The live session for a cookie token; NoSession if absent, expired or ended."""
    if not token or len(token) > 100:
        raise NoSession("no session")
    now, s, id_hash = env.clock.now(), env.settings, hash_token(token)
    async with env.db.read() as conn:
        row = await accounts.get_session(conn, id_hash=id_hash)
        staff = None if row is None else await accounts.get_staff(conn, staff_id=row.staff_id)
    if row is None or staff is None:
        raise NoSession("no session")
    expired = (
        row.last_seen + s.session_idle_s <= now or row.created_at + s.session_absolute_s <= now
    )
    if expired or not staff.active or staff.generation != row.generation:
        async with env.db.write() as conn:
            await accounts.delete_session(conn, id_hash=id_hash)
        raise NoSession("session ended")
    if now - row.last_seen >= TOUCH_EVERY_S:
        async with env.db.write() as conn:
            await accounts.touch_session(conn, id_hash=id_hash, at=now)
    return Session(id_hash, row.csrf, staff)


async def logout(env: Env, session: Session, actor: Actor) -> None:
    """End this session."""
    async with env.db.write() as conn:
        await accounts.delete_session(conn, id_hash=session.id_hash)
        await audit.record(
            conn, actor, "auth.logout", at=env.clock.now(), target=f"staff:{session.staff.id}"
        )


def require_password_current(session: Session) -> None:
    """Accounts with a one-time password may only change it until they have."""
    if session.staff.must_change_password:
        raise Forbidden("change the one-time password first")
