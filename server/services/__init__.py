"""The services: what the server does, as functions of ``(env, actor, ...)``, grouped by domain.

* ``registry``: the site, zones, gates, households, residents, visitors, imports, follow-up;
* ``passes``: issuing, renewing and revoking signed passes, cards, keys, the revocation list;
* ``gates``: provisioning lanes, their policy, commands, health, what is published to them;
* ``ingest``: what gates send, validated and stored in one transaction per batch;
* ``alerts``: which events raise which alerts, and the staff's desk for them;
* ``staff``: accounts, passwords, sign-in and sessions;
* ``privacy``: a resident's export and erasure, and the retention job;
* ``reports``: reading the stored events for the UI, the API and the dashboard.

Shared by all of them: ``context`` (Env, Actor), ``errors`` (the error tree the edges map to
statuses), ``paging``, ``text`` (rules for what people type), ``audit`` and ``live`` (the live
hub). Services reach the database only through server.store (its ``Connection`` and its own
errors; never SQLAlchemy: ruff bans it here) and never import fastapi, paho or any edge
(server.api, server.web, server.http, server.link, server.cli): import-linter checks both.
"""
