"""Reading what ingest stored, for people: the API's event and dead-letter queries (``events``),
the staff UI's event log and live feed (``log``) and the dashboard's figures (``dashboard``).

Read-only; everything in the actor's zone scope. Must not import paho, fastapi or anything of
server.link, api or web.
"""
