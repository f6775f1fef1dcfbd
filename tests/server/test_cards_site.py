"""``gatepass-server cards``: the delivery PDF of a site, zone, building or unit (issue 16 item 8).

A real SQLite site is built by the services (register imported, a pass for everyone), the real
CLI runs in a subprocess, and the PDF is read back as a person and a scanner would: every page
rendered at 200 dpi (pdftoppm) and every QR decoded (zbarimg), the words read with pdftotext.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import sqlite3
import string
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from server.services.passes import qrfast
from server.services.passes.cards import CardWords, fit_lines, qr, text_width
from server.services.passes.ordering import floor_of, natural_key
from server.services.text import mask_name
from server.web.cardwords import face_words
from tests.server.cardsite import Layout, build, decode_sheets
from tests.server.conftest import Site

LONG_LAYOUT = Layout(
    buildings=("翠湖花园东区十二号楼", "A座"),
    units=("3单元",),
    floors=(12,),
    rooms_per_floor=1,
    residents=1,
)


@pytest.fixture(autouse=True)
def _tools() -> None:
    """The PDF is checked with the standard tools, never skipped without them."""
    for tool in ("zbarimg", "pdftoppm", "pdftotext"):
        if not shutil.which(tool):
            pytest.fail(f"{tool} is missing: make sysdeps installs zbar-tools and poppler-utils")


@dataclass(frozen=True)
class Issued:
    """One live pass as the registry holds it."""

    text: str
    building: str
    unit: str
    room: str
    name: str
    id: int

    @property
    def label(self) -> str:
        return f"{self.building}-{self.unit}-{self.room}"


def _site(site: Site, tmp_path: Path, layout: Layout) -> list[Issued]:
    count = site.run(lambda env: build(env, tmp_path, layout))
    with sqlite3.connect(site.settings.data_dir / "registry.db") as db:
        rows = db.execute(
            "SELECT p.text, h.building, h.unit, h.room, r.name, p.id FROM passes p "
            "JOIN residents r ON r.id = p.resident_id JOIN households h ON h.id = p.household_id"
        ).fetchall()
    assert len(rows) == count
    return [Issued(*row) for row in rows]


def _cli(site: Site, *args: str, lang: str = "zh_CN.UTF-8") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "GATEPASS_"))}
    env |= {"LANG": lang, "GATEPASS_DATA": str(site.settings.data_dir)}
    return subprocess.run(
        [sys.executable, "-m", "server", "cards", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def _pages(pdf: Path, tmp: Path) -> list[tuple[list[str], str]]:
    """Per page: the QR texts read from each card at 200 dpi, in order, and the page's words."""
    pages = []
    for number, decoded in enumerate(decode_sheets(pdf, tmp), start=1):
        words = subprocess.run(
            ["pdftotext", "-f", str(number), "-l", str(number), str(pdf), "-"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        pages.append((decoded, words))
    return pages


SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def _screenshot(pdf: Path, page: int, name: str) -> None:
    """A page of the PDF as a PNG for the office guide (docs/office.md)."""
    pages = ["-f", str(page), "-l", str(page)]
    subprocess.run(
        ["pdftoppm", "-r", "80", "-png", "-singlefile", *pages, str(pdf), str(SCREENSHOTS / name)],
        check=True,
    )


BUILDINGS = ["1号楼", "2号楼", "10号楼"]  # the order a person reads them, written out


def _delivery_order(passes: list[Issued]) -> list[Issued]:
    return sorted(passes, key=lambda p: (BUILDINGS.index(p.building), p.unit, int(p.room), p.id))


def test_whole_site_pdf_orders_by_building_unit_floor_room_and_every_qr_decodes(
    site: Site, tmp_path: Path
) -> None:
    passes = _site(site, tmp_path, Layout())
    out = tmp_path / "out" / "site.pdf"
    out.parent.mkdir()
    done = _cli(site, "--out", str(out), "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.splitlines()[-1])
    assert summary == {"out": str(out), "units": 6, "rooms": 36, "cards": 72, "pages": 18}
    assert "已写入" in done.stdout
    assert sorted(p.name for p in out.parent.iterdir()) == ["site.pdf"]  # no temporary left

    pages = _pages(out, tmp_path)
    assert len(pages) == summary["pages"]
    expected = _delivery_order(passes)
    # per unit: a checklist page, then its 12 cards on two sheets (10 + 2)
    decoded_in_order: list[str] = []
    for unit_index in range(6):
        unit_cards = expected[unit_index * 12 : (unit_index + 1) * 12]
        first = unit_cards[0]
        checklist_qr, checklist = pages[unit_index * 3]
        assert checklist_qr == []
        assert f"{first.building}-{first.unit} 卡片交付清单" in checklist
        for heading in ("房号", "住户（姓名已遮盖）", "卡数", "已交付", "签收"):
            assert heading in checklist
        rooms = re.findall(r"^\d{3,4}$", checklist, re.MULTILINE)
        assert rooms == ["101", "102", "201", "202", "1001", "1002"]  # floors 1, 2, 10
        for card in unit_cards:
            assert mask_name(card.name) in checklist
            assert card.name not in checklist
        for sheet, chunk in ((1, unit_cards[:10]), (2, unit_cards[10:])):
            decoded, words = pages[unit_index * 3 + sheet]
            label_of = {p.text: p.label for p in passes}
            assert [label_of.get(t, t[:20]) for t in decoded] == [c.label for c in chunk]
            for card in chunk:
                assert card.label in words  # the whole label, never cut
            decoded_in_order += decoded
    assert decoded_in_order == [p.text for p in expected]  # every card, in delivery order
    _screenshot(out, 1, "cards-checklist")  # docs/office.md
    _screenshot(out, 2, "cards-sheet")


def test_one_building_a_zone_one_unit_and_english_words(site: Site, tmp_path: Path) -> None:
    passes = _site(site, tmp_path, Layout())
    out = tmp_path / "b.pdf"
    done = _cli(site, "--out", str(out), "--building", "10号楼", "--json", lang="en_US.UTF-8")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1])["cards"] == 24
    assert done.stdout.startswith("Wrote ")
    pages = _pages(out, tmp_path)
    assert "10号楼-1单元: card delivery checklist" in pages[0][1]
    assert "Residents (names masked)" in pages[0][1]
    decoded = {text for page, _ in pages for text in page}
    assert decoded == {p.text for p in passes if p.building == "10号楼"}

    zone = _cli(site, "--out", str(tmp_path / "z.pdf"), "--zone", "east", "--json")
    assert json.loads(zone.stdout.splitlines()[-1])["cards"] == len(passes)
    west = _cli(site, "--out", str(tmp_path / "w.pdf"), "--zone", "2", lang="en_US.UTF-8")
    assert west.returncode == 1  # zone 2 exists and holds no household
    assert "There is no live resident pass to print" in west.stderr
    assert not (tmp_path / "w.pdf").exists()

    unit = tmp_path / "u.pdf"
    done = _cli(site, "--out", str(unit), "--unit", "2号楼-2单元", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1])["units"] == 1
    same = _cli(site, "--out", str(unit), "--building", "2号楼", "--unit", "2单元", "--json")
    assert json.loads(same.stdout.splitlines()[-1])["cards"] == 12
    decoded = {text for page, _ in _pages(unit, tmp_path) for text in page}
    assert decoded == {p.text for p in passes if (p.building, p.unit) == ("2号楼", "2单元")}


def test_long_labels_wrap_or_shrink_never_cut(site: Site, tmp_path: Path) -> None:
    passes = _site(site, tmp_path, LONG_LAYOUT)
    out = tmp_path / "long.pdf"
    assert _cli(site, "--out", str(out)).returncode == 0
    pages = _pages(out, tmp_path)
    assert len(pages) == 4  # A座 first: "A" sorts before "翠"
    assert "A座-3单元-1201" in pages[1][1]
    raw = subprocess.run(  # -raw: the default mode would join a line ending in "-"
        ["pdftotext", "-raw", "-f", "4", "-l", "4", str(out), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert raw[1:3] == ["翠湖花园东区十二号楼-", "3单元-1201"]  # on two lines, all of it
    assert pages[3][0] == [p.text for p in passes if p.building.startswith("翠")]


@pytest.mark.parametrize(
    ("args", "zh", "en"),
    [
        (("--zone", "north"), "没有片区“north”", 'There is no zone "north"'),
        (("--building", "99号楼"), "没有楼栋“99号楼”", 'There is no building "99号楼"'),
        (("--unit", "9单元"), "没有单元“9单元”", 'There is no unit "9单元"'),
        (("--unit", "1单元"), "多栋楼都有单元“1单元”", 'Several buildings have a unit "1单元"'),
    ],
)
def test_unknown_selection_is_refused_in_the_operators_language_and_writes_nothing(
    site: Site, tmp_path: Path, args: tuple[str, ...], zh: str, en: str
) -> None:
    _site(site, tmp_path, Layout(buildings=("1号楼", "2号楼"), floors=(1,)))
    out = tmp_path / "out"
    out.mkdir()
    for lang, words in (("zh_CN.UTF-8", zh), ("en_US.UTF-8", en)):
        done = _cli(site, "--out", str(out / "c.pdf"), *args, lang=lang)
        assert done.returncode == 1
        assert words in done.stderr
        assert "Traceback" not in done.stderr
        assert list(out.iterdir()) == []


def test_output_path_that_cannot_be_written(site: Site, tmp_path: Path) -> None:
    _site(site, tmp_path, Layout(buildings=("1号楼",), floors=(1,)))
    done = _cli(site, "--out", str(tmp_path / "missing" / "c.pdf"), lang="en_US.UTF-8")
    assert done.returncode == 1
    assert f"Cannot write {tmp_path / 'missing' / 'c.pdf'}" in done.stderr
    done = _cli(site, "--out", str(tmp_path), lang="zh_CN.UTF-8")
    assert done.returncode == 1
    assert f"无法写入 {tmp_path}" in done.stderr


def test_nothing_to_print(site: Site, tmp_path: Path) -> None:
    done = _cli(site, "--out", str(tmp_path / "c.pdf"), lang="en_US.UTF-8")
    assert done.returncode == 1
    assert "There is no live resident pass to print" in done.stderr
    assert not (tmp_path / "c.pdf").exists()


def test_natural_order_of_labels_and_floors() -> None:
    buildings = ["10号楼", "2号楼", "1号楼", "B座", "A座", "１１号楼"]
    assert sorted(buildings, key=natural_key) == [
        "1号楼",
        "2号楼",
        "10号楼",
        "１１号楼",
        "A座",
        "B座",
    ]
    rooms = ["1001", "102", "101", "B-1203", "201", "B-203"]
    assert sorted(rooms, key=lambda r: (floor_of(r), natural_key(r))) == [
        "101",
        "102",
        "201",
        "B-203",
        "1001",
        "B-1203",
    ]
    assert [floor_of(r) for r in ("101", "1001", "B-1203", "3单元", "", "甲")] == [
        1,
        10,
        12,
        0,
        0,
        0,
    ]


def test_fit_lines_keeps_every_character() -> None:
    for label in ("1号楼-1单元-101", "翠湖花园东区十二号楼-3单元-1201", "王" * 32, "X"):
        size, lines = fit_lines(label, 12, 100)
        assert "".join(lines) == label
        assert all(text_width(line, size) <= 100.01 for line in lines)
        assert len(lines) <= 2
    assert fit_lines("1号楼-1单元-101", 12, 200) == (12, ["1号楼-1单元-101"])


def test_fast_mask_choice_makes_the_same_symbols_as_segno() -> None:
    rng = random.Random(16)
    alphabet = string.ascii_uppercase + string.digits + " $%*+-./:"
    texts = [
        "PG1:" + "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 600)))
        for _ in range(40)
    ]
    texts += ["居民" * rng.randint(1, 40) for _ in range(5)]
    qrfast.uninstall()
    try:
        from segno import make

        stock = [make(t, error="q", boost_error=False, micro=False) for t in texts]
        stock_symbols = [(s.mask, s.matrix) for s in stock]
    finally:
        qrfast.install()
    assert [(q.mask, q.matrix) for q in map(qr, texts)] == stock_symbols


def test_card_face_words_come_from_the_catalogs() -> None:
    assert face_words() == CardWords()


def test_fast_mask_score_equals_segnos_on_random_matrices() -> None:
    from segno import encoder

    rng = random.Random(8)
    stock = qrfast._STOCK_EVALUATE  # the function replaced, kept for this check
    for _ in range(300):
        size = rng.choice((21, 25, 29, 45, 57, 65))
        values = (0, 1) if rng.random() < 0.7 else (0, 1, 2)
        weights = [rng.random() for _ in values]
        matrix = tuple(bytearray(rng.choices(values, weights, k=size)) for _ in range(size))
        assert qrfast.evaluate_mask(matrix, size, size) == stock(matrix, size, size)
    qrfast.install()
    assert encoder.evaluate_mask is qrfast.evaluate_mask
