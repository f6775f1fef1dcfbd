"""Passes for everyone and revoking a unit's passes, clicked in Debian's Chromium (Playwright)
against a real server process on a real SQLite site (issue 16 item 5)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, expect

from server.services.context import Env
from server.store.schema import passes
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


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveSite, ServerProcess]]:
    root = tmp_path_factory.mktemp("ui-passes")
    site = new_site(root / "data")
    site.run(seed_site)
    with serving(site, root / "server.log") as server:
        yield site, server


def _live(site: LiveSite) -> dict[int, int]:
    async def go(env: Env) -> dict[int, int]:
        now = env.clock.now()
        query = (
            sa.select(passes.c.resident_id, sa.func.count())
            .where(
                passes.c.resident_id.is_not(None),
                passes.c.revoked_at.is_(None),
                passes.c.expires > now,
            )
            .group_by(passes.c.resident_id)
        )
        async with env.db.read() as conn:
            return {int(r[0]): int(r[1]) for r in await conn.execute(query)}

    return site.run(go)  # type: ignore[no-any-return]


def test_the_button_issues_once_and_a_unit_is_revoked_with_a_reason(
    browser: Browser, served: tuple[LiveSite, ServerProcess]
) -> None:
    site, server = served
    before = _live(site)
    assert len(before) == 1  # the seed gave one resident a pass
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{server.url}/ui/login")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", STRONG)
    page.click("button[type=submit].primary")
    page.click("nav a[href='/ui/passes']")
    expect(page.locator("h1")).to_have_text("全员发证")

    page.click("form[action='/ui/passes/everyone'] button[type=submit]")
    result = page.locator("[data-result=everyone] p.notice")
    expect(result).to_contain_text("全小区：新发")
    expect(result).to_contain_text("1 人已有有效通行证，跳过 0 人。")
    issued = _live(site)
    assert set(issued.values()) == {1}
    assert len(issued) > 1
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "passes-everyone.png"), full_page=True)

    page.click("form[action='/ui/passes/everyone'] button[type=submit]")
    expect(result).to_contain_text("全小区：新发 0 张")
    expect(page.locator("[data-result=everyone]")).to_contain_text("本次没有新发")
    assert _live(site) == issued

    revoke = page.locator("form[action='/ui/passes/revoke-place']")
    revoke.locator("input[name=building]").fill("3")
    revoke.locator("input[name=unit]").fill("2")
    revoke.locator("button[type=submit]").click()  # no reason: the browser does not send it
    assert _live(site) == issued
    revoke.locator("input[name=reason]").fill("  ")
    revoke.locator("button[type=submit]").click()
    expect(page.locator("main")).to_contain_text("请填写作废这些通行证的原因")
    assert _live(site) == issued
    page.goto(f"{server.url}/ui/passes")
    revoke.locator("input[name=building]").fill("3")
    revoke.locator("input[name=unit]").fill("2")
    revoke.locator("input[name=reason]").fill("单元门禁更换")
    revoke.locator("button[type=submit]").click()
    expect(page.locator("[data-result=revoked] p.notice")).to_have_text(
        "已作废 3 号楼 2 单元 的 2 张通行证。"
    )
    assert len(_live(site)) == len(issued) - 2
    assert errors == []
    context.close()


def test_staff_have_no_such_page(
    browser: Browser, served: tuple[LiveSite, ServerProcess], tmp_path: Path
) -> None:
    _site, server = served
    page = browser.new_page()
    page.goto(f"{server.url}/ui/login")
    page.fill("input[name=username]", "east-desk")
    page.fill("input[name=password]", STRONG)
    page.click("button[type=submit].primary")
    expect(page.locator("nav a[href='/ui/passes']")).to_have_count(0)
    response = page.goto(f"{server.url}/ui/passes")
    assert response is not None
    assert response.status == 403
    page.close()
