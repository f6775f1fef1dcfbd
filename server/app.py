"""The composition root: ``create_app(settings)`` builds the FastAPI app; its lifespan owns
the database, the background retention job, the group-chat worker (alerts to WeCom, DingTalk,
Feishu, webhooks) and, when ``mqtt_host`` is set, the MQTT link (ingest, publishing, alerts).
Nothing happens at import time.

Deny by default: ``create_app`` refuses to build an app in which a route has no access
policy (server.http.deps.Policy) and is not on the public list.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

from server import heap
from server.api import errors
from server.api.routes import admin, alerts, events, passes, people, registry, system
from server.api.routes import gates as gates_link
from server.clock import Clock, SystemClock
from server.config import ServerSettings
from server.http.deps import PUBLIC_ROUTES, has_policy
from server.http.middleware import BodyLimit, SecurityHeaders
from server.link.session import ServerLink
from server.services.alerts.channels.courier import Courier
from server.services.context import Actor, Env
from server.services.errors import ServiceError
from server.services.privacy.retention import run_retention
from server.store.db import Database
from server.store.migrate import upgrade
from server.web.i18n import Translator
from server.web.mount import install as install_web

logger = logging.getLogger(__name__)

RETENTION_ACTOR = Actor(name="retention-job", role="admin", scope=None)


ROUTERS = (
    system.router,
    registry.router,
    people.router,
    passes.router,
    admin.router,
    alerts.router,  # issue 6: alerts, gate health, commands, events, dead letters
    gates_link.router,
    events.router,
)


def api_routes() -> list[APIRoute]:
    """Every JSON route of the app (the route x role test walks these)."""
    return [r for router in ROUTERS for r in router.routes if isinstance(r, APIRoute)]


def unguarded_routes() -> list[str]:
    """Routes that have neither a Policy nor a place on the public list."""
    return [
        f"{sorted(r.methods or ())} {r.path}"
        for r in api_routes()
        if r.path not in PUBLIC_ROUTES and not has_policy(r.dependant)
    ]


def _words(language: str, key: str, **values: Any) -> str:
    """Catalog text for the group-chat worker (the services do not read the web's catalogs)."""
    return Translator(language)(key, **values)


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _retention_loop(env: Env) -> None:
    """Run the retention job at start and then every ``retention_interval_s``."""
    while True:
        try:
            await run_retention(env, RETENTION_ACTOR)
        except ServiceError:
            logger.exception("retention job failed; retrying at the next interval")
        await asyncio.sleep(env.settings.retention_interval_s)


def _lifespan(settings: ServerSettings, clock: Clock, settle_heap: bool):  # type: ignore[no-untyped-def]
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        db = Database(settings.db_url)
        await upgrade(db)
        env = Env(db=db, settings=settings, clock=clock)
        logger.info("gatepass server settings: %s", settings.redacted())
        link = await ServerLink.from_env(env)
        task = None
        if settings.retention_interval_s:
            task = asyncio.create_task(_retention_loop(env), name="retention-job")
        courier = asyncio.create_task(Courier(env, _words).run(), name="group-chat")
        if link is not None:
            await link.start()
        if settle_heap:
            logger.info("start-up heap frozen: %d objects", heap.settle())
        try:
            yield {"env": env, "link": link}
        finally:
            if link is not None:
                await link.stop()
            await _stop(courier)
            if task is not None:
                await _stop(task)
            await db.close()

    return lifespan


def create_app(
    settings: ServerSettings, *, clock: Clock | None = None, settle_heap: bool = False
) -> FastAPI:
    """The server app for ``settings``; ``clock`` is injectable for tests. The server process
    (``serve``) settles its heap once started (server.heap); apps built in tests do not."""
    app = FastAPI(
        title="gatepass server",
        version="1",
        lifespan=_lifespan(settings, clock or SystemClock(), settle_heap),
        docs_url=None,  # the Swagger page loads scripts from a CDN; the schema stays published
        redoc_url=None,
    )
    for router in ROUTERS:
        app.include_router(router)
    install_web(app)  # the staff UI (issue 7): pages, static files, live streams
    errors.install(app)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)
    missing = unguarded_routes()
    if missing:
        raise RuntimeError(f"routes without an access policy: {missing}")
    return app
