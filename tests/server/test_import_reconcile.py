"""The office's own register (issue 16 items 1-3): zones, headers, encodings, phones, people of
one name in a flat, home observation from the register, and re-imports that reconcile — preview
first, changed phones reissue passes, people gone move out, UI edits are conflicts, erased
people stay erased unless confirmed, the same file twice changes nothing. Real files written by
the test, real SQLite sites."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from server.config import ConfigError
from server.services.context import CLI_ACTOR, Env
from server.services.passes import issuing
from server.services.privacy import subjects
from server.services.registry import followup, residents
from server.services.registry.imports import ImportReport, import_residents
from server.services.registry.site import initialise
from server.store import passes as pass_store
from server.store.schema import households
from server.store.schema import residents as residents_table
from tests.server.conftest import START, FakeClock, Site, make_settings

HEADERS = ["楼号", "单元", "房号", "姓名", "联系电话", "身份", "是否居家观察", "备注"]
REGISTER = [
    ["1号楼", "1", "101", "张伟", "13800138001", "户主", "否", ""],
    ["1号楼", "1", "101", "张伟", "13900139002", "子女", "否", "同名，另一个手机"],
    ["1号楼", "1", "101", "李芳", "", "配偶", "否", ""],
    ["1号楼", "1", "102", "王强", "13800138004", "业主", "是", ""],
    ["1号楼", "2", "201", "赵敏", "138 0013 8005", "租户", "否", ""],
    ["2号楼", "1", "1001", "陈静", "+86 13800138006", "户主", "否", ""],
]
LOCAL = dt.timezone(dt.timedelta(hours=8))  # the settings' default card_utc_offset_min


def write_csv(
    path: Path, rows: list[list[str]], *, encoding: str = "utf-8", headers: list[str] = HEADERS
) -> Path:
    with path.open("w", newline="", encoding=encoding) as out:
        writer = csv.writer(out)
        writer.writerow(headers)
        writer.writerows(rows)
    return path


def write_xlsx(path: Path, rows: list[list[Any]], headers: list[str] = HEADERS) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def one_zone_site(tmp_path: Path) -> Site:
    """A site with a single zone (east)."""
    settings = make_settings(tmp_path / "one")
    settings.data_dir.mkdir()
    site = Site(settings, FakeClock(), "", None)

    async def init(env: Env) -> Any:
        return await initialise(
            env, site="gw02", name="One", zones=["east"], admin="admin", root_passphrase=None
        )

    site.run(init)
    return site


def run_import(site: Site, path: Path, **kw: Any) -> ImportReport:
    async def go(env: Env) -> ImportReport:
        return await import_residents(env, CLI_ACTOR, path, **kw)

    return site.run(go)  # type: ignore[no-any-return]


def people(site: Site) -> list[dict[str, Any]]:
    """Every resident with their flat, as rows of dicts, by id."""

    async def go(env: Env) -> list[dict[str, Any]]:
        joined = residents_table.join(households)
        query = (
            sa.select(residents_table, households.c.zone_id, households.c.label)
            .select_from(joined)
            .order_by(residents_table.c.id)
        )
        async with env.db.read() as conn:
            return [dict(r._mapping) for r in await conn.execute(query)]

    return site.run(go)  # type: ignore[no-any-return]


def by_name(site: Site, name: str) -> list[dict[str, Any]]:
    return [p for p in people(site) if p["name"] == name]


def test_a_one_zone_site_needs_no_zone_column(tmp_path: Path) -> None:
    site = one_zone_site(tmp_path)
    report = run_import(site, write_csv(tmp_path / "r.csv", REGISTER))
    assert report.written
    assert (report.created, report.households_created, report.errors) == (6, 4, [])
    assert {p["zone_id"] for p in people(site)} == {1}


def test_two_zones_take_the_zone_column_or_the_operators_zone(site: Site, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", REGISTER)
    refused = run_import(site, path)
    assert not refused.written
    assert {(e.column, e.reason) for e in refused.errors} == {("zone", "no_zone")}
    assert [e.row for e in refused.errors] == [2, 3, 4, 5, 6, 7]  # the header is row 1
    assert people(site) == []
    report = run_import(site, path, zone="west")
    assert report.written
    assert {p["zone_id"] for p in people(site)} == {2}
    with_column = [[*r, "east" if i % 2 else "2"] for i, r in enumerate(REGISTER, start=1)]
    mixed = write_csv(
        tmp_path / "zones.csv",
        [*with_column, ["3号楼", "1", "101", "周杰", "", "业主", "否", "", "nowhere"]],
        headers=[*HEADERS, "片区"],
    )
    again = run_import(site, mixed, skip_invalid=True)
    assert [(e.row, e.column, e.reason) for e in again.errors] == [(8, "zone", "unknown_zone")]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_encodings_read_alike(tmp_path: Path, encoding: str) -> None:
    site = one_zone_site(tmp_path)
    report = run_import(site, write_csv(tmp_path / "r.csv", REGISTER, encoding=encoding))
    assert (report.created, report.errors) == (6, [])
    assert sorted(p["name"] for p in people(site)) == sorted(r[3] for r in REGISTER)


def test_xlsx_with_numbers_dates_and_formulas(tmp_path: Path) -> None:
    """Phone numbers typed as numbers, a date cell for 返京日期, and formula cells (their
    values as Excel saved them) read as the office sees them."""
    site = one_zone_site(tmp_path)
    headers = [*HEADERS, "返京日期"]
    rows: list[list[Any]] = [[*r, ""] for r in REGISTER]
    rows[0][4] = 13800138001  # a number
    rows[3][8] = dt.datetime(2026, 11, 28)  # a date cell
    path = write_xlsx(tmp_path / "r.xlsx", rows, headers)
    report = run_import(site, path)
    assert (report.created, report.errors) == (6, [])
    wang = by_name(site, "王强")[0]
    start = int(dt.datetime(2026, 11, 28, tzinfo=LOCAL).timestamp())
    assert (wang["status"], wang["observation_start"]) == ("home_observation", start)
    assert wang["observation_end"] == start + 14 * 86400
    assert by_name(site, "张伟")[0]["phone"] == "+8613800138001"


def test_formula_cells_give_their_saved_values(tmp_path: Path) -> None:
    """A workbook whose room cells are formulas with cached values, as Excel saves them."""
    site = one_zone_site(tmp_path)
    path = write_xlsx(
        tmp_path / "f.xlsx", [["1号楼", "1", "101", "张伟", "13800138001", "户主", "否", ""]]
    )
    _with_formula(path, "C2", "=100+1", "101")
    report = run_import(site, path)
    assert (report.created, report.errors) == (1, [])
    assert people(site)[0]["label"] == "1号楼-1-101"


def _with_formula(path: Path, cell: str, formula: str, value: str) -> None:
    """Rewrite one cell of sheet1 as a formula with a cached value (openpyxl writes none)."""
    import re
    import zipfile

    with zipfile.ZipFile(path) as src:
        parts = {n: src.read(n) for n in src.namelist()}
    name = "xl/worksheets/sheet1.xml"
    xml = parts[name].decode()
    pattern = re.compile(rf'<c r="{cell}"[^>]*?(/>|>.*?</c>)')
    replacement = f'<c r="{cell}"><f>{formula[1:]}</f><v>{value}</v></c>'
    xml, count = pattern.subn(replacement, xml, count=1)
    assert count == 1
    parts[name] = xml.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for n, data in parts.items():
            out.writestr(n, data)


def test_phones_are_normalised_and_people_of_one_name_are_told_apart(tmp_path: Path) -> None:
    site = one_zone_site(tmp_path)
    rows = [list(r) for r in REGISTER]
    rows[4][4] = "１３８-００１３-８００５"  # full-width digits and dashes
    rows.append(["2号楼", "1", "1001", "陈静", "0086 138 0013 8006", "户主", "否", ""])  # same
    rows.append(["1号楼", "1", "101", "李芳", "13800138099", "配偶", "否", ""])  # one has none
    report = run_import(site, write_csv(tmp_path / "r.csv", rows), skip_invalid=True)
    assert [(e.row, e.reason, e.other) for e in report.errors] == [
        (8, "duplicate", 7),
        (9, "duplicate", 4),
    ]
    assert report.created == 6
    assert sorted(p["phone"] for p in by_name(site, "张伟")) == ["+8613800138001", "+8613900139002"]
    assert by_name(site, "赵敏")[0]["phone"] == "+8613800138005"


def test_home_observation_from_the_register(tmp_path: Path) -> None:
    site = one_zone_site(tmp_path)
    headers = [*HEADERS, "返京日期", "观察起始日期"]
    rows = [[*r, "", ""] for r in REGISTER]
    rows[0][6], rows[0][8] = "是", "2026/11/25"  # from the return date
    rows[1][6], rows[1][8:] = "Y", ["2026-11-25", "2026年11月26日"]  # the start wins
    rows[2][6] = "1"  # from the import day
    rows[4][6] = "也许"  # not a yes or no
    rows[5][6], rows[5][8] = "是", "下周"  # not a date
    path = write_csv(tmp_path / "r.csv", rows, headers=headers)
    report = run_import(site, path)
    assert [(e.row, e.column, e.reason) for e in report.errors] == [
        (6, "observation", "bad_observation"),
        (7, "returned", "bad_date"),
    ]
    assert not report.written
    report = run_import(site, path, skip_invalid=True)
    assert report.observation == 4  # three 是 and the 是 of 王强
    day = 86400
    local = Clock8(site.clock.now())
    expected = {
        "+8613800138001": local.midnight(2026, 11, 25),
        "+8613900139002": local.midnight(2026, 11, 26),
        None: local.today(),
    }
    for person in people(site):
        if person["phone"] in expected and person["name"] != "王强":
            assert person["status"] == "home_observation"
            assert person["observation_start"] == expected[person["phone"]]
            assert person["observation_end"] == person["observation_start"] + 14 * day

    async def follow(env: Env) -> tuple[list[followup.CallItem], int]:
        items = await followup.call_list(env, CLI_ACTOR, day_start=local.today())
        async with env.db.read() as conn:
            seq = await pass_store.read_counter(conn, name=pass_store.REVOCATION_SEQ)
        return items, seq

    site.clock.t = local.midnight(2026, 11, 27)  # all four observations are running
    items, seq = site.run(follow)
    assert sorted(i.resident.name for i in items) == ["张伟", "张伟", "李芳", "王强"]
    assert seq >= 1  # the gates' holds follow (the publisher sends the new list)


class Clock8:
    """Local (UTC+8) midnights as unix times."""

    def __init__(self, now: int) -> None:
        self.now = now

    def midnight(self, year: int, month: int, day: int) -> int:
        return int(dt.datetime(year, month, day, tzinfo=LOCAL).timestamp())

    def today(self) -> int:
        local = dt.datetime.fromtimestamp(self.now, LOCAL)
        return self.midnight(local.year, local.month, local.day)


def test_the_gates_hold_an_imported_observation_at_once(tmp_path: Path) -> None:
    """A 是 row holds the person's pass in the next revocation list; a 否 later releases it."""
    from server.services.passes.revocations import build_full

    site = one_zone_site(tmp_path)
    run_import(site, write_csv(tmp_path / "a.csv", REGISTER))
    wang = by_name(site, "王强")[0]
    ref = _issue(site, wang["id"])

    async def holds(env: Env) -> tuple[int, list[str]]:
        async with env.db.read() as conn:
            full = await build_full(conn, now=env.clock.now(), next_update_s=3600)
        return full.seq, [h.ref.hex() for h in full.pass_holds]

    seq, held = site.run(holds)
    assert held == [ref]
    rows = [list(r) for r in REGISTER]
    rows[3][6] = "否"
    run_import(site, write_csv(tmp_path / "b.csv", rows))
    later, held = site.run(holds)
    assert (later > seq, held) == (True, [])


def test_the_observation_period_is_a_site_setting(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        make_settings(tmp_path / "bad", observation_days=0)
    settings = make_settings(tmp_path / "seven", observation_days=7)
    settings.data_dir.mkdir()
    site = Site(settings, FakeClock(), "", None)
    site.run(
        lambda env: initialise(
            env, site="gw03", name="S", zones=["east"], admin="admin", root_passphrase=None
        )
    )
    run_import(site, write_csv(tmp_path / "r.csv", REGISTER))
    wang = by_name(site, "王强")[0]
    assert wang["observation_end"] - wang["observation_start"] == 7 * 86400


def _issue(site: Site, resident_id: int) -> str:
    async def go(env: Env) -> str:
        return (await issuing.issue_resident(env, CLI_ACTOR, resident_id)).ref

    return site.run(go)  # type: ignore[no-any-return]


def _live(site: Site, resident_id: int) -> list[Any]:
    async def go(env: Env) -> list[Any]:
        async with env.db.read() as conn:
            return await pass_store.active_passes(
                conn, now=env.clock.now(), resident_id=resident_id
            )

    return site.run(go)  # type: ignore[no-any-return]


def test_reimport_previews_then_reconciles(tmp_path: Path) -> None:
    site = one_zone_site(tmp_path)
    first = write_csv(tmp_path / "first.csv", REGISTER)
    assert run_import(site, first).created == 6
    zhao, chen, wang = (by_name(site, n)[0] for n in ("赵敏", "陈静", "王强"))
    old_ref = _issue(site, zhao["id"])
    chen_ref = _issue(site, chen["id"])
    site.clock.advance(3600)

    same = run_import(site, first)
    assert same.nothing_to_do
    assert not same.written
    assert (same.created, same.updated, same.unchanged) == (0, 0, 6)

    rows = [list(r) for r in REGISTER]
    rows[4][4] = "13700137005"  # 赵敏's new phone
    del rows[5]  # 陈静 moved out (2号楼 is no longer in the file: kept, not covered)
    rows[3][6] = "否"  # 王强's observation ends
    rows.append(["1号楼", "2", "202", "孙丽", "13600136007", "租户", "否", ""])
    second = write_csv(tmp_path / "second.csv", rows)
    preview = run_import(site, second, dry_run=True)
    assert not preview.written
    assert [p["phone"] for p in by_name(site, "赵敏")] == ["+8613800138005"]  # nothing written
    assert (preview.created, preview.updated, preview.moved_out, preview.observation) == (
        1,
        2,
        0,
        1,
    )
    assert [line.detail for line in preview.phones] == ["138****8005 → 137****7005"]

    applied = run_import(site, second)
    assert applied.written
    counts = ("created", "updated", "unchanged", "moved_out", "observation", "conflicts")
    assert [getattr(applied, c) for c in counts] == [getattr(preview, c) for c in counts]
    assert applied.passes_reissued == 1
    live = _live(site, zhao["id"])
    assert len(live) == 1
    assert live[0].ref != old_ref  # the gate now asks for the new digits
    assert by_name(site, "王强")[0]["status"] == "normal"
    assert [p.ref for p in _live(site, chen["id"])] == [chen_ref]  # 2号楼 not in this file

    rows.append(["2号楼", "1", "1002", "吴刚", "", "业主", "否", ""])  # 2号楼 covered again
    third = run_import(site, write_csv(tmp_path / "third.csv", rows))
    assert third.moved_out == 1
    assert [line.name for line in third.gone] == ["陈*"]
    chen_now = by_name(site, "陈静")[0]
    assert chen_now["status"] == "moved_out"  # kept, not deleted
    assert _live(site, chen["id"]) == []
    assert third.passes_revoked == 1
    assert wang["id"] == by_name(site, "王强")[0]["id"]


def test_a_rejected_row_does_not_make_its_person_gone(tmp_path: Path) -> None:
    site = one_zone_site(tmp_path)
    run_import(site, write_csv(tmp_path / "a.csv", REGISTER))
    rows = [list(r) for r in REGISTER]
    rows[4][4] = "12345"  # 赵敏's row is broken this time
    report = run_import(site, write_csv(tmp_path / "b.csv", rows), skip_invalid=True)
    assert report.moved_out == 0
    assert by_name(site, "赵敏")[0]["status"] == "normal"


def _edit_phone(site: Site, resident_id: int, phone: str) -> None:
    async def go(env: Env) -> None:
        fields = residents.ResidentFields(phone=phone)
        await residents.save(env, CLI_ACTOR, resident_id, fields)

    site.run(go)


def test_a_ui_edit_is_a_conflict_not_overwritten(tmp_path: Path) -> None:
    site = one_zone_site(tmp_path)
    path = write_csv(tmp_path / "a.csv", REGISTER)
    run_import(site, path)
    zhao, chen = by_name(site, "赵敏")[0], by_name(site, "陈静")[0]
    _edit_phone(site, zhao["id"], "13500135000")  # edited at the desk
    _edit_phone(site, chen["id"], "13500135111")

    kept = run_import(site, path)  # the file did not change: the desk's values stay
    assert (kept.conflicts, kept.updated) == (0, 0)
    assert kept.nothing_to_do
    assert by_name(site, "赵敏")[0]["phone"] == "+8613500135000"

    rows = [list(r) for r in REGISTER]
    rows[4][4] = "13700137005"  # the file changed 赵敏's phone too: a conflict
    report = run_import(site, write_csv(tmp_path / "b.csv", rows))
    assert report.conflicts == 1
    assert [(line.row, line.detail) for line in report.conflict_lines] == [(6, "phone")]
    assert report.as_json()["conflict_rows"] == [{"row": 6, "column": "phone"}]
    assert by_name(site, "赵敏")[0]["phone"] == "+8613500135000"  # not overwritten
    again = run_import(site, write_csv(tmp_path / "b.csv", rows))
    assert again.conflicts == 1  # shown until the file or the record is corrected


def _erase(site: Site, resident_id: int) -> None:
    async def go(env: Env) -> None:
        await subjects.erase_resident(env, CLI_ACTOR, resident_id)

    site.run(go)


def test_an_erased_person_comes_back_only_when_confirmed(tmp_path: Path) -> None:
    site = one_zone_site(tmp_path)
    path = write_csv(tmp_path / "a.csv", REGISTER)
    run_import(site, path)
    _erase(site, by_name(site, "赵敏")[0]["id"])
    key = site.settings.keys_dir / "erasure-fingerprint.key"
    assert oct(key.stat().st_mode & 0o777) == "0o600"

    async def stored(env: Env) -> list[str]:
        async with env.db.read() as conn:
            return list((await conn.execute(sa.text("SELECT * FROM erased_fingerprints"))).all())

    (row,) = site.run(stored)
    assert "赵敏" not in str(row)
    assert "1号楼" not in str(row)

    held = run_import(site, path)
    assert [(e.row, e.reason) for e in held.errors] == [(6, "erased_person")]
    assert not held.written
    assert by_name(site, "赵敏") == []
    skipped = run_import(site, path, skip_invalid=True)
    assert skipped.nothing_to_do
    assert by_name(site, "赵敏") == []
    back = run_import(site, path, confirm_rows={6})
    assert (back.written, back.created, back.errors) == (True, 1, [])
    assert len(by_name(site, "赵敏")) == 1
    assert run_import(site, path).nothing_to_do  # registered again: no longer held back


def test_an_import_starts_on_the_import_day(tmp_path: Path) -> None:
    """是 without a date starts today; the same file imported days later changes nothing."""
    site = one_zone_site(tmp_path)
    path = write_csv(tmp_path / "a.csv", REGISTER)
    run_import(site, path)
    start = by_name(site, "王强")[0]["observation_start"]
    assert start == Clock8(START).today()
    site.clock.advance(3 * 86400)
    assert run_import(site, path).nothing_to_do
    assert by_name(site, "王强")[0]["observation_start"] == start


def test_a_column_the_file_lacks_changes_nothing(tmp_path: Path) -> None:
    """A role and a note changed at the desk, then a register with no 身份 and no 备注 columns:
    the role and note stay (no conflict); the phone, which the file has, is compared."""
    site = one_zone_site(tmp_path)
    run_import(site, write_csv(tmp_path / "a.csv", REGISTER[:1]))
    zhang = by_name(site, "张伟")[0]

    async def desk(env: Env) -> None:
        fields = residents.ResidentFields(role="tenant", note="desk note")
        await residents.save(env, CLI_ACTOR, zhang["id"], fields)

    site.run(desk)
    lean = [[r[0], r[1], r[2], r[3], r[4]] for r in REGISTER[:1]]
    report = run_import(site, write_csv(tmp_path / "b.csv", lean, headers=HEADERS[:5]))
    assert (report.conflicts, report.updated, report.unchanged) == (0, 0, 1)
    after = by_name(site, "张伟")[0]
    assert (after["role"], after["note"]) == ("tenant", "desk note")


def test_english_headers(tmp_path: Path) -> None:
    site = one_zone_site(tmp_path)
    headers = [
        "Building",
        "Unit",
        "Room",
        "Name",
        "Mobile",
        "Relation",
        "Home observation",
        "Note",
        "Return date",
    ]
    rows = [[*r, ""] for r in REGISTER]
    rows[0][6], rows[0][8] = "yes", "2026-11-25"
    report = run_import(site, write_csv(tmp_path / "en.csv", rows, headers=headers))
    assert (report.created, report.observation, report.errors) == (6, 2, [])
    zhang = next(p for p in by_name(site, "张伟") if p["phone"] == "+8613800138001")
    assert zhang["observation_start"] == Clock8(START).midnight(2026, 11, 25)


def test_moved_out_people_are_listed_by_their_status(tmp_path: Path) -> None:
    """The office finds who an import marked moved out (API filter and the residents page)."""
    from fastapi.testclient import TestClient

    from server.app import create_app
    from tests.server.conftest import STRONG, ready_accounts

    site = one_zone_site(tmp_path)
    run_import(site, write_csv(tmp_path / "a.csv", REGISTER))
    run_import(site, write_csv(tmp_path / "b.csv", [*REGISTER[:-2], REGISTER[-1]]))
    site.run(ready_accounts)
    with TestClient(create_app(site.settings, clock=site.clock)) as client:
        login = {"username": "admin", "password": STRONG}
        assert client.post("/api/v1/auth/login", json=login).status_code == 200
        found = client.get("/api/v1/residents", params={"status": "moved_out"}).json()
        assert [r["name"] for r in found["items"]] == ["赵敏"]
        page = client.get("/ui/residents", params={"status": "moved_out"}).text
        assert "已迁出" in page
