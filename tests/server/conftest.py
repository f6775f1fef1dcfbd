"""Server test fixtures: a real SQLite site in tmp_path, the app through its lifespan, roles."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from msgspec.structs import replace

from server.app import create_app
from server.config import ServerSettings, load_settings
from server.services.context import CLI_ACTOR, Env
from server.services.registry.site import initialise
from server.services.staff import accounts as staff_service
from server.services.staff.passwords import hash_password
from server.store import accounts
from server.store.db import Database

START = 1_800_000_000
STRONG = "correct horse battery staple"


@dataclass
class FakeClock:
    """A clock the test moves by hand."""

    t: int = START

    def now(self) -> int:
        return self.t

    def advance(self, seconds: int) -> None:
        self.t += seconds


@dataclass
class Site:
    """An initialised site on disk."""

    settings: ServerSettings
    clock: FakeClock
    admin_password: str
    manifest: Any

    def env(self) -> Env:
        return Env(db=Database(self.settings.db_url), settings=self.settings, clock=self.clock)

    def run(self, coro_factory: Any) -> Any:
        """Run ``coro_factory(env)`` on a fresh Database and close it."""

        async def go() -> Any:
            env = self.env()
            try:
                return await coro_factory(env)
            finally:
                await env.db.close()

        return asyncio.run(go())


def make_settings(data: Path, **overrides: Any) -> ServerSettings:
    values = {"cookie_secure": False, "retention_interval_s": 0} | overrides
    return load_settings(data, env={}, **values)


@pytest.fixture
def site(tmp_path: Path) -> Site:
    """A site gw01 with zones 1 (east) and 2 (west), created through the init service."""
    settings = make_settings(tmp_path / "data")
    settings.data_dir.mkdir()
    clock = FakeClock()
    holder: dict[str, Any] = {}

    async def init(env: Env) -> Any:
        return await initialise(
            env,
            site="gw01",
            name="Garden",
            zones=["east", "west"],
            admin="admin",
            root_passphrase=None,  # the API's key rotation signs with an unencrypted root key
        )

    s = Site(settings, clock, "", None)
    result = s.run(init)
    s.admin_password, s.manifest = result.password, result.manifest
    holder["site"] = s
    return s


@dataclass
class Api:
    """A TestClient on the app, with a remembered session per role name."""

    client: TestClient
    site: Site
    sessions: dict[str, tuple[str, str]] = field(default_factory=dict)
    current: str | None = None

    def login(self, username: str, password: str) -> dict[str, Any]:
        self.client.cookies.clear()
        response = self.client.post(
            "/api/v1/auth/login", json={"username": username, "password": password}
        )
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    def remember(self, role: str, username: str, password: str) -> None:
        body = self.login(username, password)
        self.sessions[role] = (self.client.cookies["gatepass_session"], body["csrf_token"])
        self.current = role

    def use(self, role: str | None) -> Api:
        """Act as ``role`` (None: anonymous) for the next requests."""
        self.client.cookies.clear()
        self.current = role
        if role is not None:
            self.set_cookie(self.sessions[role][0])
        return self

    def set_cookie(self, value: str) -> None:
        """Present ``value`` as the session cookie (httpx files host cookies under .local)."""
        self.client.cookies.clear()
        self.client.cookies.set("gatepass_session", value, domain="testserver.local")

    @property
    def csrf(self) -> dict[str, str]:
        return {} if self.current is None else {"X-CSRF-Token": self.sessions[self.current][1]}

    def get(self, url: str, **kw: Any) -> Any:
        return self.client.get(url, **kw)

    def post(self, url: str, **kw: Any) -> Any:
        return self.client.post(url, headers={**self.csrf, **kw.pop("headers", {})}, **kw)

    def patch(self, url: str, **kw: Any) -> Any:
        return self.client.patch(url, headers={**self.csrf, **kw.pop("headers", {})}, **kw)

    def put(self, url: str, **kw: Any) -> Any:
        return self.client.put(url, headers={**self.csrf, **kw.pop("headers", {})}, **kw)

    def delete(self, url: str, **kw: Any) -> Any:
        return self.client.delete(url, headers={**self.csrf, **kw.pop("headers", {})}, **kw)


@functools.cache
def strong_hash() -> str:
    """argon2id of STRONG, computed once per test run (hashing is slow on purpose)."""
    return hash_password(STRONG)


async def ready_accounts(env: Env) -> None:
    """Admin with STRONG as its password, and staff east-desk (zone 1) and west-desk (zone 2)."""
    now = env.clock.now()
    async with env.db.write() as conn:
        admin = await accounts.find_staff(conn, username="admin")
        assert admin is not None
        ready = replace(admin, password_hash=strong_hash(), must_change_password=False)
        await accounts.save_staff(conn, ready)
        for name, zone in (("east-desk", 1), ("west-desk", 2)):
            desk = await accounts.insert_staff(
                conn,
                username=name,
                display_name=name,
                password_hash=strong_hash(),
                role="staff",
                zone_scope=[zone],
                now=now,
            )
            await accounts.save_staff(conn, replace(desk, must_change_password=False))


@pytest.fixture
def api(site: Site) -> Iterator[Api]:
    """The app over the site's SQLite file, through its lifespan, with admin and staff sessions."""
    site.run(ready_accounts)
    app = create_app(site.settings, clock=site.clock)
    with TestClient(app, base_url="http://testserver") as client:
        a = Api(client, site)
        for name in ("admin", "east-desk", "west-desk"):
            a.remember(name, name, STRONG)
        a.use("admin")
        yield a


def seed(api: Api) -> dict[str, int]:
    """One household per zone with one resident each; returns their ids."""
    api.use("admin")
    h1 = api.post(
        "/api/v1/households", json={"zone_id": 1, "building": "3", "unit": "2", "room": "201"}
    ).json()
    h2 = api.post(
        "/api/v1/households", json={"zone_id": 2, "building": "9", "unit": "1", "room": "101"}
    ).json()
    r1 = api.post(
        "/api/v1/residents",
        json={"household_id": h1["id"], "name": "张三", "phone": "13800138000", "role": "owner"},
    ).json()
    r2 = api.post(
        "/api/v1/residents",
        json={
            "household_id": h2["id"],
            "name": "李四",
            "phone": "+86 139-0013-9000",
            "role": "tenant",
        },
    ).json()
    return {"h1": h1["id"], "h2": h2["id"], "r1": r1["id"], "r2": r2["id"]}


__all__ = ["CLI_ACTOR", "STRONG", "Api", "FakeClock", "Site", "seed", "staff_service"]
