"""The staff web UI: server-rendered pages (Jinja2), vendored static files, a live channel.

``server.web.mount.install(app)`` mounts it on the server app. This package's own import does
nothing else, so the CLI can use its catalogs (``cardwords``) without loading every page.
"""
