"""Cards from the staff UI (issue 16 item 8): the print page offers the whole site, a zone, a
building or a unit; the download is the delivery PDF (every QR decodes at 200 dpi), in the
staff member's zones only, and a refusal is a page in the reader's language."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from server.services.registry.site import initialise
from tests.server.cardsite import Layout, build, decode_sheets
from tests.server.conftest import STRONG, Api, Site, ready_accounts
from tests.ui.browser import SCREENSHOTS, ServerProcess, new_site, serving

LAYOUT = Layout(floors=(1, 10), rooms_per_floor=2, residents=2)  # 3 x 2 x 2 x 2 x 2 = 48


def _texts(data: Path, building: str | None = None) -> set[str]:
    with sqlite3.connect(data / "registry.db") as db:
        rows = db.execute(
            "SELECT p.text, h.building FROM passes p JOIN households h ON h.id = p.household_id"
        ).fetchall()
    return {text for text, b in rows if building in (None, b)}


def test_print_page_scope_and_refusals(api: Api, site: Site, tmp_path: Path) -> None:
    count = site.run(lambda env: build(env, tmp_path, LAYOUT))
    api.use("east-desk")
    page = api.get("/ui/cards")
    assert page.status_code == 200
    assert "打印卡片" in page.text
    assert page.text.index(">1号楼<") < page.text.index(">2号楼<") < page.text.index(">10号楼<")
    whole = api.get("/ui/cards.pdf")
    assert whole.status_code == 200
    assert whole.headers["content-type"] == "application/pdf"
    assert whole.headers["x-card-count"] == str(count)
    assert "cards-site.pdf" in whole.headers["content-disposition"]
    unit = api.get("/ui/cards.pdf", params={"unit": "10号楼-2单元"})
    assert unit.headers["x-card-count"] == "8"
    refused = api.get("/ui/cards.pdf", params={"building": "99号楼"})
    assert refused.status_code == 404
    assert "没有楼栋“99号楼”" in refused.text
    api.use("west-desk")  # zone 2 holds none of these households
    assert api.get("/ui/cards.pdf", params={"building": "1号楼"}).status_code == 404
    nothing = api.get("/ui/cards.pdf")
    assert nothing.status_code == 409
    assert "没有可打印的住户通行证" in nothing.text


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A site of 48 residents with passes, served by ``python -m server run``."""
    root = tmp_path_factory.mktemp("ui-cards")
    site = new_site(root / "data")

    async def seed(env: object) -> int:
        await initialise(
            env,  # type: ignore[arg-type]
            site="gw01",
            name="Garden",
            zones=["east", "west"],
            admin="admin",
            root_passphrase=None,
        )
        await ready_accounts(env)  # type: ignore[arg-type]
        return await build(env, root, LAYOUT)  # type: ignore[arg-type]

    site.run(seed)
    with serving(site, root / "server.log") as server:
        yield server


def test_download_a_building_from_the_browser(
    browser: Browser, served: ServerProcess, tmp_path: Path
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{served.url}/ui/login")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", STRONG)
    page.click("button[type=submit].primary")
    expect(page).to_have_url(f"{served.url}/ui/")
    page.click("a[href='/ui/cards']")
    expect(page.locator("h1")).to_have_text("打印卡片")
    page.select_option("select[name=building]", "10号楼")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "cards-page.png"), full_page=True)
    with page.expect_download() as download:
        page.click("#cards-form button[type=submit]")
    pdf = tmp_path / download.value.suggested_filename
    download.value.save_as(pdf)
    assert pdf.name == "cards-10号楼.pdf"
    data = served.settings.data_dir
    decoded = [text for page in decode_sheets(pdf, tmp_path) for text in page]
    assert sorted(decoded) == sorted(_texts(data, "10号楼"))
