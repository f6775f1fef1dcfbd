"""The registry's tables as SQLAlchemy Core metadata: the one description of the schema.

Alembic migrations (server/store/migrations) create and change these tables; this metadata is
what the store modules query. Times are unix seconds (UTC) in integers, so SQLite and
PostgreSQL store them alike; event times from gates are unix milliseconds, as on the wire.
Imports nothing from fastapi or the services (style-anchors, dependency rule 6).
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)

_now = sa.Integer  # unix seconds

sites = sa.Table(
    "sites",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("created_at", _now, nullable=False),
)

zones = sa.Table(
    "zones",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("site_id", sa.String(32), sa.ForeignKey("sites.id"), nullable=False),
    sa.Column("name", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", _now, nullable=False),
)

gates = sa.Table(
    "gates",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("zone_id", sa.Integer, sa.ForeignKey("zones.id"), nullable=False, index=True),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("direction", sa.String(8), nullable=False),
    sa.Column("created_at", _now, nullable=False),
)

households = sa.Table(
    "households",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("zone_id", sa.Integer, sa.ForeignKey("zones.id"), nullable=False, index=True),
    sa.Column("building", sa.String(32), nullable=False),
    sa.Column("unit", sa.String(32), nullable=False),
    sa.Column("room", sa.String(32), nullable=False),
    sa.Column("label", sa.String(32), nullable=False),
    sa.Column("hold_until", _now, nullable=True),
    sa.Column("created_at", _now, nullable=False),
    sa.Column("updated_at", _now, nullable=False),
    sa.UniqueConstraint("building", "unit", "room"),
)

residents = sa.Table(
    "residents",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("household_id", sa.Integer, sa.ForeignKey("households.id"), nullable=False),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("phone", sa.String(20), nullable=True, index=True),
    sa.Column("role", sa.String(8), nullable=False),
    sa.Column("status", sa.String(20), nullable=False, server_default="normal"),
    sa.Column("observation_start", _now, nullable=True),
    sa.Column("observation_end", _now, nullable=True),
    sa.Column("consent_version", sa.String(32), nullable=True),
    sa.Column("consent_at", _now, nullable=True),
    sa.Column("note", sa.String(500), nullable=True),
    sa.Column("created_at", _now, nullable=False),
    sa.Column("updated_at", _now, nullable=False),
    # not unique: two people of one name in one flat are two residents (migration 0103)
    sa.Index("ix_residents_household_id_name", "household_id", "name"),
)

staff = sa.Table(
    "staff",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("username", sa.String(32), nullable=False, unique=True),
    sa.Column("display_name", sa.String(64), nullable=False),
    sa.Column("password_hash", sa.String(200), nullable=False),
    sa.Column("role", sa.String(8), nullable=False),
    sa.Column("zone_scope", sa.JSON, nullable=True),  # null: every zone
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("must_change_password", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("generation", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", _now, nullable=False),
    sa.Column("updated_at", _now, nullable=False),
)

visitors = sa.Table(
    "visitors",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("host_household_id", sa.Integer, sa.ForeignKey("households.id"), nullable=False),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("phone", sa.String(20), nullable=False),
    sa.Column("purpose", sa.String(200), nullable=False),
    sa.Column("valid_from", _now, nullable=False),
    sa.Column("valid_until", _now, nullable=False, index=True),
    sa.Column("registered_by", sa.Integer, sa.ForeignKey("staff.id"), nullable=True),
    sa.Column("created_at", _now, nullable=False),
)

passes = sa.Table(
    "passes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("pass_id", sa.LargeBinary(12), nullable=False, unique=True),
    sa.Column("ref", sa.String(16), nullable=False, unique=True),
    sa.Column("kind", sa.String(8), nullable=False),
    sa.Column("text", sa.String(600), nullable=True),  # wiped when the holder is erased
    sa.Column("resident_id", sa.Integer, sa.ForeignKey("residents.id"), nullable=True, index=True),
    sa.Column("visitor_id", sa.Integer, sa.ForeignKey("visitors.id"), nullable=True, index=True),
    sa.Column("staff_id", sa.Integer, sa.ForeignKey("staff.id"), nullable=True, index=True),
    sa.Column(
        "household_id", sa.Integer, sa.ForeignKey("households.id"), nullable=True, index=True
    ),
    sa.Column("zones", sa.JSON, nullable=False),
    sa.Column("kid", sa.String(8), nullable=False, index=True),
    sa.Column("issued_by", sa.String(64), nullable=False),
    sa.Column("issued_at", _now, nullable=False),
    sa.Column("not_before", _now, nullable=False),
    sa.Column("expires", _now, nullable=False, index=True),
    sa.Column("revoked_at", _now, nullable=True),
    sa.Column("revoked_by", sa.String(64), nullable=True),
    sa.Column("revoke_reason", sa.String(200), nullable=True),
    sa.Column("renewed_from", sa.String(16), nullable=True),
)

keys = sa.Table(
    "keys",
    metadata,
    sa.Column("kid", sa.String(8), primary_key=True),
    sa.Column("use", sa.String(8), nullable=False),  # root, pass, revlist, control
    sa.Column("public_raw", sa.LargeBinary(65), nullable=False),
    sa.Column("file", sa.String(200), nullable=False),
    sa.Column("sign_from", _now, nullable=False),
    sa.Column("sign_until", _now, nullable=False),
    sa.Column("verify_until", _now, nullable=False),
    sa.Column("created_at", _now, nullable=False),
    sa.Column("retired_at", _now, nullable=True),
)

phone_keys = sa.Table(
    "phone_keys",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("file", sa.String(200), nullable=False),
    sa.Column("created_at", _now, nullable=False),
    sa.Column("retired_at", _now, nullable=True),
    sa.Column("zone_id", sa.Integer, nullable=True),  # NULL: the site key (multi-zone passes)
)

manifests = sa.Table(
    "manifests",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("issued_at", _now, nullable=False),
    sa.Column("signed", sa.LargeBinary, nullable=False),
)

household_cutoffs = sa.Table(
    "household_cutoffs",
    metadata,
    sa.Column("household_id", sa.Integer, sa.ForeignKey("households.id"), primary_key=True),
    sa.Column("at", _now, nullable=False),
    sa.Column("reason", sa.String(200), nullable=False),
)

pass_locks = sa.Table(  # revision 0102: locks after wrong phone digits, spread by the lists
    "pass_locks",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("ref", sa.String(16), nullable=False),
    sa.Column("gate", sa.String(32), nullable=False),  # the lane that reported it
    sa.Column("event_id", sa.String(36), nullable=False),
    sa.Column("locked_at", _now, nullable=False),  # the gate's time of the lock
    sa.Column("recorded_at", _now, nullable=False),
    sa.Column("cleared_at", _now, nullable=True),  # NULL while the lock holds
    sa.Column("cleared_by", sa.String(64), nullable=True),
    sa.Column("clear_note", sa.String(500), nullable=True),
    sa.Index("ix_pass_locks_ref_cleared_at", "ref", "cleared_at"),
)

card_pins = sa.Table(  # revision 0104: card PINs of residents without a phone (issue 16)
    "card_pins",
    metadata,
    sa.Column("ref", sa.String(16), primary_key=True),  # the pass whose tag the PIN matches
    sa.Column("resident_id", sa.Integer, nullable=True, index=True),
    sa.Column("key_version", sa.Integer, nullable=False),  # the phone-tag key of the hash
    sa.Column("pin_hash", sa.LargeBinary(32), nullable=False),  # keyed: HMAC-SHA256
    sa.Column("pending", sa.String(4), nullable=True),  # the PIN until its card is printed
    sa.Column("created_at", _now, nullable=False),
    sa.Column("printed_at", _now, nullable=True),
)

counters = sa.Table(
    "counters",
    metadata,
    sa.Column("name", sa.String(32), primary_key=True),
    sa.Column("value", sa.Integer, nullable=False),
)

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id_hash", sa.String(64), primary_key=True),
    sa.Column("staff_id", sa.Integer, sa.ForeignKey("staff.id"), nullable=False, index=True),
    sa.Column("generation", sa.Integer, nullable=False),
    sa.Column("csrf", sa.String(64), nullable=False),
    sa.Column("created_at", _now, nullable=False),
    sa.Column("last_seen", _now, nullable=False),
)

login_failures = sa.Table(
    "login_failures",
    metadata,
    sa.Column("key", sa.String(100), primary_key=True),  # "user:<name>" or "ip:<address>"
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("window_start", _now, nullable=False),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", _now, nullable=False, index=True),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("action", sa.String(40), nullable=False, index=True),
    sa.Column("target", sa.String(64), nullable=True),
    sa.Column("address", sa.String(64), nullable=True),
    sa.Column("detail", sa.JSON, nullable=False),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("event_id", sa.String(36), nullable=False, unique=True),
    sa.Column("gate", sa.String(32), nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),  # 64-bit since revision 0002
    sa.Column("at_ms", sa.BigInteger, nullable=False, index=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("granted", sa.Boolean, nullable=True),
    sa.Column("reason", sa.String(32), nullable=True),
    sa.Column("pass_ref", sa.String(16), nullable=True, index=True),
    sa.Column("body_c", sa.Float, nullable=True),  # health data: cleared by retention
    sa.Column("temperatures", sa.JSON, nullable=True),  # health data: cleared by retention
    sa.Column("received_at", _now, nullable=False),
    # issue 6 (revision 0002): the rest of the GateEvent, and a flag for suspicious events
    sa.Column("boot_id", sa.String(32), nullable=True),
    sa.Column("clock_trusted", sa.Boolean, nullable=True),
    sa.Column("lane", sa.String(8), nullable=True),
    sa.Column("offline", sa.Boolean, nullable=True),
    sa.Column("mode", sa.String(16), nullable=True),
    sa.Column("alarm", sa.String(32), nullable=True),
    sa.Column("holder_kind", sa.String(8), nullable=True),  # GateEvent.pass_kind
    sa.Column("operator", sa.String(64), nullable=True),
    sa.Column("note", sa.String(200), nullable=True),
    sa.Column("flag", sa.String(16), nullable=True),  # seq_replay: a used seq with a new id
    sa.Index("ix_events_gate_at_ms", "gate", "at_ms"),
    sa.Index(
        "uq_events_gate_seq",
        "gate",
        "seq",
        unique=True,
        sqlite_where=sa.text("flag IS NULL"),
        postgresql_where=sa.text("flag IS NULL"),
    ),
)

# home-observation follow-up calls (revision 0100): health data, deleted with the resident
followup_calls = sa.Table(
    "followup_calls",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "resident_id",
        sa.Integer,
        sa.ForeignKey("residents.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("at", _now, nullable=False),
    sa.Column("reached", sa.Boolean, nullable=False),
    sa.Column("temperature_c", sa.Float, nullable=True),  # health data
    sa.Column("symptoms", sa.JSON, nullable=False),  # health data: list of symptom codes
    sa.Column("note", sa.String(500), nullable=True),
    sa.Column("caller", sa.String(64), nullable=False),
    sa.Index("ix_followup_calls_resident_id_at", "resident_id", "at"),
)


deletion_receipts = sa.Table(
    "deletion_receipts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", _now, nullable=False),
    sa.Column("subject", sa.String(64), nullable=False),  # pseudonymous reference
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("passes_revoked", sa.Integer, nullable=False),
)

site_settings = sa.Table(
    "settings",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.JSON, nullable=False),
)


import_baselines = sa.Table(  # what the last import wrote per resident (migration 0103)
    "import_baselines",
    metadata,
    sa.Column(
        "resident_id",
        sa.Integer,
        sa.ForeignKey("residents.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    sa.Column("phone", sa.String(20), nullable=True),
    sa.Column("role", sa.String(8), nullable=False),
    sa.Column("note", sa.String(500), nullable=True),
    sa.Column("observed", sa.Boolean, nullable=False),
    sa.Column("observation_start", _now, nullable=True),
    sa.Column("imported_at", _now, nullable=False),
)

erased_fingerprints = sa.Table(  # keyed (address, name) of erased residents (migration 0103)
    "erased_fingerprints",
    metadata,
    sa.Column("fingerprint", sa.String(64), primary_key=True),
    sa.Column("at", _now, nullable=False),
)

followup_callers = sa.Table(  # zones where an account calls observed residents (migration 0105)
    "followup_callers",
    metadata,
    sa.Column(
        "staff_id",
        sa.Integer,
        sa.ForeignKey("staff.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    sa.Column(
        "zone_id",
        sa.Integer,
        sa.ForeignKey("zones.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    sa.Column("granted_at", _now, nullable=False),
    sa.Column("granted_by", sa.String(64), nullable=False),
)
