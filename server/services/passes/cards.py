"""QR images (segno) and print-ready PDF cards (reportlab) for passes.

The QR is made at error-correction level Q exactly (``boost_error`` off, so the symbol size is
predictable) and drawn into the PDF as vector rectangles, one per horizontal run of dark
modules, with the standard 4-module quiet zone: it prints sharp at any resolution and decodes
with ordinary readers (zbarimg in the tests). Chinese text is set in WenQuanYi Micro Hei
(Debian ``fonts-wqy-microhei``), embedded as a subset, so every viewer and printer driver shows
it; without that font the cards fall back to reportlab's built-in CID font ``STSong-Light``,
which Acrobat-class readers supply but poppler-based printing shows as empty boxes.
Cards are CR80 size (85.6 x 54 mm), ten to an A4 sheet with cut lines.
"""

from __future__ import annotations

import functools
import io
import logging
import multiprocessing
import os
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import segno
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

logger = logging.getLogger(__name__)

CID_FONT = "STSong-Light"
EMBEDDED_FONT = "WenQuanYiMicroHei"
FONT_FILES = (
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
)
CARD_W, CARD_H = 85.6 * mm, 54 * mm
COLUMNS, ROWS = 2, 5
QUIET = 4
PARALLEL_FROM = 64  # below this, starting worker processes costs more than it saves
QR_SIZE = 46 * mm
KIND_TITLE = {
    "resident": "居民通行证 Resident",
    "visitor": "访客通行证 Visitor",
    "staff": "工作人员 Staff",
}
INSTRUCTION = (
    "进出请出示此码，配合测温",  # noqa: RUF001 - Chinese punctuation on purpose
    "按提示输入登记手机后四位",
    "Show at the gate; keep it dry",
)
PIN_INSTRUCTION = (INSTRUCTION[0], "按提示输入卡片密码", INSTRUCTION[2])


@dataclass(frozen=True, slots=True)
class Card:
    """What one printed card shows."""

    text: str
    kind: str
    unit: str
    name: str
    valid_from: int
    valid_until: int
    pin: str | None = None  # a resident without a phone: the card PIN, printed this once


PIN_STRIP_H = 12 * mm  # the tear-off strip of a card PIN, across the text column


def qr(text: str) -> segno.QRCode:
    """The QR symbol of a pass at error-correction level Q."""
    return segno.make(text, error="q", boost_error=False, micro=False)


def qr_svg(text: str, scale: int = 4) -> bytes:
    """An SVG image of the pass's QR code."""
    out = io.BytesIO()
    qr(text).save(out, kind="svg", scale=scale, border=QUIET, xmldecl=False)
    return out.getvalue()


def qr_png(text: str, scale: int = 6) -> bytes:
    """A PNG image of the pass's QR code."""
    out = io.BytesIO()
    qr(text).save(out, kind="png", scale=scale, border=QUIET)
    return out.getvalue()


@functools.cache
def font() -> str:
    """Register and name the card font: an embedded CJK TrueType font if installed, else CID."""
    for path in FONT_FILES:
        if path.is_file():
            pdfmetrics.registerFont(TTFont(EMBEDDED_FONT, str(path), subfontIndex=0))
            return EMBEDDED_FONT
    logger.warning(
        "no CJK TrueType font found (%s); cards use the CID font %s", FONT_FILES[0], CID_FONT
    )
    pdfmetrics.registerFont(UnicodeCIDFont(CID_FONT))
    return CID_FONT


def _runs(row: Iterable[int]) -> Iterator[tuple[int, int]]:
    """(start, length) of each run of dark modules in one matrix row."""
    start = None
    for x, dark in enumerate([*row, 0]):
        if dark and start is None:
            start = x
        elif not dark and start is not None:
            yield start, x - start
            start = None


Matrix = tuple[bytes, ...]


def qr_matrix(text: str) -> Matrix:
    """The module matrix of a pass's QR code (rows of 0/1), picklable for worker processes."""
    return tuple(bytes(row) for row in qr(text).matrix)


def matrices(texts: list[str]) -> list[Matrix]:
    """QR matrices for many passes, on every core: segno's mask selection dominates bulk PDFs."""
    workers = min(os.cpu_count() or 1, 4)
    if len(texts) < PARALLEL_FROM or workers < 2:
        return [qr_matrix(t) for t in texts]
    context = multiprocessing.get_context("spawn")  # no fork of a threaded server process
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        return list(pool.map(qr_matrix, texts, chunksize=32))


def _draw_qr(canvas: Canvas, matrix: Matrix, x: float, y: float, size: float) -> None:
    modules = len(matrix) + 2 * QUIET
    cell = size / modules
    path = canvas.beginPath()
    for r, row in enumerate(matrix):
        top = y + size - (r + QUIET + 1) * cell
        for start, length in _runs(row):
            path.rect(x + (start + QUIET) * cell, top, length * cell, cell)
    canvas.setFillColorRGB(0, 0, 0)
    canvas.drawPath(path, stroke=0, fill=1)


def _date(ts: int, offset_min: int) -> str:
    return (datetime.fromtimestamp(ts, UTC) + timedelta(minutes=offset_min)).strftime(
        "%Y-%m-%d %H:%M"
    )


def _fit(canvas: Canvas, text: str, size: float, width: float) -> str:
    """Cut ``text`` so it fits ``width`` at ``size`` points."""
    while text and canvas.stringWidth(text, font(), size) > width:
        text = text[:-1]
    return text


def _draw_card(
    canvas: Canvas, card: Card, matrix: Matrix, *, x: float, y: float, offset_min: int
) -> None:
    canvas.setLineWidth(0.3)
    canvas.setStrokeColorRGB(0.6, 0.6, 0.6)
    canvas.rect(x, y, CARD_W, CARD_H, stroke=1, fill=0)
    margin = (CARD_H - QR_SIZE) / 2
    _draw_qr(canvas, matrix, x + margin, y + margin, QR_SIZE)
    left, width = x + QR_SIZE + 2 * margin, CARD_W - QR_SIZE - 3 * margin
    lines = [
        (7, KIND_TITLE.get(card.kind, card.kind)),
        (12, card.unit),
        (12, card.name),
        (6.5, "有效期 Valid"),
        (6.5, _date(card.valid_from, offset_min)),
        (6.5, "至 " + _date(card.valid_until, offset_min)),
        *((5.5, line) for line in (INSTRUCTION if card.pin is None else PIN_INSTRUCTION)),
    ]
    top = y + CARD_H - margin - 7
    for size, line in lines:
        canvas.setFont(font(), size)
        canvas.setFillColorRGB(0, 0, 0)
        canvas.drawString(left, top, _fit(canvas, line, size, width))
        top -= size + 3.2
    if card.pin is not None:
        _draw_pin_strip(canvas, card.pin, left=left - margin / 2, right=x + CARD_W, y=y)


def _draw_pin_strip(canvas: Canvas, pin: str, *, left: float, right: float, y: float) -> None:
    """The card PIN on a strip at the foot of the text column, below a dashed cut line: the
    holder tears it off and keeps it apart from the card."""
    canvas.saveState()
    canvas.setFillColorRGB(1, 1, 1)
    canvas.rect(left, y + 0.4, right - left - 0.4, PIN_STRIP_H, stroke=0, fill=1)
    canvas.setDash(2, 1.5)
    canvas.setLineWidth(0.5)
    canvas.setStrokeColorRGB(0, 0, 0)
    canvas.line(left, y + PIN_STRIP_H, right, y + PIN_STRIP_H)
    canvas.setFillColorRGB(0, 0, 0)
    width = right - left - 2 * mm
    for size, text, at in (
        (5, "沿虚线撕下 Tear off here", PIN_STRIP_H - 2.3 * mm),
        (6.5, "卡片密码 / Card PIN:", PIN_STRIP_H - 5.2 * mm),
        (14, pin, 1.3 * mm),
    ):
        canvas.setFont(font(), size)
        canvas.drawString(left + 1 * mm, y + at, _fit(canvas, text, size, width))
    canvas.restoreState()


def cards_pdf(
    cards: list[Card], *, utc_offset_min: int = 480, title: str = "gatepass cards"
) -> bytes:
    """A PDF of A4 sheets, ten CR80 cards each, in the given order."""
    font()
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, pageCompression=1)
    canvas.setTitle(title)
    canvas.setCreator("gatepass")
    page_w, page_h = A4
    left = (page_w - COLUMNS * CARD_W) / 2
    bottom = (page_h - ROWS * CARD_H) / 2
    per_page = COLUMNS * ROWS
    for i, (card, matrix) in enumerate(zip(cards, matrices([c.text for c in cards]), strict=True)):
        if i and i % per_page == 0:
            canvas.showPage()
        slot = i % per_page
        col, row = slot % COLUMNS, slot // COLUMNS
        x, y = left + col * CARD_W, bottom + (ROWS - 1 - row) * CARD_H
        _draw_card(canvas, card, matrix, x=x, y=y, offset_min=utc_offset_min)
    if not cards:
        canvas.setFont(font(), 12)
        canvas.drawString(left, page_h / 2, "没有可打印的通行证 No passes to print")
    canvas.showPage()
    canvas.save()
    return out.getvalue()
