"""The gate's trust store: the manifest, revocation lists, config and commands it verified.

Every signed message is verified before it is applied, applied only if it is newer, and stored
(the signed bytes, so a restart re-verifies instead of trusting a cache). Anything refused
leaves the last good state untouched and raises a ``MessageError`` whose text the caller logs
and reports. A revocation delta that does not follow the applied list is a gap: the caller
re-reads the retained full list. (The server's *registry* is something else: its households.)
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import msgspec

from device.store.outbox import GateStore
from protocol.cose import PublicKey
from protocol.errors import MessageError, StaleUpdate
from protocol.manifest import (
    KeyManifest,
    KeyUse,
    TrustedKey,
    accept_manifest,
    open_manifest,
    trusted_keys,
)
from protocol.messages import Command, CommandOutcome, GateConfig, open_command, open_config
from protocol.passes import Trust
from protocol.revocation import (
    RevocationState,
    apply_delta,
    apply_full,
    open_delta,
    open_full,
)

logger = logging.getLogger(__name__)

_SEEN_COMMANDS = "seen-commands"


@dataclass
class TrustedState:
    """The current trusted state; replaced piece by piece as newer signed messages arrive."""

    manifest: KeyManifest | None = None
    keys: dict[bytes, TrustedKey] = field(default_factory=dict)
    revocations: RevocationState | None = None
    config: GateConfig | None = None

    def keys_for(self, use: KeyUse) -> dict[bytes, PublicKey]:
        """Public keys the manifest lists for ``use``, by kid."""
        return {kid: k.public for kid, k in self.keys.items() if k.use == use}


class TrustStore:
    """Verifies, applies and persists the server's signed messages for one gate."""

    def __init__(self, site: str, gate: str, root: PublicKey, store: GateStore) -> None:
        self.site, self.gate, self.root, self.store = site, gate, root, store
        self.applied = TrustedState()
        self._deltas: list[bytes] = []
        self._seen: dict[str, int] = {}

    def for_passes(self, skew: int = 300) -> Trust:
        """The pass-verification trust for the current manifest and revocation list."""
        keys = {kid: k for kid, k in self.applied.keys.items() if k.use == KeyUse.PASS}
        return Trust(self.site, keys, self.applied.revocations, skew)

    async def restore(self) -> list[str]:
        """Re-verify and apply what was stored before a restart; return what was refused."""
        problems: list[str] = []
        for name, apply in (("manifest", self.on_manifest), ("config", self.on_config)):
            blob = await self.store.get_blob(name)
            if blob is not None:
                problems += await _try(name, apply, blob)
        full = await self.store.get_blob("revocations-full")
        stored_deltas = await self.store.get_blob("revocations-deltas") or b"\x90"
        if full is not None:
            problems += await _try("revocations-full", self.on_full, full)  # clears the deltas
            for delta in msgspec.msgpack.decode(stored_deltas, type=list[bytes]):
                problems += await _try("revocations-delta", self.on_delta, delta)
        raw_seen = await self.store.get_blob(_SEEN_COMMANDS)
        self._seen = msgspec.msgpack.decode(raw_seen, type=dict[str, int]) if raw_seen else {}
        return problems

    async def on_manifest(self, data: bytes) -> KeyManifest:
        """A root-signed manifest with a higher seq replaces the key set."""
        manifest = accept_manifest(
            self.applied.manifest, open_manifest(data, self.root, site=self.site)
        )
        self.applied.manifest, self.applied.keys = manifest, trusted_keys(manifest)
        await self.store.put_blob("manifest", data)
        return manifest

    async def on_full(self, data: bytes) -> RevocationState:
        """A newer full list (or a heartbeat of the same one) replaces the revocation state."""
        full = open_full(data, self.applied.keys_for(KeyUse.REVLIST), site=self.site)
        state = apply_full(self.applied.revocations, full)
        self.applied.revocations, self._deltas = state, []
        await self.store.put_blob("revocations-full", data)
        await self.store.put_blob("revocations-deltas", msgspec.msgpack.encode([]))
        return state

    async def on_delta(self, data: bytes) -> RevocationState:
        """A delta that continues the applied list; SequenceGap otherwise (re-read the full)."""
        delta = open_delta(data, self.applied.keys_for(KeyUse.REVLIST), site=self.site)
        state = apply_delta(self.applied.revocations, delta)
        self.applied.revocations = state
        self._deltas.append(data)
        await self.store.put_blob("revocations-deltas", msgspec.msgpack.encode(self._deltas))
        return state

    async def on_config(self, data: bytes) -> GateConfig:
        """A signed config for this gate with a higher version replaces policy and phone keys."""
        keys = self.applied.keys_for(KeyUse.CONTROL)
        config = open_config(data, keys, site=self.site, gate=self.gate)
        current = self.applied.config
        if current is not None and config.version <= current.version:
            raise StaleUpdate(f"config version {config.version} is not above {current.version}")
        self.applied.config = config
        await self.store.put_blob("config", data)
        return config

    async def open_command(self, data: bytes, now: int) -> Command:
        """A signed command, not expired and seen for the first time.

        Raises MessageError if it cannot be trusted at all (no answer is owed), and
        CommandRejected (with the outcome to report) if it is expired or a replay.
        """
        keys = self.applied.keys_for(KeyUse.CONTROL)
        command = open_command(data, keys, site=self.site, gate=self.gate)
        if command.request_id in self._seen:
            raise CommandRejected(command, CommandOutcome.REPLAYED, "request id seen before")
        if now > command.expires_at:
            raise CommandRejected(
                command, CommandOutcome.EXPIRED, f"expired at {command.expires_at}"
            )
        self._seen = {rid: exp for rid, exp in self._seen.items() if exp >= now}
        self._seen[command.request_id] = command.expires_at
        await self.store.put_blob(_SEEN_COMMANDS, msgspec.msgpack.encode(self._seen))
        return command


class CommandRejected(Exception):
    """A verified command the gate will not carry out; ``outcome`` goes into the result."""

    def __init__(self, command: Command, outcome: CommandOutcome, detail: str) -> None:
        super().__init__(detail)
        self.command, self.outcome = command, outcome


async def _try(name: str, apply: Callable[[bytes], Awaitable[object]], blob: bytes) -> list[str]:
    """Apply a stored blob; a refusal is reported, never fatal (the server will resend)."""
    try:
        await apply(blob)
    except MessageError as exc:
        logger.warning("stored %s refused at start: %s", name, exc)
        return [f"{name}: {exc}"]
    return []
