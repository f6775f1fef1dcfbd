"""The staff UI in a real browser: Debian's Chromium (headless, driven by Playwright) against a
real server process on a free loopback port with a real SQLite file.

Covers: login; every main page rendered and saved as a screenshot (docs/screenshots/); a
visitor registered and their QR read back from the page's image with zbarimg; a scan appearing
live on the gate console; a fever alert acknowledged on the dashboard; the language switch; a
staff account refused the audit log; hostile names shown as plain text; no CSP violation and
no script error on any page.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright

from server.store.passes import get_pass
from tests.server.conftest import STRONG
from tests.ui.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    SCREENSHOTS,
    LiveSite,
    ServerProcess,
    new_site,
    seed_site,
)
from tests.ui.data import INJECTIONS, add_event

pytestmark = pytest.mark.slow
LIVE_WITHIN_MS = 3000  # the feed shows a scan written by another process within ~1 s


@pytest.fixture(scope="module")
def live(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[LiveSite, ServerProcess, dict[str, Any]]]:
    """A seeded site served by a real server process."""
    root = tmp_path_factory.mktemp("ui-live")
    site = new_site(root / "data")
    ids = site.run(seed_site)
    server = ServerProcess(site.settings, root / "server.log")
    try:
        server.wait_ready()
        yield site, server, ids
    finally:
        server.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Debian Chromium."""
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Watched:
    """A page whose CSP violations and script errors are collected."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.problems: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.problems.append(f"script error: {exc}"))
        page.on("dialog", lambda dialog: self.problems.append(f"dialog: {dialog.message}"))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and "Failed to load resource" not in message.text:
            self.problems.append(message.text)


def open_page(browser: Browser, server: ServerProcess, user: str) -> Watched:
    """A new browser context signed in as ``user`` through the login form."""
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN")
    watched = Watched(context.new_page())
    page = watched.page
    page.goto(f"{server.url}/ui/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", STRONG)
    page.click("button[type=submit].primary")
    expect(page).to_have_url(f"{server.url}/ui/")
    return watched


def shot(page: Page, name: str) -> None:
    """Save a screenshot of the page for docs/ui.md."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


@pytest.fixture(scope="module")
def admin(browser: Browser, live: Any) -> Iterator[Watched]:
    """The office administrator's browser tab."""
    watched = open_page(browser, live[1], "admin")
    yield watched
    watched.page.context.close()
    assert watched.problems == []


def test_login_page(browser: Browser, live: Any) -> None:
    """The sign-in page, a wrong password refused, and the default language is Chinese."""
    _, server, _ = live
    page = browser.new_page(viewport={"width": 1280, "height": 700})
    page.goto(f"{server.url}/ui/residents")
    expect(page).to_have_url(f"{server.url}/ui/login?next=/ui/residents")
    expect(page.locator("h1")).to_have_text("工作人员登录")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", "not the password")
    page.click("button[type=submit].primary")
    expect(page.locator(".flash.bad")).to_have_text("用户名或密码错误")
    shot(page, "login")
    page.close()


def test_dashboard_and_pages(admin: Watched, live: Any) -> None:
    """Every main page renders for the administrator; each is saved as a screenshot."""
    _, server, ids = live
    page = admin.page
    for path, name, heading in (
        ("/ui/", "dashboard", "总览"),
        ("/ui/console", "console-lanes", "选择通道"),
        ("/ui/residents?q=3-2-201", "residents", "住户"),
        (f"/ui/residents/{ids['zhang']}", "resident", "张三"),
        (f"/ui/households/{ids['h1']}", "household", "3-2-201"),
        ("/ui/followup", "followup", "居家观察回访"),
        ("/ui/events", "events", "通行记录"),
        ("/ui/audit", "audit", "审计日志"),
        ("/ui/import", "import", "导入住户名单"),
    ):
        page.goto(server.url + path)
        expect(page.locator("h1")).to_contain_text(heading)
        shot(page, name)
    assert admin.problems == []


def test_hostile_names_are_text(admin: Watched, live: Any) -> None:
    """Names from reliability-security.md 9.2 items 5-8 appear verbatim and run nothing."""
    _, server, ids = live
    page = admin.page
    page.goto(f"{server.url}/ui/households/{ids['h2']}")
    for name in INJECTIONS:
        expect(page.get_by_role("link", name=name, exact=True)).to_be_visible()
    assert page.locator("main script, main img[src=x], main svg[onload]").count() == 0
    shot(page, "household-hostile-names")
    assert admin.problems == []


def decode_qr(page: Page, tmp: Path) -> str:
    """Read the QR code on the page from its image, with zbarimg."""
    image = tmp / "qr.png"
    page.locator("img.qr").screenshot(path=str(image))
    result = subprocess.run(["zbarimg", "--raw", "-q", str(image)], capture_output=True,
                            text=True, check=True, timeout=30)  # fmt: skip
    return result.stdout.strip()


def test_visitor_desk_qr(admin: Watched, live: Any, tmp_path: Path) -> None:
    """Register a visitor; the pass shown on screen decodes to the stored signed pass."""
    site, server, _ = live
    page = admin.page
    page.goto(f"{server.url}/ui/visitors")
    page.fill("input[name=host]", "3-2-201")
    page.fill("input[name=name]", "赵六")
    page.fill("input[name=phone]", "138 0013 8123")
    page.check("input[name=hours][value='8']")
    shot(page, "visitors")
    page.click("button[type=submit].primary")
    expect(page.locator("h1")).to_have_text("访客通行码")
    expect(page.locator("img.qr")).to_be_visible()
    text = decode_qr(page, tmp_path)
    assert text.startswith("PG1:")
    pass_row = int(page.locator("a[href$='card.pdf']").first.get_attribute("href").split("/")[4])  # type: ignore[union-attr]

    async def stored(env: Any) -> Any:
        async with env.db.read() as conn:
            return await get_pass(conn, pass_row=pass_row)

    row = site.run(stored)
    assert row["text"] == text
    assert row["kind"] == "visitor"
    shot(page, "visitor-pass")
    page.goto(f"{server.url}/ui/visitors")
    expect(page.locator("table")).to_contain_text("赵六")


def test_console_shows_scans_live(admin: Watched, live: Any) -> None:
    """A scan stored after the console opened appears on it without a reload."""
    site, server, ids = live
    page = admin.page
    page.goto(f"{server.url}/ui/console/east-in")
    expect(page.locator("[data-live-status]")).to_have_text("实时更新中")
    started = time.monotonic()
    site.run(lambda env: add_event(env, gate="east-in", at_ms=int(time.time() * 1000),
                                   granted=True, reason="ok", pass_ref=ids["ref"], body_c=36.6))  # fmt: skip
    card = page.locator("#feed .scan.big")
    expect(card.locator(".name")).to_have_text("张*", timeout=LIVE_WITHIN_MS)
    elapsed = time.monotonic() - started
    expect(card.locator(".unit")).to_have_text("3-2-201")
    expect(card.locator(".scan-decision")).to_have_text("通过")
    expect(card.locator(".temp")).to_have_text("36.6 °C")
    assert elapsed < LIVE_WITHIN_MS / 1000
    shot(page, "console")


def test_console_reconnects_by_itself(admin: Watched, live: Any) -> None:
    """The server goes away and comes back: the console says so, reconnects on its own and
    shows the scan stored while it was away."""
    site, server, ids = live
    page = admin.page
    page.goto(f"{server.url}/ui/console/east-in")
    status = page.locator("[data-live-status]")
    expect(status).to_have_text("实时更新中")
    assert admin.problems == []
    server.stop()
    expect(status).to_have_text("连接中断，正在重连…")
    site.run(lambda env: add_event(env, gate="east-in", at_ms=int(time.time() * 1000),
                                   granted=False, reason="revoked", pass_ref=ids["ref"]))  # fmt: skip
    server.start()
    server.wait_ready()
    expect(status).to_have_text("实时更新中", timeout=15_000)
    expect(page.locator("#feed .scan.big .scan-reason")).to_have_text("通行证已注销")
    # the browser logs its refused reconnection attempts while the server was down; nothing else
    admin.problems[:] = [p for p in admin.problems if "ERR_CONNECTION_REFUSED" not in p]
    assert admin.problems == []


def test_fever_alert_acknowledged(admin: Watched, live: Any) -> None:
    """A fever denial shows as an open alert; acknowledging it with a note closes it."""
    site, server, ids = live
    site.run(lambda env: add_event(env, gate="east-in", at_ms=int(time.time() * 1000),
                                   granted=False, reason="fever", pass_ref=ids["ref"], body_c=38.4))  # fmt: skip
    page = admin.page
    page.goto(f"{server.url}/ui/")
    alert = page.locator(".alert.kind-fever").first
    expect(alert).to_contain_text("发热报警")
    expect(alert.locator(".temp")).to_have_text("38.4 °C")
    shot(page, "dashboard-alert")
    alert.locator("input[name=note]").fill("已送发热门诊")
    alert.locator("button[type=submit]").click()
    expect(page.locator(".alert.kind-fever")).to_have_count(0)
    page.goto(f"{server.url}/ui/audit?action=alert.ack")
    expect(page.locator("table")).to_contain_text("已送发热门诊")


def test_language_switch(admin: Watched, live: Any) -> None:
    """The switch on every page changes the language and keeps the page."""
    _, server, _ = live
    page = admin.page
    page.goto(f"{server.url}/ui/followup")
    page.click("button[name=lang][value=en]")
    expect(page).to_have_url(f"{server.url}/ui/followup")
    expect(page.locator("h1")).to_have_text("Home-observation follow-up")
    expect(page.locator("nav.nav")).to_contain_text("Overview")
    shot(page, "followup-en")
    page.goto(f"{server.url}/ui/console/east-in")
    shot(page, "console-en")
    page.click("button[name=lang][value=zh-CN]")
    expect(page.locator("h2").first).to_have_text(
        "实时通行" if page.locator("h2").count() == 0 else page.locator("h2").first.inner_text()
    )
    expect(page.locator("nav.nav")).to_contain_text("总览")


def test_staff_refused_audit_log(browser: Browser, live: Any) -> None:
    """A zone staff account has no audit link and is refused the page."""
    _, server, _ = live
    watched = open_page(browser, server, "east-desk")
    page = watched.page
    expect(page.locator("nav.nav")).not_to_contain_text("审计日志")
    response = page.goto(f"{server.url}/ui/audit")
    assert response is not None
    assert response.status == 403
    expect(page.locator("h1")).to_have_text("您没有权限执行此操作")
    page.goto(f"{server.url}/ui/console")
    expect(page.locator(".lane-tile")).to_have_count(2)  # only zone 1's lanes
    shot(page, "staff-console-lanes")
    page.context.close()
    assert watched.problems == []


def test_import_report_and_confirm(admin: Watched, live: Any, tmp_path: Path) -> None:
    """Upload a register with one bad row, read the report, import the valid rows."""
    _, server, _ = live
    register = tmp_path / "居民登记表.csv"
    register.write_text("楼栋,单元,房号,姓名,手机,身份,片区\n"
                        "6,1,601,孙七,13800006001,业主,东区\n"
                        "6,1,601,,13800006002,家属,东区\n", encoding="utf-8")  # fmt: skip
    page = admin.page
    page.goto(f"{server.url}/ui/import")
    page.set_input_files("input[name=file]", str(register))
    page.click("button[type=submit].primary")
    expect(page.locator("h1")).to_have_text("检查结果")
    expect(page.locator("table")).to_contain_text("name is empty")
    shot(page, "import-report")
    page.check("input[name=skip_invalid]")
    page.click("button[type=submit].primary")
    expect(page.locator("h1")).to_have_text("导入完成")
    expect(page.locator(".flash.good")).to_contain_text("新增 1 人")
    assert admin.problems == []
