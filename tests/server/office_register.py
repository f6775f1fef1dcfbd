"""A register shaped like a real estate office's (issue 16): 1,614 households, 5,095 rows,
headers 楼号,单元,房号,姓名,联系电话,身份,是否居家观察,备注 and no zone column; about 20 % of
the rows without a phone, 40 "是" rows, and optionally the bad rows the issue met."""

from __future__ import annotations

import csv
from pathlib import Path

from openpyxl import Workbook

HEADERS = ["楼号", "单元", "房号", "姓名", "联系电话", "身份", "是否居家观察", "备注"]
HOUSEHOLDS = 1614
ROWS = 5095
FOURS = ROWS - 3 * HOUSEHOLDS  # households of four; the rest have three
FLATS_PER_UNIT = 36  # 18 floors, 2 flats a floor
UNITS = 2
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"
ROLES = ["户主", "配偶", "子女", "父母"]
OBSERVED_EVERY = 127  # 40 people of 5,095 under home observation


def address(household: int) -> tuple[str, str, str]:
    """``N号楼``, unit, room (floor x 100 + flat) of household number ``household``."""
    building, rest = divmod(household, UNITS * FLATS_PER_UNIT)
    unit, flat = divmod(rest, FLATS_PER_UNIT)
    floor, side = divmod(flat, 2)
    return f"{building + 1}号楼", str(unit + 1), str((floor + 1) * 100 + side + 1)


def name(i: int, member: int) -> str:
    """A name unique within its household."""
    return SURNAMES[i % 20] + GIVEN[(i // 20) % len(GIVEN)] + GIVEN[member * 5 % len(GIVEN)]


def rows() -> list[list[str]]:
    """The 5,095 good rows, household by household."""
    out: list[list[str]] = []
    i = 0
    for household in range(HOUSEHOLDS):
        building, unit, room = address(household)
        for member in range(4 if household < FOURS else 3):
            phone = "" if i % 5 == 4 else f"1{3 + i % 6}{i:09d}"[:11]
            observed = "是" if i % OBSERVED_EVERY == 60 else "否"
            out.append([building, unit, room, name(i, member), phone, ROLES[member], observed, ""])
            i += 1
    return out


def with_bad_rows(good: list[list[str]]) -> list[list[str]]:
    """The issue's bad rows changed into the register, and a second person of one name in a flat
    with another phone (a good row). Returns a copy; rows 12, 23, 34 and 45 (spreadsheet numbers)
    are bad: an unknown observation value, a broken phone, a duplicate person, an empty name."""
    out = [list(r) for r in good]
    out[10][6] = "也许"  # row 12
    out[21][4] = "1380013"  # row 23
    out[32] = list(out[31])  # row 34: the same person as row 33
    out[32][5] = "子女"
    out[43][3] = ""  # row 45
    twin = list(out[0])
    twin[4], twin[5] = "13912345678", "子女"  # same name as row 2, another phone: two people
    out.insert(1, twin)  # becomes row 3; the bad rows above move one down
    return out


def write_csv(path: Path, table: list[list[str]], *, encoding: str = "utf-8") -> Path:
    """The register as CSV (``utf-8``, ``utf-8-sig`` for Excel's BOM, ``gbk``)."""
    with path.open("w", newline="", encoding=encoding) as out:
        writer = csv.writer(out)
        writer.writerow(HEADERS)
        writer.writerows(table)
    return path


def write_xlsx(path: Path, table: list[list[str]], headers: list[str] = HEADERS) -> Path:
    """The register as XLSX, phone numbers typed as numbers as Excel users do."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("住户")
    sheet.append(headers)
    for row in table:
        phone = int(row[4]) if row[4].isdigit() else row[4]
        sheet.append([*row[:4], phone, *row[5:]])
    book.save(path)
    return path
