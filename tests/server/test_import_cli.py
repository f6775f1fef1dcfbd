"""``gatepass-server import residents`` as the office runs it (issue 16 items 4 and 9): the real
CLI in a subprocess on real files — the register shaped like the issue's (5,095 rows, no zone
column, the bad rows), its exit status (0 every row taken, 1 some rejected, 2 nothing written),
``--json`` as the last line, ``--dry-run``, ``--zone``, ``--confirm-row``, the language of
``LANG``, and files that are not registers at all refused in one line with nothing written."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from server.services.registry.file_limits import MAX_ROWS
from server.web.i18n import Translator
from tests.security import workbooks
from tests.server.conftest import Site
from tests.server.office_register import ROWS, rows, with_bad_rows, write_csv, write_xlsx

ZH, EN = Translator("zh-CN"), Translator("en")


def cli(site: Site, *args: str, lang: str = "en_US.UTF-8") -> subprocess.CompletedProcess[str]:
    """``python -m server import residents --data DIR ARGS`` in the locale ``lang``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "LANG", "GATEPASS_"))}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "server",
            "import",
            "residents",
            "--data",
            str(site.settings.data_dir),
            *args,
        ],
        capture_output=True,
        text=True,
        env={**env, "LANG": lang},
        timeout=300,
        check=False,
    )


def last_json(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The JSON object on the last line of stdout."""
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def stored(site: Site, sql: str = "SELECT count(*) FROM residents") -> int:
    with contextlib.closing(sqlite3.connect(site.settings.data_dir / "registry.db")) as db:
        return int(db.execute(sql).fetchone()[0])


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_issues_register_through_the_cli(site: Site, tmp_path: Path) -> None:
    """The two-zone site of the issue: refused without a zone, then previewed, then applied
    with ``--zone`` and ``--skip-invalid``; again the same file: nothing changes."""
    bad = write_csv(tmp_path / "register.csv", with_bad_rows(rows()), encoding="gbk")
    no_zone = cli(site, str(bad), "--json")
    assert no_zone.returncode == 1, no_zone.stderr
    summary = last_json(no_zone)
    assert summary["written"] is False
    assert {r["reason"] for r in summary["rejected"]} >= {"no_zone"}
    assert stored(site) == 0

    preview = cli(site, str(bad), "--zone", "east", "--dry-run", "--json", lang="zh_CN.UTF-8")
    assert preview.returncode == 1
    summary = last_json(preview)
    rejected = [(r["row"], r["column"], r["reason"]) for r in summary["rejected"]]
    assert rejected == [
        (13, "observation", "bad_observation"),
        (24, "phone", "bad_phone"),
        (35, "name", "duplicate"),
        (46, "name", "required"),
    ]
    assert summary["rejected"][0]["message"] == ZH(
        "import.cli.rejected",
        row=13,
        column=ZH("import.col.observation"),
        reason=ZH("import.reason.bad_observation"),
    )
    assert (summary["rows"], summary["created"], summary["observation"]) == (ROWS + 1, ROWS - 3, 40)
    assert "第 13 行，是否居家观察：只能填“是”或“否”" in preview.stdout
    assert stored(site) == 0

    held = cli(site, str(bad), "--zone", "east")
    assert held.returncode == 1
    assert EN("import.cli.not_written") in held.stdout
    assert stored(site) == 0

    applied = cli(site, str(bad), "--zone", "east", "--skip-invalid", "--json")
    assert applied.returncode == 1  # some rows rejected, the rest written
    summary = last_json(applied)
    assert (summary["written"], summary["created"]) == (True, ROWS - 3)
    assert stored(site) == ROWS - 3
    assert stored(site, "SELECT count(*) FROM residents WHERE status='home_observation'") == 40
    assert stored(site, "SELECT count(*) FROM households WHERE zone_id=1") == 1614

    again = cli(site, str(bad), "--zone", "east", "--skip-invalid", "--json")
    summary = last_json(again)
    assert (summary["written"], summary["created"], summary["updated"]) == (False, 0, 0)
    assert summary["unchanged"] == ROWS - 3
    assert EN("import.nothing_changed") in again.stdout


def test_exit_status_and_json_of_a_clean_register(tmp_path: Path, site: Site) -> None:
    """Every row taken: 0, and the JSON summary's fields; XLSX with numbers for phones."""
    good = write_xlsx(
        tmp_path / "r.xlsx",
        [[*r[:6], "是" if i == 2 else "否", ""] for i, r in enumerate(rows()[:30])],
    )
    result = cli(site, str(good), "--zone", "west", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    summary = last_json(result)
    assert {k: summary[k] for k in ("rows", "created", "updated", "unchanged", "moved_out")} == {
        "rows": 30,
        "created": 30,
        "updated": 0,
        "unchanged": 0,
        "moved_out": 0,
    }
    assert (summary["observation"], summary["conflicts"], summary["rejected"]) == (1, 0, [])
    dry = cli(site, str(good), "--dry-run", "--zone", "west")
    assert dry.returncode == 0
    assert EN("import.nothing_to_do") in dry.stdout


def test_skip_invalid_with_nothing_left_exits_2(tmp_path: Path, site: Site) -> None:
    broken = [list(r) for r in rows()[:3]]
    for row in broken:
        row[4] = "12345"
    path = write_csv(tmp_path / "r.csv", broken)
    result = cli(site, str(path), "--zone", "east", "--skip-invalid", "--json")
    assert result.returncode == 2
    assert last_json(result)["written"] is False
    assert stored(site) == 0


def test_an_erased_person_is_confirmed_by_row(tmp_path: Path, site: Site) -> None:

    from server.services.context import CLI_ACTOR
    from server.services.privacy.subjects import erase_resident

    path = write_csv(tmp_path / "r.csv", rows()[:8])
    assert cli(site, str(path), "--zone", "east").returncode == 0
    with contextlib.closing(sqlite3.connect(site.settings.data_dir / "registry.db")) as db:
        (resident_id,) = db.execute(
            "SELECT id FROM residents ORDER BY id LIMIT 1 OFFSET 4"
        ).fetchone()

    async def erase(env: Any) -> None:
        await erase_resident(env, CLI_ACTOR, resident_id)

    site.run(erase)
    held = cli(site, str(path), "--zone", "east", "--json")
    assert held.returncode == 1
    assert [(r["row"], r["reason"]) for r in last_json(held)["rejected"]] == [(6, "erased_person")]
    back = cli(site, str(path), "--zone", "east", "--confirm-row", "6", "--json")
    assert back.returncode == 0, back.stdout
    assert last_json(back)["created"] == 1


def _header_only(path: Path) -> None:
    write_csv(path, [])


def _undecodable(path: Path) -> None:
    path.write_bytes("楼号,单元,房号,姓名\n".encode() + b"\x81\x20\xff\xfe\x80,1,101,x\n")


def _binary(path: Path) -> None:
    path.write_bytes(bytes(range(256)) * 8)


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _too_many_rows(path: Path) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write("楼号,单元,房号,姓名,联系电话\n")
        out.writelines(f"{i // 300 + 1},1,{i % 300 + 101},人{i},\n" for i in range(MAX_ROWS + 1))


def _dtd(path: Path) -> None:
    path.write_bytes(workbooks.billion_laughs())


def _zip_bomb(path: Path) -> None:
    from server.services.registry.file_limits import MAX_UNPACKED_BYTES

    path.write_bytes(workbooks.unpacked_bomb(MAX_UNPACKED_BYTES))


def _not_a_zip(path: Path) -> None:
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 200)


BAD_FILES = {
    "header only": ("h.csv", _header_only, "no_rows", {}),
    "undecodable": ("u.csv", _undecodable, "csv_encoding", {}),
    "neither CSV nor XLSX": ("b.csv", _binary, "csv_encoding", {}),
    "empty": ("e.csv", _empty, "empty_file", {}),
    "100,001 rows": ("big.csv", _too_many_rows, "too_many_rows", {"n": MAX_ROWS}),
    "XLSX with a DTD": ("d.xlsx", _dtd, "xml_dtd", {}),
    "zip bomb": ("z.xlsx", _zip_bomb, "unpacked_too_large", {"mb": 200}),
    "broken zip": ("n.xlsx", _not_a_zip, "unreadable", {}),
}


@pytest.mark.timeout(300)
@pytest.mark.parametrize("case", sorted(BAD_FILES))
@pytest.mark.parametrize("lang", ["zh_CN.UTF-8", "en_US.UTF-8"])
def test_bad_files_are_refused_in_the_operators_language(
    tmp_path: Path, site: Site, case: str, lang: str
) -> None:
    name, build, code, values = BAD_FILES[case]
    path = tmp_path / name
    build(path)
    result = cli(site, str(path), "--zone", "east", "--json", lang=lang)
    t = ZH if lang.startswith("zh") else EN
    assert result.returncode == 2, result.stdout + result.stderr
    if code == "unreadable":
        assert result.stderr.startswith("gatepass-server: ")
    else:
        assert result.stderr.splitlines() == [f"gatepass-server: {t(f'code.{code}', **values)}"]
    assert "Traceback" not in result.stdout + result.stderr
    summary = last_json(result)
    assert (summary["written"], summary["rows"]) == (False, 0)
    assert stored(site) == 0
    assert stored(site, "SELECT count(*) FROM households") == 0


def test_a_zip_that_is_a_workbook_in_name_only(tmp_path: Path, site: Site) -> None:
    path = tmp_path / "w.xlsx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("hello.txt", "not a workbook")
    result = cli(site, str(path), "--json")
    assert result.returncode == 2
    assert last_json(result)["written"] is False
