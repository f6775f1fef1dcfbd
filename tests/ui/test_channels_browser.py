"""Alerts to the group chat clicked in Debian's Chromium (Playwright) against a real server
process on a real SQLite site (issue 17 item 5): an admin adds a WeCom robot and a webhook,
sends a test message, a fever reaches the robot through the server's own worker, the webhook
that keeps answering 500 ends on the failed list after its attempts, and "send again" delivers
it once the webhook answers."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from server.services.context import Env
from tests.server.conftest import STRONG
from tests.support.chat_sink import ChatSink
from tests.ui.browser import (
    SCREENSHOTS,
    LiveSite,
    ServerProcess,
    new_site,
    seed_site,
    serving,
)
from tests.ui.data import add_event

pytestmark = pytest.mark.slow
WAIT_S = 20


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveSite, ServerProcess]]:
    root = tmp_path_factory.mktemp("ui-chat")
    site = new_site(root / "data")
    site.run(seed_site)
    quick = {"GATEPASS_CHAT_RETRY_S": "1", "GATEPASS_CHAT_ATTEMPTS": "2"}
    with serving(site, root / "server.log", quick) as server:
        yield site, server


def _add(page: Page, name: str, vendor: str, url: str) -> None:
    form = page.locator("form[data-form=new-channel]")
    form.locator("input[name=name]").fill(name)
    form.locator("select[name=vendor]").select_option(vendor)
    form.locator("input[name=url]").fill(url)
    form.locator("input[name=kinds][value=fever]").check()
    form.locator("button[type=submit]").click()
    expect(page.locator("[data-result=saved]")).to_have_text(f"已保存“{name}”。")


def _wait(condition: object, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_channels_a_test_message_a_fever_and_the_failed_list(
    browser: Browser, served: tuple[LiveSite, ServerProcess]
) -> None:
    site, server = served
    with (
        ChatSink(answers=[(200, {"errcode": 0, "errmsg": "ok"})]) as robot,
        ChatSink(answers=[(500, {})]) as hook,
    ):
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{server.url}/ui/login")
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", STRONG)
        page.click("button[type=submit].primary")
        page.click("nav a[href='/ui/channels']")
        expect(page.locator("h1")).to_have_text("告警群通知")

        _add(page, "东区值班群", "wecom", robot.url("/cgi-bin/webhook/send?key=robot-key-1234"))
        _add(page, "物业系统", "webhook", hook.url("/gatepass"))
        table = page.locator("table[data-table=channels]")
        expect(table.locator("tbody tr")).to_have_count(2)
        expect(table).not_to_contain_text("robot-key-1234")
        expect(table).to_contain_text("/…1234")
        table.locator("tr", has_text="东区值班群").locator("button[type=submit]").click()
        expect(page.locator("[data-result=test]")).to_have_text(
            "测试消息已发到“东区值班群”，请在群里查看。"
        )
        assert len(robot.received) == 1
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "channels.png"), full_page=True)

        async def fever(env: Env) -> None:
            now_ms = env.clock.now() * 1000
            await add_event(env, gate="east-in", at_ms=now_ms, granted=False, reason="fever")

        site.run(fever)
        _wait(lambda: len(robot.received) == 2, "the fever at the robot")
        text = robot.received[1].json()["text"]["content"]
        assert text.startswith("【门岗告警】发热报警 1 条")
        assert "东门入口（东区）" in text
        _wait(lambda: len(hook.received) == 2, "two attempts at the webhook")

        def listed() -> bool:
            page.goto(f"{server.url}/ui/channels/failed")
            return page.locator("table[data-table=failed] tbody tr").count() == 1

        _wait(listed, "the failed message on the list")
        row = page.locator("table[data-table=failed] tbody tr")
        expect(row).to_contain_text("物业系统")
        expect(row).to_contain_text("发热报警")
        expect(row).to_contain_text("对方回答 HTTP 500")
        page.screenshot(path=str(SCREENSHOTS / "chat-failed.png"), full_page=True)

        hook.answers = [(200, {})]
        row.locator("button[type=submit]").click()
        expect(page.locator("main")).to_contain_text("没有发送失败的消息")
        _wait(lambda: len(hook.received) == 3, "the message sent again")
        assert hook.received[2].json()["kind"] == "fever"
        assert errors == []
        context.close()
