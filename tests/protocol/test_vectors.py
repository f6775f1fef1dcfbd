"""Golden vectors: every failure class of reliability-security.md 9.1 items 5-12, G-07 and G-08.

The vectors are files so that any other implementation (a gate in another language, an
installer's checker) can run the same corpus. Each one names the exact error class expected.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from protocol import errors
from protocol.cose import Algorithm
from protocol.inspect import claims_json
from protocol.keys import public_from_raw
from protocol.manifest import KeyUse, TrustedKey
from protocol.passes import Trust, verify
from protocol.revocation import RevocationState
from tests.protocol import make_vectors

FILES = sorted(make_vectors.VECTORS.glob("*.json"))


def load_trust(spec: dict[str, Any]) -> Trust:
    """Build a Trust from a vector's JSON description."""
    keys = {}
    for k in spec["keys"]:
        kid = bytes.fromhex(k["kid"])
        keys[kid] = TrustedKey(
            kid,
            Algorithm(k["alg"]),
            public_from_raw(bytes.fromhex(k["pub"])),
            KeyUse.PASS,
            k["sign_from"],
            k["sign_until"],
            k["verify_until"],
        )
    rev = spec["revocations"]
    state = None
    if rev is not None:
        state = RevocationState(
            site=spec["site"],
            seq=rev["seq"],
            issued_at=rev["issued_at"],
            next_update=rev["next_update"],
            refs=frozenset(bytes.fromhex(r) for r in rev["refs"]),
            cutoffs=dict(rev["cutoffs"]),
        )
    return Trust(spec["site"], keys, state, spec["skew"])


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_vector(path: Path) -> None:
    vector = json.loads(path.read_text())
    trust = load_trust(vector["trust"])
    expect = vector["expect"]
    if "claims" in expect:
        assert claims_json(verify(vector["pass"], trust, vector["now"])) == expect["claims"]
    else:
        with pytest.raises(errors.PassError) as caught:
            verify(vector["pass"], trust, vector["now"])
        assert type(caught.value).__name__ == expect["error"]
        assert caught.value.reason.value == expect["reason"]


def test_files_are_what_the_generator_makes() -> None:
    """The committed corpus and its generator never drift apart."""
    built = {v["name"]: v for v in make_vectors.build()}
    on_disk = {json.loads(p.read_text())["name"]: json.loads(p.read_text()) for p in FILES}
    assert on_disk == built


def test_corpus_covers_every_failure_class() -> None:
    seen = {json.loads(p.read_text())["expect"].get("error") for p in FILES}
    needed = {
        cls.__name__
        for cls in vars(errors).values()
        if isinstance(cls, type)
        and issubclass(cls, errors.PassError)
        and cls is not errors.PassError
    }
    # abstract parents are covered through their subclasses
    needed -= {"BadEncoding"}
    assert needed <= seen, f"no vector for {sorted(needed - seen)}"
    assert len(FILES) >= 30


def test_worked_example_in_the_docs_is_the_valid_resident_vector() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "protocol.md").read_text()
    vector = json.loads((make_vectors.VECTORS / "valid-resident.json").read_text())
    assert f"\n{vector['pass']}\n" in doc
    claims = verify(vector["pass"], load_trust(vector["trust"]), vector["now"])
    assert claims.ref in doc
    assert vector["trust"]["keys"][0]["pub"] in doc
