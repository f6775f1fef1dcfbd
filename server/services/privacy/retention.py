"""The retention job: health data and old records go after the configured number of days.

It clears temperatures, ended home-observation records, follow-up calls, old visitors, old gate
events and expired sessions, audits what it did, and checkpoints the WAL (secure_delete is on,
so freed pages are overwritten). What staff did about alerts (``alert_actions``) and the refused
checks recorded at the consoles (``refusals``) follow the gate events they are about: their
free-text notes (what someone said, perhaps about their health) go after the health period,
the rows after the event period. Safe to run any number of times; the app runs it daily.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

from server.config import ServerSettings
from server.services import audit
from server.services.context import Actor, Env
from server.services.errors import Forbidden
from server.store import accounts, privacy
from server.store import followup as followup_store
from server.store.db import Connection

logger = logging.getLogger(__name__)

_DAY = 86400


def _admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise Forbidden("admins only")


@dataclass(frozen=True, slots=True)
class RetentionReport:
    """What one run of the retention job removed or anonymised."""

    temperatures_cleared: int
    observations_cleared: int
    visitors_deleted: int
    events_deleted: int
    sessions_deleted: int


@dataclass(frozen=True, slots=True)
class IncidentRetention:
    """What one run removed of alert actions and refused checks (in the audit row)."""

    incident_notes_cleared: int
    alert_actions_deleted: int
    refusals_deleted: int


async def _incidents(conn: Connection, s: ServerSettings, now: int) -> IncidentRetention:
    """Alert actions and refused checks after the event period, their notes after the health
    period."""
    actions, refused = await privacy.delete_incident_rows(
        conn, before=now - s.retention_event_days * _DAY
    )
    notes = await privacy.clear_incident_notes(conn, before=now - s.retention_health_days * _DAY)
    return IncidentRetention(notes, actions, refused)


async def run_retention(env: Env, actor: Actor) -> RetentionReport:
    """Apply the retention periods once; audited; safe to run any number of times."""
    _admin(actor)
    s, now = env.settings, env.clock.now()
    async with env.db.write() as conn:
        temps = await privacy.clear_event_health(
            conn, before_ms=(now - s.retention_health_days * _DAY) * 1000
        )
        observations = await privacy.clear_ended_observations(
            conn, ended_before=now - s.retention_health_days * _DAY, now=now
        )
        old = await privacy.expired_visitors(conn, before=now - s.retention_visitor_days * _DAY)
        await privacy.detach_visitor_passes(conn, ids=old)
        visitors = await privacy.delete_visitors(conn, ids=old)
        events = await privacy.delete_events(
            conn, before_ms=(now - s.retention_event_days * _DAY) * 1000
        )
        sessions = await accounts.delete_expired_sessions(
            conn, idle_before=now - s.session_idle_s, created_before=now - s.session_absolute_s
        )
        calls = await followup_store.delete_before(
            conn, before=now - s.retention_health_days * _DAY
        )  # home-observation follow-up calls (health data, issue 7)
        incidents = await _incidents(conn, s, now)
        report = RetentionReport(temps, observations, visitors, events, sessions)
        await audit.record(
            conn,
            actor,
            "retention.run",
            at=now,
            followup_calls_deleted=calls,
            **asdict(incidents),
            **asdict(report),
        )
    await env.db.checkpoint()
    logger.info("retention: %s", report)
    return report
