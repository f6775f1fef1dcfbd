"""The lane display in Debian's Chromium against a REAL gate daemon (simulators on ptys, mock
pins, a real broker, a stand-in server): each step and outcome as a resident sees it, the
English lane setting, the update latency, and the page carrying on with the server and the broker
gone. Screenshots go to docs/screenshots/lane-*.png (docs/lane.md shows them)."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from playwright.async_api import Page, async_playwright

from device.core.cues import Cue, Phase
from device.display.view import temperature_text
from protocol.wording import display_labels, line, reason_screen
from tests.gate.conftest import Lane
from tests.ui.browser import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS

pytestmark = [pytest.mark.broker, pytest.mark.slow, pytest.mark.timeout(180)]
VIEWPORT = {"width": 1280, "height": 720}  # a 7-10" kiosk screen's shape; the page scales in vh
UPDATE_BOUND_MS = 1000  # generous for a loaded CI machine; the issue's 100 ms is `make bench`'s


@contextlib.asynccontextmanager
async def lane_page(lane: Lane) -> AsyncIterator[Page]:
    """Chromium showing this lane's page, once it has its first view."""
    display = lane.gate.display
    assert display is not None
    await asyncio.wait_for(display.bound.wait(), 10)
    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            # the page's CSP forbids eval, which Playwright's wait_for_function uses
            page = await browser.new_page(viewport=VIEWPORT, bypass_csp=True)
            await page.goto(display.url)
            await page.wait_for_function("window.laneRendered !== undefined")
            yield page
        finally:
            await browser.close()


async def phase(page: Page, name: str, outcome: str = "none") -> None:
    await page.wait_for_selector(
        f'body[data-phase="{name}"][data-outcome="{outcome}"]', timeout=20_000
    )


async def text(page: Page, selector: str) -> str:
    return (await page.text_content(selector) or "").strip()


async def shot(page: Page, name: str) -> None:
    await page.screenshot(path=str(SCREENSHOTS / f"lane-{name}.png"))


async def test_each_step_and_outcome_in_chinese(
    lane_factory: Callable[..., Any], record_property: Callable[[str, object], None]
) -> None:
    lane: Lane = await lane_factory()  # temperature required, no phone check, 4 s steps
    async with lane_page(lane) as page:
        await phase(page, "ready")
        assert await text(page, "#text") == "请出示通行证"
        assert await text(page, "#symbol") == "…"
        assert await text(page, "#lane") == "east-in"
        assert await page.evaluate("document.documentElement.lang") == "zh-CN"
        size = await page.evaluate(
            "parseFloat(getComputedStyle(document.getElementById('text')).fontSize)"
        )
        assert size >= 0.13 * VIEWPORT["height"] - 0.5  # the main line: 13 % of the screen
        await shot(page, "ready")

        lane.present(lane.site.pass_text(name="张*", unit="3-2-201"))
        await phase(page, "measure")
        assert await text(page, "#text") == "请测体温"
        assert await text(page, "#countdown") in ("剩余 4 秒", "剩余 3 秒")
        await page.wait_for_function(
            "document.getElementById('countdown').textContent === '剩余 2 秒'", timeout=5000
        )  # it counts down by itself
        await shot(page, "measure")

        lane.step_in()  # skin about 34.3 + the 2.3 offset
        await phase(page, "result", "granted")
        granted_at = time.monotonic()
        assert await text(page, "#symbol") == "✓"
        assert await text(page, "#outcome") == "通过"
        assert await text(page, "#text") == "体温正常，请通行"
        shown_temperature = await text(page, "#temperature")
        assert await page.is_visible("#holder")
        assert (await text(page, "#name"), await text(page, "#unit")) == ("张*", "3-2-201")
        await shot(page, "granted")
        await page.wait_for_selector("#holder", state="hidden", timeout=5000)
        shown_s = time.monotonic() - granted_at
        assert 0.5 < shown_s < 3.0, shown_s  # about one second, then gone
        record_property("name_shown_ms", round(shown_s * 1000))
        await phase(page, "ready")  # back to asking, by itself, after the result's hold
        lane.scanner.command("remove")
        event = await lane.decision()
        body = event.temperatures[-1].body_c
        assert shown_temperature == f"体温 {temperature_text(body)}"  # what the gate decided on

        lane.present(
            lane.site.pass_text(
                expires=lane.site.now - 3600,
                issued_at=lane.site.now - 7200,
                not_before=lane.site.now - 7200,
            )
        )
        await phase(page, "result", "denied")
        assert (await text(page, "#symbol"), await text(page, "#outcome")) == ("✗", "未通过")
        assert await text(page, "#text") == reason_screen("expired") == "通行证已过期"
        assert not await page.is_visible("#holder")
        await shot(page, "denied-expired")
        await phase(page, "ready")
        lane.scanner.command("remove")
        await lane.decision()

        lane.thermometer.command("fever 36.4 8")  # skin about 36.4 + the 2.3 offset
        lane.present(lane.site.pass_text(name="张*", unit="3-2-201"))
        await page.wait_for_selector('body[data-phase="measure"].tone-alert', timeout=20_000)
        assert await text(page, "#symbol") == "!"
        assert await text(page, "#text") == line("step.fever_retest").screen
        assert re.fullmatch(r"体温 3[89]\.\d °C", await text(page, "#temperature"))
        await shot(page, "fever-retest")
        await phase(page, "result", "denied")
        assert await text(page, "#text") == reason_screen("fever")
        assert re.fullmatch(r"体温 3[89]\.\d °C", await text(page, "#temperature"))
        assert not await page.is_visible("#holder")  # a denied person is never named
        await shot(page, "fever")
        await lane.decision(20)


async def test_the_page_updates_within_the_bound_and_shows_names_as_text(
    lane_factory: Callable[..., Any], record_property: Callable[[str, object], None]
) -> None:
    lane: Lane = await lane_factory()
    announcer = lane.gate.rt.announcer
    async with lane_page(lane) as page:
        await phase(page, "ready")
        delays = []
        for i in range(5):
            before = await page.evaluate("window.laneRendered.seq")
            told_ms = time.time() * 1000
            announcer.tell(Cue(Phase.DIGITS, "step.card_pin", wait_s=20, digits=i % 4))
            await page.wait_for_function(f"window.laneRendered.seq > {before}")
            delays.append(await page.evaluate("window.laneRendered.at") - told_ms)
        delays.sort()
        record_property("tell_to_dom_median_ms", round(delays[2], 1))
        assert delays[2] < UPDATE_BOUND_MS, delays

        hostile = '<img src=x onerror="document.title=1">'
        announcer.tell(
            Cue(Phase.RESULT, "reason.ok", granted=True, reason="ok", name=hostile, unit="1")
        )
        await page.wait_for_selector("#holder:not([hidden])")
        assert await text(page, "#name") == hostile  # shown as text, never as markup
        assert await page.query_selector("#name img") is None


async def test_digits_and_results_in_english_as_a_lane_setting(
    lane_factory: Callable[..., Any],
) -> None:
    policy = {
        "lane_language": "en",
        "phone_check_resident": "always",
        "temperature_required": False,
    }
    lane: Lane = await lane_factory(policy=policy)
    panel = lane.gate.panel
    assert panel is not None
    async with lane_page(lane) as page:
        await phase(page, "ready")
        assert await text(page, "#text") == "Show your pass"
        assert await page.evaluate("document.documentElement.lang") == "en"

        lane.present(lane.site.pass_text(digits="6688", name="Zhang*", unit="3-2-201"))
        await phase(page, "digits")
        assert await text(page, "#text") == "Enter the last four digits of your phone"
        assert await text(page, "#dots") == "○○○○"
        await lane.until(lambda: lane.gate.lane.prompt is not None, 10)
        await asyncio.sleep(0.3)  # keys typed before the lane listens are dropped
        await panel.type_keys("66")
        await page.wait_for_function("document.getElementById('dots').textContent === '●●○○'")
        assert "6" not in await text(page, "main")  # dots, never the digits
        assert (await text(page, "#countdown")).endswith(" s left")
        await shot(page, "digits-en")
        await panel.type_keys("88")
        await phase(page, "result", "granted")
        assert await text(page, "#outcome") == display_labels("en")["granted"]
        assert await text(page, "#text") == "OK, go ahead"
        assert await text(page, "#name") == "Zhang*"
        await shot(page, "granted-en")
        await lane.decision()


async def test_the_page_keeps_working_with_the_server_and_broker_down(
    lane_factory: Callable[..., Any],
) -> None:
    lane: Lane = await lane_factory(policy={"temperature_required": False})
    async with lane_page(lane) as page:
        await phase(page, "ready")
        lane.server.stop()
        lane.broker.stop()
        try:
            await lane.until(lambda: not lane.gate.rt.link_up)
            for _ in range(2):
                lane.present(lane.site.pass_text())
                await phase(page, "result", "granted")  # decided offline, shown at once
                assert await text(page, "#text") == reason_screen("ok")
                lane.scanner.command("remove")
                await phase(page, "ready")
            assert lane.gate.lane.decisions == 2
            assert not await page.is_visible("#banner")  # the page's own link never dropped
        finally:
            lane.broker.start()
