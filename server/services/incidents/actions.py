"""What staff do from an incident page, each kept with the alert and audited.

* ``record_call``: a call to the household (reached or not, a note);
* ``reissue``: revoke the pass and issue its holder a fresh one (admins, as at the desk);
* ``unlock``: clear the pass's lock after an ID check (server.services.passes.locks, the
  console's and the desk's path), the reason required;
* ``resolve``: the outcome (劝返, 批评教育, 误报), which acknowledges the alert with it;
* ``reveal``: the holder's full name and phone (admins, with a reason, audited).
"""

from __future__ import annotations

from dataclasses import dataclass

from server.records import Alert, AlertAction, Pass
from server.services import audit
from server.services.context import Actor, Env
from server.services.errors import Conflict, Forbidden, Invalid, NotFound
from server.services.incidents.view import incident, scoped_alert
from server.services.passes import issuing
from server.services.passes import locks as pass_locks
from server.services.registry import residents
from server.services.text import clean_text
from server.store import alerts as alert_store
from server.store import incidents as store
from server.store import passes as pass_store
from server.store.db import Connection

OUTCOMES = ("dissuaded", "educated", "false_alarm")  # 劝返, 批评教育, 误报
CALL_RESULTS = ("reached", "not_reached")
NOTE_MAX = 500
NO_PASS = "incident.no_pass"  # noqa: S105 - an error code; codes of refusals, translated by the pages (code.*)
UNKNOWN_OUTCOME = "incident.outcome"
NO_HOUSEHOLD = "incident.no_household"
ALREADY_REVOKED = "incident.revoked"
NOT_RESIDENT = "incident.not_resident"


def _note(text: str, *, required: bool = False) -> str | None:
    """A typed note: trimmed, no control characters, at most NOTE_MAX characters."""
    cleaned = clean_text(text, field="note", max_length=NOTE_MAX, required=required)
    return cleaned or None


async def _keep(
    conn: Connection,
    actor: Actor,
    alert: Alert,
    action: str,
    *,
    now: int,
    outcome: str | None = None,
    note: str | None = None,
) -> AlertAction:
    """Store one action on ``alert`` and its audit row (never the note: it may name people)."""
    row = AlertAction(
        id=0,
        alert_id=alert.id,
        at=now,
        actor=actor.name,
        action=action,
        outcome=outcome,
        note=note,
    )
    kept = await store.insert_action(conn, row)
    detail = {"kind": alert.kind} | ({"outcome": outcome} if outcome else {})
    await audit.record(conn, actor, f"alert.{action}", at=now, target=f"alert:{alert.id}", **detail)
    return kept


async def record_call(env: Env, actor: Actor, alert_id: int, result: str, note: str) -> AlertAction:
    """A call to the household the alert's pass belongs to: reached or not, and a note."""
    if result not in CALL_RESULTS:
        raise Invalid("say whether the household was reached")
    text = _note(note)
    if (await incident(env, actor, alert_id)).household is None:
        raise Invalid("this alert names no household", code=NO_HOUSEHOLD)
    now = env.clock.now()
    async with env.db.write() as conn:
        alert = await scoped_alert(conn, actor, alert_id)
        return await _keep(conn, actor, alert, "call", now=now, outcome=result, note=text)


async def _held(env: Env, actor: Actor, alert_id: int) -> Pass:
    """The pass the alert is about (refused when it names none)."""
    held = (await incident(env, actor, alert_id)).held
    if held is None:
        raise Invalid("this alert names no pass", code=NO_PASS)
    return held


async def reissue(env: Env, actor: Actor, alert_id: int) -> list[Pass]:
    """Revoke the alert's pass and issue its holder (a resident) a fresh one valid as long, in
    one transaction with the action (admins, as the desk's renew); a second press is refused."""
    if not actor.is_admin:
        raise Forbidden("admins revoke and reissue passes")
    held = await _held(env, actor, alert_id)
    now = env.clock.now()
    async with env.db.write() as conn:
        alert = await scoped_alert(conn, actor, alert_id)
        old = await pass_store.get_pass(conn, pass_row=held.id, scope=actor.scope)
        if old is None or old.revoked_at is not None or old.expires <= now:
            raise Conflict(f"pass {held.ref} is no longer live", code=ALREADY_REVOKED)
        if old.resident_id is None:
            raise Conflict("only residents' passes are reissued here", code=NOT_RESIDENT)
        made = await issuing.reissue_resident(
            conn, env, actor, old.resident_id, f"{alert.kind} (alert {alert.id})"
        )
        note = f"{old.ref} → {', '.join(p.ref for p in made)}"
        await _keep(conn, actor, alert, "reissue", now=now, note=note)
    return made


async def unlock(env: Env, actor: Actor, alert_id: int, reason: str) -> None:
    """Clear the alert's pass's lock after an ID check (the reason is required)."""
    held = await _held(env, actor, alert_id)
    await pass_locks.unlock(env, actor, held.ref, reason)
    async with env.db.write() as conn:
        alert = await scoped_alert(conn, actor, alert_id)
        await _keep(conn, actor, alert, "unlock", now=env.clock.now(), note=reason.strip())


async def resolve(env: Env, actor: Actor, alert_id: int, outcome: str, note: str) -> Alert:
    """Close the incident with its outcome: the alert is acknowledged with it (audited)."""
    if outcome not in OUTCOMES:
        raise Invalid(f"outcome must be one of {', '.join(OUTCOMES)}", code=UNKNOWN_OUTCOME)
    text = _note(note)
    now = env.clock.now()
    async with env.db.write() as conn:
        alert = await scoped_alert(conn, actor, alert_id)
        ack = f"{outcome}: {text}" if text else outcome
        if not await alert_store.acknowledge(
            conn, alert_id=alert.id, by=actor.name, note=ack, now=now
        ):
            raise Conflict(f"alert {alert_id} is already acknowledged")
        await _keep(conn, actor, alert, "outcome", now=now, outcome=outcome, note=text)
    env.hub.notify("alerts")
    return alert


@dataclass(frozen=True, slots=True)
class Revealed:
    """The holder's full name and phone, shown once after an audited reveal."""

    name: str
    phone: str | None


async def reveal(env: Env, actor: Actor, alert_id: int, reason: str) -> Revealed:
    """The holder's full name and phone (admins; the reason is audited, as on their page)."""
    if not actor.is_admin:
        raise Forbidden("admins only")
    holder = (await incident(env, actor, alert_id)).holder
    if holder is None:
        raise NotFound(f"no resident holds the pass of alert {alert_id}")
    phone = await residents.reveal_phone(env, actor, holder.id, reason)
    return Revealed(name=holder.name, phone=phone)
