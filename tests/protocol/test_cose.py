"""COSE_Sign1 against the COSE working group's examples, and our stricter header policy."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from protocol import cose, errors
from protocol.keys import generate_ed25519, kid_for

DATA = json.loads((Path(__file__).parent / "data" / "cose-wg-sign1.json").read_text())
EXAMPLES = DATA["examples"]


def _b64(text: str) -> int:
    return int.from_bytes(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)), "big")


def public_key(name: str) -> cose.PublicKey:
    jwk = DATA["keys"][name]
    if jwk["kty"] == "OKP":
        return ed25519.Ed25519PublicKey.from_public_bytes(bytes.fromhex(jwk["x_hex"]))
    return ec.EllipticCurvePublicNumbers(
        _b64(jwk["x"]), _b64(jwk["y"]), ec.SECP256R1()
    ).public_key()


def parts(example: dict[str, Any]) -> tuple[bytes, dict[int, Any], bytes, bytes]:
    item = cbor2.loads(bytes.fromhex(example["cbor_hex"]))
    body = item.value if isinstance(item, cbor2.CBORTag) else item
    return body[0], body[1], body[2], body[3]


def alg_of(protected: bytes, unprotected: dict[int, Any]) -> int:
    header = cbor2.loads(protected) if protected else {}
    return int(header.get(1, unprotected.get(1)))


PASSING = [e for e in EXAMPLES if not e["fail"]]
FAILING = [e for e in EXAMPLES if e["fail"]]


@pytest.mark.parametrize("example", PASSING, ids=[e["title"][:14] for e in PASSING])
def test_sig_structure_and_signature_match_the_working_group(example: dict[str, Any]) -> None:
    protected, unprotected, payload, signature = parts(example)
    assert cose.sig_structure(protected, payload) == bytes.fromhex(example["to_be_signed_hex"])
    key = public_key(example["key"])
    cose.verify_signature(key, alg_of(protected, unprotected), protected, payload, signature)


def test_ed25519_signature_reproduces_byte_for_byte() -> None:
    example = EXAMPLES[0]
    private = ed25519.Ed25519PrivateKey.from_private_bytes(
        bytes.fromhex(DATA["keys"]["ed25519-11"]["d_hex"])
    )
    protected, _, payload, signature = parts(example)
    assert private.sign(cose.sig_structure(protected, payload)) == signature


@pytest.mark.parametrize("example", FAILING, ids=[e["title"][:12] for e in FAILING])
def test_working_group_failures_fail(example: dict[str, Any]) -> None:
    key = public_key(example["key"])
    with pytest.raises(errors.PassError):
        cose.verify1(bytes.fromhex(example["cbor_hex"]), {b"11": key})
    if example.get("signature_valid"):
        return  # only the envelope is broken, which verify1 refused above
    protected, unprotected, payload, signature = parts(example)
    with pytest.raises(errors.PassError):
        cose.verify_signature(key, alg_of(protected, unprotected), protected, payload, signature)


@pytest.mark.parametrize(
    ("title", "error"),
    [
        ("EdDSA-01", errors.MissingKeyId),  # kid only unprotected
        ("sign-pass-03", errors.MalformedPass),  # untagged
    ],
)
def test_valid_cose_that_our_policy_refuses(title: str, error: type[Exception]) -> None:
    """Stricter than COSE (and DCC): nothing unprotected is used, the tag is required."""
    example = next(e for e in EXAMPLES if e["title"].startswith(title))
    with pytest.raises(error):
        cose.verify1(bytes.fromhex(example["cbor_hex"]), {b"11": public_key(example["key"])})


@pytest.mark.parametrize(
    "make_key", [generate_ed25519, lambda: ec.generate_private_key(ec.SECP256R1())]
)
def test_sign1_round_trip_and_header(make_key: Any) -> None:
    key = make_key()
    message = cose.sign1(b"payload", key, kid_for(key))
    assert cose.verify1(message, {kid_for(key): key.public_key()}) == b"payload"
    parsed = cose.decode_sign1(message)
    assert (parsed.alg, parsed.kid) == (cose.algorithm_for(key), kid_for(key))
    assert cbor2.loads(parsed.protected) == {1: int(cose.algorithm_for(key)), 4: kid_for(key)}


def test_ed25519_key_refuses_es256_header_and_vice_versa() -> None:
    ed = generate_ed25519()
    p256 = ec.generate_private_key(ec.SECP256R1())
    message = cose.sign1(b"x", p256, kid_for(ed))  # ES256 header, but the kid names an Ed25519 key
    with pytest.raises(errors.BadAlgorithm):
        cose.verify1(message, {kid_for(ed): ed.public_key()})


def test_unsupported_curve_is_refused() -> None:
    with pytest.raises(errors.BadAlgorithm):
        cose.sign1(b"x", ec.generate_private_key(ec.SECP384R1()), b"abcd")


def test_protected_header_must_be_exactly_alg_and_kid() -> None:
    key = generate_ed25519()
    protected = cbor2.dumps({1: -19, 4: kid_for(key), 3: 0}, canonical=True)
    signature = key.sign(cose.sig_structure(protected, b"x"))
    message = cbor2.dumps(cbor2.CBORTag(18, [protected, {}, b"x", signature]), canonical=True)
    with pytest.raises(errors.MalformedPass, match="unexpected protected header"):
        cose.verify1(message, {kid_for(key): key.public_key()})
