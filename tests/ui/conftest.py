"""Staff UI fixtures: the app in-process (TestClient) for page tests; the browser tests start a
real server (tests/ui/browser.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser

from tests.server.conftest import STRONG, Api, api, seed, site  # noqa: F401 - fixtures used by tests here
from tests.ui.browser import chromium

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token a page put into its forms."""
    match = CSRF_FIELD.search(html)
    assert match, "no form with a CSRF token on the page"
    return match.group(1)


def form_post(session: Api, url: str, data: dict[str, Any], **kw: Any) -> Any:
    """POST a form as the current role, with its CSRF token (as the pages' forms do)."""
    assert session.current is not None
    token = session.sessions[session.current][1]
    return session.client.post(
        url, data={"csrf_token": token, **data}, follow_redirects=False, **kw
    )


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Show what the browser tests measured (``record_property`` names ending in ``_ms``) in
    every run's output, not only in a JUnit file: a bound that passes can still drift."""
    for report in terminalreporter.stats.get("passed", []) + terminalreporter.stats.get(
        "failed", []
    ):
        for name, value in getattr(report, "user_properties", []):
            if name.endswith("_ms") and report.when == "call":
                terminalreporter.write_line(f"{report.nodeid}: {name} = {value}")


__all__ = ["STRONG", "Api", "csrf_of", "form_post", "seed"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium for a module's browser tests."""
    with chromium() as launched:
        yield launched
