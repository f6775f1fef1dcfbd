"""The root-signed key manifest: only the pinned root signs it, only a higher seq replaces it."""

from __future__ import annotations

from dataclasses import replace

import msgspec
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from protocol import errors
from protocol.keys import generate_ed25519, kid_for, raw_public
from protocol.manifest import (
    KeyManifest,
    KeyUse,
    accept_manifest,
    key_entry,
    open_manifest,
    sign_manifest,
    trusted_keys,
)
from protocol.passes import Trust

ROOT = generate_ed25519()
PASS_KEY = generate_ed25519()
REV_KEY = generate_ed25519()


def manifest(seq: int = 1, **changes: object) -> KeyManifest:
    keys = [
        key_entry(PASS_KEY, KeyUse.PASS, 0, 1000, 2000),
        key_entry(REV_KEY, KeyUse.REVLIST, 0, 1000, 2000),
        key_entry(ec.generate_private_key(ec.SECP256R1()), KeyUse.PASS, 0, 1000, 2000),
    ]
    base = KeyManifest(schema=1, site="gw01", seq=seq, issued_at=10, keys=keys)
    return msgspec.structs.replace(base, **changes)


def test_sign_and_open() -> None:
    m = manifest()
    assert open_manifest(sign_manifest(m, ROOT), ROOT.public_key(), site="gw01") == m


def test_trust_takes_only_pass_keys() -> None:
    trust = Trust.from_manifest(manifest())
    assert kid_for(PASS_KEY) in trust.keys
    assert kid_for(REV_KEY) not in trust.keys
    assert trust.site == "gw01"


def test_signed_by_another_root_is_untrusted() -> None:
    with pytest.raises(errors.UntrustedMessage):
        open_manifest(sign_manifest(manifest(), generate_ed25519()), ROOT.public_key(), site="gw01")


def test_other_site_is_refused() -> None:
    with pytest.raises(errors.WrongSiteMessage):
        open_manifest(sign_manifest(manifest(site="gw02"), ROOT), ROOT.public_key(), site="gw01")


def test_only_a_higher_seq_is_accepted() -> None:
    current = manifest(seq=5)
    assert accept_manifest(current, manifest(seq=6)).seq == 6
    for seq in (4, 5):
        with pytest.raises(errors.StaleUpdate):
            accept_manifest(current, manifest(seq=seq))
    assert accept_manifest(None, manifest(seq=1)).seq == 1


def bad_entry(**changes: object) -> KeyManifest:
    entry = key_entry(PASS_KEY, KeyUse.PASS, 0, 1000, 2000)
    return manifest(keys=[msgspec.structs.replace(entry, **changes)])


@pytest.mark.parametrize(
    "m",
    [
        bad_entry(kid=b"\x00\x00\x00\x00"),  # kid is not SHA-256 of the key
        bad_entry(alg=-7),  # an Ed25519 key claiming ES256
        bad_entry(alg=-999),
        bad_entry(sign_until=3000),  # sign window beyond verify_until
        bad_entry(pub=b"\x01" * 33),  # neither Ed25519 nor P-256
        manifest(keys=[key_entry(PASS_KEY, KeyUse.PASS, 0, 1, 2)] * 2),  # duplicate kid
    ],
)
def test_bad_entries_are_refused_on_both_sides(m: KeyManifest) -> None:
    with pytest.raises(errors.MalformedMessage):
        trusted_keys(m)
    with pytest.raises(errors.MalformedMessage):
        sign_manifest(m, ROOT)


def test_invalid_p256_point_is_refused() -> None:
    point = bytearray(raw_public(ec.generate_private_key(ec.SECP256R1())))
    point[-1] ^= 1
    with pytest.raises(errors.MalformedMessage):
        trusted_keys(bad_entry(pub=bytes(point)))


def test_trusted_key_windows_are_kept() -> None:
    key = trusted_keys(manifest())[kid_for(PASS_KEY)]
    assert (key.sign_from, key.sign_until, key.verify_until) == (0, 1000, 2000)
    assert replace(key, verify_until=1).verify_until == 1
