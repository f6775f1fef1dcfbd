"""Revocation lists and holds: signed, sequence-numbered, gaps fall back to the full list."""

from __future__ import annotations

import os

import msgspec
import pytest

from protocol import errors
from protocol.claims import PassClaims, PassKind
from protocol.keys import generate_ed25519, kid_for
from protocol.manifest import KeyUse
from protocol.revocation import (
    HouseholdTime,
    RefTime,
    RevocationDelta,
    RevocationFull,
    apply_delta,
    apply_full,
    check_revocation,
    diff,
    hold_until,
    is_locked,
    open_delta,
    open_full,
    pack_refs,
    sign_revocations,
    unlock_time,
)

KEY = generate_ed25519()
KEYS = {kid_for(KEY): KEY.public_key()}
A, B, C = (bytes([i]) * 8 for i in (1, 2, 3))


def full(seq: int = 1, **changes: object) -> RevocationFull:
    base = RevocationFull(
        schema=1,
        site="gw01",
        seq=seq,
        issued_at=100 * seq,
        next_update=100 * seq + 3600,
        refs=pack_refs({A, B}),
        cutoffs=[HouseholdTime(7, 500)],
        pass_holds=[RefTime(C, 9000)],
        household_holds=[HouseholdTime(8, 9000)],
    )
    return msgspec.structs.replace(base, **changes)


def delta(frm: int, to: int, **changes: object) -> RevocationDelta:
    base = RevocationDelta(
        schema=1,
        site="gw01",
        from_seq=frm,
        to_seq=to,
        issued_at=100 * to,
        next_update=100 * to + 3600,
        add_refs=b"",
        remove_refs=b"",
        cutoffs=[],
        pass_holds=[],
        household_holds=[],
        clear_pass_holds=b"",
        clear_household_holds=[],
    )
    return msgspec.structs.replace(base, **changes)


def claims(pass_id: bytes, household: int = 7, issued_at: int = 1000) -> PassClaims:
    return PassClaims(
        site="gw01",
        pass_id=pass_id + b"\x00" * 4,
        kind=PassKind.RESIDENT,
        issued_at=issued_at,
        not_before=0,
        expires=10**6,
        zones=(1,),
        household=household,
    )


def test_full_list_signed_opened_and_applied() -> None:
    opened = open_full(sign_revocations(full(), KEY), KEYS, site="gw01")
    state = apply_full(None, opened)
    assert state.refs == {A, B}
    assert state.seq == 1
    with pytest.raises(errors.PassRevoked):
        check_revocation(state, claims(A))
    check_revocation(state, claims(C))  # not revoked: no exception


def test_household_cutoff_kills_only_older_passes() -> None:
    state = apply_full(None, full())
    with pytest.raises(errors.HouseholdCutOff):
        check_revocation(state, claims(C, issued_at=499))
    check_revocation(state, claims(C, issued_at=500))


def test_holds_are_reported_until_they_end() -> None:
    state = apply_full(None, full())
    assert hold_until(state, claims(C, household=99), now=100) == 9000
    assert hold_until(state, claims(A, household=8), now=100) == 9000
    assert hold_until(state, claims(A, household=9), now=100) is None
    assert hold_until(state, claims(C), now=9000) is None


def test_older_full_list_is_stale_but_a_heartbeat_is_applied() -> None:
    state = apply_full(None, full(seq=3))
    with pytest.raises(errors.StaleUpdate):
        apply_full(state, full(seq=2))
    with pytest.raises(errors.StaleUpdate):
        apply_full(state, full(seq=3))  # the same list again
    beat = apply_full(state, full(seq=3, issued_at=10_000, next_update=20_000))
    assert beat.next_update == 20_000
    assert beat.seq == 3


def test_delta_applies_in_sequence() -> None:
    state = apply_full(None, full(seq=1))
    d = delta(
        1,
        2,
        add_refs=pack_refs({C}),
        remove_refs=pack_refs({A}),
        cutoffs=[HouseholdTime(7, 400), HouseholdTime(9, 600)],
        clear_pass_holds=pack_refs({C}),
        household_holds=[HouseholdTime(10, 5000)],
        clear_household_holds=[8],
    )
    after = apply_delta(state, open_delta(sign_revocations(d, KEY), KEYS, site="gw01"))
    assert after.refs == {B, C}
    assert after.seq == 2
    assert after.next_update == 200 + 3600
    assert after.cutoffs == {7: 500, 9: 600}  # a cutoff never moves back
    assert after.pass_holds == {}
    assert after.household_holds == {10: 5000}
    assert state.refs == {A, B}  # the old state is untouched


def test_gap_and_duplicate_deltas() -> None:
    state = apply_full(None, full(seq=1))
    with pytest.raises(errors.SequenceGap):
        apply_delta(state, delta(2, 3))
    with pytest.raises(errors.SequenceGap):
        apply_delta(None, delta(1, 2))
    state = apply_delta(state, delta(1, 2))
    with pytest.raises(errors.StaleUpdate):
        apply_delta(state, delta(1, 2))


@pytest.mark.parametrize(
    ("message", "error"),
    [
        (full(refs=A[:5]), errors.MalformedMessage),  # not a multiple of 8
        (full(refs=B + A), errors.MalformedMessage),  # not sorted
        (full(refs=A + A), errors.MalformedMessage),  # duplicate
        (full(site="gw02"), errors.WrongSiteMessage),
    ],
)
def test_bad_full_lists(message: RevocationFull, error: type[Exception]) -> None:
    with pytest.raises(error):
        apply_full(None, open_full(sign_revocations(message, KEY), KEYS, site="gw01"))


def test_delta_must_move_forward() -> None:
    with pytest.raises(errors.MalformedMessage):
        open_delta(sign_revocations(delta(3, 3), KEY), KEYS, site="gw01")


def test_unsigned_or_foreign_lists_are_untrusted() -> None:
    with pytest.raises(errors.UntrustedMessage):
        open_full(sign_revocations(full(), generate_ed25519()), KEYS, site="gw01")
    with pytest.raises(errors.UntrustedMessage):
        open_full(os.urandom(200), KEYS, site="gw01")


def test_wire_keys_are_the_reference_integers() -> None:
    """Keys 1-6 as signed-passes.md 5.4 numbers them; 0 and 7+ are ours."""
    import cbor2

    from protocol.cose import decode_sign1

    payload = cbor2.loads(decode_sign1(sign_revocations(full(), KEY)).payload)
    assert sorted(payload) == list(range(9))
    assert payload[1] == "gw01"
    assert payload[2] == 1
    assert payload[5] == A + B


def test_hundred_thousand_entries_apply_and_look_up() -> None:
    refs = {os.urandom(8) for _ in range(100_000)}
    data = sign_revocations(full(refs=pack_refs(refs)), KEY)
    state = apply_full(None, open_full(data, KEYS, site="gw01"))
    assert len(state.refs) == len(refs)
    with pytest.raises(errors.PassRevoked):
        check_revocation(state, claims(next(iter(refs))[:8]))


def test_diff_takes_a_gate_from_one_full_list_to_the_next() -> None:
    from protocol.revocation import diff

    old = full(seq=1)
    new = full(
        seq=4,
        refs=pack_refs({B, C}),
        cutoffs=[HouseholdTime(7, 500), HouseholdTime(9, 700)],
        pass_holds=[],
        household_holds=[HouseholdTime(8, 9999), HouseholdTime(11, 100)],
    )
    state = apply_full(None, old)
    via_delta = apply_delta(
        state, open_delta(sign_revocations(diff(old, new), KEY), KEYS, site="gw01")
    )
    direct = apply_full(None, new)
    assert via_delta.refs == direct.refs
    assert via_delta.cutoffs == direct.cutoffs
    assert via_delta.pass_holds == direct.pass_holds
    assert via_delta.household_holds == direct.household_holds
    assert via_delta.seq == 4
    with pytest.raises(ValueError, match="higher seq"):
        diff(new, old)


def test_a_list_without_locks_is_the_previous_version_on_the_wire() -> None:
    """Empty locks and unlocks are left out: old gates keep reading lists until a lock exists."""
    import cbor2

    from protocol.cose import decode_sign1

    payload = cbor2.loads(decode_sign1(sign_revocations(full(), KEY)).payload)
    assert sorted(payload) == list(range(9))
    d = cbor2.loads(decode_sign1(sign_revocations(delta(1, 2), KEY)).payload)
    assert sorted(d) == list(range(13))
    assert apply_full(None, open_full(sign_revocations(full(), KEY), KEYS, site="gw01")).locks == {}


def test_locks_and_unlocks_signed_opened_and_applied() -> None:
    message = full(locks=[RefTime(A, 50), RefTime(C, 60)], unlocks=[RefTime(B, 40)])
    signed = sign_revocations(message, KEY)
    import cbor2

    from protocol.cose import decode_sign1

    payload = cbor2.loads(decode_sign1(signed).payload)
    assert payload[9] == [[A, 50], [C, 60]]
    assert payload[10] == [[B, 40]]
    opened = open_full(signed, KEYS, site="gw01")
    assert opened == message
    assert sign_revocations(opened, KEY) == signed  # canonical: re-encodes to the same bytes
    state = apply_full(None, opened)
    assert state.locks == {A: 50, C: 60}
    assert state.unlocks == {B: 40}
    assert is_locked(state, claims(A))
    assert not is_locked(state, claims(B))
    assert unlock_time(state, B) == 40
    assert unlock_time(state, A) is None


@pytest.mark.parametrize("field", ["locks", "unlocks"])
@pytest.mark.parametrize(
    "entries",
    [
        [RefTime(C, 1), RefTime(A, 2)],  # not sorted
        [RefTime(A, 1), RefTime(A, 2)],  # one pass twice
    ],
)
def test_locks_must_be_canonical(field: str, entries: list[RefTime]) -> None:
    data = sign_revocations(full(**{field: entries}), KEY)
    with pytest.raises(errors.MalformedMessage, match="ascending"):
        apply_full(None, open_full(data, KEYS, site="gw01"))
    state = apply_full(None, full())
    with pytest.raises(errors.MalformedMessage, match="ascending"):
        apply_delta(state, delta(1, 2, **{field: entries}))


def test_delta_adds_changes_and_clears_locks_and_unlocks() -> None:
    state = apply_full(None, full(locks=[RefTime(A, 50), RefTime(B, 55)], unlocks=[RefTime(C, 9)]))
    d = delta(
        1,
        2,
        locks=[RefTime(B, 70), RefTime(C, 80)],
        clear_locks=pack_refs({A}),
        unlocks=[RefTime(A, 50)],
        clear_unlocks=pack_refs({C}),
    )
    after = apply_delta(state, open_delta(sign_revocations(d, KEY), KEYS, site="gw01"))
    assert after.locks == {B: 70, C: 80}
    assert after.unlocks == {A: 50}
    assert state.locks == {A: 50, B: 55}  # the old state is untouched


def test_diff_carries_locks_and_unlocks() -> None:
    old = full(seq=1, locks=[RefTime(A, 50), RefTime(B, 55)], unlocks=[RefTime(C, 9)])
    new = full(seq=2, locks=[RefTime(B, 55), RefTime(C, 80)], unlocks=[RefTime(A, 60)])
    d = diff(old, new)
    assert d.locks == [RefTime(C, 80)]
    assert d.clear_locks == A
    assert d.unlocks == [RefTime(A, 60)]
    assert d.clear_unlocks == C
    via_delta = apply_delta(
        apply_full(None, old), open_delta(sign_revocations(d, KEY), KEYS, site="gw01")
    )
    direct = apply_full(None, new)
    assert via_delta.locks == direct.locks
    assert via_delta.unlocks == direct.unlocks
    unchanged = diff(old, full(seq=3, locks=old.locks, unlocks=old.unlocks))
    assert (unchanged.locks, unchanged.clear_locks, unchanged.unlocks) == ([], b"", [])


def test_key_entry_from_raw_bytes() -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    from protocol.cose import Algorithm
    from protocol.keys import raw_public
    from protocol.manifest import key_entry_raw

    p256 = ec.generate_private_key(ec.SECP256R1())
    entry = key_entry_raw(raw_public(p256), KeyUse.PASS, 0, 1, 2)
    assert entry.alg == Algorithm.ES256
    assert entry.kid == kid_for(p256)
    with pytest.raises(ValueError, match="neither"):
        key_entry_raw(b"\x00" * 10, KeyUse.PASS, 0, 1, 2)
