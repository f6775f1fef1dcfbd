"""The lane rules editor in Chromium (issue 17 item 6): an admin opens a lane's rules from the
menu, a value out of range comes back with its error beside the field and nothing saved, the
corrected form is previewed (old → new per lane), saved, shown as what the lane now decides
with, and the change is in the audit log. A staff member sees the rules read-only."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect

from server.services.context import Env
from server.services.gates import policy as gate_policy
from server.store import registry
from tests.server.conftest import STRONG
from tests.ui.browser import (
    SCREENSHOTS,
    LiveSite,
    ServerProcess,
    new_site,
    seed_site,
    serving,
)

pytestmark = pytest.mark.slow


class Served:
    """The site on disk and its server process."""

    def __init__(self, site: LiveSite, server: ServerProcess) -> None:
        self.site, self.server = site, server


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("ui-policy")
    site = new_site(root / "data")
    site.run(seed_site)
    with serving(site, root / "server.log") as server:
        yield Served(site, server)


def sign_in(browser: Browser, served: Served, user: str, problems: list[str]) -> Page:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()

    def console(message: ConsoleMessage) -> None:
        if message.type == "error" and "Failed to load resource" not in message.text:
            problems.append(message.text)  # CSP violations are reported here

    page.on("console", console)
    page.on("pageerror", lambda exc: problems.append(f"script error: {exc}"))
    page.goto(f"{served.server.url}/ui/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", STRONG)
    page.click("button[type=submit].primary")
    expect(page).to_have_url(f"{served.server.url}/ui/")
    return page


def policy_of(served: Served, gate: str) -> gate_policy.Policy:
    async def go(env: Env) -> gate_policy.Policy:
        async with env.db.read() as conn:
            row = await registry.get_gate(conn, gate_id=gate)
            assert row is not None
            return await gate_policy.lane_policy(conn, row)

    return served.site.run(go)  # type: ignore[no-any-return]


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_edit_a_lane_error_preview_save_audit(browser: Browser, served: Served) -> None:
    problems: list[str] = []
    page = sign_in(browser, served, "admin", problems)
    page.click("nav a[href='/ui/policy']")
    expect(page.locator("h1")).to_have_text("通道规则")
    page.click("tr[data-lane='east-in'] a.button")
    expect(page.locator("h1")).to_have_text("通道 东门入口 的规则")
    form = page.locator("#policy-form")
    # a fever threshold the gate would refuse: the field's own error, what was typed is kept
    form.locator("select[name=phone_check_resident]").select_option("always")
    form.locator("input[name=fever_threshold_c]").fill("41")
    form.locator("input[name=day6]").fill("08:00-12:00")
    form.locator("button[type=submit]").click()
    expect(page.locator("#policy-invalid")).to_be_visible()
    expect(page.locator("#err-fever_threshold_c")).to_have_text("必须在 35 至 40 之间。")
    expect(form.locator("input[name=day6]")).to_have_value("08:00-12:00")
    expect(form.locator("select[name=phone_check_resident]")).to_have_value("always")
    assert policy_of(served, "east-in").fever_threshold_c == 37.3  # nothing saved
    # corrected: the preview lists old → new for this lane only
    form.locator("input[name=fever_threshold_c]").fill("37.0")
    form.locator("input[name=apb_minutes]").fill("5")
    shot(page, "policy-lane")
    form.locator("button[type=submit]").click()
    expect(page.locator("h1")).to_have_text("保存前请核对变更")
    rows = page.locator("table.policy-changes tbody tr")
    expect(rows).to_have_count(4)
    fever = page.locator("tr[data-lane='east-in'][data-field='fever_threshold_c']")
    expect(fever.locator("td.old")).to_have_text("37.3 °C")
    expect(fever.locator("td.new")).to_have_text("→ 37.0 °C")
    sunday = page.locator("tr[data-field='day6']")
    expect(sunday.locator("td.old")).to_have_text("按每天的开放时间")
    expect(sunday.locator("td.new")).to_have_text("→ 08:00-12:00")
    shot(page, "policy-preview")
    assert policy_of(served, "east-in").apb_minutes == 10  # still nothing saved
    page.click("#policy-confirm button[type=submit]")
    expect(page.locator("#policy-saved")).to_contain_text("共 4 项")
    table = page.locator("table.policy-lanes")
    expect(table).to_contain_text("37.0 °C")
    expect(table).to_contain_text("08:00-12:00")
    saved = policy_of(served, "east-in")
    assert (saved.fever_threshold_c, saved.apb_minutes, saved.weekday_list) == (
        37.0,
        5,
        [(6, 480, 720)],
    )
    assert policy_of(served, "east-out").fever_threshold_c == 37.3  # another lane: unchanged
    page.goto(f"{served.server.url}/ui/audit?action=gate.policy")
    row = page.locator("table.table tbody tr").first
    expect(row).to_contain_text("gate:east-in")
    expect(row).to_contain_text("admin")
    expect(row).to_contain_text("fever_threshold_c")
    page.context.close()
    assert problems == []


def test_staff_see_the_rules_read_only(browser: Browser, served: Served) -> None:
    problems: list[str] = []
    page = sign_in(browser, served, "east-desk", problems)
    page.goto(f"{served.server.url}/ui/policy/zones/1")
    expect(page.locator("h1")).to_have_text("片区 东区 的规则")
    expect(page.locator("#policy-form input[name=fever_threshold_c]")).to_be_disabled()
    expect(page.locator("#policy-form button[type=submit]")).to_have_count(0)
    response = page.goto(f"{served.server.url}/ui/policy/zones/2")
    assert response is not None
    assert response.status == 404
    page.context.close()
    assert problems == []
