"""The JSON API (``/api/v1``): thin routes over the services, request and response models.

``routes`` has one router per subject, ``models`` one module of models per domain, ``types``
the bounded field types they share, ``errors`` the handlers that turn service errors into HTTP
statuses. Every route has an access policy (server.http.deps) or is on the public list.
"""
