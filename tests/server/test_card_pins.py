"""Holder proof for everyone (issue 16 item 6), on the server: a resident without a phone gets a
random 4-digit card PIN whose keyed tag the pass carries (holder proof 1); the server keeps a
keyed hash and the PIN only until the card is printed, where it is drawn on a tear-off strip;
printing it again draws a new PIN and reissues the pass; editing a resident's phone (API and
page) reissues their live passes so the gate asks for the new digits.

Real SQLite site, the API in-process, PDFs read back with pdftotext and zbarimg (at 200 dpi).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import cbor2
import pytest
import sqlalchemy as sa

from protocol.claims import HolderProof, PassClaims, decode_claims
from protocol.passes import unwrap
from protocol.phonetag import digits_match
from server.services.context import CLI_ACTOR, Env
from server.services.passes import issuing, phone_keys, printing
from server.store.schema import audit_log, card_pins, passes
from server.web.cardwords import checklist_words, face_words
from tests.server.conftest import Api, Site

PIN_LINE = re.compile(r"卡片密码 / Card PIN:\s*(\d{4})")


def _tools() -> None:
    if not (shutil.which("zbarimg") and shutil.which("pdftoppm") and shutil.which("pdftotext")):
        pytest.fail("zbarimg, pdftoppm and pdftotext are needed (make sysdeps)")


def _claims(text: str) -> PassClaims:
    message = cbor2.loads(unwrap(text))
    return decode_claims(message.value[2])


def _keys(site: Site, zone: int) -> dict[int, bytes]:
    async def go(env: Env) -> dict[int, bytes]:
        async with env.db.read() as conn:
            return await phone_keys.gate_keys(conn, env.keys_dir, zone)

    return site.run(go)  # type: ignore[no-any-return]


def _rows(site: Site, query: Any) -> list[dict[str, Any]]:
    async def go(env: Env) -> list[dict[str, Any]]:
        async with env.db.read() as conn:
            return [dict(r._mapping) for r in await conn.execute(query)]

    return site.run(go)  # type: ignore[no-any-return]


def _pdf(pdf: bytes, tmp: Path) -> tuple[list[str], list[str]]:
    """The PINs printed and the QR texts decoded, in page order."""
    _tools()
    path = tmp / "cards.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    subprocess.run(["pdftoppm", "-r", "200", "-png", str(path), str(tmp / "page")], check=True)
    found: list[str] = []
    for page in sorted(tmp.glob("page*.png")):
        out = subprocess.run(
            ["zbarimg", "-q", "--raw", "-Sdisable", "-Sqrcode.enable", str(page)],
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        found += [line for line in out.splitlines() if line]
        page.unlink()
    return PIN_LINE.findall(text), found


@pytest.fixture
def household(api: Api) -> dict[str, int]:
    """Zone 1, building 5 unit 1 room 101: 周奶奶 without a phone, 周明 with one."""
    api.use("admin")
    h = api.post(
        "/api/v1/households", json={"zone_id": 1, "building": "5", "unit": "1", "room": "101"}
    ).json()
    granny = api.post(
        "/api/v1/residents", json={"household_id": h["id"], "name": "周奶奶", "role": "owner"}
    ).json()
    son = api.post(
        "/api/v1/residents",
        json={"household_id": h["id"], "name": "周明", "phone": "13912345678", "role": "family"},
    ).json()
    return {"h": h["id"], "granny": granny["id"], "son": son["id"]}


def test_a_resident_without_a_phone_gets_a_card_pin_printed_once(
    api: Api, household: dict[str, int], tmp_path: Path
) -> None:
    issued = api.post("/api/v1/passes", json={"resident_id": household["granny"]}).json()
    claims = _claims(issued["text"])
    assert claims.proof == HolderProof.CARD_PIN
    assert claims.phone_tag is not None
    (stored,) = _rows(api.site, sa.select(card_pins))
    assert stored["ref"] == issued["ref"]
    assert stored["resident_id"] == household["granny"]
    assert re.fullmatch(r"\d{4}", stored["pending"])
    keys = _keys(api.site, 1)
    pin = stored["pending"]
    key = keys[stored["key_version"]]
    assert stored["pin_hash"] == issuing.pin_hash(key, claims.pass_id, pin)
    assert pin.encode() not in stored["pin_hash"]
    assert digits_match(claims, keys, pin)
    audit = _rows(api.site, sa.select(audit_log).where(audit_log.c.action == "pass.issue"))
    assert audit[-1]["detail"]["proof"] == "card_pin"
    assert pin not in str(audit)

    card = api.get(f"/api/v1/passes/{issued['id']}/card.pdf")
    assert card.status_code == 200
    printed, qrs = _pdf(card.content, tmp_path)
    assert printed == [pin]
    assert qrs == [issued["text"]]
    (after,) = _rows(api.site, sa.select(card_pins))
    assert after["pending"] is None  # the PIN lives on the card now, not on the server
    assert after["printed_at"] is not None
    assert after["pin_hash"] == stored["pin_hash"]

    son = api.post("/api/v1/passes", json={"resident_id": household["son"]}).json()
    assert _claims(son["text"]).proof == HolderProof.PHONE
    son_card = api.get(f"/api/v1/passes/{son['id']}/card.pdf")
    assert _pdf(son_card.content, tmp_path) == ([], [son["text"]])  # no strip without a PIN


def test_reprinting_draws_a_new_pin_and_reissues_the_pass(
    api: Api, household: dict[str, int], tmp_path: Path
) -> None:
    first = api.post("/api/v1/passes", json={"resident_id": household["granny"]}).json()
    (pin1,), _ = _pdf(api.get(f"/api/v1/passes/{first['id']}/card.pdf").content, tmp_path)
    again = api.get(f"/api/v1/passes/{first['id']}/card.pdf")
    assert again.status_code == 200
    (pin2,), (text2,) = _pdf(again.content, tmp_path)
    assert text2 != first["text"]
    new = _claims(text2)
    keys = _keys(api.site, 1)
    assert digits_match(new, keys, pin2)
    assert not digits_match(_claims(first["text"]), keys, pin2) or pin1 == pin2
    old = api.get(f"/api/v1/passes/{first['id']}").json()
    assert old["revoked_at"] is not None
    assert old["revoke_reason"] == f"card reprinted as {new.ref}"
    assert old["expires"] == api.get("/api/v1/passes", params={"active": True}).json()["items"][0][
        "expires"
    ]  # fmt: skip
    live = api.get("/api/v1/passes", params={"resident_id": household["granny"], "active": True})
    assert [p["ref"] for p in live.json()["items"]] == [new.ref]
    printed = _rows(api.site, sa.select(audit_log).where(audit_log.c.action == "pass.pin_printed"))
    assert [a["target"] for a in printed] == [f"pass:{first['ref']}", f"pass:{new.ref}"]


def test_a_bulk_sheet_prints_pending_pins_and_reissues_printed_ones(
    api: Api, household: dict[str, int], tmp_path: Path
) -> None:
    result = api.post("/api/v1/passes/everyone", json={"building": "5"}).json()
    assert result["issued"] == 2
    sheet = api.get("/api/v1/cards.pdf", params={"building": "5"})
    pins, qrs = _pdf(sheet.content, tmp_path)
    assert len(pins) == 1
    assert len(qrs) == 2
    pin_pass = next(c for c in map(_claims, qrs) if c.proof == HolderProof.CARD_PIN)
    assert digits_match(pin_pass, _keys(api.site, 1), pins[0])
    again = api.get("/api/v1/cards.pdf", params={"building": "5"})
    pins2, qrs2 = _pdf(again.content, tmp_path)
    assert len(pins2) == 1
    assert len(qrs2) == 2
    reissued = next(c for c in map(_claims, qrs2) if c.proof == HolderProof.CARD_PIN)
    assert reissued.ref != pin_pass.ref
    assert digits_match(reissued, _keys(api.site, 1), pins2[0])
    assert pin_pass.ref not in {_claims(t).ref for t in qrs2}
    assert {_claims(t).ref for t in qrs} - {pin_pass.ref} <= {_claims(t).ref for t in qrs2}


def test_revoking_an_unprinted_pin_pass_forgets_its_pin(
    api: Api, household: dict[str, int]
) -> None:
    issued = api.post("/api/v1/passes", json={"resident_id": household["granny"]}).json()
    r = api.post(f"/api/v1/passes/{issued['id']}/revoke", json={"reason": "moved"})
    assert r.status_code == 200
    (stored,) = _rows(api.site, sa.select(card_pins))
    assert stored["pending"] is None
    assert stored["printed_at"] is None


def _live(api: Api, resident: int) -> list[dict[str, Any]]:
    r = api.get("/api/v1/passes", params={"resident_id": resident, "active": True})
    return r.json()["items"]  # type: ignore[no-any-return]


def _text_of(api: Api, ref: str) -> str:
    (row,) = _rows(api.site, sa.select(passes.c.text).where(passes.c.ref == ref))
    return str(row["text"])


def test_a_phone_edited_by_api_or_page_reissues_the_live_passes(
    api: Api, household: dict[str, int]
) -> None:
    son = household["son"]
    first = api.post("/api/v1/passes", json={"resident_id": son}).json()
    keys = _keys(api.site, 1)
    assert digits_match(_claims(first["text"]), keys, "5678")

    r = api.patch(f"/api/v1/residents/{son}", json={"phone": "13700001234"})
    assert r.status_code == 200, r.text
    (now_live,) = _live(api, son)
    assert now_live["ref"] != first["ref"]
    claims = _claims(_text_of(api, now_live["ref"]))
    assert digits_match(claims, keys, "1234")
    assert not digits_match(claims, keys, "5678")
    old = api.get(f"/api/v1/passes/{first['id']}").json()
    assert old["revoke_reason"] == f"phone changed: reissued as {now_live['ref']}"
    assert old["expires"] == now_live["expires"]

    page = api.post(
        f"/ui/residents/{son}/edit",
        data={"name": "周明", "role": "family", "phone": "+86 136-0000-4321"},
        follow_redirects=False,
    )
    assert page.status_code == 303, page.text
    (by_page,) = _live(api, son)
    assert by_page["ref"] != now_live["ref"]
    assert digits_match(_claims(_text_of(api, by_page["ref"])), keys, "4321")

    same = api.patch(f"/api/v1/residents/{son}", json={"note": "楼下"})  # not the phone
    assert same.status_code == 200
    assert [p["ref"] for p in _live(api, son)] == [by_page["ref"]]

    gone = api.patch(f"/api/v1/residents/{son}", json={"phone": None})
    assert gone.status_code == 200, gone.text
    (pin_pass,) = _live(api, son)
    assert _claims(_text_of(api, pin_pass["ref"])).proof == HolderProof.CARD_PIN
    assert _rows(api.site, sa.select(card_pins.c.ref)) == [{"ref": pin_pass["ref"]}]


def test_erasing_a_resident_leaves_no_pin_and_no_link(api: Api, household: dict[str, int]) -> None:
    api.post("/api/v1/passes", json={"resident_id": household["granny"]})
    r = api.delete(f"/api/v1/residents/{household['granny']}")
    assert r.status_code == 200, r.text
    (stored,) = _rows(api.site, sa.select(card_pins))
    assert (stored["resident_id"], stored["pending"]) == (None, None)


def test_the_offices_delivery_pdf_carries_the_pin_strip_and_reissues_a_reprint(
    api: Api, household: dict[str, int], tmp_path: Path
) -> None:
    """``gatepass-server cards`` (the office's whole-site PDF) prints the PIN like every print."""
    assert api.post("/api/v1/passes/everyone", json={"building": "5"}).json()["issued"] == 2
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "GATEPASS_"))}
    env |= {"LANG": "zh_CN.UTF-8", "GATEPASS_DATA": str(api.site.settings.data_dir)}
    out = tmp_path / "site.pdf"

    def print_site() -> tuple[list[str], list[str]]:
        done = subprocess.run(
            [sys.executable, "-m", "server", "cards", "--out", str(out)],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return _pdf(out.read_bytes(), tmp_path)

    (pin,), qrs = print_site()
    assert len(qrs) == 2
    card = next(c for c in map(_claims, qrs) if c.proof == HolderProof.CARD_PIN)
    assert digits_match(card, _keys(api.site, 1), pin)
    assert all(row["pending"] is None for row in _rows(api.site, sa.select(card_pins)))
    # printed again (in-process: the site's clock, which the keys were made for): a new PIN, a
    # new pass, the old one revoked
    api.site.run(
        lambda env: printing.delivery_cards(
            env,
            CLI_ACTOR,
            printing.Selection(),
            out,
            face=face_words(),
            checklist=checklist_words("zh-CN"),
        )
    )
    (pin2,), qrs2 = _pdf(out.read_bytes(), tmp_path)
    again = next(c for c in map(_claims, qrs2) if c.proof == HolderProof.CARD_PIN)
    assert again.ref != card.ref
    assert digits_match(again, _keys(api.site, 1), pin2)
