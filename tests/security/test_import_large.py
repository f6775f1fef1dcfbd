"""A register of 100,000 rows uploaded to a served site (issue 16 item 9): the worker reads it
and the plan is made off the event loop, so another desk's requests are answered throughout and
the server's memory stays bounded; one row more is refused in the reader's language with
nothing written."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest
import uvicorn

from server.app import create_app
from server.http.serving import uvicorn_config
from server.services.registry.file_limits import MAX_ROWS
from server.web.i18n import Translator
from tests.security.conftest import STRONG, _free_port
from tests.security.test_import_bombs import _peak_rss, _rss
from tests.server.conftest import Site, ready_accounts

ZH = Translator("zh-CN")
MB = 1024 * 1024


def _register(path: Path, rows: int) -> Path:
    """``rows`` people, 300 flats a building, every fifth without a phone."""
    with path.open("w", encoding="utf-8") as out:
        out.write("楼号,单元,房号,姓名,联系电话,身份,是否居家观察\n")
        out.writelines(
            f"{i // 1200 + 1}号楼,{i // 600 % 2 + 1},{i // 4 % 150 + 101},居民{i},"
            f"{'' if i % 5 == 4 else 13000000000 + i},家属,否\n"
            for i in range(rows)
        )
    return path


@pytest.fixture
def served(site: Site) -> Iterator[str]:
    """The app served by uvicorn in a thread, with uploads up to 20 MB."""
    site.run(ready_accounts)
    settings = site.settings.model_copy(update={"port": _free_port(), "max_body_bytes": 20 * MB})
    server = uvicorn.Server(uvicorn_config(create_app(settings, clock=site.clock), settings))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started
    try:
        yield f"http://127.0.0.1:{settings.port}"
    finally:
        server.should_exit = True
        thread.join(10)


def _stored(site: Site) -> int:
    with contextlib.closing(sqlite3.connect(site.settings.data_dir / "registry.db")) as db:
        return int(db.execute("SELECT count(*) FROM residents").fetchone()[0])


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_100000_row_register_keeps_the_server_answering(
    served: str, site: Site, tmp_path: Path
) -> None:
    path = _register(tmp_path / "big.csv", MAX_ROWS)
    answer: dict[str, httpx.Response] = {}
    with httpx.Client(base_url=served, timeout=240) as client:
        login = client.post("/api/v1/auth/login", json={"username": "admin", "password": STRONG})
        token = login.json()["csrf_token"]

        def upload() -> None:
            files = {"file": ("big.csv", path.read_bytes(), "text/csv")}
            data = {"csrf_token": token, "zone": "east"}
            answer["r"] = client.post("/ui/import", data=data, files=files)

        busy = threading.Thread(target=upload)
        baseline = _rss()
        with _peak_rss() as peak, httpx.Client(base_url=served, timeout=5) as other:
            busy.start()
            slowest, answered = 0.0, 0
            while busy.is_alive():
                start = time.monotonic()
                assert other.get("/healthz").status_code == 200
                slowest = max(slowest, time.monotonic() - start)
                answered += 1
                time.sleep(0.05)
            busy.join()
    response = answer["r"]
    assert response.status_code == 200, response.text[:300]
    assert f"共 {MAX_ROWS} 行：新增 {MAX_ROWS} 人" in response.text
    assert answered >= 5
    assert slowest < 2.0, f"a request waited {slowest:.1f} s behind the import"
    assert peak[0] - baseline < 400 * MB, "the server's memory grew with the file"
    assert _stored(site) == 0  # a preview writes nothing


@pytest.mark.timeout(120)
def test_one_row_more_is_refused(served: str, site: Site, tmp_path: Path) -> None:
    path = _register(tmp_path / "bigger.csv", MAX_ROWS + 1)
    with httpx.Client(base_url=served, timeout=100) as client:
        login = client.post("/api/v1/auth/login", json={"username": "admin", "password": STRONG})
        files = {"file": ("bigger.csv", path.read_bytes(), "text/csv")}
        data = {"csrf_token": login.json()["csrf_token"], "zone": "east"}
        response = client.post("/ui/import", data=data, files=files)
    assert response.status_code == 413
    assert ZH("code.too_many_rows", n=MAX_ROWS) in response.text
    assert _stored(site) == 0
    assert list((site.settings.data_dir / "uploads").iterdir()) == []
