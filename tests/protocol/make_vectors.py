"""Generate the golden pass vectors in tests/protocol/vectors/ (deterministic: fixed keys).

Run ``.venv/bin/python -m tests.protocol.make_vectors`` after a deliberate format change; the
test suite checks that the committed files are exactly what this script produces, and that
``protocol.passes.verify`` gives each vector's expected claims or error class.

Each vector: ``pass`` text, ``trust`` (site, keys with windows, skew, revocations), ``now``
(unix seconds), and ``expect`` = ``{"claims": {...}}`` or ``{"error": class, "reason": code}``.
Keys are derived from fixed seeds and both algorithms sign deterministically (Ed25519 by
design, ECDSA by RFC 6979), so the files reproduce byte for byte.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import cbor2
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from protocol import base45, cose
from protocol.claims import APP_CLAIM, PassClaims, PassKind, encode_claims
from protocol.inspect import claims_json
from protocol.keys import kid_for, raw_public
from protocol.passes import PREFIX, issue
from protocol.phonetag import phone_tag

VECTORS = Path(__file__).parent / "vectors"
SITE = "gw01"
NOW = 1_790_000_000  # 2026-09-21T14:13:20Z
DAY = 86_400


def seeded_key(label: str) -> ed25519.Ed25519PrivateKey:
    """An Ed25519 key derived from a label: the same every run, for reproducible vectors."""
    return ed25519.Ed25519PrivateKey.from_private_bytes(hashlib.sha256(label.encode()).digest())


PASS_KEY = seeded_key("gatepass vectors: pass key 1")
OTHER_KEY = seeded_key("gatepass vectors: some other key")
ES_KEY = ec.derive_private_key(
    int.from_bytes(hashlib.sha256(b"gatepass vectors: es256 key").digest(), "big") % (2**255),
    ec.SECP256R1(),
)
PHONE_KEY = hashlib.sha256(b"gatepass vectors: phone key 1").digest()


def resident(**changes: Any) -> PassClaims:
    """A realistic resident pass, valid around NOW."""
    pass_id = hashlib.sha256(b"resident pass 1").digest()[:12]
    base = PassClaims(
        site=SITE,
        pass_id=pass_id,
        kind=PassKind.RESIDENT,
        issued_at=NOW - 30 * DAY,
        not_before=NOW - 30 * DAY,
        expires=NOW + 335 * DAY,
        zones=(1, 2),
        household=1042,
        unit="3-2-501",
        name="王秀英",
        phone_tag=phone_tag(PHONE_KEY, pass_id, "6688"),
        phone_key_version=1,
    )
    return replace(base, **changes)


def trust(**changes: Any) -> dict[str, Any]:
    """The verifier's trust as JSON: one pass key, valid for a year around NOW."""
    base: dict[str, Any] = {
        "site": SITE,
        "skew": 300,
        "keys": [key_json(PASS_KEY)],
        "revocations": None,
    }
    return base | changes


def key_json(key: cose.PrivateKey, sign_from: int = NOW - 365 * DAY) -> dict[str, Any]:
    return {
        "kid": kid_for(key).hex(),
        "alg": int(cose.algorithm_for(key)),
        "pub": raw_public(key).hex(),
        "sign_from": sign_from,
        "sign_until": NOW + 365 * DAY,
        "verify_until": NOW + 2 * 365 * DAY,
    }


def revocations(refs: list[bytes] = (), cutoffs: list[list[int]] = ()) -> dict[str, Any]:  # type: ignore[assignment]
    return {
        "seq": 7,
        "issued_at": NOW - 3600,
        "next_update": NOW + 3600,
        "refs": [r.hex() for r in refs],
        "cutoffs": [list(c) for c in cutoffs],
    }


def cose_text(
    payload: bytes,
    *,
    key: cose.PrivateKey = PASS_KEY,
    protected: dict[int, Any] | None = None,
    unprotected: dict[int, Any] | None = None,
    tag: int | None = 18,
    mutate: Callable[[list[Any]], list[Any]] = lambda x: x,
) -> str:
    """Hand-build a COSE_Sign1 (possibly broken on purpose) and wrap it as pass text."""
    header = {1: -19, 4: kid_for(key)} if protected is None else protected
    prot = cbor2.dumps(header, canonical=True)
    to_sign = cose.sig_structure(prot, payload)
    signature = key.sign(to_sign) if isinstance(key, ed25519.Ed25519PrivateKey) else b""
    body = mutate([prot, unprotected or {}, payload, signature])
    item = cbor2.CBORTag(tag, body) if tag is not None else body
    return PREFIX + base45.encode(cbor2.dumps(item, canonical=True))


def flip(text: str, index: int) -> str:
    """Flip one bit of the decoded COSE bytes at ``index`` (negative counts from the end)."""
    raw = bytearray(base45.decode(text[len(PREFIX) :]))
    raw[index] ^= 0x01
    return PREFIX + base45.encode(bytes(raw))


def claims_map(**changes: Any) -> bytes:
    """Encoded claims with raw CBOR edits (for schema violations a PassClaims cannot express)."""
    cwt = cbor2.loads(encode_claims(resident()))
    for path, value in changes.items():
        target = cwt[APP_CLAIM] if path.startswith("app_") else cwt
        key = int(path.removeprefix("app_").removeprefix("k").replace("m", "-"))
        if value is None:
            target.pop(key, None)
        else:
            target[key] = value
    return cbor2.dumps(cwt, canonical=True)


def ok(name: str, text: str, claims: PassClaims, **kw: Any) -> dict[str, Any]:
    return vector(name, text, {"claims": claims_json(claims)}, **kw)


def err(name: str, text: str, error: str, reason: str, **kw: Any) -> dict[str, Any]:
    return vector(name, text, {"error": error, "reason": reason}, **kw)


def vector(
    name: str,
    text: str,
    expect: dict[str, Any],
    *,
    now: int = NOW,
    tr: dict[str, Any] | None = None,
    why: str = "",
) -> dict[str, Any]:
    return {
        "name": name,
        "description": why,
        "pass": text,
        "trust": tr or trust(),
        "now": now,
        "expect": expect,
    }


def build() -> list[dict[str, Any]]:
    """Every vector, in a stable order."""
    good = issue(resident(), PASS_KEY)
    visitor = resident(
        kind=PassKind.VISITOR,
        household=None,
        host=1042,
        uses=2,
        not_before=NOW - 3600,
        issued_at=NOW - 3600,
        expires=NOW + 5 * 3600,
        name="访客",
        unit=None,
    )
    staff = resident(kind=PassKind.STAFF, household=None, phone_tag=None, phone_key_version=None)
    zipped = PREFIX + base45.encode(zlib.compress(base45.decode(good[len(PREFIX) :])))
    bomb = PREFIX + base45.encode(zlib.compress(b"\x00" * 200_000, 9))
    ref = resident().pass_id[:8]
    return [
        ok("valid-resident", good, resident(), why="a realistic printed resident pass"),
        ok("valid-visitor", issue(visitor, PASS_KEY), visitor, why="visitor with host and uses"),
        ok("valid-staff", issue(staff, PASS_KEY), staff, why="staff pass without phone tag"),
        ok("valid-zlib", zipped, resident(), why="zlib body accepted under the output cap"),
        ok(
            "skew-allows-late",
            good,
            resident(),
            now=resident().expires + 299,
            why="exp + skew not yet reached",
        ),
        err("empty", "", "UnreadablePass", "unreadable"),
        err("too-long", PREFIX + "A" * 597, "UnreadablePass", "unreadable", why="601 characters"),
        err("non-ascii", good[:-1] + "é", "UnreadablePass", "unreadable"),
        err("control-char", good[:10] + "\x1b[2J" + good[10:], "UnreadablePass", "unreadable"),
        err("eu-dcc", "HC1:" + good[4:], "UnknownFormat", "unknown_format", why="EU DCC prefix"),
        err("url", "https://example.com/pass?id=1", "UnknownFormat", "unknown_format"),
        err("wifi", "WIFI:S:home;T:WPA;P:secret;;", "UnknownFormat", "unknown_format"),
        err("lowercase-prefix", "pg1:" + good[4:], "UnknownFormat", "unknown_format"),
        err("base45-bad-char", good[:20] + "a" + good[21:], "Base45Error", "bad_encoding"),
        err("base45-dangling", good + "A", "Base45Error", "bad_encoding"),
        err("base45-overflow", PREFIX + "GGW", "Base45Error", "bad_encoding"),
        err("zlib-bomb", bomb, "DecompressionBomb", "bad_encoding", why="200 kB of zeros"),
        err(
            "zlib-broken",
            PREFIX + base45.encode(b"\x78\x9c\xff\xff\x00"),
            "DecompressionBomb",
            "bad_encoding",
        ),
        err("cbor-garbage", PREFIX + base45.encode(b"\xd2\xff\xfe"), "MalformedPass", "malformed"),
        err(
            "untagged", cose_text(encode_claims(resident()), tag=None), "MalformedPass", "malformed"
        ),
        err(
            "wrong-tag", cose_text(encode_claims(resident()), tag=998), "MalformedPass", "malformed"
        ),
        err(
            "array-of-three",
            cose_text(encode_claims(resident()), mutate=lambda b: b[:3]),
            "MalformedPass",
            "malformed",
        ),
        err(
            "trailing-bytes",
            PREFIX + base45.encode(base45.decode(good[4:]) + b"\x00"),
            "MalformedPass",
            "malformed",
        ),
        err(
            "alg-missing",
            cose_text(encode_claims(resident()), protected={4: kid_for(PASS_KEY)}),
            "BadAlgorithm",
            "bad_algorithm",
            why="alg none",
        ),
        err(
            "alg-unknown",
            cose_text(encode_claims(resident()), protected={1: -999, 4: kid_for(PASS_KEY)}),
            "BadAlgorithm",
            "bad_algorithm",
        ),
        err(
            "alg-hmac",
            cose_text(encode_claims(resident()), protected={1: 5, 4: kid_for(PASS_KEY)}),
            "BadAlgorithm",
            "bad_algorithm",
            why="HMAC 256/256 is not a signature",
        ),
        err(
            "alg-es256-on-ed25519-key",
            cose_text(encode_claims(resident()), protected={1: -7, 4: kid_for(PASS_KEY)}),
            "BadAlgorithm",
            "bad_algorithm",
            why="header alg must fit the key",
        ),
        ok(
            "alg-eddsa-accepted",
            cose_text(encode_claims(resident()), protected={1: -8, 4: kid_for(PASS_KEY)}),
            resident(),
            why="RFC 9053 EdDSA (-8) is allow-listed for Ed25519 keys",
        ),
        err("kid-unknown", issue(resident(), OTHER_KEY), "UnknownKey", "unknown_key"),
        err(
            "kid-unprotected-only",
            cose_text(
                encode_claims(resident()), protected={1: -19}, unprotected={4: kid_for(PASS_KEY)}
            ),
            "MissingKeyId",
            "unknown_key",
            why="stricter than DCC CO19",
        ),
        err(
            "kid-also-unprotected",
            cose_text(encode_claims(resident()), unprotected={4: kid_for(OTHER_KEY)}),
            "MalformedPass",
            "malformed",
            why="conflicting unprotected kid (DCC CO22)",
        ),
        err("payload-bit-flip", flip(good, -70), "BadSignature", "bad_signature"),
        err("signature-bit-flip", flip(good, -1), "BadSignature", "bad_signature"),
        err(
            "signature-truncated",
            cose_text(encode_claims(resident()), mutate=lambda b: [*b[:3], b[3][:63]]),
            "BadSignature",
            "bad_signature",
        ),
        err(
            "signed-by-other-key-same-kid",
            cose_text(
                encode_claims(resident()), key=OTHER_KEY, protected={1: -19, 4: kid_for(PASS_KEY)}
            ),
            "BadSignature",
            "bad_signature",
        ),
        err("schema-unknown-claim", cose_text(claims_map(k99=1)), "BadClaims", "bad_schema"),
        err("schema-missing-exp", cose_text(claims_map(k4=None)), "BadClaims", "bad_schema"),
        err("schema-wrong-type", cose_text(claims_map(k4="tomorrow")), "BadClaims", "bad_schema"),
        err("schema-version-2", cose_text(claims_map(app_k1=2)), "UnsupportedSchema", "bad_schema"),
        err(
            "schema-two-passes",
            cose_text(cbor2.dumps([cbor2.loads(encode_claims(resident()))] * 2, canonical=True)),
            "BadClaims",
            "bad_schema",
            why="multiple passes in one (DCC DGC2)",
        ),
        err(
            "schema-non-canonical",
            cose_text(reordered_claims()),
            "BadClaims",
            "bad_schema",
            why="keys out of order: not deterministic CBOR",
        ),
        err(
            "schema-duplicate-key",
            cose_text(reordered_claims(duplicate=True)),
            "BadClaims",
            "bad_schema",
            why="exp given twice",
        ),
        ok(
            "valid-es256",
            issue(resident(), ES_KEY),
            resident(),
            tr=trust(keys=[key_json(ES_KEY)]),
            why="ES256 is on the allow-list (deterministic ECDSA, RFC 6979)",
        ),
        err(
            "not-yet-valid",
            issue(resident(not_before=NOW + 3600), PASS_KEY),
            "NotYetValid",
            "not_yet_valid",
        ),
        err(
            "issued-in-future",
            issue(resident(issued_at=NOW + 3600, not_before=NOW - 60), PASS_KEY),
            "NotYetValid",
            "not_yet_valid",
            why="clock before iat (DCC CO16)",
        ),
        err("expired", good, "PassExpired", "expired", now=resident().expires + 301),
        err("wrong-site", issue(resident(site="other-site"), PASS_KEY), "WrongSite", "wrong_site"),
        err(
            "key-window-before",
            good,
            "KeyNotValid",
            "key_not_valid",
            tr=trust(keys=[key_json(PASS_KEY, sign_from=NOW)]),
            why="iat before the key's sign_from",
        ),
        err(
            "key-retired",
            good,
            "KeyNotValid",
            "key_not_valid",
            now=NOW + 2 * 365 * DAY + 1,
            tr=trust(keys=[key_json(PASS_KEY)]),
            why="after verify_until",
        ),
        err("revoked", good, "PassRevoked", "revoked", tr=trust(revocations=revocations([ref]))),
        err(
            "household-cutoff",
            good,
            "HouseholdCutOff",
            "household_cutoff",
            tr=trust(revocations=revocations(cutoffs=[[1042, NOW - 10 * DAY]])),
        ),
        ok(
            "cutoff-before-issue",
            good,
            resident(),
            tr=trust(revocations=revocations(cutoffs=[[1042, NOW - 40 * DAY]])),
            why="a pass issued after its household's cutoff stays valid",
        ),
    ]


def reordered_claims(duplicate: bool = False) -> bytes:
    """The resident claims map with keys out of canonical order, or with exp written twice."""
    items = list(cbor2.loads(encode_claims(resident())).items())[::-1]
    if duplicate:
        items.append((4, NOW + DAY))
    body = b"".join(cbor2.dumps(k) + cbor2.dumps(v, canonical=True) for k, v in items)
    return bytes([0xA0 | len(items)]) + body


def write() -> None:
    """Write one JSON file per vector."""
    VECTORS.mkdir(exist_ok=True)
    for v in build():
        path = VECTORS / f"{v['name']}.json"
        path.write_text(json.dumps(v, ensure_ascii=False, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    write()
