"""Signed commands to one gate: open once (with a reason), set mode, resync.

A command is signed with the site's control key, carries a fresh request id and expires
``command_ttl_s`` (30 s) after it is issued, so a command that reaches a gate late (after a
network cut) is refused there rather than opening a lane nobody is watching. It is recorded and
audited before it is published (QoS 1, never retained); the gate's ``command-results`` answer is
stored against it by ingest. Who may send what is ``authorize``: staff every command to the lanes
of their own zones (the checkpoint's tablet opens the lane and switches lockdown where it
stands), admins to every lane; a lane outside the caller's zones does not exist for them.

This is the one road from staff to a gate: the JSON API sends its typed request, the staff
console its form fields through ``parse``, and both arrive at ``send``.
"""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from typing import Any

from msgspec.structs import replace

from protocol import messages
from protocol.manifest import KeyUse
from protocol.messages import Command, CommandKind, Mode, OverrideReason
from protocol.topics import TopicKind, gate_topic
from server.records import Gate, SentCommand
from server.services import audit
from server.services.context import Actor, Env
from server.services.errors import Conflict, Forbidden, Invalid, LinkDown, NotFound
from server.services.gates.port import Sender
from server.services.paging import Page
from server.services.passes.keys import signing_key
from server.services.text import clean_text
from server.store import commands as command_store
from server.store import registry
from server.store.db import Connection
from server.store.errors import IntegrityViolation

PUBLISH_TIMEOUT_S = 5.0
# the console's short list of reasons is the protocol's, so a gate can never be sent one it lacks
OPEN_REASONS = tuple(r.value for r in OverrideReason)
# what the console switches between; maintenance is set on the gate itself, not from a tablet
CONSOLE_MODES = (Mode.NORMAL.value, Mode.LOCKDOWN.value, Mode.FREE_PASSAGE.value)


def authorize(actor: Actor, row: Gate | None, gate: str, kind: CommandKind) -> None:
    """Admins command every lane; staff any command (``kind``), but only to lanes in their zones.

    Raises NotFound (not Forbidden) for a lane outside the caller's zones, as every other scoped
    lookup does, so a staff account cannot learn which lanes exist elsewhere."""
    if row is None or (actor.scope is not None and row.zone_id not in actor.scope):
        raise NotFound(f"gate {gate}")
    if not (actor.is_admin or actor.role == "staff"):
        raise Forbidden(f"{actor.role} accounts send no commands ({kind.value})")


class _TimeOrderedIds:
    """UUIDv7s (RFC 9562): unique like a v4 but ordered by time and strictly increasing in this
    process, so a lane's commands list newest first even when two fall in the same second."""

    def __init__(self) -> None:
        self._last_ms = 0
        self._lock = threading.Lock()

    def __call__(self) -> str:
        with self._lock:
            self._last_ms = ms = max(time.time_ns() // 1_000_000, self._last_ms + 1)
        rand_a, rand_b = secrets.randbits(12), secrets.randbits(62)
        return str(uuid.UUID(int=ms << 80 | 0x7 << 76 | rand_a << 64 | 0b10 << 62 | rand_b))


request_id = _TimeOrderedIds()


def _command(
    site: str, gate: str, actor: Actor, kind: CommandKind, *, now: int, ttl: int, **fields: Any
) -> Command:
    try:
        return Command(
            site=site,
            gate=gate,
            request_id=request_id(),
            kind=kind,
            issued_at=now,
            expires_at=now + ttl,
            operator=actor.name[:64],
            **fields,
        )
    except ValueError as exc:
        raise Invalid(str(exc)) from None


async def send(
    env: Env,
    sender: Sender | None,
    actor: Actor,
    gate: str,
    kind: CommandKind,
    *,
    reason: OverrideReason | None = None,
    note: str | None = None,
    mode: Mode | None = None,
) -> SentCommand:
    """Sign, record, audit and publish a command; returns its row (``sent`` once PUBACKed)."""
    if sender is None or not sender.connected:
        raise LinkDown("the broker link is down: the command was not sent")
    note = None if note is None else clean_text(note, field="note", max_length=200, required=False)
    now = env.clock.now()
    async with env.db.write() as conn:
        authorize(actor, await registry.get_gate(conn, gate_id=gate), gate, kind)
        site = await registry.get_site(conn)
        assert site is not None
        command = _command(
            site.id,
            gate,
            actor,
            kind,
            now=now,
            ttl=env.settings.command_ttl_s,
            reason=reason,
            note=note or None,
            mode=mode,
        )
        _key_row, key = await signing_key(conn, env.keys_dir, use=KeyUse.CONTROL, now=now)
        payload = messages.seal_command(command, key)
        row = await _record(conn, actor, command, now=now)
    topic = str(gate_topic(site.id, gate, TopicKind.COMMANDS))
    if await sender.publish_wait(topic, payload, retain=False, wait_s=PUBLISH_TIMEOUT_S):
        async with env.db.write() as conn:
            await command_store.mark_sent(conn, request_id=command.request_id)
        row = replace(row, sent=True)
    return row


async def _record(conn: Connection, actor: Actor, command: Command, *, now: int) -> SentCommand:
    """Store and audit the command before it is published; returns its row."""
    row = SentCommand(
        request_id=command.request_id,
        gate=command.gate,
        kind=command.kind.value,
        mode=None if command.mode is None else command.mode.value,
        reason=None if command.reason is None else command.reason.value,
        note=command.note,
        operator=command.operator,
        issued_at=now,
        expires_at=command.expires_at,
        sent=False,
        outcome=None,
        result_at=None,
        detail=None,
    )
    try:
        await command_store.insert_command(conn, row)
    except IntegrityViolation:
        raise Conflict("request id clash; send again") from None
    target = f"gate:{command.gate}"
    await audit.record(
        conn,
        actor,
        "command.send",
        at=now,
        target=target,
        kind=row.kind,
        request_id=row.request_id,
    )
    return row


def parse(
    kind: str, *, reason: str | None = None, mode: str | None = None
) -> tuple[CommandKind, OverrideReason | None, Mode | None]:
    """A command as the console's form sends it (``open_once`` with one of OPEN_REASONS, or
    ``set_mode`` to one of CONSOLE_MODES); Invalid says what is missing or unknown."""
    if kind == CommandKind.OPEN_ONCE and reason not in OPEN_REASONS:
        raise Invalid("choose a reason for opening the lane")
    if kind == CommandKind.SET_MODE and mode not in CONSOLE_MODES:
        raise Invalid("unknown mode")
    try:
        command_kind = CommandKind(kind)
    except ValueError:
        raise Invalid(f"unknown command {kind[:20]!r}") from None
    return (
        command_kind,
        None if reason is None else OverrideReason(reason),
        None if mode is None else Mode(mode),
    )


async def recent(env: Env, actor: Actor, gate: str, *, limit: int = 5) -> list[SentCommand]:
    """The lane's newest commands with the gate's answers (``outcome`` None until it answers),
    so the person who tapped sees whether the gate did it."""
    rows, _total = await list_commands(env, actor, Page(1, limit, "issued_at", True), gate=gate)
    return rows


async def list_commands(
    env: Env, actor: Actor, page: Page, *, gate: str | None = None
) -> tuple[list[SentCommand], int]:
    """Commands to gates in the actor's zones, newest first."""
    async with env.db.read() as conn:
        gates = [g.id for g in await registry.list_gates(conn, scope=actor.scope)]
        wanted = [g for g in gates if gate is None or g == gate]
        scoped = None if actor.scope is None and gate is None else wanted
        return await command_store.search_commands(conn, gates=scoped, page=page)
