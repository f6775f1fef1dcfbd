"""Signed revocation lists and holds (signed-passes.md 5.4), with pure apply and check functions.

Two messages, both signed by a ``revlist`` key from the manifest. The *full* list (retained) is
the whole state; a *delta* (not retained, persistent session) moves it from ``from_seq`` to
``to_seq``. A delta that does not start at the applied ``seq`` is a gap: the gate goes back to
the full list. Entries:

* revoked passes: the first 8 bytes of the pass id, packed and sorted;
* household cutoffs ``[hh, T]``: every pass of that household issued before T is dead;
* holds (our extension): a pass or household under home observation until a
  time; an exit lane denies them with ``under_observation``. Holds are not revocations, so
  ``verify`` ignores them and the gate's decision asks ``hold_until``;
* locks (our extension): ``[ref, t]`` a pass locked at t after wrong phone digits at some lane,
  refused everywhere with ``pass_locked`` (the decision asks ``is_locked``); and unlocks
  ``[ref, t]``: staff cleared that pass's lock, so a gate drops its own lock of it from t or
  earlier (``unlock_time``). A gate learns of another lane's lock only this way, signed.

Integer map keys 1-6 follow the reference; key 0 is our schema version, the rest are ours.
Fields added later (the locks) default to empty and are left out when empty, so a list without
them is byte for byte what gates of the previous version read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Annotated, Literal

import msgspec

from protocol.claims import PassClaims
from protocol.cose import PrivateKey, PublicKey
from protocol.errors import (
    HouseholdCutOff,
    MalformedMessage,
    PassRevoked,
    SequenceGap,
    StaleUpdate,
    WrongSiteMessage,
)
from protocol.schema import ID_PATTERN, UInt
from protocol.signed import open_sealed, seal

__all__ = [
    "DELTA_CAP",
    "FULL_CAP",
    "REF_LENGTH",
    "HouseholdTime",
    "RefTime",
    "RevocationDelta",
    "RevocationFull",
    "RevocationState",
    "apply_delta",
    "apply_full",
    "check_revocation",
    "diff",
    "hold_until",
    "is_locked",
    "open_delta",
    "open_full",
    "pack_refs",
    "sign_revocations",
    "unlock_time",
]

REF_LENGTH = 8
FULL_CAP = 4 * 1024 * 1024  # 250k revoked passes plus holds; the broker's limit is set above it
DELTA_CAP = 256 * 1024

_Packed = Annotated[bytes, msgspec.Meta(max_length=FULL_CAP)]
_Ref = Annotated[bytes, msgspec.Meta(min_length=REF_LENGTH, max_length=REF_LENGTH)]
_Site = Annotated[str, msgspec.Meta(pattern=ID_PATTERN)]


class RefTime(msgspec.Struct, array_like=True, frozen=True, forbid_unknown_fields=True):
    """A pass ref and a time, on the wire as ``[ref, t]`` (a hold's end)."""

    ref: _Ref
    at: UInt


class HouseholdTime(msgspec.Struct, array_like=True, frozen=True, forbid_unknown_fields=True):
    """A household id and a time, on the wire as ``[hh, t]`` (a cutoff or a hold's end)."""

    household: UInt
    at: UInt


_FULL_KEYS = {"schema": 0, "site": 1, "seq": 2, "issued_at": 3, "next_update": 4, "refs": 5}
_FULL_KEYS |= {"cutoffs": 6, "pass_holds": 7, "household_holds": 8, "locks": 9, "unlocks": 10}
_DELTA_KEYS = {"schema": 0, "site": 1, "from_seq": 2, "to_seq": 3, "issued_at": 4}
_DELTA_KEYS |= {"add_refs": 5, "remove_refs": 6, "cutoffs": 7, "pass_holds": 8}
_DELTA_KEYS |= {"household_holds": 9, "clear_pass_holds": 10, "clear_household_holds": 11}
_DELTA_KEYS |= {"next_update": 12, "locks": 13, "clear_locks": 14, "unlocks": 15}
_DELTA_KEYS |= {"clear_unlocks": 16}


class RevocationFull(
    msgspec.Struct,
    frozen=True,
    forbid_unknown_fields=True,
    omit_defaults=True,
    rename=lambda n: str(_FULL_KEYS[n]),
):
    """The whole list (retained); on the wire its keys are the integers in _FULL_KEYS."""

    schema: Literal[1]
    site: _Site
    seq: UInt
    issued_at: UInt
    next_update: UInt
    refs: _Packed
    cutoffs: list[HouseholdTime]
    pass_holds: list[RefTime]
    household_holds: list[HouseholdTime]
    locks: list[RefTime] = msgspec.field(default_factory=list)
    unlocks: list[RefTime] = msgspec.field(default_factory=list)


class RevocationDelta(
    msgspec.Struct,
    frozen=True,
    forbid_unknown_fields=True,
    omit_defaults=True,
    rename=lambda n: str(_DELTA_KEYS[n]),
):
    """A change from ``from_seq`` to ``to_seq``; on the wire its keys are those in _DELTA_KEYS."""

    schema: Literal[1]
    site: _Site
    from_seq: UInt
    to_seq: UInt
    issued_at: UInt
    next_update: UInt
    add_refs: _Packed
    remove_refs: _Packed
    cutoffs: list[HouseholdTime]
    pass_holds: list[RefTime]
    household_holds: list[HouseholdTime]
    clear_pass_holds: _Packed
    clear_household_holds: list[UInt]
    locks: list[RefTime] = msgspec.field(default_factory=list)
    clear_locks: _Packed = b""
    unlocks: list[RefTime] = msgspec.field(default_factory=list)
    clear_unlocks: _Packed = b""


@dataclass(frozen=True, slots=True)
class RevocationState:
    """What a gate has applied; immutable, replaced whole by apply_full / apply_delta."""

    site: str
    seq: int
    issued_at: int
    next_update: int
    refs: frozenset[bytes] = frozenset()
    cutoffs: Mapping[int, int] = field(default_factory=dict)
    pass_holds: Mapping[bytes, int] = field(default_factory=dict)
    household_holds: Mapping[int, int] = field(default_factory=dict)
    locks: Mapping[bytes, int] = field(default_factory=dict)
    unlocks: Mapping[bytes, int] = field(default_factory=dict)

    def is_stale(self, now: int, grace: int) -> bool:
        """True once the list is older than its promised next update plus the grace period."""
        return now > self.next_update + grace


def pack_refs(refs: set[bytes] | frozenset[bytes]) -> bytes:
    """Sorted, concatenated 8-byte pass refs."""
    if any(len(r) != REF_LENGTH for r in refs):
        raise ValueError("every pass ref is 8 bytes")
    return b"".join(sorted(refs))


def _unpack(packed: bytes, *, sorted_unique: bool) -> frozenset[bytes]:
    """Split packed refs; the full list must be strictly sorted (so it is canonical)."""
    if len(packed) % REF_LENGTH:
        raise MalformedMessage(f"packed refs of {len(packed)} bytes are not a multiple of 8")
    refs = [packed[i : i + REF_LENGTH] for i in range(0, len(packed), REF_LENGTH)]
    if sorted_unique and any(a >= b for a, b in pairwise(refs)):
        raise MalformedMessage("packed refs must be strictly ascending")
    return frozenset(refs)


def _by_ref(entries: list[RefTime], what: str) -> dict[bytes, int]:
    """Locks and unlocks: strictly ascending by ref, so each pass is named once (canonical)."""
    if any(a.ref >= b.ref for a, b in pairwise(entries)):
        raise MalformedMessage(f"{what} must be strictly ascending by pass ref")
    return {e.ref: e.at for e in entries}


def sign_revocations(message: RevocationFull | RevocationDelta, key: PrivateKey) -> bytes:
    """Sign a full list or a delta with a ``revlist`` key."""
    return seal(message, key, int_keys=True)


def open_full(data: bytes, keys: Mapping[bytes, PublicKey], *, site: str) -> RevocationFull:
    """Verify and decode a full list for ``site`` (``keys``: the manifest's revlist keys)."""
    full = open_sealed(data, RevocationFull, keys, cap=FULL_CAP, int_keys=True)
    if full.site != site:
        raise WrongSiteMessage(f"revocation list for {full.site!r}, this is {site!r}")
    return full


def open_delta(data: bytes, keys: Mapping[bytes, PublicKey], *, site: str) -> RevocationDelta:
    """Verify and decode a delta for ``site``."""
    delta = open_sealed(data, RevocationDelta, keys, cap=DELTA_CAP, int_keys=True)
    if delta.site != site:
        raise WrongSiteMessage(f"revocation delta for {delta.site!r}, this is {site!r}")
    if delta.to_seq <= delta.from_seq:
        raise MalformedMessage(f"delta to_seq {delta.to_seq} must be above {delta.from_seq}")
    return delta


def diff(old: RevocationFull, new: RevocationFull) -> RevocationDelta:
    """The delta that takes a gate from ``old`` to ``new`` (same site, ``new.seq`` higher)."""
    if old.site != new.site or new.seq <= old.seq:
        raise ValueError("diff needs two lists of one site, the second with a higher seq")
    before, after = _unpack(old.refs, sorted_unique=True), _unpack(new.refs, sorted_unique=True)
    old_cut = {c.household: c.at for c in old.cutoffs}
    old_ph = {h.ref: h.at for h in old.pass_holds}
    old_hh = {h.household: h.at for h in old.household_holds}
    new_ph = {h.ref: h.at for h in new.pass_holds}
    new_hh = {h.household: h.at for h in new.household_holds}
    old_locks, new_locks = _by_ref(old.locks, "locks"), _by_ref(new.locks, "locks")
    old_unlocks, new_unlocks = _by_ref(old.unlocks, "unlocks"), _by_ref(new.unlocks, "unlocks")
    return RevocationDelta(
        schema=1,
        site=new.site,
        from_seq=old.seq,
        to_seq=new.seq,
        issued_at=new.issued_at,
        next_update=new.next_update,
        add_refs=pack_refs(after - before),
        remove_refs=pack_refs(before - after),
        cutoffs=[c for c in new.cutoffs if old_cut.get(c.household) != c.at],
        pass_holds=[h for h in new.pass_holds if old_ph.get(h.ref) != h.at],
        household_holds=[h for h in new.household_holds if old_hh.get(h.household) != h.at],
        clear_pass_holds=pack_refs(set(old_ph) - set(new_ph)),
        clear_household_holds=sorted(set(old_hh) - set(new_hh)),
        locks=[h for h in new.locks if old_locks.get(h.ref) != h.at],
        clear_locks=pack_refs(set(old_locks) - set(new_locks)),
        unlocks=[h for h in new.unlocks if old_unlocks.get(h.ref) != h.at],
        clear_unlocks=pack_refs(set(old_unlocks) - set(new_unlocks)),
    )


def apply_full(state: RevocationState | None, full: RevocationFull) -> RevocationState:
    """The state a full list describes; refuses an older list (a heartbeat at equal seq is ok)."""
    if state is not None and (full.seq, full.issued_at) <= (state.seq, state.issued_at):
        raise StaleUpdate(f"full list seq {full.seq} is not newer than the applied {state.seq}")
    return RevocationState(
        site=full.site,
        seq=full.seq,
        issued_at=full.issued_at,
        next_update=full.next_update,
        refs=_unpack(full.refs, sorted_unique=True),
        cutoffs={c.household: c.at for c in full.cutoffs},
        pass_holds={h.ref: h.at for h in full.pass_holds},
        household_holds={h.household: h.at for h in full.household_holds},
        locks=_by_ref(full.locks, "locks"),
        unlocks=_by_ref(full.unlocks, "unlocks"),
    )


def apply_delta(state: RevocationState | None, delta: RevocationDelta) -> RevocationState:
    """Apply a delta that continues ``state``; raise SequenceGap or StaleUpdate otherwise."""
    if state is not None and delta.to_seq <= state.seq:
        raise StaleUpdate(f"delta to seq {delta.to_seq} is already applied (at {state.seq})")
    if state is None or delta.from_seq != state.seq:
        have = "nothing" if state is None else f"seq {state.seq}"
        raise SequenceGap(f"delta starts at seq {delta.from_seq} but the gate has {have}")
    cleared = _unpack(delta.clear_pass_holds, sorted_unique=False)
    cutoffs = dict(state.cutoffs)
    for c in delta.cutoffs:
        cutoffs[c.household] = max(c.at, cutoffs.get(c.household, 0))
    pass_holds = {r: t for r, t in state.pass_holds.items() if r not in cleared}
    pass_holds |= {h.ref: h.at for h in delta.pass_holds}
    unheld = set(delta.clear_household_holds)
    hh_holds = {h: t for h, t in state.household_holds.items() if h not in unheld}
    hh_holds |= {h.household: h.at for h in delta.household_holds}
    refs = state.refs | _unpack(delta.add_refs, sorted_unique=False)
    unlocked = _unpack(delta.clear_locks, sorted_unique=False)
    locks = {r: t for r, t in state.locks.items() if r not in unlocked}
    locks |= _by_ref(delta.locks, "locks")
    forgotten = _unpack(delta.clear_unlocks, sorted_unique=False)
    unlocks = {r: t for r, t in state.unlocks.items() if r not in forgotten}
    unlocks |= _by_ref(delta.unlocks, "unlocks")
    return RevocationState(
        site=state.site,
        seq=delta.to_seq,
        issued_at=delta.issued_at,
        next_update=delta.next_update,
        refs=refs - _unpack(delta.remove_refs, sorted_unique=False),
        cutoffs=cutoffs,
        pass_holds=pass_holds,
        household_holds=hh_holds,
        locks=locks,
        unlocks=unlocks,
    )


def check_revocation(state: RevocationState, claims: PassClaims) -> None:
    """Raise PassRevoked or HouseholdCutOff if the list kills this pass."""
    if claims.pass_id[:REF_LENGTH] in state.refs:
        raise PassRevoked(f"pass {claims.ref} is revoked (list seq {state.seq})")
    if claims.household is not None:
        cutoff = state.cutoffs.get(claims.household)
        if cutoff is not None and claims.issued_at < cutoff:
            raise HouseholdCutOff(f"household {claims.household} cut off at {cutoff}")


def hold_until(state: RevocationState, claims: PassClaims, now: int) -> int | None:
    """The end of a home-observation hold on this pass or its household, if one is active."""
    ends = [state.pass_holds.get(claims.pass_id[:REF_LENGTH])]
    if claims.household is not None:
        ends.append(state.household_holds.get(claims.household))
    active = [t for t in ends if t is not None and t > now]
    return max(active) if active else None


def is_locked(state: RevocationState, claims: PassClaims) -> bool:
    """True while the server lists this pass as locked (wrong phone digits at some lane)."""
    return claims.pass_id[:REF_LENGTH] in state.locks


def unlock_time(state: RevocationState, ref: bytes) -> int | None:
    """Staff unlocked this pass: a gate's own lock of it from this time or earlier is void."""
    return state.unlocks.get(ref)
