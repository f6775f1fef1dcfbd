"""The daily report in Chromium (issue 17 item 7): reached from the menu, its charts drawn, a zone
chosen, and both exports downloaded from the page and read back: the XLSX with openpyxl (its
numbers recounted from the database), the PDF with pdftotext (the Chinese headings are text,
not empty boxes). Saves docs/screenshots/report-daily.png."""

from __future__ import annotations

import io
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Browser, ConsoleMessage, Page, expect

from server.services.context import CLI_ACTOR, Env
from server.services.incidents import refusals
from server.web.format import Clockface
from tests.server.conftest import STRONG
from tests.ui.browser import (
    SCREENSHOTS,
    LiveSite,
    ServerProcess,
    new_site,
    seed_site,
    serving,
)
from tests.ui.data import add_event


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveSite, ServerProcess]]:
    """The browser tests' site (two zones, 30 hours of events) plus a fever, an alarm and a
    refused check recorded at the east entry's console."""
    root = tmp_path_factory.mktemp("ui-report")
    site = new_site(root / "data")

    async def seed(env: Env) -> dict[str, Any]:
        ids = await seed_site(env)
        now_ms = env.clock.now() * 1000
        await add_event(env, gate="east-in", at_ms=now_ms - 5000, granted=False, reason="fever")
        await add_event(
            env,
            gate="east-in",
            at_ms=now_ms - 4000,
            granted=None,
            reason=None,
            kind="alarm",
            alarm="suspected_lending",
            pass_ref=ids["ref"],
        )
        await refusals.record(env, CLI_ACTOR, "east-in", label="3-2-201", note="劝返")
        return ids

    site.run(seed)
    with serving(site, root / "server.log") as server:
        yield site, server


def _entries_today(site: LiveSite, zone: int) -> int:
    """Granted decisions on the zone's entry lanes today, counted straight from the file."""
    clock = Clockface(site.settings.card_utc_offset_min)
    with sqlite3.connect(site.settings.data_dir / "registry.db") as db:
        now = int(db.execute("SELECT strftime('%s', 'now')").fetchone()[0])
        start = clock.day_start(now)
        row = db.execute(
            "SELECT count(*) FROM events e JOIN gates g ON g.id = e.gate WHERE g.zone_id = ? "
            "AND g.direction = 'in' AND e.kind = 'decision' AND e.granted = 1 "
            "AND e.at_ms >= ? AND e.at_ms < ?",
            (zone, start * 1000, (start + 86400) * 1000),
        ).fetchone()
    return int(row[0])


def _problem(message: ConsoleMessage) -> bool:
    """An error the page caused (a missing favicon is the browser's own request)."""
    return message.type == "error" and "Failed to load resource" not in message.text


def _login(page: Page, url: str) -> None:
    page.goto(f"{url}/ui/login")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", STRONG)
    page.click("button[type=submit].primary")
    expect(page).to_have_url(f"{url}/ui/")


def _download(page: Page, selector: str, folder: Path) -> Path:
    with page.expect_download() as download:
        page.click(selector)
    path = folder / download.value.suggested_filename
    download.value.save_as(path)
    return path


def test_report_page_charts_and_exports(
    browser: Browser, served: tuple[LiveSite, ServerProcess], tmp_path: Path
) -> None:
    site, server = served
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    problems: list[str] = []  # CSP violations and script errors, as test_browser.py
    page.on("console", lambda m: problems.append(m.text) if _problem(m) else None)
    page.on("pageerror", lambda exc: problems.append(f"script error: {exc}"))
    _login(page, server.url)
    page.click("a[href='/ui/reports/daily']")
    expect(page.locator("h1")).to_contain_text("每日报表")
    expect(page.locator("svg.chart")).to_have_count(6)  # two zones and the total
    expect(page.locator("svg.chart rect.bar.in").first).to_be_attached()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "report-daily.png"), full_page=True)
    page.select_option("select[name=zone]", "1")
    page.click("form.searchbar button.primary")
    expect(page.locator("svg.chart")).to_have_count(2)
    expect(page.locator("table.lanes")).to_contain_text("东门入口")
    expect(page.locator("table.lanes")).not_to_contain_text("西门入口")
    expect(page.locator('table.lanes td[data-refusals="east-in"]')).to_have_text("1")
    xlsx = _download(page, "button[data-export=xlsx]", tmp_path)
    pdf = _download(page, "button[data-export=pdf]", tmp_path)
    assert problems == []
    assert xlsx.name.startswith("daily-report-")
    assert xlsx.name.endswith("-zone1.xlsx")
    book = load_workbook(io.BytesIO(xlsx.read_bytes()))
    assert [s.title for s in book.worksheets] == [
        "汇总",
        "各通道",
        "人工放行原因",
        "每小时进出",
        "各通道每小时通行",
    ]
    summary = {r[0]: r[1:] for r in book.worksheets[0].iter_rows(min_row=5, values_only=True)}
    assert summary["项目"] == ("东区", "合计")
    assert summary["进入人次"][0] == _entries_today(site, 1)
    assert summary["发热拒绝"][0] >= 1
    assert summary["疑似借用报警"][0] == 1
    assert summary["拒绝检测/劝返"][0] == 1
    assert pdf.suffix == ".pdf"
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(pdf), "-"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    for heading in ("每日报表", "汇总", "各通道", "每小时进出", "进入人次", "估计在内人数"):
        assert heading in text, heading
