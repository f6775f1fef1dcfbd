"""Cards for a whole site, a zone, a building or a unit, as the office hands them out: for each
unit (单元) a delivery checklist page (room, masked names, number of cards, a box to tick),
then that unit's cards, ten to an A4 sheet.

The PDF is written to a file, one unit at a time: the QR symbols of the next unit are drawn by
the worker processes while this one is laid out, so at most two units' symbols are held. What
reportlab keeps until the end is each page's compact drawing code (a few kilobytes a sheet).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import IO

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

from server.services.passes.cards import (
    Card,
    CardWords,
    Symbol,
    draw_sheets,
    fit_lines,
    font,
    new_canvas,
    pool,
    qr_symbol,
    shrunk,
    text_width,
    workers,
)

PAGE_W, PAGE_H = float(A4[0]), float(A4[1])
MARGIN = 40.0
INLINE_BELOW = 16  # a unit with fewer cards has its symbols made here, not sent to the workers
ROW_H = 22.0
NAME_SIZE = 9.0
#: column widths of the checklist: room, names, cards, delivered (a box), signature
COLUMNS = (90.0, 235.0, 50.0, 60.0, PAGE_W - 2 * MARGIN - 435.0)


@dataclass(frozen=True, slots=True)
class ChecklistWords:
    """The checklist's words in the operator's language (catalog section ``cards.checklist``)."""

    title: str  # {unit}
    summary: str  # {rooms} {cards}
    continued: str  # {unit}
    room: str
    names: str
    cards: str
    delivered: str
    signature: str
    footer: str


@dataclass(frozen=True, slots=True)
class RoomLine:
    """One row of a checklist: a room, its holders' masked names and its number of cards."""

    room: str
    names: tuple[str, ...]
    cards: int


@dataclass(frozen=True, slots=True)
class UnitBatch:
    """One unit's checklist rows and cards, in delivery order."""

    label: str
    rooms: tuple[RoomLine, ...]
    cards: tuple[Card, ...]


@dataclass(frozen=True, slots=True)
class Printed:
    """What a delivery PDF holds."""

    units: int
    rooms: int
    cards: int
    pages: int


def write_delivery_pdf(
    out: str | IO[bytes],
    batches: Iterable[UnitBatch],
    *,
    face: CardWords,
    checklist: ChecklistWords,
    utc_offset_min: int,
    title: str,
) -> Printed:
    """Write the checklists and cards of ``batches`` (in order) as one PDF to ``out``."""
    canvas = new_canvas(out, title)
    units = rooms = cards = pages = 0
    with _executor() as executor:
        for batch, symbols in _ahead(batches, executor):
            pages += _checklist(canvas, batch, checklist)
            pages += draw_sheets(
                canvas, list(batch.cards), symbols, utc_offset_min=utc_offset_min, words=face
            )
            units, rooms, cards = units + 1, rooms + len(batch.rooms), cards + len(batch.cards)
    if not units:
        canvas.setFont(font(), 12)
        canvas.drawString(MARGIN, PAGE_H / 2, face.nothing)
        canvas.showPage()
        pages += 1
    canvas.save()
    return Printed(units=units, rooms=rooms, cards=cards, pages=pages)


class _Serial:
    """The executor for a single core: symbols drawn in this process, as asked for."""

    def map(
        self, fn: Callable[[str], Symbol], texts: list[str], chunksize: int = 1
    ) -> Iterator[Symbol]:
        return map(fn, texts)

    def __enter__(self) -> _Serial:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def _executor() -> ProcessPoolExecutor | _Serial:
    return pool() if workers() >= 2 else _Serial()


def _ahead(
    batches: Iterable[UnitBatch], executor: ProcessPoolExecutor | _Serial
) -> Iterator[tuple[UnitBatch, Iterator[Symbol]]]:
    """Each batch with its QR symbols, the next batch's already submitted to the workers."""
    pending: tuple[UnitBatch, Iterator[Symbol]] | None = None
    for batch in batches:
        texts = [card.text for card in batch.cards]
        if len(texts) < INLINE_BELOW:
            symbols: Iterator[Symbol] = iter([qr_symbol(t) for t in texts])
        else:
            symbols = executor.map(qr_symbol, texts, chunksize=8)
        if pending is not None:
            yield pending
        pending = (batch, symbols)
    if pending is not None:
        yield pending


def _checklist(canvas: Canvas, batch: UnitBatch, words: ChecklistWords) -> int:
    """The unit's delivery checklist on as many pages as its rooms need; pages drawn."""
    pages = 1
    y = _checklist_head(canvas, words.title.format(unit=batch.label), batch, words)
    for line in batch.rooms:
        names = _names(line.names)
        height = max(ROW_H, len(names) * (NAME_SIZE + 3) + 10)
        if y - height < MARGIN + 40:
            canvas.showPage()
            pages += 1
            y = _checklist_head(canvas, words.continued.format(unit=batch.label), batch, words)
        _row(canvas, y, height, line, names)
        y -= height
    canvas.setFont(font(), 10)
    canvas.drawString(MARGIN, max(y - 30, MARGIN), words.footer)
    canvas.showPage()
    return pages


def _checklist_head(canvas: Canvas, title: str, batch: UnitBatch, words: ChecklistWords) -> float:
    """Title, summary and column heads; the y of the first row's top."""
    canvas.setFillColorRGB(0, 0, 0)
    size, lines = fit_lines(title, 18, PAGE_W - 2 * MARGIN, min_size=12)
    y = PAGE_H - MARGIN - size
    for line in lines:
        canvas.setFont(font(), size)
        canvas.drawString(MARGIN, y, line)
        y -= size + 4
    canvas.setFont(font(), 10)
    cards = sum(room.cards for room in batch.rooms)
    canvas.drawString(MARGIN, y - 4, words.summary.format(rooms=len(batch.rooms), cards=cards))
    y -= 24
    heads = (words.room, words.names, words.cards, words.delivered, words.signature)
    canvas.setLineWidth(0.6)
    canvas.setStrokeColorRGB(0, 0, 0)
    x = MARGIN
    for head, width in zip(heads, COLUMNS, strict=True):
        canvas.rect(x, y - ROW_H, width, ROW_H, stroke=1, fill=0)
        canvas.setFont(font(), shrunk(head, 10, width - 8))
        canvas.drawString(x + 4, y - ROW_H + 7, head)
        x += width
    return y - ROW_H


def _names(names: tuple[str, ...]) -> list[str]:
    """The masked names of a room on as few lines of the names column as they need."""
    width = COLUMNS[1] - 8
    lines: list[str] = []
    for name in names:
        joined = f"{lines[-1]}、{name}" if lines else name
        if lines and text_width(joined, NAME_SIZE) <= width:
            lines[-1] = joined
        else:
            lines.append(name)
    return lines or [""]


def _row(canvas: Canvas, y: float, height: float, line: RoomLine, names: list[str]) -> None:
    size = NAME_SIZE
    canvas.setLineWidth(0.4)
    x = MARGIN
    for width in COLUMNS:
        canvas.rect(x, y - height, width, height, stroke=1, fill=0)
        x += width
    room_size, room = fit_lines(line.room, 11, COLUMNS[0] - 8, min_size=7)
    top = y - 7 - room_size
    for part in room:
        canvas.setFont(font(), room_size)
        canvas.drawString(MARGIN + 4, top, part)
        top -= room_size + 2
    canvas.setFont(font(), size)
    top = y - 7 - size
    for part in names:
        canvas.drawString(MARGIN + COLUMNS[0] + 4, top, part)
        top -= size + 3
    canvas.setFont(font(), 11)
    cards_x = MARGIN + COLUMNS[0] + COLUMNS[1]
    canvas.drawCentredString(cards_x + COLUMNS[2] / 2, y - 7 - 11, str(line.cards))
    box = 10.0
    box_x = cards_x + COLUMNS[2] + (COLUMNS[3] - box) / 2
    canvas.rect(box_x, y - 7 - box, box, box, stroke=1, fill=0)
