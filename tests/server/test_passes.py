"""Passes as the protocol defines them: claims, phone tag, revocation list, holds, key rotation."""

from __future__ import annotations

import asyncio

import pytest

from protocol.errors import HouseholdCutOff, KeyNotValid, PassRevoked, UnknownKey
from protocol.keys import load_pem_public
from protocol.manifest import KeyUse, open_manifest, trusted_keys
from protocol.passes import Trust, verify
from protocol.phonetag import digits_match
from protocol.revocation import RevocationState, apply_full, hold_until, open_full
from server.services.passes.revocations import signed_full
from server.store import keys as key_store
from server.store.db import Database
from tests.server.conftest import STRONG, Api, seed

DAY = 86400


def _latest_manifest(api: Api) -> object:
    async def go() -> tuple[bytes, bytes]:
        db = Database(api.site.settings.db_url)
        async with db.read() as conn:
            manifest = await key_store.latest_manifest(conn)
            assert manifest is not None
            signed = manifest.signed
            root = next(k for k in await key_store.list_keys(conn) if k.use == "root")
        await db.close()
        return signed, (api.site.settings.keys_dir / root.file).read_bytes()

    signed, root_pem = asyncio.run(go())
    return open_manifest(signed, load_pem_public(root_pem), site="gw01")


def _revocations(api: Api) -> RevocationState:
    full, signed = api.site.run(signed_full)
    manifest = _latest_manifest(api)
    revlist = {
        kid: k.public for kid, k in trusted_keys(manifest).items() if k.use == KeyUse.REVLIST
    }  # type: ignore[arg-type]
    assert open_full(signed, revlist, site="gw01") == full
    return apply_full(None, full)


def _phone_keys(api: Api) -> dict[int, bytes]:
    files = api.site.settings.keys_dir.glob("phone-v*.key")
    return {int(f.stem.removeprefix("phone-v")): bytes.fromhex(f.read_text()) for f in files}


def test_resident_pass_claims_and_phone_tag(api: Api) -> None:
    ids = seed(api)
    issued = api.post("/api/v1/passes", json={"resident_id": ids["r2"], "days": 30}).json()
    claims = verify(
        issued["text"], Trust.from_manifest(_latest_manifest(api)), api.site.clock.now()
    )  # type: ignore[arg-type]
    assert (claims.site, claims.kind.name, claims.zones, claims.household) == (
        "gw01",
        "RESIDENT",
        (2,),
        ids["h2"],
    )
    assert claims.expires - claims.issued_at == 30 * DAY
    assert claims.phone_key_version == 3  # zone 2's key (v1 is the site's, v2 zone 1's)
    assert digits_match(claims, _phone_keys(api), "9000")  # +86 139-0013-9000
    assert not digits_match(claims, _phone_keys(api), "8000")
    assert issued["ref"] == claims.ref
    assert "text" in issued


def test_visitor_pass_has_host_uses_and_hours(api: Api) -> None:
    ids = seed(api)
    api.use("east-desk")
    r = api.post(
        "/api/v1/visitors",
        json={
            "host_household_id": ids["h1"],
            "name": "O'Brien",
            "phone": "13700137000",
            "purpose": "delivery",
            "hours": 3,
            "uses": 2,
        },
    )
    assert r.status_code == 201, r.text
    body = r.json()
    claims = verify(
        body["pass"]["text"], Trust.from_manifest(_latest_manifest(api)), api.site.clock.now()
    )  # type: ignore[arg-type]
    assert (claims.kind.name, claims.host, claims.uses, claims.household) == (
        "VISITOR",
        ids["h1"],
        2,
        None,
    )
    assert claims.expires - claims.not_before == 3 * 3600
    assert body["visitor"]["phone_masked"] == "137****7000"
    assert (
        api.post(
            "/api/v1/visitors",
            json={
                "host_household_id": ids["h1"],
                "name": "x",
                "phone": "13700137000",
                "purpose": "p",
                "hours": 25,
            },
        ).status_code
        == 422
    )


def test_staff_pass_covers_their_zones(api: Api) -> None:
    staff = {s["username"]: s["id"] for s in api.get("/api/v1/staff").json()}
    issued = api.post("/api/v1/passes", json={"staff_id": staff["west-desk"]}).json()
    claims = verify(
        issued["text"], Trust.from_manifest(_latest_manifest(api)), api.site.clock.now()
    )  # type: ignore[arg-type]
    assert claims.kind.name == "STAFF"
    assert claims.zones == (2,)
    assert claims.phone_tag is None


def test_revoked_and_cut_off_passes_fail_verification(api: Api) -> None:
    ids = seed(api)
    a = api.post("/api/v1/passes", json={"resident_id": ids["r1"]}).json()
    b = api.post("/api/v1/passes", json={"resident_id": ids["r2"]}).json()
    assert api.post(f"/api/v1/passes/{a['id']}/revoke", json={"reason": "lost"}).json() == {
        "count": 1
    }
    assert api.post(f"/api/v1/passes/{a['id']}/revoke", json={"reason": "again"}).json() == {
        "count": 0
    }
    api.site.clock.advance(1)
    assert api.post(
        f"/api/v1/households/{ids['h2']}/cutoff", json={"reason": "moved out"}
    ).json() == {"count": 1}
    state = _revocations(api)
    trust = Trust.from_manifest(_latest_manifest(api), state)  # type: ignore[arg-type]
    with pytest.raises(PassRevoked):
        verify(a["text"], trust, api.site.clock.now())
    with pytest.raises((HouseholdCutOff, PassRevoked)):
        verify(b["text"], trust, api.site.clock.now())
    assert state.cutoffs == {ids["h2"]: api.site.clock.now()}
    fresh = api.post("/api/v1/passes", json={"resident_id": ids["r2"]}).json()
    assert verify(fresh["text"], trust, api.site.clock.now()).household == ids["h2"]


def test_renew_revokes_the_old_pass(api: Api) -> None:
    ids = seed(api)
    old = api.post("/api/v1/passes", json={"resident_id": ids["r1"]}).json()
    new = api.post(f"/api/v1/passes/{old['id']}/renew").json()
    assert new["ref"] != old["ref"]
    assert (
        api.get(f"/api/v1/passes/{old['id']}").json()["revoke_reason"] == f"renewed as {new['ref']}"
    )
    assert _revocations(api).refs == {bytes.fromhex(old["ref"])}


def test_home_observation_becomes_a_hold(api: Api) -> None:
    ids = seed(api)
    p = api.post("/api/v1/passes", json={"resident_id": ids["r1"]}).json()
    now = api.site.clock.now()
    api.use("east-desk")
    r = api.put(
        f"/api/v1/residents/{ids['r1']}/observation",
        json={"status": "home_observation", "start": now, "end": now + 14 * DAY},
    )
    assert r.status_code == 200
    assert r.json()["status"] == "home_observation"
    assert (
        api.put(f"/api/v1/households/{ids['h1']}/hold", json={"until": now + 7 * DAY}).status_code
        == 200
    )
    state = _revocations(api)
    claims = verify(p["text"], Trust.from_manifest(_latest_manifest(api), state), now)  # type: ignore[arg-type]
    assert hold_until(state, claims, now) == now + 14 * DAY
    assert state.household_holds == {ids["h1"]: now + 7 * DAY}
    seq = state.seq
    api.put(f"/api/v1/residents/{ids['r1']}/observation", json={"status": "normal"})
    api.put(f"/api/v1/households/{ids['h1']}/hold", json={"until": None})
    cleared = _revocations(api)
    assert cleared.seq > seq
    assert not cleared.pass_holds
    assert not cleared.household_holds


def test_key_rotation_announces_before_use_and_keeps_old_passes_valid(api: Api) -> None:
    ids = seed(api)
    old = api.post("/api/v1/passes", json={"resident_id": ids["r1"]}).json()
    new_key = api.post("/api/v1/keys/rotate", json={"use": "pass"}).json()
    lead = api.site.settings.key_lead_days * DAY
    assert new_key["sign_from"] == api.site.clock.now() + lead
    manifest = _latest_manifest(api)
    assert bytes.fromhex(new_key["kid"]) in {k.kid for k in manifest.keys}  # type: ignore[attr-defined]
    during_lead = api.post("/api/v1/passes", json={"resident_id": ids["r1"]}).json()
    assert during_lead["kid"] == old["kid"]  # the new key does not sign before its window
    api.site.clock.advance(lead + 1)
    api.remember("admin", "admin", STRONG)  # the session idled out meanwhile
    after = api.post("/api/v1/passes", json={"resident_id": ids["r1"]}).json()
    assert after["kid"] == new_key["kid"]
    trust = Trust.from_manifest(_latest_manifest(api))  # type: ignore[arg-type]
    now = api.site.clock.now()
    assert verify(old["text"], trust, now).ref == old["ref"]
    assert verify(after["text"], trust, now).ref == after["ref"]
    old_key = next(k for k in api.get("/api/v1/keys").json() if k["kid"] == old["kid"])
    assert old_key["verify_until"] >= old["expires"]
    with pytest.raises(KeyNotValid):
        verify(old["text"], trust, old_key["verify_until"] + 1)


def test_retired_key_kills_its_passes(api: Api) -> None:
    ids = seed(api)
    p = api.post("/api/v1/passes", json={"resident_id": ids["r1"]}).json()
    r = api.post(f"/api/v1/keys/{p['kid']}/retire").json()
    assert r == {"kid": p["kid"], "passes_killed": 1}
    with pytest.raises(UnknownKey):
        verify(p["text"], Trust.from_manifest(_latest_manifest(api)), api.site.clock.now())  # type: ignore[arg-type]
    assert (
        api.post("/api/v1/passes", json={"resident_id": ids["r1"]}).status_code == 409
    )  # no pass key left
    assert api.post(f"/api/v1/keys/{p['kid']}/retire").status_code == 409


def test_staff_may_revoke_only_visitor_passes(api: Api) -> None:
    ids = seed(api)
    resident_pass = api.post("/api/v1/passes", json={"resident_id": ids["r1"]}).json()
    api.use("east-desk")
    visitor = api.post(
        "/api/v1/visitors",
        json={
            "host_household_id": ids["h1"],
            "name": "V",
            "phone": "13700137000",
            "purpose": "p",
            "hours": 1,
        },
    ).json()
    assert (
        api.post(f"/api/v1/passes/{resident_pass['id']}/revoke", json={"reason": "x"}).status_code
        == 403
    )
    assert api.post(
        f"/api/v1/passes/{visitor['pass']['id']}/revoke", json={"reason": "left"}
    ).json() == {"count": 1}


@pytest.mark.parametrize(
    ("name", "printed"),
    [("张三", "张*"), ("欧阳秀英", "欧**英"), ("李", "李"), ("阿卜杜热依木·买买提明", "阿****明")],
)
def test_a_pass_carries_the_name_masked(name: str, printed: str) -> None:
    """Any phone reads a QR code: a lost card gives no full name away (the console and the
    printed card show the registry's name; nothing on the gate needs more)."""
    from server.services.text import display_name

    assert display_name(name) == printed
