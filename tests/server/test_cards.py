"""Printed passes decode with a standard reader to the exact pass text, and verify.

PDF pages are rendered to PNG with pdftoppm (poppler-utils) and read with zbarimg (zbar-tools);
`make test` installs both when missing.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from protocol.passes import Trust, verify
from server.services.passes.cards import qr
from tests.server.conftest import Api, seed


@pytest.fixture(autouse=True)
def _decoders() -> None:
    """The printed QR codes are checked with the standard tools, never skipped without them."""
    if not (shutil.which("zbarimg") and shutil.which("pdftoppm")):
        pytest.fail(
            "zbarimg and pdftoppm are missing: make sysdeps installs zbar-tools and poppler-utils"
        )


def _decode_pdf(pdf: bytes, tmp: Path) -> list[str]:
    (tmp / "cards.pdf").write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-r", "200", "-png", str(tmp / "cards.pdf"), str(tmp / "page")], check=True
    )
    texts: list[str] = []
    for page in sorted(tmp.glob("page*.png")):
        out = subprocess.run(
            ["zbarimg", "-q", "--raw", "-Sdisable", "-Sqrcode.enable", str(page)],
            capture_output=True,
            text=True,
            check=False,
        )
        texts += [line for line in out.stdout.splitlines() if line]
    return texts


def _decode_image(data: bytes, suffix: str, tmp: Path) -> str:
    path = tmp / f"qr.{suffix}"
    path.write_bytes(data)
    out = subprocess.run(
        ["zbarimg", "-q", "--raw", str(path)], capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def test_bulk_pdf_cards_decode_to_verifiable_passes(api: Api, tmp_path: Path) -> None:
    ids = seed(api)
    for name in ("王小明", "O'Brien", "赵钱孙李周吴郑王冯陈褚卫"):
        api.post(
            "/api/v1/residents",
            json={
                "household_id": ids["h1"],
                "name": name,
                "phone": "13912345678",
                "role": "family",
            },
        )
    issued = api.post("/api/v1/passes/bulk", json={"household_ids": [ids["h1"], ids["h2"]]}).json()[
        "issued"
    ]
    assert len(issued) == 5
    r = api.get("/api/v1/cards.pdf", params={"household_id": [ids["h1"], ids["h2"]]})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["x-card-count"] == "5"
    decoded = _decode_pdf(r.content, tmp_path)
    assert sorted(decoded) == sorted(p["text"] for p in issued)
    trust = Trust.from_manifest(api.site.manifest)
    assert {verify(t, trust, api.site.clock.now()).ref for t in decoded} == {
        p["ref"] for p in issued
    }


def test_single_card_and_qr_images(api: Api, tmp_path: Path) -> None:
    ids = seed(api)
    p = api.post("/api/v1/passes", json={"resident_id": ids["r1"]}).json()
    card = api.get(f"/api/v1/passes/{p['id']}/card.pdf")
    assert _decode_pdf(card.content, tmp_path) == [p["text"]]
    png = api.get(f"/api/v1/passes/{p['id']}/qr.png")
    assert png.headers["content-type"] == "image/png"
    assert _decode_image(png.content, "png", tmp_path) == p["text"]
    svg = api.get(f"/api/v1/passes/{p['id']}/qr.svg")
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in svg.content
    assert qr(p["text"]).error == "Q"
    api.post(f"/api/v1/passes/{p['id']}/revoke", json={"reason": "lost"})
    assert api.get(f"/api/v1/passes/{p['id']}/qr.png").status_code == 409


def test_cards_pdf_needs_a_selection_and_respects_scope(api: Api) -> None:
    ids = seed(api)
    api.post("/api/v1/passes/bulk", json={"household_ids": [ids["h2"]]})
    assert api.get("/api/v1/cards.pdf").status_code == 422
    api.use("east-desk")
    r = api.get("/api/v1/cards.pdf", params={"household_id": ids["h2"]})
    assert r.status_code == 200
    assert r.headers["x-card-count"] == "0"
