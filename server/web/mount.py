"""Mounting the staff web UI: every page router, deny by default.

``install(app)`` mounts it on the server app. Deny by default as in the API: every page route
depends on a policy (server.web.guard) or is on ``PUBLIC_PAGES``; ``install`` refuses otherwise.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles

from server.http.deps import has_policy
from server.web.routes import (
    auth,
    cards,
    channels,
    console,
    dashboard,
    events,
    followup,
    households,
    imports,
    incidents,
    live,
    passes,
    policy,
    reports,
    residents,
    visitors,
)

PUBLIC_PAGES = frozenset({"/", "/ui/login", "/ui/lang"})
ROUTERS = (
    auth.router,
    dashboard.router,
    console.router,
    live.router,
    residents.router,
    households.router,
    visitors.router,
    cards.router,
    followup.router,
    events.router,
    imports.router,
    passes.router,
    incidents.router,
    channels.router,
    policy.router,
    reports.router,
)


def page_routes() -> list[APIRoute]:
    """Every route of the staff UI (the page x role test walks these)."""
    return [r for router in ROUTERS for r in router.routes if isinstance(r, APIRoute)]


def unguarded_pages() -> list[str]:
    """Page routes with neither a policy nor a place on the public list."""
    return [
        f"{sorted(r.methods or ())} {r.path}"
        for r in page_routes()
        if r.path not in PUBLIC_PAGES and not has_policy(r.dependant)
    ]


def install(app: FastAPI) -> None:
    """Add the pages and the static files to ``app``; refuse unguarded pages."""
    missing = unguarded_pages()
    if missing:
        raise RuntimeError(f"pages without an access policy: {missing}")
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/ui/static", StaticFiles(packages=[("server.web", "static")]), name="ui-static")
