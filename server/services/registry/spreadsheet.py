"""Reading the community office's spreadsheets (CSV or XLSX) into header-keyed rows.

Offices keep registers in Excel, often with a title row above the header, Chinese headers,
phone numbers typed as numbers, and CSV saved as UTF-8 with BOM or as GB18030. The file type is
sniffed from content, not from the name; size, row and column counts are capped, so a zip bomb
or a runaway sheet stops with an error instead of filling memory (9.2 item 11), and an XLSX
package is checked part by part before openpyxl reads it (server.services.registry.file_limits).
This module runs in the import worker (server.services.registry.sandbox), never on the server's
event loop.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import unicodedata
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from server.services.registry.file_limits import (
    MAX_COLUMNS,
    MAX_FILE_BYTES,
    MAX_ROWS,
    MAX_SHEET_ROWS,
    Caps,
    Problem,
    check_package,
    refused,
    too_large,
)

logger = logging.getLogger(__name__)

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
    "observation": (
        "是否居家观察",
        "居家观察",
        "是否隔离",
        "homeobservation",
        "observation",
        "underobservation",
    ),
    "returned": ("返京日期", "返回日期", "返京时间", "returned", "returndate", "returnedon"),
    "observation_start": (
        "观察起始日期",
        "观察开始日期",
        "观察起始时间",
        "observationstart",
        "observationfrom",
        "observationstartdate",
    ),
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
    if isinstance(value, dt.datetime | dt.date):  # a date cell: its day, as offices mean it
        return value.strftime("%Y-%m-%d")
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
        raise refused(Problem.CSV_ENCODING, "the CSV file is neither UTF-8 nor GB18030 text")
    sample = text[:4096]
    delimiter = "\t" if sample.count("\t") > sample.count(",") else ","
    for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
        yield [_cell(c) for c in row[:MAX_COLUMNS]]


def _xlsx_rows(data: bytes, caps: Caps) -> Iterator[list[str]]:
    from defusedxml import DefusedXmlException
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            check_package(archive, caps)
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except zipfile.BadZipFile:
        raise refused(Problem.NOT_ZIP, "the file looks like XLSX but is not a valid zip") from None
    except DefusedXmlException:
        raise refused(Problem.XML_DTD, "the XLSX file declares XML entities") from None
    try:
        sheet = book.worksheets[0]
        rows = sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS, max_row=MAX_SHEET_ROWS + 1)
        for row in rows:
            yield [_cell(c) for c in row] if any(c is not None for c in row) else []
    finally:
        book.close()


def _rows(data: bytes, caps: Caps) -> Iterator[list[str]]:
    """Every row of the file, empty ones as ``[]``; at most MAX_SHEET_ROWS of them."""
    raw = _xlsx_rows(data, caps) if data[:4] == b"PK\x03\x04" else _csv_rows(data)
    for number, row in enumerate(raw, start=1):
        if number > MAX_SHEET_ROWS:
            raise too_large(
                Problem.TOO_MANY_ROWS, f"more than {MAX_SHEET_ROWS} rows", n=MAX_SHEET_ROWS
            )
        yield row


def read_table(path: Path, caps: Caps | None = None) -> Table:
    """Read a CSV or XLSX register into its recognised columns (those only) and its data rows;
    a coded Invalid or TooLarge if the file is unusable or asks for more than the caps."""
    if path.stat().st_size > MAX_FILE_BYTES:
        kb = MAX_FILE_BYTES // 1024
        raise too_large(Problem.FILE_TOO_LARGE, f"the file is larger than {kb} KB", kb=kb)
    data = path.read_bytes()
    if not data:
        raise refused(Problem.EMPTY, "the file is empty")
    try:
        return _table(_rows(data, caps or Caps()))
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as exc:
        kind = type(exc).__name__  # a damaged, encrypted or exotic part
        raise refused(Problem.UNREADABLE, f"the XLSX file cannot be read: {kind}") from None


def _table(raw: Iterator[list[str]]) -> Table:
    """Find the header in the first rows, then keep the recognised columns of each data row."""
    found: dict[str, int] | None = None
    rows: list[tuple[int, list[str]]] = []
    for number, row in enumerate(raw, start=1):
        if found is None:
            header = {key: i for i, c in enumerate(row) if (key := header_key(c))}
            if {"building", "room", "name"} <= header.keys():
                found = header
            elif number >= HEADER_SEARCH_ROWS:
                break
            continue
        if any(row):
            rows.append((number, [row[i] if i < len(row) else "" for i in found.values()]))
        if len(rows) > MAX_ROWS:
            raise too_large(Problem.TOO_MANY_ROWS, f"more than {MAX_ROWS} rows", n=MAX_ROWS)
    if found is None:
        raise refused(
            Problem.NO_HEADER,
            "no header row with building (楼栋), room (房号) and name (姓名) columns",
        )
    if not rows:
        raise refused(Problem.NO_ROWS, "the file has a header but no rows")
    return Table(columns={key: i for i, key in enumerate(found)}, rows=rows)
