"""A small client of the server's JSON API, as the staff UI uses it: a session cookie and CSRF.

Blocking (urllib, standard library only); the orchestrator calls it through
``asyncio.to_thread``. One instance holds one signed-in account.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

TIMEOUT_S = 30.0


class ApiError(RuntimeError):
    """The server answered with an error status; the message has the method, path and body."""

    def __init__(self, method: str, path: str, status: int, body: str) -> None:
        super().__init__(f"{method} {path}: HTTP {status}: {body[:500]}")
        self.status = status


@dataclass
class Api:
    """One account's session against ``base`` (``http://127.0.0.1:PORT``)."""

    base: str
    cookies: dict[str, str] = field(default_factory=dict)
    csrf: str | None = None

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """Send one request; the decoded JSON answer (None for 204)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)  # noqa: S310
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self.csrf is not None and method != "GET":
            request.add_header("X-CSRF-Token", self.csrf)
        if self.cookies:
            request.add_header("Cookie", "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310
                self._keep_cookies(response.headers.get_all("Set-Cookie") or [])
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raise ApiError(method, path, exc.code, exc.read().decode("utf-8", "replace")) from None
        return json.loads(raw) if raw else None

    def _keep_cookies(self, headers: list[str]) -> None:
        """The session cookie (Secure cookies too: this client only talks to loopback)."""
        for header in headers:
            name, _, rest = header.partition("=")
            value = rest.split(";", 1)[0]
            if value and "Max-Age=0" not in header:
                self.cookies[name.strip()] = value
            else:
                self.cookies.pop(name.strip(), None)

    def login(self, username: str, password: str) -> dict[str, Any]:
        """Sign in; keeps the cookie and the CSRF token."""
        self.cookies.clear()
        answer: dict[str, Any] = self.call(
            "POST", "/api/v1/auth/login", {"username": username, "password": password}
        )
        self.csrf = answer["csrf_token"]
        return answer

    def change_password(self, old: str, new: str) -> None:
        """The first-login change; the server ends the session, so sign in again."""
        self.call("POST", "/api/v1/auth/password", {"old_password": old, "new_password": new})

    def all_pages(self, path: str, **query: Any) -> list[dict[str, Any]]:
        """Every item of a paged list route (100 per page)."""
        items: list[dict[str, Any]] = []
        page = 1
        while True:
            params = "&".join(f"{k}={v}" for k, v in {**query, "page": page, "size": 100}.items())
            answer = self.call("GET", f"{path}?{params}")
            items += answer["items"]
            if len(items) >= answer["total"] or not answer["items"]:
                return items
            page += 1


def wait_healthy(base: str, within: float) -> None:
    """Until ``/healthz`` answers (the server is up and migrated)."""
    deadline = time.monotonic() + within
    while True:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.1)
