"""XLSX downloads (openpyxl), built whole in memory before a byte is sent.

openpyxl stores a string starting with ``=`` as a formula, and a spreadsheet program runs
formulas: such text gets a leading apostrophe. Other text is stored as a text cell, which no
spreadsheet evaluates (so ``+86...`` stays as typed).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence

from openpyxl import Workbook

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _cell(value: object) -> object:
    if value is None or isinstance(value, bool | int | float):
        return value
    text = str(value)
    return "'" + text if text.startswith("=") else text


def to_xlsx(title: str, header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """A one-sheet workbook: ``header`` then ``rows``, as the bytes of an .xlsx file."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=title[:31])
    sheet.append([_cell(h) for h in header])
    for row in rows:
        sheet.append([_cell(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
