"""Synthetic community registers (CSV and XLSX) like the office keeps, for import tests and bench."""

from __future__ import annotations

import csv
from pathlib import Path

from openpyxl import Workbook

HEADERS_ZH = ["楼栋", "单元", "房号", "姓名", "手机号码(必填)", "与户主关系", "片区", "备注"]
HEADERS_EN = ["Building", "Unit", "Room", "Name", "Phone", "Role", "Zone", "Note"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"
ROLES = ["业主", "家属", "租户", "家属"]


def people(count: int, *, zone: str = "east") -> list[list[object]]:
    """``count`` residents, four per household, names unique within each household."""
    rows: list[list[object]] = []
    for i in range(count):
        household, member = divmod(i, 4)
        building, rest = divmod(household, 200)
        unit, room = divmod(rest, 40)
        name = (
            SURNAMES[i % 20]
            + GIVEN[(i // 20) % len(GIVEN)]
            + GIVEN[(i // 500) % len(GIVEN)]
            + str(member)
        )
        phone = 13800000000 + i  # typed as a number, as Excel users do
        rows.append(
            [
                f"{building + 1}",
                f"{unit + 1}",
                f"{room + 101}",
                name,
                phone,
                ROLES[member],
                zone,
                "",
            ]
        )
    return rows


def write_xlsx(
    path: Path, headers: list[str], rows: list[list[object]], *, title: str | None = None
) -> Path:
    """An XLSX with an optional title row above the header (as offices do)."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("居民")
    if title:
        sheet.append([title])
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def write_csv(
    path: Path, headers: list[str], rows: list[list[object]], *, encoding: str = "utf-8-sig"
) -> Path:
    """A CSV as Excel saves it (UTF-8 with BOM, or GB18030)."""
    with path.open("w", newline="", encoding=encoding) as out:
        writer = csv.writer(out)
        writer.writerow(headers)
        writer.writerows(rows)
    return path
