"""A test site: the server's keys and the signed messages it sends, built with ``protocol``.

Tests of the gate use it to play the server's part (manifest, revocation lists, config,
commands, passes) without the server package.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from typing import Any

import msgspec

from protocol import messages
from protocol.claims import PassClaims, PassKind
from protocol.keys import generate_ed25519, raw_public
from protocol.manifest import KeyManifest, KeyUse, key_entry, sign_manifest
from protocol.messages import Command, CommandKind, GateConfig, LaneDirection, Policy
from protocol.passes import issue
from protocol.phonetag import phone_tag
from protocol.revocation import (
    HouseholdTime,
    RefTime,
    RevocationDelta,
    RevocationFull,
    pack_refs,
    sign_revocations,
)

YEAR = 365 * 86400


@dataclass
class TestSite:
    """Keys and message builders for one site."""

    __test__ = False

    site: str = "gw01"
    now: int = 1_790_000_000
    root: Any = field(default_factory=generate_ed25519)
    pass_key: Any = field(default_factory=generate_ed25519)
    revlist_key: Any = field(default_factory=generate_ed25519)
    control_key: Any = field(default_factory=generate_ed25519)
    phone_key: bytes = field(default_factory=lambda: os.urandom(32))

    @property
    def root_hex(self) -> str:
        return raw_public(self.root).hex()

    def manifest(self, seq: int = 1) -> bytes:
        keys = [
            key_entry(
                self.pass_key, KeyUse.PASS, self.now - YEAR, self.now + YEAR, self.now + 2 * YEAR
            ),
            key_entry(self.revlist_key, KeyUse.REVLIST, 0, self.now + YEAR, self.now + 2 * YEAR),
            key_entry(self.control_key, KeyUse.CONTROL, 0, self.now + YEAR, self.now + 2 * YEAR),
        ]
        body = KeyManifest(schema=1, site=self.site, seq=seq, issued_at=self.now, keys=keys)
        return sign_manifest(body, self.root)

    def full(self, seq: int = 1, refs: set[bytes] = frozenset(), **changes: Any) -> bytes:  # type: ignore[assignment]
        body = RevocationFull(
            schema=1,
            site=self.site,
            seq=seq,
            issued_at=self.now + seq,
            next_update=self.now + 6 * 3600,
            refs=pack_refs(set(refs)),
            cutoffs=[],
            pass_holds=[],
            household_holds=[],
        )
        return sign_revocations(msgspec.structs.replace(body, **changes), self.revlist_key)

    def delta(self, frm: int, to: int, **changes: Any) -> bytes:
        body = RevocationDelta(
            schema=1,
            site=self.site,
            from_seq=frm,
            to_seq=to,
            issued_at=self.now + to,
            next_update=self.now + 6 * 3600,
            add_refs=b"",
            remove_refs=b"",
            cutoffs=[],
            pass_holds=[],
            household_holds=[],
            clear_pass_holds=b"",
            clear_household_holds=[],
        )
        return sign_revocations(msgspec.structs.replace(body, **changes), self.revlist_key)

    def config(
        self,
        gate: str,
        version: int = 1,
        zone: int = 1,
        direction: LaneDirection = LaneDirection.IN,
        peers: tuple[str, ...] = (),
        **policy: Any,
    ) -> bytes:
        body = GateConfig(
            site=self.site,
            gate=gate,
            version=version,
            issued_at=self.now,
            zone=zone,
            direction=direction,
            policy=msgspec.structs.replace(Policy(), **policy),
            phone_keys={1: self.phone_key},
            peers=list(peers) or msgspec.UNSET,
        )
        return messages.seal_config(body, self.control_key)

    def command(
        self, gate: str, kind: CommandKind = CommandKind.OPEN_ONCE, **changes: Any
    ) -> bytes:
        base: dict[str, Any] = {
            "site": self.site,
            "gate": gate,
            "request_id": str(uuid.uuid4()),
            "kind": kind,
            "issued_at": self.now,
            "expires_at": self.now + 60,
            "operator": "staff-li",
        }
        if kind == CommandKind.OPEN_ONCE:
            base["reason"] = messages.OverrideReason.NO_SMARTPHONE
        return messages.seal_command(Command(**(base | changes)), self.control_key)

    def pass_text(
        self, kind: PassKind = PassKind.RESIDENT, digits: str = "6688", **changes: Any
    ) -> str:
        pass_id = os.urandom(12)
        base: dict[str, Any] = {
            "site": self.site,
            "pass_id": pass_id,
            "kind": kind,
            "issued_at": self.now - 60,
            "not_before": self.now - 60,
            "expires": self.now + 30 * 86400,
            "zones": (1, 2),
            "household": 1042 if kind == PassKind.RESIDENT else None,
            "host": 1042 if kind == PassKind.VISITOR else None,
            "uses": 2 if kind == PassKind.VISITOR else None,
            "phone_tag": None
            if kind == PassKind.STAFF
            else phone_tag(self.phone_key, pass_id, digits),
            "phone_key_version": None if kind == PassKind.STAFF else 1,
        }
        return issue(PassClaims(**(base | changes)), self.pass_key)


__all__ = ["HouseholdTime", "RefTime", "TestSite"]
