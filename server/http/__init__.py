"""The HTTP edge's shared parts, used by the JSON API (server.api) and the staff UI (server.web).

* ``deps``: the typed dependencies: the process's Env, the caller's session, the running broker
  link, and the deny-by-default route policies with their CSRF and origin checks;
* ``middleware``: security headers and the request body limit;
* ``serving``: how uvicorn serves the app (trusted proxies only, no query strings in logs).

Neither this package nor api/ or web/ imports the store: they reach data only through the
services (import-linter).
"""
