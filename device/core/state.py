"""The gate's small mutable-by-replacement state and its pure transitions.

Presence (for anti-passback), visitor uses, wrong-digit counts, locked passes and the last
staff pass seen (for attributing an override). The store persists it; the named peers'
presence updates it through ``observe_peer_grant`` (device.presence); locks come only from this
lane or, signed, from the server's list. Every transition returns a new ``GateState``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from protocol.messages import LaneDirection
from protocol.reasons import ReasonCode


@dataclass(frozen=True, slots=True)
class Presence:
    """Where a pass was last let through."""

    direction: LaneDirection
    at: int
    gate: str


@dataclass(frozen=True, slots=True)
class StaffSeen:
    """A staff pass recently scanned at this lane, for attributing the next override."""

    ref: str
    at: int


@dataclass(frozen=True, slots=True)
class GateState:
    """Everything the decision remembers between people; replaced, never mutated."""

    presence: Mapping[str, Presence] = field(default_factory=dict)
    uses: Mapping[str, int] = field(default_factory=dict)
    wrong_digits: Mapping[str, int] = field(default_factory=dict)
    locks: Mapping[str, int] = field(default_factory=dict)
    last_staff: StaffSeen | None = None
    last_denial: tuple[ReasonCode, int] | None = None

    def with_grant(self, ref: str, direction: LaneDirection, gate: str, now: int) -> GateState:
        """Record a pass let through here: presence, and one more use on an entry lane."""
        presence = {**self.presence, ref: Presence(direction, now, gate)}
        uses = dict(self.uses)
        if direction == LaneDirection.IN:
            uses[ref] = uses.get(ref, 0) + 1
        wrong = {k: v for k, v in self.wrong_digits.items() if k != ref}
        return replace(self, presence=presence, uses=uses, wrong_digits=wrong, last_denial=None)

    def with_wrong_digits(self, ref: str, count: int) -> GateState:
        """Remember how many wrong tries a pass has made."""
        return replace(self, wrong_digits={**self.wrong_digits, ref: count})

    def with_lock(self, ref: str, now: int) -> GateState:
        """Lock a pass (three wrong tries here; other lanes' locks come in the signed list)."""
        return replace(self, locks={**self.locks, ref: now})

    def with_unlock(self, ref: str) -> GateState:
        """Clear a lock (staff cleared the hold on the server)."""
        locks = {k: v for k, v in self.locks.items() if k != ref}
        wrong = {k: v for k, v in self.wrong_digits.items() if k != ref}
        return replace(self, locks=locks, wrong_digits=wrong)

    def unlocked_by(self, unlocks: Mapping[str, int]) -> tuple[GateState, list[str]]:
        """Clear the locks staff cleared on the server (``unlocks``: ref to the time up to
        which its locks are void); a lock placed later stays. Returns the refs cleared."""
        cleared = [r for r, at in self.locks.items() if r in unlocks and at <= unlocks[r]]
        state = self
        for ref in cleared:
            state = state.with_unlock(ref)
        return state, cleared

    def with_staff(self, ref: str, now: int) -> GateState:
        """Remember the staff pass just scanned."""
        return replace(self, last_staff=StaffSeen(ref, now))

    def with_denial(self, reason: ReasonCode, now: int) -> GateState:
        """Remember the last denial (an override after a fever denial follows the policy)."""
        return replace(self, last_denial=(reason, now))

    def observe_peer_grant(
        self, ref: str, direction: LaneDirection, gate: str, at: int
    ) -> GateState:
        """Apply a peer lane's grant, if it is newer than what we know of that pass."""
        known = self.presence.get(ref)
        if known is not None and known.at >= at:
            return self
        uses = dict(self.uses)
        if direction == LaneDirection.IN:
            uses[ref] = uses.get(ref, 0) + 1
        presence = {**self.presence, ref: Presence(direction, at, gate)}
        return replace(self, presence=presence, uses=uses)

    def pruned(self, now: int, keep_s: int) -> GateState:
        """Forget passes not seen for ``keep_s`` (longer than any visitor pass) to stay small."""
        presence = {k: p for k, p in self.presence.items() if now - p.at <= keep_s}
        uses = {k: n for k, n in self.uses.items() if k in presence}
        return replace(self, presence=presence, uses=uses)
