"""Reading the community office's spreadsheets (CSV or XLSX) into header-keyed rows.

Offices keep registers in Excel, often with a title row above the header, Chinese headers,
phone numbers typed as numbers, and CSV saved as UTF-8 with BOM or as GB18030. The file type is
sniffed from content, not from the name; size, row and column counts are capped, so a zip bomb
or a runaway sheet stops with an error instead of filling memory (9.2 item 11).
"""

from __future__ import annotations

import csv
import io
import logging
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from server.services.errors import Invalid

logger = logging.getLogger(__name__)

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_UNPACKED_BYTES = 200 * 1024 * 1024
MAX_ROWS = 100_000
MAX_COLUMNS = 50
HEADER_SEARCH_ROWS = 10
ALIASES = {
    "building": ("楼栋", "楼号", "栋", "楼", "栋号", "楼栋号", "building", "bldg", "block"),
    "unit": ("单元", "单元号", "unit", "entrance"),
    "room": ("房号", "房间号", "门牌号", "室", "户号", "room", "apt", "apartment", "flat"),
    "name": ("姓名", "名字", "居民姓名", "name", "fullname", "resident"),
    "phone": (
        "手机",
        "手机号",
        "手机号码",
        "电话",
        "联系电话",
        "联系方式",
        "phone",
        "mobile",
        "tel",
    ),
    "role": ("身份", "关系", "与户主关系", "人员类型", "类型", "role", "relation", "type"),
    "zone": ("片区", "小区", "区域", "分区", "zone", "area"),
    "note": ("备注", "note", "notes", "remark", "remarks"),
}
_LOOKUP = {alias: field for field, names in ALIASES.items() for alias in names}


@dataclass(frozen=True, slots=True)
class Table:
    """A sheet's recognised columns and its data rows (row numbers as a person sees them)."""

    columns: dict[str, int]
    rows: list[tuple[int, list[str]]]


def header_key(cell: str) -> str | None:
    """The field a header cell names: case, spaces, ``*`` and bracketed notes are ignored."""
    text = unicodedata.normalize("NFKC", cell).casefold()
    for bracket in ("(", "（", "["):  # noqa: RUF001 - full-width bracket in headers
        text = text.split(bracket)[0]
    text = "".join(ch for ch in text if not ch.isspace() and ch not in "*:：")  # noqa: RUF001
    return _LOOKUP.get(text)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # phone numbers typed as numbers come back as floats
    return str(value).strip()


def _csv_rows(data: bytes) -> Iterator[list[str]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise Invalid("the CSV file is neither UTF-8 nor GB18030 text")
    sample = text[:4096]
    delimiter = "\t" if sample.count("\t") > sample.count(",") else ","
    for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
        yield [_cell(c) for c in row[:MAX_COLUMNS]]


def _xlsx_rows(data: bytes) -> Iterator[list[str]]:
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        raise Invalid("the file looks like XLSX but is not a valid zip archive") from None
    if unpacked > MAX_UNPACKED_BYTES:
        raise Invalid("the XLSX file unpacks to more than 200 MB")
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (KeyError, ValueError, OSError, zipfile.BadZipFile) as exc:
        raise Invalid(f"the XLSX file cannot be read: {type(exc).__name__}") from None
    try:
        sheet = book.worksheets[0]
        for row in sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS):
            yield [_cell(c) for c in row]
    finally:
        book.close()


def read_table(path: Path) -> Table:
    """Read a CSV or XLSX register into recognised columns and rows; Invalid if unusable."""
    if path.stat().st_size > MAX_FILE_BYTES:
        raise Invalid(f"the file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
    data = path.read_bytes()
    raw = _xlsx_rows(data) if data[:4] == b"PK\x03\x04" else _csv_rows(data)
    columns: dict[str, int] | None = None
    rows: list[tuple[int, list[str]]] = []
    for number, row in enumerate(raw, start=1):
        if columns is None:
            found = {header_key(c): i for i, c in enumerate(row) if header_key(c)}
            if {"building", "room", "name"} <= found.keys():
                columns = {k: v for k, v in found.items() if k is not None}
            elif number >= HEADER_SEARCH_ROWS:
                break
            continue
        if any(row):
            rows.append((number, row))
        if len(rows) > MAX_ROWS:
            raise Invalid(f"more than {MAX_ROWS} rows")
    if columns is None:
        raise Invalid("no header row with building (楼栋), room (房号) and name (姓名) columns")
    return Table(columns=columns, rows=rows)
