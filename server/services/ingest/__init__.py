"""Ingest: what the server does with the messages gates send (events, statuses, command results).

It owns, in this order of a batch's journey:

* ``model``: the message, accepted and rejected items, and the batch's result (one module, so
  nothing here imports in a circle);
* ``classify``: pure validation of one message against the protocol (topic, payload, gate);
* ``commit``: one batch in one write transaction (``commit_batch``), dead letters;
* ``events`` and ``status``: storing one gate's events (dedupe, replays, the contiguous seq,
  alerts) and its status, outbox floor and command results.

The broker side (receiving, batching, acks after the commit) is server.link.ingest; the SQL is
server.store.ingest. Must not import paho, fastapi or anything of server.link, api or web.
"""
