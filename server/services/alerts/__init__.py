"""Alerts: which events and statuses raise which alerts, and what staff do with them.

* ``kinds``: every kind of alert and its severity;
* ``raising``: counting an occurrence or holding a condition (inside the caller's transaction);
* ``rules``: what one event or one status raises; ``patterns``: what a run of events raises
  (repeated refusals, impossible travel), once per ingest batch;
* ``desk``: listing, reading and acknowledging them for staff (API and dashboard).

Must not import paho, fastapi or anything of server.link, api or web.
"""
