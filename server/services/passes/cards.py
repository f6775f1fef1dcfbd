"""QR images (segno) and print-ready PDF cards (reportlab) for passes.

The QR is made at error-correction level Q exactly (``boost_error`` off, so the symbol size is
predictable) and drawn into the PDF as vector rectangles, one per horizontal run of dark
modules, with the standard 4-module quiet zone: it prints sharp at any resolution and decodes
with ordinary readers (zbarimg in the tests). Chinese text is set in WenQuanYi Micro Hei
(Debian ``fonts-wqy-microhei``), embedded as a subset, so every viewer and printer driver shows
it; without that font the cards fall back to reportlab's built-in CID font ``STSong-Light``,
which Acrobat-class readers supply but poppler-based printing shows as empty boxes.
Cards are CR80 size (85.6 x 54 mm), ten to an A4 sheet with cut lines; a strip along each
card's bottom edge, under the text, is kept free for a tear-off PIN. The unit label and the
name are never cut: a long one is set smaller, then on two lines (measured with
``stringWidth``).
"""

from __future__ import annotations

import functools
import io
import logging
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

import segno
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from server.services.passes import qrfast

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
STRIP_H = 10 * mm  # under the text, along the bottom edge: room for a tear-off PIN strip
QR_SIZE = 48 * mm  # modules of 0.66 mm (version 12): 5 pixels each at 200 dpi
MARGIN = 3 * mm
MIN_FONT = 5.0


@dataclass(frozen=True, slots=True)
class CardWords:
    """The printed words of a card face (both languages: a card is read by anyone). The CLI
    and the pages fill them from the catalogs (``cards.face``); the defaults are the same."""

    kinds: tuple[tuple[str, str], ...] = (
        ("resident", "居民通行证 Resident"),
        ("visitor", "访客通行证 Visitor"),
        ("staff", "工作人员 Staff"),
    )
    valid: str = "有效期 Valid"
    until: str = "至 {date}"
    instruction: tuple[str, ...] = (
        "进出请出示此码，配合测温",  # noqa: RUF001 - Chinese punctuation on purpose
        "按提示输入登记手机后四位",
        "Show at the gate; keep it dry",
    )
    pin_digits: str = "按提示输入卡片密码"  # the instruction's second line on a PIN card
    tear_off: str = "沿虚线撕下 Tear off here"
    pin_label: str = "卡片密码 / Card PIN:"
    nothing: str = "没有可打印的通行证 No passes to print"

    def kind(self, kind: str) -> str:
        """The title of a pass kind."""
        return dict(self.kinds).get(kind, kind)


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


def qr(text: str) -> segno.QRCode:
    """The QR symbol of a pass at error-correction level Q (segno's own mask choice, made
    faster by server.services.passes.qrfast)."""
    qrfast.install()
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


@dataclass(frozen=True, slots=True)
class Symbol:
    """A QR symbol ready for a page: its size in modules (without the quiet zone) and its
    dark modules as PDF rectangles in module units, one per horizontal run (``x y w 1 re``)."""

    modules: int
    path: str


def qr_symbol(text: str) -> Symbol:
    """The symbol of a pass, made in a worker process (small to send back: a few kB)."""
    matrix = qr(text).matrix
    ops = [
        f"{start} {r} {length} 1 re" for r, row in enumerate(matrix) for start, length in _runs(row)
    ]
    return Symbol(modules=len(matrix), path="\n".join(ops))


def workers() -> int:
    """How many processes draw QR symbols (segno's mask selection dominates bulk PDFs)."""
    return min(os.cpu_count() or 1, 4)


def pool() -> ProcessPoolExecutor:
    """A pool of QR workers, started without fork (the server process has threads)."""
    context = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(max_workers=workers(), mp_context=context)


def symbols(texts: list[str]) -> list[Symbol]:
    """QR symbols for many passes, on every core."""
    if len(texts) < PARALLEL_FROM or workers() < 2:
        return [qr_symbol(t) for t in texts]
    with pool() as executor:
        return list(executor.map(qr_symbol, texts, chunksize=32))


def _draw_qr(canvas: Canvas, symbol: Symbol, x: float, y: float, size: float) -> None:
    """The symbol with its 4-module quiet zone in a ``size`` square at (x, y): its path is
    drawn in module coordinates (whole numbers keep the page stream, which reportlab holds in
    memory until the PDF is written, small)."""
    cell = size / (symbol.modules + 2 * QUIET)
    canvas.saveState()
    canvas.translate(x + QUIET * cell, y + size - QUIET * cell)
    canvas.scale(cell, -cell)
    canvas.setFillColorRGB(0, 0, 0)
    canvas.addLiteral(symbol.path + "\nf")
    canvas.restoreState()


def _date(ts: int, offset_min: int) -> str:
    return (datetime.fromtimestamp(ts, UTC) + timedelta(minutes=offset_min)).strftime(
        "%Y-%m-%d %H:%M"
    )


def text_width(text: str, size: float) -> float:
    """The width of ``text`` in the card font at ``size`` points."""
    return float(pdfmetrics.stringWidth(text, font(), size))


def shrunk(text: str, size: float, width: float) -> float:
    """``size``, or the smaller size at which ``text`` fits ``width`` on one line."""
    return min(size, size * width / max(text_width(text, size), 1e-6))


def _split(text: str) -> list[tuple[str, str]]:
    """The ways to put ``text`` on two lines, after a separator first (``1号楼-1单元-`` /
    ``101``), else between any two characters."""
    cuts = [i + 1 for i, c in enumerate(text[:-1]) if c in "-— /·"]
    cuts = cuts or list(range(1, len(text)))
    return [(text[:i].rstrip(), text[i:].lstrip()) for i in cuts]


def fit_lines(
    text: str, size: float, width: float, *, min_size: float = 8.0
) -> tuple[float, list[str]]:
    """A font size and one or two lines that show all of ``text`` within ``width``: the
    largest size down to ``min_size`` on one line, else on two lines (at a separator if one
    fits), else smaller still on two lines. Nothing is ever cut."""
    wide = text_width
    at = size
    while at >= min_size:
        if wide(text, at) <= width:
            return at, [text]
        at -= 0.5
    splits = _split(text)
    if not splits:  # one character wider than the column: only smaller helps
        return _shrink(text, size, width, wide), [text]
    best = min(splits, key=lambda pair: max(wide(pair[0], size), wide(pair[1], size)))
    at = size
    while at > MIN_FONT and max(wide(best[0], at), wide(best[1], at)) > width:
        at -= 0.5
    if max(wide(best[0], at), wide(best[1], at)) > width:
        at = _shrink(max(best, key=lambda line: wide(line, size)), at, width, wide)
    return at, list(best)


def _shrink(text: str, size: float, width: float, wide: Callable[[str, float], float]) -> float:
    """The size at which ``text`` fits ``width`` (below the legible minimum if it must)."""
    return min(size, size * width / max(wide(text, size), 1e-6))


def _draw_card(
    canvas: Canvas,
    card: Card,
    symbol: Symbol,
    *,
    x: float,
    y: float,
    offset_min: int,
    words: CardWords,
    qr_right: bool = False,
) -> None:
    canvas.setLineWidth(0.3)
    canvas.setStrokeColorRGB(0.6, 0.6, 0.6)
    canvas.rect(x, y, CARD_W, CARD_H, stroke=1, fill=0)
    qr_x = x + CARD_W - MARGIN - QR_SIZE if qr_right else x + MARGIN
    _draw_qr(canvas, symbol, qr_x, y + (CARD_H - QR_SIZE) / 2, QR_SIZE)
    width = CARD_W - QR_SIZE - 3 * MARGIN
    left = x + MARGIN if qr_right else x + QR_SIZE + 2 * MARGIN
    label_size, label = fit_lines(card.unit, 12, width)
    name_size, name = fit_lines(card.name, 11, width)
    lines = [
        (7.0, words.kind(card.kind)),
        *((label_size, line) for line in label),
        *((name_size, line) for line in name),
        (6.5, words.valid),
        (6.5, _date(card.valid_from, offset_min)),
        (6.5, words.until.format(date=_date(card.valid_until, offset_min))),
        *((5.5, line) for line in _instruction(words, card)),
    ]
    top = y + CARD_H - MARGIN
    canvas.setFillColorRGB(0, 0, 0)
    for size, line in lines:
        top -= size
        canvas.setFont(font(), shrunk(line, size, width))
        canvas.drawString(left, top, line)
        top -= 2.2
    if card.pin is not None:
        strip_left = x if qr_right else x + QR_SIZE + 1.5 * MARGIN
        strip_right = x + CARD_W - QR_SIZE - 1.5 * MARGIN if qr_right else x + CARD_W
        _draw_pin_strip(canvas, card.pin, words, left=strip_left, right=strip_right, y=y)


def _instruction(words: CardWords, card: Card) -> tuple[str, ...]:
    """The card's instruction lines: a PIN card asks for its PIN, not the phone's digits."""
    if card.pin is None or len(words.instruction) < 2:
        return words.instruction
    return (words.instruction[0], words.pin_digits, *words.instruction[2:])


def _draw_pin_strip(
    canvas: Canvas, pin: str, words: CardWords, *, left: float, right: float, y: float
) -> None:
    """The card PIN on a strip at the foot of the text column, below a dashed cut line: the
    holder tears it off and keeps it apart from the card."""
    canvas.saveState()
    canvas.setFillColorRGB(1, 1, 1)
    canvas.rect(left + 0.4, y + 0.4, right - left - 0.8, STRIP_H, stroke=0, fill=1)
    canvas.setDash(2, 1.5)
    canvas.setLineWidth(0.5)
    canvas.setStrokeColorRGB(0, 0, 0)
    canvas.line(left, y + STRIP_H, right, y + STRIP_H)
    canvas.setFillColorRGB(0, 0, 0)
    width = right - left - 2 * mm
    for size, text, at in (
        (5.0, words.tear_off, STRIP_H - 2.3 * mm),
        (6.0, words.pin_label, STRIP_H - 4.8 * mm),
        (12.0, pin, 1.0 * mm),
    ):
        canvas.setFont(font(), shrunk(text, size, width))
        canvas.drawString(left + 1 * mm, y + at, text)
    canvas.restoreState()


def new_canvas(out: str | IO[bytes], title: str) -> Canvas:
    """An A4 canvas with the card font registered."""
    font()
    canvas = Canvas(out, pagesize=A4, pageCompression=1)
    canvas.setTitle(title)
    canvas.setCreator("gatepass")
    return canvas


def draw_sheets(
    canvas: Canvas,
    cards: list[Card],
    symbols_: Iterable[Symbol],
    *,
    utc_offset_min: int,
    words: CardWords,
) -> int:
    """The cards ten to a sheet from a fresh page on; each sheet is finished. Sheets drawn."""
    page_w, page_h = A4
    left = (page_w - COLUMNS * CARD_W) / 2
    bottom = (page_h - ROWS * CARD_H) / 2
    per_page = COLUMNS * ROWS
    pages = 0
    for i, (card, symbol) in enumerate(zip(cards, symbols_, strict=True)):
        if i and i % per_page == 0:
            canvas.showPage()
            pages += 1
        slot = i % per_page
        col, row = slot % COLUMNS, slot // COLUMNS
        x, y = left + col * CARD_W, bottom + (ROWS - 1 - row) * CARD_H
        _draw_card(
            canvas,
            card,
            symbol,
            x=x,
            y=y,
            offset_min=utc_offset_min,
            words=words,
            qr_right=col % 2 == 1,
        )
    if cards:
        canvas.showPage()
        pages += 1
    return pages


def cards_pdf(
    cards: list[Card],
    *,
    utc_offset_min: int = 480,
    title: str = "gatepass cards",
    words: CardWords | None = None,
) -> bytes:
    """A PDF of A4 sheets, ten CR80 cards each, in the given order."""
    words = words or CardWords()
    out = io.BytesIO()
    canvas = new_canvas(out, title)
    texts = [c.text for c in cards]
    draw_sheets(canvas, cards, symbols(texts), utc_offset_min=utc_offset_min, words=words)
    if not cards:
        canvas.setFont(font(), 12)
        canvas.drawString((A4[0] - COLUMNS * CARD_W) / 2, A4[1] / 2, words.nothing)
        canvas.showPage()
    canvas.save()
    return out.getvalue()
