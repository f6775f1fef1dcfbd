"""How the app is served: the uvicorn configuration that ``gatepass-server run`` uses.

* Proxy headers (``X-Forwarded-For``) are believed only from the addresses named in
  ``trusted_proxies`` (none by default): otherwise any client on the machine could forge the
  address the audit log records and dodge the per-address login limit.
* The access log names the path, never the query string: searches carry names and phone
  numbers, and logs are kept longer and read by more people than the audit log.
* A stop on SIGTERM or SIGINT is a graceful stop and exits 0: uvicorn re-raises the signal it
  caught once it has shut down (the process then ended "killed by SIGTERM", status 143, after
  "Application shutdown complete"); ``Server`` does not.
"""

from __future__ import annotations

import contextlib
import copy
import logging
from collections.abc import Iterator
from typing import Any

import uvicorn
from uvicorn.config import LOGGING_CONFIG

from server.config import ServerSettings

ACCESS_LOGGER = "uvicorn.access"


class NoQueryStrings(logging.Filter):
    """Drops the query string from every access-log line (``/api/v1/residents?q=…`` → path)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's path argument in place; never drops a line."""
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (args[0], args[1], args[2].partition("?")[0], args[3], args[4])
        return True


def log_config() -> dict[str, Any]:
    """uvicorn's logging configuration with the query strings filtered out of the access log."""
    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["no_query_strings"] = {"()": NoQueryStrings}
    config["loggers"][ACCESS_LOGGER]["filters"] = ["no_query_strings"]
    return config


def uvicorn_config(app: Any, settings: ServerSettings) -> uvicorn.Config:
    """The server's uvicorn configuration for ``app`` (the CLI's ``run`` and the tests)."""
    proxies = settings.trusted_proxies
    return uvicorn.Config(
        app,
        host=settings.bind,
        port=settings.port,
        log_level="info",
        log_config=log_config(),
        server_header=False,
        proxy_headers=bool(proxies),
        forwarded_allow_ips=proxies or None,
    )


class Server(uvicorn.Server):
    """uvicorn's server, minus re-raising the stop signal after a graceful shutdown."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """uvicorn's handlers while serving; the signals caught are forgotten at the end (uvicorn
        raises them again after restoring the previous handlers, to die of them)."""
        with super().capture_signals():
            try:
                yield
            finally:
                self._captured_signals.clear()
