"""Importing residents from CSV and XLSX: validation, all-or-nothing, skip-invalid, idempotence."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from server.services.context import CLI_ACTOR
from server.services.paging import Page
from server.services.registry.imports import ImportReport, import_residents
from server.store import people
from tests.server.conftest import Site
from tests.server.registers import HEADERS_EN, HEADERS_ZH, write_csv, write_xlsx
from tests.server.registers import people as make_people


def _import(site: Site, path: Path, **kw: Any) -> ImportReport:
    async def go(env: Any) -> ImportReport:
        return await import_residents(env, CLI_ACTOR, path, **kw)

    return site.run(go)  # type: ignore[no-any-return]


def _count(site: Site) -> int:
    async def go(env: Any) -> int:
        async with env.db.read() as conn:
            return (await people.search_residents(conn, scope=None, page=Page(size=1)))[1]

    return site.run(go)  # type: ignore[no-any-return]


def _break(rows: list[list[object]]) -> list[list[object]]:
    """Five bad rows: bad phone, empty name, unknown role, duplicate person, unknown zone."""
    rows = [list(r) for r in rows]
    rows[10][4] = "12345"
    rows[20][3] = ""
    rows[30][5] = "房东的狗"
    rows[41] = list(rows[40])
    rows[50][6] = "nowhere"
    return rows


@pytest.mark.slow
def test_5000_residents_from_xlsx_with_bad_rows(site: Site, tmp_path: Path) -> None:
    rows = _break(make_people(5000))
    path = write_xlsx(tmp_path / "register.xlsx", HEADERS_ZH, rows, title="某某社区居民登记表")
    report = _import(site, path)
    assert not report.written
    assert _count(site) == 0
    assert [(e.row, e.column) for e in report.errors] == [
        (13, "phone"),
        (23, "name"),
        (33, "role"),
        (44, "name"),
        (53, "zone"),
    ]
    assert [e.reason for e in report.errors] == [
        "bad_phone",
        "required",
        "bad_role",
        "duplicate",
        "unknown_zone",
    ]
    report = _import(site, path, skip_invalid=True)
    assert report.written
    assert report.created == 4995
    assert len(report.errors) == 5
    assert report.households_created == 1250
    assert _count(site) == 4995


@pytest.mark.slow
def test_5000_residents_from_csv_is_idempotent(site: Site, tmp_path: Path) -> None:
    rows = make_people(5000)
    path = write_csv(tmp_path / "register.csv", HEADERS_EN, rows)
    first = _import(site, path)
    assert first.written
    assert first.created == 5000
    assert not first.errors
    again = _import(site, path)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 5000)
    rows[7][4] = 13999999999
    changed = _import(site, write_csv(tmp_path / "changed.csv", HEADERS_EN, rows))
    assert (changed.created, changed.updated, changed.unchanged) == (0, 1, 4999)
    assert _count(site) == 5000


def test_gb18030_csv_and_unknown_household_without_zone(site: Site, tmp_path: Path) -> None:
    rows = make_people(8)
    for row in rows:
        row[6] = ""
    path = write_csv(tmp_path / "gbk.csv", HEADERS_ZH, rows, encoding="gb18030")
    report = _import(site, path)
    assert not report.written
    assert {(e.column, e.reason) for e in report.errors} == {("zone", "no_zone")}
    rows[0][6] = rows[4][6] = "east"  # zone on the first row of each household creates it
    for i in range(8):
        rows[i][6] = "1"
    report = _import(site, write_csv(tmp_path / "zones.csv", HEADERS_ZH, rows, encoding="gb18030"))
    assert report.written
    assert report.created == 8
    assert report.households_created == 2


def test_unusable_files_are_refused(site: Site, tmp_path: Path) -> None:
    from server.services.errors import Invalid

    no_header = write_csv(tmp_path / "x.csv", ["a", "b"], [["1", "2"]])
    with pytest.raises(Invalid, match="header"):
        _import(site, no_header)
    fake_zip = tmp_path / "fake.xlsx"
    fake_zip.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    with pytest.raises(Invalid):
        _import(site, fake_zip)
    binary = tmp_path / "bin.csv"
    binary.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(Invalid):
        _import(site, binary)
    assert asyncio.iscoroutinefunction(import_residents)
