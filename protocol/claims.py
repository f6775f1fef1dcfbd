"""The claims inside a pass (signed-passes.md 5.1) and their compact CBOR form.

CWT keys: 1 iss (site), 4 exp, 5 nbf, 6 iat, 7 cti (12 random bytes, no personal data), and the
private-use map -65537 with small integer keys: 1 schema version, 2 type, 3 household, 4 zones,
5 unit label, 6 short display name, 7 phone tag, 8 phone-key version, 9 visitor host household,
10 visitor uses, 11 time-of-day windows in minutes, 12 holder proof (issue 16).

Holder proof (12): what the four digits tagged in 7 are. Absent (every pass from before, and
every pass of a holder with a phone): the last four digits of the registered phone. 1: the card
PIN printed on the tear-off strip of the card of a resident without a phone. The tag is the same
keyed tag either way; the claim only tells the gate which to ask for. A pass never carries an
explicit 0, so an older pass's bytes are unchanged and it stays valid.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import IntEnum
from typing import Annotated, Any

import msgspec

from protocol.cbor import CborError, dumps, loads_strict
from protocol.errors import BadClaims, MessageError, UnsupportedSchema
from protocol.schema import ID_PATTERN, PRINTABLE_PATTERN, convert

__all__ = [
    "CLAIMS_SCHEMA",
    "HolderProof",
    "PassClaims",
    "PassKind",
    "decode_claims",
    "encode_claims",
    "printable",
]

CLAIMS_SCHEMA = 1
APP_CLAIM = -65537
PASS_ID_LENGTH = 12
PHONE_TAG_LENGTH = 4
MINUTES_PER_DAY = 1440


class PassKind(IntEnum):
    """Who holds the pass; the gate's policy differs per kind."""

    RESIDENT = 0
    VISITOR = 1
    STAFF = 2


class HolderProof(IntEnum):
    """What the holder types on the keypad to match the pass's tag."""

    PHONE = 0  # the last four digits of the registered phone
    CARD_PIN = 1  # the card PIN printed on the card's tear-off strip


_Time = Annotated[int, msgspec.Meta(ge=0, le=2**40)]
_Small = Annotated[int, msgspec.Meta(ge=0, le=2**31)]
_Minute = Annotated[int, msgspec.Meta(ge=0, le=MINUTES_PER_DAY)]
_UNSET = msgspec.UNSET
_Unset = msgspec.UnsetType
_PRINTABLE = re.compile(PRINTABLE_PATTERN)
_APP_KEYS = {"v": 1, "t": 2, "hh": 3, "z": 4, "u": 5, "n": 6, "ph": 7, "pk": 8, "host": 9}
_APP_KEYS |= {"uses": 10, "tw": 11, "hp": 12}
_CWT_KEYS = {"iss": 1, "exp": 4, "nbf": 5, "iat": 6, "cti": 7, "app": APP_CLAIM}


class _App(msgspec.Struct, forbid_unknown_fields=True, rename=lambda n: str(_APP_KEYS[n])):
    """Wire form of the private-use claim map; field names map to integer keys."""

    v: int
    t: Annotated[int, msgspec.Meta(ge=0, le=2)]
    z: Annotated[list[_Small], msgspec.Meta(min_length=1, max_length=16)]
    hh: _Small | msgspec.UnsetType = _UNSET
    u: (
        Annotated[str, msgspec.Meta(min_length=1, max_length=32, pattern=PRINTABLE_PATTERN)]
        | _Unset
    ) = _UNSET
    n: (
        Annotated[str, msgspec.Meta(min_length=1, max_length=16, pattern=PRINTABLE_PATTERN)]
        | _Unset
    ) = _UNSET
    ph: Annotated[bytes, msgspec.Meta(min_length=4, max_length=4)] | msgspec.UnsetType = _UNSET
    pk: _Small | msgspec.UnsetType = _UNSET
    host: _Small | msgspec.UnsetType = _UNSET
    uses: Annotated[int, msgspec.Meta(ge=1, le=1000)] | msgspec.UnsetType = _UNSET
    tw: (
        Annotated[
            list[Annotated[list[_Minute], msgspec.Meta(min_length=2, max_length=2)]],
            msgspec.Meta(min_length=1, max_length=8),
        ]
        | msgspec.UnsetType
    ) = _UNSET
    hp: Annotated[int, msgspec.Meta(ge=1, le=1)] | msgspec.UnsetType = _UNSET


class _Cwt(msgspec.Struct, forbid_unknown_fields=True, rename=lambda n: str(_CWT_KEYS[n])):
    """Wire form of the CWT claims map."""

    iss: Annotated[str, msgspec.Meta(pattern=ID_PATTERN)]
    exp: _Time
    nbf: _Time
    iat: _Time
    cti: Annotated[bytes, msgspec.Meta(min_length=12, max_length=12)]
    app: _App


@dataclass(frozen=True, slots=True)
class PassClaims:
    """What a verified pass says. Names and units are display hints; ids are the identity."""

    site: str
    pass_id: bytes
    kind: PassKind
    issued_at: int
    not_before: int
    expires: int
    zones: tuple[int, ...]
    household: int | None = None
    unit: str | None = None
    name: str | None = None
    phone_tag: bytes | None = None
    phone_key_version: int | None = None
    host: int | None = None
    uses: int | None = None
    time_windows: tuple[tuple[int, int], ...] = ()
    schema: int = CLAIMS_SCHEMA
    proof: HolderProof = HolderProof.PHONE

    @property
    def ref(self) -> str:
        """The revocation and event reference: hex of the first 8 bytes of the pass id."""
        return self.pass_id[:8].hex()

    def __post_init__(self) -> None:
        """Refuse claims we would never sign, on the issuing side as on the verifying side."""
        problem = _rule_violation(self)
        if problem:
            raise BadClaims(problem)


def _rule_violation(c: PassClaims) -> str | None:
    """Cross-field rules that a schema of types alone cannot express."""
    checks = (
        (len(c.pass_id) != PASS_ID_LENGTH, f"pass id must be {PASS_ID_LENGTH} bytes"),
        (not c.not_before < c.expires, "nbf must be before exp"),
        (c.issued_at > c.expires, "iat must not be after exp"),
        (not c.zones, "a pass names at least one zone"),
        ((c.phone_tag is None) != (c.phone_key_version is None), "ph and pk go together"),
        (c.phone_tag is not None and len(c.phone_tag) != PHONE_TAG_LENGTH, "ph is 4 bytes"),
        (c.proof != HolderProof.PHONE and c.phone_tag is None, "a card PIN needs its tag (ph)"),
        (c.kind == PassKind.RESIDENT and c.household is None, "a resident pass names a household"),
        (c.kind == PassKind.VISITOR and c.host is None, "a visitor pass names a host household"),
        (c.kind != PassKind.VISITOR and (c.host, c.uses) != (None, None), "host/uses: visitors"),
        (any(not a < b for a, b in c.time_windows), "each time window must end after it starts"),
    )
    return next((text for failed, text in checks if failed), None)


def printable(text: str) -> bool:
    """Whether ``text`` obeys the text rule of the unit and name claims (the server checks what
    it will print before it signs): no control characters, no line or paragraph separators, no
    bidi embeddings, overrides or isolates."""
    return _PRINTABLE.search(text) is not None


def encode_claims(claims: PassClaims) -> bytes:
    """Deterministic CBOR of the claims, with absent optional claims left out entirely."""
    app: dict[int, Any] = {1: claims.schema, 2: int(claims.kind), 4: list(claims.zones)}
    optional = {
        3: claims.household,
        5: claims.unit,
        6: claims.name,
        7: claims.phone_tag,
        8: claims.phone_key_version,
        9: claims.host,
        10: claims.uses,
        11: [list(w) for w in claims.time_windows] or None,
        12: int(claims.proof) if claims.proof != HolderProof.PHONE else None,
    }
    app |= {k: v for k, v in optional.items() if v is not None}
    cwt = {
        1: claims.site,
        4: claims.expires,
        5: claims.not_before,
        6: claims.issued_at,
        7: claims.pass_id,
        APP_CLAIM: app,
    }
    return dumps(cwt)


def decode_claims(payload: bytes) -> PassClaims:
    """Parse verified payload bytes into PassClaims; raise BadClaims for any schema violation."""
    try:
        raw = loads_strict(payload, max_depth=4)
        if not isinstance(raw, dict) or not isinstance(raw.get(APP_CLAIM), dict):
            raise BadClaims("claims must be a map holding the -65537 application map")
        wire = convert(_stringify(raw), _Cwt)
    except CborError as exc:
        raise BadClaims(f"claims: {exc}") from None
    except MessageError as exc:
        raise BadClaims(f"claims: {exc}") from None
    return _from_wire(wire)


def _stringify(raw: dict[Any, Any]) -> dict[str, Any]:
    """Integer map keys to the strings the wire structs are renamed to; other keys are refused."""
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if not isinstance(key, int) or isinstance(key, bool):
            raise BadClaims(f"claim key {key!r} is not an integer")
        out[str(key)] = _stringify(value) if key == APP_CLAIM else value
    return out


def _opt(value: Any) -> Any:
    return None if value is _UNSET else value


def _from_wire(w: _Cwt) -> PassClaims:
    """Turn the validated wire form into the public, immutable claims."""
    app = w.app
    if app.v != CLAIMS_SCHEMA:
        raise UnsupportedSchema(f"claims schema {app.v} is not {CLAIMS_SCHEMA}")
    windows = () if app.tw is _UNSET else tuple((a, b) for a, b in app.tw)
    return PassClaims(
        site=w.iss,
        pass_id=w.cti,
        kind=PassKind(app.t),
        issued_at=w.iat,
        not_before=w.nbf,
        expires=w.exp,
        zones=tuple(app.z),
        household=_opt(app.hh),
        unit=_opt(app.u),
        name=_opt(app.n),
        phone_tag=_opt(app.ph),
        phone_key_version=_opt(app.pk),
        host=_opt(app.host),
        uses=_opt(app.uses),
        time_windows=windows,
        schema=app.v,
        proof=HolderProof.PHONE if app.hp is _UNSET else HolderProof(app.hp),
    )
