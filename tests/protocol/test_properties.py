"""Property tests: passes round-trip, and nothing but a PassError ever escapes ``verify``."""

from __future__ import annotations

import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol import base45
from protocol.claims import PassClaims, PassKind
from protocol.errors import PassError
from protocol.keys import generate_ed25519, kid_for
from protocol.manifest import KeyManifest, KeyUse, key_entry
from protocol.passes import PREFIX, Trust, issue, verify

KEY = generate_ed25519()
NOW = 1_790_000_000
TRUST = Trust.from_manifest(
    KeyManifest(
        schema=1,
        site="gw01",
        seq=1,
        issued_at=NOW,
        keys=[key_entry(KEY, KeyUse.PASS, 0, 2**40, 2**40)],
    )
)
GOOD = issue(
    PassClaims(
        site="gw01",
        pass_id=b"\x01" * 12,
        kind=PassKind.RESIDENT,
        issued_at=NOW - 10,
        not_before=NOW - 10,
        expires=NOW + 10_000,
        zones=(1,),
        household=7,
    ),
    KEY,
)

times = st.integers(min_value=0, max_value=2**34)
# Display text as the schema allows it: no control characters, no bidi overrides.
BIDI = "\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
printable = st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"), exclude_characters=BIDI)
short_text = st.text(printable, min_size=1, max_size=16)


@st.composite
def claims(draw: st.DrawFn) -> PassClaims:
    kind = draw(st.sampled_from(PassKind))
    nbf = draw(times)
    exp = draw(st.integers(min_value=nbf + 1, max_value=nbf + 2**30))
    tag = draw(st.one_of(st.none(), st.binary(min_size=4, max_size=4)))
    lo = draw(st.integers(0, 1438))
    return PassClaims(
        site=draw(st.from_regex(r"\A[a-z0-9](?:[a-z0-9-]{0,10}[a-z0-9])?\Z")),
        pass_id=draw(st.binary(min_size=12, max_size=12)),
        kind=kind,
        issued_at=draw(st.integers(min_value=0, max_value=exp)),
        not_before=nbf,
        expires=exp,
        zones=tuple(draw(st.lists(st.integers(0, 2**31), min_size=1, max_size=16))),
        household=draw(st.integers(0, 2**31)) if kind == PassKind.RESIDENT else None,
        unit=draw(st.one_of(st.none(), st.text(printable, max_size=32, min_size=1))),
        name=draw(st.one_of(st.none(), short_text)),
        phone_tag=tag,
        phone_key_version=None if tag is None else draw(st.integers(0, 100)),
        host=draw(st.integers(0, 2**31)) if kind == PassKind.VISITOR else None,
        uses=draw(st.one_of(st.none(), st.integers(1, 1000))) if kind == PassKind.VISITOR else None,
        time_windows=((lo, draw(st.integers(lo + 1, 1440))),) if draw(st.booleans()) else (),
    )


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(claims())
def test_issue_then_verify_round_trips(c: PassClaims) -> None:
    trust = Trust(c.site, TRUST.keys)
    now = max(c.not_before, c.issued_at)
    assert verify(issue(c, KEY), trust, now) == c


@settings(max_examples=3000)
@given(st.text(max_size=700))
def test_random_text_only_raises_pass_errors(text: str) -> None:
    try:
        verify(text, TRUST, NOW)
    except PassError:
        return
    raise AssertionError("random text verified")


@settings(max_examples=3000)
@given(st.binary(max_size=450))
def test_random_bytes_behind_the_prefix_only_raise_pass_errors(raw: bytes) -> None:
    try:
        verify(PREFIX + base45.encode(raw), TRUST, NOW)
    except PassError:
        return
    raise AssertionError("random bytes verified")


@settings(max_examples=2000)
@given(
    st.integers(min_value=len(PREFIX), max_value=len(GOOD) - 1),
    st.sampled_from(string.ascii_uppercase + string.digits + " $%*+-./:"),
)
def test_any_single_character_change_is_refused(index: int, char: str) -> None:
    mutated = GOOD[:index] + char + GOOD[index + 1 :]
    if mutated == GOOD:
        return
    try:
        verify(mutated, TRUST, NOW)
    except PassError:
        return
    raise AssertionError(f"altered pass accepted at {index}")


def test_the_unaltered_pass_verifies() -> None:
    assert verify(GOOD, TRUST, NOW).household == 7
    assert kid_for(KEY) in TRUST.keys
