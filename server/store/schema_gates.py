"""Tables of the MQTT link (issue 6, revision 0002; refused seqs 0004), on the registry's one
``metadata``.

Ingest state per gate (highest contiguous settled seq: committed, or refused as a dead letter
with its seq), the gates' retained status, declared sequence gaps, dead letters, alerts,
commands and their results, per-gate config versions, the broker accounts' password hashes,
and the last published signed messages. Times are unix seconds, gate times unix milliseconds,
sequence numbers 64-bit (a gate reseeds at a time in ms).
"""

from __future__ import annotations

import sqlalchemy as sa

from server.store.schema import metadata

_now = sa.Integer  # unix seconds
_seq = sa.BigInteger

gate_ingest = sa.Table(
    "gate_ingest",
    metadata,
    sa.Column("gate", sa.String(32), primary_key=True),
    sa.Column("acked_seq", _seq, nullable=False),  # every seq up to here is stored or refused
    sa.Column("max_seq", _seq, nullable=False),  # highest seq committed
    sa.Column("events", sa.Integer, nullable=False),
    sa.Column("duplicates", sa.Integer, nullable=False),
    sa.Column("replays", sa.Integer, nullable=False),
    sa.Column("updated_at", _now, nullable=False),
)

gate_status = sa.Table(
    "gate_status",
    metadata,
    sa.Column("gate", sa.String(32), primary_key=True),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("since", _now, nullable=False),  # when ``state`` last changed (server clock)
    sa.Column("at_ms", sa.BigInteger, nullable=False),
    sa.Column("boot_id", sa.String(32), nullable=False),
    sa.Column("software", sa.String(64), nullable=False),
    sa.Column("mode", sa.String(16), nullable=False),
    sa.Column("clock_trusted", sa.Boolean, nullable=False),
    sa.Column("outbox_depth", _seq, nullable=False),
    sa.Column("outbox_floor_seq", _seq, nullable=True),
    sa.Column("manifest_seq", _seq, nullable=True),
    sa.Column("revocation_seq", _seq, nullable=True),
    sa.Column("config_version", _seq, nullable=True),
    sa.Column("devices", sa.JSON, nullable=False),
    sa.Column("received_at", _now, nullable=False),
    sa.Column("dead_letters", sa.Integer, nullable=False, server_default="0"),  # held by the gate
)

seq_gaps = sa.Table(
    "seq_gaps",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("gate", sa.String(32), nullable=False, index=True),
    sa.Column("from_seq", _seq, nullable=False),
    sa.Column("to_seq", _seq, nullable=False),
    sa.Column("detected_at", _now, nullable=False),
)

dead_letters = sa.Table(
    "dead_letters",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("received_at", _now, nullable=False, index=True),
    sa.Column("topic", sa.String(256), nullable=False),
    sa.Column("gate", sa.String(32), nullable=True),
    sa.Column("reason", sa.String(40), nullable=False),
    sa.Column("detail", sa.String(500), nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("payload", sa.LargeBinary, nullable=False),  # the first 64 KiB, as received
    # a refused event's seq, when known: the gate's ack names it and the window moves past it
    sa.Column("seq", _seq, nullable=True),
    sa.Index("ix_dead_letters_gate_seq", "gate", "seq"),
)

alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("severity", sa.String(8), nullable=False),
    sa.Column("gate", sa.String(32), nullable=True, index=True),
    sa.Column("subject", sa.String(64), nullable=False),  # pass ref, device name, or ""
    sa.Column("detail", sa.JSON, nullable=False),
    sa.Column("event_id", sa.String(36), nullable=True),
    sa.Column("first_at", _now, nullable=False, index=True),
    sa.Column("last_at", _now, nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("resolved_at", _now, nullable=True),
    sa.Column("acked_at", _now, nullable=True),
    sa.Column("acked_by", sa.String(64), nullable=True),
    sa.Column("ack_note", sa.String(500), nullable=True),
    sa.Index("ix_alerts_open", "kind", "gate", "subject", "acked_at"),
)

commands = sa.Table(
    "commands",
    metadata,
    sa.Column("request_id", sa.String(36), primary_key=True),
    sa.Column("gate", sa.String(32), nullable=False, index=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("mode", sa.String(16), nullable=True),
    sa.Column("reason", sa.String(32), nullable=True),
    sa.Column("note", sa.String(200), nullable=True),
    sa.Column("operator", sa.String(64), nullable=False),
    sa.Column("issued_at", _now, nullable=False, index=True),
    sa.Column("expires_at", _now, nullable=False),
    sa.Column("sent", sa.Boolean, nullable=False),
    sa.Column("outcome", sa.String(16), nullable=True),
    sa.Column("result_at", sa.BigInteger, nullable=True),  # the gate's time, ms
    sa.Column("detail", sa.String(200), nullable=True),
)

gate_configs = sa.Table(
    "gate_configs",
    metadata,
    sa.Column("gate", sa.String(32), primary_key=True),
    sa.Column("version", _seq, nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("issued_at", _now, nullable=False),
    sa.Column("policy", sa.JSON, nullable=False),  # overrides of the site's default policy
)

broker_accounts = sa.Table(
    "broker_accounts",
    metadata,
    sa.Column("username", sa.String(64), primary_key=True),
    sa.Column("role", sa.String(8), nullable=False),  # server or gate
    sa.Column("hash_line", sa.String(300), nullable=False),  # "user:$7$..." by mosquitto_passwd
    sa.Column("created_at", _now, nullable=False),
    sa.Column("updated_at", _now, nullable=False),
)

link_published = sa.Table(
    "link_published",
    metadata,
    sa.Column("name", sa.String(32), primary_key=True),  # manifest, revocations
    sa.Column("seq", _seq, nullable=False),
    sa.Column("issued_at", _now, nullable=False),
    sa.Column("payload", sa.LargeBinary, nullable=False),  # signed bytes as published
    sa.Column("body", sa.LargeBinary, nullable=True),  # msgpack of the unsigned model (deltas)
    sa.Column("published_at", _now, nullable=False),  # when this seq was first published
)

# issue 17 (revision 0106): what staff did about an alert (a call, a reissue, an unlock, the
# outcome that closed it), deleted with the alert
alert_actions = sa.Table(
    "alert_actions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "alert_id", sa.Integer, sa.ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("at", _now, nullable=False),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("outcome", sa.String(16), nullable=True),
    sa.Column("note", sa.String(500), nullable=True),
    sa.Index("ix_alert_actions_alert_id", "alert_id"),
)

# issue 17 (revision 0106): refused checks (拒绝检测/劝返) recorded at a lane's console
refusals = sa.Table(
    "refusals",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", _now, nullable=False),
    sa.Column("gate", sa.String(32), nullable=False),
    sa.Column("zone_id", sa.Integer, nullable=False),
    sa.Column(
        "household_id",
        sa.Integer,
        sa.ForeignKey("households.id", ondelete="SET NULL"),
        nullable=True,
    ),
    sa.Column("pass_ref", sa.String(16), nullable=True),
    sa.Column("event_id", sa.String(36), nullable=True),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("note", sa.String(200), nullable=True),
    sa.Index("ix_refusals_at", "at"),
    sa.Index("ix_refusals_household_id", "household_id"),
)


# Alerts to the staff's group chat (issue 17 item 5, revision 0107): the channels an admin set
# up, which alert kinds go to which channel, the notices the raising path enqueues (an insert,
# never network I/O) and the deliveries the background worker folds them into and sends.
chat_channels = sa.Table(
    "chat_channels",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(64), nullable=False, unique=True),
    sa.Column("vendor", sa.String(16), nullable=False),  # wecom, dingtalk, feishu, webhook
    sa.Column("url", sa.String(500), nullable=False),  # may hold the robot's key: never shown
    sa.Column("secret", sa.String(200), nullable=True),  # signing secret: never shown
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("created_at", _now, nullable=False),
    sa.Column("updated_at", _now, nullable=False),
)

chat_routes = sa.Table(
    "chat_routes",
    metadata,
    sa.Column("channel_id", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String(32), primary_key=True),
)

chat_notices = sa.Table(
    "chat_notices",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("alert_id", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("gate", sa.String(32), nullable=True),
    sa.Column("at", _now, nullable=False),
)

chat_deliveries = sa.Table(
    "chat_deliveries",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("channel_id", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("state", sa.String(8), nullable=False),  # pending, sent, failed
    sa.Column("count", sa.Integer, nullable=False),  # occurrences folded into this message
    sa.Column("alert_id", sa.Integer, nullable=False),  # the latest one folded in
    sa.Column("gates", sa.JSON, nullable=False),  # the lanes of the folded occurrences
    sa.Column("first_at", _now, nullable=False),
    sa.Column("last_at", _now, nullable=False),
    sa.Column("not_before", _now, nullable=False),  # one message a window per channel and kind
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_at", _now, nullable=False),
    sa.Column("sent_at", _now, nullable=True),
    sa.Column("error", sa.String(200), nullable=True),
    sa.Index("ix_chat_deliveries_due", "state", "next_at"),
    sa.Index("ix_chat_deliveries_gather", "channel_id", "kind", "state"),
)


# revision 0108: a zone's policy overrides, applied under its lanes' own (issue 17 item 6)
zone_policies = sa.Table(
    "zone_policies",
    metadata,
    sa.Column(
        "zone_id",
        sa.Integer,
        sa.ForeignKey("zones.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    sa.Column("policy", sa.JSON, nullable=False),  # overrides of the site's default policy
    sa.Column("updated_at", _now, nullable=False),
    sa.Column("updated_by", sa.String(64), nullable=False),
)
