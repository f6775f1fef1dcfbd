"""The names outside checks rely on (docs/protocol.md "Public API") stay as documented."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from pathlib import Path

import pytest

import protocol
from protocol import base45, cose, passes, phonetag
from protocol.claims import PassClaims, PassKind
from protocol.keys import generate_ed25519, kid_for, private_pem, public_pem

PINNED = {
    "protocol.base45.encode": (base45.encode, ["data"]),
    "protocol.base45.decode": (base45.decode, ["text"]),
    "protocol.cose.sign1": (cose.sign1, ["payload", "private_key", "kid"]),
    "protocol.cose.verify1": (cose.verify1, ["message", "public_keys"]),
    "protocol.passes.issue": (passes.issue, ["claims", "private_key"]),
    "protocol.passes.verify": (passes.verify, ["text", "trust", "now"]),
}


@pytest.mark.parametrize("name", sorted(PINNED))
def test_pinned_signatures(name: str) -> None:
    func, params = PINNED[name]
    assert list(inspect.signature(func).parameters) == params


def test_package_exports() -> None:
    assert set(protocol.__all__) >= {
        "Trust",
        "issue",
        "verify",
        "PassClaims",
        "ReasonCode",
        "PassError",
    }
    assert protocol.PROTOCOL_VERSION == 1
    for module in (
        "base45",
        "cose",
        "passes",
        "claims",
        "manifest",
        "revocation",
        "messages",
        "topics",
    ):
        mod = __import__(f"protocol.{module}", fromlist=["__all__"])
        assert all(hasattr(mod, name) for name in mod.__all__), module


def test_phone_tag_is_keyed_and_exact() -> None:
    key = b"k" * 32
    pid = bytes(range(12))
    tag = phonetag.phone_tag(key, pid, "1234")
    assert len(tag) == 4
    assert tag != phonetag.phone_tag(b"j" * 32, pid, "1234")
    claims = PassClaims(
        site="gw01",
        pass_id=pid,
        kind=PassKind.RESIDENT,
        issued_at=0,
        not_before=0,
        expires=10,
        zones=(1,),
        household=1,
        phone_tag=tag,
        phone_key_version=2,
    )
    assert phonetag.digits_match(claims, {2: key}, "1234")
    assert not phonetag.digits_match(claims, {2: key}, "1235")
    assert not phonetag.digits_match(claims, {1: key}, "1234")  # no key of that version
    for typed in ("123", "12345", "12a4", "１２３４", ""):
        assert not phonetag.digits_match(claims, {2: key}, typed)
    with pytest.raises(ValueError, match="at least 16 bytes"):
        phonetag.phone_tag(b"short", pid, "1234")


def run_inspect(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "protocol", "inspect", *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_inspect_cli_on_an_issued_pass(tmp_path: Path) -> None:
    key = generate_ed25519()
    claims = PassClaims(
        site="gw01",
        pass_id=b"\x07" * 12,
        kind=PassKind.VISITOR,
        issued_at=5,
        not_before=5,
        expires=99,
        zones=(3,),
        host=12,
        uses=1,
        name="李雷",
    )
    text = passes.issue(claims, key)
    (tmp_path / "pub.pem").write_bytes(public_pem(key))
    (tmp_path / "other.pem").write_bytes(private_pem(generate_ed25519()))

    result = run_inspect(text)
    report = json.loads(result.stdout)
    assert result.returncode == 0
    assert report["trusted"] is False
    assert "signature" not in report
    assert report["header"] == {"alg": "ED25519", "kid": kid_for(key).hex()}
    assert report["claims"]["kind"] == "visitor"
    assert report["claims"]["name"] == "李雷"

    good = run_inspect(text, "--key", str(tmp_path / "pub.pem"))
    assert good.returncode == 0
    assert json.loads(good.stdout)["signature"]["valid"] is True
    bad = run_inspect(text, "--key", str(tmp_path / "other.pem"))
    assert bad.returncode == 1
    assert json.loads(bad.stdout)["signature"]["valid"] is False

    broken = run_inspect("HC1:NCFOXN")
    assert broken.returncode == 2
    assert json.loads(broken.stdout)["error"]["class"] == "UnknownFormat"
