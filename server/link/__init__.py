"""The server's broker link: the only part of the server that speaks MQTT.

* ``mqtt``: the paho adapter, the only server module that imports paho-mqtt (the same
  vocabulary as the gate's, device/link/mqtt.py; docs/architecture.md shows both);
* ``session``: the broker session and its tasks: ingest, publishing to the gates, the monitor;
* ``ingest``: the ingest worker: batches of messages committed (server.services.ingest), then
  acknowledged to the gates and to the broker, in that order;
* ``broker_config``: writing the site's mosquitto configuration (``broker-config``).

An edge, like the HTTP API: it calls the services and never the store (import-linter), and
imports nothing of fastapi, server.http, api or web.
"""
