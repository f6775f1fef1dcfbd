"""Fixtures for the link's tests: a provisioned site with its broker running its own config."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.faults.harness import LinkSite, build


@pytest.fixture
async def link_site(tmp_path: Path) -> AsyncIterator[LinkSite]:
    """Site gw01 with gates east-in and east-out, and mosquitto running broker-config's output."""
    site = await build(tmp_path)
    site.broker.start()
    try:
        yield site
    finally:
        site.broker.kill()
