"""``gatepass-server broker-config --out DIR``: the site's mosquitto configuration.

Writes ``DIR/mosquitto.conf``, ``DIR/passwd`` (one ``mosquitto_passwd`` hash per gate and one
for the server; no plain password is kept) and ``DIR/acl`` (``pattern`` lines from
``protocol.topics.gate_acl`` so a gate reaches only its own topics, a ``user`` block per gate
naming the peers whose presence it may read, ``topic`` lines from ``server_acl`` for the
server; ``server.services.gates.broker_files.render_acl``), and creates ``DIR/data`` for
persistence. Re-running it, or
``gate add|remove|rekey``, rewrites the files; a reload (SIGHUP) applies them.

``use_username_as_clientid true`` binds each client id to its account: the broker replaces the
id a client asks for with its username, so one gate's password can no longer connect as
``server`` or as another gate and take their sessions. Gates ask for their username (the gate
id) and the server for ``server``, the ids the broker gives them anyway. Someone holding an
account's own password still takes over that account's session; the one dropped counts it
(protocol.takeovers) and the server raises ``session_takeover``.

Sizing (mosquitto 2.0.11, the version Debian 12 ships), also in docs/operations.md:

* peak rate: 6 lanes x 600 decisions an hour (design: "a few hundred entries per lane at peak
  hour") = 3,600 events/h, plus at most one status per gate per minute = 360/h;
* a day's server outage at that rate queues 24 x 3,960 = 95,040 messages for the server's
  session, so ``max_queued_messages`` is 200,000 (2x headroom; ~140 MB at ~700 B each) and both
  ``persistent_client_expiration`` and the server's session expiry are 2 days;
* ``message_size_limit`` 5 MiB is above the 4 MiB cap of a full revocation list, and
  ``max_packet_size`` leaves 64 KiB for the packet's header and properties;
* ``max_inflight_messages`` 2,000 matches the receive maximum the server announces, so the
  broker keeps streaming to the server while a batch commits (its PUBACKs follow the commit);
* ``autosave_interval`` 5 s (a timer; ``autosave_on_changes`` off): a session the server or a
  gate makes is on disk within 5 s, so a broker SIGKILLed after that keeps it, and loses at
  most 5 s of queued messages, which the gates' outboxes resend (their rows leave only on the
  server's ack). Not on each change: each save writes the whole database and in mosquitto 2.0
  every message queued, delivered or acknowledged counts as a change, so saving every 20th
  change cut the ingest bench's raw broker throughput from about 10,000 to 665 messages a
  second (4 gates x 4,000 events), and the cost grows with the backlog, worst during the drain
  after an outage; a 5-s timer costs one write of the database every 5 s whatever the rate. A
  lost session costs little anyway: the server subscribes again at every connect and the gates
  resend their unacknowledged events when its ``online`` status arrives (issue 15, item 2).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from server.services.context import Env
from server.services.gates.broker_accounts import (
    SERVER_ACCOUNT,
    broker_accounts,
    remember_broker_dir,
)
from server.services.gates.broker_files import render_acl, write_atomic, write_password_file

logger = logging.getLogger(__name__)

MESSAGE_SIZE_LIMIT = 5 * 1024 * 1024
MAX_PACKET_SIZE = MESSAGE_SIZE_LIMIT + 64 * 1024
MAX_QUEUED_MESSAGES = 200_000
MAX_INFLIGHT = 2000
EXPIRATION = "2d"
AUTOSAVE_S = 5
# A listener's own option (given before any listener it would open a default one on 1883), not
# applied by a reload: one line under each listener, and a restart to take effect.
BIND_CLIENT_IDS = "use_username_as_clientid true"


@dataclass(frozen=True, slots=True)
class BrokerOptions:
    """What ``broker-config`` was asked for."""

    out: Path
    bind: str = "127.0.0.1"
    port: int = 1883
    tls_port: int | None = None
    tls_bind: str = "0.0.0.0"  # noqa: S104 - the TLS listener is the one gates on the LAN use
    tls_cert: Path | None = None
    tls_key: Path | None = None
    group: str | None = None
    log_file: Path | None = None


def render_conf(site: str, options: BrokerOptions) -> str:
    """mosquitto.conf for the site, with absolute paths into ``options.out``."""
    out = options.out.resolve()
    lines = [
        f"# mosquitto configuration of gatepass site {site}: written by gatepass-server",
        "# broker-config; re-run it instead of editing (docs/operations.md explains each line).",
        "per_listener_settings false",
        "allow_anonymous false",
        f"password_file {out / 'passwd'}",
        f"acl_file {out / 'acl'}",
        "",
        f"listener {options.port} {options.bind}",
        BIND_CLIENT_IDS,
    ]
    if options.tls_port is not None:
        if options.tls_cert is None or options.tls_key is None:
            raise ValueError("a TLS listener needs --tls-cert and --tls-key")
        lines += [
            f"listener {options.tls_port} {options.tls_bind}",
            BIND_CLIENT_IDS,
            f"certfile {options.tls_cert.resolve()}",
            f"keyfile {options.tls_key.resolve()}",
            "tls_version tlsv1.2",
        ]
    lines += _limits(out) + _logging(options)
    return "\n".join(lines) + "\n"


def _limits(out: Path) -> list[str]:
    """Persistence, session expiry and the queue and size limits (sized in the module doc)."""
    return [
        "",
        "persistence true",
        f"persistence_location {out / 'data'}/",
        "persistence_file mosquitto.db",
        f"autosave_interval {AUTOSAVE_S}",
        "autosave_on_changes false",
        f"persistent_client_expiration {EXPIRATION}",
        f"max_queued_messages {MAX_QUEUED_MESSAGES}",
        "max_queued_bytes 0",
        f"max_inflight_messages {MAX_INFLIGHT}",
        f"message_size_limit {MESSAGE_SIZE_LIMIT}",
        f"max_packet_size {MAX_PACKET_SIZE}",
        "max_keepalive 300",
        "set_tcp_nodelay true",
    ]


def _logging(options: BrokerOptions) -> list[str]:
    destination = f"file {options.log_file.resolve()}" if options.log_file else "stderr"
    return [
        "",
        f"log_dest {destination}",
        "log_type error",  # one type per line: mosquitto reads only the first word of each
        "log_type warning",
        "log_type notice",
        "log_type information",
        "connection_messages true",
        "log_timestamp true",
    ]


async def write_broker_config(env: Env, options: BrokerOptions) -> list[Path]:
    """Write the configuration directory; returns the files written."""
    accounts = await broker_accounts(env)
    out = options.out
    out.mkdir(parents=True, exist_ok=True)
    out.chmod(0o750)  # the CLI's umask is 077; the broker's group must enter the directory
    data = out / "data"
    data.mkdir(mode=0o700, exist_ok=True)
    if options.group is not None:
        import grp

        gid = grp.getgrnam(options.group).gr_gid
        for directory in (out, data):
            os.chown(directory, -1, gid)
        os.chmod(data, 0o770)  # noqa: S103 - the broker's group must write its persistence
    conf, passwd, acl = out / "mosquitto.conf", out / "passwd", out / "acl"
    write_atomic(conf, render_conf(accounts.site, options), group=options.group)
    write_password_file(passwd, accounts.hash_lines, group=options.group)
    write_atomic(
        acl, render_acl(accounts.site, accounts.peers, server=SERVER_ACCOUNT), group=options.group
    )
    await remember_broker_dir(env, out)
    count = len(accounts.hash_lines)
    logger.info("broker configuration for %d accounts written to %s", count, out)
    return [conf, passwd, acl]
