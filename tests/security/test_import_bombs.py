"""Hostile register files (issue 14 items 7 and 9; reliability-security.md 9.2 item 11): a file
that asks for millions of shared strings or cells, rows at the sheet's end, a zip bomb, too many
parts, or a DTD (billion laughs, an external entity) is refused with its reason in the reader's
language (413 for work, 422 for form), while the server keeps answering and its memory stays
flat; the upload is deleted and nothing is written. The CLI says the same in one line."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient

from server.app import create_app
from server.services.errors import Conflict
from server.services.registry.file_limits import (
    MAX_CELLS,
    MAX_PARTS,
    MAX_SHARED_STRINGS,
    MAX_SHEET_ROWS,
    MAX_UNPACKED_BYTES,
    Problem,
)
from server.services.registry.sandbox import Limits, read_register
from server.services.registry.spreadsheet import Table
from server.web.i18n import Translator
from tests.security import workbooks
from tests.security.conftest import STRONG, Live
from tests.server.conftest import Api, Site, ready_accounts
from tests.ui.conftest import form_post

ZH, EN = Translator("zh-CN"), Translator("en")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _uploads(site: Site) -> list[Path]:
    folder = site.settings.data_dir / "uploads"
    return sorted(folder.iterdir()) if folder.exists() else []


def _residents(api: Api) -> int:
    return int(api.get("/api/v1/residents").json()["total"])


def _stored(site: Site) -> int:
    """Residents in the site's database, counted in SQLite itself."""
    with contextlib.closing(sqlite3.connect(site.settings.data_dir / "registry.db")) as db:
        return int(db.execute("SELECT count(*) FROM residents").fetchone()[0])


def _upload(api: Api, content: bytes) -> Any:
    return form_post(api, "/ui/import", {}, files={"file": ("名单.xlsx", content, XLSX)})


def _said(page: str, message: str) -> bool:
    """Whether the page shows ``message`` (as the renderer escapes it)."""
    return message.replace("&", "&amp;").replace("'", "&#39;").replace('"', "&#34;") in page


CASES = {
    "billion laughs": (workbooks.billion_laughs, 422, Problem.XML_DTD, {}),
    "external entity": (workbooks.external_entity, 422, Problem.XML_DTD, {}),
    "a million cells in a row": (
        lambda: workbooks.cells_bomb(MAX_CELLS + 1),
        413,
        Problem.TOO_MANY_CELLS,
        {"n": MAX_CELLS},
    ),
    "a row at the sheet's end": (
        workbooks.far_row,
        413,
        Problem.TOO_MANY_ROWS,
        {"n": MAX_SHEET_ROWS},
    ),
    "zip bomb": (
        lambda: workbooks.unpacked_bomb(MAX_UNPACKED_BYTES),
        413,
        Problem.UNPACKED_TOO_LARGE,
        {"mb": MAX_UNPACKED_BYTES // (1024 * 1024)},
    ),
    "too many parts": (
        lambda: workbooks.xlsx(extra=MAX_PARTS),
        413,
        Problem.TOO_MANY_PARTS,
        {"n": MAX_PARTS},
    ),
}


@pytest.mark.timeout(90)
@pytest.mark.parametrize("case", sorted(CASES))
def test_a_hostile_workbook_is_refused_with_its_reason(api: Api, case: str) -> None:
    """The attack: upload the file on the import page as an admin."""
    build, status, problem, values = CASES[case]
    content = build()
    assert len(content) < 1024 * 1024  # small enough for the default body limit
    response = _upload(api, content)
    assert response.status_code == status, response.text[:300]
    assert _said(response.text, ZH(f"code.{problem.value}", **values))
    assert _uploads(api.site) == []
    assert _residents(api) == 0


@pytest.mark.timeout(120)
def test_the_shared_strings_bomb_does_not_stop_the_server(live: Live) -> None:
    """The attack of item 7: 5 million empty shared strings, a few hundred KB, uploaded while
    another desk is using the server. Its requests are answered at once, the server's memory
    stays where it was, and the file is refused as asking for too many strings."""
    bomb = workbooks.shared_strings_bomb()
    assert len(bomb) < 1024 * 1024
    with _signed_in(live) as (client, token):
        baseline = _rss()
        answer: dict[str, httpx.Response] = {}

        def upload() -> None:
            files = {"file": ("register.xlsx", bomb, XLSX)}
            answer["r"] = client.post("/ui/import", data={"csrf_token": token}, files=files)

        uploading = threading.Thread(target=upload)
        with _peak_rss() as peak:
            uploading.start()
            slowest, answered = _poll_while(live, uploading)
            uploading.join(90)
    assert slowest < 2.0, f"a request waited {slowest:.1f} s behind the upload"
    assert answered >= 3, "the upload was answered before anyone else asked"
    assert peak[0] - baseline < 100 * 1024 * 1024, "the server's memory grew"
    response = answer["r"]
    assert response.status_code == 413
    assert _said(response.text, ZH("code.too_many_strings", n=MAX_SHARED_STRINGS))
    assert _uploads(live.site) == []
    with _signed_in(live) as (client, _token):
        assert client.get("/api/v1/residents").json()["total"] == 0


@pytest.fixture
def tight(site: Site) -> Iterator[Api]:
    """The app with the smallest worker memory the settings allow (128 MB)."""
    site.run(ready_accounts)
    settings = site.settings.model_copy(update={"import_worker_memory_mb": 128})
    with TestClient(create_app(settings, clock=site.clock), base_url="http://testserver") as c:
        api = Api(c, site)
        api.remember("admin", "admin", STRONG)
        yield api


@pytest.mark.timeout(90)
def test_a_file_within_the_caps_still_cannot_take_more_than_the_workers_memory(
    tight: Api,
) -> None:
    """150,000 shared strings of 1,000 characters pass every count but need well over 128 MB
    to hold (a 512 MB worker reads them): the worker runs out of its own memory, not the
    server's, and the file is refused."""
    body = "<si><t>" + "x" * 1000 + "</t></si>"
    content = workbooks.xlsx(strings=workbooks.shared_strings(body * 150_000))
    baseline = _rss()
    with _peak_rss() as peak:
        response = _upload(tight, content)
    assert response.status_code == 413, response.text[:300]
    assert _said(response.text, ZH("code.worker_memory", mb=128))
    assert peak[0] - baseline < 100 * 1024 * 1024
    assert _uploads(tight.site) == []
    assert _residents(tight) == 0


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    ("name", "build", "language", "message"),
    [
        (
            "bomb.xlsx",
            workbooks.shared_strings_bomb,
            "zh_CN.UTF-8",
            ZH("code.too_many_strings", n=MAX_SHARED_STRINGS),
        ),
        ("laughs.xlsx", workbooks.billion_laughs, "C.UTF-8", EN("code.xml_dtd")),
        ("xxe.xlsx", workbooks.external_entity, "zh_CN.UTF-8", ZH("code.xml_dtd")),
    ],
    ids=["shared-strings-bomb", "billion-laughs", "external-entity"],
)
def test_the_cli_refuses_in_one_translated_line(
    site: Site, tmp_path: Path, name: str, build: Any, language: str, message: str
) -> None:
    """``gatepass-server import residents FILE``: one line in the operator's language, exit
    status 2 (nothing written), no traceback."""
    path = tmp_path / name
    path.write_bytes(build())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "LANG"))}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "server",
            "import",
            "residents",
            "--data",
            str(site.settings.data_dir),
            str(path),
        ],
        capture_output=True,
        text=True,
        env={**env, "LANG": language},
        timeout=100,
        check=False,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.splitlines() == [f"gatepass-server: {message}"]
    assert "Traceback" not in result.stdout + result.stderr
    assert "rows:" not in result.stdout  # no report: nothing was read
    assert _stored(site) == 0


def test_files_sent_at_once_start_no_more_workers_than_allowed(tmp_path: Path) -> None:
    """The attack: many uploads at the same moment, each to cost a worker's memory. Beyond
    ``import_workers`` they are refused as busy (409) before any process starts."""
    path = tmp_path / "bomb.xlsx"
    path.write_bytes(workbooks.shared_strings_bomb())
    limits = Limits(memory_bytes=512 * 1024 * 1024, seconds=60, workers=2)

    async def at_once() -> list[BaseException | Table]:
        reads = [read_register(path, limits) for _ in range(5)]
        return await asyncio.gather(*reads, return_exceptions=True)

    outcomes = asyncio.run(at_once())
    codes = Counter(getattr(o, "code", None) for o in outcomes)
    assert codes == {Problem.TOO_MANY_STRINGS: 2, Problem.BUSY: 3}
    assert all(isinstance(o, Conflict) for o in outcomes if getattr(o, "code", "") == Problem.BUSY)


def test_openpyxl_parses_through_defusedxml() -> None:
    """The second layer: openpyxl picks defusedxml up when it is installed, and then refuses
    entities itself (checked on its own shared-string reader)."""
    import io

    import openpyxl
    from defusedxml import EntitiesForbidden
    from openpyxl.reader.strings import read_string_table

    assert openpyxl.DEFUSEDXML
    prolog = '<!DOCTYPE sst [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
    table = workbooks.shared_strings("<si><t>&b;</t></si>", prolog)
    with pytest.raises(EntitiesForbidden):
        read_string_table(io.BytesIO(table.encode()))


@contextlib.contextmanager
def _signed_in(live: Live) -> Iterator[tuple[httpx.Client, str]]:
    """An admin's browser session on the live server: (client, CSRF token)."""
    with httpx.Client(base_url=live.url, timeout=90) as client:
        login = {"username": "admin", "password": STRONG}
        response = client.post("/api/v1/auth/login", json=login)
        assert response.status_code == 200, response.text
        yield client, str(response.json()["csrf_token"])


def _poll_while(live: Live, busy: threading.Thread) -> tuple[float, int]:
    """Another desk's requests while ``busy`` runs: the slowest answer and how many came."""
    slowest, answered = 0.0, 0
    with httpx.Client(base_url=live.url, timeout=5) as other:
        while busy.is_alive():
            start = time.monotonic()
            try:
                assert other.get("/healthz").status_code == 200
            except httpx.TimeoutException:
                return time.monotonic() - start, answered
            slowest = max(slowest, time.monotonic() - start)
            answered += 1
            time.sleep(0.02)
    return slowest, answered


_PAGE = os.sysconf("SC_PAGE_SIZE")


def _rss() -> int:
    """This process's resident memory (the server under test runs in it)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * _PAGE


@contextlib.contextmanager
def _peak_rss() -> Iterator[list[int]]:
    """The highest resident memory seen while inside (sampled every 10 ms), in ``[0]``."""
    peak, stop = [_rss()], threading.Event()

    def sample() -> None:
        while not stop.wait(0.01):
            peak[0] = max(peak[0], _rss())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield peak
    finally:
        stop.set()
        sampler.join()


def test_every_problem_has_a_message_in_both_languages() -> None:
    """Each refusal code the import can give is said in zh-CN and en."""
    values = {"n": 1, "mb": 1, "kb": 1, "s": 1}
    for problem in Problem:
        for t in (ZH, EN):
            assert re.sub(r"\{\w+\}", "", t(f"code.{problem.value}", **values)).strip()
