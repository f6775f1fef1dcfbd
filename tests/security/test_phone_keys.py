"""Phone-tag keys per zone (issue 14, design note): a stolen gate's keys and a photo of a pass's QR
code give away the last four digits of its own zone's holders only, and ``keys rotate-phone``
gives a zone new keys after a loss."""

from __future__ import annotations

from typing import Any

from protocol import messages
from protocol.claims import PassClaims
from protocol.keys import public_from_raw
from protocol.manifest import KeyUse, open_manifest
from protocol.passes import Trust, verify
from protocol.phonetag import digits_match
from server.cli.main import main
from server.services.gates import publishing
from server.store import keys as key_store
from tests.server.conftest import Api, seed


def _gate(api: Api, gate: str, zone: int) -> None:
    api.use("admin")
    body = {"id": gate, "zone_id": zone, "name": gate, "direction": "in"}
    assert api.post("/api/v1/gates", json=body).status_code == 201


async def _trust(env: Any) -> tuple[dict[str, dict[bytes, Any]], Any]:
    """The site's public keys by use, and its manifest opened with the root's public key."""
    async with env.db.read() as conn:
        rows = await key_store.list_keys(conn)
        signed = await key_store.latest_manifest(conn)
    by_use: dict[str, dict[bytes, Any]] = {}
    for row in rows:
        by_use.setdefault(row.use, {})[bytes.fromhex(row.kid)] = public_from_raw(row.public_raw)
    assert signed is not None
    root = next(iter(by_use["root"].values()))
    return by_use, open_manifest(signed.signed, root, site="gw01")


def _stolen_keys(api: Api, gate: str) -> dict[int, bytes]:
    """The phone-tag keys in the signed config the server publishes for ``gate``: what a thief
    reads from its SD card."""
    updates = api.site.run(lambda env: publishing.config_updates(env, "gw01", force=True))
    control = api.site.run(_trust)[0][KeyUse.CONTROL.value]
    for update in updates:
        message = update.messages[0]
        if message.topic.endswith(f"/gates/{gate}/config"):
            config = messages.open_config(message.payload, control, site="gw01", gate=gate)
            return dict(config.phone_keys)
    raise AssertionError(f"no config for {gate}")


def _photo(api: Api, resident: int) -> PassClaims:
    """A pass issued to ``resident``, as read from a photo of its QR code."""
    api.use("admin")
    text = api.post("/api/v1/passes", json={"resident_id": resident, "days": 30}).json()["text"]
    manifest = api.site.run(_trust)[1]
    return verify(text, Trust.from_manifest(manifest), api.site.clock.now())


def _brute_force(claims: PassClaims, keys: dict[int, bytes]) -> list[str]:
    """Every four digits the stolen keys accept for this pass: the thief's 10,000 HMACs."""
    return [f"{n:04d}" for n in range(10_000) if digits_match(claims, keys, f"{n:04d}")]


def test_a_stolen_gate_reveals_only_its_own_zones_digits(api: Api) -> None:
    ids = seed(api)  # 张三 in zone 1 (…8000), 李四 in zone 2 (…9000)
    _gate(api, "east-in", 1)
    stolen = _stolen_keys(api, "east-in")
    assert _brute_force(_photo(api, ids["r2"]), stolen) == []  # another zone's holder: safe
    assert _brute_force(_photo(api, ids["r1"]), stolen) == ["8000"]  # its own zone: the limit


def test_rotating_after_a_loss_gives_new_passes_a_key_the_thief_lacks(api: Api) -> None:
    ids = seed(api)
    _gate(api, "east-in", 1)
    stolen = _stolen_keys(api, "east-in")
    data = str(api.site.settings.data_dir)
    assert main(["keys", "rotate-phone", "--zone", "1", "--data", data]) == 0
    renewed = _photo(api, ids["r1"])
    assert renewed.phone_key_version not in stolen
    assert _brute_force(renewed, stolen) == []
    assert renewed.phone_key_version in _stolen_keys(api, "east-in")  # the lane can check it
