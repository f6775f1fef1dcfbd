"""Attacks against a running server: the real app served by uvicorn with the project's own
configuration (server.http.serving), on a free loopback port, over a site on disk."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import uvicorn

from server.app import create_app
from server.http.serving import ACCESS_LOGGER, uvicorn_config
from tests.server.conftest import STRONG, Site, api, ready_accounts, site

__all__ = ["STRONG", "Live", "api", "live", "site"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Lines(logging.Handler):
    """Keeps every formatted access-log line the server writes."""

    def __init__(self, formatter: logging.Formatter | None) -> None:
        super().__init__()
        self.lines: list[str] = []
        self.setFormatter(formatter)

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@dataclass
class Live:
    """A served site: its base URL, the site on disk and what the access log wrote."""

    url: str
    site: Site
    access_log: list[str] = field(default_factory=list)


@pytest.fixture
def live(site: Site) -> Iterator[Live]:
    """The app served by uvicorn as ``gatepass-server run`` serves it, in a thread."""
    site.run(ready_accounts)
    settings = site.settings.model_copy(update={"port": _free_port()})
    server = uvicorn.Server(uvicorn_config(create_app(settings, clock=site.clock), settings))
    access = logging.getLogger(ACCESS_LOGGER)
    handler = _Lines(access.handlers[0].formatter if access.handlers else None)
    access.addHandler(handler)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "the server did not start"
    try:
        yield Live(f"http://127.0.0.1:{settings.port}", site, handler.lines)
    finally:
        server.should_exit = True
        thread.join(10)
        access.removeHandler(handler)
