"""The follow-up desk and the resident page in a real browser (issue 17 items 1 and 4):
Debian's Chromium (Playwright) against a real server process and SQLite file, seeded as the
other browser tests are (tests/ui/browser.py). east-desk is a caller in zone 1: after stating
the day's purpose it sees 王小明's full number as a tel: link, records a fever call that raises
an alert the administrator's dashboard shows, and downloads the street office's sheet, read back
with openpyxl. east-helper (zone 1, no caller) sees the same list masked. 张三's observation ends
today; his page pages through his gate history. Screenshots: docs/screenshots/followup-desk.png
and resident-history.png."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from msgspec.structs import replace
from openpyxl import load_workbook
from playwright.sync_api import Browser, Page, expect

from server.services.context import CLI_ACTOR, Env
from server.services.registry import residents
from server.services.registry.escalation import local_day_start
from server.services.staff import callers
from server.store import accounts
from tests.server.conftest import STRONG, strong_hash
from tests.ui.browser import (
    SCREENSHOTS,
    LiveSite,
    ServerProcess,
    new_site,
    seed_site,
    serving,
)

pytestmark = pytest.mark.slow
DAY = 86400
HEADERS = ["姓名", "楼号单元房号", "电话", "观察起止", "今日体温", "是否联系上", "备注"]


async def _prepare(env: Env) -> dict[str, Any]:
    """The shared seed, east-desk a caller in zone 1, a zone-1 helper who is not, and 张三's
    observation ending today."""
    ids = await seed_site(env)
    now = env.clock.now()
    async with env.db.write() as conn:
        helper = await accounts.insert_staff(
            conn,
            username="east-helper",
            display_name="east-helper",
            password_hash=strong_hash(),
            role="staff",
            zone_scope=[1],
            now=now,
        )
        await accounts.save_staff(conn, replace(helper, must_change_password=False))
        desk = await accounts.find_staff(conn, username="east-desk")
    assert desk is not None
    await callers.set_zones(env, CLI_ACTOR, desk.id, [1])
    end = local_day_start(now, env.settings.card_utc_offset_min) + DAY
    await residents.set_observation(
        env, CLI_ACTOR, ids["zhang"], status="home_observation", start=now - 13 * DAY, end=end
    )
    return ids


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Any]]:
    root = tmp_path_factory.mktemp("ui-desk")
    site: LiveSite = new_site(root / "data")
    ids = site.run(_prepare)
    with serving(site, root / "server.log") as server:
        yield server, ids


def _login(browser: Browser, server: ServerProcess, user: str, errors: list[str]) -> Page:
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="zh-CN", accept_downloads=True
    )
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{server.url}/ui/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", STRONG)
    page.click("button[type=submit].primary")
    expect(page).to_have_url(f"{server.url}/ui/")
    return page


def test_the_caller_calls_records_a_fever_and_exports(
    browser: Browser, prepared: tuple[ServerProcess, Any], tmp_path: Any
) -> None:
    server, ids = prepared
    errors: list[str] = []
    page = _login(browser, server, "east-desk", errors)
    page.goto(f"{server.url}/ui/followup")
    wang = page.locator(f"#r{ids['wang']}")
    expect(wang.locator(".phone")).to_have_text("139****9001")
    expect(page.locator("a[href^='tel:']")).to_have_count(0)
    page.select_option("[data-form=purpose] select[name=purpose]", "followup")
    page.click("[data-form=purpose] button")
    expect(page.locator("[data-purpose=followup]")).to_be_visible()
    expect(wang.locator("a[href='tel:13900139001']")).to_have_text("13900139001")
    expect(page.locator("[data-panel=ends-today]")).to_contain_text("张三")
    expect(wang).to_contain_text("观察结束")

    wang.locator("input[name=temperature]").fill("37.8")
    wang.locator("input[name=symptoms][value=fever]").check()
    wang.locator("input[name=note]").fill("自述发热")
    wang.locator("button[value=reached]").click()
    wang = page.locator(f"#r{ids['wang']}")
    expect(wang.locator(".call-record")).to_contain_text("37.8")
    expect(wang).to_contain_text("已上报告警")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "followup-desk.png"), full_page=True)

    with page.expect_download() as info:
        page.click("[data-form=export] button")
    download = info.value
    assert download.suggested_filename.startswith("followup-")
    assert download.suggested_filename.endswith(".xlsx")
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    sheet = load_workbook(target, read_only=True).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]  # type: ignore[union-attr]
    assert rows[0] == HEADERS
    by_name = {r[0]: r for r in rows[1:]}
    assert set(by_name) == {"张三", "王小明"}
    assert by_name["王小明"][2:] == [
        "13900139001",
        by_name["王小明"][3],
        37.8,
        "是",
        "自述发热",
    ]
    assert by_name["王小明"][1] == "3-2-201"
    assert by_name["张三"][5] == "今日未回访"

    helper = _login(browser, server, "east-helper", errors)
    helper.goto(f"{server.url}/ui/followup")
    expect(helper.locator(f"#r{ids['wang']} .phone")).to_have_text("139****9001")
    expect(helper.locator("a[href^='tel:']")).to_have_count(0)
    expect(helper.locator("[data-form=purpose]")).to_have_count(0)
    expect(helper.locator("[data-form=export]")).to_have_count(0)

    admin = _login(browser, server, "admin", errors)
    expect(admin.locator(".alert.kind-followup_symptoms")).to_contain_text("回访发现发热或症状")
    admin.locator(".alert.kind-followup_symptoms a[data-incident]").click()
    resident = admin.locator("[data-part=holder] a[data-link=resident]")
    expect(resident).to_have_attribute("href", f"/ui/residents/{ids['wang']}")
    expect(admin.locator("[data-holder-name]")).to_have_text("王*明")
    expect(admin.locator("[data-part=calls] [data-call]")).to_have_count(1)
    expect(admin.locator("[data-part=calls]")).to_contain_text("37.8 °C")
    expect(admin.locator("[data-part=calls]")).to_contain_text("自述发热")
    admin.screenshot(path=str(SCREENSHOTS / "incident-followup.png"), full_page=True)
    admin.locator("[data-action=outcome] input[name=note]").fill("体温计读数有误")
    admin.locator("[data-action=outcome] button[value=false_alarm]").click()
    expect(admin.locator("[data-state]")).to_have_text("已处置")
    expect(admin.locator("[data-part=history]")).to_contain_text("误报")
    resident.click()
    expect(admin).to_have_url(f"{server.url}/ui/residents/{ids['wang']}")
    assert errors == []


def test_the_resident_page_pages_through_gate_history(
    browser: Browser, prepared: tuple[ServerProcess, Any]
) -> None:
    server, ids = prepared
    errors: list[str] = []
    page = _login(browser, server, "east-desk", errors)
    page.goto(f"{server.url}/ui/residents/{ids['zhang']}")
    history = page.locator("[data-panel=gate-history]")
    expect(history.locator("h2 .count")).to_have_text("60")
    expect(history.locator("tbody tr")).to_have_count(25)
    expect(history.locator(".pager")).to_contain_text("第 1 / 3 页")
    newest = history.locator("tbody tr").first.locator("td").first.inner_text()
    expect(page.locator("[data-panel=observations]")).to_contain_text("居家观察")
    page.screenshot(path=str(SCREENSHOTS / "resident-history.png"), full_page=True)
    history.locator(".pager a", has_text="下一页").click()
    history = page.locator("[data-panel=gate-history]")
    expect(history.locator(".pager")).to_contain_text("第 2 / 3 页")
    expect(history.locator("tbody tr")).to_have_count(25)
    older = history.locator("tbody tr").first.locator("td").first.inner_text()
    assert older < newest  # newest first: page 2 starts earlier
    history.locator(".pager a", has_text="下一页").click()
    expect(page.locator("[data-panel=gate-history] tbody tr")).to_have_count(10)
    assert errors == []
